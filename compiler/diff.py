"""Compare two builds record by record: added, removed, changed, moved, count deltas."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from compiler.model import FIELDS, SPLITS, Build
from compiler.textdiff import compare

DIMENSIONS = ("split", "task", "brand", "context")


@dataclass(frozen=True)
class Change:
    id: str
    old_split: str
    new_split: str
    fields: tuple[tuple[str, Any, Any], ...]


@dataclass(frozen=True)
class Diff:
    added: tuple[tuple[str, str, dict], ...] = ()
    removed: tuple[tuple[str, str, dict], ...] = ()
    changed: tuple[Change, ...] = ()
    moved: tuple[tuple[str, str, str], ...] = ()
    counts: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.moved)


def _facet(split_name: str, record: dict, dimension: str) -> str:
    if dimension == "split":
        return split_name
    value = (record.get("metadata") or {}).get(dimension)
    return "(none)" if value is None else str(value)


def _counts(build: Build) -> dict[str, Counter]:
    return {d: Counter(_facet(s, r, d) for s, r in build.values()) for d in DIMENSIONS}


def _field_changes(old: dict, new: dict) -> tuple[tuple[str, Any, Any], ...]:
    """Every column that differs: the texts first, then what formats add (system, history),
    then metadata keys."""
    changes = []
    extra = sorted((set(old) | set(new)) - {"id", "metadata", *FIELDS})
    for name in (*FIELDS, *extra):
        if old.get(name) != new.get(name):
            changes.append((name, old.get(name), new.get(name)))
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    for key in sorted(set(old_meta) | set(new_meta)):
        if old_meta.get(key) != new_meta.get(key):
            changes.append((f"metadata.{key}", old_meta.get(key), new_meta.get(key)))
    return tuple(changes)


def diff(old: Build, new: Build) -> Diff:
    """Records matched by id; the result is sorted by id and independent of file order."""
    added = tuple((i, new[i][0], new[i][1]) for i in sorted(set(new) - set(old)))
    removed = tuple((i, old[i][0], old[i][1]) for i in sorted(set(old) - set(new)))
    changed, moved = [], []
    for record_id in sorted(set(old) & set(new)):
        (old_split, old_record), (new_split, new_record) = old[record_id], new[record_id]
        fields = _field_changes(old_record, new_record)
        if fields:
            changed.append(Change(record_id, old_split, new_split, fields))
        if old_split != new_split:
            moved.append((record_id, old_split, new_split))
    old_counts, new_counts = _counts(old), _counts(new)
    counts = {}
    for dimension in DIMENSIONS:
        values = set(old_counts[dimension]) | set(new_counts[dimension])
        order = sorted(values, key=lambda v: (SPLITS.index(v) if v in SPLITS else 9, v))
        counts[dimension] = {
            v: (old_counts[dimension][v], new_counts[dimension][v])
            for v in order
            if old_counts[dimension][v] != new_counts[dimension][v]
        }
    return Diff(added, removed, tuple(changed), tuple(moved), counts)


def _field_json(old: Any, new: Any) -> dict[str, Any]:
    """A changed field: its old and new values, and how it changed (docs/review.md): `kind`
    value, words (with `words`, the kept, removed and added segments) or lines (with `hunks`)."""
    change = compare(old, new)
    found: dict[str, Any] = {"old": old, "new": new, "kind": change.kind}
    if change.kind == "words":
        found["words"] = [list(segment) for segment in change.words]
    elif change.kind == "lines":
        found["hunks"] = [
            {
                "old_start": hunk.old_start,
                "old_lines": hunk.old_count,
                "new_start": hunk.new_start,
                "new_lines": hunk.new_count,
                "lines": [
                    {"op": line.op, "text": line.text}
                    | ({"words": [list(s) for s in line.words]} if line.words else {})
                    for line in hunk.lines
                ],
            }
            for hunk in change.hunks
        ]
    return found


def to_json(result: Diff) -> dict[str, Any]:
    """The documented, stable JSON form of a diff (docs/review.md)."""
    return {
        "summary": {
            "added": len(result.added),
            "removed": len(result.removed),
            "changed": len(result.changed),
            "moved": len(result.moved),
        },
        "added": [{"id": i, "split": s, "record": r} for i, s, r in result.added],
        "removed": [{"id": i, "split": s, "record": r} for i, s, r in result.removed],
        "changed": [
            {
                "id": c.id,
                "split": {"old": c.old_split, "new": c.new_split},
                "fields": {name: _field_json(old, new) for name, old, new in c.fields},
            }
            for c in result.changed
        ],
        "moved": [{"id": i, "old": o, "new": n} for i, o, n in result.moved],
        "counts": {
            dimension: {v: {"old": o, "new": n, "delta": n - o} for v, (o, n) in values.items()}
            for dimension, values in result.counts.items()
        },
    }
