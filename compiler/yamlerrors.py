"""Turn PyYAML's syntax errors into messages that say where and what was expected (pure)."""

from __future__ import annotations

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
    elif (runaway := _runaway_quote(text, mark)) is not None:
        hint = f"add the closing {runaway.style} on line {runaway.start_mark.line + 1}"
        problem = (
            f"the string quoted here runs on to line {runaway.end_mark.line + 1}, "
            "where parsing fails"
        )
        mark = runaway.start_mark
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
