"""dsc validate: the corpus of files dsc did not build with their exact reports, the build's
own files, each check's message, and properties over any bytes and any record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import clifiles, jsonlfile
from compiler.formats import FORMATS, encoder
from compiler.model import Record
from compiler.rowcheck import FileCheck, Limits
from tests.helpers import CASES, ROOT, examples

CORPUS = ROOT / "tests" / "corpus"
FILES = sorted(p.name for p in CORPUS.glob("*.jsonl"))


def golden(path: Path, actual: str, update: bool) -> None:
    """actual is path's text; --update-golden rewrites it instead (review the diff!)."""
    if update:
        path.write_text(actual, encoding="utf-8")
    assert path.is_file(), f"no golden file: run pytest --update-golden for {path.name}"
    assert actual == path.read_text(encoding="utf-8")


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("name", FILES)
def test_corpus_file_has_its_exact_report(name: str, cli, in_root, update_golden: bool) -> None:
    result = cli("validate", f"tests/corpus/{name}")
    report = result.stdout + f"exit {result.exit_code}\n"
    golden(CORPUS / name.replace(".jsonl", ".validate.txt"), report, update_golden)
    assert result.stderr == ""
    assert result.exit_code == (0 if ": 0 errors, " in result.stdout.splitlines()[-1] else 1)


def test_the_committed_build_validates(cli, in_root) -> None:
    result = cli("validate", "build/")
    assert result.exit_code == 0, result.stdout
    assert result.stdout.endswith("16 files, 855 rows: 0 errors, 5 warnings\n")
    assert " error: " not in result.stdout


def test_every_format_the_build_makes_validates_without_errors(cli, in_root) -> None:
    result = cli("validate", "--format", "json", "tests/cases/formats/expected")
    document = json.loads(result.stdout)
    assert result.exit_code == 0
    assert document["errors"] == 0
    told = {f["format"] for f in document["files"] if f["rows"]}
    assert told == set(FORMATS)


def test_strict_fails_on_warnings(cli, in_root) -> None:
    path = "tests/corpus/preference_bad.jsonl"
    assert cli("validate", path).exit_code == 0
    assert cli("validate", "--strict", path).exit_code == 1


def test_limits_are_options(cli, in_root) -> None:
    result = cli("validate", "--min-instruction", "1", "tests/corpus/alpaca_bad.jsonl")
    assert "under the minimum" not in result.stdout
    result = cli("validate", "--max-output", "50", "tests/corpus/alpaca_good.jsonl")
    assert result.stdout.splitlines()[0] == (
        "tests/corpus/alpaca_good.jsonl:1:1: warning: output is 94 characters, over the "
        "maximum of 50"
    )
    assert result.stdout.splitlines()[1] == (
        "  hint: the quality guidelines ask for 20–50 characters (--min-output, --max-output)"
    )
    result = cli("validate", "--kto-share", "90", "100", "tests/corpus/kto_bad.jsonl")
    assert "desirable rows" not in result.stdout
    result = cli("validate", "--max-length-bias", "70", "tests/corpus/preference_bad.jsonl")
    assert "length bias" not in result.stdout


def test_from_forces_the_format(cli, in_root) -> None:
    result = cli("validate", "--from", "messages", "tests/corpus/alpaca_good.jsonl")
    assert result.stdout.splitlines()[0] == (
        "tests/corpus/alpaca_good.jsonl:1:1: error: row has no key 'messages'"
    )
    assert result.exit_code == 1


def test_json_report(cli, in_root) -> None:
    result = cli("validate", "--format", "json", "tests/corpus/kto_bad.jsonl")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "files": [
            {
                "path": "tests/corpus/kto_bad.jsonl",
                "format": "kto",
                "rows": 4,
                "errors": 1,
                "warnings": 1,
                "messages": [
                    {
                        "line": 4,
                        "column": 1,
                        "severity": "error",
                        "message": "label is a string, not a boolean",
                        "hint": "true: a desirable answer, false: not",
                    },
                    {
                        "line": 0,
                        "column": 0,
                        "severity": "warning",
                        "message": "desirable rows are 100% (3 of 3), outside 40–60%",
                        "hint": "KTO learns best from about as many desirable as undesirable "
                        "rows: add rows of the smaller side, or weigh them in the trainer "
                        "(limits: --kto-share)",
                    },
                ],
                "not_shown": 0,
            }
        ],
        "rows": 4,
        "errors": 1,
        "warnings": 1,
    }


def test_a_missing_file_is_an_error_and_the_others_are_checked(cli, in_root) -> None:
    result = cli("validate", "nowhere.jsonl", "tests/corpus/kto_good.jsonl")
    assert result.exit_code == 1
    assert result.stdout == (
        "nowhere.jsonl: error: file not found: nowhere.jsonl\n"
        "  hint: check the path\n"
        "nowhere.jsonl: 0 rows: 1 error, 0 warnings\n"
        "tests/corpus/kto_good.jsonl: 2 rows (kto): 0 errors, 0 warnings\n"
        "2 files, 2 rows: 1 error, 0 warnings\n"
    )


def test_a_line_over_the_limit_is_counted_not_kept(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonlfile, "LINE_LIMIT", 40)
    monkeypatch.chdir(tmp_path)
    long = '{"instruction": "' + "a" * 60 + '", "output": "b"}'
    Path("in.jsonl").write_text(long + "\n", encoding="utf-8")
    result = cli("validate", "in.jsonl")
    assert result.stdout.splitlines()[:2] == [
        f"in.jsonl:1:1: error: line is {len(long)} bytes, over the limit of 40 bytes",
        "  hint: a row of a .jsonl file is one line, and no row needs that much text: check "
        "that the file is JSONL",
    ]


def test_more_messages_than_shown_are_counted(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("in.jsonl").write_text('{"instruction": "Say hi"}\n' * 250, encoding="utf-8")
    result = cli("validate", "in.jsonl")
    assert result.stdout.count("error: row has no key 'output'") == 200
    assert result.stdout.endswith(
        "in.jsonl: 250 rows (alpaca): 250 errors, 0 warnings (50 not shown)\n"
    )


def test_the_first_row_of_another_format_sets_the_columns(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    rows = [
        {"instruction": "Say hello politely.", "output": "Hello, it is nice to meet you.", "x": 1},
        {
            "instruction": "Say goodbye politely.",
            "output": "Goodbye, take care of yourself.",
            "x": None,
        },
        {
            "instruction": "Say thanks politely.",
            "output": "Thank you very much indeed, friend.",
            "x": [1],
        },
    ]
    Path("in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = cli("validate", "in.jsonl")
    assert result.stdout.splitlines()[0] == (
        "in.jsonl:3:1: error: x is a list, but a number on line 1"
    )


@settings(max_examples=examples(150), deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_messages_never_a_crash(data: bytes) -> None:
    check = FileCheck("in.jsonl")
    for number, raw in enumerate(data.split(b"\n"), 1):
        check.feed(number, raw, jsonlfile.LINE_LIMIT)
    check.finish()
    assert check.errors + check.warnings >= len(check.shown)
    for diagnostic in check.shown:
        assert diagnostic.render().startswith("in.jsonl")


def test_bytes_through_the_command_line_never_end_in_a_traceback(
    cli, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("in.jsonl").write_bytes(b'{"a": [1, {"b": "\xff\\ud800"}]}\n\x00\r\n{{{\n[]\n"x"\n')
    result = cli("validate", "in.jsonl")
    assert result.exit_code == 1
    assert "internal error" not in result.stderr + result.stdout


TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
)


@st.composite
def records(draw) -> list[Record]:
    """Records as the build makes them: one project's shape (system, history, metadata keys)."""
    with_system, with_history = draw(st.booleans()), draw(st.booleans())
    made = []
    for i in range(draw(st.integers(1, 6))):
        label = draw(st.sampled_from([None, True, False]))
        made.append(
            Record(
                f"t.r.{i}",
                draw(TEXT),
                draw(st.one_of(st.just(""), TEXT)),
                draw(TEXT),
                {"task": "t", "lang": draw(st.sampled_from([None, "en", "th"]))},
                rule=None,  # type: ignore[arg-type]
                system=draw(TEXT) if with_system else "",
                rejected=draw(st.one_of(st.just(""), TEXT)) if label is None else "",
                label=label,
                history=tuple((draw(TEXT), draw(TEXT)) for _ in range(draw(st.integers(0, 2))))
                if with_history
                else (),
            )
        )
    return made


@settings(max_examples=examples(60), deadline=None)
@given(records())
def test_a_file_the_build_writes_validates_without_errors(made: list[Record]) -> None:
    with_system = any(r.system for r in made)
    with_history = any(r.history for r in made)
    for name in FORMATS:
        lines = "".join(map(encoder(name, with_system, "chatml", with_history), made))
        check = FileCheck(f"{name}.jsonl", Limits(), name)
        for number, line in enumerate(lines.split("\n"), 1):  # not splitlines: U+2028
            check.feed(number, line.encode("utf-8"), jsonlfile.LINE_LIMIT)
        check.finish()
        assert check.errors == 0, (name, [d.render() for d in check.shown])


def test_row_formats_are_the_builds() -> None:
    assert tuple(clifiles.ROW_FORMATS.choices) == FORMATS
    assert (CASES / "formats").is_dir()


def test_validate_reads_history_as_convert_does(cli, in_root) -> None:
    """One rule for LLaMA-Factory's history: every row `dsc validate` refuses for its history,
    `dsc convert` refuses with the same message (an empty turn included)."""
    path = "tests/corpus/alpaca_history.jsonl"
    validated = cli("validate", path)
    converted = cli("convert", path, "--to", "messages", "-o", "-")
    errors = [line for line in validated.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 4 and "history[0][1] is empty" in errors[0]
    assert [line for line in converted.stderr.splitlines() if ": error: " in line] == errors
    assert (validated.exit_code, converted.exit_code) == (1, 1)
