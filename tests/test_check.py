"""Unit tests of compiler/check.py: per-record checks (Inspector), duplicates and conflicts
(Checker) and the fingerprints they compare."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.check import MAX_LISTED, Checker, Inspector, fingerprints
from compiler.errors import Collector
from compiler.model import Record
from tests.helpers import DATASET_YAML, examples, project_from, records_of

BRANDS = {"acme": "id: acme\nname: Acme\ndo_not_use: [Cheap]\nmust_include: [ACME Corp]\n"}
OUTPUTS = [
    "acme corp is never CHEAP, ever.",
    "Acme Corp makes mornings better.",
    "short",
    "",
    "Acme Corp. ACME corp!",
]
TAGLINE = f"""task: ad
description: Taglines.
rules:
  - id: tagline
    each:
      b: brands
      o: {OUTPUTS!r}
    instruction: "Write a tagline for {{{{ b.name }}}}."
    output: "{{{{ o }}}}"
"""


def inspected(dataset: str = DATASET_YAML) -> dict[str, tuple[str | None, list[str]]]:
    """output -> (why the record is dropped or None, the errors it reported)."""
    project = project_from({"ad": TAGLINE}, dataset=dataset, brands=BRANDS)
    inspector = Inspector(project)
    found = {}
    for record in records_of(project):
        errors = Collector()
        verdict = inspector.inspect(record, errors)
        found[record.output] = (verdict, [d.render() for d in errors.diagnostics])
    return found


def test_inspector_verdicts_and_brand_guardrails() -> None:
    assert inspected() == {
        "Acme Corp. ACME corp!": (None, []),
        "Acme Corp makes mornings better.": (None, []),
        "": (
            "empty_output",
            [
                "specs/tasks/ad.yaml:9:13: error: record ad.tagline.81db1e04f5ca17d4 has an empty"
                " output\n  hint: every record needs an answer; check the output template and its"
                " data"
            ],
        ),
        # Too short is a drop; the missing required phrase is an error besides.
        "short": (
            "output_too_short",
            [
                "specs/tasks/ad.yaml:9:13: error: record ad.tagline.c82e7d9ff12bb589: output lacks"
                " 'ACME Corp', which brand 'acme' requires (must_include)\n"
                "  hint: add it to the output template"
            ],
        ),
        # Phrases are matched case-insensitively.
        "acme corp is never CHEAP, ever.": (
            None,
            [
                "specs/tasks/ad.yaml:9:13: error: record ad.tagline.f164f272c2e23684: output uses"
                " 'Cheap', which brand 'acme' does not allow (do_not_use)\n"
                "  hint: reword the output, or remove the phrase from brands/acme.yaml"
            ],
        ),
    }


def test_inspector_names_the_first_field_out_of_its_limits() -> None:
    dataset = DATASET_YAML + "limits:\n  instruction: {max: 25}\n  output: {max: 25}\n"

    verdicts = {output: verdict for output, (verdict, _) in inspected(dataset).items()}

    # "Write a tagline for Acme." has 25 characters: within; every output above 25 is too long.
    assert verdicts == {
        "Acme Corp. ACME corp!": None,
        "Acme Corp makes mornings better.": "output_too_long",
        "": "empty_output",
        "short": "output_too_short",
        "acme corp is never CHEAP, ever.": "output_too_long",
    }
    tighter = DATASET_YAML + "limits:\n  instruction: {max: 24}\n"
    assert {v for v, _ in inspected(tighter).values()} == {"instruction_too_long", "empty_output"}


# --- fingerprints ---------------------------------------------------------------------------


def record(instruction: str, input_: str, output: str) -> Record:
    return Record("t.r.0", instruction, input_, output, {}, rule=None)  # type: ignore[arg-type]


def test_fingerprints_ignore_whitespace_only() -> None:
    whole, prompt, output = fingerprints(record("Say  hi", "", "Hello\nthere"))

    assert fingerprints(record(" Say hi\t", "", "Hello there ")) == (whole, prompt, output)
    assert fingerprints(record("say hi", "", "Hello there"))[1] != prompt  # case matters
    other = fingerprints(record("Say hi", "", "Hi there"))
    assert other[1] == prompt and other[0] != whole and other[2] != output
    assert fingerprints(record("Say", "hi", "Hello there"))[1] != prompt  # fields stay apart


# --- Checker --------------------------------------------------------------------------------


def test_checker_drops_duplicates_and_lists_conflicts_in_order() -> None:
    checker = Checker(lambda index: f"id{index}")
    seen = [(b"k1", b"p1"), (b"k2", b"p2"), (b"k1", b"p1"), (b"k3", b"p1"), (b"k3", b"p1")]

    kept = [checker.admit(index, key, prompt) for index, (key, prompt) in enumerate(seen)]

    assert kept == [True, True, False, True, False]
    verdict = checker.verdict
    assert verdict.dropped == {"duplicate": (2, ["id2", "id4"])}
    assert verdict.conflicts == [("id0", "id3")]  # same prompt as id0, another output
    assert verdict.conflict_count == 1


def test_checker_counts_everything_and_lists_at_most_max_listed() -> None:
    checker = Checker(str)
    checker.admit(0, b"key", b"prompt")
    for index in range(1, MAX_LISTED + 11):
        assert not checker.admit(index, b"key", b"prompt")
        assert checker.admit(10_000 + index, f"other{index}".encode(), b"prompt")

    count, listed = checker.verdict.dropped["duplicate"]
    assert (count, len(listed)) == (MAX_LISTED + 10, MAX_LISTED)
    assert listed == [str(i) for i in range(1, MAX_LISTED + 1)]
    assert checker.verdict.conflict_count == MAX_LISTED + 10
    assert len(checker.verdict.conflicts) == MAX_LISTED


def test_duplicate_of_names_the_kept_record() -> None:
    records = [
        Record("a", "Say hi", "", "Hello there", {}, rule=None),  # type: ignore[arg-type]
        Record("b", "Say  hi", "", "Hello there", {}, rule=None),  # type: ignore[arg-type]
        Record("c", "Say hi", "", "Hi", {}, rule=None),  # type: ignore[arg-type]
        Record("d", "Say hi ", "", "Hi", {}, rule=None),  # type: ignore[arg-type]
        Record("e", "Other", "", "Hi", {}, rule=None),  # type: ignore[arg-type]
    ]
    checker = Checker(lambda index: records[index].id)
    for index, item in enumerate(records):
        key, prompt, _ = fingerprints(item)
        checker.admit(index, key, prompt)

    assert [checker.duplicate_of(r) for r in records] == [None, "a", None, "c", None]


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2)), max_size=30))
def test_checker_keeps_the_first_of_each_record_whatever_the_keys(
    pairs: list[tuple[int, int]],
) -> None:
    """One record kept per distinct (prompt, output); a conflict per extra output of a prompt."""
    checker = Checker(str)
    seen = [(f"{prompt}/{output}".encode(), str(prompt).encode()) for prompt, output in pairs]

    kept = [checker.admit(index, key, prompt) for index, (key, prompt) in enumerate(seen)]

    first = {key: seen.index((key, prompt)) for key, prompt in seen}
    assert kept == [first[key] == index for index, (key, _) in enumerate(seen)]
    prompts = {prompt for _, prompt in seen}
    assert checker.verdict.conflict_count == len(set(seen)) - len(prompts)
    assert sum(kept) + checker.verdict.dropped.get("duplicate", (0, []))[0] == len(seen)
