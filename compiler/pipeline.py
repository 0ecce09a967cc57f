"""build(): load -> validate -> resolve -> expand -> check -> split -> emit."""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import operator
import os
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.budget import record_budgets
from compiler.check import Checker, Inspector, fingerprints
from compiler.emit import Writer, check_output_dir, encode
from compiler.errors import Collector, CompileError, Diagnostic, Location, fail
from compiler.expand import Bindings, Plan, expand, maker
from compiler.files import Refused, yaml_files
from compiler.hashing import format_id
from compiler.inputs import CONTEXTS, DATASET
from compiler.load import load_data, load_yaml
from compiler.model import FIELDS, Config, Project, Record
from compiler.parallel import ordered_map, usable_cpus
from compiler.resolve import data_file_refs, resolve
from compiler.split import Assignment, split
from compiler.stats import FACETS, metadata_document
from compiler.validate import validate


def load_project(root: Path, seed: int | None = None, out_dir: Path | None = None) -> Project:
    """Read, validate and resolve every spec file of the project at `root`.

    No input may live in the output folder (root/build, and out_dir when given): each build
    rewrites it, so a build reading it would never be the same twice.
    """
    if not os.path.lexists(root / DATASET):
        raise fail(
            Location(DATASET),
            f"no {DATASET} in {root.name or root}",
            "run dsc in a project folder, or create one with specs/dataset.yaml",
        )
    outputs = tuple(
        folder.with_name(folder.name + suffix)
        for folder in dict.fromkeys([root / "build", *([out_dir] if out_dir else [])])
        for suffix in ("", ".staging", ".old")
    )
    errors: list[CompileError] = []

    def read(path: str, kind: str) -> Any:
        try:
            doc = load_yaml(root, path, outputs)
            validate(doc, kind)
            return doc
        except CompileError as exc:
            errors.append(exc)
            return None

    def listed(folder: str) -> list[str]:
        try:
            return yaml_files(root, folder)
        except Refused as exc:
            errors.append(fail(Location(folder), exc.message, exc.hint))
            return []

    dataset = read(DATASET, "dataset")
    contexts = read(CONTEXTS, "contexts") if os.path.lexists(root / CONTEXTS) else None
    brands = [read(p, "brand") for p in listed("brands")]
    tasks = [read(p, "task") for p in listed("specs/tasks")]
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
            data_files[path] = load_data(root, path, where, outputs)
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


def group_key(record: Record, group_by: str, prompt: bytes, output: bytes) -> bytes | str:
    """The key that keeps records together in one split (split.group_by); prompt and output
    are the digests of the record's normalised prompt and output (check.fingerprints)."""
    if group_by == "output":
        return output
    if group_by == "prompt":
        return prompt
    if group_by.startswith("metadata."):
        value = record.metadata.get(group_by.split(".", 1)[1])
        return record.id if value is None else "m:" + value
    return record.id


def _getter(keys: tuple[str, ...]) -> Callable[[dict], tuple]:
    """A function from a metadata mapping to the tuple of its values at keys."""
    if not keys:
        return lambda meta: ()
    if len(keys) == 1:
        key = keys[0]
        return lambda meta: (meta[key],)
    return operator.itemgetter(*keys)


CHUNK_RECORDS = 2048  # records per task handed to a worker
COPIES = 2  # files each kept record is written to: tasks/<task>.jsonl and its split's file


@dataclass
class Chunk:
    """What rendering and inspecting a run of one rule's records found, texts only as encoded
    JSON lines. The lists hold one entry per record that passed the local checks, in id order.
    """

    rule: int
    start: int
    made: int = 0
    failure: list[Diagnostic] = field(default_factory=list)  # the error that stopped the rule
    diagnostics: list[Diagnostic] = field(default_factory=list)
    more: int = 0  # diagnostics found beyond those kept (Collector's limit)
    drops: dict[int, str] = field(default_factory=dict)  # offset in the run -> reason
    keys: list[bytes] = field(default_factory=list)  # check.fingerprints
    prompts: list[bytes] = field(default_factory=list)
    lengths: tuple[array, ...] = field(default_factory=lambda: tuple(array("I") for _ in FIELDS))
    group_keys: list[bytes | str] = field(default_factory=list)
    strata: list[tuple] = field(default_factory=list)
    facets: list[tuple] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    watched: tuple[int, Record, str | None] | None = None


class Work:
    """Render, inspect and encode one run of records: a pure function of the task
    (rule index, first and last position in id order), run in worker processes."""

    def __init__(
        self, project: Project, rules: list[tuple[Plan, Bindings]], watch: str | None
    ) -> None:
        self.project = project
        self.rules = rules
        self.watch = watch
        self.inspector = Inspector(project)
        self.makers: dict[int, Callable[[int], Record]] = {}
        split = project.config.split
        self.group_by = split.group_by
        self.stratum_of = _getter(split.stratify_by)
        self.facet_of = _getter(FACETS)

    def tasks(self) -> list[tuple[int, int, int]]:
        """(rule index, start, stop): every rule's records in runs of CHUNK_RECORDS."""
        size = CHUNK_RECORDS
        return [
            (index, start, min(start + size, len(found)))
            for index, (_, found) in enumerate(self.rules)
            for start in range(0, len(found), size)
        ]

    def __call__(self, task: tuple[int, int, int]) -> Chunk:
        config = self.project.config
        with record_budgets(config.max_record_cpu_seconds, config.max_memory_mib):
            try:
                return self._run(task)
            except MemoryError:
                # Past the cap outside a template (checking or encoding a huge record):
                # the whole run fails at its rule, never with a traceback.
                plan, _ = self.rules[task[0]]
                chunk = Chunk(task[0], task[1])
                chunk.failure = [
                    Diagnostic(
                        plan.rule.location,
                        f"records of rule {plan.rule.id!r} need more than "
                        f"{config.max_memory_mib} MiB of memory",
                        "raise limits.max_memory_mib in specs/dataset.yaml",
                    )
                ]
                return chunk

    def _run(self, task: tuple[int, int, int]) -> Chunk:
        index, start, stop = task
        plan, found = self.rules[index]
        make = self.makers.get(index)
        if make is None:
            make = self.makers[index] = maker(self.project, plan, found)
        chunk = Chunk(index, start)
        errors = Collector()
        inspect, watch, group_by = self.inspector.inspect, self.watch, self.group_by
        stratum_of, facet_of = self.stratum_of, self.facet_of
        keys, prompts, group_keys = chunk.keys, chunk.prompts, chunk.group_keys
        strata, facets, lines = chunk.strata, chunk.facets, chunk.lines
        instruction_lengths, input_lengths, output_lengths = chunk.lengths
        tuples: dict[tuple, tuple] = {}  # one object per distinct tuple: pickled once
        for offset, position in enumerate(found.order[start:stop]):
            try:
                record = make(position)
            except CompileError as exc:
                chunk.failure = exc.diagnostics
                break
            chunk.made += 1
            reason = inspect(record, errors)
            if record.id == watch:
                chunk.watched = (offset, record, reason)
            if reason is not None:
                chunk.drops[offset] = reason
                continue
            key, prompt, output = fingerprints(record)
            keys.append(key)
            prompts.append(prompt)
            instruction_lengths.append(len(record.instruction))
            input_lengths.append(len(record.input))
            output_lengths.append(len(record.output))
            group_keys.append(group_key(record, group_by, prompt, output))
            meta = record.metadata
            stratum = stratum_of(meta)
            strata.append(tuples.setdefault(stratum, stratum))
            facet = facet_of(meta)
            facets.append(tuples.setdefault(facet, facet))
            lines.append(encode(record).encode("utf-8"))
        chunk.diagnostics, chunk.more = errors.diagnostics, errors.more
        return chunk


class RecordIds:
    """The id of every record by its index in id order over all rules (kept or dropped)."""

    def __init__(self, rules: list[tuple[Plan, Bindings]]) -> None:
        self.rules = rules
        self.starts = list(itertools.accumulate((len(found) for _, found in rules), initial=0))

    def __len__(self) -> int:
        return self.starts[-1]

    def __call__(self, index: int) -> str:
        rule = bisect.bisect_right(self.starts, index) - 1
        plan, found = self.rules[rule]
        number = found.numbers[found.order[index - self.starts[rule]]]
        return format_id(plan.rule.task, plan.rule.id, number)


class _Gather:
    """The main process's half: takes the chunks in id order, decides duplicates, keeps what
    the split and the statistics need, and passes the kept lines on to be written."""

    def __init__(
        self,
        rules: list[tuple[Plan, Bindings]],
        write: Callable[[str, list[bytes]], None] | None,
        expand_errors: Collector,
        config: Config,
    ) -> None:
        self.rules = rules
        self.config = config
        self.budget = config.max_output_bytes
        self.ids = RecordIds(rules)
        self.checker = Checker(self.ids)
        self.write = write
        self.expand_errors = expand_errors
        self.check_errors = Collector()
        self.failed: set[int] = set()
        self.group_keys: list[bytes | str] = []
        self.strata: list[tuple] = []
        self.facet_index: dict[tuple, int] = {}
        self.facet_of: list[int] = []
        self.watched: tuple[Record, str | None, int] | None = None
        self.output_bytes = 0  # what the kept records so far will take on disk

    def take(self, chunk: Chunk) -> None:
        if chunk.rule in self.failed:
            return  # a template failed in an earlier run of this rule
        self.check_errors.extend_all(chunk.diagnostics, chunk.more)
        if chunk.failure:
            self.expand_errors.extend_all(chunk.failure)
            self.failed.add(chunk.rule)
        base = self.ids.starts[chunk.rule] + chunk.start
        verdict = self.checker.verdict
        for offset, reason in chunk.drops.items():
            verdict.drop(reason, self.ids(base + offset))
        offsets = (
            range(chunk.made)
            if not chunk.drops
            else [o for o in range(chunk.made) if o not in chunk.drops]
        )
        admit = self.checker.admit
        kept = [
            admit(base + offset, key, prompt)
            for offset, key, prompt in zip(offsets, chunk.keys, chunk.prompts, strict=True)
        ]
        if chunk.watched is not None:
            self._watch(chunk, offsets, kept)
        every = all(kept)

        def keep(values: list) -> Iterable:
            return values if every else itertools.compress(values, kept)

        for lengths, found in zip(verdict.lengths.values(), chunk.lengths, strict=True):
            lengths.extend(keep(found))
        self.group_keys.extend(keep(chunk.group_keys))
        self.strata.extend(keep(chunk.strata))
        index = self.facet_index
        self.facet_of.extend(index.setdefault(f, len(index)) for f in keep(chunk.facets))
        lines = list(keep(chunk.lines))
        size = COPIES * sum(map(len, lines))
        if self.output_bytes + size > self.budget:
            kept_offsets = [o for o, k in zip(offsets, kept, strict=True) if k]
            self._over_budget(base, kept_offsets, lines)
        self.output_bytes += size
        if self.write is not None and lines:
            plan, _ = self.rules[chunk.rule]
            self.write(plan.rule.task, lines)

    def _over_budget(self, base: int, offsets: list[int], lines: list[bytes]) -> None:
        """Stop before the chunk whose records would take the output past
        limits.max_output_bytes is written: this is checked as records arrive, so a build
        never fills the disk first. Names the record that passes the budget."""
        total, passing = self.output_bytes, offsets[-1]
        for offset, line in zip(offsets, lines, strict=True):
            total += COPIES * len(line)
            if total > self.budget:
                passing = offset
                break
        config = self.config
        stop = Diagnostic(
            config.output_budget_at,
            f"the build would write more than {config.max_output_bytes} bytes "
            f"(limits.max_output_bytes), passing it at record {self.ids(base + passing)}",
            "each record is written twice (to its task file and to its split file); raise "
            "limits.max_output_bytes in specs/dataset.yaml if this much output is intended, "
            "or narrow the rules",
        )
        raise CompileError([*self.expand_errors.diagnostics, *self.check_errors.diagnostics, stop])

    def _watch(self, chunk: Chunk, offsets: Sequence[int], kept: list[bool]) -> None:
        assert chunk.watched is not None
        offset, record, reason = chunk.watched
        if reason is not None:
            self.watched = (record, reason, -1)
            return
        at = list(offsets).index(offset)
        if kept[at]:
            self.watched = (record, None, len(self.group_keys) + sum(kept[:at]))
        else:
            self.watched = (record, "duplicate", -1)


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
    ids: RecordIds
    watched: tuple[Record, str | None, int] | None  # the record, why dropped, index if kept


def compile_records(
    project: Project,
    write: Callable[[str, list[bytes]], None] | None = None,
    jobs: int = 1,
    watch: str | None = None,
    trace: bool = False,
) -> Compiled:
    """Expand, check and split, with `jobs` worker processes; write(task, lines) receives the
    kept records' JSON lines in id order. watch names a record to keep (for dsc explain)."""
    config = project.config
    rules, expand_errors = expand(project)
    work = Work(project, rules, watch)
    gather = _Gather(rules, write, expand_errors, config)
    # No more workers than runs' worth of records: a small project is built in this process.
    jobs = min(jobs, -(-len(gather.ids) // CHUNK_RECORDS))
    for chunk in ordered_map(work, work.tasks(), jobs):
        gather.take(chunk)
    gather.expand_errors.raise_if_any()
    gather.check_errors.raise_if_any()
    ratios = [r for _, r in config.split.ratios]
    assignment = split(
        gather.group_keys, gather.strata, ratios, config.seed, config.split.method, trace
    )
    return Compiled(
        project,
        gather.checker,
        assignment,
        gather.group_keys,
        gather.strata,
        list(gather.facet_index),
        gather.facet_of,
        gather.ids,
        gather.watched,
    )


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    metadata: dict[str, Any]
    notes: tuple[str, ...] = ()


def build(
    root: Path, out_dir: Path | None = None, seed: int | None = None, jobs: int | None = None
) -> BuildResult:
    """Compile the project into out_dir (default root/build); the old build survives any error.

    jobs is the number of worker processes (default: one per usable CPU); the output is the
    same for every number.
    """
    root = Path(root)
    out_dir = Path(out_dir) if out_dir is not None else root / "build"
    project = load_project(root, seed, out_dir)
    check_output_dir(root, out_dir)
    writer = Writer(out_dir)
    try:
        with writer:
            result = compile_records(
                project, writer.add, jobs=usable_cpus() if jobs is None else jobs
            )
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
    except OSError as exc:
        raise fail(
            Location(out_dir.name),
            f"cannot write {out_dir.name}/: {exc.strerror or exc}",
            "free disk space or fix permissions; the previous build is untouched",
        ) from None
    return BuildResult(out_dir, metadata, tuple(writer.notes))


def explain_record(project: Project, record_id: str, jobs: int | None = None) -> dict[str, Any]:
    """Compile the project in memory (nothing written) and explain one record (explain.py)."""
    from compiler.explain import explain

    jobs = usable_cpus() if jobs is None else jobs
    return explain(compile_records(project, jobs=jobs, watch=record_id, trace=True), record_id)
