"""Parse YAML text into plain values, keeping every node's position (pure)."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from compiler.errors import Location, fail
from compiler.yamlcompose import compose
from compiler.yamlerrors import template_slip

MAX_INT_DIGITS = 100
# Control characters (YAML's reader refuses most; it counts NEL, U+2028 and U+2029 as line
# breaks, which would shift every position after them) and non-characters.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]")
CHAR_KIND = {
    "\u2028": "line separator",
    "\u2029": "paragraph separator",
    "\ufffe": "non-character",
    "\uffff": "non-character",
}

Path_ = tuple  # a JSON path inside a document: tuple of str keys and int indexes

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}


@dataclass(frozen=True)
class Scalar:
    """How a scalar was written: its position, and its text when it was unquoted."""

    line: int
    column: int
    plain: str | None = None
    body_line: int = 0
    body_column: int = 0


@dataclass
class Document:
    """A parsed file: plain data plus the position of every value and mapping key."""

    path: str
    data: Any
    sha256: str
    values: dict[Path_, Scalar] = field(default_factory=dict)
    keys: dict[Path_, Scalar] = field(default_factory=dict)

    def at(self, path: Path_, key: bool = False) -> Location:
        """The location of a value (or of its mapping key), walking up to the nearest known node."""
        table = self.keys if key else self.values
        path = tuple(path)
        while path not in table and path:
            path = path[:-1]
            table = self.values
        node = table.get(path)
        if node is None:
            return Location(self.path)
        return Location(self.path, node.line, node.column)

    def scalar(self, path: Path_) -> Scalar:
        """The position record of a value (or of its nearest known parent)."""
        path = tuple(path)
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, Scalar(0, 0))

    def plain(self, path: Path_) -> str | None:
        node = self.values.get(tuple(path))
        return node.plain if node else None


# YAML's line breaks (NEL, U+2028 and U+2029 are refused before parsing): positions computed
# here must count lines as PyYAML does, or a file saved with CR alone reports wrong columns.
_LINE_BREAK = re.compile("\r\n|\r|\n")


def line_start(before: Any, cr: Any, lf: Any) -> tuple[int, int]:
    """The 1-based line at the end of `before` (str or bytes) and the index its line starts at."""
    line = before.count(lf) + before.count(cr) - before.count(cr + lf) + 1
    return line, max(before.rfind(lf), before.rfind(cr)) + 1


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def refuse_controls(
    relpath: str,
    text: str,
    hint: str = "remove it, or write it as an escape in a double-quoted string",
) -> None:
    """Refuse a raw control character, line separator or non-character in a spec file."""
    found = _CONTROL.search(text)
    if found:
        index = found.start()
        line, start = line_start(text[:index], "\r", "\n")
        column = index - start + 1
        raise fail(
            Location(relpath, line, column),
            f"{CHAR_KIND.get(found.group(), 'control character')} "
            f"U+{ord(found.group()):04X} is not allowed",
            hint,
        )


def parse_yaml(relpath: str, text: str) -> Document:
    """Parse one YAML document with the safe loader's rules and keep positions."""
    refuse_controls(relpath, text)
    node = compose(relpath, text)
    if node is None:
        what = "file is empty" if not text.strip() else "file holds only comments"
        raise fail(Location(relpath, 1, 1), what, "a spec file must hold a mapping")
    doc = Document(relpath, None, sha256_text(text))
    converter = _Converter(doc, text)
    doc.data = converter.convert(node, ())
    return doc


def _tag_name(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


class _Converter:
    """Turns composed YAML nodes into plain values, rejecting what a safe spec must not hold."""

    def __init__(self, doc: Document, text: str) -> None:
        self.doc = doc
        self.text = text
        self.text_lines = _LINE_BREAK.split(text)
        self.constructor = yaml.constructor.SafeConstructor()

    def _loc(self, node: yaml.Node) -> Location:
        return Location(self.doc.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        self.doc.values[path] = self._position(node)
        if isinstance(node, yaml.MappingNode):
            self._check_template(node)
            self._check_tag(node, "tag:yaml.org,2002:map")
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, "tag:yaml.org,2002:seq")
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _check_template(self, node: yaml.Node, key: bool = False) -> None:
        """`instruction: {{ ask }}` unquoted: YAML reads the template as a flow mapping."""
        start, end = node.start_mark, node.end_mark
        flow = isinstance(node, yaml.MappingNode) and node.flow_style
        if flow and self.text.startswith("{{", start.index):
            raise template_slip(
                self.doc.path,
                self.text_lines[start.line],
                start.line + 1,
                start.column,
                self.text[start.index : end.index],
                key,
            )

    def _check_tag(self, node: yaml.Node, standard: str) -> None:
        if node.tag != standard:
            raise fail(
                self._loc(node),
                f"YAML tag {_tag_name(node.tag)!r} is not allowed",
                "specs may hold only plain strings, numbers, booleans, lists and mappings",
            )

    def _position(self, node: yaml.Node) -> Scalar:
        """Where the node starts, and where the first character of a scalar's text stands."""
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        if not isinstance(node, yaml.ScalarNode):
            return Scalar(line, column)
        plain = node.value if node.style is None else None
        if node.style == "|":
            body = next(
                (text for text in self.text_lines[line : node.end_mark.line + 1] if text.strip()),
                "",
            )
            indent = len(body) - len(body.lstrip(" "))
            return Scalar(line, column, None, line + 1, indent + 1)
        if node.style == ">" or node.end_mark.line > node.start_mark.line:
            # Folding joins lines, so template lines are not file lines: errors point at the
            # start of the value (body_line 0) rather than at a wrong line.
            return Scalar(line, column, plain)
        if node.style in ('"', "'"):
            return Scalar(line, column, None, line, column + 1)
        return Scalar(line, column, plain, line, column)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first: dict[str, yaml.Mark] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise fail(
                    self._loc(key_node), "merge keys ('<<') are not supported", "write the keys out"
                )
            if not isinstance(key_node, yaml.ScalarNode):
                self._check_template(key_node, key=True)
                kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                raise fail(
                    self._loc(key_node),
                    f"a mapping key must be a string, not a {kind}",
                    "write the key as a plain name",
                )
            if key_node.tag != "tag:yaml.org,2002:str":
                raise fail(
                    self._loc(key_node),
                    f"mapping key {key_node.value} is read as "
                    f"{_KEY_TYPES.get(key_node.tag, _tag_name(key_node.tag))}, not a string",
                    f'quote the key: "{key_node.value}"',
                )
            key = key_node.value
            mark = key_node.start_mark
            if key in first:
                earlier = first[key]
                where = (
                    f"line {earlier.line + 1}"
                    if earlier.line != mark.line
                    else f"line {earlier.line + 1}, column {earlier.column + 1}"
                )
                raise fail(
                    self._loc(key_node),
                    f"duplicate key {key!r} (first defined at {where})",
                    "remove one of them: YAML would silently keep only the last",
                )
            first[key] = mark
            self.doc.keys[(*path, key)] = Scalar(mark.line + 1, mark.column + 1)
            result[key] = self.convert(value_node, (*path, key))
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag == "tag:yaml.org,2002:timestamp":
            raise fail(
                self._loc(node),
                f"unquoted date or time {node.value!r}",
                f'quote it to keep it as text: "{node.value}"',
            )
        if tag not in _STANDARD_TAGS:
            raise fail(
                self._loc(node),
                f"YAML tag {_tag_name(tag)!r} is not allowed",
                "specs may hold only plain strings, numbers, booleans, lists and mappings",
            )
        if tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_INT_DIGITS:
            raise fail(
                self._loc(node),
                f"number {node.value[:20]}… has {len(node.value)} "
                f"characters, over the limit of {MAX_INT_DIGITS}",
                "quote it if it is meant as text",
            )
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError) as exc:
            raise fail(
                self._loc(node),
                f"cannot read value {node.value[:40]!r}: {exc}",
                "quote it if it is meant as text",
            ) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise fail(
                self._loc(node),
                f"{node.value!r} is not a finite number",
                "NaN and infinity cannot be written to JSON; quote it if it is text",
            )
        if isinstance(value, str):
            _check_surrogates(value, self._loc(node), self.text_lines)
        return value


_KEY_TYPES = {
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a date",
}


def _check_surrogates(value: str, location: Location, lines: list[str]) -> None:
    if any("\ud800" <= char <= "\udfff" for char in value):
        column = location.column
        text = lines[location.line - 1] if 0 < location.line <= len(lines) else ""
        escape = re.compile(r"\\(u[dD][89a-fA-F][0-9a-fA-F]{2}|U0000[dD][89a-fA-F][0-9a-fA-F]{2})")
        found = escape.search(text, max(location.column - 1, 0))
        if found:
            column = found.start() + 1
        raise fail(
            Location(location.file, location.line, column),
            "string holds a lone surrogate escape",
            "write the character itself, or a valid \\U escape",
        )
