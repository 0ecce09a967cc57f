"""Compose YAML text into PyYAML's node tree within bounds: no aliases, at most NODE_LIMIT
nodes and MAX_DEPTH levels, refused while composing (pure)."""

from __future__ import annotations

from typing import Any

import yaml

from compiler.errors import Location, fail
from compiler.yamlerrors import syntax_error

NODE_LIMIT = 200_000
MAX_DEPTH = 64


def compose(relpath: str, text: str) -> yaml.Node | None:
    """The document's node tree, composed with the limits (refused early when libyaml can)."""
    refused = _prescan(text) if yaml.__with_libyaml__ else None
    loader = _SpecLoader(text)
    try:
        if refused is not None:
            raise refused
        return loader.get_single_node()
    except _Refused as exc:
        raise fail(
            Location(relpath, exc.mark.line + 1, exc.mark.column + 1), exc.message, exc.hint
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise syntax_error(relpath, text, exc) from None
    except yaml.YAMLError as exc:
        raise fail(
            Location(relpath, 1, 1),
            f"invalid YAML: {exc}",
            "the YAML reader gave no position: check the file's syntax in an editor's YAML mode",
        ) from None
    finally:
        loader.dispose()


class _Refused(Exception):
    """YAML that parses but that a spec must not use; carries the mark of the offending event."""

    def __init__(self, mark: yaml.Mark, message: str, hint: str) -> None:
        super().__init__(message)
        self.mark, self.message, self.hint = mark, message, hint


_TOO_MANY_NODES = (f"file has more than {NODE_LIMIT} YAML nodes", "split it into smaller files")


_TOO_DEEP = (f"lists and mappings are nested more than {MAX_DEPTH} levels deep", "flatten the data")


class _Limits(yaml.composer.Composer):
    """Composing that refuses aliases where they are used, nesting beyond MAX_DEPTH and more
    than NODE_LIMIT nodes.

    Refusing an alias while composing stops an alias bomb before anything is copied, the
    depth bound keeps the recursive composer far from Python's recursion limit, and the node
    count stops a huge file before it is built.
    """

    depth = 0
    nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            raise self._refused(
                "anchors and aliases are not supported",
                "write the value out, or put shared data in a collection",
            )
        # Counted while composing, so that a huge file stops here and not after it is built;
        # mapping keys (composed with index None) are not counted, as before.
        if not (isinstance(parent, yaml.MappingNode) and index is None):
            self.nodes += 1
            if self.nodes > NODE_LIMIT:
                raise self._refused(*_TOO_MANY_NODES)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._refused(*_TOO_DEEP)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def _refused(self, message: str, hint: str) -> _Refused:
        return _Refused(self.peek_event().start_mark, message, hint)


class _SpecLoader(_Limits, yaml.SafeLoader):
    """PyYAML's safe loader with the limits."""


def _prescan(text: str) -> _Refused | None:
    """The refusal the node and depth limits would give, found over libyaml's events.

    libyaml parses ten times faster than PyYAML, so a huge file is refused in a second, not
    in the tens of seconds PyYAML takes to reach the limit. It only counts: PyYAML still
    parses every file (the two differ on some invalid YAML, and PyYAML's messages are the
    documented ones), and where libyaml stops early (an alias, a syntax error) PyYAML decides.
    """
    parser = yaml.cyaml.CParser(text)
    nodes = 0
    # Per open collection: None for a list; for a mapping, whether its next node is a key.
    key_next: list[bool | None] = []
    try:
        while True:
            event = parser.get_event()
            if isinstance(event, yaml.AliasEvent | yaml.DocumentEndEvent | yaml.StreamEndEvent):
                return None
            if isinstance(event, yaml.CollectionEndEvent):
                key_next.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            is_key = bool(key_next) and key_next[-1] is True
            if key_next and key_next[-1] is not None:
                key_next[-1] = not is_key
            if not is_key:
                nodes += 1
                if nodes > NODE_LIMIT:
                    return _Refused(event.start_mark, *_TOO_MANY_NODES)
            if len(key_next) + 1 > MAX_DEPTH:
                return _Refused(event.start_mark, *_TOO_DEEP)
            if isinstance(event, yaml.MappingStartEvent):
                key_next.append(True)
            elif isinstance(event, yaml.SequenceStartEvent):
                key_next.append(None)
    except yaml.YAMLError:
        return None
    finally:
        parser.dispose()
