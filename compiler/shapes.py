"""Rows of any JSONL file in the build's formats: tell a row's format and read it into the
texts it holds, or say what is wrong with it; for dsc validate and dsc stats (pure).

The formats are exactly the build's (formats.FORMATS, docs/formats.md), so that every row the
build writes reads without a problem; conversations are read by convert's rules (roles, order,
empty turns). docs/validate.md lists the keys that tell each format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from compiler.convert import MESSAGES, SHAREGPT, read_chat, read_conversation, read_history
from compiler.formats import FORMATS
from compiler.jsonl import Problem, kind

# The formats a row may be read as, and the keys that tell them, in the order they are tried.
CHAT_OF = {
    "prompt_completion": "prompt_completion_chat",
    "preference": "preference_chat",
    "kto": "kto_chat",
}
_SHAPES = {
    "alpaca": '{"instruction": …, "input": …, "output": …}',
    "messages": '{"messages": [{"role": …, "content": …}, …]}',
    "sharegpt": '{"conversations": [{"from": …, "value": …}, …]}',
    "prompt_completion": '{"prompt": …, "completion": …}',
    "preference": '{"prompt": …, "chosen": …, "rejected": …}',
    "kto": '{"prompt": …, "completion": …, "label": true|false}',
    "text": '{"text": …}',
}
_ROLE_FIELD = {"system": "system", "user": "user", "assistant": "assistant"}


@dataclass
class Read:
    """What a row holds, in the terms dsc validate and dsc stats measure."""

    texts: list[tuple[str, str]] = field(default_factory=list)  # (field, text): lengths
    asks: list[tuple[str, str]] = field(default_factory=list)  # (where, text): instruction limits
    answers: list[tuple[str, str]] = field(default_factory=list)  # (where, text): output limits
    # The prompt as one string, for prompts repeated with another answer: None where that is
    # the point (preference pairs and KTO rows share prompts) or there is no prompt (text).
    prompt: str | None = None
    answer: str = ""  # the rest of the row's training text, as one string
    label: bool | None = None  # KTO
    pair: tuple[str, str] | None = None  # preference: (chosen, rejected) texts


def _shape(fmt: str) -> str:
    family = fmt.removesuffix("_chat")
    return f"{'an' if family == 'alpaca' else 'a'} {family} row is {_SHAPES[family]}"


def _format_of(row: dict[str, Any]) -> str | None:
    """Which plain family the row's keys tell, or None (raises when they tell several)."""
    found = []
    if "instruction" in row or "output" in row:
        found.append("alpaca")
    if "conversations" in row:
        found.append(SHAREGPT)
    if "messages" in row:
        found.append(MESSAGES)
    if "chosen" in row or "rejected" in row:
        found.append("preference")
    elif "label" in row:
        found.append("kto")
    elif "prompt" in row or "completion" in row:
        found.append("prompt_completion")
    if len(found) > 1:
        raise Problem(
            f"the row has the keys of more than one format ({', '.join(found)})",
            "give --format FORMAT to say which format the file is in",
        )
    if found:
        return found[0]
    return "text" if "text" in row else None


def detect(row: dict[str, Any]) -> str:
    """The format of a row, told by its keys, and for the chat forms by the type of its
    prompt (or, without one, of its chosen or completion): a list of messages."""
    family = _format_of(row)
    if family is None:
        raise Problem(
            "cannot tell the format of the row: it has none of the keys instruction, output, "
            "conversations, messages, prompt, completion, chosen, rejected, label, text",
            "give --format FORMAT, or see docs/validate.md for the keys of each format",
        )
    if family in CHAT_OF:
        told = row.get("prompt", row.get("chosen", row.get("completion")))
        if isinstance(told, list):
            return CHAT_OF[family]
    return family


def _string(row: dict[str, Any], key: str, fmt: str, empty: bool = True) -> str:
    if key not in row:
        raise Problem(f"row has no key {key!r}", _shape(fmt))
    value = row[key]
    if not isinstance(value, str):
        raise Problem(f"{key} is {kind(value)}, not a string", "write the text as a JSON string")
    if not empty and not value:
        raise Problem(f"{key} is empty", "every row needs its prompt")
    return value


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _history(row: dict[str, Any]) -> list[tuple[str, str]]:
    """The [user, answer] pairs of an Alpaca row's history, read as dsc convert reads them."""
    turns = read_history(row.get("history", []))
    return [(user[1], answer[1]) for user, answer in zip(turns[::2], turns[1::2], strict=True)]


def _alpaca(row: dict[str, Any]) -> Read:
    instruction = _string(row, "instruction", "alpaca", empty=False)
    output = _string(row, "output", "alpaca")
    given = row.get("input", "")
    if not isinstance(given, str):
        raise Problem(f"input is {kind(given)}, not a string", 'write "" when there is none')
    system = row.get("system")
    if system is not None and not isinstance(system, str):
        raise Problem(f"system is {kind(system)}, not a string", "write the system prompt")
    history = _history(row)
    texts = [("instruction", instruction), ("input", given), ("output", output)]
    if system is not None:
        texts.append(("system", system))
    return Read(
        texts=texts,
        asks=[("instruction", instruction)],
        answers=[("output", output)],
        prompt=_dump([system or "", history, instruction, given]),
        answer=output,
    )


def _chat(row: dict[str, Any], fmt: str) -> Read:
    key, text_key = ("messages", "content") if fmt == MESSAGES else ("conversations", "value")
    turns = read_chat(row, fmt, "")
    return _turns_read([(f"{key}[{i}].{text_key}", t) for i, t in enumerate(turns)])


def _turns_read(named: list[tuple[str, Any]], answer_from: int | None = None) -> Read:
    """A Read of conversation turns (role, text, extra): answer_from is the index of the first
    turn of the answer (default: the last turn)."""
    start = len(named) - 1 if answer_from is None else answer_from
    read = Read()
    for where, (role, text, _) in named:
        read.texts.append((_ROLE_FIELD[role], text))
        if role == "user":
            read.asks.append((where, text))
        elif role == "assistant":
            read.answers.append((where, text))
    read.prompt = _dump([[role, text] for _, (role, text, _) in named[:start]])
    read.answer = _dump([[role, text] for _, (role, text, _) in named[start:]])
    return read


def _turn_list(row: dict[str, Any], key: str, fmt: str) -> list[tuple[str, Any]]:
    if key not in row:
        raise Problem(f"row has no key {key!r}", _shape(fmt))
    value = row[key]
    if not isinstance(value, list):
        raise Problem(f"{key} is {kind(value)}, not a list", "write a list of messages")
    if not value:
        raise Problem(f"{key} is empty", "a conversation needs a user turn and the answer")
    return [(f"{key}[{i}]", turn) for i, turn in enumerate(value)]


def _chat_answer(row: dict[str, Any], fmt: str, key: str) -> Read:
    """prompt_completion_chat and kto_chat: a prompt of messages, the answer's messages."""
    prompt = _turn_list(row, "prompt", fmt)
    answer = _turn_list(row, key, fmt)
    turns = read_conversation([*prompt, *answer], MESSAGES, f"prompt and {key}")
    if turns[len(prompt)][0] != "assistant":
        raise Problem(
            f"{key}[0] is a user turn where the assistant's answer should be",
            f"the prompt ends with the user's turn, and {key} holds the assistant's answer",
        )
    named = [
        (f"{at}.content", turn) for (at, _), turn in zip([*prompt, *answer], turns, strict=True)
    ]
    return _turns_read(named, len(prompt))


def _label(row: dict[str, Any]) -> bool:
    if "label" not in row:
        raise Problem("row has no key 'label'", _shape("kto"))
    label = row["label"]
    if not isinstance(label, bool):
        raise Problem(
            f"label is {kind(label)}, not a boolean", "true: a desirable answer, false: not"
        )
    return label


def _plain(row: dict[str, Any], fmt: str) -> Read:
    prompt = _string(row, "prompt", fmt, empty=False)
    if fmt == "preference":
        chosen, rejected = (_string(row, key, fmt) for key in ("chosen", "rejected"))
        return Read(
            texts=[("prompt", prompt), ("chosen", chosen), ("rejected", rejected)],
            asks=[("prompt", prompt)],
            answers=[("chosen", chosen), ("rejected", rejected)],
            answer=_dump([prompt, chosen, rejected]),
            pair=(chosen, rejected),
        )
    completion = _string(row, "completion", fmt)
    read = Read(
        texts=[("prompt", prompt), ("completion", completion)],
        asks=[("prompt", prompt)],
        answers=[("completion", completion)],
        prompt=prompt,
        answer=completion,
    )
    if fmt == "kto":
        read.label = _label(row)
        read.prompt, read.answer = None, _dump([prompt, completion, read.label])
    return read


def _preference_chat(row: dict[str, Any]) -> Read:
    fmt = "preference_chat"
    prompt = _turn_list(row, "prompt", fmt) if "prompt" in row else []
    sides: dict[str, list[tuple[str, Any]]] = {}
    for key in ("chosen", "rejected"):
        answer = _turn_list(row, key, fmt)
        turns = read_conversation([*prompt, *answer], MESSAGES, f"prompt and {key}")
        named = [
            (f"{at}.content", turn) for (at, _), turn in zip([*prompt, *answer], turns, strict=True)
        ]
        sides[key] = named
    read = Read()
    for where, (role, text, _) in sides["chosen"][: len(prompt)]:
        read.texts.append((_ROLE_FIELD[role], text))
        if role == "user":
            read.asks.append((where, text))
    for key, named in sides.items():
        for where, (_, text, _) in named[len(prompt) :]:
            read.texts.append((key, text))
            read.answers.append((where, text))
    asked_turns = [[role, text] for _, (role, text, _) in sides["chosen"][: len(prompt)]]
    chosen, rejected = (
        "\n".join(text for _, (_, text, _) in named[len(prompt) :]) for named in sides.values()
    )
    read.answer = _dump([asked_turns, chosen, rejected])
    read.pair = (chosen, rejected)
    return read


def read_row(row: dict[str, Any], fmt: str) -> Read:
    """The texts of a row of format fmt (one of formats.FORMATS); Problem when it is not one."""
    if fmt == "alpaca":
        return _alpaca(row)
    if fmt in (MESSAGES, SHAREGPT):
        return _chat(row, fmt)
    if fmt in ("prompt_completion", "preference", "kto"):
        return _plain(row, fmt)
    if fmt == "prompt_completion_chat":
        return _chat_answer(row, fmt, "completion")
    if fmt == "kto_chat":
        read = _chat_answer(row, fmt, "completion")
        read.label = _label(row)
        read.prompt, read.answer = None, _dump([read.prompt, read.answer, read.label])
        return read
    if fmt == "preference_chat":
        return _preference_chat(row)
    assert fmt == "text" and fmt in FORMATS
    text = _string(row, "text", fmt, empty=False)
    return Read(texts=[("text", text)], answer=text)
