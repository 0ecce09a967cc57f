"""Unit tests of compiler/expand.py: a resolved project's rules expanded into records."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.encode import encode
from compiler.errors import CompileError
from compiler.hashing import keyed, record_id
from compiler.model import Record, new_record
from tests.helpers import DATASET_YAML, examples, project_from, records_of

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


@settings(max_examples=examples(25), deadline=None)  # each example compiles a project: a few ms
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


# --- undefined names and keys: what the template sees, which item lacks a key ----------------

CHANNELS = """task: post
description: d
rules:
  - id: ad
    each:
      channel: [instagram, tiktok]
      topic: [{{id: coffee, name: Coffee}}, {{id: tea, name: Tea, level: expert}}]
{extra}    instruction: "{instruction}"
    output: "{output}"
"""


def error_of(instruction: str, output: str = "A long enough answer.", extra: str = "") -> str:
    task = CHANNELS.format(instruction=instruction, output=output, extra=extra)
    with pytest.raises(CompileError) as raised:
        expanded({"post": task})
    return raised.value.render()


@pytest.mark.parametrize(
    ("instruction", "extra", "expected"),
    [
        (
            "Write for {{ chanel }}.",
            "",
            "8:32: error: undefined name 'chanel' in instruction\n  hint: did you mean 'channel'?",
        ),
        (
            "{{ ask }}",
            '    pick:\n      ask: ["Post on {{ chanel }}."]\n',
            "9:25: error: undefined name 'chanel' in pick.ask\n  hint: did you mean 'channel'?",
        ),
        (
            "{{ ask }} {{ xyzzy }}",
            '    pick:\n      ask: ["Post it."]\n',
            "10:32: error: undefined name 'xyzzy' in instruction\n"
            "  hint: check the spelling; this template sees channel, topic, ask, keys, task, rule",
        ),
        (
            "{{ ask }}",
            '    pick:\n      ask: ["Post {{ tone }}."]\n      tone: ["calmly"]\n',
            "9:22: error: undefined name 'tone' in pick.ask\n"
            "  hint: picks are chosen in name order: pick.ask cannot use pick 'tone'",
        ),
        (
            "{{ ask }}",
            '    when: "ask"\n    pick:\n      ask: ["Post it."]\n',
            "8:12: error: undefined name 'ask' in when\n"
            "  hint: when is evaluated before picks are chosen: it cannot use pick 'ask'",
        ),
    ],
    ids=["binding", "binding_in_pick", "no_close_name", "later_pick", "pick_in_when"],
)
def test_an_undefined_name_is_compared_with_the_names_the_template_sees(
    instruction: str, extra: str, expected: str
) -> None:
    assert error_of(instruction, extra=extra) == "specs/tasks/post.yaml:" + expected


@pytest.mark.parametrize(
    ("instruction", "extra", "expected"),
    [
        (
            "Post about {{ topic.level }} coffee.",
            "",
            "8:39: error: undefined key 'level' in instruction of record "
            "post.ad.a524763a16cc36de: topic 'coffee' has no key 'level'\n"
            "  hint: other items of each.topic have it: add it to topic 'coffee', "
            "or write {{ topic.level | default('') }}",
        ),
        (
            "Post.",
            "    when: \"topic.level == 'expert'\"\n",
            "8:18: error: undefined key 'level' in when of record "
            "post.ad.a524763a16cc36de: topic 'coffee' has no key 'level'\n"
            "  hint: other items of each.topic have it: add it to topic 'coffee', "
            "or write topic.level | default('')",
        ),
    ],
    ids=["instruction", "when"],
)
def test_an_item_without_a_key_others_have_is_named_with_its_record(
    instruction: str, extra: str, expected: str
) -> None:
    assert error_of(instruction, extra=extra) == "specs/tasks/post.yaml:" + expected


def test_a_key_no_item_has_is_a_typo() -> None:
    assert error_of("Post about {{ topic.nmae }}.") == (
        "specs/tasks/post.yaml:8:39: error: undefined key 'nmae' in instruction (topic.nmae)\n"
        "  hint: did you mean 'name'?"
    )
    assert error_of("Post about {{ topic.colour }}.") == (
        "specs/tasks/post.yaml:8:39: error: undefined key 'colour' in instruction (topic.colour)\n"
        "  hint: check the spelling: no item of each.topic has it; their keys are id, level, name"
    )
    assert error_of("Post about {{ keys.topc }}.") == (
        "specs/tasks/post.yaml:8:38: error: undefined key 'topc' in instruction (keys.topc)\n"
        "  hint: did you mean 'topic'?"
    )


@pytest.mark.parametrize(
    ("each", "instruction", "expected"),
    [
        # A nested path names the mapping that lacks the key.
        (
            "brand: {acme: {vars: {city: Rome}}, zeta: {vars: {}}}",
            "Post from {{ brand.vars.city }}.",
            "7:43: error: undefined key 'city' in instruction of record "
            "post.ad.7608d6bca136e16a: brand.vars of brand 'zeta' has no key 'city'\n"
            "  hint: other items of each.brand have it: add it to brand 'zeta', "
            "or write {{ brand.vars.city | default('') }}",
        ),
        # The members of a field binding are not listed ahead: no claim about the others.
        (
            "lang: {go: {ex: [{id: a, t: x}]}, py: {ex: [{id: c}]}}\n      e: lang.ex",
            "Show {{ e.t }} in {{ keys.lang }}.",
            "8:29: error: undefined key 't' in instruction of record "
            "post.ad.fe8b96898c7febe7: e 'c' has no key 't'\n"
            "  hint: add it to e 'c', or write {{ e.t | default('') }}",
        ),
    ],
    ids=["nested_path", "field_binding"],
)
def test_the_item_that_lacks_a_key_is_named(each: str, instruction: str, expected: str) -> None:
    task = (
        "task: post\ndescription: d\nrules:\n  - id: ad\n    each:\n"
        f'      {each}\n    instruction: "{instruction}"\n    output: "A long enough answer."\n'
    )
    with pytest.raises(CompileError) as raised:
        expanded({"post": task})
    assert raised.value.render() == "specs/tasks/post.yaml:" + expected


# --- null in metadata -----------------------------------------------------------------------


def test_null_makes_a_metadata_field_null_where_the_template_renders_only_it() -> None:
    task = (
        CHANNELS.format(
            instruction="Post about {{ topic.name }} on {{ channel }}.",
            output="A long enough answer.",
            extra="",
        )
        + '    metadata:\n      level: "{{ topic.level | default(null) }}"\n'
    )

    made = expanded({"post": task})

    assert sorted((r.bindings, r.metadata["level"]) for r in made) == [
        ((("channel", "0"), ("topic", "coffee")), None),
        ((("channel", "0"), ("topic", "tea")), "expert"),
        ((("channel", "1"), ("topic", "coffee")), None),
        ((("channel", "1"), ("topic", "tea")), "expert"),
    ]
    lines = {json.loads(encode(r))["metadata"]["level"] for r in made}
    assert lines == {None, "expert"}


def test_null_with_blocks_and_line_breaks_around_it_is_still_null() -> None:
    task = CHANNELS.format(
        instruction="Post about {{ topic.name }}.", output="An answer.", extra=""
    )
    task += (
        "    metadata:\n      level: |\n"
        "        {% if topic.level is defined %}{{ topic.level }}{% else %}\n"
        "          {{ null }}\n"
        "        {% endif %}\n"
    )
    made = expanded({"post": task})
    assert {r.metadata["level"] for r in made} == {None, "expert"}


@pytest.mark.parametrize(
    ("instruction", "extra", "expected"),
    [
        ("{{ ask }}", '    pick:\n      ask: ["{{ null }}"]\n', "9:17: error: pick.ask"),
        ("Post {{ 'a' ~ null }}.", "", "8:33: error: instruction"),
    ],
    ids=["pick", "text"],
)
def test_null_in_a_field_or_a_pick_is_refused(instruction: str, extra: str, expected: str) -> None:
    assert error_of(instruction, extra=extra) == (
        f"specs/tasks/post.yaml:{expected} renders null, but only a metadata field can be null\n"
        "  hint: instruction, input, output and picks are text: use a text instead, "
        "e.g. | default('') for | default(null)"
    )


def test_none_is_not_null() -> None:
    """Jinja's none is what a missing value often is: an error whose hint names null."""
    assert error_of("Post {{ none }}.") == (
        "specs/tasks/post.yaml:8:19: error: template error in instruction: an expression renders "
        "None, not text\n  hint: give it a text, e.g. | default('', true); in metadata, "
        "{{ null }} makes the field null"
    )


_texts = st.text(max_size=5)


@settings(max_examples=examples(50), deadline=None)
@given(
    st.tuples(_texts, _texts, _texts, _texts),
    st.dictionaries(_texts, st.none() | _texts, max_size=3),
    st.tuples(_texts, _texts),
    st.sampled_from([None, True, False]),
    st.lists(st.tuples(_texts, _texts), max_size=2).map(tuple),
)
def test_new_record_makes_what_the_dataclass_makes(texts, metadata, extras, label, turns) -> None:
    args = (*texts, metadata, None, (("b", "k"),), (("p", 1),), *extras, label, turns)
    made, defined = new_record(*args), Record(*args)
    assert type(made) is Record and made == defined and vars(made) == vars(defined)
