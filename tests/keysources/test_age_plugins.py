"""age plugins (``age1NAME1…`` recipients, ``AGE-PLUGIN-NAME-1…`` identities), driven the way
a user drives them: the CLI in a subprocess, with the test plugin of
tests/age_plugin_support.py on PATH (a stand-in for age-plugin-yubikey: it can ask for a
touch, a PIN, a confirmation or a serial number).

* The test plugin itself is checked against the real ``age`` CLI first.
* sops 3.11 and encfile read each other's plugin-encrypted files, in every format.
* Plugin identities work from every identity source (the variables, key files,
  ``SOPS_AGE_KEY_CMD``, the OS keyring).
* A plugin runs only in the second pass: never when a native identity opens the file.
* Its message ("touch …") reaches standard error; a PIN is read from the terminal, not
  from standard input; without a terminal the question fails with a clear hint; a wrong
  PIN, a missing plugin and a plugin name with a path in it are clean errors.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import age_plugin_support as aps
import pytest
from age_plugin_support import CONFIRM, LEAKY, PIN, PUBLIC, TEST_PIN, TOUCH, TestKey
from conftest import (
    KEY_FILE,
    REQUIRE_ORACLES,
    TEST_PUBLIC,
    TEST_SECRET,
    assert_cli_error,
    clean_env,
    run_encfile,
)

import encfile
from encfile.keysources import age, bech32

PLAIN = "db:\n    password: hunter2\n"
ENCFILE = [sys.executable, "-m", "encfile"]


@pytest.fixture
def plugin_bin(tmp_path: Path) -> Path:
    return aps.install(tmp_path / "plugins")


def env_with(home: Path, plugin_bin: Path, **extra: str) -> dict[str, str]:
    env = clean_env(home, **extra)
    env["PATH"] = aps.plugin_path(plugin_bin)  # not the session's folder: this test's own
    return env


def encrypted_for(tmp_path: Path, *recipients: str, name: str = "s.enc.yaml") -> Path:
    """A file encrypted by encfile for ``recipients`` (the test plugin on PATH)."""
    aps.session_bin()
    path = tmp_path / name
    path.write_text(encfile.encrypt(PLAIN, recipients=",".join(recipients)))
    return path


def log_lines(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


# -- the test plugin, checked with the real age CLI ------------------------------------------

def test_the_test_plugin_works_with_the_real_age_cli(age_bin: str, tmp_path: Path,
                                                     home: Path, plugin_bin: Path) -> None:
    plain = os.urandom(3000)
    aps.session_bin()  # for the in-process checks
    for flags in (0, TOUCH):
        key = TestKey(flags)
        ids = key.key_file(tmp_path / f"id{flags}.txt")
        env = env_with(home, plugin_bin)
        made = subprocess.run([age_bin, "-r", key.recipient, "-a"], input=plain,
                              capture_output=True, env=env, timeout=60, check=True).stdout
        assert made.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
        back = subprocess.run([age_bin, "-d", "-i", str(ids)], input=made,
                              capture_output=True, env=env, timeout=60)
        assert back.returncode == 0 and back.stdout == plain, back.stderr
        if flags & TOUCH:
            assert b"encfiletest plugin: touch your encfile test key" in back.stderr
        # and pyrage (through encfile) reads what age made, and the other way round
        assert age.unwrap(made.decode(), age.parse_identities(key.identity).identities) == plain
        ours = age.wrap(plain[:32], key.recipient)
        back = subprocess.run([age_bin, "-d", "-i", str(ids)], input=ours.encode(),
                              capture_output=True, env=env, timeout=60)
        assert back.stdout == plain[:32], back.stderr
    other = TestKey().key_file(tmp_path / "other.txt")
    wrong = subprocess.run([age_bin, "-d", "-i", str(other)], input=made, capture_output=True,
                           env=env, timeout=60)
    assert wrong.returncode != 0 and wrong.stdout == b""


# -- sops interop, every format ------------------------------------------------------------------

@pytest.mark.sops
@pytest.mark.parametrize("fmt", list(aps.SAMPLES))
def test_sops_and_encfile_read_each_others_plugin_files(fmt: str, sops_bin: str,
                                                        tmp_path: Path, home: Path,
                                                        plugin_bin: Path) -> None:
    key = TestKey()
    env = env_with(home, plugin_bin,
                   SOPS_AGE_KEY_FILE=str(key.key_file(tmp_path / "id.txt")))
    by_sops, by_encfile = aps.interop_both_ways(sops_bin, tmp_path, fmt, key.recipient, env)
    assert key.recipient in by_encfile
    assert aps.stanza_types(by_encfile) == [["encfiletest"]]
    assert aps.stanza_types(by_sops) == [["encfiletest"]]


@pytest.mark.sops
def test_plugin_and_x25519_recipients_in_one_file(sops_bin: str, tmp_path: Path, home: Path,
                                                  plugin_bin: Path) -> None:
    """One entry per recipient, as sops writes; either identity opens it, in both tools."""
    key = TestKey()
    plain = tmp_path / "s.yaml"
    plain.write_text(PLAIN)
    env = env_with(home, plugin_bin)
    made = run_encfile("-e", "--age", f"{key.recipient},{TEST_PUBLIC}", str(plain), env=env)
    assert made.returncode == 0, made.stderr
    path = tmp_path / "s.enc.yaml"
    path.write_bytes(made.stdout)
    assert aps.stanza_types(made.stdout.decode()) == [["encfiletest"], ["X25519"]]
    ids = key.key_file(tmp_path / "id.txt")
    for keys in (ids, KEY_FILE):
        both = {**env, "SOPS_AGE_KEY_FILE": str(keys)}
        assert run_encfile("-d", str(path), env=both).stdout == PLAIN.encode()
        proc = subprocess.run([sops_bin, "decrypt", str(path)], capture_output=True, env=both,
                              timeout=60)
        assert proc.stdout == PLAIN.encode(), proc.stderr


# -- every identity source --------------------------------------------------------------------------

def _source_env(source: str, key: TestKey, tmp_path: Path, home: Path) -> dict[str, str]:
    ids = key.key_file(tmp_path / "ids.txt")
    if source == "SOPS_AGE_KEY_CMD":
        return {source: f"cat {ids}"}
    if source.endswith("_FILE"):
        return {source: str(ids)}
    if source == "default key file":
        default = home / ".config" / "sops" / "age" / "keys.txt"
        default.parent.mkdir(parents=True)
        default.write_text(ids.read_text())
        default.chmod(0o600)
        return {}
    return {source: key.identity}


@pytest.mark.parametrize("source", ["SOPS_AGE_KEY", "ENCFILE_AGE_KEY", "SOPS_AGE_KEY_FILE",
                                    "ENCFILE_AGE_KEY_FILE", "default key file",
                                    "SOPS_AGE_KEY_CMD"])
def test_a_plugin_identity_from_each_source(source: str, tmp_path: Path, home: Path,
                                            plugin_bin: Path) -> None:
    key = TestKey()
    path = encrypted_for(tmp_path, key.recipient)
    log = tmp_path / "plugin.log"
    env = env_with(home, plugin_bin, ENCFILE_TEST_PLUGIN_LOG=str(log),
                   **_source_env(source, key, tmp_path, home))
    result = run_encfile("-d", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == PLAIN.encode()
    assert log_lines(log) == ["identity-v1"]
    assert key.identity[20:60].encode() not in result.stderr


def _keyring_tools() -> None:
    import shutil

    missing = [t for t in ("dbus-run-session", "gnome-keyring-daemon") if not shutil.which(t)]
    if missing:
        if REQUIRE_ORACLES:
            pytest.fail(f"{', '.join(missing)} required (ENCFILE_REQUIRE_ORACLES=1)")
        pytest.skip(f"{', '.join(missing)} not installed")


def in_keyring_session(script: str, env: dict[str, str], cwd: Path
                       ) -> subprocess.CompletedProcess[str]:
    """``script`` in its own D-Bus session with an unlocked gnome-keyring (the developer's
    own keyring is never touched; see tests/keyring/test_secret_service.py)."""
    _keyring_tools()
    env = {k: v for k, v in env.items() if k != "ENCFILE_NO_KEYRING"}
    env["ENCFILE"] = " ".join(ENCFILE)
    env["PY"] = sys.executable
    body = ("echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1\n"
            "set -e\n" + script)
    return subprocess.run(["dbus-run-session", "--", "sh", "-c", body], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_a_plugin_identity_from_the_os_keyring(tmp_path: Path, home: Path,
                                               plugin_bin: Path) -> None:
    """The keyring holds identities by recipient (as ``keygen --keyring`` stores them); a
    plugin identity stored there for its recipient opens the file, in the second pass."""
    key = TestKey()
    path = encrypted_for(tmp_path, key.recipient)
    log = tmp_path / "plugin.log"
    env = env_with(home, plugin_bin, ENCFILE_TEST_PLUGIN_LOG=str(log))
    store = ("import keyring, sys; keyring.set_password('encfile', sys.argv[1], sys.argv[2])")
    result = in_keyring_session(f"""
"$PY" -c "{store}" '{key.recipient}' '{key.identity}'
$ENCFILE -d '{path}'
""", env, home)
    assert result.returncode == 0, result.stderr
    assert result.stdout == PLAIN
    assert log_lines(log) == ["identity-v1"]


# -- plugins run only in the second pass ----------------------------------------------------------

def test_no_plugin_runs_when_a_native_identity_opens_the_file(tmp_path: Path, home: Path,
                                                              plugin_bin: Path) -> None:
    key = TestKey(TOUCH | PIN)
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{key.identity}\n{TEST_SECRET}\n")
    ids.chmod(0o600)
    log = tmp_path / "plugin.log"
    env = env_with(home, plugin_bin, SOPS_AGE_KEY_FILE=str(ids),
                   ENCFILE_TEST_PLUGIN_LOG=str(log))
    for recipients in ([TEST_PUBLIC], [key.recipient, TEST_PUBLIC], [TEST_PUBLIC, key.recipient]):
        path = encrypted_for(tmp_path, *recipients)
        log.unlink(missing_ok=True)
        result = run_encfile("-d", str(path), env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout == PLAIN.encode()
        assert log_lines(log) == [], recipients  # not started: no touch, no PIN asked
        assert b"plugin" not in result.stderr


def test_the_plugin_runs_once_the_native_identities_failed(tmp_path: Path, home: Path,
                                                           plugin_bin: Path) -> None:
    key = TestKey(TOUCH)
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{TEST_SECRET}\n{key.identity}\n")
    ids.chmod(0o600)
    log = tmp_path / "plugin.log"
    env = env_with(home, plugin_bin, SOPS_AGE_KEY_FILE=str(ids),
                   ENCFILE_TEST_PLUGIN_LOG=str(log))
    other = TestKey()
    path = encrypted_for(tmp_path, other.recipient, key.recipient)
    result = run_encfile("-d", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == PLAIN.encode()
    # The first entry (another plugin key) did not match, the second did. pyrage starts
    # a plugin once per stanza it tries: every stanza of the first entry (its grease
    # too), the first of the second.
    assert log_lines(log) == ["identity-v1"] * (aps.stanza_count(path.read_text())[0] + 1)
    assert result.stderr.decode().count("touch your encfile test key") == 1


# -- the terminal ---------------------------------------------------------------------------

def test_touch_goes_to_stderr_and_the_pin_is_read_from_the_tty(tmp_path: Path, home: Path,
                                                               plugin_bin: Path) -> None:
    key = TestKey(TOUCH | PIN)
    path = encrypted_for(tmp_path, key.recipient)
    env = env_with(home, plugin_bin, SOPS_AGE_KEY=key.identity)
    # the file comes on standard input: the PIN cannot come from there
    status, out, err, tty = aps.on_terminal(
        [*ENCFILE, "-d", "--input-type", "yaml"], env,
        [("Enter PIN for encfile test key", TEST_PIN)], stdin=path.read_bytes())
    assert status == 0, (err, tty)
    assert out == PLAIN.encode()
    assert b"encfile: encfiletest plugin: touch your encfile test key\n" in err
    assert "encfile: encfiletest plugin: Enter PIN for encfile test key" in tty
    assert TEST_PIN not in tty and TEST_PIN.encode() not in err  # not echoed


def test_confirm_and_public_string_on_the_tty(tmp_path: Path, home: Path,
                                              plugin_bin: Path) -> None:
    key = TestKey(CONFIRM | PUBLIC)
    path = encrypted_for(tmp_path, key.recipient)
    env = env_with(home, plugin_bin, SOPS_AGE_KEY=key.identity)
    status, out, err, tty = aps.on_terminal(
        [*ENCFILE, "-d", str(path)], env,
        [("insert your encfile test key [1: 'Continue', 2: 'Skip']", "1"),
         ("serial of your test key", "42")])
    assert status == 0, (err, tty)
    assert out == PLAIN.encode()
    # "Skip" is an answer too: the plugin gives up, and the error says the key did not open
    status, out, err, tty = aps.on_terminal(
        [*ENCFILE, "-d", str(path)], env, [("[1: 'Continue', 2: 'Skip']", "2")])
    assert status == 128 and out == b"", (err, tty)
    assert b"encfile: error: failed to decrypt" in err


def test_a_wrong_pin_is_a_clean_error(tmp_path: Path, home: Path, plugin_bin: Path) -> None:
    key = TestKey(PIN)
    path = encrypted_for(tmp_path, key.recipient)
    env = env_with(home, plugin_bin, SOPS_AGE_KEY=key.identity)
    status, out, err, tty = aps.on_terminal([*ENCFILE, "-d", str(path)], env,
                                            [("Enter PIN", "999999")])
    text = err.decode()
    assert status == 128 and out == b"", (text, tty)
    assert text.startswith("encfile: error: failed to decrypt ")
    assert "encfile: hint: tried 'age-plugin-encfiletest' couldn't use an identity: wrong PIN" \
        in text
    assert "999999" not in text and "Traceback" not in text


def test_a_plugin_error_that_quotes_the_identity_does_not_show_it(tmp_path: Path, home: Path,
                                                                  plugin_bin: Path) -> None:
    key = TestKey(LEAKY)
    path = encrypted_for(tmp_path, key.recipient)
    env = env_with(home, plugin_bin, SOPS_AGE_KEY=key.identity)
    stderr = assert_cli_error(run_encfile("-d", str(path), env=env), 128)
    assert "couldn't use an identity: cannot use <identity> today" in stderr
    assert key.identity[23:].lower() not in stderr.lower()


def test_without_a_terminal_the_pin_question_fails_with_a_hint(tmp_path: Path, home: Path,
                                                               plugin_bin: Path) -> None:
    key = TestKey(TOUCH | PIN)
    path = encrypted_for(tmp_path, key.recipient)
    env = env_with(home, plugin_bin, SOPS_AGE_KEY=key.identity)
    result = subprocess.run([*ENCFILE, "-d", str(path)], env=env, capture_output=True,
                            start_new_session=True, timeout=60)  # no controlling terminal
    stderr = result.stderr.decode()
    assert result.returncode == 128 and result.stdout == b"", stderr
    lines = stderr.splitlines()
    assert lines[0] == "encfile: encfiletest plugin: touch your encfile test key"
    assert lines[1].startswith("encfile: error: failed to decrypt ")
    assert ("encfile: hint: tried age-plugin-encfiletest: asked for a secret ('Enter PIN for "
            "encfile test key'), and there was no terminal to answer it (or no answer)") \
        in lines
    assert "Traceback" not in stderr


# -- clean errors ---------------------------------------------------------------------------------

def test_a_missing_plugin_is_a_clean_error(tmp_path: Path, home: Path) -> None:
    key = TestKey()
    path = encrypted_for(tmp_path, key.recipient)
    plain = tmp_path / "p.yaml"
    plain.write_text(PLAIN)
    env = aps.without_plugins(clean_env(home, SOPS_AGE_KEY=key.identity))  # no plugin
    stderr = assert_cli_error(run_encfile("-d", str(path), env=env), 128)
    assert ("encfile: hint: tried age-plugin-encfiletest: not found on PATH (install "
            "age-plugin-encfiletest and put it on PATH)") in stderr
    stderr = assert_cli_error(run_encfile("-e", "--age", key.recipient, str(plain), env=env), 1)
    assert "needs the program age-plugin-encfiletest, which is not on PATH" in stderr
    assert key.identity[16:50] not in stderr


def test_a_plugin_name_with_a_path_never_runs_a_program(tmp_path: Path, home: Path) -> None:
    """GHSA-32gq-x56h-299c: a recipient or identity naming 'pwn/pwn' must not run
    PATH/age-plugin-pwn/pwn."""
    folder = tmp_path / "bin"
    planted = folder / "age-plugin-pwn" / "pwn"
    planted.parent.mkdir(parents=True)
    marker = tmp_path / "pwned"
    planted.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    planted.chmod(0o755)
    env = clean_env(home, PATH=aps.plugin_path(folder))
    recipient = bech32.encode("age1pwn/pwn", os.urandom(32))
    identity = bech32.encode("AGE-PLUGIN-PWN/PWN-", os.urandom(32))
    plain = tmp_path / "p.yaml"
    plain.write_text(PLAIN)
    stderr = assert_cli_error(run_encfile("-e", "--age", recipient, str(plain), env=env), 1)
    assert "a plugin name is letters, digits and '+-._' only" in stderr
    path = encrypted_for(tmp_path, TestKey().recipient)
    stderr = assert_cli_error(run_encfile("-d", str(path), env={**env, "SOPS_AGE_KEY": identity}),
                              128)
    assert "tried SOPS_AGE_KEY: 0 identities (line 1: not an age plugin identity)" in stderr
    assert not marker.exists()


def test_identities_lists_plugin_identities_without_their_text(tmp_path: Path, home: Path,
                                                               plugin_bin: Path) -> None:
    key = TestKey()
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{key.identity}\n{TEST_SECRET}\n")
    ids.chmod(0o600)
    result = run_encfile("identities", env=env_with(home, plugin_bin,
                                                    SOPS_AGE_KEY_FILE=str(ids)))
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert f"{TEST_PUBLIC}  (SOPS_AGE_KEY_FILE={ids})" in out
    assert (f"# SOPS_AGE_KEY_FILE={ids}: 1 identity for age-plugin-encfiletest (its recipient "
            "is known to the plugin only)") in out
    assert key.identity[16:].lower() not in out.lower()
