"""rotate, updatekeys and status, through the CLI, with sops reading the results."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import (
    OTHER_PUBLIC,
    OTHER_SECRET,
    TEST_PUBLIC,
    TEST_SECRET,
    clean_env,
    load_docs,
    run_encfile,
)

import encfile

PLAIN = "user: admin\npassword: hunter2\nport: 5432\n"
TOKEN = re.compile(r"ENC\[AES256_GCM,[^\]]*\]")


def value_tokens(text: str) -> list[str]:
    """The tokens of the data (not of the sops block)."""
    return TOKEN.findall(text.split("\nsops:")[0])


def recipients(text: str) -> list[str]:
    return [a["recipient"] for a in load_docs(text)[0]["sops"]["age"]]


@pytest.fixture
def both(home: Path) -> dict[str, str]:
    """An environment holding both test identities."""
    return clean_env(home, SOPS_AGE_KEY=f"{TEST_SECRET}\n{OTHER_SECRET}")


def sops_decrypt(sops_bin: str, path: Path, secret: str, home: Path) -> bytes:
    result = subprocess.run([sops_bin, "decrypt", str(path)], capture_output=True,
                            env=clean_env(home, SOPS_AGE_KEY=secret), timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def write_encrypted(path: Path, recipients_: str, when: dt.datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(encfile.encrypt(PLAIN, recipients=recipients_, now=when))
    return path


# -- rotate ------------------------------------------------------------------------------------------

def test_rotate_makes_a_new_key_and_changes_recipients(tmp_path: Path, both: dict[str, str],
                                                       sops_bin: str, home: Path) -> None:
    enc = write_encrypted(tmp_path / "s.enc.yaml", f"{TEST_PUBLIC},{OTHER_PUBLIC}")
    before = enc.read_text()
    result = run_encfile("rotate", "-i", "--rm-age", TEST_PUBLIC, str(enc), env=both)
    assert result.returncode == 0, result.stderr
    after = enc.read_text()
    assert recipients(after) == [OTHER_PUBLIC]
    assert not set(value_tokens(before)) & set(value_tokens(after)), "every value re-encrypted"
    with pytest.raises(encfile.NoIdentityError):
        encfile.decrypt(after, identities=[TEST_SECRET])
    assert encfile.decrypt(after, identities=[OTHER_SECRET]) == PLAIN
    assert sops_decrypt(sops_bin, enc, OTHER_SECRET, home) == PLAIN.encode()
    meta = load_docs(after)[0]["sops"]
    assert meta["encfile_key_created"] == meta["lastmodified"]


def test_rotate_to_stdout_adds_a_recipient(tmp_path: Path, both: dict[str, str]) -> None:
    enc = write_encrypted(tmp_path / "s.enc.yaml", TEST_PUBLIC)
    before = enc.read_bytes()
    result = run_encfile("rotate", "--add-age", OTHER_PUBLIC, str(enc), env=both)
    assert result.returncode == 0, result.stderr
    assert enc.read_bytes() == before
    assert recipients(result.stdout.decode()) == [TEST_PUBLIC, OTHER_PUBLIC]


def test_rotate_refuses_to_empty_a_group(tmp_path: Path, both: dict[str, str]) -> None:
    enc = write_encrypted(tmp_path / "s.enc.yaml", TEST_PUBLIC)
    before = enc.read_bytes()
    result = run_encfile("rotate", "-i", "--rm-age", TEST_PUBLIC, str(enc), env=both)
    assert result.returncode == 1 and b"group empty" in result.stderr
    assert enc.read_bytes() == before


def test_rotate_keeps_foreign_keys_only_on_request(tmp_path: Path, both: dict[str, str]) -> None:
    enc = write_encrypted(tmp_path / "s.enc.yaml", TEST_PUBLIC)
    # A HuaweiCloud KMS entry, as sops writes one; encfile cannot make one for a new data key.
    text = enc.read_text().replace("\n    lastmodified:", "\n    hckms:\n        - key_id: "
                                   "cn-north-4:0b9e\n          created_at: "
                                   "'2026-01-01T00:00:00Z'\n          enc: x\n"
                                   "    lastmodified:", 1)
    enc.write_text(text)
    result = run_encfile("rotate", "-i", str(enc), env=both)
    assert result.returncode == 1 and b"--drop-unsupported-keys" in result.stderr
    assert enc.read_text() == text
    result = run_encfile("rotate", "-i", "--drop-unsupported-keys", str(enc), env=both)
    assert result.returncode == 0, result.stderr
    assert "hckms" not in load_docs(enc.read_text())[0]["sops"]


# -- updatekeys ------------------------------------------------------------------------------------

def make_repo(tmp_path: Path, age: str) -> Path:
    repo = tmp_path / "repo"
    (repo / "secrets").mkdir(parents=True)
    (repo / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: secrets/\n    age: {age}\n")
    write_encrypted(repo / "secrets" / "a.enc.yaml", TEST_PUBLIC)
    (repo / "secrets" / "b.enc.env").write_text(
        encfile.encrypt("TOKEN=abc\n", recipients=TEST_PUBLIC, format="dotenv"))
    (repo / "notes.txt").write_text("not encrypted, not under a rule\n")
    return repo


def test_updatekeys_adding_a_recipient_keeps_every_value(tmp_path: Path, both: dict[str, str],
                                                         sops_bin: str, home: Path) -> None:
    repo = make_repo(tmp_path, f"{TEST_PUBLIC},{OTHER_PUBLIC}")
    enc = repo / "secrets" / "a.enc.yaml"
    before = enc.read_text()
    refused = run_encfile("updatekeys", str(repo), env=both)
    assert refused.returncode == 1 and b"-y" in refused.stderr and enc.read_text() == before
    assert f"+ {OTHER_PUBLIC}".encode() in refused.stderr
    result = run_encfile("updatekeys", "-y", str(repo), env=both)
    assert result.returncode == 0, result.stderr
    assert b"[2/2]" in result.stderr
    after = enc.read_text()
    assert recipients(after) == [TEST_PUBLIC, OTHER_PUBLIC]
    assert value_tokens(after) == value_tokens(before)
    old_meta, new_meta = load_docs(before)[0]["sops"], load_docs(after)[0]["sops"]
    for field in ("lastmodified", "mac", "encfile_layout", "encfile_key_created"):
        assert new_meta[field] == old_meta[field], field
    assert new_meta["age"][0] == old_meta["age"][0], "the existing entry is not rewritten"
    assert sops_decrypt(sops_bin, enc, OTHER_SECRET, home) == PLAIN.encode()
    again = run_encfile("updatekeys", "-y", str(repo), env=both)
    assert again.returncode == 0 and b"up to date" in again.stderr


def test_updatekeys_ignores_the_order_of_recipients_in_a_group(tmp_path: Path,
                                                               both: dict[str, str]) -> None:
    """Encrypted for A,B under a rule that says B,A: up to date, as sops says; nothing is
    rewritten (an empty change list and '[1/1] updated' rewrote every age block)."""
    repo = make_repo(tmp_path, f"{OTHER_PUBLIC},{TEST_PUBLIC}")
    enc = write_encrypted(repo / "secrets" / "a.enc.yaml", f"{TEST_PUBLIC},{OTHER_PUBLIC}")
    (repo / "secrets" / "b.enc.env").unlink()
    before = enc.read_bytes()
    result = run_encfile("updatekeys", "-y", str(repo), env=both)
    assert result.returncode == 0, result.stderr
    assert b"up to date" in result.stderr and b"updated" not in result.stderr
    assert enc.read_bytes() == before


def test_updatekeys_removing_a_recipient_rotates(tmp_path: Path, both: dict[str, str]) -> None:
    repo = make_repo(tmp_path, OTHER_PUBLIC)
    enc = repo / "secrets" / "a.enc.yaml"
    before = enc.read_text()
    result = run_encfile("updatekeys", "-y", str(enc), env=both)
    assert result.returncode == 0, result.stderr
    assert b"new data key" in result.stderr
    after = enc.read_text()
    assert recipients(after) == [OTHER_PUBLIC]
    assert not set(value_tokens(before)) & set(value_tokens(after))
    with pytest.raises(encfile.NoIdentityError):
        encfile.decrypt(after, identities=[TEST_SECRET])


def test_updatekeys_drops_foreign_keys_only_on_request(tmp_path: Path,
                                                       both: dict[str, str]) -> None:
    """Removing a key makes a new data key, which a HuaweiCloud KMS entry cannot get."""
    repo = make_repo(tmp_path, OTHER_PUBLIC)
    enc = repo / "secrets" / "a.enc.yaml"
    text = enc.read_text().replace("\n    lastmodified:", "\n    hckms:\n        - key_id: "
                                   "cn-north-4:0b9e\n          created_at: "
                                   "'2026-01-01T00:00:00Z'\n          enc: x\n"
                                   "    lastmodified:", 1)
    enc.write_text(text)
    refused = run_encfile("updatekeys", "-y", str(enc), env=both)
    assert refused.returncode == 1 and b"--drop-unsupported-keys" in refused.stderr
    assert enc.read_text() == text
    done = run_encfile("updatekeys", "-y", "--drop-unsupported-keys", str(enc), env=both)
    assert done.returncode == 0, done.stderr
    after = load_docs(enc.read_text())[0]["sops"]
    assert "hckms" not in after and [e["recipient"] for e in after["age"]] == [OTHER_PUBLIC]


# -- status ----------------------------------------------------------------------------------------

def test_status_reports_files_and_checks_key_age(tmp_path: Path, both: dict[str, str]) -> None:
    repo = make_repo(tmp_path, TEST_PUBLIC)
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=120)
    write_encrypted(repo / "secrets" / "old.enc.yaml", TEST_PUBLIC, when=old)
    result = run_encfile("status", "--json", str(repo), env=both)
    assert result.returncode == 0, result.stderr
    rows = {Path(r["file"]).name: r for r in json.loads(result.stdout)}
    assert set(rows) == {"a.enc.yaml", "b.enc.env", "old.enc.yaml"}
    assert rows["a.enc.yaml"]["mac"] == "valid" and rows["a.enc.yaml"]["key_age_days"] == 0
    assert rows["b.enc.env"]["format"] == "dotenv"
    assert rows["old.enc.yaml"]["key_age_days"] >= 119 and "rotate" in rows["old.enc.yaml"]["problem"]
    check = run_encfile("status", "--check", str(repo), env=both)
    assert check.returncode == 1 and b"1 file(s) need attention" in check.stderr
    assert b"old.enc.yaml" in check.stdout and b"older than 90 days" in check.stdout


def test_status_check_finds_plaintext_the_rules_want_encrypted(tmp_path: Path,
                                                               both: dict[str, str]) -> None:
    repo = make_repo(tmp_path, TEST_PUBLIC)
    assert run_encfile("status", "--check", str(repo), env=both).returncode == 0
    (repo / "secrets" / "leak.yaml").write_text("password: oops\n")
    check = run_encfile("status", "--check", str(repo), env=both)
    assert check.returncode == 1
    assert b"leak.yaml: PLAINTEXT" in check.stdout and b"oops" not in check.stdout + check.stderr


def test_status_without_identity_and_with_damage(tmp_path: Path, home: Path) -> None:
    enc = write_encrypted(tmp_path / "s.enc.yaml", TEST_PUBLIC)
    result = run_encfile("status", "--json", str(enc), env=clean_env(home))
    assert json.loads(result.stdout)[0]["mac"] == "not checked (no identity)"
    enc.write_text(enc.read_text().replace("port: ENC[AES256_GCM,data:", "port: ENC[AES256_GCM,"
                                           "data:AA", 1))
    damaged = run_encfile("status", "--check", "--json", str(enc),
                          env=clean_env(home, SOPS_AGE_KEY=TEST_SECRET))
    assert damaged.returncode == 1
    assert json.loads(damaged.stdout)[0]["mac"] == "INVALID"


def test_rotate_refuses_to_remove_a_recipient_the_file_does_not_have(
        tmp_path: Path, both: dict[str, str]) -> None:
    enc = write_encrypted(tmp_path / "s.enc.yaml", f"{TEST_PUBLIC},{OTHER_PUBLIC}")
    before = enc.read_bytes()
    typo = OTHER_PUBLIC[:-1] + ("q" if OTHER_PUBLIC[-1] != "q" else "p")
    result = run_encfile("rotate", "-i", "--rm-age", typo, str(enc), env=both)
    assert result.returncode == 1 and b"has no recipient" in result.stderr
    assert enc.read_bytes() == before


def test_updatekeys_skips_files_no_rule_covers(tmp_path: Path, both: dict[str, str]) -> None:
    repo = make_repo(tmp_path, f"{TEST_PUBLIC},{OTHER_PUBLIC}")
    stray = write_encrypted(repo / "other" / "x.enc.yaml", TEST_PUBLIC)
    before = stray.read_bytes()
    result = run_encfile("updatekeys", "-y", str(repo), env=both)
    assert result.returncode == 0, result.stderr
    assert b"note: skipped" in result.stderr and b"x.enc.yaml" in result.stderr
    assert stray.read_bytes() == before
    assert recipients((repo / "secrets" / "a.enc.yaml").read_text()) == [TEST_PUBLIC,
                                                                       OTHER_PUBLIC]


def test_status_skips_the_rules_and_survives_a_bad_date(tmp_path: Path,
                                                        both: dict[str, str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: \\.yaml$\n"
                                     f"    age: {TEST_PUBLIC}\n")
    enc = write_encrypted(repo / "s.enc.yaml", TEST_PUBLIC)
    enc.write_text(re.sub(r"encfile_key_created: [^\n]*", "encfile_key_created: garbage",
                          enc.read_text()))
    result = run_encfile("status", "--json", str(repo), env=both)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [Path(r["file"]).name for r in rows] == ["s.enc.yaml"]
    assert rows[0]["key_created"] == "unreadable" and "unreadable" in rows[0]["problem"]
