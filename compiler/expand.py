"""Expand rules into records: bindings, filters, keyed picks and samples, sandboxed rendering."""

from __future__ import annotations

import unicodedata
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from compiler.budget import CLOCK, LIMITS, OverBudget, cpu_budget
from compiler.errors import Collector, CompileError, fail
from compiler.hashing import (
    ID_TAIL,
    format_id,
    id_fragment,
    id_head,
    id_number,
    id_numbers,
    keyed_last,
    keyed_prefix,
    keyed_text,
)
from compiler.model import Project, Record, Rule, Source, Template
from compiler.render import (
    OverBudgetError,
    Renderer,
    compile_expression,
    compile_template,
    literal_text,
)
from compiler.resolve import items_of
from compiler.text import describe, hint, refused_character
from compiler.validate import suggest, type_name


@dataclass(frozen=True)
class Plan:
    rule: Rule
    when: Callable[[dict[str, Any]], Any] | None
    picks: tuple[tuple[str, tuple[Renderer, ...]], ...]
    fields: tuple[tuple[str, Renderer | None], ...]
    metadata: tuple[tuple[str, Renderer | None], ...]
    brand_binding: str | None
    context_binding: str | None


def _compile(rule: Rule) -> Plan:
    errors = Collector()

    def attempt(make: Callable[[], Any]) -> Any:
        try:
            return make()
        except CompileError as exc:
            errors.extend(exc)
            return None

    when = attempt(lambda: compile_expression(rule.when, "when")) if rule.when else None
    picks = tuple(
        (name, tuple(attempt(lambda t=t, n=name: compile_template(t, f"pick.{n}")) for t in alts))
        for name, alts in rule.pick
    )
    fields = tuple(
        (name, attempt(lambda t=tpl, n=name: compile_template(t, n)) if tpl else None)
        for name, tpl in (
            ("instruction", rule.instruction),
            ("input", rule.input),
            ("output", rule.output),
        )
    )
    metadata = tuple(
        (key, attempt(lambda t=tpl, k=key: compile_template(t, f"metadata.{k}")) if tpl else None)
        for key, tpl in rule.metadata
    )
    errors.raise_if_any()
    return Plan(
        rule, when, picks, fields, metadata, _bound_to(rule, "brands"), _bound_to(rule, "contexts")
    )


def _bound_to(rule: Rule, origin: str) -> str | None:
    names = [s.name for s in rule.sources if s.kind == "items" and s.origin == origin]
    return names[0] if len(names) == 1 else None


def _members(source: Source, bound: dict[str, Any], keys: dict[str, str]) -> tuple | None:
    """The items a source offers under the current partial binding."""
    if source.kind == "items":
        return source.items
    value = bound[source.parent]
    for part in source.path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    items = items_of(value)
    if items is None:
        raise fail(
            source.location,
            f"each.{source.name}: {source.origin} of {source.parent} "
            f"{keys[source.parent]!r} is a {type_name(value)}, not a list or mapping",
            "each iterates over lists and mappings",
        )
    return items


def _size_bound(rule: Rule) -> tuple[int, list[str]]:
    """An upper bound on the rule's bindings, computed without enumerating them."""
    candidates: dict[str, list[Any]] = {}
    total, factors = 1, []
    for source in rule.sources:
        if source.kind == "items":
            options = [item.value for item in source.items]
            size = len(source.items)
        else:
            options, size = [], 0
            for parent in candidates[source.parent]:
                members = _members_static(parent, source.path)
                size = max(size, len(members))
                options.extend(members)
        candidates[source.name] = options
        total *= size
        factors.append(f"{source.name}: {size}")
    return total, factors


def _members_static(value: Any, path: tuple[str, ...]) -> list[Any]:
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return []
    items = items_of(value)
    return [item.value for item in items] if items else []


def _context(rule: Rule, bound: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    return {**bound, "keys": keys, "task": rule.task, "rule": rule.id}


class Bindings:
    """A rule's bindings, kept compactly for millions of records.

    Per binding, at one position of each array: the 64 bits of its record id, and for each
    source the index of its member; `order` lists the positions in record id order.
    """

    def __init__(self, numbers: array, columns: tuple[array, ...], order: array):
        self.numbers = numbers
        self.columns = columns
        self.order = order

    def __len__(self) -> int:
        return len(self.order)


def bindings(plan: Plan, seed: int) -> Bindings:
    """Every binding of a rule that passes `when`, sampled, sorted by record id."""
    rule = plan.rule
    sources = rule.sources
    numbers = array("Q")
    columns = tuple(array("I") for _ in sources)
    missing = {s.name: 0 for s in sources if s.kind == "field"}
    present = dict(missing)
    bound: dict[str, Any] = {}
    keys: dict[str, str] = {}
    indexes = [0] * len(sources)
    # The record id hashes the binding keys in name order (see hashing.record_id), and each
    # (name, key) fragment is encoded once per member of a fixed collection.
    by_name = sorted(range(len(sources)), key=lambda d: sources[d].name)
    head = id_head(rule.task, rule.id)
    cached: list[dict[int, bytes] | None] = [{} if s.kind == "items" else None for s in sources]

    def fragment(depth: int, index: int, key: str) -> bytes:
        cache = cached[depth]
        if cache is None:
            return id_fragment(sources[depth].name, key)
        found = cache.get(index)
        if found is None:
            found = cache[index] = id_fragment(sources[depth].name, key)
        return found

    def leaf() -> None:
        if plan.when is not None:
            CLOCK.serial += 1  # the CPU budget counts per binding
            try:
                keep = plan.when(_context(rule, bound, keys))
            except (OverBudgetError, OverBudget) as exc:
                chosen = b",".join(fragment(d, indexes[d], keys[sources[d].name]) for d in by_name)
                record = format_id(rule.task, rule.id, id_number(head + chosen + ID_TAIL))
                if isinstance(exc, OverBudgetError):
                    raise exc.for_record(record) from None
                raise fail(  # a tick that landed just as the expression ended
                    rule.when.location,
                    f"when took more than {LIMITS.cpu_seconds:g} s of CPU time for {record}",
                    "raise limits.max_record_cpu_seconds in specs/dataset.yaml",
                ) from None
            if not keep:
                return
        chosen = b",".join(fragment(d, indexes[d], keys[sources[d].name]) for d in by_name)
        numbers.append(id_number(head + chosen + ID_TAIL))
        for column, index in zip(columns, indexes, strict=True):
            column.append(index)

    def innermost(depth: int, members: tuple) -> None:
        """All members of the last source at once: no filter, so no context to build."""
        if not members:
            return
        where = by_name.index(depth)
        before = b"".join(
            fragment(d, indexes[d], keys[sources[d].name]) + b"," for d in by_name[:where]
        )
        after = b"".join(
            b"," + fragment(d, indexes[d], keys[sources[d].name]) for d in by_name[where + 1 :]
        )
        fragments = [fragment(depth, index, item.key) for index, item in enumerate(members)]
        numbers.extend(id_numbers(head + before, fragments, after + ID_TAIL))
        for d in range(depth):
            columns[d].extend(array("I", [indexes[d]]) * len(members))
        columns[depth].extend(range(len(members)))

    def walk(depth: int) -> None:
        if depth == len(sources):
            leaf()
            return
        source = sources[depth]
        members = _members(source, bound, keys)
        if source.kind == "field":
            if members is None:
                missing[source.name] += 1
                return
            present[source.name] += 1
        if depth == len(sources) - 1 and plan.when is None:
            innermost(depth, members)
            return
        for index, item in enumerate(members):
            bound[source.name] = item.value
            keys[source.name] = item.key
            indexes[depth] = index
            walk(depth + 1)
        bound.pop(source.name, None)
        keys.pop(source.name, None)

    walk(0)
    for source in sources:
        if source.kind == "field" and missing[source.name] and not present[source.name]:
            raise fail(
                source.location,
                f"each.{source.name}: {source.origin!r} does not exist in any {source.parent}",
                _path_hint(sources, source)
                or "each part of the path must be a key of the item, or a list index",
            )
    return Bindings(numbers, columns, _id_order(rule, numbers, seed))


def _id_order(rule: Rule, numbers: array, seed: int) -> array:
    """The positions of the sampled bindings, in record id order; refuses duplicate ids."""
    count = len(numbers)
    positions: Iterable[int] = range(count)
    if rule.sample is not None and rule.sample < count:
        prefix = keyed_prefix(seed, "sample")
        # A stable sort: bindings with one sample key keep their enumeration order.
        positions = sorted(
            positions, key=lambda i: keyed_last(prefix, format_id(rule.task, rule.id, numbers[i]))
        )[: rule.sample]
    # The id's 64 bits, then the position: one int per binding sorts in id order.
    shift = max(count.bit_length(), 1)
    packed = sorted(numbers[i] << shift | i for i in positions)
    ordered = array("Q", [value >> shift for value in packed])
    for first, second in pairwise(ordered):
        if first == second:
            raise fail(
                rule.location,
                f"two records with one id "
                f"{format_id(rule.task, rule.id, first)!r} in rule {rule.id!r}",
                "the items of an each collection must have distinct keys (ids)",
            )
    mask = (1 << shift) - 1
    return array("Q", [value & mask for value in packed])


def _path_hint(sources: tuple[Source, ...], source: Source) -> str:
    parent = next(s for s in sources if s.name == source.parent)
    if parent.kind != "items" or not parent.items:
        return ""
    value = parent.items[0].value
    for part in source.path:
        if not isinstance(value, dict):
            return ""
        if part not in value:
            return suggest(part, tuple(value))
        value = value[part]
    return ""


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
    fields = plan.fields
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
                item = _members(source, bound, keys)[index]
                bound[name], keys[name] = item.value, item.key
            else:
                bound[name], keys[name] = table[0][index], table[1][index]
        context = {**bound, "keys": keys, "task": task, "rule": rule_id}
        chosen = []
        for name, suffix, alternatives in picks:
            index = keyed_text(seed_text + record_id_ + suffix) % len(alternatives)
            context[name] = alternatives[index](context)
            chosen.append((name, index))
        texts = []
        for name, renderer in fields:
            text = _clean(renderer(context)) if renderer else ""
            if len(text) > limit:
                tpl = getattr(rule, name)
                raise fail(
                    tpl.location,
                    f"{name} of record {record_id_} has {len(text)} "
                    f"characters, over the limit of {limit}",
                    "raise limits.max_record_chars in specs/dataset.yaml if this is intended",
                )
            _gate(text, name, record_id_, getattr(rule, name))
            texts.append(text)
        metadata = base.copy()
        if brand_binding:
            metadata["brand"] = keys[brand_binding]
        if context_binding:
            metadata["context"] = keys[context_binding]
        for key, renderer, constant, tpl in entries:
            if renderer is None:
                metadata[key] = constant
            else:
                metadata[key] = text = _clean(renderer(context))
                _gate(text, f"metadata.{key}", record_id_, tpl)
        return Record(
            record_id_,
            texts[0],
            texts[1],
            texts[2],
            metadata,
            rule,
            tuple(keys.items()),
            tuple(chosen),
        )

    return make


def plan_rules(project: Project) -> list[Plan]:
    """Compile every template and refuse oversized products, before anything is enumerated."""
    errors = Collector()
    plans = []
    for rule in project.rules:
        bound, factors = _size_bound(rule)
        if bound > project.config.max_records:
            errors.add(
                rule.location,
                f"rule {rule.id!r} would produce up to {bound} records "
                f"({' × '.join(factors)}), over the limit of {project.config.max_records}",
                "narrow its each, add a when filter or sample, or raise limits.max_records",
            )
            continue
        try:
            plans.append(_compile(rule))
        except CompileError as exc:
            errors.extend(exc)
    errors.raise_if_any()
    return plans


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
