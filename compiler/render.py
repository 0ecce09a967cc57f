"""Compile spec templates in the sandbox, with a fast path for plain substitutions."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from jinja2 import TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError

from compiler.budget import CLOCK, LIMITS, MAX_STRING, OverBudget
from compiler.errors import CompileError, Diagnostic, Location, fail
from compiler.hints import closest
from compiler.model import Template
from compiler.sandbox import ENV, NULL_TEXT

Renderer = Callable[[dict[str, Any]], str]
T = TypeVar("T")


@dataclass(frozen=True)
class Scope:
    """The names a template sees, and why it cannot see other names of its rule (a pick that
    is chosen after it): what an undefined name is compared with."""

    names: tuple[str, ...] = ()
    unseen: tuple[tuple[str, str], ...] = ()


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


def _parsed(tpl: Template, what: str, parse: Callable[[str], T], kind: str, hint: str) -> T:
    """parse(tpl.text), its syntax errors pointing into the spec file."""
    try:
        return parse(tpl.text)
    except TemplateSyntaxError as exc:
        raise fail(
            template_location(tpl, exc.lineno or 1),
            f"{kind} syntax error in {what}: {exc.message}",
            hint,
        ) from None


def _budgeted(
    tpl: Template,
    what: str,
    run: Callable[[dict[str, Any]], T],
    scope: Scope,
    expression: bool = False,
) -> Callable[[dict[str, Any]], T]:
    """run, under the CPU clock, its failures turned into errors that point into the spec."""

    def guarded(context: dict[str, Any]) -> T:
        rendering = CLOCK.rendering
        try:
            CLOCK.rendering = True  # the CPU clock may raise OverBudget from here ...
            result = run(context)
            CLOCK.rendering = rendering  # ... to here, always inside the try
        except (OverBudget, MemoryError) as exc:
            CLOCK.rendering = rendering
            # The traceback holds run's frame, and with it what run had made: let it go
            # before anything new is allocated.
            exc.__traceback__ = None
            raise OverBudgetError(tpl, what, exc) from None
        except Exception as exc:
            CLOCK.rendering = rendering
            raise render_error(tpl, what, exc, scope, expression) from None
        return result

    return guarded


def compile_template(
    tpl: Template, what: str, scope: Scope = Scope(), nullable: bool = False
) -> Renderer:
    """Compile a template; syntax errors point into the spec file.

    A nullable (metadata) template that renders only `{{ null }}` returns None.
    """
    compiled, tree = _parsed(
        tpl,
        what,
        lambda text: (ENV.from_string(text), ENV.parse(text)),
        "template",
        "see https://jinja.palletsprojects.com/templates/ for the syntax",
    )

    def generate(context: dict[str, Any]) -> str:
        chunks, size = [], 0
        for chunk in compiled.generate(context):
            size += len(chunk)
            if size > MAX_STRING:
                raise SecurityError(f"output is longer than {MAX_STRING} characters")
            chunks.append(chunk)
        text = "".join(chunks)
        if NULL_TEXT in text:
            if nullable and text.strip() == NULL_TEXT:
                return None
            raise _null_in_text(tpl, what, nullable)
        return text

    slow = _budgeted(tpl, what, generate, scope)
    fast = _fast_parts(tree)
    if fast is None:
        return slow
    return _fast_renderer(fast, slow)


def _null_in_text(tpl: Template, what: str, nullable: bool) -> CompileError:
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


def literal_text(tpl: Template) -> str | None:
    """What a template renders to when it is only text (no expression, tag or comment).

    The same as its renderer's output for every context, so callers may render it once.
    """
    try:
        fast = _fast_parts(ENV.parse(tpl.text))
    except TemplateSyntaxError:
        return None
    if fast is None or not all(isinstance(part, str) for part in fast):
        return None
    return "".join(fast)


def compile_expression(
    tpl: Template, what: str, scope: Scope = Scope()
) -> Callable[[dict[str, Any]], bool]:
    expression = _parsed(
        tpl,
        what,
        lambda text: ENV.compile_expression(text, undefined_to_none=False),
        "expression",
        "a when is one Jinja expression, like example.lang == 'python'",
    )
    return _budgeted(tpl, what, lambda context: bool(expression(**context)), scope, expression=True)


class OverBudgetError(CompileError):
    """A template that ran out of CPU time or memory; `for_record` names the record.

    The limits themselves live in specs/dataset.yaml, so the error points at the template
    and the hint at the `limits:` key that moves the bound.
    """

    def __init__(self, tpl: Template, what: str, exc: BaseException) -> None:
        self.location, self.what = tpl.location, what
        self.memory = isinstance(exc, MemoryError)
        super().__init__(self._diagnostic(""))

    def for_record(self, record_id: str) -> CompileError:
        return CompileError(self._diagnostic(f" for record {record_id}"))

    def _diagnostic(self, suffix: str) -> Diagnostic:
        if self.memory:
            return Diagnostic(
                self.location,
                f"template in {self.what} needed more than {LIMITS.memory_mib} MiB of "
                f"memory{suffix}",
                "make the template build smaller values, or raise limits.max_memory_mib "
                "in specs/dataset.yaml",
            )
        return Diagnostic(
            self.location,
            f"template in {self.what} took more than {LIMITS.cpu_seconds:g} s of CPU time{suffix}",
            "make the template do less work per record, or raise "
            "limits.max_record_cpu_seconds in specs/dataset.yaml",
        )


_MISSING = object()
# Names Jinja resolves itself rather than from the context: always take the slow path.
_JINJA_NAMES = frozenset({"self", "loop", "super", "caller", "varargs", "kwargs"})


def _fast_renderer(parts: list[str | tuple[str, ...]], slow: Renderer) -> Renderer:
    """Render literal text and name.attr lookups in plain Python, else fall back to slow.

    The function is this loop, unrolled into straight-line code for speed:

        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = context.get(part[0], MISSING)
            for attr in part[1:]:
                value = value.get(attr, MISSING) if type(value) is dict else MISSING
            if type(value) is not str:
                return slow(context)
            out.append(value)
        return "".join(out)

    Every name, attribute and text is passed in as an argument: no template text becomes code.
    """
    params, args = ["MISSING", "slow", "type_", "str_", "dict_"], [_MISSING, slow, type, str, dict]
    body, joined = [], []
    for i, part in enumerate(parts):
        if isinstance(part, str):
            params.append(f"text{i}")
            args.append(part)
            joined.append(f"text{i}")
            continue
        params.append(f"name{i}")
        args.append(part[0])
        body.append(f"value = context.get(name{i}, MISSING)")
        for j, attr in enumerate(part[1:]):
            params.append(f"attr{i}_{j}")
            args.append(attr)
            body.append(
                f"value = value.get(attr{i}_{j}, MISSING) if type_(value) is dict_ else MISSING"
            )
        body += ["if type_(value) is not str_:", "    return slow(context)", f"value{i} = value"]
        joined.append(f"value{i}")
    body.append(f"return ''.join([{', '.join(joined)}])")
    source = (
        f"def make({', '.join(params)}):\n    def render(context):\n"
        + "".join(f"        {line}\n" for line in body)
        + "    return render\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<dsc-fast-template>", "exec"), namespace)
    return namespace["make"](*args)


def _fast_parts(tree: nodes.Template) -> list[str | tuple[str, ...]] | None:
    """Literal text and name.attr lookups only, or None when the template needs Jinja."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None if tree.body else [""]
    parts: list[str | tuple[str, ...]] = []
    for node in tree.body[0].nodes:
        if isinstance(node, nodes.TemplateData):
            parts.append(node.data)
            continue
        chain: list[str] = []
        while isinstance(node, nodes.Getattr):
            chain.append(node.attr)
            node = node.node
        if not isinstance(node, nodes.Name) or node.ctx != "load" or node.name in _JINJA_NAMES:
            return None
        parts.append((node.name, *reversed(chain)))
    return parts


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
