"""EDGE: dsc convert's files: read the input a line at a time, convert into a temporary file,
then rename it into place or copy it to standard output, so nothing is written on error.

Memory is bounded by the longest line (jsonlfile.LINE_LIMIT) and the messages kept
(convert.ERROR_LIMIT), never by the length of the file: a line is converted and written before
the next is read.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from compiler import files, jsonlfile
from compiler.convert import Converter
from compiler.errors import CompileError, Location, fail
from compiler.jsonl import over_limit

_BUFFER = jsonlfile.BUFFER


@dataclass(frozen=True)
class Converted:
    rows: int
    source: str | None  # the input's format, given or told by its first row (None: no rows)

    def summary(self, target: str, out: Path | None) -> str:
        where = files.shown(str(out)) if out is not None else "standard output"
        source = f" from {self.source}" if self.source else ""
        rows = f"{self.rows} row{'' if self.rows == 1 else 's'}"
        return f"converted {rows}{source} to {target} into {where}"


def convert_file(
    path: Path, target: str, source: str | None, out: Path | None, stdout: BinaryIO
) -> Converted:
    """Convert the JSONL file at path into format target: into out, or onto stdout once the
    whole file has converted. Raises CompileError, having written nothing, on any problem."""
    name = str(path)
    converter = Converter(name, target, source)
    with jsonlfile.opened(name) as reader:
        if out is not None:
            _check_output(path, out)
            _write_beside(out, lambda writer: _stream(reader, writer, converter))
        else:
            with tempfile.TemporaryFile(prefix="dsc-convert-") as scratch:
                try:
                    _stream(reader, scratch, converter)
                except OSError as exc:
                    raise fail(
                        Location(""),
                        f"cannot write a temporary file: {exc.strerror}",
                        "free space in the temporary folder (TMPDIR), or write with -o",
                    ) from None
                scratch.seek(0)
                shutil.copyfileobj(scratch, stdout, _BUFFER)
                stdout.flush()
    return Converted(converter.rows, converter.source)


def _stream(reader: BinaryIO, writer: BinaryIO, converter: Converter) -> None:
    """Feed every line to converter and write what it makes until the first problem; then
    read on to find the others, writing nothing more. An OSError raised is the writer's."""
    for number, raw in enumerate(jsonlfile.lines(reader, converter.relpath), 1):
        if isinstance(raw, int):
            converter.errors.extend(
                over_limit(converter.relpath, number, raw, jsonlfile.LINE_LIMIT)
            )
            continue
        line = converter.line(number, raw)
        if line and not converter.errors.diagnostics:
            writer.write(line.encode("utf-8"))
        if converter.stopped:
            break
    converter.errors.raise_if_any()


def _build_folder(folder: str) -> str | None:
    """The dsc build folder that is folder or holds it, if any."""
    while not jsonlfile.is_build(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    return folder


def _check_output(path: Path, out: Path) -> None:
    """Refuse an output that is a folder, in no folder, the input itself or inside a build."""
    where = Location(str(out))
    if out.is_dir():
        raise fail(where, f"output path {str(out)!r} is a folder", "name a file")
    parent = os.path.realpath(out.parent)
    if not os.path.isdir(parent):
        raise fail(
            where, f"the output's folder does not exist: {out.parent}", "create the folder first"
        )
    if out.exists() and os.path.samefile(out, path):
        raise fail(
            where,
            "the output is the input file",
            "write to another file: dsc convert never replaces its input",
        )
    build = _build_folder(parent)
    if build is not None:
        raise fail(
            where,
            f"the output is inside the dsc build folder {os.path.basename(build)}/",
            "every build replaces that folder, and dsc check refuses files it did not write: "
            "write the converted file elsewhere",
        )


def _file_mode(out: Path) -> int:
    """The mode of the file written: that of the file it replaces, or what the umask allows."""
    with contextlib.suppress(OSError):
        return os.stat(out).st_mode & 0o777
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _write_beside(out: Path, work: Callable[[BinaryIO], None]) -> None:
    """Run work on a temporary file beside out, then rename it to out; on any error or
    interrupt remove it, leaving out as it was."""
    try:
        fd, scratch = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise _unwritable(out, exc) from None
    try:
        with os.fdopen(fd, "wb", buffering=_BUFFER) as writer:
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
