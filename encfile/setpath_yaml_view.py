"""The first document of a YAML text as :mod:`setpath` nodes, from the parser's events.

The view keeps what an edit needs and the codec's tree does not: where each key
and each ``:``/``-`` indicator is, every node's style, anchor and tag, each
block collection's column, which aliases repeat which anchors, and the
indentation the file uses for nested mappings and lists. Only the first
document is read (sops's ``set`` works on ``Branches[0]``).
"""

from __future__ import annotations

from typing import Any

from .formats.yaml_events import events
from .setpath import Item, Node


class YNode(Node):
    """``start`` is the content (first key, dash, bracket or scalar text); ``props`` the
    anchor/tag before it; ``head`` the end of the ``:`` or ``-`` that introduces a block
    value; ``col`` a block collection's column; ``flow`` true in flow context."""

    __slots__ = ("alias", "anchor", "col", "flow", "gap", "head", "props", "raw_end", "style",
                 "tag")

    def __init__(self, kind: str, start: int, end: int) -> None:
        super().__init__(kind, start, end)
        self.props = start
        self.head = start
        self.col = 0
        self.gap = 1  # spaces after a block list's dashes
        self.flow = False
        self.style = ""
        self.anchor: str | None = None  # the anchor defined here
        self.alias: str | None = None  # the anchor an alias repeats
        self.tag: str | None = None
        self.raw_end = end  # a keep-chomped block scalar's trailing lines included


class YItem(Item):
    __slots__ = ("explicit", "key_style", "merge")
    node: YNode

    def __init__(self, key: str | None, node: YNode, start: int) -> None:
        super().__init__(key, node, start)
        self.key_style = ""
        self.merge = False  # a `<<` merge key
        self.explicit = False  # a `? key` key


def _skip_props(text: str, pos: int) -> int:
    """The index after the anchor and tag at ``pos`` (and the blanks after them)."""
    n = len(text)
    while pos < n and text[pos] in "&!":
        while pos < n and text[pos] not in " \t\r\n":
            pos += 1
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
    return pos


def _next_dash(text: str, pos: int) -> int:
    """The first '-' from ``pos`` on that is not in a comment."""
    while pos < len(text):
        ch = text[pos]
        if ch == "-":
            return pos
        if ch == "#":
            eol = text.find("\n", pos)
            pos = len(text) if eol < 0 else eol
        pos += 1
    return -1  # pragma: no cover - a block list item always follows its dash


class View:
    """The first document as :class:`YNode` trees, its anchors, aliases and indentation."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.root: YNode | None = None
        self.anchors: list[tuple[str, int, int]] = []  # (name, start, end) of each definition
        self.kinds: list[str] = []  # the kind of each anchored node
        self.aliases: list[tuple[int, int]] = []  # (alias position, index in anchors)
        self.step = 0  # a nested mapping's indent relative to its key
        self.seq_indent = -1  # a list's dash column relative to its key
        self._current: dict[str, int] = {}
        stack: list[tuple[YNode, YItem | None]] = []  # open collections, pending map key
        for event in events(text):
            name = event.__class__.__name__
            if name == "DocumentEndEvent":
                break
            if name in ("StreamStartEvent", "DocumentStartEvent", "StreamEndEvent"):
                continue
            if name in ("MappingEndEvent", "SequenceEndEvent"):
                node = stack.pop()[0]
                if node.flow:
                    node.end = node.raw_end = event.end_mark.index
                self._done(node, stack)
                continue
            start = event.start_mark.index
            frame = stack[-1] if stack else None
            if frame is not None and frame[0].kind == "map" and frame[1] is None:
                stack[-1] = (frame[0], self._key(event, frame[0], start))
                continue
            node = self._node(event, name, start, frame)
            if name in ("MappingStartEvent", "SequenceStartEvent"):
                stack.append((node, None))
            else:
                self._done(node, stack)

    def _key(self, event: Any, parent: YNode, start: int) -> YItem:
        text = self.text
        item = YItem(str(event.value), YNode("value", start, start), start)
        item.key_style = event.style or ""
        item.merge = event.value == "<<" and not event.style
        before = text[text.rfind("\n", 0, start) + 1:start].rstrip(" \t")
        item.explicit = not parent.flow and before.endswith("?")
        if event.anchor:
            self._define(event.anchor, start, event.end_mark.index, "value")
        # the value's slot starts after the ':' that follows the key
        colon = text.find(":", event.end_mark.index)
        item.node.head = colon + 1 if colon >= 0 else event.end_mark.index
        return item

    def _node(self, event: Any, name: str, start: int,
              frame: tuple[YNode, YItem | None] | None) -> YNode:
        text = self.text
        kind = {"MappingStartEvent": "map", "SequenceStartEvent": "seq",
                "AliasEvent": "alias"}.get(name, "value")
        end = event.end_mark.index if kind in ("value", "alias") else start
        node = YNode(kind, start, end)
        parent = frame[0] if frame is not None else None
        node.flow = bool(getattr(event, "flow_style", False)) or bool(parent and parent.flow)
        if kind == "alias":
            node.alias = event.anchor
            target = self._current.get(event.anchor)
            if target is not None:
                self.aliases.append((start, target))
                if self.kinds[target] == "value":  # a copy of a value is a value to sops
                    node.kind = "value"
        else:
            node.anchor = event.anchor
            node.tag = event.tag
            if text[start:start + 1] in ("&", "!"):
                node.start = _skip_props(text, start)
        if kind == "value":
            node.style = event.style or ""
            node.raw_end = node.end
            if node.style in ("|", ">"):
                node.end = start + len(text[start:end].rstrip(" \t\r\n"))
                eol = text.find("\n", node.start)
                if "+" in text[node.start:len(text) if eol < 0 else eol]:
                    node.raw_end = end  # keep chomping: the trailing lines are its text
        if parent is None:
            return node
        item: YItem
        if parent.kind == "map":
            assert frame is not None and frame[1] is not None
            item = frame[1]
            node.head = item.node.head
            item.node = node
        else:
            item_start = node.props
            if not parent.flow:
                item_start = parent.start if not parent.items else \
                    _next_dash(text, _ynode(parent.items[-1].node).raw_end)
                node.head = item_start + 1
                if not parent.items and "\n" not in text[item_start:node.props]:
                    parent.gap = max(node.props - item_start - 1, 1)
            item = YItem(None, node, item_start)
        parent.items.append(item)
        if len(parent.items) == 1 and parent.kind == "map" and not parent.flow:
            parent.start = item.start
        return node

    def _done(self, node: YNode, stack: list[tuple[YNode, YItem | None]]) -> None:
        """``node`` is complete: note its anchor, its indentation, its end in its parent."""
        if node.kind in ("map", "seq") and not node.flow:
            node.col = self._column(node.start)
            if node.items:
                last = _ynode(node.items[-1].node)
                node.end = last.end
                node.raw_end = max(last.raw_end, last.end)
        if node.anchor:
            self._define(node.anchor, node.props, node.raw_end, node.kind)
        if not stack:
            self.root = node
            return
        parent, pending = stack[-1]
        if parent.kind == "map":
            stack[-1] = (parent, None)  # the next scalar is a key again
            if not parent.flow and not node.flow and node.kind in ("map", "seq") \
                    and pending is not None:
                diff = node.col - self._column(pending.start)
                if node.kind == "map" and diff > 0 and not self.step:
                    self.step = diff
                if node.kind == "seq" and diff >= 0 and self.seq_indent < 0:
                    self.seq_indent = diff

    def _define(self, name: str, start: int, end: int, kind: str) -> None:
        self._current[name] = len(self.anchors)
        self.anchors.append((name, start, end))
        self.kinds.append(kind)

    def _column(self, pos: int) -> int:
        return pos - (self.text.rfind("\n", 0, pos) + 1)


def _ynode(node: Node) -> YNode:
    assert isinstance(node, YNode)
    return node
