"""Plain block YAML straight to the tree, one regular expression over the lines.

Large encrypted files are mostly one shape: block mappings and lists of one-line values,
one key or item per line, and a ``sops`` block at the end. For text of that shape this
module builds the tree that :mod:`encfile.formats.yaml` builds from parser events (the
same nodes, spans, ordinals and contexts) without events: one ``findall`` over the data
lines and one short loop. The ``sops`` block (lists of maps, literal scalars, any shape
sops writes) goes through the event path alone, which is quick at its size.

Anything else makes :func:`parse` return None and the caller takes the event path:
comments (any ``#``), quoted keys, escapes, flow collections, anchors, aliases, tags,
block scalars in the data, values continued on the next line, several documents, a top
level that is not a block mapping at column 0, tabs, CR, control characters, text after
the ``sops`` block, a file without a final line break, duplicate keys (the event path
says which). ``tests/test_perf_paths_yaml.py`` checks the trees against the event
path's, on real files and fuzzed ones.
"""

from __future__ import annotations

import re

from ..tree import Branch, Comment, Scalar, Seq
from . import yaml as _yaml
from .yaml_fast import UNSCANNED
from .yaml_resolve import exact_int, resolve_plain

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_KEY = r"[A-Za-z0-9_./$][A-Za-z0-9_./$-]*(?: [A-Za-z0-9_./$-]+)*"
# One data line: (line, indent, key, value, dash and spaces, item); a blank line has only
# the first two. Values are taken whole here and checked all at once (_values_ok): a
# character class run over every value's text would be the slowest part of the parse.
_LINE = re.compile(f"(( *)(?:({_KEY}):(?: +([^\n]*))?|(- +)([^\n]*))?)\n")
# The characters yaml_fast leaves to libyaml (controls, tab, C1 controls, the line
# separators, surrogates, the BOM); ASCII text is checked for them by bytes.translate.
_ASCII_OK = bytes([10, *range(0x20, 0x7F)])
# What may not start a plain scalar (':', '?' and '-' may, before a non-space).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_HINTS = frozenset("yYnNtTfFoO~.+-0123456789")  # where yaml_resolve may find a non-string
_DIGITS = frozenset("0123456789")
# Digits, then a letter no number, time or YAML 1.1 form continues with (no e, x, o, b),
# then letters and digits: a string to go-yaml, without yaml_resolve's three patterns.
_DIGITS_WORD = re.compile(r"[0-9]+[ac-df-np-wyzAC-DF-NP-WYZ][A-Za-z0-9]*\Z")
_COMMENT_TOKEN = ("ENC[AES256_GCM,", ",type:comment]")  # sops's list-item comments
_MAX_DEPTH = 64


def parse(text: str) -> _yaml.ParsedYaml | None:
    """The parsed stream of ``text`` (no BOM), or None when it is not of this shape."""
    if not text.endswith("\n") or "#" in text or not _characters_ok(text):
        return None
    # the `sops` key, at the start of a line; the whole text for a plaintext file
    meta = 0 if text.startswith("sops:") else (text.find("\nsops:") + 1 or len(text))
    if meta < len(text) and text[meta + 5] not in " \n":
        return None
    built = _Tree(text, meta).build(_LINE.findall(text, 0, meta))
    if built is None:
        return None
    parsed = _yaml.ParsedYaml(text=text, bom="", nl="\n")
    parsed.docs = [built[0]]
    parsed.sops_notes = built[1]
    if meta == len(text):
        return parsed
    return parsed if _add_metadata(built[0], text, meta) else None


def _characters_ok(text: str) -> bool:
    """No character the event path's scanner leaves to libyaml (one C pass for ASCII)."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _ASCII_OK)
    return UNSCANNED.search(text) is None


def _quoted_ok(value: str) -> bool:
    """A whole single-quoted scalar, or a double-quoted one without escapes."""
    quote = value[0]
    if len(value) < 2 or value[-1] != quote:
        return False
    inner = value[1:-1]
    if quote == "'":
        return "'" not in inner.replace("''", "")
    return '"' not in inner and "\\" not in inner


def _add_metadata(doc: _yaml.YamlDoc, text: str, off: int) -> bool:
    """Read the ``sops`` block (from ``off`` to the end) with the event path, alone."""
    try:
        sub = _yaml.parse_events(text[off:], "")
    except Exception:  # the whole text, on the event path, says what is wrong
        return False
    if len(sub.docs) != 1 or sub.clear_blocks or sub.sops_notes or sub.alias_comments:
        return False
    meta = sub.docs[0]
    if (meta.meta_span is None or meta.meta_span[0] != 0 or len(meta.root)
            or meta.wrap is not None or meta.directive is not None or meta.flow_root):
        return False
    doc.meta_raw = meta.meta_raw
    doc.meta_span = (off, off + meta.meta_span[1])
    if meta.meta_tail is not None:
        doc.meta_tail = (off + meta.meta_tail[0], off + meta.meta_tail[1])
    doc.insert_at = off + meta.insert_at
    doc.root.end = off + meta.root.end
    return True


class _Tree:
    """The tree of the data lines (``text`` up to ``end``); one instance per parse."""

    def __init__(self, text: str, end: int) -> None:
        self.text = text
        self.end = end
        self.notes: list[str] = []

    def note(self, message: str, start: int) -> None:
        line = self.text.count("\n", 0, start) + 1
        self.notes.append(message.replace("{line}", str(line)))

    def build(self, rows: list[tuple[str, str, str, str, str, str]]
              ) -> tuple[_yaml.YamlDoc, list[str]] | None:
        """The document of the data lines, or None. Each value is checked here as it goes
        (its first and last character); a ': ' inside one, by counting them all at once."""
        root = Branch(0)
        root.ordinal = 0
        ordinal = 1
        step = 0
        valued = 0  # key lines with a value, each with one ': ' of its own
        # the open collections above the current one: (node, indent, last end, keys)
        stack: list[tuple[Any, int, int, set[str] | None]] = []
        node: Any = root  # the current collection, its indent, keys and last end
        indent = -1  # until the first line
        keys: set[str] | None = set()
        last_end = 0
        pending: tuple[str, int] | None = None  # `key:` with nothing after it: (key, where)
        pos = 0
        for line, pad, key, value, dash, item in rows:
            start = pos
            pos += len(line) + 1
            n = len(pad)
            if n != indent or pending is not None or keys is None or not key:
                # anything but one more key of the current mapping
                if not key and not dash:
                    continue  # a blank line
                if indent < 0:
                    if n or dash:
                        return None  # the top level is a block mapping at column 0
                    root.start = start
                    indent = 0
                if pending is not None:
                    if n > indent or (n == indent and dash and keys is not None):
                        # the pending key's value: a collection opening on this line
                        if len(stack) >= _MAX_DEPTH:
                            return None
                        child: Any = Seq(start + n) if dash else Branch(start + n)
                        child.ordinal = ordinal
                        ordinal += 1
                        node.append((pending[0], child))
                        if not step and n > indent:
                            step = n - indent  # the first nested block gives the step
                        stack.append((node, indent, last_end, keys))
                        node, indent, last_end = child, n, start + n
                        keys = None if dash else set()
                    else:
                        node.append((pending[0], Scalar(None, "", pending[1], pending[1],
                                                        ordinal, indent * 2)))
                        ordinal += 1
                        last_end = pending[1]
                    pending = None
                while n < indent or (n == indent and keys is None and not dash):
                    if not stack:
                        return None
                    node.end = end = last_end
                    node, indent, last_end, keys = stack.pop()
                    last_end = end
                if n != indent:
                    return None  # deeper than the collection it would belong to
                if keys is None:  # a list item
                    if not dash or not item or item[-1] in ": ":
                        return None
                    last_end = start + len(line)
                    if item.startswith(_COMMENT_TOKEN[0]) and item.endswith(_COMMENT_TOKEN[1]):
                        node.append(Comment(item, start + n, last_end, ctx="item"))
                        continue
                    found = self.scalar(item, start)
                    if found is None:
                        return None
                    node.append(Scalar(found[0], found[1], last_end - len(item), last_end,
                                       ordinal, n * 2 + 1))
                    ordinal += 1
                    continue
                if not key:
                    return None
            # a key of the current mapping
            if key in keys:
                return None  # the event path says which
            keys.add(key)
            if key[0] in _HINTS:
                self.check_key(key, start)
            if not value:
                ordinal += 1  # the key's
                last_end = start + n + len(key)
                pending = (key, last_end + 1)
                continue
            ordinal += 2  # the key's and the value's
            last_end = start + len(line)
            valued += 1
            first = value[0]
            if value[-1] in ": ":
                return None
            if first in _HINTS or first in _INDICATORS:
                found = self.scalar(value, start)
                if found is None:
                    return None
                kind, canon = found
            else:
                kind, canon = "str", value
            node.append((key, Scalar(kind, canon, last_end - len(value), last_end,
                                     ordinal - 1, n * 2)))
        if indent < 0 or pos != self.end:
            return None  # nothing, or a line of another shape (findall skipped text)
        if self.text.count(": ", 0, self.end) != valued:
            return None  # a ': ' inside a value (or after a key with no value)
        if pending is not None:
            node.append((pending[0], Scalar(None, "", pending[1], pending[1], ordinal,
                                            indent * 2)))
            last_end = pending[1]
        while stack:
            node.end = end = last_end
            node, indent, last_end, keys = stack.pop()
            last_end = end
        root.end = last_end
        doc = _yaml.YamlDoc(root=root, start=root.start)
        doc.step = step
        doc.insert_at = len(self.text)
        return doc, self.notes

    def check_key(self, key: str, start: int) -> None:
        typed = resolve_plain(key)
        if typed is None or typed[0] != "str":
            self.note(f"the key {key!r} (line {{line}}) is not a string to sops", start)

    def scalar(self, value: str, start: int) -> tuple[str | None, str] | None:
        """``(kind, canonical text)`` of a one-line scalar, or None if it is not one."""
        first = value[0]
        if first in _INDICATORS:
            if first == "'" or first == '"':
                if not _quoted_ok(value):
                    return None
                inner = value[1:-1]
                return "str", inner.replace("''", "'") if first == "'" else inner
            if first not in "-?:" or len(value) < 2 or value[1] == " ":
                return None
        if first not in _HINTS or (first in _DIGITS and _DIGITS_WORD.match(value)):
            return "str", value
        resolved = resolve_plain(value)
        if resolved is None:
            return None, ""
        if resolved[0] == "float" and exact_int(value) is not None:
            self.note("the integer at line {line} is beyond int64: sops reads it as a float",
                      start)
        return resolved
