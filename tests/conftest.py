"""Shared fixtures: fixture projects, the CLI runner and the golden-file update flag."""

from __future__ import annotations

import contextlib
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite expected build outputs of tests/cases/*/expected (review the diff!)",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def copy_project(source: Path, dest: Path) -> Path:
    """Copy a project's spec files (not its build or expected outputs) into dest."""
    ignore = shutil.ignore_patterns("build", "expected", "build.*", "__pycache__")
    shutil.copytree(source, dest, ignore=ignore)
    return dest


@pytest.fixture
def case(tmp_path: Path):
    """Copy tests/cases/<name> into a temporary folder and return its path."""

    def make(name: str) -> Path:
        return copy_project(CASES / name, tmp_path / name)

    return make


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the shipped example project (specs/ and brands/)."""
    dest = tmp_path / "example"
    dest.mkdir()
    for part in ("specs", "brands"):
        shutil.copytree(ROOT / part, dest / part)
    data = ROOT / "data"
    if data.is_dir():
        shutil.copytree(data, dest / "data")
    return dest


@pytest.fixture
def cli():
    """Run dsc in-process; returns click's Result (stdout, stderr and exit code apart)."""
    from compiler.cli import main

    def run(*args: str):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    return run


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every file below folder, by sorted relative POSIX path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class Hang(BaseException):
    """Raised in the test by a timer; a BaseException so that no `except Exception` eats it."""


@contextlib.contextmanager
def hang_guard(seconds: float = 10) -> Iterator[None]:
    """Fail (instead of stalling the suite) when one example runs far past its deadline."""

    def stop(signum: int, frame: object) -> None:
        raise Hang(f"no result after {seconds} s: the compiler hangs")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
