"""Unit tests of compiler/hashing.py: keyed numbers, record ids, digests and collapse."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.hashing import (
    collapse,
    digest,
    format_id,
    keyed,
    keyed_last,
    keyed_prefix,
    record_digests,
    record_id,
)
from tests.helpers import ROOT, examples

# Small inputs and one-line invariants: 50 examples a property find what 100 would, at half the
# cost (each run draws new ones).
PROPERTIES = settings(max_examples=examples(50), deadline=None)
parts_st = st.lists(st.text(max_size=8), max_size=4)
seeds_st = st.integers(-(2**63), 2**64 - 1)
bindings_st = st.dictionaries(st.text(min_size=1, max_size=6), st.text(max_size=6), max_size=5).map(
    lambda d: tuple(d.items())
)


# --- keyed ----------------------------------------------------------------------------------


def test_keyed_is_blake2b_of_the_seed_and_parts() -> None:
    assert keyed(7, "a", "b") == 0x8FB2F956D2F5F546
    # The documented definition: blake2b (8 bytes, big-endian) of str(seed) and the parts,
    # joined by U+001F.
    expected = hashlib.blake2b(b"7\x1fa\x1fb", digest_size=8).digest()
    assert keyed(7, "a", "b") == int.from_bytes(expected, "big")
    assert keyed(7) == 16667848380713045890
    assert keyed(8, "a", "b") == 2139909715600589643


@PROPERTIES
@given(seeds_st, parts_st, st.text(max_size=8))
def test_keyed_prefix_then_last_is_keyed(seed: int, parts: list[str], last: str) -> None:
    """The fast path of split and sample (one prefix, many lasts) gives keyed()'s numbers."""
    prefix = keyed_prefix(seed, *parts)
    assert keyed_last(prefix, last) == keyed(seed, *parts, last)
    assert keyed_last(prefix, last) == keyed(seed, *parts, last)  # the prefix is not used up


@PROPERTIES
@given(seeds_st, st.lists(parts_st, min_size=1, max_size=20), st.randoms(use_true_random=False))
def test_keyed_choices_do_not_depend_on_call_order(
    seed: int, calls: list[list[str]], rnd: random.Random
) -> None:
    """No shared stream: a number depends on its own seed and parts, not on earlier calls."""
    in_order = [keyed(seed, *parts) for parts in calls]
    order = list(range(len(calls)))
    rnd.shuffle(order)
    shuffled = {i: keyed(seed, *calls[i]) for i in order}
    assert [shuffled[i] for i in range(len(calls))] == in_order
    assert all(0 <= n < 2**64 for n in in_order)


def test_hashes_do_not_depend_on_pythonhashseed() -> None:
    """The numbers, ids and digests are the same under any hash seed (no hash(), no set order)."""
    script = (
        "from compiler.hashing import keyed, record_id, digest\n"
        "print(keyed(7, 'a', 'b'), record_id('t', 'r', (('b', '2'), ('a', '1'))),"
        " digest('x', 'y').hex())\n"
    )
    expected = (
        f"{keyed(7, 'a', 'b')} {record_id('t', 'r', (('b', '2'), ('a', '1')))} "
        f"{digest('x', 'y').hex()}\n"
    )
    for hash_seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout == expected, hash_seed


# --- record ids -----------------------------------------------------------------------------


def test_record_id_exact_values() -> None:
    bindings = (("person", "ann"), ("lang", "en"))
    assert record_id("greet", "hello", bindings) == "greet.hello.ce0d7135504d7171"
    assert record_id("greet", "hello", ()) == "greet.hello.2275e028b770751d"
    assert format_id("t", "r", 255) == "t.r.00000000000000ff"
    assert format_id("t", "r", 2**64 - 1) == "t.r.ffffffffffffffff"


@PROPERTIES
@given(st.text(min_size=1, max_size=6), st.text(min_size=1, max_size=6), bindings_st)
def test_record_id_is_the_sha256_of_the_documented_json(
    task: str, rule: str, bindings: tuple[tuple[str, str], ...]
) -> None:
    """docs/spec-language.md: a sha256 of (task, rule, binding names and keys), as compact JSON
    [task, rule, [[name, key], ...]] with the bindings sorted by name."""
    payload = json.dumps(
        [task, rule, sorted([name, key] for name, key in bindings)],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    number = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
    assert record_id(task, rule, bindings) == f"{task}.{rule}.{number}"


@PROPERTIES
@given(bindings_st, st.randoms(use_true_random=False))
def test_record_id_depends_on_the_set_of_bindings_not_their_order(
    bindings: tuple[tuple[str, str], ...], rnd: random.Random
) -> None:
    shuffled = list(bindings)
    rnd.shuffle(shuffled)
    assert record_id("t", "r", tuple(shuffled)) == record_id("t", "r", bindings)


@PROPERTIES
@given(bindings_st, st.text(max_size=6))
def test_another_key_gives_another_id(bindings: tuple[tuple[str, str], ...], key: str) -> None:
    if not bindings:
        return
    (name, old), *rest = bindings
    changed = ((name, key), *rest)
    assert (record_id("t", "r", changed) == record_id("t", "r", bindings)) == (key == old)
    # Names and keys cannot run into each other: the JSON keeps them apart.
    assert not key or record_id("t", "r", ((name + key, ""),)) != record_id(
        "t", "r", ((name, key),)
    )


# --- digests and collapse -------------------------------------------------------------------


def test_digest_exact_values_and_separators() -> None:
    assert digest("a", "b").hex() == "08b1e8b75c8635d39c23d0ebbd825af4"
    assert digest().hex() == "cae66941d9efbd404e4d88758ea67670"
    # Every text is ended by NUL: texts that concatenate alike digest apart.
    assert len({digest("a", "b"), digest("ab"), digest("a", "", "b"), digest("ab", "")}) == 4


def test_record_digests_tell_duplicates_from_conflicts() -> None:
    record, prompt, output = record_digests("Ask", "", "Answer")
    same = record_digests("Ask", "", "Answer")
    other_output = record_digests("Ask", "", "Another answer")
    assert same == (record, prompt, output)
    assert other_output[1] == prompt and other_output[0] != record
    assert record_digests("Ask", "x", "Answer")[1] != prompt
    assert record_digests("Other", "", "Answer")[2] == output


def test_collapse_exact_values() -> None:
    assert collapse("  a \t b\n\nc  ") == "a b c"
    assert collapse("") == ""
    assert collapse("one line") == "one line"
    assert collapse("two\nlines") == "two lines"
    # Unicode whitespace too (no-break space, line separator, ideographic space).
    assert collapse("\u00a0x\u2028y\u3000") == "x y"


@PROPERTIES
@given(st.text())
def test_collapse_is_idempotent_and_keeps_the_words(text: str) -> None:
    once = collapse(text)
    assert collapse(once) == once
    assert once.split(" ") == (text.split() or [""])
