"""The determinism contract: same inputs and seed give the same bytes, and edits stay local."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from compiler.pipeline import build
from tests.helpers import ROOT, SINGLETON_MOVES, read_tree

PROJECTS = ["coding", "card", "example"]
SPLIT_FILES = ("train.jsonl", "val.jsonl", "test.jsonl")
# metadata.json entries made from the bytes of the input files (which a rewrite changes):
# their sha256, the build fingerprint over them, and metadata.json's own seal.
INPUT_BYTES_KEYS = ("inputs", "fingerprint", "metadata_sha256")


@pytest.fixture(params=PROJECTS)
def project(request: pytest.FixtureRequest, case, tmp_path: Path) -> Path:
    """A copy of a fixture project, or of the shipped example (specs/ and brands/)."""
    if request.param == "example":
        return request.getfixturevalue("example")
    return case(request.param)


@pytest.fixture(scope="module")
def reference_build(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], dict[str, bytes]]:
    """The files of an in-process build of a project's files as they are now, built once for
    each distinct set of files (the tests compare other builds of a fixture's copy with it)."""
    built: dict[tuple, dict[str, bytes]] = {}

    def of(project: Path) -> dict[str, bytes]:
        key = tuple(read_tree(project).items())
        if key not in built:
            out = tmp_path_factory.mktemp("reference") / "build"
            build(project, out)
            built[key] = read_tree(out)
        return built[key]

    return of


@pytest.fixture(scope="session")
def other_locale(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for a real locale other than C: an installed one, else one compiled with
    localedef into a temporary LOCPATH (Turkish: decimal comma, dotted and dotless i), else C."""
    try:
        names = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
    except OSError:
        names = []
    real = [n for n in names if n.lower() not in ("c", "posix", "c.utf8", "c.utf-8")]
    if real:
        return {"LC_ALL": real[0]}
    folder = tmp_path_factory.mktemp("locales")
    try:
        made = subprocess.run(
            ["localedef", "-i", "tr_TR", "-f", "UTF-8", str(folder / "tr_TR.UTF-8")],
            capture_output=True,
        )
    except OSError:
        made = None
    if made is not None and (folder / "tr_TR.UTF-8").exists():
        return {"LC_ALL": "tr_TR.UTF-8", "LOCPATH": str(folder)}
    return {"LC_ALL": "C"}


# Three environments unlike each other and unlike the test process: hash seed, time zone
# (half-hour and far-east offsets), locale (C is ASCII; OTHER is `other_locale`), umask,
# working directory, and an output path given relatively, absolutely, with spaces and
# non-ASCII letters.
ENVIRONMENTS = [
    pytest.param(
        {"PYTHONHASHSEED": "0", "TZ": "UTC", "LC_ALL": "C.UTF-8"}, 0o022, "elsewhere", id="utc"
    ),
    pytest.param(
        {"PYTHONHASHSEED": "4242", "TZ": "Asia/Bangkok", "LC_ALL": "OTHER"},
        0o077,
        "project",
        id="bangkok",
    ),
    pytest.param(
        {"PYTHONHASHSEED": "random", "TZ": "America/St_Johns", "LC_ALL": "POSIX", "LANG": "C"},
        0o002,
        "nested",
        id="st_johns",
    ),
]


def _run_build(project: Path, out: Path, env_changes: dict, umask: int, where: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHONHASHSEED"))}
    env.update(env_changes)
    env["PYTHONPATH"] = str(ROOT)
    if where == "project":
        cwd, project_arg, out_arg = project, ".", os.path.relpath(out, project)
    elif where == "nested":
        cwd = out.parent / "a" / "b"
        cwd.mkdir(parents=True)
        project_arg, out_arg = os.path.relpath(project, cwd), os.path.relpath(out, cwd)
    else:
        cwd = out.parent / "cwd"
        cwd.mkdir()
        project_arg, out_arg = str(project), str(out)
    done = subprocess.run(
        [sys.executable, "-m", "compiler", "build", "-C", project_arg, "--out", out_arg],
        cwd=cwd,
        env=env,
        umask=umask,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("env_changes", "umask", "where"), ENVIRONMENTS)
def test_build_is_byte_identical_in_another_environment(
    project: Path,
    tmp_path: Path,
    env_changes: dict,
    umask: int,
    where: str,
    other_locale,
    reference_build: Callable[[Path], dict[str, bytes]],
) -> None:
    if env_changes["LC_ALL"] == "OTHER":
        env_changes = {**env_changes, **other_locale}
    out = tmp_path / "other place" / "sortie ไทย"
    out.parent.mkdir()
    _run_build(project, out, env_changes, umask, where)
    built = read_tree(out)
    assert built == reference_build(project)
    for name, data in built.items():
        assert str(tmp_path).encode() not in data, f"{name} holds an absolute path"
        assert b"sortie" not in data, f"{name} names its output folder"


# Order of files and keys ------------------------------------------------------------------------


def _project_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_files_created_in_another_order_give_the_same_bytes(
    project: Path, tmp_path: Path, reference_build: Callable[[Path], dict[str, bytes]]
) -> None:
    """Directory listings follow creation order on some file systems; the build must not."""
    shuffled = tmp_path / "shuffled"
    files = _project_files(project)
    # Reverse order, and every other file first, so that no listing order is preserved.
    for relative in list(reversed(files))[1::2] + list(reversed(files))[::2]:
        (shuffled / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project / relative, shuffled / relative)
    build(shuffled, tmp_path / "b")
    assert read_tree(tmp_path / "b") == reference_build(project)


def _reversed(value):
    """Every mapping with its keys in reverse order, recursively; lists keep their order."""
    if isinstance(value, dict):
        return {k: _reversed(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed(v) for v in value]
    return value


def _rewrite_reversed(root: Path) -> list[str]:
    """Rewrite every YAML and JSONL file of the project with reversed mapping keys."""
    rewritten = []
    for relative in _project_files(root):
        path = root / relative
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml"):
            data = _reversed(yaml.safe_load(text))
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**6)
        elif path.suffix == ".jsonl":
            rows = [_reversed(json.loads(line)) for line in text.splitlines() if line.strip()]
            text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        else:
            continue
        path.write_text(text, encoding="utf-8")
        rewritten.append(relative.as_posix())
    return rewritten


def test_reversed_mapping_keys_give_the_same_records(
    project: Path, tmp_path: Path, reference_build: Callable[[Path], dict[str, bytes]]
) -> None:
    """Keys in reverse order everywhere: `each` (bindings are ordered by dependency), `pick`,
    `metadata`, collections, brand fields, data rows. Only the input files' sha256 (and the
    hashes made of them) may change in metadata.json."""
    before = reference_build(project)
    rewritten = _rewrite_reversed(project)
    assert rewritten
    build(project, tmp_path / "b")
    after = read_tree(tmp_path / "b")
    assert sorted(before) == sorted(after)
    old, new = json.loads(before["metadata.json"]), json.loads(after["metadata.json"])
    for name in before:
        if name == "README.md":  # the card names the fingerprint of the inputs
            fingerprints = old["fingerprint"].encode(), new["fingerprint"].encode()
            assert after[name] == before[name].replace(*fingerprints), name
        elif name != "metadata.json":
            assert after[name] == before[name], name
    assert list(new) == list(old)
    markdown = [path for path in old["inputs"] if path.endswith(".md")]  # specs/card.md
    assert sorted(new["inputs"]) == sorted(old["inputs"]) == sorted(rewritten + markdown)
    for meta in (new, old):
        for key in INPUT_BYTES_KEYS:
            meta.pop(key, None)
        meta["outputs"].pop("README.md")  # its bytes hold the fingerprint
    assert new == old


# Locality ---------------------------------------------------------------------------------------


def _records(out: Path) -> dict[str, tuple[str, str]]:
    """Each record's id -> (split, its JSON line)."""
    found = {}
    for name in SPLIT_FILES:
        for line in (out / name).read_text(encoding="utf-8").splitlines():
            record_id = json.loads(line)["id"]
            assert record_id not in found
            found[record_id] = (name, line)
    return found


@pytest.mark.parametrize("group_by", ["output", "id"])
def test_editing_one_item_changes_only_its_records(case, tmp_path: Path, group_by: str) -> None:
    project = case("coding")
    dataset = project / "specs" / "dataset.yaml"
    text = dataset.read_text(encoding="utf-8")
    if group_by != "output":
        text += f"split: {{group_by: {group_by}}}\n"
        dataset.write_text(text, encoding="utf-8")
    build(project, tmp_path / "a")
    edited = text.replace("runtime: tokio,", "runtime: tokio's multi-threaded scheduler,")
    assert edited != text
    dataset.write_text(edited, encoding="utf-8")
    build(project, tmp_path / "b")
    before, after = _records(tmp_path / "a"), _records(tmp_path / "b")
    assert sorted(after) == sorted(before)
    # Exactly the explain_concept records bound to rust (one per concept) read `lang.runtime`.
    expected = {
        record_id
        for record_id, (_, line) in before.items()
        if json.loads(line)["metadata"]["task"] == "explain_concept"
        and json.loads(line)["metadata"]["lang"] == "rust"
    }
    assert len(expected) == 3
    changed = {i for i in before if before[i][1] != after[i][1]}
    assert changed == expected
    for record_id in changed:
        assert "tokio's multi-threaded scheduler" in json.loads(after[record_id][1])["output"]
    tree_a, tree_b = read_tree(tmp_path / "a"), read_tree(tmp_path / "b")
    assert tree_a["tasks/refactor.jsonl"] == tree_b["tasks/refactor.jsonl"]
    if group_by == "id":
        # Group keys did not change, so no record (not even an edited one) changes split.
        assert {i: s for i, (s, _) in after.items()} == {i: s for i, (s, _) in before.items()}
    # With group_by: output the three edited records are three new groups (three removed,
    # three added) and may move others; on 12 records no bound short of "all" would say
    # anything, so tests/test_split.py states that bound on the split itself.


def test_adding_one_record_adds_its_id_and_moves_few_others(case, tmp_path: Path) -> None:
    project = case("coding")
    build(project, tmp_path / "a")
    row = {
        "id": "go-pool",
        "lang": "go",
        "code": "for _, job := range jobs {\n    go worker(job)\n}",
        "answer": "g, ctx := errgroup.WithContext(ctx)\nfor _, job := range jobs {\n"
        "    g.Go(func() error { return worker(ctx, job) })\n}",
    }
    with open(project / "data" / "refactor.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    build(project, tmp_path / "b")
    before, after = _records(tmp_path / "a"), _records(tmp_path / "b")
    added = set(after) - set(before)
    assert set(before) <= set(after)
    assert len(added) == 1
    (new_id,) = added
    assert new_id.startswith("refactor.from_threads.")
    assert json.loads(after[new_id][1])["input"].startswith("for _, job")
    # No other record's text changes; at most a few change split (see tests/test_split.py).
    assert all(after[i][1] == line for i, (_, line) in before.items())
    moved = [i for i in before if before[i][0] != after[i][0]]
    assert len(moved) <= SINGLETON_MOVES
    # The other task's per-task file (records, not splits) does not change at all.
    tree_a, tree_b = read_tree(tmp_path / "a"), read_tree(tmp_path / "b")
    assert tree_a["tasks/explain_concept.jsonl"] == tree_b["tasks/explain_concept.jsonl"]
