"""Permissions: plaintext and keys are private from creation, in-place writes keep modes.

Every run here happens under ``umask 000`` (``subprocess.run(..., umask=0)``), so a file
that is private is private because encfile made it so, not because of the umask:

* ``-d -o`` output, ``keygen -o`` key files and ``edit``'s temp file are 0600 from the
  moment they exist (an audit hook in the CLI process shows how they were created; the
  fake editor stats its argument while encfile waits for it);
* ``-e -i``, ``-d -i``, ``set`` and ``rotate -i`` keep the file's mode (0640, 0604, 0755);
* a key file others can read gets a warning on stderr when it is used;
* symlinks are handled as ``encfile/fsutil.py`` documents: an in-place write through a link
  replaces the target and keeps the link;
* ``-o`` onto a symlink, a FIFO or a character device is refused unless ``--force``;
  forced, a link is followed (its target replaced, the link kept) and a FIFO or device is
  written into, never replaced by a regular file.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KEY_FILE, TEST_PUBLIC, TEST_SECRET, assert_cli_error, clean_env

import encfile

SECRET = "db:\n  user: app\n  password: hunter2-perm  # rotate\nport: 5432\n"

# Records how files come to exist: creations (with their flags), temp files, chmods and
# renames (with the mode the renamed file has at that moment).
HOOK = r'''
import json, os, sys
_log = os.open(os.environ["ENCFILE_AUDIT_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
_busy = []


def _record(event, **fields):
    os.write(_log, (json.dumps({"event": event, **fields}) + "\n").encode())


def _hook(event, args):
    if _busy:
        return
    _busy.append(1)
    try:
        if event == "open" and isinstance(args[0], str) and isinstance(args[2], int) \
                and args[2] & os.O_CREAT:
            _record("create", path=os.path.abspath(args[0]), flags=args[2])
        elif event == "tempfile.mkstemp":
            _record("mkstemp", path=os.path.abspath(args[0]))
        elif event == "os.chmod":
            _record("chmod", path=args[0] if isinstance(args[0], int)
                    else os.path.abspath(args[0]), mode=args[1])
        elif event == "os.rename":
            _record("rename", src=os.path.abspath(args[0]), dst=os.path.abspath(args[1]),
                    mode=os.stat(args[0]).st_mode & 0o7777)
        elif event == "os.mkdir":
            _record("mkdir", path=os.path.abspath(args[0]), mode=args[1])
    finally:
        _busy.pop()


sys.addaudithook(_hook)
from encfile.cli import main
main()
'''


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The working folder (tmp_path also holds the ``home`` fixture)."""
    w = tmp_path / "work"
    w.mkdir()
    return w


def run0(*args: str, env: dict[str, str], cwd: Path, audit: Path | None = None,
         input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """The CLI in a subprocess under umask 000 (with the audit hook when ``audit`` is given)."""
    if audit is not None:
        env = {**env, "ENCFILE_AUDIT_LOG": str(audit), "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-c", HOOK, *args]
    else:
        command = [sys.executable, "-m", "encfile", *args]
    return subprocess.run(command, input=input, capture_output=True, env=env, cwd=cwd,
                          timeout=60, umask=0)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def events(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def write_encrypted(path: Path, text: str = SECRET) -> Path:
    path.write_text(encfile.encrypt(text, recipients=TEST_PUBLIC, format="yaml"))
    return path


def decrypt_file(path: Path) -> str:
    return encfile.decrypt(path.read_text(), format="yaml", identities=[TEST_SECRET])


# -- new files that hold plaintext or keys: 0600 from creation -------------------------------------

def test_umask_000_really_applies(tmp_path: Path, env: dict[str, str]) -> None:
    """The control: a file encrypt -o creates (ciphertext) follows the umask, 0666."""
    plain = tmp_path / "p.yaml"
    plain.write_text(SECRET)
    result = run0("-e", "--age", TEST_PUBLIC, "-o", "c.enc.yaml", plain.name, env=env,
                  cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert mode_of(tmp_path / "c.enc.yaml") == 0o666


@pytest.mark.parametrize("output", ["out.yaml", "sub/out.yaml", "out.json"])
def test_decrypt_output_is_0600_from_creation(tmp_path: Path, env: dict[str, str],
                                              output: str) -> None:
    src = write_encrypted(tmp_path / "s.enc.yaml")
    (tmp_path / "sub").mkdir()
    log = tmp_path / "audit.log"
    extra = ["--output-type", "json"] if output.endswith(".json") else []
    result = run0("-d", *extra, "-o", output, src.name, env=env, cwd=tmp_path, audit=log)
    assert result.returncode == 0, result.stderr.decode()
    out = tmp_path / output
    assert b"hunter2-perm" in out.read_bytes()
    assert mode_of(out) == 0o600
    seen = events(log)
    target = os.path.realpath(out)
    renames = [e for e in seen if e["event"] == "rename" and e["dst"] == target]
    direct = [e for e in seen if e["event"] == "create" and e["path"] == target]
    # Either created in place with O_EXCL (then only a chmod could widen it) or, as now, a
    # temp file (mkstemp: 0600) renamed over the target while still 0600.
    assert renames or direct, seen
    for e in renames:
        assert e["mode"] == 0o600, e
        assert any(m["event"] == "mkstemp" and m["path"] == e["src"] for m in seen), e
    for e in direct:
        assert isinstance(e["flags"], int) and e["flags"] & os.O_EXCL, e
    chmods = [e for e in seen if e["event"] == "chmod"]
    assert all(isinstance(e["mode"], int) and e["mode"] & 0o077 == 0 for e in chmods), chmods


def test_keygen_output_is_0600(tmp_path: Path, home: Path) -> None:
    env = clean_env(home)
    log = tmp_path / "audit.log"
    key = home / "keys.txt"
    result = run0("keygen", "-o", str(key), env=env, cwd=tmp_path, audit=log)
    assert result.returncode == 0, result.stderr.decode()
    assert "AGE-SECRET-KEY-1" in key.read_text()
    assert mode_of(key) == 0o600
    created = [e for e in events(log) if e["event"] == "create" and e["path"] == str(key)]
    assert created, "the key file was not created by an open() the hook saw"
    # appending a second identity keeps it private
    again = run0("keygen", "-o", str(key), env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr.decode()
    assert key.read_text().count("AGE-SECRET-KEY-1") == 2
    assert mode_of(key) == 0o600


def test_keygen_output_in_a_new_folder_is_private(tmp_path: Path, home: Path) -> None:
    env = clean_env(home)
    key = home / ".config" / "sops" / "age" / "keys.txt"
    result = run0("keygen", "-o", str(key), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert mode_of(key) == 0o600
    assert mode_of(key.parent) == 0o700


def test_keygen_creates_no_world_writable_folders(tmp_path: Path, home: Path) -> None:
    env = clean_env(home)
    key = home / ".config" / "sops" / "age" / "keys.txt"
    result = run0("keygen", "-o", str(key), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    for folder in (home / ".config", home / ".config" / "sops", key.parent):
        assert mode_of(folder) & 0o022 == 0, f"{folder} is {mode_of(folder):04o}"


EDITOR = r'''
import json, os, stat, sys
path = sys.argv[1]
st, parent = os.lstat(path), os.stat(os.path.dirname(path))
with open(os.environ["FAKE_SIDE"], "a") as side:
    side.write(json.dumps({"path": path, "mode": stat.S_IMODE(st.st_mode),
                           "dir_mode": stat.S_IMODE(parent.st_mode),
                           "regular": stat.S_ISREG(st.st_mode), "uid": st.st_uid}) + "\n")
text = open(path, encoding="utf-8").read()
open(path, "w", encoding="utf-8").write(text.replace("hunter2-perm", "hunter3-perm"))
'''


def _memory_fs(path: str) -> bool:
    path = os.path.realpath(path)
    best, kind = "", ""
    with open("/proc/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) >= 3 and (path == fields[1]
                                     or path.startswith(fields[1].rstrip("/") + "/")) \
                    and len(fields[1]) >= len(best):
                best, kind = fields[1], fields[2]
    return kind in ("tmpfs", "ramfs")


@pytest.mark.skipif(not (os.path.isdir("/dev/shm") and _memory_fs("/dev/shm")),
                    reason="no tmpfs at /dev/shm (edit needs one)")
def test_edit_temp_file_is_0600_while_the_editor_runs(tmp_path: Path, env: dict[str, str]
                                                      ) -> None:
    src = write_encrypted(tmp_path / "s.enc.yaml")
    src.chmod(0o640)
    script, side, log = tmp_path / "editor.py", tmp_path / "side.jsonl", tmp_path / "audit.log"
    script.write_text(EDITOR)
    env = {**env, "EDITOR": f"{sys.executable} {script}", "FAKE_SIDE": str(side)}
    env.pop("XDG_RUNTIME_DIR", None)  # /dev/shm then
    result = run0("edit", src.name, env=env, cwd=tmp_path, audit=log)
    assert result.returncode == 0, result.stderr.decode()
    seen = json.loads(side.read_text())
    assert seen["regular"] and seen["mode"] == 0o600 and seen["dir_mode"] == 0o700, seen
    assert seen["uid"] == os.getuid()
    assert _memory_fs(seen["path"]), seen
    assert not os.path.exists(os.path.dirname(seen["path"])), "the temp folder was left"
    # created by encfile itself, exclusively (never an existing file or a planted link)
    created = [e for e in events(log) if e["event"] == "create" and e["path"] == seen["path"]]
    assert created and all(isinstance(e["flags"], int) and e["flags"] & os.O_EXCL
                           for e in created), created
    assert "hunter3-perm" in decrypt_file(src)
    assert mode_of(src) == 0o640  # the saved file keeps its mode


# -- in-place writes keep the mode -----------------------------------------------------------------

def _prepare(kind: str, path: Path) -> None:
    if kind == "encrypt":
        path.write_text(SECRET)
    else:
        write_encrypted(path)


IN_PLACE = {
    "encrypt": ["-e", "--age", TEST_PUBLIC, "-i"],
    "decrypt": ["-d", "-i"],
    "set": ["set"],
    "rotate": ["rotate", "-i"],
}


def _in_place(kind: str, name: str, env: dict[str, str], cwd: Path
              ) -> subprocess.CompletedProcess[bytes]:
    if kind == "set":
        return run0("set", name, '["db"]["password"]', '"hunter3-perm"', env=env, cwd=cwd)
    return run0(*IN_PLACE[kind], name, env=env, cwd=cwd)


def _check_changed(kind: str, path: Path, before: str) -> None:
    after = path.read_text()
    assert after != before
    if kind == "encrypt":
        assert decrypt_file(path) == SECRET
    elif kind == "decrypt":
        assert after == SECRET
    elif kind == "set":
        assert "password: hunter3-perm" in decrypt_file(path)
    else:
        assert decrypt_file(path) == SECRET  # same plaintext under a new data key


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o755])
@pytest.mark.parametrize("kind", sorted(IN_PLACE))
def test_in_place_writes_keep_the_mode(work: Path, env: dict[str, str], kind: str,
                                       mode: int) -> None:
    path = work / "s.enc.yaml"
    _prepare(kind, path)
    path.chmod(mode)
    before = path.read_text()
    result = _in_place(kind, path.name, env, work)
    assert result.returncode == 0, result.stderr.decode()
    _check_changed(kind, path, before)
    assert mode_of(path) == mode
    assert sorted(p.name for p in work.iterdir()) == ["s.enc.yaml"], "a temp file was left"


# -- symlinks: in place through a link (as fsutil documents); -o onto one needs --force --------

@pytest.mark.parametrize("kind", sorted(IN_PLACE))
def test_in_place_write_through_a_symlink_replaces_the_target(tmp_path: Path,
                                                              env: dict[str, str],
                                                              kind: str) -> None:
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "s.enc.yaml"
    _prepare(kind, target)
    target.chmod(0o640)
    before = target.read_text()
    link = tmp_path / "link.enc.yaml"
    link.symlink_to(os.path.relpath(target, tmp_path))
    link_value = os.readlink(link)
    result = _in_place(kind, link.name, env, tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert link.is_symlink() and os.readlink(link) == link_value
    _check_changed(kind, target, before)
    assert mode_of(target) == 0o640
    assert sorted(p.name for p in real_dir.iterdir()) == ["s.enc.yaml"]


FORCE = "--force"  # lets -o write through a symlink, FIFO or device


def _link_setup(work: Path, dangling: bool) -> tuple[Path, Path, Path]:
    src = write_encrypted(work / "s.enc.yaml")
    target = work / "real" / "out.yaml"
    target.parent.mkdir()
    if not dangling:
        target.write_text("old\n")
        target.chmod(0o600)
    link = work / "out.yaml"
    link.symlink_to(target)
    return src, target, link


@pytest.mark.parametrize("dangling", [False, True])
def test_decrypt_output_onto_a_symlink_is_refused(work: Path, env: dict[str, str],
                                                  dangling: bool) -> None:
    """Plaintext must not follow a link someone else may have planted."""
    src, target, link = _link_setup(work, dangling)
    result = run0("-d", "-o", link.name, src.name, env=env, cwd=work)
    assert_cli_error(result, 3)
    assert "symlink" in result.stderr.decode()
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert (target.read_text() == "old\n") if not dangling else not target.exists()
    assert sorted(p.name for p in work.iterdir()) == ["out.yaml", "real", "s.enc.yaml"]
    assert sorted(p.name for p in target.parent.iterdir()) == ([] if dangling else ["out.yaml"])


@pytest.mark.parametrize("dangling", [False, True])
def test_forced_decrypt_output_through_a_symlink_replaces_the_target(
        work: Path, env: dict[str, str], dangling: bool) -> None:
    src, target, link = _link_setup(work, dangling)
    result = run0("-d", FORCE, "-o", link.name, src.name, env=env, cwd=work)
    assert result.returncode == 0, result.stderr.decode()
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == SECRET
    assert mode_of(target) == 0o600  # kept, or (dangling) created private
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.yaml"]


# -- FIFOs and devices are not files to replace ----------------------------------------------------

def _special(work: Path, kind: str) -> Path:
    path = work / ("pipe" if kind == "fifo" else "null")
    if kind == "fifo":
        os.mkfifo(path, 0o644)
    else:
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null
        except OSError as err:
            pytest.skip(f"cannot create a device node here: {err}")
    return path


def _is_kind(path: Path, kind: str) -> bool:
    mode = os.lstat(path).st_mode
    return stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISCHR(mode)


@pytest.mark.parametrize("kind", ["fifo", "chardev"])
def test_decrypt_output_onto_a_fifo_or_device_is_refused(work: Path, env: dict[str, str],
                                                         kind: str) -> None:
    """Replacing a FIFO or device with a regular file would put the plaintext on disk
    (with the special file's mode) where the user expected a pipe or a device."""
    src = write_encrypted(work / "s.enc.yaml")
    special = _special(work, kind)
    # a reader holds the FIFO open, so a writer never blocks (and the test never hangs)
    reader = os.open(special, os.O_RDWR | os.O_NONBLOCK) if kind == "fifo" else None
    try:
        result = run0("-d", "-o", special.name, src.name, env=env, cwd=work)
        assert_cli_error(result, 3)
        assert _is_kind(special, kind)
        if reader is not None:
            with pytest.raises(BlockingIOError):
                os.read(reader, 65536)  # nothing was written into the pipe either
    finally:
        if reader is not None:
            os.close(reader)
    assert sorted(p.name for p in work.iterdir()) == sorted(["s.enc.yaml", special.name])


@pytest.mark.parametrize("kind", ["fifo", "chardev"])
def test_forced_decrypt_output_writes_into_a_fifo_or_device(work: Path, env: dict[str, str],
                                                            kind: str) -> None:
    src = write_encrypted(work / "s.enc.yaml")
    special = _special(work, kind)
    reader = os.open(special, os.O_RDWR | os.O_NONBLOCK) if kind == "fifo" else None
    try:
        result = run0("-d", FORCE, "-o", special.name, src.name, env=env, cwd=work)
        assert result.returncode == 0, result.stderr.decode()
        assert _is_kind(special, kind)
        if reader is not None:
            assert os.read(reader, 65536) == SECRET.encode()
    finally:
        if reader is not None:
            os.close(reader)
    assert sorted(p.name for p in work.iterdir()) == sorted(["s.enc.yaml", special.name])


# -- key files others can read ---------------------------------------------------------------------

def _key_copy(path: Path, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(KEY_FILE.read_bytes())
    path.chmod(mode)
    return path


def _warnings(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode().splitlines()
            if line.startswith("encfile: warning: ")]


@pytest.mark.parametrize(("where", "mode"), [
    ("SOPS_AGE_KEY_FILE", 0o644), ("SOPS_AGE_KEY_FILE", 0o604), ("SOPS_AGE_KEY_FILE", 0o640),
    ("default", 0o644),
])
def test_key_file_readable_by_others_gets_a_warning(tmp_path: Path, home: Path, mode: int,
                                                    where: str) -> None:
    if where == "default":
        key = _key_copy(home / ".config" / "sops" / "age" / "keys.txt", mode)
        env = clean_env(home)
    else:
        key = _key_copy(tmp_path / "keys.txt", mode)
        env = clean_env(home, SOPS_AGE_KEY_FILE=str(key))
    src = write_encrypted(tmp_path / "s.enc.yaml")
    result = run0("-d", src.name, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == SECRET  # a warning, not a refusal
    warned = _warnings(result.stderr)
    assert len(warned) == 1 and str(key) in warned[0] and f"{mode:04o}" in warned[0], warned
    assert TEST_SECRET not in result.stderr.decode()
    assert mode_of(key) == mode  # encfile does not change the user's file behind their back


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_private_key_file_gets_no_warning(tmp_path: Path, home: Path, mode: int) -> None:
    key = _key_copy(tmp_path / "keys.txt", mode)
    src = write_encrypted(tmp_path / "s.enc.yaml")
    result = run0("-d", src.name, env=clean_env(home, SOPS_AGE_KEY_FILE=str(key)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == SECRET
    assert result.stderr == b""


def test_key_file_warning_also_for_exec(tmp_path: Path, home: Path) -> None:
    key = _key_copy(tmp_path / "keys.txt", 0o644)
    src = tmp_path / "s.enc.env"
    src.write_text(encfile.encrypt("PASSWORD=hunter2-perm\n", recipients=TEST_PUBLIC,
                                   format="dotenv"))
    result = run0("exec", "-f", src.name, "--", sys.executable, "-c",
                  "import os, sys; sys.exit(os.environ.get('PASSWORD') != 'hunter2-perm')",
                  env=clean_env(home, SOPS_AGE_KEY_FILE=str(key)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    warned = _warnings(result.stderr)
    assert len(warned) == 1 and str(key) in warned[0], warned
