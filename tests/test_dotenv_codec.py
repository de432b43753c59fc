"""The dotenv codec (encfile/formats/dotenv.py): exact round trips, sops's view of the lines,
python-dotenv's view of the values, metadata lines, refusals and tampering.

Two views of one file:

* sops's (the encrypted data): a line's key is the text before its first ``=``, literally
  (``export A``, ``B `` are keys); the value is all the text after it (quotes, inline comment,
  a CRLF file's ``\\r``); a line starting with ``#`` is a comment. The ciphertext must show
  exactly those keys, in order, with every non-empty value a ``type:str`` token;
* a program's (``encfile.loads``): python-dotenv's reading: quotes removed, double quotes
  decode escapes, single quotes and backticks are literal, unquoted values lose an inline
  `` # comment`` and surrounding spaces, ``export`` leaves the key, the last duplicate wins.

Families: a quirk table (round trip + ciphertext keys), the interpretation table, metadata
lines, refusals, the CLI (file name detection, --input-type, stdin), a BOM (the file's, not
the first key's; against sops too), the shared corpus
(../shared/corpus/real/dotenv) through the CLI, and tampering.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
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
    run_encfile,
)

import encfile


def enc(text: str) -> str:
    return encfile.encrypt(text, recipients=TEST_PUBLIC, format="dotenv")


def dec(text: str) -> str:
    return encfile.decrypt(text, format="dotenv", identities=[TEST_SECRET])


# -- the quirk table: text -> the keys sops sees, in order -----------------------------------------

QUIRKS: dict[str, tuple[str, list[str]]] = {
    "simple": ("A=1\nB=two\n", ["A", "B"]),
    "comments-and-blank-lines": ("# header\n\nA=1\n\n\n# middle\nB=2\n#\n#no-space\n",
                                 ["A", "B"]),
    "export-prefix": ("export A=1\nexport  B=2\n", ["export A", "export  B"]),
    "spaces-around-equals": ("A = 1\nB= 2\nC =3\nD  =  4  \n", ["A ", "B", "C ", "D  "]),
    "quotes": ("S='single'\nD=\"double\"\nT=`tick`\n", ["S", "D", "T"]),
    "inline-comments": ('A=value # comment\nB="quoted" # c\nC=\'x\' #c\nD=x#not-comment\n',
                        ["A", "B", "C", "D"]),
    "empty-values": ("A=\nB=\"\"\nC=''\nD= \n", ["A", "B", "C", "D"]),
    "equals-in-value": ("URL=postgres://u:p@h/db?a=b&c=d\nCFG=serverName=x\nE==\n",
                        ["URL", "CFG", "E"]),
    "duplicate-keys": ("A=first\nB=x\nA=second\nA=third\n", ["A", "B", "A", "A"]),
    "crlf": ("# c\r\nA=1\r\nB=\"two\"\r\n\r\nC=\r\n", ["A", "B", "C"]),
    "crlf-no-final-newline": ("A=1\r\nB=2", ["A", "B"]),
    "multiline-double": ('PEM="-----BEGIN-----\nabc\ndef\n-----END-----"\nNEXT=1\n',
                         ["PEM", "NEXT"]),
    "multiline-single": ("S='line one\nline two'\nN=2\n", ["S", "N"]),
    "multiline-backtick": ("T=`a\nb\n`\nN=3\n", ["T", "N"]),
    "multiline-escaped-quote": ('A="x \\" still\ninside"\nB=1\n', ["A", "B"]),
    "multiline-crlf": ('K="a\r\nb"\r\nL=1\r\n', ["K", "L"]),
    "multiline-with-equals-and-hash": ('A="x=1\n# not a comment\nY=2"\nB=1\n', ["A", "B"]),
    "unterminated-quote": ('A="open\nB=2\n', ["A", "B"]),
    "indented-comments": ("  # two spaces\nA=1\n\t# tab\n    #four\n", ["A"]),
    "spaces-only-lines": ("A=1\n   \n\t\nB=2\n \t \n", ["A", "B"]),
    "line-without-equals": ("JUSTTEXT\nA=1\nmore text here\n", ["A"]),
    "no-final-newline": ("A=1\nB=2", ["A", "B"]),
    "no-final-newline-comment": ("A=1\n# last", ["A"]),
    "backslash-n-two-chars": ("A=x\\ny\nB=\"a\\nb\"\nC=\\n\nD=\\\\n\n", ["A", "B", "C", "D"]),
    "escapes": ('A="tab\\there"\nB="q\\"q"\nC=\'it\\\'s\'\nD="back\\\\slash"\n',
                ["A", "B", "C", "D"]),
    "unicode": ("NAME=café\nJA=日本語\nEMOJI=\"😀\"\n# commentaire é\n", ["NAME", "JA", "EMOJI"]),
    "indented-keys": ("  A=1\n\tB=2\n", ["  A", "\tB"]),
    "odd-keys": ("a.b=1\nx-y=2\n=nokey\n'Q'=3\nsops=4\nSOPS_X=5\n sops_y=6\nexport sops_z=7\n",
                 ["a.b", "x-y", "", "'Q'", "sops", "SOPS_X", " sops_y", "export sops_z"]),
    "trailing-spaces": ("A=1   \nB='x'  \nC=\"y\"\t\n", ["A", "B", "C"]),
    "expansions": ("A=${B:-x}\nB=$$\nC=\\$HOME\nD='${E}'\n", ["A", "B", "C", "D"]),
    "value-like-token": ("A=ENC[not-a-token]\nB=#hash-first\n", ["A", "B"]),
    "only-comments": ("# one\n# two\n", []),
    "only-blank-lines": ("\n\n\n", []),
    "crlf-blank": ("\r\n", []),
    "empty-file": ("", []),
    "long-value": ("KEY=" + "x" * 5000 + "\n", ["KEY"]),
    "final-spaces-line-no-newline": ("A=1\n  ", ["A"]),
    "final-cr-line-no-newline": ("A=1\n\r", ["A"]),
    "spaces-only-file": ("   ", []),
}


def data_lines(cipher: str) -> tuple[list[str], list[str]]:
    """(lines before the metadata, metadata lines) of an encrypted file, without newlines."""
    lines = cipher.split("\n")
    assert lines[-1] == "", "an encrypted file ends with a newline"
    lines = lines[:-1]
    first_meta = next(i for i, line in enumerate(lines) if line.startswith("sops_"))
    return lines[:first_meta], lines[first_meta:]


@functools.cache
def encrypted_quirk(name: str) -> str:
    return enc(QUIRKS[name][0])


@pytest.mark.parametrize("name", list(QUIRKS))
def test_quirk_round_trips_byte_for_byte(name: str) -> None:
    text = QUIRKS[name][0]
    assert dec(encrypted_quirk(name)) == text


@pytest.mark.parametrize("name", list(QUIRKS))
def test_quirk_ciphertext_has_sops_keys(name: str) -> None:
    """Data lines are ``key=ENC[...type:str]`` (or ``key=`` for an empty value), comments
    ``#ENC[...type:comment]``, otherwise only empty lines; keys as sops reads them."""
    want = QUIRKS[name][1]
    data, _ = data_lines(encrypted_quirk(name))
    keys = []
    for line in data:
        if line in ("", "#"):  # an empty comment has nothing to encrypt
            continue
        if line.startswith("#"):
            m = TOKEN_RE.fullmatch(line[1:])
            assert m is not None and m.group("type") == "comment", line
            continue
        key, eq, value = line.partition("=")
        assert eq, line
        keys.append(key)
        if value:
            m = TOKEN_RE.fullmatch(value)
            assert m is not None and m.group("type") == "str", line
    assert keys == want


def test_empty_values_stay_in_clear() -> None:
    """``A=`` has an empty value (in clear, as sops leaves it); ``B=""`` and a blank ``D= ``
    do not; in a CRLF file ``C=`` has the value ``\\r``."""
    data, _ = data_lines(encrypted_quirk("empty-values"))
    assert data[0] == "A=" and TOKEN_RE.fullmatch(data[1][2:]) and TOKEN_RE.fullmatch(data[2][2:])
    assert TOKEN_RE.fullmatch(data[3][2:])
    crlf, _ = data_lines(encrypted_quirk("crlf"))
    assert TOKEN_RE.fullmatch(crlf[-1][2:]) and crlf[-1].startswith("C=")


def test_no_plaintext_in_ciphertext() -> None:
    text = ("# note zeta-comment-1\nUSER=admin-user-xq7\nPW=\"hunter2-pw-9zx\" # kappa-inline-2\n"
            "  # omega-indented-3\nBARE sigma-bare-4\nPEM=\"multi-p5\nline-p6\"\n")
    out = enc(text)
    for secret in ("zeta-comment-1", "admin-user-xq7", "hunter2", "kappa-inline-2",
                   "omega-indented-3", "sigma-bare-4", "multi-p5", "line-p6"):
        assert secret not in out
    assert dec(out) == text


# -- metadata lines -------------------------------------------------------------------------------

def test_metadata_lines_are_sorted_and_last() -> None:
    out = encrypted_quirk("comments-and-blank-lines")
    data, meta = data_lines(out)
    assert not any(line.startswith("sops_") for line in data)
    keys = [line.partition("=")[0] for line in meta]
    assert all(k.startswith("sops_") for k in keys)
    assert keys == sorted(keys)
    for required in ("sops_mac", "sops_lastmodified", "sops_version",
                     "sops_age__list_0__map_recipient", "sops_age__list_0__map_enc"):
        assert required in keys
    values = dict(line.partition("=")[::2] for line in meta)
    assert values["sops_age__list_0__map_recipient"] == TEST_PUBLIC
    assert values["sops_age__list_0__map_enc"].startswith("-----BEGIN AGE ENCRYPTED FILE-----\\n")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", values["sops_lastmodified"])
    assert TOKEN_RE.fullmatch(values["sops_mac"])


def test_metadata_after_data_without_final_newline() -> None:
    out = encrypted_quirk("no-final-newline")
    data, meta = data_lines(out)
    assert [line.partition("=")[0] for line in data] == ["A", "B"]
    assert meta[0].startswith("sops_")


# -- python-dotenv's reading ------------------------------------------------------------------

INTERPRET: dict[str, tuple[str, dict[str, str]]] = {
    "unquoted": ("A=plain value\n", {"A": "plain value"}),
    "surrounding-spaces": ("A =  padded  \n", {"A": "padded"}),
    "double-escapes": ('A="a\\nb\\tc\\\\d\\"e"\n', {"A": "a\nb\tc\\d\"e"}),
    "single-literal": ("A='a\\nb $X'\n", {"A": "a\\nb $X"}),
    "single-escaped-quote": ("A='it\\'s'\n", {"A": "it's"}),
    "backtick-literal": ("A=`a\\nb \"q\" 's'`\n", {"A": "a\\nb \"q\" 's'"}),
    "unquoted-inline-comment": ("A=value # a comment\n", {"A": "value"}),
    "unquoted-hash-no-space": ("A=val#ue\n", {"A": "val#ue"}),
    "quoted-inline-comment": ('A="quoted # kept" # dropped\n', {"A": "quoted # kept"}),
    "unquoted-backslash-n": ("A=x\\ny\n", {"A": "x\\ny"}),
    "export": ("export A=1\n  export B=2\n", {"A": "1", "B": "2"}),
    "last-duplicate-wins": ("A=1\nB=x\nA=2\n", {"A": "2", "B": "x"}),
    "empty-values": ("A=\nB=\"\"\nC=''\n", {"A": "", "B": "", "C": ""}),
    "equals-in-value": ("A=b=c\n", {"A": "b=c"}),
    "crlf": ('A=1\r\nB="two"\r\nC=x # c\r\n', {"A": "1", "B": "two", "C": "x"}),
    "multiline-double": ('A="l1\nl2"\nB=1\n', {"A": "l1\nl2", "B": "1"}),
    "multiline-single": ("A='l1\nl2'\n", {"A": "l1\nl2"}),
    "dollar-kept": ('A=${B}\nC="$D"\n', {"A": "${B}", "C": "$D"}),
    "unicode": ('A="café\\u00e9"\nB=日本\n', {"A": "café\\u00e9", "B": "日本"}),
    "no-final-newline": ("A=1\nB=2", {"A": "1", "B": "2"}),
    "spaces-only-line": ("A=1\n   \nB=2\n", {"A": "1", "B": "2"}),
    # files with comments or lines without '=' (the usual case)
    "with-comment": ("# header\nA=1\n", {"A": "1"}),
    "with-indented-comment": ("A=1\n  # note\nB=2\n", {"A": "1", "B": "2"}),
    "with-bare-line": ("TEXT\nA=1\n", {"A": "1"}),
    "with-comments-everywhere": ("# a\n\nA=x # c\n#b\nexport B='y'\n# end\n",
                                 {"A": "x", "B": "y"}),
}


@pytest.mark.parametrize("name", list(INTERPRET))
def test_loads_interprets_like_python_dotenv(name: str) -> None:
    text, want = INTERPRET[name]
    got = encfile.loads(enc(text), format="dotenv", identities=[TEST_SECRET])
    assert got == want
    assert list(got) == list(want)


# -- refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["sops_version=3.11.0\n", "sops_x=\n", "A=1\nsops_mac=x\nB=2\n",
                                  "sops_=1\n", "# c\nsops_lastmodified=2024-01-01T00:00:00Z\n"])
def test_sops_key_is_refused_as_already_encrypted(text: str) -> None:
    with pytest.raises(encfile.AlreadyEncryptedError):
        enc(text)


def test_cli_refusals(tmp_path: Path, env: dict[str, str]) -> None:
    cases = [(b"A=1\nsops_version=3.11.0\n", EXIT_ALREADY),
             (b"A=\xff\n", EXIT_INPUT), (b"\xff\xfeA\x00=\x001\x00", EXIT_INPUT)]
    for data, code in cases:
        src = tmp_path / "x.env"
        src.write_bytes(data)
        assert_cli_error(run_encfile("-e", "--age", TEST_PUBLIC, str(src), env=env), code)
        assert src.read_bytes() == data
    plain = tmp_path / "plain.env"
    plain.write_bytes(b"A=1\n")
    assert_cli_error(run_encfile("-d", str(plain), env=env), EXIT_NOT_ENCRYPTED)


# -- the CLI ------------------------------------------------------------------------------------------

CLI_TEXT = (b"# comment\nexport A=\"x y\" # inline\nB = 2\r\nPEM=\"l1\nl2\"\n  # indented\n"
            b"BARE\n   \nC=")


@pytest.mark.parametrize("name", [".env", "prod.env", ".env.production", ".env.local"])
def test_cli_detects_dotenv_names(name: str, tmp_path: Path, env: dict[str, str]) -> None:
    src = tmp_path / name
    src.write_bytes(CLI_TEXT)
    e = run_encfile("-e", "--age", TEST_PUBLIC, str(src), env=env)
    assert e.returncode == 0, e.stderr
    assert b"\nsops_mac=ENC[AES256_GCM," in e.stdout
    (tmp_path / "enc").mkdir()
    out = tmp_path / "enc" / name
    out.write_bytes(e.stdout)
    d = run_encfile("-d", str(out), env=env)
    assert d.returncode == 0, d.stderr
    assert d.stdout == CLI_TEXT


def test_cli_input_type_and_stdin(tmp_path: Path, env: dict[str, str]) -> None:
    src = tmp_path / "vars.txt"
    src.write_bytes(CLI_TEXT)
    e = run_encfile("-e", "--age", TEST_PUBLIC, "--input-type", "dotenv", str(src), env=env)
    assert e.returncode == 0, e.stderr
    assert b"\nsops_mac=ENC[AES256_GCM," in e.stdout
    d = run_encfile("-d", "--input-type", "dotenv", "-", env=env, input=e.stdout)
    assert d.returncode == 0, d.stderr
    assert d.stdout == CLI_TEXT
    e2 = run_encfile("-e", "--age", TEST_PUBLIC, "--input-type", "dotenv", "-", env=env,
                     input=CLI_TEXT)
    assert e2.returncode == 0, e2.stderr
    d2 = run_encfile("-d", "--input-type", "dotenv", "-", env=env, input=e2.stdout)
    assert d2.stdout == CLI_TEXT


# -- a byte order mark ----------------------------------------------------------------------------
#
# The BOM belongs to the file, not to its first key. sops reads it as part of the key
# ("\ufeffA": in its AAD, its JSON output, exec-env), so encfile writes the encrypted file
# without it (sops then reads the key as "A") and the layout restores it; a file sops made
# from a BOM file keeps the BOM in its first key's path, and encfile shows the key as "A".

BOM_FILES = {
    "key-first": ("\ufeffA=1\nB=two\n", {"A": "1", "B": "two"}),
    "export": ("\ufeffexport A='x y'\n", {"A": "x y"}),
    "comment-first": ("\ufeff# note=x\nA=1\n", {"A": "1"}),
    "blank-first": ("\ufeff\nA=1\n", {"A": "1"}),
    "crlf-no-final-newline": ("\ufeffA=1\r\nB=2", {"A": "1", "B": "2"}),
}
DUMP_ENV = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]


@pytest.mark.parametrize("name", list(BOM_FILES))
def test_bom_is_not_part_of_the_first_key(name: str) -> None:
    text, data = BOM_FILES[name]
    out = enc(text)
    assert "\ufeff" not in out
    # line for line what the file without its BOM gives: the first line is read the same
    shape = [TOKEN_RE.sub("T", line) for line in data_lines(out)[0]]
    assert shape == [TOKEN_RE.sub("T", line) for line in data_lines(enc(text[1:]))[0]]
    assert dec(out) == text
    assert encfile.loads(out, format="dotenv", identities=[TEST_SECRET]) == data


def _bom_file(tmp_path: Path, env: dict[str, str]) -> Path:
    plain = tmp_path / "x.env"
    plain.write_bytes("\ufeffA=1\nB=two\n".encode())
    path = tmp_path / "x.enc.env"
    proc = run_encfile("-e", "--age", TEST_PUBLIC, str(plain), env=env)
    assert proc.returncode == 0, proc.stderr
    path.write_bytes(proc.stdout)
    return path


def test_bom_exec_exports_the_first_key_by_its_name(tmp_path: Path,
                                                     env: dict[str, str]) -> None:
    path = _bom_file(tmp_path, env)
    proc = run_encfile("exec", "-f", str(path), "--", *DUMP_ENV, env=env)
    assert proc.returncode == 0, proc.stderr
    child = json.loads(proc.stdout)
    assert child["A"] == "1" and child["B"] == "two"
    assert "_A" not in child and not [k for k in child if "\ufeff" in k]


def test_bom_cli_round_trip_json_and_extract(tmp_path: Path, env: dict[str, str]) -> None:
    path = _bom_file(tmp_path, env)
    assert run_encfile("-d", str(path), env=env).stdout == "\ufeffA=1\nB=two\n".encode()
    as_json = run_encfile("-d", "--output-type", "json", str(path), env=env)
    assert json.loads(as_json.stdout) == {"A": "1", "B": "two"}
    extract = run_encfile("-d", "--extract", '["A"]', str(path), env=env)
    assert (extract.returncode, extract.stdout) == (0, b"1"), extract.stderr


def _sops(sops_bin: str, *args: str, env: dict[str, str]) -> bytes:
    proc = subprocess.run([sops_bin, *args], capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


@pytest.mark.sops
def test_bom_interop_with_sops(sops_bin: str, tmp_path: Path, env: dict[str, str]) -> None:
    text = "\ufeffA=1\nB=two\n"
    plain = tmp_path / "plain.env"
    plain.write_bytes(text.encode())
    # sops reads the BOM as part of the first key, in its AAD too
    by_sops = tmp_path / "by-sops.env"
    by_sops.write_bytes(_sops(sops_bin, "encrypt", "--age", TEST_PUBLIC, str(plain), env=env))
    assert by_sops.read_bytes().startswith("\ufeffA=ENC[".encode())
    sops_data = json.loads(_sops(sops_bin, "-d", "--output-type", "json", str(by_sops), env=env))
    assert list(sops_data) == ["\ufeffA", "B"]
    # encfile decrypts sops's file (under sops's AAD) to the same bytes; its key is "A"
    assert run_encfile("-d", str(by_sops), env=env).stdout == \
        _sops(sops_bin, "-d", str(by_sops), env=env) == text.encode()
    loaded = encfile.loads(by_sops.read_text(), format="dotenv", identities=[TEST_SECRET])
    assert loaded == {"A": "1", "B": "two"}
    proc = run_encfile("exec", "-f", str(by_sops), "--", *DUMP_ENV, env=env)
    assert json.loads(proc.stdout)["A"] == "1", proc.stderr
    # sops decrypts encfile's file, which has no BOM: sops sees the key "A" too
    mine = tmp_path / "mine.env"
    mine.write_text(enc(text), newline="")
    assert _sops(sops_bin, "-d", str(mine), env=env) == b"A=1\nB=two\n"
    assert json.loads(_sops(sops_bin, "-d", "--output-type", "json", str(mine), env=env)) == \
        {"A": "1", "B": "two"}


# -- the shared corpus ---------------------------------------------------------------------------

def test_shared_real_dotenv_round_trips_cli(shared: Path, tmp_path: Path,
                                            env: dict[str, str]) -> None:
    files = sorted((shared / "corpus" / "real" / "dotenv").glob("*.env"))
    assert len(files) >= 12
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


# -- tampering ------------------------------------------------------------------------------------

TAMPER_SAMPLE = """\
# top comment zeta-comment-1
USER=admin-user-xq7
PASSWORD="hunter2-pw-9zx" # inline kappa-inline-2
  # indented omega-note-3
PEM="multi-line-p5
second-line-p6"
PORT=5432
EMPTY=
API_unencrypted=public-endpoint-value
"""
SECRETS = ("zeta-comment-1", "admin-user-xq7", "hunter2-pw-9zx", "hunter2", "kappa-inline-2",
           "omega-note-3", "multi-line-p5", "second-line-p6", "5432")


@functools.cache
def tamper_encrypted() -> str:
    out = enc(TAMPER_SAMPLE)
    assert dec(out) == TAMPER_SAMPLE
    for secret in SECRETS:
        assert secret not in out
    assert "API_unencrypted=public-endpoint-value\n" in out
    return out


@functools.cache
def tamper_other() -> str:
    return enc(TAMPER_SAMPLE)


def flip(c: str) -> str:
    return B64[B64.index(c) ^ 0b100000] if c != "=" else "A"


def assert_no_secret(message: str) -> None:
    for secret in SECRETS:
        assert secret not in message, f"{secret!r} leaked in {message!r}"


def lines_of(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def line_index(lines: list[str], prefix: str, nth: int = 0) -> int:
    return [i for i, line in enumerate(lines) if line.startswith(prefix)][nth]


def test_every_character_of_every_token_is_authenticated() -> None:
    text = tamper_encrypted()
    kinds = []
    wrong = []
    checked = 0
    for m in TOKEN_RE.finditer(text):
        line = text[text.rfind("\n", 0, m.start()) + 1:m.start()]
        kind = "mac" if line == "sops_mac=" else "comment" if line == "#" else (
            "layout" if line == "sops_encfile_layout=" else "value")
        kinds.append(kind)
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
    assert kinds.count("mac") == 1 and kinds.count("comment") == 2 and kinds.count("value") == 4
    assert checked > 500
    assert not wrong, wrong[:20]


def _swap_line_values(a: str, b: str) -> Any:
    def mutate(t: str, o: str) -> str:
        lines = lines_of(t)
        i, j = line_index(lines, a), line_index(lines, b)
        ka, _, va = lines[i].partition("=")
        kb, _, vb = lines[j].partition("=")
        lines[i], lines[j] = ka + "=" + vb, kb + "=" + va
        return "".join(lines)
    return mutate


def _swap_lines(a: str, b: str, nth_b: int = 0) -> Any:
    def mutate(t: str, o: str) -> str:
        lines = lines_of(t)
        i, j = line_index(lines, a), line_index(lines, b, nth_b)
        lines[i], lines[j] = lines[j], lines[i]
        return "".join(lines)
    return mutate


def _drop(prefix: str, nth: int = 0) -> Any:
    def mutate(t: str, o: str) -> str:
        lines = lines_of(t)
        del lines[line_index(lines, prefix, nth)]
        return "".join(lines)
    return mutate


def _replace_line(prefix: str, new: str) -> Any:
    def mutate(t: str, o: str) -> str:
        lines = lines_of(t)
        lines[line_index(lines, prefix)] = new
        return "".join(lines)
    return mutate


def _line_from_other(prefix: str) -> Any:
    def mutate(t: str, o: str) -> str:
        lines, other = lines_of(t), lines_of(o)
        lines[line_index(lines, prefix)] = other[line_index(other, prefix)]
        return "".join(lines)
    return mutate


def _insert_after(prefix: str, new: str) -> Any:
    def mutate(t: str, o: str) -> str:
        lines = lines_of(t)
        lines.insert(line_index(lines, prefix) + 1, new)
        return "".join(lines)
    return mutate


def _lastmodified(t: str, o: str) -> str:
    m = re.search(r"\nsops_lastmodified=[0-9-]+T[0-9:]+([0-9])Z", t)
    assert m is not None
    return t[:m.start(1)] + str((int(m.group(1)) + 1) % 10) + t[m.end(1):]


T, M = encfile.TamperedValueError, encfile.MacMismatchError
TAMPERINGS: dict[str, tuple[Any, type[encfile.EncfileError], bool]] = {
    "swap-two-values": (_swap_line_values("USER=", "PASSWORD="), T, True),
    "swap-value-and-multiline": (_swap_line_values("USER=", "PEM="), T, False),
    "value-from-other-file": (_line_from_other("PASSWORD="), T, True),
    "copy-value-to-other-key": (
        lambda t, o: re.sub(r"\nPORT=[^\n]*", "\nPORT=" + re.search(
            r"\nUSER=([^\n]*)", t).group(1), t), T, False),  # type: ignore[union-attr]
    "key-renamed": (lambda t, o: t.replace("\nPORT=", "\nPORTX="), T, False),
    "export-added": (lambda t, o: t.replace("\nPORT=", "\nexport PORT="), T, False),
    "reorder-value-lines": (_swap_lines("USER=", "PORT="), M, True),
    "value-line-deleted": (_drop("PORT="), M, False),
    "value-replaced-by-plaintext": (_replace_line("USER=", "USER=admin-user-xq7\n"), T, True),
    "plaintext-value-inserted": (_insert_after("USER=", "INJECTED=1\n"), T, False),
    "empty-value-filled": (lambda t, o: t.replace("\nEMPTY=\n", "\nEMPTY=x\n"), T, False),
    "unencrypted-value-changed": (
        lambda t, o: t.replace("public-endpoint-value", "public-endpoint-valuf"), M, True),
    "comment-deleted": (_drop("#ENC["), T, True),
    "comments-swapped": (_swap_lines("#ENC[", "#ENC[", 1), T, False),
    "comment-from-other-file": (_line_from_other("#ENC["), T, False),
    "plaintext-comment-inserted": (_insert_after("USER=", "# injected note\n"), T, True),
    "comment-replaced-by-plaintext": (_replace_line("#ENC[", "# harmless\n"), T, False),
    "comment-token-as-value": (
        lambda t, o: re.sub(r"\nUSER=[^\n]*", "\nUSER=" + re.search(
            r"\n#(ENC[^\n]*)", t).group(1), t), T, False),  # type: ignore[union-attr]
    "text-after-metadata": (lambda t, o: t + "LATE=1\n", T, True),
    "comment-after-metadata": (lambda t, o: t + "# late\n", T, False),
    "lastmodified-changed": (_lastmodified, M, True),
    "mac-removed": (_drop("sops_mac="), M, True),
    "mac-from-other-file": (_line_from_other("sops_mac="), M, False),
    "layout-removed": (_drop("sops_encfile_layout="), T, False),
    "layout-from-other-file": (_line_from_other("sops_encfile_layout="), T, False),
}


def tampered(name: str) -> str:
    out = TAMPERINGS[name][0](tamper_encrypted(), tamper_other())
    assert out != tamper_encrypted(), "the mutation changed nothing"
    return str(out)


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_tampering_is_detected(name: str) -> None:
    error = TAMPERINGS[name][1]
    with pytest.raises(encfile.EncfileError) as info:
        dec(tampered(name))
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert_no_secret(str(info.value) + "".join(info.value.hints))


@pytest.mark.parametrize("name", [n for n, c in TAMPERINGS.items() if c[2]]
                         + ["flip-value", "flip-comment", "flip-mac"])
def test_tampering_is_detected_cli(name: str, tmp_path: Path, env: dict[str, str]) -> None:
    if name.startswith("flip-"):
        text = tamper_encrypted()
        anchor = {"flip-value": "\nPASSWORD=", "flip-comment": "\n#",
                  "flip-mac": "\nsops_mac="}[name]
        m = TOKEN_RE.search(text, text.index(anchor))
        assert m is not None
        s, e = m.span("tag")
        pos = (s + e) // 2
        text = text[:pos] + flip(text[pos]) + text[pos + 1:]
        code = EXIT_MAC if name == "flip-mac" else EXIT_TAMPERED
    else:
        text = tampered(name)
        code = EXIT_TAMPERED if TAMPERINGS[name][1] is T else EXIT_MAC
    path = tmp_path / "secrets.enc.env"
    path.write_text(text, encoding="utf-8", newline="")
    stderr = assert_cli_error(run_encfile("-d", str(path), env=env), code)
    assert_no_secret(stderr)


def test_untampered_control_cli(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "secrets.enc.env"
    path.write_text(tamper_encrypted(), encoding="utf-8", newline="")
    result = run_encfile("-d", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == TAMPER_SAMPLE
