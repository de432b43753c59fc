"""Every command explains itself: a summary, an example, -v/-q, and no colour codes."""

from __future__ import annotations

import contextlib
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_encfile

COMMANDS = ["encrypt", "decrypt", "exec", "exec-file", "git", "edit", "set", "unset",
            "rotate", "updatekeys", "status", "keygen", "identities", "init"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_and_verbosity_options(
        command: str, env: dict[str, str]) -> None:
    result = run_encfile(command, "--help", env={**env, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    assert "Example" in text and "encfile " in text.split("Example", 1)[1]
    assert "--verbose" in text and "--quiet" in text
    assert "\x1b[" not in text


def test_top_level_help_lists_every_command(env: dict[str, str]) -> None:
    text = run_encfile("--help", env=env).stdout.decode()
    for command in COMMANDS:
        assert f"  {command} " in text, command
    assert "Exit codes" in text and "\x1b[" not in text


def test_progress_shows_only_on_a_terminal(tmp_path: Path, env: dict[str, str]) -> None:
    from conftest import TEST_PUBLIC

    import encfile

    files = []
    for i in range(25):
        path = tmp_path / f"s{i}.enc.yaml"
        path.write_text(encfile.encrypt(f"k: v{i}\n", recipients=TEST_PUBLIC, format="yaml"))
        files.append(str(path))
    piped = run_encfile("-d", *files, env=env)
    assert piped.returncode == 0 and piped.stderr == b""
    for quiet in ([], ["-q"]):
        controller, terminal = pty.openpty()
        try:
            done = subprocess.run([sys.executable, "-m", "encfile", "-d", *quiet, *files],
                                  env=env, stdout=subprocess.PIPE, stderr=terminal, timeout=120)
            os.close(terminal)
            shown = b""
            with contextlib.suppress(OSError):
                while chunk := os.read(controller, 4096):
                    shown += chunk
        finally:
            os.close(controller)
        assert done.returncode == 0 and done.stdout.count(b"k: v") == 25
        assert (b"encfile: decrypting 24/25" in shown) == (not quiet), shown
        assert b"\x1b[" not in shown
