"""Template failures as errors in the spec file: where, what, and the hint (pure).

What a template sees (Scope) decides the "did you mean" of an undefined name; a missing key
is an UndefinedKey that the caller, who knows the record's items, finishes.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jinja2.exceptions import SecurityError, UndefinedError

from compiler.errors import CompileError, Diagnostic, Location, fail
from compiler.hints import closest
from compiler.model import Template


@dataclass(frozen=True)
class Scope:
    """The names a template sees, and why it cannot see other names of its rule (a pick that
    is chosen after it): what an undefined name is compared with."""

    names: tuple[str, ...] = ()
    unseen: tuple[tuple[str, str], ...] = ()


NO_SCOPE = Scope()  # a template compiled without its rule's names (tests, literals)


def template_location(tpl: Template, line: int, column: int = 0) -> Location:
    """Map a line and 0-based column inside a template to the spec file's line and column.

    Without a body position (a folded or multi-line flow scalar, whose lines YAML joined) the
    error points at the start of the value.
    """
    if not tpl.body_line:
        return tpl.location
    return Location(tpl.location.file, tpl.body_line + line - 1, max(tpl.body_column + column, 1))


def _column_of(tpl: Template, line: int, needle: str) -> int:
    """Where needle first stands as a whole word on a template line (0-based), else 0."""
    lines = tpl.text.split("\n")
    if needle and 0 < line <= len(lines):
        before = r"\b" if needle[0].isalnum() or needle[0] == "_" else ""
        after = r"\b" if needle[-1].isalnum() or needle[-1] == "_" else ""
        found = re.search(before + re.escape(needle) + after, lines[line - 1])
        if found:
            return found.start()
    return 0


def null_in_text(tpl: Template, what: str, nullable: bool) -> CompileError:
    found = re.search(r"\bnull\b", tpl.text)
    line, column = 1, 0
    if found:
        before = tpl.text[: found.start()]
        line, column = before.count("\n") + 1, found.start() - (before.rfind("\n") + 1)
    where = template_location(tpl, line, column)
    if nullable:
        return fail(
            where,
            f"{what} renders null inside a longer text",
            "null makes a metadata field null only as its whole value, as in "
            "{{ x | default(null) }}: remove the text around it",
        )
    return fail(
        where,
        f"{what} renders null, but only a metadata field can be null",
        "instruction, input, output and picks are text: use a text instead, "
        "e.g. | default('') for | default(null)",
    )


def render_error(
    tpl: Template, what: str, exc: BaseException, scope: Scope = Scope(), expression: bool = False
) -> CompileError:
    """A template failure as a positioned error in the spec file.

    Jinja maps template tracebacks to template lines; expressions (`when`) are one line.
    """
    if isinstance(exc, CompileError):
        return exc
    line = 1
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == "<template>" and not expression:
            line = lineno
    if isinstance(exc, UndefinedError):
        return _undefined(tpl, what, line, str(exc), scope)
    if isinstance(exc, SecurityError):
        names = re.findall(r"'([^']*)'", str(exc))
        where = template_location(tpl, line, _column_of(tpl, line, names[0] if names else ""))
        escape = "unsafe" in str(exc) or "not safely callable" in str(exc)
        return fail(
            where,
            f"unsafe operation in {what}: {str(exc).rstrip('.')}",
            "templates run in a sandbox: no access to internals, files or the environment"
            if escape
            else "templates are bounded so that a spec cannot exhaust memory "
            "or time: make the result smaller, or let each do the repeating",
        )
    if isinstance(exc, Exception):
        # Whatever a filter, method or operator raises on this record's values (AttributeError
        # from dictsort on a number, UnicodeError, ...) is the template's mistake, not dsc's.
        hint = getattr(exc, "hint", None) or _HINTS.get(type(exc), _HINT)
        return fail(
            template_location(tpl, line), f"template error in {what}: {_describe(exc)}", hint
        )
    raise exc


_HINT = (
    "the template failed on this record's values: check what each name holds here "
    "(dsc explain ID shows a record's bindings), and convert with | string, | int or | default"
)


_HINTS: dict[type, str] = {
    ZeroDivisionError: "guard the division with {% if %}, or divide by a value that is never 0",
    KeyError: "the mapping has no such key: test it with `'key' in mapping` or use .get()",
    IndexError: "the list is shorter than that index: test its | length first",
}


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


_NO_ATTRIBUTE = re.compile(r"'(\w+) object' has no attribute '([^']*)'")


_NAME_HINT = "check the spelling; a template sees its each and pick names, keys, task and rule"


def _name_hint(name: str, scope: Scope) -> str:
    """Did you mean one of the names the template sees; or why it cannot see this one."""
    unseen = dict(scope.unseen)
    if name in unseen:
        return unseen[name]
    close = closest(name, scope.names)
    if close:
        return f"did you mean {close!r}?"
    if scope.names:
        return "check the spelling; this template sees " + ", ".join(scope.names)
    return _NAME_HINT


def _undefined(tpl: Template, what: str, line: int, message: str, scope: Scope) -> CompileError:
    """Name the undefined variable or key, and point at it in the template text."""
    missing = _NO_ATTRIBUTE.fullmatch(message)
    if missing is None:
        names = re.findall(r"'([^']*)'", message)
        needle = names[-1] if names else ""
        where = template_location(tpl, line, _column_of(tpl, line, needle))
        if message.endswith(" is undefined") and names:
            return fail(where, f"undefined name {needle!r} in {what}", _name_hint(needle, scope))
        return fail(where, f"undefined value in {what}: {message}", _NAME_HINT)
    kind, key = missing.groups()
    lines = tpl.text.split("\n")
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    chain = re.search(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\." + re.escape(key) + r"\b", text)
    where = template_location(
        tpl, line, chain.end() - len(key) if chain else _column_of(tpl, line, key)
    )
    expression = f" ({chain.group()})" if chain else ""
    if kind == "dict":
        message = f"undefined key {key!r} in {what}{expression}"
        path = tuple(chain.group().split(".")[:-1]) if chain else ()
        missing_key = UndefinedKey(where, what, path, key, message)
        return missing_key if path else missing_key.with_hint(missing_key.default_hint())
    return fail(
        where, f"undefined attribute {key!r} of a {kind} value in {what}{expression}", _NAME_HINT
    )


class UndefinedKey(CompileError):
    """A mapping that lacks the key a template reads (`topic.level`).

    The template knows only the path it read; the caller, which knows the record, its
    bindings and their collections, finishes the message: which item lacks the key, or that
    none has it (a typo).
    """

    def __init__(self, where: Location, what: str, path: tuple[str, ...], key: str, message: str):
        self.where, self.what, self.path, self.key, self.message = where, what, path, key, message
        super().__init__(Diagnostic(where, message, self.default_hint()))

    def __reduce__(self) -> Any:
        return (CompileError, (self.diagnostics, self.more))

    def default_hint(self) -> str:
        return "check the spelling; if only some items have it, write " + self._with_default()

    def with_hint(self, hint: str) -> CompileError:
        return fail(self.where, self.message, hint)

    def typo(self, keys: Iterable[str], binding: str | None = None) -> CompileError:
        """No item (of each.binding) has the key: the keys they have instead."""
        keys = sorted(keys)
        close = closest(self.key, keys)
        if close:
            return self.with_hint(f"did you mean {close!r}?")
        shown = ", ".join(keys[:10]) + (", …" if len(keys) > 10 else "") or "none"
        if binding:
            return self.with_hint(
                f"check the spelling: no item of each.{binding} has it; their keys are {shown}"
            )
        return self.with_hint(f"check the spelling; the keys of {'.'.join(self.path)} are {shown}")

    def of_item(self, record_id: str, item: str, others: bool) -> CompileError:
        """The item of binding path[0] bound in record_id lacks the key."""
        name = self.path[0]
        mapping = f"{'.'.join(self.path)} of {name}" if len(self.path) > 1 else name
        return fail(
            self.where,
            f"undefined key {self.key!r} in {self.what} of record {record_id}: "
            f"{mapping} {item!r} has no key {self.key!r}",
            (f"other items of each.{name} have it: " if others else "")
            + f"add it to {name} {item!r}, or write {self._with_default()}",
        )

    def _with_default(self) -> str:
        shown = ".".join(self.path or ("x",)) + f".{self.key} | default("
        shown += "null)" if self.what.startswith("metadata.") else "'')"
        return shown if self.what == "when" else f"{{{{ {shown} }}}}"
