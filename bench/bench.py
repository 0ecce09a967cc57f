"""`make bench`: time and peak memory of `dsc build` against one-off generator scripts.

Generates a synthetic project (50 brands × 20 contexts × N/1000 variants, Thai and English text
with emoji) under bench/out/, then runs each command in its own process and reads that process's
wall time and peak resident set size (os.wait4 gives the child's own rusage):

    dsc build (cold)      a fresh output folder
    dsc build (no-op)     the same command again, nothing changed
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
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from project import write_project  # noqa: E402

# Five times the sentences: outputs about 4.2× longer (a fixed head and tail stay as they are).
LONG_SCALE = 5


@dataclass(frozen=True)
class Run:
    label: str
    seconds: float
    peak_mib: float
    records: int
    stdout: str


def measure(label: str, command: list[str], records: int) -> Run:
    """Run command in a child process; its wall time and its own peak RSS.

    Dirty pages of the previous command are flushed first, so that its writes do not slow this
    one down (dsc fsyncs its outputs: its own writes are in its time, the others' are not).
    """
    os.sync()
    time.sleep(1)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        sys.exit(f"{label} failed ({proc.returncode}): {' '.join(command)}\n{stdout}{stderr}")
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
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
    lines = [f"{'command':<34} {'time s':>8} {'records/s':>10} {'peak RSS MiB':>13}"]
    for run in runs:
        rate = run.records / run.seconds if run.seconds else 0
        lines.append(f"{run.label:<34} {run.seconds:>8.2f} {rate:>10,.0f} {run.peak_mib:>13,.0f}")
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

    print()
    print("\n".join(table(runs)))
    print()
    print(f"dsc cold: {cold.stdout.splitlines()[-1]}")
    print(f"dsc no-op: {noop.stdout.splitlines()[-1]}")
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
            "peak RSS with long text / normal text: "
            f"dsc {dsc_long.peak_mib / cold.peak_mib:.2f}, "
            f"naive {naive_long.peak_mib / naive.peak_mib:.2f}"
        )
    if not args.keep:
        for name in ("dsc", "naive", "datasets", "dsc_long", "naive_long"):
            if (work / name).exists():
                shutil.rmtree(work / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
