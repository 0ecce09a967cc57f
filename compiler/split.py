"""Seeded, grouped, stratified train/val/test assignment with exact sizes."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from compiler.hashing import keyed
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
    sizes: list[int] = []
    group_stratum: list[Hashable] = []
    first_key: list[bytes | str] = []
    record_group = []
    for key, stratum in zip(group_keys, strata):
        index = group_of.get(key)
        if index is None:
            index = group_of[key] = len(sizes)
            sizes.append(0)
            group_stratum.append(stratum)
            first_key.append(key)
        elif _order(stratum) < _order(group_stratum[index]):
            group_stratum[index] = stratum
        sizes[index] += 1
        record_group.append(index)
    total = len(record_group)
    hashes = [keyed(seed, "split", _key_text(k)) for k in first_key]
    targets = apportion(total, ratios)
    position: list[float] = []
    starts: list[int] = []
    if method == "stable":
        group_split = _stable(hashes, ratios)
    else:
        position = positions(hashes, sizes, group_stratum, first_key)
        group_split, starts = _stratified(hashes, sizes, position, first_key, targets)
    splits = bytes(group_split[g] for g in record_group)
    counts = tuple(splits.count(i) for i in range(len(SPLITS)))
    details = Trace(record_group, sizes, hashes, position, starts) if trace else None
    return Assignment(splits, counts, targets, len(sizes), details)


def _order(stratum: Hashable) -> str:
    return repr(stratum)


def positions(
    hashes: Sequence[int], sizes: Sequence[int], strata: Sequence[Hashable],
    keys: Sequence[bytes | str],
) -> list[float]:
    """Each group's quantile position in its stratum, in hash order within the stratum."""
    members: dict[Hashable, list[int]] = {}
    for group, stratum in enumerate(strata):
        members.setdefault(stratum, []).append(group)
    result = [0.0] * len(hashes)
    for groups in members.values():
        groups.sort(key=lambda g: (hashes[g], _key_text(keys[g])))
        stratum_total = sum(sizes[g] for g in groups)
        before = 0
        for g in groups:
            result[g] = (2 * before + sizes[g]) / (2 * stratum_total)
            before += sizes[g]
    return result


def _stratified(
    hashes: list[int], sizes: list[int], position: list[float], keys: list[bytes | str],
    targets: tuple[int, ...],
) -> tuple[list[int], list[int]]:
    """Sort groups by stratum position and cut at the target sizes; also each group's start."""
    order = sorted(range(len(sizes)), key=lambda g: (position[g], hashes[g], _key_text(keys[g])))
    cuts = [2 * sum(targets[: i + 1]) for i in range(len(targets) - 1)]
    group_split = [0] * len(sizes)
    starts = [0] * len(sizes)
    before = 0
    for g in order:
        starts[g] = before
        middle = 2 * before + sizes[g]
        split_index = 0
        while split_index < len(cuts) and middle >= cuts[split_index]:
            split_index += 1
        group_split[g] = split_index
        before += sizes[g]
    return group_split, starts


def _stable(hashes: list[int], ratios: Sequence[Fraction]) -> list[int]:
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
