"""`dsc check`: build/ matches the specs, or a summary of what differs, writing nothing."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import (
    BUILD_FILES,
    CONCEPTS,
    add_stray_file,
    delete_val,
    edit,
    edit_concept,
    edit_train_by_hand,
    snapshot,
)

# The coding case has no Makefile: the hint names dsc itself, with the -C the check was given.
CHECK_HINT = "  hint: run `dsc build -C {project}` and commit build/\n"


def _check_problem(*lines: str) -> str:
    return "build/ does not match the specs:\n" + "".join(f"  {x}\n" for x in lines) + CHECK_HINT


def _edit_metadata_counts(project: Path) -> None:
    edit(project / "build/metadata.json", '"records": {"total": 12,', '"records": {"total": 13,')


CHECK_PROBLEMS = [
    (
        "stale",
        edit_concept,
        _check_problem(
            *(
                f"build/{name} differs (stale or edited by hand)"
                for name in BUILD_FILES
                # The other task's records, and the files that say which files have rows.
                if name not in ("tasks/refactor.jsonl", "dataset_info.json")
            )
        ),
    ),
    (
        "output edited",
        edit_train_by_hand,
        _check_problem("build/train.jsonl differs (stale or edited by hand)"),
    ),
    (
        "metadata edited",
        _edit_metadata_counts,
        _check_problem("build/metadata.json differs (stale or edited by hand)"),
    ),
    ("missing", delete_val, _check_problem("build/val.jsonl is missing")),
    ("extra", add_stray_file, _check_problem("build/notes.txt is not a build output")),
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

    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        expected.format(project=built),
    )
    assert snapshot(built) == before
    assert list(scratch.iterdir()) == []


def test_check_hint_names_the_makefile_target_when_the_project_has_one(
    built: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    delete_val(built)
    monkeypatch.chdir(built)
    assert cli("check").stderr.endswith("  hint: run `dsc build` and commit build/\n")
    (built / "Makefile").write_text("dataset:\n\tdsc build\n", encoding="utf-8")
    assert cli("check").stderr.endswith(
        "  hint: run `make dataset` (dsc build) and commit build/\n"
    )


def test_check_reports_a_spec_error_like_build(built: Path, cli) -> None:
    edit(built / CONCEPTS, "lang: languages", "lang: langauges")

    result = cli("check", "-C", built)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"{CONCEPTS}:")
    assert "error:" in result.stderr
