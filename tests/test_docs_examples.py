"""The command examples in README.md and docs/ are transcripts: each one is run and compared.

A fenced block marked `console` (fenced with three backticks or more) is a transcript: lines
starting with `$ ` are commands, run
with bash in a fresh copy of tests/cases/coding (the project the examples describe), and the
lines after a command are its output (stdout and stderr together). A line `...` (indented
or not) stands for any number of lines. Blocks marked `sh`, `yaml` or nothing are
illustrations and are not run.

A command that is a plain `dsc` call (no shell syntax: it reads the same after shlex
splits and joins it) runs in this process through click's CliRunner, under the environment
and in the folder bash would give it: the same code, without a Python start-up and imports
per example (most of this module's time when every command was a process of its own).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import main
from tests.helpers import CASES, ROOT, copy_project

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# (a longer fence, ````console, holds output with ``` lines in it: markdown)
BLOCK = re.compile(r"^(`{3,})console\n(.*?)^\1$", re.MULTILINE | re.DOTALL)
ANY = "..."
MAKE_VARIABLES = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")


def transcripts() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{path.relative_to(ROOT).as_posix()}:{line}", match.group(2)))
    return found


def steps(transcript: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) in order."""
    found: list[tuple[str, list[str]]] = []
    for line in transcript.splitlines():
        if line.startswith("$ "):
            found.append((line[2:], []))
        else:
            assert found, f"output before the first command: {line!r}"
            found[-1][1].append(line)
    return found


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether actual fits expected, where a `...` line stands for any number of lines."""
    if not expected:
        return not actual
    if expected[0].strip() == ANY:
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == expected[0] and matches(expected[1:], actual[1:])


EXAMPLES = transcripts()


def test_the_docs_have_transcripts() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("transcript", [t for _, t in EXAMPLES], ids=[w for w, _ in EXAMPLES])
def test_transcript(transcript: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_project(CASES / "coding", tmp_path / "project")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "dsc"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m compiler "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    # A reader runs the examples in a shell of their own: not inside the `make test` that runs
    # this suite, whose MAKELEVEL and MAKEFLAGS would make an example's make say where it is.
    outside_make = {k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES}
    env = {
        **outside_make,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
        "COLUMNS": "100",
    }
    for command, expected in steps(transcript):
        printed = run(command, project, env, monkeypatch)
        assert matches(expected, printed.splitlines()), (
            f"$ {command}\n--- the docs say:\n"
            + "\n".join(expected)
            + "\n--- dsc printed:\n"
            + printed
        )


def run(command: str, project: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """What `command` prints (stdout and stderr together) when run in `project`."""
    words = shlex.split(command)
    if words[0] == "dsc" and shlex.join(words) == command:
        monkeypatch.chdir(project)
        result = CliRunner().invoke(main, words[1:], prog_name="dsc", env=env)
        monkeypatch.undo()
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.output
    return subprocess.run(
        ["bash", "-c", command],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    ).stdout
