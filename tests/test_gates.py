"""The gates of issue 9 that are about text and totals: the text gate (compiler.text), identifier
patterns with JSON Schema's meaning of `$`, the output budget, hints on every error, and the
last-resort handler that keeps tracebacks from the user."""

from __future__ import annotations

import ast
import json
import re
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from compiler import cli
from compiler.cli import main
from compiler.clibase import EX_SOFTWARE
from compiler.errors import Collector, CompileError, Diagnostic, Location, showable
from compiler.model import DEFAULT_MAX_OUTPUT_BYTES
from compiler.pipeline import build
from compiler.text import check_tree, refused_character, refused_strings
from compiler.validate import ecma_pattern, validator
from tests.helpers import CASES, ROOT, copy_project, read_tree

PACKAGE = ROOT / "compiler"
SCHEMAS = PACKAGE / "schemas"

# Every code point, lone surrogates included (hypothesis leaves them out by default).
ANY_CHARACTER = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())


# The text gate


@given(st.text(alphabet=ANY_CHARACTER, max_size=40))
def test_the_gate_refuses_exactly_what_cannot_be_written(text: str) -> None:
    """A text passes exactly when it encodes as UTF-8 and holds no NUL."""
    try:
        text.encode("utf-8")
        writable = "\x00" not in text
    except UnicodeEncodeError:
        writable = False
    assert (refused_character(text) is None) == writable


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("plain ascii", None),
        ("ไทย \U0001f600 \u2028 \x1b \t", None),  # other controls are content: JSON escapes them
        ("a\x00b", "\x00"),
        ("tea\ud800", "\ud800"),
        ("\udfff", "\udfff"),
        ("é\x00\ud800", "\ud800"),
        ("é\x00", "\x00"),
    ],
)
def test_refused_character(text: str, refused: str | None) -> None:
    assert refused_character(text) == refused


def test_the_walk_finds_keys_and_values_at_any_depth() -> None:
    value = {"ok": ["x", {"in\ud800": 1, "deep": [["\x00"]]}], "fine": "y"}
    found = {(path, is_key, char) for path, is_key, _, char in refused_strings(value)}
    assert found == {
        (("ok", 1, "in\ud800"), True, "\ud800"),
        (("ok", 1, "deep", 0, 0), False, "\x00"),
    }


def test_the_walk_does_not_recurse() -> None:
    """Nesting costs no Python recursion (the readers bound depth, the gate need not rely on it)."""
    deep: list = ["\x00"]
    for _ in range(5000):
        deep = [deep]
    errors = Collector()
    check_tree(deep, lambda path, key: Location("f", 1, 1), errors)
    assert len(errors.diagnostics) == 1


def _write_minimal(tmp_path: Path) -> Path:
    return copy_project(CASES / "minimal", tmp_path / "project")


@pytest.mark.parametrize(
    "template",
    [
        '{{ "\\ud800" }}',  # a Jinja string escape
        '{{ "%c" % 55296 }}',  # %-formatting of a code point
        '{{ "\\x00" }}',
        '{{ "%c" % 0 }}',
        "{{ topic ~ '\\udc00' }}",
        '{{ ["\\ud800"] | join }}',
    ],
)
def test_rendered_text_passes_the_gate(tmp_path: Path, template: str) -> None:
    """What a template makes is checked before it is hashed: a located error, not a crash."""
    project = _write_minimal(tmp_path)
    task = project / "specs/tasks/caption.yaml"
    text = task.read_text(encoding="utf-8")
    text = text.replace(
        '    output: "{{ brand.name }} serves',
        "    output: '" + template.replace("'", "''") + "{{ brand.name }} serves",
    ).replace('lower }}."', "lower }}.'")
    task.write_text(text, encoding="utf-8")
    with pytest.raises(CompileError) as caught:
        build(project)
    [diagnostic] = caught.value.diagnostics
    assert str(diagnostic.location) == "specs/tasks/caption.yaml:9:13"
    assert re.fullmatch(
        r"output of record caption\.basic\.\w+ holds a .+ \(U\+\w{4}\)", diagnostic.message
    )
    assert diagnostic.hint
    assert not (project / "build").exists()


@given(st.text(alphabet=ANY_CHARACTER, max_size=30), st.text(alphabet=ANY_CHARACTER, max_size=30))
def test_a_diagnostic_is_two_printable_lines_whatever_it_quotes(message: str, hint: str) -> None:
    """Project text in a message cannot start a line (a CI log command such as `::error::`),
    move the terminal's cursor, reorder what is shown, or fail to encode."""
    text = Diagnostic(Location(message, 1, 1), message, hint or "h").render()
    first, second = text.split("\n")
    assert first.startswith(showable(message)) and second.startswith("  hint: ")
    acting = {"Cc", "Zl", "Zp", "Cs"}  # controls, line/paragraph separators, surrogates
    bidi = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    shown = first + second
    assert not [c for c in shown if unicodedata.category(c) in acting or c in bidi]
    text.encode("utf-8")


# Identifier patterns


def _patterns(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


ALL_PATTERNS = sorted(
    {p for path in SCHEMAS.glob("*.json") for p in _patterns(json.loads(path.read_text()))}
)


def test_every_schema_pattern_is_anchored_at_both_ends() -> None:
    """Names are whole-text matches; the validator reads the final `$` as the end of the text."""
    assert ALL_PATTERNS
    for pattern in ALL_PATTERNS:
        assert pattern.startswith("^") and pattern.endswith("$"), pattern
        assert ecma_pattern(pattern).pattern.endswith(r"\Z"), pattern


@pytest.mark.parametrize("pattern", ALL_PATTERNS)
@pytest.mark.parametrize("tail", ["\n", "\r\n", "\n\n"])
def test_no_pattern_accepts_a_trailing_newline(pattern: str, tail: str) -> None:
    ident = "output" if "output" in pattern else "basic"
    assert ecma_pattern(pattern).search(ident)
    assert not ecma_pattern(pattern).search(ident + tail)
    assert re.search(pattern, ident + "\n"), "Python's own $ would have let it through"


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        (r"^a$", "a", True),
        (r"^a$", "a\n", False),
        (r"^[$]$", "$", True),  # `$` inside a class is a dollar sign
        (r"^a\$$", "a$", True),  # an escaped `$` too
        (r"^a\$$", "a$\n", False),
        (r"^(x|y)$", "y\n", False),
    ],
)
def test_ecma_pattern(pattern: str, text: str, matches: bool) -> None:
    assert bool(ecma_pattern(pattern).search(text)) == matches


@pytest.mark.parametrize(
    ("kind", "document", "path"),
    [
        (
            "task",
            {"task": "caption\n", "rules": [{"id": "a", "instruction": "", "output": ""}]},
            ["task"],
        ),
        (
            "task",
            {"task": "c", "rules": [{"id": "basic\n", "instruction": "", "output": ""}]},
            ["rules", 0, "id"],
        ),
        ("brand", {"id": "acme\n", "name": "Acme"}, ["id"]),
        ("contexts", {"contexts": [{"id": "launch\n"}]}, ["contexts", 0, "id"]),
        (
            "dataset",
            {"name": "n", "seed": 1, "split": {"stratify_by": ["task\n"]}},
            ["split", "stratify_by", 0],
        ),
        ("dataset", {"name": "n", "seed": 1, "collections": {"topics\n": []}}, ["collections"]),
        (
            "task",
            {
                "task": "c",
                "rules": [
                    {"id": "a", "instruction": "", "output": "", "metadata": {"lang\n": "x"}}
                ],
            },
            ["rules", 0, "metadata"],
        ),
        (
            "task",
            {
                "task": "c",
                "rules": [
                    {"id": "a", "instruction": "", "output": "", "each": {"t": "brand.tone\n"}}
                ],
            },
            ["rules", 0, "each", "t"],
        ),
    ],
)
def test_identifiers_with_a_trailing_newline_are_refused(
    kind: str, document: dict, path: list
) -> None:
    errors = list(validator(kind).iter_errors(document))
    assert [list(e.absolute_path) for e in errors] == [path]


# The output budget


def _output_bytes(build_dir: Path) -> int:
    return sum(p.stat().st_size for p in build_dir.rglob("*.jsonl"))


def _with_limits(project: Path, limits: str) -> None:
    dataset = project / "specs/dataset.yaml"
    dataset.write_text(dataset.read_text(encoding="utf-8") + limits, encoding="utf-8")


def test_the_budget_counts_exactly_the_bytes_written(tmp_path: Path) -> None:
    """Every kept record counted once per file it is written to: a budget of exactly the
    build's size passes, one byte less stops it before anything is written."""
    reference = _write_minimal(tmp_path / "a")
    build(reference)
    size = _output_bytes(reference / "build")
    exact = _write_minimal(tmp_path / "b")
    _with_limits(exact, f"limits:\n  max_output_bytes: {size}\n")
    build(exact)
    records = {k: v for k, v in read_tree(exact / "build").items() if k.endswith(".jsonl")}
    assert records == {
        k: v for k, v in read_tree(reference / "build").items() if k.endswith(".jsonl")
    }
    short = _write_minimal(tmp_path / "c")
    _with_limits(short, f"limits:\n  max_output_bytes: {size - 1}\n")
    with pytest.raises(CompileError) as caught:
        build(short)
    [diagnostic] = caught.value.diagnostics
    assert str(diagnostic.location) == "specs/dataset.yaml:6:21"
    assert f"more than {size - 1} bytes (limits.max_output_bytes)" in diagnostic.message
    assert not (short / "build").exists() and not (short / "build.staging").exists()


def test_over_budget_keeps_the_previous_build_and_points_at_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the default budget (here made small) the error points at the top of
    specs/dataset.yaml, which has no limits key to point at."""
    project = _write_minimal(tmp_path)
    build(project)
    before = read_tree(project / "build")
    monkeypatch.setattr("compiler.configure.DEFAULT_MAX_OUTPUT_BYTES", 500)
    with pytest.raises(CompileError) as caught:
        build(project)
    [diagnostic] = caught.value.diagnostics
    assert str(diagnostic.location) == "specs/dataset.yaml:1:1"
    assert "more than 500 bytes" in diagnostic.message
    assert "passing it at record caption.basic." in diagnostic.message
    assert read_tree(project / "build") == before
    assert not (project / "build.staging").exists()


def test_the_budget_stops_at_the_same_record_with_worker_processes(tmp_path: Path) -> None:
    """Counted in id order in the main process: the same error for any number of workers."""
    project = _write_minimal(tmp_path)
    dataset = project / "specs/dataset.yaml"
    topics = ", ".join(f"t{i}" for i in range(5000))
    dataset.write_text(
        dataset.read_text(encoding="utf-8").replace("[coffee, tea]", f"[{topics}]")
        + "limits:\n  max_output_bytes: 1500000\n",
        encoding="utf-8",
    )
    found = []
    for jobs in (1, 2):
        with pytest.raises(CompileError) as caught:
            build(project, jobs=jobs)
        found.append(caught.value.render())
        assert not (project / "build").exists() and not (project / "build.staging").exists()
    assert found[0] == found[1]
    assert "specs/dataset.yaml:6:21: error: the build would write more than 1500000" in found[0]


def test_the_default_budget_is_documented() -> None:
    spec = (ROOT / "docs/spec-language.md").read_text(encoding="utf-8")
    assert f"max_output_bytes: {DEFAULT_MAX_OUTPUT_BYTES}" in spec
    assert "4 GiB" in spec


# Hints


def _makes_a_diagnostic(func: ast.expr) -> bool:
    """fail(...), Diagnostic(...) or errors.add(...) (a Collector's add)."""
    if isinstance(func, ast.Name):
        return func.id in ("fail", "Diagnostic")
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "add"
        and isinstance(func.value, ast.Name)
        and "error" in func.value.id
    )


def _diagnostic_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _makes_a_diagnostic(node.func)
    ]


# The template sandbox branch of issue 9 owns render.py and gives its template errors their
# hint there: remove this entry when the branches are merged.
HINT_PENDING: set[tuple[str, str]] = set()


def test_every_diagnostic_in_the_source_passes_a_hint() -> None:
    """No fail(), Diagnostic() or errors.add() without a hint, or with an empty one."""
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for call in _diagnostic_calls(ast.parse(path.read_text(encoding="utf-8"))):
            hint = call.args[2] if len(call.args) >= 3 else None
            hint = next((k.value for k in call.keywords if k.arg == "hint"), hint)
            if hint is None or (isinstance(hint, ast.Constant) and not hint.value):
                text = ast.unparse(call)
                if not any(path.name == f and m in text for f, m in HINT_PENDING):
                    missing.append(f"{path.relative_to(ROOT)}:{call.lineno}: {text[:80]}")
    assert not missing


# The last-resort handler


def _bug(*args: object, **kwargs: object) -> None:
    raise ZeroDivisionError("an injected bug \ud800")


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["build", "--force"], "compiler.pipeline.build"),
        (["check"], "compiler.pipeline.build"),
        (["explain", "caption.basic.0"], "compiler.pipeline.load_project"),
        (["diff", "build", "build"], "compiler.readback.read_folder"),
    ],
)
def test_a_bug_is_an_internal_error_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], target: str
) -> None:
    project = _write_minimal(tmp_path)
    build(project)
    monkeypatch.chdir(project)
    monkeypatch.delenv("DSC_TRACEBACK", raising=False)
    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(__import__(module, fromlist=[name]), name, _bug)
    result = CliRunner().invoke(
        main, [*command, "-C", str(project)] if command[0] != "diff" else command
    )
    assert result.exit_code == EX_SOFTWARE
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "dsc: internal error: ZeroDivisionError: an injected bug \\ud800"
    assert "bug in dsc" in lines[1] and cli.__version__ in lines[1]
    assert "report" in lines[2] and "DSC_TRACEBACK=1" in lines[2]
    assert result.stdout == ""


def test_dsc_traceback_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _write_minimal(tmp_path)
    monkeypatch.setenv("DSC_TRACEBACK", "1")
    monkeypatch.setattr("compiler.pipeline.build", _bug)
    result = CliRunner().invoke(main, ["build", "-C", str(project)])
    assert result.exit_code == EX_SOFTWARE
    assert "Traceback (most recent call last)" in result.stderr
    assert "dsc: internal error: ZeroDivisionError" in result.stderr


def test_interrupts_usage_errors_and_user_errors_keep_their_behaviour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _write_minimal(tmp_path)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    def user_error(*args: object, **kwargs: object) -> None:
        raise CompileError([])

    monkeypatch.setattr("compiler.pipeline.build", interrupted)
    result = CliRunner().invoke(main, ["build", "-C", str(project)])
    assert result.exit_code == 1 and "Aborted" in result.stderr
    assert "internal error" not in result.stderr
    result = CliRunner().invoke(main, ["build", "--no-such-option"])
    assert result.exit_code == 2 and "internal error" not in result.stderr
    monkeypatch.setattr("compiler.pipeline.build", user_error)
    result = CliRunner().invoke(main, ["build", "-C", str(project)])
    assert result.exit_code == 1 and "internal error" not in result.stderr


def test_a_closed_pipe_ends_quietly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`dsc diff | head`: the reader went away; that is no bug to report."""

    def closed(*args: object, **kwargs: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("compiler.pipeline.build", closed)
    result = CliRunner().invoke(main, ["build", "-C", str(_write_minimal(tmp_path))])
    assert result.exit_code == 1
    assert result.stderr == ""


# What dsc diff and dsc explain show


HOSTILE = "a\n::error::x\x1b[2J\u202e\x85"


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_diff_shows_hostile_build_text_as_escapes(tmp_path: Path, fmt: str) -> None:
    """A committed build (from a pull request) cannot act on the terminal or the CI log."""
    old, new = tmp_path / "old", tmp_path / "new"
    record = {"id": "r", "instruction": "i", "input": "", "output": "o", "metadata": {}}
    for folder, changed in ((old, {}), (new, {"instruction": HOSTILE, "output": "o\tx"})):
        folder.mkdir()
        lines = [
            json.dumps({**record, **changed}, ensure_ascii=False),
            json.dumps({**record, "id": HOSTILE if folder == new else "gone"}, ensure_ascii=False),
        ]
        (folder / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(old), str(new), "--format", fmt])
    assert result.exit_code == 0, result.output
    shown = result.stdout
    assert "\\x1b" in shown and "\\u202e" in shown and "\\x85" in shown
    assert not [line for line in shown.split("\n") if line.lstrip().startswith("::")]
    assert not [
        c for c in shown if unicodedata.category(c) in ("Cc", "Zl", "Zp") and c not in "\n\t"
    ]
