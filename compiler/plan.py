"""Plan each rule: compile its templates once; refuse a rule whose size bound is too large."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from compiler.catalogue import items_of, value_at
from compiler.errors import Collector, CompileError
from compiler.model import Project, Rule
from compiler.render import Renderer, compile_expression, compile_template


@dataclass(frozen=True)
class Plan:
    rule: Rule
    when: Callable[[dict[str, Any]], Any] | None
    picks: tuple[tuple[str, tuple[Renderer, ...]], ...]
    fields: tuple[tuple[str, Renderer | None], ...]
    metadata: tuple[tuple[str, Renderer | None], ...]
    brand_binding: str | None
    context_binding: str | None
    extras: tuple[tuple[str, Renderer | None], ...] = ()  # system, rejected, label
    history: tuple[tuple[Renderer, Renderer], ...] = ()  # earlier (user, assistant) turns


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
    extras = tuple(
        (name, attempt(lambda t=tpl, n=name: compile_template(t, n)) if tpl else None)
        for name, tpl in (
            ("system", rule.system),
            ("rejected", rule.rejected),
            ("label", rule.label),
        )
    )
    history = tuple(
        (
            attempt(lambda t=user, i=i: compile_template(t, f"history[{i}].user")),
            attempt(lambda t=answer, i=i: compile_template(t, f"history[{i}].assistant")),
        )
        for i, (user, answer) in enumerate(rule.history)
    )
    errors.raise_if_any()
    return Plan(
        rule,
        when,
        picks,
        fields,
        metadata,
        _bound_to(rule, "brands"),
        _bound_to(rule, "contexts"),
        extras,
        history,
    )


def _bound_to(rule: Rule, origin: str) -> str | None:
    names = [s.name for s in rule.sources if s.kind == "items" and s.origin == origin]
    return names[0] if len(names) == 1 else None


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
    items = items_of(value_at(value, path))
    return [item.value for item in items] if items else []


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
