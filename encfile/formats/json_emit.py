"""JSON text the way Go's ``encoding/json`` (and so sops) writes it.

Used for what encfile writes itself: decrypted values in a file without
layout data (so ``encfile -d`` of a sops file prints what ``sops -d`` prints),
the ``sops`` object, binary files, and format conversion.
"""

from __future__ import annotations

import datetime as _dt
import re

from .. import values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Go escapes <, >, & (HTML safety), U+2028/U+2029 and control characters; it writes
# invalid UTF-8 (here: surrogate-escaped bytes and lone surrogates) as U+FFFD.
_NEEDS_ESCAPE = re.compile('["\\\\<>&\u2028\u2029\x00-\x1f\ud800-\udfff]')
_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
          "\f": "\\f"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    short = _SHORT.get(ch)
    if short is not None:
        return short
    if "\ud800" <= ch <= "\udfff":
        return "\ufffd"
    return f"\\u{ord(ch):04x}"


def string(text: str) -> str:
    """A JSON string literal, as Go's ``json.Marshal`` writes it."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


_CANONICAL = re.compile(r"-?(?:0|[1-9][0-9]{0,20})(?:\.[0-9]*[1-9])?\Z")


def number(text: str) -> str:
    """A float's canonical text (Go 'f' form) as Go's JSON encoder writes the number."""
    if _CANONICAL.match(text) and not text.lstrip("-").startswith("0.00000"):
        return text  # Go writes 'f' form between 1e-6 and 1e21: the text as it is
    x = values.parse_go_float(text)
    if x != x or x in (float("inf"), float("-inf")):
        return string(text)  # JSON has no such numbers; sops would refuse, we keep the text
    ax = abs(x)
    if ax != 0 and (ax < 1e-6 or ax >= 1e21):
        digits, dp = values.float_digits(x)
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exp = dp - 1
        return f"{'-' if x < 0 else ''}{mant}e{'-' if exp < 0 else '+'}{abs(exp)}"
    return values.format_float_f(x)


def scalar(kind: str | None, text: str) -> str:
    """A typed value (sops's ``(kind, text)``) as JSON."""
    if kind is None:
        return "null"
    if kind == "float":
        return number(text)
    if kind == "int":
        return text
    if kind == "bool":
        return "true" if values.parse_go_bool(text) else "false"
    return string(text)


def dump(value: Any, indent: str = "\t", level: int = 0, nl: str = "\n") -> str:
    """Python data as indented JSON (``json.MarshalIndent`` layout, no final newline).

    ``indent=""`` with ``nl=""`` gives compact one-line JSON.
    """
    pad = nl + indent * (level + 1)
    colon = ": " if nl else ":"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{string(str(k))}{colon}{dump(v, indent, level + 1, nl)}"
                 for k, v in value.items()]
        return "{" + ",".join(items) + nl + indent * level + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [f"{pad}{dump(v, indent, level + 1, nl)}" for v in value]
        return "[" + ",".join(items) + nl + indent * level + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number(values.format_float_f(value))
    if isinstance(value, _dt.datetime):
        return string(value.isoformat().replace("+00:00", "Z"))
    if isinstance(value, _dt.date):
        return string(value.isoformat())
    return string(str(value))
