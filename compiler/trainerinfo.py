"""What each trainer needs beside the files of a build: LLaMA-Factory's dataset_info.json, and
the card's lines on loading the build with TRL, LLaMA-Factory and Axolotl (docs/formats.md).

Pure, like card.py, which puts those lines in the card.
"""

from __future__ import annotations

import re
from typing import Any

from compiler.cardfiles import PLACE, CardInput, columns, files_of, splits_with_rows
from compiler.encode import dump_json
from compiler.formats import ALPACA, KTO_FORMATS, PAIR_FORMATS
from compiler.model import Project

# LLaMA-Factory's description of each format it reads (its data/README.md; docs/formats.md),
# and the stage that trains on it; the others hold lists it does not read as columns.
_TAGS = ("role_tag", "content_tag", "user_tag", "assistant_tag", "system_tag")
LLAMA_FACTORY: dict[str, dict[str, Any]] = {
    ALPACA: {"columns": {"prompt": "instruction", "query": "input", "response": "output"}},
    "sharegpt": {
        "formatting": "sharegpt",
        "columns": {"messages": "conversations"},
        "tags": dict(zip(_TAGS, ("from", "value", "human", "gpt", "system"), strict=True)),
    },
    "messages": {
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": dict(zip(_TAGS, ("role", "content", "user", "assistant", "system"), strict=True)),
    },
    "preference": {
        "ranking": True,
        "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"},
    },
    "kto": {"columns": {"prompt": "prompt", "response": "completion", "kto_tag": "label"}},
    "text": {"columns": {"prompt": "text"}},
}
_STAGES = {ALPACA: "sft", "sharegpt": "sft", "messages": "sft", "preference": "dpo", "kto": "kto"}
_STAGES["text"] = "pt"
_TRL = (
    ("SFTTrainer", ("messages", "prompt_completion", "prompt_completion_chat", "text")),
    ("DPOTrainer", PAIR_FORMATS),
    ("KTOTrainer", KTO_FORMATS),
)


def trainer_lines(project: Project, named: list[str], given: CardInput) -> list[str]:
    """The card's sections on TRL, LLaMA-Factory and Axolotl, for the configurations named."""
    return [
        *_trl(named),
        *_llama_factory(project, named, given),
        *_axolotl(project, named),
    ]


def _trl(named: list[str]) -> list[str]:
    lines = [
        f"- `{trainer}`: "
        + ", ".join(f'`load_dataset("{PLACE}", "{name}")`' for name in names if name in named)
        for trainer, names in _TRL
        if set(names) & set(named)
    ]
    if not lines:
        return []
    return [
        "### TRL",
        "Give the trainer the `train` split as `train_dataset` and `validation` as"
        " `eval_dataset` (the `id` and `metadata` columns do no harm):",
        "\n".join(lines),
    ]


def entry_name(project: Project, name: str, split: str) -> str:
    """A dataset_info.json entry: the dataset's name (as one word), the format, the split."""
    word = re.sub(r"[^A-Za-z0-9_.-]+", "_", project.config.name).strip("_") or "dataset"
    return f"{word}_{name}_{split}"


def entries(project: Project, name: str, split: str) -> list[tuple[str, str]]:
    """(entry name, file) of a format's split: one entry a shard (LLaMA-Factory's file_name
    is one file), named with the shard's number."""
    found = files_of(project, name, split)
    base = entry_name(project, name, split)
    if len(found) == 1:
        return [(base, found[0])]
    return [(f"{base}_{i:05d}", path) for i, path in enumerate(found)]


def dataset_info(project: Project, given: CardInput) -> str:
    """LLaMA-Factory's dataset_info.json: an entry for each file of each format it reads."""
    described_entries: dict[str, Any] = {}
    for name in project.config.formats:
        if name not in LLAMA_FACTORY:
            continue
        described = dict(LLAMA_FACTORY[name])
        if name == ALPACA:
            extra = {column: column for column, _ in columns(name, given)[3:]}
            described["columns"] = {**described["columns"], **extra}  # system, history
        for split in splits_with_rows(name, given):
            for entry, path in entries(project, name, split):
                described_entries[entry] = {"file_name": path, **described}
    return dump_json(described_entries)


def _llama_factory(project: Project, named: list[str], given: CardInput) -> list[str]:
    read = [name for name in named if name in LLAMA_FACTORY]
    if not read:
        return []
    first = read[0]
    named = {
        split: ",".join(entry for entry, _ in entries(project, first, split))
        for split in splits_with_rows(first, given)
    }
    lines = [f"stage: {_STAGES[first]}", f"dataset_dir: {PLACE}"]
    lines.append(f"dataset: {named.get('train') or next(iter(named.values()))}")
    if "val" in named:
        lines.append(f"eval_dataset: {named['val']}")
    listed = [
        f"- `{name}` (stage `{_STAGES[name]}`): "
        + ", ".join(
            f"`{entry}`"
            for split in splits_with_rows(name, given)
            for entry, _ in entries(project, name, split)
        )
        for name in read
    ]
    return [
        "### LLaMA-Factory",
        "`dataset_info.json` describes each file of the formats LLaMA-Factory reads, as"
        " `<name>_<format>_<split>`; give this folder as `dataset_dir`:",
        "```yaml\n" + "\n".join(lines) + "\n```",
        "\n".join(listed),
    ]


# Axolotl's dataset types for the formats it fine-tunes on (docs/formats.md).
_AXOLOTL = {
    ALPACA: ("type: alpaca",),
    "messages": ("type: chat_template", "field_messages: messages"),
    "sharegpt": (
        "type: chat_template",
        "field_messages: conversations",
        "message_property_mappings: {role: from, content: value}",
    ),
    "text": ("type: completion",),
}


def _axolotl(project: Project, named: list[str]) -> list[str]:
    def where(name: str) -> str:
        found = files_of(project, name, "train")
        if len(found) == 1:
            return f"{PLACE}/{found[0]}"
        return f"{PLACE}\n    data_files:\n" + "\n".join(f"      - {path}" for path in found)

    blocks = [
        f"  - path: {where(name)}\n    ds_type: json\n"
        + "\n".join(f"    {line}" for line in _AXOLOTL[name])
        for name in named
        if name in _AXOLOTL
    ]
    if not blocks:
        return []
    return [
        "### Axolotl",
        "An entry of `datasets:` for each format Axolotl fine-tunes on (keep the one you train on):"
        if len(blocks) > 1
        else "An entry of `datasets:`:",
        "```yaml\ndatasets:\n" + "\n".join(blocks) + "\n```",
    ]
