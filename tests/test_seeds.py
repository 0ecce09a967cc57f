"""Reproducing a build from a seed: `--seed` gives the same bytes anywhere; the fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import (
    BUILD_FILES,
    BUILT,
    CASES,
    DATA,
    GOLDEN,
    copy_project,
    edit,
    edit_data,
    edit_dataset_seed,
    read_tree,
)


def fingerprint(build_dir: Path) -> str:
    return json.loads((build_dir / "metadata.json").read_text(encoding="utf-8"))["fingerprint"]


def test_seed_option_reproduces_a_build_byte_for_byte(built: Path, cli, tmp_path: Path) -> None:
    elsewhere = copy_project(CASES / "coding", tmp_path / "elsewhere" / "clone")
    first = cli("build", "-C", built, "--seed", "3", "--out", tmp_path / "seed3-a")
    second = cli("build", "-C", elsewhere, "--seed", "3", "--out", tmp_path / "seed3-b")

    # --out is named as it was given (here an absolute path), not by its last part alone.
    assert first.stdout == BUILT.replace("build/", f"{tmp_path / 'seed3-a'}/")
    assert second.stdout == BUILT.replace("build/", f"{tmp_path / 'seed3-b'}/")
    assert read_tree(tmp_path / "seed3-a") == read_tree(tmp_path / "seed3-b")
    assert fingerprint(tmp_path / "seed3-a") == fingerprint(tmp_path / "seed3-b")
    # The seed matters: seed 7 (the spec's) gives other files and another fingerprint.
    assert (
        read_tree(tmp_path / "seed3-a")["train.jsonl"] != read_tree(built / "build")["train.jsonl"]
    )
    assert fingerprint(tmp_path / "seed3-a") != fingerprint(built / "build")


def test_seed_option_reproduces_the_records_of_a_spec_seed(
    built: Path, cli, tmp_path: Path
) -> None:
    other = copy_project(CASES / "coding", tmp_path / "seeded")
    edit_dataset_seed(other)
    assert cli("build", "-C", other).exit_code == 0

    result = cli("build", "-C", built, "--seed", "8", "--out", tmp_path / "by-option")

    assert result.exit_code == 0
    by_option, by_spec = read_tree(tmp_path / "by-option"), read_tree(other / "build")
    assert list(by_option) == list(by_spec) == BUILD_FILES
    # metadata.json differs only where the inputs differ: the bytes of specs/dataset.yaml
    # (and so in its own hash), and the card only in the fingerprint it names.
    meta_option, meta_spec = (json.loads(tree["metadata.json"]) for tree in (by_option, by_spec))
    fingerprints = meta_spec["fingerprint"].encode(), meta_option["fingerprint"].encode()
    assert by_option["README.md"] == by_spec["README.md"].replace(*fingerprints)
    for name in BUILD_FILES:
        if name not in ("README.md", "metadata.json"):
            assert by_option[name] == by_spec[name], name
    differing = sorted(k for k in meta_option if meta_option[k] != meta_spec[k])
    assert differing == ["fingerprint", "inputs", "metadata_sha256", "outputs"]
    assert [
        k for k in meta_option["outputs"] if meta_option["outputs"][k] != meta_spec["outputs"][k]
    ] == ["README.md"]
    assert [
        k for k in meta_option["inputs"] if meta_option["inputs"][k] != meta_spec["inputs"][k]
    ] == ["specs/dataset.yaml"]


def test_fingerprint_changes_with_any_input(built: Path, cli, tmp_path: Path) -> None:
    before = fingerprint(built / "build")
    edit_data(built)
    assert cli("build", "-C", built).exit_code == 0
    after = fingerprint(built / "build")
    assert after != before
    edit(built / DATA, "await sleep(500);", "await sleep(1000);")
    assert cli("build", "-C", built).exit_code == 0
    assert fingerprint(built / "build") == before
    assert read_tree(built / "build") == read_tree(GOLDEN)
