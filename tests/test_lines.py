"""The fast JSON lines (lines.py) are the definition's (formats.py through json.dumps), byte for
byte, for every format, record and chat template."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from compiler.formats import FORMATS, encoder
from compiler.lines import line_maker
from compiler.model import Record
from tests.helpers import examples

# Any text JSON escapes or keeps: quotes, backslashes, controls, line breaks, non-ASCII.
texts = st.one_of(
    st.just(""),
    st.text(alphabet=st.sampled_from('ab "\\\n\r\t\x00\x1f\x7fé\u0e01\u2028😀/<>'), max_size=12),
    st.text(max_size=12),
)
metadata_values = st.one_of(st.none(), texts)


@st.composite
def records(draw: st.DrawFn) -> Record:
    metadata = draw(st.dictionaries(texts, metadata_values, max_size=4))
    if draw(st.integers(0, 9)) == 0:
        metadata[draw(texts)] = draw(st.sampled_from([7, 1.5, True, ["a"]]))  # not str: fallback
    return Record(
        draw(texts.map(lambda t: "t.r." + t)),
        draw(texts),
        draw(texts),
        draw(texts),
        metadata,
        rule=None,  # type: ignore[arg-type]
        system=draw(texts),
        rejected=draw(texts),
        label=draw(st.sampled_from([None, True, False])),
        history=tuple(draw(st.lists(st.tuples(texts, texts), max_size=2))),
    )


def _template(context: dict) -> str:
    return "|".join(f"{m['role']}:{m['content']}" for m in context["messages"])


@settings(max_examples=examples(300), deadline=None)
@given(
    records(),
    st.lists(st.sampled_from(FORMATS), min_size=1, max_size=len(FORMATS), unique=True),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["chatml", "llama3", _template]),
)
@example(
    Record("t.r.1", "Ask", "", "Answer", {"task": "t", "lang": None}, rule=None),  # type: ignore[arg-type]
    list(FORMATS),
    False,
    False,
    "chatml",
)
def test_every_format_writes_the_definitions_bytes(
    record: Record, formats: list[str], with_system: bool, with_history: bool, chat
) -> None:
    expected = [encoder(name, with_system, chat, with_history)(record) for name in formats]
    assert line_maker(tuple(formats), with_system, chat, with_history)(record) == expected
