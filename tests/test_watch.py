"""dsc build --watch: a real watch (watchfiles) in a subprocess, edited under it.

Every wait is for a line of its output, with a deadline that fails the test instead of
stalling the suite; nothing is timed and nothing sleeps.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from compiler.watch import ignored_places, relevant
from tests.helpers import (
    BUILT,
    CONCEPTS,
    DATA,
    ROOT,
    UP_TO_DATE,
    edit,
    edit_concept,
    edit_data,
    read_tree,
)

DEADLINE = 60  # seconds for one expected line: a hang fails, it is never timed
WATCHING = "watching the project for changes (Ctrl-C to stop)"
KEPT = "build failed: build/ still holds the last good build"


class Watch:
    """dsc build --watch on a project; its output (stdout and stderr) line by line."""

    def __init__(self, project: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "compiler", "build", "--watch", "-C", str(project)],
            cwd=ROOT,
            env={**os.environ, "NO_COLOR": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # the end of the output

    def next_lines(self, count: int) -> list[str]:
        """The next count lines, each awaited until DEADLINE."""
        found = []
        for _ in range(count):
            try:
                line = self.lines.get(timeout=DEADLINE)
            except queue.Empty:
                pytest.fail(f"no output after {DEADLINE} s; so far: {found}")
            if line is None:
                pytest.fail(f"dsc build --watch ended early; its last lines: {found}")
            found.append(line)
        return found

    def rest(self) -> list[str]:
        """Every line until the output ends."""
        found = []
        while (line := self.lines.get(timeout=DEADLINE)) is not None:
            found.append(line)
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def watch(built: Path) -> Iterator[Watch]:
    running = Watch(built)
    yield running
    running.stop()


def test_watch_rebuilds_on_each_save_and_keeps_the_last_good_build(
    built: Path, watch: Watch
) -> None:
    assert watch.next_lines(2) == [UP_TO_DATE.strip(), WATCHING]

    edit_concept(built)
    assert watch.next_lines(3) == [
        f"rebuilding: {CONCEPTS} changed",
        BUILT.strip(),
        "diff: 0 added, 0 removed, 3 changed, 3 moved between splits",
    ]
    good = read_tree(built / "build")

    # A mistake: its located error, and build/ as it was. Had the build's own writes (build/,
    # .dsc/) started a round, its lines would come before these.
    edit(built / CONCEPTS, "task: explain_concept", "tsk: explain_concept")
    assert watch.next_lines(3) == [
        f"{CONCEPTS}:1:1: error: unknown key 'tsk'",
        "  hint: did you mean 'task'?",
        KEPT,
    ]
    assert read_tree(built / "build") == good

    # Put back: the build in place is the build of these specs.
    edit(built / CONCEPTS, "tsk: explain_concept", "task: explain_concept")
    assert watch.next_lines(1) == [UP_TO_DATE.strip()]

    # A data file a rule reads is an input too.
    edit_data(built)
    assert watch.next_lines(3) == [
        f"rebuilding: {DATA} changed",
        BUILT.strip(),
        "diff: 0 added, 0 removed, 1 changed, 0 moved between splits",
    ]

    # Ctrl-C ends the watch normally: exit 0, nothing more said.
    watch.process.send_signal(signal.SIGINT)
    assert watch.process.wait(timeout=DEADLINE) == 0
    assert watch.rest() == []


def test_without_the_extra_watch_says_how_to_install_it(
    built: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # import watchfiles: ImportError
    result = cli("build", "--watch", "-C", built)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "error: dsc build --watch needs the watchfiles package (the `watch` extra)\n"
        "  hint: pip install 'dsc-dataset-compiler[watch]' "
        "(in a checkout of dsc: pip install -e '.[watch]')\n"
    )


def test_watch_refuses_a_missing_project_as_build_does(tmp_path: Path, cli) -> None:
    result = cli("build", "--watch", "-C", tmp_path / "nowhere")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"{tmp_path / 'nowhere'}: error: no such project folder\n"
        "  hint: give -C the folder that holds specs/dataset.yaml\n"
    )


def test_a_watcher_that_cannot_start_says_why(
    built: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import watchfiles

    def refused(*paths: object, **options: object) -> Iterator[set]:
        raise OSError("OS file watch limit reached")
        yield set()

    monkeypatch.setattr(watchfiles, "watch", refused)
    result = cli("build", "--watch", "-C", built)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"{built}: error: cannot watch the project folder: OS file watch limit reached\n"
        "  hint: on a network file system, or past the system's limit of watched folders, "
        "set WATCHFILES_FORCE_POLLING=1 to poll for changes instead\n"
    )


def test_changes_where_a_build_writes_start_no_round(tmp_path: Path) -> None:
    from watchfiles import Change, DefaultFilter

    # The project through a link: a change may be reported by either path.
    (tmp_path / "real").mkdir()
    project = tmp_path / "project"
    project.symlink_to(tmp_path / "real")
    keep = relevant(DefaultFilter(), ignored_places(project, project / "build"))
    kept = [
        "specs/dataset.yaml",
        "brands/coffeelab.yaml",
        "data/refactor.jsonl",
        "build2/notes.txt",
        "build.yaml",
        "specs/build/x.yaml",
    ]
    dropped = [
        "build",
        "build/train.jsonl",
        "build.staging/tasks/refactor.jsonl",
        "build.old",
        ".dsc/state.json",
        ".git/index",
        "specs/.dataset.yaml.swp",
        "specs/dataset.yaml~",
    ]
    for folder in (project, tmp_path / "real"):
        for name in kept + dropped:
            path = str(folder / name)
            assert keep(Change.modified, path) is (name in kept), path
