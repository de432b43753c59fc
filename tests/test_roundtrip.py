"""Byte-exact round trips over testdata/plain, and what the encrypted text looks like."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from conftest import PLAIN, TEST_PUBLIC, TEST_SECRET

import encfile

SAMPLES = sorted(PLAIN.glob("*.yaml"))
NOW = dt.datetime(2026, 11, 28, 12, 0, 0, tzinfo=dt.timezone.utc)


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _encrypt(text: str, **kw: object) -> str:
    return encfile.encrypt(text, recipients=TEST_PUBLIC, now=NOW, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_round_trip_is_byte_exact(path: Path) -> None:
    text = _text(path)
    assert encfile.decrypt(_encrypt(text), identities=[TEST_SECRET]) == text


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_reencrypting_the_decryption_is_stable(path: Path) -> None:
    text = _text(path)
    once = encfile.decrypt(_encrypt(text), identities=[TEST_SECRET])
    assert encfile.decrypt(_encrypt(once), identities=[TEST_SECRET]) == text


def test_secrets_and_comments_do_not_appear_in_the_encrypted_text() -> None:
    text = _text(PLAIN / "comments.yaml")
    enc = _encrypt(text)
    for word in ("hunter2", "admin", "head of user", "leading comment", "after a"):
        assert word in text and word not in enc
    # Keys and structure stay readable.
    for key in ("key1:", "db:", "  user:", "  password:", "list:"):
        assert key in enc


def test_unencrypted_suffix_keeps_values_and_their_subtrees_in_clear() -> None:
    enc = _encrypt(_text(PLAIN / "suffix.yaml"))
    assert "public_unencrypted: visible" in enc
    assert "  everything: below" in enc and "    - one" in enc
    assert "secret" not in enc.split("sops:")[0] and "hidden" not in enc


def test_metadata_block_matches_sops_field_order() -> None:
    enc = _encrypt("a: 1\n")
    block = enc.split("sops:\n", 1)[1]
    fields = [line.split(":")[0].strip() for line in block.splitlines()
              if line.startswith("    ") and not line.startswith("     ")]
    assert fields == ["age", "lastmodified", "mac", "unencrypted_suffix", "version",
                      "encfile_version", "encfile_key_created", "encfile_layout"]
    assert '    lastmodified: "2026-11-28T12:00:00Z"' in enc
    assert "    version: 3.11.0" in enc


def test_aliases_are_expanded_for_sops_and_restored() -> None:
    text = _text(PLAIN / "anchors.yaml")
    enc = _encrypt(text)
    assert "*defaults" not in enc and "<<: {" in enc
    data = encfile.loads(enc, identities=[TEST_SECRET])
    assert data["development"]["<<"]["password"] == "s3cret"
    assert data["copy"] == data["defaults"]
    assert encfile.decrypt(enc, identities=[TEST_SECRET]) == text


def test_yaml_1_2_directive_is_written_as_1_1_for_go_yaml() -> None:
    text = _text(PLAIN / "directive.yaml")
    enc = _encrypt(text)
    assert enc.startswith("%YAML 1.1\n---\n")
    assert encfile.decrypt(enc, identities=[TEST_SECRET]) == text


def test_top_level_list_is_wrapped_under_data() -> None:
    text = _text(PLAIN / "toplevel-list.yaml")
    enc = _encrypt(text)
    assert "\ndata:\n- name: ENC[" in enc
    assert encfile.decrypt(enc, identities=[TEST_SECRET]) == text
    assert encfile.loads(enc, identities=[TEST_SECRET])[1]["hosts"] == "db"


def test_top_level_value_is_wrapped_under_data() -> None:
    enc = _encrypt("just a secret string\n")
    assert enc.startswith("data: ENC[")
    assert encfile.decrypt(enc, identities=[TEST_SECRET]) == "just a secret string\n"
    assert encfile.loads(enc, identities=[TEST_SECRET]) == "just a secret string"


def test_multi_document_files_get_one_identical_block_per_document() -> None:
    enc = _encrypt(_text(PLAIN / "multidoc.yaml"))
    blocks = [part.split("\n---")[0].split("\n...")[0].rstrip("\n")
              for part in enc.split("sops:\n")[1:]]
    assert len(blocks) == 3 and len(set(blocks)) == 1
    docs = encfile.open_encrypted(enc, identities=[TEST_SECRET]).data()
    assert [d["kind"] for d in docs] == ["Secret", "Secret", "ConfigMap"]


def test_flow_collections_get_quoted_tokens() -> None:
    enc = _encrypt("m: {a: secret, b: [x, y]}\n")
    assert enc.startswith('m: {a: "ENC[AES256_GCM,')
    assert encfile.decrypt(enc, identities=[TEST_SECRET]) == "m: {a: secret, b: [x, y]}\n"


def test_flow_root_mapping() -> None:
    text = "{a: secret, b: 2}\n"
    enc = _encrypt(text)
    assert enc.startswith('{a: "ENC[') and '"sops": {' in enc
    assert encfile.decrypt(enc, identities=[TEST_SECRET]) == text


@pytest.mark.parametrize("text", [
    "a: 1\nsops: x\n",                   # a `sops` key is metadata
])
def test_already_encrypted(text: str) -> None:
    with pytest.raises(encfile.AlreadyEncryptedError):
        _encrypt(text)


@pytest.mark.parametrize(("text", "words"), [
    ("", "no YAML document"),
    ("# only a comment\n", "no YAML document"),
    ("a: 1\na: 2\n", "already defined"),
    ("? [a, b]\n: c\n", "complex mapping keys"),
    ("a: [1, 2\n", "invalid YAML"),
    ("a: &x 1\n*x : 2\n", "alias used as a mapping key"),
    ("a: !!int abc\n", "does not hold a int"),
])
def test_refusals_are_clear(text: str, words: str) -> None:
    with pytest.raises(encfile.InputError) as err:
        _encrypt(text)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_keys_with_colons_warn_once() -> None:
    with pytest.warns(encfile.EncfileWarning, match="':'"):
        enc = _encrypt(_text(PLAIN / "colon-keys.yaml"))
    assert encfile.decrypt(enc, identities=[TEST_SECRET]) == _text(PLAIN / "colon-keys.yaml")


def test_alias_bombs_are_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(encfile.InputError, match="alias"):
        _encrypt("\n".join(lines) + "\n")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(encfile.InputError, match="nesting"):
        _encrypt("a: " + "[" * 1000 + "]" * 1000 + "\n")


@pytest.mark.parametrize(("text", "words"), [
    ("1: a\n", "the key '1' (line 1) is not a string to sops"),
    ("true: b\nx: y\n", "the key 'true'"),
    ("big: 12345678901234567890\n", "beyond int64"),
])
def test_warns_where_sops_reads_differently(text: str, words: str) -> None:
    with pytest.warns(encfile.EncfileWarning, match=re.escape(words)):
        enc = _encrypt(text)
    assert encfile.decrypt(enc, identities=[TEST_SECRET]) == text


def test_no_warning_for_ordinary_files(recwarn: pytest.WarningsRecorder) -> None:
    _encrypt(_text(PLAIN / "comments.yaml"))
    assert not [w for w in recwarn if issubclass(w.category, encfile.EncfileWarning)]
