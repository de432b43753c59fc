"""A small, strict YAML reader for config files, so that ``exec`` need not load ruamel.

Config files are short block mappings and lists of plain or quoted strings. This
reader accepts exactly that:

* block mappings whose keys are plain words, block sequences (also at the same
  indentation as their key, and ``- key: value`` items), comments, blank lines;
* plain scalars on one line, single-quoted ones, double-quoted ones with only the
  escapes ``\\\\ \\" \\/ \\n \\t``; flow lists of plain words on one line (``[a, b]``);
* ``true``/``false``/``null``/``~``/an empty value and decimal integers, resolved as
  YAML 1.2 does; anything else number-like is left to ruamel.

Everything else (anchors, tags, block scalars, flow mappings, multi-line scalars,
duplicate keys, tabs, documents markers, other escapes) makes :func:`parse` return
``None``, and the caller reads the file with ruamel instead. So the reader never has to be
right about YAML it does not understand: it only has to agree with ruamel on what it
accepts, which ``tests/test_config_yaml.py`` checks against ruamel.

Mappings and lists carry ``lc.key(k)``/``lc.item(i)`` -> ``(line, column)`` (0-based),
like ruamel's round-trip objects, for line numbers in error messages.
"""

from __future__ import annotations

import re

from .formats.yaml_fast import PLAIN_CHARS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*):(?: +|$)")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")  # no leading zeros: YAML 1.1 reads octal
# Plain scalars that YAML 1.2 (or 1.1) might read as something other than a string.
_NUMBERISH = re.compile(r"[-+]?(?:\.?[0-9]|\.(?:inf|Inf|INF|nan|NaN|NAN)\Z)")
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_NULL = {"", "~", "null", "Null", "NULL"}
# What the event scanner takes as it is, plus CR (lines here may end in CRLF).
_UNREAD = re.compile(f"[^\r{PLAIN_CHARS}]")
_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t"}
# A plain scalar may not start with these (they begin other YAML constructs).
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")


class _Unsupported(Exception):
    pass


class Lines:
    """Where each key or item starts: ``(line, column)``, 0-based, as ruamel's ``lc``."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[int, int]] = {}
        self.items: list[tuple[int, int]] = []

    def key(self, key: str) -> tuple[int, int]:
        return self.keys[key]

    def item(self, index: int) -> tuple[int, int]:
        return self.items[index]


class Mapping(dict):  # type: ignore[type-arg]
    def __init__(self) -> None:
        super().__init__()
        self.lc = Lines()


class Sequence(list):  # type: ignore[type-arg]
    def __init__(self) -> None:
        super().__init__()
        self.lc = Lines()


def parse(text: str) -> Any:
    """The data of ``text``, or ``None`` when it uses YAML beyond this reader's subset.

    An empty document (only comments) is ``{}``.
    """
    if _UNREAD.search(text):
        return None
    lines: list[tuple[int, int, str]] = []  # (line number, indent, content)
    for number, raw in enumerate(text.split("\n")):
        line = raw[:-1] if raw.endswith("\r") else raw
        content = line.lstrip(" ")
        if "\t" in line or content.startswith(("---", "...", "%")):
            return None
        if content and not content.startswith("#"):
            lines.append((number, len(line) - len(content), content.rstrip(" ")))
    if not lines:
        return Mapping()
    try:
        value, end = _block(lines, 0, lines[0][1])
    except _Unsupported:
        return None
    return value if end == len(lines) else None


def _block(lines: list[tuple[int, int, str]], i: int, indent: int) -> tuple[Any, int]:
    if lines[i][2] == "-" or lines[i][2].startswith("- "):
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent)


def _sequence(lines: list[tuple[int, int, str]], i: int, indent: int) -> tuple[Any, int]:
    out = Sequence()
    while i < len(lines) and lines[i][1] == indent and (
            lines[i][2] == "-" or lines[i][2].startswith("- ")):
        number, _, content = lines[i]
        rest = content[1:].lstrip(" ")
        column = indent + len(content) - len(rest)
        out.lc.items.append((number, column))
        if not rest:  # "-" alone: the item is the indented block below, or null
            if i + 1 < len(lines) and lines[i + 1][1] > indent:
                out.lc.items[-1] = (lines[i + 1][0], lines[i + 1][1])  # ruamel's position
                value, i = _block(lines, i + 1, lines[i + 1][1])
            else:
                value, i = None, i + 1
        elif rest.startswith("- ") or _KEY.match(rest):  # "- key: v" starts a nested block
            nested = [(number, column, rest), *lines[i + 1:]]
            value, used = _block(nested, 0, column)
            i += used
        else:
            value, i = _scalar(rest, number), i + 1
        out.append(value)
    if i < len(lines) and lines[i][1] > indent:
        raise _Unsupported("unexpected indentation")
    return out, i


def _mapping(lines: list[tuple[int, int, str]], i: int, indent: int) -> tuple[Any, int]:
    out = Mapping()
    while i < len(lines) and lines[i][1] == indent:
        number, _, content = lines[i]
        m = _KEY.match(content)
        if not m or m.group(1) in out:
            raise _Unsupported("not a simple key, or a duplicate")
        key, rest = m.group(1), content[m.end():]
        out.lc.keys[key] = (number, indent)
        i += 1
        if rest and not rest.startswith("#"):
            out[key] = _scalar(rest, number)
        elif i < len(lines) and (lines[i][1] > indent or (
                lines[i][1] == indent and (lines[i][2] == "-" or lines[i][2].startswith("- ")))):
            out[key], i = _block(lines, i, lines[i][1])
        else:
            out[key] = None
    if i < len(lines) and lines[i][1] > indent:
        raise _Unsupported("unexpected indentation")
    return out, i


def _scalar(text: str, number: int) -> Any:
    """One scalar on one line, its trailing comment (`` #…``) dropped."""
    first = text[0]
    if first == "'":
        end = 1
        while True:
            end = text.find("'", end)
            if end < 0:
                raise _Unsupported("unterminated quote")
            if text[end + 1:end + 2] != "'":
                break
            end += 2
        _comment_only(text[end + 1:])
        return text[1:end].replace("''", "'")
    if first == '"':
        out, pos = [], 1
        while True:
            if pos >= len(text):
                raise _Unsupported("unterminated quote")
            ch = text[pos]
            if ch == '"':
                break
            if ch == "\\":
                escaped = _ESCAPES.get(text[pos + 1:pos + 2])
                if escaped is None:
                    raise _Unsupported("an escape this reader does not decode")
                out.append(escaped)
                pos += 2
                continue
            out.append(ch)
            pos += 1
        _comment_only(text[pos + 1:])
        return "".join(out)
    if first == "[":
        end = text.find("]")
        if end < 0:
            raise _Unsupported("multi-line flow list")
        _comment_only(text[end + 1:])
        inner = text[1:end].strip()
        items = [part.strip() for part in inner.split(",")] if inner else []
        if items and items[-1] == "":
            items.pop()  # a trailing comma
        out_list = Sequence()
        for item in items:
            if not item or any(c in item for c in "[]{}'\"#:"):
                raise _Unsupported("a flow item this reader does not read")
            out_list.append(_plain(item))
            out_list.lc.items.append((number, 0))
        return out_list
    cut = text.find(" #")
    plain = (text[:cut] if cut >= 0 else text).rstrip(" ")
    if ": " in plain or plain.endswith(":"):
        raise _Unsupported("a mapping inside a plain scalar")
    return _plain(plain)


def _plain(text: str) -> Any:
    # "-x", "?x", ":x" are plain scalars; any other indicator starts something else
    if text[:1] in _INDICATORS and not (text[:1] in "-?:" and text[1:2] not in ("", " ")):
        raise _Unsupported("a plain scalar starting with an indicator")
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text):
        return int(text)
    if _NUMBERISH.match(text):
        raise _Unsupported("a number this reader does not resolve")
    return text


def _comment_only(rest: str) -> None:
    rest = rest.strip(" ")
    if rest and not rest.startswith("#"):
        raise _Unsupported("text after a quoted scalar")
