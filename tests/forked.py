"""`dsc` in a process of its own, forked from a server that imported dsc once.

A test that needs dsc in another process (to kill it, stop it, or cap its memory or disk) gets
one from Python's multiprocessing *forkserver*: a process started once per pytest worker that
imports dsc and the libraries it uses, then forks a child for each call. A child starts in
milliseconds; a new interpreter took about 0.3 s of CPU to start and import dsc, click, Jinja2,
jsonschema and PyYAML, and `make test` starts about 150 of them.

The child runs `dsc`'s click group as `python -m compiler` would (same arguments, folder, program
name, exit code, stdout and stderr), and is a real process: signals, SIGKILL, rlimits and
flock act on it as on a subprocess. What it cannot be given is what an interpreter reads when it
starts (PYTHONHASHSEED, the locale, PYTHON* variables): tests of those start a new interpreter
(`tests.helpers.dsc` does when given an `env`).
"""

from __future__ import annotations

import functools
import importlib
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = "python -m compiler"  # the name click shows when dsc runs as `python -m compiler`

# What a build, check or diff imports, so that no child imports it again.
PRELOAD = [
    "compiler.cli",
    "compiler.pipeline",
    "compiler.render",
    "compiler.validate",
    "compiler.emit",
    "compiler.check",
    "compiler.split",
    "compiler.uptodate",
    "compiler.statcache",
    "compiler.report",
    "compiler.readback",
    "tests.forked",
]


@functools.cache
def _context() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _child(
    args: Sequence[str],
    cwd: str,
    out: str,
    err: str,
    limits: Sequence[tuple[int, int]],
    patches: Sequence[tuple[str, str, object]],
) -> None:
    """The child's work: dsc's command line, its output into two files."""
    os.chdir(cwd)
    for fd, name in ((1, out), (2, err)):
        opened = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    for which, value in limits:
        resource.setrlimit(which, (value, value))
    for module, name, value in patches:
        setattr(importlib.import_module(module), name, value)
    from compiler.cli import main

    sys.argv = [PROGRAM, *args]
    main(list(args), prog_name=PROGRAM)


def _text(data: bytes) -> str:
    """Bytes as subprocess's text mode reads them (UTF-8 here, universal newlines)."""
    return data.decode().replace("\r\n", "\n").replace("\r", "\n")


class Forked:
    """A running dsc, with the part of subprocess.Popen's interface the tests use."""

    def __init__(
        self,
        *args: str | Path,
        cwd: str | Path = ROOT,
        limits: Sequence[tuple[int, int]] = (),
        patches: Sequence[tuple[str, str, object]] = (),
    ) -> None:
        """Start `dsc ARGS` in CWD; each (resource, n) of limits caps the child (setrlimit),
        each (module, name, value) of patches is set in the child before dsc runs."""
        self._folder = Path(tempfile.mkdtemp(prefix="dsc-forked-"))
        self._out, self._err = self._folder / "stdout", self._folder / "stderr"
        self._out.touch()  # a child killed before it opens its files said nothing
        self._err.touch()
        self._said: tuple[str, str] | None = None
        self._process = _context().Process(
            target=_child,
            args=(
                [str(a) for a in args],
                str(cwd),
                str(self._out),
                str(self._err),
                tuple(limits),
                tuple(patches),
            ),
        )
        self._process.start()
        self.pid: int = self._process.pid
        self.args = [PROGRAM, *map(str, args)]
        self.returncode: int | None = None

    def poll(self) -> int | None:
        self.returncode = self._process.exitcode
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self.poll() is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Wait for the end; (stdout, stderr), also when asked again."""
        self.wait(timeout)
        if self._said is None:
            self._said = _text(self._out.read_bytes()), _text(self._err.read_bytes())
            shutil.rmtree(self._folder)
        return self._said


def run(
    *args: str | Path,
    cwd: str | Path = ROOT,
    limits: Sequence[tuple[int, int]] = (),
    patches: Sequence[tuple[str, str, object]] = (),
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """dsc ARGS in a forked child, as subprocess.run(capture_output=True, text=True) would.

    The timeout only ends a hang (the child is killed and the test fails); it times nothing.
    """
    child = Forked(*args, cwd=cwd, limits=limits, patches=patches)
    try:
        stdout, stderr = child.communicate(timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise
    assert child.returncode is not None
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
