"""YAML edits for :mod:`setpath`: text splices over a :mod:`setpath_yaml_view` of the file.

Edits write the file's own style: a new key goes at its mapping's column, a
new nested block at the indentation the file uses (a list indented under its
key or not, as the file's lists are), a flow collection grows and shrinks in
flow style, a replaced string keeps its quotes (or its block style) when they
can hold the new text, a removed item takes the comment lines directly above it
and its line comment. An edit that aliases would see (or lose) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .errors import UsageError
from .formats import yaml_emit
from .setpath import EDIT_HINT, Chain, Editor, Item, Node, path_of, shown
from .setpath_yaml_view import View, YItem, YNode

_NOT_RAW = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


class YamlEditor(Editor):
    def __init__(self, text: str) -> None:
        self.bom = "\ufeff" if text.startswith("\ufeff") else ""
        self.text = text[len(self.bom):]
        self.nl = "\r\n" if "\r\n" in self.text else "\n"
        view = View(self.text)
        if view.root is None or view.root.kind not in ("map", "seq"):
            raise UsageError("set and unset need a document that is a mapping or a list",
                             hints=[EDIT_HINT])
        super().__init__(text, view.root)
        self.view = view
        self.step = view.step or 2
        self.seq_indent = view.seq_indent if view.seq_indent >= 0 else self.step
        self.open_end = False  # new lines go at the end of a file without a final line break

    # -- what cannot be edited in place --------------------------------------------------

    def enter(self, chain: Chain) -> None:
        item = chain[-1][1]
        if isinstance(item, YItem) and item.merge:
            _merge_key(chain)
        node = item.node
        if isinstance(node, YNode) and node.kind == "alias":
            raise UsageError(f"{shown(path_of(chain))} is an alias (*{node.alias}), a copy "
                             "of another node: encfile cannot change a part of it in place",
                             hints=["change the anchored node, or write the copy out, with "
                                    "'encfile edit'"])

    def _guard(self, chain: Chain, start: int, end: int, *, into: bool = False) -> None:
        """Refuse an edit of ``[start, end)`` that aliases would see, or that would orphan one.

        The containers of the edited item (and the item itself when ``into``, for a new
        key or list item) must not be anchored nodes that aliases repeat; anchors inside
        the edited text must not be repeated by aliases outside it.
        """
        holders = chain if into else chain[:-1]
        containers: list[tuple[Node, str]] = [(self.root, "the top level")]
        containers += [(item.node, shown(path_of(holders[:i + 1])))
                       for i, (_, item) in enumerate(holders)]
        for node, where in containers:
            if isinstance(node, YNode) and node.anchor:
                index = self._definition(node)
                if any(target == index for _, target in self.view.aliases):
                    raise UsageError(f"{where} is the anchored node '&{node.anchor}', which "
                                     "aliases repeat: changing it in place would change them "
                                     "too", hints=[EDIT_HINT])
        for index, (name, a_start, a_end) in enumerate(self.view.anchors):
            if start <= a_start and a_end <= end and any(
                    target == index and not start <= pos < end
                    for pos, target in self.view.aliases):
                raise UsageError(f"{shown(path_of(chain))} holds the anchor '&{name}', which "
                                 "aliases elsewhere repeat", hints=[EDIT_HINT])

    def _definition(self, node: YNode) -> int:
        for index, (name, start, _) in enumerate(self.view.anchors):
            if name == node.anchor and start == node.props:
                return index
        return -1  # pragma: no cover - every anchored node was defined

    # -- the edits -----------------------------------------------------------------------

    def replace(self, chain: Chain, value: Any) -> str:
        container, item = chain[-1]
        node = item.node
        assert isinstance(container, YNode) and isinstance(item, YItem)
        assert isinstance(node, YNode)
        if item.merge:
            _merge_key(chain)
        self._guard(chain, node.props, node.raw_end)
        text = self.text
        self.open_end = "\n" not in text[node.end:]
        props = self._props(node, value)
        collection = isinstance(value, (dict, list))
        if container.flow or (node.flow and node.kind != "value" and collection):
            rendered = self._flow(value) if collection else \
                self._scalar(value, node, 0, 0, eol=False, flow=True)
            return self._splice(node.props, node.end, props + rendered)
        in_map = container.kind == "map"
        key_col = self._col(item.start)
        col = key_col + self.step if in_map else key_col + 1 + container.gap
        old_block = node.kind in ("map", "seq") and not node.flow
        if old_block:  # the old block goes, with its last line's comment and deeper ones
            comment = self._comment_between(node.head, node.start)
            end = self._line_stop(self._item_end(item))
        else:
            comment, end = "", node.end
        if collection and value:
            if old_block and (node.kind == "map") == isinstance(value, dict):
                col = node.col  # the block's own indentation
            elif in_map and isinstance(value, list):
                col = key_col + self.seq_indent
            if not old_block:
                comment, end = self._comment_after(node.end)
            body = self._block(value, col)
            if not in_map and not props and not comment:  # `- key: v` on the dash's line
                return self._splice(node.head, end, " " * container.gap + body.lstrip(" "))
            lead = " " + props.rstrip(" ") if props else ""
            lead += " " + comment if comment else ""
            return self._splice(node.head, end, lead + self.nl + body)
        if old_block:
            rendered = self._scalar(value, None, col, key_col,
                                    eol=not comment and self._block_ok(end, col))
            suffix = "  " + comment if comment else ""
            return self._splice(node.head, end, " " + props + rendered + suffix)
        rendered = self._scalar(value, node, col, key_col, eol=self._block_ok(node.end, col))
        empty = node.kind == "value" and node.start == node.end and not node.style
        next_line = "\n" in text[node.head:node.props]
        if empty or (next_line and rendered.startswith("|")):  # `key:` (null), or a block
            return self._splice(node.head, node.end, " " + props + rendered)
        return self._splice(node.props, node.end, props + rendered)

    def add(self, chain: Chain, node: Node, key: str, value: Any) -> str:
        assert isinstance(node, YNode)
        self._guard(chain, node.end, node.end, into=True)
        last = node.items[-1] if node.items else None
        key_text = self._key_text(key, last, node.flow)
        if node.flow:
            return self._flow_add(node, f"{key_text}: {self._flow(value)}")
        assert last is not None  # a block mapping has keys
        pos = self._item_end(last)
        self.open_end = "\n" not in self.text[pos - 1:]
        line = " " * node.col + key_text + ":" + self._tail(value, node.col)
        return self._insert_line(pos, line)

    def append(self, chain: Chain, node: Node, value: Any) -> str:
        assert isinstance(node, YNode)
        self._guard(chain, node.end, node.end, into=True)
        if node.flow:
            return self._flow_add(node, self._flow(value))
        pos = self._item_end(node.items[-1])
        self.open_end = "\n" not in self.text[pos - 1:]
        line = " " * node.col + "-" + self._item_text(value, node.col, node.gap)
        return self._insert_line(pos, line)

    def delete(self, chain: Chain) -> str:
        container, item = chain[-1]
        assert isinstance(container, YNode) and isinstance(item, YItem)
        if item.merge:
            _merge_key(chain)
        items = container.items
        index = items.index(item)
        if container.flow:
            self._guard(chain, item.start, item.node.end)
            if len(items) == 1:
                return self._splice(container.start + 1, container.end - 1, "")
            if index:
                return self._splice(items[index - 1].node.end, item.node.end, "")
            return self._splice(item.start, items[1].start, "")
        if item.explicit:
            raise UsageError(f"{shown(path_of(chain))} has an explicit key ('? key'), which "
                             "encfile cannot remove in place", hints=[EDIT_HINT])
        start, end = self._item_lines(item)
        self._guard(chain, start, end)
        text = self.text
        if len(items) == 1:  # the mapping (list) stays, empty
            empty = "{}" if container.kind == "map" else "[]"
            if len(chain) == 1:
                return self._splice(start, end, empty + self.nl)
            props = text[container.props:container.start].strip()
            comment = self._comment_between(container.head, container.start)
            new = " " + (props + " " if props else "") + empty + ("  " + comment if comment
                                                                   else "")
            return self._splice(container.head, self._line_stop(end), new)
        line_start = text.rfind("\n", 0, item.start) + 1
        if text[line_start:item.start].strip(" \t"):  # `- key: v`, `- - v`: the next moves up
            nxt = items[index + 1]
            stop = self._line_stop(item.node.raw_end)
            if not text[stop:nxt.start].strip():
                return self._splice(item.start, nxt.start, "")
            keep = line_start + len(text[line_start:item.start].rstrip(" \t"))
            return self._splice(keep, stop, "")
        return self._splice(start, end, "")

    # -- positions -----------------------------------------------------------------------

    def _splice(self, start: int, end: int, new: str) -> str:
        return self.bom + self.text[:start] + new + self.text[end:]

    def _col(self, pos: int) -> int:
        return pos - (self.text.rfind("\n", 0, pos) + 1)

    def _line_stop(self, pos: int) -> int:
        """Where the line that ``pos`` ends on stops, before its line break."""
        text = self.text
        if pos > 0 and text[pos - 1] == "\n":
            eol = pos - 1
        else:
            eol = text.find("\n", pos)
            if eol < 0:
                return len(text)
        return eol - 1 if eol > 0 and text[eol - 1] == "\r" else eol

    def _after_line(self, pos: int) -> int:
        """The index after the line break of the line that ``pos`` ends on."""
        text = self.text
        if pos > 0 and text[pos - 1] == "\n":
            return pos
        eol = text.find("\n", pos)
        return len(text) if eol < 0 else eol + 1

    def _lines(self, start: int) -> Iterator[tuple[int, str]]:
        """The lines from ``start`` on: (index after its break, its text without the break)."""
        text = self.text
        while start < len(text):
            eol = text.find("\n", start)
            end = len(text) if eol < 0 else eol + 1
            yield end, text[start:end].rstrip("\r\n")
            start = end

    def _item_end(self, item: Item) -> int:
        """After an item's last line, and the comment lines indented deeper that follow it."""
        node = item.node
        assert isinstance(node, YNode)
        end = self._after_line(max(node.raw_end, node.end))
        col = self._col(item.start)
        for line_end, line in self._lines(end):
            body = line.lstrip(" \t")
            if not body.startswith("#") or len(line) - len(body) <= col:
                break
            end = line_end
        return end

    def _item_lines(self, item: Item) -> tuple[int, int]:
        """An item's lines, with the comment lines right above it in its column."""
        text = self.text
        start = text.rfind("\n", 0, item.start) + 1
        col = item.start - start
        while start > 0:
            prev = text.rfind("\n", 0, start - 1) + 1
            line = text[prev:start].rstrip("\r\n")
            body = line.lstrip(" \t")
            if not body.startswith("#") or len(line) - len(body) != col:
                break
            start = prev
        head = text.rfind("\n", 0, item.start) + 1
        if start < head and not re.sub(r"(?m)^(?:---|%.*)[ \t\r]*$", "", text[:start]).strip():
            start = head  # comments that open the document are the file's, not the key's
        return start, self._item_end(item)

    def _block_ok(self, pos: int, indent: int) -> bool:
        """Can a block scalar with text in column ``indent`` end at ``pos``?

        Only a line break may follow on its line, and the next line that is not blank must
        be left of ``indent`` (or the block would take it in).
        """
        text = self.text
        stop = self._line_stop(pos)
        if text[pos:stop].strip(" \t") or "\n" not in text[stop:]:
            return False
        for _, line in self._lines(self._after_line(stop)):
            if line.strip(" \t"):
                return len(line) - len(line.lstrip(" ")) < indent
        return True

    def _comment_after(self, pos: int) -> tuple[str, int]:
        """The line comment after ``pos`` and where it stops, or ``("", pos)``."""
        stop = self._line_stop(pos)
        rest = self.text[pos:stop].strip(" \t")
        return (rest, stop) if rest.startswith("#") else ("", pos)

    def _comment_between(self, head: int, start: int) -> str:
        """The line comment after a ``key:`` (or ``-``) whose value starts on a later line."""
        stop = self._line_stop(head)
        if stop >= start:
            return ""
        rest = self.text[head:stop]
        mark = rest.find("#")
        while mark > 0 and rest[mark - 1] not in " \t":
            mark = rest.find("#", mark + 1)
        return rest[mark:].rstrip() if mark >= 0 else ""

    def _insert_line(self, pos: int, line: str) -> str:
        text = self.text
        if pos >= len(text) and text and not text.endswith("\n"):
            return self._splice(len(text), len(text), self.nl + line)
        return self._splice(pos, pos, line + self.nl)

    def _flow_add(self, node: YNode, entry: str) -> str:
        """A flow collection with ``entry`` after its last item, spaced as its items are."""
        text = self.text
        close = node.end - 1
        items = node.items
        if not items:
            return self._splice(node.start + 1, close, entry)
        first, last, last_end = items[0].start, items[-1].start, items[-1].node.end
        between = text[items[-2].node.end:last] if len(items) > 1 else text[node.start:first]
        if "\n" in between:  # one item a line
            sep = self.nl + text[text.rfind("\n", 0, last) + 1:last]
        else:
            comma = text.find(",", items[0].node.end)
            sep = "" if len(items) > 1 and text[comma + 1:comma + 2] not in " \t\r\n" \
                else " "
        if "," in re.sub(r"#[^\n]*", "", text[last_end:close]):  # a trailing comma stays last
            comma = text.find(",", last_end)
            return self._splice(comma + 1, comma + 1, sep + entry + ",")
        return self._splice(last_end, last_end, "," + sep + entry)

    # -- writing values ------------------------------------------------------------------

    def _props(self, node: YNode, value: Any) -> str:
        """The properties a new value keeps: the anchor, and a ``!!str`` tag on a string."""
        parts = []
        if node.anchor:
            parts.append("&" + node.anchor)
        if node.tag == "tag:yaml.org,2002:str" and isinstance(value, str):
            parts.append("!!str")
        return " ".join(parts) + " " if parts else ""

    def _key_text(self, key: str, sibling: Item | None, flow: bool) -> str:
        """A new key, quoted as the key before it is when that can hold it."""
        style = sibling.key_style if isinstance(sibling, YItem) else ""
        if style == '"' or key == "<<":  # a plain '<<' would be a merge key
            return yaml_emit.double_quoted(key)
        if style == "'" and _single_ok(key):
            return "'" + key.replace("'", "''") + "'"
        return yaml_emit.quote_string(key, flow)

    def _scalar(self, value: Any, old: YNode | None, indent: int, base: int, *,
                eol: bool, flow: bool = False) -> str:
        """``value`` as a scalar, in ``old``'s style when that style can hold it.

        ``indent`` is the column a block scalar's text would start at (``base``:
        its parent's); ``eol``: nothing but a line break follows.
        """
        if isinstance(value, (dict, list)):
            return "{}" if isinstance(value, dict) else "[]"
        if not isinstance(value, str):
            return _plain(value)
        style = old.style if old is not None and old.kind == "value" else None
        if style == '"':
            return yaml_emit.double_quoted(value)
        if style == "'" and _single_ok(value):
            return "'" + value.replace("'", "''") + "'"
        if style == "" and yaml_emit.plain_ok(value, flow):
            return value
        if style in ("|", ">") and eol and not self.open_end and old is not None:
            indent = self._block_indent(old, indent)
            if "\n" not in value:
                block = _one_line_literal(value, indent, self.nl)
                if block is not None:
                    return block
        return yaml_emit.render_scalar("str", value, flow=flow, indent=indent, base=base,
                                       eol=eol and not flow and not self.open_end, nl=self.nl)

    def _block_indent(self, old: YNode, default: int) -> int:
        """The column an old block scalar's text starts at."""
        for line_end, line in self._lines(self._after_line(old.start)):
            if line_end > old.end + 1:
                break
            if line.strip():
                return len(line) - len(line.lstrip(" "))
        return default

    def _flow(self, value: Any) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{yaml_emit.quote_string(k, True)}: {self._flow(v)}"
                                   for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self._flow(v) for v in value) + "]"
        if isinstance(value, str):
            return yaml_emit.quote_string(value, True)
        return _plain(value)

    def _tail(self, value: Any, key_col: int) -> str:
        """What follows ``key:`` for ``value``, the key being in column ``key_col``."""
        if isinstance(value, dict) and value:
            return self.nl + self._block(value, key_col + self.step)
        if isinstance(value, list) and value:
            return self.nl + self._block(value, key_col + self.seq_indent)
        return " " + self._scalar(value, None, key_col + self.step, key_col, eol=True)

    def _item_text(self, value: Any, dash_col: int, gap: int = 1) -> str:
        """What follows a list item's ``-`` (in column ``dash_col``)."""
        col = dash_col + 1 + gap
        if isinstance(value, (dict, list)) and value:
            return " " * gap + self._block(value, col).lstrip(" ")
        return " " * gap + self._scalar(value, None, col, dash_col, eol=True)

    def _block(self, value: dict[str, Any] | list[Any], col: int) -> str:
        """A mapping's keys (a list's items) from column ``col``, without a final line break."""
        pad = " " * col
        if isinstance(value, dict):
            return self.nl.join(pad + self._key_text(k, None, False) + ":" + self._tail(v, col)
                                for k, v in value.items())
        return self.nl.join(pad + "-" + self._item_text(v, col) for v in value)


def _merge_key(chain: Chain) -> None:
    raise UsageError(f"{shown(path_of(chain))} is a merge key ('<<'): encfile cannot change "
                     "what it merges in place", hints=[EDIT_HINT])


def _plain(value: Any) -> str:
    """null, a boolean or a number, as YAML reads it back."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _single_ok(value: str) -> bool:
    """Can ``value`` be written in single quotes on one line?"""
    return _NOT_RAW.search(value) is None


def _one_line_literal(value: str, indent: int, nl: str) -> str | None:
    """A one-line string as a ``|-`` block, so that a block scalar stays one."""
    if not value.strip(" ") or value[0] == " " or _NOT_RAW.search(value):
        return None
    return "|-" + nl + " " * indent + value
