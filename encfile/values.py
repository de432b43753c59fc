"""Typed scalar values with sops's (that is, Go's) semantics.

A value is carried through encfile as ``(kind, text)``: ``kind`` is one of the
sops type names ``str``, ``int``, ``float``, ``bool``, ``time`` and ``text`` is
exactly the string sops encrypts and feeds to the MAC ("ToBytes"): decimal for
ints, Go ``FormatFloat(v, 'f', -1, 64)`` for floats, ``True``/``False`` for
bools, RFC 3339 with nanoseconds for times. Strings that are not valid UTF-8
(``!!binary`` data) travel as ``surrogateescape`` text so that ``to_bytes``
gives back the original bytes.

Keeping the canonical text (not a Python float or datetime) is what makes the
MAC byte-identical to sops's and avoids Python's microsecond-only datetimes.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as _dt
    from typing import Any

KINDS = ("str", "int", "float", "bool", "time")

_INF, _NAN = float("inf"), float("nan")  # no math module on the start-up path
_FLOAT_SPECIAL = {"inf": _INF, "+inf": _INF, "-inf": -_INF, "infinity": _INF,
                  "+infinity": _INF, "-infinity": -_INF, "nan": _NAN, "+nan": _NAN,
                  "-nan": _NAN}
_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
         "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
_PATTERNS: dict[str, object] = {}


def _pattern(name: str) -> Any:
    """A compiled pattern, on first use (``re`` costs 3 ms of a start that may not need it:
    a file of strings never parses an int, a float or a time)."""
    found = _PATTERNS.get(name)
    if found is None:
        import re

        found = _PATTERNS[name] = re.compile({
            "int": r"[+-]?[0-9]+\Z",
            "float": r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z",
        }[name])
    return found
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def to_bytes(text: str) -> bytes:
    """The bytes sops encrypts and hashes for a value's canonical text."""
    return text.encode("utf-8", "surrogateescape")


def from_bytes(data: bytes) -> str:
    """Inverse of :func:`to_bytes`: any bytes become text that round-trips."""
    return data.decode("utf-8", "surrogateescape")


# -- floats ---------------------------------------------------------------------------

def _digits(x: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of ``abs(x)`` and Go's decimal point position.

    ``abs(x) == 0.d1d2...dn * 10**dp``. Python's ``repr`` and Go's shortest
    formatting both produce the shortest digit string that round-trips.
    """
    from decimal import Decimal  # only floats need it; keeps the import off the -d path

    _sign, digit_tuple, exponent = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    assert isinstance(exponent, int)
    stripped = len(digit_tuple) - len(digits)
    exponent += stripped
    digits = digits.lstrip("0")
    return digits, len(digits) + exponent


float_digits = _digits


def _fmt_f(digits: str, dp: int) -> str:
    if dp <= 0:
        return "0." + "0" * (-dp) + digits
    if dp >= len(digits):
        return digits + "0" * (dp - len(digits))
    return digits[:dp] + "." + digits[dp:]


def _special(x: float) -> str | None:
    import math

    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    return None


def format_float_f(x: float) -> str:
    """Go ``strconv.FormatFloat(x, 'f', -1, 64)``: shortest digits, never an exponent."""
    special = _special(x)
    if special is not None:
        return special
    digits, dp = _digits(x)
    return ("-" if x < 0 else "") + _fmt_f(digits, dp)


def format_float_g(x: float) -> str:
    """Go ``strconv.FormatFloat(x, 'g', -1, 64)``, the form go-yaml emits floats in."""
    special = _special(x)
    if special is not None:
        return special
    digits, dp = _digits(x)
    sign = "-" if x < 0 else ""
    exp = dp - 1
    if exp < -4 or exp >= 6:  # Go uses precision 6 for this decision in shortest mode
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return sign + _fmt_f(digits, dp)


def parse_go_float(text: str) -> float:
    """``strconv.ParseFloat(text, 64)`` for the decimal forms; ValueError otherwise."""
    special = _FLOAT_SPECIAL.get(text.lower())
    if special is not None:
        return special
    if not _pattern("float").match(text):
        raise ValueError("not a float")
    value = float(text)
    if value in (_INF, -_INF):
        raise ValueError("float out of range")  # Go reports ErrRange
    return value


def parse_go_int(text: str) -> int:
    """``strconv.Atoi`` on a 64-bit platform."""
    if not _pattern("int").match(text):
        raise ValueError("not an int")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("int out of range")
    return value


def parse_go_bool(text: str) -> bool:
    """``strconv.ParseBool``."""
    try:
        return _BOOL[text]
    except KeyError:
        raise ValueError("not a bool") from None


# -- times ----------------------------------------------------------------------------

def format_time(year: int, month: int, day: int, hour: int, minute: int, second: int,
                nanos: int, offset_minutes: int) -> str:
    """Go ``time.MarshalText`` (RFC 3339 with nanoseconds, trailing zeros trimmed)."""
    out = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    if nanos:
        out += "." + f"{nanos:09d}".rstrip("0")
    if offset_minutes == 0:
        return out + "Z"
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{out}{sign}{hours:02d}:{minutes:02d}"


def valid_date(year: int, month: int, day: int) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return day <= days


def nanos_of(fraction: str | None) -> int:
    """Go keeps at most nine fractional digits and ignores the rest."""
    if not fraction:
        return 0
    return int(fraction[:9].ljust(9, "0"))


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _rfc3339_fields(text: str) -> tuple[int, int, int, int, int, int, str, str] | None:
    """(year, month, day, hour, minute, second, fraction, zone) of
    ``YYYY-MM-DD[Tt]hh:mm:ss[(.|,)digits](Z|z|(+|-)hh:mm)``, or None (str methods: the
    metadata's lastmodified is read on every decrypt, and ``re`` costs 3 ms to import)."""
    if (len(text) < 20 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt"
            or text[13] != ":" or text[16] != ":"):
        return None
    parts = (text[0:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19])
    if not all(_ascii_digits(p) for p in parts):
        return None
    rest, fraction = text[19:], ""
    if rest[:1] in (".", ","):
        end = 1
        while end < len(rest) and "0" <= rest[end] <= "9":
            end += 1
        if end == 1:
            return None
        fraction, rest = rest[1:end], rest[end:]
    if not (rest in ("Z", "z") or (len(rest) == 6 and rest[0] in "+-" and rest[3] == ":"
                                   and _ascii_digits(rest[1:3]) and _ascii_digits(rest[4:6]))):
        return None
    year, month, day, hour, minute, second = (int(p) for p in parts)
    return year, month, day, hour, minute, second, fraction, rest


def parse_rfc3339(text: str) -> str:
    """Validate a ``type:time`` plaintext (Go ``time.UnmarshalText``); return it unchanged."""
    fields = _rfc3339_fields(text)
    if fields is None:
        raise ValueError("not an RFC 3339 time")
    year, month, day, hour, minute, second = fields[:6]
    if not (valid_date(year, month, day) and hour < 24 and minute < 60 and second < 60):
        raise ValueError("time out of range")
    return text


def time_to_python(text: str) -> _dt.datetime:
    """A ``type:time`` text as an aware datetime (nanoseconds truncated to microseconds)."""
    import datetime as _dt

    fields = _rfc3339_fields(text)
    if fields is None:
        raise ValueError("not an RFC 3339 time")
    year, month, day, hour, minute, second, fraction, zone = fields
    micros = nanos_of(fraction) // 1000
    if zone in ("Z", "z"):
        tz = _dt.timezone.utc
    else:
        delta = _dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        tz = _dt.timezone(-delta if zone[0] == "-" else delta)
    return _dt.datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)


# -- checks and conversions -------------------------------------------------------------

def check_plaintext(kind: str, text: str) -> None:
    """Raise ValueError unless ``text`` parses as sops would parse a ``kind`` token."""
    if kind == "str":
        return
    if kind == "int":
        parse_go_int(text)
    elif kind == "float":
        parse_go_float(text)
    elif kind == "bool":
        parse_go_bool(text)
    elif kind == "time":
        parse_rfc3339(text)
    else:
        raise ValueError(f"unknown type {kind!r}")


def to_python(kind: str | None, text: str) -> object:
    """The Python value for a ``(kind, text)`` pair; ``None`` kind is YAML null."""
    if kind is None:
        return None
    if kind == "str":
        return text
    if kind == "int":
        return int(text)
    if kind == "float":
        return parse_go_float(text)
    if kind == "bool":
        return parse_go_bool(text)
    if kind == "time":
        return time_to_python(text)
    raise ValueError(f"unknown type {kind!r}")
