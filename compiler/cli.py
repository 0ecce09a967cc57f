"""The command line: the only place that prints or exits."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from compiler import __version__
from compiler.errors import CompileError, showable

PROJECT = click.option(
    "-C",
    "--project",
    "project",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The project folder.",
)
OUT = click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder (default: PROJECT/build).",
)
SEED = click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Override the seed of specs/dataset.yaml.",
)


def _fail(error: CompileError) -> NoReturn:
    click.echo(error.render(), err=True)
    shown = len(error.diagnostics)
    if error.more:
        click.echo(f"{shown + error.more} errors ({error.more} more not shown)", err=True)
    elif shown > 1:
        click.echo(f"{shown} errors", err=True)
    sys.exit(1)


EX_SOFTWARE = 70  # sysexits.h: an internal software error
MESSAGE_LIMIT = 500  # characters of an unexpected exception's message that are shown


def internal_error(exc: Exception) -> NoReturn:
    """The last resort: a bug in dsc reached the top. One short report and exit 70, never a
    traceback (which says nothing to a spec author and may show paths of the CI machine);
    DSC_TRACEBACK=1 shows it for whoever debugs dsc."""
    if os.environ.get("DSC_TRACEBACK") == "1":
        traceback.print_exception(exc)
    try:
        message = str(exc)
    except Exception:  # an exception whose __str__ fails: its type still says something
        message = ""
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT] + "…"
    # A message may hold project text: nothing in it may act on the terminal or the CI log.
    message = showable(message)
    name = type(exc).__name__
    click.echo(f"dsc: internal error: {name}{': ' + message if message else ''}", err=True)
    click.echo(
        f"  dsc {__version__}, Python {platform.python_version()}: this is a bug in dsc, "
        "not a mistake in your project",
        err=True,
    )
    click.echo(
        "  please report it with the command and the specs that caused it "
        "(DSC_TRACEBACK=1 shows the traceback)",
        err=True,
    )
    sys.exit(EX_SOFTWARE)


def _closed_pipe() -> NoReturn:
    """stdout was closed by its reader (`dsc diff | head`): stop quietly, as cat does."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit's flush does not fail again
    except (OSError, ValueError, AttributeError):  # no real stdout (a test runner)
        pass
    sys.exit(1)


class _Guarded(click.Group):
    """The command group whose commands never end in a Python traceback.

    A CompileError that a command did not catch is still the user's mistake; anything else
    that is not click's own (usage errors, --help, Ctrl-C's Abort) or an exit is a bug in
    dsc, reported by internal_error. KeyboardInterrupt and SystemExit are not Exceptions and
    pass through to click as before.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except CompileError as exc:
            _fail(exc)
        except BrokenPipeError:
            _closed_pipe()
        except Exception as exc:
            internal_error(exc)


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM (a cancelled CI job) unwinds like Ctrl-C, so the staging folder is removed."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While the block runs, SIGTERM unwinds like Ctrl-C; the caller's handler is restored."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _out_dir(project: Path, out: Path | None) -> Path:
    return out if out is not None else project / "build"


@click.group(cls=_Guarded)
@click.version_option(__version__, prog_name="dsc")
def main() -> None:
    """dsc: compile YAML dataset specs into reproducible Alpaca JSONL."""


@main.command()
@PROJECT
@OUT
@SEED
@click.option("--force", is_flag=True, help="Rebuild even when the build is up to date.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: one per usable CPU); the output is the same for any number.",
)
def build(project: Path, out: Path | None, seed: int | None, force: bool, jobs: int | None) -> None:
    """Compile the specs into build/ (skipped when nothing changed)."""
    from compiler.emit import check_output_dir

    out_dir = _out_dir(project, out)
    try:
        check_output_dir(project, out_dir)
    except CompileError as exc:
        _fail(exc)
    with _sigterm_unwinds():
        _build(project, out_dir, seed, force, jobs)


def _build(project: Path, out_dir: Path, seed: int | None, force: bool, jobs: int | None) -> None:
    from compiler.inputs import stale_reasons

    if out_dir.exists() and not force:
        reasons = stale_reasons(project, out_dir, seed)
        if not reasons:
            click.echo(f"{out_dir.name}/ is up to date")
            return
        if (out_dir / "metadata.json").is_file():
            click.echo(
                "rebuilding: "
                + "; ".join(reasons[:10])
                + (f"; and {len(reasons) - 10} more" if len(reasons) > 10 else "")
            )
    from compiler.pipeline import build as run_build

    try:
        result = run_build(project, out_dir, seed, jobs)
    except CompileError as exc:
        _fail(exc)
        return
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    meta = result.metadata
    records = meta["records"]
    dropped = sum(d["records"] for d in meta["dropped"].values())
    if dropped:
        reasons = ", ".join(f"{reason} {d['records']}" for reason, d in meta["dropped"].items())
        click.echo(
            f"note: dropped {dropped} records ({reasons}); see dropped in metadata.json", err=True
        )
    conflicts = meta["conflicts"]
    if conflicts["records"]:
        first = conflicts["pairs"][0]
        click.echo(
            f"warning: {conflicts['records']} records repeat the prompt of another record "
            f"with a different output (first: {first[1]} vs {first[0]}); "
            "see conflicts in metadata.json",
            err=True,
        )
    click.echo(
        f"built {records['total']} records (train {records['train']}, val {records['val']}, "
        f"test {records['test']}; dropped {dropped}) into {out_dir.name}/"
    )


@main.command()
@PROJECT
@OUT
def check(project: Path, out: Path | None) -> None:
    """Fail when build/ is not exactly what the specs compile to. Writes nothing."""
    from compiler.emit import check_output_dir
    from compiler.pipeline import build as run_build

    out_dir = _out_dir(project, out)
    try:
        check_output_dir(project, out_dir)
    except CompileError as exc:
        _fail(exc)
    with tempfile.TemporaryDirectory(prefix="dsc-check-") as scratch:
        fresh = Path(scratch) / "build"
        try:
            run_build(project, fresh)
        except CompileError as exc:
            _fail(exc)
            return
        problems = _compare_trees(out_dir, fresh)
    if problems:
        click.echo(f"{out_dir.name}/ does not match the specs:", err=True)
        for problem in problems[:20]:
            click.echo(f"  {problem}", err=True)
        if len(problems) > 20:
            click.echo(f"  … and {len(problems) - 20} more", err=True)
        click.echo("  hint: run `make dataset` (dsc build) and commit build/", err=True)
        sys.exit(1)
    click.echo(f"{out_dir.name}/ matches the specs")


def _compare_trees(actual: Path, expected: Path) -> list[str]:
    """What differs between a committed build and a fresh one; the committed files are read
    through the gate (no links, no pipes or devices: a pull request may commit anything)."""
    from compiler import files

    have = files.tree(actual) if actual.is_dir() else {}
    want = files.tree(expected)
    problems = []
    for path in sorted(set(have) | set(want)):
        name = f"{actual.name}/{files.shown(path)}"
        if path not in have:
            problems.append(f"{name} is missing")
        elif path not in want:
            problems.append(f"{name} is not a build output")
        elif not have[path]:
            problems.append(f"{name} is not a regular file")
        else:
            try:
                same = files.sha256(actual, path, links=False) == files.sha256(expected, path)
            except files.Refused:
                same = False
            if not same:
                problems.append(f"{name} differs (stale or edited by hand)")
    return problems


@main.command()
@click.argument("old", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.argument("new", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--rev",
    default=None,
    help="Compare the build committed at this git revision with the current build/ folder.",
)
@PROJECT
@OUT
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
@click.option("--exit-code", is_flag=True, help="Exit 1 when the builds differ, as in git.")
def diff(
    old: Path | None,
    new: Path | None,
    rev: str | None,
    project: Path,
    out: Path | None,
    fmt: str,
    exit_code: bool,
) -> None:
    """Records added, removed, changed and moved between two builds.

    Give two build folders (OLD NEW), or --rev REV to compare the build committed at REV
    with the current one.
    """
    from compiler.builds import read_folder, read_revision
    from compiler.diff import diff as compare
    from compiler.diff import to_json
    from compiler.report import diff_markdown, diff_text

    if rev is None and (old is None or new is None):
        raise click.UsageError("give two build folders OLD NEW, or --rev REV")
    if rev is not None and new is not None:
        raise click.UsageError("--rev compares with the current build: give at most one folder")
    try:
        if rev is not None:
            current = old if old is not None else _out_dir(project, out)
            before, after = read_revision(project, current, rev), read_folder(current)
        else:
            before, after = read_folder(old), read_folder(new)
    except CompileError as exc:
        _fail(exc)
        return
    result = compare(before, after)
    if fmt == "json":
        click.echo(json.dumps(to_json(result), ensure_ascii=False, indent=2))
    elif fmt == "markdown":
        click.echo(diff_markdown(result))
    else:
        click.echo(diff_text(result))
    if exit_code and not result.empty:
        sys.exit(1)


@main.command()
@click.argument("record_id")
@PROJECT
@SEED
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def explain(record_id: str, project: Path, seed: int | None, as_json: bool) -> None:
    """Where a record came from, the checks it passed, and why it is in its split."""
    from compiler.pipeline import explain_record, load_project

    try:
        result = explain_record(load_project(project, seed), record_id)
    except CompileError as exc:
        _fail(exc)
        return
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(_explain_text(result))


def _explain_text(result: dict[str, Any]) -> str:
    rule = result["rule"]
    lines = [
        f"record {result['id']}",
        f"  rule      {rule['task']}/{rule['id']} ({rule['defined_at']})",
    ]
    for name, key in result["bindings"].items():
        lines.append(f"  each      {name} = {key}")
    for name, pick in result["picks"].items():
        lines.append(
            f"  pick      {name}: alternative {pick['alternative']} ({pick['defined_at']})"
        )
    if "dropped" in result:
        lines.append(f"  dropped   {result['dropped']}")
    else:
        lines += [f"  check     {c}" for c in result["checks"]]
        placement = result["split"]
        stratum = ", ".join(f"{k}={v}" for k, v in placement["stratum"].items())
        lines.append(
            f"  group     {placement['group_by']} {placement['group_key'][:16]} "
            f"({placement['group_size']} record(s)), stratum {stratum or '-'}"
        )
        lines.append(f"  split     {placement['split']}: {placement['why']}")
    record = result["record"]
    for name in ("instruction", "input", "output"):
        text = record[name].replace("\n", "\n            ")
        lines.append(f"  {name:<9} {text}")
    # Record texts and keys are project text: nothing in them may act on the terminal.
    return "\n".join(showable(line.rstrip(), "\t") for line in "\n".join(lines).split("\n"))
