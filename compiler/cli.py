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


class Failed(click.ClickException):
    """The user's mistake, as click shows its own errors (Command.main calls show() and exits
    with exit_code): every diagnostic with its hint, then how many there were."""

    exit_code = 1

    def __init__(self, error: CompileError) -> None:
        super().__init__(error.render())
        self.error = error

    def show(self, file: Any = None) -> None:
        error = self.error
        click.echo(error.render(), err=True)
        shown = len(error.diagnostics)
        if error.more:
            click.echo(f"{shown + error.more} errors ({error.more} more not shown)", err=True)
        elif shown > 1:
            click.echo(f"{shown} errors", err=True)


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

    A CompileError is the user's mistake, shown as a Failed; anything else
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
            raise Failed(exc) from None
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


def _out_name(out_dir: Path, out: Path | None) -> str:
    """The output folder as messages name it: build/, or --out as it was given (a relative
    --out is relative to the current folder, not to -C)."""
    from compiler.files import shown

    return f"{out_dir.name}/" if out is None else f"{shown(str(out)).rstrip('/')}/"


def _rebuild_command(project: Path) -> str:
    """How to rebuild this project: the Makefile's target when it has one (dsc's scaffold)."""
    try:
        makefile = (project / "Makefile").read_text(encoding="utf-8", errors="replace")
    except OSError:
        makefile = ""
    if any(line.startswith("dataset:") for line in makefile.splitlines()):
        return "`make dataset` (dsc build)"
    return "`dsc build`" if str(project) == "." else f"`dsc build -C {project}`"


QUIET = click.option("-q", "--quiet", is_flag=True, help="Print only warnings and errors.")
HELP = {"help_option_names": ["-h", "--help"]}


@click.group(cls=_Guarded, context_settings=HELP)
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
@QUIET
@click.option(
    "-v", "--verbose", is_flag=True, help="Print every rebuild reason and every file written."
)
def build(
    project: Path,
    out: Path | None,
    seed: int | None,
    force: bool,
    jobs: int | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Compile the specs into build/ (skipped when nothing changed)."""
    from compiler.uptodate import check_output_dir

    out_dir = _out_dir(project, out)
    check_output_dir(project, out_dir)
    say = (lambda *args, **kwargs: None) if quiet else click.echo
    with _sigterm_unwinds():
        _build(project, out_dir, _out_name(out_dir, out), seed, force, jobs, say, verbose)


def _build(
    project: Path,
    out_dir: Path,
    name: str,
    seed: int | None,
    force: bool,
    jobs: int | None,
    say: Any,
    verbose: bool,
) -> None:
    from compiler.statcache import Cache
    from compiler.uptodate import stale_reasons

    cache = Cache(project, out_dir)
    reasons: list[str] = []
    if out_dir.exists() and not force:
        reasons = stale_reasons(project, out_dir, seed, cache)
        if not reasons:
            cache.save_check()
            say(f"{name} is up to date")
            return
        if not (out_dir / "metadata.json").is_file():
            reasons = []
    from compiler.pipeline import build as run_build

    with cache.recording(seed) as record:
        result = run_build(project, out_dir, seed, jobs)
        record(result.metadata, result.stats)
    # Said once the build succeeded: a seed or spec that is then refused rebuilt nothing.
    if reasons:
        shown = reasons if verbose else reasons[:10]
        more = len(reasons) - len(shown)
        say("rebuilding: " + "; ".join(shown) + (f"; and {more} more" if more else ""))
    for note in result.notes:
        say(f"note: {note}", err=True)
    meta = result.metadata
    records = meta["records"]
    dropped = sum(d["records"] for d in meta["dropped"].values())
    if dropped:
        reasons = ", ".join(f"{reason} {d['records']}" for reason, d in meta["dropped"].items())
        say(f"note: dropped {dropped} records ({reasons}); see dropped in metadata.json", err=True)
    if verbose:
        for path in meta["outputs"]:
            say(f"wrote {name}{path}")
        say(f"wrote {name}metadata.json")
    conflicts = meta["conflicts"]
    if conflicts["records"]:
        first = conflicts["pairs"][0]
        click.echo(
            f"warning: {conflicts['records']} records repeat the prompt of another record "
            f"with a different output (first: {first[1]} vs {first[0]}); "
            "see conflicts in metadata.json",
            err=True,
        )
    say(
        f"built {records['total']} records (train {records['train']}, val {records['val']}, "
        f"test {records['test']}; dropped {dropped}) into {name}"
    )


@main.command()
@PROJECT
@OUT
@QUIET
def check(project: Path, out: Path | None, quiet: bool) -> None:
    """Fail when build/ is not exactly what the specs compile to. Writes nothing."""
    from compiler.pipeline import build as run_build
    from compiler.readback import compare_trees
    from compiler.uptodate import check_output_dir

    out_dir = _out_dir(project, out)
    check_output_dir(project, out_dir)
    with tempfile.TemporaryDirectory(prefix="dsc-check-") as scratch:
        fresh = Path(scratch) / "build"
        run_build(project, fresh)
        problems = compare_trees(out_dir, fresh)
    name = _out_name(out_dir, out)
    if problems:
        click.echo(f"{name} does not match the specs:", err=True)
        for problem in problems[:20]:
            click.echo(f"  {problem}", err=True)
        if len(problems) > 20:
            click.echo(f"  … and {len(problems) - 20} more", err=True)
        click.echo(f"  hint: run {_rebuild_command(project)} and commit {name}", err=True)
        sys.exit(1)
    if not quiet:
        click.echo(f"{name} matches the specs")


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
    from compiler.diff import diff as compare
    from compiler.diff import to_json
    from compiler.readback import read_folder, read_revision
    from compiler.report import diff_markdown, diff_text

    if rev is None and (old is None or new is None):
        raise click.UsageError("give two build folders OLD NEW, or --rev REV")
    if rev is not None and new is not None:
        raise click.UsageError("--rev compares with the current build: give at most one folder")
    if rev is not None:
        current = old if old is not None else _out_dir(project, out)
        before, after = read_revision(project, current, rev), read_folder(current)
    else:
        before, after = read_folder(old), read_folder(new)
    result = compare(before, after)
    if fmt == "json":
        click.echo(json.dumps(to_json(result), ensure_ascii=False, indent=2))
    elif fmt == "markdown":
        click.echo(diff_markdown(result))
    else:
        # Colours only in a terminal (click strips them elsewhere), and never under NO_COLOR.
        click.echo(diff_text(result), color=False if os.environ.get("NO_COLOR") else None)
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
    from compiler.report import explain_text

    result = explain_record(load_project(project, seed), record_id)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(explain_text(result))


CONVERT_FORMATS = click.Choice(["alpaca", "sharegpt", "messages"])  # convert.CONVERT_FORMATS


@main.command()
@click.argument("in_file", metavar="IN", type=click.Path(path_type=Path))
@click.option("--to", "target", required=True, type=CONVERT_FORMATS, help="Format to write.")
@click.option(
    "--from", "source", type=CONVERT_FORMATS, help="Format of IN (default: its first row's)."
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="File to write (default: stdout)."
)
@QUIET
def convert(
    in_file: Path, target: str, source: str | None, output: Path | None, quiet: bool
) -> None:
    """Convert a JSONL file of alpaca, sharegpt or messages rows into another of the three.

    Rows keep their id, metadata and other keys; nothing is written when a row is wrong.
    """
    from compiler.convertfile import convert_file

    if source is not None and source == target:
        raise click.UsageError("--from and --to name the same format: nothing to convert")
    with _sigterm_unwinds():
        result = convert_file(in_file, target, source, output, sys.stdout.buffer)
    if not quiet:
        click.echo(result.summary(target, output), err=True)


EXAMPLES = click.Choice(["marketing", "coding"])  # scaffold.EXAMPLES


@main.command()
@click.argument("folder", metavar="[DIR]", default=".", type=click.Path(path_type=Path))
@click.option(
    "--example", type=EXAMPLES, default="marketing", show_default=True, help="The starter project."
)
@click.option(
    "--force",
    is_flag=True,
    help="Write the starter files into a folder that is not empty (no other file is removed).",
)
def init(folder: Path, example: str, force: bool) -> None:
    """Start a project in DIR (default: the current folder) that builds at once.

    DIR is created when missing, and must be empty unless --force is given.
    """
    from compiler.scaffold import scaffold

    click.echo(scaffold(folder, example, force).summary())
