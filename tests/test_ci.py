"""The CI examples of docs/ci.md: the GitHub workflow through the real actionlint (with
shellcheck on its scripts), the GitLab job parsed, its keys and its script checked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from compiler import __version__
from tests.helpers import ROOT

EXAMPLES = ROOT / "docs" / "examples"
WORKFLOW = EXAMPLES / "github-workflow.yml"
GITLAB = EXAMPLES / "gitlab-ci.yml"
# Installed by the test extra (setup.cfg) beside the interpreter running the tests.
BIN = Path(sys.executable).parent
REQUIREMENT = f"dsc-dataset-compiler=={__version__}"


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN / "actionlint", "-no-color", "-oneline", "-shellcheck", BIN / "shellcheck", path.name],
        capture_output=True,
        encoding="utf-8",
        cwd=path.parent,
        timeout=60,
    )


def test_the_github_workflow_is_clean_for_actionlint() -> None:
    result = actionlint(WORKFLOW)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_finds_what_the_workflow_avoids(tmp_path: Path) -> None:
    """The clean verdict means something: the same file with the pull request's title written
    into a script and a variable left unquoted fails, shellcheck included."""
    text = WORKFLOW.read_text(encoding="utf-8")
    unsafe = text.replace(
        'cat dsc-diff.md >> "$GITHUB_STEP_SUMMARY"',
        'echo "${{ github.event.pull_request.title }}" >> "$GITHUB_STEP_SUMMARY"',
    ).replace('install "$DSC_REQUIREMENT"', "install $DSC_REQUIREMENT")
    (tmp_path / "dataset.yml").write_text(unsafe, encoding="utf-8")

    result = actionlint(tmp_path / "dataset.yml")

    assert (result.returncode, result.stderr) == (1, "")
    assert result.stdout.splitlines() == [
        "dataset.yml:31:36: shellcheck reported issue in this script: SC2086:info:1:23: "
        "Double quote to prevent globbing and word splitting [shellcheck]",
        'dataset.yml:35:79: "github.event.pull_request.title" is potentially untrusted. avoid '
        "using it directly in inline scripts. instead, pass it through an environment variable. "
        "see https://docs.github.com/en/actions/reference/security/secure-use#good-practices-"
        "for-mitigating-script-injection-attacks for more details [expression]",
    ]


def test_the_github_workflow_runs_what_docs_ci_describes() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["dataset"]["steps"]
    runs = [step.get("run", "") for step in steps]
    assert workflow["env"]["DSC_REQUIREMENT"] == REQUIREMENT
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert steps[0]["with"]["fetch-depth"] == 0
    assert 'dsc diff --rev "$BASE" --format markdown > dsc-diff.md' in runs[3]
    assert steps[4]["with"] == {"header": "dsc-diff", "path": "dsc-diff.md"}
    assert runs[-1] == "dsc check"


def test_the_gitlab_job_parses_and_has_its_keys(tmp_path: Path) -> None:
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["dataset"]

    assert sorted(job) == ["artifacts", "before_script", "image", "rules", "script", "variables"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert job["variables"] == {"GIT_DEPTH": "0", "DSC_REQUIREMENT": REQUIREMENT}
    assert job["script"][0] == (
        'dsc diff --rev "$CI_MERGE_REQUEST_DIFF_BASE_SHA" --format markdown > dsc-diff.md'
    )
    assert job["script"][-1] == "dsc check"
    script = tmp_path / "job.sh"
    script.write_text("\n".join([*job["before_script"], *job["script"]]) + "\n", encoding="utf-8")
    checked = subprocess.run(
        [BIN / "shellcheck", "-s", "bash", script], capture_output=True, encoding="utf-8"
    )
    assert (checked.returncode, checked.stdout) == (0, "")


def test_docs_ci_shows_the_files_as_they_are() -> None:
    """docs/ci.md quotes both files whole: the page and the files cannot drift apart."""
    page = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```yaml\n(.*?)^```$", page, re.MULTILINE | re.DOTALL)
    assert blocks == [
        WORKFLOW.read_text(encoding="utf-8"),
        GITLAB.read_text(encoding="utf-8"),
    ]
