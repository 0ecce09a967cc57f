"""Expand rules into records: bindings, filters, keyed picks and samples, sandboxed rendering."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from compiler.errors import Collector, CompileError, Location, fail
from compiler.hashing import keyed, record_id
from compiler.model import Project, Record, Rule, Source
from compiler.render import Renderer, compile_expression, compile_template
from compiler.resolve import items_of
from compiler.validate import suggest, type_name

Binding = tuple[int, ...]


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    when: Callable[[dict[str, Any]], Any] | None
    picks: tuple[tuple[str, tuple[Renderer, ...]], ...]
    fields: tuple[tuple[str, Renderer | None], ...]
    metadata: tuple[tuple[str, Renderer | None], ...]
    brand_binding: str | None
    context_binding: str | None


def _compile(rule: Rule) -> _Compiled:
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
        for name, tpl in (("instruction", rule.instruction), ("input", rule.input),
                          ("output", rule.output))
    )
    metadata = tuple(
        (key, attempt(lambda t=tpl, k=key: compile_template(t, f"metadata.{k}")) if tpl else None)
        for key, tpl in rule.metadata
    )
    errors.raise_if_any()
    return _Compiled(rule, when, picks, fields, metadata,
                     _bound_to(rule, "brands"), _bound_to(rule, "contexts"))


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
        raise fail(source.location,
                   f"each.{source.name}: {source.origin} of {source.parent} "
                   f"{keys[source.parent]!r} is a {type_name(value)}, not a list or mapping",
                   "each iterates over lists and mappings")
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


def _bindings(plan: _Compiled, seed: int) -> list[tuple[str, Binding]]:
    """Every binding of a rule that passes `when`, sampled, sorted by record id."""
    rule = plan.rule
    sources = rule.sources
    found: list[tuple[str, Binding]] = []
    missing = {s.name: 0 for s in sources if s.kind == "field"}
    present = dict(missing)
    bound: dict[str, Any] = {}
    keys: dict[str, str] = {}

    def walk(depth: int, indexes: Binding) -> None:
        if depth == len(sources):
            if plan.when is not None and not plan.when(_context(rule, bound, keys)):
                return
            found.append((record_id(rule.task, rule.id, tuple(keys.items())), indexes))
            return
        source = sources[depth]
        members = _members(source, bound, keys)
        if source.kind == "field":
            if members is None:
                missing[source.name] += 1
                return
            present[source.name] += 1
        for index, item in enumerate(members):
            bound[source.name] = item.value
            keys[source.name] = item.key
            walk(depth + 1, (*indexes, index))
        bound.pop(source.name, None)
        keys.pop(source.name, None)

    walk(0, ())
    for source in sources:
        if source.kind == "field" and missing[source.name] and not present[source.name]:
            raise fail(source.location, f"each.{source.name}: {source.origin!r} does not exist "
                       f"in any {source.parent}",
                       _path_hint(sources, source))
    if rule.sample is not None and rule.sample < len(found):
        found.sort(key=lambda entry: keyed(seed, "sample", entry[0]))
        found = found[: rule.sample]
    found.sort()
    for (first, _), (second, _) in zip(found, found[1:]):
        if first == second:
            raise fail(rule.location, f"two records with one id {first!r} in rule {rule.id!r}",
                       "the items of an each collection must have distinct keys (ids)")
    return found


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


def _rebind(rule: Rule, indexes: Binding) -> tuple[dict[str, Any], dict[str, str]]:
    bound: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for source, index in zip(rule.sources, indexes):
        item = _members(source, bound, keys)[index]
        bound[source.name] = item.value
        keys[source.name] = item.key
    return bound, keys


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _record(project: Project, plan: _Compiled, record_id_: str, indexes: Binding) -> Record:
    rule = plan.rule
    seed = project.config.seed
    bound, keys = _rebind(rule, indexes)
    context = _context(rule, bound, keys)
    chosen = []
    for name, alternatives in plan.picks:
        index = keyed(seed, record_id_, "pick", name) % len(alternatives)
        context[name] = alternatives[index](context)
        chosen.append((name, index))
    texts = {}
    for name, renderer in plan.fields:
        text = _clean(renderer(context)) if renderer else ""
        if len(text) > project.config.max_record_chars:
            tpl = getattr(rule, name)
            raise fail(tpl.location, f"{name} of record {record_id_} has {len(text)} characters, "
                       f"over the limit of {project.config.max_record_chars}",
                       "raise limits.max_record_chars in specs/dataset.yaml if this is intended")
        texts[name] = text
    metadata: dict[str, str | None] = dict.fromkeys(project.metadata_keys)
    metadata["task"] = rule.task
    metadata["rule"] = rule.id
    if plan.brand_binding:
        metadata["brand"] = keys[plan.brand_binding]
    if plan.context_binding:
        metadata["context"] = keys[plan.context_binding]
    for key, renderer in plan.metadata:
        metadata[key] = _clean(renderer(context)) if renderer else None
    return Record(record_id_, texts["instruction"], texts["input"], texts["output"], metadata,
                  rule, tuple(keys.items()), tuple(chosen))


def plan_rules(project: Project) -> list[_Compiled]:
    """Compile every template and refuse oversized products, before anything is enumerated."""
    errors = Collector()
    plans = []
    for rule in project.rules:
        bound, factors = _size_bound(rule)
        if bound > project.config.max_records:
            errors.add(rule.location,
                       f"rule {rule.id!r} would produce up to {bound} records "
                       f"({' × '.join(factors)}), over the limit of {project.config.max_records}",
                       "narrow its each, add a when filter or sample, or raise limits.max_records")
            continue
        try:
            plans.append(_compile(rule))
        except CompileError as exc:
            errors.extend(exc)
    errors.raise_if_any()
    return plans


def expand(project: Project) -> Iterator[Record]:
    """All records of the project, in id order; errors are collected and raised at the end."""
    errors = Collector()
    plans = plan_rules(project)
    total = 0
    for plan in plans:
        try:
            bindings = _bindings(plan, project.config.seed)
        except CompileError as exc:
            errors.extend(exc)
            continue
        total += len(bindings)
        if total > project.config.max_records:
            raise fail(plan.rule.location,
                       f"the project produces more than {project.config.max_records} records",
                       "raise limits.max_records in specs/dataset.yaml, or narrow the rules")
        for record_id_, indexes in bindings:
            try:
                yield _record(project, plan, record_id_, indexes)
            except CompileError as exc:
                errors.extend(exc)
                break
    errors.raise_if_any()
