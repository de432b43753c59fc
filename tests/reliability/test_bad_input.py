"""Bad input, for every format and both directions: a clean error or a correct result.

One table drives the CLI: every (format, direction, case) row gives ``encfile -e`` or
``encfile -d`` one file, in place (``-i``); when the failure comes after decryption has
started (a bad token, a MAC mismatch) the same file is also decrypted to stdout. Each run
is a child process with a bounded address space (``RLIMIT_AS``, 2 GiB) and a timeout, so
an input that makes encfile hang or swallow memory fails the test instead of the machine.

* A failure must be exactly one ``encfile: error:`` line (then only hints), the expected
  exit code, nothing on stdout, no traceback, and the file and its folder untouched
  (inode, bytes, mtime; no temporary file left behind).
* A success must give the right bytes: ``-e`` output decrypts back to the input exactly,
  ``-d`` output is the expected plaintext; no stray file is left.

Cases (what is valid input differs per format; ``build`` says which and why):

====================  ===========================================================
empty                 a 0-byte file (valid dotenv, INI and binary)
garbage               4 KiB of random bytes (NULs, invalid UTF-8; a valid binary file)
invalid-utf8          a valid file with one byte that is not UTF-8
utf16-bom             a valid file re-encoded as UTF-16 with a BOM
nul-byte              a NUL inside a value (YAML and JSON forbid it)
nested                20,000 nested ``[`` … ``]`` (for ``-d``: added to an encrypted file)
alias-bomb            a billion-laughs YAML alias bomb (ditto)
token-*               a malformed ``ENC[...]`` value token: IV empty, short or too long,
                      tag too short, bad base64 (length, character), unknown type,
                      trailing garbage; for ``-e``, plaintext that merely *looks* like
                      such a token is an ordinary value and must round-trip
over-cap, at-cap      one byte over / exactly at ``ENCFILE_MAX_SIZE``
over-real-cap         a sparse file one byte over the default 100 MiB cap, no override
big-value             a 64 MiB value (slow): ``-e -i`` then ``-d -i`` give it back exactly
====================  ===========================================================

Exit codes (``encfile/errors.py``): 2 unreadable or unparsable input (and over the size
cap), 1 a file without sops metadata given to ``-d``, 25 a value token that is not a valid
token or fails to authenticate, 51 a MAC mismatch.

Standard input gets the size cap too (it is checked after reading). The library has the
same contract: ``encfile.decrypt`` of garbage (random bytes, random text, mutations of a
real encrypted file) raises an :class:`encfile.EncfileError` subclass and nothing else;
``encfile.encrypt`` of random text is refused that way or round-trips (Hypothesis, modest
example counts).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import random
import resource
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import (
    EXIT_INPUT,
    EXIT_MAC,
    EXIT_TAMPERED,
    TEST_PUBLIC,
    TEST_SECRET,
    TOKEN_RE,
    assert_cli_error,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import encfile

MEMORY_LIMIT = 2 * 1024**3  # RLIMIT_AS of every child: 2 GiB
TIMEOUT = 60  # seconds; a hang guard only (each run normally takes well under a second)
BIG_TIMEOUT = 300
DEFAULT_CAP = 100 * 1024 * 1024  # documented default of ENCFILE_MAX_SIZE
BIG = 64 * 1024 * 1024
NEST = 20_000
EXIT_NO_METADATA = 1  # NotEncryptedError

FORMATS = ("yaml", "json", "dotenv", "ini", "binary")
EXT = {"yaml": ".yaml", "json": ".json", "dotenv": ".env", "ini": ".ini", "binary": ".bin"}

# A small valid plaintext per format: an encrypted value, a value that stays in clear.
SAMPLE = {
    "yaml": b"db:\n  user: admin-user\n  password: hunter2-pw\nnote_unencrypted: clear-note\n",
    "json": b'{\n  "db": {"user": "admin-user", "password": "hunter2-pw"},\n'
            b'  "note_unencrypted": "clear-note"\n}\n',
    "dotenv": b"USER=admin-user\nPASSWORD=hunter2-pw\nNOTE_unencrypted=clear-note\n",
    "ini": b"[db]\nuser = admin-user\npassword = hunter2-pw\nnote_unencrypted = clear-note\n",
    "binary": b"\x00\x01 binary hunter2-pw \xff\xfe\r\nend",
}


def _with_value(fmt: str, value: bytes) -> bytes:
    """SAMPLE with the password's value replaced by ``value`` (the whole file for binary)."""
    if fmt == "binary":
        return value
    if fmt == "json":
        value = value.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return SAMPLE[fmt].replace(b"hunter2-pw", value)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


@functools.cache
def encrypted(fmt: str) -> bytes:
    """SAMPLE[fmt] encrypted for the test key (once per session)."""
    enc = encfile.encrypt(_text(SAMPLE[fmt]), recipients=TEST_PUBLIC, format=fmt)
    assert _bytes(encfile.decrypt(enc, format=fmt, identities=[TEST_SECRET])) == SAMPLE[fmt]
    return enc.encode("ascii")


def _token(enc: bytes) -> tuple[int, int]:
    """The span of the first value token of an encrypted file (the data precede the metadata)."""
    text = enc.decode("ascii")
    m = TOKEN_RE.search(text)
    assert m is not None and "sops" not in text[:m.start()], text[:200]
    return m.span()


# -- the ways a token can be malformed --------------------------------------------------------

def _b64(n: int) -> str:
    return base64.b64encode(bytes(i % 251 + 1 for i in range(n))).decode()


def _set_field(token: str, field: str, value: str) -> str:
    m = TOKEN_RE.fullmatch(token)
    assert m is not None, token
    a, b = m.span(field)
    return token[:a] + value + token[b:]


TOKEN_DAMAGE: dict[str, Callable[[str], str]] = {
    "token-iv-empty": lambda t: _set_field(t, "iv", ""),
    "token-iv-short": lambda t: _set_field(t, "iv", _b64(4)),
    "token-iv-long": lambda t: _set_field(t, "iv", _b64(300)),
    "token-tag-short": lambda t: _set_field(t, "tag", _b64(3)),
    "token-bad-base64": lambda t: _set_field(t, "data", "QUJD" + "A"),  # length 5: no padding
    "token-bad-base64-char": lambda t: t.replace(",iv:", ",iv:*", 1),
    "token-unknown-type": lambda t: _set_field(t, "type", "complex"),
    "token-trailing-garbage": lambda t: t + "xyz",
}


def damaged(fmt: str, case: str) -> bytes:
    """The encrypted sample with its first value token damaged."""
    enc = encrypted(fmt)
    a, b = _token(enc)
    token = TOKEN_DAMAGE[case](enc[a:b].decode("ascii")).encode("ascii")
    return enc[:a] + token + enc[b:]


def token_like(fmt: str, case: str) -> bytes:
    """Plaintext whose value is a damaged token's text: an ordinary string for ``-e``."""
    enc = encrypted(fmt)
    a, b = _token(enc)
    return _with_value(fmt, TOKEN_DAMAGE[case](enc[a:b].decode("ascii")).encode("ascii"))


# -- the other inputs -----------------------------------------------------------------------

def garbage() -> bytes:
    data = random.Random(20_000).randbytes(4096)
    assert b"\x00" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    return data


def nested_plain(fmt: str) -> bytes:
    """A value of 20,000 nested brackets (for binary: a file that looks like deep JSON)."""
    deep = b"[" * NEST + b"]" * NEST
    if fmt in ("json", "binary"):
        return b'{"a": ' + deep + b"}\n"
    return _with_value(fmt, deep)


def nested_encrypted(fmt: str) -> bytes:
    """The encrypted sample with a clear value of 20,000 nested brackets added."""
    deep = b"[" * NEST + b"]" * NEST
    enc = encrypted(fmt)
    if fmt == "yaml":
        return b"deep_unencrypted: " + deep + b"\n" + enc
    if fmt in ("json", "binary"):
        assert enc.startswith(b"{")
        return b'{"deep_unencrypted": ' + deep + b"," + enc[1:]
    if fmt == "dotenv":
        return b"DEEP_unencrypted=" + deep + b"\n" + enc
    return enc.replace(b"[db]\n", b"[db]\ndeep_unencrypted = " + deep + b"\n", 1)


def alias_bomb() -> bytes:
    """Billion laughs: nine levels of nine aliases each (9**9 strings once expanded)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    return ("\n".join(lines) + "\n").encode()


def alias_bomb_encrypted(fmt: str) -> bytes:
    """The encrypted sample with the bomb added in clear (in the form each format allows)."""
    enc = encrypted(fmt)
    bomb = alias_bomb()
    if fmt == "yaml":
        indented = b"".join(b"  " + line + b"\n" for line in bomb.splitlines())
        return b"lol_unencrypted:\n" + indented + enc
    if fmt in ("json", "binary"):
        return b'{"lol_unencrypted": ' + bomb.replace(b"\n", b" ") + b"," + enc[1:]
    return bomb + enc


# -- the table -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Ok:
    """Success. ``-e``: the result decrypts back to the input. ``-d``: it is ``plain``."""

    plain: bytes | None = None


@dataclass(frozen=True)
class Err:
    """A clean failure with one of ``codes`` whose error line contains ``message``."""

    codes: tuple[int, ...]
    message: str = ""


@dataclass
class Case:
    data: bytes
    expect: Ok | Err
    env: dict[str, str] | None = None
    sparse: int = 0  # a sparse file of this size instead of ``data``


NOT_UTF8 = Err((EXIT_INPUT,), "not valid UTF-8")
UTF16 = Err((EXIT_INPUT,), "UTF-16")
NO_META = Err((EXIT_NO_METADATA,), "not encrypted")
TAMPERED = Err((EXIT_TAMPERED,))
TOO_LARGE = Err((EXIT_INPUT,), "is larger than")
TOO_DEEP = {"yaml": Err((EXIT_INPUT,), "nesting deeper than 200"),
            "json": Err((EXIT_INPUT,), "nested deeper than 200")}


def build(fmt: str, direction: str, case: str) -> Case:
    """What ``encfile <direction>`` of a ``fmt`` file is given for ``case``, and the verdict.

    Binary files: ``-e`` takes any bytes; ``-d`` of anything that is not sops's JSON
    wrapper is "not encrypted" (exit 1), like a text file without metadata.
    """
    enc = direction == "-e"
    binary = fmt == "binary"
    if case == "empty":
        if fmt == "yaml":
            return Case(b"", Err((EXIT_INPUT,), "no YAML document"))
        if fmt == "json":
            return Case(b"", Err((EXIT_INPUT,), "not valid JSON"))
        return Case(b"", Ok() if enc else NO_META)  # dotenv, INI, binary: an empty file is valid
    if case == "garbage":
        if binary:
            return Case(garbage(), Ok() if enc else NO_META)
        return Case(garbage(), NOT_UTF8)
    if case == "invalid-utf8":
        if enc:
            return Case(_with_value(fmt, b"caf\xe9-pw"), Ok() if binary else NOT_UTF8)
        # In the metadata's (unauthenticated) version field. The wrapper of a binary file is
        # read leniently, as Go's JSON decoder (and so sops) reads it: the data still decrypt.
        data = encrypted(fmt).replace(b"3.11.0", b"3.11.\xe90", 1)
        assert data != encrypted(fmt)
        return Case(data, Ok(SAMPLE[fmt]) if binary else NOT_UTF8)
    if case == "utf16-bom":
        source = SAMPLE[fmt] if enc else encrypted(fmt)
        data = _text(source).encode("utf-16") if not binary else source.decode(
            "latin-1").encode("utf-16")
        assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
        if binary:
            return Case(data, Ok() if enc else NO_META)
        return Case(data, UTF16)
    if case == "nested":
        if enc:
            return Case(nested_plain(fmt), TOO_DEEP.get(fmt, Ok()))
        if fmt == "binary":  # a wrapper too deep to be sops's: refused or "not encrypted"
            return Case(nested_encrypted(fmt), Err((EXIT_INPUT, EXIT_NO_METADATA)))
        # dotenv and INI: the brackets are an ordinary value added in clear, which the MAC sees
        return Case(nested_encrypted(fmt), TOO_DEEP.get(fmt, Err((EXIT_MAC,), "MAC")))
    if case == "alias-bomb":
        if fmt == "yaml":
            data = alias_bomb() if enc else alias_bomb_encrypted(fmt)
            return Case(data, Err((EXIT_INPUT,), "alias bomb"))
        if fmt == "json":
            data = alias_bomb() if enc else alias_bomb_encrypted(fmt)
            return Case(data, Err((EXIT_INPUT,), "not valid JSON"))
        if enc:  # elsewhere the bomb is only text: valid dotenv (comments), INI and binary
            return Case(alias_bomb(), Ok())
        if binary:
            return Case(alias_bomb_encrypted(fmt), NO_META)
        # dotenv and INI: lines (comments, DEFAULT keys) added in clear to an encfile file
        return Case(alias_bomb_encrypted(fmt), TAMPERED)
    if case == "nul-byte":  # valid UTF-8, but a control character YAML and JSON forbid
        if enc:
            expect = {"yaml": Err((EXIT_INPUT,), "control characters are not allowed"),
                      "json": Err((EXIT_INPUT,), "invalid control character")}
            return Case(_with_value(fmt, b"hunter\x002-pw"), expect.get(fmt, Ok()))
        if binary:  # in the wrapper: no longer sops's JSON
            return Case(encrypted(fmt).replace(b"3.11.0", b"3.11.\x000", 1), NO_META)
        data = encrypted(fmt).replace(b"clear-note", b"clear\x00note", 1)  # a clear value
        expect = {"yaml": Err((EXIT_INPUT,), "control characters are not allowed"),
                  "json": Err((EXIT_INPUT,), "invalid control character")}
        return Case(data, expect.get(fmt, Err((EXIT_MAC,), "MAC")))
    if case in TOKEN_DAMAGE:
        if enc:  # plaintext that only looks like a token is an ordinary string
            return Case(token_like(fmt, case), Ok())
        return Case(damaged(fmt, case), TAMPERED)
    if case in ("over-cap", "at-cap"):
        data = SAMPLE[fmt] if enc else encrypted(fmt)
        cap = len(data) - (case == "over-cap")
        expect = TOO_LARGE if case == "over-cap" else Ok(None if enc else SAMPLE[fmt])
        return Case(data, expect, env={"ENCFILE_MAX_SIZE": str(cap)})
    if case == "over-real-cap":  # sparse: cheap to make; encfile must refuse before reading
        return Case(b"", TOO_LARGE, sparse=DEFAULT_CAP + 1)
    if case == "big-value":
        value = bytes(range(256)) * (BIG // 256) if binary else b"0123456789abcdef" * (BIG // 16)
        return Case(_with_value(fmt, value), Ok())
    raise AssertionError(case)


CASES = ("empty", "garbage", "invalid-utf8", "utf16-bom", "nul-byte", "nested", "alias-bomb",
         *TOKEN_DAMAGE, "over-cap", "at-cap", "over-real-cap")

# Bugs this file found: the test states the right behaviour and is expected to fail.
# (format, direction, case) -> reason, for rows that show a known bug (strict xfail)
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}


def _params() -> list[object]:
    params: list[object] = []
    for fmt in FORMATS:
        for direction in ("-e", "-d"):
            for case in CASES:
                marks = []
                if (fmt, direction, case) in KNOWN_BUGS:
                    marks.append(pytest.mark.xfail(strict=True,
                                                   reason=KNOWN_BUGS[fmt, direction, case]))
                params.append(pytest.param(fmt, direction, case, marks=marks,
                                           id=f"{fmt}{direction}-{case}"))
        # One row does both directions: -e -i, then -d -i of the result (64 MiB each way).
        params.append(pytest.param(fmt, "-e", "big-value", marks=pytest.mark.slow,
                                   id=f"{fmt}-e-d-big-value"))
    return params


# -- running the CLI with bounded time and memory ----------------------------------------------

def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_bounded(*args: str, env: dict[str, str], input: bytes | None = None,
                timeout: float = TIMEOUT) -> subprocess.CompletedProcess[bytes]:
    """``run_encfile`` with a hard address-space limit and a hang guard."""
    try:
        return subprocess.run([sys.executable, "-m", "encfile", *args], input=input,
                              capture_output=True, env=env, timeout=timeout,
                              preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"encfile {' '.join(args)} hung (no answer in {timeout} s)")


def _digest(path: Path) -> str:
    """SHA-256 of a file; of its first and last MiB only when it is large (the sparse one)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        if size <= 8 * 1024 * 1024:
            return hashlib.sha256(f.read()).hexdigest()
        head = f.read(1024 * 1024)
        f.seek(-1024 * 1024, os.SEEK_END)
        return hashlib.sha256(head + f.read()).hexdigest()


def _state(folder: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every file of a folder: (inode, size, mtime_ns, digest)."""
    return {p.name: (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns, _digest(p))
            for p in sorted(folder.iterdir())}


def _write(path: Path, case: Case) -> None:
    if case.sparse:
        with open(path, "wb") as f:
            f.truncate(case.sparse)
    else:
        path.write_bytes(case.data)
    # An mtime far in the past, so that a rewrite within the same clock tick still shows.
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))


def _check_error(result: subprocess.CompletedProcess[bytes], expect: Err) -> str:
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode in expect.codes, stderr[-3000:]
    stderr = assert_cli_error(result, result.returncode)
    assert expect.message in stderr.splitlines()[0], stderr
    return stderr


def _check_success(result: subprocess.CompletedProcess[bytes], folder: Path,
                   name: str) -> None:
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 0, stderr[-3000:]
    assert result.stdout == b""
    assert "Traceback" not in stderr and "error" not in stderr, stderr
    assert sorted(p.name for p in folder.iterdir()) == [name], "a stray file was left"


@pytest.mark.parametrize(("fmt", "direction", "case"), _params())
def test_bad_input(fmt: str, direction: str, case: str, tmp_path: Path,
                   env: dict[str, str]) -> None:
    spec = build(fmt, direction, case)
    run_env = {**env, **(spec.env or {})}
    folder = tmp_path / "work"
    folder.mkdir()
    path = folder / f"input{EXT[fmt]}"
    _write(path, spec)
    recipients = ("--age", TEST_PUBLIC) if direction == "-e" else ()

    if isinstance(spec.expect, Err):
        before = _state(folder)
        # In place; and to stdout too when the failure comes after decryption has started
        # (a bad token, a MAC mismatch): no plaintext may have been printed by then.
        late = EXIT_TAMPERED in spec.expect.codes or EXIT_MAC in spec.expect.codes
        for mode in (("-i",), ()) if late else (("-i",),):
            result = run_bounded(direction, *recipients, *mode, str(path), env=run_env)
            _check_error(result, spec.expect)
            assert _state(folder) == before, f"{mode}: the file or its folder changed"
        return

    big = case == "big-value"
    timeout = BIG_TIMEOUT if big else TIMEOUT
    result = run_bounded(direction, *recipients, "-i", str(path), env=run_env, timeout=timeout)
    _check_success(result, folder, path.name)
    if direction == "-d":
        assert spec.expect.plain is not None
        assert path.read_bytes() == spec.expect.plain
        return
    assert path.read_bytes() != spec.data
    if not big:
        plain = encfile.decrypt(_text(path.read_bytes()), format=fmt, identities=[TEST_SECRET])
        assert _bytes(plain) == spec.data
        return
    result = run_bounded("-d", "-i", str(path), env=run_env, timeout=timeout)
    _check_success(result, folder, path.name)
    assert path.read_bytes() == spec.data


# -- standard input: the size cap applies after reading, to the bytes read ---------------------

@pytest.mark.parametrize("direction", ["-e", "-d"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_stdin_over_cap(fmt: str, direction: str, env: dict[str, str]) -> None:
    data = SAMPLE[fmt] if direction == "-e" else encrypted(fmt)
    recipients = ("--age", TEST_PUBLIC) if direction == "-e" else ()
    run_env = {**env, "ENCFILE_MAX_SIZE": str(len(data) - 1)}
    result = run_bounded(direction, *recipients, "--input-type", fmt, "-", env=run_env,
                         input=data)
    _check_error(result, TOO_LARGE)
    # One byte more of room, and the same input goes through.
    run_env["ENCFILE_MAX_SIZE"] = str(len(data))
    result = run_bounded(direction, *recipients, "--input-type", fmt, "-", env=run_env,
                         input=data)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    if direction == "-d":
        assert result.stdout == SAMPLE[fmt]


# -- the library: garbage raises an EncfileError, never another exception ------------------------

LIB_SETTINGS = settings(max_examples=60, deadline=None, database=None,
                        suppress_health_check=[HealthCheck.too_slow])
SYNTAX = "{}[]:,\"' \n\t-#&*!|>=;\\ENCsopa1"  # characters the parsers care about


def _decrypt_or_error(text: str, fmt: str) -> str | None:
    """The plaintext, or None for an EncfileError; any other exception fails the test."""
    try:
        return encfile.decrypt(text, format=fmt, identities=[TEST_SECRET])
    except encfile.EncfileError:
        return None


@LIB_SETTINGS
@given(fmt=st.sampled_from(FORMATS), data=st.binary(max_size=600))
def test_library_decrypt_random_bytes(fmt: str, data: bytes) -> None:
    assert _decrypt_or_error(_text(data), fmt) is None


@LIB_SETTINGS
@given(fmt=st.sampled_from(FORMATS),
       text=st.one_of(st.text(max_size=300), st.text(alphabet=SYNTAX, max_size=300)))
def test_library_decrypt_random_text(fmt: str, text: str) -> None:
    assert _decrypt_or_error(text, fmt) is None


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """An encrypted sample with a few random edits (delete, insert, replace, truncate)."""
    fmt = draw(st.sampled_from(FORMATS))
    text = encrypted(fmt).decode("ascii")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        op = draw(st.sampled_from(["delete", "insert", "replace", "truncate"]))
        piece = draw(st.text(alphabet=SYNTAX, min_size=1, max_size=8))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + piece + text[i:]
        elif op == "replace":
            text = text[:i] + piece + text[j:]
        else:
            text = text[:i]
    return fmt, text


@LIB_SETTINGS
@given(case=mutated())
def test_library_decrypt_mutated(case: tuple[str, str]) -> None:
    """A damaged file fails with an EncfileError, or (a harmless edit) still gives the values."""
    fmt, text = case
    plain = _decrypt_or_error(text, fmt)
    if plain is None:
        return
    if fmt == "binary":
        assert _bytes(plain) == SAMPLE[fmt]
    else:  # layout outside the tokens may change; the encrypted values may not
        assert "admin-user" in plain and "hunter2-pw" in plain, plain


@settings(max_examples=40, deadline=None, database=None)
@given(fmt=st.sampled_from(FORMATS),
       text=st.one_of(st.text(max_size=200), st.text(alphabet=SYNTAX, max_size=200)))
def test_library_encrypt_random_text(fmt: str, text: str) -> None:
    """Random text either encrypts (and then decrypts back exactly) or is refused cleanly."""
    try:
        enc = encfile.encrypt(text, recipients=TEST_PUBLIC, format=fmt)
    except encfile.EncfileError:
        return
    assert encfile.decrypt(enc, format=fmt, identities=[TEST_SECRET]) == text


@pytest.mark.parametrize("fmt", [
    *FORMATS,
])
def test_library_deep_nesting(fmt: str) -> None:
    """20,000 nested brackets: decrypt raises an EncfileError; encrypt refuses or round-trips."""
    text = _text(nested_plain(fmt))
    assert _decrypt_or_error(text, fmt) is None
    assert _decrypt_or_error(_text(nested_encrypted(fmt)), fmt) is None
    try:
        enc = encfile.encrypt(text, recipients=TEST_PUBLIC, format=fmt)
    except encfile.EncfileError:
        assert fmt in ("yaml", "json")
        return
    assert encfile.decrypt(enc, format=fmt, identities=[TEST_SECRET]) == text
