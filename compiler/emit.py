"""EDGE: write records and metadata.json into a staging folder, then swap it into place."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import IO, Any

from compiler.errors import fail, Location
from compiler.model import SPLITS, Record
from compiler.split import Assignment


def encode(record: Record) -> str:
    """One record as one JSON line: fixed key order, UTF-8 text kept readable."""
    return json.dumps(
        {
            "id": record.id,
            "instruction": record.instruction,
            "input": record.input,
            "output": record.output,
            "metadata": record.metadata,
        },
        ensure_ascii=False,
        allow_nan=False,
    ) + "\n"


def _inline(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _json_lines(value: Any, indent: str) -> str:
    """Indented JSON in which flat objects and lists stay on one line (one row a line)."""
    if not isinstance(value, (dict, list)):
        return _inline(value)
    flat = not any(isinstance(v, (dict, list)) for v in
                   (value.values() if isinstance(value, dict) else value))
    if flat and len(_inline(value)) <= 120 or not value:
        return _inline(value)
    inner = indent + "  "
    if isinstance(value, dict):
        body = [f"{inner}{_inline(k)}: {_json_lines(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(body) + f"\n{indent}}}"
    body = [f"{inner}{_json_lines(v, inner)}" for v in value]
    return "[\n" + ",\n".join(body) + f"\n{indent}]"


def dump_json(value: Any) -> str:
    """metadata.json text: fixed key order as given, UTF-8 kept readable, trailing newline."""
    return _json_lines(value, "") + "\n"


def _open(path: Path) -> IO[str]:
    return open(path, "w", encoding="utf-8", newline="\n")


class _HashedFile:
    def __init__(self, path: Path) -> None:
        self.handle = _open(path)
        self.sha = hashlib.sha256()

    def write(self, text: str) -> None:
        self.handle.write(text)
        self.sha.update(text.encode("utf-8"))

    def close(self) -> str:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        return self.sha.hexdigest()


class Writer:
    """Streams records into per-task files in a staging folder beside the output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.staging = out_dir.with_name(out_dir.name + ".staging")
        if self.staging.exists():
            shutil.rmtree(self.staging)
        (self.staging / "tasks").mkdir(parents=True)
        self.tasks: dict[str, _HashedFile] = {}
        self.task_order: list[str] = []
        self.outputs: dict[str, str] = {}

    def add(self, record: Record) -> None:
        task = record.metadata["task"]
        handle = self.tasks.get(task)
        if handle is None:
            handle = self.tasks[task] = _HashedFile(self.staging / "tasks" / f"{task}.jsonl")
            self.task_order.append(task)
        handle.write(encode(record))

    def route(self, assignment: Assignment) -> dict[str, str]:
        """Write train/val/test by reading the per-task files back in id order."""
        for task in self.task_order:
            self.outputs[f"tasks/{task}.jsonl"] = self.tasks[task].close()
        split_files = [_HashedFile(self.staging / f"{name}.jsonl") for name in SPLITS]
        index = 0
        for task in sorted(self.task_order):
            with open(self.staging / "tasks" / f"{task}.jsonl", encoding="utf-8", newline="\n") as f:
                for line in f:
                    split_files[assignment.splits[index]].write(line)
                    index += 1
        for name, handle in zip(SPLITS, split_files):
            self.outputs[f"{name}.jsonl"] = handle.close()
        return dict(sorted(self.outputs.items()))

    def finish(self, metadata: dict[str, Any]) -> None:
        with _open(self.staging / "metadata.json") as f:
            f.write(dump_json(metadata))
            f.flush()
            os.fsync(f.fileno())
        self._swap()

    def _swap(self) -> None:
        old = self.out_dir.with_name(self.out_dir.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        if self.out_dir.exists():
            os.replace(self.out_dir, old)
        os.replace(self.staging, self.out_dir)
        if old.exists():
            shutil.rmtree(old)

    def abort(self) -> None:
        for handle in self.tasks.values():
            if not handle.handle.closed:
                handle.handle.close()
        if self.staging.exists():
            shutil.rmtree(self.staging)


def check_output_dir(root: Path, out_dir: Path) -> None:
    """Refuse an output folder that is a file or that leaves the project."""
    where = Location(str(out_dir.name))
    if out_dir.is_symlink():
        raise fail(where, f"output folder {out_dir.name!r} is a symbolic link",
                   "remove the link; dsc writes only real folders inside the project")
    if out_dir.exists() and not out_dir.is_dir():
        raise fail(where, f"output path {out_dir.name!r} exists and is not a folder",
                   "move the file away")
