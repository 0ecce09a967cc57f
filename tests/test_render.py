"""The template fast path equals Jinja's output, and the sandbox refuses what it must."""

from __future__ import annotations

import keyword

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from compiler.errors import CompileError, Location
from compiler.model import Template
from compiler.render import ENV, compile_template
from tests.helpers import examples


def tpl(text: str) -> Template:
    return Template(text, Location("t.yaml", 1, 1), 1, 1)


def render(text: str, context: dict) -> str:
    return compile_template(tpl(text), "instruction")(context)


# The fast path against plain Jinja ----------------------------------------------------------------

# Names a spec may use (the ident pattern ^[a-z0-9][a-z0-9_]*$ allows all of these), names
# that Jinja treats specially somewhere, and the names of dict and str methods.
SPECIAL = ["self", "loop", "caller", "kwargs", "varargs", "range", "dict", "true", "none"]
METHODS = ["values", "items", "keys", "get", "copy", "upper", "format"]
NAMES = ["brand", "caption", "context", "lang", "name", "text", "vars", "a", "b"]
identifiers = st.one_of(
    st.sampled_from(NAMES),
    st.sampled_from(SPECIAL),
    st.sampled_from(METHODS),
    st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True).filter(
        lambda n: not keyword.iskeyword(n)
    ),
)
scalars = st.one_of(
    st.text(max_size=12),
    st.text(max_size=12),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(identifiers, inner, max_size=4)
    ),
    max_leaves=12,
)
# `self` is the one name Jinja binds itself at the top of every template (the template
# reference): only there do the paths differ, the fast path reading the context's `self`.
# compiler/resolve.py refuses `self` as a binding name, so no spec can put it in a context.
binding_names = st.one_of(st.sampled_from(SPECIAL), identifiers).filter(lambda n: n != "self")
contexts = st.dictionaries(binding_names, values, max_size=5)
# Literal text: anything but "{" (which could open a tag), with the newlines, tabs and
# non-ASCII letters that Jinja's lexer normalises or must keep.
literals = st.lists(
    st.one_of(
        st.text(st.characters(blacklist_characters="{", blacklist_categories=("Cs",)), max_size=4),
        st.sampled_from(["\n", "\r\n", "\r", "\t", " ", "}", "%", "#", "ไทย", "☕"]),
    ),
    max_size=4,
).map("".join)


def _paths(value, prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], object]]:
    """Every name.attr chain through nested mappings of a context, with its value."""
    found = [(prefix, value)] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    return found


@st.composite
def templates(draw: st.DrawFn, context: dict) -> str:
    """Literal text and {{ name.attr }} lookups, mostly of paths that exist in the context."""
    existing = [path for path, _ in _paths(context, ())]
    text_paths = [path for path, value in _paths(context, ()) if isinstance(value, str)]
    # Mostly paths to text (the fast path's own case), also paths to other values (which
    # fall back to Jinja) and any path at all (a typo).
    choices = [st.lists(identifiers, min_size=1, max_size=3).map(tuple)]
    if existing:
        choices.append(st.sampled_from(existing))
    if text_paths:
        choices += [st.sampled_from(text_paths)] * 3
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        parts.append(draw(literals))
        path = draw(st.sampled_from(choices).flatmap(lambda chosen: chosen))
        left = draw(st.sampled_from(["{{ ", "{{", "{{- ", "{{+ "]))
        right = draw(st.sampled_from([" }}", "}}", " -}}", " +}}"]))
        parts.append(f"{left}{'.'.join(path)}{right}")
    parts.append(draw(literals))
    return "".join(parts)


def _plain_jinja(text: str, context: dict) -> tuple[str | None, Exception | None]:
    try:
        return ENV.from_string(text).render(context), None
    except Exception as exc:
        return None, exc


cases = contexts.flatmap(lambda context: templates(context).map(lambda text: (context, text)))


@settings(max_examples=examples(100), deadline=None)
@given(cases)
# Names Jinja gives a meaning of its own: a binding of that name must mean the same thing on
# both paths.
@example(({"brand": {"name": "CoffeeLab"}}, "{{ self }}"))
@example(({"loop": "abc", "caller": "d"}, "{{ loop }}{{ caller }}"))
@example(({"range": "r", "dict": {"a": "b"}}, "{{ range }} {{ dict.a }}"))
@example(({"brand": {"values": "v", "name": "n"}}, " {{- brand.values }}\r\n{{ brand.name -}} "))
@example(({"brand": {"name": 7}}, "{{ brand.name }}"))
@example(({"brand": {"name": None}}, "{{ brand.name }}"))
@example(({"brand": {}}, "{{ brand.values }}"))
def test_fast_path_renders_exactly_what_jinja_renders(case: tuple[dict, str]) -> None:
    context, text = case
    expected, error = _plain_jinja(text, context)
    if error is not None:
        # Jinja fails (syntax, undefined name or key, a list or None written out ...): the
        # compiled template must fail too, with a positioned CompileError and no traceback.
        with pytest.raises(CompileError):
            render(text, context)
        return
    renderer = compile_template(tpl(text), "instruction")
    assert renderer(context) == expected
    # A renderer is reused for every binding of a rule: no state may leak between calls.
    assert renderer(context) == expected


def test_fast_path_does_not_call_jinja_for_text_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure the property above exercises the fast path and not only Jinja."""
    renderer = compile_template(tpl("Hi {{ brand.name }}, {{ brand.vars.city }}!"), "output")

    def refuse(*args, **kwargs):
        raise AssertionError("Jinja was called for a plain lookup")

    monkeypatch.setattr(ENV.template_class, "generate", refuse)
    monkeypatch.setattr(ENV.template_class, "render", refuse)
    context = {"brand": {"name": "CoffeeLab", "vars": {"city": "กรุงเทพ"}}}
    assert renderer(context) == "Hi CoffeeLab, กรุงเทพ!"


def test_missing_key_on_the_fast_path_is_a_compile_error() -> None:
    renderer = compile_template(tpl("{{ brand.nmae }}"), "output")
    with pytest.raises(CompileError) as info:
        renderer({"brand": {"name": "CoffeeLab"}})
    assert "t.yaml:1:" in str(info.value)
    assert "nmae" in str(info.value)
    with pytest.raises(CompileError):
        renderer({})


# The sandbox -------------------------------------------------------------------------------------

CONTEXT = {"x": {"a": "1"}, "brand": {"name": "CoffeeLab", "tone": ["warm"]}}


@pytest.mark.parametrize(
    "text",
    [
        # attribute escapes, directly, through filters and through string formatting
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__class__ }}",
        "{{ brand.name.__class__.__base__ }}",
        "{{ x|attr('__class__') }}",
        "{{ x|attr('__init__')|attr('__globals__') }}",
        "{{ self.__init__.__globals__ }}",
        "{{ '%s'|format(x.__class__) }}",
        "{{ '%s'|format(x|attr('__class__')) }}",
        "{{ '%s %s'|format(brand, brand.__class__.__mro__) }}",
        "{{ '{0.__class__}'.format(x) }}",
        "{{ '{0.__class__.__mro__}'.format('') }}",
        "{{ '{x.__class__}'.format_map({'x': x}) }}",
        # memory: ranges, repetition, powers, padding widths, output size
        "{{ range(10**9)|length }}",
        "{% for i in range(10**9) %}{% endfor %}",
        "{{ 'a' * 10**9 }}",
        "{{ ('a' * 10**9)|length }}",
        "{{ 10**9 * 'a' }}",
        "{{ (['a'] * 10**9)|length }}",
        "{{ 2**(10**9) }}",
        "{{ ('%2000000s'|format('a'))|length }}",
        "{{ ('%.2000000f'|format(1))|length }}",
        "{{ ('{:>2000000}'.format('a'))|length }}",
        "{{ ('{:>{w}}'.format('a', w=2000000))|length }}",
        "{{ ('a'|center(2000000))|length }}",
        "{{ ('a'.ljust(2000000))|length }}",
        "{% for i in range(100000) %}{{ 'a' * 100 }}{% endfor %}",
        # no mutation of shared bindings (one record's template could change another's)
        "{{ x.update({'a': '2'}) }}",
        "{{ x.clear() }}",
        "{{ brand.tone.append('loud') }}",
        # removed globals and filters
        "{{ [1, 2]|random }}",
        "{{ lipsum() }}",
        "{{ lipsum(1, false, 1, 1) }}",
        "{{ cycler('a').next() }}",
        "{{ joiner()() }}",
        "{{ namespace(a='1').a }}",
    ],
)
def test_sandbox_refuses(text: str) -> None:
    context = {"x": {"a": "1"}, "brand": {"name": "CoffeeLab", "tone": ["warm"]}}
    with pytest.raises(CompileError) as info:
        render(text, context)
    assert str(info.value).startswith("t.yaml:")
    # Nothing was changed in place.
    assert context == CONTEXT


@pytest.mark.parametrize(
    "text",
    [
        "{% set s = 'a' * 1000000 %}{{ (s ~ s)|length }}",
        "{% set s = 'a' * 1000000 %}{{ (s + s)|length }}",
        "{% set l = range(100000)|list * 10 %}{{ (l + l)|length }}",
        # The shape of the attack: each call doubles the string, so `grow('a' * 1000, 40)`
        # would ask for a terabyte while writing nothing out. 12 levels (4 MB) show it safely.
        "{% macro grow(s, n) %}{% if n %}{{ grow(s ~ s, n - 1) }}{% endif %}{% endmacro %}"
        "{{ grow('a' * 1000, 12) }}",
    ],
)
def test_sandbox_bounds_concatenation(text: str) -> None:
    """`~` and `+` build values over the size limit as surely as `*` does."""
    with pytest.raises(CompileError):
        render(text, {})


def test_removed_globals_and_filters_are_absent() -> None:
    assert "random" not in ENV.filters
    for name in ("lipsum", "cycler", "joiner", "namespace"):
        assert name not in ENV.globals


@pytest.mark.parametrize(
    ("text", "brand", "expected"),
    [
        ("{{ brand.values }}", {"values": "craft"}, "craft"),
        ("{{ brand.values|join(', ') }}", {"values": ["craft", "freshness"]}, "craft, freshness"),
        ("{{ brand.values[1] }}", {"values": ["craft", "freshness"]}, "freshness"),
        ("{{ brand.items }}", {"items": "beans"}, "beans"),
        ("{{ brand.keys|upper }}", {"keys": "k"}, "K"),
        ("{{ brand.get }}", {"get": "got"}, "got"),
        ("{{ brand.copy.text }}", {"copy": {"text": "hello"}}, "hello"),
        ("{% for v in brand.values %}{{ v }};{% endfor %}", {"values": ["a", "b"]}, "a;b;"),
    ],
)
def test_mapping_keys_win_over_dict_methods(text: str, brand: dict, expected: str) -> None:
    assert render(text, {"brand": brand}) == expected


@pytest.mark.parametrize(
    "text", ["{{ brand.values }}", "{{ brand.items }}", "{{ brand.name.upper }}"]
)
def test_a_method_is_not_text(text: str) -> None:
    """Without a key of that name, `brand.values` is dict.values: writing it out would put
    "<built-in method values of dict object at 0x7f...>" into a record, an address that
    changes from run to run. It must be refused like a list or None."""
    with pytest.raises(CompileError):
        render(text, {"brand": {"name": "CoffeeLab"}})
