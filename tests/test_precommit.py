"""dsc's pre-commit hooks (.pre-commit-hooks.yaml), run by the real pre-commit on a project.

pre-commit installs a hook repository as on its users' machines: a virtualenv, then
`pip install .` of a git clone of dsc at a commit (docs/pre-commit.md). Offline: its
dependencies and build requirements come from the wheelhouse that `make test` downloads into
the test environment (`<venv>/wheelhouse`), with pip's index turned off (the test also passes
in a process with no network at all, `unshare -rn`). That install takes seconds, and
`pre-commit try-repo` repeats it on every call (it keeps its store in a temporary folder), so
the whole story is one test with one install, through the configuration with `rev:` that
try-repo itself writes and that users keep: a commit with a stale build is refused with dsc
check's own message, the rebuilt one passes, a bad JSONL file is refused with its located error.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tests.helpers import CONCEPTS, ROOT, edit

# What `pip install .` of the hook repository needs: the distribution's files and the manifest.
DISTRIBUTION = (".pre-commit-hooks.yaml", "setup.cfg", "pyproject.toml", "README.md", "LICENSE")
CHECK = "dsc check (build/ is what the specs compile to)"
VALIDATE = "dsc validate (JSONL files)"
# pre-commit's line for a hook: its name, dots to its column, the verdict.
VERDICT = re.compile(r"^(.+?)\.+(Passed|Failed|\(no files to check\)Skipped)$", re.MULTILINE)
STALE = """\
build/ does not match the specs:
  build/README.md differs (stale or edited by hand)
  build/metadata.json differs (stale or edited by hand)
  build/tasks/explain_concept.jsonl differs (stale or edited by hand)
  build/test.jsonl differs (stale or edited by hand)
  build/train.jsonl differs (stale or edited by hand)
  build/val.jsonl differs (stale or edited by hand)
  hint: run `dsc build` and commit build/
"""
ROWS = (
    '{"instruction": "Say hello to the new reader.", "output": "Hello, and welcome to the list!"}\n'
    '{"instruction": "Say goodbye to the reader.", "output": }\n'
)
BAD_ROW = """\
extra/rows.jsonl:2:57: error: invalid JSON: Expecting value
  hint: each line of a .jsonl file is one complete JSON value; strings need double quotes
extra/rows.jsonl: 1 row (alpaca): 1 error, 0 warnings
"""


# `make test` fills it with `pip download` of the build requirements and dsc's dependencies.
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"


def _env(tmp_path: Path) -> dict[str, str]:
    names = {"NAME": "Author", "EMAIL": "author@example.invalid"}
    assert WHEELHOUSE.is_dir(), f"no {WHEELHOUSE}: run `make test`, which downloads it"
    return {
        **os.environ,
        **{
            f"GIT_{who}_{key}": value
            for who in ("AUTHOR", "COMMITTER")
            for key, value in names.items()
        },
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PRE_COMMIT_COLOR": "never",
        # pip in the hook's environment, and in its isolated build of dsc: no index, no network
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(WHEELHOUSE),
    }


def _run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """A command with its output (stdout and stderr as one), within a timeout, not timed."""
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )


def _git(cwd: Path, env: dict[str, str], *args: str) -> str:
    done = _run(cwd, env, "git", *args)
    assert done.returncode == 0, done.stdout
    return done.stdout


def _hook_repository(dest: Path, env: dict[str, str]) -> str:
    """dsc's files as a git repository of one commit (what pre-commit clones); its hash."""
    dest.mkdir()
    for name in DISTRIBUTION:
        shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "compiler", dest / "compiler", ignore=ignore)
    _git(dest, env, "init", "--quiet")
    _git(dest, env, "add", ".")
    _git(dest, env, "commit", "--quiet", "-m", "dsc")
    return _git(dest, env, "rev-parse", "HEAD").strip()


def _dsc_build(project: Path) -> None:
    from compiler.cli import main

    result = CliRunner().invoke(main, ["build", "-C", str(project)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _verdicts(output: str) -> dict[str, str]:
    return dict(VERDICT.findall(output))


def test_a_commit_passes_pre_commit_only_with_a_fresh_build(tmp_path: Path, built: Path) -> None:
    env = _env(tmp_path)
    hooks = tmp_path / "dsc"
    rev = _hook_repository(hooks, env)
    project = built  # the coding example and its build
    (project / ".gitignore").write_text("/.dsc/\n", encoding="utf-8")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n"
        "      - id: dsc-check\n      - id: dsc-validate\n",
        encoding="utf-8",
    )
    _git(project, env, "init", "--quiet")
    _git(project, env, "add", ".")
    _git(project, env, "commit", "--quiet", "-m", "the project and its build")
    installed = _run(project, env, sys.executable, "-m", "pre_commit", "install")
    assert installed.stdout == "pre-commit installed at .git/hooks/pre-commit\n"
    head = _git(project, env, "rev-parse", "HEAD")

    # A spec edited, its build not: the commit is refused with dsc check's message.
    edit(project / CONCEPTS, "what cleanup runs", "what cleanup code runs")
    _git(project, env, "add", ".")
    refused = _run(project, env, "git", "commit", "--quiet", "-m", "a spec without its build")
    assert refused.returncode == 1, refused.stdout
    assert _verdicts(refused.stdout) == {CHECK: "Failed", VALIDATE: "(no files to check)Skipped"}
    assert f"- hook id: dsc-check\n- exit code: 1\n\n{STALE}" in refused.stdout
    assert _git(project, env, "rev-parse", "HEAD") == head

    # Rebuilt: the same commit with its build passes both hooks (build/'s JSONL validated).
    _dsc_build(project)
    _git(project, env, "add", ".")
    accepted = _run(project, env, "git", "commit", "--quiet", "-m", "a spec with its build")
    assert accepted.returncode == 0, accepted.stdout
    assert _verdicts(accepted.stdout) == {CHECK: "Passed", VALIDATE: "Passed"}

    # A JSONL file with a broken line: refused with dsc validate's located error.
    (project / "extra").mkdir()
    (project / "extra/rows.jsonl").write_text(ROWS, encoding="utf-8")
    _git(project, env, "add", ".")
    refused = _run(project, env, "git", "commit", "--quiet", "-m", "hand-written rows")
    assert refused.returncode == 1, refused.stdout
    assert _verdicts(refused.stdout) == {CHECK: "(no files to check)Skipped", VALIDATE: "Failed"}
    assert f"- hook id: dsc-validate\n- exit code: 1\n\n{BAD_ROW}" in refused.stdout
