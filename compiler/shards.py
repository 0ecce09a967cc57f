"""Sharded outputs: Hugging Face file names and the rows each shard holds (pure).

A file of n rows written as N shards is cut at rows i·n//N (i = 0..N): shard i holds rows
i·n//N .. (i+1)·n//N - 1 of the one-file output, in the same order, so the shards concatenated
in name order are that file byte for byte, and every runner cuts at the same rows.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

MAX_SHARDS = 99999  # five digits, as Hugging Face names them


def shard_names(path: str, shards: int) -> list[str]:
    """The files of one output: itself when shards is 1, else `train-00000-of-00008.jsonl`..."""
    if shards <= 1:
        return [path]
    stem, _, extension = path.rpartition(".")
    return [f"{stem}-{i:05d}-of-{shards:05d}.{extension}" for i in range(shards)]


def bounds(rows: int, shards: int) -> list[int]:
    """The first row of each shard, then the number of rows."""
    return [i * rows // shards for i in range(shards + 1)]


def shard_of(rank: int, cuts: Sequence[int]) -> int:
    """The shard that holds row `rank`, given bounds(rows, shards); the last of the shards
    that start there when some before it are empty."""
    return bisect.bisect_right(cuts, rank) - 1


def pieces(
    start: int, rows: Sequence[bytes], cuts: Sequence[int]
) -> Iterator[tuple[int, int, int]]:
    """(shard, first, stop): the slices of rows (rows start..start+len(rows)-1 of the file)
    that fall in each shard, in order."""
    first = 0
    while first < len(rows):
        shard = shard_of(start + first, cuts)
        stop = min(len(rows), cuts[shard + 1] - start)
        yield shard, first, stop
        first = stop


@dataclass(frozen=True)
class Sink:
    """Where Sharded's rows go, which does the I/O: begin(name) -> a handle (the file
    opened), add(handle, data), end(handle) -> the file's sha256 once closed."""

    begin: Callable[[str], Any]
    add: Callable[[Any, bytes], None]
    end: Callable[[Any], str]


class Sharded:
    """The rows of one output written in order into its shards: each shard is opened through
    sink.begin(name) when its first row comes (the first at once; an empty one when a later
    row comes, or at the end) and closed when the next is opened, so one shard of the output
    is open at a time.
    """

    def __init__(self, path: str, rows: int, shards: int, sink: Sink) -> None:
        self.names = shard_names(path, shards)
        self.cuts = bounds(rows, len(self.names))
        self.sink = sink
        self.index = -1
        self.handle: Any = None
        self.written = 0
        self.closed: list[tuple[str, Any, str]] = []  # (name, handle, sha256)
        # The first shard is opened now, by the caller's thread (the whole file, unsharded),
        # as a writer opened its files before this class: later ones as rows reach them.
        self._reach(0)

    def write(self, rows: list[bytes]) -> None:
        if self.written + len(rows) > self.cuts[-1]:
            raise ValueError("more rows than the output was told it holds")
        whole = len(rows)
        for shard, first, stop in pieces(self.written, rows, self.cuts):
            self._reach(shard)
            self.sink.add(
                self.handle, b"".join(rows if stop - first == whole else rows[first:stop])
            )
        self.written += whole

    def _reach(self, shard: int) -> None:
        while self.index < shard:
            self._close_current()
            self.index += 1
            self.handle = self.sink.begin(self.names[self.index])

    def _close_current(self) -> None:
        if self.handle is not None:
            self.closed.append((self.names[self.index], self.handle, self.sink.end(self.handle)))
            self.handle = None

    def close(self) -> list[tuple[str, Any, str]]:
        """Open and close the shards not reached (empty ones); every shard's name, handle and
        digest, in order."""
        self._reach(len(self.names) - 1)
        self._close_current()
        return self.closed


_SHARD = re.compile(r"(.+)-([0-9]{5})-of-([0-9]{5})(\.[a-z]+)")


def shards_among(names: Iterable[str], path: str) -> list[str]:
    """The shards of the output `path` that some file names show it was cut into: every
    name of the set, in order, missing ones too (the reader reports them); none when no name
    is one of its shards. Two counts N among the names: the larger's set."""
    stem, _, extension = path.rpartition(".")
    found = set()
    for name in names:
        match = _SHARD.fullmatch(name)
        if match and match[1] == stem and match[4] == f".{extension}" and int(match[3]) > 1:
            found.add(int(match[3]))
    return shard_names(path, max(found)) if found else []


def unsharded(name: str) -> str:
    """The output a shard belongs to (`train-00001-of-00008.jsonl` -> `train.jsonl`); any
    other name as it is."""
    match = _SHARD.fullmatch(name)
    return f"{match[1]}{match[4]}" if match and int(match[3]) > 1 else name
