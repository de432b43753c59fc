"""ssh keys as identities (ssh-ed25519 / ssh-rsa recipients), as sops supports them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import clean_env, run_encfile
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

PLAIN = b"db:\n    password: hunter2\n"


def ssh_key(folder: Path, kind: str) -> tuple[Path, str]:
    key = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else \
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"id_{kind}"
    path.write_bytes(private)
    path.chmod(0o600)
    return path, public


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_default_ssh_key_decrypts(kind: str, home: Path, tmp_path: Path, sops_bin: str) -> None:
    path, public = ssh_key(home / ".ssh", kind)
    src = tmp_path / "s.yaml"
    src.write_bytes(PLAIN)
    env = clean_env(home)
    enc = run_encfile("-e", "--age", public, str(src), env=env)
    assert enc.returncode == 0, enc.stderr
    target = tmp_path / "s.enc.yaml"
    target.write_bytes(enc.stdout)
    result = run_encfile("-d", str(target), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == PLAIN
    sops = subprocess.run([sops_bin, "decrypt", str(target)], capture_output=True,
                          env=clean_env(home, SOPS_AGE_SSH_PRIVATE_KEY_FILE=str(path)))
    assert sops.returncode == 0 and sops.stdout == PLAIN


def test_ssh_key_named_by_the_sops_variable(home: Path, tmp_path: Path) -> None:
    path, public = ssh_key(tmp_path / "keys", "ed25519")
    src = tmp_path / "s.env"
    src.write_bytes(b"TOKEN=abc\n")
    enc = run_encfile("-e", "--age", public, str(src), env=clean_env(home))
    target = tmp_path / "s.enc.env"
    target.write_bytes(enc.stdout)
    assert run_encfile("-d", str(target), env=clean_env(home)).returncode == 128
    result = run_encfile("-d", str(target),
                         env=clean_env(home, SOPS_AGE_SSH_PRIVATE_KEY_FILE=str(path)))
    assert result.returncode == 0 and result.stdout == b"TOKEN=abc\n"


def test_passphrase_protected_ssh_key_is_reported(home: Path, tmp_path: Path) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen makes the passphrase-protected key (cryptography needs bcrypt)")
    (home / ".ssh").mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret pass", "-f",
                    str(home / ".ssh" / "id_ed25519")], check=True, capture_output=True)
    public = (home / ".ssh" / "id_ed25519.pub").read_text().strip()
    src = tmp_path / "s.yaml"
    src.write_bytes(PLAIN)
    enc = run_encfile("-e", "--age", public, str(src), env=clean_env(home))
    target = tmp_path / "s.enc.yaml"
    target.write_bytes(enc.stdout)
    result = run_encfile("-d", str(target), env=clean_env(home))
    assert result.returncode == 128 and result.stdout == b""
    stderr = result.stderr.decode()
    assert "id_ed25519: passphrase-protected ssh keys are not supported" in stderr
    assert "PRIVATE KEY" not in stderr and public.split()[1] in stderr
