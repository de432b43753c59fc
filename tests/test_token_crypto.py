"""The token grammar and AES-256-GCM exactly as sops uses them, checked against vectors."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from conftest import SHARED

from encfile import crypto, token
from encfile.crypto import AuthenticationFailed, Cipher

# The worked example of the sops spec (ex/small.enc.yaml, made by sops 3.11.0): its data
# key, lastmodified, and tokens with the AAD and plaintext sops used for each.
DATA_KEY = bytes.fromhex("7d563517dc179d67faea90802511c5b10ad14ee11af0df5f80cc9a1158d88d49")
LASTMODIFIED = "2026-11-28T12:40:57Z"
SPEC_TOKENS = [
    (":", "comment", " db settings",
     "ENC[AES256_GCM,data:8fsPtIZ9V3wSIT+F,iv:ubKkMahW8TiGmfbkSId13MXDE3VtQrgCT/tzcMT6Cgk=,"
     "tag:Z4F2PEzCjhp3OS1MvTMs+A==,type:comment]"),
    ("db:user:", "str", "admin",
     "ENC[AES256_GCM,data:tALsUec=,iv:afrhfuguxzNmuO4HiJ5DG+gjYpkNJrtkh4FJH+WqNpk=,"
     "tag:p4vv7a46TDSucs71SUIHkA==,type:str]"),
    ("db:port:", "int", "5432",
     "ENC[AES256_GCM,data:sb6Ckw==,iv:sTDY7r2oU/2GGk1b1sUrzI2fmWNrMWrV0l2HGnLGsZE=,"
     "tag:kCxYC4vJAaOF7zXESGsRFw==,type:int]"),
    ("db:ratio:", "float", "1.5",
     "ENC[AES256_GCM,data:6ris,iv:v3keLY6ylo0m8Bnup8tIhMjjRidf9DhWZaSgIDHbL/E=,"
     "tag:ckuGBr21jgId4maFN7FGUw==,type:float]"),
    ("db:enabled:", "bool", "True",
     "ENC[AES256_GCM,data:X++99Q==,iv:ObJr7L+ttUfylAVImWxEr3bL0L3UGnruMXMA8xsgZxY=,"
     "tag:myd5Hr0ZaguKB0UB5sGlZg==,type:bool]"),
    ("hosts:", "str", "a.example",
     "ENC[AES256_GCM,data:zeaILht4LTPZ,iv:dcRSPLXCsJm3d5/Qcgzn+PcKZqZj/jUvxHlh057YRXw=,"
     "tag:zZEjIVR6jUvXDOKH/3nF9A==,type:str]"),
    ("hosts:name:", "str", "b",
     "ENC[AES256_GCM,data:Zw==,iv:oPOfw2C5I/rwtZ0Giz1m+MVWt9ClrErWXxMjiTErI58=,"
     "tag:D7U5l00w3snDXbOff2K3dg==,type:str]"),
]
SPEC_MAC_TOKEN = (
    "ENC[AES256_GCM,data:gjGmrqK2uCqXt8b3fsHvNtS93zDGyaSb9le43C4YC+Uyk2f4VePZNaTNxzHvLbfSeXDVrpIRYI"
    "RtGCBdVwxg1K9d6IkIf4JHtS38oSe3tK7B9vFj8i8Ab0Mvoz+vMbOKBFk0M9Yif8QR+GWddxeehksF2OPFcLVpEq+24/Gq"
    "fDI=,iv:WyLN/ZtFnseTfo73/HKlQM3J3Lh7oimz5BJoCwAlDCg=,tag:BCxn8KtzQyLiFy+CoiAsjg==,type:str]"
)


@pytest.mark.parametrize(("aad", "kind", "plain", "text"), SPEC_TOKENS)
def test_sops_spec_tokens_decrypt(aad: str, kind: str, plain: str, text: str) -> None:
    tok = token.parse(text)
    assert tok.type == kind
    assert len(tok.iv) == 32 and len(tok.tag) == 16 and len(tok.data) == len(plain.encode())
    assert token.open_token(Cipher(DATA_KEY), tok, aad) == plain.encode()


@pytest.mark.parametrize(("aad", "kind", "plain", "text"), SPEC_TOKENS)
def test_sops_spec_tokens_are_bound_to_their_path(aad: str, kind: str, plain: str,
                                                  text: str) -> None:
    with pytest.raises(AuthenticationFailed):
        token.open_token(Cipher(DATA_KEY), token.parse(text), aad + "x:")


def test_sops_spec_mac() -> None:
    # MAC input: the values' ToBytes in walk order (the comment and null skipped).
    digest = hashlib.sha512(b"admin54321.5Truepublica.exampleb").hexdigest().upper()
    stored = token.open_token(Cipher(DATA_KEY), token.parse(SPEC_MAC_TOKEN), LASTMODIFIED)
    assert stored.decode() == digest


def test_seal_uses_fresh_32_byte_ivs_and_round_trips() -> None:
    cipher = Cipher(crypto.new_data_key())
    a = token.parse(token.seal(cipher, b"secret", "k:", "str"))
    b = token.parse(token.seal(cipher, b"secret", "k:", "str"))
    assert len(a.iv) == 32 and a.iv != b.iv and a.data != b.data
    assert token.open_token(cipher, a, "k:") == b"secret"


def test_format_is_standard_padded_base64() -> None:
    text = token.format_token(b"\xfb\xff", b"\x00" * 32, b"\x01" * 16, "str")
    assert text.startswith("ENC[AES256_GCM,data:+/8=,iv:AAAA")
    assert token.parse(text).data == b"\xfb\xff"


@pytest.mark.parametrize("bad", [
    "ENC[AES256_GCM,data:abc,iv:AAAA,tag:AAAA,type:str]",          # unpadded base64
    "ENC[AES256_GCM,data:YWJj,iv:AA-A,tag:AAAA,type:str]",         # URL-safe alphabet
    "ENC[AES256_GCM,data:YWJj,iv:AAAA,tag:AAAA,type:nope]",        # unknown type
    "ENC[AES256_GCM,data:YWJj,iv:AAAA,tag:AAAA,type:str] trailing",  # trailing garbage
    "ENC[AES256_GCM,data:YWJj,iv:AAAA,type:str]",                  # missing field
    "ENC[AES128_GCM,data:YWJj,iv:AAAA,tag:AAAA,type:str]",
    "hello",
])
def test_malformed_tokens_are_refused(bad: str) -> None:
    with pytest.raises(token.MalformedToken):
        token.parse(bad)


def test_non_canonical_base64_decodes_to_the_same_bytes() -> None:
    # 'YQ==' is canonical for b"a"; 'YR==' sets ignored low bits. Go's decoder (and so
    # sops) accepts it, and GCM authenticates the bytes, so it is not tampering.
    good = token.parse("ENC[AES256_GCM,data:YQ==,iv:AAAA,tag:AAAA,type:str]")
    odd = token.parse("ENC[AES256_GCM,data:YR==,iv:AAAA,tag:AAAA,type:str]")
    assert good.data == odd.data == b"a"


def test_cipher_refuses_wrong_key_sizes() -> None:
    with pytest.raises(AuthenticationFailed):
        Cipher(b"\x00" * 16)


def _wycheproof_groups() -> list[dict[str, object]]:
    path = SHARED / "vectors" / "wycheproof" / "aes_gcm_test.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    return [g for g in data["testGroups"] if g["keySize"] == 256 and g["tagSize"] == 128]


WYCHEPROOF = [(g["ivSize"], t) for g in _wycheproof_groups() for t in g["tests"]
              if 64 <= g["ivSize"] <= 1024]


@pytest.mark.skipif(not WYCHEPROOF, reason="../shared/vectors not present")
@pytest.mark.parametrize(("iv_bits", "case"), WYCHEPROOF,
                         ids=[str(c["tcId"]) for _, c in WYCHEPROOF])
def test_wycheproof_aes_256_gcm(iv_bits: int, case: dict[str, str]) -> None:
    cipher = Cipher(bytes.fromhex(case["key"]))
    iv, aad = bytes.fromhex(case["iv"]), bytes.fromhex(case["aad"])
    ct, tag = bytes.fromhex(case["ct"]), bytes.fromhex(case["tag"])
    if case["result"] == "invalid":
        with pytest.raises(AuthenticationFailed):
            cipher.open(ct, iv, tag, aad)
    else:
        assert cipher.open(ct, iv, tag, aad) == bytes.fromhex(case["msg"])


def test_b64_helpers_match_stdlib() -> None:
    assert token._b64(base64.b64encode(b"xyz").decode()) == b"xyz"


def test_fast_aesgcm_import_is_the_public_class() -> None:
    # crypto.py imports AESGCM from cryptography's Rust binding to skip 10 ms of Python
    # imports; it must stay the very class the public API exports.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    assert crypto.AESGCM is AESGCM


def test_wrong_tag_is_authentication_failed_not_invalid_tag() -> None:
    cipher = Cipher(bytes(32))
    data, iv, tag = cipher.seal(b"value", b"aad")
    with pytest.raises(AuthenticationFailed):
        cipher.open(data, iv, bytes(16), b"aad")
    with pytest.raises(AuthenticationFailed):
        cipher.open_joined(iv, data + tag, b"other aad")


def test_codecs_know_the_token_prefix_without_importing_crypto() -> None:
    """The YAML codec spells the token prefix itself (codecs know no crypto): the same one."""
    from encfile.formats import yaml

    assert yaml.TOKEN_PREFIX == token.PREFIX
