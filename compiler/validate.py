"""Check parsed spec documents against the JSON Schemas shipped with the package."""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry, Resource

from compiler.errors import CompileError, Diagnostic
from compiler.load import Document

KINDS = ("dataset", "brand", "contexts", "task")


@cache
def _registry() -> Registry:
    resources_ = []
    for name in ("common", *KINDS):
        text = resources.files("compiler.schemas").joinpath(f"{name}.schema.json").read_text(
            encoding="utf-8"
        )
        schema = json.loads(text)
        resources_.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources_)


@cache
def validator(kind: str) -> jsonschema.Draft202012Validator:
    """The validator for one kind of spec file, built once per process."""
    registry = _registry()
    schema = registry.contents(f"https://dsc.invalid/schemas/{kind}.schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A 'did you mean' hint, or the list of what is allowed."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if choices:
        return "expected one of: " + ", ".join(sorted(choices))
    return ""


def quote_hint(doc: Document, path: tuple, expected: str) -> str:
    """When YAML read an unquoted scalar as another type, say so and how to quote it."""
    plain = doc.plain(path)
    if plain is None or expected != "string":
        return ""
    value = doc.data
    for part in path:
        value = value[part]
    return f"YAML reads unquoted {plain} as {type_name(value)} {value!r}; quote it: \"{plain}\""


def validate(doc: Document, kind: str) -> None:
    """Raise one CompileError listing every schema violation in the document."""
    diagnostics: list[Diagnostic] = []
    for error in validator(kind).iter_errors(doc.data):
        diagnostics.extend(_diagnose(doc, error))
    if diagnostics:
        raise CompileError(diagnostics)


def _field(path: tuple) -> str:
    names = [str(p) if isinstance(p, str) else f"[{p}]" for p in path]
    return ".".join(names).replace(".[", "[") or "the file"


def _diagnose(doc: Document, error: jsonschema.ValidationError) -> list[Diagnostic]:
    path = tuple(error.absolute_path)
    where = doc.at(path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    what = _field(path)
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = tuple(schema.get("properties", {}))
        extras = sorted(k for k in instance if k not in allowed)
        scope = f" in {what}" if path else ""
        return [
            Diagnostic(doc.at((*path, key), key=True), f"unknown key {key!r}{scope}",
                       suggest(key, allowed))
            for key in extras
        ]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        scope = f" in {what}" if path else ""
        return [Diagnostic(where, f"missing required key {missing!r}{scope}")]
    if error.validator == "type":
        expected = schema.get("type")
        names = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(
            {"object": "mapping", "array": "list"}.get(str(n), str(n)) for n in names
        )
        message = f"{what} must be a {wanted}, not {type_name(instance)}"
        return [Diagnostic(where, message, quote_hint(doc, path, wanted))]
    if error.validator == "pattern":
        if "a-z0-9_" in str(schema.get("pattern", "")):
            if path and path[-1] in ("id", "task") or not path or isinstance(path[-1], int):
                label = "id"
            else:
                label = "name"
            return [Diagnostic(where, f"{instance!r} is not a valid {label} for {what}",
                               "use lowercase letters, digits and '_' (starting with a letter "
                               "or digit)")]
        return [Diagnostic(where, f"{what}: {instance!r} is not allowed here",
                           "expected output, prompt, id or metadata.<key>")]
    if error.validator == "enum":
        choices = [str(c) for c in schema.get("enum", [])]
        return [Diagnostic(where, f"{what} must be one of {', '.join(choices)}, not {instance!r}",
                           suggest(str(instance), choices))]
    if error.validator == "anyOf" and path and path[-2:-1] == ("each",):
        return [Diagnostic(where, f"{what} is not a collection",
                           "write a name (brands, contexts, a collection, item.field), a list, "
                           "a mapping, or {file: data/FILE.jsonl}")]
    if error.validator in ("minimum", "maximum"):
        bound = schema.get(error.validator)
        word = "at least" if error.validator == "minimum" else "at most"
        return [Diagnostic(where, f"{what} must be {word} {bound}, not {instance!r}")]
    if error.validator == "minLength":
        return [Diagnostic(where, f"{what} must not be empty")]
    if error.validator == "minItems":
        return [Diagnostic(where, f"{what} must not be an empty list")]
    if error.validator == "propertyNames":
        return [Diagnostic(doc.at((*path, instance), key=True),
                           f"{instance!r} is not a valid name in {what}",
                           "use lowercase letters, digits and '_'")]
    return [Diagnostic(where, f"{what}: {error.message}")]
