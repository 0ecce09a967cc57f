"""The bytes of a build: Alpaca records loaders accept, one schema, canonical text."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.hashing import collapse, digest, record_digests
from compiler.model import CORE_METADATA, SPLITS
from compiler.pipeline import build
from tests.helpers import CASES, copy_example, copy_project, examples

RECORD_KEYS = ["id", "instruction", "input", "output", "metadata"]
ID = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+\.[0-9a-f]{16}$")


@pytest.fixture(scope="module", params=["coding", "example"])
def build_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build of the coding case or of the shipped example, made once: the tests only read it."""
    base = tmp_path_factory.mktemp(request.param)
    if request.param == "example":
        project = copy_example(base / "example")
    else:
        project = copy_project(CASES / request.param, base / request.param)
    out = base / "out"
    build(project, out)
    return out


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_files_are_canonical_utf8_text(build_dir: Path) -> None:
    for path in sorted(build_dir.rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), path
        assert b"\r" not in raw, path
        assert raw.endswith(b"\n") or raw == b"", path
        text = raw.decode("utf-8")
        assert unicodedata.normalize("NFC", text) == text, path
        assert "NaN" not in text and "Infinity" not in text, path


def test_records_have_one_schema_and_sorted_ids(build_dir: Path) -> None:
    meta_keys = None
    all_ids = []
    for name in SPLITS:
        records = _records(build_dir / f"{name}.jsonl")
        ids = [r["id"] for r in records]
        assert ids == sorted(ids), name
        all_ids += ids
        schema = list(records[0]) if records else RECORD_KEYS
        # Alpaca's columns, with `system` (and `history`) before metadata when the project
        # uses them: the same keys in every row.
        assert [k for k in schema if k not in ("system", "history")] == RECORD_KEYS
        for record in records:
            assert list(record) == schema
            assert ID.match(record["id"]), record["id"]
            assert all(isinstance(record[k], str) for k in RECORD_KEYS[1:4])
            keys = list(record["metadata"])
            assert keys[: len(CORE_METADATA)] == list(CORE_METADATA)
            assert all(v is None or isinstance(v, str) for v in record["metadata"].values())
            meta_keys = meta_keys or keys
            assert keys == meta_keys
    assert len(all_ids) == len(set(all_ids))


def test_task_files_hold_the_same_records_as_the_splits(build_dir: Path) -> None:
    split_lines = sorted(
        line
        for name in SPLITS
        for line in (build_dir / f"{name}.jsonl").read_text("utf-8").splitlines()
    )
    task_lines = sorted(
        line
        for p in sorted((build_dir / "tasks").glob("*.jsonl"))
        for line in p.read_text("utf-8").splitlines()
    )
    assert split_lines == task_lines


def test_metadata_json_hashes_every_output(build_dir: Path) -> None:
    import hashlib

    meta = json.loads((build_dir / "metadata.json").read_text("utf-8"))
    files = sorted(p.relative_to(build_dir).as_posix() for p in build_dir.rglob("*") if p.is_file())
    assert sorted(meta["outputs"]) == [f for f in files if f != "metadata.json"]
    for name, sha in meta["outputs"].items():
        assert hashlib.sha256((build_dir / name).read_bytes()).hexdigest() == sha
    assert meta["records"]["total"] == sum(meta["records"][s] for s in SPLITS)
    assert sum(row["records"] for row in meta["counts"]) == meta["records"]["total"]
    text = (build_dir / "metadata.json").read_text("utf-8")
    assert "/tmp" not in text and str(build_dir) not in text


def test_huggingface_datasets_loads_every_split(
    build_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets  # the hf extra, installed by make test

    files = {name: str(build_dir / f"{name}.jsonl") for name in SPLITS}
    loaded = datasets.load_dataset("json", data_files=files, cache_dir=str(tmp_path / "cache"))
    total = sum(len(loaded[name]) for name in SPLITS)
    meta = json.loads((build_dir / "metadata.json").read_text("utf-8"))
    assert total == meta["records"]["total"]
    features = {name: loaded[name].features for name in SPLITS if len(loaded[name])}
    assert len({repr(f) for f in features.values()}) == 1


_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=examples(100), deadline=None)
@given(
    texts=st.lists(_text, min_size=4, max_size=4),
    metadata=st.dictionaries(_text, st.one_of(st.none(), _text), max_size=6),
)
def test_fast_encoder_equals_json_dumps(texts: list[str], metadata: dict) -> None:
    from compiler.encode import _encode_slow, encode
    from compiler.model import Record

    record = Record(texts[0], texts[1], texts[2], texts[3], metadata, rule=None)
    assert encode(record) == _encode_slow(record)
    assert json.loads(encode(record))["metadata"] == metadata


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8")), min_size=3, max_size=3))
def test_record_digests_are_the_digests_of_the_texts(texts: list[str]) -> None:
    """The prompt key (group_by: prompt) and the output key (group_by: output) are digest()
    of the texts, and the duplicate key is the two side by side: each text is hashed once."""
    instruction, input_, output = texts
    prompt, answer = digest(instruction, input_), digest(output)
    assert record_digests(instruction, input_, output) == (prompt + answer, prompt, answer)


@settings(max_examples=examples(100), deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_collapse_is_the_regular_expression(text: str) -> None:
    assert collapse(text) == re.sub(r"\s+", " ", text).strip()
