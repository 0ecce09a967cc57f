"""`dsc explain ID`: where a record came from, what the checks said, why it lies in its split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import (
    CONCEPTS,
    add_duplicate_and_short_rows,
    records,
)

KEPT = "explain_concept.concepts.4dde8f94509df834"


def test_explain_a_kept_record(built: Path, cli) -> None:
    result = cli("explain", KEPT, "-C", built)

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        f"record {KEPT}\n"
        f"  rule      explain_concept/concepts ({CONCEPTS}:7:9)\n"
        "  each      concept = cancellation\n"
        "  each      lang = rust\n"
        f"  pick      verb: alternative 1 ({CONCEPTS}:15:25)\n"
        "  check     output is not empty\n"
        "  check     instruction length 41 within 10–1000 characters\n"
        "  check     input length 0 within 0–4000 characters\n"
        "  check     output length 250 within 20–4000 characters\n"
        "  check     not a duplicate of an earlier record\n"
        "  group     output 66c91586adbd5d13 (1 record(s)), stratum task=explain_concept\n"
        "  split     train: its stratum's 9 records get train 7, val 1, test 1 (each the floor"
        " or ceiling of its share, summing to the global sizes); in hash order its group covers"
        " records 1–1 of the stratum, and the slices are train 0–6, val 7–7, test 8–8: it lies"
        " inside that slice, in train\n"
        "  instruction Describe cancellation in Rust coroutines.\n"
        "  input\n"
        "  output    In Rust, cancellation is about how a running task is cancelled and what"
        " cleanup runs.\n"
        "            The runtime (tokio) schedules coroutines cooperatively, so a task only\n"
        "            notices it at an await point; spawn work with `tokio::spawn(fetch(url))`"
        " and keep the handle.\n"
    )


@pytest.mark.parametrize("seed", [None, 3])
def test_explain_agrees_with_the_build_for_every_record(
    built: Path, cli, tmp_path: Path, seed: int | None
) -> None:
    options = () if seed is None else ("--seed", str(seed))
    out = tmp_path / "out"
    assert cli("build", "-C", built, "--out", out, *options).exit_code == 0

    for record_id, (split_name, record) in records(out).items():
        result = cli("explain", record_id, "-C", built, "--json", *options)
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert list(data) == ["id", "rule", "bindings", "picks", "record", "checks", "split"]
        assert data["id"] == record_id
        assert data["split"]["split"] == split_name
        assert data["record"] == {k: v for k, v in record.items() if k != "id"}
        assert data["rule"]["id"] == record["metadata"]["rule"]
        assert source_at(built, data["rule"]["defined_at"]).startswith(data["rule"]["id"])
        for pick in data["picks"].values():
            chosen = json.loads(source_at(built, pick["defined_at"]).split(",")[0].rstrip("]"))
            assert record["instruction"].startswith(chosen + " ")


def source_at(project: Path, where: str) -> str:
    """The text of a spec file from a `file:line:column` position to the end of its line."""
    path, line, column = where.rsplit(":", 2)
    text = (project / path).read_text(encoding="utf-8").splitlines()[int(line) - 1]
    return text[int(column) - 1 :]


DUPLICATE = "refactor.from_threads.55ad0932d8565fdd"
COPY = "refactor.from_threads.0613f8b1831e2ff6"


def test_explain_a_duplicate_and_a_too_short_record(built: Path, cli) -> None:
    add_duplicate_and_short_rows(built)
    result = cli("build", "-C", built)
    assert result.stdout.endswith("(train 10, val 1, test 1; dropped 2) into build/\n")
    dropped = json.loads((built / "build/metadata.json").read_text())["dropped"]
    duplicate, short = DUPLICATE, "refactor.from_threads.5874cd442bc78ad3"
    assert dropped == {
        "duplicate": {"records": 1, "ids": [duplicate]},
        "output_too_short": {"records": 1, "ids": [short]},
    }

    as_duplicate = cli("explain", duplicate, "-C", built)
    as_short = cli("explain", short, "-C", built)

    # Of two equal records the first in id order is kept: here the copy.
    assert (as_duplicate.exit_code, as_duplicate.stderr) == (0, "")
    assert as_duplicate.stdout == (
        f"record {duplicate}\n"
        "  rule      refactor/from_threads (specs/tasks/refactor.yaml:6:9)\n"
        "  each      example = rs-worker\n"
        f"  dropped   duplicate: same normalised instruction, input and output as {COPY}\n"
        "  instruction Refactor this thread-based rust code to use coroutines.\n"
        "  input     std::thread::spawn(move || work(rx));\n"
        "  output    tokio::spawn(async move { work(rx).await });\n"
    )
    assert "  each      example = rs-worker-copy\n" in cli("explain", COPY, "-C", built).stdout
    assert COPY in records(built / "build")
    assert (as_short.exit_code, as_short.stderr) == (0, "")
    assert as_short.stdout == (
        f"record {short}\n"
        "  rule      refactor/from_threads (specs/tasks/refactor.yaml:6:9)\n"
        "  each      example = py-tiny\n"
        "  dropped   output_too_short: output has 7 characters, allowed 20 to 4000\n"
        "  instruction Refactor this thread-based python code to use coroutines.\n"
        "  input     t.join()\n"
        "  output    await t\n"
    )
    data = json.loads(cli("explain", short, "-C", built, "--json").stdout)
    assert data["dropped"] == "output_too_short: output has 7 characters, allowed 20 to 4000"
    assert "split" not in data and "checks" not in data


def test_explain_an_unknown_id_suggests_the_closest(built: Path, cli) -> None:
    typo = KEPT[:-1]

    result = cli("explain", typo, "-C", built)

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"error: no record with id {typo!r}\n  hint: did you mean {KEPT!r}?\n")


def test_explain_an_unrelated_id_says_where_ids_are(built: Path, cli) -> None:
    result = cli("explain", "nothing", "-C", built, "--json")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "error: no record with id 'nothing'\n"
        '  hint: kept records are the ids of build/*.jsonl; dropped ones are listed under "dropped"'
        " in build/metadata.json\n"
    )
