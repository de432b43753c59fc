"""What the publish tests share: a project folder with a .sops.yaml, encrypted files made
by encfile or sops, and the two tools run the way a user runs them."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import KEY_FILE, TEST_PUBLIC, run_encfile
from fakecloud import go_sops

#: a document with every JSON type, nested maps and a list of maps
DOC = {"db_password": "s3cret-value-1", "port": 5432, "ratio": 1.5, "debug": False,
       "empty": None, "nested": {"user": "app", "tags": ["a", "b"]},
       "list": [1, {"k": "v"}]}


def project(root: Path, rules: str, *, creation: str = "") -> Path:
    """A project folder whose .sops.yaml has the test key's creation rule (or
    ``creation``) and these destination rules (YAML lines, indented by 2)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / ".sops.yaml").write_text(
        (creation or f"creation_rules:\n  - age: {TEST_PUBLIC}\n")
        + "destination_rules:\n" + rules)
    return root


def encrypted(root: Path, name: str, data: Any = None, *, text: str | None = None,
              env: dict[str, str], tool: str = "encfile") -> Path:
    """``root/name`` encrypted in place by encfile (or sops) from JSON data or a text."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else json.dumps(DOC if data is None else data,
                                                             indent=2) + "\n")
    if tool == "sops":
        result = subprocess.run([go_sops(), "encrypt", "-i", str(path)], cwd=root, env=env,
                                capture_output=True, timeout=120)
    else:
        result = run_encfile("-e", "-i", str(path), env=env, cwd=root)
    assert result.returncode == 0, result.stderr.decode()
    return path


def with_key(env: dict[str, str]) -> dict[str, str]:
    return {**env, "SOPS_AGE_KEY_FILE": str(KEY_FILE)}


def publish(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """``encfile publish ARGS`` without a terminal."""
    return subprocess.run([sys.executable, "-m", "encfile", "publish", *args], env=env,
                          cwd=cwd, capture_output=True, timeout=180, stdin=subprocess.DEVNULL)


def sops_publish(*args: str, env: dict[str, str], cwd: Path
                 ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([go_sops(), "publish", *args], env=env, cwd=cwd,
                          capture_output=True, timeout=180, stdin=subprocess.DEVNULL)


def decrypted_data(path: Path, env: dict[str, str]) -> Any:
    """What ``encfile -d`` gives for a JSON file, as data."""
    result = run_encfile("-d", str(path), env=env)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, (result.returncode, result.stderr.decode())
    return result.stderr.decode()


class AtPrompt:
    """``encfile publish`` on a pseudo-terminal (its standard input), stopped at its first
    question: :meth:`answer` types the reply and returns (exit code, stderr)."""

    def __init__(self, *args: str, env: dict[str, str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([sys.executable, "-m", "encfile", "publish", *args],
                                     env=env, cwd=cwd, stdin=slave, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        os.close(slave)
        self.err = b""
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 120
        while b"[y/N]" not in self.err:
            assert time.monotonic() < deadline, self.err.decode()
            ready, _, _ = select.select([self.proc.stderr], [], [], 1)
            if ready:
                chunk = os.read(self.proc.stderr.fileno(), 4096)
                assert chunk, f"encfile ended before asking: {self.err.decode()}"
                self.err += chunk

    def answer(self, reply: str) -> tuple[int, str]:
        os.write(self.master, reply.encode() + b"\n")
        _, err = self.proc.communicate(timeout=120)
        os.close(self.master)
        return self.proc.returncode, (self.err + err).decode()
