"""EDGE: read spec and data files into plain values, keeping every node's position."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from compiler.errors import CompileError, Location, fail

SPEC_FILE_LIMIT = 4 * 1024 * 1024
DATA_FILE_LIMIT = 64 * 1024 * 1024
NODE_LIMIT = 200_000

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


def read_text(root: Path, relpath: str, limit: int, location: Location | None = None) -> str:
    """Read a project file as UTF-8 text; decode errors are reported with line and column."""
    path = root / relpath
    where = location or Location(relpath)
    try:
        size = path.stat().st_size
        if size > limit:
            raise fail(where, f"file is {size} bytes, over the limit of {limit} bytes",
                       "split it into smaller files")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail(where, f"file not found: {relpath}") from None
    except IsADirectoryError:
        raise fail(where, f"expected a file, found a directory: {relpath}") from None
    except OSError as exc:
        raise fail(where, f"cannot read {relpath}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")) + 1
        raise fail(Location(relpath, line, column),
                   f"invalid UTF-8 byte 0x{raw[exc.start]:02x}",
                   "save the file as UTF-8") from None
    if text.startswith("\ufeff"):
        raise fail(Location(relpath, 1, 1), "file starts with a byte order mark (BOM)",
                   "save the file as UTF-8 without BOM")
    return text


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_yaml(relpath: str, text: str) -> Document:
    """Parse one YAML document with the safe loader's rules and keep positions."""
    for index, char in enumerate(text):
        if (ord(char) < 32 and char not in "\t\n\r") or char in "\x7f\ufffe\uffff":
            line = text.count("\n", 0, index) + 1
            column = index - (text.rfind("\n", 0, index) + 1) + 1
            raise fail(Location(relpath, line, column),
                       f"control character U+{ord(char):04X} is not allowed",
                       "remove it, or write it as an escape in a double-quoted string")
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        hint = ""
        if "\t" in problem or "tab" in problem:
            hint = "indent with spaces, not tabs"
        loc = Location(relpath, mark.line + 1, mark.column + 1) if mark else Location(relpath)
        raise fail(loc, f"invalid YAML: {problem}", hint) from None
    except yaml.YAMLError as exc:
        raise fail(Location(relpath), f"invalid YAML: {exc}") from None
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise fail(Location(relpath, mark.line + 1, mark.column + 1),
                   "file holds more than one YAML document",
                   "remove the '---' separator: one file is one document")
    if not nodes:
        raise fail(Location(relpath), "file is empty", "a spec file must hold a mapping")
    doc = Document(relpath, None, sha256_text(text))
    converter = _Converter(doc, text)
    doc.data = converter.convert(nodes[0], ())
    return doc


class _Converter:
    """Turns composed YAML nodes into plain values, rejecting what a safe spec must not hold."""

    def __init__(self, doc: Document, text: str) -> None:
        self.doc = doc
        self.text_lines = text.split("\n")
        self.constructor = yaml.constructor.SafeConstructor()
        self.seen: set[int] = set()

    def _loc(self, node: yaml.Node) -> Location:
        return Location(self.doc.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        if id(node) in self.seen:
            raise fail(self._loc(node), "anchors and aliases are not supported",
                       "write the value out, or put shared data in a collection")
        self.seen.add(id(node))
        if len(self.seen) > NODE_LIMIT:
            raise fail(self._loc(node), f"file has more than {NODE_LIMIT} YAML nodes",
                       "split it into smaller files")
        self.doc.values[path] = self._position(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _position(self, node: yaml.Node) -> Scalar:
        """Where the node starts, and where the first character of a scalar's text stands."""
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        if not isinstance(node, yaml.ScalarNode):
            return Scalar(line, column)
        if node.style in ("|", ">"):
            body = self.text_lines[line] if line < len(self.text_lines) else ""
            indent = len(body) - len(body.lstrip(" "))
            return Scalar(line, column, None, line + 1, indent + 1)
        if node.style in ('"', "'"):
            return Scalar(line, column, None, line, column + 1)
        return Scalar(line, column, node.value, line, column)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        if node.tag == "tag:yaml.org,2002:merge":
            raise fail(self._loc(node), "merge keys ('<<') are not supported")
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise fail(self._loc(key_node), "merge keys ('<<') are not supported",
                           "write the keys out")
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                text = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a collection"
                raise fail(self._loc(key_node), f"mapping key {text!r} is not a string",
                           f"quote the key: \"{text}\"" if isinstance(text, str) else "")
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in result:
                raise fail(self._loc(key_node),
                           f"duplicate key {key!r} (first defined at line {first_line[key]})",
                           "remove one of them: YAML would silently keep only the last")
            first_line[key] = line
            self.doc.keys[(*path, key)] = Scalar(line, key_node.start_mark.column + 1)
            result[key] = self.convert(value_node, (*path, key))
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag == "tag:yaml.org,2002:timestamp":
            raise fail(self._loc(node), f"unquoted date or time {node.value!r}",
                       f"quote it to keep it as text: \"{node.value}\"")
        if tag not in _STANDARD_TAGS:
            raise fail(self._loc(node), f"YAML tag {tag!r} is not allowed",
                       "specs may hold only plain strings, numbers, booleans, lists and mappings")
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError) as exc:
            raise fail(self._loc(node), f"cannot read value {node.value[:40]!r}: {exc}",
                       "quote it if it is meant as text") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise fail(self._loc(node), f"{node.value!r} is not a finite number",
                       "NaN and infinity cannot be written to JSON; quote it if it is text")
        if isinstance(value, str):
            _check_surrogates(value, self._loc(node))
        return value


def _check_surrogates(value: str, location: Location) -> None:
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise fail(location, "string holds a lone surrogate escape",
                   "write the character itself, or a valid \\U escape")


def load_yaml(root: Path, relpath: str) -> Document:
    """Read and parse one YAML spec file of the project."""
    return parse_yaml(relpath, read_text(root, relpath, SPEC_FILE_LIMIT))


@dataclass(frozen=True)
class Row:
    """One row of a data file and the line it starts on."""

    line: int
    value: Any


@dataclass(frozen=True)
class DataFile:
    path: str
    sha256: str
    rows: tuple[Row, ...]


def load_data(root: Path, relpath: str, location: Location) -> DataFile:
    """Read a JSONL, YAML or CSV data file of real examples."""
    text = read_text(root, relpath, DATA_FILE_LIMIT, location)
    suffix = relpath.rsplit(".", 1)[-1].lower() if "." in relpath else ""
    if suffix == "jsonl":
        rows = _jsonl_rows(relpath, text)
    elif suffix in ("yaml", "yml"):
        doc = parse_yaml(relpath, text)
        if not isinstance(doc.data, list):
            raise fail(doc.at(()), "a YAML data file must hold a list of rows")
        rows = tuple(Row(doc.at((i,)).line, item) for i, item in enumerate(doc.data))
    elif suffix == "csv":
        rows = _csv_rows(relpath, text)
    else:
        raise fail(location, f"unsupported data file type {relpath!r}",
                   "use .jsonl, .yaml, .yml or .csv")
    return DataFile(relpath, sha256_text(text), rows)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _jsonl_rows(relpath: str, text: str) -> tuple[Row, ...]:
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line, parse_constant=_reject_constant,
                               object_pairs_hook=_unique_pairs)
        except json.JSONDecodeError as exc:
            raise fail(Location(relpath, number, exc.colno), f"invalid JSON: {exc.msg}") from None
        except ValueError as exc:
            raise fail(Location(relpath, number, 1), f"invalid JSON: {exc}") from None
        rows.append(Row(number, value))
    return tuple(rows)


def _csv_rows(relpath: str, text: str) -> tuple[Row, ...]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        for row in reader:
            if None in row or None in row.values():
                raise fail(Location(relpath, reader.line_num, 1),
                           "row has a different number of fields than the header")
            rows.append(Row(reader.line_num, dict(row)))
    except csv.Error as exc:
        raise fail(Location(relpath, reader.line_num, 1), f"invalid CSV: {exc}") from None
    return tuple(rows)


def list_yaml(root: Path, folder: str) -> list[str]:
    """The YAML files of a project folder, as sorted relative POSIX paths."""
    base = root / folder
    if not base.is_dir():
        return []
    names = [p.name for p in base.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()]
    return [f"{folder}/{name}" for name in sorted(names)]


def check_inside(root: Path, relpath: str, location: Location) -> None:
    """Refuse a path that is absolute, climbs out of the project or links outside it."""
    if not relpath or relpath.startswith("/") or "\\" in relpath or ":" in relpath[:3]:
        raise fail(location, f"path {relpath!r} must be relative to the project",
                   "write it relative to the project folder, with '/' separators")
    parts = relpath.split("/")
    if ".." in parts:
        raise fail(location, f"path {relpath!r} leaves the project",
                   "data files must live inside the project folder")
    real_root = root.resolve()
    target = (root / relpath).resolve()
    if target != real_root and real_root not in target.parents:
        raise fail(location, f"path {relpath!r} resolves outside the project (symbolic link)",
                   "copy the file into the project instead of linking to it")


def raise_all(errors: list[CompileError]) -> None:
    if errors:
        raise CompileError([d for e in errors for d in e.diagnostics])
