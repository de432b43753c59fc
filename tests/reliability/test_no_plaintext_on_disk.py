"""No plaintext on disk: every command that decrypts writes only where the user asked.

Each run goes through an audit hook (``sys.addaudithook``) installed before encfile is
imported, in the CLI's own process::

    python -c "<open the log; sys.addaudithook(hook); from encfile.cli import main; main()>"

The hook records every ``open`` with a write mode or write flags, ``os.rename`` (which
``os.replace`` raises too), ``tempfile.mkstemp``/``mkdtemp``, ``os.mkdir``, links,
truncation and ``shutil.copyfile``. A write is allowed only to

* the explicit output (``-o``/``-i``, the file ``edit`` saves, OURS for the merge driver),
  or a temp file that is then renamed onto it;
* a file on tmpfs inside a memory folder (``$XDG_RUNTIME_DIR``, ``/dev/shm``), as ``edit``
  uses (checked in /proc/mounts);
* a memfd (``exec-file``), which has no path and raises no ``open`` event.

Every other write is reported. After each run, failures included, TMPDIR, HOME,
``$XDG_RUNTIME_DIR`` and the working folder are scanned for the canaries (raw, hex,
base64 at each alignment, and inside zlib-compressed git objects).

git runs the merge and textconv drivers itself: for the real ``git merge``,
``encfile git setup`` runs through a script named ``encfile`` (the same hook, then
encfile's main), and setup records the program that ran it, so git calls the audited
process.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import (
    EXIT_MAC,
    EXIT_TAMPERED,
    KEY_FILE,
    TEST_PUBLIC,
    TEST_SECRET,
    TOKEN_RE,
    assert_cli_error,
    clean_env,
    run_encfile,
)

import encfile

# -- the audit hook ------------------------------------------------------------------------------

HOOK = r'''
import json, os, sys
_log = os.open(os.environ["ENCFILE_AUDIT_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_EVENTS = {"os.rename", "tempfile.mkstemp", "tempfile.mkdtemp", "os.mkdir", "os.link",
           "os.symlink", "os.truncate", "shutil.copyfile", "os.chmod"}


def _plain(value):
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, bytes):
        return os.fsdecode(value)
    try:
        return os.fspath(value)
    except TypeError:
        return repr(value)


def _record(event, args):
    line = {"pid": os.getpid(), "cwd": os.getcwd(), "event": event,
            "args": [_plain(a) for a in args]}
    os.write(_log, (json.dumps(line) + "\n").encode())


def _hook(event, args):
    if event == "open":
        path, mode, flags = args
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) \
                or (isinstance(flags, int) and flags & _WRITE_FLAGS):
            _record(event, args)
    elif event in _EVENTS:
        _record(event, args)


_record("argv", sys.argv)
sys.addaudithook(_hook)
from encfile.cli import main
main()
'''

_MEMORY_FS = ("tmpfs", "ramfs")


def fs_type(path: str) -> str:
    """The file system type of ``path`` (longest mount point in /proc/mounts)."""
    path = os.path.realpath(path)
    best, kind = "", ""
    with open("/proc/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) < 3:
                continue
            point = fields[1].replace("\\040", " ")
            if (path == point or path.startswith(point.rstrip("/") + "/")) \
                    and len(point) >= len(best):
                best, kind = point, fields[2]
    return kind


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@dataclass
class Write:
    pid: int
    event: str
    path: str
    argv: list[str]

    def __str__(self) -> str:
        return f"{self.event} {self.path!r} by encfile {' '.join(self.argv[1:])!r}"


@dataclass
class Sandbox:
    """Fresh HOME, TMPDIR, working folder and (on tmpfs) XDG_RUNTIME_DIR for one test."""

    root: Path
    work: Path
    home: Path
    tmp: Path
    runtime: Path | None
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, env: dict[str, str] | None = None, input: bytes | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        """The CLI under the audit hook, in the working folder."""
        return subprocess.run([sys.executable, "-c", HOOK, *args], input=input,
                              capture_output=True, env=self.env if env is None else env,
                              cwd=self.work, timeout=timeout)

    def events(self) -> list[dict[str, object]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def runs(self) -> list[list[str]]:
        """The argv of every audited process so far."""
        return [e["args"] for e in self.events() if e["event"] == "argv"]  # type: ignore[misc]

    def writes(self) -> list[Write]:
        """Every write event with a path, resolved against the process's folder."""
        argv_of: dict[int, list[str]] = {}
        out = []
        for e in self.events():
            pid, event, args, cwd = e["pid"], e["event"], e["args"], e["cwd"]
            assert isinstance(pid, int) and isinstance(args, list) and isinstance(cwd, str)
            if event == "argv":
                argv_of[pid] = args
                continue
            if event == "os.chmod":
                continue
            target = args[1] if event in ("os.rename", "os.link", "os.symlink",
                                          "shutil.copyfile") else args[0]
            if not isinstance(target, str):
                continue  # a file descriptor: its creation was recorded (or it is a memfd)
            path = os.path.realpath(os.path.join(cwd, target))
            out.append(Write(pid, str(event), path, argv_of.get(pid, [])))
        return out

    def renames(self) -> list[tuple[str, str]]:
        out = []
        for e in self.events():
            if e["event"] == "os.rename":
                args, cwd = e["args"], e["cwd"]
                assert isinstance(args, list) and isinstance(cwd, str)
                out.append((os.path.realpath(os.path.join(cwd, args[0])),
                            os.path.realpath(os.path.join(cwd, args[1]))))
        return out

    def memory_folders(self) -> list[str]:
        folders = [str(self.runtime)] if self.runtime else []
        folders += ["/dev/shm", "/run/shm"]
        return [os.path.realpath(f) for f in folders
                if os.path.isdir(f) and fs_type(f) in _MEMORY_FS]

    def forbidden_writes(self, outputs: Iterable[Path | str] = ()) -> list[str]:
        """Writes to anything but the outputs (or temps renamed onto them) and tmpfs."""
        allowed = {os.path.realpath(os.path.join(self.work, o)) for o in outputs}
        writes = self.writes()
        for w in writes:
            if w.argv[1:3] == ["git", "merge"] and len(w.argv) == 7:
                # git's merge driver contract: the result goes to %A (OURS).
                allowed.add(os.path.realpath(os.path.join(self.work, w.argv[4])))
        allowed |= {src for src, dst in self.renames() if dst in allowed}
        memory = self.memory_folders()
        bad = []
        for w in writes:
            if w.path in allowed:
                continue
            if any(_inside(w.path, m) for m in memory) and fs_type(w.path) in _MEMORY_FS:
                continue
            bad.append(str(w))
        return bad

    def scan_roots(self) -> list[Path]:
        return [p for p in (self.work, self.home, self.tmp, self.runtime) if p is not None]


def canary_forms(canary: str) -> list[bytes]:
    raw = canary.encode()
    forms = [raw, raw.hex().encode(), raw.hex().upper().encode()]
    for shift in range(3):  # one of these is aligned with any base64 encoding of the value
        chunk = raw[shift:]
        chunk = chunk[:len(chunk) - len(chunk) % 3]
        forms.append(base64.b64encode(chunk))
        forms.append(base64.urlsafe_b64encode(chunk))
    return forms


def leaks(roots: Iterable[Path], canaries: Iterable[str],
          exclude: Iterable[Path] = ()) -> list[str]:
    """Files (or names) under ``roots`` that hold a canary in any form."""
    forms = [f for c in canaries for f in canary_forms(c)]
    skip = {os.path.realpath(p) for p in exclude}
    found = []
    for root in roots:
        for folder, dirs, names in os.walk(root):
            for name in dirs + names:
                path = os.path.join(folder, name)
                if any(f in name.encode() for f in forms):
                    found.append(f"{path} (name)")
                if name not in names or os.path.realpath(path) in skip:
                    continue
                if not stat.S_ISREG(os.lstat(path).st_mode):
                    continue
                data = Path(path).read_bytes()
                with contextlib.suppress(zlib.error):  # loose git objects
                    data += zlib.decompress(data)
                if any(f in data for f in forms):
                    found.append(path)
    return found


def assert_clean(sb: Sandbox, canaries: Iterable[str], outputs: Iterable[Path | str] = (),
                 exclude: Iterable[Path] = ()) -> None:
    bad = sb.forbidden_writes(outputs)
    assert bad == [], "writes outside the explicit output and tmpfs:\n" + "\n".join(bad)
    leaked = leaks(sb.scan_roots(), canaries, exclude)
    assert leaked == [], "plaintext left on disk:\n" + "\n".join(leaked)


# -- fixtures and documents ----------------------------------------------------------------------

@pytest.fixture
def sb(tmp_path: Path) -> Iterable[Sandbox]:
    work, home, tmp = tmp_path / "work", tmp_path / "home", tmp_path / "tmp"
    for p in (work, home, tmp):
        p.mkdir()
    runtime = None
    if os.path.isdir("/dev/shm") and fs_type("/dev/shm") in _MEMORY_FS:
        runtime = Path(tempfile.mkdtemp(prefix="encfile-test-run-", dir="/dev/shm"))
        runtime.chmod(0o700)
    log = tmp_path / "audit.log"
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE), TMPDIR=str(tmp),
                    ENCFILE_AUDIT_LOG=str(log), PYTHONDONTWRITEBYTECODE="1")
    if runtime is not None:
        env["XDG_RUNTIME_DIR"] = str(runtime)
    else:
        env.pop("XDG_RUNTIME_DIR", None)
    yield Sandbox(tmp_path, work, home, tmp, runtime, log, env)
    if runtime is not None:
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def canaries() -> list[str]:
    return [f"CANARY{uuid.uuid4().hex}" for _ in range(6)]


def yaml_text(c: list[str]) -> str:
    return f"db:\n  user: app\n  password: {c[0]}  # {c[1]}\nlist:\n  - {c[2]}\nport: 5432\n"


def env_text(c: list[str]) -> str:
    return f"DB_USER=app\nDB_PASSWORD={c[0]}\n# {c[1]}\nAPI_TOKEN={c[2]}\n"


def json_text(c: list[str]) -> str:
    return json.dumps({"db": {"password": c[0]}, "list": [c[2]], "n": 3}, indent=2) + "\n"


DOCS = {"yaml": yaml_text, "dotenv": env_text, "json": json_text}
EXT = {"yaml": "yaml", "dotenv": "env", "json": "json"}


def encrypted(sb: Sandbox, c: list[str], fmt: str = "yaml", name: str | None = None) -> Path:
    """An encrypted file in the working folder (made in memory: no plaintext is written)."""
    path = sb.work / (name or f"s.enc.{EXT[fmt]}")
    path.write_text(encfile.encrypt(DOCS[fmt](c), recipients=TEST_PUBLIC, format=fmt))
    return path


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1:]


def break_mac(text: str) -> str:
    m = re.search(r'(mac: |sops_mac=|"mac":\s*")ENC\[AES256_GCM,data:', text)
    assert m, "no mac in the file"
    return _flip(text, m.end())


def break_value(text: str) -> str:
    m = TOKEN_RE.search(text)
    assert m
    return _flip(text, m.start("data"))


def secret_of(path: Path, fmt: str = "yaml") -> str:
    return encfile.decrypt(path.read_text(), format=fmt, identities=[TEST_SECRET])


def no_writes_at_all(sb: Sandbox) -> None:
    assert sb.runs(), "the audit hook did not run"
    assert sb.writes() == []


# -- the checks themselves -------------------------------------------------------------------------

def test_the_checks_catch_a_write_nobody_asked_for(sb: Sandbox, canaries: list[str]) -> None:
    """A decryption into TMPDIR, judged as if it had no explicit output: both the audit and
    the scan must object (so a quiet run below means something)."""
    path = encrypted(sb, canaries)
    stray = sb.tmp / "stray.yaml"
    result = sb.run("-d", "-o", str(stray), path.name)
    assert result.returncode == 0, result.stderr.decode()
    assert any(str(stray.resolve()) in line for line in sb.forbidden_writes())
    assert sb.forbidden_writes(outputs=[stray]) == []
    assert leaks(sb.scan_roots(), canaries) == [str(stray)]
    stray.write_bytes(b"x" + base64.b64encode(canaries[1].encode()))  # any alignment
    assert leaks(sb.scan_roots(), canaries[1:2]) == [str(stray)]
    stray.write_bytes(zlib.compress(canaries[2].encode()))  # a loose git object
    assert leaks(sb.scan_roots(), canaries[2:3]) == [str(stray)]


# -- decrypt ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["yaml", "dotenv", "json"])
def test_decrypt_to_stdout_writes_nothing(sb: Sandbox, canaries: list[str], fmt: str) -> None:
    path = encrypted(sb, canaries, fmt)
    result = sb.run("-d", path.name)
    assert result.returncode == 0, result.stderr.decode()
    assert canaries[0].encode() in result.stdout
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


def test_decrypt_to_output_writes_only_the_output(sb: Sandbox, canaries: list[str]) -> None:
    path = encrypted(sb, canaries)
    result = sb.run("-d", "-o", "out.yaml", path.name)
    assert result.returncode == 0, result.stderr.decode()
    out = sb.work / "out.yaml"
    assert out.read_text() == yaml_text(canaries)
    # the hook sees the write (so the check below can fail), and nothing else
    assert any(w.path == str(out.resolve()) for w in sb.writes())
    assert_clean(sb, canaries, outputs=[out], exclude=[out])


def test_decrypt_in_place_writes_only_the_file(sb: Sandbox, canaries: list[str]) -> None:
    path = encrypted(sb, canaries)
    result = sb.run("-d", "-i", path.name)
    assert result.returncode == 0, result.stderr.decode()
    assert path.read_text() == yaml_text(canaries)
    assert sb.writes()
    assert_clean(sb, canaries, outputs=[path], exclude=[path])


def test_decrypt_into_a_subfolder_output(sb: Sandbox, canaries: list[str]) -> None:
    path = encrypted(sb, canaries)
    (sb.work / "out").mkdir()
    result = sb.run("-d", "--output", "out/plain.yaml", path.name)
    assert result.returncode == 0, result.stderr.decode()
    out = sb.work / "out" / "plain.yaml"
    assert out.read_text() == yaml_text(canaries)
    assert_clean(sb, canaries, outputs=[out], exclude=[out])


FAILURES = {
    "mac": (break_mac, EXIT_MAC),
    "value": (break_value, EXIT_TAMPERED),
}


@pytest.mark.parametrize(("fmt", "how", "target"), [
    ("yaml", "mac", "stdout"), ("yaml", "mac", "-o"), ("yaml", "mac", "-i"),
    ("yaml", "value", "-o"), ("yaml", "value", "-i"),
    ("dotenv", "mac", "-o"), ("dotenv", "value", "stdout"),
])
def test_failed_decrypt_writes_nothing(sb: Sandbox, canaries: list[str], how: str,
                                       target: str, fmt: str) -> None:
    breaker, code = FAILURES[how]
    path = encrypted(sb, canaries, fmt)
    path.write_text(breaker(path.read_text()))
    before = path.read_bytes()
    extra = {"stdout": [], "-o": ["-o", "out.txt"], "-i": ["-i"]}[target]
    result = sb.run("-d", *extra, path.name)
    assert_cli_error(result, code)
    assert not (sb.work / "out.txt").exists()
    assert path.read_bytes() == before
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


def test_decrypt_without_an_identity_writes_nothing(sb: Sandbox, canaries: list[str]) -> None:
    path = encrypted(sb, canaries)
    env = {k: v for k, v in sb.env.items() if k != "SOPS_AGE_KEY_FILE"}
    result = sb.run("-d", "-o", "out.yaml", path.name, env=env)
    assert_cli_error(result, 128)
    assert not (sb.work / "out.yaml").exists()
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


# -- exec and exec-file ----------------------------------------------------------------------------

CHECK_ENV = ("import os, sys; "
             "sys.exit(0 if os.environ.get('DB_PASSWORD') == sys.argv[1] else 9)")
# The placeholder path must be a memfd, not a file on disk, and hold the plaintext.
CHECK_MEMFD = ("import os, sys; p = sys.argv[1]; data = open(p, 'rb').read(); "
               "ok = os.readlink(p).startswith('/memfd:') and sys.argv[2].encode() in data; "
               "sys.exit(0 if ok else 9)")


def test_exec_writes_nothing(sb: Sandbox, canaries: list[str]) -> None:
    path = encrypted(sb, canaries, "dotenv")
    result = sb.run("exec", "-f", path.name, "--", sys.executable, "-c", CHECK_ENV, canaries[0])
    assert result.returncode == 0, result.stderr.decode()
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


def test_exec_of_a_missing_command_writes_nothing(sb: Sandbox, canaries: list[str]) -> None:
    path = encrypted(sb, canaries, "dotenv")
    result = sb.run("exec", "-f", path.name, "--", "encfile-no-such-command-here")
    assert result.returncode == 127, result.stderr.decode()
    assert b"command not found" in result.stderr
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


def test_exec_of_a_tampered_file_writes_nothing(sb: Sandbox, canaries: list[str]) -> None:
    path = encrypted(sb, canaries, "dotenv")
    path.write_text(break_mac(path.read_text()))
    marker = sb.root / "child-ran"
    result = sb.run("exec", "-f", path.name, "--", sys.executable, "-c",
                    f"open({str(marker)!r}, 'w').close()")
    assert_cli_error(result, EXIT_MAC)
    assert not marker.exists()
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_exec_file_uses_a_memfd_only(sb: Sandbox, canaries: list[str], fmt: str) -> None:
    path = encrypted(sb, canaries, fmt)
    result = sb.run("exec-file", path.name, "--", sys.executable, "-c", CHECK_MEMFD, "{}",
                    canaries[0])
    assert result.returncode == 0, result.stderr.decode()
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


def test_exec_file_with_output_type_uses_a_memfd_only(sb: Sandbox,
                                                      canaries: list[str]) -> None:
    path = encrypted(sb, canaries, "yaml")
    result = sb.run("exec-file", "--output-type", "json", path.name, "--", sys.executable,
                    "-c", CHECK_MEMFD, "{}", canaries[0])
    assert result.returncode == 0, result.stderr.decode()
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


@pytest.mark.parametrize("broken", [False, True])
def test_exec_file_failures_write_nothing(sb: Sandbox, canaries: list[str],
                                          broken: bool) -> None:
    path = encrypted(sb, canaries)
    if broken:
        path.write_text(break_value(path.read_text()))
    result = sb.run("exec-file", path.name, "--", "encfile-no-such-command-here", "{}")
    if broken:
        assert_cli_error(result, EXIT_TAMPERED)
    else:
        assert result.returncode == 127, result.stderr.decode()
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


# -- edit ------------------------------------------------------------------------------------------

EDITOR = r'''
import json, os, signal, stat, sys, time
path = sys.argv[1]
st, parent = os.stat(path), os.stat(os.path.dirname(path))
with open(os.environ["FAKE_SIDE"], "a") as side:  # where and how, never what
    side.write(json.dumps({"path": os.path.realpath(path), "mode": st.st_mode & 0o7777,
                           "dir_mode": parent.st_mode & 0o7777,
                           "regular": stat.S_ISREG(st.st_mode)}) + "\n")
action = os.environ.get("FAKE_ACTION", "")
if action == "replace":
    text = open(path, encoding="utf-8").read()
    open(path, "w", encoding="utf-8").write(text.replace(os.environ["FAKE_OLD"],
                                                         os.environ["FAKE_NEW"]))
elif action == "write":
    open(path, "w", encoding="utf-8").write(os.environ["FAKE_TEXT"])
elif action == "broken":
    open(path, "w", encoding="utf-8").write("broken: [\n  " + os.environ["FAKE_NEW"] + "\n")
elif action == "fail":
    sys.exit(3)
elif action == "sigterm":
    os.kill(os.getppid(), signal.SIGTERM)
    time.sleep(20)
'''


def edit_env(sb: Sandbox, action: str, **extra: str) -> dict[str, str]:
    script = sb.root / "fake_editor.py"
    script.write_text(EDITOR)
    return {**sb.env, "EDITOR": f"{sys.executable} {script}", "FAKE_ACTION": action,
            "FAKE_SIDE": str(sb.root / "side.jsonl"), **extra}


def editor_saw(sb: Sandbox) -> list[dict[str, object]]:
    side = sb.root / "side.jsonl"
    return [json.loads(line) for line in side.read_text().splitlines()] if side.exists() else []


def assert_edit_temp_on_tmpfs(sb: Sandbox) -> None:
    seen = editor_saw(sb)
    assert seen, "the editor did not run"
    assert sb.runtime is not None
    for entry in seen:
        path = str(entry["path"])
        assert _inside(path, os.path.realpath(sb.runtime)), entry
        assert fs_type(path) in _MEMORY_FS, entry
        assert entry["regular"] and entry["mode"] == 0o600 and entry["dir_mode"] == 0o700, entry
    assert list(sb.runtime.iterdir()) == [], "the private temp folder was left behind"


needs_tmpfs = pytest.mark.skipif(
    not (os.path.isdir("/dev/shm") and fs_type("/dev/shm") in _MEMORY_FS),
    reason="no tmpfs at /dev/shm (edit needs one)")


@needs_tmpfs
def test_edit_keeps_plaintext_on_tmpfs_only(sb: Sandbox, canaries: list[str]) -> None:
    path = encrypted(sb, canaries)
    env = edit_env(sb, "replace", FAKE_OLD=canaries[0], FAKE_NEW=canaries[3])
    result = sb.run("edit", path.name, env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert_edit_temp_on_tmpfs(sb)
    assert f"password: {canaries[3]}" in secret_of(path)
    assert any(w.path == str(path.resolve()) for w in sb.writes())
    assert any(fs_type(w.path) in _MEMORY_FS for w in sb.writes())
    # the saved file is encrypted: no canary anywhere, not even in it
    assert_clean(sb, canaries, outputs=[path])


@needs_tmpfs
def test_edit_of_a_new_file_keeps_plaintext_on_tmpfs_only(sb: Sandbox,
                                                          canaries: list[str]) -> None:
    env = edit_env(sb, "write", FAKE_TEXT=yaml_text(canaries))
    result = sb.run("edit", "--age", TEST_PUBLIC, "new.enc.yaml", env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert_edit_temp_on_tmpfs(sb)
    path = sb.work / "new.enc.yaml"
    assert secret_of(path) == yaml_text(canaries)
    assert_clean(sb, canaries, outputs=[path])


@needs_tmpfs
@pytest.mark.parametrize("action", ["unchanged", "fail", "broken", "sigterm", "EDITOR=false"])
def test_edit_failures_leave_nothing(sb: Sandbox, canaries: list[str], action: str) -> None:
    path = encrypted(sb, canaries)
    before = path.read_bytes()
    if action == "EDITOR=false":
        env = {**sb.env, "EDITOR": "false"}
    else:
        env = edit_env(sb, action, FAKE_NEW=canaries[3])
    result = sb.run("edit", path.name, env=env)
    expected = {"unchanged": 200, "sigterm": 128 + 15}.get(action, 1)
    assert result.returncode == expected, result.stderr.decode()
    if action != "EDITOR=false":
        assert_edit_temp_on_tmpfs(sb)
    assert sb.runtime is not None and list(sb.runtime.iterdir()) == []
    assert path.read_bytes() == before
    assert_clean(sb, canaries)


@needs_tmpfs
def test_edit_of_a_tampered_file_never_starts_the_editor(sb: Sandbox,
                                                         canaries: list[str]) -> None:
    path = encrypted(sb, canaries)
    path.write_text(break_mac(path.read_text()))
    result = sb.run("edit", path.name, env=edit_env(sb, "replace", FAKE_OLD="x", FAKE_NEW="y"))
    assert_cli_error(result, EXIT_MAC)
    assert editor_saw(sb) == []
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


# -- git: the merge driver and textconv ------------------------------------------------------------

def set_value(sb: Sandbox, name: str, key: str, value: str) -> None:
    """``encfile set`` (not audited: it only prepares the versions to merge)."""
    result = run_encfile("set", name, f'["{key}"]', json.dumps(value), env=sb.env, cwd=sb.work)
    assert result.returncode == 0, result.stderr.decode()


def merge_versions(sb: Sandbox, c: list[str], *, conflict: bool) -> tuple[Path, Path, Path]:
    """BASE, OURS, THEIRS as git hands them to the driver (temp names without extension)."""
    base = sb.work / "v.enc.yaml"
    base.write_text(encfile.encrypt(f"a: {c[0]}\nb: {c[1]}\nc: same\n",
                                    recipients=TEST_PUBLIC, format="yaml"))
    shutil.copy(base, sb.work / "ours.enc.yaml")
    shutil.copy(base, sb.work / "theirs.enc.yaml")
    set_value(sb, "ours.enc.yaml", "a", c[2])
    set_value(sb, "theirs.enc.yaml", "a" if conflict else "b", c[3])
    names = []
    for name, temp in (("v.enc.yaml", ".merge_file_base"), ("ours.enc.yaml", ".merge_file_ours"),
                       ("theirs.enc.yaml", ".merge_file_theirs")):
        (sb.work / name).rename(sb.work / temp)
        names.append(sb.work / temp)
    return names[0], names[1], names[2]


def test_merge_driver_writes_only_ours(sb: Sandbox, canaries: list[str]) -> None:
    base, ours, theirs = merge_versions(sb, canaries, conflict=False)
    result = sb.run("git", "merge", base.name, ours.name, theirs.name, "s.enc.yaml")
    assert result.returncode == 0, result.stderr.decode()
    assert secret_of(ours) == f"a: {canaries[2]}\nb: {canaries[3]}\nc: same\n"
    assert any(w.path == str(ours.resolve()) for w in sb.writes())
    assert_clean(sb, canaries, outputs=[ours])


def test_merge_driver_conflict_writes_nothing(sb: Sandbox, canaries: list[str]) -> None:
    base, ours, theirs = merge_versions(sb, canaries, conflict=True)
    before = ours.read_bytes()
    result = sb.run("git", "merge", base.name, ours.name, theirs.name, "s.enc.yaml")
    assert "both sides changed" in assert_cli_error(result, 1)
    assert ours.read_bytes() == before
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


def test_merge_driver_with_a_tampered_side_writes_nothing(sb: Sandbox,
                                                          canaries: list[str]) -> None:
    base, ours, theirs = merge_versions(sb, canaries, conflict=False)
    theirs.write_text(break_value(theirs.read_text()))
    before = ours.read_bytes()
    result = sb.run("git", "merge", base.name, ours.name, theirs.name, "s.enc.yaml")
    assert_cli_error(result, EXIT_TAMPERED)
    assert ours.read_bytes() == before
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


@pytest.mark.parametrize("case", ["good", "tampered", "no identity"])
def test_textconv_writes_nothing(sb: Sandbox, canaries: list[str], case: str) -> None:
    path = encrypted(sb, canaries)
    env = sb.env
    if case == "tampered":
        path.write_text(break_mac(path.read_text()))
    elif case == "no identity":
        env = {k: v for k, v in sb.env.items() if k != "SOPS_AGE_KEY_FILE"}
    result = sb.run("git", "textconv", path.name, env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert (canaries[0].encode() in result.stdout) == (case == "good")
    no_writes_at_all(sb)
    assert_clean(sb, canaries)


def git(sb: Sandbox, *args: str, env: dict[str, str], check: bool = True
        ) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(["git", *args], cwd=sb.work, env=env, capture_output=True,
                            timeout=60)
    if check:
        assert result.returncode == 0, (args, result.stderr.decode())
    return result


def audited_repo(sb: Sandbox, c: list[str]) -> dict[str, str]:
    """A repository (the working folder) set up by ``encfile git setup`` so that git runs the
    audited encfile; returns git's environment."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    bin_dir = sb.root / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "encfile"
    wrapper.write_text(f"#!{sys.executable}\n{HOOK}")
    wrapper.chmod(0o755)
    env = {**sb.env, "GIT_CONFIG_GLOBAL": str(sb.home / ".gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
           "PATH": os.pathsep.join([str(bin_dir), os.path.dirname(sys.executable),
                                    sb.env.get("PATH", "")])}
    git(sb, "init", "-q", "-b", "main", env=env)
    git(sb, "config", "user.email", "dev@example.org", env=env)
    git(sb, "config", "user.name", "Dev", env=env)
    (sb.work / ".encfile.yaml").write_text(
        f"creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {TEST_PUBLIC}\n")
    # setup records the program that runs it: the wrapper (its own writes are not audited)
    setup = subprocess.run([str(wrapper), "git", "setup"], cwd=sb.work, capture_output=True,
                           env={**env, "ENCFILE_AUDIT_LOG": str(sb.root / "setup.log")},
                           timeout=60)
    assert setup.returncode == 0, setup.stderr.decode()
    driver = git(sb, "config", "merge.encfile.driver", env=env).stdout.decode()
    assert f"then {shlex.quote(str(wrapper))} git merge " in driver, driver  # git calls it
    (sb.work / "s.enc.yaml").write_text(encfile.encrypt(
        f"a: {c[0]}\nb: {c[1]}\nc: same\n", recipients=TEST_PUBLIC, format="yaml"))
    git(sb, "add", ".", env=env)
    git(sb, "commit", "-qm", "first", env=env)
    return env


@pytest.mark.parametrize("conflict", [False, True])
def test_real_git_merge_and_diff_write_no_plaintext(sb: Sandbox, canaries: list[str],
                                                    conflict: bool) -> None:
    env = audited_repo(sb, canaries)
    git(sb, "checkout", "-q", "-b", "feature", env=env)
    set_value(sb, "s.enc.yaml", "a" if conflict else "b", canaries[3])
    git(sb, "commit", "-qam", "theirs", env=env)
    git(sb, "checkout", "-q", "main", env=env)
    set_value(sb, "s.enc.yaml", "a", canaries[2])
    git(sb, "commit", "-qam", "ours", env=env)
    merged = git(sb, "merge", "-m", "merge", "feature", env=env, check=False)
    assert (merged.returncode != 0) == conflict, merged.stderr.decode()
    shown = git(sb, "log", "-p", "-3", "--", "s.enc.yaml", env=env)
    diff = git(sb, "diff", "HEAD~1", "HEAD", "--", "s.enc.yaml", env=env)
    assert canaries[2].encode() in shown.stdout + diff.stdout  # textconv decrypted
    commands = [tuple(argv[1:3]) for argv in sb.runs()]
    assert ("git", "textconv") in commands
    assert ("git", "merge") in commands, "git did not run the audited merge driver"
    if not conflict:
        assert secret_of(sb.work / "s.enc.yaml") == \
            f"a: {canaries[2]}\nb: {canaries[3]}\nc: same\n"
    assert git(sb, "for-each-ref", "refs/notes", env=env).stdout == b""
    objects = git(sb, "cat-file", "--batch-all-objects", "--batch", env=env).stdout
    assert not any(f in objects for c in canaries for f in canary_forms(c))
    assert_clean(sb, canaries)
