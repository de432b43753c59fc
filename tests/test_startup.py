"""The small-file ``-d`` and ``exec`` paths import only what they need.

Start-up is most of the time of decrypting a small file, and every module on the
path is paid on every run (a ``re`` import alone is 3 ms, against a 16 ms floor).
This lists, module by module, what the path may import: for a 2-key dotenv file
sops made, and one encfile wrote (which carries a layout), decrypted to standard
output, run as ``exec``, and shown by ``git textconv`` (which git runs once per version
in a ``git log -p``). A module added to the path fails it until it is
either moved off the path or added here on purpose.

The CLI runs as its console script does (``from encfile.cli import main``), in a
Python started with ``-S``: ``site`` and an editable install's finder import
pathlib, re and more before encfile starts, which would hide what encfile does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import KEY_FILE, ROOT, SOPS_VECTORS, TEST_PUBLIC, clean_env, run_encfile

# What the path may import beyond a bare ``python -S``: the standard library's part...
STDLIB = {
    "__future__", "_operator", "_sha2", "_sha256", "_sha512", "binascii", "itertools",
    "operator", "types", "warnings",
    "_json",  # the C scanner the layout is read with (encfile.jsontext), not json itself
    "_cffi_backend", "_openssl", "_openssl.lib",  # cryptography's Rust binding loads them
}
# ...the two libraries the work needs (every module they import of themselves)...
LIBRARIES = ("cryptography", "pyrage")
# ...and encfile's own modules: the ones every path shares, and each path's own.
SHARED_MODULES = {
    "encfile", "encfile._api", "encfile._version", "encfile.errors",
    "encfile.cli", "encfile.cli.common", "encfile.cli.parse", "encfile.cli.spec",
    "encfile.cli.terminal",
    "encfile.opening", "encfile.crypto", "encfile.datakey", "encfile.digest",
    "encfile.formats", "encfile.formats.dotenv", "encfile.formats.splice",
    "encfile.keysources", "encfile.keysources.age", "encfile.keysources.identities",
    "encfile.mac", "encfile.metadata", "encfile.rules",
    "encfile.token", "encfile.tree", "encfile.values",
}
DECRYPT_MODULES = {"encfile.cli.crypt"}
EXEC_MODULES = {"encfile.cli.run", "encfile.cli.run_spec", "encfile.envmap"}
TEXTCONV_MODULES = {"encfile.cli.git", "encfile.cli.git_spec"}  # git runs it per version
LAYOUT_MODULES = {"encfile.jsontext", "encfile.layout"}  # a file encfile wrote: its sealed layout

# The modules the issue names, checked on their own so that a failure reads plainly.
NEVER = {"re", "enum", "hashlib", "_hashlib", "json", "typing", "dataclasses", "pathlib",
         "contextlib", "functools", "subprocess", "datetime", "inspect", "importlib",
         "tempfile", "typer", "click", "ruamel", "keyring"}

# The probe imports nothing before it notes what is loaded: the arguments come in one
# variable joined by unit separators, and the report goes out one name per line.
PROBE = r"""
import os, sys
before = set(sys.modules)
report_fd = int(os.environ.pop("PROBE_FD"))
def report():
    os.write(report_fd, "\n".join(sorted(set(sys.modules) - before)).encode())
def execvpe(file, args, env):  # exec reached the point of running the command
    report()
    os._exit(0)
os.execvpe = execvpe
sys.argv = ["encfile", *os.environ.pop("PROBE_ARGS").split("\x1f")]
from encfile.cli import main
try:
    main()
except SystemExit as done:
    if done.code:
        raise
report()
"""


def _imports(args: list[str], cwd: Path, env: dict[str, str]) -> set[str]:
    paths = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    read, write = os.pipe()
    env = {**env, "PYTHONPATH": os.pathsep.join([str(ROOT), *sorted(paths)]),
           "PROBE_ARGS": "\x1f".join(args), "PROBE_FD": str(write)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        done = subprocess.run([sys.executable, "-S", "-c", PROBE], env=env, cwd=cwd,
                              capture_output=True, timeout=60, pass_fds=(write,))
    finally:
        os.close(write)
    with os.fdopen(read, "rb") as report:
        modules = report.read()
    assert done.returncode == 0, done.stderr.decode()
    assert modules, f"the probe reported nothing: {done.stderr.decode()}"
    return set(modules.decode().split())


@pytest.fixture
def files(tmp_path: Path, env: dict[str, str]) -> Path:
    (tmp_path / "sops.enc.env").write_bytes((SOPS_VECTORS / "app.enc.env").read_bytes())
    (tmp_path / "s.env").write_text("DB_PASSWORD=hunter2\nAPI_TOKEN=abc123\n")
    made = run_encfile("-e", "--age", TEST_PUBLIC, "-o", str(tmp_path / "encfile.enc.env"),
                       str(tmp_path / "s.env"), env=env)
    assert made.returncode == 0, made.stderr
    return tmp_path


CASES = {
    "decrypt a sops file": (["-d", "sops.enc.env"], DECRYPT_MODULES),
    "decrypt an encfile file": (["-d", "encfile.enc.env"], DECRYPT_MODULES | LAYOUT_MODULES),
    "exec with a sops file": (["exec", "-f", "sops.enc.env", "--", "true"], EXEC_MODULES),
    "exec with an encfile file": (["exec", "-f", "encfile.enc.env", "--", "true"],
                                  EXEC_MODULES | LAYOUT_MODULES),
    "git textconv of an encfile file": (["git", "textconv", "encfile.enc.env"],
                                        TEXTCONV_MODULES | LAYOUT_MODULES),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_small_file_path_imports_only_what_it_needs(case: str, files: Path,
                                                        home: Path) -> None:
    args, own = CASES[case]
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    imported = _imports(args, files, env)
    named = sorted(imported & NEVER)
    assert named == [], f"{case} imports {named}"
    allowed = STDLIB | SHARED_MODULES | own
    extra = sorted(m for m in imported - allowed if m.split(".")[0] not in LIBRARIES)
    assert extra == [], f"{case} imports modules not listed here: {extra}"
    missing = sorted((SHARED_MODULES | own) - imported)
    assert missing == [], f"{case} no longer imports {missing}: update the lists"


def test_the_probe_sees_an_import(files: Path, home: Path) -> None:
    """The probe itself: a path that needs re (a YAML file) is seen importing it."""
    (files / "s.yaml").write_text("a: 1\n")
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    made = run_encfile("-e", "--age", TEST_PUBLIC, "-o", str(files / "s.enc.yaml"),
                       str(files / "s.yaml"), env=env)
    assert made.returncode == 0, made.stderr
    assert {"re", "enum"} <= _imports(["-d", "s.enc.yaml"], files, env)


# -- the quick exit: a read-only command ends without the interpreter's teardown ----------

# A sitecustomize that notes how the process ended: an object whose finalizer runs in the
# interpreter's teardown, and (with EXIT_HANDLER set) an exit handler, which must still run.
SITECUSTOMIZE = r"""
import atexit, builtins, os
marks = os.environ["EXIT_MARKS"]
class _Teardown:
    def __del__(self, open=open, path=os.path.join(marks, "teardown")):
        open(path, "w").close()
builtins._exit_probe = _Teardown()
if os.environ.get("EXIT_HANDLER"):
    atexit.register(lambda: open(os.path.join(marks, "handler"), "w").close())
"""


def _ended(args: list[str], cwd: Path, home: Path, tmp_path: Path,
           **extra: str) -> tuple[subprocess.CompletedProcess[bytes], set[str]]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE), PYTHONPATH=str(site),
                    EXIT_MARKS=str(marks), **extra)
    # as the console script runs it (python -m encfile runs main(), which always raises)
    done = subprocess.run([sys.executable, "-c", "from encfile.cli import command; command()",
                           *args], capture_output=True, env=env, cwd=cwd, timeout=120)
    return done, {p.name for p in marks.iterdir()}


def test_the_console_script_is_the_command() -> None:
    scripts = (ROOT / "pyproject.toml").read_text().partition("[project.scripts]")[2]
    assert scripts.partition("\n[")[0].split()[:3] == ["encfile", "=", '"encfile.cli:command"']


def test_python_m_encfile_keeps_the_usual_exit(files: Path, home: Path,
                                               tmp_path: Path) -> None:
    """runpy may run encfile's __main__ inside another program: it gets SystemExit."""
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    code = ("import runpy, sys\nsys.argv = ['encfile', '-d', 'sops.enc.env']\n"
            "try:\n    runpy.run_module('encfile', run_name='__main__')\n"
            "except SystemExit as done:\n    print('still here', done.code, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env,
                          cwd=files, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode().strip() == "still here 0"


def test_decrypt_ends_without_teardown_and_with_all_its_output(files: Path, home: Path,
                                                               tmp_path: Path) -> None:
    big = "".join(f"K{i}=value-{i}-{'x' * 40}\n" for i in range(5000))
    (files / "big.env").write_text(big)
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    made = run_encfile("-e", "--age", TEST_PUBLIC, "-o", str(files / "big.enc.env"),
                       str(files / "big.env"), env=env)
    assert made.returncode == 0, made.stderr
    done, marks = _ended(["-d", "big.enc.env"], files, home, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == big  # every byte through the pipe before the end
    assert marks == set()  # no teardown ran


def test_an_exit_handler_keeps_the_usual_exit(files: Path, home: Path,
                                              tmp_path: Path) -> None:
    done, marks = _ended(["-d", "sops.enc.env"], files, home, tmp_path, EXIT_HANDLER="1")
    assert done.returncode == 0, done.stderr
    assert marks == {"handler", "teardown"}


def test_writing_commands_keep_the_usual_exit(files: Path, home: Path,
                                              tmp_path: Path) -> None:
    done, marks = _ended(["-d", "--output", "out.env", "sops.enc.env"], files, home, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (files / "out.env").read_bytes()
    assert marks == {"teardown"}
