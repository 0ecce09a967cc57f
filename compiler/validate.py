"""Check parsed spec documents against the JSON Schemas shipped with the package."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry, Resource

from compiler.errors import CompileError, Diagnostic
from compiler.yamldoc import Document

KINDS = ("dataset", "brand", "contexts", "task")
GROUP_BY = ("output", "prompt", "id", "metadata.")
IDENT = "^[a-z0-9][a-z0-9_]*$"  # common.schema.json#/$defs/ident


@cache
def _registry() -> Registry:
    resources_ = []
    for name in ("common", *KINDS):
        text = (
            resources.files("compiler.schemas")
            .joinpath(f"{name}.schema.json")
            .read_text(encoding="utf-8")
        )
        schema = json.loads(text)
        resources_.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources_)


@cache
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """A JSON Schema pattern compiled with the meaning JSON Schema gives it (ECMA-262).

    jsonschema runs `pattern` with Python's re.search, where `$` also matches before a final
    newline: `^[a-z0-9_]+$` would accept the rule id "basic\\n" and make a file
    `tasks/caption\\n.jsonl`. In ECMA-262 (editors, the YAML language server) `$` is the end of
    the text; here each `$` outside a character class becomes `\\Z`, so the schema files keep
    the portable `^...$` and mean the same everywhere.
    """
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
        i += 1
    return re.compile("".join(out))


def _pattern(
    validator: jsonschema.Validator, pattern: str, instance: Any, schema: dict
) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not ecma_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern})


@cache
def validator(kind: str) -> jsonschema.Validator:
    """The validator for one kind of spec file, built once per process."""
    registry = _registry()
    schema = registry.contents(f"https://dsc.invalid/schemas/{kind}.schema.json")
    _Validator.check_schema(schema)
    return _Validator(schema, registry=registry)


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


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice a typo most likely meant, if one is close enough."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A 'did you mean' hint, or the list of what is allowed."""
    close = closest(word, choices)
    if close:
        return f"did you mean {close!r}?"
    if choices:
        return "expected one of: " + ", ".join(sorted(choices))
    return ""


def a_type(value: Any) -> str:
    """The type of a value with its article: 'a string', 'an integer', 'null'."""
    name = type_name(value)
    if name == "null":
        return name
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _as_read(value: Any) -> str:
    """How YAML read a scalar, in YAML's words: 'null', 'boolean false', 'integer 8'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean true" if value else "boolean false"
    return f"{type_name(value)} {value!r}"


def quote_hint(doc: Document, path: tuple, expected: str) -> str:
    """When YAML read an unquoted scalar as another type, say so and how to quote it."""
    plain = doc.plain(path)
    if not plain or "string" not in expected.split(" or "):
        return ""
    value = doc.data
    for part in path:
        value = value[part]
    if isinstance(value, (dict, list)):
        return ""
    return f'YAML reads unquoted {plain} as {_as_read(value)}; quote it: "{plain}"'


def validate(doc: Document, kind: str) -> None:
    """Raise one CompileError listing every schema violation in the document."""
    diagnostics: list[Diagnostic] = []
    errors = list(validator(kind).iter_errors(doc.data))
    misspelled = _misspelled_required(errors)
    for error in errors:
        if (
            error.validator == "required"
            and (tuple(error.absolute_path), _missing_key(error)) in misspelled
        ):
            continue
        diagnostics.extend(_diagnose(doc, error))
    if diagnostics:
        raise CompileError(diagnostics)


def _missing_key(error: jsonschema.ValidationError) -> str:
    return error.message.split("'")[1] if "'" in error.message else error.message


def _unknown_keys(error: jsonschema.ValidationError) -> list[str]:
    allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return sorted(k for k in error.instance if k not in allowed)


def _misspelled_required(errors: list[jsonschema.ValidationError]) -> set[tuple[tuple, str]]:
    """Required keys that an unknown key beside them is a typo of: report the typo alone."""
    found = set()
    for error in errors:
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = tuple(error.schema.get("properties", {}))
            for key in _unknown_keys(error):
                close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
                if close:
                    found.add((tuple(error.absolute_path), close[0]))
    return found


def _field(path: tuple) -> str:
    names = [str(p) if isinstance(p, str) else f"[{p}]" for p in path]
    return ".".join(names).replace(".[", "[") or "the file"


def _name_hint(value: str, usual: str, pattern: str = IDENT) -> str:
    """A name that is valid but for line breaks at its end came from an escape or a block."""
    bare = value.rstrip("\r\n")
    if bare != value and bare and ecma_pattern(pattern).search(bare):
        return (
            "remove the line break at its end: a \"\\n\" escape, or a '|' block, which keeps "
            "the final newline ('|-' does not)"
        )
    return usual


def _diagnose(doc: Document, error: jsonschema.ValidationError) -> list[Diagnostic]:
    path = tuple(error.absolute_path)
    where = doc.at(path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    what = _field(path)
    if "propertyNames" in error.absolute_schema_path and isinstance(instance, str):
        # jsonschema reports a bad key at its mapping's path: point at the key itself.
        return [
            Diagnostic(
                doc.at((*path, instance), key=True),
                f"{instance!r} is not a valid name in {what}",
                _name_hint(
                    instance,
                    "use lowercase letters, digits and '_' (starting with a letter or "
                    "digit), at most 64 characters",
                ),
            )
        ]
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = tuple(schema.get("properties", {}))
        scope = f" in {what}" if path else ""
        return [
            Diagnostic(
                doc.at((*path, key), key=True), f"unknown key {key!r}{scope}", suggest(key, allowed)
            )
            for key in _unknown_keys(error)
        ]
    if error.validator == "required":
        scope = f" in {what}" if path else ""
        key = _missing_key(error)
        return [
            Diagnostic(
                where,
                f"missing required key {key!r}{scope}",
                f"add '{key}: …' to {what if path else 'the top of the file'}",
            )
        ]
    if error.validator == "type":
        expected = schema.get("type")
        names = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(
            {"object": "mapping", "array": "list"}.get(str(n), str(n)) for n in names
        )
        article = "an" if wanted[0] in "aeiou" else "a"
        if instance is None and doc.plain(path) == "":
            return [
                Diagnostic(where, f"{what} has no value", f"write {article} {wanted} after the ':'")
            ]
        message = f"{what} must be {article} {wanted}, not {a_type(instance)}"
        hint = quote_hint(doc, path, wanted)
        if path and path[-1] == "each" and isinstance(instance, list):
            hint = "name each list: each: {brand: brands, topic: topics}"
        if not hint and names == ["array"] and isinstance(instance, (str, int, float)):
            text = doc.plain(path) or json.dumps(instance, ensure_ascii=False)
            hint = f"write a list, even of one item: [{text}]"
        return [Diagnostic(where, message, hint or _type_hint(names, instance, path))]
    if error.validator == "pattern":
        if schema.get("pattern") == IDENT:
            if not path or path[-1] in ("id", "task") or isinstance(path[-1], int):
                label = "id"
            else:
                label = "name"
            return [
                Diagnostic(
                    where,
                    f"{instance!r} is not a valid {label} for {what}",
                    _name_hint(
                        instance,
                        "use lowercase letters, digits and '_' (starting with a letter or digit)",
                    ),
                )
            ]
        if path == ("split", "group_by"):
            return [
                Diagnostic(
                    where,
                    f"{what} must be output, prompt, id or metadata.<key>, not {instance!r}",
                    _name_hint(instance, suggest(str(instance), GROUP_BY), schema["pattern"]),
                )
            ]
        return [
            Diagnostic(
                where,
                f"{what}: {instance!r} does not match {schema.get('pattern')}",
                "see docs/spec-language.md for the values this key takes",
            )
        ]
    if error.validator == "enum":
        choices = [str(c) for c in schema.get("enum", [])]
        return [
            Diagnostic(
                where,
                f"{what} must be one of {', '.join(choices)}, not {instance!r}",
                suggest(str(instance), choices),
            )
        ]
    if error.validator == "anyOf" and path and path[-2:-1] == ("each",):
        return [
            Diagnostic(
                where,
                f"{what} is not a collection",
                "write a name (brands, contexts, a collection, item.field), a list, "
                "a mapping, or {file: data/FILE.jsonl}",
            )
        ]
    if error.validator in ("minimum", "maximum"):
        bound = schema.get(error.validator)
        word = "at least" if error.validator == "minimum" else "at most"
        return [
            Diagnostic(
                where,
                f"{what} must be {word} {bound}, not {instance!r}",
                _range_hint(schema.get("minimum"), schema.get("maximum")),
            )
        ]
    if error.validator == "maxLength":
        return [
            Diagnostic(
                where,
                f"{what} must be at most {schema.get('maxLength')} characters "
                f"long, not {len(instance)}",
                f"shorten it to {schema.get('maxLength')} characters or fewer",
            )
        ]
    if error.validator == "minLength":
        hint = "write some text, or remove the key where it is optional"
        return [Diagnostic(where, f"{what} must not be empty", hint)]
    if error.validator == "minItems":
        return [
            Diagnostic(
                where,
                f"{what} must not be an empty list",
                "give it at least one item",
            )
        ]
    return [
        Diagnostic(
            where, f"{what}: {error.message}", "see docs/spec-language.md for what this key takes"
        )
    ]


_TYPE_HINTS = {
    "integer": "write a whole number, without quotes or a decimal point: 42",
    "number": "write a number without quotes: 0.8",
    "boolean": "write true or false, without quotes",
    "string": "write text; quote it when YAML would read it as another type",
    "array": "write a list: one '- item' a line, or [a, b]",
    "object": "write 'key: value' lines, indented under it",
    "null": "leave the value out",
}


def _type_hint(names: list, instance: Any, path: tuple) -> str:
    """How to write a value of the expected type, when nothing more precise applies."""
    if not path and names == ["object"]:
        return "a spec file holds 'key: value' lines at the top, not a list"
    if names == ["array"] and isinstance(instance, dict):
        return "write a list: start each item with '- ' (a mapping of named items is not a list)"
    if names == ["integer"] and isinstance(instance, float) and instance.is_integer():
        return f"write it without the decimal point: {int(instance)}"
    return "; or ".join(_TYPE_HINTS.get(str(n), f"write a {n}") for n in names)


def _range_hint(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"use a value from {low} to {high}"
    return f"use {low} or more" if low is not None else f"use {high} or less"
