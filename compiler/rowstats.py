"""dsc stats' figures over the rows of JSONL files: counts by metadata key, length
distributions, duplicates, per-split balance, preference and KTO shares (pure).

Lengths are counted as metadata.json counts them (rowcheck.length: code points after NFC) and
summarised by the same code (stats.counted_stats), so dsc stats on a build agrees with its
metadata.json. Memory: a count per distinct length, per distinct metadata value (at most
DISTINCT_LIMIT a key unless --by names it) and a 16-byte digest per distinct row and prompt.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from compiler.model import SPLITS
from compiler.rowcheck import digest, length
from compiler.shapes import Read
from compiler.stats import counted_stats

DISTINCT_LIMIT = 20  # a metadata key with more distinct values is not counted by default
BINS = 10

Tokens = Callable[[list[str]], list[int]]  # texts -> their numbers of tokens


def value_name(value: Any) -> str:
    """A metadata value as counts name it: a string as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def histogram(counter: Counter[int], bins: int = BINS) -> list[dict[str, int]]:
    """BINS bins of equal integer width over [min, max]: `from` inclusive, `to` exclusive."""
    if not counter:
        return []
    low, high = min(counter), max(counter)
    width = -(-(high - low + 1) // bins)
    found = [0] * -(-(high - low + 1) // width)
    for value, count in counter.items():
        found[(value - low) // width] += count
    return [
        {"from": low + i * width, "to": low + (i + 1) * width, "count": count}
        for i, count in enumerate(found)
    ]


def distribution(counter: Counter[int]) -> dict[str, Any]:
    return {**counted_stats(counter), "histogram": histogram(counter)}


@dataclass
class _Counts:
    """Values of each metadata key; a key past `limit` distinct values is dropped (None)."""

    limit: int | None
    keys: dict[str, Counter[str] | None] = field(default_factory=dict)

    def add(self, key: str, value: Any) -> None:
        counter = self.keys.setdefault(key, Counter())
        if counter is None:
            return
        counter[value_name(value)] += 1
        if self.limit is not None and len(counter) > self.limit:
            self.keys[key] = None

    def document(self, keys: Sequence[str]) -> dict[str, list[list[Any]]]:
        found = {}
        for key in keys:
            counter = self.keys.get(key, Counter())
            if counter is not None:
                pairs = sorted(counter.items(), key=lambda pair: (-pair[1], pair[0]))
                found[key] = [[value, count] for value, count in pairs]
        return found


@dataclass
class Tally:
    """Figures over rows fed one at a time; by names the keys counted (None: every metadata
    key with at most DISTINCT_LIMIT distinct values)."""

    by: tuple[str, ...] | None = None
    tokens: Tokens | None = None
    token_unit: str = ""
    files: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    _lengths: dict[str, Counter[int]] = field(default_factory=dict)
    _tokens: dict[str, Counter[int]] = field(default_factory=dict)
    _counts: _Counts = field(init=False)
    _splits: dict[str, tuple[list[int], _Counts]] = field(default_factory=dict)
    _rows: set[bytes] = field(default_factory=set)
    _prompts: dict[bytes, bytes] = field(default_factory=dict)
    _conflicts: set[bytes] = field(default_factory=set)
    _pairs: list[int] = field(default_factory=lambda: [0, 0])  # chosen longer, pairs
    _labels: list[int] = field(default_factory=lambda: [0, 0])  # desirable, rows

    def __post_init__(self) -> None:
        self._counts = self._new_counts()

    def _new_counts(self) -> _Counts:
        return _Counts(None if self.by is not None else DISTINCT_LIMIT)

    def file(self, path: str, fmt: str | None, split: str | None) -> dict[str, Any]:
        entry = {"path": path, "format": fmt, "rows": 0, "split": split}
        self.files.append(entry)
        if split is not None:
            self._splits.setdefault(split, ([0], self._new_counts()))
        return entry

    def add(self, read: Read, row: dict[str, Any]) -> None:
        entry = self.files[-1]
        entry["rows"] += 1
        self.rows += 1
        for name, text in read.texts:
            self._lengths.setdefault(name, Counter())[length(text)] += 1
        if self.tokens is not None and read.texts:
            counts = self.tokens([text for _, text in read.texts])
            for (name, _), count in zip(read.texts, counts, strict=True):
                self._tokens.setdefault(name, Counter())[count] += 1
        split = self._splits.get(entry["split"]) if entry["split"] else None
        if split is not None:
            split[0][0] += 1
        for key, value in self._keyed(row):
            self._counts.add(key, value)
            if split is not None:
                split[1].add(key, value)
        self._duplicates(read)
        if read.pair is not None:
            chosen, rejected = read.pair
            self._pairs[0] += length(chosen) > length(rejected)
            self._pairs[1] += 1
        if read.label is not None:
            self._labels[0] += read.label
            self._labels[1] += 1

    def _keyed(self, row: dict[str, Any]) -> list[tuple[str, Any]]:
        meta = row.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        if self.by is None:
            return list(meta.items())
        return [
            (key, meta[key] if key in meta else row[key])
            for key in self.by
            if key in meta or key in row
        ]

    def _duplicates(self, read: Read) -> None:
        whole = digest(f"{read.prompt}\x00{read.answer}")
        if whole in self._rows:
            return
        self._rows.add(whole)
        if read.prompt is not None:
            prompt = digest(read.prompt)
            if self._prompts.setdefault(prompt, whole) != whole:
                self._conflicts.add(prompt)

    def _keys(self) -> list[str]:
        return list(self.by) if self.by is not None else list(self._counts.keys)

    def document(self) -> dict[str, Any]:
        """The JSON document of docs/stats.md (its keys and their order are an interface)."""
        document: dict[str, Any] = {
            "files": self.files,
            "rows": self.rows,
            "lengths": {
                "unit": "characters (Unicode code points, NFC)",
                **{name: distribution(c) for name, c in self._lengths.items()},
            },
        }
        if self.tokens is not None:
            document["tokens"] = {
                "unit": f"tokens ({self.token_unit})",
                **{name: distribution(c) for name, c in self._tokens.items()},
            }
        keys = self._keys()
        document["counts"] = self._counts.document(keys)
        document["duplicates"] = {
            "exact": self.rows - len(self._rows),
            "prompts_with_different_answers": len(self._conflicts),
        }
        if self._splits:
            order = sorted(self._splits, key=lambda s: ((*SPLITS, s).index(s), s))
            document["splits"] = {
                name: {
                    "rows": self._splits[name][0][0],
                    "counts": self._splits[name][1].document(
                        [k for k in keys if k in document["counts"]]
                    ),
                }
                for name in order
            }
        pairs = {}
        if self._pairs[1]:
            pairs["chosen_longer_share"] = round(self._pairs[0] / self._pairs[1], 3)
        if self._labels[1]:
            pairs["desirable_share"] = round(self._labels[0] / self._labels[1], 3)
        if pairs:
            document["pairs"] = pairs
        return document
