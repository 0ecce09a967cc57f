"""Fuzz the data-file readers: random bytes and mutated rows of JSONL and CSV files.

compiler.load.load_data on any file has two outcomes: rows, or a CompileError whose
diagnostics point into that file and carry a hint -- never another exception, never a hang.
Rows then pass the input text gate (resolve.check_texts): what it lets through encodes as
UTF-8 and holds no NUL, so it can be hashed and written.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from compiler.errors import CompileError, Location
from compiler.load import load_data
from compiler.resolve import check_texts
from compiler.rows import DataFile
from tests.helpers import CASES, examples, hang_guard

FUZZ = settings(
    max_examples=examples(100),
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)

JSONL = (CASES / "coding/data/refactor.jsonl").read_text(encoding="utf-8") + (
    CASES / "minimal/data/examples.jsonl"
).read_text(encoding="utf-8")
CSV = (
    "id,question,answer\n"
    'flat_white,What is a flat white?,"Espresso, steamed milk and ""microfoam""."\n'
    "cold_brew,How is cold brew made?,Coarse grounds steeped in cold water.\n"
    '"multi","two\nlines",ok\n'
)

# What breaks JSON: escapes the gate must catch, non-finite and huge numbers, deep nesting,
# stray structure, raw control and separator characters, a BOM.
JSON_PIECES = [
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\ud83d\\ude00"',
    '"\\u0000"',
    "\\u0000",
    "\\ud800",
    "\\",
    '"',
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "-0",
    "9" * 5000,
    "[" * 70 + "]" * 70,
    "[" * 3000,
    '{"a": ' * 80,
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "true",
    '{"id": 1}',
    '{"id": ["x"]}',
    '{"id": "\\u0000"}',
    '{"\\ud800": 1}',
    '"k": 1, "k": 2',
    "\t",
    "\x00",
    "\u2028",
    "\x85",
    "\r",
    "\r\n",
    "\n",
    "\ufeff",
    "é",
]
CSV_PIECES = [
    '"',
    '""',
    ",",
    "\n",
    "\r",
    "\r\n",
    "\x00",
    "\ud800",  # written with surrogatepass: bytes that are not UTF-8
    "\u2028",
    "\x85",
    "\ufeff",
    "x" * 140_000,  # past the csv module's field size limit
    "a,b,c,d,e",
    "id",
    '"unclosed',
    " ",
    "\t",
    "é",
]


def _pieces(pieces: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(pieces), st.text(max_size=8))


@st.composite
def mutated(draw: st.DrawFn, base: str, pieces: list[str]) -> bytes:
    """The base text with a few edits, or (sometimes) random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=600))
    text = base
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "insert", "replace", "delete", "truncate", "line"]))
        if kind == "insert":
            text = text[:at] + draw(_pieces(pieces)) + text[at:]
        elif kind == "replace":
            text = text[:at] + draw(_pieces(pieces)) + text[at + draw(st.integers(1, 12)) :]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 30)) :]
        elif kind == "truncate":
            text = text[:at]
        else:
            lines = text.split("\n")
            lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(lines)))
            text = "\n".join(lines)
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace" if encoding != "utf-8" else "surrogatepass")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def read(name: str, content: bytes) -> DataFile | CompileError:
    """load_data on one file: the rows, or the CompileError; any other exception fails."""
    where = Location("specs/tasks/t.yaml", 3, 7)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "data").mkdir()
        (root / "data" / name).write_bytes(content)
        with hang_guard():
            try:
                return load_data(root, f"data/{name}", where)
            except CompileError as exc:
                return exc


def check(name: str, content: bytes) -> None:
    found = read(name, content)
    if isinstance(found, CompileError):
        assert found.diagnostics
        for diagnostic in found.diagnostics:
            assert diagnostic.location.file in (f"data/{name}", "specs/tasks/t.yaml")
            assert diagnostic.message and diagnostic.hint, diagnostic.render()
        return
    assert isinstance(found, DataFile)
    assert all(row.line >= 1 for row in found.rows)
    try:
        check_texts([], {found.path: found})
    except CompileError as exc:
        assert all(d.location.file == f"data/{name}" and d.hint for d in exc.diagnostics)
        return
    for row in found.rows:
        for text in _strings(row.value):
            text.encode("utf-8")  # raises when the gate let a lone surrogate through
            assert "\x00" not in text


@FUZZ
@given(mutated(JSONL, JSON_PIECES))
@example(b'{"id": "a\\ud800", "\\udc00": "\\u0000"}\n')
@example(b'{"n": 1e999, "deep": ' + b"[" * 200 + b"]" * 200 + b"}\n")
@example(b"\xff\xfe{}")
def test_jsonl_reader_gives_rows_or_a_clean_error(content: bytes) -> None:
    check("rows.jsonl", content)


@FUZZ
@given(mutated(CSV, CSV_PIECES))
@example(b"id,text\na,x\x00y\n")
@example(b'id,text\na,"never closed\n')
@example(b"id,text\ra,b\rc,d")
def test_csv_reader_gives_rows_or_a_clean_error(content: bytes) -> None:
    check("rows.csv", content)


def test_the_unmutated_files_are_read() -> None:
    for name, text in (("rows.jsonl", JSONL), ("rows.csv", CSV)):
        found = read(name, text.encode("utf-8"))
        assert isinstance(found, DataFile) and len(found.rows) >= 3
