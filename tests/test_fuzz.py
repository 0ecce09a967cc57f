"""Fuzz: mutated spec files give a successful build or one clean CompileError, nothing else.

Starting from the valid files of tests/cases/coding, hypothesis inserts, deletes and replaces
characters, truncates files, swaps lines, puts hostile YAML values in place of scalars and
keys, or replaces a whole file with random bytes. The loader and the whole pipeline must then
either succeed or raise CompileError -- never another exception, never a hang -- and a failed
build must leave the output folder exactly as it was (absent, or the previous build). Every
error line must have the documented shape `path:line:column: error: message` (or
`path: error: ...`, `error: ...`), with hint lines `  hint: ...` after it.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.errors import CompileError
from compiler.load import load_yaml
from compiler.pipeline import build, load_project
from compiler.validate import validate
from tests.helpers import CASES, copy_project, examples, hang_guard, read_tree

SOURCE = CASES / "coding"
SPEC_FILES = {
    "specs/dataset.yaml": "dataset",
    "specs/tasks/explain_concept.yaml": "task",
    "specs/tasks/refactor.yaml": "task",
}
DATA_FILES = ("data/refactor.jsonl",)
ORIGINAL = {rel: (SOURCE / rel).read_bytes() for rel in (*SPEC_FILES, *DATA_FILES)}

HANG_SECONDS = 10  # a hard stop well above the deadline: a real hang fails instead of stalling

# 100 mutations a run (hypothesis's default; was 150, a number chosen for no bound): every run
# draws new ones, so CI covers more over time, and the 50 more cost ~4 s of `make test`.
FUZZ = settings(
    max_examples=examples(100),
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)

# One diagnostic line: `path:line:column: error: msg`, `path: error: msg` or `error: msg`.
ERROR_LINE = re.compile(
    r"^(?:(?P<file>\S+?)(?::(?P<line>[1-9]\d*):(?P<col>[1-9]\d*))?: )?"
    r"error: \S.*$"
)
HINT_LINE = re.compile(r"^  hint: \S.*$")
LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what YAML counts as a new line


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _edit(rel: str, old: str, new: str) -> tuple[str, bytes]:
    text = ORIGINAL[rel].decode("utf-8")
    assert old in text
    return rel, text.replace(old, new, 1).encode("utf-8")


# Inputs that once broke the loader or the pipeline; test_inputs_found_by_fuzzing runs each.
FOUND = {
    "when-is-an-undefined-name": _edit(
        "specs/tasks/refactor.yaml", "\"example.lang != 'skip'\"", "xyz"
    ),
    "template-nested-too-deeply": _edit(
        "specs/tasks/refactor.yaml", "{{ example.lang }}", "{{ " + "[" * 1000 + " }}"
    ),
    "data-row-nested-too-deeply": _edit(
        "data/refactor.jsonl", '"lang": "python"', '"lang": ' + _nested(5000)
    ),
    "c1-control-character": ("specs/dataset.yaml", b"\xc2\x80" + ORIGINAL["specs/dataset.yaml"]),
    "yaml-nested-too-deeply": _edit("specs/dataset.yaml", "seed: 7", "seed: " + _nested(2000)),
    "nested-loops-run-for-hours": _edit(
        "specs/tasks/explain_concept.yaml",
        "{{ verb }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
        "{{ verb }}",
    ),
}


# Values that YAML reads as something else than a plain string, hostile tags and aliases,
# template tricks, and sizes just past the limits.
YAML_VALUES = [
    "no",
    "yes",
    "on",
    "off",
    "~",
    "null",
    "",
    "''",
    '""',
    "[]",
    "{}",
    "[a, b]",
    "{a: 1}",
    "0",
    "-1",
    "010",
    "0o17",
    "0x1F",
    "1_000",
    "1:30",
    "2024-01-05",
    "2024-01-05T10:00:00Z",
    ".nan",
    ".inf",
    "-.inf",
    "1e400",
    "3.5",
    "9" * 5000,
    "!!python/object:os.system",
    "!!python/object/apply:os.system ['true']",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!str 1",
    "!!int x",
    "!!float abc",
    "!!timestamp x",
    "!custom x",
    "!<tag:example.com,2000:x> y",
    "*a",
    "&a x",
    "&a [1, 2]",
    "<<: {a: 1}",
    "{<<: {a: 1}}",
    "'unclosed",
    '"unclosed',
    '"\\ud800"',
    '"\\x00"',
    '"\\U0001F600"',
    "|",
    ">-",
    "|\n  block text\n",
    "? complex key",
    "[a, [b, [c]]]",
    "{a: {b: {c: d}}}",
    "'{{ undefined_name }}'",
    "'{{ lang.nope }}'",
    "\"{{ ''.__class__.__mro__ }}\"",
    "'{{ verb|attr(\"__class__\") }}'",
    "'{{ \"%s\"|format(verb) }}'",
    "'{% for x in %}'",
    "'{{ verb * 100000000 }}'",
    "'{{ 9 ** 99999 }}'",
    "'{{ range(10**9)|list }}'",
    "'{{ lipsum() }}'",
    "'{{ self }}'",
    "'{{ cycler }}'",
    "'{% include \"/etc/passwd\" %}'",
    "'{{ verb }'",
    "'{% if %}'",
    "'{{ keys }}'",
    "languages",
    "{file: data/refactor.jsonl}",
    "{file: ../outside.jsonl}",
    "{file: /etc/passwd}",
    "{file: data/missing.jsonl}",
    "{file: data}",
    '"x" * 3',
    "x" * 100_000,
    "'" + "y" * 200_000 + "'",
    _nested(30),
    _nested(300),
    _nested(3000),
    "\t",
    "#",
    "%YAML 1.1",
    "---",
    "...",
    "@x",
    "`x`",
    "\ufeff",
    "é",
    "\u2028",
    "\u0085",
    "\x7f",
    "\x00",
    "a: b: c",
    "- a",
    "key: value",
]

INSERTS = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(":-{}[],&*!|>'\"%@`#?\t\n \\~=.0123456789{}")),
        st.characters(codec="utf-8"),
    ),
    min_size=1,
    max_size=12,
)

# Pieces of Jinja put inside the `{{ ... }}` of a template (or inside a `when` expression).
JINJA = st.lists(
    st.sampled_from(
        [
            "{{",
            "}}",
            "{%",
            "%}",
            "{#",
            "#}",
            "|",
            "(",
            ")",
            "[",
            "]",
            ".",
            ",",
            "~",
            "*",
            "**",
            "-",
            "+",
            "/",
            "//",
            "%",
            " ",
            "'",
            '"',
            "0",
            "1",
            "-1",
            "10**9",
            "999999999",
            "verb",
            "lang",
            "example",
            "keys",
            "concept",
            "task",
            "rule",
            "loop",
            "self",
            "range",
            "upper",
            "join",
            "center",
            "format",
            "attr",
            "default",
            "list",
            "length",
            "int",
            "float",
            "not",
            "and",
            "or",
            "if",
            "else",
            "in",
            "is",
            "none",
            "true",
            "__class__",
            "_",
            "x",
            "nope",
            "e",
        ]
    ),
    min_size=1,
    max_size=6,
).map("".join)
TEMPLATE = re.compile(r"\{\{.*?\}\}|(?<=when: \")[^\"]*")

SCALAR = re.compile(r"(?<=[:\-] )[^\s,{}\[\]][^,{}\[\]\n]*|(?<=[{,] )[^,{}\[\]\n:]+(?=[,}])")
KEY = re.compile(r"(?m)(?<=^)( *)(?:- )?([A-Za-z_][\w]*)(?=:)")


@st.composite
def mutated(draw: st.DrawFn, files: tuple[str, ...]) -> tuple[str, bytes]:
    """One project file and its mutated bytes."""
    rel = draw(st.sampled_from(files))
    if draw(st.integers(0, 19)) == 0:
        return rel, draw(st.binary(max_size=2000))
    text = ORIGINAL[rel].decode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        text = draw(_mutation(text))
    encoding = draw(st.sampled_from(["utf-8"] * 8 + ["utf-8-sig", "utf-16", "latin-1"]))
    return rel, text.encode(encoding, errors="replace")


@st.composite
def _mutation(draw: st.DrawFn, text: str) -> str:
    kind = draw(
        st.sampled_from(
            [
                "insert",
                "delete",
                "replace",
                "truncate",
                "swap",
                "duplicate",
                "scalar",
                "scalar",
                "scalar",
                "key",
                "crlf",
                "tabs",
                "jinja",
                "jinja",
            ]
        )
    )
    size = len(text)
    at = draw(st.integers(0, size))
    if kind == "insert":
        return text[:at] + draw(INSERTS) + text[at:]
    if kind == "delete":
        return text[:at] + text[at + draw(st.integers(1, 20)) :]
    if kind == "replace":
        return text[:at] + draw(INSERTS) + text[at + draw(st.integers(1, 20)) :]
    if kind == "truncate":
        return text[:at]
    if kind in ("swap", "duplicate"):
        lines = text.split("\n")
        i = draw(st.integers(0, len(lines) - 1))
        j = draw(st.integers(0, len(lines) - 1))
        if kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines.insert(j, lines[i])
        return "\n".join(lines)
    if kind == "crlf":
        return text.replace("\n", "\r\n")
    if kind == "tabs":
        return text.replace("  ", "\t", draw(st.integers(1, 5)))
    if kind == "jinja":
        spans = [m.span() for m in TEMPLATE.finditer(text)]
        if not spans:
            return text
        start, end = draw(st.sampled_from(spans))
        at = draw(st.integers(start, end))
        return text[:at] + draw(JINJA) + text[at:]
    pattern = SCALAR if kind == "scalar" else KEY
    spans = [m.span(2 if kind == "key" else 0) for m in pattern.finditer(text)]
    if not spans:
        return text
    start, end = draw(st.sampled_from(spans))
    value = draw(st.one_of(st.sampled_from(YAML_VALUES), INSERTS))
    return text[:start] + value + text[end:]


def project_with(folder: Path, rel: str, data: bytes) -> Path:
    project = copy_project(SOURCE, folder / "project")
    (project / rel).write_bytes(data)
    return project


def assert_clean_error(error: CompileError, project: Path) -> None:
    """Every diagnostic line has the documented shape and points at a real place."""
    text = error.render()
    assert error.diagnostics, "a CompileError without diagnostics"
    assert text == str(error)
    lines = text.split("\n")
    assert ERROR_LINE.match(lines[0]), f"first line is not a diagnostic: {lines[0]!r}"
    for line in lines:
        if line.startswith("  hint:"):
            assert HINT_LINE.match(line), f"malformed hint line: {line!r}"
            continue
        found = ERROR_LINE.match(line)
        assert found, f"malformed diagnostic line: {line!r} in\n{text}"
        if found["line"] and (project / found["file"]).is_file():
            text_of_file = (project / found["file"]).read_bytes().decode("utf-8", "replace")
            lines_in_file = len(LINE_BREAK.split(text_of_file))
            assert int(found["line"]) <= lines_in_file, (
                f"line {found['line']} is past the end of {found['file']}: {line!r}"
            )
    keys = [d.sort_key() for d in error.diagnostics]
    assert keys == sorted(keys), "diagnostics are not sorted by position"


def check_loader(rel: str, data: bytes) -> None:
    """Reading and validating one file, then the whole project: a value or a clean error."""
    with tempfile.TemporaryDirectory(prefix="dsc-fuzz-") as scratch, hang_guard(HANG_SECONDS):
        project = project_with(Path(scratch), rel, data)
        if rel in SPEC_FILES:
            try:
                doc = load_yaml(project, rel)
                validate(doc, SPEC_FILES[rel])
            except CompileError as exc:
                assert_clean_error(exc, project)
        try:
            load_project(project)
        except CompileError as exc:
            assert_clean_error(exc, project)


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The files of a build of the unmutated project: the old build a failed one must keep."""
    project = copy_project(SOURCE, tmp_path_factory.mktemp("fuzz") / "project")
    build(project, project / "build")
    return read_tree(project / "build")


def check_pipeline(rel: str, data: bytes, old: bool, previous: dict[str, bytes]) -> None:
    """A whole build: success, or a clean error that left the output folder as it was
    (`previous` when there was an old build)."""
    with tempfile.TemporaryDirectory(prefix="dsc-fuzz-") as scratch, hang_guard(HANG_SECONDS):
        project = project_with(Path(scratch), rel, data)
        out = project / "build"
        if old:
            out.mkdir()
            for name, content in previous.items():
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                (out / name).write_bytes(content)
        try:
            result = build(project, out)
        except CompileError as exc:
            assert_clean_error(exc, project)
            if old:
                assert read_tree(out) == previous, "a failed build changed build/"
            else:
                assert not out.exists(), "a failed build created build/"
        else:
            assert result.out_dir == out
            tree = read_tree(out)
            assert "metadata.json" in tree and "train.jsonl" in tree
        leftovers = [name for name in ("build.staging", "build.old") if (project / name).exists()]
        assert not leftovers, f"left behind: {leftovers}"


@FUZZ
@given(mutated(tuple(SPEC_FILES)))
def test_loader_accepts_or_rejects_cleanly(case: tuple[str, bytes]) -> None:
    check_loader(*case)


@FUZZ
@given(mutated((*SPEC_FILES, *DATA_FILES)), st.booleans())
def test_pipeline_builds_or_fails_without_writing(
    previous: dict[str, bytes], case: tuple[str, bytes], old: bool
) -> None:
    check_pipeline(*case, old, previous)


@pytest.mark.parametrize("name", sorted(FOUND))
def test_inputs_found_by_fuzzing(name: str, previous: dict[str, bytes]) -> None:
    rel, data = FOUND[name]
    check_loader(rel, data)
    check_pipeline(rel, data, old=True, previous=previous)


@pytest.mark.parametrize("depth", [50, 200, 1000, 10_000])
@pytest.mark.parametrize("rel", ["specs/dataset.yaml", "data/refactor.jsonl"])
def test_deeply_nested_value_is_a_clean_error(tmp_path: Path, rel: str, depth: int) -> None:
    """Nesting is bounded by the file size only: it must not overflow a recursive parser."""
    if rel.endswith(".yaml"):
        extra = f"extra: {_nested(depth)}\n"
    else:
        extra = f'{{"id": "deep", "lang": "python", "code": {_nested(depth)}, "answer": "a"}}\n'
    project = project_with(tmp_path, rel, ORIGINAL[rel] + extra.encode())
    with hang_guard(HANG_SECONDS):
        try:
            build(project, project / "build")
        except CompileError as exc:
            assert_clean_error(exc, project)
            assert not (project / "build").exists()


def test_unmutated_project_builds_and_mutation_sites_exist(
    tmp_path: Path, previous: dict[str, bytes]
) -> None:
    """The starting point is valid and the mutation patterns find scalars and keys to replace."""
    project = copy_project(SOURCE, tmp_path / "project")
    build(project, project / "build")
    assert read_tree(project / "build") == previous
    for rel in SPEC_FILES:
        text = ORIGINAL[rel].decode()
        assert SCALAR.findall(text) and KEY.findall(text), rel
        if rel != "specs/dataset.yaml":
            assert TEMPLATE.findall(text), rel
