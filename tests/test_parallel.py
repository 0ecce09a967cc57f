"""Worker processes change nothing but the time: the same bytes, errors and explanations for
any number of jobs and any size of the runs handed to them, and no worker outlives its build.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compiler import pipeline
from compiler.errors import CompileError
from compiler.parallel import ordered_map
from compiler.pipeline import explain_record as explain
from compiler.stream import RUN_RECORDS
from tests.helpers import (
    ERROR_CASES,
    ROOT,
    add_duplicate_and_short_rows,
    add_row,
    prepare_error_case,
    read_tree,
)

# (jobs, records per run): in-process with the default runs, and forked workers with runs of
# one record and of three, so that duplicates, conflicts and drops fall across run boundaries.
MODES = [(1, RUN_RECORDS), (2, 1), (2, 3), (1, 2)]


def messy(project: Path) -> Path:
    """The coding case with a duplicate, a conflict (same prompt, other output) and a record
    that is too short."""
    add_duplicate_and_short_rows(project)
    add_row(
        project,
        id="rs-worker-other",
        lang="rust",
        code="std::thread::spawn(move || work(rx));",
        answer="tokio::task::spawn(async move { work(rx).await });",
    )
    return project


@pytest.fixture(params=["example", "coding", "minimal", "messy", "formats"])
def project(request: pytest.FixtureRequest, case, example: Path) -> Path:
    if request.param == "example":
        return example
    if request.param == "messy":
        return messy(case("coding"))
    return case(request.param)


def test_every_number_of_jobs_builds_the_same_bytes(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trees = []
    for jobs, run_size in MODES:
        out = tmp_path / f"out-{jobs}-{run_size}"
        pipeline.build(project, out, jobs=jobs, run_size=run_size)
        trees.append(read_tree(out))
    assert trees[0]["train.jsonl"]
    for tree in trees[1:]:
        assert tree == trees[0]


def test_messy_project_counts_drops_and_conflicts_across_runs(
    case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = messy(case("coding"))
    metadata = pipeline.build(project, tmp_path / "out", jobs=2, run_size=1).metadata
    assert {reason: d["records"] for reason, d in metadata["dropped"].items()} == {
        "duplicate": 1,
        "output_too_short": 1,
    }
    assert metadata["conflicts"]["records"] == 1


def test_explain_is_the_same_with_workers(case, monkeypatch: pytest.MonkeyPatch) -> None:
    project = messy(case("coding"))
    loaded = pipeline.load_project(project)
    built = pipeline.build(project, jobs=1)
    ids = [d["ids"][0] for d in built.metadata["dropped"].values()]
    ids += [json.loads(line)["id"] for line in (project / "build/train.jsonl").open()][:3]
    expected = [explain(loaded, record_id, jobs=1) for record_id in ids]
    assert [explain(loaded, record_id, jobs=2, run_size=1) for record_id in ids] == expected


@pytest.mark.parametrize("name", ERROR_CASES)
def test_bad_input_gives_the_same_errors_with_workers(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error corpus through forked workers, one record per run: the same diagnostics."""
    project = prepare_error_case(name, tmp_path, crlf=False)
    expected = (ROOT / "tests/errors" / name / "expected.txt").read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the project as `-C NAME` names it (test_errors does the same)
    with pytest.raises(CompileError) as raised:
        pipeline.build(Path(project.name), jobs=2, run_size=1)
    count = len(raised.value.diagnostics)
    assert raised.value.render() + "\n" + (f"{count} errors\n" if count > 1 else "") == expected


def test_results_come_back_in_task_order() -> None:
    def slow_first(task: int) -> int:
        time.sleep(0.05 if task == 0 else 0)
        return task * task

    assert list(ordered_map(slow_first, list(range(20)), jobs=2)) == [t * t for t in range(20)]


class CountedTasks(list):
    """A task list that counts how many tasks have been taken from it."""

    taken = 0

    def __iter__(self):  # type: ignore[override]
        for task in super().__iter__():
            CountedTasks.taken += 1
            yield task


def test_at_most_a_window_of_tasks_is_in_flight() -> None:
    """A slow consumer holds back the workers: 2 x jobs + 2 tasks ahead, no more."""
    tasks = CountedTasks(range(100))
    results = ordered_map(abs, tasks, jobs=2)
    assert next(results) == 0
    time.sleep(0.2)
    assert CountedTasks.taken <= 2 * 2 + 2 + 1
    assert list(results) == list(range(1, 100))


def test_a_project_of_one_run_starts_no_worker(case, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a worker process was started")

    monkeypatch.setattr("compiler.parallel.ProcessPoolExecutor", refuse)
    assert pipeline.build(case("coding"), jobs=2).metadata["records"]["total"] == 12


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("how", ["sigkill", "ctrl-c"])
def test_workers_end_with_a_killed_or_interrupted_build(case, tmp_path: Path, how: str) -> None:
    """SIGKILL to the build leaves no worker behind (they would hold the CPUs, and files open);
    Ctrl-C in a terminal (SIGINT to the whole process group) stops the build with one
    "Aborted!" and no worker's traceback."""
    project = case("coding")
    # Each worker notes its pid in started/ when it takes its first record, and every record
    # waits for the go file, which the test writes only after its signal: the signal comes
    # once both workers run (so not while they are forked: see the test below), and the build
    # cannot finish before it, however slowly the test gets to run on a loaded machine.
    started, go = tmp_path / "started", tmp_path / "go"
    started.mkdir()
    script = (
        "import functools, os, sys, time\n"
        "from compiler import cli, pipeline, stream\n"
        "pipeline.build = functools.partial(pipeline.build, run_size=1)\n"
        "work = stream.Stream.__call__\n"
        "def slow(self, run):\n"
        f"    open(os.path.join({str(started)!r}, str(os.getpid())), 'w').close()\n"
        "    end = time.monotonic() + 60\n"
        f"    while not os.path.exists({str(go)!r}) and time.monotonic() < end:\n"
        "        time.sleep(0.01)\n"
        "    return work(self, run)\n"
        "stream.Stream.__call__ = slow\n"
        f"cli.main(['build', '-C', {str(project)!r}, '--jobs', '2'])\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    end = time.monotonic() + 30
    while len(list(started.iterdir())) < 2:
        assert process.poll() is None, "the build ended before its workers started"
        assert time.monotonic() < end, "no workers started"
        time.sleep(0.01)
    workers = _children(process.pid)
    assert {int(p.name) for p in started.iterdir()} <= workers
    if how == "sigkill":
        process.send_signal(signal.SIGKILL)
    else:
        os.killpg(process.pid, signal.SIGINT)
    go.touch()
    _, stderr = process.communicate(timeout=30)
    if how == "ctrl-c":
        assert (process.returncode, stderr) == (1, "\nAborted!\n")
        assert not (project / "build").exists() and not (project / "build.staging").exists()
    end = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < end:
        alive = {pid for pid in alive if _exists(pid)}
        time.sleep(0.01)
    assert not alive, f"workers {sorted(alive)} outlived the build"


def test_ctrl_c_while_workers_are_forked_stops_the_build(case) -> None:
    """The SIGINT arrives in the parent right after it forked its first worker (the moment
    Python runs its at-fork callbacks, logging's among them): the build must still stop. A
    KeyboardInterrupt raised in an at-fork callback would be printed and dropped; the parent
    forks with SIGINT blocked, so the signal waits until the forks are done."""
    project = case("coding")
    script = (
        "import functools, os, signal\n"
        "from compiler import cli, pipeline\n"
        "pipeline.build = functools.partial(pipeline.build, run_size=1)\n"
        "interrupted = []\n"
        "def interrupt_once():\n"
        "    if not interrupted:\n"
        "        interrupted.append(True)\n"
        "        signal.raise_signal(signal.SIGINT)\n"
        "os.register_at_fork(after_in_parent=interrupt_once)\n"
        f"cli.main(['build', '-C', {str(project)!r}, '--jobs', '2'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (1, "\nAborted!\n")
    assert not (project / "build").exists()


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split(") ")[-1][:1] != "Z"
