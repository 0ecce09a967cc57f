"""build(): load -> validate -> resolve -> expand -> check -> split -> emit."""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.bindings import Bindings
from compiler.card import CardInput, card_files
from compiler.check import Checker
from compiler.emit import Writer
from compiler.errors import Collector, CompileError, Diagnostic, Location, fail
from compiler.expand import expand
from compiler.files import Refused, beside, shown, yaml_files
from compiler.formats import alpaca_extras
from compiler.load import SPEC_FILE_LIMIT, load_data, load_yaml, read_text
from compiler.model import CHAT_TEMPLATE, SPLITS, Config, Project, Record
from compiler.parallel import ordered_map, usable_cpus
from compiler.plan import Plan
from compiler.resolve import data_file_refs, resolve
from compiler.split import Assignment, split
from compiler.stats import format_counts, metadata_document
from compiler.stream import RUN_RECORDS, Chunk, RecordIds, Stream
from compiler.uptodate import CARD, CONTEXTS, DATASET, check_output_dir
from compiler.validate import validate
from compiler.yamldoc import refuse_controls, sha256_text

# Given the number of records a build makes, what to call with the number made so far.
Progress = Callable[[int], Callable[[int], None] | None]


def require_folder(root: Path) -> None:
    """The project folder exists, or the error every command gives when it does not."""
    if not os.path.isdir(root):
        raise fail(
            Location(shown(str(root))),
            "no such project folder",
            "give -C the folder that holds specs/dataset.yaml",
        )


def load_project(root: Path, seed: int | None = None, out_dir: Path | None = None) -> Project:
    """Read, validate and resolve every spec file of the project at `root`.

    No input may live in the output folder (root/build, and out_dir when given): each build
    rewrites it, so a build reading it would never be the same twice.
    """
    require_folder(root)
    if not os.path.lexists(root / DATASET):
        raise fail(
            Location(DATASET),
            f"no {DATASET} in {shown(str(root))}",
            "run dsc in a project folder, or create one with specs/dataset.yaml",
        )
    outputs = tuple(
        place
        for folder in dict.fromkeys([root / "build", *([out_dir] if out_dir else [])])
        for place in (folder, *beside(folder))
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
    # Optional text files that are inputs like the specs: the card's own words, the chat template.
    texts: dict[str, str] = {}
    for path, hint in (
        (CARD, "remove it: the card is Markdown text"),
        (CHAT_TEMPLATE, "remove it from the template"),
    ):
        if os.path.lexists(root / path):
            try:
                texts[path] = read_text(root, path, SPEC_FILE_LIMIT, None, outputs)
                refuse_controls(path, texts[path], hint)
            except CompileError as exc:
                errors.append(exc)
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
    if project.config.chat_template == "file" and CHAT_TEMPLATE not in texts:
        raise fail(
            dataset.at(("chat_template",)),
            f"chat_template: file, but there is no {CHAT_TEMPLATE}",
            f"write the chat template (Jinja, over messages) to {CHAT_TEMPLATE}, "
            "or use chatml or llama3",
        )
    project = dataclasses.replace(
        project,
        inputs=tuple(sorted([*project.inputs, *((p, sha256_text(t)) for p, t in texts.items())])),
        card_text=texts.get(CARD, ""),
        chat_template_text=texts.get(CHAT_TEMPLATE, ""),
    )
    if seed is not None:
        project = dataclasses.replace(
            project, config=dataclasses.replace(project.config, seed=seed)
        )
    return project


def _raise(errors: list[CompileError]) -> None:
    if errors:
        raise CompileError([d for e in errors for d in e.diagnostics])


# Files each row is written to: its task's file (Alpaca: tasks/<task>.jsonl, other formats: a
# scratch file removed before the swap) and its split's file.
COPIES = 2


class _Gather:
    """The main process's half: takes the chunks in id order, decides duplicates, keeps what
    the split and the statistics need, and passes the kept lines on to be written."""

    def __init__(
        self,
        rules: list[tuple[Plan, Bindings]],
        write: Callable[[str, list[list[bytes]]], None] | None,
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
        # Per format, the rows each kept record has in it (0 to 2), in id order.
        self.rows = [bytearray() for _ in config.formats]
        self.languages: set[str | None] = set()  # the kept records' `lang` values, for the card

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
        self.languages.update(keep(chunk.langs))
        lines = [list(keep(entries)) for entries in chunk.lines]  # per format
        sizes = list(keep(chunk.sizes))  # per record, all formats together
        size = COPIES * sum(sizes)
        if self.output_bytes + size > self.budget:
            kept_offsets = [o for o, k in zip(offsets, kept, strict=True) if k]
            self._over_budget(base, kept_offsets, sizes)
        self.output_bytes += size
        for rows, counts in zip(self.rows, chunk.rows, strict=True):
            rows.extend(keep(counts))
        if self.write is not None and sizes:
            plan, _ = self.rules[chunk.rule]
            self.write(plan.rule.task, lines)

    def _over_budget(self, base: int, offsets: list[int], sizes: list[int]) -> None:
        """Stop before the chunk whose records would take the output past
        limits.max_output_bytes is written: this is checked as records arrive, so a build
        never fills the disk first. Names the record that passes the budget."""
        total, passing = self.output_bytes, offsets[-1]
        for offset, size in zip(offsets, sizes, strict=True):
            total += COPIES * size
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
    rows: list[bytearray]  # per format: each kept record's number of rows in it
    languages: set[str | None] = dataclasses.field(default_factory=set)  # `lang` values


def compile_records(
    project: Project,
    write: Callable[[str, list[bytes]], None] | None = None,
    jobs: int = 1,
    watch: str | None = None,
    trace: bool = False,
    run_size: int = RUN_RECORDS,
    progress: Progress | None = None,
) -> Compiled:
    """Expand, check and split, with `jobs` worker processes; write(task, lines) receives the
    kept records' JSON lines in id order. watch names a record to keep (for dsc explain);
    run_size is the number of records a worker renders at a time (the output never depends
    on it, nor on jobs). progress, given the number of records, returns what to call with the
    number of records made as each run is gathered (dsc build's progress bar)."""
    config = project.config
    rules, expand_errors = expand(project)
    stream = Stream(project, rules, watch)
    gather = _Gather(rules, write, expand_errors, config)
    # No more workers than runs' worth of records: a small project is built in this process.
    jobs = min(jobs, -(-len(gather.ids) // run_size))
    made = progress(len(gather.ids)) if progress is not None else None
    for chunk in ordered_map(stream, stream.runs(run_size), jobs):
        gather.take(chunk)
        if made is not None:
            made(chunk.made)
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
        gather.rows,
        gather.languages,
    )


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    metadata: dict[str, Any]
    notes: tuple[str, ...] = ()
    # Each output's stat when dsc closed it, for the stat cache (compiler/statcache.py).
    stats: dict[str, os.stat_result] = dataclasses.field(default_factory=dict)


def card_input(project: Project, compiled: Compiled) -> CardInput:
    """What the dataset card needs beyond metadata.json: each format's rows per split."""
    splits = compiled.assignment.splits
    counts = [format_counts(splits, rows) for rows in compiled.rows]
    with_system, with_history = alpaca_extras(project.rules)
    return CardInput(
        rows={
            name: {split: count[split] for split in SPLITS}
            for name, count in zip(project.config.formats, counts, strict=True)
        },
        languages=frozenset(v for v in compiled.languages if v is not None),
        with_system=with_system,
        with_history=with_history,
        text=project.card_text,
    )


def build(
    root: Path,
    out_dir: Path | None = None,
    seed: int | None = None,
    jobs: int | None = None,
    run_size: int = RUN_RECORDS,
    progress: Progress | None = None,
) -> BuildResult:
    """Compile the project into out_dir (default root/build); the old build survives any error.

    jobs is the number of worker processes (default: one per usable CPU) and run_size the
    records a worker renders at a time; the output is the same for every number.
    """
    root = Path(root)
    out_dir = Path(out_dir) if out_dir is not None else root / "build"
    project = load_project(root, seed, out_dir)
    check_output_dir(root, out_dir)
    writer = Writer(out_dir, project.config.formats, project.config.shards)
    try:
        with writer:
            jobs = usable_cpus() if jobs is None else jobs
            result = compile_records(
                project, writer.add, jobs=jobs, run_size=run_size, progress=progress
            )
            outputs = writer.route(result.assignment, result.rows)
            metadata = metadata_document(
                project,
                result.checker.verdict,
                result.assignment,
                result.facets,
                result.facet_of,
                outputs,
                result.rows,
            )
            card = card_files(project, metadata, card_input(project, result))
            metadata = {**metadata, "outputs": writer.documents(card)}
            writer.finish(metadata)
    except OSError as exc:
        raise fail(
            Location(out_dir.name),
            f"cannot write {out_dir.name}/: {exc.strerror or exc}",
            "free disk space or fix permissions; the previous build is untouched",
        ) from None
    return BuildResult(out_dir, metadata, tuple(writer.notes), writer.stats)


def explain_record(
    project: Project, record_id: str, jobs: int | None = None, run_size: int = RUN_RECORDS
) -> dict[str, Any]:
    """Compile the project in memory (nothing written) and explain one record (explain.py)."""
    from compiler.explain import explain

    jobs = usable_cpus() if jobs is None else jobs
    compiled = compile_records(project, jobs=jobs, watch=record_id, trace=True, run_size=run_size)
    return explain(compiled, record_id)
