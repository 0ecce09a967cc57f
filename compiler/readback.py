"""EDGE: read built records back, from a folder or from a git revision."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from compiler import files
from compiler.errors import Location, fail
from compiler.model import SPLITS, Build
from compiler.shards import shards_among

# A split file's text, or (output.shards) its shards' names in the build and their texts.
Texts = dict[str, str | list[tuple[str, str]]]

_EDITED = "the file was edited by hand or cut short: rebuild it with dsc build"
# dsc diff holds both builds in memory; a split file beyond this is refused, not read.
READ_LIMIT = 1 << 30


def _rows(text: str, where: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The JSON objects of one file's lines, with their line numbers."""
    # split("\n"), not splitlines(): a record may hold U+2028 or U+0085, which JSON writes
    # as they are and splitlines() would take for line ends.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise fail(Location(where, number, 1), f"not a JSON line: {exc}", _EDITED) from None
        if not isinstance(record, dict):
            raise fail(
                Location(where, number, 1),
                f"expected a JSON object (a record), found {type(record).__name__}",
                _EDITED,
            )
        yield number, record


# The formats that hold what Alpaca rows do not: a pair's rejected answer, a KTO label, and
# the records labelled false (KTO only). The standard form is read when both were built.
PAIR_FORMATS = (("preference", "preference_chat"), ("kto", "kto_chat"))


def _answer(value: Any) -> Any:
    """A standard format's text, or a chat format's one assistant message's content."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        return value[0].get("content")
    return value


def _pieces(value: str | list[tuple[str, str]], where: str, name: str) -> list[tuple[str, str]]:
    """(where to report a problem, text) of each file of one output."""
    if isinstance(value, str):
        return [(f"{where}/{name}.jsonl", value)]
    return [(f"{where}/{path}", text) for path, text in value]


def parse_build(texts: Texts, where: str) -> Build:
    """Records of the split files, by id; with the rejected answer and the label that the
    preference and KTO files hold (`<format>/<split>` keys of texts), so that dsc diff sees a
    change of either."""
    records: Build = {}
    for split_name in SPLITS:
        for shown, text in _pieces(texts.get(split_name, ""), where, split_name):
            for number, record in _rows(text, shown):
                records[str(record.get("id", f"{split_name}:{number}"))] = (split_name, record)
    for kinds in PAIR_FORMATS:
        name = next((k for k in kinds if any(f"{k}/{s}" in texts for s in SPLITS)), None)
        for split_name in SPLITS if name else ():
            key = f"{name}/{split_name}"
            for shown, text in _pieces(texts.get(key, ""), where, key):
                for _, row in _rows(text, shown):
                    _merge(records, split_name, row)
    return records


def _merge(records: Build, split_name: str, row: dict[str, Any]) -> None:
    row_id = str(row.get("id"))
    if "rejected" in row:  # a preference row
        if row_id in records:
            records[row_id][1]["rejected"] = _answer(row["rejected"])
        return
    base, _, side = row_id.rpartition(".")
    if side in ("chosen", "rejected") and base in records:  # a pair's KTO rows
        if side == "rejected":
            records[base][1].setdefault("rejected", _answer(row.get("completion")))
        return
    if row_id in records:
        records[row_id][1]["label"] = row.get("label")
    else:  # labelled false: in the KTO formats alone
        records[row_id] = (split_name, row)


def read_folder(folder: Path) -> Build:
    listing = _listing(folder)
    if not (folder / "metadata.json").is_file() and not (
        (folder / "train.jsonl").is_file() or shards_among(listing, "train.jsonl")
    ):
        raise fail(
            Location(str(folder)),
            "not a dsc build folder (no metadata.json, no train.jsonl)",
            "give folders written by dsc build, e.g. a copy of build/ made before a change",
        )
    texts: Texts = {}
    for name in [*SPLITS, *(f"{k}/{s}" for kinds in PAIR_FORMATS for k in kinds for s in SPLITS)]:
        relpath = f"{name}.jsonl"
        if os.path.lexists(folder / relpath):
            texts[name] = _read(folder, relpath)
        elif shards := shards_among(listing, relpath):
            texts[name] = [(path, _read(folder, path)) for path in shards]
    return parse_build(texts, folder.name or str(folder))


def _listing(folder: Path) -> list[str]:
    """The names of the files in folder and in its folders one level down, as paths in it."""
    found = []
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    found += [f"{entry.name}/{inner}" for inner in sorted(os.listdir(entry.path))]
            else:
                found.append(entry.name)
    return found


def _read(folder: Path, relpath: str) -> str:
    try:
        # Through the gate: a committed build may hold a link or a pipe in place of a file.
        raw = files.read_bytes(folder, relpath, READ_LIMIT, links=False)
        return raw.decode("utf-8")
    except files.Refused as exc:
        raise fail(Location(f"{folder.name}/{relpath}"), exc.message, exc.hint) from None
    except UnicodeDecodeError as exc:
        raise fail(
            Location(f"{folder.name}/{relpath}"),
            f"invalid UTF-8 byte 0x{raw[exc.start]:02x}",
            "dsc writes UTF-8: rebuild the file",
        ) from None


def read_revision(project: Path, out_dir: Path, rev: str) -> Build:
    """The build committed at a git revision (the folder out_dir, as it was at rev)."""
    try:
        top = _git(project, "rev-parse", "--show-toplevel").strip()
    except (OSError, subprocess.CalledProcessError):
        raise fail(
            Location(str(project)),
            "not inside a git repository",
            "--rev needs a git checkout; compare two folders instead: dsc diff OLD NEW",
        ) from None
    try:
        # A name starting with "-" would be read by git as an option.
        if rev.startswith("-"):
            raise subprocess.CalledProcessError(1, "git")
        commit = _git(project, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    except subprocess.CalledProcessError:
        raise fail(
            Location(""),
            f"unknown revision {rev!r}",
            "name a commit, branch or tag (git log --oneline, git branch -a); "
            "fetch it first if it lives on a remote",
        ) from None
    try:
        relative = PurePosixPath(out_dir.resolve().relative_to(Path(top).resolve()).as_posix())
    except ValueError:
        raise fail(
            Location(str(out_dir)),
            f"the folder is outside the git repository {top}",
            "--rev compares a build folder of this repository with its committed version",
        ) from None
    listed = _git(project, "ls-tree", "-r", "--name-only", commit, "--", relative.as_posix())
    present = set(listed.splitlines())
    inside = sorted(
        p if relative == PurePosixPath(".") else PurePosixPath(p).relative_to(relative).as_posix()
        for p in present
    )
    texts: Texts = {}

    def show(name: str) -> str:
        path = (relative / name).as_posix()
        try:
            return _git(project, "show", f"{commit}:{path}")
        except subprocess.CalledProcessError:
            raise fail(
                Location(path),
                f"not committed at revision {rev!r}",
                f"commit {relative.as_posix()}/ with the specs so that it can be compared; "
                "or compare two folders: dsc diff OLD NEW",
            ) from None

    for name in SPLITS:
        shards = shards_among(inside, f"{name}.jsonl")
        texts[name] = [(p, show(p)) for p in shards] if shards else show(f"{name}.jsonl")
    for name in (f"{k}/{s}" for kinds in PAIR_FORMATS for k in kinds for s in SPLITS):
        path = (relative / f"{name}.jsonl").as_posix()
        if path in present:
            texts[name] = show(f"{name}.jsonl")
        elif shards := shards_among(inside, f"{name}.jsonl"):
            texts[name] = [(p, show(p)) for p in shards]
    return parse_build(texts, f"{rev}:{relative.as_posix()}")


# What dsc check says of a file of the committed build (docs/ci.md: `problem` in its JSON).
PROBLEMS = {
    "missing": "is missing",
    "not_output": "is not a build output",
    "not_regular": "is not a regular file",
    "differs": "differs (stale or edited by hand)",
}


def compare_trees(actual: Path, expected: Path) -> list[tuple[str, str]]:
    """What differs between a committed build and a fresh one, as (path, problem) pairs in
    path order, the path as messages show it and the problem a key of PROBLEMS; the committed
    files are read through the gate (no links, no pipes or devices: a pull request may commit
    anything)."""
    have = files.tree(actual) if actual.is_dir() else {}
    want = files.tree(expected)
    problems = []
    for path in sorted(set(have) | set(want)):
        name = f"{actual.name}/{files.shown(path)}"
        if path not in have:
            problems.append((name, "missing"))
        elif path not in want:
            problems.append((name, "not_output"))
        elif not have[path]:
            problems.append((name, "not_regular"))
        else:
            try:
                same = files.sha256(actual, path, links=False) == files.sha256(expected, path)
            except files.Refused:
                same = False
            if not same:
                problems.append((name, "differs"))
    return problems


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, check=True, encoding="utf-8"
    )
    return done.stdout
