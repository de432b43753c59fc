"""dotenv and INI edits for :mod:`setpath`: whole lines, over the codecs' own trees.

Both formats hold strings only (a number or boolean is written as its JSON
text; sops writes ``5.0`` for ``5``, a float being all a JSON number is to Go).
A replaced value keeps its quotes when they can hold the new text, and its
inline comment. A removed key takes every line it was given on (a reader takes
the last one, so removing only one could leave an old value in force) and the
comment lines directly above each.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import UsageError
from .formats import dotenv as _dotenv
from .formats import ini as _ini
from .setpath import EDIT_HINT, Chain, Editor, Item, Node, path_of, shown
from .tree import Hidden, Scalar

_FILE = {"dotenv": "a dotenv file", "ini": "an INI file"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


class FNode(Node):
    """A value or an INI section, with the codec's lines behind it.

    ``scalars`` are the codec's values on every line that sets this key (for a
    section: all its keys); ``section`` is the codec's INI section (the last of
    those with this name: go-ini reads a section given twice as one).
    """

    __slots__ = ("scalars", "section")

    def __init__(self, kind: str, start: int, end: int) -> None:
        super().__init__(kind, start, end)
        self.scalars: list[Scalar] = []  # every line of this key (or of this section's keys)
        self.section: Any = None  # an INI section (codec object)


def _text_of(value: Any, fmt: str) -> str:
    """The string a flat file holds for ``value``, or a UsageError."""
    if isinstance(value, (dict, list)):
        raise UsageError(f"{_FILE[fmt]} holds only flat values, not a "
                         f"{'mapping' if isinstance(value, dict) else 'list'}",
                         hints=[EDIT_HINT])
    if value is None:
        raise UsageError(f"{_FILE[fmt]} cannot hold null",
                         hints=["set '\"\"' for an empty value, or use unset"])
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else repr(value) if isinstance(value, float) \
        else str(value)


class _FlatEditor(Editor):
    fmt = ""

    def __init__(self, text: str, root: Node) -> None:
        super().__init__(text, root)
        self.text = text
        self.nl = "\r\n" if "\r\n" in text else "\n"

    def append(self, chain: Chain, node: Node, value: Any) -> str:  # pragma: no cover
        raise UsageError(f"{_FILE[self.fmt]} has no lists", hints=[EDIT_HINT])

    def _lines_of(self, scalar: Scalar) -> tuple[int, int]:
        """A key's lines (its value may run over several) and the comment lines above."""
        text = self.text
        start = text.rfind("\n", 0, scalar.start) + 1
        eol = text.find("\n", scalar.end)
        end = len(text) if eol < 0 else eol + 1
        top = start
        while top > 0:
            prev = text.rfind("\n", 0, top - 1) + 1
            if not text[prev:top].lstrip(" \t").startswith(self._markers()):
                break
            top = prev
        if top < start and not text[:top].lstrip("\ufeff").strip():
            top = start  # comments that open the file are the file's, not the key's
        return top, end

    def _markers(self) -> tuple[str, ...]:
        return ("#",)

    def _remove(self, spans: list[tuple[int, int]]) -> str:
        out = self.text
        for start, end in sorted(set(spans), reverse=True):
            out = out[:start] + out[end:]
        return out

    def _insert(self, pos: int, lines: str) -> str:
        text = self.text
        if pos >= len(text) and text and not text.endswith("\n"):
            lines = self.nl + lines
        return text[:pos] + lines + text[pos:]


class DotenvEditor(_FlatEditor):
    fmt = "dotenv"

    def __init__(self, text: str) -> None:
        parsed = _dotenv.parse(text)
        root = FNode("map", 0, len(text))
        for entry in parsed.root:
            if isinstance(entry, tuple):
                key, scalar = entry
                node = FNode("value", scalar.start, scalar.end)
                node.scalars = [scalar]
                root.items.append(Item(key, node, text.rfind("\n", 0, scalar.start) + 1))
        super().__init__(text, root)

    def find(self, node: Node, key: str) -> Item | None:
        found = self._named(key)
        return found[-1] if found else None

    def _named(self, key: str) -> list[Item]:
        """The lines that set ``key`` (``export KEY=`` too, as a program reads it)."""
        return [i for i in self.root.items
                if i.key == key or (i.key is not None and _dotenv.interpret_key(i.key) == key)]

    def replace(self, chain: Chain, value: Any) -> str:
        item = chain[-1][1]
        text = self.text
        node = item.node
        source = text[node.start:node.end]
        cr = "\r" if source.endswith("\r") else ""
        source = source[:len(source) - len(cr)]
        new = _dotenv_value(source, _text_of(value, "dotenv"))
        return text[:node.start] + new + cr + text[node.end:]

    def add(self, chain: Chain, node: Node, key: str, value: Any) -> str:
        if not _NAME.match(key) or key.startswith(_dotenv.META_PREFIX):
            raise UsageError(f"{key!r} is not a variable name encfile can add",
                             hints=["names are letters, digits, '_', '.' and '-', not "
                                    "starting with a digit or 'sops_'"])
        line = f"{key}={_dotenv_value('', _text_of(value, 'dotenv'))}{self.nl}"
        return self._insert(len(self.text), line)

    def delete(self, chain: Chain) -> str:
        key = chain[-1][1].key
        assert key is not None
        return self._remove([self._lines_of(s) for i in self._named(_dotenv.interpret_key(key))
                             for s in _scalars(i.node)])


def _scalars(node: Node) -> list[Scalar]:
    assert isinstance(node, FNode)
    return node.scalars


def _dotenv_value(source: str, text: str) -> str:
    """``text`` after ``KEY=``, in the quotes ``source`` (the old value) used if they hold it.

    Leading blanks and an inline comment after the old value stay.
    """
    lead = source[:len(source) - len(source.lstrip(" \t"))]
    body = source[len(lead):]
    quote, tail = "", ""
    if body[:1] in ('"', "'", "`"):
        close = _dotenv_close(body, body[0])
        if close > 0:
            quote, tail = body[0], body[close + 1:]
    elif body:
        comment = re.search(r"[ \t]+#.*", body, re.S)
        tail = comment.group() if comment else ""
    if quote == "'" and not any(c in text for c in "'\\\n"):
        return f"{lead}'{text}'{tail}"
    if quote == "`" and not any(c in text for c in "`\n"):
        return f"{lead}`{text}`{tail}"
    if quote == '"' or (text != text.strip() or not text
                        or any(c in text for c in "\n\"'`#\\")):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{lead}"{escaped}"{tail}'
    return lead + text + tail


def _dotenv_close(body: str, quote: str) -> int:
    """The index of the quote that closes ``body``'s opening one (-1 if none)."""
    pos = 1
    while True:
        found = body.find(quote, pos)
        if found < 0 or quote == "`":
            return found
        slashes = len(body[:found]) - len(body[:found].rstrip("\\"))
        if slashes % 2 == 0:
            return found
        pos = found + 1


class IniEditor(_FlatEditor):
    fmt = "ini"

    def __init__(self, text: str) -> None:
        self.parsed = parsed = _ini.parse(text)
        root = FNode("map", 0, len(text))
        # A section given twice is one section to go-ini: one node (new keys go to the last).
        views: dict[str, FNode] = {}
        for section in parsed.sections:
            if section is parsed.meta:
                continue
            node = views.get(section.name)
            if node is None:
                node = views[section.name] = FNode("map", 0, 0)
                start = section.header[0] if section.header else 0
                if section.header is not None or any(isinstance(i, tuple) for i in section.node):
                    root.items.append(Item(section.name, node, start))
            node.section = section
            keys = [i for i in section.node if isinstance(i, tuple)]
            node.scalars += [s for _, s in keys]
            for key, scalar in keys:
                if isinstance(scalar, Hidden):
                    continue
                old = next((i for i in node.items if i.key == key), None)
                value = FNode("value", scalar.start, scalar.end)
                value.scalars = [s for k, s in keys if k == key]
                if old is not None:  # the last value counts, at the first place
                    value.scalars = _scalars(old.node) + value.scalars
                    old.node = value
                else:
                    node.items.append(Item(key, value, text.rfind("\n", 0, scalar.start) + 1))
        super().__init__(text, root)
        self.sep = self._separator()
        self.configparser = parsed.configparser

    def _markers(self) -> tuple[str, ...]:
        return ("#", ";")

    def _separator(self) -> str:
        """What the file writes between a key and its value (``" = "``)."""
        for item in self.root.items:
            for entry in item.node.items:
                line = self.text[entry.start:entry.node.start]
                found = re.search(r"[ \t]*[=:][ \t]*\Z", line)
                if found:
                    return found.group()
        return " = "

    def replace(self, chain: Chain, value: Any) -> str:
        item = chain[-1][1]
        node = item.node
        assert isinstance(node, FNode)
        text = self.text
        if len(chain) == 1:  # a whole section
            if not isinstance(value, dict):
                raise UsageError(f"{shown(path_of(chain))} is an INI section: it holds keys, "
                                 "not a value", hints=["set a key in it: "
                                                       f'{shown(path_of(chain))}["key"]'])
            lines = self._key_lines(value, chain)
            spans = sorted({self._lines_of(s) for s in node.scalars})
            header = node.section.header  # the new keys go where the last section's were
            mine = [span for span in spans if header is None or span[0] > header[0]]
            at = mine[0][0] if mine else self._after_header(node)
            at -= sum(end - start for start, end in spans if end <= at)
            out = self._remove(spans)
            return out[:at] + lines + out[at:]
        if len(chain) > 2:  # pragma: no cover - INI values have no parts
            raise UsageError("an INI value has no parts", hints=[EDIT_HINT])
        new = self._value(text[node.start:node.end], _text_of(value, "ini"))
        return text[:node.start] + new + text[node.end:]

    def add(self, chain: Chain, node: Node, key: str, value: Any) -> str:
        assert isinstance(node, FNode)
        text = self.text
        if not chain and node is self.root:  # a new section
            if not isinstance(value, dict):
                raise UsageError(f"[\"{key}\"] would be an INI section: it can hold keys, not "
                                 "a value", hints=[f'set a key in it: ["{key}"]["name"]'])
            sep = "" if not text or text.endswith("\n") else self.nl
            blank = self.nl if text.strip() else ""
            head = "" if key == _ini.DEFAULT_SECTION and not text.strip() else \
                f"[{key}]{self.nl}"
            return f"{text}{sep}{blank}{head}{self._key_lines(value, [])}"
        line = self._key_lines({key: value}, chain)
        if node.items:
            last = max(s.end for s in node.scalars)
            eol = text.find("\n", last)
            return self._insert(len(text) if eol < 0 else eol + 1, line)
        return self._insert(self._after_header(node), line)

    def delete(self, chain: Chain) -> str:
        node = chain[-1][1].node
        assert isinstance(node, FNode)
        if len(chain) == 2:
            return self._remove([self._lines_of(s) for s in node.scalars])
        name = chain[-1][1].key
        spans = [self._section_span(section) for section in self.parsed.sections
                 if section.name == name and section is not self.parsed.meta]
        return self._remove([s for s in spans if s is not None])

    def _key_lines(self, values: dict[str, Any], chain: Chain) -> str:
        out = []
        for key, value in values.items():
            if isinstance(value, (dict, list)) or value is None:
                _text_of(value, "ini")  # the error, naming what it is
            if not key or key != key.strip() or any(c in key for c in "=:\n[]") \
                    or key.startswith(("#", ";", '"', "`")):
                raise UsageError(f"{shown([*path_of(chain), key])}: {key!r} is not an INI key "
                                 "encfile can write", hints=[EDIT_HINT])
            out.append(f"{key}{self.sep}{self._value('', _text_of(value, 'ini'))}{self.nl}")
        return "".join(out)

    def _value(self, source: str, text: str) -> str:
        """``text`` written for the file's reader: go-ini's quotes, or configparser's lines."""
        if not self.configparser:
            return _ini_value(source, text)
        # configparser takes a value as it stands, its lines after the first indented
        lines = text.split("\n")
        if text != text.strip(" \t") or any(line != line.strip() for line in lines) \
                or any(not line for line in lines[1:]):
            raise UsageError("this INI file is read the configparser way, where a value "
                             "cannot begin or end with blanks, nor hold an empty line",
                             hints=[EDIT_HINT])
        return ("\n    ").join(lines).replace("\n", self.nl)

    def _after_header(self, node: FNode) -> int:
        header = node.section.header
        if header is None:
            return 0
        eol = self.text.find("\n", header[1])
        return len(self.text) if eol < 0 else eol + 1

    def _section_span(self, section: Any) -> tuple[int, int] | None:
        """A section's lines: its header (with the comments above it) to the next one's."""
        text = self.text
        header = section.header
        if header is None:  # the keys before the first header
            spans = [self._lines_of(s) for _, s in
                     (i for i in section.node if isinstance(i, tuple))]
            return (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None
        start = self._comments_above(header[0])
        later = [s.header[0] for s in self.parsed.sections
                 if s.header is not None and s.header[0] > header[0]]
        end = self._comments_above(min(later)) if later else len(text)
        if end == len(text):  # the last section: the blank lines before it go too
            while start > 0 and not text[text.rfind("\n", 0, start - 1) + 1:start].strip():
                start = text.rfind("\n", 0, start - 1) + 1
        return start, end

    def _comments_above(self, line_start: int) -> int:
        text = self.text
        top = line_start
        while top > 0:
            prev = text.rfind("\n", 0, top - 1) + 1
            if not text[prev:top].lstrip(" \t").startswith(self._markers()):
                break
            top = prev
        return top


def _ini_value(source: str, text: str) -> str:
    """``text`` as an INI value, in ``source``'s (the old value's) quotes if they hold it."""
    for quote in ('"""', "`", '"', "'"):
        if len(source) >= 2 * len(quote) and source.startswith(quote) \
                and source.endswith(quote):
            inner_ok = quote not in text and "\n" not in text if quote != '"""' \
                else '"""' not in text
            if quote in ('"', "'"):
                inner_ok = inner_ok and not any(c in text for c in ";#") \
                    and not text.endswith("\\")
            if inner_ok:
                return quote + text + quote
            break
    return _ini.render_value(text)

