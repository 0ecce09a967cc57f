"""dsc's build/ read by LLaMA-Factory's real data loader, `dataset_dir: build`, as it is.

LLaMA-Factory 0.9.5 (the `trainers` set-up installs it without its pinned dependencies, which
ask for older transformers, datasets and trl than TRL's tests use; docs/formats-sources.md
2.7) parses build/dataset_info.json with its own `get_dataset_list`, loads each entry's file
and converts it with its own converters. Every entry of the golden `formats` case, every
split, is loaded at the stage its kind trains in (`rm` for pairs, `kto` for KTO rows, `pt`
for text, `sft` otherwise), and each row must be the conversation dsc wrote: the same turns
whichever format LLaMA-Factory read it from. One entry of each stage is then tokenized by
LLaMA-Factory's `get_dataset` with its ChatML template and a tokenizer trained here.

`torchaudio`, which LLaMA-Factory imports at the top of `data/mm_plugin.py` only to load audio
files (lines 316 and 321), is an empty module when it is not installed: PyPI's torchaudio
needs a torch build other than the CPU one the tests use.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

STAGES = ("pt", "sft", "rm", "kto")
# on the xdist worker that runs test_trainers.py, which has torch and transformers loaded
pytestmark = pytest.mark.xdist_group("torch")


@pytest.fixture(scope="module")
def llamafactory(tmp_path_factory: pytest.TempPathFactory) -> types.SimpleNamespace:
    """LLaMA-Factory's loader, its argument classes and a model-free set of arguments."""
    if importlib.util.find_spec("torchaudio") is None:
        stub = types.ModuleType("torchaudio")
        stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
        sys.modules["torchaudio"] = stub
    with pytest.MonkeyPatch.context() as patch:
        # LLaMA-Factory checks its own pins at import unless told not to (extras/misc.py)
        patch.setenv("DISABLE_VERSION_CHECK", "1")
        from llamafactory.data.loader import _get_merged_dataset, get_dataset
        from llamafactory.data.template import get_template_and_fix_tokenizer
        from llamafactory.hparams import DataArguments, ModelArguments
        from transformers import Seq2SeqTrainingArguments

    cache = tmp_path_factory.mktemp("hf-cache")
    return types.SimpleNamespace(
        merged=_get_merged_dataset,
        get_dataset=get_dataset,
        template=get_template_and_fix_tokenizer,
        data=DataArguments,
        model=ModelArguments(model_name_or_path="unused", cache_dir=str(cache)),
        training=Seq2SeqTrainingArguments(output_dir=str(cache / "out"), report_to=[]),
    )


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _stage(entry: dict) -> str:
    if entry.get("ranking"):
        return "rm"
    if "kto_tag" in entry["columns"]:
        return "kto"
    return "pt" if entry["columns"] == {"prompt": "text"} else "sft"


def _turn(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def _expected(entry: dict, row: dict) -> dict[str, Any]:
    """The conversation dsc wrote in `row`: (system, prompt turns, response turns)."""
    columns = entry["columns"]
    if entry.get("formatting") == "sharegpt":
        tags = entry["tags"]
        roles = {tags["user_tag"]: "user", tags["assistant_tag"]: "assistant"}
        turns = row[columns["messages"]]
        system = ""
        if turns[0][tags["role_tag"]] == tags["system_tag"]:
            system, turns = turns[0][tags["content_tag"]], turns[1:]
        said = [_turn(roles[t[tags["role_tag"]]], t[tags["content_tag"]]) for t in turns]
        return {"system": system, "prompt": said[:-1], "response": said[-1:]}
    prompt = [
        turn
        for asked, answered in row.get(columns.get("history", ""), [])
        for turn in (_turn("user", asked), _turn("assistant", answered))
    ]
    asked = [row[columns[key]] for key in ("prompt", "query") if row.get(columns.get(key, ""))]
    prompt.append(_turn("user", "\n".join(asked)))
    if entry.get("ranking"):
        response = [_turn("assistant", row[columns[key]]) for key in ("chosen", "rejected")]
    elif "kto_tag" in columns:
        said, empty = _turn("assistant", row[columns["response"]]), _turn("assistant", "")
        response = [said, empty] if row[columns["kto_tag"]] else [empty, said]
    elif "response" in columns:
        response = [_turn("assistant", row[columns["response"]])]
    else:
        response = []
    return {
        "system": row.get(columns.get("system", ""), ""),
        "prompt": prompt,
        "response": response,
    }


def _load(lf: types.SimpleNamespace, build_dir: Path, name: str, stage: str):
    data = lf.data(dataset_dir=str(build_dir), dataset=[name], template="chatml")
    return lf.merged([name], lf.model, data, lf.training, stage)


def test_every_entry_loads_as_the_conversation_dsc_wrote(
    llamafactory: types.SimpleNamespace, formats_build: Path
) -> None:
    entries = json.loads((formats_build / "dataset_info.json").read_text(encoding="utf-8"))
    assert {_stage(entry) for entry in entries.values()} == set(STAGES)
    seen: dict[str, dict[str, dict]] = {}  # record id -> what each entry's row said
    for name, entry in entries.items():
        rows = _rows(formats_build / entry["file_name"])
        loaded = _load(llamafactory, formats_build, name, _stage(entry))
        assert len(loaded) == len(rows) > 0, name
        for row, got in zip(rows, loaded, strict=True):
            conversation = {
                "system": got["_system"],
                "prompt": got["_prompt"],
                "response": got["_response"],
            }
            assert conversation == _expected(entry, row), (name, row["id"])
            seen.setdefault(row["id"], {})[name] = conversation
    # One rule joins instruction and input: LLaMA-Factory reads the same turns from the Alpaca
    # files as from the messages and ShareGPT files dsc wrote for the same record.
    chats = [
        views
        for views in seen.values()
        if any(name.startswith("formats_messages_") for name in views)
    ]
    assert chats
    for views in chats:
        said = {
            json.dumps(view, sort_keys=True)
            for name, view in views.items()
            if name.split("_")[1] in ("alpaca", "messages", "sharegpt")
        }
        assert len(said) == 1, views


@pytest.mark.parametrize(
    ("name", "stage"),
    [
        ("formats_alpaca_train", "sft"),
        ("formats_messages_train", "sft"),
        ("formats_preference_train", "rm"),
        ("formats_kto_train", "kto"),
        ("formats_text_train", "pt"),
    ],
)
def test_llamafactory_tokenizes_each_stage(
    llamafactory: types.SimpleNamespace,
    formats_build: Path,
    chatml_tokenizer,
    name: str,
    stage: str,
) -> None:
    entry = json.loads((formats_build / "dataset_info.json").read_text(encoding="utf-8"))[name]
    rows = _rows(formats_build / entry["file_name"])
    data = llamafactory.data(
        dataset_dir=str(formats_build), dataset=[name], template="chatml", cutoff_len=4096
    )
    template = llamafactory.template(chatml_tokenizer, data)
    module = llamafactory.get_dataset(
        template, llamafactory.model, data, llamafactory.training, stage, chatml_tokenizer
    )
    train = module["train_dataset"]
    assert len(train) == len(rows)
    key = "chosen_input_ids" if stage == "rm" else "input_ids"
    assert all(len(example[key]) > 0 for example in train)
