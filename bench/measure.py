"""How the bench measures: one command's wall time and peak tree RSS, medians, output digests.

A command runs in a child process of its own; its peak memory is the summed RSS of the process
and all its descendants (dsc forks workers), sampled from /proc every 0.1 s and never less than
the child's own ru_maxrss from os.wait4. A series runs a command several times (--repeat) and
reports the median. Every dsc build's outputs are digested (the sha256 of its JSONL files, from
metadata.json): repeats must agree, a no-op build must change nothing, and the digest is
compared with the previous bench run's, so that a speed-up shows whether it kept every byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
SAMPLE_SECONDS = 0.1  # a scan of /proc costs a few ms: rarely enough not to slow the runs


@dataclass(frozen=True)
class Run:
    label: str
    seconds: float
    peak_mib: float
    records: int
    stdout: str
    cpu_seconds: float = 0.0  # user + system of the process and the descendants it waited for


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
    # wait4's usage counts the child and every descendant it waited for (its worker processes)
    cpu = usage.ru_utime + usage.ru_stime
    return Run(label, seconds, peak, records, stdout.strip(), cpu)


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


@dataclass(frozen=True)
class Series:
    """The runs of one command, repeated: the median is what the tables and ratios use."""

    label: str
    runs: tuple[Run, ...]

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def peak_mib(self) -> float:
        return statistics.median(run.peak_mib for run in self.runs)

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(run.cpu_seconds for run in self.runs)

    @property
    def records(self) -> int:
        return self.runs[0].records

    @property
    def stdout(self) -> str:
        return self.runs[-1].stdout

    def spread(self) -> str:
        """min–max of the times, when there was more than one run."""
        times = [run.seconds for run in self.runs]
        return f"{min(times):.1f}–{max(times):.1f}" if len(times) > 1 else ""


def outputs_digest(out: Path) -> str:
    """sha256 over the records a build wrote: the JSONL files' hashes listed in metadata.json.

    The card and metadata.json name the compiler's version, so they are left out: the digest
    changes only when a record, its split or its format changes.
    """
    with open(out / "metadata.json", encoding="utf-8") as f:
        outputs = json.load(f)["outputs"]
    records = {path: sha for path, sha in sorted(outputs.items()) if path.endswith(".jsonl")}
    return hashlib.sha256(json.dumps(records).encode()).hexdigest()


def verify_same(label: str, digests: list[str]) -> str:
    """The one digest of a series of builds; exits when repeats of one build disagree."""
    if len(set(digests)) != 1:
        sys.exit(f"{label}: the same build gave different outputs: {digests}")
    return digests[0]


def compare_with_previous(store: Path, key: str, digest: str) -> str:
    """Records digest under key in store (a JSON file) and says how it compares with the last."""
    previous: dict[str, str] = {}
    if store.is_file():
        previous = json.loads(store.read_text(encoding="utf-8"))
    before = previous.get(key)
    previous[key] = digest
    store.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if before is None:
        return f"outputs {digest[:16]} (first run of {key} here)"
    if before == digest:
        return f"outputs {digest[:16]}: the same bytes as the previous bench run"
    return f"outputs {digest[:16]}: CHANGED since the previous bench run ({before[:16]})"


def table(series: list[Series]) -> list[str]:
    lines = [
        f"{'command':<38} {'time s':>8} {'min–max s':>11} {'records/s':>10} {'tree RSS MiB':>13}"
    ]
    for s in series:
        rate = s.records / s.seconds if s.seconds else 0
        lines.append(
            f"{s.label:<38} {s.seconds:>8.2f} {s.spread():>11} {rate:>10,.0f} {s.peak_mib:>13,.0f}"
        )
    runs = len(series[0].runs) if series else 1
    if runs > 1:
        lines.append(f"time and memory: median of {runs} runs")
    lines.append(
        "tree RSS: peak of the summed RSS of the process and its descendants, sampled every "
        f"{SAMPLE_SECONDS * 1000:.0f} ms"
    )
    lines.append("  (forked workers' shared pages are counted once per process: an over-estimate)")
    return lines
