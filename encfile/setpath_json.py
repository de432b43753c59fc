"""JSON edits for :mod:`setpath`: members and items by span, written as the file writes them.

A new member (or item) goes after the last one: on a line of its own, indented
as the others, in a pretty-printed object; after ``, `` on one line. A new
object or list value is pretty-printed with the file's indent unit when the
file's nested objects and lists are and its place is, else written on one
line; spaces around ``:`` and ``,`` follow the file.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .setpath import Chain, Editor, Item, Node

_TOKEN = re.compile(
    r'(?P<s>"[^"\\]*(?:\\.[^"\\]*)*")(?P<k>[ \t\n\r]*:)?|(?P<o>[{\[])|(?P<c>[}\]])'
    r'|(?P<v>[-0-9][-+.eE0-9]*|true|false|null)')


def _view(text: str) -> tuple[Node, str, str]:
    """The root object, the text after a key (``": "``), the text between items (``", "``)."""
    root: Node | None = None
    stack: list[tuple[Node, str | None, int, int]] = []  # container, pending key, key span
    key_sep, item_sep = "", ""
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup if m.lastgroup != "k" else "s"
        if kind == "c":
            node = stack.pop()[0]
            node.end = m.end()
            if not item_sep and len(node.items) > 1:
                between = text[node.items[0].node.end:node.items[1].start]
                if "\n" not in between:
                    item_sep = between
            if not stack:
                root = node
                break
            continue
        if kind == "s" and m.group("k") and stack:
            stack[-1] = (stack[-1][0], json.loads(m.group("s")), m.start(), m.end())
            continue
        node = Node("map" if m.group() == "{" else "seq" if kind == "o" else "value",
                    m.start(), m.start() if kind == "o" else m.end())
        if stack:
            container, key, key_start, key_end = stack[-1]
            if container.kind == "map":
                container.items.append(Item(key, node, key_start))
                stack[-1] = (container, None, 0, 0)
                if not key_sep:
                    after = text[key_end:m.start()]
                    key_sep = ":" + (after if "\n" not in after else " ")
            else:
                container.items.append(Item(None, node, node.start))
        if kind == "o":
            stack.append((node, None, 0, 0))
    assert root is not None  # the codec read this text as a JSON object
    key_sep = key_sep or ": "
    return root, key_sep, item_sep or ("," if key_sep == ":" else ", ")


class JsonEditor(Editor):
    def __init__(self, text: str) -> None:
        self.bom = "\ufeff" if text.startswith("\ufeff") else ""
        self.text = text[len(self.bom):]
        root, self.key_sep, self.item_sep = _view(self.text)
        super().__init__(text, root)
        self.nl = "\r\n" if "\r\n" in self.text else "\n"
        self.unit = self._unit()
        # New objects and lists are pretty-printed if the file's nested ones are.
        self.pretty = bool(self.unit) and any(
            self._multiline(node) for node in _containers(self.root)[1:])

    def _unit(self) -> str:
        """The file's indent step (two spaces when nothing is on a line of its own)."""
        text = self.text
        for node in _containers(self.root):
            if node.items and self._multiline(node):
                outer = self._indent(node.start)
                inner = self._indent(node.items[0].start)
                if inner.startswith(outer) and len(inner) > len(outer):
                    return inner[len(outer):]
        return "  " if "\n" in text.strip() else ""

    # -- the edits -----------------------------------------------------------------------

    def replace(self, chain: Chain, value: Any) -> str:
        container, item = chain[-1]
        node = item.node
        rendered = self._render(value, self._indent(item.start) if self._multiline(container)
                                else None)
        return self._splice(node.start, node.end, rendered)

    def add(self, chain: Chain, node: Node, key: str, value: Any) -> str:
        return self._add(chain, node, json.dumps(key, ensure_ascii=False) + self.key_sep, value)

    def append(self, chain: Chain, node: Node, value: Any) -> str:
        return self._add(chain, node, "", value)

    def delete(self, chain: Chain) -> str:
        container, item = chain[-1]
        items = container.items
        index = items.index(item)
        if index > 0:  # from the end of the item before: its comma goes too
            return self._splice(items[index - 1].node.end, item.node.end, "")
        if len(items) > 1:  # the first of several: up to the next one
            return self._splice(item.start, items[1].start, "")
        return self._splice(container.start + 1, container.end - 1, "")

    # -- helpers -------------------------------------------------------------------------

    def _add(self, chain: Chain, node: Node, prefix: str, value: Any) -> str:
        if not node.items:
            if self.pretty and chain and self._multiline(chain[-1][0]):  # a pretty place
                outer = self._indent(node.start)
                inner = outer + self.unit
                entry = prefix + self._render(value, inner)
                return self._splice(node.start + 1, node.end - 1,
                                    self.nl + inner + entry + self.nl + outer)
            return self._splice(node.start + 1, node.end - 1, prefix + self._render(value, None))
        last = node.items[-1]
        if self._multiline(node):
            indent = self._indent(last.start)
            sep = "," + self.nl + indent
        else:
            indent, sep = None, "," + self.item_sep.lstrip(",")
        return self._splice(last.node.end, last.node.end,
                            sep + prefix + self._render(value, indent))

    def _render(self, value: Any, indent: str | None) -> str:
        """``value`` as JSON: pretty-printed from ``indent`` on, or on one line if None."""
        if indent is None or not self.pretty or not isinstance(value, (dict, list)) or not value:
            return json.dumps(value, ensure_ascii=False,
                              separators=(self.item_sep, self.key_sep))
        pretty = json.dumps(value, ensure_ascii=False, indent=self.unit,
                            separators=(",", self.key_sep))
        return pretty.replace("\n", self.nl + indent)

    def _multiline(self, node: Node) -> bool:
        """Are ``node``'s items on lines of their own?"""
        items = node.items
        if not items:
            return False
        if len(items) > 1:
            return "\n" in self.text[items[-2].node.end:items[-1].start]
        return "\n" in self.text[node.start:items[0].start]

    def _indent(self, pos: int) -> str:
        """The blanks that start ``pos``'s line."""
        line_start = self.text.rfind("\n", 0, pos) + 1
        line = self.text[line_start:pos]
        return line[:len(line) - len(line.lstrip(" \t"))]

    def _splice(self, start: int, end: int, new: str) -> str:
        return self.bom + self.text[:start] + new + self.text[end:]


def _containers(node: Node) -> list[Node]:
    out = [node]
    for item in node.items:
        if item.node.kind in ("map", "seq"):
            out.extend(_containers(item.node))
    return out
