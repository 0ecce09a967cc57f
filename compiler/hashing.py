"""Keyed hashes: the only source of randomness and identity in a build."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

_SPACE = re.compile(r"\s+")


def keyed(seed: int, *parts: str) -> int:
    """A 64-bit number determined by the seed and the parts, the same on every machine."""
    text = "\x1f".join((str(seed), *parts))
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def record_id(task: str, rule: str, bindings: tuple[tuple[str, str], ...]) -> str:
    """A record's id: from its task, rule and binding keys, never from its text."""
    payload = json.dumps([task, rule, sorted(bindings)], ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
    return f"{task}.{rule}.{digest}"


def normalize(text: str) -> str:
    """NFC, whitespace runs collapsed to one space, ends trimmed: the form compared for duplicates."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def digest(*texts: str) -> bytes:
    """A compact fingerprint of some texts, for sets of millions of records."""
    h = hashlib.blake2b(digest_size=16)
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\x00")
    return h.digest()
