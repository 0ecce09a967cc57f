"""EDGE: dsc build --runner beam: the build as an Apache Beam pipeline, the same bytes.

The driver loads the project (specs, data files, the plan of every rule) and never holds a
record: the steps of beamsteps.py run on Beam's workers, write the shards into the staging
folder and leave a few small summaries (counts, drops, diagnostics, digests) beside them, from
which the driver writes metadata.json and the card, then swaps the folder in as emit.Writer
does. Imported only for --runner beam, so the local runner never loads Beam.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pvalue import AsSingleton

from compiler import beamsteps as steps
from compiler.card import CardInput, card_files
from compiler.check import Verdict
from compiler.emit import Writer
from compiler.errors import Collector, CompileError, Diagnostic, Location, fail
from compiler.expand import expand
from compiler.formats import alpaca_extras, folder
from compiler.model import FIELDS, SPLITS, Project
from compiler.parallel import usable_cpus
from compiler.pipeline import BuildResult, load_project
from compiler.shards import bounds, shard_names
from compiler.stats import rows_of_counts, summary_document
from compiler.stream import RUN_RECORDS, RecordIds, Stream
from compiler.uptodate import check_output_dir

SUMMARIES = ".beam"  # in the staging folder: the pipeline's small results, for the driver
_LISTED = 50  # ids listed per drop reason and conflicts (check.MAX_LISTED)


def options(args: Sequence[str], jobs: int | None) -> PipelineOptions:
    """Beam's options as given after `--`; without --runner, the DirectRunner in
    multi_processing mode with one worker a CPU (or --jobs)."""
    given = list(args)
    if not any(a == "--runner" or a.startswith("--runner=") for a in given):
        workers = jobs or usable_cpus()
        given += [
            "--runner=DirectRunner",
            "--direct_running_mode=multi_processing",
            f"--direct_num_workers={workers}",
            "--default_sdk_harness_log_level=WARNING",
        ]
    return PipelineOptions(given)


def build(
    root: Path,
    out_dir: Path | None = None,
    seed: int | None = None,
    beam_args: Sequence[str] = (),
    jobs: int | None = None,
    run_size: int = RUN_RECORDS,
) -> BuildResult:
    """Compile the project into out_dir with Apache Beam; the old build survives any error."""
    (result,) = build_many([(root, out_dir, seed)], beam_args, jobs, run_size)
    if isinstance(result, CompileError):
        raise result
    return result


def build_many(
    projects: Sequence[tuple[Path, Path | None, int | None]],
    beam_args: Sequence[str] = (),
    jobs: int | None = None,
    run_size: int = RUN_RECORDS,
) -> list[BuildResult | CompileError]:
    """Several projects (root, out_dir, seed) in one pipeline: one start of Beam's workers
    for all (the tests build every fixture so). Each gets its build or its error."""
    with contextlib.ExitStack() as stack:
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
        builds = [_Build(root, out_dir, seed, run_size) for root, out_dir, seed in projects]
        for each in builds:
            stack.enter_context(each.writer)
        pipeline = beam.Pipeline(options=options(beam_args, jobs))
        for number, each in enumerate(builds):
            _ = pipeline | f"project {number}" >> _Project(
                each.project, each.runs, str(each.writer.staging)
            )
        pipeline.run().wait_until_finish()
        results: list[BuildResult | CompileError] = []
        for each in builds:
            try:
                results.append(each.finish())
            except CompileError as exc:
                each.writer.abort()
                results.append(exc)
        return results


class _Build:
    """One project of a pipeline: loaded and planned before it runs, finished after."""

    def __init__(self, root: Path, out_dir: Path | None, seed: int | None, run_size: int) -> None:
        root = Path(root)
        self.out_dir = Path(out_dir) if out_dir is not None else root / "build"
        self.project = load_project(root, seed, self.out_dir)
        check_output_dir(root, self.out_dir)
        config = self.project.config
        rules, self.expand_errors = expand(self.project)
        self.ids = RecordIds(rules)
        self.runs = Stream(self.project, rules, None).runs(run_size)
        self.writer = Writer(self.out_dir, config.formats, config.shards)

    def finish(self) -> BuildResult:
        project, writer, config = self.project, self.writer, self.project.config
        try:
            found = _summaries(str(writer.staging))
            _raise_errors(found, self.expand_errors, self.ids, config)
            verdict = _verdict(found, self.ids)
            counts, per_format, lengths, languages, tasks = found["tally"][0]
            verdict.lengths = dict(zip(FIELDS, lengths, strict=True))
            sizes = [sum(n for (s, _), n in counts.items() if s == k) for k in range(len(SPLITS))]
            rows = {
                name: {"rows": sum(per_split), **dict(zip(SPLITS, per_split, strict=True))}
                for name, per_split in zip(config.formats, per_format, strict=True)
            }
            counted = _counted(config, per_format, tasks)
            _check_rows(found["digests"], counted, config.shards, self.out_dir.name)
            outputs = dict(sorted((path, sha) for path, sha, _ in found["digests"]))
            for name in outputs:
                writer.stats[name] = os.stat(writer.staging / name)
            writer.outputs.update(outputs)
            metadata = summary_document(
                project,
                verdict,
                sizes,
                found["groups"][0] if found["groups"] else 0,
                rows_of_counts(counts),
                rows if config.formats != ("alpaca",) else {},
                outputs,
            )
            with_system, with_history = alpaca_extras(project.rules)
            given = CardInput(
                rows={name: {s: rows[name][s] for s in SPLITS} for name in config.formats},
                languages=frozenset(v for v in languages if v is not None),
                with_system=with_system,
                with_history=with_history,
                text=project.card_text,
            )
            card = card_files(project, metadata, given)
            metadata = {**metadata, "outputs": writer.documents(card)}
            writer.finish(metadata)
        except OSError as exc:
            raise fail(
                Location(self.out_dir.name),
                f"cannot write {self.out_dir.name}/: {exc.strerror or exc}",
                "free disk space or fix permissions; the previous build is untouched",
            ) from None
        return BuildResult(self.out_dir, metadata, tuple(writer.notes), writer.stats)


class _Project(beam.PTransform):
    """One project's build: its runs in, its shards and summaries written into staging."""

    def __init__(self, project: Project, runs: list, staging: str) -> None:
        super().__init__()
        self.project, self.runs, self.staging = project, runs, staging

    def expand(self, pipeline: Any) -> Any:
        _pipeline(pipeline, self.project, self.runs, self.staging)
        return beam.pvalue.PDone(pipeline.pipeline)


def _pipeline(pipeline: Any, project: Project, runs: list, staging: str) -> None:
    config = project.config
    streamed = (
        pipeline
        | "runs" >> beam.Create(runs, reshuffle=True)
        | "stream"
        >> beam.ParDo(steps.StreamRuns(project)).with_outputs(
            "facts", "drops", "errors", main="lines"
        )
    )
    deduped = (
        streamed.facts
        | "by digest" >> beam.GroupByKey()
        | "keep first" >> beam.FlatMap(steps.keep_first).with_outputs("drops", main="kept")
    )
    kept = deduped.kept
    conflicts = (
        kept
        | "by prompt" >> beam.Map(lambda fact: (fact.prompt, fact.index))
        | "prompts" >> beam.GroupByKey()
        | "conflicts" >> beam.FlatMap(steps.conflicts)
    )
    drops = (streamed.drops, deduped.drops) | "all drops" >> beam.Flatten()
    groups = (
        kept
        | "group key" >> beam.Map(lambda fact: (fact.group_key, fact.stratum))
        | "groups" >> beam.CombinePerKey(steps.GroupOf())
    )
    splits = steps.place_groups(groups, project)
    placed = (
        {"facts": kept | "by group" >> beam.Map(lambda f: (f.group_key, f)), "split": splits}
        | "join groups" >> beam.CoGroupByKey()
        | "placed" >> beam.FlatMap(steps.placed_records)
    )
    table = AsSingleton(
        placed
        | "files" >> beam.FlatMap(lambda p: steps.files_of(project, p))
        | "rows per run" >> beam.CombinePerKey(sum)
        | "table" >> beam.combiners.ToList()
        | "layout" >> beam.Map(steps.layout, project)
    )
    by_run = {
        "lines": streamed.lines,
        "placed": placed | "by run" >> beam.Map(lambda p: (p[1].run, p)),
    }
    rows = (
        by_run
        | "join runs" >> beam.CoGroupByKey()
        | "shard rows"
        >> beam.ParDo(steps.ShardRows(project), table).with_outputs("over", main="rows")
    )
    empty = (
        pipeline
        | "one" >> beam.Create([None])
        | "every shard" >> beam.FlatMap(lambda _, t: steps.every_shard(t, config.shards), table)
    )
    digests = (
        (rows.rows, empty)
        | "all rows" >> beam.Flatten()
        | "by shard" >> beam.GroupByKey()
        | "write" >> beam.ParDo(steps.WriteShards(staging, config.shards))
    )
    summaries = {
        "errors": streamed.errors,
        "drops": drops | "drop counts" >> beam.combiners.Count.PerKey(),
        "dropped": drops | "first drops" >> beam.combiners.Top.SmallestPerKey(_LISTED),
        "conflicts": conflicts | "conflict count" >> beam.combiners.Count.Globally(),
        "first_conflicts": conflicts | "first conflicts" >> beam.combiners.Top.Smallest(_LISTED),
        "groups": groups | "group count" >> beam.combiners.Count.Globally(),
        "tally": placed | "tally" >> beam.CombineGlobally(steps.Tally(config.formats)),
        "over": rows.over | "first over" >> beam.combiners.Top.Smallest(1),
        "digests": digests,
    }
    tagged = [
        found | f"tag {name}" >> beam.Map(lambda value, name: (name, value), name)
        for name, found in summaries.items()
    ]
    _ = (
        tagged
        | "summaries" >> beam.Flatten()
        | "summary list" >> beam.combiners.ToList()
        | "save" >> beam.Map(_save, FileSystems.join(staging, SUMMARIES))
    )


def _save(values: list, path: str) -> None:
    with FileSystems.create(path) as handle:
        handle.write(pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL))


def _summaries(staging: str) -> dict[str, list]:
    path = FileSystems.join(staging, SUMMARIES)
    found: dict[str, list] = {name: [] for name in _NAMES}
    for name, value in _load(path):
        found[name].append(value)
    FileSystems.delete([path])
    return found


_NAMES = ("errors", "drops", "dropped", "conflicts", "first_conflicts", "groups", "tally")
_NAMES += ("over", "digests")


def _load(path: str) -> list:
    # The pipeline's own file, written into the staging folder this build made.
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        return pickle.loads(handle.read())


def _raise_errors(found: dict, expand_errors: Collector, ids: RecordIds, config: Any) -> None:
    """The errors the local build reports, in its order: each run's diagnostics as the runs
    come in id order, a rule's runs after the one that failed left out, the byte budget
    checked at its record."""
    over = found["over"][0][0] if found["over"] and found["over"][0] else None
    check_errors = Collector()
    failed: set[int] = set()
    for base, rule, failure, diagnostics, more in sorted(found["errors"], key=lambda e: e[0]):
        if over is not None and base > over:
            break
        if rule in failed:
            continue
        check_errors.extend_all(diagnostics, more)
        if failure:
            expand_errors.extend_all(failure)
            failed.add(rule)
    if over is not None:
        stop = Diagnostic(
            config.output_budget_at,
            f"the build would write more than {config.max_output_bytes} bytes "
            f"(limits.max_output_bytes), passing it at record {ids(over)}",
            "each record is written twice (to its task file and to its split file); raise "
            "limits.max_output_bytes in specs/dataset.yaml if this much output is intended, "
            "or narrow the rules",
        )
        raise CompileError([*expand_errors.diagnostics, *check_errors.diagnostics, stop])
    expand_errors.raise_if_any()
    check_errors.raise_if_any()


def _counted(config: Any, per_format: list[list[int]], tasks: dict[str, int]) -> dict[str, int]:
    """The rows each file must hold, by the tally: a split file's from its format's rows per
    split, a task file's from its task's Alpaca rows."""
    counted = {
        f"{folder(name)}{split}.jsonl": rows
        for name, per_split in zip(config.formats, per_format, strict=True)
        for split, rows in zip(SPLITS, per_split, strict=True)
    }
    counted.update((f"tasks/{task}.jsonl", rows) for task, rows in tasks.items())
    return counted


def _check_rows(
    written: list[tuple[str, str, int]], counted: dict[str, int], shards: int, out: str
) -> None:
    """Every shard the pipeline wrote holds the rows the tally counted for it, and no other
    shard was written: a row lost or doubled between the steps fails the build rather than
    shipping a short file with a metadata.json that vouches for it (docs/distributed.md)."""
    want: dict[str, int] = {}
    for name, rows in counted.items():
        paths = shard_names(name, shards)
        cuts = bounds(rows, len(paths))
        want.update((path, cuts[k + 1] - cuts[k]) for k, path in enumerate(paths))
    got = {path: rows for path, _, rows in written}
    twice = Counter(path for path, _, _ in written)
    errors = Collector()
    for path in sorted(want.keys() | got.keys()):
        if twice[path] > 1:
            message = f"the pipeline wrote {path} {twice[path]} times"
        elif path not in got:
            message = f"the pipeline wrote no {path}; the build counted {_rows(want[path])} in it"
        elif path not in want:
            message = (
                f"the pipeline wrote {path} ({_rows(got[path])}), a file the build did not count"
            )
        elif got[path] != want[path]:
            message = (
                f"the pipeline wrote {_rows(got[path])} to {path}; the build counted {want[path]}"
            )
        else:
            continue
        errors.add(Location(f"{out}/{path}"), message, _LOST)
    errors.raise_if_any()


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


_LOST = (
    "rows were lost or doubled between the pipeline's steps, a fault of the runner or of dsc, "
    "not of the project: nothing was written and the previous build is untouched; build again, "
    "and report it with the Beam options used (docs/distributed.md)"
)


def _verdict(found: dict, ids: RecordIds) -> Verdict:
    verdict = Verdict()
    first = dict(found["dropped"])
    for reason, count in sorted(found["drops"]):
        verdict.dropped[reason] = (count, [ids(i) for i in sorted(first[reason])])
    verdict.conflict_count = found["conflicts"][0] if found["conflicts"] else 0
    listed = found["first_conflicts"][0] if found["first_conflicts"] else []
    verdict.conflicts = [(ids(first_index), ids(index)) for index, first_index in sorted(listed)]
    return verdict
