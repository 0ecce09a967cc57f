"""EDGE: dsc validate and dsc stats over the files and folders named on the command line, each
file streamed a line at a time (jsonlfile) through rowcheck's checks or rowstats' tally.

Memory is what those modules keep (docs/validate.md, docs/stats.md) and one line at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from compiler import jsonlfile
from compiler.errors import CompileError, Diagnostic, Location, fail
from compiler.jsonl import Problem, line_value, refused
from compiler.model import SPLITS
from compiler.rowcheck import FileCheck, Limits
from compiler.rowstats import Tally, Tokens
from compiler.shapes import detect, read_row
from compiler.shards import unsharded

PROGRESS_STEP = 1 << 20  # bytes read between two updates of a progress bar
Progress = Callable[[int], None]  # bytes read since the last call


def _nothing(_: int) -> None:
    pass


def validate_paths(paths: Iterable[str]) -> list[str]:
    """The files dsc validate reads: each file named, and every .jsonl file below each folder
    named (sorted by path), each once."""
    found: list[str] = []
    for path in paths:
        found.extend(jsonlfile.jsonl_files(path, deep=True) if os.path.isdir(path) else [path])
    return list(dict.fromkeys(found))


def _split(path: str) -> str | None:
    name = unsharded(os.path.basename(path))
    stem = name[: -len(".jsonl")] if name.endswith(".jsonl") else ""
    return stem if stem in SPLITS else None


def stats_paths(paths: Iterable[str]) -> list[str]:
    """The files dsc stats reads: a folder that is a dsc build or holds train/val/test .jsonl
    files gives its split files, another folder its .jsonl files (not those below); in folder,
    then split, then name order, whatever order they were named in."""
    found: list[str] = []
    for path in paths:
        if not os.path.isdir(path):
            found.append(path)
            continue
        splits = jsonlfile.split_files(path)
        found.extend(
            splits if splits or jsonlfile.is_build(path) else jsonlfile.jsonl_files(path, False)
        )

    def order(path: str) -> tuple[str, int, str]:
        split = _split(path)
        rank = SPLITS.index(split) if split else len(SPLITS)
        return os.path.dirname(path), rank, os.path.basename(path)

    return sorted(dict.fromkeys(found), key=order)


def _read(path: str, feed: Callable[[int, bytes | int], None], progress: Progress) -> None:
    """Feed each line of path to feed; CompileError when the file cannot be opened or read."""
    pending = 0
    with jsonlfile.opened(path) as reader:
        for number, raw in enumerate(jsonlfile.lines(reader, path), 1):
            feed(number, raw)
            pending += (raw if isinstance(raw, int) else len(raw)) + 1
            if pending >= PROGRESS_STEP:
                progress(pending)
                pending = 0
    progress(pending)


def validate_files(
    paths: list[str],
    limits: Limits,
    fmt: str | None,
    say: Callable[[Diagnostic], None],
    done: Callable[[FileCheck], None],
    progress: Progress = _nothing,
) -> list[FileCheck]:
    """Check each file: say() each message as it is found, done() each file's check."""
    checks = []
    for path in paths:
        check = FileCheck(path, limits, fmt)
        told = 0

        def feed(number: int, raw: bytes | int, check: FileCheck = check) -> None:
            nonlocal told
            check.feed(number, raw, jsonlfile.LINE_LIMIT)
            while told < len(check.shown):
                say(check.shown[told])
                told += 1

        try:
            _read(path, feed, progress)
        except CompileError as exc:
            check.refuse(exc)
        check.finish()
        for diagnostic in check.shown[told:]:
            say(diagnostic)
        checks.append(check)
        done(check)
    return checks


def stats_files(
    paths: list[str],
    fmt: str | None,
    by: tuple[str, ...] | None,
    tokenizer: str | None,
    progress: Progress = _nothing,
) -> dict[str, Any]:
    """dsc stats' document over the files; rows that are not rows of the file's format are
    skipped and counted (dsc validate says why)."""
    tokens, unit = _tokenizer(tokenizer) if tokenizer else (None, "")
    tally = Tally(by, tokens, unit)
    for path in paths:
        entry = tally.file(path, fmt, _split(path))
        entry["skipped"] = 0

        def feed(
            number: int, raw: bytes | int, entry: dict[str, Any] = entry, path: str = path
        ) -> None:
            try:
                found = None if isinstance(raw, int) else line_value(path, number, raw)
            except CompileError:
                found = None
            if found is None:
                entry["skipped"] += not isinstance(raw, bytes) or bool(raw.strip())
                return
            text, row = found
            try:
                if not isinstance(row, dict) or refused(row, text) is not None:
                    raise Problem("not a row", "")
                entry["format"] = entry["format"] or detect(row)
                tally.add(read_row(row, entry["format"]), row)
            except Problem:
                entry["skipped"] += 1

        _read(path, feed, progress)
    return tally.document()


def _tokenizer(path: str) -> tuple[Tokens, str]:
    """The token counter of a tokenizer.json (the `tokens` extra's tokenizers library)."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise fail(
            Location(path),
            "counting tokens needs the tokenizers library",
            "pip install 'dsc-dataset-compiler[tokens]'",
        ) from None
    with jsonlfile.opened(path) as reader:
        data = reader.read(jsonlfile.LINE_LIMIT * 4 + 1)
    if len(data) > jsonlfile.LINE_LIMIT * 4:
        raise fail(Location(path), "the tokenizer file is over 64 MiB", "name a tokenizer.json")
    try:
        tokenizer = Tokenizer.from_str(data.decode("utf-8"))
    except Exception as exc:  # the library's own errors: any of them means a bad file
        raise fail(
            Location(path),
            f"not a tokenizer.json the tokenizers library reads: {str(exc)[:200]}",
            "name the tokenizer.json file of a Hugging Face tokenizer",
        ) from None

    def count(texts: list[str]) -> list[int]:
        return [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]

    return count, os.path.basename(path)
