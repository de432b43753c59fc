"""Grammars read with str methods (to keep ``re`` and ``json`` off the start-up path)
agree with the regular expressions and the json module they stand for.

Each reference below is the pattern the code used before; hypothesis draws texts
from the characters that matter to it, so the edge cases come up often.
"""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from encfile import envmap, jsontext, metadata, values
from encfile.formats import dotenv

# -- the dotenv value and key readers (python-dotenv's rules) -------------------------------

_EXPORT = re.compile(r"\s*export[ \t]+")
_ESCAPE = re.compile(r"\\(.)", re.S)
_INLINE_COMMENT = re.compile(r"[ \t]+#.*", re.S)
_DOUBLE = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'",
           "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def reference_key(key: str) -> str:
    key = key.removeprefix("\ufeff")
    match = _EXPORT.match(key)
    name = (key[match.end():] if match else key).strip()
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == "'" else name


def reference_value(source: str) -> str:
    value = source.lstrip(" \t")
    if value and value[0] in "\"'`":
        quote = value[0]
        end = dotenv._closing(value, 1, quote)
        if end > 0:
            inner = value[1:end]
            if quote == '"':
                return _ESCAPE.sub(lambda m: _DOUBLE.get(m.group(1), m.group()), inner)
            if quote == "'":
                return _ESCAPE.sub(lambda m: m.group(1) if m.group(1) in "'\\" else m.group(),
                                   inner)
            return inner
    return _INLINE_COMMENT.sub("", value.rstrip("\r")).strip(" \t")


PIECES = st.sampled_from(["a", "#", " ", "\t", "\r", "\n", "'", '"', "`", "\\", "\\n", "\\'",
                          "\\\\", "export", "export ", "x#", "=", "\u00a0", "\u2003", "\ufeff"])
TEXTS = st.lists(PIECES, max_size=12).map("".join)


@given(TEXTS)
def test_dotenv_values_read_as_the_patterns_say(text: str) -> None:
    assert dotenv.interpret(text) == reference_value(text)


@given(TEXTS)
def test_dotenv_keys_read_as_the_pattern_says(text: str) -> None:
    assert dotenv.interpret_key(text) == reference_key(text)


# The parser's fast path takes the lines this pattern matches: each gives a value with the
# span of the pattern's second group. (Texts without quotes: a quoted value may run over
# lines, which a line-by-line reference cannot follow.)
_SIMPLE = re.compile(r"([^#\s=][^\n=]*)=((?:[^\"'`\s][^\n\r]*)?)(?:\n|\Z)")


@given(st.lists(st.lists(PIECES, max_size=6).map("".join), max_size=6).map("\n".join))
def test_simple_dotenv_lines_keep_their_spans(text: str) -> None:
    text = text.translate({ord(q): "q" for q in "\"'`"})
    parsed = dotenv.parse(text)
    pos = 1 if text.startswith("\ufeff") else 0
    spans = {(node.start, node.end) for item in parsed.root if isinstance(item, tuple)
             for node in [item[1]]}
    while pos < len(text):
        m = _SIMPLE.match(text, pos)
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        if m is not None and not m.group(1).startswith("sops_"):
            assert m.span(2) in spans, (text, m.span(2), spans)
        pos = end + 1


# -- names for environment variables ---------------------------------------------------------

_INVALID = re.compile(r"[^A-Za-z0-9_]")


@given(st.text(alphabet=st.sampled_from("aZ09_-.é ß²٣ａǅ\u00a0"), max_size=8))
def test_variable_names_replace_what_the_pattern_replaces(part: str) -> None:
    assert envmap._safe(part) == _INVALID.sub("_", part)


# -- sops metadata keys in flat formats -------------------------------------------------------

_SPLIT = re.compile("(__map_|__list_)")


@given(st.lists(st.sampled_from(["a", "_", "__", "__map_", "__list_", "map", "list", "x_"]),
                max_size=8).map("".join))
def test_flat_metadata_keys_split_as_the_pattern_splits(key: str) -> None:
    assert metadata._split_flat(key) == _SPLIT.split(key)


# -- RFC 3339 times (type:time tokens, lastmodified) ------------------------------------------

_RFC3339 = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
                      r"(?:[.,]([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))\Z")


def reference_fields(text: str) -> tuple[object, ...] | None:
    m = _RFC3339.match(text)
    if m is None:
        return None
    g = m.groups()
    zone = g[7] or f"{g[8]}{g[9]}:{g[10]}"
    return (*(int(x) for x in g[:6]), g[6] or "", zone)


TIMES = st.sampled_from(["2024-02-29T23:59:59.123456789+05:30", "2024-01-01T00:00:00Z",
                         "1999-12-31t12:00:00,5-00:00"])


@given(TIMES, st.lists(st.tuples(st.integers(0, 40), st.sampled_from(list("0-:TtZz+.,x²٣ \n")),
                                 st.sampled_from(["set", "insert", "delete"])), max_size=3))
def test_times_read_as_the_pattern_says(base: str, edits: list[tuple[int, str, str]]) -> None:
    chars = list(base)
    for at, char, how in edits:
        at = min(at, len(chars))
        if how == "insert":
            chars.insert(at, char)
        elif at < len(chars):
            if how == "set":
                chars[at] = char
            else:
                del chars[at]
    text = "".join(chars)
    assert values._rfc3339_fields(text) == reference_fields(text)


# -- the layout's JSON -------------------------------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=6),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=4), inner, max_size=4), max_leaves=20)


@given(JSON, st.sampled_from([(",", ":"), (", ", ": ")]), st.booleans())
def test_json_reads_as_json_loads(value: object, separators: tuple[str, str],
                                  ascii_only: bool) -> None:
    text = json.dumps(value, separators=separators, ensure_ascii=ascii_only)
    assert jsontext.loads(text) == json.loads(text)


@given(st.sampled_from(['{"a": NaN}', "[1] ", " [1]", "[1,]", '{"a":1', "", "nul", '"\\x"',
                        '[Infinity]', '{"a":1}{}', "1e999"]))
def test_json_that_the_scanner_does_not_take_whole_goes_to_json_loads(text: str) -> None:
    try:
        expected: object = json.loads(text)
    except ValueError as err:
        expected = type(err)
    try:
        got: object = jsontext.loads(text)
    except ValueError as err:
        got = type(err)
    assert got == expected


# -- the token fast path ------------------------------------------------------------------------

def _quick_both(text: str) -> tuple[object, object]:
    from encfile import token
    from encfile.crypto import Cipher

    cipher = Cipher(_KEY)
    strict = token.open_quick(cipher, text, b"k:")
    saved = token._STRICT_B64
    token._STRICT_B64 = False
    try:
        checked = token.open_quick(cipher, text, b"k:")
    finally:
        token._STRICT_B64 = saved
    return strict, checked


_KEY = bytes(range(32))


def _sealed() -> str:
    from encfile import token
    from encfile.crypto import Cipher

    return token.seal(Cipher(_KEY), b"hunter2", "k:", "str")


@given(st.lists(st.tuples(st.integers(0, 120), st.sampled_from(list("A=+/,:]x \n\u00e9")),
                          st.sampled_from(["set", "insert", "delete"])), max_size=3))
def test_the_token_fast_path_takes_what_the_checked_path_takes(
        edits: list[tuple[int, str, str]]) -> None:
    chars = list(_sealed())
    for at, char, how in edits:
        at = min(at, len(chars))
        if how == "insert":
            chars.insert(at, char)
        elif at < len(chars):
            if how == "set":
                chars[at] = char
            else:
                del chars[at]
    strict, checked = _quick_both("".join(chars))
    assert strict == checked
    if not edits:
        assert strict == ("str", b"hunter2")
