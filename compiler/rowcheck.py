"""dsc validate's checks on the rows of one JSONL file, fed a line at a time (pure).

Errors are what stops a trainer or a loader (bytes, JSON, the format's keys and types, a key
set or type that differs from the earlier rows, ids that repeat); warnings are the quality
guidelines (lengths, empty answers, duplicates, length bias, KTO balance), with limits the
caller chooses. Memory: the messages kept (MESSAGE_LIMIT) and a 16-byte digest per distinct
row, prompt and id (docs/validate.md says what that costs).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from compiler.errors import CompileError, Diagnostic, Location
from compiler.jsonl import Problem, kind, line_value, over_limit, refused
from compiler.shapes import Read, detect, read_row

ERROR, WARNING = "error", "warning"
MESSAGE_LIMIT = 200  # messages of one file that are shown; the others are counted
_ARROW = (
    "Arrow loaders (datasets.load_dataset, pandas with pyarrow) give a file one set of "
    "columns and one type per column"
)


# kind() of the types json makes, looked up (millions of values); kind() for anything else.
_KINDS = {str: "a string", int: "a number", float: "a number", bool: "a boolean"}
_KINDS.update({list: "a list", dict: "an object"})


@dataclass(frozen=True)
class Limits:
    """The quality guidelines' limits (docs/validate.md); lengths in characters."""

    min_instruction: int = 10
    max_instruction: int = 1000
    min_output: int = 20
    max_output: int = 4000
    max_length_bias: int = 60  # percent of pairs whose chosen is longer
    kto_low: int = 40  # percent of desirable rows
    kto_high: int = 60


def length(text: str) -> int:
    """Characters as metadata.json counts them: Unicode code points after NFC."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return len(text)
    return len(unicodedata.normalize("NFC", text))


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _keys(names: list[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


@dataclass
class _Column:
    kind: str  # the first value's kind that is not null
    line: int


@dataclass
class FileCheck:
    """The checks of one file; feed() each line, then finish()."""

    path: str
    limits: Limits = field(default_factory=Limits)
    format: str | None = None  # given (--format) or told by the first row
    rows: int = 0
    errors: int = 0
    warnings: int = 0
    shown: list[Diagnostic] = field(default_factory=list)
    _keys: tuple[frozenset[str], frozenset[str] | None, int] | None = None
    _columns: dict[str, _Column] = field(default_factory=dict)
    _ids: dict[bytes, int] = field(default_factory=dict)
    _rows: dict[bytes, int] = field(default_factory=dict)
    _prompts: dict[bytes, tuple[bytes, int]] = field(default_factory=dict)
    _crlf: bool = False
    _pairs: int = 0
    _longer: int = 0
    _labels: list[int] = field(default_factory=lambda: [0, 0])  # undesirable, desirable

    def _say(self, severity: str, line: int, column: int, message: str, hint: str) -> None:
        if severity == ERROR:
            self.errors += 1
        else:
            self.warnings += 1
        if len(self.shown) < MESSAGE_LIMIT:
            self.shown.append(
                Diagnostic(Location(self.path, line, column), message, hint, severity)
            )

    @property
    def not_shown(self) -> int:
        return self.errors + self.warnings - len(self.shown)

    def refuse(self, error: CompileError) -> None:
        """The file itself cannot be read (missing, not a regular file, a read error)."""
        self._errors(error)

    def feed(self, number: int, raw: bytes | int, limit: int) -> Read | None:
        """Check one line (its bytes without the line break, or the size of a line over the
        limit); the row's texts when it is a row of the file's format."""
        if isinstance(raw, int):
            return self._errors(over_limit(self.path, number, raw, limit))
        if raw.endswith(b"\r") and not self._crlf:
            self._crlf = True
            self._say(
                WARNING,
                number,
                len(raw.decode("utf-8", "replace")),
                "line ends with CR LF, a Windows line end (reported once a file)",
                "loaders read it, but dsc writes LF and diffs show every line changed: "
                "save the file with LF line ends",
            )
        try:
            found = line_value(self.path, number, raw)
        except CompileError as exc:
            return self._errors(exc)
        if found is None:
            return None
        self.rows += 1
        try:
            return self._row(number, *found)
        except Problem as problem:
            self._say(ERROR, number, 1, problem.message, problem.hint)
            return None

    def _errors(self, error: CompileError) -> None:
        for diagnostic in error.diagnostics:
            loc = diagnostic.location
            self._say(ERROR, loc.line, loc.column, diagnostic.message, diagnostic.hint)

    def _row(self, number: int, text: str, row: Any) -> Read:
        if not isinstance(row, dict):
            raise Problem(
                f"expected a JSON object (a row), found {kind(row)}",
                "each line of a .jsonl file is one row, a JSON object",
            )
        problem = refused(row, text)
        if problem is not None:
            raise problem
        if self.format is None:
            self.format = detect(row)  # the first row that tells a format sets the file's
        read = read_row(row, self.format)  # a row of another shape says so, not its columns
        self._consistent(number, row)
        self._unique_id(number, row)
        self._guidelines(number, read)
        return read

    def _consistent(self, number: int, row: dict[str, Any]) -> None:
        """Every row has the first row's keys, and each key one kind of value (or null)."""
        meta = row.get("metadata")
        meta_keys = frozenset(meta) if isinstance(meta, dict) else None
        if self._keys is None:
            self._keys = (frozenset(row), meta_keys, number)
        keys, first_meta, first = self._keys
        for what, have, had in (
            ("keys", frozenset(row), keys),
            ("metadata keys", meta_keys, first_meta),
        ):
            if have is None or had is None or have == had:
                continue
            missing, added = sorted(had - have), sorted(have - had)
            parts = ([f"no {_keys(missing)}"] if missing else []) + (
                [f"{_keys(added)} added"] if added else []
            )
            self._say(
                ERROR,
                number,
                1,
                f"the row's {what} differ from line {first}'s: {'; '.join(parts)}",
                f"{_ARROW}: give every row the same keys (null where there is no value)",
            )
        values = [(key, value) for key, value in row.items()]
        if meta_keys is not None:
            values += [(f"metadata.{key}", value) for key, value in meta.items()]
        for key, value in values:
            if value is None:
                continue
            found = _KINDS.get(type(value)) or kind(value)
            column = self._columns.setdefault(key, _Column(found, number))
            if column.kind != found:
                self._say(
                    ERROR,
                    number,
                    1,
                    f"{key} is {found}, but {column.kind} on line {column.line}",
                    f"{_ARROW}: write {key} as {column.kind} in every row (or null)",
                )

    def _unique_id(self, number: int, row: dict[str, Any]) -> None:
        if "id" not in row:
            return
        key = digest(repr(row["id"]))
        first = self._ids.setdefault(key, number)
        if first != number:
            self._say(
                ERROR,
                number,
                1,
                f"id {row['id']!r} is not unique: line {first} has it too",
                "every row's id names it alone: give each row its own id",
            )

    def _guidelines(self, number: int, read: Read) -> None:
        lim = self.limits
        for where, text in read.asks:
            size = length(text)
            self._length(
                number, where, size, "instruction", lim.min_instruction, lim.max_instruction
            )
        for where, text in read.answers:
            size = length(text)
            if not size:
                self._say(WARNING, number, 1, f"{where} is empty", "every row needs its answer")
            elif not where.startswith("rejected"):  # a rejected answer may be anything
                self._length(number, where, size, "output", lim.min_output, lim.max_output)
        self._duplicates(number, read)
        if read.pair is not None:
            chosen, rejected = read.pair
            self._pairs += 1
            self._longer += length(chosen) > length(rejected)
            if chosen == rejected:
                self._say(
                    WARNING,
                    number,
                    1,
                    "chosen and rejected are the same",
                    "the pair teaches nothing: make rejected the worse answer",
                )
        if read.label is not None:
            self._labels[read.label] += 1

    def _length(self, number: int, where: str, size: int, option: str, low: int, high: int) -> None:
        if size < low:
            said = f"under the minimum of {low}"
        elif size > high:
            said = f"over the maximum of {high}"
        else:
            return
        self._say(
            WARNING,
            number,
            1,
            f"{where} is {_plural(size, 'character')}, {said}",
            f"the quality guidelines ask for {low}–{high} characters "
            f"(--min-{option}, --max-{option})",
        )

    def _duplicates(self, number: int, read: Read) -> None:
        whole = digest(f"{read.prompt}\x00{read.answer}")
        first = self._rows.setdefault(whole, number)
        if first != number:
            self._say(
                WARNING,
                number,
                1,
                f"the row repeats line {first}",
                "a duplicate counts twice in training: remove one",
            )
            return
        if read.prompt is None:
            return
        prompt, answer = digest(read.prompt), digest(read.answer)
        seen = self._prompts.setdefault(prompt, (answer, number))
        if seen[0] != answer:
            self._say(
                WARNING,
                number,
                1,
                f"the prompt of line {seen[1]} again, with a different answer",
                "a model trained on both learns neither: keep one answer, or make the "
                "prompts differ",
            )

    def finish(self) -> None:
        """The file's own warnings, once every line is read: length bias, KTO balance."""
        lim = self.limits
        if self._pairs and self._longer * 100 > lim.max_length_bias * self._pairs:
            self._say(
                WARNING,
                0,
                0,
                f"chosen is longer than rejected in {_share(self._longer, self._pairs)} "
                f"of pairs ({self._longer} of {self._pairs}): a length bias",
                "preference training learns that longer is better: add pairs whose better "
                f"answer is the shorter (limit: --max-length-bias {lim.max_length_bias})",
            )
        undesirable, desirable = self._labels
        total = undesirable + desirable
        if total and not lim.kto_low * total <= desirable * 100 <= lim.kto_high * total:
            self._say(
                WARNING,
                0,
                0,
                f"desirable rows are {_share(desirable, total)} ({desirable} of {total}), "
                f"outside {lim.kto_low}–{lim.kto_high}%",
                "KTO learns best from about as many desirable as undesirable rows: add rows "
                "of the smaller side, or weigh them in the trainer (limits: --kto-share)",
            )

    def summary(self) -> str:
        fmt = f" ({self.format})" if self.format else ""
        more = f" ({self.not_shown} not shown)" if self.not_shown else ""
        return (
            f"{self.path}: {_plural(self.rows, 'row')}{fmt}: {_plural(self.errors, 'error')}, "
            f"{_plural(self.warnings, 'warning')}{more}"
        )

    def document(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "rows": self.rows,
            "errors": self.errors,
            "warnings": self.warnings,
            "messages": [
                {
                    "line": d.location.line,
                    "column": d.location.column,
                    "severity": d.severity,
                    "message": d.message,
                    "hint": d.hint,
                }
                for d in self.shown
            ],
            "not_shown": self.not_shown,
        }


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%"


def validation_document(checks: list[FileCheck]) -> dict[str, Any]:
    """dsc validate --format json: every file's messages and counts, and the totals."""
    return {
        "files": [check.document() for check in checks],
        "rows": sum(check.rows for check in checks),
        "errors": sum(check.errors for check in checks),
        "warnings": sum(check.warnings for check in checks),
    }


def total_summary(checks: list[FileCheck]) -> str:
    """The last line of dsc validate over several files."""
    rows, errors, warnings = (
        sum(getattr(c, key) for c in checks) for key in ("rows", "errors", "warnings")
    )
    return (
        f"{_plural(len(checks), 'file')}, {_plural(rows, 'row')}: {_plural(errors, 'error')}, "
        f"{_plural(warnings, 'warning')}"
    )
