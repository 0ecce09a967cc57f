"""Quality checks on each record: lengths, brand guardrails, empty output, duplicates, conflicts.

Two halves: Inspector runs the checks that need only the record itself (in worker processes,
on records in any order); Checker decides duplicates and conflicts, which depend on the
records before, and so sees every record in id order.
"""

from __future__ import annotations

import unicodedata
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from compiler.errors import Collector, Location
from compiler.hashing import collapse, record_digests
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


def fingerprints(record: Record) -> tuple[bytes, bytes, bytes]:
    """Digests of the record's normalised texts: the whole record, its prompt (system,
    instruction and input), its output (with the rejected answer and the label).

    Two records are duplicates when their record digests are equal: the same normalised
    instruction, input and output. Record texts are in NFC already (expand makes them so), so
    normalising them only collapses whitespace.
    """
    instruction, output = collapse(record.instruction), collapse(record.output)
    # What the formats add counts too, only when present: records without it hash as before.
    if record.system:
        instruction = f"{collapse(record.system)}\x1d{instruction}"
    for user, answer in reversed(record.history):
        instruction = f"{collapse(user)}\x1e{collapse(answer)}\x1e{instruction}"
    if record.rejected:
        output = f"{output}\x1drejected\x1d{collapse(record.rejected)}"
    if record.label is False:
        # An undesirable answer (KTO) shares its prompt with desirable ones, and with other
        # undesirable ones, by design: it is a duplicate only of the same answer, never a
        # conflict.
        instruction = f"{instruction}\x1dundesirable\x1d{output}"
    return record_digests(instruction, collapse(record.input), output)


class Inspector:
    """The checks that need no other record: empty output, brand guardrails, lengths."""

    def __init__(self, project: Project) -> None:
        self.brands = project.brands
        self._banned = {
            brand_id: [(phrase, _folded(phrase)) for phrase in brand.do_not_use]
            for brand_id, brand in project.brands.items()
        }
        self._required = {
            brand_id: [(phrase, _folded(phrase)) for phrase in brand.must_include]
            for brand_id, brand in project.brands.items()
        }

    def inspect(self, record: Record, errors: Collector) -> str | None:
        """None when the record passes, else why it is dropped; mistakes go to errors."""
        rule = record.rule
        output = record.output
        if not output:
            errors.add(
                rule.output.location,
                f"record {record.id} has an empty output",
                "every record needs an answer; check the output template and its data",
            )
            return "empty_output"
        if record.rejected and collapse(record.rejected) == collapse(output):
            errors.add(
                rule.rejected.location,
                f"record {record.id}: rejected is the same answer as the output",
                "a preference pair needs two different answers: check rejected and its data",
            )
            return "rejected_equals_output"
        brand = self._brand(record, errors)
        # The brand's rules hold for the answers a model should learn; a rejected answer or
        # an undesirable one (label false) is expected to break them.
        if brand is not None and record.label is not False:
            self._guardrails(record, brand, errors)
        limits = rule.limits
        # What formats add, each with its bounds: the system prompt its own (limits.system),
        # a rejected answer the output's, earlier turns the instruction's and the output's.
        extra = [("rejected", record.rejected, limits.output)] if record.rejected else []
        if record.system:
            extra.append(("system", record.system, limits.system))
        for user, answer in record.history:
            extra += [("history_user", user, limits.instruction)]
            extra += [("history_assistant", answer, limits.output)]
        for name, text, (low, high) in extra:
            if not low <= len(text) <= high:
                return f"{name}_too_short" if len(text) < low else f"{name}_too_long"
        sizes = len(record.instruction), len(record.input), len(output)
        bounds = limits.instruction, limits.input, limits.output
        (low_i, high_i), (low_n, high_n), (low_o, high_o) = bounds
        if (
            low_i <= sizes[0] <= high_i
            and low_n <= sizes[1] <= high_n
            and low_o <= sizes[2] <= high_o
        ):
            return None
        for name, (low, high), size in zip(FIELDS, bounds, sizes, strict=True):
            if size < low or size > high:
                return f"{name}_too_short" if size < low else f"{name}_too_long"
        return None  # pragma: no cover - one of the bounds failed above

    def _brand(self, record: Record, errors: Collector) -> Brand | None:
        brand_id = record.metadata.get("brand")
        if brand_id is None:
            return None
        brand = self.brands.get(brand_id)
        if brand is None:
            errors.add(
                record.rule.location,
                f"record {record.id} names unknown brand {brand_id!r}",
                f"known brands: {', '.join(sorted(self.brands)) or 'none'}",
            )
        return brand

    def _guardrails(self, record: Record, brand: Brand, errors: Collector) -> None:
        # Every answer of the record: earlier turns too (in NFC already, as _folded makes it).
        output = "\n".join([*(answer for _, answer in record.history), record.output]).casefold()
        where: Location = record.rule.output.location
        for phrase, folded in self._banned[brand.id]:
            if folded in output:
                errors.add(
                    where,
                    f"record {record.id}: output uses {phrase!r}, which "
                    f"brand {brand.id!r} does not allow (do_not_use)",
                    f"reword the output, or remove the phrase from {brand.location.file}",
                )
        for required, folded in self._required[brand.id]:
            if folded not in output:
                errors.add(
                    where,
                    f"record {record.id}: output lacks {required!r}, which "
                    f"brand {brand.id!r} requires (must_include)",
                    "add it to the output template",
                )


class Checker:
    """Duplicates and conflicts, for records seen in id order; keeps fingerprints, never texts.

    Records are known by their index in id order; id_of turns one into its id.
    """

    def __init__(self, id_of: Callable[[int], str]) -> None:
        self.id_of = id_of
        self.verdict = Verdict()
        # Fingerprints of the kept records: the whole record, and the prompt (with the first
        # record that had it). A kept record whose prompt was seen before has another output:
        # a conflict, remembered in _others so that duplicate_of can name it.
        self._seen: set[bytes] = set()
        self._prompts: dict[bytes, int] = {}
        self._others: dict[bytes, int] = {}

    def admit(self, index: int, key: bytes, prompt: bytes) -> bool:
        """Whether the record is kept; a duplicate of a kept record is dropped (and counted)."""
        if key in self._seen:
            self.verdict.drop("duplicate", self.id_of(index))
            return False
        self._seen.add(key)
        first = self._prompts.get(prompt)
        if first is None:
            self._prompts[prompt] = index
        else:
            # The same prompt, and not a duplicate: so another output.
            self._others[key] = index
            self.verdict.conflict_count += 1
            if len(self.verdict.conflicts) < MAX_LISTED:
                self.verdict.conflicts.append((self.id_of(first), self.id_of(index)))
        return True

    def duplicate_of(self, record: Record) -> str | None:
        """The id of the kept record that this one duplicates, if any."""
        key, prompt, _ = fingerprints(record)
        if key not in self._seen:
            return None
        kept = self._others.get(key)
        if kept is None:
            kept = self._prompts[prompt]
        kept_id = self.id_of(kept)
        return kept_id if kept_id != record.id else None
