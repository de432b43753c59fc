"""Conformance: the C2SP CCTV age vectors through encfile's identity layer, the sops
known-answer tokens in the encrypt direction, and a property test of the ENC token parser.

* Every CCTV vector (../shared/vectors/cctv-age) goes through ``encfile.keysources.age`` the way a
  file's data key does: the vector's identity lines through ``parse_identities``, the age
  file through ``unwrap`` (armored first when the vector is binary: a sops ``enc`` field is
  always armored), passphrase vectors through ``decrypt_identity_file``. The outcome must be
  the vector's: ``success`` gives exactly the payload (SHA-256 checked); every other
  ``expect`` gives nothing at all (``unwrap`` releases no partial plaintext, so the
  ``payload failure`` prefix rule holds trivially). pyrage's known deviations are pinned as
  strict xfails, so a change in pyrage shows up. The hybrid (post-quantum) vectors go the
  same way: their ``AGE-SECRET-KEY-PQ-1`` identities become plugin identities that pyrage
  hands to encfile's ``age-plugin-pq`` (put on PATH by ``age_plugin_support``).
* A few vectors are also spliced into a real encrypted file's ``sops.age[].enc`` and run
  through ``encfile -d`` with the vector's identity: always exit 128, never a traceback
  (an unwrapped secret that is not a 32-byte data key is refused too).
* The sops spec's worked example, sealed with its own IV, gives the exact token bytes
  (tests/test_token_crypto.py checks only the decrypt direction), and so does sops's own
  ``aes/cipher_test.go`` vector (key ``"f"*32``, AAD ``bar:``, plaintext ``foo``).
* ``token.parse`` on random strings and mutated valid tokens returns a Token or raises
  ``MalformedToken``, nothing else; ``open_quick`` never raises and agrees with the slow path.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from age_plugin_support import session_bin
from conftest import (
    EXIT_INPUT,
    SHARED,
    TEST_PUBLIC,
    TEST_SECRET,
    assert_cli_error,
    clean_env,
    run_encfile,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

import encfile
from encfile import config_yaml, crypto, token
from encfile.crypto import Cipher
from encfile.keysources import age

VECTOR_DIR = SHARED / "vectors" / "cctv-age"
ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = "-----END AGE ENCRYPTED FILE-----"

# pyrage 1.4.0 (rage) results that differ from the vectors' `expect`
# (/work/shared/guide/reliability.md section 1, "CCTV run through pyrage").
PYRAGE_DEVIATIONS = {
    "armor_whitespace_outside": "pyrage (like rage) refuses whitespace before/after the armor "
                                "that age accepts (rage documents it as unsupported); "
                                "expected success, got no match",
    "stanza_missing_body": "pyrage (like rage, legacy stanza support) accepts a stanza with no "
                           "body line; expected header failure, got success",
    "stanza_missing_final_line": "pyrage (like rage, legacy stanza support) accepts a stanza "
                                 "without its final short line; expected header failure, "
                                 "got success",
}


class Vector(NamedTuple):
    name: str
    expect: str
    payload: str | None
    identities: list[str]
    passphrases: list[str]
    armored: bool
    body: bytes


def load_vector(path: Path) -> Vector:
    raw = path.read_bytes()
    head, sep, body = raw.partition(b"\n\n")
    assert sep, f"{path.name}: no blank line after the header"
    fields: dict[str, list[str]] = {}
    for line in head.decode("utf-8").split("\n"):
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    if fields.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return Vector(path.name, fields["expect"][0], fields.get("payload", [None])[0],
                  fields.get("identity", []), fields.get("passphrase", []),
                  fields.get("armored") == ["yes"], body)


def _headers() -> dict[str, str]:
    """name -> expect, read at collection time from the (small, compressed) files."""
    if not VECTOR_DIR.is_dir():
        return {}
    out = {}
    for path in sorted(VECTOR_DIR.iterdir()):
        if path.is_file() and not path.name.startswith("README"):
            head = path.read_bytes().partition(b"\n\n")[0].decode("utf-8")
            out[path.name] = next(line[8:] for line in head.split("\n")
                                  if line.startswith("expect: "))
    return out


HEADERS = _headers()
needs_vectors = pytest.mark.skipif(not HEADERS, reason="../shared/vectors/cctv-age not present")


def _params() -> list[Any]:
    params = []
    for name in HEADERS:
        marks = []
        if name in PYRAGE_DEVIATIONS:
            marks.append(pytest.mark.xfail(strict=True, reason=PYRAGE_DEVIATIONS[name]))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


def armor(data: bytes) -> str:
    """age's ASCII armor: base64 in 64-column lines (the only form a sops ``enc`` takes)."""
    b64 = base64.b64encode(data).decode("ascii")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + "\n"


def enc_text(vector: Vector) -> str:
    # latin-1 keeps every byte as one character, so unwrap sees what a YAML string holds.
    return vector.body.decode("latin-1") if vector.armored else armor(vector.body)


def scrypt_factor(body: bytes) -> int | None:
    for line in body.split(b"\n")[:8]:
        if line.startswith(b"-> scrypt "):
            parts = line.split()
            return int(parts[-1]) if parts[-1].isdigit() else None
    return None


def guarded(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child capped at 1.5 GB of address space: a missing scrypt cap
    costs pyrage ~8 GB and ~30 s, which must fail this test, not the machine."""
    prologue = ("import resource; resource.setrlimit(resource.RLIMIT_AS, "
                "(1536 << 20, 1536 << 20))\n")
    return subprocess.run([sys.executable, "-c", prologue + code], capture_output=True,
                          text=True, timeout=timeout)


# -- CCTV through encfile.keysources.age ---------------------------------------------------------------

def _check_identity_lines(vector: Vector) -> list[Any]:
    """parse_identities on the vector's identity lines: X25519 ones parse as pyrage's,
    PQ ones as post-quantum plugin identities (whose repr never shows the key)."""
    parsed = age.parse_identities("\n".join(vector.identities) + "\n")
    assert parsed.errors == []
    assert len(parsed.identities) == len(vector.identities)
    for line, identity in zip(vector.identities, parsed.identities, strict=True):
        if line.startswith("AGE-SECRET-KEY-PQ-1"):
            assert isinstance(identity, age.PluginIdentity) and identity.pq
            assert line[20:40] not in repr(identity)
            session_bin()  # the plugin that opens them
        else:
            assert str(identity) == line  # canonical upper-case Bech32
    return parsed.identities


def _passphrase_outcome(vector: Vector) -> bytes | None:
    """decrypt_identity_file with each passphrase; the first plaintext released, if any.
    A work factor above encfile's cap runs in a guarded child (see :func:`guarded`)."""
    factor = scrypt_factor(vector.body)
    if factor is None or factor <= age.MAX_SCRYPT_WORK_FACTOR:
        for passphrase in vector.passphrases:
            try:
                return age.decrypt_identity_file(vector.body, passphrase).encode("utf-8")
            except ValueError:
                pass
        return None
    code = f"""
from encfile.keysources import age
for passphrase in {vector.passphrases!r}:
    try:
        print(age.decrypt_identity_file({vector.body!r}, passphrase).encode().hex())
        break
    except ValueError:
        pass
"""
    result = guarded(code)
    assert result.returncode == 0, result.stderr
    return bytes.fromhex(result.stdout.strip()) if result.stdout.strip() else None


@needs_vectors
@pytest.mark.parametrize("name", _params())
def test_cctv_vector_through_the_identity_layer(name: str) -> None:
    vector = load_vector(VECTOR_DIR / name)
    if vector.passphrases and not vector.identities:
        out = _passphrase_outcome(vector)
    else:
        # No identity at all (armor_empty): the committed test key stands in.
        identities = _check_identity_lines(vector) if vector.identities else \
            age.parse_identities(TEST_SECRET).identities
        out = age.unwrap(enc_text(vector), identities)
    if vector.expect == "success":
        assert out is not None, f"{name}: expected success, nothing was released"
        assert hashlib.sha256(out).hexdigest() == vector.payload
    else:
        # header/armor/HMAC/payload failure and no match: nothing released, not even the
        # authenticated prefix of a payload failure.
        assert out is None, f"{name}: expected {vector.expect}, got {len(out)} bytes"


@needs_vectors
def test_cctv_vectors_are_the_expected_set() -> None:
    """The deviation list refers to vectors that exist, with the outcome it describes."""
    for name in PYRAGE_DEVIATIONS:
        assert name in HEADERS
    assert HEADERS["armor_whitespace_outside"] == "success"
    assert HEADERS["stanza_missing_body"] == HEADERS["stanza_missing_final_line"] == \
        "header failure"
    assert HEADERS.get("scrypt_work_factor_23") == "header failure"


@needs_vectors
def test_cctv_high_scrypt_work_factor_is_refused_before_pyrage() -> None:
    """scrypt_work_factor_23: pyrage alone accepts it after ~28 s and ~8 GB; encfile's cap
    (2**20) must refuse it first, with the reason."""
    path = VECTOR_DIR / "scrypt_work_factor_23"
    vector = load_vector(path)
    assert scrypt_factor(vector.body) == 23
    code = f"""
from encfile.keysources import age
raw = open({str(path)!r}, "rb").read()
body = raw.partition(b"\\n\\n")[2]
try:
    age.decrypt_identity_file(body, "password")
    print("ACCEPTED")
except ValueError as err:
    print("REFUSED", err)
"""
    result = guarded(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("REFUSED"), result.stdout
    assert "work factor 23" in result.stdout


@needs_vectors
def test_cctv_high_scrypt_work_factor_identity_file_is_not_opened(tmp_path: Path) -> None:
    """The same vector as a passphrase-protected identity file: the passphrase is never
    asked for and the source is reported with its work factor."""
    body = load_vector(VECTOR_DIR / "scrypt_work_factor_23").body
    key_file = tmp_path / "keys.txt"
    key_file.write_bytes(body)
    code = f"""
from encfile.keysources.identities import KeyRing
asked = []
ring = KeyRing(use_environment=True, env={{"SOPS_AGE_KEY_FILE": {str(key_file)!r},
               "HOME": {str(tmp_path)!r}, "ENCFILE_NO_KEYRING": "1"}},
               passphrase=lambda name: asked.append(name) or "password")
print(len(ring.identities()), len(asked))
print("\\n".join(ring.tried))
"""
    result = guarded(code)
    assert result.returncode == 0, result.stderr
    first, *tried = result.stdout.splitlines()
    assert first == "0 0"
    assert any("work factor 23" in line and "not opened" in line for line in tried), tried


@needs_vectors
@pytest.mark.parametrize("name", [
    n for n in HEADERS if HEADERS[n] != "success" and n.startswith("scrypt")])
def test_cctv_scrypt_stanza_never_runs_for_a_data_key(name: str) -> None:
    """A data key wrapped with scrypt (a passphrase) is not an encfile recipient: with an
    X25519 identity unwrap answers None without running scrypt."""
    vector = load_vector(VECTOR_DIR / name)
    code = f"""
from encfile.keysources import age
text = {enc_text(vector)!r}
print(age.unwrap(text, age.parse_identities({TEST_SECRET!r}).identities))
"""
    result = guarded(code, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"


# -- CCTV through the CLI: a vector as the data-key wrap of a real file --------------------------

CLI_VECTORS = ["x25519", "armor_x25519", "x25519_low_order", "x25519_identity", "hmac_bad",
               "stream_bad_tag", "stanza_missing_body", "armor_garbage_leading",
               "scrypt_work_factor_23", "hybrid"]


@needs_vectors
@pytest.mark.parametrize("name", CLI_VECTORS)
def test_cli_with_a_cctv_vector_as_the_data_key_wrap(name: str, home: Path,
                                                    tmp_path: Path) -> None:
    vector = load_vector(VECTOR_DIR / name)
    plain = json.dumps({"user": "admin", "port": 5432}) + "\n"
    doc = json.loads(encfile.encrypt(plain, recipients=TEST_PUBLIC, format="json"))
    doc["sops"]["age"][0]["enc"] = enc_text(vector)
    path = tmp_path / "secret.enc.json"
    path.write_text(json.dumps(doc, indent=4) + "\n")
    identities = "\n".join(vector.identities) or TEST_SECRET
    session_bin()  # age-plugin-pq, for the hybrid vector
    # The vectors' payloads are never a 32-byte data key: even a successful unwrap
    # (x25519, stanza_missing_body) must end as "no identity", not as garbage or a crash.
    released = age.unwrap(enc_text(vector), age.parse_identities(identities).identities)
    assert released is None or len(released) != crypto.DATA_KEY_SIZE
    result = run_encfile("-d", str(path), env=clean_env(home, SOPS_AGE_KEY=identities))
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 128, stderr
    assert result.stdout == b""
    assert stderr.startswith("encfile: error: ")
    assert "Traceback" not in stderr
    assert TEST_PUBLIC in stderr  # the recipient is named …
    for secret in vector.identities:
        assert secret[16:40] not in stderr  # … never the identity


# -- the sops known-answer tokens, encrypt direction ----------------------------------------------

# /work/shared/spec/sops-format.md 2.2 and 4.1 (ex/small.enc.yaml, made by sops 3.11.0).
SPEC_KEY = bytes.fromhex("7d563517dc179d67faea90802511c5b10ad14ee11af0df5f80cc9a1158d88d49")
SPEC_LASTMODIFIED = "2026-11-28T12:40:57Z"
SPEC_USER_TOKEN = ("ENC[AES256_GCM,data:tALsUec=,iv:afrhfuguxzNmuO4HiJ5DG+gjYpkNJrtkh4FJH+WqNpk=,"
                   "tag:p4vv7a46TDSucs71SUIHkA==,type:str]")
SPEC_MAC_TOKEN = (
    "ENC[AES256_GCM,data:gjGmrqK2uCqXt8b3fsHvNtS93zDGyaSb9le43C4YC+Uyk2f4VePZNaTNxzHvLbfSeXDVrpIRYI"
    "RtGCBdVwxg1K9d6IkIf4JHtS38oSe3tK7B9vFj8i8Ab0Mvoz+vMbOKBFk0M9Yif8QR+GWddxeehksF2OPFcLVpEq+24/Gq"
    "fDI=,iv:WyLN/ZtFnseTfo73/HKlQM3J3Lh7oimz5BJoCwAlDCg=,tag:BCxn8KtzQyLiFy+CoiAsjg==,type:str]"
)
# getsops/sops aes/cipher_test.go: key "f"*32, AAD "bar:", plaintext "foo".
SOPS_UNIT_TOKEN = ("ENC[AES256_GCM,data:oYyi,iv:MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=,"
                   "tag:t5z2Z023Up0kxwCgw1gNxg==,type:str]")
SPEC_MAC_INPUT = b"admin54321.5Truepublica.exampleb"  # the spec's MAC input for ex/small.yaml


def _iv_of(text: str) -> bytes:
    return base64.b64decode(text.split(",iv:")[1].split(",")[0])


@pytest.mark.parametrize(("key", "plaintext", "aad", "expected"), [
    pytest.param(SPEC_KEY, b"admin", "db:user:", SPEC_USER_TOKEN, id="spec-db-user"),
    pytest.param(SPEC_KEY, hashlib.sha512(SPEC_MAC_INPUT).hexdigest().upper().encode(),
                 SPEC_LASTMODIFIED, SPEC_MAC_TOKEN, id="spec-mac"),
    pytest.param(b"f" * 32, b"foo", "bar:", SOPS_UNIT_TOKEN, id="sops-aes-unit-test"),
])
def test_sops_known_answer_token_is_reproduced_exactly(
        key: bytes, plaintext: bytes, aad: str, expected: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    iv = _iv_of(expected)
    # crypto._random is the documented seam for deterministic IVs (a batch of IVs per call).
    monkeypatch.setattr(crypto, "_random", lambda n: (iv * (n // len(iv) + 1))[:n])
    assert token.seal(Cipher(key), plaintext, aad, "str") == expected
    # and back, with the wrong AAD refused
    assert token.open_token(Cipher(key), token.parse(expected), aad) == plaintext
    with pytest.raises(token.AuthenticationFailed):
        token.open_token(Cipher(key), token.parse(expected), "")


# -- the ENC token parser under random input ------------------------------------------------------

PROBE_KEY = bytes(range(32))
PROBE_AAD = "db:user:"
_CIPHER = Cipher(PROBE_KEY)
_VALID = [token.seal(_CIPHER, p, PROBE_AAD, kind) for p, kind in
          [(b"admin", "str"), (b"", "str"), (b"5432", "int"), (b"true", "bool"),
           (b" a comment", "comment"), ("é\u2028\x00".encode(), "str")]]
_PLAIN = {t: token.open_token(_CIPHER, token.parse(t), PROBE_AAD) for t in _VALID}
_ALPHABET = st.sampled_from(list("AQgw+/=,:[]EN_CGMdatiyvpestrbolcmn0123456789 \n\r\t\x00é\u0661"))


@st.composite
def mutated_tokens(draw: st.DrawFn) -> tuple[str, str]:
    original = draw(st.sampled_from(_VALID))
    text = original
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.integers(0, 3))
        if op == 0:
            text = text[:pos] + draw(_ALPHABET) + text[pos + 1:]
        elif op == 1:
            text = text[:pos] + draw(st.text(_ALPHABET, min_size=1, max_size=4)) + text[pos:]
        elif op == 2:
            text = text[:pos] + text[pos + draw(st.integers(1, 8)):]
        else:  # move a field boundary: swap two slices
            cut = draw(st.integers(0, len(text)))
            lo, hi = sorted((pos, cut))
            text = text[:lo] + text[hi:] + text[lo:hi]
    return original, text


def _check_token(text: str) -> token.Token | None:
    """The oracle: a Token (that round-trips through format_token) or MalformedToken."""
    try:
        tok = token.parse(text)
    except token.MalformedToken:
        tok = None
    if tok is not None:
        assert isinstance(tok, token.Token)
        assert tok.type in token.TOKEN_TYPES
        assert all(isinstance(f, bytes) for f in tok[:3])
        assert token.parse(token.format_token(*tok)) == tok
    quick = token.open_quick(_CIPHER, text, PROBE_AAD.encode())  # never raises
    if quick is not None:
        assert tok is not None, "open_quick opened what parse refuses"
        kind, plain = quick
        assert kind == tok.type
        assert token.open_token(_CIPHER, tok, PROBE_AAD) == plain
    return tok


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.text(_ALPHABET, max_size=120),
                 st.builds(lambda s: "ENC[AES256_GCM," + s, st.text(_ALPHABET, max_size=120))))
@example("ENC[AES256_GCM,data:,iv:AAAA,tag:AAAA,type:str]")
@example("ENC[AES256_GCM,data:A===,iv:AAAA,tag:AAAA,type:str]")
@example("ENC[AES256_GCM,data:,iv:=,tag:AAAA,type:str]")
@example("ENC[AES256_GCM,data:YQ==,iv:AAAA,tag:AAAA,type:str]\n")
def test_token_parse_on_random_strings_is_a_token_or_malformed(text: str) -> None:
    _check_token(text)


@settings(max_examples=400, deadline=None)
@given(mutated_tokens())
def test_mutated_valid_tokens_parse_or_fail_cleanly_and_never_open_to_other_text(
        case: tuple[str, str]) -> None:
    original, text = case
    _check_token(text)
    quick = token.open_quick(_CIPHER, text, PROBE_AAD.encode())
    if quick is not None:
        # A mutation that still authenticates can only be a no-op on the bytes (non-canonical
        # base64 low bits) or a change of `type`, which sops does not authenticate either.
        assert quick[1] == _PLAIN[original]


def test_valid_tokens_open_on_both_paths() -> None:
    for text in _VALID:
        tok = _check_token(text)
        assert tok is not None and len(tok.iv) == 32 and len(tok.tag) == 16
        assert token.open_quick(_CIPHER, text, PROBE_AAD.encode()) == (tok.type, _PLAIN[text])


# -- findings of fuzz/fuzz_parsers.py, pinned until fixed ----------------------------------------

@pytest.mark.parametrize("text", ["!!int x: 1\n", "{!!float x: 1}\n", "? !!bool x\n: 1\n"],
                         ids=["block-key", "flow-key", "explicit-key"])
def test_mistagged_yaml_key_is_a_clean_input_error(text: str, env: dict[str, str],
                                                   tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(text)
    result = run_encfile("-e", "--age", TEST_PUBLIC, str(path), env=env)
    assert_cli_error(result, EXIT_INPUT)


@pytest.mark.parametrize("config", ["[{a: 1}]: x\n", "? - a: 1\n", "? {a: [b]}\n: 1\n",
                                    "creation_rules:\n  - ? - a: 1\n", "x: &a -_\n"],
                         ids=["list-of-map-key", "explicit-key", "map-of-list-key", "nested",
                              "dash-underscore"])
def test_config_that_breaks_ruamel_is_a_clean_config_error(config: str, env: dict[str, str],
                                                               tmp_path: Path) -> None:
    (tmp_path / ".sops.yaml").write_text(config)
    (tmp_path / "s.yaml").write_text("x: 1\n")
    result = run_encfile("-e", str(tmp_path / "s.yaml"), env=env, cwd=tmp_path)
    assert_cli_error(result, 1)


# config-yaml finding (fixed meanwhile): config_yaml.parse accepted C0/C1 control characters,
# DEL and U+FFFE that ruamel refuses, and read NEL (U+0085) as text where ruamel reads a line
# break, breaking its "agree with ruamel or decline" contract.
@pytest.mark.parametrize("text", ["a: x\x00y\n", "a: 'x\x01'\n", "# c\x1b\na: 1\n", "a: x\x7f\n",
                                  "a: x\x9fy\n", "a: x\ufffe\n", "a: x\x85y\n"],
                         ids=["nul", "soh-quoted", "esc-in-comment", "del", "c1", "fffe", "nel"])
def test_config_reader_declines_what_ruamel_does_not_read_the_same(text: str) -> None:
    from ruamel.yaml import YAML

    ours = config_yaml.parse(text)
    try:
        theirs: Any = dict(YAML(typ="rt").load(text))
    except Exception:
        theirs = None
    assert ours is None or dict(ours) == theirs
