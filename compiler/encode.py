"""Records as JSON lines and metadata.json as text, byte for byte (pure)."""

from __future__ import annotations

import json
from typing import Any

from compiler.model import Record

quote = json.encoder.encode_basestring  # the string encoder of json.dumps(ensure_ascii=False)


def metadata_json(metadata: dict[str, Any]) -> str:
    """The metadata object as json.dumps writes it; TypeError for values other than str, None."""
    members = ", ".join(
        f"{quote(k)}: {'null' if v is None else quote(v)}" for k, v in metadata.items()
    )
    return "{" + members + "}"


def alpaca_json(qid: str, record: Record, output: str, extra: str, metadata: str) -> str:
    """The Alpaca line from the quoted id, output and metadata; extra holds more columns
    (`, "system": …`) written between the output and the metadata."""
    return (
        f'{{"id": {qid}, "instruction": {quote(record.instruction)}, '
        f'"input": {quote(record.input)}, "output": {output}{extra}, "metadata": {metadata}}}\n'
    )


def encode(record: Record) -> str:
    """One record as one JSON line: fixed key order, UTF-8 text kept readable.

    Byte-identical to json.dumps(..., ensure_ascii=False) of the record mapping (the golden
    tests hold it to that), without building the mapping: this runs once per record.
    """
    try:
        metadata = metadata_json(record.metadata)
    except TypeError:
        return _encode_slow(record)
    return alpaca_json(quote(record.id), record, quote(record.output), "", metadata)


def _encode_slow(record: Record) -> str:
    return (
        json.dumps(
            {
                "id": record.id,
                "instruction": record.instruction,
                "input": record.input,
                "output": record.output,
                "metadata": record.metadata,
            },
            ensure_ascii=False,
            allow_nan=False,
        )
        + "\n"
    )


def _inline(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _json_lines(value: Any, indent: str, row: bool = False) -> str:
    """Indented JSON in which short flat objects, and flat rows of a list, stay on one line."""
    if not isinstance(value, (dict, list)):
        return _inline(value)
    members = value.values() if isinstance(value, dict) else value
    flat = not any(isinstance(v, (dict, list)) for v in members)
    if not value or (flat and (row or len(_inline(value)) <= 120)):
        return _inline(value)
    inner = indent + "  "
    if isinstance(value, dict):
        body = [f"{inner}{_inline(k)}: {_json_lines(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(body) + f"\n{indent}}}"
    body = [f"{inner}{_json_lines(v, inner, row=True)}" for v in value]
    return "[\n" + ",\n".join(body) + f"\n{indent}]"


def dump_json(value: Any) -> str:
    """metadata.json text: fixed key order as given, UTF-8 kept readable, trailing newline."""
    return _json_lines(value, "") + "\n"
