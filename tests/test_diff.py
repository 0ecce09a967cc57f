"""`dsc diff OLD NEW` and `dsc diff --rev REV`: records added, removed, changed, moved."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import main
from tests.helpers import (
    CASES,
    CONCEPTS,
    CRAWL,
    CRAWL_EDITED,
    DATA,
    add_row,
    copy_project,
    edit,
    edit_concept,
    records,
)

NEW_CONCEPT = "        structured: how child tasks are scoped to a parent block\n"


def moved_between(old: dict, new: dict) -> list[dict[str, str]]:
    """The records of two `records()` maps that changed split, as the JSON diff lists them."""
    return [
        {"id": i, "old": old[i][0], "new": new[i][0]}
        for i in sorted(set(old) & set(new))
        if old[i][0] != new[i][0]
    ]


def edited_first_line(old: str, new: str) -> dict:
    """The JSON of an output of three lines whose first line gained "code " (edit_concept)."""
    first_old, first_new = old.split("\n")[0], new.split("\n")[0]
    kept, rest = first_old.split("cleanup ")
    return {
        "old": old,
        "new": new,
        "kind": "lines",
        "hunks": [
            {
                "old_start": 1,
                "old_lines": 3,
                "new_start": 1,
                "new_lines": 3,
                "lines": [
                    {"op": "-", "text": first_old, "words": [["=", first_old]]},
                    {
                        "op": "+",
                        "text": first_new,
                        "words": [["=", kept + "cleanup "], ["+", "code "], ["=", rest]],
                    },
                    *({"op": " ", "text": line} for line in old.split("\n")[1:]),
                ],
            }
        ],
    }


@pytest.fixture
def reviewed(built: Path, cli, tmp_path: Path) -> tuple[Path, Path]:
    """A pull request: one concept's text edited and one concept added. (old build, new build)"""
    shutil.copytree(built / "build", tmp_path / "old")
    edit_concept(built)
    edit(built / CONCEPTS, "    pick:\n", NEW_CONCEPT + "    pick:\n")
    result = cli("build", "-C", built)
    assert result.stdout == (
        f"rebuilding: {CONCEPTS} changed\n"
        "built 15 records (train 12, val 2, test 1; dropped 0) into build/\n"
    )
    return tmp_path / "old", built / "build"


def test_diff_json_shows_exactly_the_edited_and_added_records(
    reviewed: tuple[Path, Path], cli
) -> None:
    old_dir, new_dir = reviewed
    old, new = records(old_dir), records(new_dir)

    result = cli("diff", old_dir, new_dir, "--format", "json")

    assert (result.exit_code, result.stderr) == (0, "")
    data = json.loads(result.stdout)
    assert list(data) == ["summary", "added", "removed", "changed", "moved", "counts"]
    added = sorted(i for i, (_, r) in new.items() if " structured " in r["instruction"])
    edited = sorted(i for i, (_, r) in old.items() if " cancellation " in r["instruction"])
    assert len(added) == 3 and len(edited) == 3
    moved = moved_between(old, new)
    assert data["summary"] == {"added": 3, "removed": 0, "changed": 3, "moved": len(moved)}
    assert data["added"] == [{"id": i, "split": new[i][0], "record": new[i][1]} for i in added]
    assert data["removed"] == []
    assert data["changed"] == [
        {
            "id": i,
            "split": {"old": old[i][0], "new": new[i][0]},
            "fields": {"output": edited_first_line(old[i][1]["output"], new[i][1]["output"])},
        }
        for i in edited
    ]
    for change in data["changed"]:
        old_text, new_text = change["fields"]["output"]["old"], change["fields"]["output"]["new"]
        assert old_text.replace("what cleanup runs", "what cleanup code runs") == new_text
    assert data["moved"] == moved
    # Nothing else: every other record is byte-for-byte the same record.
    same = sorted(set(old) - set(edited))
    assert [new[i][1] for i in same] == [old[i][1] for i in same]
    assert data["counts"] == {
        "split": {
            "train": {"old": 10, "new": 12, "delta": 2},
            "val": {"old": 1, "new": 2, "delta": 1},
        },
        "task": {"explain_concept": {"old": 9, "new": 12, "delta": 3}},
        "brand": {"(none)": {"old": 12, "new": 15, "delta": 3}},
        "context": {"(none)": {"old": 12, "new": 15, "delta": 3}},
    }


def test_diff_json_is_the_same_for_a_reversed_file_order(reviewed, cli, tmp_path: Path) -> None:
    old_dir, new_dir = reviewed
    shuffled = tmp_path / "shuffled"
    shutil.copytree(new_dir, shuffled)
    for name in ("train.jsonl", "val.jsonl", "test.jsonl"):
        lines = (shuffled / name).read_text(encoding="utf-8").splitlines(keepends=True)
        random.Random(name).shuffle(lines)
        (shuffled / name).write_text("".join(reversed(lines)), encoding="utf-8")

    ordered = cli("diff", old_dir, new_dir, "--format", "json")
    reversed_ = cli("diff", old_dir, shuffled, "--format", "json")

    assert reversed_.stdout == ordered.stdout
    same = cli("diff", new_dir, shuffled, "--exit-code")
    assert (same.exit_code, same.stdout) == (0, "no differences\n")


@pytest.fixture
def data_change(built: Path, cli, tmp_path: Path) -> tuple[Path, Path]:
    """A pull request editing one data row's answer and adding one row. (old, new)"""
    shutil.copytree(built / "build", tmp_path / "old")
    edit(
        built / DATA,
        '"answer": "for (;;) { await poll(); await sleep(1000); }"',
        '"answer": "while (true) {\\n  await poll();\\n  await sleep(1000);\\n}"',
    )
    add_row(
        built,
        id="py-pool",
        lang="python",
        code="with ThreadPoolExecutor() as pool:\n    results = list(pool.map(fetch, urls))",
        answer="results = await asyncio.gather(*(fetch(url) for url in urls))",
    )
    result = cli("build", "-C", built)
    assert result.exit_code == 0
    return tmp_path / "old", built / "build"


# Adding a refactor record shifts the quantile positions of its stratum: one refactor record
# and one explain_concept record trade train and val places (see docs/splits.md).
DATA_MOVES = [
    ("explain_concept.concepts.b5293789088cf240", "val", "train"),
    ("refactor.from_threads.7bfe31cde9474ce4", "train", "val"),
]


def test_diff_text_is_plain_when_not_a_terminal(data_change: tuple[Path, Path], cli) -> None:
    old_dir, new_dir = data_change
    assert moved_between(records(old_dir), records(new_dir)) == [
        {"id": i, "old": o, "new": n} for i, o, n in DATA_MOVES
    ]

    result = cli("diff", old_dir, new_dir)

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "1 added, 0 removed, 1 changed, 2 moved between splits\n"
        "counts:\n"
        "  split    train: 10 -> 11 (+1)\n"
        "  task     refactor: 3 -> 4 (+1)\n"
        "  brand    (none): 12 -> 13 (+1)\n"
        "  context  (none): 12 -> 13 (+1)\n"
        "added:\n"
        "  + refactor.from_threads.e1184e96e2063d77 [train] Refactor this thread-based python"
        " code to use coroutines.\n"
        "changed:\n"
        "  ~ refactor.from_threads.633bdfd99e2be237 [train]\n"
        "      output:\n"
        "        @@ -1 +1,4 @@\n"
        "        - for (;;) { await poll(); await sleep(1000); }\n"
        "        + while (true) {\n"
        "        +   await poll();\n"
        "        +   await sleep(1000);\n"
        "        + }\n"
        "moved:\n"
        "  > explain_concept.concepts.b5293789088cf240: val -> train\n"
        "  > refactor.from_threads.7bfe31cde9474ce4: train -> val\n"
    )
    assert "\x1b[" not in result.stdout


def test_diff_text_is_coloured_on_a_terminal(data_change: tuple[Path, Path]) -> None:
    old_dir, new_dir = data_change

    result = CliRunner().invoke(main, ["diff", str(old_dir), str(new_dir)], color=True)

    lines = result.stdout.splitlines()
    assert "\x1b[32m  + refactor.from_threads.e1184e96e2063d77 [train] Refactor" in "\n".join(lines)
    assert "\x1b[33m  ~ refactor.from_threads.633bdfd99e2be237 [train]\x1b[0m" in lines
    assert "        \x1b[36m@@ -1 +1,4 @@\x1b[0m" in lines
    red, green, reset = "\x1b[31m", "\x1b[32m", "\x1b[0m"
    old_line = "for (;;) { await poll(); await sleep(1000); }"
    assert f"        {red}- {reset}{red}{old_line}{reset}" in lines
    assert f"        {green}+ {reset}{green}while (true) {{{reset}" in lines


def test_diff_markdown_is_ready_for_a_pull_request_comment(
    data_change: tuple[Path, Path], cli
) -> None:
    old_dir, new_dir = data_change

    result = cli("diff", old_dir, new_dir, "--format", "markdown")

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "### dsc diff: 1 added, 0 removed, 1 changed, 2 moved between splits\n"
        "\n"
        "| dimension | value | old | new | Δ |\n"
        "|---|---|---:|---:|---:|\n"
        "| split | `train` | 10 | 11 | +1 |\n"
        "| task | `refactor` | 3 | 4 | +1 |\n"
        "| brand | `(none)` | 12 | 13 | +1 |\n"
        "| context | `(none)` | 12 | 13 | +1 |\n"
        "\n"
        "<details open><summary>Added (1)</summary>\n"
        "\n"
        "- `refactor.from_threads.e1184e96e2063d77` (train): Refactor this thread-based python"
        " code to use coroutines.\n"
        "\n"
        "</details>\n"
        "\n"
        "<details open><summary>Changed (1)</summary>\n"
        "\n"
        "**`refactor.from_threads.633bdfd99e2be237`** (train)\n"
        "\n"
        "```diff\n"
        "@@ -1 +1,4 @@ output\n"
        "- for (;;) { await poll(); await sleep(1000); }\n"
        "+ while (true) {\n"
        "+   await poll();\n"
        "+   await sleep(1000);\n"
        "+ }\n"
        "```\n"
        "\n"
        "</details>\n"
        "\n"
        "<details open><summary>Moved between splits (2)</summary>\n"
        "\n"
        "- `explain_concept.concepts.b5293789088cf240`: val → train\n"
        "- `refactor.from_threads.7bfe31cde9474ce4`: train → val\n"
        "\n"
        "</details>\n"
    )


def test_diff_markdown_folds_long_lists_and_keeps_record_text_inert(
    built: Path, cli, tmp_path: Path
) -> None:
    shutil.copytree(built / "build", tmp_path / "old")
    for number in range(11):
        add_row(
            built,
            id=f"go-{number}",
            lang="</details> go" if number == 0 else "go",
            code=f"go worker({number})",
            answer=f"errgroup.Go(func() error {{ return worker(ctx, {number}) }})",
        )
    edit(
        built / DATA,
        '"answer": "tokio::spawn(async move { work(rx).await });"',
        '"answer": "Use tokio:\\n```rust\\ntokio::spawn(async move { work(rx).await });\\n```"',
    )
    assert cli("build", "-C", built).exit_code == 0

    result = cli("diff", tmp_path / "old", built / "build", "--format", "markdown")

    lines = result.stdout.splitlines()
    assert "<details><summary>Added (11)</summary>" in lines
    assert "<details open><summary>Changed (1)</summary>" in lines
    assert sum(line.startswith("<details") for line in lines) == lines.count("</details>")
    assert any("thread-based &lt;/details&gt; go code" in line for line in lines)
    # The answer holds a ``` fence: the diff block needs a longer one.
    start = lines.index("````diff")
    assert lines[start : start + 6] == [
        "````diff",
        "@@ -1 +1,4 @@ output",
        "+ Use tokio:",
        "+ ```rust",
        "  tokio::spawn(async move { work(rx).await });",
        "+ ```",
    ]
    assert lines[start + 6] == "````"


def test_diff_exit_code_follows_git(reviewed: tuple[Path, Path], cli, tmp_path: Path) -> None:
    old_dir, new_dir = reviewed
    copy = tmp_path / "copy"
    shutil.copytree(new_dir, copy)

    different = cli("diff", old_dir, new_dir, "--exit-code")
    identical = cli("diff", new_dir, copy, "--exit-code")
    without = cli("diff", old_dir, new_dir)

    assert different.exit_code == 1
    assert different.stdout == without.stdout
    assert different.stdout.startswith("3 added, 0 removed, 3 changed, ")
    assert without.exit_code == 0
    assert (identical.exit_code, identical.stdout, identical.stderr) == (0, "no differences\n", "")
    markdown = cli("diff", new_dir, copy, "--format", "markdown", "--exit-code")
    assert (markdown.exit_code, markdown.stdout) == (0, "### dsc diff: no differences\n")
    as_json = cli("diff", new_dir, copy, "--format", "json", "--exit-code")
    assert json.loads(as_json.stdout) == {
        "summary": {"added": 0, "removed": 0, "changed": 0, "moved": 0},
        "added": [],
        "removed": [],
        "changed": [],
        "moved": [],
        "counts": {"split": {}, "task": {}, "brand": {}, "context": {}},
    }


USAGE = "Error: give two build folders OLD NEW, or --rev REV\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((), USAGE),
        (("build",), USAGE),
        (
            ("--rev", "HEAD", "a", "b"),
            "Error: --rev compares with the current build: give at most one folder\n",
        ),
        (("a", "b", "--format", "html"), "Error: Invalid value for '--format': "),
    ],
)
def test_diff_usage_errors_exit_2(cli, arguments: tuple[str, ...], message: str) -> None:
    result = cli("diff", *arguments)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Usage: main diff [OPTIONS] [OLD] [NEW]\n")
    assert message in result.stderr


def test_diff_of_a_folder_that_is_no_build(built: Path, cli, tmp_path: Path) -> None:
    result = cli("diff", tmp_path / "nowhere", built / "build")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"{tmp_path / 'nowhere'}: error: "
        "not a dsc build folder (no metadata.json, no train.jsonl)\n"
        "  hint: give folders written by dsc build, e.g. a copy of build/ made before a change\n"
    )


def test_diff_of_a_corrupt_build_names_the_line(built: Path, cli, tmp_path: Path) -> None:
    shutil.copytree(built / "build", tmp_path / "broken")
    with open(tmp_path / "broken/val.jsonl", "a", encoding="utf-8") as f:
        f.write("[1, 2]\n")

    result = cli("diff", built / "build", tmp_path / "broken")

    assert (result.exit_code, result.stdout) == (1, "")
    assert (
        result.stderr
        == "broken/val.jsonl:2:1: error: expected a JSON object (a record), found list\n"
        "  hint: the file was edited by hand or cut short: rebuild it with dsc build\n"
    )


# --- dsc diff --rev ------------------------------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path, cli) -> Path:
    """A git repository holding the coding project in a subfolder: specs first, then its build."""
    repo = tmp_path / "repo"
    project = copy_project(CASES / "coding", repo / "coding")
    git(repo, "init", "--quiet")
    git(repo, "config", "user.name", "Reviewer")
    git(repo, "config", "user.email", "reviewer@example.invalid")
    git(repo, "config", "commit.gpgsign", "false")
    (repo / ".gitignore").write_text("build.lock\n", encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "specs")
    assert cli("build", "-C", project).exit_code == 0
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "build")
    assert git(repo, "status", "--porcelain") == ""
    return repo


@needs_git
def test_diff_rev_compares_the_committed_build_with_the_current_one(
    repo: Path, cli, tmp_path: Path
) -> None:
    project = repo / "coding"
    clean = cli("diff", "--rev", "HEAD", "-C", project, "--exit-code")
    assert (clean.exit_code, clean.stdout, clean.stderr) == (0, "no differences\n", "")
    shutil.copytree(project / "build", tmp_path / "committed")
    edit_concept(project)
    assert cli("build", "-C", project).exit_code == 0

    for fmt in ("text", "markdown", "json"):
        by_rev = cli("diff", "--rev", "HEAD", "-C", project, "--format", fmt, "--exit-code")
        by_folder = cli("diff", tmp_path / "committed", project / "build", "--format", fmt)
        assert (by_rev.exit_code, by_rev.stderr) == (1, "")
        assert by_rev.stdout == by_folder.stdout
    data = json.loads(by_rev.stdout)
    assert data["summary"] == {"added": 0, "removed": 0, "changed": 3, "moved": 3}
    assert all(list(change["fields"]) == ["output"] for change in data["changed"])


@needs_git
def test_diff_rev_reads_an_explicit_folder_from_a_subfolder(repo: Path, cli) -> None:
    project = repo / "coding"

    result = cli("diff", "--rev", "HEAD", project / "build", "-C", project / "specs")

    assert (result.exit_code, result.stdout, result.stderr) == (0, "no differences\n", "")


@needs_git
@pytest.mark.parametrize("revision", ["nope", "HEAD~5", "--output=x"])
def test_diff_rev_unknown_revision_is_a_clean_error(repo: Path, cli, revision: str) -> None:
    result = cli("diff", "--rev", revision, "-C", repo / "coding")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: unknown revision {revision!r}\n"
        "  hint: name a commit, branch or tag (git log --oneline, git branch -a); "
        "fetch it first if it lives on a remote\n"
    )
    assert not (repo / "coding/x").exists()


@needs_git
def test_diff_rev_without_a_committed_build(repo: Path, cli) -> None:
    result = cli("diff", "--rev", "HEAD~1", "-C", repo / "coding")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "coding/build/train.jsonl: error: not committed at revision 'HEAD~1'\n"
        "  hint: commit coding/build/ with the specs so that it can be compared; "
        "or compare two folders: dsc diff OLD NEW\n"
    )


@needs_git
def test_diff_rev_of_a_folder_outside_the_repository(repo: Path, cli, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    shutil.copytree(repo / "coding/build", outside)

    result = cli("diff", "--rev", "HEAD", outside, "-C", repo / "coding")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"{outside}: error: the folder is outside the git repository {repo}\n"
        "  hint: --rev compares a build folder of this repository with its committed version\n"
    )


@needs_git
def test_diff_rev_outside_a_git_repository(
    built: Path, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))

    result = cli("diff", "--rev", "HEAD", "-C", built)

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"{built}: error: not inside a git repository\n"
        "  hint: --rev needs a git checkout; compare two folders instead: dsc diff OLD NEW\n"
    )


def test_diff_sees_a_rejected_answer_and_a_label_change(case, cli, tmp_path: Path) -> None:
    """What only the preference and KTO files hold is part of a record for dsc diff: a changed
    rejected answer, and a record whose label turned false (it leaves the Alpaca files)."""
    from compiler.pipeline import build

    project = case("formats")
    build(project, tmp_path / "old")
    edit(
        project / "specs/tasks/caption.yaml",
        'rejected: "{{ caption.text }}"',
        'rejected: "{{ caption.text | upper }}"',
    )
    edit(project / "brands/acme.yaml", "rewrite: Our new green tea", "rewrite: Our fresh green tea")
    edit(
        project / "specs/tasks/caption.yaml",
        '- {id: kind, text: "Thank you, we are glad you liked it.", good: true}',
        '- {id: kind, text: "Thank you, we are glad you liked it.", good: false}',
    )
    build(project, tmp_path / "new")

    result = cli("diff", tmp_path / "old", tmp_path / "new", "--format", "json")

    report = json.loads(result.stdout)
    changed = {c["id"]: sorted(c["fields"]) for c in report["changed"]}
    assert changed == {
        # (the other pair's rejected answer is in capitals already: unchanged)
        "caption.pairs.c45ffa0667a6c2d5": ["output", "rejected"],
        # now labelled false: its row is the KTO row, not the Alpaca one
        "caption.rated.ac22f7071568f30e": [
            "completion",
            "history",
            "input",
            "instruction",
            "label",
            "output",
            "prompt",
            "system",
        ],
    }
    assert (report["added"], report["removed"]) == ([], [])


# --- a one-line edit in a long answer --------------------------------------------------------

CRAWL_ID = "refactor.from_threads.68b98e01990be444"


@pytest.fixture
def code_edit(built: Path, cli, tmp_path: Path) -> tuple[Path, Path]:
    """A pull request editing one line of a 13-line code answer. (old build, new build)"""
    code = "with ThreadPoolExecutor(8) as pool:\n    pages = list(pool.map(fetch, urls))"
    add_row(built, id="py-crawl", lang="python", code=code, answer=CRAWL)
    assert cli("build", "-C", built).exit_code == 0
    shutil.copytree(built / "build", tmp_path / "old")
    edit(built / DATA, "await fetch(url)", "await fetch(url, timeout=10)")
    assert cli("build", "-C", built).exit_code == 0
    return tmp_path / "old", built / "build"


CRAWL_TEXT = (
    "0 added, 0 removed, 1 changed, 2 moved between splits\n"
    "changed:\n"
    f"  ~ {CRAWL_ID} [train -> val]\n"
    "      output:\n"
    "        @@ -5,7 +5,7 @@\n"
    "\n"
    "              async def one(url):\n"
    "                  async with semaphore:\n"
    "        -             page = await fetch(url)\n"
    "        +             page = await fetch(url{+, timeout=10+})\n"
    "                      return await store(page)\n"
    "\n"
    "              tasks = [one(url) for url in urls]\n"
    "moved:\n"
    f"  > {CRAWL_ID}: train -> val\n"
    "  > refactor.from_threads.7bfe31cde9474ce4: val -> train\n"
)


def test_a_one_line_edit_in_a_long_answer_shows_that_line_with_context(code_edit, cli) -> None:
    old_dir, new_dir = code_edit

    result = cli("diff", old_dir, new_dir)

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == CRAWL_TEXT


def test_a_one_line_edit_in_colour_reverses_the_changed_words(code_edit) -> None:
    old_dir, new_dir = code_edit

    result = CliRunner().invoke(main, ["diff", str(old_dir), str(new_dir)], color=True)

    red, green, reverse, reset = "\x1b[31m", "\x1b[32m", "\x1b[7m", "\x1b[0m"
    assert result.stdout.splitlines()[4:10] == [
        f"        \x1b[36m@@ -5,7 +5,7 @@{reset}",
        "",
        "              async def one(url):",
        "                  async with semaphore:",
        f"        {red}- {reset}{red}            page = await fetch(url){reset}",
        f"        {green}+ {reset}{green}            page = await fetch(url{reset}"
        f"{green}{reverse}, timeout=10{reset}{green}){reset}",
    ]


def test_no_color_gives_plain_marks_on_a_terminal(code_edit) -> None:
    old_dir, new_dir = code_edit

    result = CliRunner().invoke(
        main, ["diff", str(old_dir), str(new_dir)], color=True, env={"NO_COLOR": "1"}
    )

    assert result.stdout == CRAWL_TEXT


def test_a_one_line_edit_in_markdown_and_json(code_edit, cli) -> None:
    old_dir, new_dir = code_edit

    markdown = cli("diff", old_dir, new_dir, "--format", "markdown").stdout
    data = json.loads(cli("diff", old_dir, new_dir, "--format", "json").stdout)

    assert markdown.split("<details open><summary>Changed (1)</summary>\n\n")[1].split(
        "\n\n</details>"
    )[0] == (
        f"**`{CRAWL_ID}`** (train → val)\n"
        "\n"
        "```diff\n"
        "@@ -5,7 +5,7 @@ output\n"
        "\n"
        "      async def one(url):\n"
        "          async with semaphore:\n"
        "-             page = await fetch(url)\n"
        "+             page = await fetch(url{+, timeout=10+})\n"
        "              return await store(page)\n"
        "\n"
        "      tasks = [one(url) for url in urls]\n"
        "```"
    )
    (change,) = data["changed"]
    old_line, new_line = "            page = await fetch(url", ")"
    assert change["fields"]["output"] == {
        "old": CRAWL,
        "new": CRAWL_EDITED,
        "kind": "lines",
        "hunks": [
            {
                "old_start": 5,
                "old_lines": 7,
                "new_start": 5,
                "new_lines": 7,
                "lines": [
                    {"op": " ", "text": ""},
                    {"op": " ", "text": "    async def one(url):"},
                    {"op": " ", "text": "        async with semaphore:"},
                    {
                        "op": "-",
                        "text": old_line + new_line,
                        "words": [["=", old_line + new_line]],
                    },
                    {
                        "op": "+",
                        "text": old_line + ", timeout=10" + new_line,
                        "words": [["=", old_line], ["+", ", timeout=10"], ["=", new_line]],
                    },
                    {"op": " ", "text": "            return await store(page)"},
                    {"op": " ", "text": ""},
                    {"op": " ", "text": "    tasks = [one(url) for url in urls]"},
                ],
            }
        ],
    }


def test_full_shows_the_whole_answer_before_and_after(code_edit, cli) -> None:
    old_dir, new_dir = code_edit

    result = cli("diff", old_dir, new_dir, "--full")

    new = CRAWL_EDITED
    shown = [f"        - {line}".rstrip() for line in CRAWL.split("\n")]
    shown += [f"        + {line}".rstrip() for line in new.split("\n")]
    assert result.stdout.splitlines()[3:30] == ["      output:", *shown]
