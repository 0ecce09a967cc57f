"""Turn PyYAML's syntax errors into messages that say where and what was expected (pure)."""

from __future__ import annotations

import re
from collections import Counter

import yaml

from compiler.errors import CompileError, Location, fail

_TOKEN_NAMES = {
    "<stream end>": "the end of the file",
    "<block end>": "the end of the indented block",
    "<block mapping start>": "a more indented mapping",
    "<block sequence start>": "a more indented list",
    "<block entry>": "a list item '-'",
    "<scalar>": "a value",
    "<key>": "a key",
}


def syntax_error(relpath: str, text: str, exc: yaml.MarkedYAMLError) -> CompileError:
    """A YAML syntax error at the place a person would fix it, with a hint where one helps."""
    problem = exc.problem or exc.context or "invalid YAML"
    for token, words in _TOKEN_NAMES.items():
        problem = problem.replace(f"'{token}'", words).replace(token, words)
    mark = exc.problem_mark or exc.context_mark
    context, opened = exc.context or "", exc.context_mark
    hint = ""
    if context == "expected a single document in the stream" and mark is not None:
        return fail(
            Location(relpath, mark.line + 1, mark.column + 1),
            "file holds more than one YAML document",
            "remove the '---' separator: one file is one document",
        )
    if context == "while scanning a quoted scalar" and opened is not None:
        quote = text[opened.index] if opened.index < len(text) else '"'
        mark, problem, hint = (
            opened,
            "the string quoted here is never closed",
            (f"add the closing {quote}"),
        )
    elif "'\\t'" in problem:
        problem = "a tab character cannot start a token here"
        hint = "indent with spaces, not tabs"
    elif mark is not None and (slip := _template_in_line(relpath, text, mark)) is not None:
        return slip
    elif (runaway := _runaway_quote(text, mark)) is not None:
        hint = f"add the closing {runaway.style} on line {runaway.start_mark.line + 1}"
        problem = (
            f"the string quoted here runs on to line {runaway.end_mark.line + 1}, "
            "where parsing fails"
        )
        mark = runaway.start_mark
    elif mark is not None and (misplaced := _misindented(text, mark, problem)) is not None:
        line, column, problem, hint = misplaced
        return fail(Location(relpath, line, column), f"invalid YAML: {problem}", hint)
    elif context.startswith("while parsing a flow") and opened is not None:
        bracket = text[opened.index] if opened.index < len(text) else "["
        closing = {"[": "]", "{": "}"}.get(bracket, "]")
        if "the end of the file" in problem:
            mark, problem = opened, f"this '{bracket}' is never closed"
            hint = f"add the closing '{closing}'"
        else:
            hint = (
                f"inside the '{bracket}' opened at line {opened.line + 1}, column "
                f"{opened.column + 1}: separate items with ',' and close it with '{closing}'"
            )
    elif context.startswith("while parsing a block") and opened is not None:
        kind = "mapping" if "mapping" in context else "list"
        hint = (
            f"check the indentation of this line against the lines above it (the {kind} "
            f"it belongs to starts at line {opened.line + 1}, column {opened.column + 1})"
        )
    elif "escape" in problem:
        hint = "in double quotes write a backslash as \\\\, or use single quotes"
    elif "mapping values are not allowed" in problem:
        problem = "a ': ' cannot appear in an unquoted value here"
        hint = "quote the value if it contains ': ', or check the indentation of the line"
    if mark is None:
        return fail(Location(relpath, 1, 1), f"invalid YAML: {problem}", hint)
    return fail(Location(relpath, mark.line + 1, mark.column + 1), f"invalid YAML: {problem}", hint)


def _runaway_quote(text: str, mark: yaml.Mark | None) -> yaml.ScalarToken | None:
    """The quoted string just before a parse error when it spans lines: likely an unclosed quote."""
    if mark is None:
        return None
    last = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= mark.index:
                break
            last = token
    except yaml.YAMLError:
        pass
    if (
        isinstance(last, yaml.ScalarToken)
        and last.style in ('"', "'")
        and last.end_mark.line > last.start_mark.line
    ):
        return last
    return None


# YAML's line breaks, as PyYAML counts lines (yamldoc refuses NEL, U+2028 and U+2029 first).
_LINE_BREAK = re.compile("\r\n|\r|\n")


def _lines(text: str) -> list[str]:
    return _LINE_BREAK.split(text)


def _significant(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _columns(line: str) -> list[int]:
    """The 0-based columns a line's block structure starts at: each list dash, then the content."""
    columns = []
    column = len(line) - len(line.lstrip(" "))
    while line.startswith("-", column) and line[column + 1 : column + 2] in ("", " "):
        columns.append(column)
        column += 1 + len(line[column + 1 :]) - len(line[column + 1 :].lstrip(" "))
    return [*columns, column]


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"


def _aligned(
    line: int, indent: int, siblings: int, where: str, sibling_line: int
) -> tuple[int, int, str, str]:
    """The place (1-based) and words for a line indented by `indent` among `siblings`."""
    return (
        line + 1,
        indent + 1,
        f"this line is indented by {_spaces(indent)}, its siblings {where} it by {siblings}",
        f"align it with its siblings: indent it by {_spaces(siblings)}, as on line "
        f"{sibling_line + 1}",
    )


def _misindented(text: str, mark: yaml.Mark, problem: str) -> tuple[int, int, str, str] | None:
    """(line, column, problem, hint) for a block line indented out of step with its siblings.

    PyYAML stops where the indentation stops making sense, which is the culprit itself when a
    line is indented less than the lines above it, but the line after the culprit when the
    first line of a block is indented less than those below it (the lines below then read as
    the continuation of its value, or as a mapping nested in it).
    """
    lines = _lines(text)
    if mark.line >= len(lines) or not (
        problem.startswith("expected the end of the indented block")
        or problem.startswith("mapping values are not allowed")
    ):
        return None
    indent = len(lines[mark.line]) - len(lines[mark.line].lstrip(" "))
    if problem.startswith("expected") and mark.column != indent:
        return None
    siblings, sibling_line = None, 0
    above = [n for n in range(mark.line - 1, -1, -1) if _significant(lines[n])]
    for number in above:
        columns = _columns(lines[number])
        deeper = [column for column in columns if column > indent]
        if deeper and (siblings is None or min(deeper) < siblings):
            siblings, sibling_line = min(deeper), number
        if len(deeper) < len(columns):
            break
    if siblings is not None and problem.startswith("expected"):
        return _aligned(mark.line, indent, siblings, "above", sibling_line)
    return _first_dedented(lines, mark.line, indent, above)


def _first_dedented(
    lines: list[str], stopped: int, indent: int, above: list[int]
) -> tuple[int, int, str, str] | None:
    """The first line of a block, `key: value`, indented less than the line YAML stopped at
    and its siblings below.

    above: the significant lines above the one YAML stopped at, nearest first.
    """
    if len(above) < 2 or len(_columns(lines[stopped])) > 1:
        return None
    first, opener = above[0], above[1]
    first_columns = _columns(lines[first])
    start = first_columns[-1]
    opened = lines[opener].split(" #")[0].rstrip()
    parent = _columns(lines[opener])[-1]
    if (
        len(first_columns) > 1
        or not parent <= start < indent
        or not opened.endswith(":")
        or not re.match(r"[^\s#:][^#]*?:\s+\S", lines[first][start:])
    ):
        return None
    below = 0
    for line in lines[stopped + 1 :]:
        if _significant(line):
            column = len(line) - len(line.lstrip(" "))
            if column < indent:
                break
            below += column == indent
    if not below and indent - parent != _usual_step(lines[:first]):
        return None  # as likely the line below is indented too far: PyYAML's place stands
    return _aligned(first, start, indent, "below", stopped)


def _usual_step(lines: list[str]) -> int:
    """The indentation step the lines use most (2 when they never indent)."""
    steps: Counter[int] = Counter()
    previous = None
    for line in lines:
        if _significant(line):
            column = len(line) - len(line.lstrip(" "))
            if previous is not None and column > previous:
                steps[column - previous] += 1
            previous = column
    return max(steps, key=lambda step: (steps[step], -step)) if steps else 2


# Where an unquoted value may start: after a key's ': ', a list dash, or in a flow list.
_VALUE_PREFIX = re.compile(r"\s*(?:-\s+)*(?:(?P<key>[^\s#'\"{\[\]},-][^#'\"{}]*?):\s+)?|.*[\[,]\s*")


def template_slip(
    relpath: str, line_text: str, line: int, column: int, template: str, key: bool = False
) -> CompileError:
    """An unquoted `{{ … }}` that YAML read as a flow mapping, at its first brace (0-based)."""
    first = _shortened(template[: template.find("}}") + 2] if "}}" in template else template)
    quoted = _quoted(_shortened(template))
    prefix = _VALUE_PREFIX.fullmatch(line_text[:column])
    if key:
        what, hint = (
            "the unquoted key",
            f"a key is a plain name; quote it if it is meant as text: {quoted}:",
        )
    else:
        what = "the unquoted"
        name = prefix.group("key") if prefix else None
        written = f"{name}: " if name else "- " if line_text[:column].strip() == "-" else ""
        hint = f"quote the template: {written}{quoted}"
    return fail(
        Location(relpath, line, column + 1),
        f"YAML reads {what} {first} as a mapping, not as a template",
        hint,
    )


def _shortened(text: str) -> str:
    return text if len(text) <= 60 else text[:40] + "…"


def _quoted(text: str) -> str:
    if '"' in text and "'" not in text:
        return f"'{text}'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _template_in_line(relpath: str, text: str, mark: yaml.Mark) -> CompileError | None:
    """A syntax error after an unquoted value that starts with '{{' on the same line."""
    lines = _lines(text)
    if mark.line >= len(lines):
        return None
    line = lines[mark.line]
    for found in re.finditer(r"\{\{", line[: mark.column]):
        before = line[: found.start()]
        if _VALUE_PREFIX.fullmatch(before) and not any(quote in before for quote in "\"'"):
            return template_slip(
                relpath, line, mark.line + 1, found.start(), line[found.start() :].rstrip()
            )
    return None
