"""EDGE: JSONL files named on the command line, read a line at a time: dsc convert's input,
and the files and folders dsc validate and dsc stats look at.

Memory is bounded by the longest line (LINE_LIMIT): a line over it is counted, never kept.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import BinaryIO

from compiler import files
from compiler.errors import Location, fail
from compiler.model import SPLITS
from compiler.shards import shards_among

LINE_LIMIT = 16 * 1024 * 1024  # bytes of one line, its line break left out
BUFFER = 1 << 20


@contextlib.contextmanager
def opened(name: str) -> Iterator[BinaryIO]:
    """The regular file name (as given on the command line), through the file gate."""
    try:
        fd = files.open_named(name)
    except files.Refused as exc:
        raise fail(Location(name), exc.message, exc.hint) from None
    with os.fdopen(fd, "rb", buffering=BUFFER) as reader:
        yield reader


def lines(reader: BinaryIO, name: str) -> Iterator[bytes | int]:
    """Each line of reader without its line break, or the size of a line over LINE_LIMIT
    (read past, never kept)."""
    try:
        while raw := reader.readline(LINE_LIMIT + 1):
            if raw.endswith(b"\n"):
                yield raw[:-1]
            elif len(raw) <= LINE_LIMIT:
                yield raw  # the last line, without a line break
            else:
                size = len(raw)
                while (chunk := reader.readline(BUFFER)) and not chunk.endswith(b"\n"):
                    size += len(chunk)
                yield size + max(len(chunk) - 1, 0)
    except OSError as exc:
        raise fail(
            Location(name), f"cannot read {name}: {exc.strerror}", "check the file"
        ) from None


# How metadata.json names its writer (stats.py), near the top of the file.
_DSC_MARK = b'"compiler": {"name": "dsc"'


def is_build(folder: str) -> bool:
    """Whether folder holds a metadata.json that dsc build wrote."""
    try:
        with open(os.path.join(folder, "metadata.json"), "rb") as handle:
            return _DSC_MARK in handle.read(4096)
    except OSError:
        return False


def _join(folder: str, name: str) -> str:
    return name if folder == "." else f"{folder.rstrip('/')}/{name}"


def _listing(folder: str) -> list[os.DirEntry]:
    try:
        return sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        raise fail(
            Location(folder), f"cannot list {folder}: {exc.strerror}", "check the path"
        ) from None


def split_files(folder: str) -> list[str]:
    """The train/val/test .jsonl files directly in folder (or their shards), in split order."""
    names = {entry.name for entry in _listing(folder) if entry.is_file()}
    found = []
    for split in SPLITS:
        whole = f"{split}.jsonl"
        listed = [whole] if whole in names else shards_among(names, whole)
        found += [_join(folder, name) for name in listed if name in names]
    return found


def jsonl_files(folder: str, deep: bool) -> list[str]:
    """The .jsonl files of folder (and of the folders below it when deep), sorted by path;
    links to folders are not followed."""
    found = []
    for entry in _listing(folder):
        path = _join(folder, entry.name)
        if entry.is_dir(follow_symlinks=False):
            if deep:
                found.extend(jsonl_files(path, deep))
        elif entry.name.endswith(".jsonl") and entry.is_file():
            found.append(path)
    return sorted(found)


def total_size(paths: list[str]) -> int:
    """Bytes in the files named (0 for any that cannot be read): how long the work is."""
    size = 0
    for path in paths:
        with contextlib.suppress(OSError):
            size += os.stat(path).st_size
    return size
