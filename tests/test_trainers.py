"""dsc's build/ trained as it is by TRL's real SFT, DPO and KTO trainers, on the CPU, offline.

The model is a random one-layer Llama built here, the tokenizer a BPE trained here on the build's
own text with a ChatML template: nothing is read from the Hub. One optimizer step each;
what is asserted is that the trainer read dsc's columns (its prepared dataset has a tokenized row
for every row of the file) and that a step ran with a finite loss. The `trainers` extra installs
torch (the CPU build, pinned), transformers and trl.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

# TRL's configs still set transformers' `gradient_checkpointing`, renamed in transformers 5.
# One xdist worker runs the modules that import torch and transformers (`make test` distributes
# by group): each worker that imported them would pay seconds of start-up and memory.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*gradient_checkpointing.*:FutureWarning"),
    pytest.mark.xdist_group("torch"),
]
# Small steps on a few rows: every trainer runs its real data preparation and one optimizer
# step; no checkpoint, no logging service, no evaluation, the same batches on every run.
COMMON = {
    "max_steps": 1,
    "per_device_train_batch_size": 2,
    "learning_rate": 1e-3,
    "report_to": [],
    "save_strategy": "no",
    "logging_steps": 1,
    "seed": 0,
    "data_seed": 0,
    "use_cpu": True,
    "dataloader_num_workers": 0,
    "disable_tqdm": True,
}


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _model(tokenizer):
    """A random Llama of under 40 thousand parameters, the same weights on every run."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    return LlamaForCausalLM(config)


def _train(trainer) -> float:
    result = trainer.train()
    assert trainer.state.global_step == COMMON["max_steps"]
    assert math.isfinite(result.training_loss)
    return result.training_loss


@pytest.mark.parametrize("name", ["messages", "prompt_completion", "prompt_completion_chat"])
def test_sft_trains_on_the_chat_and_prompt_completion_files(
    formats_build: Path, chatml_tokenizer, load_dataset, tmp_path: Path, name: str
) -> None:
    from trl import SFTConfig, SFTTrainer

    path = formats_build / name / "train.jsonl"
    dataset = load_dataset("json", data_files=str(path), split="train")
    trainer = SFTTrainer(
        model=_model(chatml_tokenizer),
        args=SFTConfig(output_dir=str(tmp_path / "out"), max_length=256, **COMMON),
        train_dataset=dataset,
        processing_class=chatml_tokenizer,
    )
    prepared = trainer.train_dataset
    assert prepared.num_rows == len(_lines(path))
    assert prepared["id"] == [json.loads(line)["id"] for line in _lines(path)]
    assert all(prepared["input_ids"])
    if name != "messages":  # the prompt's tokens are masked out of the loss (-100)
        assert all(-100 in labels and set(labels) != {-100} for labels in prepared["labels"])
    _train(trainer)


def test_sft_renders_messages_with_the_chat_template(
    formats_build: Path, chatml_tokenizer, load_dataset, tmp_path: Path
) -> None:
    """The tokens SFT trains on are the ChatML rendering of dsc's messages, system turn first."""
    from trl import SFTConfig, SFTTrainer

    path = formats_build / "messages" / "train.jsonl"
    trainer = SFTTrainer(
        model=_model(chatml_tokenizer),
        args=SFTConfig(output_dir=str(tmp_path / "out"), max_length=256, **COMMON),
        train_dataset=load_dataset("json", data_files=str(path), split="train"),
        processing_class=chatml_tokenizer,
    )
    first = json.loads(_lines(path)[0])["messages"]
    expected = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in first)
    assert chatml_tokenizer.decode(trainer.train_dataset[0]["input_ids"]) == expected


def test_sft_refuses_the_alpaca_file(
    formats_build: Path, chatml_tokenizer, load_dataset, tmp_path: Path
) -> None:
    """The negative control: build/train.jsonl (instruction/input/output) is not a TRL format,
    and SFTTrainer fails on it with the KeyError docs/formats.md quotes."""
    from trl import SFTConfig, SFTTrainer

    dataset = load_dataset("json", data_files=str(formats_build / "train.jsonl"), split="train")
    with pytest.raises(KeyError) as raised:
        SFTTrainer(
            model=_model(chatml_tokenizer),
            args=SFTConfig(output_dir=str(tmp_path / "out"), max_length=256, **COMMON),
            train_dataset=dataset,
            processing_class=chatml_tokenizer,
        )
    assert raised.value.args == ("text",)


@pytest.mark.parametrize("name", ["preference", "preference_chat"])
def test_dpo_trains_on_the_preference_files(
    formats_build: Path, chatml_tokenizer, load_dataset, tmp_path: Path, name: str
) -> None:
    from trl import DPOConfig, DPOTrainer

    path = formats_build / name / "train.jsonl"
    trainer = DPOTrainer(
        model=_model(chatml_tokenizer),
        ref_model=_model(chatml_tokenizer),  # the same weights: the model is not on disk to reload
        args=DPOConfig(output_dir=str(tmp_path / "out"), max_length=256, **COMMON),
        train_dataset=load_dataset("json", data_files=str(path), split="train"),
        processing_class=chatml_tokenizer,
    )
    prepared = trainer.train_dataset
    assert prepared.num_rows == len(_lines(path))
    for column in ("prompt_ids", "chosen_ids", "rejected_ids"):
        assert all(prepared[column]), column
    _train(trainer)


@pytest.mark.parametrize("name", ["kto", "kto_chat"])
def test_kto_trains_on_the_kto_files(
    formats_build: Path, chatml_tokenizer, load_dataset, tmp_path: Path, name: str
) -> None:
    from trl import KTOConfig, KTOTrainer

    path = formats_build / name / "train.jsonl"
    rows = [json.loads(line) for line in _lines(path)]
    trainer = KTOTrainer(
        model=_model(chatml_tokenizer),
        ref_model=_model(chatml_tokenizer),
        args=KTOConfig(output_dir=str(tmp_path / "out"), max_length=256, **COMMON),
        train_dataset=load_dataset("json", data_files=str(path), split="train"),
        processing_class=chatml_tokenizer,
    )
    prepared = trainer.train_dataset
    assert prepared.num_rows == len(rows)
    assert prepared["label"] == [row["label"] for row in rows]
    assert all(prepared["completion_ids"])
    _train(trainer)
