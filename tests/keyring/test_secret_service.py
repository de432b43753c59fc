"""The OS keyring source against a real Secret Service: gnome-keyring under dbus-run-session.

Each test runs a small shell script inside its own D-Bus session with an unlocked
gnome-keyring (as ../shared/guide/testing.md describes), so the developer's own keyring is
never touched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REQUIRE_ORACLES, ROOT, TEST_PUBLIC, clean_env


def _session_tools() -> None:
    missing = [t for t in ("dbus-run-session", "gnome-keyring-daemon") if not shutil.which(t)]
    if missing:
        if REQUIRE_ORACLES:
            pytest.fail(f"{', '.join(missing)} required (ENCFILE_REQUIRE_ORACLES=1)")
        pytest.skip(f"{', '.join(missing)} not installed")


def in_keyring_session(script: str, home: Path) -> subprocess.CompletedProcess[str]:
    _session_tools()
    env = clean_env(home)
    env.pop("ENCFILE_NO_KEYRING")
    env["ENCFILE"] = f"{sys.executable} -m encfile"
    env["PYTHONPATH"] = str(ROOT)
    body = ("echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1\n"
            "set -e\n" + script)
    return subprocess.run(["dbus-run-session", "--", "sh", "-c", body], env=env, cwd=home,
                          capture_output=True, text=True, timeout=120)


def test_keygen_into_the_keyring_then_decrypt(home: Path) -> None:
    result = in_keyring_session("""
$ENCFILE keygen --keyring 2> keygen.err
pub=$(sed -n 's/^Public key: //p' keygen.err)
printf 'db:\\n    password: hunter2\\n' > s.yaml
$ENCFILE -e --age "$pub" s.yaml > s.enc.yaml
$ENCFILE -d s.enc.yaml
cp s.yaml t.yaml
$ENCFILE -e --age "$pub" t.yaml > t.enc.yaml
$ENCFILE -d s.enc.yaml t.enc.yaml > both.out
$ENCFILE identities --json > ids.json
echo "pub=$pub"
""", home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("db:\n    password: hunter2\n")
    # two files in one call: the keyring's answer serves both
    assert (home / "both.out").read_text().count("password: hunter2") == 2
    public = result.stdout.strip().rsplit("pub=", 1)[1]
    listed = json.loads((home / "ids.json").read_text())
    assert {"source": "OS keyring (SecretService.Keyring)", "public": public} in listed
    assert "AGE-SECRET-KEY" not in (home / "ids.json").read_text() + result.stderr
    assert not list(home.glob(".config/*/age/keys.txt")), "nothing written to key files"


def test_keyring_without_the_identity_says_so(home: Path) -> None:
    result = in_keyring_session(f"""
printf 'a: 1\\n' > s.yaml
$ENCFILE -e --age {TEST_PUBLIC} s.yaml > s.enc.yaml
$ENCFILE -d s.enc.yaml || echo "rc=$?"
""", home)
    assert "rc=128" in result.stdout
    assert "tried OS keyring: no entry for the file's 1 recipient(s)" in result.stderr


def test_no_keyring_backend_is_a_clear_error(home: Path) -> None:
    env = clean_env(home, DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent",
                    PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    env.pop("ENCFILE_NO_KEYRING")
    result = subprocess.run([sys.executable, "-m", "encfile", "keygen", "--keyring"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("encfile: error: no OS keyring is available")
    assert "AGE-SECRET-KEY" not in result.stdout + result.stderr
