"""Typed values with Go's (sops's) semantics, and go-yaml's resolution of YAML scalars."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from encfile import values
from encfile.formats.yaml_resolve import TagMismatch, resolve, resolve_plain


# Go strconv.FormatFloat(x, 'f', -1, 64), as listed in the sops spec (section 2.3).
@pytest.mark.parametrize(("x", "f"), [
    (1.5, "1.5"), (1000.0, "1000"), (3.0, "3"), (1e-7, "0.0000001"),
    (1e21, "1000000000000000000000"), (-0.0, "-0"), (0.0, "0"), (math.inf, "+Inf"),
    (-math.inf, "-Inf"), (12345678901234567890.0, "12345678901234567000"), (0.1, "0.1"),
])
def test_format_float_f(x: float, f: str) -> None:
    assert values.format_float_f(x) == f


# Go strconv.FormatFloat(x, 'g', -1, 64): how go-yaml writes floats (spec 6.1).
@pytest.mark.parametrize(("x", "g"), [
    (1000.0, "1000"), (1.5, "1.5"), (1e-7, "1e-07"), (1e21, "1e+21"),
    (123456789.123, "1.23456789123e+08"), (1e6, "1e+06"), (123456.0, "123456"),
    (0.0001, "0.0001"), (0.00001, "1e-05"), (-2.5e-10, "-2.5e-10"), (math.nan, "NaN"),
])
def test_format_float_g(x: float, g: str) -> None:
    assert values.format_float_g(x) == g


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_texts_parse_back_exactly(x: float) -> None:
    assert values.parse_go_float(values.format_float_f(x)) == x
    assert values.parse_go_float(values.format_float_g(x)) == x


# go-yaml v3's resolution of plain scalars (what sops types and hashes).
@pytest.mark.parametrize(("text", "expected"), [
    ("42", ("int", "42")), ("-7", ("int", "-7")), ("+5", ("int", "5")),
    ("0x1F", ("int", "31")), ("0755", ("int", "493")), ("0o17", ("int", "15")),
    ("0b101", ("int", "5")), ("1_000", ("int", "1000")), ("08", ("float", "8")),
    ("1.5", ("float", "1.5")), ("1.50", ("float", "1.5")), ("1e3", ("float", "1000")),
    ("1.0e+3", ("float", "1000")), (".5", ("float", "0.5")), (".inf", ("float", "+Inf")),
    ("-.Inf", ("float", "-Inf")), (".nan", ("float", "NaN")), ("1e999", ("str", "1e999")),
    ("true", ("bool", "True")), ("False", ("bool", "False")), ("TRUE", ("bool", "True")),
    ("yes", ("str", "yes")), ("on", ("str", "on")), ("y", ("str", "y")),
    ("~", None), ("null", None), ("NULL", None), ("", None),
    ("2024-01-02", ("time", "2024-01-02T00:00:00Z")),
    ("2024-1-2", ("time", "2024-01-02T00:00:00Z")),
    ("2024-01-02T03:04:05Z", ("time", "2024-01-02T03:04:05Z")),
    ("2024-01-02T03:04:05.123+02:00", ("time", "2024-01-02T03:04:05.123+02:00")),
    ("2024-01-02T03:04:05.500000000+00:00", ("time", "2024-01-02T03:04:05.5Z")),
    ("2001-12-14 21:59:43.10", ("time", "2001-12-14T21:59:43.1Z")),
    ("2024-01-02T03:04:05", ("str", "2024-01-02T03:04:05")),  # no zone: not a Go layout
    ("2024-02-30", ("str", "2024-02-30")), ("12:30", ("str", "12:30")),
    ("<<", ("str", "<<")), ("hello", ("str", "hello")),
    ("12345678901234567890", ("float", "12345678901234567000")),  # uint64: sops can't
])
def test_resolve_plain_like_go_yaml(text: str, expected: tuple[str, str] | None) -> None:
    assert resolve_plain(text) == expected


@pytest.mark.parametrize(("value", "tag", "plain", "expected"), [
    ("5", None, False, ("str", "5")),            # quoted: always a string
    ("5", "!!str", True, ("str", "5")),
    ("7", "!!int", False, ("int", "7")),
    ("1", "!!float", True, ("float", "1")),
    ("aGVsbG8=", "!!binary", True, ("str", "hello")),
    ("x", "!Ref", True, ("str", "x")),           # custom tags decode as strings
    ("5", "!Custom", True, ("str", "5")),
    ("2024-01-02", "!!str", True, ("str", "2024-01-02")),
])
def test_resolve_tagged(value: str, tag: str | None, plain: bool,
                        expected: tuple[str, str]) -> None:
    assert resolve(value, tag, plain) == expected


def test_resolve_refuses_a_tag_its_text_does_not_satisfy() -> None:
    with pytest.raises(TagMismatch):
        resolve("abc", "!!int", True)


@pytest.mark.parametrize(("kind", "text"), [
    ("int", "12"), ("int", "-9223372036854775808"), ("float", "1.5"), ("float", "+Inf"),
    ("bool", "True"), ("bool", "t"), ("time", "2024-01-02T03:04:05.123456789Z"),
])
def test_valid_token_plaintexts(kind: str, text: str) -> None:
    values.check_plaintext(kind, text)


@pytest.mark.parametrize(("kind", "text"), [
    ("int", "1.5"), ("int", "9223372036854775808"), ("float", "abc"), ("float", "1_0"),
    ("bool", "yes"), ("time", "2024-01-02"), ("time", "2024-13-02T00:00:00Z"), ("blob", "x"),
])
def test_invalid_token_plaintexts(kind: str, text: str) -> None:
    with pytest.raises(ValueError):
        values.check_plaintext(kind, text)


def test_to_python() -> None:
    assert values.to_python("int", "5") == 5
    assert values.to_python("bool", "True") is True
    assert values.to_python(None, "") is None
    when = values.to_python("time", "2024-01-02T03:04:05.123456789+02:00")
    assert when.isoformat() == "2024-01-02T03:04:05.123456+02:00"


def test_binary_strings_round_trip_through_text() -> None:
    data = b"\x00\xff\xfe raw"
    assert values.to_bytes(values.from_bytes(data)) == data
