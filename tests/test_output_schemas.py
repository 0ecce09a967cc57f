"""The JSON documents of dsc diff, check, validate and stats (--format json) against the schemas
shipped in compiler/schemas/output/ (docs/ci.md): the real output of each command, clean, with
changes and with errors, and every diff hypothesis can make."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from jsonschema import Draft202012Validator

from compiler.clifiles import ROW_FORMATS
from compiler.diff import diff, to_json
from compiler.model import SPLITS
from tests.helpers import DATA, add_row, delete_val, edit, edit_concept
from tests.test_diff_pure import PROPERTIES, builds_st

SCHEMAS = Path(__file__).resolve().parent.parent / "compiler" / "schemas" / "output"


@cache
def validator(command: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{command}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def valid(command: str, stdout: str) -> dict[str, Any]:
    """The document on stdout, once its schema accepts it (every problem listed if not)."""
    document = json.loads(stdout)
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(command).iter_errors(document)
    ]
    assert problems == []
    return document


def test_the_schemas_name_every_format_and_split() -> None:
    """The enums are written out in the schemas: held equal to the code's lists here."""
    for command in ("validate", "stats"):
        files = validator(command).schema["properties"]["files"]["items"]["properties"]
        assert files["format"]["enum"] == [*ROW_FORMATS.choices, None]
    stats_files = validator("stats").schema["properties"]["files"]["items"]["properties"]
    assert stats_files["split"]["enum"] == [*SPLITS, None]
    assert validator("diff").schema["$defs"]["split"]["enum"] == list(SPLITS)


def test_a_schema_refuses_what_it_does_not_describe() -> None:
    """The schemas are closed: a key the docs do not name fails the tests below."""
    document = {"folder": "build/", "matches": True, "problems": [], "hint": None}
    assert validator("check").is_valid(document)
    assert not validator("check").is_valid({**document, "extra": 1})
    assert not validator("check").is_valid({**document, "hint": "rebuild"})
    assert not validator("check").is_valid({**document, "matches": False})


# --- dsc diff -------------------------------------------------------------------------------


def test_diff_json_of_no_change_and_of_a_pull_request(built: Path, cli, tmp_path: Path) -> None:
    shutil.copytree(built / "build", tmp_path / "old")
    same = valid("diff", cli("diff", tmp_path / "old", built / "build", "--format", "json").stdout)
    assert same["summary"] == {"added": 0, "removed": 0, "changed": 0, "moved": 0}

    edit_concept(built)  # several lines (lines)
    edit(built / DATA, "await sleep(1000);", "await sleep(500);")  # one line (words)
    edit(built / DATA, '"lang": "rust"', '"lang": "go"')  # metadata.lang (value)
    add_row(
        built, id="py-new", lang="python", code="time.sleep(1)", answer="await asyncio.sleep(1)"
    )
    assert cli("build", "-q", "-C", built).exit_code == 0
    changed = cli("diff", tmp_path / "old", built / "build", "--format", "json")

    document = valid("diff", changed.stdout)
    kinds = {f["kind"] for c in document["changed"] for f in c["fields"].values()}
    assert (document["summary"]["added"], kinds) == (1, {"value", "words", "lines"})
    assert document["summary"]["moved"] > 0
    reverse = cli("diff", built / "build", tmp_path / "old", "--format", "json").stdout
    assert valid("diff", reverse)["summary"]["removed"] == 1


def test_diff_json_of_preference_and_kto_changes(case, cli, tmp_path: Path) -> None:
    from compiler.pipeline import build

    project = case("formats")
    build(project, tmp_path / "old")
    edit(
        project / "specs/tasks/caption.yaml",
        '- {id: kind, text: "Thank you, we are glad you liked it.", good: true}',
        '- {id: kind, text: "Thank you, we are glad you liked it.", good: false}',
    )
    build(project, tmp_path / "new")

    result = cli("diff", tmp_path / "old", tmp_path / "new", "--format", "json")

    assert "label" in valid("diff", result.stdout)["changed"][0]["fields"]


@PROPERTIES
@given(builds_st, builds_st)
def test_every_diff_fits_the_schema(old: dict, new: dict) -> None:
    assert validator("diff").is_valid(json.loads(json.dumps(to_json(diff(old, new)))))


# --- dsc check ------------------------------------------------------------------------------


def test_check_json_when_the_build_matches_and_when_it_does_not(built: Path, cli) -> None:
    clean = cli("check", "-C", built, "--format", "json")
    assert clean.exit_code == 0
    assert valid("check", clean.stdout) == {
        "folder": "build/",
        "matches": True,
        "problems": [],
        "hint": None,
    }

    delete_val(built)
    (built / "build/notes.txt").write_text("mine\n", encoding="utf-8")
    (built / "build/test.jsonl").unlink()
    (built / "build/test.jsonl").symlink_to("train.jsonl")
    stale = cli("check", "-C", built, "--format", "json")

    assert (stale.exit_code, stale.stderr) == (1, "")
    assert valid("check", stale.stdout) == {
        "folder": "build/",
        "matches": False,
        "problems": [
            {"path": "build/notes.txt", "problem": "not_output"},
            {"path": "build/test.jsonl", "problem": "not_regular"},
            {"path": "build/val.jsonl", "problem": "missing"},
        ],
        "hint": f"run `dsc build -C {built}` and commit build/",
    }


def test_check_json_lists_every_problem(built: Path, cli) -> None:
    """Text stops at 20 problems; the document has them all."""
    for n in range(25):
        (built / f"build/note{n:02d}.txt").write_text("mine\n", encoding="utf-8")

    document = valid("check", cli("check", "-C", built, "--format", "json").stdout)

    assert len(document["problems"]) == 25


# --- dsc validate and dsc stats --------------------------------------------------------------

MINE = (
    '{"id": 1, "instruction": "Hi", "input": "", "output": "Hello! How can I help you today?"}\n'
    '{"id": 1, "instruction": "Explain recursion.", "input": "", "output": ""}\n'
    '{"id": 4, "instruction": "Say hi", "output": NaN}\n'
)
PAIRS = (
    '{"prompt": "Describe the tea.", "chosen": "A light, grassy green tea.", "rejected": "Tea."}\n'
    '{"prompt": "Describe it.", "chosen": "Same.", "rejected": "Same."}\n'
)
KTO = '{"prompt": "Describe the tea.", "completion": "A light, grassy green tea.", "label": true}\n'


@pytest.fixture
def files(built: Path) -> Path:
    for name, text in (("mine", MINE), ("pairs", PAIRS), ("kto", KTO), ("junk", "no\n")):
        (built / f"{name}.jsonl").write_text(text, encoding="utf-8")
    return built


def test_validate_json_of_a_clean_build_and_of_files_with_errors(files: Path, cli) -> None:
    clean = cli("validate", "--format", "json", files / "build")
    assert clean.exit_code == 0
    assert valid("validate", clean.stdout)["errors"] == 0

    names = ["mine", "pairs", "kto", "junk"]
    wrong = cli("validate", "--format", "json", *(files / f"{n}.jsonl" for n in names))

    document = valid("validate", wrong.stdout)
    assert wrong.exit_code == 1
    assert [f["format"] for f in document["files"]] == ["alpaca", "preference", "kto", None]
    assert {m["severity"] for f in document["files"] for m in f["messages"]} == {
        "error",
        "warning",
    }


def test_stats_json_of_a_build_and_of_pairs(files: Path, cli) -> None:
    build = valid("stats", cli("stats", "--format", "json", files / "build").stdout)
    assert list(build["splits"]) == list(SPLITS)

    names = ["pairs", "kto", "junk"]
    pairs = cli("stats", "--format", "json", *(files / f"{n}.jsonl" for n in names))

    document = valid("stats", pairs.stdout)
    assert sorted(document["pairs"]) == ["chosen_longer_share", "desirable_share"]
    assert {Path(f["path"]).name: f["skipped"] for f in document["files"]} == {
        "pairs.jsonl": 0,
        "kto.jsonl": 0,
        "junk.jsonl": 1,
    }
