"""`encfile exec`: real child processes, their environment, exit codes, stdio and signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import KEY_FILE, TEST_PUBLIC, assert_cli_error, clean_env, run_encfile

import encfile

DUMP_ENV = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]


def encrypt_to(path: Path, text: str, fmt: str) -> Path:
    path.write_text(encfile.encrypt(text, recipients=TEST_PUBLIC, format=fmt))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    encrypt_to(folder / "secrets.enc.yaml",
               "db:\n    password: hunter2\n    port: 5432\nhosts: [a, b]\napi-key: k\n"
               "debug: true\n", "yaml")
    encrypt_to(folder / "extra.enc.env", 'TOKEN="abc def"\nexport DB_PORT=6543\n', "dotenv")
    return folder


@pytest.fixture
def exec_env(home: Path) -> dict[str, str]:
    return clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE), KEEP_ME="inherited")


def child_env(*args: str, env: dict[str, str], cwd: Path) -> dict[str, str]:
    result = run_encfile("exec", *args, "--", *DUMP_ENV, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    out: dict[str, str] = json.loads(result.stdout)
    return out


def test_nested_values_reach_the_child(project: Path, exec_env: dict[str, str]) -> None:
    env = child_env(env=exec_env, cwd=project)  # secrets.enc.yaml found in the folder
    assert env["DB_PASSWORD"] == "hunter2" and env["DB_PORT"] == "5432"
    assert env["HOSTS_0"] == "a" and env["HOSTS_1"] == "b"
    assert env["API_KEY"] == "k" and env["DEBUG"] == "true"
    assert env["KEEP_ME"] == "inherited"
    assert not any(k.startswith(("SOPS_AGE", "ENCFILE_AGE")) for k in env), "identity leaked"


def test_several_files_prefix_and_pristine(project: Path, exec_env: dict[str, str]) -> None:
    env = child_env("-f", "secrets.enc.yaml", "-f", "extra.enc.env", "--prefix", "APP_",
                    "--pristine", env=exec_env, cwd=project)
    assert env["APP_DB_PORT"] == "6543", "later files override earlier ones"
    assert env["APP_TOKEN"] == "abc def"
    assert "KEEP_ME" not in env and "PATH" not in env
    assert set(env) >= {"APP_DB_PASSWORD", "APP_HOSTS_0", "APP_API_KEY"}


def test_no_override_and_no_flatten(project: Path, exec_env: dict[str, str]) -> None:
    env = child_env("--no-override", env={**exec_env, "API_KEY": "mine"}, cwd=project)
    assert env["API_KEY"] == "mine"
    flat = child_env("--no-flatten", "-f", "extra.enc.env", env=exec_env, cwd=project)
    assert flat["TOKEN"] == "abc def" and flat["DB_PORT"] == "6543"


def test_no_flatten_refuses_nested_values(project: Path, exec_env: dict[str, str]) -> None:
    # As sops exec-env ("cannot use complex value in environment"): never a silent drop.
    result = run_encfile("exec", "--no-flatten", "--", "true", env=exec_env, cwd=project)
    stderr = assert_cli_error(result, 1)
    assert "'db' holds a mapping" in stderr and "--no-flatten" in stderr
    assert "hunter2" not in stderr


def test_exec_files_listed_in_the_project_config(project: Path,
                                                 exec_env: dict[str, str]) -> None:
    (project / ".encfile.yaml").write_text("exec:\n    files: [extra.enc.env]\n")
    sub = project / "sub"
    sub.mkdir()
    result = run_encfile("exec", "-v", "--", *DUMP_ENV, env=exec_env, cwd=sub)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["TOKEN"] == "abc def"
    assert b"extra.enc.env" in result.stderr


def test_exit_status_and_stdio_are_the_commands(project: Path,
                                                exec_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "encfile", "exec", "--", sys.executable, "-c",
         "import sys; data = sys.stdin.read(); print(data.upper()); "
         "print('err', file=sys.stderr); sys.exit(42)"],
        input=b"piped in", capture_output=True, env=exec_env, cwd=project, timeout=60)
    assert result.returncode == 42
    assert result.stdout == b"PIPED IN\n" and result.stderr == b"err\n"


def test_signals_reach_the_command(project: Path, exec_env: dict[str, str],
                                   tmp_path: Path) -> None:
    marker = tmp_path / "got-term"
    script = ("import signal, sys, time\n"
              f"def h(*a): open({str(marker)!r}, 'w').write('yes'); sys.exit(7)\n"
              "signal.signal(signal.SIGTERM, h)\nprint('ready', flush=True)\ntime.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-m", "encfile", "exec", "--", sys.executable, "-c",
                             script], stdout=subprocess.PIPE, env=exec_env, cwd=project)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGTERM)  # encfile became the command: same process
    assert proc.wait(timeout=30) == 7
    assert marker.read_text() == "yes"


def test_errors(project: Path, exec_env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["exec", "--", "true"], empty, 100, "no secrets file"),
        (["exec", "-f", "secrets.enc.yaml"], project, 1, "no command to run"),
        (["exec", "--", "no-such-command-x"], project, 127, "command not found"),
        (["exec", "--bogus", "--", "true"], project, 1, "no such option"),
        (["exec", "--watch", "--", "no-such-command-x"], project, 127, "command not found"),
    ]
    for args, cwd, code, message in cases:
        result = run_encfile(*args, env=exec_env, cwd=cwd)
        assert result.returncode == code, (args, result.stderr)
        assert message in result.stderr.decode() and result.stdout == b""


def test_colliding_names_name_both_keys_never_a_value(tmp_path: Path,
                                                      exec_env: dict[str, str]) -> None:
    encrypt_to(tmp_path / "secrets.enc.yaml", "db:\n    pass: s3cret\ndb_pass: other\n", "yaml")
    result = run_encfile("exec", "--", "true", env=exec_env, cwd=tmp_path)
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert "'db.pass'" in stderr and "'db_pass'" in stderr and "$DB_PASS" in stderr
    assert "s3cret" not in stderr and "other" not in stderr


def test_no_plaintext_left_on_disk(project: Path, exec_env: dict[str, str],
                                   tmp_path: Path) -> None:
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    env = {**exec_env, "TMPDIR": str(tmp)}
    before = set(project.rglob("*"))
    for args in (["--", "true"], ["--", "false"], ["--", "no-such-command-x"]):
        run_encfile("exec", *args, env=env, cwd=project)
    assert list(tmp.iterdir()) == []
    assert set(project.rglob("*")) == before
    for path in project.rglob("*"):
        assert b"hunter2" not in path.read_bytes()


# -- --watch ----------------------------------------------------------------------------------------

# "start" is printed once the handler is in place: a SIGTERM the test sends after reading it
# must find the handler (printing first let the signal kill the child silently).
WATCHED = r"""
import os, signal, sys, time
def bye(num, frame):
    print("term", flush=True)
    sys.exit(9)
signal.signal(signal.SIGTERM, bye)
print("start", os.environ.get("TOKEN"), flush=True)
time.sleep(60)
"""


def _read_line(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> str:
    assert proc.stdout is not None
    ready, _, _ = __import__("select").select([proc.stdout], [], [], timeout)
    assert ready, "no output in time"
    return proc.stdout.readline().decode().strip()


def test_watch_restarts_the_command_when_the_secrets_change(tmp_path: Path,
                                                            exec_env: dict[str, str]) -> None:
    secrets = encrypt_to(tmp_path / "s.enc.env", "TOKEN=one\n", "dotenv")
    script = tmp_path / "child.py"
    script.write_text(WATCHED)
    proc = subprocess.Popen([sys.executable, "-m", "encfile", "exec", "--watch", "-f",
                             str(secrets), "--", sys.executable, str(script)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=exec_env,
                            cwd=tmp_path, bufsize=0)  # unbuffered: select() sees every line
    try:
        assert _read_line(proc) == "start one"
        # a broken file keeps the running command
        good = secrets.read_text()
        secrets.write_text(good.replace("ENC[AES256_GCM,data:", "ENC[AES256_GCM,data:AA", 1))
        time.sleep(1.0)
        assert proc.poll() is None
        # a rotation: restarted with the new value within a second or two
        changed = time.monotonic()
        secrets.write_text(encfile.encrypt("TOKEN=two\n", recipients=TEST_PUBLIC,
                                           format="dotenv"))
        assert _read_line(proc) == "term"
        assert _read_line(proc) == "start two"
        assert time.monotonic() - changed < 5
        proc.send_signal(signal.SIGTERM)  # forwarded; the child's status comes back
        assert _read_line(proc) == "term"
        assert proc.wait(timeout=20) == 9
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert "cannot be read" in stderr and "restarting the command" in stderr
    assert "one" not in stderr and "two" not in stderr


def test_yaml_dates_and_times_reach_the_child_as_rfc3339(tmp_path: Path, home: Path) -> None:
    encrypt_to(tmp_path / "s.enc.yaml", "day: 2024-01-02\nat: 2024-01-02T03:04:05Z\n"
               "ratio: 0.5\nlist: [1, x]\n", "yaml")
    env = child_env("-f", "s.enc.yaml", env=clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE)),
                    cwd=tmp_path)
    assert env["DAY"] == "2024-01-02T00:00:00Z"  # a type:time value, as sops exec-env shows it
    assert env["AT"] == "2024-01-02T03:04:05Z"
    assert env["RATIO"] == "0.5"
    assert env["LIST_0"] == "1" and env["LIST_1"] == "x"
