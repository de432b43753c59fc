"""The JSON codec (encfile/formats/json.py): exact text round trips, sops's types, refusals,
the data view, and tampering.

Families:

* a quirk table of hand-written documents (indentation styles, spacing, key order, duplicate
  keys, escapes and numbers as written, BOM, CRLF, no final newline, ...): each one must come
  back byte for byte, its ciphertext must be JSON shaped like the original with every leaf
  typed as sops types it, and ``loads`` must give the data ``json.loads`` gives;
* where the ``sops`` member goes and how it is indented;
* refusals (non-object roots, invalid JSON, numbers beyond float64, files already encrypted),
  through the library (error class) and the CLI (exit code, empty stdout, one error line);
* the CLI: detection by extension, ``--input-type json``, standard input;
* the shared corpus (../shared/corpus/real/json) round-trips through the CLI byte for byte;
* tampering: every character of every token, swapped/moved tokens, the MAC and what it covers.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    B64,
    EXIT_ALREADY,
    EXIT_INPUT,
    EXIT_MAC,
    EXIT_NOT_ENCRYPTED,
    EXIT_TAMPERED,
    TEST_PUBLIC,
    TEST_SECRET,
    TOKEN_RE,
    assert_cli_error,
    canon,
    run_encfile,
)

import encfile


def enc(text: str) -> str:
    return encfile.encrypt(text, recipients=TEST_PUBLIC, format="json")


def dec(text: str) -> str:
    return encfile.decrypt(text, format="json", identities=[TEST_SECRET])


# -- the quirk table ---------------------------------------------------------------------------

QUIRKS: dict[str, str] = {
    "indent-2": '{\n  "name": "web",\n  "port": 8080,\n  "tags": [\n    "a",\n    "b"\n  ]\n}\n',
    "indent-4": '{\n    "name": "web",\n    "nested": {\n        "on": true\n    }\n}\n',
    "tabs": '{\n\t"name": "web",\n\t"list": [\n\t\t1,\n\t\t{\n\t\t\t"x": "y"\n\t\t}\n\t]\n}\n',
    "compact-one-line": '{"a":"b","n":1,"l":[1,2,{"c":null}],"o":{"t":true,"f":false}}',
    "compact-spaced": '{ "a" : "b" , "l" : [ 1 , 2 ] }\n',
    "mixed-indentation": ('{\n  "a": {\n      "b": [1, 2,\n    3],\n\t"c": "d"\n  },\n'
                          '    "e": {"f": "g",\n "h": "i"}\n}\n'),
    "space-before-colon": '{\n    "url" : "https://example.com",\n    "name"\t:\t"x"\n}\n',
    "key-order": '{"zeta": "1", "alpha": "2", "mid": "3", "Beta": "4", "_": "5"}\n',
    "duplicate-keys": '{\n  "a": "first",\n  "b": 1,\n  "a": "second",\n  "a": 3\n}\n',
    "nested-duplicates": '{"o": {"k": "x", "k": "y"}, "o": {"k": "z"}}\n',
    "escapes-as-written": ('{\n  "e1": "caf\\u00e9",\n  "e2": "caf\\u00E9",\n  "slash": "a\\/b",\n'
                           '  "quote": "say \\"hi\\"",\n  "bs": "C:\\\\dir\\\\x",\n'
                           '  "ctrl": "\\b\\f\\n\\r\\t",\n  "nul": "\\u0000",\n'
                           '  "pair": "\\ud83d\\ude00",\n  "ascii-escaped": "\\u0041\\u0062"\n}\n'),
    "escaped-keys": '{"caf\\u00e9": "x", "a\\/b": "y", "q\\"k": "z", "tab\\tkey": "w"}\n',
    "raw-unicode": '{"fr": "café", "ja": "日本語", "emoji": "😀", "ключ": "значение"}\n',
    "unicode-separators": '{"ls": "a\u2028b", "ps": "c\u2029d", "del": "e\x7ff", "nbsp": "\xa0"}\n',
    "lone-surrogate-escape": '{"lone": "\\ud800", "low": "x\\udc00y"}\n',
    "numbers-as-written": ('{\n  "tiny": 1e-9,\n  "big": 12345678901234567890,\n  "three": 3.0,\n'
                           '  "negzero": -0,\n  "negzerof": -0.0,\n  "upper": 1E+2,\n'
                           '  "lowerexp": 1e2,\n  "frac": 0.1,\n  "neg": -1.5e-300,\n'
                           '  "huge": 1.7976931348623157e308,\n  "int": 42,\n  "zero": 0,\n'
                           '  "trail": 1.50,\n  "exp0": 5e0,\n  "expneg": 2E-3\n}\n'),
    "numbers-in-arrays": '{"a": [0, -1, 2.5, 1e10, 9007199254740993, 0.30000000000000004]}\n',
    "bools-nulls-empties": '{"t": true, "f": false, "n": null, "e": "", "l": [null, "", true]}\n',
    "empty-containers": '{"o": {}, "l": [], "ll": [[]], "lo": [{}], "deep": {"e": {"f": []}}}\n',
    "empty-root": "{}",
    "empty-root-spaced": "{ }\n",
    "empty-root-multiline": "{\n}\n",
    "bom": '\ufeff{\n  "Logging": {\n    "Level": "Info"\n  },\n  "ConnStr": "Server=.\\\\SQL"\n}\n',
    "bom-compact": '\ufeff{"a":"b"}',
    "crlf": '{\r\n  "a": "b",\r\n  "l": [\r\n    1,\r\n    2\r\n  ]\r\n}\r\n',
    "crlf-tabs-no-final-newline": '{\r\n\t"a": "b",\r\n\t"c": {\r\n\t\t"d": 1\r\n\t}\r\n}',
    "no-final-newline": '{\n  "a": "b",\n  "n": 1\n}',
    "several-final-newlines": '{"a": "b"}\n\n\n',
    "whitespace-around-root": ' \t\n {"a": "b"} \n\t \n',
    "blank-lines-inside": '{\n\n  "a": "b",\n\n\n  "c": "d"\n\n}\n',
    "nested-sops-key": '{"app": {"sops": "not metadata", "x": {"sops": 1}}, "l": [{"sops": {}}]}\n',
    "keys-with-colons": '{"a:b": "x", "::": "y", "": "empty key"}\n',
    "long-string": '{"pem": "' + "-----BEGIN KEY-----\\n" + "QUJD" * 300 + '\\n-----END KEY-----"}\n',
    "deep-nesting": '{"a":' * 150 + '"leaf"' + "}" * 150 + "\n",
    "deep-arrays": '{"a": ' + "[" * 100 + "1" + "]" * 100 + "}\n",
    "sops-like-strings": '{"v": "ENC[not a token]", "w": "sops", "mac": "x"}\n',
}


class Obj(list):  # type: ignore[type-arg]
    """A JSON object as its ordered (key, value) pairs: order and duplicates stay visible."""


class NumberText(str):
    """A JSON number kept as its text."""


def parse_plain(text: str) -> Any:
    return json.loads(text.removeprefix("\ufeff"), object_pairs_hook=Obj,
                      parse_int=NumberText, parse_float=NumberText)


def expected_leaf(value: Any) -> Any:
    """What sops writes for a plaintext leaf: ("ENC", type), or the value itself in clear."""
    if value is None or (value == "" and not isinstance(value, NumberText)):
        return value
    if isinstance(value, bool):
        return ("ENC", "bool")
    return ("ENC", "float" if isinstance(value, NumberText) else "str")


def plain_shape(x: Any) -> Any:
    if isinstance(x, Obj):
        return ("obj", [(k, plain_shape(v)) for k, v in x])
    if isinstance(x, list):
        return [plain_shape(v) for v in x]
    return expected_leaf(x)


def enc_shape(x: Any) -> Any:
    if isinstance(x, Obj):
        return ("obj", [(k, enc_shape(v)) for k, v in x])
    if isinstance(x, list):
        return [enc_shape(v) for v in x]
    if isinstance(x, str):
        m = TOKEN_RE.fullmatch(x)
        return ("ENC", m.group("type")) if m else x
    return x  # a number or boolean left in clear shows up as itself and fails the comparison


@functools.cache
def encrypted_quirk(name: str) -> str:
    return enc(QUIRKS[name])


@pytest.mark.parametrize("name", list(QUIRKS))
def test_quirk_round_trips_byte_for_byte(name: str) -> None:
    text = QUIRKS[name]
    out = encrypted_quirk(name)
    assert out != text
    assert dec(out) == text


@pytest.mark.parametrize("name", list(QUIRKS))
def test_quirk_ciphertext_is_json_shaped_like_the_original(name: str) -> None:
    """Same keys in the same order (duplicates kept), every leaf typed as sops types it, the
    ``sops`` member last; null and "" stay in clear; no number or boolean stays in clear."""
    out = encrypted_quirk(name)
    assert not out.startswith("\ufeff"), "sops cannot read a BOM: the ciphertext has none"
    theirs = json.loads(out, object_pairs_hook=Obj)
    assert isinstance(theirs, Obj) and theirs, "the root must be an object"
    assert theirs[-1][0] == "sops" and sum(k == "sops" for k, _ in theirs) == 1
    assert enc_shape(Obj(theirs[:-1])) == plain_shape(parse_plain(QUIRKS[name]))


@pytest.mark.parametrize("name", list(QUIRKS))
def test_quirk_loads_gives_the_json_data(name: str) -> None:
    text = QUIRKS[name]
    got = encfile.loads(encrypted_quirk(name), format="json", identities=[TEST_SECRET])
    assert canon(got) == canon(json.loads(text.removeprefix("\ufeff")))


def test_no_plaintext_in_ciphertext() -> None:
    text = ('{\n  "user": "admin-user-xq7",\n  "list": ["alpha-m1q", {"deep": "beta-w2e"}],\n'
            '  "n": 73194.25,\n  "big": 98765432109876543210,\n  "esc": "caf\\u00e9-k9"\n}\n')
    out = enc(text)
    for secret in ("admin-user-xq7", "alpha-m1q", "beta-w2e", "73194", "9876543210", "caf"):
        assert secret not in out
    assert dec(out) == text


# -- types, one value at a time ----------------------------------------------------------------

TYPES = [
    ("1", "float"), ("-0", "float"), ("0", "float"), ("3.0", "float"), ("1e-9", "float"),
    ("1E+2", "float"), ("12345678901234567890", "float"), ("-7", "float"), ("2.5e10", "float"),
    ('"x"', "str"), ('"0"', "str"), ('"true"', "str"), ('"null"', "str"), ('" "', "str"),
    ('"\\u0000"', "str"), ("true", "bool"), ("false", "bool"),
]


@pytest.mark.parametrize(("literal", "kind"), TYPES)
def test_value_type(literal: str, kind: str) -> None:
    text = '{"k": ' + literal + "}"
    out = enc(text)
    m = TOKEN_RE.search(out)
    assert m is not None and out.startswith('{"k": "ENC[')
    assert m.group("type") == kind
    assert dec(out) == text


@pytest.mark.parametrize("literal", ["null", '""'])
def test_null_and_empty_string_stay_in_clear(literal: str) -> None:
    text = '{"k": ' + literal + ', "l": [' + literal + "]}"
    out = enc(text)
    assert out.startswith('{"k": ' + literal + ', "l": [' + literal + '],"sops":{')
    data_part = out[:out.index('"sops":')]
    assert "ENC[" not in data_part
    assert dec(out) == text


def test_data_types_in_loads() -> None:
    text = '{"i": 1, "f": 1.5, "e": 1e2, "b": true, "s": "x", "n": null, "z": "", "neg": -0}'
    got = encfile.loads(enc(text), format="json", identities=[TEST_SECRET])
    assert canon(got) == canon({"i": 1, "f": 1.5, "e": 100.0, "b": True, "s": "x", "n": None,
                                "z": "", "neg": 0})
    assert list(got) == ["i", "f", "e", "b", "s", "n", "z", "neg"]


# -- where the sops member goes -------------------------------------------------------------

@pytest.mark.parametrize(("text", "member_prefix"), [
    ('{"a": 1}', ',"sops":{'),
    ('{\n  "a": 1\n}\n', ',\n  "sops": {\n    "'),
    ('{\n    "a": 1\n}\n', ',\n    "sops": {\n        "'),
    ('{\n\t"a": 1\n}\n', ',\n\t"sops": {\n\t\t"'),
    ('{\r\n  "a": 1\r\n}\r\n', ',\r\n  "sops": {\r\n    "'),
    ("{}", '{"sops":{'),
    ("{\n}\n", '{\n\t"sops": {\n\t\t"'),
])
def test_sops_member_follows_the_file_style(text: str, member_prefix: str) -> None:
    out = enc(text)
    assert member_prefix in out
    if "\n" not in text:
        assert "\n" not in out, "a one-line file stays one line"
    if "\r\n" in text:
        assert "\n" not in out.replace("\r\n", ""), "a CRLF file gets no bare LF"
    assert out.endswith(text[text.rindex("}") + 1:])  # what follows the root is kept
    assert dec(out) == text


# -- refusals ------------------------------------------------------------------------------------

NON_OBJECT_ROOTS = ["[1]", "[]", '"x"', "1", "-2.5", "null", "true", "false", '\ufeff["a"]',
                    '  [ {"a": 1} ]\n', '[{"sops": {}}]']

INVALID = {
    "empty": "", "spaces": "  \n ", "unclosed": '{"a": 1', "open-brace": "{",
    "trailing-comma": '{"a": 1,}', "single-quotes": "{'a': 1}", "bare-key": "{a: 1}",
    "nan": '{"a": NaN}', "infinity": '{"a": Infinity}', "minus-infinity": '{"a": -Infinity}',
    "leading-zero": '{"a": 01}', "plus": '{"a": +1}', "dot-first": '{"a": .5}',
    "hex": '{"a": 0x10}', "extra-data": '{"a": 1} x', "two-roots": '{"a": 1}{"b": 2}',
    "raw-tab-in-string": '{"a": "\t"}', "raw-newline-in-string": '{"a": "x\ny"}',
    "bad-escape": '{"a": "\\x41"}', "short-unicode-escape": '{"a": "\\u12"}',
    "line-comment": '// c\n{"a": 1}', "block-comment": '{"a": 1 /* c */}',
    "too-big-number": '{"a": 1e400}', "too-big-negative": '{"a": -1e400}',
    "too-big-integer": '{"a": ' + "9" * 400 + "}",
    "too-deep": '{"a":' * 300 + "1" + "}" * 300,
    "missing-colon": '{"a" 1}', "missing-comma": '{"a": 1 "b": 2}',
    "capital-true": '{"a": True}',
}

ALREADY_ENCRYPTED = ['{"sops": {}}', '{"a": "b", "sops": {"version": "3.11.0"}}',
                     '{\n  "sops": null\n}\n']


@pytest.mark.parametrize("text", NON_OBJECT_ROOTS)
def test_non_object_root_is_refused(text: str) -> None:
    with pytest.raises(encfile.InputError) as info:
        enc(text)
    assert "top level" in str(info.value)


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_json_is_refused(name: str) -> None:
    with pytest.raises(encfile.InputError):
        enc(INVALID[name])


@pytest.mark.parametrize("text", ALREADY_ENCRYPTED)
def test_file_with_sops_member_is_refused(text: str) -> None:
    with pytest.raises(encfile.AlreadyEncryptedError):
        enc(text)


def test_deep_nesting_limit() -> None:
    ok = '{"a":' * 200 + "1" + "}" * 200
    assert dec(enc(ok)) == ok
    with pytest.raises(encfile.InputError, match="deeper"):
        enc('{"a":' * 250 + "1" + "}" * 250)


@pytest.mark.parametrize(("data", "code"), [
    (b"[1, 2]\n", EXIT_INPUT),
    (b'"just a string"', EXIT_INPUT),
    (b"42", EXIT_INPUT),
    (b'{"a": 1,}', EXIT_INPUT),
    (b'{"a": NaN}', EXIT_INPUT),
    (b'{"a": "\xff"}', EXIT_INPUT),  # not UTF-8
    (b"\xff\xfe{\x00}\x00", EXIT_INPUT),  # UTF-16
    (b'{"a": 1e999}', EXIT_INPUT),
    (b'{"sops": {}}', EXIT_ALREADY),
    (b'{"sops": null}', EXIT_ALREADY),  # sops refuses it with 203 too
])
def test_cli_refusals(data: bytes, code: int, tmp_path: Path, env: dict[str, str]) -> None:
    src = tmp_path / "in.json"
    src.write_bytes(data)
    assert_cli_error(run_encfile("-e", "--age", TEST_PUBLIC, str(src), env=env), code)
    assert src.read_bytes() == data


def test_cli_decrypting_plain_json_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    src = tmp_path / "plain.json"
    src.write_text('{"a": "b"}\n')
    assert_cli_error(run_encfile("-d", str(src), env=env), EXIT_NOT_ENCRYPTED)


# -- the CLI ----------------------------------------------------------------------------------------

CLI_QUIRKS = ["bom", "crlf", "tabs", "compact-one-line", "no-final-newline", "numbers-as-written",
              "escapes-as-written", "duplicate-keys"]


@pytest.mark.parametrize("name", CLI_QUIRKS)
def test_cli_round_trip(name: str, tmp_path: Path, env: dict[str, str]) -> None:
    data = QUIRKS[name].encode("utf-8")
    src = tmp_path / "config.json"
    src.write_bytes(data)
    e = run_encfile("-e", "--age", TEST_PUBLIC, str(src), env=env)
    assert e.returncode == 0, e.stderr
    assert b"ENC[AES256_GCM," in e.stdout and not e.stdout.startswith(b"\xef\xbb\xbf")
    out = tmp_path / "config.enc.json"
    out.write_bytes(e.stdout)
    d = run_encfile("-d", str(out), env=env)
    assert d.returncode == 0, d.stderr
    assert d.stdout == data


def test_cli_input_type_overrides_extension(tmp_path: Path, env: dict[str, str]) -> None:
    data = b'{\n  "a": "b",\n  "n": 1.50\n}'
    src = tmp_path / "settings.txt"
    src.write_bytes(data)
    e = run_encfile("-e", "--age", TEST_PUBLIC, "--input-type", "json", str(src), env=env)
    assert e.returncode == 0, e.stderr
    assert json.loads(e.stdout)["sops"]["mac"].startswith("ENC[AES256_GCM,")
    out = tmp_path / "settings.enc"
    out.write_bytes(e.stdout)
    d = run_encfile("-d", "--input-type", "json", str(out), env=env)
    assert d.returncode == 0, d.stderr
    assert d.stdout == data


def test_cli_stdin(env: dict[str, str]) -> None:
    data = b'{"a":"b","c":[1,2]}\n'
    e = run_encfile("-e", "--age", TEST_PUBLIC, "--input-type", "json", "-", env=env, input=data)
    assert e.returncode == 0, e.stderr
    d = run_encfile("-d", "--input-type", "json", "-", env=env, input=e.stdout)
    assert d.returncode == 0, d.stderr
    assert d.stdout == data


# -- the shared corpus -------------------------------------------------------------------------------

def _real_json(shared_dir: Path) -> list[Path]:
    return sorted((shared_dir / "corpus" / "real" / "json").glob("*.json"))


def test_shared_real_json_round_trips_cli(shared: Path, tmp_path: Path,
                                          env: dict[str, str]) -> None:
    files = _real_json(shared)
    assert len(files) >= 10
    failures = []
    for src in files:
        e = run_encfile("-e", "--age", TEST_PUBLIC, str(src), env=env)
        if e.returncode != 0:
            failures.append((src.name, "encrypt", e.stderr.decode(errors="replace")))
            continue
        out = tmp_path / src.name
        out.write_bytes(e.stdout)
        d = run_encfile("-d", str(out), env=env)
        if d.returncode != 0 or d.stdout != src.read_bytes():
            failures.append((src.name, "decrypt", d.stderr.decode(errors="replace")))
    assert not failures, failures


# -- tampering ----------------------------------------------------------------------------------------

TAMPER_SAMPLE = """\
{
  "user": "admin-user-xq7",
  "password": "hunter2-pw-9zx",
  "port": 5432,
  "enabled": true,
  "hosts": ["alpha-host-m1q", "beta-host-w2e", {"name": "gamma-host-r3t"}],
  "nested": {"token": "tok-a8f3k2", "ratio": 0.75},
  "big": 12345678901234567890,
  "api_unencrypted": "public-endpoint-value"
}
"""
SECRETS = ("admin-user-xq7", "hunter2-pw-9zx", "hunter2", "5432", "alpha-host-m1q",
           "beta-host-w2e", "gamma-host-r3t", "tok-a8f3k2", "0.75", "1234567890")


@functools.cache
def tamper_encrypted() -> str:
    out = enc(TAMPER_SAMPLE)
    assert dec(out) == TAMPER_SAMPLE
    for secret in SECRETS:
        assert secret not in out
    return out


@functools.cache
def tamper_other() -> str:
    return enc(TAMPER_SAMPLE)


def flip(c: str) -> str:
    """Another base64 character whose top bit differs: the decoded bytes always change."""
    return B64[B64.index(c) ^ 0b100000] if c != "=" else "A"


def token_after(text: str, anchor: str) -> re.Match[str]:
    m = TOKEN_RE.search(text, text.index(anchor) + len(anchor))
    assert m is not None
    return m


def role(text: str, m: re.Match[str]) -> str:
    before = text[max(0, m.start() - 20):m.start()]
    if before.endswith('"mac": "'):
        return "mac"
    if before.endswith('"encfile_layout": "'):
        return "layout"
    return "value"


def assert_no_secret(message: str) -> None:
    for secret in SECRETS:
        assert secret not in message, f"{secret!r} leaked in {message!r}"


def test_every_character_of_every_token_is_authenticated() -> None:
    """Each character of each data/iv/tag field changed in turn: the right IntegrityError."""
    text = tamper_encrypted()
    tokens = list(TOKEN_RE.finditer(text))
    roles = [role(text, m) for m in tokens]
    assert roles.count("mac") == 1 and roles.count("value") >= 10
    checked = 0
    wrong = []
    for m, kind in zip(tokens, roles, strict=True):
        expected = encfile.MacMismatchError if kind == "mac" else encfile.TamperedValueError
        for field in ("data", "iv", "tag"):
            start, end = m.span(field)
            for pos in range(start, end):
                bad = text[:pos] + flip(text[pos]) + text[pos + 1:]
                checked += 1
                try:
                    out = dec(bad)
                except encfile.EncfileError as err:
                    if type(err) is not expected:
                        wrong.append((kind, field, pos - start, type(err).__name__))
                    assert_no_secret(str(err))
                else:
                    wrong.append((kind, field, pos - start, "decrypted", out[:30]))
    assert checked > 500
    assert not wrong, wrong[:20]


def _swap(text: str, a: re.Match[str], b: re.Match[str]) -> str:
    (s1, e1), (s2, e2) = sorted([a.span(), b.span()])
    return text[:s1] + text[s2:e2] + text[e1:s2] + text[s1:e1] + text[e2:]


def _replace_span(text: str, span: tuple[int, int], new: str) -> str:
    return text[:span[0]] + new + text[span[1]:]


def _swap_values(a: str, b: str) -> Any:
    return lambda t, o: _swap(t, token_after(t, a), token_after(t, b))


def _copy(src: str, dst: str) -> Any:
    return lambda t, o: _replace_span(t, token_after(t, dst).span(), token_after(t, src).group())


def _from_other(anchor: str) -> Any:
    return lambda t, o: _replace_span(t, token_after(t, anchor).span(),
                                      token_after(o, anchor).group())


def _type(anchor: str, new: str) -> Any:
    return lambda t, o: _replace_span(t, token_after(t, anchor).span("type"), new)


def _reorder_hosts(t: str, o: str) -> str:
    first = token_after(t, '"hosts": [')
    second = TOKEN_RE.search(t, first.end())
    assert second is not None
    return _swap(t, first, second)


def _lastmodified(t: str, o: str) -> str:
    m = re.search(r'"lastmodified": "[0-9-]+T[0-9:]+([0-9])Z"', t)
    assert m is not None
    return _replace_span(t, m.span(1), str((int(m.group(1)) + 1) % 10))


def _mac_from_other(t: str, o: str) -> str:
    return _replace_span(t, token_after(t, '"mac": "').span(), token_after(o, '"mac": "').group())


def _drop_member(key: str) -> Any:
    return lambda t, o: re.sub(r'\n  "' + key + r'": [^\n]*', "", t, count=1)


T, M = encfile.TamperedValueError, encfile.MacMismatchError
TAMPERINGS: dict[str, tuple[Any, type[encfile.EncfileError], bool]] = {
    # name: (mutation, error, also through the CLI)
    "swap-two-values": (_swap_values('"user": "', '"password": "'), T, True),
    "swap-value-and-nested": (_swap_values('"user": "', '"token": "'), T, False),
    "swap-list-item-and-key": (_swap_values('"hosts": ["', '"user": "'), T, False),
    "copy-token-to-other-key": (_copy('"password": "', '"user": "'), T, False),
    "token-from-other-file": (_from_other('"password": "'), T, True),
    "reorder-list-items": (_reorder_hosts, M, True),
    # the type is not authenticated (sops's format): a change is caught when the plaintext does
    # not parse as the new type (float <-> str of a number cannot be caught, as in sops)
    "type-str-to-float": (_type('"user": "', "float"), T, False),
    "type-float-to-bool": (_type('"port": "', "bool"), T, False),
    "type-str-to-bool": (_type('"password": "', "bool"), T, False),
    "type-to-comment": (_type('"user": "', "comment"), T, False),
    "value-replaced-by-plaintext": (
        lambda t, o: _replace_span(t, token_after(t, '"user": "').span(), "admin-user-xq7"), T,
        False),
    "unencrypted-value-changed": (
        lambda t, o: t.replace("public-endpoint-value", "public-endpoint-valuf"), M, True),
    "member-removed": (_drop_member("user"), M, False),
    "lastmodified-changed": (_lastmodified, M, True),
    "mac-from-other-file": (_mac_from_other, M, False),
    "mac-removed": (lambda t, o: re.sub(r'\n\s*"mac": "[^"]*",', "", t), M, True),
    "layout-from-other-file": (_from_other('"encfile_layout": "'), T, False),
    "key-renamed": (lambda t, o: t.replace('"user":', '"usr":', 1), T, False),
}


def tampered(name: str) -> str:
    mutate = TAMPERINGS[name][0]
    out = mutate(tamper_encrypted(), tamper_other())
    assert out != tamper_encrypted(), "the mutation changed nothing"
    return str(out)


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_tampering_is_detected(name: str) -> None:
    error = TAMPERINGS[name][1]
    with pytest.raises(encfile.EncfileError) as info:
        dec(tampered(name))
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert_no_secret(str(info.value) + "".join(info.value.hints))
    with pytest.raises(error):
        encfile.loads(tampered(name), format="json", identities=[TEST_SECRET])


@pytest.mark.parametrize("name", [n for n, c in TAMPERINGS.items() if c[2]] + ["flip-value",
                                                                              "flip-mac"])
def test_tampering_is_detected_cli(name: str, tmp_path: Path, env: dict[str, str]) -> None:
    if name.startswith("flip-"):
        text = tamper_encrypted()
        m = token_after(text, '"password": "' if name == "flip-value" else '"mac": "')
        s, e = m.span("data")
        pos = (s + e) // 2
        text = text[:pos] + flip(text[pos]) + text[pos + 1:]
        code = EXIT_TAMPERED if name == "flip-value" else EXIT_MAC
    else:
        text = tampered(name)
        code = EXIT_TAMPERED if TAMPERINGS[name][1] is T else EXIT_MAC
    path = tmp_path / "secrets.enc.json"
    path.write_text(text, encoding="utf-8", newline="")
    stderr = assert_cli_error(run_encfile("-d", str(path), env=env), code)
    assert_no_secret(stderr)


def test_untampered_control_cli(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "secrets.enc.json"
    path.write_text(tamper_encrypted(), encoding="utf-8", newline="")
    result = run_encfile("-d", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == TAMPER_SAMPLE


def test_loads_keeps_integers_as_written() -> None:
    """sops hashes float64's value of a big integer; encfile's data view keeps the exact one."""
    text = '{"big": 12345678901234567890, "exact": 9007199254740993, "f": 3.0}'
    opened = encfile.open_encrypted(enc(text), format="json", identities=[TEST_SECRET])
    assert opened.text() == text
    assert canon(opened.data()[0]) == canon({"big": 12345678901234567890,
                                             "exact": 9007199254740993, "f": 3.0})
