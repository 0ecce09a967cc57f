"""Where one record came from and why it landed in its split (or why it was dropped)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from compiler.errors import Location, fail
from compiler.hints import closest
from compiler.model import FIELDS, SPLITS, Project, Record
from compiler.split import key_text

if TYPE_CHECKING:
    from compiler.pipeline import Compiled


def explain(compiled: Compiled, record_id: str) -> dict[str, Any]:
    """Describe one record of a project compiled with watch=record_id and trace=True
    (pipeline.explain_record runs it); raises when there is no such id."""
    if compiled.watched is None:
        close = closest(record_id, map(compiled.ids, range(len(compiled.ids))), cutoff=0.5)
        raise fail(
            Location(""),
            f"no record with id {record_id!r}",
            f"did you mean {close!r}?"
            if close
            else "kept records are the ids of "
            'build/*.jsonl; dropped ones are listed under "dropped" in '
            "build/metadata.json",
        )
    record, reason, kept_index = compiled.watched
    rule = record.rule
    result: dict[str, Any] = {
        "id": record.id,
        "rule": {"task": rule.task, "id": rule.id, "defined_at": str(rule.location)},
        "bindings": dict(record.bindings),
        "picks": {
            name: {"alternative": index, "defined_at": str(alternatives[index].location)}
            for (name, index), (_, alternatives) in zip(record.picks, rule.pick, strict=True)
        },
        "record": {name: getattr(record, name) for name in FIELDS}
        | _extras(record)
        | {"metadata": record.metadata},
    }
    if reason is not None:
        result["dropped"] = _why_dropped(record, reason, compiled.checker.duplicate_of(record))
        return result
    result["checks"] = _checks(compiled.project, record)
    result["split"] = _placement(compiled, kept_index)
    return result


def _why_dropped(record: Record, reason: str, duplicate_of: str | None) -> str:
    if reason == "duplicate":
        return f"duplicate: same normalised instruction, input and output as {duplicate_of}"
    name = reason.rpartition("_too_")[0]
    low, high = record.rule.limits.of(name)
    size = len(getattr(record, name))
    return f"{reason}: {name} has {size} characters, allowed {low} to {high}"


def _checks(project: Project, record: Record) -> list[str]:
    limits = record.rule.limits
    checks = ["output is not empty"]
    checks += [
        f"{name} length {len(getattr(record, name))} within {limits.of(name)[0]}–"
        f"{limits.of(name)[1]} characters"
        for name in FIELDS
    ]
    brand = project.brands.get(record.metadata.get("brand") or "")
    if brand is not None:
        checks.append(
            f"brand {brand.id}: none of {len(brand.do_not_use)} do_not_use phrases, "
            f"includes {', '.join(brand.must_include) or 'nothing required'}"
        )
    checks.append("not a duplicate of an earlier record")
    return checks


def _placement(compiled: Any, index: int) -> dict[str, Any]:
    assignment = compiled.assignment
    trace = assignment.trace
    group = trace.record_group[index]
    split_name = SPLITS[assignment.splits[index]]
    targets = assignment.targets
    result: dict[str, Any] = {
        "split": split_name,
        "method": compiled.project.config.split.method,
        "group_by": compiled.project.config.split.group_by,
        "group_key": key_text(compiled.group_keys[index]),
        "group_size": trace.sizes[group],
        "stratum": dict(
            zip(compiled.project.config.split.stratify_by, compiled.strata[index], strict=True)
        ),
        "hash": f"{trace.hashes[group]:016x}",
        "targets": dict(zip(SPLITS, targets, strict=True)),
    }
    if trace.cells:
        start, size, cells = trace.starts[group], trace.sizes[group], trace.cells[group]
        cut1, cut2 = cells[0], cells[0] + cells[1]
        stratum_total = trace.stratum_sizes[group]
        result["start"] = start
        result["stratum_size"] = stratum_total
        result["stratum_cells"] = dict(zip(SPLITS, cells, strict=True))
        where = (
            "inside that slice"
            if cells[assignment.splits[index]]
            and start >= sum(cells[: assignment.splits[index]])
            and start + size <= sum(cells[: assignment.splits[index] + 1])
            else "across a cut, on the side that keeps the split sizes exact"
        )
        result["why"] = (
            f"its stratum's {stratum_total} records get train {cells[0]}, val {cells[1]}, "
            f"test {cells[2]} (each the floor or ceiling of its share, summing to the global "
            f"sizes); in hash order its group covers records {start}–{start + size - 1} of "
            f"the stratum, and the slices are train 0–{cut1 - 1}, val {cut1}–{cut2 - 1}, test "
            f"{cut2}–{stratum_total - 1}: it lies {where}, in {split_name}"
        )
    else:
        result["why"] = (
            f"stable method: hash {trace.hashes[group]:016x} / 2^64 falls in the "
            f"{split_name} share of the ratios"
        )
    return result


def _extras(record: Record) -> dict[str, Any]:
    """What the formats add to a record, when it has it: system, rejected, label."""
    extras: dict[str, Any] = {}
    if record.system:
        extras["system"] = record.system
    if record.history:
        extras["history"] = [list(turn) for turn in record.history]
    if record.rejected:
        extras["rejected"] = record.rejected
    if record.label is not None:
        extras["label"] = record.label
    return extras
