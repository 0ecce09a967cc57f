"""Plan each rule: compile its templates once; refuse a rule whose size bound is too large."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from compiler.catalogue import items_of, value_at
from compiler.errors import Collector, CompileError
from compiler.model import Project, Rule, Template
from compiler.render import Renderer, compile_expression, compile_template
from compiler.templateerrors import Scope


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

    def attempt(compile_: Callable[..., Any], tpl: Template | None, *args: Any) -> Any:
        if tpl is None:
            return None
        try:
            return compile_(tpl, *args)
        except CompileError as exc:
            errors.extend(exc)
            return None

    # What an undefined name in a template is compared with ("did you mean").
    each = tuple(source.name for source in rule.sources)
    picks = tuple(name for name, _ in rule.pick)
    every = Scope((*each, *picks, *FIXED_NAMES))
    when = attempt(compile_expression, rule.when, "when", _before_picks(each, picks))
    chosen = tuple(
        (name, tuple(attempt(compile_template, t, f"pick.{name}", scope) for t in alternatives))
        for name, alternatives in rule.pick
        for scope in (_pick_scope(each, picks, name),)
    )
    fields = tuple(
        (name, attempt(compile_template, getattr(rule, name), name, every))
        for name in ("instruction", "input", "output")
    )
    metadata = tuple(
        (key, attempt(compile_template, tpl, f"metadata.{key}", every, True))
        for key, tpl in rule.metadata
    )
    extras = tuple(
        (name, attempt(compile_template, getattr(rule, name), name, every))
        for name in ("system", "rejected", "label")
    )
    history = tuple(
        (
            attempt(compile_template, user, f"history[{i}].user", every),
            attempt(compile_template, answer, f"history[{i}].assistant", every),
        )
        for i, (user, answer) in enumerate(rule.history)
    )
    errors.raise_if_any()
    return Plan(
        rule,
        when,
        chosen,
        fields,
        metadata,
        _bound_to(rule, "brands"),
        _bound_to(rule, "contexts"),
        extras,
        history,
    )


FIXED_NAMES = ("keys", "task", "rule")


def _before_picks(each: tuple[str, ...], picks: tuple[str, ...]) -> Scope:
    """`when` filters the bindings before any pick is chosen."""
    return Scope(
        (*each, *FIXED_NAMES),
        tuple(
            (p, f"when is evaluated before picks are chosen: it cannot use pick {p!r}")
            for p in picks
        ),
    )


def _pick_scope(each: tuple[str, ...], picks: tuple[str, ...], name: str) -> Scope:
    """Picks are chosen in name order, each seeing the ones chosen before it."""
    earlier = picks[: picks.index(name)]
    return Scope(
        (*each, *earlier, *FIXED_NAMES),
        tuple(
            (p, f"picks are chosen in name order: pick.{name} cannot use pick {p!r}")
            for p in picks[len(earlier) :]
        ),
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
