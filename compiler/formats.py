"""The output formats: a record's rows in each format trainers read, from one turn rule (pure).

Every format is a function of the record alone, so that any runner may encode any record, and
a record's split is the same in every format. One rule makes the user turn of every format:
the instruction, then the input on the next line when there is one (LLaMA-Factory's rule for
its alpaca format, so a model trained on alpaca/ sees the same turn as one trained on
messages/). Rows carry the record's id and metadata beside the format's own columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from compiler.encode import encode
from compiler.model import Record, Rule

ALPACA = "alpaca"
# Formats with one row per record an assistant should learn from (label false records are
# left out); preference formats take pairs only; KTO formats take pairs (two rows) and
# labelled records (one row).
SFT_FORMATS = ("messages", "sharegpt", "prompt_completion", "prompt_completion_chat", "text")
PAIR_FORMATS = ("preference", "preference_chat")
KTO_FORMATS = ("kto", "kto_chat")
FORMATS = (ALPACA, *SFT_FORMATS, *PAIR_FORMATS, *KTO_FORMATS)
CHAT_TEMPLATES = ("chatml", "llama3")
# Formats whose prompt is one plain text: no system prompt, no earlier turns.
PLAIN_FORMATS = ("prompt_completion", "preference", "kto")
SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}


def alpaca_extras(rules: Iterable[Rule]) -> tuple[bool, bool]:
    """Whether the Alpaca rows have a `system` and a `history` column: whether some rule has
    a system prompt, and some rule earlier turns."""
    rules = list(rules)
    return any(rule.system is not None for rule in rules), any(rule.history for rule in rules)


def user_turn(instruction: str, input: str) -> str:
    """The one user turn of a record, in every format."""
    return f"{instruction}\n{input}" if input else instruction


def _message(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def prompt_messages(record: Record) -> list[dict[str, str]]:
    """The system message (when the record has one), the earlier turns and the user turn."""
    system = [_message("system", record.system)] if record.system else []
    earlier = [
        message
        for user, answer in record.history
        for message in (_message("user", user), _message("assistant", answer))
    ]
    return [*system, *earlier, _message("user", user_turn(record.instruction, record.input))]


ChatTemplate = str | Callable[[dict[str, Any]], str]  # a shipped name, or a compiled template


def chat_text(messages: list[dict[str, str]], template: ChatTemplate) -> str:
    """A conversation as one training text, in the chat template's markup.

    The text ends with the template's end-of-turn token and starts without a begin-of-text
    token: TRL's SFTTrainer adds the tokenizer's EOS unless the text ends with it, and the
    tokenizer adds its own BOS (docs/formats.md). The project's own template (a Jinja template
    over `messages`, compiled in the sandbox) renders with bos_token and eos_token empty and
    add_generation_prompt false, as the formats above do.
    """
    if callable(template):
        context = {
            "messages": messages,
            "add_generation_prompt": False,
            "bos_token": "",
            "eos_token": "",
        }
        return template(context)
    if template == "llama3":
        return "".join(
            f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content']}<|eot_id|>"
            for m in messages
        )
    return "\n".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>" for m in messages)


def _row(record: Record, record_id: str | None = None, **columns: Any) -> dict[str, Any]:
    return {"id": record_id or record.id, **columns, "metadata": record.metadata}


def rows(name: str, record: Record, chat_template: ChatTemplate = "chatml") -> list[dict[str, Any]]:
    """The rows of `record` in format `name` (none when the format does not take it)."""
    if not takes(name, record):
        return []  # decided before any text is built: most formats skip most records
    # TRL joins a plain prompt and its completion with nothing between them: the prompt ends
    # the user turn with a line break, so the model learns "question\nanswer".
    prompt = user_turn(record.instruction, record.input) + "\n"
    messages = prompt_messages(record)
    answer = [_message("assistant", record.output)]
    if name in SFT_FORMATS:
        if name == "messages":
            return [_row(record, messages=messages + answer)]
        if name == "sharegpt":
            turns = [{"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]} for m in messages]
            return [_row(record, conversations=[*turns, {"from": "gpt", "value": record.output}])]
        if name == "prompt_completion":
            return [_row(record, prompt=prompt, completion=record.output)]
        if name == "prompt_completion_chat":
            return [_row(record, prompt=messages, completion=answer)]
        return [_row(record, text=chat_text(messages + answer, chat_template))]
    if name in PAIR_FORMATS:
        if name == "preference":
            return [_row(record, prompt=prompt, chosen=record.output, rejected=record.rejected)]
        worse = [_message("assistant", record.rejected)]
        return [_row(record, prompt=messages, chosen=answer, rejected=worse)]
    chat = name == "kto_chat"
    ask = messages if chat else prompt

    def kto(record_id: str | None, completion: str, label: bool) -> dict[str, Any]:
        said = [_message("assistant", completion)] if chat else completion
        return _row(record, record_id, prompt=ask, completion=said, label=label)

    if record.rejected:
        return [
            kto(f"{record.id}.chosen", record.output, True),
            kto(f"{record.id}.rejected", record.rejected, False),
        ]
    return [kto(None, record.output, bool(record.label))]


def takes(name: str, record: Record) -> bool:
    """Whether format `name` has rows for the record (docs/formats.md)."""
    if record.history and name in PLAIN_FORMATS:
        return False  # plain text has no place for earlier turns
    if name in SFT_FORMATS:
        return record.label is not False
    if name in PAIR_FORMATS:
        return bool(record.rejected)
    return bool(record.rejected) or record.label is not None  # KTO


def _dumps(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n"


def alpaca_line(record: Record, with_system: bool, with_history: bool = False) -> str:
    """The Alpaca row: LLaMA-Factory's columns, with `system` and `history` (the earlier
    [user, assistant] turns) when the project uses them."""
    if record.label is False:
        return ""
    if not (with_system or with_history):
        return encode(record)
    extra: dict[str, Any] = {}
    if with_system:
        extra["system"] = record.system
    if with_history:
        extra["history"] = [list(turn) for turn in record.history]
    return _dumps(
        _row(
            record,
            instruction=record.instruction,
            input=record.input,
            output=record.output,
            **extra,
        )
    )


def encoder(
    name: str, with_system: bool, chat_template: ChatTemplate, with_history: bool = False
) -> Callable[[Record], str]:
    """A function from a record to its JSON lines in format `name` ("" when none)."""
    if name == ALPACA:
        return lambda record: alpaca_line(record, with_system, with_history)
    return lambda record: "".join(map(_dumps, rows(name, record, chat_template)))


def folder(name: str) -> str:
    """Where a format's split files go in the build: Alpaca at the top, as it always was."""
    return "" if name == ALPACA else f"{name}/"
