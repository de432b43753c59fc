"""Parser events for plain block YAML without loading ruamel (20 ms of imports).

Encrypted files are mostly block mappings and lists of one-line values, ``ENC[...]``
tokens and comments, with a ``sops`` block holding ``|`` literal scalars. For text of
exactly that shape this module yields the events libyaml would, with the same marks
(index, line, column), so :mod:`encfile.formats.yaml` builds the same tree either way.

Anything beyond the shape makes :func:`events` return ``None`` and the caller uses
libyaml: flow collections, anchors, aliases, tags, folded or ``|+`` scalars, multi-line
plain or quoted scalars, quoted or complex keys, document markers and directives, tabs,
CR line ends, a BOM, an empty document. ``tests/test_yaml_fast.py`` checks the events
against libyaml's on real files and on fuzzed ones.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Decline(Exception):
    pass


class Mark:
    __slots__ = ("column", "index", "line")

    def __init__(self, index: int, line: int, column: int) -> None:
        self.index = index
        self.line = line
        self.column = column


class _Event:
    __slots__ = (
        "anchor",
        "end_mark",
        "explicit",
        "flow_style",
        "implicit",
        "start_mark",
        "style",
        "tag",
        "value",
    )

    def __init__(self, start: Mark, end: Mark, value: Any = None, style: str | None = None,
                 implicit: Any = None, *, flow: bool = False, explicit: bool = False) -> None:
        self.start_mark = start
        self.end_mark = end
        self.value = value
        self.style = style
        self.tag = None
        self.anchor = None
        self.implicit = implicit
        self.flow_style = flow
        self.explicit = explicit


# The class names are what the tree builder looks at, as with libyaml's events.
class StreamStartEvent(_Event): ...
class StreamEndEvent(_Event): ...
class DocumentStartEvent(_Event): ...
class DocumentEndEvent(_Event): ...
class MappingStartEvent(_Event): ...
class MappingEndEvent(_Event): ...
class SequenceStartEvent(_Event): ...
class SequenceEndEvent(_Event): ...
class ScalarEvent(_Event): ...


_PLAIN = (True, False)
_QUOTED = (False, True)
# A simple key: words of safe characters separated by single spaces, then ':' and a
# space or the line's end.
_KEY = re.compile(r"([A-Za-z0-9_./$][A-Za-z0-9_./$-]*(?: [A-Za-z0-9_./$-]+)*):(?: +|$)")
_PLAIN_START_BAD = set("-?:,[]{}#&*!|>'\"%@`")
_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0",
            "b": "\b", "f": "\f"}


#: Characters YAML allows in a stream (a regex class body), less tab, CR, NEL, the line
#: separators and the BOM: the ones a small reader can take as they are. Anything else
#: is for libyaml (or ruamel) to read or refuse. config_yaml uses it too.
PLAIN_CHARS = ("\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
               "\U00010000-\U0010ffff")
#: The same set's complement, which is what is searched for: as a class of a few narrow
#: ranges it compiles in 0.1 ms, where ``[^PLAIN_CHARS]`` takes 6 ms (re builds a charset
#: over the astral planes). tests/test_perf_paths_yaml.py checks the two agree.
NOT_PLAIN_CHARS = "\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff"
UNSCANNED = re.compile(f"[{NOT_PLAIN_CHARS}]")


def events(text: str) -> list[Any] | None:
    """libyaml's events for ``text``, or None when it is not plain block YAML."""
    if not text or UNSCANNED.search(text):
        return None
    if not text.endswith("\n") and not text[text.rfind("\n") + 1:].lstrip(" ")[:1].strip("#"):
        return None  # a last line of spaces or a comment, with no line break: libyaml's
        # marks for the blocks it closes there are not worth copying
    try:
        return _Scanner(text).run()
    except _Decline:
        return None


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts: list[int] = []
        offset = 0
        for line in self.lines:
            self.starts.append(offset)
            offset += len(line) + 1
        self.out: list[Any] = []
        self.stack: list[tuple[str, int]] = []  # ("map" | "seq", indent)

    def mark(self, line: int, column: int) -> Mark:
        return Mark(self.starts[line] + column, line, column)

    # -- the line loop ---------------------------------------------------------------

    def run(self) -> list[Any]:
        zero = Mark(0, 0, 0)
        self.out.append(StreamStartEvent(zero, zero))
        i = self._next_content(0)
        explicit = False
        while True:  # one document per round
            if i is None:
                raise _Decline("an empty document")
            if _is_marker(self.lines[i], "---"):
                m = self.mark(i, 0)
                self.out.append(DocumentStartEvent(m, self.mark(i, 3), explicit=True))
                explicit = True
                i = self._next_content(i + 1)
                if i is None:
                    raise _Decline("an empty document")
            first = self.lines[i]
            indent = len(first) - len(first.lstrip(" "))
            if first.startswith(("---", "...", "%")):
                raise _Decline("document markers")
            if not explicit:
                m = self.mark(i, indent)
                self.out.append(DocumentStartEvent(m, m))
            self._open(i, indent)
            while i is not None and not _is_marker(self.lines[i], "---"):
                i = self._line(i)
            end = self._end_mark() if i is None else self.mark(i, 0)
            self._close(-1, end)
            self.out.append(DocumentEndEvent(end, end))
            if i is None:
                break
        self.out.append(StreamEndEvent(end, end))
        return self.out

    def _end_mark(self) -> Mark:
        # libyaml ends the stream on a new line, as if the text ended with a line break
        lines = self.text.count("\n") + (0 if self.text.endswith("\n") else 1)
        return Mark(len(self.text), lines, 0)

    def _next_content(self, i: int) -> int | None:
        """The next line (from ``i``) that holds a token, not a comment or blanks."""
        while i < len(self.lines):
            stripped = self.lines[i].lstrip(" ")
            if stripped and not stripped.startswith("#"):
                return i
            i += 1
        return None

    def _open(self, i: int, indent: int, indentless: bool = False) -> None:
        """Open the block collection whose first entry is at line ``i``, column ``indent``
        (``indentless``: a list at its key's column, which libyaml marks by its '-')."""
        rest = self.lines[i][indent:]
        m = self.mark(i, indent)
        if rest == "-" or rest.startswith("- "):
            end = self.mark(i, indent + 1) if indentless else m
            self.out.append(SequenceStartEvent(m, end, implicit=True))
            self.stack.append(("seq", indent))
        elif _key(self.lines[i], indent) is not None:
            self.out.append(MappingStartEvent(m, m, implicit=True))
            self.stack.append(("map", indent))
        else:
            raise _Decline("not a block collection")

    def _close(self, indent: int, at: Mark) -> None:
        while self.stack and self.stack[-1][1] > indent:
            kind, _ = self.stack.pop()
            self.out.append((MappingEndEvent if kind == "map" else SequenceEndEvent)(at, at))

    def _line(self, i: int) -> int | None:
        """Handle the entry at line ``i``; return the next line with content."""
        line = self.lines[i]
        indent = len(line) - len(line.lstrip(" "))
        at = self.mark(i, indent)
        self._close(indent, at)
        rest = line[indent:]
        is_item = rest == "-" or rest.startswith("- ")
        if self.stack and self.stack[-1] == ("seq", indent) and not is_item:
            self.stack.pop()  # `key:\n- a\nnext:`: the list ends at `next`
            self.out.append(SequenceEndEvent(at, at))
        if not self.stack or self.stack[-1][1] != indent:
            raise _Decline("indentation this scanner does not follow")
        if self.stack[-1][0] == "seq":
            if not is_item:
                raise _Decline("a list entry without '-'")
            return self._item(i, indent)
        return self._entry(i, indent)

    def _entry(self, i: int, col: int) -> int | None:
        """``key: value`` at line ``i``, column ``col`` (in the map at that column)."""
        found = _key(self.lines[i], col)
        if found is None:
            raise _Decline("not a simple key")
        key, style, key_end, value_start = found
        self.out.append(ScalarEvent(self.mark(i, col), self.mark(i, key_end), key, style,
                                    _QUOTED if style else _PLAIN))
        return self._value(i, value_start, key_end + 1, col)

    def _item(self, i: int, col: int) -> int | None:
        """``- value`` at line ``i``, column ``col``."""
        line = self.lines[i]
        start = col + 1
        while start < len(line) and line[start] == " ":
            start += 1
        rest = line[start:]
        if rest and not rest.startswith("#") and _key(line, start) is not None:
            m = self.mark(i, start)  # `- key: value`: a map at the key's column
            self.out.append(MappingStartEvent(m, m, implicit=True))
            self.stack.append(("map", start))
            return self._entry(i, start)
        if rest.startswith("- "):
            raise _Decline("a nested list on the item's line")
        return self._value(i, start, col + 1, col)

    def _value(self, i: int, pos: int, empty_at: int, parent_col: int) -> int | None:
        """The value starting at column ``pos`` of line ``i`` (a scalar on the line, or a
        block below it). ``empty_at``: where an empty value is marked."""
        line = self.lines[i]
        rest = line[pos:]
        if not rest or rest.startswith("#"):
            nxt = self._next_content(i + 1)
            if nxt is not None:
                indent = len(self.lines[nxt]) - len(self.lines[nxt].lstrip(" "))
                child = self.lines[nxt][indent:]
                nested_list = child == "-" or child.startswith("- ")
                indentless = indent == parent_col and nested_list and self.stack[-1][0] == "map"
                if indent > parent_col or indentless:
                    self._open(nxt, indent, indentless)
                    return nxt
            m = self.mark(i, empty_at)
            self.out.append(ScalarEvent(m, m, "", "", _PLAIN))
            return nxt
        if rest[0] == "|":
            return self._literal(i, pos, parent_col)
        if rest[0] in "[{":
            return self._empty_flow(i, pos, parent_col)
        if rest[0] in "'\"":
            value, end = (_single if rest[0] == "'" else _double)(line, pos)
            style = rest[0]
            implicit = _QUOTED
        else:
            value, end = _plain(line, pos)
            style, implicit = "", _PLAIN
        after = line[end:].lstrip(" ")
        if after and not (after.startswith("#") and end < len(line) and line[end] == " "):
            raise _Decline("text after a value")
        self.out.append(ScalarEvent(self.mark(i, pos), self.mark(i, end), value, style,
                                    implicit))
        nxt = self._next_content(i + 1)
        if nxt is not None:
            indent = len(self.lines[nxt]) - len(self.lines[nxt].lstrip(" "))
            if indent > parent_col:
                raise _Decline("a value continued on the next line")
        return nxt

    def _empty_flow(self, i: int, pos: int, parent_col: int) -> int | None:
        """``[]`` or ``{}`` (any other flow collection is declined)."""
        line = self.lines[i]
        close = "]" if line[pos] == "[" else "}"
        end = pos + 1
        while end < len(line) and line[end] == " ":
            end += 1
        if line[end:end + 1] != close:
            raise _Decline("a flow collection")
        after = line[end + 1:].lstrip(" ")
        if after and not (after.startswith("#") and line[end + 1:end + 2] == " "):
            raise _Decline("text after a value")
        starts, ends = ((SequenceStartEvent, SequenceEndEvent) if close == "]"
                        else (MappingStartEvent, MappingEndEvent))
        self.out.append(starts(self.mark(i, pos), self.mark(i, pos + 1), implicit=True,
                               flow=True))
        self.out.append(ends(self.mark(i, end), self.mark(i, end + 1)))
        nxt = self._next_content(i + 1)
        if nxt is not None and len(self.lines[nxt]) - len(self.lines[nxt].lstrip(" ")) \
                > parent_col:
            raise _Decline("a value continued on the next line")
        return nxt

    def _literal(self, i: int, pos: int, parent_col: int) -> int | None:
        line = self.lines[i]
        header = line[pos:].rstrip(" ")
        comment = header.find(" #")
        if comment >= 0:
            header = header[:comment].rstrip(" ")
        if header not in ("|", "|-"):
            raise _Decline("a block scalar header this scanner does not read")
        body: list[str] = []
        j = i + 1
        indent = None
        while j < len(self.lines):
            text = self.lines[j]
            stripped = text.lstrip(" ")
            if not stripped:
                raise _Decline("blank lines in a block scalar")
            level = len(text) - len(stripped)
            if indent is None:
                if level <= parent_col:
                    raise _Decline("an empty block scalar")
                indent = level
            if level < indent:
                break
            body.append(text[indent:])
            j += 1
        if not body or j >= len(self.lines):
            raise _Decline("a block scalar at the end of the text")
        value = "\n".join(body) + ("\n" if header == "|" else "")
        self.out.append(ScalarEvent(self.mark(i, pos), self.mark(j, 0), value, "|", _QUOTED))
        nxt = self._next_content(j)
        if nxt is not None and nxt != j:
            raise _Decline("comments or blanks after a block scalar")
        return nxt


def _is_marker(line: str, marker: str) -> bool:
    if not line.startswith(marker):
        return False
    rest = line[3:].lstrip(" ")
    if rest and not (rest.startswith("#") and line[3] == " "):
        raise _Decline("content on a document marker's line")
    return True


def _key(line: str, col: int) -> tuple[str, str, int, int] | None:
    """``(key, style, key end, value start)`` of a simple or quoted key at ``col``."""
    m = _KEY.match(line, col)
    if m is not None:
        return m.group(1), "", col + len(m.group(1)), m.end()
    if line[col:col + 1] not in ("'", '"'):
        return None
    value, end = (_single if line[col] == "'" else _double)(line, col)
    if line[end:end + 1] != ":" or line[end + 1:end + 2] not in ("", " "):
        return None
    start = end + 1
    while start < len(line) and line[start] == " ":
        start += 1
    return value, line[col], end, start


def _plain(line: str, pos: int) -> tuple[str, int]:
    cut = line.find(" #", pos)
    end = len(line) if cut < 0 else cut
    while end > pos and line[end - 1] == " ":
        end -= 1
    value = line[pos:end]
    first = value[0]
    if first in _PLAIN_START_BAD and not (first in "-?:" and len(value) > 1
                                          and value[1] != " "):
        raise _Decline("a value starting with an indicator")
    if ": " in value or value.endswith(":"):
        raise _Decline("a mapping inside a value")
    return value, end


def _single(line: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    j = pos + 1
    while True:
        k = line.find("'", j)
        if k < 0:
            raise _Decline("a quoted value continued on the next line")
        out.append(line[j:k])
        if line.startswith("'", k + 1):
            out.append("'")
            j = k + 2
            continue
        return "".join(out), k + 1


def _double(line: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    j = pos + 1
    while j < len(line):
        ch = line[j]
        if ch == '"':
            return "".join(out), j + 1
        if ch == "\\":
            code = line[j + 1:j + 2]
            if code in _ESCAPES:
                out.append(_ESCAPES[code])
                j += 2
                continue
            if code == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", line[j + 2:j + 6]):
                point = int(line[j + 2:j + 6], 16)
                if 0xD800 <= point < 0xE000:
                    raise _Decline("a surrogate escape")
                out.append(chr(point))
                j += 6
                continue
            raise _Decline("an escape this scanner does not decode")
        out.append(ch)
        j += 1
    raise _Decline("a quoted value continued on the next line")
