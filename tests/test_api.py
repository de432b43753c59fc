"""The public Python API: names, import cost, and the documented calls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KEY_FILE, PLAIN, TEST_PUBLIC, TEST_SECRET, clean_env

import encfile


def test_all_names_exist() -> None:
    for name in encfile.__all__:
        assert getattr(encfile, name) is not None
    assert encfile.KeyRing is not None and encfile.Rules is not None


def test_import_is_lean() -> None:
    code = ("import sys, encfile; bad = [m for m in ('typer', 'keyring', 'click', "
            "'cryptography', 'pyrage', 'ruamel') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_decrypt_path_does_not_import_typer_or_keyring(tmp_path: Path) -> None:
    enc = tmp_path / "s.enc.yaml"
    enc.write_text(encfile.encrypt("a: b\n", recipients=TEST_PUBLIC))
    code = (f"import sys, encfile; encfile.load({str(enc)!r}); "
            "print([m for m in ('typer', 'keyring') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=clean_env(tmp_path, SOPS_AGE_KEY_FILE=str(KEY_FILE)), check=True)
    assert out.stdout.strip() == "[]"


def test_load_finds_identities_like_the_cli(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secrets.enc.yaml"
    path.write_text(encfile.encrypt_file(PLAIN / "comments.yaml", recipients=TEST_PUBLIC))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(KEY_FILE))
    data = encfile.load(path)
    assert data["db"] == {"user": "admin", "password": "hunter2"}
    assert encfile.decrypt_file(path) == (PLAIN / "comments.yaml").read_text()


def test_load_all_and_multi_document_load(tmp_path: Path) -> None:
    path = tmp_path / "m.enc.yaml"
    path.write_text(encfile.encrypt_file(PLAIN / "multidoc.yaml", recipients=[TEST_PUBLIC]))
    assert len(encfile.load_all(path, identities=[TEST_SECRET])) == 3
    with pytest.raises(encfile.InputError, match="load_all"):
        encfile.load(path, identities=[TEST_SECRET])


def test_errors_are_typed(tmp_path: Path) -> None:
    with pytest.raises(encfile.FileMissingError):
        encfile.load(tmp_path / "nope.yaml")
    with pytest.raises(encfile.NotEncryptedError):
        encfile.loads("a: 1\n", identities=[TEST_SECRET])
    with pytest.raises(encfile.RecipientError):
        encfile.encrypt("a: 1\n", recipients="not-a-key")
    with pytest.raises(encfile.RecipientError):
        encfile.encrypt("a: 1\n", recipients=[])
    assert issubclass(encfile.MacMismatchError, encfile.IntegrityError)


def test_generate_identity_round_trip() -> None:
    ident = encfile.generate_identity()
    assert ident.public.startswith("age1") and ident.secret.startswith("AGE-SECRET-KEY-1")
    assert encfile.loads(encfile.encrypt("k: v\n", recipients=ident.public),
                         identities=[ident.secret]) == {"k": "v"}
    assert f"# public key: {ident.public}\n" in ident.file_block()


def test_key_groups_with_shamir_threshold() -> None:
    other = encfile.generate_identity()
    third = encfile.generate_identity()
    enc = encfile.encrypt("k: v\n", key_groups=[[TEST_PUBLIC], [other.public], [third.public]],
                          shamir_threshold=2)
    assert "shamir_threshold: 2" in enc and "key_groups:" in enc
    assert encfile.loads(enc, identities=[TEST_SECRET, third.secret]) == {"k": "v"}
    with pytest.raises(encfile.NoIdentityError):
        encfile.loads(enc, identities=[TEST_SECRET])


def test_rules_encrypted_regex() -> None:
    enc = encfile.encrypt((PLAIN / "multidoc.yaml").read_text(), recipients=TEST_PUBLIC,
                          rules=encfile.Rules(encrypted_regex="^(data|stringData)$"))
    assert "kind: Secret" in enc and "name: one" in enc and "abc123" not in enc
    assert "encrypted_regex: ^(data|stringData)$" in enc


@pytest.mark.parametrize(("fmt", "text"), [
    ("yaml", "a: 1\n"), ("json", '{"a": 1}\n'), ("dotenv", "A=1\n"), ("ini", "[s]\nk = v\n"),
    ("binary", "\x00\x01 bytes"),
])
def test_decrypt_tells_the_format_from_the_text(fmt: str, text: str) -> None:
    enc = encfile.encrypt(text, recipients=TEST_PUBLIC, format=fmt)
    assert encfile.decrypt(enc, identities=[TEST_SECRET]) == text


def test_encrypt_file_with_recipients_still_applies_the_rule_options(tmp_path: Path) -> None:
    (tmp_path / ".encfile.yaml").write_text(
        f"creation_rules:\n  - encrypted_regex: ^password$\n    age: {TEST_PUBLIC}\n")
    (tmp_path / "s.yaml").write_text("user: app\npassword: hunter2\n")
    enc = encfile.encrypt_file(tmp_path / "s.yaml", recipients=TEST_PUBLIC)
    assert "user: app\n" in enc and "hunter2" not in enc


def test_merge_conflict_is_part_of_the_public_error_tree() -> None:
    assert issubclass(encfile.MergeConflict, encfile.EncfileError)
    assert "MergeConflict" in encfile.__all__
