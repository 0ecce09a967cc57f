"""The catalogue a rule draws from: brands, contexts and collections, as keyed items."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from compiler.errors import Collector, Location
from compiler.model import Brand, Item
from compiler.yamldoc import Document

BUILT_IN = ("brands", "contexts")  # collections every project has, empty without files


def items_of(value: Any) -> tuple[Item, ...] | None:
    """The members of a list or mapping; None for anything else.

    List members are keyed by their `id` when they are mappings that have one, else by
    position; mapping entries by their key, in sorted order.
    """
    if isinstance(value, list):
        return tuple(
            Item(str(v["id"]) if isinstance(v, dict) and "id" in v else str(i), v)
            for i, v in enumerate(value)
        )
    if isinstance(value, dict):
        return tuple(Item(k, value[k]) for k in sorted(value))
    return None


def value_at(value: Any, path: tuple[str, ...], missing: Any = None) -> Any:
    """What path leads to below value (mapping keys, list indexes written in digits), or
    missing when it leads nowhere."""
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return missing
    return value


def collections_of(doc: Document, errors: Collector) -> dict[str, tuple[Item, ...]]:
    collections = {}
    for name, value in doc.data.get("collections", {}).items():
        items = items_of(value)
        check_unique(
            items,
            lambda i, n=name: doc.at(("collections", n, i, "id")),
            f" in collections.{name}",
            errors,
        )
        collections[name] = items
    return collections


def check_unique(
    items: tuple[Item, ...] | None, where: Callable[[int], Location], scope: str, errors: Collector
) -> None:
    """Two items with one key would make two records with one id: report the second."""
    seen: dict[str, Location] = {}
    for index, item in enumerate(items or ()):
        errors.first_definition(
            seen,
            item.key,
            where(index),
            f"id {item.key!r}{scope}",
            "ids name records: give every item its own id",
        )


def _stem(doc: Document) -> str:
    return posixpath.splitext(posixpath.basename(doc.path))[0]


def check_file_name(doc: Document, key: str, what: str, errors: Collector) -> None:
    """A brand or task file is named after its id, so that ids and files cannot disagree."""
    name = doc.data[key]
    if name != _stem(doc):
        folder = posixpath.dirname(doc.path)
        errors.add(
            doc.at((key,)),
            f"{what} {name!r} does not match its file name",
            f"rename the file to {folder}/{name}.yaml or set {key}: {_stem(doc)}",
        )


def brands_of(docs: list[Document], errors: Collector) -> dict[str, Brand]:
    brands: dict[str, Brand] = {}
    seen: dict[str, Location] = {}
    for doc in docs:
        data = doc.data
        brand_id = data["id"]
        check_file_name(doc, "id", "brand id", errors)
        where = doc.at(("id",))
        if not errors.first_definition(
            seen,
            brand_id,
            where,
            f"brand id {brand_id!r}",
            "brands/<id>.yaml and brands/<id>.yml name the same brand: keep one",
        ):
            continue
        brands[brand_id] = Brand(
            brand_id,
            where,
            data,
            tuple(data.get("do_not_use", [])),
            tuple(data.get("must_include", [])),
        )
    return brands


def contexts_of(doc: Document | None, errors: Collector) -> tuple[Item, ...]:
    if doc is None:
        return ()
    seen: dict[str, Location] = {}
    items = [
        Item(ctx["id"], ctx)
        for i, ctx in enumerate(doc.data["contexts"])
        if errors.first_definition(
            seen,
            ctx["id"],
            doc.at(("contexts", i, "id")),
            f"context id {ctx['id']!r}",
            "give each context its own id",
        )
    ]
    return tuple(sorted(items, key=lambda item: item.key))
