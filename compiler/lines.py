"""A record's JSON lines in every output format at once, each text quoted once (pure).

formats.py defines the rows (formats.rows, formats.alpaca_line) and json.dumps writes them;
this module writes the same bytes without building the rows: the record's id, texts and
metadata are quoted once per record and the lines of every format are joined from those
quoted fragments (tests/test_lines.py holds it equal to the definition on every record the
strategies make). A record whose metadata holds anything but strings and nulls takes the
definition's path.
"""

from __future__ import annotations

from collections.abc import Callable

from compiler.encode import alpaca_json, metadata_json
from compiler.encode import quote as _quote
from compiler.formats import (
    ALPACA,
    SHAREGPT_ROLES,
    ChatTemplate,
    chat_text,
    encoder,
    prompt_messages,
    takes,
    user_turn,
)
from compiler.model import Record

_LABEL = {True: "true", False: "false"}


def _row(qid: str, columns: str, qmeta: str) -> str:
    return f'{{"id": {qid}, {columns}, "metadata": {qmeta}}}\n'


class _Quoted:
    """One record's quoted fragments, each made the first time a format asks for it."""

    __slots__ = ("_answer", "_messages", "_output", "_rejected", "_turn", "record")

    def __init__(self, record: Record) -> None:
        self.record = record
        self._turn: str | None = None
        self._output: str | None = None
        self._messages: list[tuple[str, str]] | None = None
        self._answer: str | None = None
        self._rejected: str | None = None

    def turn(self) -> str:
        """The user turn (formats.user_turn), quoted."""
        if self._turn is None:
            record = self.record
            self._turn = _quote(user_turn(record.instruction, record.input))
        return self._turn

    def prompt(self) -> str:
        """The plain prompt, the turn and a line break, quoted: the turn's quotes with \\n
        before the closing one, as json.dumps(turn + "\\n") writes it."""
        return self.turn()[:-1] + '\\n"'

    def output(self) -> str:
        if self._output is None:
            self._output = _quote(self.record.output)
        return self._output

    def rejected(self) -> str:
        if self._rejected is None:
            self._rejected = _quote(self.record.rejected)
        return self._rejected

    def messages(self) -> list[tuple[str, str]]:
        """The prompt's messages (formats.prompt_messages): (role, quoted content) pairs."""
        if self._messages is None:
            record = self.record
            system = [("system", _quote(record.system))] if record.system else []
            earlier = [
                turn
                for user, answer in record.history
                for turn in (("user", _quote(user)), ("assistant", _quote(answer)))
            ]
            self._messages = [*system, *earlier, ("user", self.turn())]
        return self._messages

    def chat(self) -> str:
        """The prompt's messages as a JSON list."""
        return "[" + ", ".join(_message(role, content) for role, content in self.messages()) + "]"

    def answer(self) -> str:
        """[{"role": "assistant", "content": output}]"""
        if self._answer is None:
            self._answer = f"[{_message('assistant', self.output())}]"
        return self._answer


def _message(role: str, quoted: str) -> str:
    return f'{{"role": "{role}", "content": {quoted}}}'


def _sharegpt(role: str, quoted: str) -> str:
    return f'{{"from": "{SHAREGPT_ROLES[role]}", "value": {quoted}}}'


Columns = Callable[[_Quoted, Record], str]
Lines = Callable[[_Quoted, Record, str, str], str]  # (fragments, record, id, metadata) -> rows


def _alpaca(with_system: bool, with_history: bool) -> Lines:
    def extra(record: Record) -> str:
        text = ""
        if with_system:
            text += f', "system": {_quote(record.system)}'
        if with_history:
            turns = ", ".join(f"[{_quote(u)}, {_quote(a)}]" for u, a in record.history)
            text += f', "history": [{turns}]'
        return text

    def alpaca(q: _Quoted, record: Record, qid: str, qmeta: str) -> str:
        if record.label is False:
            return ""
        more = extra(record) if with_system or with_history else ""
        return alpaca_json(qid, record, q.output(), more, qmeta)

    return alpaca


def _sft(name: str, chat_template: ChatTemplate) -> Columns | None:
    if name == "messages":
        return lambda q, r: f'"messages": {q.chat()[:-1]}, {_message("assistant", q.output())}]'
    if name == "sharegpt":
        return lambda q, r: (
            f'"conversations": [{", ".join(_sharegpt(*m) for m in q.messages())}, '
            f"{_sharegpt('assistant', q.output())}]"
        )
    if name == "prompt_completion":
        return lambda q, r: f'"prompt": {q.prompt()}, "completion": {q.output()}'
    if name == "prompt_completion_chat":
        return lambda q, r: f'"prompt": {q.chat()}, "completion": {q.answer()}'
    if name == "preference":
        return lambda q, r: (
            f'"prompt": {q.prompt()}, "chosen": {q.output()}, "rejected": {q.rejected()}'
        )
    if name == "preference_chat":
        return lambda q, r: (
            f'"prompt": {q.chat()}, "chosen": {q.answer()}, '
            f'"rejected": [{_message("assistant", q.rejected())}]'
        )
    if name == "text" and not callable(chat_template):
        template = chat_template

        def text(q: _Quoted, record: Record) -> str:
            messages = prompt_messages(record)
            messages.append({"role": "assistant", "content": record.output})
            return f'"text": {_quote(chat_text(messages, template))}'

        return text
    return None  # the project's own chat template: the definition's path


def _kto(name: str) -> Lines:
    """The KTO rows: two for a pair (chosen, then rejected), else one with the label."""
    chat = name == "kto_chat"

    def rows(q: _Quoted, record: Record, qid: str, qmeta: str) -> str:
        if not takes(name, record):
            return ""
        ask = q.chat() if chat else q.prompt()

        def row(row_id: str, said: str, label: bool) -> str:
            completion = f"[{_message('assistant', said)}]" if chat else said
            columns = f'"prompt": {ask}, "completion": {completion}, "label": {_LABEL[label]}'
            return _row(row_id, columns, qmeta)

        if record.rejected:
            return row(_quote(f"{record.id}.chosen"), q.output(), True) + row(
                _quote(f"{record.id}.rejected"), q.rejected(), False
            )
        return row(qid, q.output(), bool(record.label))

    return rows


def line_maker(
    formats: tuple[str, ...],
    with_system: bool,
    chat_template: ChatTemplate,
    with_history: bool = False,
) -> Callable[[Record], list[str]]:
    """A function from a record to its lines in each format, in the order given; the same
    text as [formats.encoder(name, ...)(record) for name in formats]."""
    general = [encoder(name, with_system, chat_template, with_history) for name in formats]
    if len(formats) == 1 and formats[0] == ALPACA:
        alpaca = general[0]  # one text of each: nothing to share
        return lambda record: [alpaca(record)]
    makers: list[Lines] = []
    for name, encode in zip(formats, general, strict=True):
        if name == ALPACA:
            makers.append(_alpaca(with_system, with_history))
        elif name in ("kto", "kto_chat"):
            makers.append(_kto(name))
        else:
            columns = _sft(name, chat_template)
            makers.append(_by_definition(encode) if columns is None else _framed(name, columns))

    def lines(record: Record) -> list[str]:
        try:
            qid, qmeta = _quote(record.id), metadata_json(record.metadata)
        except TypeError:
            return [encode(record) for encode in general]
        q = _Quoted(record)
        return [make(q, record, qid, qmeta) for make in makers]

    return lines


def _by_definition(encode: Callable[[Record], str]) -> Lines:
    return lambda q, record, qid, qmeta: encode(record)


def _framed(name: str, columns: Columns) -> Lines:
    """One row of the columns between the id and the metadata, when the format takes the record."""

    def row(q: _Quoted, record: Record, qid: str, qmeta: str) -> str:
        return _row(qid, columns(q, record), qmeta) if takes(name, record) else ""

    return row
