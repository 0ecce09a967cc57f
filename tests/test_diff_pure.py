"""Unit tests of compiler/diff.py: two builds (id -> (split, record)) compared, and its JSON."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.diff import Change, Diff, diff, to_json
from tests.helpers import examples

# Small inputs and one-line invariants: 50 examples a property find what 100 would, at half the
# cost (each run draws new ones).
PROPERTIES = settings(max_examples=examples(50), deadline=None)


def rec(record_id: str, output: str, **metadata: Any) -> dict[str, Any]:
    return {
        "id": record_id,
        "instruction": f"Ask {record_id}",
        "input": "",
        "output": output,
        "metadata": {"task": "t", **metadata},
    }


OLD = {
    "a": ("train", rec("a", "A")),
    "b": ("val", rec("b", "B")),
    "c": ("train", rec("c", "C", brand="x")),
    "d": ("test", rec("d", "D")),
}
NEW = {
    "a": ("train", rec("a", "A")),
    "c": ("test", rec("c", "C2", brand="y")),
    "d": ("val", rec("d", "D")),
    "e": ("train", rec("e", "E", lang="go")),
}


def test_diff_of_two_builds_exactly() -> None:
    result = diff(OLD, NEW)

    assert result == Diff(
        added=(("e", "train", NEW["e"][1]),),
        removed=(("b", "val", OLD["b"][1]),),
        changed=(
            Change("c", "train", "test", (("output", "C", "C2"), ("metadata.brand", "x", "y"))),
        ),
        moved=(("c", "train", "test"), ("d", "test", "val")),
        counts={"split": {}, "task": {}, "brand": {"x": (1, 0), "y": (0, 1)}, "context": {}},
    )
    assert not result.empty


def test_diff_json_is_the_documented_form() -> None:
    assert to_json(diff(OLD, NEW)) == {
        "summary": {"added": 1, "removed": 1, "changed": 1, "moved": 2},
        "added": [{"id": "e", "split": "train", "record": NEW["e"][1]}],
        "removed": [{"id": "b", "split": "val", "record": OLD["b"][1]}],
        "changed": [
            {
                "id": "c",
                "split": {"old": "train", "new": "test"},
                "fields": {
                    "output": {"old": "C", "new": "C2", "kind": "value"},
                    "metadata.brand": {"old": "x", "new": "y", "kind": "value"},
                },
            }
        ],
        "moved": [
            {"id": "c", "old": "train", "new": "test"},
            {"id": "d", "old": "test", "new": "val"},
        ],
        "counts": {
            "split": {},
            "task": {},
            "brand": {
                "x": {"old": 1, "new": 0, "delta": -1},
                "y": {"old": 0, "new": 1, "delta": 1},
            },
            "context": {},
        },
    }


def test_counts_list_splits_in_split_order_then_values_sorted() -> None:
    old = {"a": ("test", rec("a", "A", brand="b")), "b": ("val", rec("b", "B"))}
    new = {"c": ("train", rec("c", "C", brand="a")), "d": ("other", rec("d", "D", brand="c"))}

    counts = diff(old, new).counts

    assert list(counts["split"]) == ["train", "val", "test", "other"]
    assert list(counts["brand"]) == ["(none)", "a", "b", "c"]
    assert counts["task"] == {}  # two records on each side, all of task t


def test_a_field_that_appears_or_disappears_is_a_change() -> None:
    old = {"a": ("train", {"id": "a", "instruction": "x", "output": "y"})}
    new = {"a": ("train", {"id": "a", "instruction": "x", "input": "", "output": "y"})}

    (change,) = diff(old, new).changed

    assert change.fields == (("input", None, ""),)


# --- properties -----------------------------------------------------------------------------

ids_st = st.sampled_from([f"t.r.{n:016x}" for n in range(8)])
records_st = st.builds(
    lambda output, brand, lang: rec("x", output, brand=brand, **({"lang": lang} if lang else {})),
    st.sampled_from(["A", "B", "C"]),
    st.sampled_from([None, "x", "y"]),
    st.sampled_from([None, "go"]),
)
builds_st = st.dictionaries(
    ids_st, st.tuples(st.sampled_from(["train", "val", "test"]), records_st), max_size=8
)


@PROPERTIES
@given(builds_st)
def test_a_build_against_itself_is_empty(build: dict) -> None:
    result = diff(build, build)
    assert result.empty
    assert result == Diff(counts={"split": {}, "task": {}, "brand": {}, "context": {}})


@PROPERTIES
@given(builds_st, builds_st)
def test_diff_and_its_reverse_mirror_each_other(old: dict, new: dict) -> None:
    forward, backward = diff(old, new), diff(new, old)
    assert backward.added == forward.removed
    assert backward.removed == forward.added
    assert backward.changed == tuple(
        Change(c.id, c.new_split, c.old_split, tuple((f, n, o) for f, o, n in c.fields))
        for c in forward.changed
    )
    assert backward.moved == tuple((i, n, o) for i, o, n in forward.moved)
    assert backward.counts == {
        dimension: {v: (n, o) for v, (o, n) in values.items()}
        for dimension, values in forward.counts.items()
    }
    assert forward.empty == backward.empty == (old == new)


@PROPERTIES
@given(builds_st, builds_st, st.randoms(use_true_random=False))
def test_diff_does_not_depend_on_the_order_records_were_read(
    old: dict, new: dict, rnd: random.Random
) -> None:
    def shuffled(build: dict) -> dict:
        items = list(build.items())
        rnd.shuffle(items)
        return dict(items)

    assert diff(shuffled(old), shuffled(new)) == diff(old, new)
    assert to_json(diff(shuffled(old), shuffled(new))) == to_json(diff(old, new))


@PROPERTIES
@given(builds_st, builds_st)
def test_every_record_is_accounted_for(old: dict, new: dict) -> None:
    """Added and removed partition the ids on one side only; count deltas add up."""
    result = diff(old, new)
    assert {i for i, _, _ in result.added} == set(new) - set(old)
    assert {i for i, _, _ in result.removed} == set(old) - set(new)
    assert {c.id for c in result.changed} | {i for i, _, _ in result.moved} <= set(old) & set(new)
    split_delta = sum(n - o for o, n in result.counts["split"].values())
    assert split_delta == len(new) - len(old)


def test_what_formats_add_to_alpaca_rows_is_compared_too() -> None:
    """system and history columns (docs/formats.md) differ like the texts do."""
    old = rec("a", "Same answer.")
    new = {**old, "system": "Be brief.", "history": [["Hi?", "Hello."]]}
    changed = diff({"a": ("train", old)}, {"a": ("train", new)}).changed
    assert changed == (
        Change(
            "a",
            "train",
            "train",
            (("history", None, [["Hi?", "Hello."]]), ("system", None, "Be brief.")),
        ),
    )
