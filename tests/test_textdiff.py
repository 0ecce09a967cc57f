"""Unit tests of compiler/textdiff.py: how one changed field differs (hunks, words, values)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.textdiff import (
    SHORT,
    FieldDiff,
    Hunk,
    Line,
    compare,
    hunks,
    side,
    tokens,
    words,
)
from tests.helpers import CRAWL, CRAWL_EDITED, examples

PROPERTIES = settings(max_examples=examples(200), deadline=None)

THAI = "กาแฟร้อนหอมกรุ่น เสิร์ฟทุกเช้าที่ร้านของเรา ☕"


def test_tokens_are_words_spaces_and_marks_in_spaced_scripts() -> None:
    assert tokens("Hello,  wörld_2 café!") == ["Hello", ",", "  ", "wörld_2", " ", "café", "!"]


def test_tokens_of_thai_are_characters_with_their_vowel_and_tone_marks() -> None:
    # ร้ keeps its tone mark, รุ่ its vowel and tone mark: what a reader sees as one character.
    assert tokens("ร้อนหอมกรุ่น ☕") == ["ร้", "อ", "น", "ห", "อ", "ม", "ก", "รุ่", "น", " ", "☕"]


def test_tokens_of_chinese_and_japanese_are_characters() -> None:
    assert tokens("新绿茶、ください") == ["新", "绿", "茶", "、", "く", "だ", "さ", "い"]


def test_an_english_sentence_edit_marks_the_words() -> None:
    assert words(
        "The quick brown fox jumps over the lazy dog.",
        "The quick red fox jumped over the lazy dog.",
    ) == (
        ("=", "The quick "),
        ("-", "brown"),
        ("+", "red"),
        ("=", " fox "),
        ("-", "jumps"),
        ("+", "jumped"),
        ("=", " over the lazy dog."),
    )


def test_changes_one_space_apart_are_one_mark() -> None:
    assert words("leaves picked at dawn on the hills", "leaves picked at sunrise in the hills") == (
        ("=", "leaves picked at "),
        ("-", "dawn on"),
        ("+", "sunrise in"),
        ("=", " the hills"),
    )


def test_a_thai_edit_marks_the_characters_not_the_whole_run() -> None:
    """Thai has no spaces between words: by words, the whole first run would be replaced."""
    assert words(THAI, THAI.replace("ร้อน", "เย็น")) == (
        ("=", "กาแฟ"),
        ("-", "ร้อ"),
        ("+", "เย็"),
        ("=", "นหอมกรุ่น เสิร์ฟทุกเช้าที่ร้านของเรา ☕"),
    )


def test_a_one_line_edit_in_a_13_line_answer_is_one_hunk_with_3_lines_of_context() -> None:
    (hunk,) = hunks(CRAWL.split("\n"), CRAWL_EDITED.split("\n"))

    assert hunk == Hunk(
        5,
        7,
        5,
        7,
        (
            Line(" ", ""),
            Line(" ", "    async def one(url):"),
            Line(" ", "        async with semaphore:"),
            Line(
                "-",
                "            page = await fetch(url)",
                (("=", "            page = await fetch(url)"),),
            ),
            Line(
                "+",
                "            page = await fetch(url, timeout=10)",
                (("=", "            page = await fetch(url"), ("+", ", timeout=10"), ("=", ")")),
            ),
            Line(" ", "            return await store(page)"),
            Line(" ", ""),
            Line(" ", "    tasks = [one(url) for url in urls]"),
        ),
    )


def test_changes_far_apart_are_two_hunks_and_near_ones_one() -> None:
    old = [f"line {n}" for n in range(1, 21)]
    far = [*old[:1], "first", *old[2:18], "last", *old[19:]]
    near = [*old[:4], "fifth", *old[5:10], "eleventh", *old[11:]]

    assert [(h.old_start, h.old_count, h.new_start, h.new_count) for h in hunks(old, far)] == [
        (1, 5, 1, 5),
        (16, 5, 16, 5),
    ]
    assert [(h.old_start, h.old_count) for h in hunks(old, near)] == [(2, 13)]
    assert [(h.old_start, h.old_count) for h in hunks(old, near, context=0)] == [(5, 1), (11, 1)]


def test_lines_added_at_the_end_and_a_field_that_appears() -> None:
    (added,) = hunks(["a", "b"], ["a", "b", "c"])
    assert added == Hunk(1, 2, 1, 3, (Line(" ", "a"), Line(" ", "b"), Line("+", "c")))
    assert compare(None, "Be brief.\nAnswer in English.") == FieldDiff(
        "lines",
        "null",
        "Be brief.\nAnswer in English.",
        hunks=(Hunk(0, 0, 1, 2, (Line("+", "Be brief."), Line("+", "Answer in English."))),),
    )


def test_a_field_is_a_value_a_line_or_lines() -> None:
    """Short one-line values keep the `old -> new` form (as JSON: "" and null, "1" and 1 differ)."""
    assert compare("go", "rust") == FieldDiff("value", '"go"', '"rust"')
    assert compare(None, "") == FieldDiff("value", "null", '""')
    assert compare(True, False) == FieldDiff("value", "true", "false")
    long_old, long_new = "x" * SHORT + " a", "x" * SHORT + " b"
    assert compare(long_old, long_new) == FieldDiff(
        "words", long_old, long_new, words=(("=", "x" * SHORT + " "), ("-", "a"), ("+", "b"))
    )
    assert compare("a", "a\nb").kind == "lines"
    history = compare([["Hi?", "Hello."]], [["Hi?", "Hello there, how can I help?"]])
    assert history.kind == "words"
    assert history.words == (
        ("=", '[["Hi?", "Hello'),
        ("-", "."),
        ("+", " there, how can I help?"),
        ("=", '"]]'),
    )


def test_past_the_budget_the_middle_is_replaced_whole() -> None:
    """Untrusted text: comparing takes up to (size x edits) steps, so a middle that differs
    everywhere is not compared item by item."""
    size = 1000
    old = ["same", *(f"a{n}" for n in range(size)), "end"]
    new = ["same", *(f"a{n}" if n == size // 2 else f"b{n}" for n in range(size)), "end"]

    (hunk,) = hunks(old, new, context=1)

    # (under the bound, the line in the middle that both share would be kept)

    assert [line.op for line in hunk.lines] == [" "] + ["-"] * size + ["+"] * size + [" "]


def test_side_keeps_one_side_and_joins_its_kept_text() -> None:
    segments = (("=", "a "), ("-", "b"), ("+", "c"), ("=", " d"))
    assert side(segments, "-") == (("=", "a "), ("-", "b"), ("=", " d"))
    assert side((("=", "a "), ("+", "c"), ("=", " d")), "-") == (("=", "a  d"),)


# --- properties -----------------------------------------------------------------------------

# Text of several scripts, with spaces, punctuation, combining marks and line breaks.
ALPHABET = "ab cd,.\n\tกขร้อุ่่新茶é\u0301😀-"
texts = st.text(alphabet=ALPHABET, max_size=40)
lines_st = st.lists(st.sampled_from(["x", "y", "z", "x y", "", "กข"]), max_size=12)


@PROPERTIES
@given(texts)
def test_tokens_join_to_the_text(text: str) -> None:
    assert "".join(tokens(text)) == text


@PROPERTIES
@given(texts, texts)
def test_the_segments_give_back_the_old_and_the_new_text(old: str, new: str) -> None:
    segments = words(old, new)
    assert "".join(t for op, t in segments if op != "+") == old
    assert "".join(t for op, t in segments if op != "-") == new
    assert all(text for _, text in segments)


def apply(old: list[str], found: tuple[Hunk, ...]) -> list[str]:
    """Patch old with the hunks, checking that their kept and removed lines are old's."""
    result, at = [], 0
    for hunk in found:
        start = hunk.old_start - 1 if hunk.old_count else hunk.old_start
        result += old[at:start]
        at = start
        for line in hunk.lines:
            if line.op in " -":
                assert old[at] == line.text
                at += 1
            if line.op in " +":
                result.append(line.text)
            if line.words:
                assert "".join(t for _, t in line.words) == line.text
                assert {op for op, _ in line.words} <= {"=", line.op}
    return result + old[at:]


@PROPERTIES
@given(lines_st, lines_st, st.integers(min_value=0, max_value=3))
def test_applying_the_hunks_to_old_gives_new(old: list[str], new: list[str], context: int) -> None:
    found = hunks(old, new, context)
    assert apply(old, found) == new
    assert (found == ()) == (old == new)
    for hunk in found:
        assert sum(line.op in " -" for line in hunk.lines) == hunk.old_count
        assert sum(line.op in " +" for line in hunk.lines) == hunk.new_count


@PROPERTIES
@given(st.lists(texts, max_size=6), st.lists(texts, max_size=6))
def test_applying_the_hunks_of_any_text_gives_new(old: list[str], new: list[str]) -> None:
    old_lines = [line.replace("\n", "") for line in old]
    new_lines = [line.replace("\n", "") for line in new]
    assert apply(old_lines, hunks(old_lines, new_lines)) == new_lines


def test_each_added_line_is_tokenised_once_however_often_it_is_tried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pairing tries each removed line against the added lines after the last pair: an added
    line's tokens are made once and kept, so that a block built to be slow stays linear."""
    from compiler import textdiff

    made: list[str] = []
    real = textdiff._tokens

    def counted(text: str) -> list[str]:
        made.append(text)
        return real(text)

    monkeypatch.setattr(textdiff, "_tokens", counted)
    old = [f"{i}" + "a" * 50 for i in range(10)]
    new = [f"{i}" + "b" * 50 for i in range(10)]  # the same lengths, never similar
    textdiff._pairs(old, new, [10**9])
    assert sorted(made) == sorted(old + new)
