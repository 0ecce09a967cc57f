"""build(): load -> validate -> resolve -> expand -> check -> split -> emit."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.check import Checker
from compiler.emit import Writer, check_output_dir
from compiler.errors import CompileError, Location, fail
from compiler.expand import expand
from compiler.hashing import digest, normalize
from compiler.inputs import CONTEXTS, DATASET, yaml_files
from compiler.load import check_inside, load_data, load_yaml
from compiler.model import Project, Record
from compiler.resolve import data_file_refs, resolve
from compiler.split import Assignment, split
from compiler.stats import FACETS, metadata_document
from compiler.validate import validate


def load_project(root: Path, seed: int | None = None) -> Project:
    """Read, validate and resolve every spec file of the project at `root`."""
    if not (root / DATASET).is_file():
        raise fail(
            Location(DATASET),
            f"no {DATASET} in {root.name or root}",
            "run dsc in a project folder, or create one with specs/dataset.yaml",
        )
    errors: list[CompileError] = []

    def read(path: str, kind: str) -> Any:
        try:
            doc = load_yaml(root, path)
            validate(doc, kind)
            return doc
        except CompileError as exc:
            errors.append(exc)
            return None

    dataset = read(DATASET, "dataset")
    contexts = read(CONTEXTS, "contexts") if (root / CONTEXTS).is_file() else None
    brands = [read(p, "brand") for p in yaml_files(root, "brands")]
    tasks = [read(p, "task") for p in yaml_files(root, "specs/tasks")]
    if not errors and not tasks:
        errors.append(
            fail(
                Location("specs/tasks"),
                "the project has no task files",
                "add specs/tasks/<task>.yaml with at least one rule",
            )
        )
    _raise(errors)
    data_files = {}
    for path, where in data_file_refs(tasks):
        try:
            check_inside(root, path, where)
            data_files[path] = load_data(root, path, where)
        except CompileError as exc:
            errors.append(exc)
    _raise(errors)
    project = resolve(dataset, contexts, brands, tasks, data_files)
    if seed is not None:
        project = dataclasses.replace(
            project, config=dataclasses.replace(project.config, seed=seed)
        )
    return project


def _raise(errors: list[CompileError]) -> None:
    if errors:
        raise CompileError([d for e in errors for d in e.diagnostics])


def group_key(record: Record, group_by: str, checker: Checker) -> bytes | str:
    """The key that keeps records together in one split (split.group_by)."""
    if group_by == "output":  # the checker has just normalised this output
        return checker.output_digest(record)
    if group_by == "prompt":
        return digest(normalize(record.instruction), normalize(record.input))
    if group_by.startswith("metadata."):
        value = record.metadata.get(group_by.split(".", 1)[1])
        return record.id if value is None else "m:" + value
    return record.id


@dataclass
class Compiled:
    """What expanding, checking and splitting a project produced (texts excluded)."""

    project: Project
    checker: Checker
    assignment: Assignment
    group_keys: list[bytes | str]
    strata: list[tuple]
    facets: list[tuple]
    facet_of: list[int]


def _getter(keys: tuple[str, ...]) -> Callable[[dict], tuple]:
    """A function from a metadata mapping to the tuple of its values at keys."""
    if not keys:
        return lambda meta: ()
    if len(keys) == 1:
        key = keys[0]
        return lambda meta: (meta[key],)
    return operator.itemgetter(*keys)


def compile_records(
    project: Project, sink: Callable[[Record, str | None], None], trace: bool = False
) -> Compiled:
    """Expand, check and split; every record is passed to sink with its drop reason (or None)."""
    config = project.config
    checker = Checker(project)
    group_keys: list[bytes | str] = []
    strata: list[tuple] = []
    facet_index: dict[tuple, int] = {}
    facet_of: list[int] = []
    group_by = config.split.group_by
    stratum_of = _getter(config.split.stratify_by)
    facet_getter = _getter(FACETS)
    strata_seen: dict[tuple, tuple] = {}
    for record in expand(project):
        reason = checker.check(record)
        sink(record, reason)
        if reason is not None:
            continue
        meta = record.metadata
        group_keys.append(group_key(record, group_by, checker))
        stratum = stratum_of(meta)
        strata.append(strata_seen.setdefault(stratum, stratum))
        facet_of.append(facet_index.setdefault(facet_getter(meta), len(facet_index)))
    checker.errors.raise_if_any()
    ratios = [r for _, r in config.split.ratios]
    assignment = split(group_keys, strata, ratios, config.seed, config.split.method, trace)
    return Compiled(project, checker, assignment, group_keys, strata, list(facet_index), facet_of)


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    metadata: dict[str, Any]
    notes: tuple[str, ...] = ()


def build(root: Path, out_dir: Path | None = None, seed: int | None = None) -> BuildResult:
    """Compile the project into out_dir (default root/build); the old build survives any error."""
    root = Path(root)
    project = load_project(root, seed)
    out_dir = Path(out_dir) if out_dir is not None else root / "build"
    check_output_dir(root, out_dir)
    try:
        writer = Writer(out_dir)
    except OSError as exc:
        raise fail(
            Location(out_dir.name),
            f"cannot prepare {out_dir.name}/: {exc.strerror or exc}",
            "check the folder's permissions",
        ) from None
    try:

        def keep(record: Record, reason: str | None) -> None:
            if reason is None:
                writer.add(record)

        result = compile_records(project, keep)
        outputs = writer.route(result.assignment)
        metadata = metadata_document(
            project,
            result.checker.verdict,
            result.assignment,
            result.facets,
            result.facet_of,
            outputs,
        )
        writer.finish(metadata)
    except BaseException as exc:
        writer.abort()
        if isinstance(exc, OSError):
            raise fail(
                Location(out_dir.name),
                f"cannot write {out_dir.name}/: {exc.strerror or exc}",
                "free disk space or fix permissions; the previous build is untouched",
            ) from None
        raise
    return BuildResult(out_dir, metadata, tuple(writer.notes))
