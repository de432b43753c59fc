"""`encfile exec-file`: the command reads the plaintext from a path in memory."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import KEY_FILE, TEST_PUBLIC, clean_env, run_encfile

import encfile

pytestmark = pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="Linux memfd only")

READER = r"""
import json, os, sys
path = sys.argv[1]
first = open(path).read()
second = open(path).read()
print(json.dumps({"path": path, "same": first == second, "text": first,
                  "target": os.readlink(path), "env": sorted(os.environ)}))
sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
"""


@pytest.fixture
def setup(tmp_path: Path, home: Path) -> tuple[Path, dict[str, str], Path]:
    enc = tmp_path / "app.enc.yaml"
    enc.write_text(encfile.encrypt("db:\n    password: hunter2\n", recipients=TEST_PUBLIC))
    reader = tmp_path / "reader.py"
    reader.write_text(READER)
    return enc, clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE)), reader


def test_the_command_reads_the_plaintext_from_memory(setup: tuple[Path, dict[str, str], Path],
                                                     tmp_path: Path) -> None:
    enc, env, reader = setup
    before = set(tmp_path.rglob("*"))
    result = run_encfile("exec-file", str(enc), "--", sys.executable, str(reader), "{}", "3",
                         env={**env, "TMPDIR": str(tmp_path)})
    assert result.returncode == 3, result.stderr  # the command's own exit status
    seen = json.loads(result.stdout)
    assert seen["text"] == "db:\n    password: hunter2\n" and seen["same"]
    assert seen["path"].startswith("/proc/") and seen["target"].startswith("/memfd:")
    assert not any(k.startswith(("SOPS_AGE", "ENCFILE_AGE")) for k in seen["env"])
    assert set(tmp_path.rglob("*")) == before, "nothing written to disk"


def test_output_type_converts_for_the_command(setup: tuple[Path, dict[str, str], Path]) -> None:
    enc, env, reader = setup
    result = run_encfile("exec-file", "--output-type", "json", str(enc), "--", sys.executable,
                         str(reader), "{}", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(json.loads(result.stdout)["text"]) == {"db": {"password": "hunter2"}}


def test_exec_file_errors(setup: tuple[Path, dict[str, str], Path]) -> None:
    enc, env, _ = setup
    result = run_encfile("exec-file", str(enc), env=env)
    assert result.returncode == 1 and b"needs a file and a command" in result.stderr
    result = run_encfile("exec-file", str(enc), "--", "true", env=env)
    assert result.returncode == 0 and b"no '{}' in the command" in result.stderr
    result = run_encfile("exec-file", str(enc), "--", "no-such-command-x", "{}", env=env)
    assert result.returncode == 127


RELOADER = r"""
import signal, sys, time
path = sys.argv[1]
def show(*_):
    print(open(path).read().strip(), flush=True)
signal.signal(signal.SIGHUP, show)
show()
time.sleep(60)
"""


def test_watch_refreshes_the_content_and_signals(setup: tuple[Path, dict[str, str], Path],
                                                 tmp_path: Path) -> None:
    import select
    import subprocess
    import time

    enc, env, _ = setup
    script = tmp_path / "reload.py"
    script.write_text(RELOADER)
    proc = subprocess.Popen([sys.executable, "-m", "encfile", "exec-file", "--watch",
                             "--signal", "HUP", str(enc), "--", sys.executable, str(script),
                             "{}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            bufsize=0)  # unbuffered: select() sees every line

    def line() -> str:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "no output in time"
        return proc.stdout.readline().decode().strip()

    try:
        assert line() == ["db:", "    password: hunter2"][0]
        assert line() == "password: hunter2"
        enc.write_text(encfile.encrypt("db:\n    password: rotated\n", recipients=TEST_PUBLIC))
        started = time.monotonic()
        assert line() == "db:"
        assert line() == "password: rotated"
        assert time.monotonic() - started < 5
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.stderr is not None and b"sending SIGHUP" in proc.stderr.read()
