"""Turn validated spec documents into one Project: the catalogue bound into each rule."""

from __future__ import annotations

import posixpath
from typing import Any

from compiler.catalogue import (
    BUILT_IN,
    brands_of,
    check_file_name,
    check_unique,
    collections_of,
    contexts_of,
    items_of,
)
from compiler.configure import check_split_keys, configuration, limits_of
from compiler.errors import Collector, CompileError, Location
from compiler.hints import suggest
from compiler.model import CORE_METADATA, Item, Limits, Project, Rule, Source, Template
from compiler.rows import DataFile
from compiler.text import check_tree, field_name
from compiler.yamldoc import Document

RESERVED_NAMES = (
    "brands",
    "contexts",
    "keys",
    "task",
    "rule",
    "loop",
    "range",
    "dict",
    "null",
    "self",
    "super",
    "caller",
    "varargs",
    "kwargs",
)


def data_file_refs(task_docs: list[Document]) -> list[tuple[str, Location]]:
    """The data files the rules read, with the place each is named, in a stable order."""
    refs = {}
    for doc in task_docs:
        for r, rule in enumerate(doc.data.get("rules", [])):
            for name, source in (rule.get("each") or {}).items():
                if isinstance(source, dict) and set(source) == {"file"}:
                    path = posixpath.normpath(source["file"]) if source["file"] else ""
                    refs.setdefault(path, doc.at(("rules", r, "each", name, "file")))
    return sorted(refs.items())


def template(doc: Document, path: tuple) -> Template:
    """The template at path; a YAML boolean (a KTO label) is the text true or false."""
    pos = doc.scalar(path)
    value = doc.data
    for part in path:
        value = value[part]
    if isinstance(value, bool):
        value = "true" if value else "false"
    return Template(value, doc.at(path), pos.body_line, pos.body_column)


class _Scope:
    """The names a rule's `each` can refer to."""

    def __init__(
        self,
        brands: tuple[Item, ...],
        contexts: tuple[Item, ...],
        collections: dict[str, tuple[Item, ...]],
        data: dict[str, DataFile],
    ) -> None:
        self.named = {"brands": brands, "contexts": contexts, **collections}
        self.data = data


def resolve(
    dataset: Document,
    contexts: Document | None,
    brand_docs: list[Document],
    task_docs: list[Document],
    data_files: dict[str, DataFile],
) -> Project:
    """Check cross-references between the spec files and build the Project."""
    check_texts([dataset, *([contexts] if contexts else []), *brand_docs, *task_docs], data_files)
    errors = Collector()
    config = configuration(dataset, errors)
    brands = brands_of(brand_docs, errors)
    context_items = contexts_of(contexts, errors)
    brand_items = tuple(Item(b, brands[b].data) for b in sorted(brands))
    global_collections = collections_of(dataset, errors)
    rules: list[Rule] = []
    extra_keys: set[str] = set()
    tasks_seen: dict[str, Location] = {}
    for doc in task_docs:
        task = doc.data["task"]
        check_file_name(doc, "task", "task name", errors)
        if not errors.first_definition(
            tasks_seen,
            task,
            doc.at(("task",)),
            f"task {task!r}",
            "specs/tasks/<task>.yaml and .yml name the same task: keep one",
        ):
            continue
        local = collections_of(doc, errors)
        scope = _Scope(brand_items, context_items, {**global_collections, **local}, data_files)
        limits = limits_of(config.limits, doc.data.get("limits", {}), doc, ("limits",), errors)
        defaults = doc.data.get("defaults", {})
        _check_metadata_keys(doc, ("defaults",), defaults, errors)
        extra_keys.update(defaults)
        ids: dict[str, Location] = {}
        for r, rule_data in enumerate(doc.data["rules"]):
            if not errors.first_definition(
                ids,
                rule_data["id"],
                doc.at(("rules", r, "id")),
                f"rule id {rule_data['id']!r} in task {task!r}",
                "rule ids name records: give each rule its own id",
            ):
                continue
            # A key is known when a rule declares it, whether or not the rule resolves: one
            # failing rule must not make split keys look unknown too.
            extra_keys.update(rule_data.get("metadata", {}))
            try:
                rule = _rule(doc, r, task, defaults, limits, scope)
            except CompileError as exc:
                errors.extend(exc)
                continue
            rules.append(rule)
    metadata_keys = CORE_METADATA + tuple(sorted(extra_keys - set(CORE_METADATA)))
    check_split_keys(dataset, config, metadata_keys, errors)
    errors.raise_if_any()
    inputs = [
        (d.path, d.sha256)
        for d in [dataset, *([contexts] if contexts else []), *brand_docs, *task_docs]
    ]
    inputs += [(f.path, f.sha256) for f in data_files.values()]
    return Project(
        config=config,
        brands=brands,
        rules=tuple(sorted(rules, key=lambda rule: (rule.task, rule.id))),
        metadata_keys=metadata_keys,
        inputs=tuple(sorted(inputs)),
    )


def check_texts(docs: list[Document], data_files: dict[str, DataFile]) -> None:
    """The text gate on input (compiler.text): every key and string of every spec document
    and data row, before any of them becomes a record id, a hash or an output.

    A YAML value is located at its start, a key at the key; a data row at its line (a JSON
    or CSV reader keeps no column per field).
    """
    errors = Collector()
    for doc in docs:
        check_tree(doc.data, lambda path, key, d=doc: d.at(path, key=key), errors)
    for data_file in data_files.values():
        for row in data_file.rows:
            check_tree(
                row.value,
                lambda path, key, f=data_file.path, r=row: Location(f, r.line, 1),
                errors,
                lambda path: f"field {field_name(path)} of the row" if path else "the row",
            )
    errors.raise_if_any()


def _check_metadata_keys(doc: Document, path: tuple, mapping: dict, errors: Collector) -> None:
    for key in mapping:
        if key in ("task", "rule"):
            errors.add(
                doc.at((*path, key), key=True),
                f"metadata key {key!r} is set by the compiler",
                "remove it; use another name for your own field",
            )


def _rule(doc: Document, r: int, task: str, defaults: dict, limits: Limits, scope: _Scope) -> Rule:
    data = doc.data["rules"][r]
    base = ("rules", r)
    errors = Collector()
    each = data.get("each", {})
    sources = _sources(doc, base, each, scope, errors)
    picks = []
    for name in sorted(data.get("pick", {})):
        if name in each or name in RESERVED_NAMES:
            errors.add(
                doc.at((*base, "pick", name), key=True),
                f"pick name {name!r} is already used" + (" in each" if name in each else ""),
                "give the pick another name",
            )
        alternatives = tuple(
            template(doc, (*base, "pick", name, i)) for i in range(len(data["pick"][name]))
        )
        picks.append((name, alternatives))
    if "rejected" in data and "label" in data:
        errors.add(
            doc.at((*base, "label"), key=True),
            "a rule gives rejected (a preference pair) or label (KTO), not both",
            "drop label: a pair makes two KTO rows, output desirable and rejected undesirable",
        )
    metadata = {**{k: v for k, v in defaults.items()}, **data.get("metadata", {})}
    _check_metadata_keys(doc, (*base, "metadata"), data.get("metadata", {}), errors)
    meta_templates = []
    for key in sorted(metadata):
        own = key in data.get("metadata", {})
        value_path = (*base, "metadata", key) if own else ("defaults", key)
        _check_named(doc, value_path, key, metadata[key], scope, errors)
        value = template(doc, value_path) if metadata[key] is not None else None
        meta_templates.append((key, value))
    errors.raise_if_any()
    return Rule(
        task=task,
        id=data["id"],
        location=doc.at((*base, "id")),
        sources=sources,
        when=template(doc, (*base, "when")) if "when" in data else None,
        pick=tuple(picks),
        sample=data.get("sample"),
        instruction=template(doc, (*base, "instruction")),
        input=template(doc, (*base, "input")) if "input" in data else None,
        output=template(doc, (*base, "output")),
        metadata=tuple(meta_templates),
        limits=limits,
        system=template(doc, (*base, "system"))
        if "system" in data
        else template(doc, ("system",))
        if "system" in doc.data
        else None,
        rejected=template(doc, (*base, "rejected")) if "rejected" in data else None,
        label=template(doc, (*base, "label")) if "label" in data else None,
        history=tuple(
            (
                template(doc, (*base, "history", i, "user")),
                template(doc, (*base, "history", i, "assistant")),
            )
            for i in range(len(data.get("history", [])))
        ),
    )


def _check_named(
    doc: Document, path: tuple, key: str, value: Any, scope: _Scope, errors: Collector
) -> None:
    """A literal metadata brand or context must name one that exists."""
    if key not in ("brand", "context") or not isinstance(value, str) or "{" in value:
        return
    known = [item.key for item in scope.named[f"{key}s"]]
    if value not in known:
        errors.add(
            doc.at(path),
            f"unknown {key} {value!r} in metadata.{key}",
            suggest(value, known) if known else f"the project has no {key}s",
        )


def _sources(
    doc: Document, base: tuple, each: dict, scope: _Scope, errors: Collector
) -> tuple[Source, ...]:
    """Resolve each `each` entry and order them so that every field comes after its parent."""
    resolved: dict[str, Source] = {}
    for name in sorted(each):
        value = each[name]
        where = doc.at((*base, "each", name))
        if name in RESERVED_NAMES:
            errors.add(
                doc.at((*base, "each", name), key=True),
                f"{name!r} cannot be a binding name",
                f"names reserved for templates: {', '.join(RESERVED_NAMES)}",
            )
            continue
        if isinstance(value, str):
            head, *rest = value.split(".")
            if head in each and head != name:
                resolved[name] = Source(
                    name, "field", where, parent=head, path=tuple(rest), origin=value
                )
            elif not rest and head in ("brands", "contexts") and not scope.named[head]:
                errors.add(
                    where,
                    f"each.{name}: the project has no {head}",
                    "add brands/<id>.yaml"
                    if head == "brands"
                    else "add specs/contexts.yaml with a contexts: list",
                )
            elif not rest and head in scope.named:
                resolved[name] = Source(name, "items", where, scope.named[head], origin=head)
            else:
                named = {n for n, items in scope.named.items() if items or n not in BUILT_IN}
                known = sorted(set(each) - {name} | named)
                kind = "binding" if rest else "collection"
                errors.add(where, f"unknown {kind} {head!r} in each.{name}", suggest(head, known))
        elif isinstance(value, dict) and set(value) == {"file"}:
            path = posixpath.normpath(value["file"])
            data_file = scope.data[path]
            items = tuple(
                Item(
                    str(row.value["id"])
                    if isinstance(row.value, dict) and "id" in row.value
                    else str(row.line),
                    row.value,
                )
                for row in data_file.rows
            )
            rows = data_file.rows
            check_unique(items, lambda i, f=path, r=rows: Location(f, r[i].line, 1), "", errors)
            resolved[name] = Source(name, "items", where, items, origin=path)
        else:
            items = items_of(value)
            check_unique(
                items,
                lambda i, n=name: doc.at((*base, "each", n, i, "id")),
                f" in each.{name}",
                errors,
            )
            resolved[name] = Source(name, "items", where, items, origin="inline")
    ordered: list[Source] = []
    placed: set[str] = set()
    pending = dict(resolved)
    orphans = [n for n, s in pending.items() if s.kind == "field" and s.parent not in resolved]
    while orphans:
        # A field of a binding that failed to resolve: the parent's error is the one to fix.
        pending.pop(orphans.pop())
        orphans = [n for n, s in pending.items() if s.kind == "field" and s.parent not in pending]
    while pending:
        ready = [n for n, s in sorted(pending.items()) if s.kind != "field" or s.parent in placed]
        if not ready:
            for name in sorted(pending):
                errors.add(
                    pending[name].location,
                    f"each.{name} depends on itself through {pending[name].origin!r}",
                    "remove the cycle between the bindings",
                )
            break
        for name in ready:
            ordered.append(pending.pop(name))
            placed.add(name)
    return tuple(ordered)
