"""How one changed field differs, for dsc diff: line hunks with context, and marks within lines."""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass
from typing import Any

CONTEXT = 3  # unchanged lines shown around a change, as git shows them
SHORT = 40  # a one-line value of at most this many characters is shown as old -> new
SIMILAR = 0.6  # a removed and an added line are one edited line when 60% of their text matches
# Untrusted text must not stall a diff: comparing a field may take BASE steps plus PER_CHAR a
# character of its old and new text, and never more than MOST (a step: one diagonal tried or
# one item matched, in Myers' algorithm). Past that, what is left is shown as replaced whole
# and no more lines are paired.
BASE = 20_000
PER_CHAR = 10
MOST = 1_000_000
LOOKAHEAD = 50  # an edited line is looked for among this many added lines
MAX_CHARS = 100_000  # a longer line is not cut into tokens at all

Segment = tuple[str, str]  # ("=", kept text) | ("-", removed text) | ("+", added text)

# Scripts written without spaces between words, by code point: Thai, Lao, Tibetan, Myanmar,
# Khmer, Tai Tham, Balinese, Javanese, the CJK ideographs, kana and bopomofo. Their text is
# compared by character (a base letter with its combining vowels and tone marks), not by word:
# a Thai sentence would otherwise be one "word" and every edit would replace all of it.
_NO_SPACES = (
    (0x0E00, 0x0EFF),
    (0x0F00, 0x0FFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x19E0, 0x19FF),
    (0x1A20, 0x1AAF),
    (0x1B00, 0x1B7F),
    (0x2E80, 0x2FDF),
    (0x3040, 0x312F),
    (0x31A0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA9E0, 0xA9FF),
    (0xA980, 0xA9DF),
    (0xAA60, 0xAA7F),
    (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
)


def _no_spaces(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _NO_SPACES)


def _kind(char: str) -> str:
    if char.isspace():
        return "space"
    if _no_spaces(char):
        return "cluster"
    category = unicodedata.category(char)
    return "word" if category[0] in "LN" or category == "Pc" else "other"


def tokens(text: str) -> list[str]:
    """text cut where a reader sees units: runs of letters and digits (a word), runs of
    whitespace, one punctuation mark or symbol, and one character (with its combining marks) of
    a script without spaces. Joined, the tokens give text back."""
    found: list[str] = []
    last = ""
    for char in text:
        if found and unicodedata.category(char)[0] == "M":
            found[-1] += char  # a combining mark stays with the character it marks
            continue
        kind = _kind(char)
        if found and kind == last and kind in ("word", "space"):
            found[-1] += char
        else:
            found.append(char)
        last = kind
    return found


Opcode = tuple[str, int, int, int, int]  # as difflib's: tag, old from, old to, new from, new to


def _opcodes(old: list[str], new: list[str], budget: list[int]) -> list[Opcode]:
    """How old becomes new, as difflib's opcodes: the common start and end set aside first
    (most edits touch one place), the middle by Myers' algorithm within budget, or taken as
    replaced whole past it."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    middle_old, middle_new = old[start : len(old) - end], new[start : len(new) - end]
    inner = _myers(middle_old, middle_new, budget)
    if inner is None:
        inner = [("replace", 0, len(middle_old), 0, len(middle_new))]
    found = [("equal", 0, start, 0, start)]
    found += [(tag, i + start, j + start, k + start, m + start) for tag, i, j, k, m in inner]
    found.append(("equal", len(old) - end, len(old), len(new) - end, len(new)))
    return [op for op in found if op[1] < op[2] or op[3] < op[4]]


def _myers(a: list[str], b: list[str], budget: list[int]) -> list[Opcode] | None:
    """A shortest edit script from a to b (Myers 1986, git's default), or None when finding it
    would take more steps than the budget holds (what it took is spent either way). Memory:
    the trace of d rounds holds d * d numbers, and the budget bounds d."""
    n, m = len(a), len(b)
    most = min(n + m, math.isqrt(2 * max(budget[0], 0)) + 1)  # past it, rounds cost more
    middle = most + 1
    furthest = [0] * (2 * most + 3)  # [middle + k]: the furthest x reached on diagonal x - y = k
    trace = []
    for d in range(most + 1):
        trace.append(furthest[middle - d - 1 : middle + d + 2])  # diagonals -d-1 .. d+1
        for k in range(-d, d + 1, 2):
            down = k == -d or (k != d and furthest[middle + k - 1] < furthest[middle + k + 1])
            x = furthest[middle + k + 1] if down else furthest[middle + k - 1] + 1
            y = x - k
            start = x
            while x < n and y < m and a[x] == b[y]:
                x, y = x + 1, y + 1
            budget[0] -= 1 + x - start
            furthest[middle + k] = x
            if x >= n and y >= m:
                return _script(trace, n, m)
        if budget[0] < 0:
            return None
    return None


def _script(trace: list[list[int]], n: int, m: int) -> list[Opcode]:
    """The opcodes of the path Myers' algorithm found, walked back from its end."""
    steps = []  # (old index, new index) of each point on the path, from the end
    x, y = n, m
    for d in range(len(trace) - 1, -1, -1):
        furthest = trace[d]  # diagonal k at [k + d + 1]
        k = x - y
        down = k == -d or (k != d and furthest[k + d] < furthest[k + d + 2])
        before = k + 1 if down else k - 1
        x0 = furthest[before + d + 1] if d else 0
        y0 = x0 - before if d else 0
        while x > x0 and y > y0:
            steps.append((x, y, "equal"))
            x, y = x - 1, y - 1
        if d:
            steps.append((x, y, "change"))
        x, y = x0, y0
    found: list[Opcode] = []
    i = j = 0
    for x, y, kind in reversed(steps):
        if found and (found[-1][0] == "equal") == (kind == "equal"):
            tag, i0, _, j0, _ = found.pop()
        else:
            tag, i0, j0 = kind, i, j
        found.append((tag, i0, x, j0, y))
        i, j = x, y
    return [
        (tag if tag == "equal" else _change(i1, i2, j1, j2), i1, i2, j1, j2)
        for tag, i1, i2, j1, j2 in found
    ]


def _change(i1: int, i2: int, j1: int, j2: int) -> str:
    return "replace" if i1 < i2 and j1 < j2 else "delete" if i1 < i2 else "insert"


def _tokens(text: str) -> list[str]:
    return tokens(text) if len(text) <= MAX_CHARS else [text]


def words(old: str, new: str) -> tuple[Segment, ...]:
    """The segments of old and new: kept, removed and added text, in order."""
    return _segments(_tokens(old), _tokens(new), [_budget(old, new)])[0]


def _budget(old: str, new: str) -> int:
    return min(BASE + PER_CHAR * (len(old) + len(new)), MOST)


def _segments(a: list[str], b: list[str], budget: list[int]) -> tuple[tuple[Segment, ...], float]:
    """The segments of two token lists, and how much of their text is kept (0-1).

    A short run kept between two changes (whitespace, a punctuation mark, one character of a
    script without spaces) joins them, so that one edited phrase is one mark, not five."""
    runs: list[list[str]] = []  # ["=", text] or ["~", removed, added]
    kept = 0
    for tag, i1, i2, j1, j2 in _opcodes(a, b, budget):
        if tag == "equal":
            text = "".join(a[i1:i2])
            kept += len(text)
            if runs and runs[-1][0] == "~" and (text.isspace() or _one_joiner(a[i1:i2])):
                runs.append(["=?", text])  # joins the changes around it if one follows
            else:
                runs.append(["=", text])
        elif runs and runs[-1][0] == "=?":
            joiner = runs.pop()[1]
            change = runs[-1]
            change[1] += joiner + "".join(a[i1:i2])
            change[2] += joiner + "".join(b[j1:j2])
        else:
            runs.append(["~", "".join(a[i1:i2]), "".join(b[j1:j2])])
    segments: list[Segment] = []
    for run in runs:
        if run[0] == "~":
            segments += [(op, text) for op, text in (("-", run[1]), ("+", run[2])) if text]
        else:
            segments.append(("=", run[1]))
    total = sum(map(len, a)) + sum(map(len, b))
    return tuple(segments), 2 * kept / total if total else 1.0


def _one_joiner(run: list[str]) -> bool:
    return len(run) == 1 and _kind(run[0][0]) in ("other", "cluster")


@dataclass(frozen=True)
class Line:
    """One line of a hunk: " " kept, "-" removed, "+" added. `words` is set when the line is
    one side of an edited line: its kept segments and its own changes ("-" or "+")."""

    op: str
    text: str
    words: tuple[Segment, ...] = ()


@dataclass(frozen=True)
class Hunk:
    """Lines old_start.. (old_count of them) of the old text became new_start.. of the new;
    numbered as in a unified diff (a range of no lines starts at the line before it)."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class FieldDiff:
    """How a field changed: "value" (short, shown old -> new), "words" (one line, with its
    segments) or "lines" (several lines, as hunks)."""

    kind: str
    old: str
    new: str
    words: tuple[Segment, ...] = ()
    hunks: tuple[Hunk, ...] = ()


def as_text(value: Any) -> str:
    """A field's value as text: text as it is, anything else (history: a list) as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def compare(old: Any, new: Any, context: int = CONTEXT) -> FieldDiff:
    """The change of one field, in the form it is best shown in."""
    old_text, new_text = as_text(old), as_text(new)
    if "\n" in old_text or "\n" in new_text:
        old_lines = [] if old is None else old_text.split("\n")
        new_lines = [] if new is None else new_text.split("\n")
        found = hunks(old_lines, new_lines, context, _budget(old_text, new_text))
        return FieldDiff("lines", old_text, new_text, hunks=found)
    if max(len(old_text), len(new_text)) <= SHORT:
        return FieldDiff(
            "value", json.dumps(old, ensure_ascii=False), json.dumps(new, ensure_ascii=False)
        )
    old_side = "" if old is None else old_text
    new_side = "" if new is None else new_text
    return FieldDiff("words", old_text, new_text, words=words(old_side, new_side))


def hunks(
    old: list[str], new: list[str], context: int = CONTEXT, steps: int = 0
) -> tuple[Hunk, ...]:
    """The changed lines with `context` kept lines around them, as a unified diff groups them;
    within `steps` (default: the budget of the lines' text), which pairing edited lines shares."""
    budget = [steps or _budget("\n".join(old), "\n".join(new))]
    found = []
    for group in _groups(_opcodes(old, new, budget), context):
        lines: list[Line] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [Line(" ", text) for text in old[i1:i2]]
                continue
            pairs = _pairs(old[i1:i2], new[j1:j2], budget)
            lines += [_side(text, pairs.get(("-", n)), "-") for n, text in enumerate(old[i1:i2])]
            lines += [_side(text, pairs.get(("+", n)), "+") for n, text in enumerate(new[j1:j2])]
        first, last = group[0], group[-1]
        old_count, new_count = last[2] - first[1], last[4] - first[3]
        found.append(
            Hunk(
                first[1] + (1 if old_count else 0),
                old_count,
                first[3] + (1 if new_count else 0),
                new_count,
                tuple(lines),
            )
        )
    return tuple(found)


def _side(text: str, segments: tuple[Segment, ...] | None, op: str) -> Line:
    """A line of a hunk; an edited one with its own side of the segments (kept text around
    what it removed, or around what it added)."""
    if segments is None:
        return Line(op, text)
    return Line(op, text, side(segments, op))


def side(segments: tuple[Segment, ...], op: str) -> tuple[Segment, ...]:
    """The segments of one side ("-" old, "+" new), kept text joined where the other side's
    change stood between."""
    found: list[Segment] = []
    for kind, text in segments:
        if kind not in ("=", op):
            continue
        if found and found[-1][0] == kind:
            found[-1] = (kind, found[-1][1] + text)
        else:
            found.append((kind, text))
    return tuple(found)


def _pairs(
    old: list[str], new: list[str], budget: list[int]
) -> dict[tuple[str, int], tuple[Segment, ...]]:
    """Removed and added lines that are one line edited, paired in order (each removed line
    with the first similar added line among the LOOKAHEAD after the last pair), with their
    segments."""
    found: dict[tuple[str, int], tuple[Segment, ...]] = {}
    new_tokens: dict[int, list[str]] = {}
    start = 0
    for i, line in enumerate(old):
        line_tokens = _tokens(line)
        for j in range(start, min(len(new), start + LOOKAHEAD)):
            if 2 * min(len(line), len(new[j])) < SIMILAR * (len(line) + len(new[j])):
                continue  # too different in length to be similar
            if budget[0] <= 0:
                return found
            other = new_tokens.get(j)
            if other is None:  # each added line tokenised once, however often it is tried
                other = new_tokens[j] = _tokens(new[j])
            segments, kept = _segments(line_tokens, other, budget)
            if kept >= SIMILAR:
                found[("-", i)] = found[("+", j)] = segments
                start = j + 1
                break
    return found


def _groups(
    opcodes: list[tuple[str, int, int, int, int]], context: int
) -> list[list[tuple[str, int, int, int, int]]]:
    """Opcodes in hunks: changes closer than 2 x context lines share one (difflib's rule)."""
    changes = [i for i, op in enumerate(opcodes) if op[0] != "equal"]
    if not changes:
        return []
    trimmed = list(opcodes[changes[0] - 1 if changes[0] else 0 : changes[-1] + 2])
    tag, i1, i2, j1, j2 = trimmed[0]
    if tag == "equal":
        trimmed[0] = (tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    tag, i1, i2, j1, j2 = trimmed[-1]
    if tag == "equal":
        trimmed[-1] = (tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    groups: list[list[tuple[str, int, int, int, int]]] = [[]]
    for tag, i1, i2, j1, j2 in trimmed:
        if tag == "equal" and i2 - i1 > 2 * context and groups[-1]:
            groups[-1].append((tag, i1, i1 + context, j1, j1 + context))
            groups.append([(tag, i2 - context, i2, j2 - context, j2)])
        else:
            groups[-1].append((tag, i1, i2, j1, j2))
    return [g for g in groups if any(op[0] != "equal" for op in g)]
