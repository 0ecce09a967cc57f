"""The files a build's card describes: each format's columns, its files per split (whole or in
shards), and which splits have rows.

Pure: shared by card.py (README.md) and trainerinfo.py (dataset_info.json and the card's
lines on loading the build with each trainer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compiler.formats import ALPACA, folder
from compiler.model import SPLITS, Project
from compiler.shards import shard_names

HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}
PLACE = "path/to/build"  # how the card names the build folder: it never knows where it is

# Each format's columns between `id` and `metadata`, in the order formats.py writes them:
# a string, a bool, a list of messages (a tuple: the keys of each message), or Alpaca's
# history (a list of [user, assistant] pairs).
MESSAGE = ("role", "content")
COLUMNS: dict[str, tuple[tuple[str, Any], ...]] = {
    ALPACA: (("instruction", "string"), ("input", "string"), ("output", "string")),
    "messages": (("messages", MESSAGE),),
    "sharegpt": (("conversations", ("from", "value")),),
    "prompt_completion": (("prompt", "string"), ("completion", "string")),
    "prompt_completion_chat": (("prompt", MESSAGE), ("completion", MESSAGE)),
    "preference": (("prompt", "string"), ("chosen", "string"), ("rejected", "string")),
    "preference_chat": (("prompt", MESSAGE), ("chosen", MESSAGE), ("rejected", MESSAGE)),
    "kto": (("prompt", "string"), ("completion", "string"), ("label", "bool")),
    "kto_chat": (("prompt", MESSAGE), ("completion", MESSAGE), ("label", "bool")),
    "text": (("text", "string"),),
}
HISTORY = "history"


@dataclass(frozen=True)
class CardInput:
    """What the card says beyond the project and the metadata document."""

    rows: Mapping[str, Mapping[str, int]]  # format -> split -> rows in its file
    languages: frozenset[str] = frozenset()  # the kept records' `lang` metadata values
    with_system: bool = False  # the Alpaca rows have a system column
    with_history: bool = False  # and a history column (formats.alpaca_extras)
    text: str = ""  # the project's own words (specs/card.md)


def file_of(name: str, split: str) -> str:
    return f"{folder(name)}{split}.jsonl"  # the file of a format's split, in the build


def files_of(project: Project, name: str, split: str) -> list[str]:
    """The files of a format's split: the file, or its shards (output.shards)."""
    return shard_names(file_of(name, split), project.config.shards)


def data_files(project: Project, name: str, split: str) -> str | list[str]:
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
        found += [("history", HISTORY)] if given.with_history else []
    return found
