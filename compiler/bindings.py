"""A rule's bindings: its `each` combinations that pass `when`, sampled, in record id order."""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

from compiler.budget import CLOCK, LIMITS, OverBudget
from compiler.catalogue import items_of, value_at
from compiler.errors import CompileError, fail
from compiler.hashing import (
    ID_TAIL,
    format_id,
    id_fragment,
    id_head,
    id_number,
    id_numbers,
    keyed_last,
    keyed_prefix,
)
from compiler.hints import suggest
from compiler.model import Rule, Source
from compiler.plan import Plan
from compiler.render import OverBudgetError
from compiler.templateerrors import UndefinedKey
from compiler.validate import type_name

_NOWHERE = object()  # a path that leads nowhere, told apart from one that leads to null


def members_of(source: Source, bound: dict[str, Any], keys: dict[str, str]) -> tuple | None:
    """The items a source offers under the current partial binding."""
    if source.kind == "items":
        return source.items
    value = value_at(bound[source.parent], source.path, _NOWHERE)
    if value is _NOWHERE:
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


def _walk(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def missing_key(
    exc: UndefinedKey, rule: Rule, context: dict[str, Any], keys: dict[str, str], record_id: str
) -> CompileError:
    """Which item lacks the key a template read, or, when no item of its collection has it,
    the keys it has (a typo)."""
    head, *rest = exc.path
    lacking = _walk(context.get(head), tuple(rest))
    if not isinstance(lacking, dict):
        return CompileError(exc.diagnostics)
    source = next((s for s in rule.sources if s.name == head), None)
    if source is None:
        return exc.typo(lacking)  # keys.x: the mapping of the binding keys
    if source.kind != "items":
        return exc.of_item(record_id, keys[head], others=False)
    mappings = [m for i in source.items if isinstance(m := _walk(i.value, tuple(rest)), dict)]
    if any(exc.key in mapping for mapping in mappings):
        return exc.of_item(record_id, keys[head], others=True)
    return exc.typo({key for mapping in mappings for key in mapping}, head)


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
            context = _context(rule, bound, keys)
            try:
                keep = plan.when(context)
            except (OverBudgetError, OverBudget, UndefinedKey) as exc:
                chosen = b",".join(fragment(d, indexes[d], keys[sources[d].name]) for d in by_name)
                record = format_id(rule.task, rule.id, id_number(head + chosen + ID_TAIL))
                if isinstance(exc, UndefinedKey):
                    raise missing_key(exc, rule, context, keys, record) from None
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
        members = members_of(source, bound, keys)
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
