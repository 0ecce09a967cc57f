"""The Jinja2 sandbox templates run in: no escapes, bounded work, text-only output."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from jinja2 import (
    StrictUndefined,
    TemplateSyntaxError,
    Undefined,
    nodes,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from compiler.bounds import (
    BOUNDED_FILTERS,
    CONCAT_FILTER,
    LOOP_FILTER,
    VALUE_FILTER,
    BoundedEscapeFormatter,
    BoundedFormatter,
    charge,
    check_binop,
    check_brace_format,
    check_str_method,
    guarded,
)
from compiler.budget import MAX_MACRO_CALLS, MAX_MACRO_DEPTH, bound_value

# What `{{ null }}` renders: text no successful build can hold (the text gate refuses NUL),
# so a metadata template whose whole output is this made the field null, and any other
# text that holds it was made by writing null into text.
NULL_TEXT = "\x00null\x00"

T = TypeVar("T")


class _Null:
    """The template global `null`: a metadata template that renders only it makes the field
    null (`{{ topic.level | default(null) }}`). It is false, and equal only to itself."""

    __slots__ = ()

    def __str__(self) -> str:
        return NULL_TEXT

    def __repr__(self) -> str:
        return "null"

    def __bool__(self) -> bool:
        return False


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
    Lists and mappings cannot be changed in place, only listed methods may be called, and every
    value a template makes is bounded (compiler/bounds.py): before it is made where its size
    can be known (`*`, `**`, `+`, `%`, `~`, format, padding, join, replace, literals), right
    after where it cannot (filters, method calls). Loops, calls and the items filters walk
    share one budget per render, and macros nest at most MAX_MACRO_DEPTH deep.
    """

    intercepted_binops = frozenset(["*", "**", "%", "+"])

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters.update(BOUNDED_FILTERS)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = _parsing(super()._parse, source, name, filename)
        return _Bounded().visit(tree)

    def compile(self, source: Any, *args: Any, **kwargs: Any) -> Any:
        return _parsing(super().compile, source, *args, **kwargs)

    def compile_expression(self, source: str, *args: Any, **kwargs: Any) -> Any:
        return _parsing(super().compile_expression, source, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        # Built-in types have methods that make unbounded values (str.translate,
        # int.to_bytes, str.encode ...): only the listed ones may be reached.
        for kind, allowed in _METHODS:
            if isinstance(obj, kind):
                return not callable(value) or attr in allowed
        return True

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return bound_value(super().call_binop(context, operator, left, right), "operator")

    def wrap_str_format(self, value: Any) -> Any:
        name = getattr(value, "__name__", "")
        owner = getattr(value, "__self__", None)
        if name not in ("format", "format_map") or not isinstance(owner, str):
            return None
        check_brace_format(owner)
        escape = getattr(owner, "escape", None)  # Markup escapes what it formats
        formatter = (
            BoundedEscapeFormatter(self, escape=escape)
            if isinstance(owner, Markup)
            else BoundedFormatter(self)
        )

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            if name == "format_map":
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            return type(owner)(formatter.vformat(owner, args, kwargs))

        return bounded_format

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and getattr(__obj, "__name__", "") in _STR_METHODS:
            if __obj.__name__ == "join" and args:
                args = (list(args[0]), *args[1:])
            check_str_method(owner, __obj.__name__, args, kwargs)
        charge(__context, 1, "calls")
        if not isinstance(__obj, Macro):
            return bound_value(super().call(__context, __obj, *args, **kwargs), "call")
        calls = getattr(__context, "dsc_macro_calls", 0) + 1
        if calls > MAX_MACRO_CALLS:
            # A macro call costs some 20 µs: the shared step budget alone would let a macro
            # that calls itself twice reach the CPU-time budget first, on a slow machine.
            raise SecurityError(
                f"macros are called more than {MAX_MACRO_CALLS} times in one template"
            )
        __context.dsc_macro_calls = calls
        depth = getattr(__context, "dsc_macro_depth", 0) + 1
        if depth > MAX_MACRO_DEPTH:
            raise SecurityError(f"macros call each other more than {MAX_MACRO_DEPTH} levels deep")
        __context.dsc_macro_depth = depth
        try:
            return bound_value(super().call(__context, __obj, *args, **kwargs), "macro")
        finally:
            __context.dsc_macro_depth = depth - 1


# The methods templates may call, by type; everything else callable on these types is unsafe.
_STR_METHODS = frozenset(["center", "ljust", "rjust", "zfill", "expandtabs", "join", "replace"])
_METHODS: tuple[tuple[type | tuple[type, ...], frozenset[str]], ...] = (
    (
        str,
        _STR_METHODS
        | {"format", "format_map", "upper", "lower", "title", "capitalize", "casefold"}
        | {"swapcase", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines"}
        | {"startswith", "endswith", "find", "rfind", "index", "rindex", "count"}
        | {"partition", "rpartition", "removeprefix", "removesuffix", "isalnum", "isalpha"}
        | {"isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric"}
        | {"isprintable", "isspace", "istitle", "isupper"},
    ),
    (dict, frozenset(["keys", "values", "items", "get"])),
    ((list, tuple, range), frozenset(["index", "count"])),
    ((int, float, complex, bytes, bytearray, set, frozenset), frozenset(["is_integer"])),
)


class _Bounded(NodeTransformer):
    """Route loops, `~` and literals through filters that bound them (Jinja has no hook)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        # Every loop draws on one budget per render, so nested loops cannot run for hours.
        node.iter = nodes.Filter(
            node.iter, LOOP_FILTER, [], [], None, None, lineno=node.iter.lineno
        )
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        parts = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(parts, CONCAT_FILTER, [], [], None, None, lineno=node.lineno)

    # `{% set a = [a, a] %}` twenty times makes a list a million times its size with no
    # operator in sight: literals are weighed like every other value a template makes.
    def visit_List(self, node: nodes.List) -> nodes.Node:
        return self._weighed(node)

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        return self._weighed(node)

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:
        return self._weighed(node)

    def _weighed(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        if getattr(node, "ctx", "load") != "load":
            return node  # an assignment target: `{% for k, v in ... %}`
        kind = nodes.Const("mapping" if isinstance(node, nodes.Dict) else "list")
        return nodes.Filter(node, VALUE_FILTER, [kind], [], None, None, lineno=node.lineno)


def _parsing(parse: Callable[..., T], source: Any, *args: Any, **kwargs: Any) -> T:
    """parse(source, ...), what Jinja lets escape from it turned into syntax errors."""
    try:
        return parse(source, *args, **kwargs)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        # The lexer turns an integer literal into int() with Python's digit limit.
        if isinstance(source, str):
            raise _number_too_long(source) from None
        raise


def _too_deep() -> TemplateSyntaxError:
    # Jinja's parser and code generator recurse once per nesting level.
    return TemplateSyntaxError("brackets or expressions are nested too deeply", 1)


def _number_too_long(source: str) -> TemplateSyntaxError:
    limit = MAX_INT_DIGITS
    line = 1
    for match in re.finditer(r"[0-9][0-9_]*", source):
        if len(match.group().replace("_", "")) > limit:
            line += source.count("\n", 0, match.start())
            break
    return TemplateSyntaxError(f"a number of more than {limit} digits", line)


class NotText(TypeError):
    """An expression whose value cannot be written into a record; `hint` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _finalize(value: Any) -> Any:
    """Only text and numbers may be written into a record; a mapping or list is a mistake."""
    if isinstance(value, Undefined):
        return value
    if callable(value):
        raise NotText("an expression renders a method, not text", "call it, or use a field")
    if value is None:
        raise NotText(
            "an expression renders None, not text",
            "give it a text, e.g. | default('', true); "
            "in metadata, {{ null }} makes the field null",
        )
    if isinstance(value, (bool, dict, list, tuple)):
        kind = {dict: "a mapping", list: "a list", tuple: "a list"}.get(type(value))
        raise NotText(
            f"an expression renders {kind or repr(value)}, not text",
            "pick a field, e.g. item.text, or use a filter such as join",
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
    env.globals["null"] = _Null()
    env.filters["bullets"] = _bullets
    env.filters["numbered"] = _numbered
    for name, function in list(env.filters.items()):
        if name not in (LOOP_FILTER, CONCAT_FILTER, VALUE_FILTER):
            env.filters[name] = guarded(name, function)
    return env


# Python's own default for int() of a text and str() of an int, fixed here whatever
# PYTHONINTMAXSTRDIGITS says on this machine, so that a template renders or fails alike everywhere.
MAX_INT_DIGITS = 4300
sys.set_int_max_str_digits(MAX_INT_DIGITS)

ENV = make_environment()
