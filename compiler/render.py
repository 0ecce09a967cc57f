"""Compile spec templates in a Jinja2 sandbox, with a fast path for plain substitutions."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from compiler.errors import CompileError, Location, fail
from compiler.model import Template

TEMPLATE_FILENAME = "<dsc-template>"
MAX_STRING = 1_000_000


def _bullets(value: Any) -> str:
    return "\n".join(f"- {item}" for item in _as_list(value))


def _numbered(value: Any) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(_as_list(value), start=1))


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise TypeError(f"expected a list, got {type(value).__name__}")


class SpecEnvironment(SandboxedEnvironment):
    """The sandbox templates run in: no file, environment or attribute escapes.

    Mapping keys win over method names (`brand.values` is the brand's list, not dict.values),
    and repetition operators are bounded so that a template cannot exhaust memory.
    """

    intercepted_binops = frozenset(["*", "**"])

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and isinstance(left, (str, list)) and isinstance(right, int):
            if len(left) * right > MAX_STRING:
                raise SecurityError("repetition result is too large")
        if operator == "*" and isinstance(right, (str, list)) and isinstance(left, int):
            if len(right) * left > MAX_STRING:
                raise SecurityError("repetition result is too large")
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError("exponent is too large")
        return super().call_binop(context, operator, left, right)


def _finalize(value: Any) -> Any:
    """Only text and numbers may be written into a record; a mapping or list is a mistake."""
    if value is None or isinstance(value, (bool, dict, list, tuple)):
        kind = {dict: "a mapping", list: "a list", tuple: "a list"}.get(type(value))
        shown = kind or repr(value)
        raise TypeError(f"an expression renders {shown}, not text (pick a field, e.g. "
                        f"item.text, or use a filter such as join)")
    return value


def make_environment() -> SpecEnvironment:
    env = SpecEnvironment(
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters.pop("random", None)
    env.globals.pop("lipsum", None)
    env.globals.pop("cycler", None)
    env.globals.pop("joiner", None)
    env.globals.pop("namespace", None)
    env.filters["bullets"] = _bullets
    env.filters["numbered"] = _numbered
    return env


ENV = make_environment()

Renderer = Callable[[dict[str, Any]], str]


def template_location(tpl: Template, line: int, column: int = 0) -> Location:
    """Map a line (and column) inside a template to the spec file's line and column."""
    file_line = tpl.body_line + line - 1 if tpl.body_line else tpl.location.line
    if line == 1:
        file_column = tpl.body_column + column
    else:
        file_column = (tpl.body_column if column == 0 else column + tpl.body_column)
    return Location(tpl.location.file, file_line, max(file_column, 1))


def _column_of(tpl: Template, line: int, needle: str) -> int:
    lines = tpl.text.split("\n")
    if needle and 0 < line <= len(lines):
        found = re.search(r"\b" + re.escape(needle) + r"\b", lines[line - 1])
        if found:
            return found.start()
    return 0


def compile_template(tpl: Template, what: str) -> Renderer:
    """Compile a template; syntax errors point into the spec file."""
    try:
        compiled = ENV.from_string(tpl.text)
        tree = ENV.parse(tpl.text)
    except TemplateSyntaxError as exc:
        raise fail(template_location(tpl, exc.lineno or 1),
                   f"template syntax error in {what}: {exc.message}",
                   "see https://jinja.palletsprojects.com/templates/ for the syntax") from None
    fast = _fast_parts(tree)

    def slow(context: dict[str, Any]) -> str:
        chunks, size = [], 0
        try:
            for chunk in compiled.generate(context):
                size += len(chunk)
                if size > MAX_STRING:
                    raise SecurityError(f"output is longer than {MAX_STRING} characters")
                chunks.append(chunk)
        except Exception as exc:
            raise render_error(tpl, what, exc) from None
        return "".join(chunks)

    if fast is None:
        return slow

    def render(context: dict[str, Any]) -> str:
        out = []
        for part in fast:
            if isinstance(part, str):
                out.append(part)
                continue
            value = context.get(part[0], _MISSING)
            for attr in part[1:]:
                value = value.get(attr, _MISSING) if type(value) is dict else _MISSING
            if type(value) is not str:
                return slow(context)
            out.append(value)
        return "".join(out)

    return render


def compile_expression(tpl: Template, what: str) -> Callable[[dict[str, Any]], Any]:
    try:
        expression = ENV.compile_expression(tpl.text, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise fail(template_location(tpl, exc.lineno or 1),
                   f"expression syntax error in {what}: {exc.message}") from None

    def evaluate(context: dict[str, Any]) -> Any:
        try:
            return expression(**context)
        except Exception as exc:
            raise render_error(tpl, what, exc, expression=True) from None

    return evaluate


_MISSING = object()


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
        if not isinstance(node, nodes.Name) or node.ctx != "load":
            return None
        parts.append((node.name, *reversed(chain)))
    return parts


def render_error(
    tpl: Template, what: str, exc: BaseException, expression: bool = False
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
        name = re.findall(r"'([^']*)'", str(exc))
        needle = name[-1] if name else ""
        if "has no attribute" in str(exc) and len(name) >= 2:
            needle = name[-1]
        where = template_location(tpl, line, _column_of(tpl, line, needle))
        return fail(where, f"undefined name in {what}: {exc}",
                    "check the spelling; the names a template sees are its `each` and `pick` "
                    "names, keys, task and rule")
    if isinstance(exc, SecurityError):
        return fail(template_location(tpl, line), f"unsafe operation in {what}: {exc}",
                    "templates run in a sandbox: no access to internals, files or the environment")
    if isinstance(exc, (TemplateError, TypeError, ValueError, ArithmeticError, LookupError,
                        OverflowError, RecursionError, MemoryError)):
        return fail(template_location(tpl, line), f"template error in {what}: {exc}")
    raise exc
