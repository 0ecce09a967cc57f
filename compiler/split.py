"""Seeded, grouped, stratified train/val/test assignment with exact sizes."""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from compiler.hashing import keyed_last, keyed_prefix
from compiler.model import SPLITS


def apportion(total: int, ratios: Sequence[Fraction]) -> tuple[int, ...]:
    """Largest-remainder apportionment of `total` by `ratios` (ties go to the earlier split)."""
    quotas = [total * r for r in ratios]
    sizes = [int(q) for q in quotas]
    order = sorted(range(len(ratios)), key=lambda i: (-(quotas[i] - sizes[i]), i))
    for i in order[: total - sum(sizes)]:
        sizes[i] += 1
    return tuple(sizes)


@dataclass(frozen=True)
class Trace:
    """Why each group landed where it did (kept only when asked for: `dsc explain`)."""

    record_group: list[int]
    sizes: list[int]
    hashes: list[int]
    positions: list[float]
    starts: list[int]


@dataclass(frozen=True)
class Assignment:
    """The split of every record (0 train, 1 val, 2 test), in input order."""

    splits: bytes
    sizes: tuple[int, ...]
    targets: tuple[int, ...]
    groups: int
    trace: Trace | None = None


def _key_text(key: bytes | str) -> str:
    return key.hex() if isinstance(key, bytes) else key


def split(
    group_keys: Sequence[bytes | str],
    strata: Sequence[Hashable],
    ratios: Sequence[Fraction],
    seed: int,
    method: str = "stratified",
    trace: bool = False,
) -> Assignment:
    """Assign records to splits; depends only on (seed, group keys, strata), never on order.

    Records that share a group key always land in the same split.
    """
    group_of: dict[bytes | str, int] = {}
    sizes = array("q")
    group_stratum: list[Hashable] = []
    first_key: list[bytes | str] = []
    record_group = array("q")
    for key, stratum in zip(group_keys, strata, strict=True):
        index = group_of.get(key)
        if index is None:
            index = group_of[key] = len(sizes)
            sizes.append(1)
            group_stratum.append(stratum)
            first_key.append(key)
        else:
            if _order(stratum) < _order(group_stratum[index]):
                group_stratum[index] = stratum
            sizes[index] += 1
        record_group.append(index)
    del group_of
    total = len(record_group)
    prefix = keyed_prefix(seed, "split")
    hashes = array("Q", (keyed_last(prefix, _key_text(k)) for k in first_key))
    targets = apportion(total, ratios)
    position = array("d")
    starts = array("q")
    if method == "stable":
        group_split = _stable(hashes, ratios)
    else:
        position = positions(hashes, sizes, group_stratum, first_key)
        group_split, starts = _stratified(hashes, sizes, position, first_key, targets, trace)
    splits = bytes(map(group_split.__getitem__, record_group))
    counts = tuple(splits.count(i) for i in range(len(SPLITS)))
    details = None
    if trace:
        details = Trace(list(record_group), list(sizes), list(hashes), list(position),
                        list(starts))
    return Assignment(splits, counts, targets, len(sizes), details)


def _order(stratum: Hashable) -> str:
    return repr(stratum)


def _sorted(groups: list[int], hashes: Sequence[int], keys: Sequence[bytes | str],
            first: Sequence[float] | None = None) -> None:
    """Sort groups in place by (first[g],) hashes[g], key text, then g.

    Two stable sorts and a pass over equal runs: no tuple or key text per group.
    """
    groups.sort(key=hashes.__getitem__)
    if first is not None:
        groups.sort(key=first.__getitem__)
    start = 0
    for end in range(1, len(groups) + 1):
        if end < len(groups):
            a, b = groups[end - 1], groups[end]
            if hashes[a] == hashes[b] and (first is None or first[a] == first[b]):
                continue
        if end - start > 1:
            groups[start:end] = sorted(groups[start:end], key=lambda g: _key_text(keys[g]))
        start = end


def positions(
    hashes: Sequence[int], sizes: Sequence[int], strata: Sequence[Hashable],
    keys: Sequence[bytes | str],
) -> array:
    """Each group's quantile position in its stratum, in hash order within the stratum."""
    members: dict[Hashable, list[int]] = {}
    for group, stratum in enumerate(strata):
        members.setdefault(stratum, []).append(group)
    result = array("d", bytes(8 * len(hashes)))
    for stratum in list(members):
        groups = members.pop(stratum)
        _sorted(groups, hashes, keys)
        stratum_total = sum(sizes[g] for g in groups)
        before = 0
        for g in groups:
            result[g] = (2 * before + sizes[g]) / (2 * stratum_total)
            before += sizes[g]
    return result


def _stratified(
    hashes: Sequence[int], sizes: Sequence[int], position: Sequence[float],
    keys: Sequence[bytes | str], targets: tuple[int, ...], trace: bool = False,
) -> tuple[bytearray, array]:
    """Sort groups by stratum position and cut at the target sizes; also each group's start
    (when tracing)."""
    order = list(range(len(sizes)))
    _sorted(order, hashes, keys, position)
    cuts = [2 * sum(targets[: i + 1]) for i in range(len(targets) - 1)]
    group_split = bytearray(len(sizes))
    starts = array("q", bytes(8 * len(sizes))) if trace else array("q")
    before = 0
    for g in order:
        if trace:
            starts[g] = before
        middle = 2 * before + sizes[g]
        split_index = 0
        while split_index < len(cuts) and middle >= cuts[split_index]:
            split_index += 1
        group_split[g] = split_index
        before += sizes[g]
    return group_split, starts


def _stable(hashes: Sequence[int], ratios: Sequence[Fraction]) -> list[int]:
    bounds = []
    running = Fraction(0)
    for ratio in ratios[:-1]:
        running += ratio
        bounds.append(int(running * 2**64))
    result = []
    for h in hashes:
        index = 0
        while index < len(bounds) and h >= bounds[index]:
            index += 1
        result.append(index)
    return result
