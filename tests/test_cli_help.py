"""Every command explains itself: a summary, an example, -v/-q, and no colour codes."""

from __future__ import annotations

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
