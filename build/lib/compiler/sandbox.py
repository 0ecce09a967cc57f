"""The Jinja2 sandbox templates run in: no escapes, bounded work, text-only output."""

from __future__ import annotations

import re
import string
from typing import Any

from jinja2 import (
    StrictUndefined,
    TemplateSyntaxError,
    Undefined,
    nodes,
    pass_context,
    pass_environment,
    pass_eval_context,
)
from jinja2.exceptions import SecurityError
from jinja2.filters import (
    do_batch,
    do_center,
    do_format,
    do_indent,
    do_replace,
    do_wordwrap,
    sync_do_join,
    sync_do_slice,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_STRING = 1_000_000


def _bullets(value: Any) -> str:
    return "\n".join(f"- {item}" for item in _as_list(value))


def _numbered(value: Any) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(_as_list(value), start=1))


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise TypeError(f"expected a list, got {type(value).__name__}")


class SpecEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox templates run in: no file, environment or attribute escapes.

    Mapping keys win over method names (`brand.values` is the brand's list, not dict.values).
    Lists and mappings cannot be changed in place, and the operations that can make a long
    string from a short template (repetition, padding, format widths, join, replace) are
    bounded before they run, so that a template cannot exhaust memory.
    """

    intercepted_binops = frozenset(["*", "**", "%", "+"])

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters.update(_BOUNDED_FILTERS)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        try:
            tree = super()._parse(source, name, filename)
        except RecursionError:
            raise _too_deep() from None
        return _Bounded().visit(tree)

    def compile(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().compile(*args, **kwargs)
        except RecursionError:
            raise _too_deep() from None

    def compile_expression(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().compile_expression(*args, **kwargs)
        except RecursionError:
            raise _too_deep() from None

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and isinstance(left, (str, list)) and isinstance(right, int):
            _bound(len(left) * right, "repetition")
        if operator == "*" and isinstance(right, (str, list)) and isinstance(left, int):
            _bound(len(right) * left, "repetition")
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError("exponent is too large")
        if operator == "%" and isinstance(left, str):
            _check_percent_format(left)
        if operator == "+" and isinstance(left, (str, list)) and isinstance(right, (str, list)):
            _bound(len(left) + len(right), "concatenation")
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Any:
        if isinstance(getattr(value, "__self__", None), str):
            _check_brace_format(value.__self__)
        return super().wrap_str_format(value)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and getattr(__obj, "__name__", "") in _STR_METHODS:
            if __obj.__name__ == "join" and args:
                args = (list(args[0]), *args[1:])
            _check_str_method(owner, __obj.__name__, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


MAX_LOOP_STEPS = 100_000
_LOOP_FILTER = "dsc_counted_loop"
_CONCAT_FILTER = "dsc_bounded_concat"


class _Bounded(NodeTransformer):
    """Route loops and `~` through filters that bound them (Jinja has no hook for either)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        # Every loop draws on one budget per render, so nested loops cannot run for hours.
        node.iter = nodes.Filter(
            node.iter, _LOOP_FILTER, [], [], None, None, lineno=node.iter.lineno
        )
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        parts = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(parts, _CONCAT_FILTER, [], [], None, None, lineno=node.lineno)


def _bounded_concat(parts: list[Any]) -> str:
    texts = [str(part) for part in parts]
    _bound(sum(len(text) for text in texts), "concatenation")
    return "".join(texts)


@pass_context
def _counted_loop(context: Any, iterable: Any) -> Any:
    for item in iterable:
        steps = getattr(context, "dsc_loop_steps", 0) + 1
        if steps > MAX_LOOP_STEPS:
            raise SecurityError(f"loops run more than {MAX_LOOP_STEPS} times in one template")
        context.dsc_loop_steps = steps
        yield item


def _too_deep() -> TemplateSyntaxError:
    # Jinja's parser and code generator recurse once per nesting level.
    return TemplateSyntaxError("brackets or expressions are nested too deeply", 1)


def _bound(size: int, what: str) -> None:
    if size > MAX_STRING:
        raise SecurityError(f"{what} result is too large ({size} > {MAX_STRING})")


_STR_METHODS = frozenset(["center", "ljust", "rjust", "zfill", "expandtabs", "join", "replace"])
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_number(text: str | None, what: str) -> None:
    if text == "*" or "{" in (text or ""):
        raise SecurityError(f"{what} with a width taken from an argument is not allowed")
    if text and int(text) > MAX_STRING:
        raise SecurityError(f"{what} width {int(text)} is too large (> {MAX_STRING})")


def _check_percent_format(text: str) -> None:
    for width, precision in _PERCENT_SPEC.findall(text):
        _check_number(width, "'%' format")
        _check_number(precision, "'%' format")


def _check_brace_format(text: str) -> None:
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format reports the malformed format string itself
    for _literal, _field, spec, _conversion in fields:
        for number in re.findall(r"\{[^}]*\}|\d+", spec or ""):
            _check_number(number, "format")


def _text_size(items: list[Any]) -> int:
    return sum(len(item) if isinstance(item, str) else 20 for item in items)


def _check_str_method(text: str, name: str, args: tuple, kwargs: dict) -> None:
    arg = args[0] if args else next(iter(kwargs.values()), None)
    if name in ("center", "ljust", "rjust", "zfill") and isinstance(arg, int):
        _bound(arg, name)
    elif name == "expandtabs":
        _bound(len(text) + text.count("\t") * (arg if isinstance(arg, int) else 8), name)
    elif name == "join" and isinstance(arg, list):
        _bound(_text_size(arg) + len(text) * max(len(arg) - 1, 0), name)
    elif name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        old, new = args[0], args[1]
        count = text.count(old) if old else len(text) + 1
        _bound(len(text) + count * (len(new) - len(old)), name)


@pass_eval_context
def _join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    items = list(value)
    if attribute is None:
        _bound(_text_size(items) + len(str(d)) * max(len(items) - 1, 0), "join")
    return sync_do_join(eval_ctx, items, d, attribute)


@pass_eval_context
def _replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old_text, new_text = str(s), str(old), str(new)
    found = text.count(old_text) if old_text else len(text) + 1
    if count is not None:
        found = min(found, max(count, 0))
    _bound(len(text) + found * (len(new_text) - len(old_text)), "replace")
    return do_replace(eval_ctx, s, old, new, count)


def _center(value: Any, width: int = 80) -> str:
    _bound(width if isinstance(width, int) else 0, "center")
    return do_center(value, width)


def _indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    pad = width if isinstance(width, int) else len(str(width))
    _bound(len(str(s)) + (str(s).count("\n") + 1) * pad, "indent")
    return do_indent(s, width, first, blank)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_percent_format(str(value))
    return do_format(value, *args, **kwargs)


@pass_environment
def _wordwrap(
    environment: Any,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    lines = len(s) // max(width, 1) + s.count("\n") + 1
    _bound(len(s) + lines * len(wrapstring or "\n"), "wordwrap")
    return do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)


def _batch(value: Any, linecount: int, fill_with: Any = None) -> Any:
    if fill_with is not None:
        _bound(linecount, "batch")
    return do_batch(value, linecount, fill_with)


def _slice(value: Any, slices: int, fill_with: Any = None) -> Any:
    _bound(slices, "slice")
    return sync_do_slice(value, slices, fill_with)


_BOUNDED_FILTERS = {
    "join": _join,
    "replace": _replace,
    "center": _center,
    "indent": _indent,
    "format": _format,
    "wordwrap": _wordwrap,
    "batch": _batch,
    "slice": _slice,
    _LOOP_FILTER: _counted_loop,
    _CONCAT_FILTER: _bounded_concat,
}


def _finalize(value: Any) -> Any:
    """Only text and numbers may be written into a record; a mapping or list is a mistake."""
    if isinstance(value, Undefined):
        return value
    if callable(value):
        raise TypeError("an expression renders a method, not text (call it, or use a field)")
    if value is None or isinstance(value, (bool, dict, list, tuple)):
        kind = {dict: "a mapping", list: "a list", tuple: "a list"}.get(type(value))
        shown = kind or repr(value)
        raise TypeError(
            f"an expression renders {shown}, not text (pick a field, e.g. "
            f"item.text, or use a filter such as join)"
        )
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
