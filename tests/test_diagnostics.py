"""The error type: pickling across processes, the Collector's limit and the count shown; hints."""

from __future__ import annotations

import pickle

from click.testing import CliRunner

from compiler import cli
from compiler.errors import Collector, CompileError, Diagnostic, Location, fail
from compiler.hints import closest, suggest


def test_compile_error_survives_pickling() -> None:
    """Errors raised in worker processes (or a distributed runner) arrive as themselves."""
    error = CompileError(
        [
            Diagnostic(Location("specs/tasks/b.yaml", 3, 5), "second", "fix it"),
            Diagnostic(Location("specs/tasks/a.yaml", 1, 1), "first"),
        ],
        more=7,
    )
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is CompileError
    assert again.diagnostics == error.diagnostics
    assert again.more == 7
    assert str(again) == str(error) == error.render()


def test_collector_keeps_the_first_and_counts_the_rest() -> None:
    errors = Collector(limit=3)
    for n in range(5):
        errors.add(Location("f.yaml", n + 1, 1), f"problem {n}", "hint")
    errors.extend_all([Diagnostic(Location("g.yaml"), "more", "hint")] * 2, more=4)
    errors.extend(CompileError(Diagnostic(Location("h.yaml"), "one", "hint"), more=1))
    assert [d.message for d in errors.diagnostics] == ["problem 0", "problem 1", "problem 2"]
    assert errors.more == 2 + 2 + 4 + 1 + 1
    try:
        errors.raise_if_any()
    except CompileError as exc:
        assert (len(exc.diagnostics), exc.more) == (3, 10)
    else:
        raise AssertionError("no error raised")


def test_the_count_says_how_many_were_not_shown(case, monkeypatch) -> None:
    def many(*args: object, **kwargs: object) -> None:
        errors = Collector(limit=2)
        for n in range(5):
            errors.add(Location("specs/tasks/t.yaml", n + 1, 3), f"bad {n}", "fix")
        errors.raise_if_any()

    monkeypatch.setattr("compiler.pipeline.build", many)
    project = case("minimal")
    result = CliRunner().invoke(cli.main, ["build", "-C", str(project)], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "5 errors (3 more not shown)"


def test_fail_makes_one_diagnostic() -> None:
    error = fail(Location("specs/dataset.yaml", 2, 7), "bad seed", "write a number")
    assert error.render() == "specs/dataset.yaml:2:7: error: bad seed\n  hint: write a number"
    assert error.more == 0


def test_first_definition_reports_each_later_one() -> None:
    errors, seen = Collector(), {}
    here, there = Location("a.yaml", 2, 5), Location("b.yaml", 4, 1)
    assert errors.first_definition(seen, "x", here, "id 'x'", "rename one")
    assert not errors.first_definition(seen, "x", Location("a.yaml", 9, 5), "id 'x'", "rename one")
    assert errors.first_definition(seen, "y", there, "id 'y'", "rename one")
    assert not errors.first_definition(seen, "y", here, "id 'y'", "rename one")
    assert seen == {"x": here, "y": there}
    assert [d.render() for d in errors.diagnostics] == [
        "a.yaml:9:5: error: duplicate id 'x' (first defined at line 2)\n  hint: rename one",
        "a.yaml:2:5: error: duplicate id 'y' (first defined at b.yaml:4:1)\n  hint: rename one",
    ]


def test_hints_do_not_depend_on_the_order_of_the_choices() -> None:
    choices = ["brand", "brands", "bland", "contexts", "topic"]
    for order in (choices, choices[::-1], sorted(choices)):
        assert closest("brnds", order) == "brands"
        assert closest("bran", order) == "brand"
        assert suggest("contxts", order) == "did you mean 'contexts'?"
    assert closest("zzz", choices) is None
    assert closest("tpic", ["topic"], cutoff=0.9) is None
    assert suggest("zzz", ("b", "a")) == "expected one of: a, b"
    assert suggest("zzz", ()) == ""
