"""YAML scalar -> sops typed value, following go-yaml v3 (what sops parses with).

go-yaml's rules differ from PyYAML's and ruamel's in ways that change the MAC:
``yes``/``on`` are strings, ``0755`` is the octal int 493, ``08`` is the float 8,
``1_000`` is an int, ``2024-1-2`` is a time, ``1e999`` a string. Quoted and
block scalars are strings unless explicitly tagged.
"""

from __future__ import annotations

import binascii
import math
import re

from .. import values

_LONG_PREFIX = "tag:yaml.org,2002:"
_MAP = {
    "true": ("bool", "True"), "True": ("bool", "True"), "TRUE": ("bool", "True"),
    "false": ("bool", "False"), "False": ("bool", "False"), "FALSE": ("bool", "False"),
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    ".nan": ("float", "NaN"), ".NaN": ("float", "NaN"), ".NAN": ("float", "NaN"),
    ".inf": ("float", "+Inf"), ".Inf": ("float", "+Inf"), ".INF": ("float", "+Inf"),
    "+.inf": ("float", "+Inf"), "+.Inf": ("float", "+Inf"), "+.INF": ("float", "+Inf"),
    "-.inf": ("float", "-Inf"), "-.Inf": ("float", "-Inf"), "-.INF": ("float", "-Inf"),
    "<<": ("str", "<<"),  # the merge key; as a value it decodes to the string "<<"
}
_HINT_MAP = frozenset("yYnNtTfFoO~")
_HINT_NUM = frozenset("+-0123456789")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?\Z")
_GO_INT = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)\Z")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:(?:([Tt])|( ))([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,]([0-9]+))?"
    r"(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))?)?\Z"
)
RESOLVABLE_TAGS = frozenset({None, "!!str", "!!bool", "!!int", "!!float", "!!null", "!!timestamp"})


class TagMismatch(ValueError):
    """An explicitly tagged scalar whose text is not of that type (``!!int abc``)."""


def short_tag(tag: str | None) -> str | None:
    """``tag:yaml.org,2002:int`` -> ``!!int``; the non-specific ``!`` counts as no tag."""
    if tag is None or tag == "!":
        return None
    if tag.startswith(_LONG_PREFIX):
        return "!!" + tag[len(_LONG_PREFIX):]
    return tag


def _go_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)`` (and ParseUint's extra range) on underscore-free text."""
    m = _GO_INT.match(text)
    if not m:
        return None
    sign, body = m.groups()
    if body[:2] in ("0x", "0X"):
        value = int(body[2:], 16)
    elif body[:2] in ("0b", "0B"):
        value = int(body[2:], 2)
    elif body[:2] in ("0o", "0O"):
        value = int(body[2:], 8)
    elif body.startswith("0") and len(body) > 1:
        value = int(body[1:], 8)
    else:
        value = int(body)
    value = -value if sign == "-" else value
    if value < values.INT64_MIN or value > 2**64 - 1:
        return None
    return value


def _timestamp(text: str) -> str | None:
    """go-yaml's four timestamp layouts, as Go ``time.MarshalText`` renders them."""
    m = _TIMESTAMP.match(text)
    if not m:
        return None
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not values.valid_date(year, month, day):
        return None
    if m.group(6) is None:
        return values.format_time(year, month, day, 0, 0, 0, 0, 0)
    hour, minute, second = int(m.group(6)), int(m.group(7)), int(m.group(8))
    if hour > 23 or minute > 59 or second > 59:
        return None
    zone_z, zone_sign = m.group(10), m.group(11)
    if m.group(5) and (zone_z or zone_sign):
        return None  # the space-separated layout has no zone
    if m.group(4) and not (zone_z or zone_sign):
        return None  # the T layouts require one
    offset = 0
    if zone_sign:
        oh, om = int(m.group(12)), int(m.group(13))
        if oh > 23 or om > 59:
            return None
        offset = (oh * 60 + om) * (-1 if zone_sign == "-" else 1)
    return values.format_time(year, month, day, hour, minute, second,
                              values.nanos_of(m.group(9)), offset)


def _float(text: str) -> tuple[str, str] | None:
    value = float(text)
    if math.isinf(value):
        return None  # Go reports a range error; the scalar stays a string
    return "float", values.format_float_f(value)


def resolve_plain(text: str, *, timestamps: bool = True) -> tuple[str, str] | None:
    """go-yaml's ``resolve("", text)``: ``(kind, canonical)``, or None for null."""
    if not text:
        return None
    first = text[0]
    if first in _HINT_MAP or first == "." or first in _HINT_NUM:
        if text in _MAP:
            return _MAP[text]
        if first == ".":
            return _float(text) if _DOT_FLOAT.match(text) else ("str", text)
        if first in _HINT_NUM:
            if timestamps:
                ts = _timestamp(text)
                if ts is not None:
                    return "time", ts
            plain = text.replace("_", "")
            as_int = _go_int(plain)
            if as_int is not None:
                if as_int > values.INT64_MAX:
                    # go-yaml makes this a uint64, which sops cannot handle; a float is the
                    # closest type sops reads (encfile keeps the exact text as layout).
                    return "float", values.format_float_f(float(as_int))
                return "int", str(as_int)
            if _YAML_FLOAT.match(plain):
                result = _float(plain)
                if result is not None:
                    return result
    return "str", text


def resolve(value: str, tag: str | None, plain: bool) -> tuple[str, str] | None:
    """The sops typed value of a YAML scalar event (value, short tag, plain style?).

    Raises :class:`TagMismatch` for an explicit standard tag the text does not
    satisfy, and ``ValueError`` for bad ``!!binary`` data.
    """
    if tag is not None and tag not in RESOLVABLE_TAGS:
        if tag == "!!binary":
            return "str", _binary(value)
        return "str", value  # custom tags (and !!merge, !!map, ...) decode as strings
    if tag == "!!str" or (tag is None and not plain):
        return "str", value
    resolved = resolve_plain(value, timestamps=tag in (None, "!!timestamp"))
    if tag is None:
        return resolved
    got = "null" if resolved is None else resolved[0]
    want = {"!!bool": "bool", "!!int": "int", "!!float": "float", "!!null": "null",
            "!!timestamp": "time"}[tag]
    if got == want:
        return resolved
    if want == "float" and got == "int" and resolved is not None:
        return "float", values.format_float_f(float(int(resolved[1])))
    raise TagMismatch(f"a scalar tagged {tag} does not hold a {want}")


_B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z")


def _binary(value: str) -> str:
    # Go's StdEncoding decoder skips line breaks but nothing else, and wants padding.
    data = value.replace("\r", "").replace("\n", "")
    if not _B64.match(data):
        raise ValueError("!!binary value contains invalid base64 data")
    return values.from_bytes(binascii.a2b_base64(data))


def exact_int(value: str) -> int | None:
    """A plain scalar's integer value when it is beyond int64 (kept exact for Python)."""
    if not value or value[0] not in _HINT_NUM:
        return None
    as_int = _go_int(value.replace("_", ""))
    return as_int if as_int is not None and as_int > values.INT64_MAX else None
