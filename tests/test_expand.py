"""Unit tests of compiler/expand.py: a resolved project's rules expanded into records."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.errors import CompileError
from compiler.hashing import keyed, record_id
from compiler.model import Record
from tests.helpers import DATASET_YAML, project_from, records_of

GREET = """task: greet
description: Greetings.
rules:
  - id: hello
    each:
      lang: {en: {word: hello}, fr: {word: bonjour}}
      person: [{id: ann, name: Ann}, {id: bob, name: Bob}]
    pick:
      verb: ["Say", "Write"]
    instruction: "{{ verb }} {{ lang.word }} to {{ person.name }}."
    output: "{{ lang.word | capitalize }}, {{ person.name }}! Nice to meet you."
    metadata:
      lang: "{{ keys.lang }}"
"""

COUNT = """task: count
description: Counting.
rules:
  - id: to
    each:
      n: [1, 2, 3, 4, 5, 6]
    when: "n != 3"
{sample}    instruction: "Count to {{{{ n }}}} please."
    output: "  Line one\\r\\nline two {{{{ n }}}}  \\u0065\\u0301 "
"""


def expanded(tasks: dict[str, str], dataset: str = DATASET_YAML, **options: object) -> list:
    return records_of(project_from(tasks, dataset=dataset, **options))  # type: ignore[arg-type]


def test_records_of_a_rule_exactly() -> None:
    made = expanded({"greet": GREET})

    assert [(r.id, r.instruction, r.output, r.bindings, r.picks) for r in made] == [
        (
            "greet.hello.a0b79d1b2ac8b21b",
            "Say hello to Bob.",
            "Hello, Bob! Nice to meet you.",
            (("lang", "en"), ("person", "bob")),
            (("verb", 0),),
        ),
        (
            "greet.hello.ce0d7135504d7171",
            "Say hello to Ann.",
            "Hello, Ann! Nice to meet you.",
            (("lang", "en"), ("person", "ann")),
            (("verb", 0),),
        ),
        (
            "greet.hello.d17e44f9e9607d6e",
            "Say bonjour to Bob.",
            "Bonjour, Bob! Nice to meet you.",
            (("lang", "fr"), ("person", "bob")),
            (("verb", 0),),
        ),
        (
            "greet.hello.ec498a23875174c0",
            "Write bonjour to Ann.",
            "Bonjour, Ann! Nice to meet you.",
            (("lang", "fr"), ("person", "ann")),
            (("verb", 1),),
        ),
    ]
    assert made[0].input == ""
    assert made[0].metadata == {
        "task": "greet",
        "rule": "hello",
        "brand": None,
        "context": None,
        "platform": None,
        "quality": None,
        "lang": "en",
    }


def test_ids_are_the_reference_record_id_and_picks_the_reference_keyed_choice() -> None:
    """expand's fast paths (shared hash prefixes) give what hashing's definitions give."""
    for seed in (7, 8, 2**63):
        dataset = DATASET_YAML.replace("seed: 7", f"seed: {seed}")
        made = expanded({"greet": GREET}, dataset=dataset)
        assert [r.id for r in made] == sorted(r.id for r in made)
        for record in made:
            assert record.id == record_id("greet", "hello", record.bindings)
            assert record.picks == (("verb", keyed(seed, record.id, "pick", "verb") % 2),)


def test_another_seed_changes_picks_not_ids() -> None:
    seven = expanded({"greet": GREET})
    other = expanded({"greet": GREET}, dataset=DATASET_YAML.replace("seed: 7", "seed: 11"))

    assert [r.id for r in other] == [r.id for r in seven]
    assert [r.picks for r in other] != [r.picks for r in seven]


words = st.text(alphabet=string.ascii_letters + " .,!?'", min_size=1, max_size=12)


@settings(max_examples=25, deadline=None)  # each example compiles a project: a few ms
@given(st.lists(words, min_size=2, max_size=2), st.lists(words, min_size=3, max_size=3))
def test_ids_depend_on_keys_not_on_texts(templates: list[str], names: list[str]) -> None:
    """Editing a template or an item's text changes the records, never their ids."""
    people = [{"id": key, "name": name} for key, name in zip("abc", names, strict=True)]
    edited = (
        GREET.replace(
            "[{id: ann, name: Ann}, {id: bob, name: Bob}]", json.dumps(people, ensure_ascii=False)
        )
        .replace("Nice to meet you.", json.dumps(templates[0])[1:-1])
        .replace('"Write"', json.dumps(templates[1]))
    )
    plain = GREET.replace(
        "[{id: ann, name: Ann}, {id: bob, name: Bob}]", "[{id: a}, {id: b}, {id: c}]"
    ).replace("{{ person.name }}", "someone")

    assert [r.id for r in expanded({"greet": edited})] == [r.id for r in expanded({"greet": plain})]


def test_another_key_changes_only_that_item_s_records() -> None:
    before = {r.id: r for r in expanded({"greet": GREET})}
    after = {r.id: r for r in expanded({"greet": GREET.replace("id: bob", "id: robert")})}

    gone, new = set(before) - set(after), set(after) - set(before)
    assert {before[i].bindings[1] for i in gone} == {("person", "bob")}
    assert {after[i].bindings[1] for i in new} == {("person", "robert")}
    assert len(gone) == len(new) == 2
    assert all(after[i] == before[i] for i in set(before) & set(after))


def test_adding_an_item_changes_no_other_record() -> None:
    more = GREET.replace("{id: bob, name: Bob}]", "{id: bob, name: Bob}, {id: cy, name: Cy}]")

    before = expanded({"greet": GREET})
    after = {r.id: r for r in expanded({"greet": more})}

    assert len(after) == len(before) + 2
    for record in before:
        assert after[record.id] == record
        assert after[record.id].picks == record.picks


def test_when_filters_and_texts_are_normalised() -> None:
    made = expanded({"count": COUNT.format(sample="")})

    assert sorted(int(r.bindings[0][1]) + 1 for r in made) == [1, 2, 4, 5, 6]
    for record in made:
        n = int(record.bindings[0][1]) + 1  # list items are keyed by position
        # CRLF became LF, the text is NFC (e + U+0301 is é) and stripped at both ends.
        assert record.output == f"Line one\nline two {n}  \u00e9"
        assert record.instruction == f"Count to {n} please."


def test_sample_keeps_the_bindings_with_the_smallest_keyed_hash() -> None:
    passing = [r.id for r in expanded({"count": COUNT.format(sample="")})]

    sampled = expanded({"count": COUNT.format(sample="    sample: 3\n")})

    expected = sorted(passing, key=lambda i: keyed(7, "sample", i))[:3]
    assert [r.id for r in sampled] == sorted(expected)


def test_a_binding_can_iterate_over_a_field_of_another() -> None:
    nested = """task: greet
description: d
rules:
  - id: hello
    each:
      lang: {go: {ex: [{id: a, t: x}, {id: b, t: y}]}, py: {ex: [{id: c, t: z}]}}
      e: lang.ex
    instruction: "Show {{ e.t }} in {{ keys.lang }}."
    output: "An example answer of enough length {{ keys.e }}."
"""
    made = expanded({"greet": nested})

    assert [(r.bindings, r.instruction) for r in made] == [
        ((("lang", "go"), ("e", "a")), "Show x in go."),
        ((("lang", "go"), ("e", "b")), "Show y in go."),
        ((("lang", "py"), ("e", "c")), "Show z in py."),
    ]
    with pytest.raises(CompileError) as raised:
        expanded({"greet": nested.replace("lang.ex", "lang.nothing")})
    assert raised.value.render() == (
        "specs/tasks/greet.yaml:7:10: error: each.e: 'lang.nothing' does not exist in any lang\n"
        "  hint: expected one of: ex"
    )


def test_a_rule_over_max_records_is_refused_before_it_is_enumerated() -> None:
    dataset = DATASET_YAML + "limits:\n  max_records: 3\n"

    with pytest.raises(CompileError) as raised:
        expanded({"greet": GREET}, dataset=dataset)

    assert raised.value.render() == (
        "specs/tasks/greet.yaml:4:9: error: rule 'hello' would produce up to 4 records "
        "(lang: 2 × person: 2), over the limit of 3\n"
        "  hint: narrow its each, add a when filter or sample, or raise limits.max_records"
    )


def test_a_brands_binding_sets_the_brand_metadata() -> None:
    brands = {"acme": "id: acme\nname: Acme\n", "zeta": "id: zeta\nname: Zeta\n"}
    task = """task: ad
description: d
rules:
  - id: tagline
    each:
      b: brands
    instruction: "Write a tagline for {{ b.name }}."
    output: "{{ b.name }} makes every morning better."
"""
    made: list[Record] = expanded({"ad": task}, brands=brands)

    assert sorted((r.metadata["brand"], r.output) for r in made) == [
        ("acme", "Acme makes every morning better."),
        ("zeta", "Zeta makes every morning better."),
    ]
