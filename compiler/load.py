"""EDGE: read spec and data files (I/O and decoding), then parse them with yamldoc and rows."""

from __future__ import annotations

from pathlib import Path

from compiler import files
from compiler.errors import Location, fail
from compiler.rows import DataFile, Row, csv_rows, jsonl_rows
from compiler.yamldoc import Document, line_start, parse_yaml, sha256_text

SPEC_FILE_LIMIT = files.SPEC_FILE_LIMIT
DATA_FILE_LIMIT = files.DATA_FILE_LIMIT


def read_text(
    root: Path,
    relpath: str,
    limit: int,
    location: Location | None = None,
    outputs: tuple[Path, ...] = (),
) -> str:
    """Read a project file as UTF-8 text; decode errors are reported with line and column."""
    where = location or Location(relpath)
    try:
        raw = files.read_bytes(root, relpath, limit, outputs)
    except files.Refused as exc:
        raise fail(where, exc.message, exc.hint) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line, start = line_start(before, b"\r", b"\n")
        column = len(before[start:].decode("utf-8", "replace")) + 1
        raise fail(
            Location(relpath, line, column),
            f"invalid UTF-8 byte 0x{raw[exc.start]:02x}",
            "save the file as UTF-8",
        ) from None
    if text.startswith("\ufeff"):
        raise fail(
            Location(relpath, 1, 1),
            "file starts with a byte order mark (BOM)",
            "save the file as UTF-8 without BOM",
        )
    return text


def load_yaml(root: Path, relpath: str, outputs: tuple[Path, ...] = ()) -> Document:
    """Read and parse one YAML spec file of the project."""
    return parse_yaml(relpath, read_text(root, relpath, SPEC_FILE_LIMIT, None, outputs))


def load_data(
    root: Path, relpath: str, location: Location, outputs: tuple[Path, ...] = ()
) -> DataFile:
    """Read a JSONL, YAML or CSV data file of real examples (never one of outputs' files)."""
    text = read_text(root, relpath, DATA_FILE_LIMIT, location, outputs)
    suffix = relpath.rsplit(".", 1)[-1].lower() if "." in relpath else ""
    if suffix == "jsonl":
        rows = jsonl_rows(relpath, text)
    elif suffix in ("yaml", "yml"):
        doc = parse_yaml(relpath, text)
        if not isinstance(doc.data, list):
            raise fail(
                doc.at(()),
                "a YAML data file must hold a list of rows",
                "write one row a list item: '- {id: a, question: …}'",
            )
        rows = tuple(Row(doc.at((i,)).line, item) for i, item in enumerate(doc.data))
    elif suffix == "csv":
        rows = csv_rows(relpath, text)
    else:
        raise fail(
            location, f"unsupported data file type {relpath!r}", "use .jsonl, .yaml, .yml or .csv"
        )
    return DataFile(relpath, sha256_text(text), rows)
