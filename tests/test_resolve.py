"""Unit tests of compiler/resolve.py: validated spec documents in, one Project or all errors out."""

from __future__ import annotations

import hashlib
from fractions import Fraction

import pytest

from compiler.catalogue import items_of
from compiler.errors import CompileError, Location
from compiler.model import Config, Item, Limits, SplitConfig
from compiler.resolve import resolve
from tests.helpers import DATASET_YAML, parse_spec, project_from

RULE = """  - id: {id}
    each:
      {each}
    instruction: "Tell me about {{{{ keys.x }}}} please."
    output: "Some long enough output text here."
"""


def task(name: str, *rules: str, extra: str = "") -> str:
    return f"task: {name}\ndescription: A task.\n{extra}rules:\n" + "".join(rules)


def rule(rule_id: str, each: str = "x: [1]", metadata: str = "") -> str:
    text = RULE.format(id=rule_id, each=each)
    return text + (f"    metadata:\n      {metadata}\n" if metadata else "")


def errors_of(tasks: dict[str, str], **options: object) -> str:
    with pytest.raises(CompileError) as raised:
        project_from(tasks, **options)  # type: ignore[arg-type]
    return raised.value.render()


# --- items_of -------------------------------------------------------------------------------


def test_items_of_keys_members_by_id_position_or_mapping_key() -> None:
    assert items_of([{"id": "b", "v": 1}, "plain", {"v": 2}]) == (
        Item("b", {"id": "b", "v": 1}),
        Item("1", "plain"),
        Item("2", {"v": 2}),
    )
    assert items_of([{"id": 7}]) == (Item("7", {"id": 7}),)
    assert items_of({"z": 1, "a": 2}) == (Item("a", 2), Item("z", 1))
    assert items_of([]) == () and items_of({}) == ()
    assert items_of("text") is None and items_of(3) is None and items_of(None) is None


# --- the project ----------------------------------------------------------------------------


def test_defaults_fill_the_configuration() -> None:
    project = project_from({"a": task("a", rule("m"))})

    assert project.config == Config(
        name="unit",
        seed=7,
        split=SplitConfig(
            method="stratified",
            ratios=(("train", Fraction(4, 5)), ("val", Fraction(1, 10)), ("test", Fraction(1, 10))),
            group_by="output",
            stratify_by=("task",),
        ),
        limits=Limits(instruction=(10, 1000), input=(0, 4000), output=(20, 4000)),
        max_records=5_000_000,
        max_record_chars=100_000,
        max_output_bytes=4 * 1024**3,
        max_record_cpu_seconds=2.0,
        max_memory_mib=1024,
        output_budget_at=Location("specs/dataset.yaml", 1, 1),  # unset: the document
    )


def test_ratios_are_exact_fractions_of_what_was_written() -> None:
    dataset = DATASET_YAML + "split:\n  ratios: {train: 0.7, val: 0.2, test: 0.1}\n"

    config = project_from({"a": task("a", rule("m"))}, dataset=dataset).config

    assert config.split.ratios == (
        ("train", Fraction(7, 10)),
        ("val", Fraction(1, 5)),
        ("test", Fraction(1, 10)),
    )


def test_task_limits_override_the_dataset_limits_field_by_field() -> None:
    dataset = DATASET_YAML + "limits:\n  output: {min: 5}\n  input: {max: 50}\n"
    limited = task("a", rule("m"), extra="limits:\n  output: {max: 60}\n")

    project = project_from({"a": limited, "b": task("b", rule("n"))}, dataset=dataset)

    assert project.config.limits == Limits((10, 1000), (0, 50), (5, 4000))
    by_task = {r.task: r.limits for r in project.rules}
    assert by_task == {"a": Limits((10, 1000), (0, 50), (5, 60)), "b": project.config.limits}


def test_rules_are_sorted_by_task_then_id_and_inputs_by_path() -> None:
    tasks = {
        "b": task("b", rule("z", "x: [1, 2]"), rule("a", "x: [3]")),
        "a": task("a", rule("m")),
    }

    project = project_from(tasks)

    assert [(r.task, r.id) for r in project.rules] == [("a", "m"), ("b", "a"), ("b", "z")]
    sha = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in tasks.items()}
    assert project.inputs == (
        ("specs/dataset.yaml", hashlib.sha256(DATASET_YAML.encode()).hexdigest()),
        ("specs/tasks/a.yaml", sha["a"]),
        ("specs/tasks/b.yaml", sha["b"]),
    )


def test_task_files_in_another_order_resolve_to_the_same_project() -> None:
    tasks = {"b": task("b", rule("z")), "a": task("a", rule("m", metadata="lang: go"))}
    documents = [parse_spec(f"specs/tasks/{t}.yaml", tasks[t], "task") for t in ("a", "b")]
    dataset = parse_spec("specs/dataset.yaml", DATASET_YAML, "dataset")

    forward = resolve(dataset, None, [], documents, {})
    backward = resolve(dataset, None, [], documents[::-1], {})

    assert forward == backward


def test_metadata_keys_are_the_core_keys_then_every_other_key_sorted() -> None:
    tasks = {
        "a": task("a", rule("m", metadata="zone: z"), extra="defaults:\n  audience: all\n"),
        "b": task("b", rule("n", metadata="lang: go")),
    }

    project = project_from(tasks)

    core = ("task", "rule", "brand", "context", "platform", "quality")
    assert project.metadata_keys == (*core, "audience", "lang", "zone")


def test_a_field_binding_comes_after_the_binding_it_reads() -> None:
    each = "y: [{id: a, parts: [p, q]}]\n      x: y.parts"

    (only,) = project_from({"a": task("a", rule("m", each))}).rules

    assert [(s.name, s.kind, s.parent, s.path) for s in only.sources] == [
        ("y", "items", "", ()),
        ("x", "field", "y", ("parts",)),
    ]


def test_a_literal_brand_in_metadata_must_exist() -> None:
    brands = {"acme": "id: acme\nname: Acme\n"}

    project = project_from({"a": task("a", rule("m", metadata="brand: acme"))}, brands=brands)

    assert list(project.brands) == ["acme"]
    assert errors_of({"a": task("a", rule("m", metadata="brand: acne"))}, brands=brands) == (
        "specs/tasks/a.yaml:10:14: error: unknown brand 'acne' in metadata.brand\n"
        "  hint: did you mean 'acme'?"
    )


# --- every error, sorted, none hiding another -----------------------------------------------


def test_ratios_that_do_not_sum_to_one() -> None:
    dataset = DATASET_YAML + "split:\n  ratios: {train: 0.5, val: 0.2, test: 0.2}\n"

    assert errors_of({"a": task("a", rule("m"))}, dataset=dataset) == (
        "specs/dataset.yaml:4:11: error: split ratios must sum to 1, not 0.5 + 0.2 + 0.2\n"
        "  hint: for example train: 0.8, val: 0.1, test: 0.1"
    )


def test_an_unknown_collection_suggests_the_closest_name() -> None:
    dataset = DATASET_YAML + "collections:\n  languages: [a, b]\n"

    assert errors_of({"a": task("a", rule("m", "x: langs"))}, dataset=dataset) == (
        "specs/tasks/a.yaml:6:10: error: unknown collection 'langs' in each.x\n"
        "  hint: did you mean 'languages'?"
    )


def test_bindings_that_read_each_other_are_a_cycle() -> None:
    assert errors_of({"a": task("a", rule("m", "x: y.z\n      y: x.w"))}) == (
        "specs/tasks/a.yaml:6:10: error: each.x depends on itself through 'y.z'\n"
        "  hint: remove the cycle between the bindings\n"
        "specs/tasks/a.yaml:7:10: error: each.y depends on itself through 'x.w'\n"
        "  hint: remove the cycle between the bindings"
    )


def test_duplicates_of_rule_ids_and_item_ids() -> None:
    assert errors_of({"a": task("a", rule("m"), rule("m", "x: [2]"))}) == (
        "specs/tasks/a.yaml:9:9: error: duplicate rule id 'm' in task 'a' "
        "(first defined at line 4)\n"
        "  hint: rule ids name records: give each rule its own id"
    )
    assert errors_of({"a": task("a", rule("m", "x: [{id: q, v: 1}, {id: q, v: 2}]"))}) == (
        "specs/tasks/a.yaml:6:31: error: duplicate id 'q' in each.x (first defined at line 6)\n"
        "  hint: ids name records: give every item its own id"
    )


def test_the_compiler_s_own_metadata_keys_are_refused() -> None:
    assert errors_of({"a": task("a", rule("m", metadata="task: hi"))}) == (
        "specs/tasks/a.yaml:10:7: error: metadata key 'task' is set by the compiler\n"
        "  hint: remove it; use another name for your own field"
    )


def test_brands_without_brand_files() -> None:
    assert errors_of({"a": task("a", rule("m", "x: brands"))}) == (
        "specs/tasks/a.yaml:6:10: error: each.x: the project has no brands\n"
        "  hint: add brands/<id>.yaml"
    )


def test_an_unknown_split_key_suggests_a_declared_one() -> None:
    dataset = DATASET_YAML + "split:\n  stratify_by: [task, intnet]\n"

    message = errors_of({"a": task("a", rule("m", metadata="intent: hi"))}, dataset=dataset)

    assert message == (
        "specs/dataset.yaml:4:23: error: unknown metadata key 'intnet' in stratify_by\n"
        "  hint: did you mean 'intent'?"
    )


def test_a_failing_rule_does_not_make_its_metadata_keys_unknown() -> None:
    dataset = DATASET_YAML + "split:\n  stratify_by: [task, intent]\n"
    broken = rule("n", "x: nope", metadata="intent: hi")

    message = errors_of({"a": task("a", rule("m"), broken)}, dataset=dataset)

    assert "unknown metadata key" not in message
    assert message.startswith("specs/tasks/a.yaml:11:10: error: unknown collection 'nope'")


def test_the_unknown_collection_hint_names_only_what_exists() -> None:
    message = errors_of({"a": task("a", rule("m", "x: nope"))})

    assert "brands" not in message and "contexts" not in message
