"""The text gate: which characters a string may hold before it is hashed or written out.

Every string that reaches a record id, a hash or an output file passes through here twice
over: once as input (every key and value of the spec documents and data rows, checked by
resolve) and once as output (every rendered field and metadata value, checked by expand's
record maker), so that a template cannot make what the input gate refused.

Refused, whatever the source (a YAML or JSON escape, a CSV field, a Jinja string escape,
`"%c" % 55296`):
- a lone surrogate (U+D800 to U+DFFF): half of a UTF-16 pair, not a character; UTF-8
  cannot encode it, so it would crash every hash and every write;
- NUL (U+0000): never text, and C programs (and many tools that read JSONL) stop at it.
Other control characters are allowed as content: JSON writes them as escapes (`\\u001b`).
The YAML reader refuses them raw in a spec file, where they would shift positions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from compiler.errors import Collector, Location


def refused_character(text: str) -> str | None:
    """The refused character of text (a surrogate before NUL), or None.

    Runs on every rendered field of every record, so it leans on what CPython does in C:
    ASCII text (isascii costs nothing: CPython knows it) needs one memchr for NUL; other text
    is encoded as UTF-8, which stops at the first lone surrogate, and its bytes searched for
    NUL -- several times faster than a regular expression or a search of the wide string.
    """
    if text.isascii():
        return "\x00" if "\x00" in text else None
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return text[exc.start]
    return "\x00" if b"\x00" in encoded else None


def describe(char: str) -> str:
    """'a NUL character (U+0000)', 'a lone surrogate (U+D800)'."""
    kind = "a NUL character" if char == "\x00" else "a lone surrogate"
    return f"{kind} (U+{ord(char):04X})"


def hint(char: str, rendered: bool = False) -> str:
    """How to fix a refused character found in the input, or in a template's result."""
    if char == "\x00":
        if rendered:
            return "NUL is never text: remove the string escape, '%c' or data value that makes it"
        return "NUL is never text: remove it, or the escape that writes it (\\0, \\x00, \\u0000)"
    if rendered:
        return (
            "a string escape, '%c' or a data value made half of a UTF-16 pair, which is not a "
            'character: write the character itself, or "\\U0001F600" for the whole character'
        )
    return (
        "half of a UTF-16 pair is not a character, and UTF-8 cannot hold it: write the "
        'character itself, or one escape for the whole character ("\\U0001F600", '
        'not "\\ud83d\\ude00")'
    )


def shown(text: str, limit: int = 40) -> str:
    """A string as it may stand in a message: quoted, escaped, cut short."""
    cut = text if len(text) <= limit else text[:limit] + "…"
    return repr(cut)


Path_ = tuple  # str keys and int indexes, as in yamldoc.Document


def refused_strings(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, bool, str, str]]:
    """(path, is_key, text, refused character) for every refused key or string below value.

    Iterative, so that nesting depth costs no recursion (the readers bound it anyway).
    """
    stack: list[tuple[Path_, Any]] = [(path, value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            char = refused_character(node)
            if char is not None:
                yield where, False, node, char
        elif isinstance(node, dict):
            for key, item in node.items():
                if isinstance(key, str):
                    char = refused_character(key)
                    if char is not None:
                        yield (*where, key), True, key, char
                stack.append(((*where, key), item))
        elif isinstance(node, list):
            stack.extend(((*where, i), item) for i, item in enumerate(node))


def dotted(path: Path_) -> str:
    """rules[0].metadata.lang: a path as the schema messages write it."""
    text = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path)
    return text.replace(".[", "[") or "the file"


def field_name(path: Path_) -> str:
    """dotted(path), with the keys that are not identifiers quoted and escaped."""
    return dotted([shown(p) if isinstance(p, str) and not p.isidentifier() else p for p in path])


def check_tree(
    value: Any,
    locate: Callable[[Path_, bool], Location],
    errors: Collector,
    name: Callable[[Path_], str] = field_name,
) -> None:
    """Report every refused key or string below value, each at locate(path, is_key)."""
    for path, is_key, text, char in refused_strings(value):
        if is_key:
            message = f"mapping key {shown(text)} in {name(path[:-1])} holds {describe(char)}"
        else:
            message = f"{name(path)} holds {describe(char)}"
        errors.add(locate(path, is_key), message, hint(char))
