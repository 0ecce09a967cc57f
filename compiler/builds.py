"""EDGE: read built records back, from a folder or from a git revision."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from compiler.errors import Location, fail
from compiler.model import SPLITS

Build = dict[str, tuple[str, dict[str, Any]]]  # record id -> (split, record)


def parse_build(texts: dict[str, str], where: str) -> Build:
    """Records of the split files, by id."""
    records: Build = {}
    for split_name in SPLITS:
        for number, line in enumerate(texts.get(split_name, "").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise fail(Location(f"{where}/{split_name}.jsonl", number, 1),
                           f"not a JSON line: {exc}") from None
            records[str(record.get("id", f"{split_name}:{number}"))] = (split_name, record)
    return records


def read_folder(folder: Path) -> Build:
    if not (folder / "metadata.json").is_file() and not (folder / "train.jsonl").is_file():
        raise fail(Location(str(folder)), f"{folder} is not a dsc build folder",
                   "give a folder holding train.jsonl, val.jsonl and test.jsonl")
    texts = {}
    for name in SPLITS:
        path = folder / f"{name}.jsonl"
        if path.is_file():
            texts[name] = path.read_text(encoding="utf-8")
    return parse_build(texts, folder.name)


def read_revision(project: Path, out_dir: Path, rev: str) -> Build:
    """The build committed at a git revision (the folder out_dir, as it was at rev)."""
    try:
        top = _git(project, "rev-parse", "--show-toplevel").strip()
    except (OSError, subprocess.CalledProcessError):
        raise fail(Location(str(project)), "not inside a git repository",
                   "--rev needs a git checkout; compare two folders instead: dsc diff OLD NEW") from None
    relative = out_dir.resolve().relative_to(Path(top).resolve()).as_posix()
    texts = {}
    for name in SPLITS:
        try:
            texts[name] = _git(project, "show", f"{rev}:{relative}/{name}.jsonl")
        except subprocess.CalledProcessError as exc:
            message = (exc.stderr or "").strip().splitlines()
            raise fail(Location(f"{relative}/{name}.jsonl"),
                       f"cannot read it at revision {rev!r}: {message[-1] if message else 'git failed'}",
                       "check the revision name (git log), and that the build was committed") from None
    return parse_build(texts, f"{rev}:{relative}")


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True,
                          encoding="utf-8")
    return done.stdout
