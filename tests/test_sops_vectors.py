"""Files encrypted by the real sops 3.11 (testdata/sops, see testdata/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import OTHER_SECRET, SOPS_VECTORS, TEST_SECRET

import encfile

VECTORS = sorted(SOPS_VECTORS.glob("*.enc.yaml"))
IDS = [p.name for p in VECTORS]


@pytest.mark.parametrize("path", VECTORS, ids=IDS)
def test_decrypts_like_sops_d(path: Path) -> None:
    """encfile -d of a sops file gives sops -d's own output, byte for byte."""
    expected = path.with_name(path.name.replace(".enc.yaml", ".sops-d.yaml")).read_bytes()
    got = encfile.decrypt(path.read_text(), identities=[TEST_SECRET, OTHER_SECRET])
    assert got.encode() == expected


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
