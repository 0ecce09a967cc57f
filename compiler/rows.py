"""Parse JSONL and CSV text into rows with their line numbers (pure): data files, and any JSONL."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from compiler.errors import CompileError, Location, fail
from compiler.yamlcompose import MAX_DEPTH
from compiler.yamldoc import CHAR_KIND, MAX_INT_DIGITS, line_start

# Rows of one data file, counted while reading so that a file of millions of tiny rows is
# refused before it is built: a million rows already take a few hundred MB in memory.
DATA_ROW_LIMIT = 1_000_000


class Row(NamedTuple):
    """One row of a data file and the line it starts on (a tuple: a million must be cheap)."""

    line: int
    value: Any


@dataclass(frozen=True)
class DataFile:
    path: str
    sha256: str
    rows: tuple[Row, ...]


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class _BadNumber(ValueError):
    """A JSON number a row may not hold; text is how it was written, to find its column."""

    def __init__(self, text: str, message: str) -> None:
        super().__init__(message)
        self.text = text


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 reads as infinity, which JSON cannot write back
        raise _BadNumber(text, f"number {text[:20]} is not finite")
    return value


def _short_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise _BadNumber(
            text,
            f"number {text[:20]}… has {len(text)} characters, over the limit of {MAX_INT_DIGITS}",
        )
    return int(text)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


# One decoder for every line: json.loads with options would build a new one per line.
_DECODER = json.JSONDecoder(
    parse_constant=_reject_constant,
    parse_float=_finite_float,
    parse_int=_short_int,
    object_pairs_hook=_unique_pairs,
)
# A line that is not blank: found by the regex engine, so that blank stretches cost nothing.
_JSON_LINE = re.compile(r"^.*\S.*$", re.MULTILINE)
_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]')


def _too_many_rows(relpath: str, line: int) -> CompileError:
    return fail(
        Location(relpath, line, 1),
        f"data file has more than {DATA_ROW_LIMIT} rows",
        "split it into smaller files; a rule can take a sample of each",
    )


def _json_depth_error(line: str) -> tuple[int, str] | None:
    """Where a row's lists and objects nest more than MAX_DEPTH deep (checked before parsing)."""
    depth = 0
    for found in _BRACKET.finditer(line):
        token = found.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return found.start() + 1, (
                    f"lists and objects are nested more than {MAX_DEPTH} levels deep"
                )
        elif token in "]}":
            depth -= 1
    return None


def _invalid_line(relpath: str, number: int, line: str, exc: Exception) -> CompileError:
    """A line that is not one JSON value a row may hold, located as precisely as it can be."""
    if isinstance(exc, json.JSONDecodeError):
        return fail(
            Location(relpath, number, exc.colno),
            f"invalid JSON: {exc.msg}",
            "each line of a .jsonl file is one complete JSON value; strings need double quotes",
        )
    if isinstance(exc, _BadNumber):
        return fail(
            Location(relpath, number, line.find(exc.text) + 1),
            f"invalid JSON: {exc}",
            "write it as a string if it is meant as text",
        )
    if isinstance(exc, RecursionError):  # not expected after the depth check; a last resort
        return fail(
            Location(relpath, number, 1),
            f"invalid JSON: lists and objects are nested more than {MAX_DEPTH} levels deep",
            "flatten the data",
        )
    return fail(
        Location(relpath, number, 1),
        f"invalid JSON: {exc}",
        "NaN and Infinity are not JSON, an object holds each key once, and an integer "
        "has at most 4300 digits",
    )


def _too_deep(relpath: str, number: int, line: str) -> CompileError | None:
    if line.count("[") + line.count("{") > MAX_DEPTH and (deep := _json_depth_error(line)):
        return fail(
            Location(relpath, number, deep[0]), f"invalid JSON: {deep[1]}", "flatten the data"
        )
    return None


def json_line(relpath: str, number: int, line: str) -> Any:
    """The value of one line of a JSONL file (not blank), refused as jsonl_rows refuses it."""
    if deep := _too_deep(relpath, number, line):
        raise deep
    try:
        return _DECODER.decode(line)
    except (ValueError, RecursionError) as exc:
        raise _invalid_line(relpath, number, line, exc) from None


def jsonl_rows(relpath: str, text: str) -> tuple[Row, ...]:
    """The rows of a JSONL file, refused as soon as one is wrong or there are too many."""
    rows: list[Row] = []
    number, counted = 1, 0
    decode, count, append = _DECODER.decode, text.count, rows.append
    for found in _JSON_LINE.finditer(text):
        start = found.start()
        number += count("\n", counted, start)
        counted = start
        line = found.group()
        if len(rows) == DATA_ROW_LIMIT:
            raise _too_many_rows(relpath, number)
        if line.count("[") + line.count("{") > MAX_DEPTH and (
            deep := _too_deep(relpath, number, line)
        ):
            raise deep
        try:
            append(Row(number, decode(line)))  # json_line's work, inline: a million lines
        except (ValueError, RecursionError) as exc:
            raise _invalid_line(relpath, number, line, exc) from None
    return tuple(rows)


_CSV_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def csv_rows(relpath: str, text: str) -> tuple[Row, ...]:
    found = _CSV_CONTROL.search(text)
    if found:
        # The csv module reads NUL and other C0 controls as text: refused here, where their
        # position is known, as JSON refuses them raw inside a string.
        line, start = line_start(text[: found.start()], "\r", "\n")
        raise fail(
            Location(relpath, line, found.start() - start + 1),
            f"{CHAR_KIND.get(found.group(), 'control character')} "
            f"U+{ord(found.group()):04X} is not allowed",
            "remove it; write the text the field should hold",
        )
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        for row in reader:
            if None in row or None in row.values():
                fields = sum(v is not None for k, v in row.items() if k is not None)
                fields += len(row.get(None) or ())
                header = len(reader.fieldnames or ())
                raise fail(
                    Location(relpath, reader.line_num, 1),
                    f"row has {fields} fields, the header has {header}",
                    'quote a field that holds a comma: "a, b"',
                )
            if len(rows) == DATA_ROW_LIMIT:
                raise _too_many_rows(relpath, reader.line_num)
            rows.append(Row(reader.line_num, dict(row)))
    except csv.Error as exc:
        raise fail(
            Location(relpath, reader.line_num, 1),
            f"invalid CSV: {exc}",
            'a quoted field is never closed: add its closing "'
            if "end of data" in str(exc)
            else 'quote a field that holds a comma, a quote or a line break ("a, b"), and '
            'write a quote inside it twice ("")',
        ) from None
    return tuple(rows)
