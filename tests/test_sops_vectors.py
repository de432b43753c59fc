"""Files encrypted by the real sops 3.11 (testdata/sops, see testdata/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import OTHER_SECRET, PLAIN, SOPS_VECTORS, TEST_SECRET

import encfile

VECTORS = sorted(SOPS_VECTORS.glob("*.enc.*"))
IDS = [p.name for p in VECTORS]
FORMATS = {"yaml": "yaml", "json": "json", "env": "dotenv", "ini": "ini", "bin": "binary",
           "pem": "binary"}


@pytest.mark.parametrize("path", VECTORS, ids=IDS)
def test_decrypts_like_sops_d(path: Path) -> None:
    """encfile -d of a sops file gives sops -d's own output, byte for byte."""
    ext = path.name.rsplit(".", 1)[1]
    expected = path.with_name(path.name.replace(".enc.", ".sops-d.")).read_bytes()
    got = encfile.decrypt(path.read_text(), format=FORMATS[ext],
                          identities=[TEST_SECRET, OTHER_SECRET])
    assert got.encode("utf-8", "surrogateescape") == expected


def test_every_format_has_vectors() -> None:
    assert {p.name.rsplit(".", 1)[1] for p in VECTORS} >= {"yaml", "json", "env", "ini", "bin"}


@pytest.mark.parametrize("path", [p for p in VECTORS if p.suffix in (".bin", ".pem")],
                         ids=lambda p: p.name)
def test_binary_vectors_give_the_plain_bytes(path: Path) -> None:
    """Binary vectors decrypt to the very bytes of testdata/plain (sops keeps them whole)."""
    plain = PLAIN / path.name.replace(".enc.", ".")
    got = encfile.decrypt(path.read_text(), format="binary", identities=[TEST_SECRET])
    assert got.encode("utf-8", "surrogateescape") == plain.read_bytes()


def test_shamir_needs_two_of_three_groups() -> None:
    text = (SOPS_VECTORS / "shamir-2-of-3.enc.yaml").read_text()
    assert encfile.loads(text, identities=[TEST_SECRET, OTHER_SECRET])["normal"] == {
        "deep": {"value": "hidden"}}
    with pytest.raises(encfile.NoIdentityError, match="2 key groups"):
        encfile.loads(text, identities=[TEST_SECRET])


def test_mac_only_encrypted_and_typed_values() -> None:
    data = encfile.loads((SOPS_VECTORS / "mac-only-encrypted.enc.yaml").read_text(),
                         identities=[TEST_SECRET])
    assert data["normal"]["deep"]["value"] == "hidden"
    types = encfile.loads((SOPS_VECTORS / "types.enc.yaml").read_text(),
                          identities=[TEST_SECRET])
    assert types["octal"] == 493 and types["float"] == 1.5 and types["bool_true"] is True
    assert types["bare_yes"] == "yes" and types["tilde"] is None


def test_wrong_identity_names_the_recipient() -> None:
    with pytest.raises(encfile.NoIdentityError) as err:
        encfile.decrypt((SOPS_VECTORS / "suffix.enc.yaml").read_text(),
                        identities=[OTHER_SECRET])
    assert err.value.recipients and err.value.recipients[0].startswith("age1")
    assert "AGE-SECRET-KEY" not in str(err.value) + " ".join(err.value.hints)
