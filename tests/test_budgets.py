"""Every template bound becomes a located error in bounded time and memory, whatever the type.

Hostile templates run as `dsc build` in a process whose address space is capped at 1 GiB
(so a bound that fails cannot take the machine down); its timeout only catches a
hang, it asserts nothing about speed. The fuzz test renders random small expressions: the
only outcomes are text or a CompileError.
"""

from __future__ import annotations

import functools
import resource
import signal
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import budget, pipeline
from compiler.budget import CLOCK, record_budgets, weight
from compiler.errors import CompileError, Location
from compiler.model import Template
from compiler.render import compile_template
from tests import forked
from tests.helpers import CASES, copy_project, examples, hang_guard

GIB = 1 << 30
HANG_SECONDS = 120  # only to end a hang; the bounds themselves act in well under a second
OUTPUT = 'output: "{{ brand.name }} serves fresh {{ topic }} for your {{ context.name | lower }}."'

# name -> (output template, extra lines for specs/dataset.yaml, the message after "error: ")
HOSTILE = {
    "tuple": (
        "{{ (('a',) * 10**9)|length }}",
        "",
        "unsafe operation in output: repetition result is too large (2000000000 > 1000000)",
    ),
    "list_of_long_strings": (
        "{{ (['a' * 999999] * 3000)|join }}",
        "",
        "unsafe operation in output: repetition result is too large (3000000000 > 1000000)",
    ),
    "bytes": (
        "{{ ('a'.encode() * 10**9)|length }}",
        "",
        "unsafe operation in output: access to attribute 'encode' of 'str' object is unsafe",
    ),
    "int_to_bytes": (
        "{{ (1).to_bytes(10**9, 'big')|length }}",
        "",
        "unsafe operation in output: access to attribute 'to_bytes' of 'int' object is unsafe",
    ),
    "str_format": (
        "{{ ('{0}' * 3000).format('a' * 1000000)|length }}",
        "",
        "unsafe operation in output: format result is too large (1009000 > 1000000)",
    ),
    "percent_format": (
        "{{ (('%(a)s' * 3000) % {'a': 'a' * 999990})|length }}",
        "",
        "unsafe operation in output: '%' format result is too large (1014990 > 1000000)",
    ),
    "translate": (
        "{{ ('a' * 1000).translate({97: 'b' * 999000})|length }}",
        "",
        "unsafe operation in output: access to attribute 'translate' of 'str' object is unsafe",
    ),
    "join_attribute": (
        "{{ ([{'x': 'a' * 999000}] * 3000)|join(attribute='x')|length }}",
        "",
        "unsafe operation in output: repetition result is too large (2997009000 > 1000000)",
    ),
    "nested_literals": (
        "{% set a = ['a' * 1000] %}" + "{% set a = [a, a] %}" * 24 + "{{ a|string|length }}",
        "",
        "unsafe operation in output: list result is too large (1001000 > 1000000)",
    ),
    "macro_calls_itself_twice": (
        "{% macro grow(n) %}{% if n %}{{ grow(n - 1) }}{{ grow(n - 1) }}{% endif %}"
        "{% endmacro %}{{ grow(24) }}",
        "",
        "unsafe operation in output: macros are called more than 10000 times in one template",
    ),
    "macro_recursion": (
        "{% macro deeper(n) %}{{ deeper(n + 1) }}{% endmacro %}{{ deeper(0) }}",
        "",
        "unsafe operation in output: macros call each other more than 64 levels deep",
    ),
    "power_tower": (
        "{{ ((((10**64)**64)**64)**64) % 7 }}",
        "",
        "unsafe operation in output: power result is too large (870848 bits > 65536)",
    ),
    "int_multiplication": (
        "{% set n = 10**4000 %}{{ (n * n * n * n * n * n) % 7 }}",
        "",
        "unsafe operation in output: multiplication result is too large (66439 bits > 65536)",
    ),
    "range_sum": (
        "{{ range(100000)|sum }}",
        "",
        "unsafe operation in output: filters walk more than 100000 items in one template",
    ),
    "cpu_time": (
        "{% for i in range(99999) %}{{ ('ab' * 400000)|upper|lower|length }}{% endfor %}",
        "limits: {max_record_cpu_seconds: 0.25}",
        "template in output took more than 0.25 s of CPU time for record caption.basic.",
    ),
    "memory": (
        "{% macro hold(n, s) %}{% if n %}{{ hold(n - 1, s ~ n) }}{% endif %}{% endmacro %}"
        "{{ hold(60, '☕' * 999000) }}",
        "limits: {max_memory_mib: 64}",
        "template in output needed more than 64 MiB of memory for record caption.basic.",
    ),
}

# dsc runs in a process that can never hold more than 1 GiB.
ONE_GIB = [(resource.RLIMIT_AS, GIB)]


def hostile_project(folder: Path, output: str, limits: str) -> Path:
    project = copy_project(CASES / "minimal", folder / "project")
    task = project / "specs/tasks/caption.yaml"
    # A single-quoted YAML scalar: the template's double quotes and backslashes stay as is.
    quoted = "'" + output.replace("'", "''") + "'"
    task.write_text(task.read_text().replace(OUTPUT, f"output: {quoted}"))
    if limits:
        dataset = project / "specs/dataset.yaml"
        dataset.write_text(dataset.read_text() + limits + "\n")
    return project


def run_build(project: Path, jobs: int = 1, **options) -> subprocess.CompletedProcess[str]:
    return forked.run(
        "build", "-C", project, "--jobs", str(jobs), limits=ONE_GIB, timeout=HANG_SECONDS, **options
    )


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_template_is_a_located_error(tmp_path: Path, name: str) -> None:
    output, limits, message = HOSTILE[name]
    project = hostile_project(tmp_path, output, limits)
    result = run_build(project)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr
    first, hint = result.stderr.splitlines()[:2]
    assert first.startswith("specs/tasks/caption.yaml:9:"), first
    assert first.split(": error: ", 1)[1].startswith(message), first
    assert hint.startswith("  hint: ")
    assert not (project / "build").exists()


@pytest.mark.parametrize("name", ["cpu_time", "memory", "macro_calls_itself_twice"])
def test_budgets_hold_in_worker_processes(tmp_path: Path, name: str) -> None:
    """Forked workers arm the same clock and cap: the same error for the same record."""
    output, limits, _ = HOSTILE[name]
    project = hostile_project(tmp_path, output, limits)
    alone = run_build(project, jobs=1)
    # One record per run, so that every record is rendered in a forked worker.
    one = functools.partial(pipeline.build, run_size=1)
    workers = run_build(project, jobs=2, patches=[("compiler.pipeline", "build", one)])
    assert alone.returncode == workers.returncode == 1, workers.stderr
    assert workers.stderr == alone.stderr
    assert "Traceback" not in workers.stderr


# In-process: what stays allowed, and bounds on values that come from the spec ---------------------


def render(text: str, context: dict) -> str:
    return compile_template(Template(text, Location("t.yaml", 1, 1), 1, 1), "output")(context)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ 'a b'.split()|join('-') }}", "a-b"),
        ("{{ 'Tea'.upper() }}{{ 'Tea'.lower() }}{{ ' t '.strip() }}", "TEAteat"),
        (
            "{{ 'y' if 'tea'.startswith('t') }} {{ 'tea'.count('e') }} "
            "{{ 'a-b'.partition('-')[2] }}",
            "y 1 b",
        ),
        ("{{ '{} {}'.format('a', 'b') }} {{ '{x}'.format_map({'x': 1}) }}", "a b 1"),
        ("{{ '%s=%d' % ('a', 1) }} {{ '%(k)s'|format(k='v') }}", "a=1 v"),
        ("{{ brand.tone.index('calm') }} {{ brand.keys()|list|length }}", "1 2"),
        ("{{ brand.get('name') }} {{ (brand.items()|list)[0][0] }}", "Acme name"),
        ("{{ (('<b>{}</b>'|safe).format('<')) }}", "<b>&lt;</b>"),
        (
            "{{ 2 ** 64 }} {{ (10 ** 300) % 7 }} {{ 'n' if not 1.5.is_integer() }}",
            "18446744073709551616 1 n",
        ),
        ("{{ (['a'] * 3)|join }} {{ (('a',) + ('b',))|join }} {{ 'ab' * 2 }}", "aaa ab abab"),
        ("{% for i in range(3) %}{{ i }}{% endfor %}", "012"),
    ],
)
def test_ordinary_templates_still_render(text: str, expected: str) -> None:
    context = {"brand": {"name": "Acme", "tone": ["warm", "calm"]}}
    assert render(text, context) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ rows|join(attribute='text')|length }}", "join result is too large"),
        ("{{ rows|map(attribute='text')|join|length }}", "join result is too large"),
        ("{{ (rows|map(attribute='text')|list|string)|length }}", "list result is too large"),
        ("{{ ('%s' % rows)|length }}", "'%' format result is too large"),
        ("{{ '{}'.format(rows)|length }}", "format result is too large"),
        ("{{ (rows ~ '')|length }}", "concatenation result is too large"),
    ],
)
def test_values_from_the_spec_are_bounded_where_they_are_used(text: str, message: str) -> None:
    """Spec data is not weighed when it is bound, only where a template turns it into more."""
    long_text = "x" * 600_000
    rows = [{"text": long_text} for _ in range(100)]
    with pytest.raises(CompileError) as info:
        render(text, {"rows": rows})
    assert message in str(info.value)


# The mechanisms themselves ------------------------------------------------------------------------


def test_cpu_budget_restores_the_previous_handler_and_timer() -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGPROF, mine)
    signal.setitimer(signal.ITIMER_PROF, 50, 50)
    try:
        with budget.cpu_budget(1):
            assert signal.getsignal(signal.SIGPROF) is not mine
        assert signal.getsignal(signal.SIGPROF) is mine
        remaining, interval = signal.getitimer(signal.ITIMER_PROF)
        assert 0 < remaining <= 51 and interval == 50  # rounded to clock ticks
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    with budget.cpu_budget(1):
        pass
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)


def test_memory_cap_restores_the_previous_limit() -> None:
    before = resource.getrlimit(resource.RLIMIT_AS)
    with budget.memory_cap(256):
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        assert soft != resource.RLIM_INFINITY and hard == before[1]
    assert resource.getrlimit(resource.RLIMIT_AS) == before


def test_cpu_budget_counts_per_record() -> None:
    """Many short records never add up to one long one: the clock restarts per record."""
    # A record takes a few ms, far below the budget; 100 of them take three times the budget.
    text = "{% for i in range(5000) %}{{ i }}{% endfor %}"
    renderer = compile_template(Template(text, Location("t.yaml", 1, 1), 1, 1), "output")
    with record_budgets(0.1, 1024):
        for _ in range(100):
            CLOCK.serial += 1
            renderer({})


def test_weight_of_a_shared_list_stops_at_the_limit() -> None:
    value: list = ["x"]
    for _ in range(200):  # 2**200 items if walked in full
        value = [value, value]
    assert budget.MAX_STRING < weight(value) <= budget.MAX_STRING + 2


def test_valid_project_builds_the_same_under_tight_budgets(tmp_path: Path) -> None:
    """The budgets only stop templates: the bytes of a valid build do not depend on them."""
    project = copy_project(CASES / "coding", tmp_path / "project")
    plain = pipeline.build(project, tmp_path / "plain")
    dataset = project / "specs/dataset.yaml"
    assert "limits:" not in dataset.read_text()
    tight_limits = "limits: {max_memory_mib: 64, max_record_cpu_seconds: 0.5}\n"
    dataset.write_text(dataset.read_text() + tight_limits)
    tight = pipeline.build(project, tmp_path / "tight", jobs=2)
    assert plain.metadata["records"] == tight.metadata["records"]
    for name in ("train.jsonl", "val.jsonl", "test.jsonl"):
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "tight" / name).read_bytes()


# Fuzz: random small expressions ------------------------------------------------------------------

LITERALS = [
    "0", "1", "-1", "7", "64", "10**9", "2**64", "999999", "1.5", "1e308", "true", "none",
    "'a'", "'ab' * 400000", "'%s'", "'{0}'", "'{:>9}'", "'%(a)s'", "''", "'☕'", "'\\t'",
    "[1, 2]", "['a', 'b']", "('a',)", "{'a': 'b'}", "range(10)", "range(100000)",
    "topic", "brand", "brand.tone", "brand.name",
]  # fmt: skip
BINARY = ["*", "**", "%", "+", "-", "/", "//", "~", "==", "in", "and", "or"]
FILTERS = [
    "upper", "lower", "string", "list", "join", "join(', ')", "sum", "sort", "unique",
    "length", "first", "last", "reverse", "center(99)", "center(10**9)", "indent(8)",
    "format('a')", "format(1, 2)", "replace('a', 'bb')", "urlencode", "tojson", "pprint",
    "batch(3)", "batch(10**9, 'x')", "slice(3)", "wordwrap(5)", "trim", "title", "int",
    "float", "abs", "round", "e", "safe", "striptags", "wordcount", "truncate(5)",
    "dictsort", "items", "map('upper')", "select", "min", "max", "bullets", "numbered",
    "default('x')", "join(attribute='a')", "attr('__class__')",
]  # fmt: skip
METHODS = [
    "upper()", "split()", "join(['a', 'b'])", "format('x', 'y')", "format_map({'a': 1})",
    "translate({97: 'b'})", "encode()", "ljust(10**9)", "replace('a', 'aa')", "count('a')",
    "to_bytes(10**9, 'big')", "bit_length()", "keys()", "items()", "index('a')",
    "expandtabs(10**6)", "zfill(99)", "startswith('a')",
]  # fmt: skip

expressions = st.recursive(
    st.sampled_from(LITERALS),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(BINARY), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, st.sampled_from(FILTERS)).map(lambda t: f"({t[0]})|{t[1]}"),
        st.tuples(inner, st.sampled_from(METHODS)).map(lambda t: f"({t[0]}).{t[1]}"),
        st.lists(inner, min_size=1, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
    ),
    max_leaves=8,
)
CONTEXT = {"topic": "coffee", "brand": {"name": "Acme", "tone": ["warm", "calm"]}}


@settings(
    max_examples=examples(250),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
@given(expressions)
def test_random_expressions_render_or_fail_cleanly(expression: str) -> None:
    """Text or a CompileError, never another exception, within the budgets of a record."""
    template = Template("{{ " + expression + " }}", Location("t.yaml", 1, 1), 1, 1)
    with hang_guard(30), record_budgets(2, 1024):
        CLOCK.serial += 1
        try:
            renderer = compile_template(template, "output")
            text = renderer(CONTEXT)
        except CompileError as exc:
            assert str(exc).startswith("t.yaml:1:"), str(exc)
        else:
            assert isinstance(text, str) and len(text) <= budget.MAX_STRING
