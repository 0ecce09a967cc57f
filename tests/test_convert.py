"""dsc convert: alpaca, sharegpt and messages rows into one another, as the build writes them.

Exact bytes for each direction, round trips, a property test over random texts, the exact
message of every malformed input (with nothing written), bounded memory on a large file, and
agreement with the build's own format files.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import clifiles, convertfile, jsonlfile, outfile
from compiler.cli import main
from compiler.convert import CONVERT_FORMATS, Converter
from compiler.pipeline import build
from tests.helpers import CASES, ROOT, copy_project, edit, examples

FIXTURES = Path(__file__).resolve().parent / "convert"


def _fixture(name: str) -> str:
    return (FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8")


# The same rows in each format: with and without id, metadata, system and input; another key
# (source); a blank line; text of many scripts, and a U+2028 that JSON writes as it is.
ALPACA = _fixture("alpaca")
MESSAGES = _fixture("messages")
SHAREGPT = _fixture("sharegpt")
# Conversations back in alpaca: the user turn is the instruction, and input is empty.
ALPACA_BACK = _fixture("alpaca_back")
# With a conversation of many turns, one of which has a key of its own (between chat formats).
MESSAGES_LONG = _fixture("messages_long")
SHAREGPT_LONG = _fixture("sharegpt_long")

PAIRS = [
    ("alpaca", ALPACA, "messages", MESSAGES),
    ("alpaca", ALPACA, "sharegpt", SHAREGPT),
    ("messages", MESSAGES, "alpaca", ALPACA_BACK),
    ("sharegpt", SHAREGPT, "alpaca", ALPACA_BACK),
    ("messages", MESSAGES_LONG, "sharegpt", SHAREGPT_LONG),
    ("sharegpt", SHAREGPT_LONG, "messages", MESSAGES_LONG),
]


def convert(tmp_path: Path, content: str | bytes, *args: str, out: bool = True):
    """Run `dsc convert in.jsonl ARGS [-o out.jsonl]` in tmp_path; paths in the result's
    messages are shown relative to tmp_path."""
    source = tmp_path / "in.jsonl"
    source.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    output = ["-o", str(tmp_path / "out.jsonl")] if out else []
    result = CliRunner().invoke(main, ["convert", str(source), *args, *output])
    return result, result.stderr.replace(f"{tmp_path}/", "")


@pytest.mark.parametrize(
    ("source", "text", "target", "expected"), PAIRS, ids=[f"{p[0]}-{p[2]}" for p in PAIRS]
)
@pytest.mark.parametrize("told", [False, True], ids=["detected", "from"])
def test_each_direction_gives_exact_bytes(
    source: str, text: str, target: str, expected: str, told: bool, tmp_path: Path
) -> None:
    args = ["--to", target, *(["--from", source] if told else [])]
    result, stderr = convert(tmp_path, text, *args)
    assert (result.exit_code, stderr) == (
        0,
        f"converted {expected.count(chr(10))} rows from {source} to {target} into out.jsonl\n",
    )
    assert (tmp_path / "out.jsonl").read_bytes() == expected.encode("utf-8")
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "out.jsonl"]  # no temporary file left


def test_without_output_the_rows_go_to_stdout(tmp_path: Path) -> None:
    result, stderr = convert(tmp_path, ALPACA, "--to", "messages", "-q", out=False)
    assert (result.exit_code, result.stdout_bytes, stderr) == (0, MESSAGES.encode(), "")


def test_output_replaces_a_file_keeping_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    out.chmod(0o640)
    result, _ = convert(tmp_path, ALPACA, "--to", "sharegpt")
    assert result.exit_code == 0 and out.read_text("utf-8") == SHAREGPT
    assert out.stat().st_mode & 0o777 == 0o640


def test_an_empty_file_converts_to_an_empty_file(tmp_path: Path) -> None:
    result, stderr = convert(tmp_path, "\n  \n", "--to", "messages")
    assert (result.exit_code, stderr) == (
        0,
        "converted 0 rows to messages into out.jsonl\n",
    )
    assert (tmp_path / "out.jsonl").read_bytes() == b""


def test_crlf_lines_convert_as_lf(tmp_path: Path) -> None:
    result, _ = convert(tmp_path, ALPACA.replace("\n", "\r\n"), "--to", "messages")
    assert result.exit_code == 0
    assert (tmp_path / "out.jsonl").read_text("utf-8") == MESSAGES


@pytest.mark.parametrize(
    ("text", "there", "back"),
    [
        (ALPACA_BACK, "messages", "alpaca"),
        (ALPACA_BACK, "sharegpt", "alpaca"),
        (MESSAGES_LONG, "sharegpt", "messages"),
        (SHAREGPT_LONG, "messages", "sharegpt"),
        (MESSAGES, "alpaca", "messages"),
        (SHAREGPT, "alpaca", "sharegpt"),
    ],
)
def test_round_trips_give_the_input_back(text: str, there: str, back: str, tmp_path: Path) -> None:
    """Alpaca rows with an empty input (and a system that is not empty, or none) come back as
    they were; conversations always do."""
    first, _ = convert(tmp_path, text, "--to", there, out=False)
    second, _ = convert(tmp_path, first.stdout_bytes, "--to", back, out=False)
    assert second.stdout == text.replace("\n\n", "\n")


def test_alpaca_input_comes_back_in_the_instruction(tmp_path: Path) -> None:
    """A user turn is instruction and input on two lines: back in alpaca, it is the instruction,
    and the conversation a model sees is the same as the first one."""
    first, _ = convert(tmp_path, ALPACA, "--to", "messages", out=False)
    back, _ = convert(tmp_path, first.stdout_bytes, "--to", "alpaca", out=False)
    assert back.stdout == ALPACA_BACK
    again, _ = convert(tmp_path, back.stdout_bytes, "--to", "messages", out=False)
    assert again.stdout == MESSAGES


# --- every text survives ------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
FILLED = TEXT.filter(bool)


def _lines(rows: list[dict], source: str, target: str) -> list[dict]:
    """rows through Converter, as dsc convert feeds it, line by line."""
    converter = Converter("in.jsonl", target, source)
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    out = [converter.line(n, line.encode("utf-8")) for n, line in enumerate(lines, 1)]
    assert not converter.errors.diagnostics
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in out)
    return [json.loads(line) for line in out]


@settings(max_examples=examples(100), deadline=None)
@given(
    st.lists(
        st.tuples(FILLED, TEXT, FILLED, TEXT, st.dictionaries(TEXT, TEXT, max_size=2)),
        min_size=1,
        max_size=4,
    )
)
def test_any_text_converts_and_comes_back(rows: list[tuple]) -> None:
    alpaca = [
        {"id": str(i), "instruction": a, "input": b, "output": c, "system": d, "metadata": m}
        for i, (a, b, c, d, m) in enumerate(rows)
    ]
    messages = _lines(alpaca, "alpaca", "messages")
    for row, chat in zip(alpaca, messages, strict=True):
        turns = chat["messages"]
        user = row["instruction"] + ("\n" + row["input"] if row["input"] else "")
        assert turns[-2:] == [
            {"role": "user", "content": user},
            {"role": "assistant", "content": row["output"]},
        ]
        assert (turns[0]["content"] if len(turns) == 3 else "") == row["system"]
        assert (chat["id"], chat["metadata"]) == (row["id"], row["metadata"])
    sharegpt = _lines(messages, "messages", "sharegpt")
    assert _lines(sharegpt, "sharegpt", "messages") == messages
    back = _lines(sharegpt, "sharegpt", "alpaca")
    assert _lines(back, "alpaca", "messages") == messages
    # Where input is empty and system is not, alpaca comes back as it was.
    for row, again in zip(alpaca, back, strict=True):
        if not row["input"] and row["system"]:
            assert again == row


@settings(max_examples=examples(100), deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.tuples(FILLED, FILLED), min_size=1, max_size=4), TEXT),
        min_size=1,
        max_size=4,
    )
)
def test_a_conversation_of_any_length_goes_through_alpaca_history(rows: list[tuple]) -> None:
    """Earlier exchanges become LLaMA-Factory's `history` pairs, and come back as turns."""
    messages = []
    for i, (exchanges, system) in enumerate(rows):
        turns = [{"role": "system", "content": system}] if system else []
        for user, answer in exchanges:
            turns += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
        messages.append({"id": str(i), "messages": turns})
    alpaca = _lines(messages, "messages", "alpaca")
    for (exchanges, _), row in zip(rows, alpaca, strict=True):
        assert (row["instruction"], row["output"]) == exchanges[-1]
        assert row.get("history", []) == [list(pair) for pair in exchanges[:-1]]
    assert _lines(alpaca, "alpaca", "messages") == messages


def test_alpaca_with_history_loads_in_datasets(tmp_path: Path, load_dataset) -> None:
    """Rows with and without `history` in one file: Hugging Face's JSON loader gives the
    column to every row (null where a row has none), as LLaMA-Factory reads it."""
    later = chat(USER, ANSWER, '{"role": "user", "content": "And?"}', ANSWER)
    done, _ = convert(tmp_path, chat(USER, ANSWER) + later, "--to", "alpaca")
    assert done.exit_code == 0, done.stderr
    loaded = load_dataset("json", data_files=str(tmp_path / "out.jsonl"), split="train")
    assert loaded["history"] == [None, [["Hi", "Hello"]]]


# --- malformed input: one located message each, nothing written ----------------------------

H_ALPACA = 'an alpaca row holds "instruction" and "output", and may hold "input" and "system"'
H_MESSAGES = 'a messages row holds "messages": [{"role": …, "content": …}, …]'
ALTERNATE = "turns alternate user, assistant, user, …, after an optional system turn"
NEEDS_BOTH = "a conversation needs a user turn and the assistant's answer"
USER = '{"role": "user", "content": "Hi"}'
ANSWER = '{"role": "assistant", "content": "Hello"}'
SYSTEM = '{"role": "system", "content": "Be brief."}'


def chat(*turns: str) -> str:
    return '{"messages": [' + ", ".join(turns) + "]}\n"


ERRORS = [
    (
        "bom",
        b'\xef\xbb\xbf{"instruction": "a", "output": "b"}\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: file starts with a byte order mark (BOM)\n"
        "  hint: save the file as UTF-8 without BOM\n",
    ),
    (
        "invalid_utf8",
        b'{"instruction": "caf\xe9", "output": "b"}\n',
        ["--to", "messages"],
        "in.jsonl:1:21: error: invalid UTF-8 byte 0xe9\n  hint: save the file as UTF-8\n",
    ),
    (
        "malformed_json",
        '{"instruction": "a", "output": }\n',
        ["--to", "messages"],
        "in.jsonl:1:32: error: invalid JSON: Expecting value\n"
        "  hint: each line of a .jsonl file is one complete JSON value; strings need double "
        "quotes\n",
    ),
    (
        "not_an_object",
        '["a", "b"]\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: expected a JSON object (a row), found a list\n"
        "  hint: each line of a .jsonl file is one row, a JSON object: "
        '{"instruction": …, "output": …}, {"conversations": […]} or {"messages": […]}\n',
    ),
    (
        "unknown_format",
        '{"prompt": "a", "completion": "b"}\n{"instruction": "a", "output": "b"}\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: cannot tell the format of the row: it has none of the keys "
        "instruction, output, conversations, messages\n"
        "  hint: an alpaca row holds instruction and output, a sharegpt row conversations, "
        "a messages row messages\n",
    ),
    (
        "two_formats",
        '{"instruction": "a", "output": "b", "messages": []}\n',
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: the row has the keys of more than one format "
        "(alpaca, messages)\n"
        "  hint: give --from FORMAT to say which format the file is in\n",
    ),
    (
        "already_in_format",
        chat(USER, ANSWER),
        ["--to", "messages"],
        "in.jsonl:1:1: error: the file is already in the messages format\n"
        "  hint: nothing to convert: --to names the format it is in\n",
    ),
    (
        "missing_output",
        '{"instruction": "a", "output": "b"}\n{"instruction": "a"}\n',
        ["--to", "messages"],
        "in.jsonl:2:1: error: row has no key 'output'\n"
        f"  hint: {H_ALPACA} (the file's format, told by line 1)\n",
    ),
    (
        "missing_messages_with_from",
        '{"conversations": []}\n',
        ["--to", "alpaca", "--from", "messages"],
        f"in.jsonl:1:1: error: row has no key 'messages'\n  hint: {H_MESSAGES} (--from messages)\n",
    ),
    (
        "mistyped_output",
        '{"instruction": "a", "output": 3}\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: output is a number, not a string\n"
        "  hint: write the text as a JSON string\n",
    ),
    (
        "mistyped_system",
        '{"instruction": "a", "output": "b", "system": null}\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: system is null, not a string\n"
        "  hint: write the text as a JSON string\n",
    ),
    (
        "empty_instruction",
        '{"instruction": "", "input": "x", "output": "b"}\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: instruction is empty\n  hint: every row needs a prompt\n",
    ),
    (
        "empty_output",
        '{"instruction": "a", "output": ""}\n',
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: output is empty\n  hint: every row needs an answer\n",
    ),
    (
        "alpaca_history_not_a_list",
        '{"instruction": "a", "output": "b", "history": {"q": "r"}}\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: history is an object, not a list\n"
        '  hint: history holds the earlier exchanges as [user, assistant] pairs: [["Hi?", '
        '"Hello."]]\n',
    ),
    (
        "alpaca_history_not_a_pair",
        '{"instruction": "a", "output": "b", "history": [["q", "r"], ["q"]]}\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: history[1] is a list of 1, not a pair\n"
        '  hint: history holds the earlier exchanges as [user, assistant] pairs: [["Hi?", '
        '"Hello."]]\n',
    ),
    (
        "alpaca_history_turn_not_text",
        '{"instruction": "a", "output": "b", "history": [["q", 7]]}\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: history[0][1] is a number, not a string\n"
        "  hint: write the text as a JSON string\n",
    ),
    (
        "alpaca_history_turn_empty",
        '{"instruction": "a", "output": "b", "history": [["", "r"]]}\n',
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: history[0][0] is empty\n  hint: every turn needs its text\n",
    ),
    (
        "messages_not_a_list",
        '{"messages": "hi"}\n',
        ["--to", "alpaca"],
        f"in.jsonl:1:1: error: messages is a string, not a list\n  hint: {H_MESSAGES}\n",
    ),
    (
        "messages_empty",
        chat(),
        ["--to", "alpaca"],
        f"in.jsonl:1:1: error: messages is empty\n  hint: {NEEDS_BOTH}\n",
    ),
    (
        "only_system",
        chat(SYSTEM),
        ["--to", "alpaca"],
        f"in.jsonl:1:1: error: messages holds only a system turn\n  hint: {NEEDS_BOTH}\n",
    ),
    (
        "turn_not_an_object",
        chat(USER, '"Hello"'),
        ["--to", "alpaca"],
        "in.jsonl:1:1: error: messages[1] is a string, not an object\n"
        '  hint: a turn is {"role": …, "content": …}\n',
    ),
    (
        "turn_without_content",
        chat(USER, '{"role": "assistant"}'),
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: messages[1] has no key 'content'\n"
        '  hint: a turn is {"role": …, "content": …}\n',
    ),
    (
        "role_mistyped",
        chat('{"role": 1, "content": "Hi"}', ANSWER),
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: messages[0].role is a number, not a string\n"
        "  hint: the roles of messages are system, user and assistant\n",
    ),
    (
        "unknown_role_messages",
        chat('{"role": "human", "content": "Hi"}', ANSWER),
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: messages[0].role 'human' is not a role of messages\n"
        "  hint: did you mean 'user'? the roles of messages are system, user and assistant\n",
    ),
    (
        "unknown_role_sharegpt",
        '{"conversations": [{"from": "human", "value": "Hi"}, {"from": "assistant", '
        '"value": "Hello"}]}\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: conversations[1].from 'assistant' is not a role of sharegpt\n"
        "  hint: did you mean 'gpt'? the roles of sharegpt are system, human and gpt\n",
    ),
    (
        "unknown_role_typo",
        chat(USER, '{"role": "asistant", "content": "Hello"}'),
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: messages[1].role 'asistant' is not a role of messages\n"
        "  hint: did you mean 'assistant'? the roles of messages are system, user and "
        "assistant\n",
    ),
    (
        "unknown_role_tool",
        chat(USER, '{"role": "tool", "content": "{}"}'),
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: messages[1].role 'tool' is not a role of messages\n"
        "  hint: the roles of messages are system, user and assistant\n",
    ),
    (
        "content_not_text",
        chat(USER, '{"role": "assistant", "content": [{"type": "text", "text": "Hello"}]}'),
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: messages[1].content is a list, not a string\n"
        "  hint: dsc convert takes turns of text: write the text as one JSON string\n",
    ),
    (
        "empty_turn",
        chat(USER, '{"role": "assistant", "content": ""}'),
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: messages[1].content is empty\n  hint: every turn needs its text\n",
    ),
    (
        "system_later",
        chat(USER, ANSWER, SYSTEM),
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: messages[2] is a system turn after the first turn\n"
        "  hint: a system turn may only open the conversation\n",
    ),
    (
        "two_user_turns",
        chat(SYSTEM, USER, USER, ANSWER),
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: messages[2] is a user turn where an assistant turn should be\n"
        f"  hint: {ALTERNATE}\n",
    ),
    (
        "starts_with_the_answer",
        '{"conversations": [{"from": "gpt", "value": "Hello"}]}\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: conversations[0] is a gpt turn where a human turn should be\n"
        "  hint: turns alternate human, gpt, human, …, after an optional system turn\n",
    ),
    (
        "ends_with_a_question",
        chat(USER, ANSWER, USER),
        ["--to", "sharegpt"],
        "in.jsonl:1:1: error: messages ends with a user turn, without an answer\n"
        "  hint: add the assistant's answer, or remove the last turn\n",
    ),
    (
        "turn_key_to_alpaca",
        chat(USER, '{"role": "assistant", "content": "Hello", "weight": 0}'),
        ["--to", "alpaca"],
        "in.jsonl:1:1: error: messages[1] has the key 'weight', which an alpaca row cannot "
        "hold\n"
        "  hint: remove it, or convert the file to messages or sharegpt, which keep it\n",
    ),
    (
        "key_the_target_writes",
        '{"messages": [' + USER + ", " + ANSWER + '], "system": "Be brief."}\n',
        ["--to", "alpaca"],
        "in.jsonl:1:1: error: the row has the key 'system', which the alpaca format writes\n"
        "  hint: rename or remove it: dsc convert keeps the other keys of a row as they are\n",
    ),
    (
        "lone_surrogate",
        '{"instruction": "a", "output": "b\\ud83d"}\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: output holds a lone surrogate (U+D83D)\n"
        "  hint: half of a UTF-16 pair is not a character, and UTF-8 cannot hold it: write "
        'the character itself, or one escape for the whole character ("\\U0001F600", not '
        '"\\ud83d\\ude00")\n',
    ),
    (
        "nul_in_a_key",
        '{"instruction": "a", "output": "b", "metadata": {"k\\u0000": 1}}\n',
        ["--to", "messages"],
        "in.jsonl:1:1: error: mapping key 'k\\x00' in metadata holds a NUL character "
        "(U+0000)\n"
        "  hint: NUL is never text: remove it, or the escape that writes it (\\0, \\x00, "
        "\\u0000)\n",
    ),
    (
        "every_problem_of_the_file",
        '{"instruction": "a", "output": "b"}\n\n{"instruction": 1, "output": "b"}\n{\n'
        '{"instruction": "a", "output": "b"}\n{"output": "b"}\n',
        ["--to", "messages"],
        "in.jsonl:3:1: error: instruction is a number, not a string\n"
        "  hint: write the text as a JSON string\n"
        "in.jsonl:4:2: error: invalid JSON: Expecting property name enclosed in double quotes\n"
        "  hint: each line of a .jsonl file is one complete JSON value; strings need double "
        "quotes\n"
        "in.jsonl:6:1: error: row has no key 'instruction'\n"
        f"  hint: {H_ALPACA} (the file's format, told by line 1)\n"
        "3 errors\n",
    ),
]


@pytest.mark.parametrize(
    ("content", "args", "expected"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS]
)
@pytest.mark.parametrize("out", [True, False], ids=["file", "stdout"])
def test_malformed_input_gives_its_exact_message_and_writes_nothing(
    content: str | bytes, args: list[str], expected: str, out: bool, tmp_path: Path
) -> None:
    result, stderr = convert(tmp_path, content, *args, out=out)
    assert (result.exit_code, stderr, result.stdout) == (1, expected, "")
    assert os.listdir(tmp_path) == ["in.jsonl"]


def test_a_failed_conversion_leaves_the_output_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "out.jsonl").write_text("old\n")
    result, _ = convert(tmp_path, ALPACA + '{"instruction": "a"}\n', "--to", "messages")
    assert result.exit_code == 1
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "out.jsonl"]
    assert (tmp_path / "out.jsonl").read_text() == "old\n"


def test_an_interrupted_conversion_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "out.jsonl").write_text("old\n")
    written = convertfile._stream

    def interrupted(reader, writer, converter) -> None:
        written(reader, writer, converter)
        raise KeyboardInterrupt

    monkeypatch.setattr(convertfile, "_stream", interrupted)
    result, _ = convert(tmp_path, ALPACA, "--to", "messages")
    assert result.exit_code == 1  # click's Abort, as Ctrl-C
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "out.jsonl"]
    assert (tmp_path / "out.jsonl").read_text() == "old\n"


def test_a_failed_write_is_reported_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(source: str, target: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outfile.os, "replace", full)
    result, stderr = convert(tmp_path, ALPACA, "--to", "messages")
    assert (result.exit_code, stderr) == (
        1,
        "out.jsonl: error: cannot write out.jsonl: No space left on device\n"
        "  hint: check the folder's permissions and free space; nothing was written\n",
    )
    assert os.listdir(tmp_path) == ["in.jsonl"]


def test_a_line_over_the_limit_is_refused_without_being_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonlfile, "LINE_LIMIT", 40)
    monkeypatch.setattr(jsonlfile, "BUFFER", 16)
    long = '{"instruction": "' + "a" * 60 + '", "output": "b"}'
    text = '{"instruction": "a", "output": "b"}\n' + long + "\n" + long
    result, stderr = convert(tmp_path, text, "--to", "messages")
    hint = (
        "  hint: a row of a .jsonl file is one line, and no row needs that much text: check "
        "that the file is JSONL\n"
    )
    assert (result.exit_code, stderr) == (
        1,
        f"in.jsonl:2:1: error: line is {len(long)} bytes, over the limit of 40 bytes\n{hint}"
        f"in.jsonl:3:1: error: line is {len(long)} bytes, over the limit of 40 bytes\n{hint}"
        "2 errors\n",
    )


def test_the_format_is_told_by_the_first_row_that_is_an_object(tmp_path: Path) -> None:
    """A first line that is not JSON is reported, and the next row still tells the format."""
    result, stderr = convert(tmp_path, '{\n{"instruction": "a"}\n', "--to", "messages")
    assert result.exit_code == 1
    assert stderr.splitlines()[2] == "in.jsonl:2:1: error: row has no key 'output'"


def test_more_than_the_kept_messages_are_counted(tmp_path: Path) -> None:
    result, stderr = convert(tmp_path, '{"instruction": "a"}\n' * 250, "--to", "messages")
    assert result.exit_code == 1
    assert stderr.count("error: row has no key 'output'") == 200
    assert stderr.endswith("\n250 errors (50 more not shown)\n")


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (
            "missing",
            "in.jsonl: error: file not found: in.jsonl\n  hint: check the path\n",
        ),
        (
            "folder",
            "in.jsonl: error: expected a file, found a directory: in.jsonl\n  hint: name a file\n",
        ),
        (
            "fifo",
            "in.jsonl: error: path 'in.jsonl' is a named pipe (FIFO), not a regular file\n"
            "  hint: name an ordinary file: dsc reads no pipes, devices or sockets\n",
        ),
    ],
)
def test_the_input_must_be_a_file(setup: str, expected: str, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    if setup == "folder":
        source.mkdir()
    elif setup == "fifo":
        os.mkfifo(source)
    result = CliRunner().invoke(main, ["convert", str(source), "--to", "alpaca"])
    assert (result.exit_code, result.stderr.replace(f"{tmp_path}/", "")) == (1, expected)


def _convert_into(tmp_path: Path, out: Path) -> tuple[int, str]:
    source = tmp_path / "in.jsonl"
    source.write_text(ALPACA, encoding="utf-8")
    result = CliRunner().invoke(main, ["convert", str(source), "--to", "messages", "-o", str(out)])
    return result.exit_code, result.stderr.replace(f"{tmp_path}/", "")


def test_the_output_is_never_the_input(tmp_path: Path) -> None:
    (tmp_path / "link.jsonl").symlink_to("in.jsonl")
    for name in ("in.jsonl", "link.jsonl"):
        assert _convert_into(tmp_path, tmp_path / name) == (
            1,
            f"{name}: error: the output is the input file\n"
            "  hint: write to another file: dsc convert never replaces its input\n",
        )
    assert (tmp_path / "in.jsonl").read_text("utf-8") == ALPACA


def test_the_output_is_never_inside_a_build_folder(tmp_path: Path) -> None:
    built = tmp_path / "project" / "build"
    (built / "messages").mkdir(parents=True)
    metadata = '{\n  "name": "x",\n  "compiler": {"name": "dsc", "version": "0.1.0"}\n}\n'
    (built / "metadata.json").write_text(metadata)
    for out in (built / "extra.jsonl", built / "messages" / "x.jsonl"):
        code, stderr = _convert_into(tmp_path, out)
        assert (code, stderr) == (
            1,
            f"{out.relative_to(tmp_path)}: error: the output is inside the dsc build folder "
            "build/\n"
            "  hint: every build replaces that folder, and dsc check refuses files it did not "
            "write: write the converted file elsewhere\n",
        )
    assert not (built / "extra.jsonl").exists()
    (built / "metadata.json").write_text('{"compiler": "another tool"}\n')
    assert _convert_into(tmp_path, built / "extra.jsonl") == (
        0,
        "converted 3 rows from alpaca to messages into project/build/extra.jsonl\n",
    )


def test_the_output_must_be_a_file_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    assert _convert_into(tmp_path, tmp_path / "dir") == (
        1,
        "dir: error: output path 'dir' is a folder\n  hint: name a file\n",
    )
    assert _convert_into(tmp_path, tmp_path / "nowhere" / "out.jsonl") == (
        1,
        "nowhere/out.jsonl: error: the output's folder does not exist: nowhere\n"
        "  hint: create the folder first\n",
    )


def test_from_and_to_may_not_name_one_format(tmp_path: Path) -> None:
    result, stderr = convert(tmp_path, ALPACA, "--from", "alpaca", "--to", "alpaca")
    assert result.exit_code == 2
    assert stderr.endswith("Error: --from and --to name the same format: nothing to convert\n")


def test_help_and_choices() -> None:
    short = CliRunner().invoke(main, ["convert", "-h"])
    assert short.exit_code == 0 and short.output.startswith("Usage: main convert [OPTIONS] IN")
    assert tuple(clifiles.CONVERT_FORMATS.choices) == CONVERT_FORMATS


# --- streaming ------------------------------------------------------------------------------

# Linux keeps a process's peak memory across exec, and a process started by pytest begins with
# the peak of pytest's worker: the conversion runs in a grandchild, started by this small
# process, and its peak is the peak of this process's children.
PEAK = """
import resource, subprocess, sys
subprocess.run([sys.executable, "-m", "compiler", *sys.argv[1:]], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


def _peak_bytes(source: Path, out: Path) -> int:
    """The peak resident memory of a process that converts source into out."""
    args = ["convert", str(source), "--to", "sharegpt", "-o", str(out), "-q"]
    done = subprocess.run(
        [sys.executable, "-c", PEAK, *args], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return int(done.stdout)


def test_a_large_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    """60,000 rows (about 30 MB) convert in the memory of a 10-row file, give or take a few
    MB (half the file's size: holding its text alone would take all of it, its rows several
    times it): the peak is never a function of the file's length."""
    row = {
        "instruction": "Summarise the text below in one sentence. " * 4,
        "input": "Words that fill the row. " * 12,
        "output": "A summary of the text. " * 3,
        "metadata": {"task": "summary", "lang": "en"},
    }
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    with large.open("w", encoding="utf-8") as handle:
        for i in range(60_000):
            handle.write(json.dumps({"id": f"r{i}", **row}) + "\n")
    with large.open(encoding="utf-8") as handle:
        small.write_text("".join(handle.readline() for _ in range(10)), encoding="utf-8")
    size = large.stat().st_size
    assert size > 30_000_000
    baseline = _peak_bytes(small, tmp_path / "small.out")
    peak = _peak_bytes(large, tmp_path / "large.out")
    assert peak - baseline < size / 2, (baseline, peak)
    with (tmp_path / "large.out").open(encoding="utf-8") as converted:
        assert sum(1 for _ in converted) == 60_000


# --- agreement with the build ---------------------------------------------------------------


def test_converted_build_rows_equal_the_builds_own_format_files(tmp_path: Path) -> None:
    """The build's definitions (formats.py) and dsc convert's agree byte for byte: alpaca rows
    of a build, with a system and an input, convert to its messages/ and sharegpt/ files."""
    project = copy_project(CASES / "minimal", tmp_path / "project")
    with (project / "specs/dataset.yaml").open("a", encoding="utf-8") as handle:
        handle.write("formats: [alpaca, messages, sharegpt]\n")
    task = project / "specs/tasks/caption.yaml"
    edit(task, "  - id: basic\n", '  - id: basic\n    system: "You write for {{ brand.name }}."\n')
    edit(
        task,
        '    output: "{{ brand.name }} serves',
        '    input: "Ünïcode — \\"quoted\\"\\t{{ context.name }}\\nline two"\n'
        '    output: "{{ brand.name }} serves',
    )
    build(project)
    out = project / "build"
    inputs = [(out / f"{name}.jsonl").read_bytes() for name in ("train", "val", "test")]
    assert b'"system": "You write' in b"".join(inputs) and b'"system": ""' in b"".join(inputs)
    for name in ("train", "val", "test"):
        for target in ("messages", "sharegpt"):
            converted = tmp_path / f"{target}-{name}.jsonl"
            result = CliRunner().invoke(
                main, ["convert", str(out / f"{name}.jsonl"), "--to", target, "-o", str(converted)]
            )
            assert result.exit_code == 0, result.stderr
            assert converted.read_bytes() == (out / target / f"{name}.jsonl").read_bytes()
        other = tmp_path / f"back-{name}.jsonl"
        CliRunner().invoke(
            main,
            [
                "convert",
                str(out / "messages" / f"{name}.jsonl"),
                "--to",
                "sharegpt",
                "-o",
                str(other),
            ],
        )
        assert other.read_bytes() == (out / "sharegpt" / f"{name}.jsonl").read_bytes()
