"""Check parsed spec documents against the JSON Schemas shipped with the package."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema

from compiler import specschema
from compiler.errors import CompileError, Diagnostic
from compiler.hints import closest, suggest
from compiler.text import dotted
from compiler.yamldoc import Document

GROUP_BY = ("output", "prompt", "id", "metadata.")
IDENT = "^[a-z0-9][a-z0-9_]*$"  # #/$defs/ident of every schema


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
    schema = specschema.schema(kind)
    _Validator.check_schema(schema)
    return _Validator(schema)


# In YAML's words; bool before int, which it is a subclass of.
_TYPE_NAMES = (
    (type(None), "null"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "list"),
    (dict, "mapping"),
)


def type_name(value: Any) -> str:
    for kind, name in _TYPE_NAMES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


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
                close = closest(key, allowed)
                if close is not None:
                    found.add((tuple(error.absolute_path), close))
    return found


def _name_hint(value: str, usual: str, pattern: str = IDENT) -> str:
    """A name that is valid but for line breaks at its end came from an escape or a block."""
    bare = value.rstrip("\r\n")
    if bare != value and bare and ecma_pattern(pattern).search(bare):
        return (
            "remove the line break at its end: a \"\\n\" escape, or a '|' block, which keeps "
            "the final newline ('|-' does not)"
        )
    return usual


@dataclass(frozen=True)
class _Violation:
    """One schema error, with what its message needs: the field's name and position."""

    doc: Document
    error: jsonschema.ValidationError
    path: tuple
    schema: dict
    what: str
    value: Any

    def report(self, message: str, hint: str) -> list[Diagnostic]:
        return [Diagnostic(self.doc.at(self.path), message, hint)]


def _diagnose(doc: Document, error: jsonschema.ValidationError) -> list[Diagnostic]:
    path, value = tuple(error.absolute_path), error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    found = _Violation(doc, error, path, schema, dotted(path), value)
    # A bad key is reported by the validator that checked it, under propertyNames.
    bad_key = "propertyNames" in error.absolute_schema_path and isinstance(value, str)
    return _EXPLAIN.get("propertyNames" if bad_key else str(error.validator), _other)(found)


def _bad_key(found: _Violation) -> list[Diagnostic]:
    # jsonschema reports a bad key at its mapping's path: point at the key itself.
    key = found.value
    usual = "use lowercase letters, digits and '_' (starting with a letter or digit), at most 64"
    return [
        Diagnostic(
            found.doc.at((*found.path, key), key=True),
            f"{key!r} is not a valid name in {found.what}",
            _name_hint(key, usual + " characters"),
        )
    ]


def _unknown(found: _Violation) -> list[Diagnostic]:
    if not isinstance(found.value, dict):
        return _other(found)
    allowed = tuple(found.schema.get("properties", {}))
    scope = f" in {found.what}" if found.path else ""
    return [
        Diagnostic(
            found.doc.at((*found.path, key), key=True),
            f"unknown key {key!r}{scope}",
            suggest(key, allowed),
        )
        for key in _unknown_keys(found.error)
    ]


def _missing(found: _Violation) -> list[Diagnostic]:
    scope = f" in {found.what}" if found.path else ""
    key = _missing_key(found.error)
    return found.report(
        f"missing required key {key!r}{scope}",
        f"add '{key}: …' to {found.what if found.path else 'the top of the file'}",
    )


def _wrong_type(found: _Violation) -> list[Diagnostic]:
    doc, path, value, what = found.doc, found.path, found.value, found.what
    expected = found.schema.get("type")
    names = expected if isinstance(expected, list) else [expected]
    wanted = " or ".join({"object": "mapping", "array": "list"}.get(str(n), str(n)) for n in names)
    article = "an" if wanted[0] in "aeiou" else "a"
    if value is None and doc.plain(path) == "":
        return found.report(f"{what} has no value", f"write {article} {wanted} after the ':'")
    hint = quote_hint(doc, path, wanted)
    if path and path[-1] == "each" and isinstance(value, list):
        hint = "name each list: each: {brand: brands, topic: topics}"
    if not hint and names == ["array"] and isinstance(value, (str, int, float)):
        text = doc.plain(path) or json.dumps(value, ensure_ascii=False)
        hint = f"write a list, even of one item: [{text}]"
    return found.report(
        f"{what} must be {article} {wanted}, not {a_type(value)}",
        hint or _type_hint(names, value, path),
    )


def _no_match(found: _Violation) -> list[Diagnostic]:
    path, value, what, pattern = found.path, found.value, found.what, found.schema.get("pattern")
    if pattern == IDENT:
        if not path or path[-1] in ("id", "task") or isinstance(path[-1], int):
            label = "id"
        else:
            label = "name"
        return found.report(
            f"{value!r} is not a valid {label} for {what}",
            _name_hint(
                value, "use lowercase letters, digits and '_' (starting with a letter or digit)"
            ),
        )
    if path == ("split", "group_by"):
        return found.report(
            f"{what} must be output, prompt, id or metadata.<key>, not {value!r}",
            _name_hint(value, suggest(str(value), GROUP_BY), found.schema["pattern"]),
        )
    return found.report(
        f"{what}: {value!r} does not match {pattern}",
        "see docs/spec-language.md for the values this key takes",
    )


def _not_allowed(found: _Violation) -> list[Diagnostic]:
    choices = [str(c) for c in found.schema.get("enum", [])]
    return found.report(
        f"{found.what} must be one of {', '.join(choices)}, not {found.value!r}",
        suggest(str(found.value), choices),
    )


def _not_a_collection(found: _Violation) -> list[Diagnostic]:
    if not found.path or found.path[-2:-1] != ("each",):
        return _other(found)
    return found.report(
        f"{found.what} is not a collection",
        "write a name (brands, contexts, a collection, item.field), a list, "
        "a mapping, or {file: data/FILE.jsonl}",
    )


def _out_of_range(found: _Violation) -> list[Diagnostic]:
    bound = found.schema.get(found.error.validator)
    word = "at least" if found.error.validator == "minimum" else "at most"
    return found.report(
        f"{found.what} must be {word} {bound}, not {found.value!r}",
        _range_hint(found.schema.get("minimum"), found.schema.get("maximum")),
    )


def _too_long(found: _Violation) -> list[Diagnostic]:
    most = found.schema.get("maxLength")
    return found.report(
        f"{found.what} must be at most {most} characters long, not {len(found.value)}",
        f"shorten it to {most} characters or fewer",
    )


def _other(found: _Violation) -> list[Diagnostic]:
    return found.report(
        f"{found.what}: {found.error.message}",
        "see docs/spec-language.md for what this key takes",
    )


# The validator that failed (jsonschema's name for the schema keyword) -> its explanation;
# _other explains the rest.
_EXPLAIN: dict[str, Callable[[_Violation], list[Diagnostic]]] = {
    "propertyNames": _bad_key,
    "additionalProperties": _unknown,
    "required": _missing,
    "type": _wrong_type,
    "pattern": _no_match,
    "enum": _not_allowed,
    "anyOf": _not_a_collection,
    "minimum": _out_of_range,
    "maximum": _out_of_range,
    "maxLength": _too_long,
    "minLength": lambda found: found.report(
        f"{found.what} must not be empty",
        "write some text, or remove the key where it is optional",
    ),
    "minItems": lambda found: found.report(
        f"{found.what} must not be an empty list", "give it at least one item"
    ),
}


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
