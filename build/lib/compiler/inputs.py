"""EDGE: find a project's input files, hash them, and tell whether a build is up to date.

Kept free of heavy imports so that an up-to-date `dsc build` answers in milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from compiler import __version__

DATASET = "specs/dataset.yaml"
CONTEXTS = "specs/contexts.yaml"
METADATA = "metadata.json"


def yaml_files(root: Path, folder: str) -> list[str]:
    """The YAML files of a project folder, as sorted relative POSIX paths."""
    base = root / folder
    if not base.is_dir():
        return []
    names = [p.name for p in base.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()]
    return [f"{folder}/{name}" for name in sorted(names)]


def spec_files(root: Path) -> list[str]:
    """Every spec file of the project (data files are found through the rules)."""
    paths = [DATASET] if (root / DATASET).is_file() else []
    if (root / CONTEXTS).is_file():
        paths.append(CONTEXTS)
    return paths + yaml_files(root, "brands") + yaml_files(root, "specs/tasks")


def drop_cache(fd: int, length: int = 0) -> None:
    """Let the system forget the file's cached pages (the first length bytes; 0: all).

    Outputs of a million records are gigabytes: kept in the page cache they take memory that
    every later write must find anew, which costs more than the writing itself
    (docs/benchmarks.md).
    """
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, length, os.POSIX_FADV_DONTNEED)


def sha256_file(path: Path) -> str | None:
    """The file's sha256, read in chunks (outputs can be gigabytes); None when unreadable."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb", buffering=0) as f:
            read = 0
            while chunk := f.read(1 << 22):
                digest.update(chunk)
                read += len(chunk)
                if read >= 1 << 26:
                    drop_cache(f.fileno(), read)
    except OSError:
        return None
    return digest.hexdigest()


def fingerprint(inputs: dict[str, str], seed: Any) -> str:
    """One hash naming what a build was compiled from: compiler version, seed and inputs."""
    payload = json.dumps(
        {"compiler": __version__, "seed": seed, "inputs": inputs},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


SEAL_KEY = "metadata_sha256"
_UNSEALED = "0" * 64


def seal(text: str) -> str:
    """Fill in metadata.json's own hash: the sha256 of the text with that value all zeros."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return text.replace(f'"{SEAL_KEY}": "{_UNSEALED}"', f'"{SEAL_KEY}": "{digest}"', 1)


def sealed(text: str) -> bool:
    """True when metadata.json's text still has the hash it was written with."""
    marker = f'"{SEAL_KEY}": "'
    at = text.rfind(marker)
    if at < 0:
        return False
    start = at + len(marker)
    recorded = text[start : start + 64]
    blank = text[:start] + _UNSEALED + text[start + 64 :]
    return hashlib.sha256(blank.encode("utf-8")).hexdigest() == recorded


def read_metadata(out_dir: Path) -> dict[str, Any] | None:
    try:
        with open(out_dir / METADATA, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def stale_reasons(root: Path, out_dir: Path, seed: int | None) -> list[str]:
    """Why out_dir is not what the project would compile to now; empty when it is up to date.

    Compares the sha256 of every input and output with the ones metadata.json recorded,
    the compiler version and the seed option. It never parses a spec.
    """
    meta = read_metadata(out_dir)
    if meta is None:
        return [f"no readable {out_dir.name}/{METADATA}"]
    staging = out_dir.with_name(out_dir.name + ".staging")
    leftover = [f"{staging.name}/ was left by an interrupted build"] if staging.exists() else []
    compiler, recorded, outputs = (meta.get(key) for key in ("compiler", "inputs", "outputs"))
    if not (
        isinstance(compiler, dict) and isinstance(recorded, dict) and isinstance(outputs, dict)
    ):
        return [f"{out_dir.name}/{METADATA} was edited by hand"]
    reasons = leftover
    built_with = compiler.get("version")
    if built_with != __version__:
        reasons.append(f"compiler version changed ({built_with} -> {__version__})")
    elif not sealed((out_dir / METADATA).read_text(encoding="utf-8")):
        reasons.append(f"{out_dir.name}/{METADATA} was edited by hand")
    effective = seed if seed is not None else _spec_seed(root)
    if meta.get("seed") != effective:
        reasons.append(f"seed changed ({meta.get('seed')} -> {effective})")
    current = {p: sha256_file(root / p) for p in spec_files(root)}
    data_paths = [p for p in recorded if p not in current and not _is_spec_path(p)]
    current.update({p: sha256_file(root / p) for p in data_paths})
    for path in sorted(set(recorded) | set(current)):
        old, new = recorded.get(path), current.get(path)
        if old == new:
            continue
        if old is None:
            reasons.append(f"{path} was added")
        elif new is None:
            reasons.append(f"{path} was deleted")
        else:
            reasons.append(f"{path} changed")
    for path, digest in sorted(outputs.items()):
        actual = sha256_file(out_dir / path)
        if actual is None:
            reasons.append(f"{out_dir.name}/{path} is missing")
        elif actual != digest:
            reasons.append(f"{out_dir.name}/{path} was edited by hand")
    expected = set(outputs) | {METADATA}
    for path in sorted(_tree(out_dir) - expected):
        reasons.append(f"{out_dir.name}/{path} is not a build output")
    return reasons


def _spec_seed(root: Path) -> Any:
    import yaml

    try:
        with open(root / DATASET, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, ValueError, yaml.YAMLError):
        return None
    return data.get("seed") if isinstance(data, dict) else None


def _is_spec_path(path: str) -> bool:
    return path in (DATASET, CONTEXTS) or path.startswith(("brands/", "specs/tasks/"))


def _tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
