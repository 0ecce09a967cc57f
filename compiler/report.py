"""Format diffs and explanations for people: plain or coloured text, and markdown."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterator
from typing import Any

import click

from compiler.diff import Change, Diff
from compiler.errors import showable
from compiler.textdiff import Segment, as_text, compare, side

SHOWN = 200
OPEN_UP_TO = 10
FIELD_LINES = 50  # lines of one field's diff shown, then "… N more lines"
WIDTH = 400  # characters of one shown line, then "…"
ELIDE = 160  # in a marked line longer than this, long unchanged stretches are shortened
KEEP = 40  # to this many characters on each side of a mark
FOLD = 30  # a changed record's markdown block of more lines is folded
LIMIT = 60_000  # characters of a markdown comment (GitHub takes 65,536, CI may add a heading),
# counted as UTF-16 code units (a character past U+FFFF counts twice), as JavaScript counts
# them: within the limit whether a service counts code points or UTF-16 units.


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


def diff_text(result: Diff, colour: bool = False, full: bool = False) -> str:
    """Text for a terminal, coloured or with plain marks ([-removed-]{+added+}); full shows
    whole old and new texts instead of hunks."""
    paint = _painter(colour)
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
    for title, items, mark, colour_name in sections:
        if items:
            lines.append(f"{title}:")
            lines += [
                paint(
                    f"  {mark} {showable(i)} [{s}] {_short(r.get('instruction', ''))}", colour_name
                )
                for i, s, r in items[:SHOWN]
            ]
            lines += _more(len(items))
    if result.changed:
        lines.append("changed:")
        for change in result.changed[:SHOWN]:
            where = _split_of(change, "->")
            lines.append(paint(f"  ~ {showable(change.id)} [{where}]", "yellow"))
            for name, old, new in change.fields:
                lines += _field_text(name, old, new, colour, full)
        lines += _more(len(result.changed))
    if result.moved:
        lines.append("moved:")
        lines += [f"  > {showable(i)}: {o} -> {n}" for i, o, n in result.moved[:SHOWN]]
        lines += _more(len(result.moved))
    return "\n".join(lines)


# --- one changed field ------------------------------------------------------------------------
# A field's change is first laid out as rows (lead, segments): "@@" a hunk's header, " " a kept
# line, "-" / "+" a removed / added line, "~" one line with both its removals and additions,
# "…" what was cut. Text and markdown then draw the same rows.

Row = tuple[str, tuple[Segment, ...]]
FG = {"-": "red", "+": "green"}


def _painter(colour: bool) -> Any:
    def paint(text: str, fg: str, **style: bool) -> str:
        # (only the styles asked for: click writes a reset code for each one given as False)
        return (
            click.style(text, fg=fg, **{k: True for k, v in style.items() if v}) if colour else text
        )

    return paint


def _rows(old: Any, new: Any, full: bool, combined: bool) -> tuple[str, str] | list[Row]:
    """A short value's old and new (as JSON, shown `old -> new`), or the rows of a longer one:
    combined draws a one-line change as one "~" row, else as a "-" and a "+" row."""
    change = compare(old, new)
    if change.kind == "value":
        return showable(change.old), showable(change.new)
    if full:
        sides = (("-", old), ("+", new))
        return [(op, (("=", t),)) for op, value in sides for t in as_text(value).split("\n")]
    if change.kind == "words" and combined:
        rows = [("~", change.words)]
    elif change.kind == "words":
        rows = [(op, side(change.words, op)) for op in "-+"]
    else:
        rows = []
        for hunk in change.hunks:
            header = f"@@ -{_range(hunk.old_start, hunk.old_count)} "
            header += f"+{_range(hunk.new_start, hunk.new_count)} @@"
            rows.append(("@@", (("=", header),)))
            rows += [(line.op, line.words or (("=", line.text),)) for line in hunk.lines]
    if len(rows) > FIELD_LINES:
        rows = [*rows[:FIELD_LINES], ("…", (("=", f"… {len(rows) - FIELD_LINES} more lines"),))]
    return rows


def _range(start: int, count: int) -> str:
    return str(start) if count == 1 else f"{start},{count}"


def _pieces(segments: tuple[Segment, ...], full: bool) -> list[Segment]:
    """The segments as shown: untrusted text made inert; in a long marked line, kept stretches
    shortened around the marks and each mark cut at WIDTH / 4; the whole cut at WIDTH, unless
    the whole text was asked for."""
    marked = len(segments) > 1 and sum(len(text) for _, text in segments) > ELIDE
    shown: list[Segment] = []
    room = sum(len(text) for _, text in segments) if full else WIDTH
    for n, (op, text) in enumerate(segments):
        if marked and op == "=" and len(text) > 2 * KEEP + 1:
            before = "" if n == 0 else text[:KEEP]
            after = "" if n == len(segments) - 1 else text[-KEEP:]
            text = before + "…" + after
        elif marked and len(text) > WIDTH // 4:
            text = text[: WIDTH // 4] + "…"
        if len(text) > room:
            shown.append((op, showable(text[:room], "\t") + "…"))
            break
        shown.append((op, showable(text, "\t")))
        room -= len(text)
    return shown


def _drawn(lead: str, segments: tuple[Segment, ...], colour: bool, full: bool) -> str:
    """One row as text: plain marks, or colours (a removed or added line in red or green, its
    changed words reversed; in a "~" row removals struck through, additions underlined)."""
    paint = _painter(colour)
    if lead in ("@@", "…"):
        return paint(segments[0][1], "cyan") if lead == "@@" else segments[0][1]
    body = ""
    for op, text in _pieces(segments, full):
        if lead in FG:
            body += paint(text, FG[lead], reverse=op != "=") if colour else _marks(op, text)
        elif op == "=" or not colour:
            body += _marks(op, text)
        else:
            body += paint(text, FG[op], strikethrough=op == "-", underline=op == "+")
    prefix = f"{lead} " if body else lead.strip()  # an empty line ends in no space
    return (paint(prefix, FG[lead]) if lead in FG else prefix) + body


def _marks(op: str, text: str) -> str:
    return {"=": text, "-": f"[-{text}-]", "+": f"{{+{text}+}}"}[op]


def _field_text(name: str, old: Any, new: Any, colour: bool, full: bool) -> list[str]:
    paint = _painter(colour)
    rows = _rows(old, new, full, combined=True)
    if isinstance(rows, tuple):
        return [f"      {showable(name)}: {paint(rows[0], 'red')} -> {paint(rows[1], 'green')}"]
    drawn = [_drawn(*row, colour, full) for row in rows]
    return [f"      {showable(name)}:"] + [f"        {line}" if line else "" for line in drawn]


def _split_of(change: Change, arrow: str) -> str:
    """The changed record's split, or both when it moved."""
    if change.old_split == change.new_split:
        return change.new_split
    return f"{change.old_split} {arrow} {change.new_split}"


def _more(count: int) -> list[str]:
    return [f"  … and {count - SHOWN} more"] if count > SHOWN else []


def units(text: str) -> int:
    """The length of text in UTF-16 code units (LIMIT's measure)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class _Room:
    """What is left of the comment's LIMIT characters: entries are taken while they fit."""

    def __init__(self, size: int) -> None:
        self.left = size

    def take(self, lines: list[str]) -> bool:
        size = sum(units(line) + 1 for line in lines)
        if size > self.left:
            self.left = 0  # later, smaller entries are not taken either: the cut is one place
            return False
        self.left -= size
        return True


def _details(
    title: str, count: int, entries: Iterator[list[str]], room: _Room, gap: bool = False
) -> list[str]:
    """A folded section of the first entries that fit in the room (made one by one: those
    past it are never made); gap puts a blank line between entries."""
    body: list[str] = []
    taken = 0
    for entry in itertools.islice(entries, SHOWN):
        if not room.take(entry):
            break
        body += ([""] if gap and body else []) + entry
        taken += 1
    state = " open" if count <= OPEN_UP_TO else ""
    # (after a folded record's </details>, a blank line: else the HTML block would go on)
    more = [*[""] * (gap and taken > 0), f"- … and {count - taken} more"] if count > taken else []
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


def diff_markdown(result: Diff, full: bool = False) -> str:
    """Markdown ready to paste as a pull-request comment: long lists and long diffs are
    folded, and the whole stays within LIMIT characters (entries past it are counted)."""
    lines = [f"### dsc diff: {summary(result)}", ""]
    room = _Room(LIMIT - 1000)  # the sections' headings and closing tags fit in the rest
    rows = [(d, v, o, n) for d, values in result.counts.items() for v, (o, n) in values.items()]
    if rows:
        lines += ["| dimension | value | old | new | Δ |", "|---|---|---:|---:|---:|"]
        for taken, (d, v, o, n) in enumerate(rows):
            row = f"| {d} | {_cell(v)} | {o} | {n} | {n - o:+d} |"
            if taken == SHOWN or not room.take([row]):
                lines.append(f"| … | {len(rows) - taken} more | | | |")
                break
            lines.append(row)
        lines.append("")
    for title, items in (("Added", result.added), ("Removed", result.removed)):
        if items:
            entries = (
                [f"- {_code(i)} ({s}): {_plain(r.get('instruction', ''))}"] for i, s, r in items
            )
            lines += _details(title, len(items), entries, room)
    if result.changed:
        entries = (_changed_markdown(change, full) for change in result.changed)
        lines += _details("Changed", len(result.changed), entries, room, gap=True)
    if result.moved:
        entries = ([f"- {_code(i)}: {o} → {n}"] for i, o, n in result.moved)
        lines += _details("Moved between splits", len(result.moved), entries, room)
    return "\n".join(lines).rstrip("\n")


def _changed_markdown(change: Change, full: bool) -> list[str]:
    """A changed record as one `diff` block: a short field as `@@ name: old -> new @@`, a line
    as `@@ name @@` and its old and new lines, several lines as hunks `@@ -a,b +c,d @@ name`;
    edited words marked [-removed-] and {+added+} (markdown cannot colour within a line). A
    block over FOLD lines is folded."""
    where = _split_of(change, "→")
    block = []
    for name, old, new in change.fields:
        rows = _rows(old, new, full, combined=False)
        if isinstance(rows, tuple):
            block.append(f"@@ {showable(name)}: {rows[0]} -> {rows[1]} @@")
        elif rows and rows[0][0] == "@@":  # hunks: their headers name the field, as git's do
            label = showable(name)
            block += [
                _drawn(*row, False, full) + (f" {label}" if row[0] == "@@" else "") for row in rows
            ]
        else:
            block.append(f"@@ {showable(name)} @@")
            block += [_drawn(*row, False, full) for row in rows]
    fence = _fence(block)
    code = [fence + "diff", *block, fence]
    if len(block) <= FOLD:
        return [f"**{_code(change.id)}** ({where})", "", *code]
    name = html.escape(showable(change.id), quote=False)
    summary_line = f"<summary><code>{name}</code> ({where}): {len(block)} lines</summary>"
    return ["<details>" + summary_line, "", *code, "", "</details>"]


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
