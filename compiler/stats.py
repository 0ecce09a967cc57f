"""Pure summaries of a build: counts, length statistics and the metadata.json document."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from compiler import __version__
from compiler.check import Verdict
from compiler.formats import folder
from compiler.hashing import fingerprint
from compiler.model import FIELDS, SPLITS, Project
from compiler.split import Assignment

FACETS = ("task", "brand", "context", "quality")
SPLIT_ALGORITHM = {
    "stratified": "stratum x split counts by controlled rounding of the quotas to the "
    "largest-remainder sizes; each stratum's groups in blake2b(seed, group key) order fill "
    "its train, val and test slices",
    "stable": "each group placed by blake2b(seed, group key) alone against the cumulative ratios",
}


def length_stats(values: array) -> dict[str, Any]:
    """Min, max, mean and nearest-rank percentiles of some lengths."""
    return counted_stats(Counter(values))


def counted_stats(counter: Counter[int]) -> dict[str, Any]:
    """length_stats of the lengths counted in counter (length -> how many): each distinct
    length is counted instead of sorting a million of them. dsc stats counts this way too."""
    counts = sorted((value, count) for value, count in counter.items() if count)
    if not counts:
        return {"min": 0, "max": 0, "mean": 0, "p50": 0, "p95": 0}
    n = sum(count for _, count in counts)

    def rank(p: int) -> int:
        position = max(0, -(-p * n // 100) - 1)
        for value, count in counts:
            if position < count:
                return value
            position -= count
        raise AssertionError("rank beyond the last value")

    return {
        "min": counts[0][0],
        "max": counts[-1][0],
        "mean": round(sum(value * count for value, count in counts) / n, 1),
        "p50": rank(50),
        "p95": rank(95),
    }


def count_rows(facets: Sequence[tuple], facet_of: Sequence[int], assignment: Assignment) -> list:
    """Record counts per split × task × brand × context × quality, one row each."""
    counter = Counter(zip(assignment.splits, facet_of, strict=True))
    return rows_of_counts({(split, facets[facet]): n for (split, facet), n in counter.items()})


def rows_of_counts(counter: Mapping[tuple[int, tuple], int]) -> list:
    """count_rows from the records counted by (split index, facet values)."""
    rows = []
    for (split_index, facet), count in counter.items():
        row = {"split": SPLITS[split_index]}
        row.update(zip(FACETS, facet, strict=True))
        row["records"] = count
        rows.append(row)
    rows.sort(key=lambda r: [SPLITS.index(r["split"])] + [str(r[k]) for k in FACETS])
    return rows


def metadata_document(
    project: Project,
    verdict: Verdict,
    assignment: Assignment,
    facets: Sequence[tuple],
    facet_of: Sequence[int],
    outputs: dict[str, str],
    format_rows: Sequence[bytearray] = (),
) -> dict[str, Any]:
    format_rows_of = {
        name: format_counts(assignment.splits, format_rows[index])
        for index, name in enumerate(project.config.formats)
        if project.config.formats != ("alpaca",)
    }
    rows = count_rows(facets, facet_of, assignment)
    return summary_document(
        project, verdict, assignment.sizes, assignment.groups, rows, format_rows_of, outputs
    )


def summary_document(
    project: Project,
    verdict: Verdict,
    sizes: Sequence[int],
    groups: int,
    rows: list,
    format_rows: Mapping[str, dict[str, int]],
    outputs: dict[str, str],
) -> dict[str, Any]:
    """metadata.json from what a runner counted: records per split, groups, the rows of
    count_rows, each format's format_counts (for projects of more than Alpaca)."""
    config = project.config
    inputs = dict(project.inputs)
    by_task: dict[str, dict[str, int]] = {}
    for row in rows:
        per = by_task.setdefault(row["task"], dict.fromkeys(SPLITS, 0))
        per[row["split"]] += row["records"]
    document = {
        "name": config.name,
        "compiler": {"name": "dsc", "version": __version__},
        "seed": config.seed,
        "fingerprint": fingerprint(inputs, config.seed),
        "split": {
            "method": config.split.method,
            "ratios": {name: float(r) for name, r in config.split.ratios},
            "group_by": config.split.group_by,
            "stratify_by": list(config.split.stratify_by),
            "algorithm": SPLIT_ALGORITHM[config.split.method],
            "groups": groups,
        },
        "records": {
            "total": sum(sizes),
            **dict(zip(SPLITS, sizes, strict=True)),
        },
        "tasks": dict(sorted(by_task.items())),
        "counts": rows,
        "lengths": {
            "unit": "characters (Unicode code points, NFC)",
            **{name: length_stats(verdict.lengths[name]) for name in FIELDS},
        },
        "dropped": {
            reason: {"records": count, "ids": ids}
            for reason, (count, ids) in sorted(verdict.dropped.items())
        },
        "conflicts": {
            "records": verdict.conflict_count,
            "pairs": [list(pair) for pair in verdict.conflicts],
        },
        "metadata_keys": list(project.metadata_keys),
        "inputs": inputs,
        "outputs": outputs,
    }
    if config.shards > 1:  # and so do builds written whole
        document["output"] = {"shards": config.shards}
    if config.formats != ("alpaca",):  # projects of one format keep the bytes they had
        document["formats"] = {
            name: {"folder": folder(name) or ".", **format_rows[name]} for name in config.formats
        }
    return document


def format_counts(splits: bytes, rows: bytearray) -> dict[str, int]:
    """Rows of one format per split: a record has 0, 1 or 2 rows in a format."""
    counts = [0] * len(SPLITS)
    for split, count in zip(splits, rows, strict=True):
        counts[split] += count
    return {"rows": sum(counts), **dict(zip(SPLITS, counts, strict=True))}
