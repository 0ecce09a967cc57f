"""dsc stats: the corpus' exact reports, agreement with metadata.json, determinism, tokens,
--by, and the progress bars of dsc build, dsc validate and dsc stats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import clibase
from compiler.rowstats import histogram
from compiler.statstext import bar
from tests.helpers import ROOT
from tests.test_validate_files import CORPUS, golden

STATS_FILES = [*sorted(p.name for p in CORPUS.glob("*_good.jsonl")), "preference_bad.jsonl"]


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("name", STATS_FILES)
def test_corpus_file_has_its_exact_stats(name: str, cli, in_root, update_golden: bool) -> None:
    result = cli("stats", f"tests/corpus/{name}")
    assert (result.exit_code, result.stderr) == (0, "")
    golden(CORPUS / name.replace(".jsonl", ".stats.txt"), result.stdout, update_golden)


def test_stats_of_the_build_agree_with_its_metadata(cli, in_root) -> None:
    document = json.loads(cli("stats", "--format", "json", "build/").stdout)
    metadata = json.loads((ROOT / "build" / "metadata.json").read_text(encoding="utf-8"))
    assert [(f["path"], f["split"], f["rows"]) for f in document["files"]] == [
        ("build/train.jsonl", "train", 219),
        ("build/val.jsonl", "val", 27),
        ("build/test.jsonl", "test", 27),
    ]
    assert document["rows"] == metadata["records"]["total"]
    assert document["lengths"]["unit"] == metadata["lengths"]["unit"]
    for name in ("instruction", "input", "output"):
        figures = dict(document["lengths"][name])
        assert sum(b["count"] for b in figures.pop("histogram")) == 273
        assert figures == metadata["lengths"][name]
    assert document["splits"]["train"]["rows"] == metadata["records"]["train"]
    tasks = dict(document["splits"]["val"]["counts"]["task"])
    assert tasks == {t: n["val"] for t, n in metadata["tasks"].items() if n["val"]}


def test_the_json_document_keeps_its_shape(cli, in_root) -> None:
    document = json.loads(cli("stats", "--format", "json", "build/preference", "build/kto").stdout)
    assert list(document) == [
        "files", "rows", "lengths", "counts", "duplicates", "splits", "pairs",
    ]  # fmt: skip
    assert document["pairs"] == {"chosen_longer_share": 1.0, "desirable_share": 0.5}
    assert document["duplicates"] == {"exact": 0, "prompts_with_different_answers": 0}
    assert [f["path"] for f in document["files"]] == [
        "build/kto/train.jsonl",
        "build/kto/val.jsonl",
        "build/kto/test.jsonl",
        "build/preference/train.jsonl",
        "build/preference/val.jsonl",
        "build/preference/test.jsonl",
    ]


def test_by_counts_the_keys_named(cli, in_root) -> None:
    document = json.loads(
        cli("stats", "--format", "json", "--by", "lang", "--by", "task", "build").stdout
    )
    assert list(document["counts"]) == ["lang", "task"]
    assert document["counts"]["lang"] == [["th", 139], ["en", 134]]


def test_stats_are_the_same_whatever_the_hash_seed_and_file_order() -> None:
    def run(seed: str, *paths: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "compiler", "stats", "--format", "json", *paths],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    files = ["build/test.jsonl", "build/train.jsonl", "tests/corpus/alpaca_good.jsonl"]
    first = run("1", *files)
    assert run("2", *reversed(files)) == first
    assert json.loads(first)["duplicates"] == {"exact": 0, "prompts_with_different_answers": 0}


def test_duplicates_are_counted(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    rows = [("Say hello.", "Hello!"), ("Say hello.", "Hello!"), ("Say hello.", "Hi!")]
    Path("a.jsonl").write_text(
        "".join(json.dumps({"instruction": i, "output": o}) + "\n" for i, o in rows),
        encoding="utf-8",
    )
    document = json.loads(cli("stats", "--format", "json", ".").stdout)
    assert document["duplicates"] == {"exact": 1, "prompts_with_different_answers": 1}
    assert document["files"] == [
        {"path": "a.jsonl", "format": "alpaca", "rows": 3, "split": None, "skipped": 0}
    ]


def test_lines_that_are_not_rows_are_skipped_and_said(cli, in_root) -> None:
    result = cli("stats", "--format", "json", "tests/corpus/sharegpt_bad.jsonl")
    assert json.loads(result.stdout)["files"][0]["skipped"] == 5
    assert result.stderr == (
        "note: 5 lines that are not rows were skipped; dsc validate says why\n"
    )


def test_tokens_with_a_tokenizer_trained_here(cli, tmp_path: Path, monkeypatch) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(
        ["say hello to the world", "the world says hello"],
        trainers.WordLevelTrainer(special_tokens=["[UNK]"]),
    )
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    monkeypatch.chdir(tmp_path)
    Path("a.jsonl").write_text(
        json.dumps({"instruction": "say hello", "output": "hello to the world!"}) + "\n",
        encoding="utf-8",
    )
    document = json.loads(
        cli("stats", "--format", "json", "--tokenizer", "tokenizer.json", "a.jsonl").stdout
    )
    assert document["tokens"]["unit"] == "tokens (tokenizer.json)"
    assert {k: v["max"] for k, v in document["tokens"].items() if k != "unit"} == {
        "instruction": 2,
        "input": 0,
        "output": 5,
    }


def test_a_tokenizer_that_is_not_one_is_an_error(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.jsonl").write_text('{"instruction": "a", "output": "b"}\n', encoding="utf-8")
    Path("tokenizer.json").write_text("{}", encoding="utf-8")
    result = cli("stats", "--tokenizer", "tokenizer.json", "a.jsonl")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "tokenizer.json: error: not a tokenizer.json the tokenizers library reads: "
    )


def test_histogram_bins_are_ten_of_equal_width() -> None:
    from collections import Counter

    assert histogram(Counter({0: 1, 99: 2})) == [
        {"from": 10 * i, "to": 10 * i + 10, "count": (1 if i == 0 else 2 if i == 9 else 0)}
        for i in range(10)
    ]
    assert histogram(Counter({7: 3})) == [{"from": 7, "to": 8, "count": 3}]
    assert histogram(Counter()) == []
    assert [bar(n, 8, 1) for n in range(9)] == ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"]


@pytest.mark.parametrize(
    ("args", "label"),
    [
        (["validate", "tests/corpus/kto_good.jsonl"], "validating"),
        (["stats", "tests/corpus/kto_good.jsonl"], "reading"),
    ],
)
def test_a_progress_bar_shows_when_wanted(cli, in_root, monkeypatch, args, label) -> None:
    """Whether the work is long, on a terminal, outside CI is progress_wanted's decision
    (test_progress_is_wanted_on_a_terminal_outside_ci); here it is injected."""
    assert label not in cli(*args).stderr
    monkeypatch.setattr(clibase, "progress_wanted", lambda size, threshold: True)
    assert label in cli(*args).stderr  # click shows only the label where stderr is no tty


def test_a_build_shows_a_progress_bar_when_wanted(built: Path, cli, monkeypatch) -> None:
    monkeypatch.setattr(clibase, "progress_wanted", lambda size, threshold: True)
    result = cli("build", "-C", built, "--force")
    assert result.exit_code == 0
    assert "building" in result.stderr


def test_progress_is_wanted_on_a_terminal_outside_ci(monkeypatch) -> None:
    class Terminal:
        def __init__(self, tty: bool) -> None:
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", Terminal(True))
    assert clibase.progress_wanted(11, 10)
    assert not clibase.progress_wanted(10, 10)
    monkeypatch.setenv("CI", "true")
    assert not clibase.progress_wanted(11, 10)
    monkeypatch.delenv("CI")
    monkeypatch.setattr(sys, "stderr", Terminal(False))
    assert not clibase.progress_wanted(11, 10)


def test_the_html_report_is_the_page_of_the_json_document(cli, in_root, tmp_path: Path) -> None:
    from compiler.htmlreport import html_report

    document = json.loads(cli("stats", "--format", "json", "build/").stdout)
    page = tmp_path / "report.html"
    result = cli("stats", "build/", "--html", str(page))
    assert (result.exit_code, result.stderr) == (0, f"wrote {page}\n")
    assert result.stdout == cli("stats", "build/").stdout  # the text is printed as without it
    assert page.read_bytes() == html_report(document).encode("utf-8")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "build/report.html",
            "build/report.html: error: the output is inside the dsc build folder build/\n"
            "  hint: every build replaces that folder, and dsc check refuses files it did not "
            "write: write the report elsewhere\n",
        ),
        (
            "tests/corpus/alpaca_good.jsonl",
            "tests/corpus/alpaca_good.jsonl: error: the output is the input file\n"
            "  hint: write to another file: dsc stats never replaces its input\n",
        ),
    ],
)
def test_the_html_report_never_replaces_an_input_or_lands_in_a_build(
    cli, in_root, target: str, message: str
) -> None:
    before = (ROOT / target).read_bytes() if (ROOT / target).exists() else None
    result = cli("stats", "build/", "tests/corpus/alpaca_good.jsonl", "--html", target)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)
    assert ((ROOT / target).read_bytes() if (ROOT / target).exists() else None) == before


def test_a_missing_input_beside_an_html_report_is_a_located_error(
    cli, in_root, tmp_path: Path
) -> None:
    """The check that the report replaces no input skips inputs that do not exist: their
    reader says they are missing, as without --html, and the old report stays."""
    page = tmp_path / "report.html"
    page.write_text("old", encoding="utf-8")
    missing = str(tmp_path / "nope.jsonl")
    result = cli("stats", "tests/corpus/alpaca_good.jsonl", missing, "--html", str(page))
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"{missing}: error: file not found: {missing}\n  hint: check the path\n"
    assert page.read_text(encoding="utf-8") == "old"
