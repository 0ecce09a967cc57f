"""Seeded, grouped, stratified train/val/test assignment with exact sizes."""

from __future__ import annotations

import bisect
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
    starts: list[int]
    stratum_sizes: list[int]
    cells: list[tuple[int, ...]]


@dataclass(frozen=True)
class Assignment:
    """The split of every record (0 train, 1 val, 2 test), in input order."""

    splits: bytes
    sizes: tuple[int, ...]
    targets: tuple[int, ...]
    groups: int
    trace: Trace | None = None


def key_text(key: bytes | str) -> str:
    """A group key as text: digests in hex."""
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
    hashes = array("Q", (keyed_last(prefix, key_text(k)) for k in first_key))
    targets = apportion(total, ratios)
    details = None
    if method == "stable":
        group_split = _stable(hashes, ratios)
    else:
        layout = _Layout(seed, hashes, sizes, group_stratum, first_key, ratios, targets, trace)
        group_split = layout.group_split
        if trace:
            details = Trace(
                list(record_group),
                list(sizes),
                list(hashes),
                layout.starts,
                layout.stratum_sizes,
                layout.cells,
            )
    splits = bytes(map(group_split.__getitem__, record_group))
    counts = tuple(splits.count(i) for i in range(len(SPLITS)))
    if trace and details is None:
        details = Trace(list(record_group), list(sizes), list(hashes), [], [], [])
    return Assignment(splits, counts, targets, len(sizes), details)


def _order(stratum: Hashable) -> str:
    return repr(stratum)


def _sorted(groups: list[int], hashes: Sequence[int], keys: Sequence[bytes | str]) -> None:
    """Sort groups in place by hash, then key text (only where hashes tie)."""
    groups.sort(key=hashes.__getitem__)
    start = 0
    for end in range(1, len(groups) + 1):
        if end < len(groups) and hashes[groups[end - 1]] == hashes[groups[end]]:
            continue
        if end - start > 1:
            groups[start:end] = sorted(groups[start:end], key=lambda g: key_text(keys[g]))
        start = end


def round_table(
    stratum_sizes: Sequence[int], ratios: Sequence[Fraction], targets: Sequence[int]
) -> list[list[int]]:
    """Controlled rounding of the stratum × split table of quotas n·ratio.

    Every cell is the floor or the ceiling of its quota, every row sums to its stratum's size
    and every column to the global target (the largest-remainder sizes). Rows are taken in the
    given order; each gets its leftover records in the splits with the largest remainders that
    still need records, and when none does, an augmenting path moves an earlier row's record
    (a maximum flow: such a rounding always exists for a two-way table).
    """
    quotas = [[n * r for r in ratios] for n in stratum_sizes]
    cells = [[int(q) for q in row] for row in quotas]
    need = [t - sum(row[k] for row in cells) for k, t in enumerate(targets)]
    columns = range(len(ratios))
    for s, row in enumerate(quotas):
        eligible = [k for k in columns if row[k] != cells[s][k]]
        eligible.sort(key=lambda k: (-(row[k] - cells[s][k]), k))
        for _ in range(stratum_sizes[s] - sum(cells[s])):
            free = [k for k in eligible if cells[s][k] == int(row[k]) and need[k] > 0]
            column = free[0] if free else _augment(s, quotas, cells, need, eligible)
            cells[s][column] += 1
            need[column] -= 1
    return cells


def _augment(s: int, quotas: list, cells: list, need: list, eligible: list) -> int:
    """Find a chain of earlier rows that can each move one record to another split, ending in
    a split that still needs records; apply it and return the split row s can now take."""

    def can_take(t: int, k: int) -> bool:
        return quotas[t][k] != int(quotas[t][k]) and cells[t][k] == int(quotas[t][k])

    starts = [k for k in eligible if cells[s][k] == int(quotas[s][k])]
    parent: dict[int, tuple[int, int] | None] = {k: None for k in starts}
    frontier = list(starts)
    while frontier:
        following = []
        for column in frontier:
            if need[column] > 0 and parent[column] is not None:
                while parent[column] is not None:
                    previous, row = parent[column]
                    cells[row][previous] -= 1
                    cells[row][column] += 1
                    need[column] -= 1
                    need[previous] += 1
                    column = previous
                return column
            for row in range(s):
                if cells[row][column] == int(quotas[row][column]):
                    continue
                for other in range(len(need)):
                    if other not in parent and can_take(row, other):
                        parent[other] = (column, row)
                        following.append(other)
        frontier = following
    return starts[0] if starts else eligible[0]


class _Layout:
    """The stratified method: exact cells per stratum, groups filled in hash order."""

    def __init__(
        self,
        seed: int,
        hashes: Sequence[int],
        sizes: Sequence[int],
        strata: Sequence[Hashable],
        keys: Sequence[bytes | str],
        ratios: Sequence[Fraction],
        targets: Sequence[int],
        trace: bool,
    ) -> None:
        members: dict[Hashable, list[int]] = {}
        for group, stratum in enumerate(strata):
            members.setdefault(stratum, []).append(group)
        prefix = keyed_prefix(seed, "stratum")
        order = sorted(members, key=lambda st: (keyed_last(prefix, _order(st)), _order(st)))
        stratum_sizes = [sum(sizes[g] for g in members[st]) for st in order]
        cells = round_table(stratum_sizes, ratios, targets)
        self.group_split = bytearray(len(sizes))
        self.starts = [0] * len(sizes) if trace else []
        self.stratum_sizes = [0] * len(sizes) if trace else []
        self.cells: list[tuple[int, ...]] = [()] * len(sizes) if trace else []
        errors = [0] * (len(ratios) + 1)  # records placed before each boundary, minus expected
        for stratum, row, total in zip(order, cells, stratum_sizes, strict=True):
            groups = members.pop(stratum)
            _sorted(groups, hashes, keys)
            bounds = [sum(row[:b]) for b in range(len(row) + 1)]
            placed = 0
            last = len(row) - 1
            for g in groups:
                size = sizes[g]
                # The cell that holds the group's first record; a group inside it goes there
                # and leaves every boundary's error as it was (the general case below
                # computes the same).
                cell = bisect.bisect_right(bounds, placed) - 1
                if cell <= last and placed + size <= bounds[cell + 1]:
                    self.group_split[g] = cell
                else:
                    split_index = self._choose(placed, size, bounds, errors)
                    self.group_split[g] = split_index
                    for b in range(1, len(bounds) - 1):
                        expected = min(max(bounds[b] - placed, 0), size)
                        errors[b] += (size if split_index < b else 0) - expected
                if trace:
                    self.starts[g] = placed
                    self.stratum_sizes[g] = total
                    self.cells[g] = tuple(row)
                placed += size

    @staticmethod
    def _choose(placed: int, size: int, bounds: list[int], errors: list[int]) -> int:
        """The split of a group covering records placed .. placed+size-1 of its stratum.

        A group inside one split's cell goes there; one that straddles a cut goes to the side
        that keeps every split's running total closest to its target.
        """
        last = len(bounds) - 2
        candidates = [
            k for k in range(last + 1) if bounds[k] < placed + size and placed < bounds[k + 1]
        ]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            return min(last, max(k for k in range(last + 1) if bounds[k] <= placed))
        best, best_cost = candidates[0], None
        for k in candidates:
            moved = list(errors)
            for b in range(1, last + 1):
                expected = min(max(bounds[b] - placed, 0), size)
                moved[b] += (size if k < b else 0) - expected
            per_split = [abs(moved[b + 1] - moved[b]) for b in range(last + 1)]
            cost = (max(per_split), sum(per_split), k)
            if best_cost is None or cost < best_cost:
                best, best_cost = k, cost
        return best


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


# The same definitions for a runner that places groups in parallel (distsplit.py).
stratum_text = _order
choose = _Layout._choose
stable_splits = _stable
