"""The INI codec: byte-exact round trips, go-ini's reading of values, tampering.

Contract (encfile/formats/ini.py, spec section 6.4): ``encfile -d`` of ``encfile -e F``
gives back the bytes of F, whatever INI dialect F is written in (comments, quoting,
multi-line values, continuation lines, duplicates, CRLF, no final newline...), and the
data (``encfile.loads``) is what sops's INI reader, go-ini v1.67, makes of the file.

Families:

* ``CASES``: hand-written files, each with the data go-ini reads from it; round trip
  through the CLI (bytes) and the library (text + data);
* ``VALUE_TABLE``: one ``key = value`` line -> the value go-ini reads (every row was
  checked against sops 3.11: ``sops encrypt`` then ``sops -d --output-type json``; the
  live check is in tests/interop/test_live_sops_ini_binary.py);
* ``CONTINUATIONS`` and generated files: configparser-style continuation lines (``    = src``,
  ``    mytool = pkg:main``), whose data must be what Python's configparser reads (the
  oracle), through the library, the CLI and the real sops;
* a BOM, which go-ini skips;
* the shared corpus (``../shared/corpus/real/ini``) through the CLI;
* tampering with value, comment and ``mac`` tokens (CLI: exit code, empty stdout, no
  plaintext on stderr), duplicate keys and token swaps.
"""

from __future__ import annotations

import configparser
import functools
import json
import re
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_PUBLIC, TEST_SECRET, run_encfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import encfile

# -- the cases --------------------------------------------------------------------------------

# (id, file text, the data go-ini reads: {section: {key: value}}, DEFAULT only if non-empty)
CASES: list[tuple[str, str, dict[str, dict[str, str]]]] = [
    ("key_forms",
     "[server]\nhost = example.org\nport=8080\nname: primary\ncolon_tight:x\n",
     {"server": {"host": "example.org", "port": "8080", "name": "primary",
                 "colon_tight": "x"}}),
    ("full_line_comments",
     "; semi comment zq1\n# hash comment zq2\n[s]\n; inside zq3\nk = v1\n#before next zq4\n"
     "[t]\nj = w1\n",
     {"s": {"k": "v1"}, "t": {"j": "w1"}}),
    ("inline_comments",
     "[s]\na = one ; semi note\nb = two # hash note\nc = three;tight\nd = four#tight\n",
     {"s": {"a": "one", "b": "two", "c": "three", "d": "four"}}),
    ("header_comment",
     "[s] ; about s\nk = v\n[t] # about t\nj = w\n",
     {"s": {"k": "v"}, "t": {"j": "w"}}),
    ("default_keys",
     "top = 1\nother: two\n\n[s]\nk = v\n",
     {"DEFAULT": {"top": "1", "other": "two"}, "s": {"k": "v"}}),
    ("explicit_default",
     "[DEFAULT]\nbase = /srv\n\n[s]\nk = v\n",
     {"DEFAULT": {"base": "/srv"}, "s": {"k": "v"}}),
    ("systemd_unit",
     "[Unit]\nDescription=containerd container runtime\nAfter=network.target local-fs.target\n"
     "\n[Service]\nExecStartPre=-/sbin/modprobe overlay\nExecStart=/usr/local/bin/containerd\n"
     "Restart=always\nLimitNOFILE=infinity\n\n[Install]\nWantedBy=multi-user.target\n",
     {"Unit": {"Description": "containerd container runtime",
               "After": "network.target local-fs.target"},
      "Service": {"ExecStartPre": "-/sbin/modprobe overlay",
                  "ExecStart": "/usr/local/bin/containerd", "Restart": "always",
                  "LimitNOFILE": "infinity"},
      "Install": {"WantedBy": "multi-user.target"}}),
    ("percent",
     "[paths]\nlog = %(here)s/log\nrate = 100%%\nfmt = %H:%M\n",
     {"paths": {"log": "%(here)s/log", "rate": "100%%", "fmt": "%H:%M"}}),
    ("quoted_values",
     "[s]\ndq = \"p w\"\nsq = 'x'\npad = \"  spaced  \"\nhalf = \"open\nmixed = 'a\"\n",
     {"s": {"dq": "p w", "sq": "x", "pad": "  spaced  ", "half": '"open', "mixed": "'a\""}}),
    ("backtick_multiline",
     "[s]\nk = `first\nsecond ; not a comment\nthird`\nafter = 1\n",
     {"s": {"k": "first\nsecond ; not a comment\nthird", "after": "1"}}),
    ("triple_quote_multiline",
     '[s]\nk = """line one\nline # two"""\nj = """single"""\n',
     {"s": {"k": "line one\nline # two", "j": "single"}}),
    # `"""` ending a line opens a multi-line value (sops -d writes values that start with a
    # newline so; test_triple_quote_opens_a_value_before_a_newline)
    ("triple_quote_at_line_end",
     '[s]\nk = """\nabc"""\nj = 1\n',
     {"s": {"k": "\nabc", "j": "1"}}),
    ("backslash_continuation",
     "[s]\ncmd = run \\\n  --flag \\\n  --other\nnext = 1\n",
     {"s": {"cmd": "run --flag --other", "next": "1"}}),
    ("gitconfig",
     '[user]\n\tname = Jane Doe\n\temail = jane@example.org\n[alias]\n'
     '\tlg = log --graph --format=\\"%h %s\\"\n[core]\n\teditor = vim\n',
     {"user": {"name": "Jane Doe", "email": "jane@example.org"},
      "alias": {"lg": 'log --graph --format=\\"%h %s\\"'},
      "core": {"editor": "vim"}}),
    ("duplicate_keys",
     "[s]\nk = first-dup-vq8\nother = x\nk = second\n",
     {"s": {"k": "second", "other": "x"}}),
    ("duplicate_sections",
     "[a]\nk = 1\n[b]\nj = 2\n[a]\nm = 3\n",
     {"a": {"k": "1", "m": "3"}, "b": {"j": "2"}}),
    ("crlf",
     "; top\r\n[s]\r\nk = v\r\n; c\r\nj = w ; inline\r\n\r\n[t]\r\nx = `a\r\nb`\r\n",
     {"s": {"k": "v", "j": "w"}, "t": {"x": "a\r\nb"}}),
    ("no_final_newline",
     "[s]\nk = v\nj = last",
     {"s": {"k": "v", "j": "last"}}),
    ("no_final_newline_comment",
     "[s]\nk = v\n; trailing comment",
     {"s": {"k": "v"}}),
    ("crlf_no_final_newline",
     "[s]\r\nk = v\r\nj = last",
     {"s": {"k": "v", "j": "last"}}),
    ("comments_at_end",
     "[s]\nk = v\n\n; end one\n# end two\n\n",
     {"s": {"k": "v"}}),
    ("empty_values",
     "[s]\na =\nb=\nc = \nd: \ne = ; only a comment\n",
     {"s": {"a": "", "b": "", "c": "", "d": "", "e": ""}}),
    ("empty_section",
     "[empty]\n\n[s]\nk = v\n",
     {"empty": {}, "s": {"k": "v"}}),
    ("configparser_tox",
     "[tox]\nenvlist = py3\n\n[testenv]\ndeps =\n    pytest\n    coverage\n"
     "commands = pytest {posargs}\n\n[flake8]\nmax-line-length = 100\n",
     {"tox": {"envlist": "py3"},
      "testenv": {"deps": "\npytest\ncoverage", "commands": "pytest {posargs}"},
      "flake8": {"max-line-length": "100"}}),
    ("configparser_setup_cfg",
     "[metadata]\nname = pkg\n\n[options]\npackages = find\ninstall_requires =\n"
     "\trequests\n\tclick ; comment-like\n\n\tattrs\npython_requires = 3.9\n",
     {"metadata": {"name": "pkg"},
      "options": {"packages": "find",
                  "install_requires": "\nrequests\nclick ; comment-like\n\nattrs",
                  "python_requires": "3.9"}}),
    # Python's configparser skips full-line comments inside a value, indented or not
    ("configparser_comment_inside_value",
     "[testenv]\ndeps =\n    pytest\n# pinned below\n    coverage\n    ; indented note\n"
     "    mock\ncommands = pytest\n",
     {"testenv": {"deps": "\npytest\ncoverage\nmock", "commands": "pytest"}}),
    ("trailing_lone_cr",
     "[s]\nk = v\r",
     {"s": {"k": "v"}}),
]
CASE_IDS = [c[0] for c in CASES]

# One line in section [s] -> the value go-ini v1.67 reads (checked against sops 3.11).
VALUE_TABLE: list[tuple[str, str, str]] = [
    ("k = plain", "k", "plain"),
    ("k=tight", "k", "tight"),
    ("k: colon", "k", "colon"),
    ("k = a b  c", "k", "a b  c"),
    ("k =   padded   ", "k", "padded"),
    ("k\t=\ttabs\t", "k", "tabs"),
    ("  k = indented", "k", "indented"),
    ("K_Mixed = Case", "K_Mixed", "Case"),
    ('k = "p w"', "k", "p w"),
    ("k = 'x'", "k", "x"),
    ('k = "  keep  "', "k", "  keep  "),
    ('k = ""', "k", ""),
    ("k = has;semi", "k", "has"),
    ("k = has#hash", "k", "has"),
    ("k = v ; comment", "k", "v"),
    ("k = v # comment", "k", "v"),
    ("k = ;only comment", "k", ""),
    ('k = "a;b"', "k", '"a'),
    ("k = `a;b#c`", "k", "a;b#c"),
    ("k = ` spaced `", "k", " spaced "),
    ("k = `x` trailing", "k", "x"),
    ('k = """a # b"""', "k", "a # b"),
    ('k = """x""" ; c', "k", "x"),
    ("k = 100%", "k", "100%"),
    ("k = %(x)s", "k", "%(x)s"),
    ('k = "a"b"', "k", '"a"b"'),
    ("k = 'it''s'", "k", "'it''s'"),
    ("k = 'a\"", "k", "'a\""),
    ('k = a\\"b', "k", 'a\\"b'),
    ("k = x = y", "k", "x = y"),
    ("k = a:b", "k", "a:b"),
    ("k = =", "k", "="),
    ("k = ", "k", ""),
    ("k =", "k", ""),
    ("k = [x]", "k", "[x]"),
    ("k = é ü", "k", "é ü"),
]


# -- helpers ----------------------------------------------------------------------------------

def lib_encrypt(text: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", encfile.EncfileWarning)
        return encfile.encrypt(text, recipients=TEST_PUBLIC, format="ini")


def lib_decrypt(text: str) -> str:
    return encfile.decrypt(text, format="ini", identities=[TEST_SECRET])


def lib_loads(text: str) -> dict[str, dict[str, str]]:
    return encfile.loads(text, format="ini", identities=[TEST_SECRET])


def cli_encrypt(path: Path, env: dict[str, str], *extra: str) -> bytes:
    proc = run_encfile("-e", "--age", TEST_PUBLIC, *extra, str(path), env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


def cli_decrypt(path: Path, env: dict[str, str], *extra: str) -> bytes:
    proc = run_encfile("-d", *extra, str(path), env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


TOKEN_RE = re.compile(
    r"ENC\[AES256_GCM,data:(?P<data>[A-Za-z0-9+/=]*),iv:(?P<iv>[A-Za-z0-9+/=]*),"
    r"tag:(?P<tag>[A-Za-z0-9+/=]*),type:(?P<type>[a-z]+)\]")
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def flip(c: str) -> str:
    """Another base64 character with the top bit changed: the decoded bytes always change."""
    return B64[B64.index(c) ^ 0b100000]


def flip_field(text: str, tok: re.Match[str], field: str) -> str:
    s, e = tok.span(field)
    pos = s + len(text[s:e].rstrip("=")) // 2
    return text[:pos] + flip(text[pos]) + text[pos + 1:]


# -- round trips ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "text", "data"), CASES, ids=CASE_IDS)
def test_cli_round_trip_is_byte_exact(name: str, text: str, data: dict, tmp_path: Path,
                                      env: dict[str, str]) -> None:
    plain = tmp_path / f"{name}.ini"
    plain.write_bytes(text.encode())
    enc = tmp_path / f"{name}.enc.ini"
    enc.write_bytes(cli_encrypt(plain, env))
    assert b"[sops]" in enc.read_bytes()
    assert cli_decrypt(enc, env) == text.encode()


@pytest.mark.parametrize(("name", "text", "data"), CASES, ids=CASE_IDS)
def test_library_round_trip_and_data(name: str, text: str, data: dict) -> None:
    enc = lib_encrypt(text)
    assert lib_decrypt(enc) == text
    got = lib_loads(enc)
    assert got == data
    for section, values in data.items():  # go-ini: keys keep their first place
        assert list(got[section]) == list(values)


@pytest.mark.parametrize(("name", "text", "data"), CASES, ids=CASE_IDS)
def test_no_plaintext_value_in_encrypted_file(name: str, text: str, data: dict) -> None:
    """Every non-empty value read by go-ini (and every earlier duplicate) is encrypted."""
    enc = lib_encrypt(text)
    body = enc[:enc.index("[sops]")]
    for section, values in data.items():
        for key, value in values.items():
            for piece in value.split("\n"):  # each line of a multi-line value too
                if len(piece.strip()) >= 4:
                    assert piece.strip() not in body, (section, key, piece)
    if name == "duplicate_keys":
        assert "first-dup-vq8" not in enc, "the first value of a duplicate key is in clear"


def test_comments_are_encrypted() -> None:
    text = dict((c[0], c[1]) for c in CASES)["full_line_comments"]
    enc = lib_encrypt(text)
    for marker in ("zq1", "zq2", "zq3", "zq4"):
        assert marker not in enc
    assert len(re.findall(r"^[;#] ?ENC\[AES256_GCM,[^\]]*type:comment\]$", enc, re.M)) == 4, enc


def test_value_spliced_in_place() -> None:
    """Key spelling, separators and indentation stay as written; only values change.

    (Each key is indented no deeper than the one above it: deeper, it would be a
    configparser continuation line, see test_continuation_lines_are_configparsers.)"""
    text = "[s]\n  key-b: beta\n\tKey_A=alpha\nkey_c   =   gamma   ; note\n"
    enc = lib_encrypt(text)
    lines = enc.splitlines()
    assert lines[0] == "[s]"
    assert re.fullmatch(r"  key-b: ENC\[.*type:str\]", lines[1]), lines[1]
    assert re.fullmatch(r"\tKey_A=ENC\[.*type:str\]", lines[2]), lines[2]
    assert re.fullmatch(r"key_c   =   ENC\[.*type:str\]\s*; ENC\[.*type:comment\]", lines[3]), \
        lines[3]


@pytest.mark.parametrize(("line", "key", "value"), VALUE_TABLE,
                         ids=[row[0] for row in VALUE_TABLE])
def test_value_table(line: str, key: str, value: str) -> None:
    text = f"[s]\n{line}\n"
    enc = lib_encrypt(text)
    assert lib_loads(enc) == {"s": {key: value}}
    assert lib_decrypt(enc) == text


def test_triple_quote_opens_a_value_before_a_newline() -> None:
    """go-ini's test is ``len(line) > 3`` on the line with its newline: a triple quote that
    ends a line opens a multi-line value, but at the very end of the file it is the value."""
    for text, data in (('[s]\nk = """\nabc"""\n', {"s": {"k": "\nabc"}}),
                       ('[s]\r\nk = """\r\nabc"""\r\n', {"s": {"k": "\r\nabc"}}),
                       ('[s]\nk = """', {"s": {"k": '"""'}})):
        enc = lib_encrypt(text)
        assert lib_loads(enc) == data
        assert lib_decrypt(enc) == text


def test_data_of_keys_before_first_section_and_explicit_default_merge() -> None:
    text = "a = 1\n[DEFAULT]\nb = 2\n[s]\nk = v\n"
    assert lib_loads(lib_encrypt(text)) == {"DEFAULT": {"a": "1", "b": "2"}, "s": {"k": "v"}}


def test_crlf_kept_in_sops_section() -> None:
    """A CRLF file stays CRLF throughout, the appended [sops] section included."""
    text = "[s]\r\nk = v\r\n"
    enc = lib_encrypt(text)
    assert "\n" not in enc.replace("\r\n", "")
    assert "\r\n[sops]\r\n" in enc


def test_cfg_extension_is_ini(tmp_path: Path, env: dict[str, str]) -> None:
    plain = tmp_path / "app.cfg"
    text = b"[s]\nk = value-cfg\n"
    plain.write_bytes(text)
    enc = tmp_path / "app.enc.cfg"
    enc.write_bytes(cli_encrypt(plain, env))
    assert re.search(rb"^k = ENC\[", enc.read_bytes(), re.M)
    assert cli_decrypt(enc, env) == text


def test_input_type_overrides_extension(tmp_path: Path, env: dict[str, str]) -> None:
    plain = tmp_path / "unit.service"
    text = b"[Service]\nExecStart=/bin/true\n"
    plain.write_bytes(text)
    out = cli_encrypt(plain, env, "--input-type", "ini")
    assert out.startswith(b"[Service]\nExecStart=ENC[")
    enc = tmp_path / "unit.enc.service"
    enc.write_bytes(out)
    assert cli_decrypt(enc, env, "--input-type", "ini") == text


# -- configparser continuation lines ----------------------------------------------------------
#
# setup.cfg and tox.ini are read the way Python's configparser reads them (the parser
# setuptools and tox use): a line indented deeper than its key's line, while that key's value
# is open (blank and comment lines leave it open, a header closes it), continues the value,
# whatever it holds: `= src`, `mytool = pkg:main`, `[x]`. configparser itself is the oracle.

# setuptools' src layout with a console script, as the setuptools documentation writes it
SETUP_CFG = """\
[metadata]
name = mytool
version = 0.1.0

[options]
package_dir =
    = src
packages = find:
install_requires =
    requests>=2.31
    importlib-metadata; python_version<"3.10"

[options.packages.find]
where = src

[options.entry_points]
console_scripts =
    mytool = pkg:main
"""

# (id, file text): each has a continuation line that go-ini cannot read, or reads as a key or
# a header of its own.
CONTINUATIONS: list[tuple[str, str]] = [
    ("setup_cfg_src_layout", SETUP_CFG),
    ("package_dir", "[options]\npackage_dir =\n    = src\n"),
    ("console_scripts", "[options.entry_points]\nconsole_scripts =\n    mytool = pkg:main\n"),
    ("colon_first", "[options]\npackage_dir =\n    : src\n    sub: lib/sub\n"),
    ("value_on_the_key_line",
     "[flake8]\nper-file-ignores = __init__.py:F401\n    tests/*.py: S101, D103\n"
     "max-line-length = 100\n"),
    ("tox_factors_and_setenv",
     "[testenv]\ndeps =\n    py38: pytest<8\n    py312: pytest>=8\nsetenv =\n"
     "    PYTHONPATH = {toxinidir}\n    A=1\ncommands = pytest {posargs}\n"),
    # configparser counts characters: a tab is one, deeper than nothing, shallower than two
    ("tab_then_spaces", "[s]\n\tx = 1\n  y = 2\nz = 3\n"),
    ("blank_and_comment_lines_inside",
     "[s]\nk =\n    a = 1\n\n    # skipped\n\n\n    b = 2\n; skipped too\n    c = 3\n\n\n"
     "next = v\n"),
    ("comment_between_key_and_continuation", "[s]\nk = v\n# note\n    j = w\n"),
    ("header_inside_a_value", "[s]\nk = v\n    [not.a.section]\nj = w\n"),
    ("quotes_and_markers_are_literal",
     "[s]\nk =\n    a = \"q\" ; kept\n    b = 'x' # kept\n    c = `t`\n    d = x \\\n"),
    ("indented_keys", "[s]\n  k =\n    a = b\n  j = w\n      deeper = part of j\n"),
    ("header_closes_a_value", "[a]\nk = 1\n[b]\n    j = 2\n    m = 3\n        n = 4\n"),
    ("less_deep_but_still_inside", "[s]\nk =\n        a = 1\n    b = 2\n  c = 3\nd = 4\n"),
    ("crlf", "[options]\r\npackage_dir =\r\n    = src\r\n\r\n    x = y\r\nnext = 1\r\n"),
    ("no_final_newline", "[options.entry_points]\nconsole_scripts =\n    mytool = pkg:main"),
]
CONTINUATION_IDS = [c[0] for c in CONTINUATIONS]


def configparser_data(text: str) -> dict[str, dict[str, str]]:
    """What ``configparser.ConfigParser(interpolation=None)`` reads (key case kept)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return {s: {k: parser.get(s, k) for k in parser.options(s)} for s in parser.sections()}


def test_issue_examples_read_as_configparser_reads_them() -> None:
    data = lib_loads(lib_encrypt(SETUP_CFG))
    assert data["options"]["package_dir"] == "\n= src"
    assert data["options.entry_points"] == {"console_scripts": "\nmytool = pkg:main"}
    assert data == configparser_data(SETUP_CFG)


@pytest.mark.parametrize(("name", "text"), CONTINUATIONS, ids=CONTINUATION_IDS)
def test_continuation_lines_are_configparsers(name: str, text: str) -> None:
    enc = lib_encrypt(text)
    assert lib_decrypt(enc) == text
    assert lib_loads(enc) == configparser_data(text)
    body = enc[:enc.index("[sops]")]  # each value is one token: no line of it is in clear
    for values in configparser_data(text).values():
        for value in values.values():
            for piece in value.split("\n"):
                assert len(piece.strip()) < 4 or piece.strip() not in body, (piece, body)


@pytest.mark.parametrize(("name", "text"), CONTINUATIONS, ids=CONTINUATION_IDS)
def test_continuation_cli_round_trip_and_json(name: str, text: str, tmp_path: Path,
                                              env: dict[str, str]) -> None:
    plain = tmp_path / "setup.cfg"
    plain.write_bytes(text.encode())
    enc = tmp_path / "setup.enc.cfg"
    enc.write_bytes(cli_encrypt(plain, env))
    assert cli_decrypt(enc, env) == text.encode()
    # converted output is sops's: its DEFAULT section first, empty here
    converted = {"DEFAULT": {}, **configparser_data(text)}
    assert json.loads(cli_decrypt(enc, env, "--output-type", "json")) == converted


def test_encrypting_warns_that_sops_reads_the_plain_file_otherwise() -> None:
    text = dict(CONTINUATIONS)["console_scripts"]
    with pytest.warns(encfile.EncfileWarning, match="sops reads line 3 as a key of its own"):
        encfile.encrypt(text, recipients=TEST_PUBLIC, format="ini")


def _sops(sops_bin: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sops_bin, *args], capture_output=True, env=env, timeout=120)


def _sops_data(sops_bin: str, path: Path, env: dict[str, str]) -> dict[str, dict[str, str]]:
    proc = _sops(sops_bin, "-d", "--input-type", "ini", "--output-type", "json", str(path),
                 env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return {k: v for k, v in json.loads(proc.stdout).items() if v}


@pytest.mark.sops
@pytest.mark.parametrize(("name", "text"), CONTINUATIONS, ids=CONTINUATION_IDS)
def test_sops_decrypts_encfiles_continuations(name: str, text: str, sops_bin: str,
                                              tmp_path: Path, env: dict[str, str]) -> None:
    """sops reads encfile's encryption with configparser's data, and what ``sops -d`` writes
    (go-ini's ``\"\"\"`` quotes for multi-line values) reads back the same in encfile."""
    enc = tmp_path / "setup.enc.ini"
    enc.write_text(lib_encrypt(text), newline="")
    want = {k: v for k, v in configparser_data(text).items() if v}
    assert _sops_data(sops_bin, enc, env) == want
    proc = _sops(sops_bin, "-d", str(enc), env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    again = lib_loads(lib_encrypt(proc.stdout.decode()))
    assert {k: v for k, v in again.items() if v} == want


@pytest.mark.sops
def test_what_sops_makes_of_the_plain_files(sops_bin: str, tmp_path: Path,
                                            env: dict[str, str]) -> None:
    """sops (go-ini) refuses `    = src` and reads `    mytool = pkg:main` as a key of its own;
    encfile reads both as configparser does, and sops reads encfile's encryption that way."""
    plain = tmp_path / "plain.ini"
    plain.write_text(dict(CONTINUATIONS)["package_dir"])
    proc = _sops(sops_bin, "encrypt", "--age", TEST_PUBLIC, str(plain), env=env)
    assert proc.returncode != 0
    assert b"empty key name: = src" in proc.stderr
    assert lib_loads(lib_encrypt(plain.read_text())) == {"options": {"package_dir": "\n= src"}}

    plain.write_text(dict(CONTINUATIONS)["console_scripts"])
    proc = _sops(sops_bin, "encrypt", "--age", TEST_PUBLIC, str(plain), env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    by_sops = tmp_path / "by-sops.ini"
    by_sops.write_bytes(proc.stdout)
    two_keys = {"options.entry_points": {"console_scripts": "", "mytool": "pkg:main"}}
    assert _sops_data(sops_bin, by_sops, env) == two_keys
    assert lib_loads(by_sops.read_text()) == two_keys  # sops's file: sops's data
    mine = tmp_path / "mine.ini"
    mine.write_text(lib_encrypt(plain.read_text()))
    one_key = {"options.entry_points": {"console_scripts": "\nmytool = pkg:main"}}
    assert lib_loads(mine.read_text()) == one_key
    assert _sops_data(sops_bin, mine, env) == one_key


_CP_CHARS = "abcxyz019 =:;#'\"`[]%{}()<>/\\.,*!?@-_é"
_cp_values = st.text(_CP_CHARS, max_size=12).filter(  # go-ini takes no later line into these
    lambda v: not v.lstrip().startswith(('"""', "`")) and not v.rstrip().endswith("\\"))
_cp_continued = st.text(_CP_CHARS, min_size=1, max_size=12).filter(
    lambda v: bool(v.strip()) and v.strip()[0] not in "#;")


@st.composite
def configparser_files(draw: Any) -> str:
    """setup.cfg-like files: indented continuation lines holding anything (`=`, `:`, `[`,
    quotes, markers), blank and comment lines among them; one that starts with `=` always."""
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    lines: list[str] = []
    names = draw(st.lists(st.text("abcdefgh.", min_size=1, max_size=6), max_size=3, unique=True))
    for name in names:
        lines.append(f"[{name}]")
        for key in draw(st.lists(st.text("abcdefghij_-", min_size=1, max_size=6).filter(
                lambda k: k != "-"), max_size=4, unique=True)):  # go-ini numbers `-` keys
            indent = draw(st.sampled_from(["", "", " ", "\t", "  "]))
            sep = draw(st.sampled_from([" = ", "=", ": ", ":", " ="]))
            lines.append(f"{indent}{key}{sep}{draw(_cp_values)}".rstrip(" "))
            for _ in range(draw(st.integers(0, 4))):
                kind = draw(st.sampled_from(["line", "line", "line", "blank", "comment"]))
                if kind == "blank":
                    lines.append(draw(st.sampled_from(["", "  "])))
                elif kind == "comment":
                    lines.append(draw(st.sampled_from(["", "    "])) + draw(st.sampled_from(
                        ["#", ";", "# "])) + draw(st.text(_CP_CHARS, max_size=8)))
                else:
                    lines.append(indent + draw(st.sampled_from([" ", "\t", "    "]))
                                 + draw(_cp_continued))
    lines += ["[zz]", "console_scripts =", "    = forced"]
    text = nl.join(lines)
    return text + nl if draw(st.booleans()) else text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configparser_files())
def test_generated_continuation_files_read_as_configparser(text: str) -> None:
    enc = lib_encrypt(text)
    assert lib_decrypt(enc) == text
    assert lib_loads(enc) == configparser_data(text)


# -- a byte order mark ------------------------------------------------------------------------

BOM_INI = [
    ("section_first", "\ufeff[s]\nk = v\n", {"s": {"k": "v"}}),
    ("key_first", "\ufeffk = v\n[s]\nj = w\n", {"DEFAULT": {"k": "v"}, "s": {"j": "w"}}),
    ("comment_first", "\ufeff; c\n[s]\nj = w\n", {"s": {"j": "w"}}),
    ("crlf_continuation", "\ufeff[o]\r\np =\r\n    = src\r\n", {"o": {"p": "\n= src"}}),
]


@pytest.mark.parametrize(("name", "text", "data"), BOM_INI, ids=[c[0] for c in BOM_INI])
def test_bom_belongs_to_the_file(name: str, text: str, data: dict[str, dict[str, str]],
                                 tmp_path: Path, env: dict[str, str]) -> None:
    """go-ini (so sops) skips a BOM; encfile too, and its encrypted file has none, as sops's."""
    enc = lib_encrypt(text)
    assert not enc.startswith("\ufeff")
    assert lib_decrypt(enc) == text
    assert lib_loads(enc) == data
    plain = tmp_path / "bom.ini"
    plain.write_bytes(text.encode())
    path = tmp_path / "bom.enc.ini"
    path.write_bytes(cli_encrypt(plain, env))
    assert cli_decrypt(path, env) == text.encode()
    assert json.loads(cli_decrypt(path, env, "--output-type", "json")) == {"DEFAULT": {}, **data}


@pytest.mark.sops
@pytest.mark.parametrize(("name", "text", "data"), BOM_INI, ids=[c[0] for c in BOM_INI])
def test_sops_reads_encfiles_bom_ini(name: str, text: str, data: dict[str, dict[str, str]],
                                     sops_bin: str, tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "bom.enc.ini"
    path.write_text(lib_encrypt(text), newline="")
    assert _sops_data(sops_bin, path, env) == data


# -- the shared corpus ------------------------------------------------------------------------

def _corpus() -> list[Path]:
    from conftest import SHARED
    return sorted((SHARED / "corpus" / "real" / "ini").glob("*"))


CORPUS = _corpus()


@pytest.mark.shared
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_cli_round_trip(path: Path, shared: Path, tmp_path: Path,
                               env: dict[str, str]) -> None:
    enc = tmp_path / "enc"
    enc.write_bytes(cli_encrypt(path, env, "--input-type", "ini"))
    assert cli_decrypt(enc, env, "--input-type", "ini") == path.read_bytes()


@pytest.mark.shared
def test_corpus_is_there(shared: Path) -> None:
    names = {p.name for p in CORPUS}
    for expected in ("containerd.service", "setup.cfg", "ansible.cfg", "php8.3.ini", "tox.ini",
                     "gitconfig"):
        assert any(n.endswith(expected) for n in names), expected


# -- tampering --------------------------------------------------------------------------------

SAMPLE = """\
; top comment alpha-cmt-1
global_key = global-val-g7q
[database]
# db comment beta-cmt-2
user = admin-user-xq7
password = "hunter2 pw-9zx" ; inline gamma-cmt-3
url: postgres://db-host-k4m/app

[service]
ExecStart=/usr/bin/secret-cmd-w2e --flag
"""
SECRETS = ("alpha-cmt-1", "global-val-g7q", "beta-cmt-2", "admin-user-xq7", "hunter2",
           "pw-9zx", "gamma-cmt-3", "db-host-k4m", "secret-cmd-w2e")


@functools.cache
def sample_encrypted() -> str:
    enc = lib_encrypt(SAMPLE)
    assert lib_decrypt(enc) == SAMPLE
    for secret in SECRETS:
        assert secret not in enc
    return enc


def _tokens(enc: str) -> list[tuple[str, re.Match[str]]]:
    """(label, token match) for every value, comment and the mac token of the file."""
    out = []
    meta = enc.index("\n[sops]")
    for m in TOKEN_RE.finditer(enc):
        if m.start() > meta:
            line_start = enc.rfind("\n", 0, m.start()) + 1
            key = enc[line_start:m.start()].split("=")[0].strip()
            if key == "mac":
                out.append(("mac", m))
            continue
        line_start = enc.rfind("\n", 0, m.start()) + 1
        label = f"{m['type']}@{enc[line_start:m.start()].strip() or 'line-start'}"
        out.append((label, m))
    return out


TAMPER_TARGETS = [(i, f) for i in range(9) for f in ("data", "iv", "tag")]


def test_sample_has_expected_tokens() -> None:
    labels = [label for label, _ in _tokens(sample_encrypted())]
    assert sum(lbl.startswith("str@") for lbl in labels) == 5, labels
    assert sum(lbl.startswith("comment@") for lbl in labels) == 3, labels
    assert labels.count("mac") == 1
    assert len(labels) == 9


def _check_failure(proc: subprocess.CompletedProcess[bytes], expected_code: int) -> None:
    stderr = proc.stderr.decode(errors="replace")
    assert proc.returncode == expected_code, (proc.returncode, stderr)
    assert proc.stdout == b""
    for secret in SECRETS:
        assert secret not in stderr


@pytest.mark.parametrize(("index", "field"), TAMPER_TARGETS,
                         ids=[f"token{i}-{f}" for i, f in TAMPER_TARGETS])
def test_tampered_token_fails(index: int, field: str, tmp_path: Path,
                              env: dict[str, str]) -> None:
    enc = sample_encrypted()
    tokens = _tokens(enc)
    label, tok = tokens[index]
    bad = flip_field(enc, tok, field)
    assert bad != enc
    path = tmp_path / "t.ini"
    path.write_text(bad)
    proc = run_encfile("-d", str(path), env=env)
    _check_failure(proc, 51 if label == "mac" else 25)
    with pytest.raises(encfile.IntegrityError):
        lib_decrypt(bad)


def test_swapped_value_tokens_fail(tmp_path: Path, env: dict[str, str]) -> None:
    enc = sample_encrypted()
    values = [m for label, m in _tokens(enc) if label.startswith("str@")]
    a, b = values[1], values[2]  # user and password
    bad = enc[:a.start()] + b.group() + enc[a.end():b.start()] + a.group() + enc[b.end():]
    path = tmp_path / "t.ini"
    path.write_text(bad)
    _check_failure(run_encfile("-d", str(path), env=env), 25)


def test_value_token_moved_to_other_section_fails(tmp_path: Path, env: dict[str, str]) -> None:
    enc = sample_encrypted()
    values = [m for label, m in _tokens(enc) if label.startswith("str@")]
    src, dst = values[1], values[4]  # [database] user -> [service] ExecStart
    bad = enc[:dst.start()] + src.group() + enc[dst.end():]
    path = tmp_path / "t.ini"
    path.write_text(bad)
    _check_failure(run_encfile("-d", str(path), env=env), 25)


def test_changed_mac_line_fails(tmp_path: Path, env: dict[str, str]) -> None:
    enc = sample_encrypted()
    bad = re.sub(r"^(mac\s*=\s*)ENC\[[^\]]*\]", r"\1", enc, flags=re.M)
    assert bad != enc
    path = tmp_path / "t.ini"
    path.write_text(bad)
    _check_failure(run_encfile("-d", str(path), env=env), 51)


def test_changed_clear_text_outside_tokens_fails(tmp_path: Path, env: dict[str, str]) -> None:
    """A key renamed in clear changes the AAD of its value: the value no longer opens."""
    enc = sample_encrypted().replace("\nuser = ENC[", "\nuzer = ENC[", 1)
    path = tmp_path / "t.ini"
    path.write_text(enc)
    _check_failure(run_encfile("-d", str(path), env=env), 25)


DUP_SAMPLE = "[s]\nk = hidden-first-h3v\nother = x-val\nk = visible-last-l5p\n"


def test_duplicate_key_first_value_is_encrypted_and_tamper_evident(
        tmp_path: Path, env: dict[str, str]) -> None:
    enc = lib_encrypt(DUP_SAMPLE)
    assert "hidden-first-h3v" not in enc, "the first (hidden) value of a duplicate key is in clear"
    assert lib_decrypt(enc) == DUP_SAMPLE
    assert lib_loads(enc) == {"s": {"k": "visible-last-l5p", "other": "x-val"}}
    first = TOKEN_RE.search(enc, enc.index("\nk = ") + 1)
    assert first is not None and enc.index("\nk = ") + 5 == first.start()
    for field in ("data", "iv", "tag"):
        bad = flip_field(enc, first, field)
        path = tmp_path / f"{field}.ini"
        path.write_text(bad)
        proc = run_encfile("-d", str(path), env=env)
        assert proc.returncode in (25, 51), proc.stderr.decode(errors="replace")
        assert proc.stdout == b""
        assert b"hidden-first-h3v" not in proc.stderr
        assert b"visible-last-l5p" not in proc.stderr


def test_duplicate_key_values_swapped_fails(tmp_path: Path, env: dict[str, str]) -> None:
    enc = lib_encrypt(DUP_SAMPLE)
    toks = [m for m in TOKEN_RE.finditer(enc, 0, enc.index("[sops]")) if m["type"] == "str"]
    assert len(toks) == 3, "every value of the file is encrypted"
    a, b = toks[0], toks[2]
    bad = enc[:a.start()] + b.group() + enc[a.end():b.start()] + a.group() + enc[b.end():]
    path = tmp_path / "t.ini"
    path.write_text(bad)
    proc = run_encfile("-d", str(path), env=env)
    assert proc.returncode in (25, 51), proc.stderr.decode(errors="replace")
    assert proc.stdout == b""


def test_swapped_comment_tokens_in_one_section_fail(tmp_path: Path, env: dict[str, str]) -> None:
    """Two comments of [database] share their AAD; encfile's layout data still notices."""
    enc = sample_encrypted()
    comments = [m for label, m in _tokens(enc) if label.startswith("comment@")]
    a, b = comments[1], comments[2]  # beta (full line) and gamma (inline), both in [database]
    bad = enc[:a.start()] + b.group() + enc[a.end():b.start()] + a.group() + enc[b.end():]
    path = tmp_path / "t.ini"
    path.write_text(bad)
    _check_failure(run_encfile("-d", str(path), env=env), 25)


@pytest.mark.parametrize("field", ["data", "iv", "tag"])
def test_tampered_layout_token_fails(field: str, tmp_path: Path, env: dict[str, str]) -> None:
    enc = sample_encrypted()
    m = re.search(r"^encfile_layout\s*=\s*", enc, re.M)
    assert m is not None
    tok = TOKEN_RE.match(enc, m.end())
    assert tok is not None
    path = tmp_path / "t.ini"
    path.write_text(flip_field(enc, tok, field))
    _check_failure(run_encfile("-d", str(path), env=env), 25)


SYNTAX_TAMPERS = {
    "type_str_to_comment": lambda tok: tok.replace("type:str]", "type:comment]"),
    "type_str_to_int": lambda tok: tok.replace("type:str]", "type:int]"),
    "cipher_name": lambda tok: tok.replace("AES256_GCM", "AES128_GCM"),
    "data_truncated": lambda tok: re.sub(r"data:[^,]{4}", "data:", tok, count=1),
    "iv_removed": lambda tok: re.sub(r"iv:[^,]*,", "", tok),
    "closing_bracket": lambda tok: tok[:-1],
}


@pytest.mark.parametrize("how", sorted(SYNTAX_TAMPERS))
def test_value_token_syntax_tamper_fails(how: str, tmp_path: Path, env: dict[str, str]) -> None:
    enc = sample_encrypted()
    tok = next(m for label, m in _tokens(enc) if label.startswith("str@password"))
    new = SYNTAX_TAMPERS[how](tok.group())
    assert new != tok.group()
    path = tmp_path / "t.ini"
    path.write_text(enc[:tok.start()] + new + enc[tok.end():])
    proc = run_encfile("-d", str(path), env=env)
    _check_failure(proc, 25)
