"""An interrupt at any step of a build leaves the output folder as it was, or complete.

Ctrl-C and SIGTERM are delivered deterministically: every file-system step a build takes
(open, mkdir, fsync, rename, the folder exchange, unlink, rmtree, flock, close) is counted in
a first build, then the build is run once for each step k with a real signal raised right
after step k. After each run: no staging or `.old` folder, the lock released, no file left
open once the lock is taken, and build/ byte-identical to the old build (signal before the
swap) or to the new one (signal during or after the swap, held back until it is complete).

Ctrl-C and SIGTERM are each raised after every step, of a rebuild (an old build at stake)
and of a first build. SIGTERM becomes the same KeyboardInterrupt in the handler `dsc build`
installs, then takes the same path.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import gc
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from compiler import clibase, emit
from compiler.pipeline import build
from tests.helpers import CASES, copy_project, read_tree

STEPS = {
    os: ("open", "mkdir", "fsync", "rename", "unlink", "rmdir", "close"),
    shutil: ("rmtree",),
    fcntl: ("flock",),
    emit: ("_exchange",),
}
OLD_SEED, NEW_SEED = 7, 8


@dataclass
class Steps:
    """Counts the steps of a build and raises `signum` right after step number `at`."""

    signum: int = 0
    at: int = -1  # no signal
    count: int = 0
    swapped_at: int | None = None  # the step that put the new build in place
    locked_at: int | None = None  # the step that took the lock: the writer's life begins
    active: bool = False

    def wrap(self, name: str, real: Callable) -> Callable:
        def step(*args: object, **kwargs: object) -> object:
            result = real(*args, **kwargs)
            if self.active:
                self.count += 1
                if name == "flock" and self.locked_at is None:
                    self.locked_at = self.count
                if name == "_exchange" or (name == "rename" and str(args[0]).endswith("staging")):
                    self.swapped_at = self.count
                if self.count == self.at:
                    signal.raise_signal(self.signum)
            return result

        return step


@contextlib.contextmanager
def counted(steps: Steps, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for module, names in STEPS.items():
        for name in names:
            monkeypatch.setattr(module, name, steps.wrap(name, getattr(module, name)))
    # emit's own open() (files it writes and reads back) is a step too
    monkeypatch.setattr(emit, "open", steps.wrap("open", builtins.open), raising=False)
    steps.active = True
    try:
        yield
    finally:
        steps.active = False
        monkeypatch.undo()


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    """A project (specs at the new seed), its old build and the new build's files."""
    base = tmp_path_factory.mktemp("interrupts")
    project = copy_project(CASES / "coding", base / "project")
    dataset = project / "specs/dataset.yaml"
    build(project, jobs=1)
    old = read_tree(project / "build")
    shutil.move(project / "build", base / "old-build")
    dataset.write_text(
        dataset.read_text("utf-8").replace(f"seed: {OLD_SEED}\n", f"seed: {NEW_SEED}\n"), "utf-8"
    )
    new_project = copy_project(project, base / "reference")
    build(new_project, jobs=1)
    new = read_tree(new_project / "build")
    assert old != new and old.keys() == new.keys()
    return project, old, new


@pytest.fixture
def heap_set_aside() -> Iterator[None]:
    """gc.collect() after each trial looks only at what the test makes: what the worker already
    holds is set aside while it runs (gc.freeze). With torch and transformers imported by an
    earlier test in the same worker, one full collection took 0.28 s, about 190 times a test."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _fresh(builds: tuple[Path, dict, dict], dest: Path, with_old_build: bool) -> Path:
    project = copy_project(builds[0], dest)
    if with_old_build:
        shutil.copytree(builds[0].parent / "old-build", project / "build")
    return project


def _lock_is_free(project: Path) -> bool:
    fd = os.open(project, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()


@pytest.mark.parametrize("with_old_build", [True, False], ids=["rebuild", "first-build"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_after_any_step_leaves_the_old_build_or_the_new_one(
    builds: tuple[Path, dict, dict],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    heap_set_aside: None,
    signum: int,
    with_old_build: bool,
) -> None:
    _, old, new = builds
    dry = Steps()
    project = _fresh(builds, tmp_path / "dry", with_old_build)
    with counted(dry, monkeypatch):
        build(project, jobs=1)
    assert read_tree(project / "build") == new
    total, swapped = dry.count, dry.swapped_at
    assert swapped is not None and 20 < swapped < total
    assert dry.locked_at is not None and dry.locked_at < swapped

    outcomes = []
    for at in range(1, total + 1):
        project = _fresh(builds, tmp_path / f"at{at}", with_old_build)
        steps = Steps(signum=signum, at=at)
        fds = _open_fds()
        with (
            clibase.sigterm_unwinds(),
            pytest.raises(KeyboardInterrupt),
            counted(steps, monkeypatch),
        ):
            build(project, jobs=1)
        leftovers = sorted(set(os.listdir(project)) - {"build", "data", "specs"})
        assert leftovers == [], f"signal after step {at} of {total} left {leftovers}"
        assert _lock_is_free(project), f"signal after step {at}: the lock is still held"
        gc.collect()  # the interrupted frames, and a file object one of them held
        if at >= dry.locked_at:
            # From the lock on, the writer closes all it opened. (A spec being read when the
            # interrupt comes may keep its descriptor until the interrupted process ends.)
            assert _open_fds() == fds, f"signal after step {at}: a file was left open"
        if (project / "build").exists():
            tree = read_tree(project / "build")
            outcome = "new" if tree == new else "old" if tree == old else "neither"
        else:
            outcome = "none"
        expected = ("old" if with_old_build else "none") if at < swapped else "new"
        assert outcome == expected, f"signal after step {at} of {total} (swap at {swapped})"
        outcomes.append(outcome)
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)
    assert outcomes.count("new") >= 1 and outcomes[0] == ("old" if with_old_build else "none")
