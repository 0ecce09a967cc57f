"""The per-record stream: expand, render, inspect, fingerprint and encode runs of records.

Pure and indifferent to its runner: pipeline.compile_records calls it in this process or in
forked workers (parallel.ordered_map), and gathers the chunks in id order.
"""

from __future__ import annotations

import bisect
import itertools
import operator
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from compiler.bindings import Bindings
from compiler.budget import record_budgets
from compiler.check import Inspector, fingerprints
from compiler.errors import Collector, CompileError, Diagnostic, Location
from compiler.expand import maker
from compiler.formats import ChatTemplate, alpaca_extras
from compiler.hashing import format_id
from compiler.lines import line_maker
from compiler.model import CHAT_TEMPLATE, FIELDS, Project, Record, Template
from compiler.plan import Plan
from compiler.render import compile_template
from compiler.stats import FACETS


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


RUN_RECORDS = 2048  # records in one run: the unit a runner hands to a worker


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
    lines: list[list[bytes]] = field(default_factory=list)  # per format: each record's rows
    rows: list[bytearray] = field(default_factory=list)  # per format: each record's row count
    sizes: array = field(default_factory=lambda: array("Q"))  # bytes of each record's rows
    langs: list[str | None] = field(default_factory=list)  # `lang` metadata (the card's language)
    watched: tuple[int, Record, str | None] | None = None


class Stream:
    """Render, inspect, fingerprint and encode one run of records: a function of the run
    (rule index, first and last position in id order) alone, so that any runner — this
    process, forked workers, a distributed engine — may call it on any run."""

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
        config = project.config
        with_system, with_history = alpaca_extras(project.rules)
        chat: ChatTemplate = config.chat_template
        if chat == "file":
            chat = compile_template(
                Template(project.chat_template_text, Location(CHAT_TEMPLATE, 1, 1), 1, 1),
                "the chat template",
            )
        self.formats = config.formats
        self.lines_of = line_maker(config.formats, with_system, chat, with_history)

    def runs(self, size: int = RUN_RECORDS) -> list[tuple[int, int, int]]:
        """(rule index, start, stop): every rule's records in runs of `size`."""
        return [
            (index, start, min(start + size, len(found)))
            for index, (_, found) in enumerate(self.rules)
            for start in range(0, len(found), size)
        ]

    def __call__(self, run: tuple[int, int, int]) -> Chunk:
        config = self.project.config
        with record_budgets(config.max_record_cpu_seconds, config.max_memory_mib):
            try:
                return self._run(run)
            except MemoryError:
                # Past the cap outside a template (checking or encoding a huge record):
                # the whole run fails at its rule, never with a traceback.
                plan, _ = self.rules[run[0]]
                chunk = Chunk(run[0], run[1])
                chunk.failure = [
                    Diagnostic(
                        plan.rule.location,
                        f"records of rule {plan.rule.id!r} need more than "
                        f"{config.max_memory_mib} MiB of memory",
                        "raise limits.max_memory_mib in specs/dataset.yaml",
                    )
                ]
                return chunk

    def _run(self, run: tuple[int, int, int]) -> Chunk:
        index, start, stop = run
        plan, found = self.rules[index]
        make = self.makers.get(index)
        if make is None:
            make = self.makers[index] = maker(self.project, plan, found)
        chunk = Chunk(index, start)
        chunk.lines = [[] for _ in self.formats]
        chunk.rows = [bytearray() for _ in self.formats]
        lines_of, all_lines, all_rows, sizes = self.lines_of, chunk.lines, chunk.rows, chunk.sizes
        errors = Collector()
        inspect, watch, group_by = self.inspector.inspect, self.watch, self.group_by
        stratum_of, facet_of = self.stratum_of, self.facet_of
        keys, prompts, group_keys = chunk.keys, chunk.prompts, chunk.group_keys
        strata, facets, langs = chunk.strata, chunk.facets, chunk.langs
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
            try:
                encoded = [line.encode("utf-8") for line in lines_of(record)]
            except CompileError as exc:  # the project's chat template failed on this record
                chunk.made -= 1  # not made after all: the rule stops here
                chunk.failure = exc.diagnostics
                break
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
            langs.append(meta.get("lang"))
            # Counted here, in the worker, so that the main process only gathers them.
            size = 0
            for lines, rows, line in zip(all_lines, all_rows, encoded, strict=True):
                lines.append(line)
                rows.append(line.count(b"\n"))
                size += len(line)
            sizes.append(size)
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
