"""Golden builds: each fixture project compiles to exactly its committed expected/ files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler.pipeline import build
from tests.helpers import CASES, ROOT, read_tree

GOLDEN_CASES = sorted(p.name for p in CASES.iterdir() if (p / "specs").is_dir())


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_case_builds_to_golden_files(name: str, case, tmp_path: Path, update_golden: bool) -> None:
    project = case(name)
    build(project, tmp_path / "out")
    expected_dir = CASES / name / "expected"
    if update_golden:
        shutil.rmtree(expected_dir, ignore_errors=True)
        shutil.copytree(tmp_path / "out", expected_dir)
    assert expected_dir.is_dir(), f"no golden files: run pytest --update-golden for {name}"
    assert read_tree(tmp_path / "out") == read_tree(expected_dir)


def test_shipped_example_matches_committed_build(example: Path, tmp_path: Path) -> None:
    build(example, tmp_path / "out")
    assert read_tree(tmp_path / "out") == read_tree(ROOT / "build")
