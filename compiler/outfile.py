"""EDGE: a file the user names as an output (dsc convert -o, dsc stats --html): refused where
it would replace its input or sit inside a build, written beside and renamed into place, so
that an error or an interrupt leaves the old file as it was."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from compiler import jsonlfile
from compiler.errors import CompileError, Location, fail


def build_folder(folder: str) -> str | None:
    """The dsc build folder that is folder or holds it, if any."""
    while not jsonlfile.is_build(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    return folder


def check_output(out: Path, sources: list[str], command: str, what: str) -> None:
    """Refuse an output that is a folder, in no folder, one of the inputs (sources) or inside
    a build; command and what (the file it writes) are named in the hints."""
    where = Location(str(out))
    if out.is_dir():
        raise fail(where, f"output path {str(out)!r} is a folder", "name a file")
    parent = os.path.realpath(out.parent)
    if not os.path.isdir(parent):
        raise fail(
            where, f"the output's folder does not exist: {out.parent}", "create the folder first"
        )
    # A source that does not exist is not the output: its reader reports it, as without -o.
    if out.exists() and any(
        os.path.exists(source) and os.path.samefile(out, source) for source in sources
    ):
        raise fail(
            where,
            "the output is the input file",
            f"write to another file: {command} never replaces its input",
        )
    build = build_folder(parent)
    if build is not None:
        raise fail(
            where,
            f"the output is inside the dsc build folder {os.path.basename(build)}/",
            "every build replaces that folder, and dsc check refuses files it did not write: "
            f"write {what} elsewhere",
        )


def _file_mode(out: Path) -> int:
    """The mode of the file written: that of the file it replaces, or what the umask allows."""
    with contextlib.suppress(OSError):
        return os.stat(out).st_mode & 0o777
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_beside(out: Path, work: Callable[[BinaryIO], None]) -> None:
    """Run work on a temporary file beside out, then rename it to out; on any error or
    interrupt remove it, leaving out as it was."""
    try:
        fd, scratch = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise _unwritable(out, exc) from None
    try:
        with os.fdopen(fd, "wb", buffering=jsonlfile.BUFFER) as writer:
            work(writer)
            writer.flush()
            os.fchmod(writer.fileno(), _file_mode(out))
            os.fsync(writer.fileno())
        os.replace(scratch, out)
    except BaseException as exc:  # a CompileError, an OSError of the writer, Ctrl-C
        with contextlib.suppress(OSError):
            os.unlink(scratch)
        if isinstance(exc, OSError):
            raise _unwritable(out, exc) from None
        raise


def _unwritable(out: Path, exc: OSError) -> CompileError:
    return fail(
        Location(str(out)),
        f"cannot write {out}: {exc.strerror}",
        "check the folder's permissions and free space; nothing was written",
    )
