"""distsplit.py: groups placed bucket by bucket give exactly split.py's assignment."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.distsplit import assign
from compiler.split import split, stratum_text
from tests.helpers import examples

RATIOS = [
    (Fraction(8, 10), Fraction(1, 10), Fraction(1, 10)),
    (Fraction(1, 2), Fraction(1, 4), Fraction(1, 4)),
    (Fraction(1, 3), Fraction(0), Fraction(2, 3)),
]


@settings(max_examples=examples(150), deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["a", "b", "c"])), max_size=120),
    st.integers(0, 2**64 - 1),
    st.sampled_from(RATIOS),
    st.sampled_from([1, 2, 16]),
    st.booleans(),
)
def test_buckets_then_straddlers_give_the_local_split(
    records: list[tuple[int, str]], seed: int, ratios, bits: int, digests: bool
) -> None:
    keys = [n.to_bytes(8, "big") if digests else f"m:{n}" for n, _ in records]
    strata = [(s,) for _, s in records]
    local = split(keys, strata, ratios, seed)
    groups: dict = {}
    for key, stratum in zip(keys, strata, strict=True):
        size, least = groups.get(key, (0, stratum))
        groups[key] = (size + 1, min(least, stratum, key=stratum_text))
    placed = assign([(k, n, s) for k, (n, s) in groups.items()], ratios, seed, bits)
    assert bytes(placed[k] for k in keys) == local.splits
