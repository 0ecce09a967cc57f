"""dsc stats' document as text for a terminal: tables and small histograms of unicode block
bars, the same bytes on every machine (pure)."""

from __future__ import annotations

from typing import Any

BAR_WIDTH = 24  # cells of the longest bar
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(count: int, most: int, width: int = BAR_WIDTH) -> str:
    """count as a bar of block characters, most filling width cells (eighths of a cell)."""
    eighths = (count * width * 8 + most // 2) // most if most else 0
    if count and not eighths:
        eighths = 1  # a bin that has rows never looks empty
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def _table(header: list[str], rows: list[list[str]], right_from: int = 1) -> list[str]:
    """Columns padded to their widest cell: the first right_from left-aligned, the rest right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.ljust(widths[i]) if i < right_from else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _distributions(title: str, section: dict[str, Any]) -> list[str]:
    fields = {name: figures for name, figures in section.items() if name != "unit"}
    if not fields:
        return []
    lines = [f"{title}, {section['unit']}"]
    rows = [
        [name, *(_number(figures[k]) for k in ("min", "p50", "mean", "p95", "max"))]
        for name, figures in fields.items()
    ]
    lines += ["  " + line for line in _table(["", "min", "p50", "mean", "p95", "max"], rows)]
    for name, figures in fields.items():
        bins = figures["histogram"]
        if not bins:
            continue
        lines += ["", f"  {name}"]
        most = max(b["count"] for b in bins)
        edges = [f"{_number(b['from'])}–{_number(b['to'] - 1)}" for b in bins]
        width = max(len(edge) for edge in edges)
        for edge, b in zip(edges, bins, strict=True):
            lines.append(
                f"  {edge.rjust(width)}  {bar(b['count'], most).ljust(BAR_WIDTH)} {b['count']}"
            )
    return [*lines, ""]


def _counts(document: dict[str, Any]) -> list[str]:
    lines = []
    splits = document.get("splits", {})
    for key, pairs in document["counts"].items():
        header = [key, *splits, "all"]
        rows = []
        per_split = [dict(map(tuple, split["counts"].get(key, []))) for split in splits.values()]
        for value, count in pairs:
            per = [counts.get(value, 0) for counts in per_split]
            rows.append([value, *(_number(n) for n in per), _number(count)])
        lines += ["  " + line for line in _table(header, rows)] + [""]
    return (["counts", *lines]) if lines else []


def stats_text(document: dict[str, Any]) -> str:
    """The document as a terminal shows it."""
    files = [
        [f["path"], f["format"] or "-", _number(f["rows"]), f["split"] or "-"]
        for f in document["files"]
    ]
    lines = _table(["file", "format", "rows", "split"], files, right_from=2)
    lines += [f"{_number(document['rows'])} rows", ""]
    lines += _distributions("lengths", document["lengths"])
    if "tokens" in document:
        lines += _distributions("tokens", document["tokens"])
    lines += _counts(document)
    dup = document["duplicates"]
    lines.append(
        f"duplicates: {_number(dup['exact'])} exact, "
        f"{_number(dup['prompts_with_different_answers'])} prompts with different answers"
    )
    pairs = document.get("pairs", {})
    if "chosen_longer_share" in pairs:
        lines.append(f"chosen longer than rejected: {pairs['chosen_longer_share']:.1%} of pairs")
    if "desirable_share" in pairs:
        lines.append(f"desirable (label true): {pairs['desirable_share']:.1%} of rows")
    return "\n".join(lines)
