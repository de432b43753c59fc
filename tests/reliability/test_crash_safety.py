"""Crash safety of every command that rewrites a file: `-e -i`, `set`, `edit`, `rotate`,
`updatekeys`.

Whatever happens to the process, the target must afterwards be either byte-identical to
the old version or a complete new version (it decrypts, its MAC verifies, and it equals
what a completed run produces up to fresh IVs and timestamps), keep its mode (0640 here),
and no plaintext may be left anywhere: not in the target's folder, not in $TMPDIR, not in
$HOME.

Three families:

* fault injection without hooks in encfile: the CLI runs as ``python -c WRAPPER`` which
  patches ``tempfile.mkstemp``, ``os.fdopen(...).write``, ``os.write``, ``os.fsync`` and
  ``os.replace``, then calls ``encfile.cli.main()``. A first run only counts the calls;
  then every call of every point is hit in turn: SIGKILL before or after it (a write:
  after half of its bytes), and an OSError raised from it;
* real kills: the plain CLI is SIGKILLed after a random delay spread over the length of
  a completed run (seeded, so the same delays every time);
* disk full: ``RLIMIT_FSIZE`` smaller than the output, SIGXFSZ ignored, so the write fails
  with EFBIG: a clean ``encfile: error:`` with exit 3 and the target intact.

After a SIGKILL a temp file ``.<name>.*.tmp`` may be left next to the target (nothing can
remove it); it must not hold plaintext. After a raised error nothing may be left.
`edit` keeps the plaintext in a private folder on tmpfs (``$XDG_RUNTIME_DIR`` points into
/dev/shm here); a SIGKILL while the editor runs leaves that folder behind, which is checked
separately (the next run should sweep it).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import (
    KEY_FILE,
    OTHER_PUBLIC,
    TEST_PUBLIC,
    TEST_SECRET,
    TOKEN_RE,
    assert_cli_error,
    clean_env,
    run_encfile,
)

import encfile
from encfile import fsutil

MODE = 0o640
EXIT_OUTPUT = 3

# The test-only wrapper: patches the write path, then runs the CLI with the given argv.
# FAULT_SPEC is "point:n:action" (empty: only count the calls, into FAULT_LOG at exit).
WRAPPER = r'''
import atexit, errno, json, os, signal, sys, tempfile
spec = os.environ.get("FAULT_SPEC", "")
log = os.environ["FAULT_LOG"]
point, nth, action = spec.split(":") if spec else ("", "0", "")
nth = int(nth)
counts = {}

def armed(name):
    counts[name] = counts.get(name, 0) + 1
    if name == point and counts[name] == nth:
        with open(log + ".fired", "w") as out:
            out.write(spec)
        return True
    return False

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def hit(name, call, *args):
    if not armed(name):
        return call(*args)
    if action == "before":
        die()
    if action == "raise":
        code = errno.ENOSPC if name in ("write", "fdopen.write") else errno.EIO
        raise OSError(code, os.strerror(code))
    result = call(*args)
    die()
    return result

class Handle:
    def __init__(self, handle):
        self._handle = handle
    def write(self, data):
        if armed("fdopen.write") and action != "after":
            if action == "half":
                self._handle.write(data[: len(data) // 2])
                self._handle.flush()
                die()
            if action == "raise":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            die()
        return self._handle.write(data)
    def __getattr__(self, name):
        return getattr(self._handle, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self._handle.__exit__(*exc)
    def __iter__(self):
        return iter(self._handle)

real_write, real_fdopen = os.write, os.fdopen
real_fsync, real_replace, real_mkstemp = os.fsync, os.replace, tempfile.mkstemp

def fake_write(fd, data):
    if point == "write" and action == "half" and counts.get("write", 0) + 1 == nth:
        armed("write")
        real_write(fd, bytes(data)[: len(data) // 2])
        die()
    return hit("write", real_write, fd, data)

os.write = fake_write
os.fdopen = lambda *a, **k: Handle(real_fdopen(*a, **k))
os.fsync = lambda fd: hit("fsync", real_fsync, fd)
os.replace = lambda *a, **k: hit("replace", lambda: real_replace(*a, **k))
tempfile.mkstemp = lambda *a, **k: hit("mkstemp", lambda: real_mkstemp(*a, **k))

if not spec:
    def dump():
        with open(log, "w") as out:
            json.dump(counts, out)
    atexit.register(dump)

sys.argv = ["encfile", *sys.argv[1:]]
from encfile.cli import main
main()
'''

# A fake $EDITOR: replaces one value. It marks its start and its end, or why it failed (its
# stderr, like encfile's, goes nowhere), so a test can tell it did its whole job.
EDITOR = r'''
import os, sys, traceback
mark = os.path.join(os.environ["EDIT_MARKS"], str(os.getpid()))
open(mark + ".start", "w").close()
try:
    path = sys.argv[1]
    text = open(path, encoding="utf-8").read()
    open(path, "w", encoding="utf-8").write(text.replace(os.environ["EDIT_OLD"],
                                                         os.environ["EDIT_NEW"]))
except BaseException:
    open(mark + ".failed", "w").write(traceback.format_exc())
    raise
open(mark + ".done", "w").close()
'''

CANARY_OLD = "CANARY-OLD-7f3a91c2"
CANARY_NEW = "CANARY-NEW-b84e10d5"
PLAIN = f"user: admin\npassword: {CANARY_OLD}\nport: 5432\nnested:\n  key: zeta\n"
NAME = "secrets.enc.yaml"

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux signals and rlimits")


# -- scenarios -------------------------------------------------------------------------------

@dataclass
class Scenario:
    name: str
    args: Callable[[Path], list[str]]
    old_is_plaintext: bool = False
    recipients: tuple[str, ...] = (TEST_PUBLIC,)
    config: str | None = None
    editor: bool = False


SCENARIOS = [
    Scenario("encrypt-in-place", lambda p: ["-e", "-i", "--age", TEST_PUBLIC, str(p)],
             old_is_plaintext=True),
    Scenario("set", lambda p: ["set", str(p), '["api_token"]', json.dumps(CANARY_NEW)]),
    Scenario("edit", lambda p: ["edit", str(p)], editor=True),
    Scenario("rotate", lambda p: ["rotate", "-i", str(p)]),
    # Removing a recipient: updatekeys also rotates the data key.
    Scenario("updatekeys", lambda p: ["updatekeys", "-y", str(p)],
             recipients=(TEST_PUBLIC, OTHER_PUBLIC),
             config=f"creation_rules:\n  - age: {TEST_PUBLIC}\n"),
]
BY_NAME = {s.name: s for s in SCENARIOS}
NAMES = [s.name for s in SCENARIOS]


@dataclass(frozen=True)
class Shape:
    """What a completed run must produce, up to fresh IVs, MAC and timestamps."""
    text: str
    recipients: tuple[tuple[str, ...], ...]
    kept_tokens: frozenset[str]


def tokens(data: str) -> frozenset[str]:
    """The value tokens (not the MAC and layout tokens in the metadata, which always change)."""
    return frozenset(m.group(0) for m in TOKEN_RE.finditer(data.split("\nsops:")[0]))


def shape_of(data: bytes, old: bytes) -> Shape:
    """Decrypt (this verifies every value and the MAC) and describe the result."""
    text = data.decode("utf-8")
    opened = encfile.open_encrypted(text, format="yaml", identities=[TEST_SECRET])
    return Shape(opened.text(), tuple(tuple(g) for g in opened.metadata.recipient_groups),
                 tokens(text) & tokens(old.decode("utf-8", "replace")))


@dataclass
class Run:
    """One run's own folder (the target, mode 0640), TMPDIR, XDG_RUNTIME_DIR and editor
    marks; ``session``: the id of the session encfile ran in, once :func:`launch` started it."""
    folder: Path
    target: Path
    tmpdir: Path
    runtime: Path | None
    marks: Path
    log: Path
    env: dict[str, str]
    session: int | None = None


@dataclass
class Bench:
    """One scenario: its old file, environment, reference result and the runs so far."""
    scenario: Scenario
    root: Path
    shm: Path | None
    old: bytes
    env: dict[str, str]
    home: Path
    marks: Path
    canaries: tuple[str, ...] = (CANARY_OLD, CANARY_NEW)
    reference: Shape | None = None
    duration: float = 0.0
    numbers: Iterator[int] = field(default_factory=itertools.count)
    leftovers: list[str] = field(default_factory=list)

    def fresh(self) -> Run:
        n = next(self.numbers)
        folder, tmpdir, marks = (self.root / f"run{n}", self.root / f"tmp{n}",
                                 self.marks / f"run{n}")
        for new in (folder, tmpdir, marks):
            new.mkdir()
        target = folder / NAME
        target.write_bytes(self.old)
        target.chmod(MODE)
        if self.scenario.config:
            (folder / ".sops.yaml").write_text(self.scenario.config)
        env = {**self.env, "TMPDIR": str(tmpdir), "EDIT_MARKS": str(marks)}
        runtime = None
        if self.shm is not None:
            runtime = self.shm / f"run{n}"
            runtime.mkdir(mode=0o700)
            env["XDG_RUNTIME_DIR"] = str(runtime)
        return Run(folder, target, tmpdir, runtime, marks, self.root / f"run{n}.log", env)

    def discard(self, run: Run) -> None:
        for folder in (run.folder, run.tmpdir, run.runtime):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def shm() -> Iterator[Path | None]:
    """A folder on tmpfs for `edit`'s runtime dirs (removed afterwards, with any leftover)."""
    if not os.path.isdir("/dev/shm") or fsutil.filesystem_type("/dev/shm") not in ("tmpfs",
                                                                                    "ramfs"):
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="encfile-crashtest-", dir="/dev/shm"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def make_bench(name: str, tmp_path: Path, shm: Path | None) -> Bench:
    scenario = BY_NAME[name]
    if scenario.editor and shm is None:
        pytest.skip("no tmpfs at /dev/shm (edit needs one)")
    home, tools, marks, root = (tmp_path / n for n in ("home", "tools", "marks", "runs"))
    for folder in (home, tools, marks, root):
        folder.mkdir()
    editor = tools / "editor.py"
    editor.write_text(EDITOR)
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE), EDITOR=f"{sys.executable} {editor}",
                    EDIT_OLD=CANARY_OLD, EDIT_NEW=CANARY_NEW)  # EDIT_MARKS: per run
    old = PLAIN if scenario.old_is_plaintext else encfile.encrypt(
        PLAIN, recipients=list(scenario.recipients), format="yaml")
    return Bench(scenario, root, shm, old.encode(), env, home, marks)


def launch(run: Run, argv: list[str], *, env: dict[str, str] | None = None,
           stdout: int = subprocess.DEVNULL,
           stderr: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """Start ``argv`` (an encfile) for ``run`` in a session of its own, which every process
    it starts (the editor) inherits: see :func:`wait_for_editors`."""
    proc = subprocess.Popen(argv, env=env or run.env, cwd=run.folder, stdout=stdout,
                            stderr=stderr, start_new_session=True)
    run.session = proc.pid
    return proc


def session_members(session: int) -> list[int]:
    """The processes of ``session`` that are still running (not zombies)."""
    members = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path("/proc", pid, "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # after "pid (comm) ": state ppid pgrp session ...; comm may hold spaces and ")"
        state, _, _, sid = stat[stat.rindex(")") + 2:].split()[:4]
        if int(sid) == session and state not in ("Z", "X"):
            members.append(int(pid))
    return members


def wait_for_editors(run: Run) -> None:
    """Wait for the editor a killed encfile left running, if any; check it did its whole job.

    Call it once encfile has been reaped. A SIGKILL can land before the editor is forked,
    between its fork and its exec, before its first line or while it runs, so its marks
    cannot tell "never started" from "not started yet": wait on the processes instead.
    encfile ran in a session of its own (:func:`launch`) and, reaped, can start no more, so
    the session is empty exactly when the orphan is done. Only then may the run's folders
    be checked and removed (removed earlier, the orphan found no file and died half-way).
    """
    if run.session is not None:
        deadline = time.monotonic() + 10
        while session_members(run.session) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not session_members(run.session), "an orphaned fake editor did not finish"
    for start in run.marks.glob("*.start"):
        failed = start.with_suffix(".failed")
        assert not failed.exists(), f"the fake editor failed:\n{failed.read_text()}"
        assert start.with_suffix(".done").exists(), "an orphaned fake editor did not finish"


def files_under(*folders: Path | None) -> Iterator[Path]:
    for folder in folders:
        if folder is not None and folder.exists():
            for dirpath, _, names in os.walk(folder):
                yield from (Path(dirpath, n) for n in names)


def holds_canary(path: Path, canaries: tuple[str, ...]) -> bool:
    with contextlib.suppress(OSError):
        data = path.read_bytes()
        return any(c.encode() in data for c in canaries)
    return False


def check_outcome(bench: Bench, run: Run, *, killed: bool, label: str,
                  strict_runtime: bool = True) -> str:
    """The invariants after one run; returns 'old' or 'new'. Records leftover temps."""
    scenario, folder, target = bench.scenario, run.folder, run.target
    if scenario.editor:
        wait_for_editors(run)
    assert target.exists(), f"{label}: the target is gone"
    data = target.read_bytes()
    if data == bench.old:
        state = "old"
    else:
        try:
            got = shape_of(data, bench.old)
        except (encfile.EncfileError, UnicodeDecodeError) as err:
            raise AssertionError(f"{label}: the target is neither the old nor a valid new "
                                 f"version: {type(err).__name__}: {err}") from None
        assert got == bench.reference, f"{label}: the new version differs from a completed run"
        state = "new"
    mode = target.stat().st_mode & 0o7777
    assert mode == MODE, f"{label}: mode {oct(mode)} ({state} version)"
    temps = [p for p in folder.iterdir()
             if p.name.startswith(f".{NAME}.") and p.name.endswith(".tmp")]
    others = sorted(p.name for p in folder.iterdir()
                    if p not in temps and p.name not in (NAME, ".sops.yaml"))
    assert not others, f"{label}: unexpected files next to the target: {others}"
    if temps:
        assert killed, f"{label}: temp files left after the process ended by itself: {temps}"
        bench.leftovers.append(f"{label} ({state})")
    # Not strict: plaintext may stay on tmpfs, but only in the killed encfile's own folder
    # (encfile-<pid>-…), where a later run's sweep looks for it.
    sweepable = f"encfile-{run.session}-"
    plain = [str(p) for p in files_under(folder, run.tmpdir, bench.home, run.runtime)
             if holds_canary(p, bench.canaries)
             and not (p == target and state == "old" and scenario.old_is_plaintext)
             and not (not strict_runtime and run.runtime is not None
                      and p.is_relative_to(run.runtime)
                      and p.relative_to(run.runtime).parts[0].startswith(sweepable))]
    assert not plain, f"{label}: plaintext left in {plain}"
    return state


def clean_error(bench: Bench, result: subprocess.CompletedProcess[bytes], code: int) -> str:
    """assert_cli_error; updatekeys prints its plan to stderr before acting, so skip that."""
    if bench.scenario.name == "updatekeys":
        lines = result.stderr.decode("utf-8", "replace").splitlines(keepends=True)
        first = next((i for i, line in enumerate(lines) if line.startswith("encfile: error:")),
                     0)
        assert all(line.startswith(("'", " ")) for line in lines[:first]), lines
        result = subprocess.CompletedProcess(result.args, result.returncode, result.stdout,
                                             "".join(lines[first:]).encode())
    return assert_cli_error(result, code)


def run_reference(bench: Bench) -> None:
    run = bench.fresh()
    start = time.monotonic()
    result = run_encfile(*bench.scenario.args(run.target), env=run.env, cwd=run.folder)
    bench.duration = time.monotonic() - start
    assert result.returncode == 0, result.stderr.decode()
    bench.reference = shape_of(run.target.read_bytes(), bench.old)
    # The reference really is the change the command makes.
    name, ref = bench.scenario.name, bench.reference
    if name == "set":
        assert ref.text == PLAIN + f"api_token: {CANARY_NEW}\n"
    elif name == "edit":
        assert ref.text == PLAIN.replace(CANARY_OLD, CANARY_NEW)
    else:
        assert ref.text == PLAIN
    if name in ("set", "edit"):  # unchanged values keep their ciphertext
        assert len(ref.kept_tokens) == (4 if name == "set" else 3), ref.kept_tokens
    if name in ("rotate", "updatekeys"):
        assert ref.kept_tokens == frozenset(), "a new data key re-encrypts every value"
    assert ref.recipients == ((TEST_PUBLIC,),)
    check_outcome(bench, run, killed=False, label="completed run")
    bench.discard(run)


def run_wrapped(run: Run, args: list[str], spec: str) -> subprocess.CompletedProcess[bytes]:
    env = {**run.env, "FAULT_SPEC": spec, "FAULT_LOG": str(run.log)}
    with launch(run, [sys.executable, "-c", WRAPPER, *args], env=env, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE) as proc:
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def in_parallel(jobs: list[Callable[[], str | None]]) -> list[str]:
    """Run the jobs two at a time; the failure messages (None: passed)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return [msg for msg in pool.map(lambda job: job(), jobs) if msg]


# -- fault injection -------------------------------------------------------------------------

# Every distinct state: temp created and empty; temp half written; temp complete (before
# fsync); temp fsynced, not renamed (replace:before); renamed, folder not fsynced (replace:
# after, or before the second fsync). Each step also fails once with an OSError.
ACTIONS = {"mkstemp": ("after", "raise"), "fdopen.write": ("half", "raise"),
           "write": ("half", "raise"), "fsync": ("before", "raise"),
           "replace": ("before", "after", "raise")}


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_fault_injection_at_every_write_step(name: str, tmp_path: Path,
                                             shm: Path | None) -> None:
    bench = make_bench(name, tmp_path, shm)
    run_reference(bench)

    # Count the calls of a completed run.
    run = bench.fresh()
    result = run_wrapped(run, bench.scenario.args(run.target), "")
    assert result.returncode == 0, result.stderr.decode()
    counts: dict[str, int] = json.loads(run.log.read_text())
    check_outcome(bench, run, killed=False, label="counting run")
    bench.discard(run)
    # The write is durable and atomic: the data is fsynced and renamed into place.
    assert counts.get("replace", 0) >= 1 and counts.get("fsync", 0) >= 1, counts

    def one(spec: str) -> str | None:
        point, n, action = spec.split(":")
        run = bench.fresh()
        result = run_wrapped(run, bench.scenario.args(run.target), spec)
        stderr = result.stderr.decode("utf-8", "replace")
        try:
            assert Path(f"{run.log}.fired").exists(), f"{spec}: the fault point was not reached"
            if action == "raise":
                # A clean error and the old file, or (the failing step came after the
                # rename) success and the new file.
                if result.returncode != 0:
                    clean_error(bench, result, EXIT_OUTPUT)
                state = check_outcome(bench, run, killed=False, label=spec)
                assert state == ("new" if result.returncode == 0 else "old"), \
                    f"{spec}: exit {result.returncode} but the {state} version"
            else:
                assert result.returncode == -signal.SIGKILL, f"{spec}: {stderr}"
                # Until the editor has returned, the plaintext is on tmpfs by design.
                in_editor = bench.scenario.editor and point == "fdopen.write" and n == "1"
                check_outcome(bench, run, killed=True, label=spec, strict_runtime=not in_editor)
        except AssertionError as err:
            return f"{err}\n    stderr: {stderr.strip()[-300:]}"
        finally:
            bench.discard(run)
        return None

    specs = [f"{point}:{n}:{action}" for point, actions in ACTIONS.items()
             for n in range(1, counts.get(point, 0) + 1) for action in actions]
    failures = in_parallel([lambda spec=spec: one(spec) for spec in specs])
    assert not failures, "\n".join(failures)
    if bench.leftovers:
        print(f"\n{name}: ciphertext temps left by SIGKILL at: {', '.join(bench.leftovers)}")


# -- real kills ------------------------------------------------------------------------------

KILLS = 10


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_sigkill_at_random_moments(name: str, tmp_path: Path, shm: Path | None) -> None:
    bench = make_bench(name, tmp_path, shm)
    run_reference(bench)
    rng = random.Random(f"crash-{name}")
    # Spread over the whole run (and a bit beyond, so some runs complete).
    delays = [rng.uniform(0, 1.3 * bench.duration) for _ in range(KILLS)]
    states: list[str] = []

    def one(i: int, delay: float) -> str | None:
        run = bench.fresh()
        proc = launch(run, [sys.executable, "-m", "encfile", *bench.scenario.args(run.target)])
        time.sleep(delay)
        proc.kill()
        code = proc.wait(timeout=60)
        label = f"kill #{i} after {delay * 1000:.0f} ms (exit {code})"
        try:
            assert code in (0, -signal.SIGKILL), label
            # While the editor runs the plaintext is on tmpfs: see the sweep test below.
            states.append(check_outcome(bench, run, killed=code != 0, label=label,
                                        strict_runtime=not bench.scenario.editor))
        except AssertionError as err:
            return str(err)
        finally:
            bench.discard(run)
        return None

    failures = in_parallel([lambda i=i, d=d: one(i, d) for i, d in enumerate(delays)])
    assert not failures, "\n".join(failures)
    print(f"\n{name}: {states.count('old')} old, {states.count('new')} new; ciphertext temps "
          f"left at: {', '.join(bench.leftovers) or 'none'}")


BLOCKING_EDITOR = r'''
import os, sys, time
marks = os.environ["EDIT_MARKS"]
open(os.path.join(marks, f"{os.getpid()}.start"), "w").close()
go = os.path.join(marks, "go")
deadline = time.monotonic() + 30
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.01)
open(os.path.join(marks, f"{os.getpid()}.done"), "w").close()
'''


def test_plaintext_of_a_killed_edit_is_swept_by_the_next_run(tmp_path: Path,
                                                            shm: Path | None) -> None:
    bench = make_bench("edit", tmp_path, shm)
    editor = tmp_path / "tools" / "blocking_editor.py"
    editor.write_text(BLOCKING_EDITOR)
    run = bench.fresh()
    env = {**run.env, "EDITOR": f"{sys.executable} {editor}"}
    proc = launch(run, [sys.executable, "-m", "encfile", "edit", str(run.target)], env=env)
    try:
        deadline = time.monotonic() + 30
        while not list(run.marks.glob("*.start")) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert list(run.marks.glob("*.start")), "the editor did not start"
    finally:
        proc.kill()  # while the user is editing
        proc.wait(timeout=60)
        (run.marks / "go").touch()
    # Gone, not only done: a sweep spares a folder that a live process still names.
    wait_for_editors(run)
    assert run.target.read_bytes() == bench.old
    stale = [p for p in files_under(run.runtime) if holds_canary(p, (CANARY_OLD,))]
    assert stale, "the killed edit left no plaintext (then there is nothing to sweep)"
    for folder in {p.parent for p in stale}:  # a sweep leaves folders younger than a minute
        os.utime(folder, (time.time() - 120, time.time() - 120))
    # The next edit (the editor changes nothing) should remove the dead session's folder.
    again = run_encfile("edit", str(run.target), env=env, cwd=run.folder)
    assert again.returncode == 200, again.stderr.decode()  # saved unchanged, as in sops
    left = [str(p) for p in files_under(run.runtime) if holds_canary(p, (CANARY_OLD,))]
    assert not left, f"plaintext of a dead edit session still on tmpfs: {left}"


# -- disk full -------------------------------------------------------------------------------

def limit_file_size(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def run_limited(run: Run, args: list[str], limit: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "encfile", *args], env=run.env, cwd=run.folder,
                          capture_output=True, timeout=60, preexec_fn=limit_file_size(limit))


@pytest.mark.parametrize("name", NAMES)
def test_disk_full_fails_cleanly_and_keeps_the_target(name: str, tmp_path: Path,
                                                      shm: Path | None) -> None:
    bench = make_bench(name, tmp_path, shm)  # no reference: only the old version may remain
    # Smaller than any encrypted output (the recipient stanza alone is ~300 bytes), larger
    # than the plaintext `edit` writes to tmpfs first.
    limit = 400
    assert len(PLAIN) + 50 < limit
    run = bench.fresh()
    result = run_limited(run, bench.scenario.args(run.target), limit)
    stderr = clean_error(bench, result, EXIT_OUTPUT)
    assert "file too large" in stderr.lower(), stderr
    assert check_outcome(bench, run, killed=False, label="disk full") == "old"
    if run.runtime is not None:
        assert not list(run.runtime.iterdir()), "edit's temp folder was not removed"


def test_disk_full_while_writing_the_plaintext_for_the_editor(tmp_path: Path,
                                                              shm: Path | None) -> None:
    bench = make_bench("edit", tmp_path, shm)
    run = bench.fresh()
    result = run_limited(run, ["edit", str(run.target)], 20)  # smaller than the plaintext
    assert run.target.read_bytes() == bench.old
    assert run.runtime is not None and not list(run.runtime.iterdir())
    assert not list(run.marks.glob("*.start")), "the editor should not have started"
    stderr = assert_cli_error(result, EXIT_OUTPUT)
    assert "file too large" in stderr.lower(), stderr


def test_disk_full_error_is_real(tmp_path: Path) -> None:
    """The rlimit set-up does what the tests above rely on: a short write, then EFBIG."""
    probe = tmp_path / "probe"
    code = (f"import os\nfd = os.open({str(probe)!r}, os.O_WRONLY | os.O_CREAT, 0o600)\n"
            "print(os.write(fd, b'x' * 5000))\n"
            "try:\n    os.write(fd, b'x')\nexcept OSError as e:\n    print(e.errno)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60,
                         preexec_fn=limit_file_size(1000), check=True).stdout.split()
    assert out == [b"1000", str(errno.EFBIG).encode()]
