"""`make bench`: time and peak memory of `dsc build` against one-off generator scripts.

Two projects, generated under bench/out/ (git-ignored), each built by dsc and by the naive
script that a one-off generator would be:

- synthetic (bench/project.py): one rule, 50 brands × 20 contexts × N/1000 variants, Thai and
  English text with emoji, plain substitutions; 1,000,000 records by default;
- realistic (bench/realistic.py): shaped like the shipped example, 40 brands, 16 rules over
  brands, contexts, collections and three data files, `when`, picks, Jinja branches, long Thai
  text, four formats, duplicates and drops; about 200,000 records by default.

Each command runs in its own process (bench/measure.py says how time and memory are taken);
with --repeat N (3 by default, as the targets are medians of three) the commands run in N
rounds, one after the other within a round, and the tables give the medians.

    dsc build (cold)      a fresh output folder
    dsc build (no-op)     the same command again, nothing changed (the stat cache vouches)
    ... (no stat cache)   once more without .dsc/state.json: every input and output hashed
    naive script          str.format per record, list of dicts, shuffle, slice, json.dumps
    HF datasets           from_generator, train_test_split twice, to_json (when installed)
    ... and, for the synthetic project, dsc and the naive script again with about 4× longer
    outputs, dsc with extra output formats, and with --beam dsc on Apache Beam's DirectRunner
    (its CPU seconds against the local build's, the same bytes).

    python bench/bench.py [--records N] [--realistic-records N] [--repeat N] [--out DIR]
        [--no-synthetic] [--no-realistic] [--no-datasets] [--no-long] [--no-formats]
        [--beam] [--keep]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import (  # noqa: E402
    Run,
    Series,
    compare_with_previous,
    machine,
    measure,
    outputs_digest,
    table,
    verify_same,
)
from project import write_project  # noqa: E402
from realistic import Plan  # noqa: E402

# Five times the sentences: outputs about 4.2× longer (a fixed head and tail stay as they are).
LONG_SCALE = 5


def dsc(project: Path, out: Path, *extra: str) -> list[str]:
    command = [sys.executable, "-m", "compiler", "build", "-C", str(project), "--out", str(out)]
    return [*command, *extra]


def baseline(kind: str, project: Path, out: Path) -> list[str]:
    return [sys.executable, str(HERE / "baselines.py"), kind, str(project), str(out)]


def fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    return path


def metadata(out: Path) -> dict:
    with open(out / "metadata.json", encoding="utf-8") as f:
        return json.load(f)


@dataclass(frozen=True)
class Step:
    """One command of a round: how to start it (fresh folders included) and what to check after."""

    label: str
    command: Callable[[], list[str]]
    records: int
    after: Callable[[Run], None] = lambda run: None


class Build:
    """A dsc build of one project, cold then no-op, that checks its outputs every time."""

    def __init__(self, label: str, project: Path, out: Path, records: int) -> None:
        self.label, self.project, self.out, self.records = label, project, out, records
        self.digests: list[str] = []
        self.beam_digests: list[str] = []
        self._metadata = b""

    def cold(self) -> Step:
        return Step(
            f"dsc build (cold){self.label}",
            lambda: dsc(self.project, fresh(self.out)),
            self.records,
            self._after_cold,
        )

    def noop(self) -> Step:
        return Step(
            f"dsc build (no-op){self.label}",
            lambda: dsc(self.project, self.out),
            self.records,
            self._after_noop,
        )

    def hashing_noop(self) -> Step:
        """The same no-op without the stat cache (.dsc/state.json): every file hashed."""

        def command() -> list[str]:
            shutil.rmtree(self.project / ".dsc", ignore_errors=True)
            return dsc(self.project, self.out)

        return Step(
            f"dsc build (no-op, no stat cache){self.label}", command, self.records, self._after_noop
        )

    def beam(self) -> Step:
        """The same cold build on Apache Beam's DirectRunner (multi_processing, 2 workers)."""
        out = self.out.with_name(self.out.name + "_beam")
        return Step(
            f"dsc build --runner beam (cold){self.label}",
            lambda: dsc(self.project, fresh(out), "--runner", "beam", "--jobs", "2"),
            self.records,
            lambda run: self.beam_digests.append(outputs_digest(out)),
        )

    def _after_cold(self, run: Run) -> None:
        self.digests.append(outputs_digest(self.out))
        self._metadata = (self.out / "metadata.json").read_bytes()

    def _after_noop(self, run: Run) -> None:
        if "up to date" not in run.stdout or (
            (self.out / "metadata.json").read_bytes() != self._metadata
        ):
            sys.exit(f"{run.label}: the no-op build rebuilt or changed its outputs\n{run.stdout}")

    def digest(self, store: Path, key: str) -> str:
        return compare_with_previous(store, key, verify_same(self.label or "dsc", self.digests))


def rounds(steps: list[Step], repeat: int) -> dict[str, Series]:
    """Every step once per round, repeat rounds: a busy moment of the machine hits all alike."""
    runs: dict[str, list[Run]] = {step.label: [] for step in steps}
    for _ in range(repeat):
        for step in steps:
            run = measure(step.label, step.command(), step.records)
            step.after(run)
            runs[step.label].append(run)
    return {label: Series(label, tuple(found)) for label, found in runs.items()}


def ratios(dsc_series: Series, naive: Series) -> list[str]:
    """dsc / naive time and memory: of the medians, and of each round."""
    each = [
        f"{d.seconds / n.seconds:.2f}" for d, n in zip(dsc_series.runs, naive.runs, strict=True)
    ]
    time_ratio = dsc_series.seconds / naive.seconds
    memory_ratio = dsc_series.peak_mib / naive.peak_mib
    return [
        f"dsc/naive time   {time_ratio:.2f}  (target <= 1.00: "
        f"{'met' if time_ratio <= 1 else 'NOT met'}; each round: {', '.join(each)})",
        f"dsc/naive memory {memory_ratio:.2f}  (target <= 0.50: "
        f"{'met' if memory_ratio <= 0.5 else 'NOT met'})",
    ]


def synthetic(args: argparse.Namespace, work: Path, store: Path) -> list[Series]:
    project = work / "project"
    records = write_project(project, args.records)
    print(f"synthetic project: {records:,} records into {project}", flush=True)
    build = Build("", project, work / "dsc", records)
    steps = [
        build.cold(),
        build.noop(),
        Step("naive script", lambda: baseline("naive", project, fresh(work / "naive")), records),
        build.hashing_noop(),
    ]
    if not args.no_datasets and importlib.util.find_spec("datasets") is not None:
        out = work / "datasets"
        steps.append(
            Step("HF datasets", lambda: baseline("datasets", project, fresh(out)), records)
        )
    long_build = None
    if not args.no_long:
        long_project = work / f"project_x{LONG_SCALE}"
        write_project(long_project, args.records, scale=LONG_SCALE)
        long_build = Build(", long text", long_project, work / "dsc_long", records)
        naive_long = work / "naive_long"
        steps += [
            long_build.cold(),
            Step(
                "naive script, long text",
                lambda: baseline("naive", long_project, fresh(naive_long)),
                records,
            ),
        ]
    format_builds = []
    if not args.no_formats:
        # The same records with extra formats: the cost of each format added to alpaca alone.
        for extra in (("messages",), ("messages", "preference")):
            name = "_".join(extra)
            formats_project = work / f"project_{name}"
            write_project(formats_project, args.records, formats=extra)
            label = f", +{' +'.join(extra)}"
            format_builds.append(
                (extra, Build(label, formats_project, work / f"dsc_{name}", records))
            )
            steps.append(format_builds[-1][1].cold())
    if args.beam and importlib.util.find_spec("apache_beam") is not None:
        steps.append(build.beam())
    found = rounds(steps, args.repeat)
    cold, noop, naive = (found[label] for label in [s.label for s in steps[:3]])

    print()
    print("\n".join(table(list(found.values()))))
    print()
    print(f"dsc cold: {cold.stdout.splitlines()[-1]}")
    print(f"dsc no-op: {noop.stdout.splitlines()[-1]}")
    hashing = found[build.hashing_noop().label]
    print(
        f"no-op with the stat cache / hashing every file: {noop.seconds / hashing.seconds:.2f} "
        f"({noop.seconds:.2f} s / {hashing.seconds:.2f} s; target <= 0.30 s: "
        f"{'met' if noop.seconds <= 0.3 else 'NOT met'})"
    )
    print(build.digest(store, f"synthetic-{args.records}"))
    mean = metadata(work / "dsc")["lengths"]["output"]["mean"]
    print(f"mean output length: {mean:,.0f} characters", end="")
    if long_build is not None:
        long_mean = metadata(work / "dsc_long")["lengths"]["output"]["mean"]
        print(f"; long text: {long_mean:,.0f} ({long_mean / mean:.1f}×)")
        dsc_long, naive_long_series = (
            found[long_build.cold().label],
            found["naive script, long text"],
        )
        print(
            "peak tree RSS with long text / normal text: "
            f"dsc {dsc_long.peak_mib / cold.peak_mib:.2f}, "
            f"naive {naive_long_series.peak_mib / naive.peak_mib:.2f}"
        )
    else:
        print()
    print("\n".join(ratios(cold, naive)))
    for extra, formats_build in format_builds:
        run = found[formats_build.cold().label]
        verify_same(formats_build.label, formats_build.digests)
        print(
            f"+{' +'.join(extra)}: time {run.seconds / cold.seconds:.2f}× alpaca alone "
            f"({(run.seconds / cold.seconds - 1) / len(extra):.2f} a format; target <= 0.15), "
            f"memory {run.peak_mib / cold.peak_mib:.2f}×"
        )
    if long_build is not None:
        verify_same(long_build.label, long_build.digests)
    if build.beam_digests:
        on_beam = found[build.beam().label]
        same = set(build.beam_digests) == {build.digests[0]}
        bytes_told = "the same bytes as the local build" if same else "OUTPUTS DIFFER from local"
        ratio = on_beam.cpu_seconds / cold.cpu_seconds
        print(
            f"Beam DirectRunner / local build, CPU seconds (process tree): {ratio:.2f} "
            f"({on_beam.cpu_seconds:.1f} s / {cold.cpu_seconds:.1f} s; target <= 1.5: "
            f"{'met' if ratio <= 1.5 else 'NOT met'}); wall {on_beam.seconds:.1f} s; "
            f"{bytes_told}"
        )
    return list(found.values())


def realistic(args: argparse.Namespace, work: Path, store: Path) -> list[Series]:
    project = work / "realistic"
    # In a process of its own: a child forked from a bench grown by the generator's data would
    # inherit its peak RSS (Linux keeps it across exec), and so would every ru_maxrss measured.
    generate = [sys.executable, str(HERE / "realistic.py"), str(project)]
    written = subprocess.run(
        [*generate, "--records", str(args.realistic_records)],
        check=True,
        capture_output=True,
        text=True,
    )
    plan = Plan(**json.loads(written.stdout))
    print(
        f"\nrealistic project: {plan.bindings:,} bindings into {project} ({plan.brands} brands, "
        f"{plan.contexts} contexts, {plan.products} products a brand, {plan.comments:,} "
        f"comments, {plan.reviews:,} reviews, {plan.orders:,} orders)",
        flush=True,
    )
    build = Build(", realistic", project, work / "dsc_realistic", plan.bindings)
    naive_out = work / "naive_realistic"
    steps = [
        build.cold(),
        build.noop(),
        Step(
            "naive script, realistic",
            lambda: baseline("naive-realistic", project, fresh(naive_out)),
            plan.bindings,
        ),
    ]
    found = rounds(steps, args.repeat)
    cold, noop, naive = (found[step.label] for step in steps)
    built = metadata(work / "dsc_realistic")
    dropped = {reason: entry["records"] for reason, entry in sorted(built["dropped"].items())}
    alpaca = sum(
        (work / "dsc_realistic" / f"{s}.jsonl").stat().st_size for s in ("train", "val", "test")
    )
    naive_bytes = sum((naive_out / f"{s}.jsonl").stat().st_size for s in ("train", "val", "test"))

    print()
    print("\n".join(table(list(found.values()))))
    print(
        "  (records/s: of the bindings, the records before checks, which the naive script writes)"
    )
    print()
    print(f"dsc cold: {cold.stdout.splitlines()[-1]}")
    print(f"dsc no-op: {noop.stdout.splitlines()[-1]}")
    print(build.digest(store, f"realistic-{args.realistic_records}"))
    print(
        f"dsc kept {built['records']['total']:,} of {plan.bindings:,}; dropped "
        + ", ".join(f"{reason} {count:,}" for reason, count in dropped.items())
        + f"; {built['conflicts']['records']:,} conflicts (kept, warned)"
    )
    print(
        "rows by format: "
        + ", ".join(f"{name} {entry['rows']:,}" for name, entry in built["formats"].items())
    )
    print(
        f"alpaca splits: dsc {alpaca / 2**20:,.0f} MiB, naive {naive_bytes / 2**20:,.0f} MiB "
        "(dsc also writes tasks/, messages/, preference/ and kto/)"
    )
    print("\n".join(ratios(cold, naive)))
    return list(found.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--records",
        type=int,
        default=1_000_000,
        help="records in the synthetic project (default 1,000,000)",
    )
    parser.add_argument(
        "--realistic-records",
        type=int,
        default=200_000,
        help="about how many records in the realistic project (default 200,000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of every command; tables give the median (default 3)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "out",
        help="working folder (default bench/out, git-ignored)",
    )
    parser.add_argument(
        "--no-synthetic", action="store_true", help="skip the synthetic one-rule project"
    )
    parser.add_argument(
        "--no-realistic", action="store_true", help="skip the project shaped like the example"
    )
    parser.add_argument(
        "--no-datasets", action="store_true", help="skip the Hugging Face datasets baseline"
    )
    parser.add_argument("--no-long", action="store_true", help="skip the longer texts measurement")
    parser.add_argument(
        "--no-formats", action="store_true", help="skip the extra output formats measurement"
    )
    parser.add_argument(
        "--beam",
        action="store_true",
        help="also build the synthetic project on Beam's DirectRunner (needs apache-beam; its"
        " memory grows with the records: 3.9 GB at 100,000, so not at the default 1M here)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the output folders")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    # Every dsc the bench starts is this checkout's, whatever the folder it runs from and
    # whatever dsc is installed.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(HERE.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    work = args.out.resolve()
    work.mkdir(parents=True, exist_ok=True)
    # The digests of the last run, to compare with: a change that should keep every byte does.
    store = work / "digests.json"
    print("\n".join(machine()))
    print(f"repeat: {args.repeat} round{'s' if args.repeat > 1 else ''}, medians reported")
    if not args.no_synthetic:
        synthetic(args, work, store)
    if not args.no_realistic:
        realistic(args, work, store)
    if not args.keep:
        for name in (
            "dsc",
            "dsc_beam",
            "naive",
            "datasets",
            "dsc_long",
            "naive_long",
            "dsc_messages",
            "dsc_messages_preference",
            "dsc_realistic",
            "naive_realistic",
        ):
            if (work / name).exists():
                shutil.rmtree(work / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
