"""dsc convert's rows: a JSONL line of alpaca, sharegpt or messages as a line of another (pure).

The rows are the build's own (formats.py): the user turn of an alpaca row is formats.user_turn,
sharegpt's roles are formats.SHAREGPT_ROLES, and a row's `id` comes first and its `metadata`
last. Every other key of a row is kept as it is, between the format's columns and metadata.
A conversation is an optional system turn, then user and assistant turns in turn, ending with
the assistant's; alpaca holds one exchange of it. One line at a time, so that a reader may
stream a file of any length through `Converter` in the memory of its longest line.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from compiler.errors import Collector, CompileError, Location
from compiler.formats import SHAREGPT_ROLES, user_turn
from compiler.jsonl import Problem, kind, line_value, refused
from compiler.text import shown

ALPACA, SHAREGPT, MESSAGES = "alpaca", "sharegpt", "messages"
CONVERT_FORMATS = (ALPACA, SHAREGPT, MESSAGES)
ERROR_LIMIT = 200  # located messages kept; the others are counted

# The keys of a chat format: the list of turns, a turn's role and its text.
_CHAT = {SHAREGPT: ("conversations", "from", "value"), MESSAGES: ("messages", "role", "content")}
# Roles by their messages names, in each chat format's own words.
_ROLE_NAMES = {MESSAGES: {role: role for role in SHAREGPT_ROLES}, SHAREGPT: SHAREGPT_ROLES}
_ALPACA_TEXT = ("instruction", "input", "output", "system")
# The columns each format reads and writes; every other key of a row is kept as it is.
_COLUMNS = {
    ALPACA: (*_ALPACA_TEXT, "history"),
    SHAREGPT: ("conversations",),
    MESSAGES: ("messages",),
}
_TELLS = {ALPACA: ("instruction", "output"), SHAREGPT: ("conversations",), MESSAGES: ("messages",)}
_SHAPES = {
    ALPACA: 'an alpaca row holds "instruction" and "output", and may hold "input" and "system"',
    SHAREGPT: 'a sharegpt row holds "conversations": [{"from": …, "value": …}, …]',
    MESSAGES: 'a messages row holds "messages": [{"role": …, "content": …}, …]',
}
_TURN_SHAPES = {SHAREGPT: '{"from": …, "value": …}', MESSAGES: '{"role": …, "content": …}'}
_NEEDS_BOTH = "a conversation needs a user turn and the assistant's answer"
_HISTORY = 'history holds the earlier exchanges as [user, assistant] pairs: [["Hi?", "Hello."]]'

Turn = tuple[str, str, dict[str, Any]]  # role (messages' name), text, the turn's other keys


def detect(row: dict[str, Any]) -> str:
    """The format of a row, told by its keys."""
    found = [name for name in CONVERT_FORMATS if any(key in row for key in _TELLS[name])]
    if len(found) == 1:
        return found[0]
    if not found:
        raise Problem(
            "cannot tell the format of the row: it has none of the keys instruction, output, "
            "conversations, messages",
            "an alpaca row holds instruction and output, a sharegpt row conversations, a "
            "messages row messages",
        )
    raise Problem(
        f"the row has the keys of more than one format ({', '.join(found)})",
        "give --from FORMAT to say which format the file is in",
    )


def _text(row: dict[str, Any], key: str, at: str) -> str:
    value = row[key]
    if not isinstance(value, str):
        raise Problem(f"{at} is {kind(value)}, not a string", "write the text as a JSON string")
    return value


def _read_alpaca(row: dict[str, Any], told: str) -> list[Turn]:
    for key in ("instruction", "output"):
        if key not in row:
            raise Problem(f"row has no key {key!r}", _SHAPES[ALPACA] + told)
    text = {key: _text(row, key, key) for key in _ALPACA_TEXT if key in row}
    if not text["instruction"]:
        raise Problem("instruction is empty", "every row needs a prompt")
    if not text["output"]:
        raise Problem("output is empty", "every row needs an answer")
    system = text.get("system", "")
    return [
        *([("system", system, {})] if system else []),
        *read_history(row.get("history", [])),
        ("user", user_turn(text["instruction"], text.get("input", "")), {}),
        ("assistant", text["output"], {}),
    ]


def read_history(history: Any) -> list[Turn]:
    """LLaMA-Factory's `history`: the earlier exchanges, [user, assistant] pairs in order, as
    turns (dsc convert reads it, and dsc validate with it: one rule for both)."""
    if not isinstance(history, list):
        raise Problem(f"history is {kind(history)}, not a list", _HISTORY)
    turns: list[Turn] = []
    for i, pair in enumerate(history):
        if not (isinstance(pair, list) and len(pair) == 2):
            what = f"a list of {len(pair)}" if isinstance(pair, list) else kind(pair)
            raise Problem(f"history[{i}] is {what}, not a pair", _HISTORY)
        for j, role in enumerate(("user", "assistant")):
            at = f"history[{i}][{j}]"
            turn = _text({"turn": pair[j]}, "turn", at)
            if not turn:
                raise Problem(f"{at} is empty", "every turn needs its text")
            turns.append((role, turn, {}))
    return turns


def _suggest(role: str, fmt: str) -> str:
    """The role of format fmt that role was likely meant as ('' when none is close)."""
    names = _ROLE_NAMES[fmt]
    other = _ROLE_NAMES[SHAREGPT if fmt == MESSAGES else MESSAGES]
    for meant, name in other.items():
        if role.lower() in (name, meant):
            return names[meant]
    close = difflib.get_close_matches(role.lower(), names.values(), n=1, cutoff=0.6)
    return close[0] if close else ""


def _roles(fmt: str) -> str:
    system, user, assistant = _ROLE_NAMES[fmt].values()
    return f"the roles of {fmt} are {system}, {user} and {assistant}"


def read_turn(turn: Any, at: str, fmt: str) -> Turn:
    _, role_key, text_key = _CHAT[fmt]
    names = _ROLE_NAMES[fmt]
    if not isinstance(turn, dict):
        raise Problem(f"{at} is {kind(turn)}, not an object", f"a turn is {_TURN_SHAPES[fmt]}")
    for key in (role_key, text_key):
        if key not in turn:
            raise Problem(f"{at} has no key {key!r}", f"a turn is {_TURN_SHAPES[fmt]}")
    name = turn[role_key]
    if not isinstance(name, str):
        raise Problem(f"{at}.{role_key} is {kind(name)}, not a string", _roles(fmt))
    roles = {value: role for role, value in names.items()}
    if name not in roles:
        meant = _suggest(name, fmt)
        raise Problem(
            f"{at}.{role_key} {shown(name)} is not a role of {fmt}",
            (f"did you mean {meant!r}? " if meant else "") + _roles(fmt),
        )
    text = turn[text_key]
    if not isinstance(text, str):
        raise Problem(
            f"{at}.{text_key} is {kind(text)}, not a string",
            "dsc convert takes turns of text: write the text as one JSON string",
        )
    if not text:
        raise Problem(f"{at}.{text_key} is empty", "every turn needs its text")
    return roles[name], text, {k: v for k, v in turn.items() if k not in (role_key, text_key)}


def _article(name: str) -> str:
    return "an" if name == "assistant" else "a"


def read_chat(row: dict[str, Any], fmt: str, told: str) -> list[Turn]:
    key = _CHAT[fmt][0]
    if key not in row:
        raise Problem(f"row has no key {key!r}", _SHAPES[fmt] + told)
    turns = row[key]
    if not isinstance(turns, list):
        raise Problem(f"{key} is {kind(turns)}, not a list", _SHAPES[fmt])
    if not turns:
        raise Problem(f"{key} is empty", _NEEDS_BOTH)
    return read_conversation([(f"{key}[{i}]", turn) for i, turn in enumerate(turns)], fmt, key)


def read_conversation(turns: list[tuple[str, Any]], fmt: str, key: str) -> list[Turn]:
    """The turns of one conversation in chat format fmt, each named where it stands (at), as
    the optional system turn, then user and assistant turns in turn, ending with the
    assistant's; key names the whole in messages."""
    read = [read_turn(turn, at, fmt) for at, turn in turns]
    names = _ROLE_NAMES[fmt]
    start = 1 if read[0][0] == "system" else 0
    if start == len(read):
        raise Problem(f"{key} holds only a system turn", _NEEDS_BOTH)
    for i in range(start, len(read)):
        role, expected = read[i][0], ("user", "assistant")[(i - start) % 2]
        if role == "system":
            raise Problem(
                f"{turns[i][0]} is a system turn after the first turn",
                "a system turn may only open the conversation",
            )
        if role != expected:
            found, meant = names[role], names[expected]
            raise Problem(
                f"{turns[i][0]} is {_article(found)} {found} turn where {_article(meant)} {meant} "
                "turn should be",
                f"turns alternate {names['user']}, {names['assistant']}, {names['user']}, …, "
                "after an optional system turn",
            )
    if read[-1][0] == "user":
        raise Problem(
            f"{key} ends with {_article(names['user'])} {names['user']} turn, without an answer",
            "add the assistant's answer, or remove the last turn",
        )
    return read


def _alpaca_columns(turns: list[Turn], source: str) -> dict[str, Any]:
    key = _CHAT[source][0]
    system = turns[0][1] if turns[0][0] == "system" else None
    for i, (_, _, extra) in enumerate(turns):
        if extra:
            raise Problem(
                f"{key}[{i}] has the key {next(iter(extra))!r}, which an alpaca row cannot hold",
                "remove it, or convert the file to messages or sharegpt, which keep it",
            )
    user, answer = turns[-2][1], turns[-1][1]
    columns: dict[str, Any] = {"instruction": user, "input": "", "output": answer}
    if system is not None:
        columns["system"] = system
    earlier = turns[system is not None : -2]
    if earlier:
        columns["history"] = [[earlier[i][1], earlier[i + 1][1]] for i in range(0, len(earlier), 2)]
    return columns


def _chat_columns(turns: list[Turn], target: str) -> dict[str, Any]:
    key, role_key, text_key = _CHAT[target]
    names = _ROLE_NAMES[target]
    return {key: [{role_key: names[role], text_key: text, **extra} for role, text, extra in turns]}


def convert_row(row: dict[str, Any], source: str, target: str, told: str = "") -> dict[str, Any]:
    """row, in format source, as a row of format target: id first, the format's columns, the
    row's other keys as they are, metadata last. told says where the source format came from."""
    turns = _read_alpaca(row, told) if source == ALPACA else read_chat(row, source, told)
    columns = _alpaca_columns(turns, source) if target == ALPACA else _chat_columns(turns, target)
    others = {key: value for key, value in row.items() if key not in _COLUMNS[source]}
    for key in others:
        if key in _COLUMNS[target]:
            raise Problem(
                f"the row has the key {key!r}, which the {target} format writes",
                "rename or remove it: dsc convert keeps the other keys of a row as they are",
            )
    converted = {"id": others.pop("id")} if "id" in others else {}
    metadata = {"metadata": others.pop("metadata")} if "metadata" in others else {}
    return {**converted, **columns, **others, **metadata}


class Converter:
    """The rows of one input file, fed a line at a time; problems are gathered with their line
    and column, so that a whole file is checked before anything of it is kept."""

    def __init__(self, relpath: str, target: str, source: str | None = None) -> None:
        self.relpath, self.target, self.source = relpath, target, source
        self.told = f" (--from {source})" if source else ""
        self.errors = Collector(ERROR_LIMIT)
        self.rows = 0
        self.stopped = False  # the format could not be told: the rest of the file is not read

    def add(self, line: int, column: int, message: str, hint: str) -> None:
        self.errors.add(Location(self.relpath, line, column), message, hint)

    def line(self, number: int, raw: bytes) -> str:
        """The JSON line of one input line (without its line break); "" when the line is blank
        or wrong, its problem gathered in errors."""
        try:
            found = line_value(self.relpath, number, raw)
        except CompileError as exc:
            self.errors.extend(exc)
            return ""
        if found is None:
            return ""
        text, row = found
        try:
            return self._convert(number, row, text)
        except Problem as problem:
            self.add(number, 1, problem.message, problem.hint)
            return ""

    def _convert(self, number: int, row: Any, text: str) -> str:
        if not isinstance(row, dict):
            raise Problem(
                f"expected a JSON object (a row), found {kind(row)}",
                "each line of a .jsonl file is one row, a JSON object: "
                '{"instruction": …, "output": …}, {"conversations": […]} or {"messages": […]}',
            )
        problem = refused(row, text)
        if problem is not None:
            raise problem
        if self.source is None:
            self.stopped = True  # until the row tells its format
            self.source = detect(row)
            if self.source == self.target:
                raise Problem(
                    f"the file is already in the {self.target} format",
                    "nothing to convert: --to names the format it is in",
                )
            self.told = f" (the file's format, told by line {number})"
            self.stopped = False
        converted = convert_row(row, self.source, self.target, self.told)
        self.rows += 1
        return json.dumps(converted, ensure_ascii=False, allow_nan=False) + "\n"
