"""Compile spec templates in the sandbox, with a fast path for plain substitutions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from jinja2 import TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError

from compiler.budget import CLOCK, LIMITS, MAX_STRING, OverBudget
from compiler.errors import CompileError, Diagnostic, fail
from compiler.model import Template
from compiler.sandbox import ENV, NULL_TEXT
from compiler.templateerrors import (
    NO_SCOPE,
    Scope,
    null_in_text,
    render_error,
    template_location,
)

Renderer = Callable[[dict[str, Any]], str]
T = TypeVar("T")


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
    tpl: Template, what: str, scope: Scope = NO_SCOPE, nullable: bool = False
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
            raise null_in_text(tpl, what, nullable)
        return text

    slow = _budgeted(tpl, what, generate, scope)
    fast = _fast_parts(tree)
    if fast is None:
        return slow
    return _fast_renderer(fast, slow)


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
    tpl: Template, what: str, scope: Scope = NO_SCOPE
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
