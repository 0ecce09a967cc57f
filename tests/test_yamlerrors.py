"""Unit tests of compiler/yamlerrors.py: YAML mistakes reported where a person would fix them."""

from __future__ import annotations

import pytest

from compiler.errors import CompileError
from compiler.yamldoc import parse_yaml

RULE = "task: t\nrules:\n  - id: a\n"


def error_of(text: str) -> str:
    with pytest.raises(CompileError) as raised:
        parse_yaml("t.yaml", text)
    return raised.value.render()


# --- indentation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        # A key dedented below its siblings: PyYAML stops on the line itself.
        (
            "      lang: en\n     tone: warm\n      quality: good\n",
            "t.yaml:6:6: error: invalid YAML: this line is indented by 5 spaces, its siblings "
            "above it by 6\n"
            "  hint: align it with its siblings: indent it by 6 spaces, as on line 5",
        ),
        # The siblings are found above a nested list, not at the list's own indentation.
        (
            "      tags:\n        - a\n     tone: warm\n",
            "t.yaml:7:6: error: invalid YAML: this line is indented by 5 spaces, its siblings "
            "above it by 6\n"
            "  hint: align it with its siblings: indent it by 6 spaces, as on line 5",
        ),
        # The first key dedented: PyYAML stops on the line after it, which reads as part of its
        # value; the culprit is the first line, as the two below it agree.
        (
            "     lang: en\n      tone: warm\n      quality: good\n",
            "t.yaml:5:6: error: invalid YAML: this line is indented by 5 spaces, its siblings "
            "below it by 6\n"
            "  hint: align it with its siblings: indent it by 6 spaces, as on line 6",
        ),
        # With one line below, the file's usual step (2) decides which of the two is off.
        (
            "     lang: en\n      tone: warm\n",
            "t.yaml:5:6: error: invalid YAML: this line is indented by 5 spaces, its siblings "
            "below it by 6\n"
            "  hint: align it with its siblings: indent it by 6 spaces, as on line 6",
        ),
        # The same after a quoted value, where PyYAML's message differs.
        (
            '     lang: "en"\n      tone: warm\n      quality: good\n',
            "t.yaml:5:6: error: invalid YAML: this line is indented by 5 spaces, its siblings "
            "below it by 6\n"
            "  hint: align it with its siblings: indent it by 6 spaces, as on line 6",
        ),
    ],
    ids=["key", "key_after_list", "first_key", "first_of_two", "first_key_quoted"],
)
def test_a_dedented_metadata_key_is_reported_on_its_own_line(metadata: str, expected: str) -> None:
    assert error_of(RULE + "    metadata:\n" + metadata + "    output: x\n") == expected


def test_a_line_indented_too_far_keeps_pyyaml_s_place() -> None:
    """Two keys, the second indented by a step the file does not use: the second is off."""
    assert error_of(RULE + "    metadata:\n      lang: en\n          tone: warm\n") == (
        "t.yaml:6:15: error: invalid YAML: a ': ' cannot appear in an unquoted value here\n"
        "  hint: quote the value if it contains ': ', or check the indentation of the line"
    )


# --- templates YAML reads as mappings -------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "    instruction: {{ ask }}",
            "t.yaml:4:18: error: YAML reads the unquoted {{ ask }} as a mapping, not as a "
            'template\n  hint: quote the template: instruction: "{{ ask }}"',
        ),
        (
            "    output: {{ name }} is great",
            "t.yaml:4:13: error: YAML reads the unquoted {{ name }} as a mapping, not as a "
            'template\n  hint: quote the template: output: "{{ name }} is great"',
        ),
        (
            "    output: {{ name }}, hi",
            "t.yaml:4:13: error: YAML reads the unquoted {{ name }} as a mapping, not as a "
            'template\n  hint: quote the template: output: "{{ name }}, hi"',
        ),
        (
            '    output: {{ x | default("a") }}',
            't.yaml:4:13: error: YAML reads the unquoted {{ x | default("a") }} as a mapping, '
            "not as a template\n  hint: quote the template: output: '{{ x | default(\"a\") }}'",
        ),
        (
            "    pick:\n      ask:\n        - {{ brand.name }}",
            "t.yaml:6:11: error: YAML reads the unquoted {{ brand.name }} as a mapping, not as a "
            'template\n  hint: quote the template: - "{{ brand.name }}"',
        ),
        (
            "    {{ ask }}: x",
            "t.yaml:4:5: error: YAML reads the unquoted key {{ ask }} as a mapping, not as a "
            "template\n  hint: a key is a plain name; quote it if it is meant as text: "
            '"{{ ask }}":',
        ),
    ],
    ids=["value", "value_and_text", "value_and_comma", "double_quotes", "list_item", "key"],
)
def test_an_unquoted_template_is_named_with_its_quoted_form(line: str, expected: str) -> None:
    assert error_of(RULE + line + "\n") == expected


def test_a_flow_mapping_that_is_not_a_template_keeps_its_message() -> None:
    assert error_of("a:\n  ? {b: 1}\n  : c\n") == (
        "t.yaml:2:5: error: a mapping key must be a string, not a mapping\n"
        "  hint: write the key as a plain name"
    )
