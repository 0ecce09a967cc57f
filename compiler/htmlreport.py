"""The stats document as one self-contained HTML page: inline CSS, inline SVG charts, no network."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from compiler.errors import showable

# The page may load nothing and run nothing, whatever a bug lets through: no script, no
# font, no frame, no request; only its own inline style and data: images.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
TOP = 20  # bars and table rows shown per count list; the rest is one "n more" line
LEGEND = 7  # values of a key with their own colour in the balance charts; the rest is "other"
LABEL = 32  # characters of a value shown in a chart (the whole value is in the bar's title)
SPLIT_LABEL = 12  # characters of a split's name left of its bar in the balance charts
CELL = 200  # characters of a value shown in a table cell
FIELDS = ("system", "instruction", "input", "prompt", "user", "output", "assistant", "chosen")
FIELDS += ("rejected", "completion")
FACETS = ("task", "brand", "context", "quality")
SPLITS = ("train", "val", "test")
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442")
OTHER = "#999999"
WORDS = {
    "exact": "exact duplicate rows",
    "prompts_with_different_answers": "prompts with different answers",
    "chosen_longer_share": "pairs whose chosen answer is longer than the rejected one",
    "desirable_share": "rows labelled desirable",
}
STYLE = """
:root { color-scheme: light; font: 15px/1.45 system-ui, sans-serif; color: #1f2328; }
body { margin: 0; background: #fff; }
main { max-width: 760px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.6em; margin: 0.4em 0; }
h2 { font-size: 1.25em; margin: 1.6em 0 0.4em; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
table { border-collapse: collapse; margin: 0.4em 0; font-variant-numeric: tabular-nums; }
th, td { padding: 2px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; }
td.n, th.n { text-align: right; }
caption { text-align: left; color: #57606a; }
figure { margin: 0.6em 0 1.2em; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2328; }
svg .axis { stroke: #8c959f; stroke-width: 1; }
svg .null, .null { font-style: italic; }
details { margin: 0.2em 0 0; color: #57606a; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dt { color: #57606a; } dd { margin: 0; font-variant-numeric: tabular-nums; }
"""


def html_report(doc: dict[str, Any]) -> str:
    """The page for a `dsc stats` document: the same document gives the same text, whatever
    the order of its keys; every string from it is escaped."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>dsc stats: {_number(doc.get('rows', 0))} rows</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        "<h1>Dataset statistics</h1>",
        *_summary(doc),
        *_lengths("lengths", "Lengths", doc.get("lengths")),
        *_lengths("tokens", "Tokens", doc.get("tokens")),
        *_counts(doc.get("counts")),
        *_splits(doc.get("splits")),
        *_figures("duplicates", "Duplicates", doc.get("duplicates")),
        *_figures("pairs", "Pairs", doc.get("pairs")),
        "</main>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _esc(text: str, limit: int = 0) -> str:
    """text made safe to show, cut to limit characters, escaped for HTML text and attributes."""
    text = showable(text)
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=True)


def _label(value: Any) -> str:
    """A metadata value as shown: strings as they are, anything else in JSON's spelling."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _value(value: Any, limit: int) -> str:
    """An escaped value; null and other non-strings in italics, so `null` and "null" differ."""
    if isinstance(value, str):
        return _esc(value, limit)
    return f'<span class="null">{_esc(_label(value), limit)}</span>'


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _amount(value: Any) -> float:
    """A count or length for drawing: anything that is not a finite number >= 0 is 0."""
    return value if _is_number(value) and math.isfinite(value) and value > 0 else 0


def _number(value: Any) -> str:
    if not _is_number(value):
        return _esc(_label(value), CELL)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}" if math.isfinite(value) else _esc(repr(value))
    return f"{int(value):,}"


def _coordinate(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ordered(keys: Iterable[str], first: tuple[str, ...]) -> list[str]:
    """Known keys in their usual order, then the others by code point: never the document's
    own key order."""
    keys = list(keys)
    return [k for k in first if k in keys] + sorted(k for k in keys if k not in first)


def _count_list(value: Any) -> list[tuple[Any, float]]:
    """[[value, count], ...] by count, largest first, then by value; malformed items left out."""
    items = [
        (item[0], _amount(item[1]))
        for item in (value if isinstance(value, list) else ())
        if isinstance(item, list | tuple) and len(item) == 2
    ]
    return sorted(items, key=lambda item: (-item[1], _label(item[0]), type(item[0]).__name__))


def _table(
    table_id: str, caption: str, head: tuple[str, ...], rows: list[list[str]], text: int = 1
) -> str:
    """A table whose first `text` columns are text and the others numbers; cells escaped."""

    def cells(tag: str, row: Iterable[str]) -> str:
        scope = ' scope="col"' if tag == "th" else ""
        return "".join(
            f"<{tag}{scope}{'' if i < text else ' class=n'}>{c}</{tag}>" for i, c in enumerate(row)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><caption>{caption}</caption><tr>{cells('th', head)}</tr>{body}</table>"


def _details(caption: str, head: tuple[str, ...], rows: list[list[str]]) -> str:
    """A chart's figures as a table, folded under the chart."""
    return f"<details><summary>Figures</summary>{_table('', caption, head, rows)}</details>"


def _svg(ident: str, kind: str, size: tuple[float, float], title: str, desc: str) -> str:
    width, height = (_coordinate(v) for v in size)
    return (
        f'<svg id="{ident}" class="chart {kind}" role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"'
        f' aria-labelledby="{ident}-title {ident}-desc">'
        f'<title id="{ident}-title">{title}</title><desc id="{ident}-desc">{desc}</desc>'
    )


def _rect(cls: str, box: tuple[float, float, float, float], fill: str, tip: str) -> str:
    x, y, w, h = (_coordinate(v) for v in box)
    return (
        f'<rect class="{cls}" x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}">'
        f"<title>{tip}</title></rect>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", cls: str = "") -> str:
    extra = f' class="{cls}"' if cls else ""
    return (
        f'<text x="{_coordinate(x)}" y="{_coordinate(y)}" text-anchor="{anchor}"{extra}>'
        f"{text}</text>"
    )


def _summary(doc: dict[str, Any]) -> Iterator[str]:
    files = doc.get("files")
    files = [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []
    yield '<section id="summary">'
    yield f'<p><strong id="rows">{_number(doc.get("rows", 0))}</strong> rows'
    yield f" in {_number(len(files))} file{'' if len(files) == 1 else 's'}.</p>"
    rows = [
        [
            _value(f.get("path", ""), CELL),
            _value(f.get("format"), CELL),
            "" if f.get("split") is None else _value(f.get("split"), CELL),
            _number(f.get("rows", 0)),
        ]
        for f in files
    ]
    if rows:
        yield _table("files", "Files read", ("file", "format", "split", "rows"), rows, text=3)
    yield "</section>"


def _lengths(section: str, heading: str, block: Any) -> Iterator[str]:
    """A table of the figures of every field, then a histogram of each."""
    block = _dict(block)
    fields = _ordered((k for k, v in block.items() if isinstance(v, dict)), FIELDS)
    if not fields:
        return
    unit = _esc(_label(block.get("unit", "")), CELL)
    yield f'<section id="{section}"><h2>{heading}</h2>'
    keys = ("min", "p50", "mean", "p95", "max")
    rows = [[_esc(f, CELL)] + [_number(block[f].get(k, 0)) for k in keys] for f in fields]
    head = ("field", "min", "median", "mean", "95th percentile", "max")
    yield _table(f"{section}-table", f"{heading} in {unit}", head, rows)
    for index, field in enumerate(fields):
        yield f"<h3>{_esc(field, CELL)}</h3>"
        yield _histogram(f"{section}-hist-{index}", field, unit, block[field])
    yield "</section>"


def _histogram(ident: str, field: str, unit: str, figures: dict[str, Any]) -> str:
    bins = figures.get("histogram")
    bins = [b for b in bins if isinstance(b, dict)] if isinstance(bins, list) else []
    width, height, left, top, bottom = 640.0, 200.0, 56.0, 12.0, 30.0
    plot_w, plot_h = width - left - 12, height - top - bottom
    highest = max((_amount(b.get("count")) for b in bins), default=0) or 1
    title = f"Histogram of {_esc(field, CELL)} lengths ({unit})"
    names = (("min", "min"), ("median", "p50"), ("95th percentile", "p95"), ("max", "max"))
    desc = ", ".join(f"{name} {_number(figures.get(key, 0))}" for name, key in names)
    parts = [
        f'<figure data-field="{_esc(field, CELL)}">',
        _svg(ident, "histogram", (width, height), title, desc),
    ]
    base = _coordinate(top + plot_h)
    parts.append(f'<line class="axis" x1="{left:g}" y1="{base}" x2="{width - 12:g}" y2="{base}"/>')
    parts.append(_text(left - 6, top + 10, _number(highest), "end"))
    parts.append(_text(left - 6, top + plot_h, "0", "end"))
    step = plot_w / max(len(bins), 1)
    every = max(1, math.ceil(len(bins) / 8))
    rows = []
    for i, b in enumerate(bins):
        count = _amount(b.get("count"))
        h = count / highest * plot_h
        h = max(h, 1.0) if count else 0.0
        span = f"{_number(b.get('from', 0))}–{_number(b.get('to', 0))}"
        box = (left + i * step + 1, top + plot_h - h, max(step - 2, 1), h)
        parts.append(_rect("bar", box, PALETTE[0], f"{span}: {_number(b.get('count', 0))}"))
        if i % every == 0:
            parts.append(_text(left + i * step, height - 10, _number(b.get("from", 0)), "middle"))
        rows.append([span, _number(b.get("count", 0))])
    if bins:
        parts.append(_text(left + plot_w, height - 10, _number(bins[-1].get("to", 0)), "end"))
    parts.append("</svg>")
    parts.append(_details(title, ("length", "rows"), rows))
    parts.append("</figure>")
    return "".join(parts)


def _bars(ident: str, kind: str, title: str, items: list[tuple[Any, float]], key: str) -> str:
    """Horizontal bars, largest first: the TOP largest, then one line for the rest."""
    shown, rest = items[:TOP], items[TOP:]
    width, left, bar_w, row = 680.0, 232.0, 360.0, 22.0
    height = row * (len(shown) + (1 if rest else 0)) + 8
    highest = max((count for _, count in shown), default=0) or 1
    total = sum(count for _, count in items)
    desc = f"{_number(len(items))} values, {_number(total)} rows"
    figure = f'<figure data-key="{_esc(key, CELL)}">' if key else "<figure>"
    parts = [figure, _svg(ident, kind, (width, height), title, desc)]
    rows = []
    for i, (value, count) in enumerate(shown):
        y = 4 + i * row
        label = _esc(_label(value), LABEL)
        tip = f"{_esc(_label(value), CELL)}: {_number(count)}"
        cls = "" if isinstance(value, str) else "null"
        parts.append(_text(left - 8, y + 15, label, "end", cls))
        w = max(count / highest * bar_w, 1.0) if count else 0.0
        parts.append(_rect("bar", (left, y + 3, w, row - 6), PALETTE[0], tip))
        parts.append(_text(left + w + 6, y + 15, _number(count)))
        rows.append([_value(value, CELL), _number(count)])
    if rest:
        more = f"and {_number(len(rest))} more values ({_number(sum(c for _, c in rest))} rows)"
        parts.append(_text(left - 8, 4 + len(shown) * row + 15, more, "end", "more"))
        rows.append([f'<span class="more">{more}</span>', ""])
    parts.append("</svg>")
    parts.append(_details(title, ("value", "rows"), rows))
    parts.append("</figure>")
    return "".join(parts)


def _counts(block: Any) -> Iterator[str]:
    block = _dict(block)
    keys = _ordered(block, FACETS)
    if not keys:
        return
    yield '<section id="counts"><h2>Counts</h2>'
    for index, key in enumerate(keys):
        yield f"<h3>{_esc(key, CELL)}</h3>"
        title = f"Rows by {_esc(key, CELL)}"
        yield _bars(f"counts-{index}", "counts", title, _count_list(block[key]), key)
    yield "</section>"


def _splits(block: Any) -> Iterator[str]:
    block = {k: v for k, v in _dict(block).items() if isinstance(v, dict)}
    names = _ordered(block, SPLITS)
    if not names:
        return
    yield '<section id="splits"><h2>Splits</h2>'
    sizes = [(name, _amount(block[name].get("rows"))) for name in names]
    yield _bars("split-rows", "split-rows", "Rows by split", sizes, "")
    keys = _ordered({k for n in names for k in _dict(block[n].get("counts"))}, FACETS)
    for index, key in enumerate(keys):
        per_split = {n: _count_list(_dict(block[n].get("counts")).get(key)) for n in names}
        yield f"<h3>{_esc(key, CELL)} in each split</h3>"
        yield _balance(f"balance-{index}", key, names, per_split)
    yield "</section>"


def _balance(ident: str, key: str, names: list[str], per_split: dict[str, list]) -> str:
    """One bar a split, cut into each value's share of it: equal cuts mean a balanced split."""
    totals: dict[tuple[str, str], tuple[Any, float]] = {}
    for items in per_split.values():
        for value, count in items:
            same = (_label(value), type(value).__name__)
            totals[same] = (value, totals.get(same, (value, 0))[1] + count)
    ranked = _count_list([list(pair) for pair in totals.values()])
    legend = [value for value, _ in ranked[:LEGEND]]
    has_other = len(ranked) > LEGEND
    width, left, bar_w, row = 680.0, 80.0, 520.0, 26.0
    legend_rows = math.ceil((len(legend) + has_other) / 3)
    height = row * len(names) + 12 + 20 * legend_rows
    title = f"Share of each {_esc(key, CELL)} in each split"
    desc = f"{_number(len(ranked))} values over {_number(len(names))} splits"
    parts = [
        f'<figure data-key="{_esc(key, CELL)}">',
        _svg(ident, "balance", (width, height), title, desc),
    ]
    table = []
    for i, name in enumerate(names):
        counts = {(_label(v), type(v).__name__): c for v, c in per_split[name]}
        whole = sum(counts.values())
        shares = [(v, counts.get((_label(v), type(v).__name__), 0)) for v in legend]
        if has_other:
            shares.append((None, whole - sum(c for _, c in shares)))
        y, x = 4 + i * row, left
        parts.append(_text(left - 8, y + 16, _esc(name, SPLIT_LABEL), "end"))
        for j, (value, count) in enumerate(shares):
            w = count / whole * bar_w if whole else 0.0
            other = has_other and j == len(legend)
            fill = OTHER if other else PALETTE[j]
            shown = "other" if other else _esc(_label(value), CELL)
            tip = f"{_esc(name, CELL)}: {shown} {_number(count)} ({_percent(count, whole)})"
            parts.append(_rect("bar", (x, y + 3, w, row - 6), fill, tip))
            x += w
        table.append(
            [_esc(name, CELL)] + [f"{_number(c)} ({_percent(c, whole)})" for _, c in shares]
        )
    for j, value in enumerate([*legend, None] if has_other else legend):
        other = has_other and j == len(legend)
        x, y = left + (j % 3) * 180, row * len(names) + 12 + (j // 3) * 20
        parts.append(_rect("swatch", (x, y, 12, 12), OTHER if other else PALETTE[j], ""))
        label = "other" if other else _esc(_label(value), LABEL - 8)
        cls = "" if other or isinstance(value, str) else "null"
        parts.append(_text(x + 18, y + 11, label, "start", cls))
    parts.append("</svg>")
    head = ("split", *(_value(v, LABEL) for v in legend), *(("other",) if has_other else ()))
    parts.append(_details(title, head, table))
    parts.append("</figure>")
    return "".join(parts)


def _percent(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def _figures(section: str, heading: str, block: Any) -> Iterator[str]:
    block = _dict(block)
    if not block:
        return
    yield f'<section id="{section}"><h2>{heading}</h2><dl>'
    for key in _ordered(block, tuple(WORDS)):
        value = block[key]
        shown = _percent(value, 1) if key.endswith("_share") and _is_number(value) else None
        words = _esc(WORDS.get(key, key), CELL)
        yield f'<dt>{words}</dt><dd data-key="{_esc(key, CELL)}">{shown or _number(value)}</dd>'
    yield "</dl></section>"
