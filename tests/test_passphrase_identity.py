"""Passphrase-protected identity files (`age -p`): asked on the terminal, bounded scrypt."""

from __future__ import annotations

import base64
import os
import pty
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KEY_FILE, REQUIRE_ORACLES, TEST_PUBLIC, clean_env, run_encfile

import encfile

PLAIN = "db:\n    password: hunter2\n"


def _tools() -> None:
    missing = [t for t in ("age",) if shutil.which(t) is None]
    if missing:
        if REQUIRE_ORACLES:
            pytest.fail(f"{', '.join(missing)} required (ENCFILE_REQUIRE_ORACLES=1)")
        pytest.skip(f"{', '.join(missing)} not installed")


def in_terminal(command: list[str], typed: str, env: dict[str, str]) -> str:
    """Run ``command`` on a pseudo-terminal, answering each passphrase prompt with a line of
    ``typed`` once the prompt shows (getpass discards anything typed earlier)."""
    answers = [line + "\n" for line in typed.splitlines()]
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.execvpe(command[0], command, env)
    out = b""
    prompts = 0
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            seen = out.lower().count(b"passphrase") - out.lower().count(b"passphrase-protected")
            if seen > prompts and out.rstrip(b" ").endswith(b":") and answers:
                prompts = seen
                os.write(fd, answers.pop(0).encode())
    finally:
        os.waitpid(pid, 0)
        os.close(fd)
    return out.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.fixture
def protected(tmp_path: Path, home: Path) -> Path:
    _tools()
    out = tmp_path / "keys.age"
    in_terminal(["age", "-p", "-a", "-o", str(out), str(KEY_FILE)], "pw\npw\n", clean_env(home))
    assert out.read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    return out


@pytest.fixture
def encrypted(tmp_path: Path) -> Path:
    path = tmp_path / "s.enc.yaml"
    path.write_text(encfile.encrypt(PLAIN, recipients=TEST_PUBLIC))
    return path


def test_passphrase_is_asked_on_the_terminal(protected: Path, encrypted: Path,
                                             home: Path) -> None:
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(protected))
    out = in_terminal([sys.executable, "-m", "encfile", "-d", str(encrypted)], "pw\n", env)
    assert "passphrase for SOPS_AGE_KEY_FILE=" in out
    assert "password: hunter2" in out


def test_wrong_passphrase(protected: Path, encrypted: Path, home: Path) -> None:
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(protected))
    out = in_terminal([sys.executable, "-m", "encfile", "-d", str(encrypted)], "nope\n", env)
    assert "hunter2" not in out
    assert "passphrase-protected: wrong passphrase" in out


def test_no_terminal_no_prompt(protected: Path, encrypted: Path, home: Path) -> None:
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(protected))
    result = subprocess.run([sys.executable, "-m", "encfile", "-d", str(encrypted)], env=env,
                            capture_output=True, start_new_session=True, timeout=60)
    assert result.returncode == 128 and result.stdout == b""
    assert b"passphrase-protected, and no terminal to ask for it" in result.stderr


def test_absurd_scrypt_work_factor_is_refused_before_scrypt(protected: Path, encrypted: Path,
                                                            home: Path) -> None:
    lines = protected.read_text().strip().splitlines()
    raw = base64.b64decode("".join(lines[1:-1]))
    header, _, rest = raw.partition(b"\n--- ")
    stanza = header.split(b"\n")[1].split(b" ")
    assert stanza[1] == b"scrypt" and stanza[3] == b"18"
    forged = header.replace(b" 18\n", b" 40\n", 1) + b"\n--- " + rest
    armored = base64.b64encode(forged).decode()
    body = "\n".join(armored[i:i + 64] for i in range(0, len(armored), 64))
    bomb = protected.with_name("bomb.age")
    bomb.write_text(f"-----BEGIN AGE ENCRYPTED FILE-----\n{body}\n"
                    "-----END AGE ENCRYPTED FILE-----\n")
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(bomb))
    out = in_terminal([sys.executable, "-m", "encfile", "-d", str(encrypted)], "pw\n", env)
    assert "scrypt work factor 40, above the limit of 20" in out
    assert "passphrase for" not in out, "refused before asking"


def test_library_takes_a_passphrase_callback(protected: Path, encrypted: Path) -> None:
    asked: list[str] = []

    def passphrase(source: str) -> str:
        asked.append(source)
        return "pw"

    ring = encfile.KeyRing(env={"SOPS_AGE_KEY_FILE": str(protected)}, passphrase=passphrase)
    assert encfile.decrypt(encrypted.read_text(), identities=ring) == PLAIN
    assert asked and "SOPS_AGE_KEY_FILE" in asked[0]
    assert run_encfile  # the CLI path is covered above
