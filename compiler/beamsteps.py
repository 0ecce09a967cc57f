"""EDGE: the build's steps as Apache Beam transforms, over the same stream as the local build.

Every step is a keyed grouping, a combine or a range-partitioned write (docs/distributed.md):
records are rendered, inspected, fingerprinted and encoded by stream.Stream on the workers,
duplicates are decided by grouping on the content digest (the record with the lowest index
is kept, as the local build keeps the first in id order), groups are placed by distsplit.py,
and every output is written as sorted shards (shards.py). Only beamrun.py imports this module.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, NamedTuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import AsSingleton, TaggedOutput

from compiler import distsplit
from compiler.expand import expand
from compiler.formats import ALPACA, folder
from compiler.model import FIELDS, SPLITS, Project
from compiler.pipeline import COPIES
from compiler.shards import bounds, shard_names, shard_of
from compiler.split import key_text, stratum_text
from compiler.stream import RecordIds, Stream


class Fact(NamedTuple):
    """What the global steps need of one record that passed inspection (no text)."""

    index: int  # in id order over all rules
    run: int  # the index of its run's first record: runs sort in id order
    task: str
    prompt: bytes
    group_key: bytes | str
    stratum: tuple
    facet: tuple
    lang: str | None
    lengths: tuple[int, ...]
    rows: tuple[int, ...]  # per format: its rows in it
    size: int  # bytes of all its rows


class _Worker:
    """A worker's project state, made once per process from the pickled project."""

    _made: ClassVar[dict[int, tuple[Stream, RecordIds]]] = {}

    @classmethod
    def of(cls, project: Project) -> tuple[Stream, RecordIds]:
        key = id(project)
        if key not in cls._made:
            rules, _ = expand(project)  # the driver reports expand's own errors
            cls._made[key] = (Stream(project, rules, None), RecordIds(rules))
        return cls._made[key]


class StreamRuns(beam.DoFn):
    """A run of records through stream.Stream: its facts keyed by content digest, its lines
    keyed by run, its drops and its diagnostics."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def process(self, run: tuple[int, int, int]) -> Iterator[Any]:
        stream, ids = _Worker.of(self.project)
        chunk = stream(run)
        rule, start, _ = run
        base = ids.starts[rule] + start
        if chunk.failure or chunk.diagnostics or chunk.more:
            yield TaggedOutput("errors", (base, rule, chunk.failure, chunk.diagnostics, chunk.more))
        for offset, reason in chunk.drops.items():
            yield TaggedOutput("drops", (reason, base + offset))
        offsets = [o for o in range(chunk.made) if o not in chunk.drops]
        task = stream.rules[rule][0].rule.task
        lines = []
        for i, offset in enumerate(offsets):
            index = base + offset
            fact = Fact(
                index,
                base,
                task,
                chunk.prompts[i],
                chunk.group_keys[i],
                chunk.strata[i],
                chunk.facets[i],
                chunk.langs[i],
                tuple(found[i] for found in chunk.lengths),
                tuple(found[i] for found in chunk.rows),
                chunk.sizes[i],
            )
            yield TaggedOutput("facts", (chunk.keys[i], fact))
            lines.append((index, tuple(found[i] for found in chunk.lines)))
        yield base, lines


def keep_first(item: tuple[bytes, Iterable[Fact]]) -> Iterator[Any]:
    """Of the records with one content digest, the first in id order; the others dropped."""
    _, facts = item
    kept = min(facts, key=lambda fact: fact.index)
    yield kept
    for fact in facts:
        if fact.index != kept.index:
            yield TaggedOutput("drops", ("duplicate", fact.index))


def conflicts(item: tuple[bytes, Iterable[int]]) -> Iterator[tuple[int, int]]:
    """(record, first record of its prompt) for each kept record whose prompt came before."""
    _, indexes = item
    first = min(indexes)
    yield from ((index, first) for index in indexes if index != first)


class GroupOf(beam.CombineFn):
    """A group's records and its stratum (the least by split.py's order)."""

    def create_accumulator(self) -> tuple[int, Any]:
        return 0, None

    def add_input(self, acc: tuple[int, Any], stratum: tuple) -> tuple[int, Any]:
        return acc[0] + 1, _least(acc[1], stratum)

    def merge_accumulators(self, accs: Iterable[tuple[int, Any]]) -> tuple[int, Any]:
        size, least = 0, None
        for n, stratum in accs:
            size, least = size + n, _least(least, stratum)
        return size, least

    def extract_output(self, acc: tuple[int, Any]) -> tuple[int, Any]:
        return acc


def _least(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return b if stratum_text(b) < stratum_text(a) else a


def place_groups(groups: Any, project: Project) -> Any:
    """(group key, split) of every group, from (group key, (size, stratum))."""
    split = project.config.split
    ratios = [r for _, r in split.ratios]
    seed = project.config.seed
    if split.method == "stable":
        return groups | "stable" >> beam.Map(
            lambda g: (g[0], distsplit.stable_split(seed, g[0], ratios))
        )
    plan = AsSingleton(
        groups
        | "per stratum" >> beam.Map(lambda g: (g[1][1], g[1][0]))
        | "stratum sizes" >> beam.CombinePerKey(sum)
        | "strata" >> beam.combiners.ToDict()
        | "plan" >> beam.Map(distsplit.plan_split, ratios, seed)
    )

    def in_bucket(g: tuple, plan: distsplit.SplitPlan) -> tuple:
        key, (size, stratum) = g
        h = distsplit.group_hash(seed, key)
        at = (plan.ranks[stratum_text(stratum)], distsplit.bucket(h))
        return at, (h, key_text(key), key, size)

    bucketed = groups | "bucket" >> beam.Map(in_bucket, plan)
    starts = AsSingleton(
        bucketed
        | "bucket sizes" >> beam.Map(lambda b: (b[0], b[1][3]))
        | "sum buckets" >> beam.CombinePerKey(sum)
        | "buckets" >> beam.combiners.ToDict()
        | "starts" >> beam.Map(distsplit.bucket_starts)
    )

    def walk(item: tuple, plan: distsplit.SplitPlan, starts: dict) -> Iterator[Any]:
        at, found = item
        done, straddling = distsplit.walk(found, at[0], starts[at], plan)
        yield from done
        for straddler in straddling:
            yield TaggedOutput("straddlers", straddler)

    walked = (
        bucketed
        | "by bucket" >> beam.GroupByKey()
        | "walk" >> beam.ParDo(walk, plan, starts).with_outputs("straddlers", main="placed")
    )
    settled = (
        walked.straddlers
        | "straddlers" >> beam.combiners.ToList()
        | "settle" >> beam.FlatMap(distsplit.settle, plan)
    )
    return (walked.placed, settled) | "all groups" >> beam.Flatten()


def placed_records(item: tuple[Any, dict[str, list]]) -> Iterator[tuple[int, Fact]]:
    """(split, fact) of each record of a group."""
    _, joined = item
    (split,) = joined["split"]
    for fact in joined["facts"]:
        yield split, fact


class Tally(beam.CombineFn):
    """The counts metadata.json and the card need: records per split and facet, each
    format's rows per split, lengths, `lang` values; and each task file's rows, for the
    driver's check of the files written."""

    def __init__(self, formats: tuple[str, ...]) -> None:
        self.formats = len(formats)
        self.alpaca = formats.index(ALPACA) if ALPACA in formats else None

    def create_accumulator(self) -> list:
        lengths = [Counter() for _ in FIELDS]
        per_format = [[0] * len(SPLITS) for _ in range(self.formats)]
        return [Counter(), per_format, lengths, set(), Counter()]

    def add_input(self, acc: list, placed: tuple[int, Fact]) -> list:
        split, fact = placed
        acc[0][split, fact.facet] += 1
        for per_split, rows in zip(acc[1], fact.rows, strict=True):
            per_split[split] += rows
        for counter, length in zip(acc[2], fact.lengths, strict=True):
            counter[length] += 1
        acc[3].add(fact.lang)
        if self.alpaca is not None:
            acc[4][fact.task] += fact.rows[
                self.alpaca
            ]  # += 0 keeps a task of no rows: its file exists
        return acc

    def merge_accumulators(self, accs: Iterable[list]) -> list:
        merged = self.create_accumulator()
        for acc in accs:
            merged[0].update(acc[0])
            for into, rows in zip(merged[1], acc[1], strict=True):
                for k, n in enumerate(rows):
                    into[k] += n
            for into, counter in zip(merged[2], acc[2], strict=True):
                into.update(counter)
            merged[3] |= acc[3]
            merged[4].update(acc[4])  # update, not +: it keeps the tasks of 0 rows
        return merged

    def extract_output(self, acc: list) -> list:
        return acc


def files_of(project: Project, placed: tuple[int, Fact]) -> Iterator[tuple[tuple[int, str], int]]:
    """((run, file), rows) for each file a record is written to; the task file even when
    the record has no Alpaca row (the file exists as soon as its task keeps a record)."""
    split, fact = placed
    for name, rows in zip(project.config.formats, fact.rows, strict=True):
        if rows:
            yield (fact.run, f"{folder(name)}{SPLITS[split]}.jsonl"), rows
        if name == ALPACA:
            yield (fact.run, f"tasks/{fact.task}.jsonl"), rows
    yield (fact.run, ""), COPIES * fact.size  # "": the bytes, for limits.max_output_bytes


def layout(counts: list[tuple[tuple[int, str], int]], project: Project) -> dict[str, Any]:
    """Per file: its shards' cut points and each run's first row in it (prefix sums in run
    order); "" holds the bytes written before each run."""
    names = [f"{folder(name)}{split}.jsonl" for name in project.config.formats for split in SPLITS]
    per_file: dict[str, list[tuple[int, int]]] = {name: [] for name in names}
    for (run, name), rows in counts:
        per_file.setdefault(name, []).append((run, rows))
    table: dict[str, Any] = {}
    for name, found in per_file.items():
        starts, total = {}, 0
        for run, rows in sorted(found):
            starts[run] = total
            total += rows
        cuts = bounds(total, project.config.shards) if name else [total]
        table[name] = (cuts, starts)
    return table


class ShardRows(beam.DoFn):
    """A run's kept records, in id order, as ((file, shard), (row in file, row)) for every
    row of every file they are written to; over the byte budget, the record that passes it."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def process(self, item: tuple[int, dict[str, list]], table: dict[str, Any]) -> Iterator[Any]:
        run, joined = item
        placed = {fact.index: (split, fact) for split, fact in joined["placed"]}
        if not placed:
            return
        (lines,) = joined["lines"]
        formats = self.project.config.formats
        ranks: dict[str, int] = {}
        budget = self.project.config.max_output_bytes
        written, passed = table[""][1][run], False
        for index, record_lines in lines:
            if index not in placed:
                continue
            split, fact = placed[index]
            written += COPIES * fact.size
            if written > budget and not passed:
                passed = True
                yield TaggedOutput("over", index)
            for name, blob in zip(formats, record_lines, strict=True):
                targets = [f"{folder(name)}{SPLITS[split]}.jsonl"]
                targets += [f"tasks/{fact.task}.jsonl"] if name == ALPACA else []
                for target in targets if blob else ():
                    cuts, starts = table[target]
                    rank = ranks.get(target, starts[run])
                    for row in blob.splitlines(keepends=True):
                        yield (target, shard_of(rank, cuts)), (rank, row)
                        rank += 1
                    ranks[target] = rank


def every_shard(table: dict[str, Any], shards: int) -> Iterator[tuple[tuple[str, int], None]]:
    """Each file's every shard, so that an empty one is written too."""
    for name in table:
        if name:
            for shard in range(shards):
                yield (name, shard), None


class WriteShards(beam.DoFn):
    """One shard: its rows sorted by their place in the file, written through Beam's
    FileSystems into the staging folder; yields (name in the build, sha256, rows written)."""

    def __init__(self, staging: str, shards: int) -> None:
        self.staging = staging
        self.shards = shards

    def process(
        self, item: tuple[tuple[str, int], Iterable[Any]]
    ) -> Iterator[tuple[str, str, int]]:
        (name, shard), found = item
        rows = sorted(row for row in found if row is not None)
        path = shard_names(name, self.shards)[shard]
        sha = hashlib.sha256()
        handle = FileSystems.create(FileSystems.join(self.staging, path))
        try:
            for _, row in rows:
                handle.write(row)
                sha.update(row)
        finally:
            handle.close()
        yield path, sha.hexdigest(), len(rows)
