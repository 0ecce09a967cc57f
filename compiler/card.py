"""The build's README.md (a Hugging Face dataset card), and with it LLaMA-Factory's
dataset_info.json (made by trainerinfo.py).

Pure: both are text made from the project and the metadata document of the build, written by
the pipeline beside the files they describe. The card's front matter names every format as a
configuration with its exact files and features, so that `load_dataset(build, name)` neither
guesses splits from file names (tasks/ab_test_captions.jsonl is no test split) nor a column's
type from its values (a metadata key that is null in every row of a file is still a string).
"""

from __future__ import annotations

import unicodedata
from typing import Any

import yaml

from compiler.cardfiles import (
    HF_SPLITS,
    HISTORY,
    PLACE,
    CardInput,
    columns,
    configurations,
    data_files,
    splits_with_rows,
)
from compiler.formats import ALPACA, folder
from compiler.model import SPLITS, Project
from compiler.trainerinfo import dataset_info, trainer_lines

README = "README.md"
DATASET_INFO = "dataset_info.json"

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


def card_files(project: Project, metadata: dict[str, Any], given: CardInput) -> dict[str, str]:
    """README.md and dataset_info.json, by their paths in the build."""
    return {README: readme(project, metadata, given), DATASET_INFO: dataset_info(project, given)}


def features(name: str, metadata_keys: tuple[str, ...], given: CardInput) -> list[dict]:
    """A format's columns as the card's features, every one typed: no type is guessed from
    the values, which in one file may all be null (`datasets` would make such a column null
    there, and string in the next file) or empty lists."""
    typed: list[dict[str, Any]] = [{"name": "id", "dtype": "string"}]
    for column, kind in columns(name, given):
        if kind == HISTORY:
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
                {"split": HF_SPLITS[split], "path": data_files(project, name, split)}
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
        *trainer_lines(project, named, given),
        "Other formats (conversations for TRL, preference pairs and KTO labels) are a line of"
        " `formats:` in `specs/dataset.yaml` away; dsc's docs/formats.md says which trainer"
        " reads which.",
    ]
