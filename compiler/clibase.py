"""The command line's common ground: options, the way errors are shown, signals, progress."""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import sys
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


class Guarded(click.Group):
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
def sigterm_unwinds() -> Iterator[None]:
    """While the block runs, SIGTERM unwinds like Ctrl-C; the caller's handler is restored."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def output_folder(project: Path, out: Path | None) -> Path:
    return out if out is not None else project / "build"


def output_name(out_dir: Path, out: Path | None) -> str:
    """The output folder as messages name it: build/, or --out as it was given (a relative
    --out is relative to the current folder, not to -C)."""
    from compiler.files import shown

    return f"{out_dir.name}/" if out is None else f"{shown(str(out)).rstrip('/')}/"


QUIET = click.option("-q", "--quiet", is_flag=True, help="Print only warnings and errors.")
HELP = {"help_option_names": ["-h", "--help"]}


# A progress bar shows on stderr for work that takes more than about a second at the measured
# rates (docs/benchmarks.md), on a terminal only, and never under CI.
VALIDATE_PROGRESS_BYTES = 8 * 1024 * 1024
BUILD_PROGRESS_RECORDS = 20_000


def progress_wanted(size: int, threshold: int) -> bool:
    """Whether a progress bar is worth showing: long work, on a terminal, not under CI."""
    return size > threshold and sys.stderr.isatty() and not os.environ.get("CI")


@contextlib.contextmanager
def progress_bar(label: str, size: int, threshold: int) -> Iterator[Any]:
    """An update(n) function: click's bar on stderr when progress_wanted, else nothing."""
    if not progress_wanted(size, threshold):
        yield lambda n: None
        return
    with click.progressbar(length=size, label=label, file=sys.stderr) as bar:
        yield bar.update
