"""The review workflow through the real CLI: up-to-date builds, check, diff, explain, seeds."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import main
from tests.conftest import CASES, ROOT, copy_project, read_tree

GOLDEN = CASES / "coding" / "expected"
BUILT = "built 12 records (train 10, val 1, test 1; dropped 0) into build/\n"
UP_TO_DATE = "build/ is up to date\n"
CHECK_HINT = "  hint: run `make dataset` (dsc build) and commit build/\n"
CONCEPTS = "specs/tasks/explain_concept.yaml"
DATA = "data/refactor.jsonl"
BUILD_FILES = [
    "metadata.json",
    "tasks/explain_concept.jsonl",
    "tasks/refactor.jsonl",
    "test.jsonl",
    "train.jsonl",
    "val.jsonl",
]


# --- helpers ---------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every file and folder below folder (itself included): inode, mtime in ns and bytes."""
    paths = [folder, *sorted(folder.rglob("*"))]
    return {
        p.relative_to(folder).as_posix(): (
            p.stat().st_ino,
            p.stat().st_mtime_ns,
            p.read_bytes() if p.is_file() else None,
        )
        for p in paths
    }


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def add_row(project: Path, **row: str) -> None:
    with open(project / DATA, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def add_duplicate_and_short_rows(project: Path) -> None:
    """Rows for a record equal to rs-worker's under another id, and a record too short."""
    add_row(
        project,
        id="rs-worker-copy",
        lang="rust",
        code="std::thread::spawn(move || work(rx));",
        answer="tokio::spawn(async move { work(rx).await });",
    )
    add_row(project, id="py-tiny", lang="python", code="t.join()", answer="await t")


def records(build_dir: Path) -> dict[str, tuple[str, dict]]:
    """id -> (split, record) of a build folder, read straight from its split files."""
    found = {}
    for split_name in ("train", "val", "test"):
        for line in (build_dir / f"{split_name}.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            found[record["id"]] = (split_name, record)
    return found


def moved_between(old: dict, new: dict) -> list[dict[str, str]]:
    return [
        {"id": i, "old": old[i][0], "new": new[i][0]}
        for i in sorted(set(old) & set(new))
        if old[i][0] != new[i][0]
    ]


@pytest.fixture
def built(case, cli) -> Path:
    """The coding project, built once into its build/ folder."""
    project = case("coding")
    result = cli("build", "-C", project)
    assert (result.exit_code, result.stdout, result.stderr) == (0, BUILT, "")
    return project


# --- 1. up-to-date builds and what triggers a rebuild ----------------------------------------


def test_fresh_build_then_up_to_date_build_writes_nothing(case, cli, tmp_path: Path) -> None:
    project = case("coding")
    first = cli("build", "-C", project)
    assert (first.exit_code, first.stdout, first.stderr) == (0, BUILT, "")
    assert read_tree(project / "build") == read_tree(GOLDEN)
    before = snapshot(tmp_path)

    second = cli("build", "-C", project)

    assert (second.exit_code, second.stdout, second.stderr) == (0, UP_TO_DATE, "")
    assert snapshot(tmp_path) == before


def _edit_concept(project: Path) -> None:
    edit(project / CONCEPTS, "what cleanup runs", "what cleanup code runs")


def _edit_dataset_description(project: Path) -> None:
    edit(project / "specs/dataset.yaml", "several languages", "three languages")


def _add_brand(project: Path) -> None:
    (project / "brands").mkdir()
    (project / "brands/acme.yaml").write_text("id: acme\nname: Acme\n", encoding="utf-8")


def _add_task(project: Path) -> None:
    (project / "specs/tasks/summarize.yaml").write_text(
        "task: summarize\n"
        "description: One fixed summary.\n"
        "rules:\n"
        "  - id: event_loop\n"
        '    instruction: "Summarize what an event loop does, in one sentence."\n'
        '    output: "An event loop runs ready coroutines one at a time and resumes each one'
        ' at its await points."\n',
        encoding="utf-8",
    )


def _delete_task(project: Path) -> None:
    (project / "specs/tasks/refactor.yaml").unlink()


def _edit_data(project: Path) -> None:
    edit(project / DATA, "await sleep(1000);", "await sleep(500);")


def _edit_train_by_hand(project: Path) -> None:
    with open(project / "build/train.jsonl", "a", encoding="utf-8") as f:
        f.write('{"id": "mine", "instruction": "hi", "input": "", "output": "hello"}\n')


def _add_stray_file(project: Path) -> None:
    (project / "build/notes.txt").write_text("my notes\n", encoding="utf-8")


def _add_stray_task_file(project: Path) -> None:
    (project / "build/tasks/extra.jsonl").write_text("", encoding="utf-8")


def _delete_val(project: Path) -> None:
    (project / "build/val.jsonl").unlink()


def _edit_dataset_seed(project: Path) -> None:
    edit(project / "specs/dataset.yaml", "seed: 7", "seed: 8")


def _edit_fingerprint_by_hand(project: Path) -> None:
    edit(project / "build/metadata.json", '"fingerprint": "cc', '"fingerprint": "dd')


def _edit_recorded_seed_by_hand(project: Path) -> None:
    edit(project / "build/metadata.json", '"seed": 7,', '"seed": 8,')


def _nothing(project: Path) -> None:
    pass


TRIGGERS: list[tuple[str, Callable[[Path], None], tuple[str, ...], str]] = [
    ("spec edited", _edit_concept, (), f"rebuilding: {CONCEPTS} changed\n{BUILT}"),
    (
        "dataset edited",
        _edit_dataset_description,
        (),
        f"rebuilding: specs/dataset.yaml changed\n{BUILT}",
    ),
    ("brand added", _add_brand, (), f"rebuilding: brands/acme.yaml was added\n{BUILT}"),
    (
        "task added",
        _add_task,
        (),
        "rebuilding: specs/tasks/summarize.yaml was added\n"
        "built 13 records (train 11, val 1, test 1; dropped 0) into build/\n",
    ),
    (
        "task deleted",
        _delete_task,
        (),
        "rebuilding: specs/tasks/refactor.yaml was deleted\n"
        "built 9 records (train 7, val 1, test 1; dropped 0) into build/\n",
    ),
    ("data edited", _edit_data, (), f"rebuilding: {DATA} changed\n{BUILT}"),
    (
        "output edited",
        _edit_train_by_hand,
        (),
        f"rebuilding: build/train.jsonl was edited by hand\n{BUILT}",
    ),
    (
        "stray output",
        _add_stray_file,
        (),
        f"rebuilding: build/notes.txt is not a build output\n{BUILT}",
    ),
    (
        "stray task output",
        _add_stray_task_file,
        (),
        f"rebuilding: build/tasks/extra.jsonl is not a build output\n{BUILT}",
    ),
    ("output deleted", _delete_val, (), f"rebuilding: build/val.jsonl is missing\n{BUILT}"),
    ("seed option", _nothing, ("--seed", "8"), f"rebuilding: seed changed (7 -> 8)\n{BUILT}"),
    (
        "seed in spec",
        _edit_dataset_seed,
        (),
        f"rebuilding: seed changed (7 -> 8); specs/dataset.yaml changed\n{BUILT}",
    ),
    (
        "fingerprint edited",
        _edit_fingerprint_by_hand,
        (),
        f"rebuilding: build/metadata.json was edited by hand\n{BUILT}",
    ),
    (
        "recorded seed edited",
        _edit_recorded_seed_by_hand,
        (),
        "rebuilding: build/metadata.json was edited by hand; seed changed (8 -> 7)\n" + BUILT,
    ),
]


@pytest.mark.parametrize(
    ("mutate", "options", "expected"),
    [pytest.param(m, o, e, id=name) for name, m, o, e in TRIGGERS],
)
def test_a_changed_input_or_output_triggers_an_honest_rebuild(
    built: Path, cli, tmp_path: Path, mutate, options: tuple[str, ...], expected: str
) -> None:
    mutate(built)

    result = cli("build", "-C", built, *options)

    assert (result.exit_code, result.stdout, result.stderr) == (0, expected, "")
    clean = cli("build", "-C", built, "--out", tmp_path / "clean", *options)
    assert clean.exit_code == 0
    assert read_tree(built / "build") == read_tree(tmp_path / "clean")
    again = cli("build", "-C", built, *options)
    assert (again.exit_code, again.stdout) == (0, UP_TO_DATE)


def test_hand_edited_metadata_counts_trigger_a_rebuild(built: Path, cli) -> None:
    # metadata.json is an output too; an edit that keeps the seed, inputs and fingerprint must
    # still be noticed (needs the sha256 of metadata.json recorded outside it: a manifest).
    edit(built / "build/metadata.json", '"records": {"total": 12,', '"records": {"total": 13,')

    result = cli("build", "-C", built)

    assert (result.exit_code, result.stdout) == (
        0,
        f"rebuilding: build/metadata.json was edited by hand\n{BUILT}",
    )
    assert read_tree(built / "build") == read_tree(GOLDEN)


def test_a_rebuild_names_at_most_ten_reasons(built: Path, cli) -> None:
    for number in range(12):
        (built / f"build/stray{number:02}.txt").write_text("", encoding="utf-8")

    result = cli("build", "-C", built)

    reasons = "; ".join(f"build/stray{n:02}.txt is not a build output" for n in range(10))
    assert result.stdout == f"rebuilding: {reasons}; and 2 more\n{BUILT}"


def test_force_rebuilds_an_up_to_date_build(built: Path, cli) -> None:
    before = snapshot(built / "build")

    result = cli("build", "-C", built, "--force")

    assert (result.exit_code, result.stdout, result.stderr) == (0, BUILT, "")
    after = snapshot(built / "build")
    assert after["metadata.json"][0] != before["metadata.json"][0], "not written again"
    assert {p: v[2] for p, v in after.items()} == {p: v[2] for p, v in before.items()}


def test_an_empty_build_folder_is_built_without_a_rebuild_notice(case, cli) -> None:
    project = case("coding")
    (project / "build").mkdir()

    result = cli("build", "-C", project)

    assert (result.exit_code, result.stdout) == (0, BUILT)


def test_a_deleted_data_file_is_named_and_the_old_build_survives(
    built: Path, cli, tmp_path: Path
) -> None:
    (built / DATA).unlink()
    before = snapshot(tmp_path)

    result = cli("build", "-C", built)

    assert result.exit_code == 1
    assert result.stdout == f"rebuilding: {DATA} was deleted\n"
    assert result.stderr.startswith(
        f"specs/tasks/refactor.yaml:8:23: error: file not found: {DATA}"
    )
    assert snapshot(tmp_path) == before


def test_up_to_date_build_does_not_import_the_compiler_core(built: Path) -> None:
    # Importing Jinja and jsonschema alone costs more than the whole no-op build.
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "compiler", "build", "-C", str(built)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == UP_TO_DATE
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "compiler.inputs" in imported
    heavy = ("jinja2", "jsonschema", "compiler.pipeline", "compiler.expand", "compiler.validate")
    assert sorted(m for m in imported if m.split(".")[0] in heavy or m in heavy) == []


# --- 2. dsc check ----------------------------------------------------------------------------


def _check_problem(*lines: str) -> str:
    return "build/ does not match the specs:\n" + "".join(f"  {x}\n" for x in lines) + CHECK_HINT


def _edit_metadata_counts(project: Path) -> None:
    edit(project / "build/metadata.json", '"records": {"total": 12,', '"records": {"total": 13,')


CHECK_PROBLEMS = [
    (
        "stale",
        _edit_concept,
        _check_problem(
            *(
                f"build/{name} differs (stale or edited by hand)"
                for name in BUILD_FILES
                if name != "tasks/refactor.jsonl"
            )
        ),
    ),
    (
        "output edited",
        _edit_train_by_hand,
        _check_problem("build/train.jsonl differs (stale or edited by hand)"),
    ),
    (
        "metadata edited",
        _edit_metadata_counts,
        _check_problem("build/metadata.json differs (stale or edited by hand)"),
    ),
    ("missing", _delete_val, _check_problem("build/val.jsonl is missing")),
    ("extra", _add_stray_file, _check_problem("build/notes.txt is not a build output")),
    (
        "no build",
        lambda project: shutil.rmtree(project / "build"),
        _check_problem(*(f"build/{name} is missing" for name in BUILD_FILES)),
    ),
]


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder dsc check builds in, watched so that it is left empty."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_check_passes_on_a_fresh_build_and_writes_nothing(built: Path, cli, scratch: Path) -> None:
    before = snapshot(built)

    result = cli("check", "-C", built)

    assert (result.exit_code, result.stdout, result.stderr) == (0, "build/ matches the specs\n", "")
    assert snapshot(built) == before
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    ("mutate", "expected"), [pytest.param(m, e, id=name) for name, m, e in CHECK_PROBLEMS]
)
def test_check_fails_with_a_summary_and_writes_nothing(
    built: Path, cli, scratch: Path, mutate, expected: str
) -> None:
    mutate(built)
    before = snapshot(built)

    result = cli("check", "-C", built)

    assert (result.exit_code, result.stdout, result.stderr) == (1, "", expected)
    assert snapshot(built) == before
    assert list(scratch.iterdir()) == []


def test_check_reports_a_spec_error_like_build(built: Path, cli) -> None:
    edit(built / CONCEPTS, "lang: languages", "lang: langauges")

    result = cli("check", "-C", built)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"{CONCEPTS}:")
    assert "error:" in result.stderr


# --- 3. dsc diff OLD NEW ---------------------------------------------------------------------

NEW_CONCEPT = "        structured: how child tasks are scoped to a parent block\n"


@pytest.fixture
def reviewed(built: Path, cli, tmp_path: Path) -> tuple[Path, Path]:
    """A pull request: one concept's text edited and one concept added. (old build, new build)"""
    shutil.copytree(built / "build", tmp_path / "old")
    _edit_concept(built)
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
            "fields": {"output": {"old": old[i][1]["output"], "new": new[i][1]["output"]}},
        }
        for i in edited
    ]
    for change in data["changed"]:
        old_text, new_text = change["fields"]["output"].values()
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
    assert "\x1b[31m        - for (;;) { await poll(); await sleep(1000); }\x1b[0m" in lines
    assert "\x1b[32m        + while (true) {\x1b[0m" in lines


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
        "@@ output @@\n"
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
    assert lines[start : start + 7] == [
        "````diff",
        "@@ output @@",
        "- tokio::spawn(async move { work(rx).await });",
        "+ Use tokio:",
        "+ ```rust",
        "+ tokio::spawn(async move { work(rx).await });",
        "+ ```",
    ]
    assert lines[start + 7] == "````"


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


# --- 4. dsc diff --rev -------------------------------------------------------------------------

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
    _edit_concept(project)
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


# --- 5. dsc explain ----------------------------------------------------------------------------

KEPT = "explain_concept.concepts.4dde8f94509df834"


def test_explain_a_kept_record(built: Path, cli) -> None:
    result = cli("explain", KEPT, "-C", built)

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        f"record {KEPT}\n"
        f"  rule      explain_concept/concepts ({CONCEPTS}:7:9)\n"
        "  each      concept = cancellation\n"
        "  each      lang = rust\n"
        f"  pick      verb: alternative 1 ({CONCEPTS}:15:25)\n"
        "  check     output is not empty\n"
        "  check     instruction length 41 within 10–1000 characters\n"
        "  check     input length 0 within 0–4000 characters\n"
        "  check     output length 250 within 20–4000 characters\n"
        "  check     not a duplicate of an earlier record\n"
        "  group     output 66c91586adbd5d13 (1 record(s)), stratum task=explain_concept\n"
        "  split     train: its stratum's 9 records get train 7, val 1, test 1 (each the floor"
        " or ceiling of its share, summing to the global sizes); in hash order its group covers"
        " records 1–1 of the stratum, and the slices are train 0–6, val 7–7, test 8–8: it lies"
        " inside that slice, in train\n"
        "  instruction Describe cancellation in Rust coroutines.\n"
        "  input\n"
        "  output    In Rust, cancellation is about how a running task is cancelled and what"
        " cleanup runs.\n"
        "            The runtime (tokio) schedules coroutines cooperatively, so a task only\n"
        "            notices it at an await point; spawn work with `tokio::spawn(fetch(url))`"
        " and keep the handle.\n"
    )


@pytest.mark.parametrize("seed", [None, 3])
def test_explain_agrees_with_the_build_for_every_record(
    built: Path, cli, tmp_path: Path, seed: int | None
) -> None:
    options = () if seed is None else ("--seed", str(seed))
    out = tmp_path / "out"
    assert cli("build", "-C", built, "--out", out, *options).exit_code == 0

    for record_id, (split_name, record) in records(out).items():
        result = cli("explain", record_id, "-C", built, "--json", *options)
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert list(data) == ["id", "rule", "bindings", "picks", "record", "checks", "split"]
        assert data["id"] == record_id
        assert data["split"]["split"] == split_name
        assert data["record"] == {k: v for k, v in record.items() if k != "id"}
        assert data["rule"]["id"] == record["metadata"]["rule"]
        assert source_at(built, data["rule"]["defined_at"]).startswith(data["rule"]["id"])
        for pick in data["picks"].values():
            chosen = json.loads(source_at(built, pick["defined_at"]).split(",")[0].rstrip("]"))
            assert record["instruction"].startswith(chosen + " ")


def source_at(project: Path, where: str) -> str:
    """The text of a spec file from a `file:line:column` position to the end of its line."""
    path, line, column = where.rsplit(":", 2)
    text = (project / path).read_text(encoding="utf-8").splitlines()[int(line) - 1]
    return text[int(column) - 1 :]


DUPLICATE = "refactor.from_threads.55ad0932d8565fdd"
COPY = "refactor.from_threads.0613f8b1831e2ff6"


def test_explain_a_duplicate_and_a_too_short_record(built: Path, cli) -> None:
    add_duplicate_and_short_rows(built)
    result = cli("build", "-C", built)
    assert result.stdout.endswith("(train 10, val 1, test 1; dropped 2) into build/\n")
    dropped = json.loads((built / "build/metadata.json").read_text())["dropped"]
    duplicate, short = DUPLICATE, "refactor.from_threads.5874cd442bc78ad3"
    assert dropped == {
        "duplicate": {"records": 1, "ids": [duplicate]},
        "output_too_short": {"records": 1, "ids": [short]},
    }

    as_duplicate = cli("explain", duplicate, "-C", built)
    as_short = cli("explain", short, "-C", built)

    # Of two equal records the first in id order is kept: here the copy.
    assert (as_duplicate.exit_code, as_duplicate.stderr) == (0, "")
    assert as_duplicate.stdout == (
        f"record {duplicate}\n"
        "  rule      refactor/from_threads (specs/tasks/refactor.yaml:6:9)\n"
        "  each      example = rs-worker\n"
        f"  dropped   duplicate: same normalised instruction, input and output as {COPY}\n"
        "  instruction Refactor this thread-based rust code to use coroutines.\n"
        "  input     std::thread::spawn(move || work(rx));\n"
        "  output    tokio::spawn(async move { work(rx).await });\n"
    )
    assert "  each      example = rs-worker-copy\n" in cli("explain", COPY, "-C", built).stdout
    assert COPY in records(built / "build")
    assert (as_short.exit_code, as_short.stderr) == (0, "")
    assert as_short.stdout == (
        f"record {short}\n"
        "  rule      refactor/from_threads (specs/tasks/refactor.yaml:6:9)\n"
        "  each      example = py-tiny\n"
        "  dropped   output_too_short: output has 7 characters, allowed 20 to 4000\n"
        "  instruction Refactor this thread-based python code to use coroutines.\n"
        "  input     t.join()\n"
        "  output    await t\n"
    )
    data = json.loads(cli("explain", short, "-C", built, "--json").stdout)
    assert data["dropped"] == "output_too_short: output has 7 characters, allowed 20 to 4000"
    assert "split" not in data and "checks" not in data


def test_explain_an_unknown_id_suggests_the_closest(built: Path, cli) -> None:
    typo = KEPT[:-1]

    result = cli("explain", typo, "-C", built)

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"error: no record with id {typo!r}\n  hint: did you mean {KEPT!r}?\n")


def test_explain_an_unrelated_id_says_where_ids_are(built: Path, cli) -> None:
    result = cli("explain", "nothing", "-C", built, "--json")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "error: no record with id 'nothing'\n"
        '  hint: kept records are the ids of build/*.jsonl; dropped ones are listed under "dropped"'
        " in build/metadata.json\n"
    )


# --- 6. reproducing a build from a seed ----------------------------------------------------


def fingerprint(build_dir: Path) -> str:
    return json.loads((build_dir / "metadata.json").read_text(encoding="utf-8"))["fingerprint"]


def test_seed_option_reproduces_a_build_byte_for_byte(built: Path, cli, tmp_path: Path) -> None:
    elsewhere = copy_project(CASES / "coding", tmp_path / "elsewhere" / "clone")
    first = cli("build", "-C", built, "--seed", "3", "--out", tmp_path / "seed3-a")
    second = cli("build", "-C", elsewhere, "--seed", "3", "--out", tmp_path / "seed3-b")

    assert first.stdout == BUILT.replace("build/", "seed3-a/")
    assert second.stdout == BUILT.replace("build/", "seed3-b/")
    assert read_tree(tmp_path / "seed3-a") == read_tree(tmp_path / "seed3-b")
    assert fingerprint(tmp_path / "seed3-a") == fingerprint(tmp_path / "seed3-b")
    # The seed matters: seed 7 (the spec's) gives other files and another fingerprint.
    assert (
        read_tree(tmp_path / "seed3-a")["train.jsonl"] != read_tree(built / "build")["train.jsonl"]
    )
    assert fingerprint(tmp_path / "seed3-a") != fingerprint(built / "build")


def test_seed_option_reproduces_the_records_of_a_spec_seed(
    built: Path, cli, tmp_path: Path
) -> None:
    other = copy_project(CASES / "coding", tmp_path / "seeded")
    _edit_dataset_seed(other)
    assert cli("build", "-C", other).exit_code == 0

    result = cli("build", "-C", built, "--seed", "8", "--out", tmp_path / "by-option")

    assert result.exit_code == 0
    by_option, by_spec = read_tree(tmp_path / "by-option"), read_tree(other / "build")
    assert list(by_option) == list(by_spec) == BUILD_FILES
    for name in BUILD_FILES[1:]:
        assert by_option[name] == by_spec[name], name
    # metadata.json differs only where the inputs differ: the bytes of specs/dataset.yaml
    # (and so in its own hash).
    meta_option, meta_spec = (json.loads(tree["metadata.json"]) for tree in (by_option, by_spec))
    differing = sorted(k for k in meta_option if meta_option[k] != meta_spec[k])
    assert differing == ["fingerprint", "inputs", "metadata_sha256"]
    assert [
        k for k in meta_option["inputs"] if meta_option["inputs"][k] != meta_spec["inputs"][k]
    ] == ["specs/dataset.yaml"]


def test_fingerprint_changes_with_any_input(built: Path, cli, tmp_path: Path) -> None:
    before = fingerprint(built / "build")
    _edit_data(built)
    assert cli("build", "-C", built).exit_code == 0
    after = fingerprint(built / "build")
    assert after != before
    edit(built / DATA, "await sleep(500);", "await sleep(1000);")
    assert cli("build", "-C", built).exit_code == 0
    assert fingerprint(built / "build") == before
    assert read_tree(built / "build") == read_tree(GOLDEN)
