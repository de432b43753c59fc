"""Several encfile processes on one file at the same time.

* 10 parallel `encfile set` on different keys lose nothing (writers are serialized), while
  a reader that decrypts the file in a loop never sees a torn or unverifiable version;
* `set`, `unset` and `rotate -i` mixed in parallel: every change lands, nothing else moves;
* two `edit`s at once (the fake $EDITOR waits for a go-file before saving): the second save
  refuses to overwrite, with a clear error, and the first edit's result stays; the same
  when a `set` lands while an edit is open, and when both editors save at once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import KEY_FILE, TEST_PUBLIC, TEST_SECRET, TOKEN_RE, assert_cli_error, clean_env

import encfile
from encfile import fsutil

MODE = 0o640
NAME = "secrets.enc.yaml"
BASE = "user: admin\npassword: hunter2\nport: 5432\nnested:\n  key: zeta\n"
SPAWN_TIMEOUT = 60


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """The CLI as a user runs it, started without waiting."""
    return subprocess.Popen([sys.executable, "-m", "encfile", *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen[bytes]) -> subprocess.CompletedProcess[bytes]:
    out, err = proc.communicate(timeout=SPAWN_TIMEOUT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def decrypt(data: bytes) -> dict[str, object]:
    """Decrypt (every value and the MAC are verified) and parse."""
    return encfile.loads(data.decode(), format="yaml", identities=[TEST_SECRET])


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    target = folder / NAME
    target.write_text(encfile.encrypt(BASE, recipients=TEST_PUBLIC, format="yaml"))
    target.chmod(MODE)
    return folder


@pytest.fixture
def cenv(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir()
    (tmp_path / "tmp").mkdir()
    return clean_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(KEY_FILE),
                     TMPDIR=str(tmp_path / "tmp"))


def assert_clean_folder(folder: Path) -> None:
    """Only the target is left (no temp files), with its mode."""
    assert sorted(p.name for p in folder.iterdir()) == [NAME]
    assert (folder / NAME).stat().st_mode & 0o7777 == MODE


def sops_agrees(path: Path, env: dict[str, str]) -> None:
    """The independent oracle, when installed: sops decrypts the file (MAC included)."""
    sops = shutil.which("sops")
    if sops is not None:
        result = subprocess.run([sops, "decrypt", str(path)], env=env, capture_output=True,
                                timeout=SPAWN_TIMEOUT)
        assert result.returncode == 0, result.stderr.decode()


class Reader(threading.Thread):
    """Decrypts the file over and over while writers run; collects any failure."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.stop, self.reads, self.errors = path, threading.Event(), 0, []

    def run(self) -> None:
        while not self.stop.is_set():
            data = self.path.read_bytes()
            try:
                encfile.decrypt(data.decode(), format="yaml", identities=[TEST_SECRET])
            except (encfile.EncfileError, UnicodeDecodeError) as err:
                self.errors.append(f"{type(err).__name__}: {err} ({len(data)} bytes)")
            self.reads += 1
            time.sleep(0.002)


def test_ten_parallel_sets_on_different_keys_lose_nothing(work: Path,
                                                          cenv: dict[str, str]) -> None:
    target = work / NAME
    reader = Reader(target)
    reader.start()
    try:
        procs = [cli("set", str(target), f'["key{i}"]', json.dumps(f"value-{i}"), env=cenv,
                     cwd=work) for i in range(10)]
        results = [finish(p) for p in procs]
    finally:
        reader.stop.set()
        reader.join(timeout=SPAWN_TIMEOUT)
    for result in results:
        assert result.returncode == 0, result.stderr.decode()
    data = decrypt(target.read_bytes())
    assert data == {"user": "admin", "password": "hunter2", "port": 5432,
                    "nested": {"key": "zeta"}, **{f"key{i}": f"value-{i}" for i in range(10)}}
    assert reader.reads > 0 and not reader.errors, reader.errors[:3]
    assert_clean_folder(work)
    sops_agrees(target, cenv)


def test_parallel_set_unset_and_rotate_all_land(work: Path, cenv: dict[str, str]) -> None:
    target = work / NAME
    base_keys = ["user", "password", "port"]
    procs = [cli("unset", str(target), f'["{k}"]', env=cenv, cwd=work) for k in base_keys]
    procs += [cli("set", str(target), f'["new{i}"]', json.dumps(i), env=cenv, cwd=work)
              for i in range(3)]
    procs.insert(2, cli("rotate", "-i", str(target), env=cenv, cwd=work))
    procs.insert(4, cli("set", str(target), '["nested"]["key"]', '"omega"', env=cenv, cwd=work))
    for result in map(finish, procs):
        assert result.returncode == 0, result.stderr.decode()
    assert decrypt(target.read_bytes()) == {"nested": {"key": "omega"},
                                            **{f"new{i}": i for i in range(3)}}
    assert_clean_folder(work)


# -- two edits -------------------------------------------------------------------------------

# Marks its start, waits for its go-file, then replaces one value. EDIT_ID names the session.
EDITOR = r'''
import os, sys, time
marks, me = os.environ["EDIT_MARKS"], os.environ["EDIT_ID"]
open(os.path.join(marks, me + ".start"), "w").close()
deadline = time.monotonic() + 30
while not os.path.exists(os.path.join(marks, me + ".go")) and time.monotonic() < deadline:
    time.sleep(0.005)
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
open(path, "w", encoding="utf-8").write(text.replace("hunter2", os.environ["EDIT_NEW"]))
'''


@pytest.fixture
def runtime() -> Iterator[Path]:
    """XDG_RUNTIME_DIR for the edits: a private folder on tmpfs (edit needs one)."""
    if not fsutil.memory_folders() and fsutil.filesystem_type("/dev/shm") != "tmpfs":
        pytest.skip("no tmpfs on this machine (edit needs one)")
    folder = Path(tempfile.mkdtemp(prefix="encfile-conctest-", dir="/dev/shm"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def editing(tmp_path: Path, cenv: dict[str, str], runtime: Path) -> dict[str, str]:
    marks = tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    return {**cenv, "EDITOR": f"{sys.executable} {script}", "EDIT_MARKS": str(marks),
            "XDG_RUNTIME_DIR": str(runtime)}


def start_edit(env: dict[str, str], work: Path, me: str, new: str) -> subprocess.Popen[bytes]:
    proc = cli("edit", str(work / NAME), env={**env, "EDIT_ID": me, "EDIT_NEW": new}, cwd=work)
    started = Path(env["EDIT_MARKS"], me + ".start")
    deadline = time.monotonic() + SPAWN_TIMEOUT
    while not started.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"edit {me} did not reach its editor: {finish(proc).stderr.decode()}")
        time.sleep(0.005)
    return proc


def release(env: dict[str, str], me: str) -> None:
    Path(env["EDIT_MARKS"], me + ".go").touch()


def assert_refused(result: subprocess.CompletedProcess[bytes], folder: Path, mine: str) -> None:
    """The refused edit is kept, encrypted, in the file the message names (then removed)."""
    stderr = assert_cli_error(result, 1)
    assert "changed while it was being edited" in stderr, stderr
    (kept,) = folder.glob(NAME + ".conflict-*")
    assert f"'{kept}'" in stderr, stderr
    assert mine.encode() not in kept.read_bytes(), "the kept edit must be encrypted"
    assert decrypt(kept.read_bytes())["password"] == mine
    kept.unlink()


def test_second_edit_refuses_to_overwrite_the_first(work: Path, editing: dict[str, str],
                                                    runtime: Path) -> None:
    target = work / NAME
    first = start_edit(editing, work, "a", "from-first")
    second = start_edit(editing, work, "b", "from-second")
    try:
        release(editing, "a")
        a = finish(first)
        assert a.returncode == 0, a.stderr.decode()
        after_first = target.read_bytes()
        release(editing, "b")
        b = finish(second)
    finally:
        for proc in (first, second):
            proc.kill()
            proc.wait(timeout=SPAWN_TIMEOUT)
    assert_refused(b, work, "from-second")
    assert target.read_bytes() == after_first
    assert decrypt(after_first)["password"] == "from-first"
    assert_clean_folder(work)
    assert not list(runtime.iterdir()), "an edit left its plaintext folder behind"


def test_two_edits_saving_at_once_one_wins(work: Path, editing: dict[str, str],
                                           runtime: Path) -> None:
    target = work / NAME
    procs = {me: start_edit(editing, work, me, f"from-{me}") for me in ("a", "b")}
    try:
        release(editing, "a")
        release(editing, "b")
        results = {me: finish(proc) for me, proc in procs.items()}
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait(timeout=SPAWN_TIMEOUT)
    winners = [me for me, r in results.items() if r.returncode == 0]
    assert len(winners) == 1, {me: r.stderr.decode() for me, r in results.items()}
    (loser,) = set(results) - set(winners)
    assert_refused(results[loser], work, f"from-{loser}")
    assert decrypt(target.read_bytes())["password"] == f"from-{winners[0]}"
    assert_clean_folder(work)
    assert not list(runtime.iterdir())


def test_edit_refuses_to_save_over_a_set_made_meanwhile(work: Path, editing: dict[str, str],
                                                        cenv: dict[str, str]) -> None:
    target = work / NAME
    before = target.read_text()
    session = start_edit(editing, work, "a", "from-edit")
    try:
        meanwhile = finish(cli("set", str(target), '["port"]', "6543", env=cenv, cwd=work))
        assert meanwhile.returncode == 0, meanwhile.stderr.decode()
        after_set = target.read_bytes()
        release(editing, "a")
        result = finish(session)
    finally:
        session.kill()
        session.wait(timeout=SPAWN_TIMEOUT)
    assert_refused(result, work, "from-edit")
    assert target.read_bytes() == after_set
    data = decrypt(after_set)
    assert data["port"] == 6543 and data["password"] == "hunter2"
    # The set kept the other values' ciphertext: the two writers really shared one file.
    def value_tokens(text: str) -> set[str]:
        return {m.group(0) for m in TOKEN_RE.finditer(text.split("\nsops:")[0])}

    assert len(value_tokens(before) & value_tokens(after_set.decode())) == 3
    assert_clean_folder(work)
