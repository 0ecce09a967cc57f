"""Positions in spec files and the one user-facing error type."""

from __future__ import annotations

import re
from dataclasses import dataclass

# What a message must not carry to a terminal or a CI log as it is: control characters
# (an escape sequence redraws the terminal; a line break starts a line that GitHub Actions
# would read as a command, `::error::…`), line and paragraph separators, bidirectional
# overrides (which reorder what is shown), lone surrogates. Project text reaches messages
# (keys, paths, values), so every diagnostic shows these as escapes.
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def showable(text: str, keep: str = "") -> str:
    """text with every character that could act on a terminal or a log written as an escape,
    except those in keep (a tab in a record's text shown by dsc diff)."""
    if keep:
        return _UNSHOWABLE.sub(lambda m: m.group() if m.group() in keep else _escape(m), text)
    return _UNSHOWABLE.sub(_escape, text)


@dataclass(frozen=True, order=True)
class Location:
    """A place in a project file; line and column are 1-based, 0 when unknown."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Diagnostic:
    """One problem: where, what, and how to fix it."""

    location: Location
    message: str
    hint: str = ""
    severity: str = "error"  # or "warning": dsc validate's quality guidelines

    def render(self) -> str:
        where, message = showable(str(self.location)), showable(self.message)
        severity = self.severity
        text = f"{where}: {severity}: {message}" if where else f"{severity}: {message}"
        if self.hint:
            text += f"\n  hint: {showable(self.hint)}"
        return text

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        return (loc.file, loc.line, loc.column, self.message)


class CompileError(Exception):
    """A user mistake in the project: one or more diagnostics, sorted by position.

    `more` counts the diagnostics found beyond those kept (Collector's limit).
    """

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic, more: int = 0) -> None:
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        unique = {d.render(): d for d in diagnostics}
        self.diagnostics = sorted(unique.values(), key=Diagnostic.sort_key)
        self.more = more
        super().__init__(self.render())

    def __reduce__(self) -> tuple[type[CompileError], tuple[list[Diagnostic], int]]:
        # Exception pickles self.args (the rendered text), which __init__ cannot take back:
        # an error crossing a process boundary must arrive as itself.
        return (type(self), (self.diagnostics, self.more))

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


def fail(location: Location, message: str, hint: str = "") -> CompileError:
    """Build a CompileError for one diagnostic (raise the result)."""
    return CompileError(Diagnostic(location, message, hint))


class Collector:
    """Gathers the diagnostics of one stage so that all of them are reported together.

    The first `limit` are kept (a million bad records must not make a million messages);
    the others are counted in `more`, so that the count shown to the user is the true one.
    """

    def __init__(self, limit: int = 200) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.limit = limit
        self.more = 0

    def add(self, location: Location, message: str, hint: str = "") -> None:
        self.extend_all([Diagnostic(location, message, hint)])

    def first_definition(
        self, seen: dict[str, Location], name: str, location: Location, what: str, hint: str
    ) -> bool:
        """True for the first definition of name, which seen then remembers; a later one is
        reported as a duplicate `what`, saying where the first is (a line of the same file, or
        the place in another)."""
        first = seen.get(name)
        if first is None:
            seen[name] = location
            return True
        at = f"line {first.line}" if first.file == location.file else str(first)
        self.add(location, f"duplicate {what} (first defined at {at})", hint)
        return False

    def extend(self, error: CompileError) -> None:
        self.extend_all(error.diagnostics, error.more)

    def extend_all(self, diagnostics: list[Diagnostic], more: int = 0) -> None:
        room = max(self.limit - len(self.diagnostics), 0)
        self.diagnostics.extend(diagnostics[:room])
        self.more += max(len(diagnostics) - room, 0) + more

    def raise_if_any(self) -> None:
        if self.diagnostics:
            raise CompileError(self.diagnostics, self.more)
