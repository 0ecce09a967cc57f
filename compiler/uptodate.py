"""EDGE: find a project's input files, hash them, and tell whether a build is up to date.

Kept free of heavy imports so that an up-to-date `dsc build` answers in milliseconds.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from compiler import __version__, files
from compiler.errors import Location, fail
from compiler.hashing import sealed
from compiler.model import CHAT_TEMPLATE
from compiler.statcache import Cache

DATASET = "specs/dataset.yaml"
CONTEXTS = "specs/contexts.yaml"
CARD = "specs/card.md"  # optional: the project's own text for build/README.md
METADATA = "metadata.json"
# Far above what a build writes (counts and hashes), far below what would strain memory.
METADATA_LIMIT = 16 * 1024 * 1024


def spec_files(root: Path) -> list[str]:
    """Every spec file of the project (data files are found through the rules).

    Raises files.Refused when a spec folder links out of the project.
    """
    paths = [p for p in (DATASET, CONTEXTS, CARD, CHAT_TEMPLATE) if os.path.lexists(root / p)]
    return paths + files.yaml_files(root, "brands") + files.yaml_files(root, "specs/tasks")


def check_output_dir(root: Path, out_dir: Path) -> None:
    """Refuse an output folder that is a symbolic link or a file."""
    where = Location(out_dir.name)
    if out_dir.is_symlink():
        raise fail(
            where,
            f"output folder {out_dir.name!r} is a symbolic link",
            "remove the link; dsc writes only real folders",
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise fail(
            where, f"output path {out_dir.name!r} exists and is not a folder", "move the file away"
        )


def drop_cache(fd: int, length: int = 0) -> None:
    """Let the system forget the file's cached pages (the first length bytes; 0: all).

    Outputs of a million records are gigabytes: kept in the page cache they take memory that
    every later write must find anew, which costs more than the writing itself
    (docs/benchmarks.md).
    """
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, length, os.POSIX_FADV_DONTNEED)


def read_metadata(out_dir: Path) -> tuple[str, dict[str, Any]] | None:
    """The text and data of out_dir/metadata.json, read through the gate; None when unusable."""
    try:
        text = files.read_bytes(out_dir, METADATA, METADATA_LIMIT, links=False).decode("utf-8")
        data = json.loads(text)
    except (files.Refused, ValueError, RecursionError):
        return None
    return (text, data) if isinstance(data, dict) else None


def metadata_problem(meta: dict[str, Any]) -> str | None:
    """What makes a metadata.json unusable for the up-to-date check (None: nothing).

    The file is committed with the specs, so it is as untrusted as they are: every path in it
    is judged by its text before any file is named by it.
    """
    compiler = meta.get("compiler")
    version = compiler.get("version") if isinstance(compiler, dict) else None
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        return "compiler.version is not a version"
    seed = meta.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        return "seed is not an integer"
    for key in ("inputs", "outputs"):
        table = meta.get(key)
        if not isinstance(table, dict):
            return f"{key} is not a mapping"
        for path, digest in table.items():
            problem = files.path_problem(path)
            if problem is not None or path == METADATA:
                return f"{key} names {path[:80]!r}, which is not a path of a project file"
            if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                return f"{key} holds {str(digest)[:80]!r} for {path[:80]!r}, not a sha256"
    return None


def stale_reasons(
    root: Path, out_dir: Path, seed: int | None, cache: Cache | None = None
) -> list[str]:
    """Why out_dir is not what the project would compile to now; empty when it is up to date.

    Compares the sha256 of every input and output with the ones metadata.json recorded,
    the compiler version and the seed option. Every file is read through the gate
    (compiler/files.py), and a path of metadata.json that does not belong means "rebuild".
    With a cache (compiler/statcache.py), a file whose stat it vouches for is not read.
    """
    found = read_metadata(out_dir)
    if found is None:
        return [f"no readable {out_dir.name}/{METADATA}"]
    text, meta = found
    staging, _ = files.beside(out_dir)
    reasons = [f"{staging.name}/ was left by an interrupted build"] if staging.exists() else []
    problem = metadata_problem(meta)
    if problem is not None:
        return [*reasons, f"{out_dir.name}/{METADATA} was edited by hand ({problem})"]
    recorded, outputs = meta["inputs"], meta["outputs"]
    built_with = meta["compiler"]["version"]
    if built_with != __version__:
        reasons.append(f"compiler version changed ({built_with} -> {__version__})")
    elif not sealed(text):
        reasons.append(f"{out_dir.name}/{METADATA} was edited by hand")
    limit = files.SPEC_FILE_LIMIT
    inputs_out = (out_dir, root / "build")
    current: dict[str, str | None] = {}
    if os.path.lexists(root / DATASET):
        # First, so that the cache can tell whether the seed it recorded is still the spec's.
        current[DATASET] = _digest(root, DATASET, limit, inputs_out, cache=cache)
    effective = seed if seed is not None else _spec_seed(root, meta["seed"], cache)
    if meta["seed"] != effective:
        reasons.append(f"seed changed ({meta['seed']} -> {effective})")
    try:
        specs = spec_files(root)
    except files.Refused as exc:
        return [*reasons, exc.message]
    current.update(
        {p: _digest(root, p, limit, inputs_out, cache=cache) for p in specs if p not in current}
    )
    data_paths = [p for p in recorded if p not in current and not _is_spec_path(p)]
    data_limit = files.DATA_FILE_LIMIT
    current.update({p: _digest(root, p, data_limit, inputs_out, cache=cache) for p in data_paths})
    for path in sorted(set(recorded) | set(current)):
        old, new = recorded.get(path), current.get(path)
        if old == new:
            continue
        if new == _UNREADABLE:
            reasons.append(f"{path} cannot be read")
        elif old is None:
            reasons.append(f"{path} was added")
        elif new is None:
            reasons.append(f"{path} was deleted")
        else:
            reasons.append(f"{path} changed")
    for path, digest in sorted(outputs.items()):
        actual = _digest(out_dir, path, None, (), False, cache, "outputs")
        if actual is None:
            reasons.append(f"{out_dir.name}/{path} is missing")
        elif actual == _UNREADABLE:
            reasons.append(f"{out_dir.name}/{path} is not a regular file")
        elif actual != digest:
            reasons.append(f"{out_dir.name}/{path} was edited by hand")
    expected = set(outputs) | {METADATA}
    for path in sorted(set(files.tree(out_dir)) - expected):
        reasons.append(f"{out_dir.name}/{files.shown(path)} is not a build output")
    return reasons


_SHA256 = re.compile("[0-9a-f]{64}")
_VERSION = re.compile("[0-9A-Za-z.+_-]{1,40}")
_UNREADABLE = "unreadable"


def _digest(
    base: Path,
    path: str,
    limit: int | None,
    outputs: tuple[Path, ...],
    links: bool = True,
    cache: Cache | None = None,
    group: str = "inputs",
) -> str | None:
    """The file's sha256; None when it does not exist, _UNREADABLE when the gate refuses it.

    A file the cache vouches for (same stat, not racily clean) is judged by the gate but not
    read; one it does not is hashed, and the cache learns its stat as it was read.
    """
    try:
        if cache is None:
            return files.sha256(base, path, limit, outputs, links)
        info = files.locate(base, path, outputs, links)[1]
        known = cache.known(group, path, info)
        if known is not None and (limit is None or info.st_size <= limit):
            return known
        cache.before_hashing()
        digest, seen = files.sha256_stat(base, path, limit, outputs, links)
        cache.hashed_file(group, path, seen, digest)
        return digest
    except files.Refused as exc:
        return None if exc.missing else _UNREADABLE


def _spec_seed(root: Path, unreadable: Any, cache: Cache | None = None) -> Any:
    """The seed of specs/dataset.yaml, read by the same guarded loader as a build, or known
    from the cache when it vouches for the file (parsing a large spec takes most of a no-op).

    A spec with errors gives `unreadable`: its hash has changed, which is reason enough.
    """
    known = cache.spec_seed(DATASET) if cache is not None else None
    if known is not None:
        return known
    from compiler.errors import CompileError
    from compiler.load import load_yaml

    try:
        data = load_yaml(root, DATASET).data
    except CompileError:
        return unreadable
    seed = data.get("seed") if isinstance(data, dict) else unreadable
    if cache is not None and isinstance(seed, int) and not isinstance(seed, bool):
        cache.learn_seed(seed)
    return seed


def _is_spec_path(path: str) -> bool:
    return path in (DATASET, CONTEXTS, CARD, CHAT_TEMPLATE) or path.startswith(
        ("brands/", "specs/tasks/")
    )
