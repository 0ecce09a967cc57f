"""The realistic bench project (bench/realistic.py) builds, at a tiny scale, with what it promises.

`make bench` builds it at 200,000 records against the naive script; here 2,000 records of five
brands show that it still compiles (the bench would fail hours later otherwise), that it has
what makes it realistic (many rules, drops, duplicates, long Thai text, the example's formats),
and that the naive script writes every binding: dsc's kept records plus its drops.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import ROOT

BENCH = ROOT / "bench"
# Long Thai text: five sentences or more of at least 40 Thai letters each, no space inside a
# sentence and one between sentences (as Thai is written): 200 characters at the very least.
LONG_THAI = re.compile(r"(?:[\u0e00-\u0e7f]{40,} ){4,}[\u0e00-\u0e7f]{40,}")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    """The project at 2,000 records of five brands, built once: (folder, plan, build result)."""
    from compiler.cli import main

    sys.path.insert(0, str(BENCH))
    try:
        from realistic import write_realistic
    finally:
        sys.path.remove(str(BENCH))
    root = tmp_path_factory.mktemp("realistic")
    plan = write_realistic(root, records=2_000, brands=5)
    result = CliRunner().invoke(main, ["build", "-C", str(root)], catch_exceptions=False)
    return root, plan, result


def test_it_builds_with_drops_duplicates_and_conflicts(project) -> None:
    root, plan, result = project
    assert (result.exit_code, result.stdout) == (
        0,
        ("built 1939 records (train 1551, val 194, test 194; dropped 64) into build/\n"),
    )
    meta = json.loads((root / "build" / "metadata.json").read_text(encoding="utf-8"))
    dropped = {reason: entry["records"] for reason, entry in meta["dropped"].items()}
    assert dropped == {"duplicate": 31, "input_too_long": 9, "output_too_short": 24}
    assert meta["records"]["total"] + sum(dropped.values()) == plan.bindings == 2_003
    # What the generator planted is what dsc finds: a copy of a row is a duplicate unless its
    # reply is too short (then it is dropped for that first); the long reviews are too long.
    assert dropped["output_too_short"] == plan.short_replies
    assert dropped["input_too_long"] == plan.long_reviews
    assert meta["conflicts"]["records"] > 0
    assert sorted(meta["formats"]) == ["alpaca", "kto", "messages", "preference"]
    assert meta["formats"]["preference"]["rows"] > 0


def test_it_has_many_rules_and_long_thai_text(project) -> None:
    root, _, _ = project
    rules, long_thai = set(), 0
    for path in sorted((root / "build" / "tasks").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            rules.add(record["metadata"]["rule"])
            long_thai += bool(LONG_THAI.search(record["input"] + record["output"]))
    assert len(rules) == 16
    # Briefs carry their context's Thai background (5 brands × 2 contexts × 2 languages), the
    # Thai TikTok captions it too (5 × 2), the Thai Instagram captions a campaign's body (5 × 2).
    assert long_thai == 20 + 10 + 10


def test_the_naive_script_writes_every_binding(project, tmp_path: Path) -> None:
    root, plan, _ = project
    out = tmp_path / "naive"
    done = subprocess.run(
        [sys.executable, str(BENCH / "baselines.py"), "naive-realistic", str(root), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"naive-realistic: wrote {plan.bindings} records into {out}\n"
    sizes = {
        split: len((out / f"{split}.jsonl").read_text(encoding="utf-8").splitlines())
        for split in ("train", "val", "test")
    }
    assert sizes == {"train": 1602, "val": 200, "test": 201}
