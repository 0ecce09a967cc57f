"""dsc diff --format markdown as a pull-request comment (compiler/report.py on diffs made in
memory): a golden comment, a 100,000-record change, and for any change a comment within
GitHub's limit whose structure a CommonMark parser reads as written."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from compiler.diff import Change, Diff
from compiler.report import LIMIT, SHOWN, diff_markdown, units
from tests.helpers import examples

GITHUB = 65_536  # characters GitHub takes in a comment
GOLDEN = Path(__file__).resolve().parent / "diff" / "comment.md"
OWN_HTML = ("<details open><summary>", "<details><summary>", "</details>")


def structure(markdown: str) -> list[str]:
    """What is wrong with the comment's structure, as CommonMark (markdown-it) reads it: every
    HTML block is one of the comment's own tags, the <details> tags balance and nest, no record
    text became HTML, and every code fence is closed by its own fence line."""
    lines = markdown.split("\n")
    wrong = []
    depth = 0
    for token in MarkdownIt("commonmark").parse(markdown):
        if token.type == "html_block":
            tag = token.content.rstrip("\n")
            if "\n" in tag or not tag.startswith(OWN_HTML):
                wrong.append(f"line {token.map[0] + 1}: HTML block {tag!r}")
            depth += -1 if tag == "</details>" else 1
            if depth < 0:
                wrong.append(f"line {token.map[0] + 1}: </details> closes nothing")
        elif token.type == "fence":
            closing = lines[token.map[1] - 1] if token.map[1] <= len(lines) else ""
            if token.info != "diff" or closing != token.markup:
                wrong.append(f"line {token.map[0] + 1}: fence {token.markup!r} is not closed")
        elif token.type == "inline":
            html = [c.content for c in token.children or () if c.type == "html_inline"]
            wrong += [f"line {token.map[0] + 1}: inline HTML {tag!r}" for tag in html]
    if depth:
        wrong.append(f"{depth} <details> not closed")
    return wrong


# --- a golden comment -----------------------------------------------------------------------

CODE_OLD = "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))"
CODE_NEW = "def add(a, b):\n    return a + b  # ```sum```\n\n\nprint(add(1, 2))"
SMALL = Diff(
    added=(
        ("caption.post.00000000000000a1", "train", {"instruction": "Say <b>hi</b> `now`"}),
        ("caption.post.00000000000000a2", "val", {"instruction": "Caption | the </details> tea"}),
    ),
    removed=(("caption.post.00000000000000r1", "test", {"instruction": "Old prompt"}),),
    changed=(
        Change(
            "caption.post.00000000000000c1",
            "train",
            "val",
            (
                ("output", "Picked at dawn on the hills.", "Picked at sunrise in the hills."),
                ("metadata.platform", "x", "instagram"),
            ),
        ),
        Change("code.fix.00000000000000c2", "test", "test", (("output", CODE_OLD, CODE_NEW),)),
    ),
    moved=(("caption.post.00000000000000c1", "train", "val"),),
    counts={
        "split": {"train": (10, 9), "val": (1, 3)},
        "task": {},
        "brand": {"a|b": (0, 1)},
        "context": {},
    },
)


def test_a_small_comment_is_golden(update_golden: bool) -> None:
    """Every part of a comment, byte for byte: the summary first, the count table, a section
    for each kind of change, HTML in texts escaped, a fence longer than the backticks in a
    record. Rewritten by `pytest --update-golden` (review the diff)."""
    markdown = diff_markdown(SMALL) + "\n"
    if update_golden:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(markdown, encoding="utf-8")
    assert markdown == GOLDEN.read_text(encoding="utf-8")
    assert structure(markdown) == []


# --- a change of 100,000 records ------------------------------------------------------------

N = 100_000


def test_a_change_of_100000_records_fits_one_comment() -> None:
    """Each list is cut where the comment is full and what was left out is counted; the count
    table is cut too. (Made in memory: through dsc diff, two builds of 100,000 records take
    about 5 s to write, read and compare on this machine.)"""
    ids = [f"caption.post.{n:016x}" for n in range(N)]
    record = {"instruction": "Write a caption for our new green tea, brewed slowly. " * 4}
    old = "\n".join(f"line {k}: the tea is picked at dawn on the hills" for k in range(12))
    new = old.replace("line 5: the tea is picked at dawn", "line 5: the tea is picked at noon")
    result = Diff(
        added=tuple((i, "train", record) for i in ids),
        removed=tuple((i, "val", record) for i in ids),
        changed=tuple(Change(i, "train", "test", (("output", old, new),)) for i in ids),
        moved=tuple((i, "train", "test") for i in ids),
        counts={"context": {f"context-{n}": (n, n + 1) for n in range(N)}},
    )

    markdown = diff_markdown(result)

    lines = markdown.split("\n")
    assert units(markdown) <= LIMIT
    assert lines[0] == (
        f"### dsc diff: {N} added, {N} removed, {N} changed, {N} moved between splits"
    )
    assert structure(markdown) == []
    table = [line for line in lines if line.startswith("| context |")]
    assert 0 < len(table) <= SHOWN
    assert f"| … | {N - len(table)} more | | | |" in lines
    for title, marker in (("Added", "- `"), ("Removed", "- `"), ("Changed", "**`")):
        section = markdown.split(f"<summary>{title} ({N})</summary>")[1].split("\n</details>")[0]
        shown = sum(line.startswith(marker) for line in section.split("\n"))
        assert section.endswith(f"\n- … and {N - shown} more\n"), title
    moved = f"<details><summary>Moved between splits ({N})</summary>\n\n- … and {N} more\n\n"
    assert markdown.endswith(moved + "</details>")  # the room was full: none shown


# --- any change -----------------------------------------------------------------------------

# Pieces that have broken comments: backticks longer than a fence, tags that would end a fold,
# table pipes, lines that start a list or a diff line, characters past U+FFFF (two UTF-16
# units), Thai, control characters and line separators.
PIECES = [
    "`", "```", "````````", "~~~", "</details>", "<details>", "<summary>", "</summary>", "<b>",
    "|", "\n", "\n\n", " ", "-", "+", "@@", "* ", "# ", "word", "tea ", "😀", "𝔸", "กาแฟ",
    "\x1b[31m", "\u2028", "\r", "&amp;", "\\",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
# A text repeated up to 100 times: a field longer than a comment shows of it.
long_texts = st.builds(lambda text, times: text * times, texts, st.integers(1, 100))
values = st.one_of(texts, long_texts, st.none(), st.integers(), st.lists(texts, max_size=3))
splits = st.sampled_from(["train", "val", "test"])
fields = st.lists(
    st.tuples(st.sampled_from(["instruction", "input", "output", "metadata.x"]), values, values),
    min_size=1,
    max_size=3,
)


def _numbered(items: list, times: int, make) -> tuple:
    """items repeated times over, each with an id of its own: thousands of entries cheaply."""
    return tuple(make(f"{text}.{n}", *rest) for n in range(times) for text, *rest in items)


@st.composite
def diffs(draw) -> Diff:
    times = draw(st.integers(1, 400))
    changed_times = min(times, 4)  # (rendering a change costs most: fewer of them)
    records = st.lists(st.tuples(texts, splits, st.builds(dict, instruction=texts)), max_size=3)
    changes = st.lists(st.tuples(texts, splits, splits, fields), max_size=3)
    return Diff(
        added=_numbered(draw(records), times, lambda i, s, r: (i, s, r)),
        removed=_numbered(draw(records), times, lambda i, s, r: (i, s, r)),
        changed=_numbered(
            draw(changes), changed_times, lambda i, o, n, f: Change(i, o, n, tuple(f))
        ),
        moved=_numbered(
            draw(st.lists(st.tuples(texts, splits, splits), max_size=3)), times, lambda *m: m
        ),
        counts={
            "split": {},
            "task": {},
            "brand": draw(st.dictionaries(texts, st.tuples(st.integers(0, 9), st.integers(0, 9)))),
            "context": {},
        },
    )


@settings(max_examples=examples(15), deadline=None)
@given(diffs(), st.booleans())
def test_any_change_gives_a_comment_github_takes(result: Diff, full: bool) -> None:
    markdown = diff_markdown(result, full)

    assert units(markdown) <= LIMIT < GITHUB
    assert markdown.startswith("### dsc diff: ") and "\n" not in markdown.split("\n")[0]
    assert structure(markdown) == []
