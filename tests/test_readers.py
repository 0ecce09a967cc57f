"""The readers refuse early: huge, deep or endless files stop with a located error, in bounded
memory, and positions count lines as the file's own line breaks do.

The bomb cases run `dsc build` in a process of its own (tests/forked.py) whose address space is
capped at 1 GiB; the timeout only catches a hang (the machine is shared and noisy), it
measures nothing.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from compiler import load, rows, yamlcompose, yamldoc
from compiler.errors import CompileError
from tests import forked
from tests.helpers import CASES, ROOT, copy_project

MEMORY = 1 << 30
CORPUS = Path(__file__).resolve().parent / "errors"


CAPPED = [(resource.RLIMIT_AS, MEMORY)]


def build_capped(project: Path) -> subprocess.CompletedProcess[str]:
    return forked.run("build", "-C", project, "-j", "1", limits=CAPPED)


# The row limit in the tests of files of millions of rows: a tenth of the real one, so that the
# refusal comes after 100,000 rows read instead of a million; the file stays many times larger
# than the limit, and than what the capped process could hold if it kept the file's rows.
ROW_LIMIT = rows.DATA_ROW_LIMIT // 10


def build_capped_at(project: Path, limit: int) -> subprocess.CompletedProcess[str]:
    """`dsc build` as build_capped runs it, with rows.DATA_ROW_LIMIT set to limit."""
    return forked.run(
        "build",
        "-C",
        project,
        "-j",
        "1",
        limits=CAPPED,
        patches=[("compiler.rows", "DATA_ROW_LIMIT", limit)],
    )


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    return copy_project(CASES / "minimal", tmp_path / "project")


def _use_data(project: Path, name: str) -> None:
    task = project / "specs/tasks/caption.yaml"
    task.write_text(
        task.read_text(encoding="utf-8").replace("data/examples.jsonl", f"data/{name}"),
        encoding="utf-8",
    )


def test_a_4_mib_flow_list_spec_is_refused_at_the_node_limit(minimal: Path) -> None:
    dataset = minimal / "specs/dataset.yaml"
    items = ",".join(["1"] * (2 * 1024 * 1024 - 100))
    dataset.write_text(dataset.read_text(encoding="utf-8") + f"big: [{items}]\n")
    assert dataset.stat().st_size < load.SPEC_FILE_LIMIT

    done = build_capped(minimal)

    assert (done.returncode, done.stdout) == (1, "")
    # The spec's own 8 nodes come first: node 200,001 is item 199,993, at column 6 + 2 × 199,992.
    assert done.stderr == (
        "specs/dataset.yaml:5:399991: error: file has more than 200000 YAML nodes\n"
        "  hint: split it into smaller files\n"
    )


def test_a_16_mib_yaml_data_file_is_refused_at_the_node_limit(minimal: Path) -> None:
    row = "- {id: r, question: q, answer: a}\n"
    (minimal / "data/rows.yaml").write_text(row * (16 * 1024 * 1024 // len(row)))
    _use_data(minimal, "rows.yaml")

    done = build_capped(minimal)

    assert (done.returncode, done.stdout) == (1, "")
    # The list, then 4 nodes a row: node 200,001 is the last value of row 50,000.
    assert done.stderr == (
        "data/rows.yaml:50000:32: error: file has more than 200000 YAML nodes\n"
        "  hint: split it into smaller files\n"
    )


def test_a_jsonl_of_millions_of_tiny_rows_is_refused_while_it_is_read(minimal: Path) -> None:
    (minimal / "data/tiny.jsonl").write_text("{}\n" * (16 * 1024 * 1024 // 3))
    _use_data(minimal, "tiny.jsonl")

    done = build_capped_at(minimal, ROW_LIMIT)

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"data/tiny.jsonl:{ROW_LIMIT + 1}:1: error: data file has more than "
        f"{ROW_LIMIT} rows\n"
        "  hint: split it into smaller files; a rule can take a sample of each\n"
    )


def test_a_csv_of_millions_of_rows_is_refused_while_it_is_read(minimal: Path) -> None:
    (minimal / "data/rows.csv").write_text("id,question,answer\n" + "r,q,a\n" * 2_000_000)
    _use_data(minimal, "rows.csv")

    done = build_capped_at(minimal, ROW_LIMIT)

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(
        f"data/rows.csv:{ROW_LIMIT + 2}:1: error: data file has more than "
    )


# --- JSONL ------------------------------------------------------------------------------------


def _jsonl_error(text: str) -> str:
    with pytest.raises(CompileError) as caught:
        rows.jsonl_rows("d.jsonl", text)
    return caught.value.render()


def test_jsonl_nesting_is_bounded_at_64_levels_like_yaml() -> None:
    assert rows.jsonl_rows("d.jsonl", "[" * 64 + "]" * 64 + "\n")[0].line == 1
    assert _jsonl_error('\n\n{"a": "[[[", "b": ' + "[" * 64 + "]" * 64 + "}\n") == (
        "d.jsonl:3:82: error: invalid JSON: lists and objects are nested more than 64 "
        "levels deep\n  hint: flatten the data"
    )


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1E400"])
def test_jsonl_numbers_that_read_as_infinity_are_refused(number: str) -> None:
    assert _jsonl_error(f'{{"id": "a", "v": {number}}}\n') == (
        f"d.jsonl:1:18: error: invalid JSON: number {number} is not finite\n"
        "  hint: write it as a string if it is meant as text"
    )


def test_jsonl_keeps_every_finite_number_and_its_line() -> None:
    found = rows.jsonl_rows("d.jsonl", '\n  \n{"a": 1e308, "b": -0.5, "c": 12}\r\n\n[1]\n')
    assert found == (rows.Row(3, {"a": 1e308, "b": -0.5, "c": 12}), rows.Row(5, [1]))
    assert json.dumps(found[0].value) == '{"a": 1e+308, "b": -0.5, "c": 12}'


def test_jsonl_integers_are_bounded_like_yaml() -> None:
    assert "has 101 characters, over the limit of 100" in _jsonl_error("1" * 101 + "\n")


# --- CSV --------------------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_a_raw_nul_in_a_csv_field_is_located(newline: str) -> None:
    text = newline.join(["a,b", "1,x", "2,ab\x00c", ""])
    with pytest.raises(CompileError) as caught:
        rows.csv_rows("d.csv", text)
    assert caught.value.render() == (
        "d.csv:3:5: error: control character U+0000 is not allowed\n"
        "  hint: remove it; write the text the field should hold"
    )


# --- positions in files saved with CR alone ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "yaml_lone_surrogate",
        "yaml_control_character",
        "yaml_invalid_utf8",
        "tpl_undefined_in_block",
    ],
)
def test_a_cr_only_file_reports_the_positions_of_an_lf_file(name: str, tmp_path: Path) -> None:
    """YAML counts a lone CR as a line break; every position dsc computes must do the same."""
    import runpy

    from click.testing import CliRunner

    from compiler.cli import main

    project = tmp_path / name
    shutil.copytree(CORPUS / name, project, ignore=shutil.ignore_patterns("expected.txt", "*.py"))
    for path in project.rglob("*.yaml"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    if (CORPUS / name / "make.py").is_file():
        runpy.run_path(str(CORPUS / name / "make.py"))["make"](project)

    result = CliRunner().invoke(main, ["build", "-C", str(project)])

    assert result.stderr == (CORPUS / name / "expected.txt").read_text(encoding="utf-8")


# --- libyaml's early count -------------------------------------------------------------------


def _yaml_files() -> list[Path]:
    tests = Path(__file__).resolve().parent
    found = [*tests.glob("cases/*/**/*.yaml"), *tests.glob("errors/*/**/*.yaml")]
    found += [*ROOT.glob("specs/**/*.yaml"), *ROOT.glob("brands/*.yaml")]
    return sorted(p for p in found if p.is_file())


def _outcome(relpath: str, text: str) -> object:
    try:
        doc = yamldoc.parse_yaml(relpath, text)
    except CompileError as exc:
        return exc.render()
    return (doc.data, doc.values, doc.keys)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")
def test_the_early_count_changes_no_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    """libyaml only counts: every spec of the corpus loads (or fails) as PyYAML alone says."""
    files = _yaml_files()
    assert len(files) > 100
    texts = [p.read_bytes().decode("utf-8", "replace") for p in files]
    texts += ["a: " + "[" * 80 + "]" * 80, "- " + "{a: " * 70 + "1" + "}" * 70, "[&a 1, *a]"]
    # Each text as written and with CRLF line ends; every fourth also with CR alone (the
    # prescan counts lines the same way for both kinds of break).
    variants = [
        variant
        for i, text in enumerate(texts)
        for variant in (text, text.replace("\n", "\r\n"))
        + ((text.replace("\n", "\r"),) if i % 4 == 0 or i >= len(texts) - 3 else ())
    ]
    with_count = [_outcome("f.yaml", variant) for variant in variants]
    monkeypatch.setattr(yamlcompose, "_prescan", lambda text: None)
    without = [_outcome("f.yaml", variant) for variant in variants]
    assert with_count == without
