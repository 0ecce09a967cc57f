"""The build's README.md (a Hugging Face dataset card) and LLaMA-Factory's dataset_info.json.

Pure: both are text made from the project and the metadata document of the build, written by
the pipeline beside the files they describe. The card's front matter names every format as a
configuration with its exact files and features, so that `load_dataset(build, name)` neither
guesses splits from file names (tasks/ab_test_captions.jsonl is no test split) nor a column's
type from its values (a metadata key that is null in every row of a file is still a string).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from compiler.encode import dump_json
from compiler.formats import ALPACA, KTO_FORMATS, PAIR_FORMATS, folder
from compiler.model import SPLITS, Project
from compiler.shards import shard_names

README = "README.md"
DATASET_INFO = "dataset_info.json"
HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}
PLACE = "path/to/build"  # how the card names the build folder: it never knows where it is

# Each format's columns between `id` and `metadata`, in the order formats.py writes them:
# a string, a bool, a list of messages (a tuple: the keys of each message), or Alpaca's
# history (a list of [user, assistant] pairs).
_MESSAGE = ("role", "content")
COLUMNS: dict[str, tuple[tuple[str, Any], ...]] = {
    ALPACA: (("instruction", "string"), ("input", "string"), ("output", "string")),
    "messages": (("messages", _MESSAGE),),
    "sharegpt": (("conversations", ("from", "value")),),
    "prompt_completion": (("prompt", "string"), ("completion", "string")),
    "prompt_completion_chat": (("prompt", _MESSAGE), ("completion", _MESSAGE)),
    "preference": (("prompt", "string"), ("chosen", "string"), ("rejected", "string")),
    "preference_chat": (("prompt", _MESSAGE), ("chosen", _MESSAGE), ("rejected", _MESSAGE)),
    "kto": (("prompt", "string"), ("completion", "string"), ("label", "bool")),
    "kto_chat": (("prompt", _MESSAGE), ("completion", _MESSAGE), ("label", "bool")),
    "text": (("text", "string"),),
}
_HISTORY = "history"

# ISO 639-1: the `lang` metadata values that name a language (python or rust do not).
_ISO_639_1_TABLE = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv "
    "cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr "
    "ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw "
    "ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv "
    "ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr "
    "ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi "
    "yo za zh zu"
)
ISO_639_1 = frozenset(_ISO_639_1_TABLE.split())
# Hugging Face's size_categories: the k-th holds fewer than 10**(k + 3) records.
_SIZES = "n<1K 1K<n<10K 10K<n<100K 100K<n<1M 1M<n<10M 10M<n<100M 100M<n<1B 1B<n<10B 10B<n<100B"
_SIZES += " 100B<n<1T"

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


@dataclass(frozen=True)
class CardInput:
    """What the card says beyond the project and the metadata document."""

    rows: Mapping[str, Mapping[str, int]]  # format -> split -> rows in its file
    languages: frozenset[str] = frozenset()  # the kept records' `lang` metadata values
    with_system: bool = False  # the Alpaca rows have a system column
    with_history: bool = False  # and a history column (formats.alpaca_extras)
    text: str = ""  # the project's own words (specs/card.md)


def card_files(project: Project, metadata: dict[str, Any], given: CardInput) -> dict[str, str]:
    """README.md and dataset_info.json, by their paths in the build."""
    return {README: readme(project, metadata, given), DATASET_INFO: dataset_info(project, given)}


def file_of(name: str, split: str) -> str:
    return f"{folder(name)}{split}.jsonl"  # the file of a format's split, in the build


def files_of(project: Project, name: str, split: str) -> list[str]:
    """The files of a format's split: the file, or its shards (output.shards)."""
    return shard_names(file_of(name, split), project.config.shards)


def _data_files(project: Project, name: str, split: str) -> str | list[str]:
    found = files_of(project, name, split)
    return found[0] if len(found) == 1 else found


def splits_with_rows(name: str, given: CardInput) -> list[str]:
    """The splits of a format that a configuration names: `datasets` cannot load an empty
    file ('Instruction "validation" corresponds to no data!'), so those are left out."""
    return [split for split in SPLITS if given.rows[name][split]]


def configurations(project: Project, given: CardInput) -> tuple[list[str], str | None]:
    """The formats the card names as configurations, and the default: Alpaca when it has
    rows, else the first of them."""
    named = [name for name in project.config.formats if splits_with_rows(name, given)]
    default = ALPACA if ALPACA in named else next(iter(named), None)
    return named, default


def columns(name: str, given: CardInput) -> list[tuple[str, Any]]:
    """A format's columns between `id` and `metadata`, Alpaca's extra columns included."""
    found = list(COLUMNS[name])
    if name == ALPACA:
        found += [("system", "string")] if given.with_system else []
        found += [("history", _HISTORY)] if given.with_history else []
    return found


def features(name: str, metadata_keys: tuple[str, ...], given: CardInput) -> list[dict]:
    """A format's columns as the card's features, every one typed: no type is guessed from
    the values, which in one file may all be null (`datasets` would make such a column null
    there, and string in the next file) or empty lists."""
    typed: list[dict[str, Any]] = [{"name": "id", "dtype": "string"}]
    for column, kind in columns(name, given):
        if kind == _HISTORY:
            typed.append({"name": column, "list": {"list": "string"}})
        elif isinstance(kind, tuple):
            typed.append({"name": column, "list": [{"name": k, "dtype": "string"} for k in kind]})
        else:
            typed.append({"name": column, "dtype": kind})
    keys = [{"name": key, "dtype": "string"} for key in metadata_keys]
    return [*typed, {"name": "metadata", "struct": keys}]


def size_category(records: int) -> str:
    sizes = _SIZES.split()
    return next((name for k, name in enumerate(sizes) if records < 10 ** (k + 3)), "n>1T")


def front_matter(project: Project, metadata: dict[str, Any], given: CardInput) -> dict[str, Any]:
    """The card's YAML header: what the Hub shows and what `datasets` loads by."""
    card = project.config.card
    named, default = configurations(project, given)
    front: dict[str, Any] = {}
    if "pretty_name" in card:
        front["pretty_name"] = card["pretty_name"]
    if given.languages & ISO_639_1:
        front["language"] = sorted(given.languages & ISO_639_1)
    if "license" in card:
        front["license"] = card["license"]
    front["size_categories"] = [size_category(metadata["records"]["total"])]
    for key in ("task_categories", "tags"):
        if card.get(key):
            front[key] = list(card[key])
    front["configs"] = [
        {
            "config_name": name,
            **({"default": True} if name == default else {}),
            "data_files": [
                {"split": HF_SPLITS[split], "path": _data_files(project, name, split)}
                for split in splits_with_rows(name, given)
            ],
        }
        for name in named
    ]
    keys = project.metadata_keys
    front["dataset_info"] = [
        {"config_name": name, "features": features(name, keys, given)} for name in named
    ]
    return front


def readme(project: Project, metadata: dict[str, Any], given: CardInput) -> str:
    """The dataset card: the header, then what a person reads before using the data."""
    header = yaml.safe_dump(
        front_matter(project, metadata, given), sort_keys=False, allow_unicode=True, width=1 << 16
    )
    config = project.config
    parts = [f"# {_line(config.card.get('pretty_name') or config.name)}"]
    parts += [text.strip() for text in (config.description, given.text) if text.strip()]
    parts += _contents(project, metadata, given)
    parts += _loading(project, given)
    text = f"---\n{header}---\n\n" + "\n\n".join(parts) + "\n"
    # As every output is written: NFC, LF line ends (card.md may have been saved with CRLF).
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def _line(text: str) -> str:
    return " ".join(text.split())


def _table(head: list[str], rows: list[list[Any]], text_columns: int = 1) -> str:
    """A Markdown table: the first text_columns left-aligned, the counts right-aligned."""
    rule = ["---"] * text_columns + ["---:"] * (len(head) - text_columns)
    lines = [head, rule, *([_line(str(v)).replace("|", "\\|") for v in row] for row in rows)]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


_BY_SPLIT = [HF_SPLITS[split] for split in SPLITS] + ["total"]


def _contents(project: Project, metadata: dict[str, Any], given: CardInput) -> list[str]:
    records = metadata["records"]
    per_split = ", ".join(f"{HF_SPLITS[split]} {records[split]}" for split in SPLITS)
    keys = ", ".join(f"`{key}`" for key in project.metadata_keys)
    parts = [
        "## Contents",
        f"{records['total']} records ({per_split}). Every row holds its record's `id` and"
        f" `metadata` ({keys}) beside the columns of its format.",
    ]
    tasks = [[task, *per.values(), sum(per.values())] for task, per in metadata["tasks"].items()]
    totals = [records[split] for split in SPLITS]
    parts.append(_table(["task", *_BY_SPLIT], [*tasks, ["all", *totals, records["total"]]]))
    brands: dict[str | None, list[int]] = {}
    for row in metadata["counts"]:
        per = brands.setdefault(row["brand"], [0] * len(SPLITS))
        per[SPLITS.index(row["split"])] += row["records"]
    if set(brands) - {None}:
        order = sorted(brands, key=lambda brand: (brand is None, brand or ""))
        rows = [[brand or "(none)", *brands[brand], sum(brands[brand])] for brand in order]
        parts.append(_table(["brand", *_BY_SPLIT], rows))
    parts += _formats(project, given)
    lengths = metadata["lengths"]
    names = ("min", "p50", "mean", "p95", "max")
    rows = [
        [f"`{field}`", *(lengths[field][n] for n in names)] for field in lengths if field != "unit"
    ]
    parts += ["### Lengths", f"In {lengths['unit']}.", _table(["field", *names], rows)]
    compiler = metadata["compiler"]
    parts += [
        "### Reproducing",
        f"Built with {compiler['name']} {compiler['version']} from specs (`specs/`, `brands/`"
        f" and the data files the rules name) with seed {metadata['seed']}; fingerprint of the"
        f" inputs `{metadata['fingerprint']}`. The same specs, seed and dsc version give the same"
        " bytes: `dsc build` writes them, `dsc check` fails when this folder is not what the"
        " specs compile to, and `metadata.json` holds the sha256 of every input and output.",
    ]
    return parts


def _formats(project: Project, given: CardInput) -> list[str]:
    rows = []
    for name in project.config.formats:
        counts = [given.rows[name][split] for split in SPLITS]
        rows.append([f"`{name}`", f"`{folder(name) or './'}`", *counts, sum(counts)])
    parts = ["### Formats", _table(["configuration", "folder", *_BY_SPLIT], rows, 2)]
    shards = project.config.shards
    every = f"-*-of-{shards:05d}.jsonl" if shards > 1 else ".jsonl"
    if ALPACA in project.config.formats:
        parts.append(
            f"`tasks/<task>{every}` holds the Alpaca rows of each task, of every split: they are"
            " no configuration (they would repeat the splits)."
        )
    if shards > 1:
        parts.append(
            f"Each file is written as {shards} shards (`train-00000-of-{shards:05d}.jsonl` ...),"
            " cut at equal numbers of rows in id order: the shards concatenated in name order"
            " are the one file."
        )
    empty = [
        f"`{folder(name)}{split}{every}`"
        for name in project.config.formats
        for split in SPLITS
        if not given.rows[name][split]
    ]
    if empty:
        parts.append(
            "Files without rows are named by no configuration (`datasets` cannot load an empty"
            " file): " + ", ".join(empty) + "."
        )
    return parts


def _loading(project: Project, given: CardInput) -> list[str]:
    named, default = configurations(project, given)
    calls = [
        f'{name} = load_dataset("{PLACE}"'
        + (")  # the default configuration" if name == default else f', "{name}")')
        for name in named
    ]
    return [
        "## Loading",
        "### 🤗 datasets",
        "The header names each configuration's files and features: no split is guessed from a"
        " file name, and no column's type from its values. The splits are `train`, `validation`"
        " (`val.jsonl`) and `test`.",
        "```python\nfrom datasets import load_dataset\n\n" + "\n".join(calls) + "\n```",
        *_trl(named),
        *_llama_factory(project, named, given),
        *_axolotl(project, named),
        "Other formats (conversations for TRL, preference pairs and KTO labels) are a line of"
        " `formats:` in `specs/dataset.yaml` away; dsc's docs/formats.md says which trainer"
        " reads which.",
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
