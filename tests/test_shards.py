"""output.shards: the shards of every file concatenated are the one-file build, byte for byte."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.pipeline import build
from compiler.shards import Sharded, Sink, bounds, shard_names, shards_among, unsharded
from tests.helpers import CASES, copy_project, examples, read_tree

DESCRIBED = ("README.md", "dataset_info.json", "metadata.json")  # name the files they describe


def joined(tree: dict[str, bytes]) -> dict[str, bytes]:
    """A sharded build's files with each output's shards concatenated in name order."""
    whole: dict[str, bytes] = {}
    for path in sorted(tree):
        name = "/".join([*path.split("/")[:-1], unsharded(path.split("/")[-1])])
        whole[name] = whole.get(name, b"") + tree[path]
    return whole


# Shards in memory; a shard's "digest" is its text.
MEMORY = Sink(lambda name: bytearray(), bytearray.extend, lambda data: bytes(data).decode())


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(st.integers(0, 5), max_size=12),  # block sizes
    st.integers(1, 12),  # shards
)
def test_shards_cut_rows_at_the_bounds_and_concatenate_to_the_rows(
    blocks: list[int], shards: int
) -> None:
    rows = [f"{i}\n".encode() for i in range(sum(blocks))]
    out = Sharded("m/train.jsonl", len(rows), shards, MEMORY)
    start = 0
    for size in blocks:
        out.write(rows[start : start + size])
        start += size
    closed = out.close()
    assert [name for name, _, _ in closed] == shard_names("m/train.jsonl", shards)
    texts = [digest for _, _, digest in closed]
    assert "".join(texts).encode() == b"".join(rows)
    cuts = bounds(len(rows), shards)
    assert [t.count("\n") for t in texts] == [b - a for a, b in itertools.pairwise(cuts)]
    names = [name.split("/")[-1] for name, _, _ in closed]
    assert shards_among(names, "train.jsonl") == (names if shards > 1 else [])
    assert {unsharded(name) for name in names} == {"train.jsonl"}


def test_more_rows_than_told_is_a_bug_not_a_silent_extra_shard() -> None:
    out = Sharded("train.jsonl", 1, 2, MEMORY)
    with pytest.raises(ValueError):
        out.write([b"1\n", b"2\n"])


@pytest.fixture(scope="module")
def formats_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The formats case (every format) built whole, in 3 shards and in 64 (more than some
    files have rows: empty shards)."""
    base = tmp_path_factory.mktemp("shards")
    outs = []
    for shards in (1, 3, 64):
        project = copy_project(CASES / "formats", base / f"p{shards}")
        if shards > 1:
            with open(project / "specs/dataset.yaml", "a", encoding="utf-8") as f:
                f.write(f"output: {{shards: {shards}}}\n")
        build(project, project / "build")
        outs.append(project)
    return outs[0], outs[1], outs[2]


@pytest.mark.parametrize("which", [1, 2])
def test_sharded_build_concatenates_to_the_whole_build(formats_builds, which: int) -> None:
    whole, sharded = formats_builds[0], formats_builds[which]
    tree = read_tree(sharded / "build")
    shards = 3 if which == 1 else 64
    plain = read_tree(whole / "build")
    records = [p for p in plain if p.endswith(".jsonl")]
    # Every file of records (split files of every format, tasks/) is cut into exactly N shards.
    assert sorted(p for p in tree if p.endswith(".jsonl")) == sorted(
        name for path in records for name in shard_names(path, shards)
    )
    together = joined(tree)
    assert {p: together[p] for p in records} == {p: plain[p] for p in records}
    meta = json.loads(tree["metadata.json"])
    plain_meta = json.loads(plain["metadata.json"])
    assert meta.pop("output") == {"shards": shards}
    assert sorted(meta["outputs"]) == sorted(p for p in tree if p != "metadata.json")
    for document in (meta, plain_meta):
        for key in ("outputs", "metadata_sha256", "inputs", "fingerprint"):
            del document[key]  # dataset.yaml differs by its output: line
    assert meta == plain_meta


def test_the_card_names_every_shard_of_a_split_with_rows(formats_builds) -> None:
    card = (formats_builds[1] / "build/README.md").read_text(encoding="utf-8")
    assert (
        "  - split: train\n    path:\n    - train-00000-of-00003.jsonl\n"
        "    - train-00001-of-00003.jsonl\n    - train-00002-of-00003.jsonl\n"
    ) in card
    info = json.loads((formats_builds[1] / "build/dataset_info.json").read_text("utf-8"))
    assert [k for k in info if "_alpaca_train" in k] == [
        f"formats_alpaca_train_{i:05d}" for i in range(3)
    ]
    assert info["formats_alpaca_train_00001"]["file_name"] == "train-00001-of-00003.jsonl"


def test_check_and_diff_read_a_sharded_build(formats_builds, cli) -> None:
    whole, sharded = formats_builds[0], formats_builds[1]
    result = cli("check", "-C", sharded)
    assert (result.exit_code, result.stdout) == (0, "build/ matches the specs\n")
    result = cli("diff", whole / "build", sharded / "build")
    assert (result.exit_code, result.stdout) == (0, "no differences\n")
