"""dsc's build/ read by Axolotl's real prompt strategies, as the docs tell Axolotl users to.

Axolotl 0.19.0 (the `trainers` set-up installs it without its pinned dependencies: it pins
trl 1.9.0, datasets 4.8.4 and transformers 5.16.1 and requires triton, xformers and
bitsandbytes on Linux; docs/formats-sources.md 3.4) turns each row into what its trainer
reads, with the golden `formats` case and the ChatML tokenizer trained in conftest:

- `type: chat_template` on the `messages` files (SFT): the tokens are the chat template's
  rendering of every turn, and only the assistant turns are trained;
- DPO `chat_template.default` with `field_messages: prompt` on the `preference_chat` files:
  the prompt's turns and the chosen and rejected answers, as TRL's DPO trainer then takes them;
- KTO `chatml.prompt_pairs` on the `kto` files: the prompt and completion in ChatML, with the
  row's `label` kept for TRL's KTO trainer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# on the xdist worker that runs test_trainers.py, which has torch and transformers loaded
pytestmark = pytest.mark.xdist_group("torch")
END = "<|im_end|>"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def dict_default():
    from axolotl.utils.dict import DictDefault

    return DictDefault


def test_chat_template_trains_the_assistant_turns_of_every_messages_row(
    formats_build: Path, chatml_tokenizer, dict_default
) -> None:
    from axolotl.prompt_strategies import load

    cfg = dict_default(
        {"sequence_len": 4096, "train_on_inputs": False, "chat_template": "tokenizer_default"}
    )
    strategy = load(
        "chat_template",
        chatml_tokenizer,
        cfg,
        {"type": "chat_template", "path": "build", "field_messages": "messages"},
    )
    rows = [
        row
        for split in ("train", "val", "test")
        for row in _rows(formats_build / f"messages/{split}.jsonl")
    ]
    assert rows
    for row in rows:
        tokens = strategy.tokenize_prompt(row)
        ids, labels = tokens["input_ids"], tokens["labels"]
        rendered = chatml_tokenizer.apply_chat_template(row["messages"], tokenize=False)
        assert chatml_tokenizer.decode(ids) == rendered, row["id"]
        trained = chatml_tokenizer.decode(
            [i for i, label in zip(ids, labels, strict=True) if label != -100]
        )
        answers = "".join(m["content"] + END for m in row["messages"] if m["role"] == "assistant")
        assert trained == answers, row["id"]


def test_dpo_chat_template_reads_the_prompt_turns_and_both_answers(
    formats_build: Path, chatml_tokenizer, dict_default
) -> None:
    from axolotl.prompt_strategies.dpo import load

    cfg = dict_default(
        {
            "chat_template": "tokenizer_default",
            "datasets": [{"type": "chat_template.default", "field_messages": "prompt"}],
        }
    )
    transform, options = load("chat_template.default", cfg)
    assert options == {"remove_columns": ["prompt"]}
    rows = _rows(formats_build / "preference_chat/train.jsonl")
    assert rows
    for row in rows:
        made = transform(dict(row), tokenizer=chatml_tokenizer)
        prompt = chatml_tokenizer.apply_chat_template(
            row["prompt"], add_generation_prompt=True, tokenize=False
        )
        assert made == {
            "prompt": prompt,
            "chosen": row["chosen"][-1]["content"] + END,
            "rejected": row["rejected"][-1]["content"] + END,
        }, row["id"]


def test_kto_prompt_pairs_keep_the_label(formats_build: Path, dict_default) -> None:
    from axolotl.prompt_strategies.kto import load

    transform = load("chatml.prompt_pairs", dict_default({}))
    rows = _rows(formats_build / "kto/train.jsonl")
    assert {row["label"] for row in rows} == {True, False}
    for row in rows:
        made = transform(dict(row))
        assert made["prompt"] == f"<|im_start|>user\n{row['prompt']}{END}\n<|im_start|>assistant\n"
        assert made["completion"] == row["completion"] + END
        assert (made["label"], made["id"]) == (row["label"], row["id"])
