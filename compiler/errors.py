"""Positions in spec files and the one user-facing error type."""

from __future__ import annotations

from dataclasses import dataclass


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

    def render(self) -> str:
        where = str(self.location)
        text = f"{where}: error: {self.message}" if where else f"error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
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

    def extend(self, error: CompileError) -> None:
        self.extend_all(error.diagnostics, error.more)

    def extend_all(self, diagnostics: list[Diagnostic], more: int = 0) -> None:
        room = max(self.limit - len(self.diagnostics), 0)
        self.diagnostics.extend(diagnostics[:room])
        self.more += max(len(diagnostics) - room, 0) + more

    def raise_if_any(self) -> None:
        if self.diagnostics:
            raise CompileError(self.diagnostics, self.more)
