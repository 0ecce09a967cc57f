"""The output formats: one user-turn rule, which records each format takes, exact rows, errors.

The bytes of every format are the golden case tests/cases/formats; these tests state the
rules behind them on records made in memory.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import main
from compiler.errors import CompileError
from compiler.formats import (
    FORMATS,
    alpaca_line,
    chat_text,
    encoder,
    rows,
    user_turn,
)
from compiler.model import Record
from compiler.pipeline import compile_records
from tests.helpers import CASES, ROOT, project_from, records_of

META = {"task": "t", "rule": "r"}


def record(
    output: str = "An answer.",
    *,
    system: str = "",
    rejected: str = "",
    label: bool | None = None,
    input_: str = "",
) -> Record:
    return Record(
        "t.r.0000000000000001",
        "Ask something.",
        input_,
        output,
        META,
        rule=None,  # type: ignore[arg-type]
        system=system,
        rejected=rejected,
        label=label,
    )


def test_the_user_turn_is_the_instruction_then_the_input_on_the_next_line() -> None:
    assert user_turn("Do this.", "") == "Do this."
    assert user_turn("Do this.", "With that.") == "Do this.\nWith that."


def test_chat_templates_mark_every_turn() -> None:
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "U"},
        {"role": "assistant", "content": "A"},
    ]
    # Ends with the end-of-turn token, begins without BOS: TRL adds EOS unless the text ends
    # with it, and the tokenizer adds BOS itself.
    assert chat_text(messages, "chatml") == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
        "<|im_start|>assistant\nA<|im_end|>"
    )
    assert chat_text(messages, "llama3") == (
        "<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nA<|eot_id|>"
    )


def test_a_plain_record_is_in_every_sft_format_and_in_no_pair_format() -> None:
    taken = {name for name in FORMATS if encoder(name, False, "chatml")(record())}
    assert taken == {
        "alpaca",
        "messages",
        "sharegpt",
        "prompt_completion",
        "prompt_completion_chat",
        "text",
    }


def test_a_pair_is_one_preference_row_and_two_kto_rows_in_its_order() -> None:
    pair = record(system="Be kind.", rejected="A worse answer.")
    assert rows("preference", pair) == [
        {
            "id": pair.id,
            "prompt": "Ask something.\n",  # TRL joins prompt and answer with nothing between
            "chosen": "An answer.",
            "rejected": "A worse answer.",
            "metadata": META,
        }
    ]
    kto = rows("kto_chat", pair)
    assert [(r["id"], r["label"], r["completion"][0]["content"]) for r in kto] == [
        (f"{pair.id}.chosen", True, "An answer."),
        (f"{pair.id}.rejected", False, "A worse answer."),
    ]
    assert kto[0]["prompt"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Ask something."},
    ]


def test_an_undesirable_record_is_kto_only() -> None:
    bad = record(label=False)
    taken = {name for name in FORMATS if encoder(name, True, "chatml")(bad)}
    assert taken == {"kto", "kto_chat"}
    assert rows("kto", bad) == [
        {
            "id": bad.id,
            "prompt": "Ask something.\n",
            "completion": "An answer.",
            "label": False,
            "metadata": META,
        }
    ]


def test_alpaca_keeps_its_bytes_without_system_and_gains_the_column_with_it() -> None:
    plain = record(input_="More.")
    assert alpaca_line(plain, with_system=False) == (
        '{"id": "t.r.0000000000000001", "instruction": "Ask something.", "input": "More.", '
        '"output": "An answer.", "metadata": {"task": "t", "rule": "r"}}\n'
    )
    assert json.loads(alpaca_line(plain, with_system=True)) == {
        "id": plain.id,
        "instruction": "Ask something.",
        "input": "More.",
        "output": "An answer.",
        "system": "",
        "metadata": META,
    }


RULE = """  - id: r
    each:
      x: [a, b]
    instruction: "Explain the letter {{{{ x }}}}."
    output: "{output}"
{extra}"""


def _compile(output: str, extra: str) -> str:
    task = "task: t\nrules:\n" + RULE.format(output=output, extra=extra)
    with pytest.raises(CompileError) as raised:
        compile_records(project_from({"t": task}))
    return raised.value.render()


def test_a_pair_of_one_answer_twice_is_an_error_naming_the_record() -> None:
    message = _compile("The letter {{ x }}.", '    rejected: "The letter  {{ x }}."\n')
    assert message == (
        "specs/tasks/t.yaml:8:15: error: record t.r.ad172c3c2e311caf: rejected is the same "
        "answer as the output\n"
        "  hint: a preference pair needs two different answers: check rejected and its data\n"
        "specs/tasks/t.yaml:8:15: error: record t.r.f4de112675660d20: rejected is the same "
        "answer as the output\n"
        "  hint: a preference pair needs two different answers: check rejected and its data"
    )


def test_a_label_that_renders_to_anything_else_is_an_error() -> None:
    message = _compile("The letter {{ x }}.", '    label: "{{ x }}"\n')
    assert message.splitlines()[:2] == [
        "specs/tasks/t.yaml:8:12: error: label of record t.r.ad172c3c2e311caf is 'b', "
        "not true or false",
        "  hint: a label renders to true (a desirable answer) or false (an undesirable one)",
    ]


def test_a_rule_gives_rejected_or_label_not_both() -> None:
    task = "task: t\nrules:\n" + RULE.format(
        output="The letter {{ x }}.", extra='    rejected: "No."\n    label: true\n'
    )
    with pytest.raises(CompileError) as raised:
        project_from({"t": task})
    assert raised.value.render() == (
        "specs/tasks/t.yaml:9:5: error: a rule gives rejected (a preference pair) or label "
        "(KTO), not both\n"
        "  hint: drop label: a pair makes two KTO rows, output desirable and rejected undesirable"
    )


def test_system_comes_from_the_rule_else_from_the_task() -> None:
    task = (
        'task: t\nsystem: "Task voice for {{ x }}."\nrules:\n'
        + RULE.format(output="The letter {{ x }}.", extra="")
        + RULE.format(output="Letter {{ x }}.", extra="    system: Own voice.\n").replace(
            "id: r", "id: s"
        )
    )
    made = {(r.rule.id, r.system) for r in records_of(project_from({"t": task}))}
    assert made == {
        ("r", "Task voice for a."),
        ("r", "Task voice for b."),
        ("s", "Own voice."),
    }


def test_labels_are_booleans_or_templates() -> None:
    task = "task: t\nrules:\n" + RULE.format(
        output="The letter {{ x }}.", extra="    label: \"{{ 'true' if x == 'a' else 'false' }}\"\n"
    )
    assert {(r.input or r.instruction, r.label) for r in records_of(project_from({"t": task}))} == {
        ("Explain the letter a.", True),
        ("Explain the letter b.", False),
    }
    literal = "task: t\nrules:\n" + RULE.format(
        output="The letter {{ x }}.", extra="    label: false\n"
    )
    assert {r.label for r in records_of(project_from({"t": literal}))} == {False}


def test_the_rows_shown_in_docs_are_the_golden_rows() -> None:
    """docs/formats.md shows the first train row of each format: they cannot drift."""
    doc = (ROOT / "docs/formats.md").read_text(encoding="utf-8")
    shown = dict(re.findall(r"### `(\w+)`\n\n.*?\n\n```json\n(.*?)\n```", doc, flags=re.S))
    assert set(shown) == set(FORMATS)
    expected = CASES / "formats" / "expected"
    for name, line in shown.items():
        path = expected / (f"{name}/train.jsonl" if name != "alpaca" else "train.jsonl")
        assert line == path.read_text(encoding="utf-8").splitlines()[0], name


def test_earlier_turns_go_to_the_chat_formats_and_alpaca_history_only() -> None:
    turn = Record(
        "t.r.0000000000000002",
        "And then?",
        "",
        "Then rest.",
        META,
        rule=None,  # type: ignore[arg-type]
        history=(("First?", "Work."),),
        rejected="Then panic.",
    )
    taken = {name for name in FORMATS if encoder(name, False, "chatml", True)(turn)}
    assert taken == set(FORMATS) - {"prompt_completion", "preference", "kto"}
    assert rows("messages", turn)[0]["messages"] == [
        {"role": "user", "content": "First?"},
        {"role": "assistant", "content": "Work."},
        {"role": "user", "content": "And then?"},
        {"role": "assistant", "content": "Then rest."},
    ]
    assert json.loads(alpaca_line(turn, False, with_history=True))["history"] == [
        ["First?", "Work."]
    ]


def _with_own_template(project: Path) -> Path:
    dataset = project / "specs/dataset.yaml"
    dataset.write_text(
        dataset.read_text(encoding="utf-8") + "chat_template: file\n", encoding="utf-8"
    )
    return project


def test_the_projects_own_chat_template_renders_the_text_format(case, cli) -> None:
    project = _with_own_template(case("formats"))
    missing = CliRunner().invoke(main, ["build", "-C", str(project)])
    assert (missing.exit_code, missing.stderr) == (
        1,
        "specs/dataset.yaml:21:16: error: chat_template: file, but there is no "
        "specs/chat_template.jinja\n"
        "  hint: write the chat template (Jinja, over messages) to specs/chat_template.jinja, "
        "or use chatml or llama3\n",
    )
    template = project / "specs/chat_template.jinja"
    template.write_text(
        "{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}",
        encoding="utf-8",
    )
    assert cli("build", "-C", project).exit_code == 0
    first = json.loads((project / "build/text/train.jsonl").read_text("utf-8").splitlines()[0])
    assert first["text"] == (
        "<system>You write for Acme Tea. Calm, short sentences, no exclamation marks.</system>"
        "<user>Write a caption about the autumn blend.\nBrand: Acme Tea</user>"
        "<assistant>The autumn blend is back, warm and a little spicy.</assistant>"
    )
    template.write_text("{% for m in messages %}{{ m.content }}{% endfor %}", encoding="utf-8")
    rebuilt = cli("build", "-C", project)
    assert rebuilt.stdout.startswith("rebuilding: specs/chat_template.jinja changed\n")


def test_a_chat_template_that_fails_is_an_error_in_its_file(case) -> None:
    project = _with_own_template(case("formats"))
    (project / "specs/chat_template.jinja").write_text(
        "{{ messages[0].nope.deeper }}", encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["build", "-C", str(project)])
    assert (result.exit_code, result.stderr) == (
        1,
        "specs/chat_template.jinja:1:16: error: undefined key 'nope' in the chat template\n"
        "  hint: check the spelling; if only some items have it, write "
        "{{ x.nope | default('') }}\n",
    )
    assert not (project / "build").exists()


def test_what_formats_add_keeps_length_limits() -> None:
    """A system prompt keeps limits.system, a rejected answer the output's limits, earlier
    turns the instruction's and the output's: records past them are dropped, by reason."""
    dataset = "name: unit\nseed: 7\nlimits:\n  system: {max: 12}\n  output: {min: 5}\n"
    task = "task: t\nrules:\n" + (
        RULE.format(output="The letter {{ x }}.", extra='    system: "{{ x * 20 }}"\n')
        + RULE.format(output="Letter {{ x }}.", extra='    rejected: "No"\n').replace(
            "id: r", "id: s"
        )
        + RULE.format(
            output="Letter {{ x }} again.",
            extra='    history:\n      - {user: "Hello there, friend?", assistant: "Hey"}\n',
        ).replace("id: r", "id: h")
    )
    compiled = compile_records(project_from({"t": task}, dataset=dataset))
    dropped = {reason: count for reason, (count, _) in compiled.checker.verdict.dropped.items()}
    assert dropped == {
        "system_too_long": 2,
        "rejected_too_short": 2,
        "history_assistant_too_short": 2,
    }
