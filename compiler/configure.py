"""The settings of specs/dataset.yaml: split, limits and budgets, as one Config."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from compiler.errors import Collector
from compiler.hints import suggest
from compiler.model import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_MEMORY_MIB,
    DEFAULT_MAX_OUTPUT_BYTES,
    DEFAULT_MAX_RECORD_CHARS,
    DEFAULT_MAX_RECORD_CPU_SECONDS,
    DEFAULT_MAX_RECORDS,
    LIMITED,
    SPLITS,
    Config,
    Limits,
    SplitConfig,
)
from compiler.yamldoc import Document


def configuration(doc: Document, errors: Collector) -> Config:
    data = doc.data
    split = data.get("split", {})
    ratios_data = split.get("ratios", {"train": 0.8, "val": 0.1, "test": 0.1})
    ratios = tuple((name, Fraction(repr(ratios_data[name]))) for name in SPLITS)
    if sum(r for _, r in ratios) != 1:
        total = " + ".join(repr(ratios_data[name]) for name in SPLITS)
        errors.add(
            doc.at(("split", "ratios")),
            f"split ratios must sum to 1, not {total}",
            "for example train: 0.8, val: 0.1, test: 0.1",
        )
    limits = data.get("limits", {})
    return Config(
        name=data["name"],
        seed=data["seed"],
        split=SplitConfig(
            method=split.get("method", "stratified"),
            ratios=ratios,
            group_by=split.get("group_by", "output"),
            stratify_by=tuple(split.get("stratify_by", ["task"])),
        ),
        limits=limits_of(DEFAULT_LIMITS, limits, doc, ("limits",), errors),
        max_records=limits.get("max_records", DEFAULT_MAX_RECORDS),
        max_record_chars=limits.get("max_record_chars", DEFAULT_MAX_RECORD_CHARS),
        max_output_bytes=limits.get("max_output_bytes", DEFAULT_MAX_OUTPUT_BYTES),
        # The key when it is written, else the limits mapping, else the top of the file.
        output_budget_at=doc.at(("limits", "max_output_bytes")),
        max_record_cpu_seconds=limits.get("max_record_cpu_seconds", DEFAULT_MAX_RECORD_CPU_SECONDS),
        max_memory_mib=limits.get("max_memory_mib", DEFAULT_MAX_MEMORY_MIB),
        formats=tuple(data.get("formats", ["alpaca"])),
        chat_template=data.get("chat_template", "chatml"),
        card=data.get("card", {}),
        description=data.get("description", ""),
        shards=data.get("output", {}).get("shards", 1),
    )


def limits_of(base: Any, data: dict, doc: Document, path: tuple, errors: Collector) -> Limits:
    values = {}
    for name in LIMITED:
        low, high = base[name] if isinstance(base, dict) else base.of(name)
        given = data.get(name, {})
        low, high = given.get("min", low), given.get("max", high)
        if low > high and given:
            # Reported where min or max is written, not again in every file that inherits it.
            errors.add(
                doc.at((*path, name)),
                f"limits.{name}: min {low} is greater than max {high}",
                "raise max or lower min",
            )
        values[name] = (low, high)
    return Limits(**values)


def check_split_keys(
    doc: Document, config: Config, keys: tuple[str, ...], errors: Collector
) -> None:
    for i, key in enumerate(config.split.stratify_by):
        if key not in keys:
            errors.add(
                doc.at(("split", "stratify_by", i)),
                f"unknown metadata key {key!r} in stratify_by",
                suggest(key, keys),
            )
    if config.split.group_by.startswith("metadata."):
        key = config.split.group_by.split(".", 1)[1]
        if key not in keys:
            errors.add(
                doc.at(("split", "group_by")),
                f"unknown metadata key {key!r} in group_by",
                suggest(key, keys),
            )
