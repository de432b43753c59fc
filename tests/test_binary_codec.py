"""The binary codec, and format detection by file name.

Contract (encfile/formats/binary.py, spec section 6.5): any file that is not detected as
YAML, JSON, dotenv or INI is one value. Encrypted, it is sops's JSON wrapper
``{"data": "ENC[...,type:str]", "sops": {...}}`` (tab-indented, no
``unencrypted_suffix``; an empty file gives ``"data": ""``), and ``-d`` gives back the
exact bytes: NUL, 0xFF, invalid UTF-8, a BOM, CRLF, no final newline.

Families: byte samples through the CLI; the shape of the wrapper; detection of the format
from the file name (looking at the shape of the output); refusal to encrypt a wrapper
again; tampering.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import TEST_PUBLIC, run_encfile

PEM = (b"-----BEGIN PRIVATE KEY-----\n"
       b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
       b"MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
       b"-----END PRIVATE KEY-----\n")

SAMPLES: list[tuple[str, bytes]] = [
    ("ascii_line", b"hello world\n"),
    ("nul_bytes", b"raw\x00bytes\x00\n"),
    ("ff_bytes", b"\xff\xfe\xfd\x00\x01"),
    ("invalid_utf8", b"caf\xe9 \xc3\x28 \xa0\xa1 \xf0\x28\x8c\xbc"),
    ("lone_surrogate_utf8", b"\xed\xa0\x80x"),
    ("utf8_bom", b"\xef\xbb\xbfkey=value\n"),
    ("utf16_bom", "text".encode("utf-16")),
    ("pem_block", PEM),
    ("crlf", b"line one\r\nline two\r\n"),
    ("lone_cr", b"a\rb\r"),
    ("no_final_newline", b"no newline at end"),
    ("only_newline", b"\n"),
    ("only_nul", b"\x00"),
    ("empty", b""),
    ("all_bytes", bytes(range(256))),
    ("unicode", "héllo wörld ✓ 🙂\n".encode()),
    ("looks_like_json", b'{"a": 1}\n'),
    ("looks_like_yaml", b"a: 1\nb: [2]\n"),
    ("enc_token_text", b"ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]"),
    ("trailing_spaces", b"  padded  \n\n\n"),
    ("large", bytes(range(256)) * 400),
]
SAMPLE_IDS = [s[0] for s in SAMPLES]

TOKEN = re.compile(r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]+,iv:[A-Za-z0-9+/=]{44},"
                   r"tag:[A-Za-z0-9+/=]{24},type:str\]")
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def encrypt_file(path: Path, env: dict[str, str], *extra: str) -> bytes:
    proc = run_encfile("-e", "--age", TEST_PUBLIC, *extra, str(path), env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


def decrypt_file(path: Path, env: dict[str, str], *extra: str) -> bytes:
    proc = run_encfile("-d", *extra, str(path), env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


# -- round trips ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "data"), SAMPLES, ids=SAMPLE_IDS)
def test_cli_round_trip_and_wrapper_shape(name: str, data: bytes, tmp_path: Path,
                                          env: dict[str, str]) -> None:
    plain = tmp_path / f"{name}.bin"
    plain.write_bytes(data)
    out = encrypt_file(plain, env)
    enc = tmp_path / f"{name}.enc.bin"
    enc.write_bytes(out)
    assert decrypt_file(enc, env) == data
    text = out.decode("utf-8")  # the wrapper itself is always valid UTF-8 JSON
    doc = json.loads(text)
    assert list(doc) == ["data", "sops"]
    if data:
        assert TOKEN.fullmatch(doc["data"]), doc["data"]
    else:
        assert doc["data"] == ""
    meta = doc["sops"]
    assert "unencrypted_suffix" not in meta
    for rule in ("encrypted_suffix", "unencrypted_regex", "encrypted_regex"):
        assert rule not in meta
    assert [entry["recipient"] for entry in meta["age"]] == [TEST_PUBLIC]
    assert meta["mac"].startswith("ENC[AES256_GCM,")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["lastmodified"])
    # sops's layout: '{', tab-indented members, '}' and one final newline
    assert text.startswith('{\n\t"data": ')
    assert text.endswith("\n}\n")
    assert '\n\t"sops": {\n\t\t' in text
    for line in text.splitlines()[1:-1]:
        assert line.startswith("\t"), line
        assert not line.startswith(" ")


DISTINCT = [s for s in SAMPLES if len(s[1]) >= 16 and s[0] != "enc_token_text"]


@pytest.mark.parametrize(("name", "data"), DISTINCT, ids=[s[0] for s in DISTINCT])
def test_plaintext_not_in_output(name: str, data: bytes, tmp_path: Path,
                                 env: dict[str, str]) -> None:
    plain = tmp_path / f"{name}.bin"
    plain.write_bytes(data)
    out = encrypt_file(plain, env)
    middle = data[len(data) // 2 - 4:len(data) // 2 + 4]
    assert middle not in out
    assert json.dumps(middle.decode("latin-1"))[1:-1].encode() not in out


def test_input_type_binary_on_a_known_extension(tmp_path: Path, env: dict[str, str]) -> None:
    """--input-type binary wins over the extension: a YAML file is then one opaque value."""
    plain = tmp_path / "conf.yaml"
    data = b"a: 1 # comment\nb: two\n"
    plain.write_bytes(data)
    out = encrypt_file(plain, env, "--input-type", "binary")
    doc = json.loads(out)
    assert list(doc) == ["data", "sops"] and TOKEN.fullmatch(doc["data"])
    enc = tmp_path / "conf.enc.yaml"
    enc.write_bytes(out)
    assert decrypt_file(enc, env, "--input-type", "binary") == data


def test_ciphertext_length_matches_plaintext(tmp_path: Path, env: dict[str, str]) -> None:
    """The data field holds exactly the file's bytes (GCM: ciphertext as long as plaintext)."""
    import base64

    data = b"\x00\xff" * 50 + b"\xef\xbb\xbf"
    plain = tmp_path / "x.bin"
    plain.write_bytes(data)
    doc = json.loads(encrypt_file(plain, env))
    b64 = doc["data"].split("data:")[1].split(",")[0]
    assert len(base64.b64decode(b64)) == len(data)


# -- detection --------------------------------------------------------------------------------

def _shape(out: bytes) -> str:
    """Which format an encrypted output is written in."""
    text = out.decode()
    if text.startswith("{"):
        doc = json.loads(text)
        return "binary" if set(doc) == {"data", "sops"} else "json"
    if re.search(r"^\[sops\]\r?$", text, re.M):
        return "ini"
    if re.search(r"^sops_version=", text, re.M):
        return "dotenv"
    if re.search(r"^sops:\s*$", text, re.M):
        return "yaml"
    return "unknown"


DETECTION: list[tuple[str, bytes, str]] = [
    ("x.bin", b"KEY=value\n", "binary"),
    ("x.pem", PEM, "binary"),
    ("cert.crt", PEM, "binary"),
    ("notes.txt", b"a: 1\n", "binary"),
    ("noextension", b"KEY=value\n", "binary"),
    ("app.cfg", b"[s]\nk = v\n", "ini"),
    ("APP.CFG", b"[s]\nk = v\n", "ini"),
    ("settings.ini", b"[s]\nk = v\n", "ini"),
    (".env.production", b"KEY=value\n", "dotenv"),
    ("prod.env", b"KEY=value\n", "dotenv"),
    (".env", b"KEY=value\n", "dotenv"),
    ("secrets.enc.yaml", b"k: v\n", "yaml"),
    ("secrets.yml", b"k: v\n", "yaml"),
    ("data.json", b'{"k": "v"}\n', "json"),
]


@pytest.mark.parametrize(("name", "data", "fmt"), DETECTION, ids=[d[0] for d in DETECTION])
def test_detection_by_file_name(name: str, data: bytes, fmt: str, tmp_path: Path,
                                env: dict[str, str]) -> None:
    plain = tmp_path / name
    plain.write_bytes(data)
    out = encrypt_file(plain, env)
    assert _shape(out) == fmt, out.decode(errors="replace")[:300]
    enc = tmp_path / f"enc-{name}"
    if fmt != "binary":  # keep the extension so that -d detects the same format
        enc = tmp_path / "enc" / name
        enc.parent.mkdir()
    enc.write_bytes(out)
    assert decrypt_file(enc, env) == data


# -- refusals and tampering -------------------------------------------------------------------

def test_encrypting_a_wrapper_again_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    plain = tmp_path / "x.bin"
    plain.write_bytes(b"secret-bytes-q9z\x00")
    wrapped = encrypt_file(plain, env)
    for name in ("again.bin", "again.pem"):
        path = tmp_path / name
        path.write_bytes(wrapped)
        proc = run_encfile("-e", "--age", TEST_PUBLIC, str(path), env=env)
        assert proc.returncode == 203, proc.stderr.decode(errors="replace")
        assert proc.stdout == b""
    proc = run_encfile("-e", "--age", TEST_PUBLIC, "--input-type", "binary",
                       str(tmp_path / "again.bin"), env=env)
    assert proc.returncode == 203
    assert proc.stdout == b""


def test_json_without_sops_key_is_plain_data(tmp_path: Path, env: dict[str, str]) -> None:
    """A JSON object in a binary file is only refused when it has sops metadata."""
    data = b'{"data": "x", "other": {"sops": 1}}\n'
    plain = tmp_path / "x.bin"
    plain.write_bytes(data)
    enc = tmp_path / "x.enc.bin"
    enc.write_bytes(encrypt_file(plain, env))
    assert decrypt_file(enc, env) == data


def _flip(text: str, start: int, end: int) -> str:
    pos = start + len(text[start:end].rstrip("=")) // 2
    return text[:pos] + B64[B64.index(text[pos]) ^ 0b100000] + text[pos + 1:]


FIELD_RE = {f: re.compile(rf'"data": "ENC\[[^\]]*?{f}:([A-Za-z0-9+/=]+)') for f in
            ("data", "iv", "tag")}


@pytest.mark.parametrize("field", ["data", "iv", "tag"])
def test_tampered_data_token_fails(field: str, tmp_path: Path, env: dict[str, str]) -> None:
    secret = b"top-secret-payload-k2j\x00\xff"
    plain = tmp_path / "x.bin"
    plain.write_bytes(secret)
    out = encrypt_file(plain, env).decode()
    m = FIELD_RE[field].search(out)
    assert m is not None
    bad = _flip(out, *m.span(1))
    assert bad != out
    path = tmp_path / "bad.bin"
    path.write_text(bad)
    proc = run_encfile("-d", str(path), env=env)
    assert proc.returncode == 25, proc.stderr.decode(errors="replace")
    assert proc.stdout == b""
    assert b"top-secret" not in proc.stderr


def test_tampered_mac_fails(tmp_path: Path, env: dict[str, str]) -> None:
    plain = tmp_path / "x.bin"
    plain.write_bytes(b"top-secret-payload-k2j")
    out = encrypt_file(plain, env).decode()
    m = re.search(r'"mac": "ENC\[AES256_GCM,data:([A-Za-z0-9+/=]+)', out)
    assert m is not None
    path = tmp_path / "bad.bin"
    path.write_text(_flip(out, *m.span(1)))
    proc = run_encfile("-d", str(path), env=env)
    assert proc.returncode == 51, proc.stderr.decode(errors="replace")
    assert proc.stdout == b""
    assert b"top-secret" not in proc.stderr


def test_data_replaced_by_clear_text_fails(tmp_path: Path, env: dict[str, str]) -> None:
    plain = tmp_path / "x.bin"
    plain.write_bytes(b"top-secret-payload-k2j")
    doc = json.loads(encrypt_file(plain, env))
    doc["data"] = "attacker text"
    path = tmp_path / "bad.bin"
    path.write_text(json.dumps(doc, indent="\t"))
    proc = run_encfile("-d", str(path), env=env)
    assert proc.returncode in (25, 51), proc.stderr.decode(errors="replace")
    assert proc.stdout == b""


def test_extra_top_level_key_fails(tmp_path: Path, env: dict[str, str]) -> None:
    plain = tmp_path / "x.bin"
    plain.write_bytes(b"top-secret-payload-k2j")
    doc = json.loads(encrypt_file(plain, env))
    doc["extra"] = "injected"
    path = tmp_path / "bad.bin"
    path.write_text(json.dumps(doc, indent="\t"))
    proc = run_encfile("-d", str(path), env=env)
    assert proc.returncode != 0
    assert proc.stdout == b""
