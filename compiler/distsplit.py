"""The stratified split in parallel: the same assignment as split.py, from keyed groupings.

split.py walks each stratum's groups in hash order with a running count `placed`. A group
that lies inside one cell of the stratum's row (train, val or test) goes there whatever came
before it; only a group that straddles a cut needs the running errors of the groups that
straddled cuts before it. So a runner can (1) count records per group and per stratum, (2)
round the stratum × split table (split.round_table, a few numbers), (3) cut each stratum's
hash range into buckets by the hash's top bits, whose sizes' prefix sums give every bucket's
first `placed`, (4) walk each bucket alone, in hash order, placing the groups inside a cell,
and (5) settle the few that straddle a cut (at most two a stratum) in one place, in order.
`assign` does all five in memory; tests hold it equal to split.split.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from compiler.hashing import keyed_last, keyed_prefix
from compiler.split import apportion, choose, key_text, round_table, stable_splits, stratum_text

BUCKET_BITS = 16  # buckets per stratum: 65,536 hash ranges


@functools.lru_cache(maxsize=8)
def _prefix(seed: int, what: str) -> object:
    return keyed_prefix(seed, what)


def group_hash(seed: int, key: bytes | str) -> int:
    """The group's place in its stratum (split.py's hash)."""
    return keyed_last(_prefix(seed, "split"), key_text(key))


def bucket(hash_value: int, bits: int = BUCKET_BITS) -> int:
    return hash_value >> (64 - bits)


@dataclass(frozen=True)
class SplitPlan:
    """What every worker needs to place groups: the global sizes, each stratum's rank (its
    place in stratum order) and its row of cells, as cut points."""

    targets: tuple[int, ...]
    ranks: dict[str, int]  # stratum text -> rank
    bounds: tuple[tuple[int, ...], ...]  # per rank: the cut points of its row
    cells: tuple[tuple[int, ...], ...]


def plan_split(
    stratum_sizes: dict[Hashable, int], ratios: Sequence[Fraction], seed: int
) -> SplitPlan:
    """The plan from the records counted per stratum (their total is the global size)."""
    prefix = _prefix(seed, "stratum")
    texts = {stratum_text(s): n for s, n in stratum_sizes.items()}
    order = sorted(texts, key=lambda t: (keyed_last(prefix, t), t))
    sizes = [texts[t] for t in order]
    targets = apportion(sum(sizes), ratios)
    cells = round_table(sizes, ratios, targets)
    bounds = tuple(tuple(sum(row[:b]) for b in range(len(row) + 1)) for row in cells)
    return SplitPlan(targets, {t: i for i, t in enumerate(order)}, bounds, tuple(map(tuple, cells)))


def bucket_starts(sizes: dict[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """(rank, bucket) -> records placed in the rank's stratum before the bucket."""
    starts, running, current = {}, 0, None
    for key in sorted(sizes):
        if key[0] != current:
            current, running = key[0], 0
        starts[key] = running
        running += sizes[key]
    return starts


Group = tuple[int, str, bytes | str, int]  # (hash, key text, key, size)
Straddler = tuple[int, int, int, bytes | str]  # (rank, placed, size, key)


def walk(
    groups: Iterable[Group], rank: int, start: int, plan: SplitPlan
) -> tuple[list[tuple[bytes | str, int]], list[Straddler]]:
    """Place one bucket's groups: (key, split) for those inside a cell, and those that
    straddle a cut, for settle()."""
    bounds = plan.bounds[rank]
    last = len(bounds) - 2
    placed = start
    done, straddling = [], []
    for _, _, key, size in sorted(groups, key=lambda g: (g[0], g[1])):
        cell = bisect.bisect_right(bounds, placed) - 1
        if cell <= last and placed + size <= bounds[cell + 1]:
            done.append((key, cell))
        else:
            straddling.append((rank, placed, size, key))
        placed += size
    return done, straddling


def settle(straddlers: Iterable[Straddler], plan: SplitPlan) -> list[tuple[bytes | str, int]]:
    """The split of each group that straddles a cut, in stratum then hash order, carrying
    split.py's running errors from one to the next."""
    errors = [0] * (len(plan.targets) + 1)
    placed_groups = []
    for rank, placed, size, key in sorted(straddlers, key=lambda s: (s[0], s[1])):
        bounds = list(plan.bounds[rank])
        index = choose(placed, size, bounds, errors)
        for b in range(1, len(bounds) - 1):
            expected = min(max(bounds[b] - placed, 0), size)
            errors[b] += (size if index < b else 0) - expected
        placed_groups.append((key, index))
    return placed_groups


def stable_split(seed: int, key: bytes | str, ratios: Sequence[Fraction]) -> int:
    return stable_splits([group_hash(seed, key)], ratios)[0]


def assign(
    groups: Sequence[tuple[bytes | str, int, Hashable]],
    ratios: Sequence[Fraction],
    seed: int,
    bits: int = BUCKET_BITS,
) -> dict[bytes | str, int]:
    """Every group's split from (key, size, stratum), by the five steps above, in memory."""
    strata: dict[Hashable, int] = {}
    for _, size, stratum in groups:
        strata[stratum] = strata.get(stratum, 0) + size
    plan = plan_split(strata, ratios, seed)
    buckets: dict[tuple[int, int], list[Group]] = {}
    for key, size, stratum in groups:
        h = group_hash(seed, key)
        at = (plan.ranks[stratum_text(stratum)], bucket(h, bits))
        buckets.setdefault(at, []).append((h, key_text(key), key, size))
    starts = bucket_starts({at: sum(g[3] for g in found) for at, found in buckets.items()})
    result: dict[bytes | str, int] = {}
    straddlers: list[Straddler] = []
    for at, found in buckets.items():
        done, straddling = walk(found, at[0], starts[at], plan)
        result.update(done)
        straddlers += straddling
    result.update(settle(straddlers, plan))
    return result
