"""Frozen data types that flow between the pipeline stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Any

from compiler.errors import Location

SPLITS = ("train", "val", "test")
FIELDS = ("instruction", "input", "output")
CORE_METADATA = ("task", "rule", "brand", "context", "platform", "quality")

DEFAULT_LIMITS = {
    "instruction": (10, 1000),
    "input": (0, 4000),
    "output": (20, 4000),
    "system": (0, 4000),
}
LIMITED = (*FIELDS, "system")  # the fields limits: bounds (a rejected answer: output's)
DEFAULT_MAX_RECORDS = 5_000_000
DEFAULT_MAX_RECORD_CHARS = 100_000
# Bytes a build may write (limits.max_output_bytes): every kept record counts once per file it
# is written to (its task file and its split file).
DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024**3
DATASET_FILE = Location("specs/dataset.yaml")
CHAT_TEMPLATE = "specs/chat_template.jinja"  # optional: the text format's own chat template
DEFAULT_MAX_RECORD_CPU_SECONDS = 2.0  # per record, all its templates together
DEFAULT_MAX_MEMORY_MIB = 1024  # growth of a process's address space while it renders


@dataclass(frozen=True)
class Limits:
    """Per-field length bounds in characters (Unicode code points after NFC)."""

    instruction: tuple[int, int]
    input: tuple[int, int]
    output: tuple[int, int]
    system: tuple[int, int] = DEFAULT_LIMITS["system"]

    def of(self, name: str) -> tuple[int, int]:
        return getattr(self, name)


@dataclass(frozen=True)
class SplitConfig:
    method: str
    ratios: tuple[tuple[str, Fraction], ...]
    group_by: str
    stratify_by: tuple[str, ...]


@dataclass(frozen=True)
class Config:
    """specs/dataset.yaml, with every default filled in."""

    name: str
    seed: int
    split: SplitConfig
    limits: Limits
    max_records: int
    max_record_chars: int
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    output_budget_at: Location = DATASET_FILE  # where an error about the budget points
    max_record_cpu_seconds: float = DEFAULT_MAX_RECORD_CPU_SECONDS
    max_memory_mib: int = DEFAULT_MAX_MEMORY_MIB
    formats: tuple[str, ...] = ("alpaca",)  # the output formats, in the order declared
    chat_template: str = "chatml"  # for the text format
    card: dict[str, Any] = field(default_factory=dict)  # the card: section, as written
    description: str = ""  # the dataset card's first paragraph
    shards: int = 1  # output.shards: the files each output is cut into (compiler/shards.py)


@dataclass(frozen=True)
class Item:
    """One member of a collection: the key that names it in record ids, and its value."""

    key: str
    value: Any


@dataclass(frozen=True)
class Template:
    """Template text and where its first character stands in the spec file."""

    text: str
    location: Location
    body_line: int
    body_column: int


@dataclass(frozen=True)
class Source:
    """Where one `each` name takes its items from.

    kind is one of: items (inline, brands, contexts, collections, data files: fixed items),
    field (a path into the item bound to another name of the same rule).
    """

    name: str
    kind: str
    location: Location
    items: tuple[Item, ...] = ()
    parent: str = ""
    path: tuple[str, ...] = ()
    origin: str = ""


@dataclass(frozen=True)
class Rule:
    task: str
    id: str
    location: Location
    sources: tuple[Source, ...]
    when: Template | None
    pick: tuple[tuple[str, tuple[Template, ...]], ...]
    sample: int | None
    instruction: Template
    input: Template | None
    output: Template
    metadata: tuple[tuple[str, Template | None], ...]
    limits: Limits
    system: Template | None = None  # the rule's, else the task's
    rejected: Template | None = None  # the worse answer: a preference pair
    label: Template | None = None  # KTO: "true" (desirable) or "false"
    history: tuple[tuple[Template, Template], ...] = ()  # earlier (user, assistant) turns


@dataclass(frozen=True)
class Brand:
    id: str
    location: Location
    data: dict[str, Any]
    do_not_use: tuple[str, ...]
    must_include: tuple[str, ...]


@dataclass(frozen=True)
class Project:
    """Everything the specs declare, resolved and checked, ready to expand."""

    config: Config
    brands: dict[str, Brand]
    rules: tuple[Rule, ...]
    metadata_keys: tuple[str, ...]
    inputs: tuple[tuple[str, str], ...]
    card_text: str = ""  # specs/card.md: the project's own words for the dataset card
    chat_template_text: str = ""  # specs/chat_template.jinja, for chat_template: file


@dataclass(frozen=True)
class Record:
    """One record: its texts, the formats' extra fields, and where it came from."""

    id: str
    instruction: str
    input: str
    output: str
    metadata: dict[str, str | None]
    rule: Rule = field(compare=False, repr=False)
    bindings: tuple[tuple[str, str], ...] = ()
    picks: tuple[tuple[str, int], ...] = ()
    system: str = ""
    rejected: str = ""  # "" when the record is not a preference pair
    label: bool | None = None  # None when the rule gives no label
    history: tuple[tuple[str, str], ...] = ()  # earlier (user, assistant) turns, in order


def _filler(cls: type) -> Callable[..., Any]:
    """A function that makes an instance of the frozen dataclass cls from every field, in
    order, by filling its __dict__: what cls(...) makes, without a frozen __setattr__ call per
    field (expand makes millions of records). Written from cls's own fields, so it cannot miss
    one; tests/test_expand.py holds it equal to cls(...)."""
    names = [f.name for f in fields(cls)]
    body = "".join(f"    d[{name!r}] = {name}\n" for name in names)
    head = f"def make({', '.join(names)}):\n    made = new(cls)\n    d = made.__dict__\n"
    source = f"{head}{body}    return made\n"
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    exec(compile(source, f"<dsc-{cls.__name__}>", "exec"), namespace)
    return namespace["make"]


new_record: Callable[..., Record] = _filler(Record)  # Record(...) with every field given

Build = dict[str, tuple[str, dict[str, Any]]]  # a build read back: record id -> (split, record)
