"""EDGE: dsc convert's files: read the input a line at a time, convert into a temporary file,
then rename it into place (outfile.py) or copy it to standard output, so nothing is written
on error.

Memory is bounded by the longest line (jsonlfile.LINE_LIMIT) and the messages kept
(convert.ERROR_LIMIT), never by the length of the file: a line is converted and written before
the next is read.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from compiler import files, jsonlfile, outfile
from compiler.convert import Converter
from compiler.errors import Location, fail
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
            outfile.check_output(out, [name], "dsc convert", "the converted file")
            outfile.write_beside(out, lambda writer: _stream(reader, writer, converter))
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
