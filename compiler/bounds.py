"""Checks and filters that bound what a template makes, before it is made where they can."""

from __future__ import annotations

import re
import string
from typing import Any

from jinja2 import pass_context, pass_environment, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.filters import (
    do_batch,
    do_center,
    do_format,
    do_indent,
    do_replace,
    do_wordwrap,
    make_attrgetter,
    sync_do_join,
    sync_do_slice,
)
from jinja2.sandbox import SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.utils import _PassArg

from compiler.budget import MAX_STEPS, MAX_STRING, bound, bound_bits, bound_value, weight

LOOP_FILTER = "dsc_counted_loop"
CONCAT_FILTER = "dsc_bounded_concat"
VALUE_FILTER = "dsc_bounded_value"


class BoundedFormatter(SandboxedFormatter):
    """str.format that refuses a value or a result over the size bound before it is made."""

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self.dsc_size = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        self.dsc_size += weight(value)
        bound(self.dsc_size, "format")
        text = super().format_field(value, format_spec)
        self.dsc_size += len(text) - weight(value)
        bound(self.dsc_size, "format")
        return text


class BoundedEscapeFormatter(BoundedFormatter, SandboxedEscapeFormatter):
    """The same for Markup (from `| e` or `| safe`), which escapes what it formats."""


def charge(context: Any, steps: int, what: str) -> None:
    total = getattr(context, "dsc_loop_steps", 0) + steps
    if total > MAX_STEPS:
        raise SecurityError(
            f"{what} run more than {MAX_STEPS} times in one template"
            if what != "filters"
            else f"filters walk more than {MAX_STEPS} items in one template"
        )
    context.dsc_loop_steps = total


def _bounded_concat(parts: list[Any]) -> str:
    bound(sum(weight(part) for part in parts), "concatenation")
    texts = [str(part) for part in parts]
    bound(sum(len(text) for text in texts), "concatenation")
    return "".join(texts)


@pass_context
def _counted_loop(context: Any, iterable: Any) -> Any:
    for item in iterable:
        charge(context, 1, "loops")
        yield item


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would pass the bounds, before computing it."""
    sequences = (str, bytes, list, tuple)
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, sequences) and isinstance(times, int):
                bound(weight(seq) * max(times, 0), "repetition")
        if _is_int(left) and _is_int(right):
            bound_bits(left.bit_length() + right.bit_length(), "multiplication")
    elif operator == "**" and _is_int(left) and _is_int(right) and right > 0:
        if abs(left) > 1:
            # |left| < 2**bits, so the power has at most bits * right bits.
            bound_bits(left.bit_length() * right, "power")
    elif operator == "%" and isinstance(left, (str, bytes)):
        bound(_percent_size(left, right), "'%' format")
    elif operator == "+" and isinstance(left, sequences) and isinstance(right, sequences):
        bound(weight(left) + weight(right), "concatenation")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_PERCENT_SPEC = re.compile(r"%(?:\(([^)]*)\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.?)", re.S)


def _check_number(text: str | None, what: str) -> None:
    if text == "*" or "{" in (text or ""):
        raise SecurityError(f"{what} with a width taken from an argument is not allowed")
    if text and int(text) > MAX_STRING:
        raise SecurityError(f"{what} width {int(text)} is too large (> {MAX_STRING})")


def _percent_size(template: str | bytes, args: Any) -> int:
    """An upper bound on the length of `template % args`: each conversion takes its width,
    its precision and the size of the argument it formats."""
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    positional = args if isinstance(args, tuple) else (args,)
    size, index = len(text), 0
    for name, width, precision, conversion in _PERCENT_SPEC.findall(text):
        _check_number(width, "'%' format")
        _check_number(precision, "'%' format")
        if conversion == "%":
            continue
        if name and isinstance(args, dict):
            value = args.get(name, "")
        elif index < len(positional):
            value, index = positional[index], index + 1
        else:
            value = ""
        size += int(width or 0) + int(precision or 0) + weight(value)
        size += 310 if conversion in "fF" else 0  # '%f' % 1e308 has 309 digits
        if size > MAX_STRING:
            break
    return size


def check_brace_format(text: str) -> None:
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format reports the malformed format string itself
    for _literal, _field, spec, _conversion in fields:
        for number in re.findall(r"\{[^}]*\}|\d+", spec or ""):
            _check_number(number, "format")


def _items_size(items: list[Any], separator: str) -> int:
    return sum(weight(item) for item in items) + len(separator) * max(len(items) - 1, 0)


def check_str_method(text: str, name: str, args: tuple, kwargs: dict) -> None:
    arg = args[0] if args else next(iter(kwargs.values()), None)
    if name in ("center", "ljust", "rjust", "zfill") and isinstance(arg, int):
        bound(arg, name)
    elif name == "expandtabs":
        bound(len(text) + text.count("\t") * (arg if isinstance(arg, int) else 8), name)
    elif name == "join" and isinstance(arg, list):
        bound(_items_size(arg, text), name)
    elif name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        old, new = args[0], args[1]
        count = text.count(old) if old else len(text) + 1
        bound(len(text) + count * (len(new) - len(old)), name)


@pass_eval_context
def _join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    items = list(value)
    if attribute is not None:
        get = make_attrgetter(eval_ctx.environment, attribute)
        items = [get(item) for item in items]
    bound(_items_size(items, str(d)), "join")
    return sync_do_join(eval_ctx, items, d)


@pass_eval_context
def _replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old_text, new_text = str(s), str(old), str(new)
    found = text.count(old_text) if old_text else len(text) + 1
    if count is not None:
        found = min(found, max(count, 0))
    bound(len(text) + found * (len(new_text) - len(old_text)), "replace")
    return do_replace(eval_ctx, s, old, new, count)


def _center(value: Any, width: int = 80) -> str:
    bound(width if isinstance(width, int) else 0, "center")
    return do_center(value, width)


def _indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    pad = width if isinstance(width, int) else len(str(width))
    bound(len(str(s)) + (str(s).count("\n") + 1) * pad, "indent")
    return do_indent(s, width, first, blank)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    bound(_percent_size(str(value), kwargs or args), "'%' format")
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
    bound(len(s) + lines * len(wrapstring or "\n"), "wordwrap")
    return do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)


def _batch(value: Any, linecount: int, fill_with: Any = None) -> Any:
    if fill_with is not None:
        bound(linecount, "batch")
    return do_batch(value, linecount, fill_with)


def _slice(value: Any, slices: int, fill_with: Any = None) -> Any:
    bound(slices, "slice")
    return sync_do_slice(value, slices, fill_with)


# Filters that look at a list without walking it: they cost one step, whatever its length.
_LOOKUPS = frozenset(["length", "count", "first", "last", "default", "d", "attr"])


def guarded(name: str, function: Any) -> Any:
    """A filter that charges the render's step budget for the items it walks and refuses a
    result over the size bound. It takes the context, which also keeps Jinja from running
    it at compile time (constant folding), outside every budget."""
    first = {
        _PassArg.context: lambda context: (context,),
        _PassArg.eval_context: lambda context: (context.eval_ctx,),
        _PassArg.environment: lambda context: (context.environment,),
    }.get(_PassArg.from_obj(function), lambda context: ())
    walks = name not in _LOOKUPS

    @pass_context
    def guarded(context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        steps = getattr(context, "dsc_loop_steps", 0) + 1
        if walks and isinstance(value, (list, tuple, dict, range)):
            steps += len(value)
        if steps > MAX_STEPS:
            charge(context, steps, "filters")  # raises, with the message
        context.dsc_loop_steps = steps
        result = function(*first(context), value, *args, **kwargs)
        if type(result) is str and len(result) <= MAX_STRING:
            return result  # the common case, without a call
        return bound_value(result, name)

    guarded.__name__ = getattr(function, "__name__", name)
    return guarded


BOUNDED_FILTERS = {
    "join": _join,
    "replace": _replace,
    "center": _center,
    "indent": _indent,
    "format": _format,
    "wordwrap": _wordwrap,
    "batch": _batch,
    "slice": _slice,
    LOOP_FILTER: _counted_loop,
    CONCAT_FILTER: _bounded_concat,
    VALUE_FILTER: bound_value,
}
