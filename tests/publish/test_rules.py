"""destination_rules as .sops.yaml holds them: checked when a file uses them, errors with
their line and the known keys; and publish's progress on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEST_PUBLIC, clean_env
from publish_support import encrypted, project, publish, with_key
from servers import OpenBao, openbao_fixture, openbao_server_fixture  # noqa: F401


@pytest.mark.parametrize(("rules", "message"), [
    ("  - vault_path: app/\n    vault_kv_mount: secret/\n",
     "line 5: unknown key 'vault_kv_mount'"),
    ("  - vault_path: app/\n    s3_bucket: b\n",
     "line 4: a destination rule needs exactly one of s3_bucket, gcs_bucket, vault_path or "
     "aws_secret_name (it has s3_bucket, vault_path)"),
    ("  - vault_address: https://v:8200\n", "needs exactly one of"),
    ("  - vault_path: app/\n    vault_kv_version: 3\n",
     "line 5: 'vault_kv_version' must be 1 or 2"),
    ("  - s3_bucket: b\n    omit_extensions: yes please\n",
     "line 5: 'omit_extensions' must be true or false"),
    ("  - s3_bucket: b\n    recreation_rule: {age: x}\n    reencryption_rule: {age: x}\n",
     "not both"),
    ("  - path_regex: '('\n    s3_bucket: b\n", "is not a valid regular expression"),
])
def test_a_bad_rule_is_one_line_with_its_line(tmp_path: Path, rules: str, message: str
                                              ) -> None:
    env = with_key(clean_env(tmp_path / "home"))
    root = project(tmp_path / "p", rules)
    encrypted(root, "a.json", {"a": 1}, env=env)
    result = publish("-y", "a.json", env=env, cwd=root)
    err = result.stderr.decode()
    assert result.returncode == 1 and message in err, err
    assert "Traceback" not in err
    if "unknown key" in message:
        assert "known keys here: aws_secret_name, aws_secret_split, gcs_bucket" in err


def test_other_commands_read_a_config_with_destination_rules(tmp_path: Path) -> None:
    """A .sops.yaml with destination_rules (once warned about and ignored) still gives
    encrypt its creation rule, and a broken destination rule stops only publish."""
    env = with_key(clean_env(tmp_path / "home"))
    root = project(tmp_path / "p", "  - bogus: 1\n")
    path = encrypted(root, "a.json", {"a": 1}, env=env)
    assert TEST_PUBLIC in path.read_text()
    assert b"unknown key 'bogus'" in publish("-y", "a.json", env=env, cwd=root).stderr


def test_progress_on_a_terminal_for_many_files(openbao: OpenBao, tmp_path: Path) -> None:
    env = with_key(openbao.env(tmp_path / "home"))
    root = project(tmp_path / "p", f"  - vault_path: many/\n    vault_address: "
                                   f"{openbao.address}\n")
    for index in range(21):
        encrypted(root, f"s/f{index:02}.json", {"n": index}, env=env)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "encfile", "publish", "-y",
                             "--recursive", "s"], cwd=root, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(120) == 0
    os.close(master)
    assert b"\rencfile: publishing 20/21" in seen, seen
    names = openbao.call("LIST", "secret/metadata/many/")["data"]["keys"]
    assert names == [f"f{index:02}.json" for index in range(21)]  # below the folder
