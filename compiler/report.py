"""Format diffs and explanations for people: plain or coloured text, and markdown."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import click

from compiler.diff import Change, Diff
from compiler.errors import showable

SHOWN = 200
OPEN_UP_TO = 10


# Everything shown here comes from build files, which a pull request may have written: every
# id, value, key and text passes through showable(), so that none can move the terminal's
# cursor or start a line of the CI log (where `::error::…` is a command).


def _short(text: Any, width: int = 72) -> str:
    line = " ".join(str(text).split())
    return showable(line if len(line) <= width else line[: width - 1] + "…")


def summary(result: Diff) -> str:
    if result.empty:
        return "no differences"
    return (
        f"{len(result.added)} added, {len(result.removed)} removed, "
        f"{len(result.changed)} changed, {len(result.moved)} moved between splits"
    )


def _delta(old: int, new: int) -> str:
    return f"{old} -> {new} ({new - old:+d})"


def diff_text(result: Diff) -> str:
    """Text for a terminal; click strips the colours when stdout is not one."""
    lines = [summary(result)]
    if any(result.counts.values()):
        lines.append("counts:")
        for dimension, values in result.counts.items():
            for value, (old, new) in values.items():
                lines.append(f"  {dimension:<8} {showable(str(value))}: {_delta(old, new)}")
    sections = (
        ("added", result.added, "+", "green"),
        ("removed", result.removed, "-", "red"),
    )
    for title, items, mark, colour in sections:
        if items:
            lines.append(f"{title}:")
            lines += [
                click.style(
                    f"  {mark} {showable(i)} [{s}] {_short(r.get('instruction', ''))}", fg=colour
                )
                for i, s, r in items[:SHOWN]
            ]
            lines += _more(len(items))
    if result.changed:
        lines.append("changed:")
        for change in result.changed[:SHOWN]:
            where = _split_of(change, "->")
            lines.append(click.style(f"  ~ {showable(change.id)} [{where}]", fg="yellow"))
            for name, old, new in change.fields:
                lines.append(f"      {showable(name)}:")
                lines += [click.style(f"        - {t}", fg="red") for t in _lines(old)]
                lines += [click.style(f"        + {t}", fg="green") for t in _lines(new)]
        lines += _more(len(result.changed))
    if result.moved:
        lines.append("moved:")
        lines += [f"  > {showable(i)}: {o} -> {n}" for i, o, n in result.moved[:SHOWN]]
        lines += _more(len(result.moved))
    return "\n".join(lines)


def _split_of(change: Change, arrow: str) -> str:
    """The changed record's split, or both when it moved."""
    if change.old_split == change.new_split:
        return change.new_split
    return f"{change.old_split} {arrow} {change.new_split}"


def _lines(value: Any) -> list[str]:
    """A value as diff lines: text as it is, anything else (history: a list) as JSON."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return [showable(t, "\t") for t in text.split("\n")]


def _more(count: int) -> list[str]:
    return [f"  … and {count - SHOWN} more"] if count > SHOWN else []


def _details(title: str, count: int, body: list[str]) -> list[str]:
    state = " open" if count <= OPEN_UP_TO else ""
    more = [f"- … and {count - SHOWN} more"] if count > SHOWN else []
    return [
        f"<details{state}><summary>{title} ({count})</summary>",
        "",
        *body,
        *more,
        "",
        "</details>",
        "",
    ]


def _code(text: str) -> str:
    return "`" + showable(str(text)).replace("`", "'") + "`"


def _cell(text: str) -> str:
    """A code span inside a table cell, where a bare | would end the cell."""
    return _code(text).replace("|", "\\|")


def _plain(text: Any) -> str:
    """A one-line summary as markdown text: HTML such as </details> must not end the fold."""
    return html.escape(_short(text), quote=False)


def _fence(body: list[str]) -> str:
    """A code fence longer than any run of backticks in the body (outputs often hold code)."""
    longest = max((len(run) for line in body for run in re.findall("`+", line)), default=0)
    return "`" * max(3, longest + 1)


def diff_markdown(result: Diff) -> str:
    """Markdown ready to paste as a pull-request comment; long lists are folded."""
    lines = [f"### dsc diff: {summary(result)}", ""]
    rows = [(d, v, o, n) for d, values in result.counts.items() for v, (o, n) in values.items()]
    if rows:
        lines += ["| dimension | value | old | new | Δ |", "|---|---|---:|---:|---:|"]
        lines += [f"| {d} | {_cell(v)} | {o} | {n} | {n - o:+d} |" for d, v, o, n in rows]
        lines.append("")
    for title, items in (("Added", result.added), ("Removed", result.removed)):
        if items:
            body = [
                f"- {_code(i)} ({s}): {_plain(r.get('instruction', ''))}"
                for i, s, r in items[:SHOWN]
            ]
            lines += _details(title, len(items), body)
    if result.changed:
        body = []
        for change in result.changed[:SHOWN]:
            where = _split_of(change, "→")
            block = []
            for name, old, new in change.fields:
                block.append(f"@@ {showable(name)} @@")
                block += [f"- {t}" for t in _lines(old)] + [f"+ {t}" for t in _lines(new)]
            fence = _fence(block)
            body += [f"**{_code(change.id)}** ({where})", "", fence + "diff", *block, fence, ""]
        lines += _details("Changed", len(result.changed), body[:-1])
    if result.moved:
        body = [f"- {_code(i)}: {o} → {n}" for i, o, n in result.moved[:SHOWN]]
        lines += _details("Moved between splits", len(result.moved), body)
    return "\n".join(lines).rstrip("\n")


def explain_text(result: dict[str, Any]) -> str:
    rule = result["rule"]
    lines = [
        f"record {result['id']}",
        f"  rule      {rule['task']}/{rule['id']} ({rule['defined_at']})",
    ]
    for name, key in result["bindings"].items():
        lines.append(f"  each      {name} = {key}")
    for name, pick in result["picks"].items():
        lines.append(
            f"  pick      {name}: alternative {pick['alternative']} ({pick['defined_at']})"
        )
    if "dropped" in result:
        lines.append(f"  dropped   {result['dropped']}")
    else:
        lines += [f"  check     {c}" for c in result["checks"]]
        placement = result["split"]
        stratum = ", ".join(f"{k}={v}" for k, v in placement["stratum"].items())
        lines.append(
            f"  group     {placement['group_by']} {placement['group_key'][:16]} "
            f"({placement['group_size']} record(s)), stratum {stratum or '-'}"
        )
        lines.append(f"  split     {placement['split']}: {placement['why']}")
    record = result["record"]
    indent = "\n" + " " * 12

    def field(name: str, value: Any) -> None:
        text = str(value).lower() if isinstance(value, bool) else value
        lines.append(f"  {name:<9} {text.replace(chr(10), indent)}")

    if "system" in record:
        field("system", record["system"])
    for user, answer in record.get("history", []):  # the earlier turns, in order
        field("earlier", f"user: {user}{indent}assistant: {answer}")
    for name in ("instruction", "input", "output", "rejected", "label"):
        if name in record:
            field(name, record[name])
    # Record texts and keys are project text: nothing in them may act on the terminal.
    return "\n".join(showable(line.rstrip(), "\t") for line in "\n".join(lines).split("\n"))
