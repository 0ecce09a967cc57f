"""Did-you-mean hints: the name a misspelt key, value, file or record id most likely meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice most like word (difflib's ratio, at least cutoff), or None.

    The answer does not depend on the order of choices: difflib ranks (ratio, choice) pairs,
    so a tie goes to the greater choice.
    """
    close = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return close[0] if close else None


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A 'did you mean' hint, or the list of what is allowed."""
    close = closest(word, choices)
    if close is not None:
        return f"did you mean {close!r}?"
    if choices:
        return "expected one of: " + ", ".join(sorted(choices))
    return ""
