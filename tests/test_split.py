"""Property tests of the split: each invariant of the determinism contract in DESIGN.md."""

from __future__ import annotations

import bisect
import math
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from compiler.split import _Layout, apportion, split
from tests.helpers import SINGLETON_MOVES, examples

F = Fraction
NAMED_RATIOS = [
    (F(4, 5), F(1, 10), F(1, 10)),
    (F(7, 10), F(1, 5), F(1, 10)),
    (F(1), F(0), F(0)),
    (F(1, 3), F(1, 3), F(1, 3)),
    (F(1, 2), F(1, 4), F(1, 4)),
    (F(0), F(1, 2), F(1, 2)),
    (F(9, 10), F(1, 20), F(1, 20)),
]
# Hypothesis's default of 100 examples a property (was 150, a number no invariant asked for):
# each run draws new examples, so runs add up, and the 50 more cost ~7 s of `make test`.
SETTINGS = settings(max_examples=examples(100), deadline=None)


@st.composite
def percentages(draw: st.DrawFn) -> tuple[Fraction, ...]:
    """Any valid ratios written as whole percentages, e.g. 0.63 / 0.25 / 0.12."""
    train = draw(st.integers(0, 100))
    val = draw(st.integers(0, 100 - train))
    return (F(train, 100), F(val, 100), F(100 - train - val, 100))


ratios_st = st.one_of(st.sampled_from(NAMED_RATIOS), percentages())
# Ratios that put records in at least two splits, so that another seed can change membership.
mixed_ratios_st = ratios_st.filter(lambda r: sum(1 for x in r if x) >= 2)
seeds = st.integers(0, 2**64 - 1)
# Group keys are bytes in the pipeline (digests of the output) and str for metadata/id keys.
key_st = st.one_of(st.binary(min_size=1, max_size=6), st.text(min_size=1, max_size=6))


@st.composite
def datasets(
    draw: st.DrawFn, max_groups: int = 120, max_group: int = 1, max_strata: int = 25
) -> tuple[list, list]:
    """(group_keys, strata) in a random record order; each group lies in one stratum.

    A few large strata of any size and many small ones of one size (1-4 groups): fine strata
    such as task x brand x context are like that, and they are where quantile positions round
    the same way in every small stratum.
    """
    large = draw(st.lists(st.integers(5, max_groups), max_size=3))
    small = [draw(st.integers(1, 4))] * draw(st.integers(0, max_strata))
    counts = draw(st.permutations(large + small))
    # Group keys are bytes in the pipeline (digests of the output), str for metadata/id keys;
    # their hashes are what matters, so a drawn salt varies them all.
    salt = draw(st.text(max_size=3))
    as_bytes = draw(st.booleans())
    group_keys, strata, total = [], [], 0
    for stratum, count in enumerate(counts):
        count = min(count, max_groups - total)
        for _ in range(count):
            key = f"{salt}{total}"
            size = draw(st.integers(1, max_group))
            group_keys += [key.encode() if as_bytes else key] * size
            strata += [("task", stratum)] * size
            total += 1
    order = draw(st.permutations(range(len(group_keys))))
    return [group_keys[i] for i in order], [strata[i] for i in order]


def by_key(group_keys: list, splits: bytes) -> dict:
    """Each group key's split; also fails when a group straddles two splits."""
    found: dict = {}
    for key, where in zip(group_keys, splits, strict=True):
        assert found.setdefault(key, where) == where, f"group {key!r} straddles splits"
    return found


# apportion ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (39, (31, 4, 4)),
        (10, (8, 1, 1)),
        (0, (0, 0, 0)),
        (1, (1, 0, 0)),
        (2, (2, 0, 0)),
        (5, (4, 1, 0)),
        (100, (80, 10, 10)),
    ],
)
def test_apportion_examples(total: int, expected: tuple[int, ...]) -> None:
    assert apportion(total, NAMED_RATIOS[0]) == expected


@SETTINGS
@given(st.integers(0, 10**6), ratios_st)
def test_apportion_is_largest_remainder(total: int, ratios: tuple[Fraction, ...]) -> None:
    sizes = apportion(total, ratios)
    assert sum(sizes) == total
    quotas = [total * r for r in ratios]
    for size, quota in zip(sizes, quotas, strict=True):
        assert size in (int(quota), int(quota) + 1)
        assert size >= 0
    # Every split that got a leftover record has a remainder at least as large as every split
    # that did not (ties go to the earlier split).
    remainders = [q - int(q) for q in quotas]
    bumped = [i for i, (s, q) in enumerate(zip(sizes, quotas, strict=True)) if s > int(q)]
    kept = [i for i in range(len(sizes)) if i not in bumped]
    for i in bumped:
        for j in kept:
            assert remainders[i] > remainders[j] or (remainders[i] == remainders[j] and i < j)


# stratified split --------------------------------------------------------------------------------


@SETTINGS
@given(datasets(max_group=4), ratios_st, seeds)
def test_partition_and_no_group_straddles(data, ratios, seed) -> None:
    group_keys, strata = data
    result = split(group_keys, strata, ratios, seed)
    assert len(result.splits) == len(group_keys)
    assert set(result.splits) <= {0, 1, 2}
    assert result.sizes == tuple(result.splits.count(i) for i in range(3))
    assert sum(result.sizes) == len(group_keys)
    assert result.groups == len(set(group_keys))
    by_key(group_keys, result.splits)
    # A split with ratio 0 gets nothing.
    for size, ratio in zip(result.sizes, ratios, strict=True):
        assert ratio or size == 0


@SETTINGS
@given(datasets(), ratios_st, seeds)
def test_singleton_sizes_are_exact_apportionment(data, ratios, seed) -> None:
    group_keys, strata = data
    result = split(group_keys, strata, ratios, seed)
    assert result.targets == apportion(len(group_keys), ratios)
    assert result.sizes == result.targets


def test_exact_sizes_examples() -> None:
    for total, expected in ((39, (31, 4, 4)), (10, (8, 1, 1))):
        keys = [f"r{i}" for i in range(total)]
        strata = [("task", i % 3) for i in range(total)]
        assert split(keys, strata, NAMED_RATIOS[0], 7).sizes == expected


@SETTINGS
@given(datasets(max_group=6), ratios_st, seeds)
def test_grouped_sizes_off_by_less_than_largest_group(data, ratios, seed) -> None:
    group_keys, strata = data
    result = split(group_keys, strata, ratios, seed)
    largest = max(Counter(group_keys).values(), default=1)
    for size, target in zip(result.sizes, result.targets, strict=True):
        assert abs(size - target) < largest or size == target


def _stratum_deviations(group_keys, strata, ratios, splits):
    """(stratum, split, |count - share|, largest group of the stratum) for every cell."""
    group_size = Counter(group_keys)
    cells = []
    for stratum in set(strata):
        members = [i for i, s in enumerate(strata) if s == stratum]
        largest = max(group_size[group_keys[i]] for i in members)
        for index, ratio in enumerate(ratios):
            count = sum(1 for i in members if splits[i] == index)
            cells.append((stratum, index, abs(count - len(members) * ratio), largest))
    return cells


@SETTINGS
@given(datasets(), ratios_st, seeds)
def test_stratum_within_two_records_of_its_share(data, ratios, seed) -> None:
    group_keys, strata = data
    result = split(group_keys, strata, ratios, seed)
    for stratum, index, deviation, _ in _stratum_deviations(
        group_keys, strata, ratios, result.splits
    ):
        assert deviation <= 2, (stratum, index, deviation)


@SETTINGS
@given(datasets(max_group=5), ratios_st, seeds)
def test_grouped_stratum_within_one_record_and_its_straddling_groups(data, ratios, seed):
    """A stratum's cell is the floor or ceiling of its share (off by less than one record),
    moved by the groups that straddle the cell's cuts: each moves fewer than its size.

    The first and last split have one cut inside the stratum, the middle one two: its groups at
    both cuts may go the other way (12 records in groups of 4, 4, 3 and 1 at 11/84/5 gave val 4
    records against a share of 10.08, within 1 + 2 x 3).
    """
    group_keys, strata = data
    result = split(group_keys, strata, ratios, seed)
    last = len(ratios) - 1
    for stratum, index, deviation, largest in _stratum_deviations(
        group_keys, strata, ratios, result.splits
    ):
        cuts = (index > 0) + (index < last)
        assert deviation < 1 + cuts * (largest - 1), (stratum, index, deviation, largest)


def test_one_large_stratum_beside_many_small_ones_keeps_its_share() -> None:
    """A concrete case of the stratum property: 200 records of one task, 20 tasks of 3.

    Every 3-record stratum puts its records at positions 1/6, 1/2 and 5/6 whatever the hashes,
    and 5/6 falls in the val window (about 0.8 to 0.9) for all of them: the small strata take
    about 20 val records against a share of 6 (each alone is within 0.7 of its own share), and
    the large stratum is left with 7 val records against a share of 20 (167/7/26 today).
    """
    keys = [f"big{i}" for i in range(200)] + [f"small{i}" for i in range(60)]
    strata = ["big"] * 200 + [f"small{i // 3}" for i in range(60)]
    result = split(keys, strata, NAMED_RATIOS[0], 7)
    assert result.sizes == (208, 26, 26)
    big = [result.splits[:200].count(i) for i in range(3)]
    for count, share in zip(big, (160, 20, 20), strict=True):
        assert abs(count - share) <= 2, big


@SETTINGS
@given(datasets(max_group=4), ratios_st, seeds, st.randoms(use_true_random=False))
def test_depends_only_on_seed_and_keys_not_order(data, ratios, seed, rnd) -> None:
    group_keys, strata = data
    first = split(group_keys, strata, ratios, seed)
    order = list(range(len(group_keys)))
    rnd.shuffle(order)
    shuffled = split([group_keys[i] for i in order], [strata[i] for i in order], ratios, seed)
    assert by_key(group_keys, first.splits) == by_key(
        [group_keys[i] for i in order], shuffled.splits
    )
    assert shuffled.sizes == first.sizes


@SETTINGS
@given(datasets(max_group=3), ratios_st, seeds, st.randoms(use_true_random=False))
def test_group_across_strata_is_order_independent(data, ratios, seed, rnd) -> None:
    """A group whose records fall in several strata: the answer still ignores input order."""
    group_keys, strata = data
    if not group_keys:
        return
    # Move the first record (and so its group) into a stratum of its own.
    strata = [("other", 0), *strata[1:]]
    first = split(group_keys, strata, ratios, seed)
    order = list(range(len(group_keys)))
    rnd.shuffle(order)
    again = split([group_keys[i] for i in order], [strata[i] for i in order], ratios, seed)
    assert by_key(group_keys, first.splits) == by_key([group_keys[i] for i in order], again.splits)


# Locality. Adding one record changes its stratum's row of the rounded stratum × split table
# by one record and the global targets by one at a cut; the rows after it (in the keyed
# stratum order) can then take their leftover records in other splits, but a difference only
# travels at the points where a split's need runs out, so a few rows change, each moving one
# record. A search of 7,000 random cases (1-60 strata, 5-600 records, several ratios) found at
# most 9 moved records (most often 0-4); with groups the straddling decisions of later strata
# can also change, at most 7.8 times the largest group in 3,000 grouped cases. With one
# stratum only the cuts move: 2. docs/splits.md explains the trade (exact per-stratum balance
# over the tighter locality of a single global cut). The bound of 10 for many strata is
# SINGLETON_MOVES in tests/helpers.py, shared with the whole-build test in test_determinism.py.
ONE_STRATUM_MOVES = 2
GROUP_MOVES = 10


def _moved(before_keys, before_splits, after_keys, after_splits, exclude) -> int:
    """How many records present in both that changed split (the group of `exclude` aside)."""
    after = by_key(after_keys, after_splits)
    return sum(
        1
        for key, where in zip(before_keys, before_splits, strict=True)
        if key != exclude and after[key] != where
    )


@SETTINGS
@given(datasets(max_groups=80), ratios_st, seeds, st.data())
def test_adding_or_removing_one_record_moves_few_others(data, ratios, seed, draw) -> None:
    group_keys, strata = data
    new_key = draw.draw(key_st.filter(lambda k: k not in group_keys))
    stratum_count = len(set(strata)) + 1
    new_stratum = ("task", draw.draw(st.integers(0, stratum_count)))
    position = draw.draw(st.integers(0, len(group_keys)))
    more_keys = [*group_keys[:position], new_key, *group_keys[position:]]
    more_strata = [*strata[:position], new_stratum, *strata[position:]]
    before = split(group_keys, strata, ratios, seed)
    after = split(more_keys, more_strata, ratios, seed)
    # Added (before -> after) and removed (after -> before) move the same records.
    moved = _moved(group_keys, before.splits, more_keys, after.splits, new_key)
    assert moved == _moved(more_keys, after.splits, group_keys, before.splits, new_key)
    bound = ONE_STRATUM_MOVES if len(set(more_strata)) == 1 else SINGLETON_MOVES
    assert moved <= bound


@SETTINGS
@given(datasets(max_groups=40, max_group=5, max_strata=5), ratios_st, seeds, st.data())
def test_adding_one_record_to_grouped_data_moves_few_groups_of_records(
    data, ratios, seed, draw
) -> None:
    group_keys, strata = data
    stratum_of = dict(zip(group_keys, strata, strict=True))
    # Either a new group, or one more record of an existing group (which may then move).
    existing = sorted(stratum_of, key=repr)
    new_key = draw.draw(st.one_of(key_st, st.sampled_from(existing)) if existing else key_st)
    new_stratum = stratum_of.get(new_key, ("task", draw.draw(st.integers(0, 5))))
    before = split(group_keys, strata, ratios, seed)
    after = split([*group_keys, new_key], [*strata, new_stratum], ratios, seed)
    largest = max(Counter([*group_keys, new_key]).values())
    moved = _moved(group_keys, before.splits, [*group_keys, new_key], after.splits, new_key)
    assert moved <= GROUP_MOVES * largest


# Seeds -------------------------------------------------------------------------------------------


@SETTINGS
@given(st.integers(50, 300), mixed_ratios_st, seeds, seeds)
def test_another_seed_gives_another_equally_exact_split(total, ratios, seed, other) -> None:
    sizes = apportion(total, ratios)
    # Membership can only differ when there are many ways to choose it: with 0.01/0.99 of 50
    # records a third of seed pairs would agree by chance. Ask for at least 10^9 ways.
    assume(seed != other and math.factorial(total) // math.prod(map(math.factorial, sizes)) > 10**9)
    keys = [f"record-{i}" for i in range(total)]
    strata = [("task", i % 4) for i in range(total)]
    first = split(keys, strata, ratios, seed)
    second = split(keys, strata, ratios, other)
    assert first.sizes == second.sizes == sizes
    assert first.splits != second.splits


# stable ------------------------------------------------------------------------------------------


@SETTINGS
@given(datasets(max_group=3), datasets(max_group=3), ratios_st, seeds)
def test_stable_never_moves_a_record_when_others_are_added(data, extra, ratios, seed) -> None:
    group_keys, strata = data
    before = split(group_keys, strata, ratios, seed, method="stable")
    more_keys, more_strata = group_keys + extra[0], strata + extra[1]
    after = split(more_keys, more_strata, ratios, seed, method="stable")
    old = by_key(group_keys, before.splits)
    new = by_key(more_keys, after.splits)
    assert all(new[key] == where for key, where in old.items())
    # Not even the stratum matters: the split is the group's own hash against the ratios.
    restratified = split(group_keys, [("one",)] * len(group_keys), ratios, seed, method="stable")
    assert restratified.splits == before.splits


@settings(max_examples=examples(30), deadline=None)
@given(st.integers(500, 3000), ratios_st, seeds)
def test_stable_sizes_are_approximate(total, ratios, seed) -> None:
    keys = [f"record-{i}" for i in range(total)]
    result = split(keys, ["task"] * total, ratios, seed, method="stable")
    assert sum(result.sizes) == total
    for size, ratio in zip(result.sizes, ratios, strict=True):
        # Binomial(total, ratio): six standard deviations is beyond any real seed's luck.
        spread = 6 * float(total * ratio * (1 - ratio)) ** 0.5 + 1
        assert abs(size - total * ratio) <= spread
        assert ratio or size == 0


@SETTINGS
@given(
    st.lists(st.integers(0, 6), min_size=3, max_size=3),
    st.integers(0, 20),
    st.integers(1, 6),
    st.lists(st.integers(-5, 5), min_size=4, max_size=4),
)
def test_group_inside_one_cell_goes_there_and_moves_no_error(
    cells: list[int], placed: int, size: int, errors: list[int]
) -> None:
    """The layout's shortcut (a group inside one cell) agrees with the general rule."""
    bounds = [sum(cells[:b]) for b in range(4)]
    assume(placed + size <= bounds[-1])
    cell = bisect.bisect_right(bounds, placed) - 1
    assume(cell <= 2 and placed + size <= bounds[cell + 1])
    assert _Layout._choose(placed, size, bounds, list(errors)) == cell
    for b in range(1, 3):
        expected = min(max(bounds[b] - placed, 0), size)
        assert (size if cell < b else 0) - expected == 0
