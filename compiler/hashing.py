"""Keyed hashes: the only source of randomness and identity in a build."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from compiler import __version__

ID_TAIL = b"]]"

# Nothing in the build calls keyed, record_id or digest: they are the reference definitions of
# the keyed numbers, the record ids and the duplicate digests (docs/determinism.md). The build
# uses the faster forms that follow each (keyed_text, keyed_prefix and keyed_last; id_head,
# id_fragment and id_numbers; record_digests), and the tests check that they give the same.


def keyed(seed: int, *parts: str) -> int:
    """A 64-bit number determined by the seed and the parts, the same on every machine."""
    return keyed_text("\x1f".join((str(seed), *parts)))


def keyed_text(text: str) -> int:
    """keyed() of the parts already joined: str(seed), then each part, separated by U+001F."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def keyed_prefix(seed: int, *parts: str) -> Any:
    """The hash state of keyed(seed, *parts, last) before its last part, to be finished by
    keyed_last(state, last) for many lasts: the same numbers, at less cost."""
    return hashlib.blake2b("\x1f".join((str(seed), *parts, "")).encode("utf-8"), digest_size=8)


def keyed_last(prefix: Any, last: str) -> int:
    state = prefix.copy()
    state.update(last.encode("utf-8"))
    return int.from_bytes(state.digest(), "big")


def record_id(task: str, rule: str, bindings: tuple[tuple[str, str], ...]) -> str:
    """A record's id: from its task, rule and binding keys, never from its text.

    The id hashes the JSON of [task, rule, sorted(bindings)] (compact, UTF-8); id_head,
    id_fragment and ID_TAIL are the pieces of that text, so that expand can hash millions of
    bindings without encoding the parts they share again.
    """
    fragments = b",".join(id_fragment(name, key) for name, key in sorted(bindings))
    return format_id(task, rule, id_number(id_head(task, rule) + fragments + ID_TAIL))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def id_head(task: str, rule: str) -> bytes:
    """The start of a record id's hashed text, before the binding keys."""
    return f"[{_json(task)},{_json(rule)},[".encode()


def id_fragment(name: str, key: Any) -> bytes:
    """One binding (name, key) as it stands in a record id's hashed text."""
    return f"[{_json(name)},{_json(key)}]".encode()


def id_number(payload: bytes) -> int:
    """The 64 bits of a record id: the first 16 hex digits of the payload's sha256."""
    return int.from_bytes(hashlib.sha256(payload).digest()[:8], "big")


def id_numbers(before: bytes, fragments: Iterable[bytes], after: bytes) -> Iterator[int]:
    """id_number(before + fragment + after) for each fragment, hashing before only once."""
    state = hashlib.sha256(before)
    for fragment in fragments:
        each = state.copy()
        each.update(fragment)
        each.update(after)
        yield int.from_bytes(each.digest()[:8], "big")


def format_id(task: str, rule: str, number: int) -> str:
    return f"{task}.{rule}.{number:016x}"


def collapse(text: str) -> str:
    """Whitespace runs collapsed to one space, ends trimmed: the duplicate check compares
    texts in NFC in this form.

    That is re.sub(r"\\s+", " ", text).strip(), or " ".join(text.split()): str.split and the
    regular expression agree on what whitespace is. The shortcut is exact, because every
    whitespace character but the space is a control or separator, so not printable: a printable
    text with its newlines made spaces, no two spaces in a row and none at either end is
    already collapsed.
    """
    flat = text.replace("\n", " ")
    if flat.isprintable() and "  " not in flat and flat[:1] != " " and flat[-1:] != " ":
        return flat
    return " ".join(text.split())


def digest(*texts: str) -> bytes:
    """A compact fingerprint of some texts, for sets of millions of records."""
    h = hashlib.blake2b(digest_size=16)
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\x00")
    return h.digest()


def record_digests(instruction: str, input: str, output: str) -> tuple[bytes, bytes, bytes]:
    """The record key, digest(instruction, input) and digest(output), hashing each text once.

    The key is the prompt's digest then the output's (32 bytes): two records have one key
    exactly when they have one prompt and one output, and two records with one prompt have
    one key exactly when their outputs are the same. It is compared, never written out.
    """
    prompt = hashlib.blake2b(instruction.encode("utf-8"), digest_size=16)
    prompt.update(b"\x00")
    prompt.update(input.encode("utf-8"))
    prompt.update(b"\x00")
    answer = hashlib.blake2b(output.encode("utf-8"), digest_size=16)
    answer.update(b"\x00")
    first, second = prompt.digest(), answer.digest()
    return first + second, first, second


def fingerprint(inputs: dict[str, str], seed: Any) -> str:
    """One hash naming what a build was compiled from: compiler version, seed and inputs."""
    payload = json.dumps(
        {"compiler": __version__, "seed": seed, "inputs": inputs},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


SEAL_KEY = "metadata_sha256"
_UNSEALED = "0" * 64


def seal(text: str) -> str:
    """Fill in metadata.json's own hash: the sha256 of the text with that value all zeros."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return text.replace(f'"{SEAL_KEY}": "{_UNSEALED}"', f'"{SEAL_KEY}": "{digest}"', 1)


def sealed(text: str) -> bool:
    """True when metadata.json's text still has the hash it was written with."""
    marker = f'"{SEAL_KEY}": "'
    at = text.rfind(marker)
    if at < 0:
        return False
    start = at + len(marker)
    recorded = text[start : start + 64]
    blank = text[:start] + _UNSEALED + text[start + 64 :]
    return hashlib.sha256(blank.encode("utf-8")).hexdigest() == recorded
