"""How dsc diff shows a changed field (compiler/report.py on diffs made in memory): marked words
and characters, hunks, --full, bounds, and untrusted text kept inert."""

from __future__ import annotations

from compiler.diff import Change, Diff, to_json
from compiler.report import FIELD_LINES, LIMIT, WIDTH, diff_markdown, diff_text

THAI = "กาแฟร้อนหอมกรุ่น เสิร์ฟทุกเช้าที่ร้านของเรา ☕"
ENGLISH = "Our new green tea, brewed slowly from leaves picked at dawn on the hills of Chiang Rai."
RED, GREEN, YELLOW, RESET = "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[0m"
STRUCK, UNDERLINED = "\x1b[9m", "\x1b[4m"


def changed(*fields: tuple[str, object, object], old: str = "train", new: str = "train") -> Diff:
    return Diff(changed=(Change("caption.post.0123456789abcdef", old, new, fields),))


THAI_EDIT = changed(
    ("output", THAI, THAI.replace("ร้อน", "เย็น")), ("metadata.platform", "x", "instagram")
)
ENGLISH_EDIT = changed(("output", ENGLISH, ENGLISH.replace("dawn on", "sunrise in")), new="test")


def test_a_thai_caption_edit_marks_the_characters_in_plain_text() -> None:
    assert diff_text(THAI_EDIT) == (
        "0 added, 0 removed, 1 changed, 0 moved between splits\n"
        "changed:\n"
        "  ~ caption.post.0123456789abcdef [train]\n"
        "      output:\n"
        "        ~ กาแฟ[-ร้อ-]{+เย็+}นหอมกรุ่น เสิร์ฟทุกเช้าที่ร้านของเรา ☕\n"
        '      metadata.platform: "x" -> "instagram"'
    )


def test_a_thai_caption_edit_in_colour_strikes_the_old_and_underlines_the_new() -> None:
    assert diff_text(THAI_EDIT, colour=True) == (
        "0 added, 0 removed, 1 changed, 0 moved between splits\n"
        "changed:\n"
        f"{YELLOW}  ~ caption.post.0123456789abcdef [train]{RESET}\n"
        "      output:\n"
        f"        ~ กาแฟ{RED}{STRUCK}ร้อ{RESET}{GREEN}{UNDERLINED}เย็{RESET}"
        "นหอมกรุ่น เสิร์ฟทุกเช้าที่ร้านของเรา ☕\n"
        f'      metadata.platform: {RED}"x"{RESET} -> {GREEN}"instagram"{RESET}'
    )


def test_a_thai_caption_edit_in_markdown_marks_each_side() -> None:
    assert diff_markdown(THAI_EDIT) == (
        "### dsc diff: 0 added, 0 removed, 1 changed, 0 moved between splits\n"
        "\n"
        "<details open><summary>Changed (1)</summary>\n"
        "\n"
        "**`caption.post.0123456789abcdef`** (train)\n"
        "\n"
        "```diff\n"
        "@@ output @@\n"
        "- กาแฟ[-ร้อ-]นหอมกรุ่น เสิร์ฟทุกเช้าที่ร้านของเรา ☕\n"
        "+ กาแฟ{+เย็+}นหอมกรุ่น เสิร์ฟทุกเช้าที่ร้านของเรา ☕\n"
        '@@ metadata.platform: "x" -> "instagram" @@\n'
        "```\n"
        "\n"
        "</details>"
    )


def test_a_thai_caption_edit_in_json_lists_the_segments() -> None:
    assert to_json(THAI_EDIT)["changed"] == [
        {
            "id": "caption.post.0123456789abcdef",
            "split": {"old": "train", "new": "train"},
            "fields": {
                "output": {
                    "old": THAI,
                    "new": THAI.replace("ร้อน", "เย็น"),
                    "kind": "words",
                    "words": [
                        ["=", "กาแฟ"],
                        ["-", "ร้อ"],
                        ["+", "เย็"],
                        ["=", "นหอมกรุ่น เสิร์ฟทุกเช้าที่ร้านของเรา ☕"],
                    ],
                },
                "metadata.platform": {"old": "x", "new": "instagram", "kind": "value"},
            },
        }
    ]


def test_an_english_sentence_edit_marks_the_words() -> None:
    kept, rest = (
        "Our new green tea, brewed slowly from leaves picked at ",
        " the hills of Chiang Rai.",
    )
    assert diff_text(ENGLISH_EDIT).splitlines()[2:] == [
        "  ~ caption.post.0123456789abcdef [train -> test]",
        "      output:",
        f"        ~ {kept}[-dawn on-]{{+sunrise in+}}{rest}",
    ]
    assert diff_markdown(ENGLISH_EDIT).splitlines()[4:11] == [
        "**`caption.post.0123456789abcdef`** (train → test)",
        "",
        "```diff",
        "@@ output @@",
        f"- {kept}[-dawn on-]{rest}",
        f"+ {kept}{{+sunrise in+}}{rest}",
        "```",
    ]
    assert to_json(ENGLISH_EDIT)["changed"][0]["fields"]["output"]["words"] == [
        ["=", kept],
        ["-", "dawn on"],
        ["+", "sunrise in"],
        ["=", rest],
    ]


def test_full_shows_the_whole_old_and_new_texts() -> None:
    old, new = "one\ntwo\nthree", "one\n2\nthree"
    edit = changed(("output", old, new), ("input", ENGLISH, ENGLISH + "!"), ("label", True, False))

    assert diff_text(edit, full=True).splitlines()[3:] == [
        "      output:",
        "        - one",
        "        - two",
        "        - three",
        "        + one",
        "        + 2",
        "        + three",
        "      input:",
        f"        - {ENGLISH}",
        f"        + {ENGLISH}!",
        "      label: true -> false",
    ]
    assert diff_markdown(edit, full=True).splitlines()[6:19] == [
        "```diff",
        "@@ output @@",
        "- one",
        "- two",
        "- three",
        "+ one",
        "+ 2",
        "+ three",
        "@@ input @@",
        f"- {ENGLISH}",
        f"+ {ENGLISH}!",
        "@@ label: true -> false @@",
        "```",
    ]
    assert diff_text(edit).splitlines()[3:9] == [
        "      output:",
        "        @@ -1,3 +1,3 @@",
        "          one",
        "        - two",
        "        + 2",
        "          three",
    ]


def test_full_does_not_cut_long_lines() -> None:
    long_old, long_new = "x" * 1000 + "\nend", "y" * 1000 + "\nend"

    full = diff_text(changed(("output", long_old, long_new)), full=True).splitlines()
    cut = diff_text(changed(("output", long_old, long_new))).splitlines()

    assert full[4:8] == [
        "        - " + "x" * 1000,
        "        - end",
        "        + " + "y" * 1000,
        "        + end",
    ]
    assert cut[5:7] == ["        - " + "x" * WIDTH + "…", "        + " + "y" * WIDTH + "…"]


def test_untrusted_text_stays_inert_in_text_and_markdown() -> None:
    """Escape sequences, bidirectional overrides, fences and HTML in record text: escaped in
    text, and inside a longer fence in markdown; a line never starts with record text."""
    old = "Run it:\n```sh\nmake test\n```"
    new = "Run it:\n```sh\nmake test\x1b[2J\n```\n</details>::error::x"
    line = "A caption that is long enough to be marked by words, with a twist."
    hostile = line.replace("twist.", "\u202etwist\x1b[31m.")
    edit = changed(("output", old, new), ("instruction", line, hostile))

    text = diff_text(edit)
    assert text.splitlines()[3:] == [
        "      output:",
        "        @@ -1,4 +1,5 @@",
        "          Run it:",
        "          ```sh",
        "        - make test",
        "        + make test{+\\x1b[2J+}",
        "          ```",
        "        + </details>::error::x",
        "      instruction:",
        "        ~ A caption that is long enough to be marked by words, with a "
        "{+\\u202e+}twist{+\\x1b[31m+}.",
    ]
    coloured = diff_text(edit, colour=True)
    assert "\x1b[2J" not in coloured and "\u202e" not in coloured
    assert f"{GREEN}{UNDERLINED}\\x1b[31m{RESET}." in coloured
    markdown = diff_markdown(edit)
    assert markdown.splitlines()[6:19] == [
        "````diff",
        "@@ -1,4 +1,5 @@ output",
        "  Run it:",
        "  ```sh",
        "- make test",
        "+ make test{+\\x1b[2J+}",
        "  ```",
        "+ </details>::error::x",
        "@@ instruction @@",
        f"- {line}",
        "+ A caption that is long enough to be marked by words, with a "
        "{+\\u202e+}twist{+\\x1b[31m+}.",
        "````",
        "",
    ]


def test_a_huge_change_is_cut_with_the_count_of_lines_left() -> None:
    old = "\n".join(f"line {n}" for n in range(1, 101))
    new = "\n".join(f"LINE {n}" for n in range(1, 101))

    lines = diff_text(changed(("output", old, new))).splitlines()

    assert lines[3:6] == ["      output:", "        @@ -1,100 +1,100 @@", "        - line 1"]
    assert lines[-2:] == ["        - line 49", f"        … {201 - FIELD_LINES} more lines"]
    assert len(lines) == 3 + 1 + FIELD_LINES + 1


def test_a_long_line_is_shortened_around_its_marks_and_cut() -> None:
    old = "word " * 100 + "old " + "word " * 100
    new = old.replace("old", "new")
    edit = changed(("output", old, new), ("input", "x" * 1000, "y" * 1000))

    assert diff_text(edit).splitlines()[3:] == [
        "      output:",
        "        ~ …" + "word " * 8 + "[-old-]{+new+}" + " word" * 8 + "…",
        "      input:",
        "        ~ [-" + "x" * (WIDTH // 4) + "…-]{+" + "y" * (WIDTH // 4) + "…+}",
    ]


def test_markdown_folds_a_long_block() -> None:
    old = "\n".join(f"line {n}" for n in range(1, 41))
    every_fifth = "\n".join(f"line {n}" if n % 5 else f"LINE {n}" for n in range(1, 41))

    lines = diff_markdown(changed(("output", old, every_fifth))).splitlines()

    assert lines[4:8] == [
        "<details><summary><code>caption.post.0123456789abcdef</code> (train): 48 lines</summary>",
        "",
        "```diff",
        "@@ -2,39 +2,39 @@ output",
    ]
    assert lines[-5:] == ["```", "", "</details>", "", "</details>"]
    short = diff_markdown(changed(("output", old, old.replace("line 40", "last"))))
    assert "**`caption.post.0123456789abcdef`** (train)" in short.splitlines()


def test_markdown_stays_within_a_pull_request_comment() -> None:
    """GitHub refuses a comment over 65,536 characters: records past LIMIT are counted."""
    records = tuple(
        Change(
            f"t.r.{n:04d}",
            "train",
            "train",
            (
                (
                    "output",
                    "\n".join(f"old {n} {k} " * 30 for k in range(60)),
                    "\n".join(f"new {n} {k} " * 30 for k in range(60)),
                ),
            ),
        )
        for n in range(150)
    )

    markdown = diff_markdown(Diff(changed=records))

    assert len(markdown) <= LIMIT
    lines = markdown.splitlines()
    assert lines.count("</details>") == sum(line.startswith("<details") for line in lines)
    shown = sum(line.startswith("<details><summary><code>t.r.") for line in lines)
    assert 0 < shown < 150
    assert lines[-3:] == [f"- … and {150 - shown} more", "", "</details>"]
