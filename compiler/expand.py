"""Expand rules into records: plans and bindings per rule, one binding's record rendered."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from compiler.bindings import Bindings, bindings, members_of, missing_key
from compiler.budget import CLOCK, LIMITS, OverBudget, cpu_budget
from compiler.errors import Collector, CompileError, fail
from compiler.hashing import format_id, keyed_text
from compiler.model import Project, Record, Template, new_record
from compiler.plan import Plan, plan_rules
from compiler.render import OverBudgetError, literal_text
from compiler.templateerrors import UndefinedKey
from compiler.text import describe, hint, refused_character


def _clean(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text).strip()


def _gate(text: str, name: str, record_id: str, tpl: Template | None) -> None:
    """The text gate on output (compiler.text): what a template rendered, before it is
    fingerprinted, hashed or written; the input gate cannot see what a template makes."""
    char = refused_character(text)
    if char is not None and tpl is not None:
        raise fail(
            tpl.location,
            f"{name} of record {record_id} holds {describe(char)}",
            hint(char, rendered=True),
        )


def _label(text: str, record_id: str, tpl: Template) -> bool:
    """A KTO label as rendered: true (desirable) or false (undesirable), nothing else."""
    if text in ("true", "false"):
        return text == "true"
    raise fail(
        tpl.location,
        f"label of record {record_id} is {text[:40]!r}, not true or false",
        "a label renders to true (a desirable answer) or false (an undesirable one)",
    )


def maker(project: Project, plan: Plan, bindings: Bindings) -> Callable[[int], Record]:
    """A function that renders the record of the binding at one position of `bindings`.

    Everything that does not depend on the binding is looked up or rendered here, once.
    """
    rule = plan.rule
    limit = project.config.max_record_chars
    task, rule_id = rule.task, rule.id
    numbers = bindings.numbers
    slots = tuple(
        (
            source.name,
            source,
            column,
            (tuple(i.value for i in source.items), tuple(i.key for i in source.items))
            if source.kind == "items"
            else None,
        )
        for source, column in zip(rule.sources, bindings.columns, strict=True)
    )
    # keyed(seed, record id, "pick", name), with the parts around the id joined once.
    seed_text = f"{project.config.seed}\x1f"
    picks = tuple((name, f"\x1fpick\x1f{name}", alternatives) for name, alternatives in plan.picks)
    # instruction, input, output, system, rejected, label: (name, renderer, template)
    fields = [(name, renderer, getattr(rule, name)) for name, renderer in plan.fields + plan.extras]
    turns = [
        (user, answer, user_tpl, answer_tpl)
        for (user, answer), (user_tpl, answer_tpl) in zip(plan.history, rule.history, strict=True)
    ]

    def made(
        context: dict[str, Any], record_id_: str, name: str, renderer: Any, tpl: Template | None
    ) -> str:
        """One rendered text of a record: cleaned, within max_record_chars, through the gate."""
        text = _clean(renderer(context)) if renderer else ""
        if len(text) > limit:
            raise fail(
                tpl.location,
                f"{name} of record {record_id_} has {len(text)} "
                f"characters, over the limit of {limit}",
                "raise limits.max_record_chars in specs/dataset.yaml if this is intended",
            )
        _gate(text, name, record_id_, tpl)
        return text

    base: dict[str, str | None] = dict.fromkeys(project.metadata_keys)
    base["task"] = task
    base["rule"] = rule_id
    entries = []
    for (key, renderer), (_, tpl) in zip(plan.metadata, rule.metadata, strict=True):
        text = literal_text(tpl) if tpl is not None else None
        if renderer is None or text is not None:
            entries.append((key, None, None if text is None else _clean(text), None))
        else:
            entries.append((key, renderer, None, tpl))
    brand_binding, context_binding = plan.brand_binding, plan.context_binding

    def make(position: int) -> Record:
        record_id_ = format_id(task, rule_id, numbers[position])
        CLOCK.serial += 1  # the CPU budget counts per record
        try:
            return render(position, record_id_)
        except OverBudgetError as exc:
            raise exc.for_record(record_id_) from None
        except OverBudget:  # a tick that landed just as a render ended
            raise fail(
                rule.location,
                f"record {record_id_} took more than {LIMITS.cpu_seconds:g} s of CPU time",
                "raise limits.max_record_cpu_seconds in specs/dataset.yaml",
            ) from None

    def render(position: int, record_id_: str) -> Record:
        bound: dict[str, Any] = {}
        keys: dict[str, str] = {}
        for name, source, column, table in slots:
            index = column[position]
            if table is None:
                item = members_of(source, bound, keys)[index]
                bound[name], keys[name] = item.value, item.key
            else:
                bound[name], keys[name] = table[0][index], table[1][index]
        context = {**bound, "keys": keys, "task": task, "rule": rule_id}
        try:
            return texts_of(context, keys, record_id_)
        except UndefinedKey as exc:
            raise missing_key(exc, rule, context, keys, record_id_) from None

    def texts_of(context: dict[str, Any], keys: dict[str, str], record_id_: str) -> Record:
        chosen = []
        for name, suffix, alternatives in picks:
            index = keyed_text(seed_text + record_id_ + suffix) % len(alternatives)
            context[name] = alternatives[index](context)
            chosen.append((name, index))
        texts = [made(context, record_id_, name, renderer, tpl) for name, renderer, tpl in fields]
        history = tuple(
            (
                made(context, record_id_, f"history[{i}].user", user, user_tpl),
                made(context, record_id_, f"history[{i}].assistant", answer, answer_tpl),
            )
            for i, (user, answer, user_tpl, answer_tpl) in enumerate(turns)
        )
        metadata = base.copy()
        if brand_binding:
            metadata["brand"] = keys[brand_binding]
        if context_binding:
            metadata["context"] = keys[context_binding]
        for key, renderer, constant, tpl in entries:
            if renderer is None:
                metadata[key] = constant
            elif (rendered := renderer(context)) is None:  # the template rendered {{ null }}
                metadata[key] = None
            else:
                metadata[key] = text = _clean(rendered)
                _gate(text, f"metadata.{key}", record_id_, tpl)
        return new_record(
            record_id_,
            texts[0],
            texts[1],
            texts[2],
            metadata,
            rule,
            tuple(keys.items()),
            tuple(chosen),
            texts[3],
            texts[4],
            _label(texts[5], record_id_, rule.label) if rule.label else None,
            history,
        )

    return make


def expand(project: Project) -> tuple[list[tuple[Plan, Bindings]], Collector]:
    """Every rule's compiled plan and bindings, in rule order; the texts are made later, by
    maker(), record by record. Rules whose bindings fail are left out, their errors collected.
    """
    errors = Collector()
    rules = []
    total = 0
    for plan in plan_rules(project):
        try:
            config = project.config
            # CPU only: this process also holds every binding; `when` values are bounded.
            with cpu_budget(config.max_record_cpu_seconds):
                found = bindings(plan, config.seed)
        except CompileError as exc:
            errors.extend(exc)
            continue
        total += len(found)
        if total > project.config.max_records:
            raise fail(
                plan.rule.location,
                f"the project produces more than {project.config.max_records} records",
                "raise limits.max_records in specs/dataset.yaml, or narrow the rules",
            )
        rules.append((plan, found))
    return rules, errors
