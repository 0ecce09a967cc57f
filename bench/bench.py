"""`make bench`: time and peak memory of `dsc build` against one-off generator scripts.

Generates a synthetic project (50 brands × 20 contexts × N/1000 variants, Thai and English text
with emoji) under bench/out/, then runs each command in its own process and reports its wall time
and peak memory. dsc forks worker processes, so the memory figure is the peak summed RSS of the
process tree: VmRSS of the child and all its descendants, added up every 0.1 s from /proc, and
never less than the child's own ru_maxrss from os.wait4. Pages a forked worker shares with its
parent are counted once per process, so for dsc this over-estimates. Without /proc it is
ru_maxrss alone (the largest single process).

    dsc build (cold)      a fresh output folder
    dsc build (no-op)     the same command again, nothing changed (the stat cache vouches)
    ... (no stat cache)   once more without .dsc/state.json: every input and output hashed
    naive script          str.format per record, list of dicts, shuffle, slice, json.dumps
    HF datasets           from_generator, train_test_split twice, to_json (when installed)
    ... and dsc and the naive script again with about 4× longer outputs, same record count.

    python bench/bench.py [--records N] [--out DIR] [--no-datasets] [--no-long] [--keep]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from project import write_project  # noqa: E402

# Five times the sentences: outputs about 4.2× longer (a fixed head and tail stay as they are).
LONG_SCALE = 5

PROC = Path("/proc")
SAMPLE_SECONDS = 0.1  # a scan of /proc costs a few ms: rarely enough not to slow the runs


@dataclass(frozen=True)
class Run:
    label: str
    seconds: float
    peak_mib: float
    records: int
    stdout: str


def tree_rss_kib(root: int) -> int:
    """Summed VmRSS (KiB) of process root and all its descendants, from /proc/<pid>/status."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text(encoding="utf-8")
        except OSError:  # the process exited meanwhile
            continue
        pid = int(entry.name)
        for line in status.splitlines():
            if line.startswith("PPid:"):
                parents[pid] = int(line.split()[1])
            elif line.startswith("VmRSS:"):  # absent for zombies
                rss[pid] = int(line.split()[1])
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, stack = 0, [root] if root in parents else []
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


class TreeSampler:
    """Peak of tree_rss_kib(pid), sampled every SAMPLE_SECONDS in a background thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.pid))
            if self._stop.wait(SAMPLE_SECONDS):
                return

    def __enter__(self) -> TreeSampler:
        if PROC.is_dir():
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def measure(label: str, command: list[str], records: int) -> Run:
    """Run command in a child process; its wall time and the peak summed RSS of its process tree.

    The peak is max(sampled peak of the tree's summed RSS, the child's own ru_maxrss), so that a
    short peak of the child between two samples still counts (see the module docstring).

    Dirty pages of the previous command are flushed first, so that its writes do not slow this
    one down (dsc fsyncs its outputs: its own writes are in its time, the others' are not).
    """
    os.sync()
    time.sleep(1)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err)
        with TreeSampler(proc.pid) as sampler:
            _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        sys.exit(f"{label} failed ({proc.returncode}): {' '.join(command)}\n{stdout}{stderr}")
    # ru_maxrss is in KiB on Linux, in bytes on macOS; /proc (Linux) gives KiB.
    peak = max(
        usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024),
        sampler.peak_kib / 1024,
    )
    return Run(label, seconds, peak, records, stdout.strip())


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kib = int(f.readline().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"machine: {cpu}, {usable} usable CPUs (nproc){memory}",
        f"system:  {platform.system()} {platform.release()}",
        f"python:  {platform.python_implementation()} {platform.python_version()}",
    ]


def dsc(project: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "compiler", "build", "-C", str(project), "--out", str(out)]


def baseline(kind: str, project: Path, out: Path) -> list[str]:
    return [sys.executable, str(HERE / "baselines.py"), kind, str(project), str(out)]


def fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    return path


def output_mean(out: Path) -> float:
    with open(out / "metadata.json", encoding="utf-8") as f:
        return json.load(f)["lengths"]["output"]["mean"]


def table(runs: list[Run]) -> list[str]:
    lines = [f"{'command':<34} {'time s':>8} {'records/s':>10} {'tree RSS MiB':>13}"]
    for run in runs:
        rate = run.records / run.seconds if run.seconds else 0
        lines.append(f"{run.label:<34} {run.seconds:>8.2f} {rate:>10,.0f} {run.peak_mib:>13,.0f}")
    lines.append(
        "tree RSS: peak of the summed RSS of the process and its descendants, sampled every "
        f"{SAMPLE_SECONDS * 1000:.0f} ms"
    )
    lines.append("  (forked workers' shared pages are counted once per process: an over-estimate)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--records",
        type=int,
        default=1_000_000,
        help="records in the synthetic project (default 1,000,000)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "out",
        help="working folder (default bench/out, git-ignored)",
    )
    parser.add_argument(
        "--no-datasets", action="store_true", help="skip the Hugging Face datasets baseline"
    )
    parser.add_argument("--no-long", action="store_true", help="skip the longer texts measurement")
    parser.add_argument(
        "--no-formats", action="store_true", help="skip the extra output formats measurement"
    )
    parser.add_argument("--keep", action="store_true", help="keep the output folders")
    args = parser.parse_args(argv)

    work = args.out.resolve()
    work.mkdir(parents=True, exist_ok=True)
    project = work / "project"
    records = write_project(project, args.records)
    print("\n".join(machine()))
    print(f"project: {records:,} records into {project}", flush=True)

    runs = []
    cold = measure("dsc build (cold)", dsc(project, fresh(work / "dsc")), records)
    runs.append(cold)
    noop = measure("dsc build (no-op)", dsc(project, work / "dsc"), records)
    runs.append(noop)
    # The same no-op without the stat cache (.dsc/state.json): every input and output hashed.
    shutil.rmtree(project / ".dsc", ignore_errors=True)
    hashing = measure("dsc build (no-op, no stat cache)", dsc(project, work / "dsc"), records)
    runs.append(hashing)
    mean = output_mean(work / "dsc")
    naive = measure("naive script", baseline("naive", project, fresh(work / "naive")), records)
    runs.append(naive)
    if not args.no_datasets and importlib.util.find_spec("datasets") is not None:
        runs.append(
            measure("HF datasets", baseline("datasets", project, fresh(work / "datasets")), records)
        )
    long_runs = []
    if not args.no_long:
        long_project = work / f"project_x{LONG_SCALE}"
        write_project(long_project, args.records, scale=LONG_SCALE)
        long_runs = [
            measure(
                "dsc build (cold), long text",
                dsc(long_project, fresh(work / "dsc_long")),
                records,
            ),
            measure(
                "naive script, long text",
                baseline("naive", long_project, fresh(work / "naive_long")),
                records,
            ),
        ]
        long_mean = output_mean(work / "dsc_long")
        runs += long_runs

    format_runs = []
    if not args.no_formats:
        # The same records with extra formats: the cost of each format added to alpaca alone.
        for extra in (("messages",), ("messages", "preference")):
            name = "_".join(extra)
            formats_project = work / f"project_{name}"
            write_project(formats_project, args.records, formats=extra)
            format_runs.append(
                (
                    extra,
                    measure(
                        f"dsc build (cold), +{' +'.join(extra)}",
                        dsc(formats_project, fresh(work / f"dsc_{name}")),
                        records,
                    ),
                )
            )
        runs += [run for _, run in format_runs]

    print()
    print("\n".join(table(runs)))
    print()
    print(f"dsc cold: {cold.stdout.splitlines()[-1]}")
    print(f"dsc no-op: {noop.stdout.splitlines()[-1]}")
    print(
        f"no-op with the stat cache / hashing every file: {noop.seconds / hashing.seconds:.2f} "
        f"({noop.seconds:.2f} s / {hashing.seconds:.2f} s; target <= 0.30 s: "
        f"{'met' if noop.seconds <= 0.3 else 'NOT met'})"
    )
    print(f"mean output length: {mean:,.0f} characters", end="")
    print(f"; long text: {long_mean:,.0f} ({long_mean / mean:.1f}×)" if long_runs else "")
    time_ratio, memory_ratio = cold.seconds / naive.seconds, cold.peak_mib / naive.peak_mib
    print(
        f"dsc/naive time   {time_ratio:.2f}  (target <= 1.00: "
        f"{'met' if time_ratio <= 1 else 'NOT met'})"
    )
    print(
        f"dsc/naive memory {memory_ratio:.2f}  (target <= 0.50: "
        f"{'met' if memory_ratio <= 0.5 else 'NOT met'})"
    )
    if long_runs:
        dsc_long, naive_long = long_runs
        print(
            "peak tree RSS with long text / normal text: "
            f"dsc {dsc_long.peak_mib / cold.peak_mib:.2f}, "
            f"naive {naive_long.peak_mib / naive.peak_mib:.2f}"
        )
    for extra, run in format_runs:
        print(
            f"+{' +'.join(extra)}: time {run.seconds / cold.seconds:.2f}× alpaca alone "
            f"({(run.seconds / cold.seconds - 1) / len(extra):.2f} a format; target <= 0.15), "
            f"memory {run.peak_mib / cold.peak_mib:.2f}×"
        )
    if not args.keep:
        for name in (
            "dsc",
            "naive",
            "datasets",
            "dsc_long",
            "naive_long",
            "dsc_messages",
            "dsc_messages_preference",
        ):
            if (work / name).exists():
                shutil.rmtree(work / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
