"""One line of any JSONL file: its bytes as a JSON value, or a located problem (pure).

dsc convert, dsc validate and dsc stats read files dsc did not make through this one module,
so that a byte order mark, invalid UTF-8, bad JSON (rows.json_line: NaN, duplicate keys,
nesting), a lone surrogate or a NUL is one message, worded and located the same everywhere.
"""

from __future__ import annotations

from typing import Any

from compiler.errors import CompileError, Location, fail
from compiler.rows import json_line
from compiler.text import describe, field_name, hint, refused_strings, shown

BOM = b"\xef\xbb\xbf"


class Problem(Exception):
    """What is wrong with a row and how to fix it; the caller knows the line."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def kind(value: Any) -> str:
    """A JSON value's type as a message names it."""
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def over_limit(relpath: str, number: int, size: int, limit: int) -> CompileError:
    """A line too long to be read (its size counted, never kept)."""
    return fail(
        Location(relpath, number, 1),
        f"line is {size} bytes, over the limit of {limit} bytes",
        "a row of a .jsonl file is one line, and no row needs that much text: "
        "check that the file is JSONL",
    )


def line_text(relpath: str, number: int, raw: bytes) -> str:
    """A line's bytes as text; a byte order mark on line 1 or invalid UTF-8 is refused."""
    if number == 1 and raw.startswith(BOM):
        # Line 1 is not read on: with the BOM, each of its columns would be one off.
        raise fail(
            Location(relpath, 1, 1),
            "file starts with a byte order mark (BOM)",
            "save the file as UTF-8 without BOM",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = len(raw[: exc.start].decode("utf-8", "replace")) + 1
        raise fail(
            Location(relpath, number, column),
            f"invalid UTF-8 byte 0x{raw[exc.start]:02x}",
            "save the file as UTF-8",
        ) from None


def line_value(relpath: str, number: int, raw: bytes) -> tuple[str, Any] | None:
    """(text, JSON value) of a line, None when it is blank; CompileError when it is wrong."""
    text = line_text(relpath, number, raw)
    if not text.strip():
        return None
    return text, json_line(relpath, number, text)


def refused(row: Any, text: str) -> Problem | None:
    """The first key or string of row that no output may hold (the text gate, text.py)."""
    if "\\u" not in text:
        return None  # a lone surrogate or a NUL only comes from a \u escape: raw, neither is JSON
    for path, is_key, found, char in refused_strings(row):
        if is_key:
            where = field_name(path[:-1]) if len(path) > 1 else "the row"
            return Problem(
                f"mapping key {shown(found)} in {where} holds {describe(char)}", hint(char)
            )
        return Problem(f"{field_name(path)} holds {describe(char)}", hint(char))
    return None
