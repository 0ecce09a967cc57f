"""Quality checks on each record: lengths, brand guardrails, empty output, duplicates, conflicts."""

from __future__ import annotations

import unicodedata
from array import array
from dataclasses import dataclass, field

from compiler.errors import Collector, Location
from compiler.hashing import digest, normalize, record_digests
from compiler.model import FIELDS, Brand, Project, Record

MAX_LISTED = 50


@dataclass
class Verdict:
    """What the checks decided about the records seen so far."""

    dropped: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    conflict_count: int = 0
    lengths: dict[str, array] = field(default_factory=lambda: {f: array("I") for f in FIELDS})

    def drop(self, reason: str, record_id: str) -> None:
        count, listed = self.dropped.get(reason, (0, []))
        if len(listed) < MAX_LISTED:
            listed.append(record_id)
        self.dropped[reason] = (count + 1, listed)


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


class Checker:
    """Checks records one at a time; keeps only fingerprints, never the texts."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.errors = Collector()
        self.verdict = Verdict()
        # Fingerprints of the kept records: the whole record, and the prompt (with the first
        # record that had it). A kept record whose prompt was seen before has another output:
        # a conflict, remembered in _others so that duplicate_of can name it.
        self._seen: set[bytes] = set()
        self._prompts: dict[bytes, str] = {}
        self._others: dict[bytes, str] = {}
        self._banned = {
            brand_id: [(phrase, _folded(phrase)) for phrase in brand.do_not_use]
            for brand_id, brand in project.brands.items()
        }
        self._required = {
            brand_id: [(phrase, _folded(phrase)) for phrase in brand.must_include]
            for brand_id, brand in project.brands.items()
        }
        self._last_output: tuple[Record | None, str] = (None, "")

    def check(self, record: Record) -> str | None:
        """None when the record is kept, else why it was dropped (counted by reason)."""
        rule = record.rule
        instruction, input_, output = record.instruction, record.input, record.output
        if not output:
            self.errors.add(
                rule.output.location,
                f"record {record.id} has an empty output",
                "every record needs an answer; check the output template and its data",
            )
            return "empty_output"
        brand = self._brand(record)
        if brand is not None:
            self._guardrails(record, brand)
        limits = rule.limits
        sizes = len(instruction), len(input_), len(output)
        bounds = limits.instruction, limits.input, limits.output
        (low_i, high_i), (low_n, high_n), (low_o, high_o) = bounds
        if not (
            low_i <= sizes[0] <= high_i
            and low_n <= sizes[1] <= high_n
            and low_o <= sizes[2] <= high_o
        ):
            for name, (low, high), size in zip(FIELDS, bounds, sizes, strict=True):
                if size < low or size > high:
                    reason = f"{name}_too_short" if size < low else f"{name}_too_long"
                    self.verdict.drop(reason, record.id)
                    return reason
        normalized = normalize(output)
        self._last_output = (record, normalized)
        key, prompt_key = record_digests(normalize(instruction), normalize(input_), normalized)
        if key in self._seen:
            self.verdict.drop("duplicate", record.id)
            return "duplicate"
        self._seen.add(key)
        first = self._prompts.get(prompt_key)
        if first is None:
            self._prompts[prompt_key] = record.id
        else:
            # The same prompt, and not a duplicate: so another output.
            self._others[key] = record.id
            self.verdict.conflict_count += 1
            if len(self.verdict.conflicts) < MAX_LISTED:
                self.verdict.conflicts.append((first, record.id))
        lengths = self.verdict.lengths
        lengths["instruction"].append(sizes[0])
        lengths["input"].append(sizes[1])
        lengths["output"].append(sizes[2])
        return None

    def duplicate_of(self, record: Record) -> str | None:
        """The id of the kept record that this one duplicates, if any."""
        key, prompt_key = record_digests(
            normalize(record.instruction), normalize(record.input), normalize(record.output)
        )
        if key not in self._seen:
            return None
        kept = self._others.get(key)
        if kept is None:
            kept = self._prompts[prompt_key]
        return kept if kept != record.id else None

    def output_digest(self, record: Record) -> bytes:
        """digest(normalize(record.output)), the group key for group_by: output; the text of
        the record just checked is normalized already."""
        last, normalized = self._last_output
        return digest(normalized if last is record else normalize(record.output))

    def _brand(self, record: Record) -> Brand | None:
        brand_id = record.metadata.get("brand")
        if brand_id is None:
            return None
        brand = self.project.brands.get(brand_id)
        if brand is None:
            self.errors.add(
                record.rule.location,
                f"record {record.id} names unknown brand {brand_id!r}",
                f"known brands: {', '.join(sorted(self.project.brands)) or 'none'}",
            )
        return brand

    def _guardrails(self, record: Record, brand: Brand) -> None:
        output = _folded(record.output)
        where: Location = record.rule.output.location
        for phrase, folded in self._banned[brand.id]:
            if folded in output:
                self.errors.add(
                    where,
                    f"record {record.id}: output uses {phrase!r}, which "
                    f"brand {brand.id!r} does not allow (do_not_use)",
                    f"reword the output, or remove the phrase from {brand.location.file}",
                )
        for required, folded in self._required[brand.id]:
            if folded not in output:
                self.errors.add(
                    where,
                    f"record {record.id}: output lacks {required!r}, which "
                    f"brand {brand.id!r} requires (must_include)",
                    "add it to the output template",
                )
