"""Property-based round trips for the JSON and dotenv codecs: generated *text* -> encrypt ->
decrypt == the text, byte for byte.

JSON documents are built from tokens with generated whitespace between them (none, spaces,
tabs, newlines with any indentation, CRLF), an object at the top holding nested objects and
arrays, duplicate keys, strings mixing raw unicode with every escape form (short escapes,
``\\uXXXX`` in either case, surrogate pairs, ``\\/``), numbers in many spellings (``-0``,
``3.0``, ``1E+2``, ``1e-9``, long integers), booleans and nulls; sometimes a BOM, and any
trailing whitespace. Each text is checked with ``json.loads`` first.

dotenv files are built from lines: comments (indented or not), blank and whitespace-only
lines, ``KEY=value`` with ``export``, spaces around ``=``, unquoted/single/double/backtick
values (quoted ones sometimes spanning lines), inline comments, empty values, ``=`` and the
two characters ``\\n`` inside values, duplicate keys, lines without ``=``; LF or CRLF, with or
without a final newline.

Properties: decrypt(encrypt(F)) == F; no generated secret marker shows in the ciphertext; for
JSON, the ciphertext has the original's keys in order with every leaf typed as sops types it,
and ``loads`` gives ``json.loads``'s data; for dotenv, the ciphertext's data lines carry the
keys sops reads, in order, and ``loads`` has one variable per distinct key.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from conftest import TEST_PUBLIC, TEST_SECRET, canon
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_json_codec import Obj, enc_shape, parse_plain, plain_shape

import encfile

SETTINGS = settings(
    max_examples=int(os.environ.get("ENCFILE_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TOKEN_RE = re.compile(r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]*,"
                      r"tag:[A-Za-z0-9+/=]*,type:(?P<type>[a-z]+)\]")
MARK = "mk_qzv"  # every generated string value and comment contains it: it must never show


# -- JSON ---------------------------------------------------------------------------------------

WS = st.sampled_from(["", "", " ", "  ", "\n", "\n  ", "\n    ", "\n\t", "\t", "\r\n", "\r\n  ",
                      " \n ", "\n\n  "])
SHORT_ESCAPES = ["\\n", "\\t", "\\r", "\\b", "\\f", "\\\\", '\\"', "\\/"]
RAW_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"\\')


@st.composite
def json_string_body(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["raw", "raw", "short", "u", "pair", "ascii"]))
        if kind == "raw":
            parts.append(draw(st.text(RAW_CHARS, min_size=1, max_size=4)))
        elif kind == "ascii":
            parts.append(draw(st.text("abcXYZ019 -_:/.", min_size=1, max_size=6)))
        elif kind == "short":
            parts.append(draw(st.sampled_from(SHORT_ESCAPES)))
        elif kind == "u":
            code = draw(st.integers(0, 0xFFFF).filter(lambda c: not 0xD800 <= c <= 0xDFFF))
            fmt = draw(st.sampled_from(["\\u{:04x}", "\\u{:04X}"]))
            parts.append(fmt.format(code))
        else:
            code = draw(st.integers(0x10000, 0x10FFFF)) - 0x10000
            hi, lo = 0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)
            parts.append(f"\\u{hi:04x}\\u{lo:04x}")
    return "".join(parts)


@st.composite
def json_number(draw: st.DrawFn) -> str:
    sign = draw(st.sampled_from(["", "", "-"]))
    whole = draw(st.sampled_from(["0", "1", "7", "42", "100"]) | st.integers(0, 10**25).map(str))
    frac = draw(st.sampled_from(["", "", ".0", ".5", ".25", ".000", ".10"])
                | st.integers(0, 10**8).map(lambda n: f".{n}"))
    exp = draw(st.sampled_from(["", "", "", "e5", "E+2", "e-9", "E-3", "e0", "e+10", "E10"])
               | st.integers(-300, 300).map(lambda n: f"e{n}"))
    number = sign + whole + frac + exp
    value = float(number)
    assume(value not in (float("inf"), float("-inf")))
    return number


def json_leaf() -> st.SearchStrategy[tuple[str, bool]]:
    """(literal, is an encrypted string carrying MARK)."""
    return st.one_of(
        json_string_body().map(lambda s: (f'"{MARK}{s}"', True)),
        json_number().map(lambda n: (n, False)),
        st.sampled_from(["true", "false", "null", '""']).map(lambda v: (v, False)),
    )


KEYS = st.sampled_from(["a", "b", "name", "port", "key", "x y", "caf\\u00e9", "k\\/1", "ключ",
                        "sops_key", "", "url"]) | json_string_body()


@st.composite
def json_value(draw: st.DrawFn, depth: int) -> str:
    kind = draw(st.sampled_from(["leaf", "leaf", "leaf", "object", "array"] if depth < 4
                                else ["leaf"]))
    if kind == "leaf":
        return draw(json_leaf())[0]
    if kind == "object":
        return draw(json_object(depth + 1))
    items = [draw(json_value(depth + 1)) for _ in range(draw(st.integers(0, 4)))]
    return "[" + ",".join(draw(WS) + item + draw(WS) for item in items) + (
        draw(WS) if not items else "") + "]"


@st.composite
def json_object(draw: st.DrawFn, depth: int = 0) -> str:
    members = []
    for _ in range(draw(st.integers(0, 5))):
        key = draw(KEYS)
        if depth == 0 and key == "sops":
            key = "not-sops"
        value = draw(json_value(depth))
        members.append(f'{draw(WS)}"{key}"{draw(WS)}:{draw(WS)}{value}{draw(WS)}')
    return "{" + ",".join(members) + (draw(WS) if not members else "") + "}"


@st.composite
def json_document(draw: st.DrawFn) -> str:
    bom = draw(st.sampled_from(["", "", "", "\ufeff"]))
    text = bom + draw(WS) + draw(json_object()) + draw(st.sampled_from(["", "\n", "\r\n", " \n",
                                                                       "\n\n"]))
    json.loads(text.removeprefix("\ufeff"))  # the generator makes valid JSON, or fails here
    return text


@SETTINGS
@given(text=json_document())
def test_json_round_trip(text: str) -> None:
    out = encfile.encrypt(text, recipients=TEST_PUBLIC, format="json")
    assert MARK not in out
    assert not out.startswith("\ufeff")
    parsed = json.loads(out, object_pairs_hook=Obj)
    assert parsed[-1][0] == "sops"
    # same keys in the same order, each leaf a token of sops's type (null and "" in clear)
    assert enc_shape(Obj(parsed[:-1])) == plain_shape(parse_plain(text))
    assert encfile.decrypt(out, format="json", identities=[TEST_SECRET]) == text
    data = encfile.loads(out, format="json", identities=[TEST_SECRET])
    assert canon(data) == canon(json.loads(text.removeprefix("\ufeff")))


# -- dotenv -------------------------------------------------------------------------------------

KEY_NAMES = st.sampled_from(["A", "B", "DB_URL", "api.key", "x-y", "PORT", "TOKEN", "lower",
                             "K1"])
PLAIN_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\n\r")
SAFE_CHARS = st.text("abcXYZ0189 _-:/.@$={}", min_size=0, max_size=8)


def no_quote(quote: str) -> st.SearchStrategy[str]:
    return st.text(st.characters(blacklist_categories=("Cs", "Cc"),
                                 blacklist_characters="\n\r\\" + quote), max_size=8)


@st.composite
def dotenv_value(draw: st.DrawFn, nl: str) -> tuple[str, bool]:
    """(text after '=', whether it holds MARK)."""
    kind = draw(st.sampled_from(["empty", "unquoted", "unquoted", "double", "single",
                                 "backtick", "multiline", "inline-comment", "backslash-n",
                                 "spaced"]))
    if kind == "empty":
        return "", False
    if kind == "unquoted":
        body = MARK + draw(SAFE_CHARS) + draw(st.text(PLAIN_CHARS, max_size=5))
        return body, True
    if kind in ("double", "single", "backtick"):
        q = {"double": '"', "single": "'", "backtick": "`"}[kind]
        body = draw(no_quote(q))
        if kind != "backtick" and draw(st.booleans()):
            body += draw(st.sampled_from(["\\n", "\\t", "\\\\", "\\" + q]))
        return q + MARK + body + q + draw(st.sampled_from(["", "", " ", "  \t"])), True
    if kind == "multiline":
        q = draw(st.sampled_from(['"', "'", "`"]))
        lines = [MARK + draw(no_quote(q)) for _ in range(draw(st.integers(2, 4)))]
        return q + nl.join(lines) + q, True
    if kind == "inline-comment":
        value = draw(st.sampled_from([f"{MARK}v", f'"{MARK}q"', f"'{MARK}s'"]))
        return value + " # " + MARK + draw(st.text(PLAIN_CHARS, max_size=6)), True
    if kind == "backslash-n":
        return MARK + draw(st.sampled_from(["a\\nb", "\\n", "x\\\\ny", '"l1\\nl2"'])), True
    return " " + MARK + " spaced ", True


@st.composite
def dotenv_line(draw: st.DrawFn, nl: str) -> tuple[str, list[str]]:
    """(line without its newline, the keys sops reads from it)."""
    kind = draw(st.sampled_from(["pair", "pair", "pair", "pair", "comment", "indented-comment",
                                 "blank", "spaces", "bare", "empty-comment"]))
    if kind == "pair":
        key = draw(KEY_NAMES)
        prefix = draw(st.sampled_from(["", "", "export ", "  "]))
        before = draw(st.sampled_from(["", "", " ", "  "]))
        after = draw(st.sampled_from(["", "", " "]))
        value, _ = draw(dotenv_value(nl))
        literal_key = prefix + key + before
        return literal_key + "=" + after + value, [literal_key]
    if kind == "comment":
        return "#" + draw(st.sampled_from(["", " "])) + MARK + draw(st.text(PLAIN_CHARS,
                                                                             max_size=10)), []
    if kind == "indented-comment":
        return draw(st.sampled_from([" ", "  ", "\t", "    "])) + "# " + MARK, []
    if kind == "blank":
        return "", []
    if kind == "spaces":
        return draw(st.sampled_from([" ", "   ", "\t", " \t "])), []
    if kind == "empty-comment":
        return "#", []
    return MARK + draw(st.text("ABCabc _-.", max_size=10)), []  # a line without '='


@st.composite
def dotenv_file(draw: st.DrawFn) -> tuple[str, list[str]]:
    nl = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    lines = [draw(dotenv_line(nl)) for _ in range(draw(st.integers(0, 10)))]
    text = nl.join(line for line, _ in lines)
    if lines and draw(st.integers(0, 3)):
        text += nl
    keys = [k for _, ks in lines for k in ks]
    return text, keys


def ciphertext_keys(out: str) -> list[str]:
    keys = []
    for line in out.split("\n"):
        if line.startswith("sops_"):
            break
        if line and not line.startswith("#"):
            key, eq, value = line.partition("=")
            assert eq, line
            assert value == "" or TOKEN_RE.fullmatch(value), line
            keys.append(key)
    return keys


@SETTINGS
@given(doc=dotenv_file())
def test_dotenv_round_trip(doc: tuple[str, list[str]]) -> None:
    text, keys = doc
    out = encfile.encrypt(text, recipients=TEST_PUBLIC, format="dotenv")
    assert MARK not in out
    assert encfile.decrypt(out, format="dotenv", identities=[TEST_SECRET]) == text
    assert ciphertext_keys(out) == keys
    data: Any = encfile.loads(out, format="dotenv", identities=[TEST_SECRET])
    assert isinstance(data, dict)
    assert set(data) == {k.strip().removeprefix("export ").strip() for k in keys}
