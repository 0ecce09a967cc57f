"""`dsc build`: an up-to-date build writes nothing; a changed input or output rebuilds, says why."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import (
    BUILT,
    CONCEPTS,
    DATA,
    GOLDEN,
    ROOT,
    UP_TO_DATE,
    add_stray_file,
    delete_val,
    edit,
    edit_concept,
    edit_data,
    edit_dataset_seed,
    edit_train_by_hand,
    read_tree,
    snapshot,
    without_state,
)


def test_fresh_build_then_up_to_date_build_writes_nothing(case, cli, tmp_path: Path) -> None:
    project = case("coding")
    first = cli("build", "-C", project)
    assert (first.exit_code, first.stdout, first.stderr) == (0, BUILT, "")
    assert read_tree(project / "build") == read_tree(GOLDEN)
    before = without_state(snapshot(tmp_path))

    second = cli("build", "-C", project)

    assert (second.exit_code, second.stdout, second.stderr) == (0, UP_TO_DATE, "")
    assert without_state(snapshot(tmp_path)) == before


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


def _add_stray_task_file(project: Path) -> None:
    (project / "build/tasks/extra.jsonl").write_text("", encoding="utf-8")


def _edit_fingerprint_by_hand(project: Path) -> None:
    edit(project / "build/metadata.json", '"fingerprint": "cc', '"fingerprint": "dd')


def _edit_recorded_seed_by_hand(project: Path) -> None:
    edit(project / "build/metadata.json", '"seed": 7,', '"seed": 8,')


def _nothing(project: Path) -> None:
    pass


TRIGGERS: list[tuple[str, Callable[[Path], None], tuple[str, ...], str]] = [
    ("spec edited", edit_concept, (), f"rebuilding: {CONCEPTS} changed\n{BUILT}"),
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
    ("data edited", edit_data, (), f"rebuilding: {DATA} changed\n{BUILT}"),
    (
        "output edited",
        edit_train_by_hand,
        (),
        f"rebuilding: build/train.jsonl was edited by hand\n{BUILT}",
    ),
    (
        "stray output",
        add_stray_file,
        (),
        f"rebuilding: build/notes.txt is not a build output\n{BUILT}",
    ),
    (
        "stray task output",
        _add_stray_task_file,
        (),
        f"rebuilding: build/tasks/extra.jsonl is not a build output\n{BUILT}",
    ),
    ("output deleted", delete_val, (), f"rebuilding: build/val.jsonl is missing\n{BUILT}"),
    ("seed option", _nothing, ("--seed", "8"), f"rebuilding: seed changed (7 -> 8)\n{BUILT}"),
    (
        "seed in spec",
        edit_dataset_seed,
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
    before = without_state(snapshot(tmp_path))
    del before[
        "coding"
    ]  # its mtime: the check makes .dsc/ to read the clock, the failure removes it

    result = cli("build", "-C", built)

    assert result.exit_code == 1
    assert result.stdout == ""  # "rebuilding: …" is said only once a build succeeded
    assert result.stderr.startswith(
        f"specs/tasks/refactor.yaml:8:23: error: file not found: {DATA}"
    )
    after = without_state(snapshot(tmp_path))
    assert after.pop("coding")[0] == built.stat().st_ino
    assert after == before


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
    assert "compiler.uptodate" in imported
    # Nor watchfiles: dsc build --watch alone imports it.
    heavy = ("jinja2", "jsonschema", "watchfiles", "compiler.watch")
    heavy += ("compiler.pipeline", "compiler.expand", "compiler.validate")
    assert sorted(m for m in imported if m.split(".")[0] in heavy or m in heavy) == []
