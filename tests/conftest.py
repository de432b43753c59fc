"""Shared fixtures: the committed test keys, a clean environment, the CLI as a subprocess."""

from __future__ import annotations

import base64
import datetime as dt
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# The same examples on every run, so CI is reproducible; ENCFILE_HYPOTHESIS_EXAMPLES (a long
# hunt, see tests/test_roundtrip_hypothesis.py) draws new ones.
settings.register_profile("encfile", derandomize=True)
settings.register_profile("hunt", derandomize=False)
settings.load_profile("hunt" if os.environ.get("ENCFILE_HYPOTHESIS_EXAMPLES") else "encfile")

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"
PLAIN = TESTDATA / "plain"
SOPS_VECTORS = TESTDATA / "sops"
KEY_FILE = TESTDATA / "keys" / "test-key.txt"
OTHER_KEY_FILE = TESTDATA / "keys" / "other-key.txt"
SHARED = ROOT.parent / "shared"
# CI sets this so that a missing oracle fails the run instead of skipping tests.
REQUIRE_ORACLES = os.environ.get("ENCFILE_REQUIRE_ORACLES") == "1"


def corpus_files(shared: Path, *suffixes: str) -> list[Path]:
    """The shared corpus's files with these suffixes, then testdata's plain and sops-made ones."""
    found = [p for p in sorted(shared.joinpath("corpus").rglob("*"))
             if p.suffix in suffixes and p.is_file()]
    return found + [p for folder in (PLAIN, SOPS_VECTORS) for p in sorted(folder.iterdir())
                    if p.suffix in suffixes]


def _key_parts(path: Path) -> tuple[str, str]:
    text = path.read_text()
    public = text.split("# public key: ")[1].split()[0]
    secret = next(line for line in text.splitlines() if line.startswith("AGE-SECRET-KEY-"))
    return public, secret


# A fresh clone checks files out 0644 under the usual umask; encfile warns about key files
# that others can read, so the committed test keys are made private first.
for _key_file in (KEY_FILE, OTHER_KEY_FILE):
    _key_file.chmod(0o600)

TEST_PUBLIC, TEST_SECRET = _key_parts(KEY_FILE)
OTHER_PUBLIC, OTHER_SECRET = _key_parts(OTHER_KEY_FILE)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment with no identity sources but the ones a test passes in."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOPS_", "ENCFILE_")) and k not in ("XDG_CONFIG_HOME",)}
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["ENCFILE_NO_KEYRING"] = "1"  # a developer's own keyring stays out of the tests
    env.update(extra)
    return env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """A clean environment whose only identity is the committed test key."""
    return clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE))


def run_encfile(*args: str, env: dict[str, str], input: bytes | None = None,
                cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI the way a user does: a separate process."""
    return subprocess.run([sys.executable, "-m", "encfile", *args], input=input,
                          capture_output=True, env=env, cwd=cwd, timeout=120)


def _oracle(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if REQUIRE_ORACLES:
            pytest.fail(f"the {name} binary is required (ENCFILE_REQUIRE_ORACLES=1)")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture(scope="session")
def sops_bin() -> str:
    return _oracle("sops")


@pytest.fixture(scope="session")
def age_bin() -> str:
    return _oracle("age")


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared (the team corpus) is not present")
    return SHARED


def load_docs(text: str) -> list[Any]:
    """All documents of a YAML stream, as plain Python data (YAML 1.1-ish, merge keys applied)."""
    from ruamel.yaml import YAML

    return list(YAML(typ="safe", pure=True).load_all(text))


def canon(x: Any) -> Any:
    """A comparable form of parsed data that keeps int, float and bool apart and makes NaN equal
    to itself (Python's ``1 == 1.0 == True`` would otherwise hide type changes)."""
    if isinstance(x, dict):
        return {canon(k): canon(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [canon(v) for v in x]
    if isinstance(x, bool):
        return ("bool", x)
    if isinstance(x, int):
        return ("int", x)
    if isinstance(x, float):
        return ("float", "nan" if math.isnan(x) else x)
    if isinstance(x, dt.datetime):
        return ("time", x)  # aware datetimes compare by instant, whatever tzinfo object
    if isinstance(x, dt.date):
        return ("date", x)
    return x


# -- shared by the per-format test families ---------------------------------------------------------

TOKEN_RE = re.compile(
    r"ENC\[AES256_GCM,data:(?P<data>[A-Za-z0-9+/=]*),iv:(?P<iv>[A-Za-z0-9+/=]*),"
    r"tag:(?P<tag>[A-Za-z0-9+/=]*),type:(?P<type>[a-z]+)\]"
)
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
EXIT_INPUT, EXIT_NOT_ENCRYPTED, EXIT_ALREADY = 2, 1, 203
EXIT_TAMPERED, EXIT_MAC = 25, 51


def ok(proc: subprocess.CompletedProcess[bytes], what: str = "the command") -> bytes:
    """A finished process's standard output, after checking it exited 0 (its stderr in
    the message otherwise)."""
    assert proc.returncode == 0, (
        f"{what} exited {proc.returncode}:\n{proc.stderr.decode(errors='replace')}")
    return bytes(proc.stdout)


def assert_cli_error(result: subprocess.CompletedProcess[bytes], code: int) -> str:
    """Exit code, empty stdout, one ``encfile: error:`` line (then only hints), no traceback."""
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == code, stderr
    assert result.stdout == b""
    lines = stderr.splitlines()
    assert lines and lines[0].startswith("encfile: error: "), stderr
    assert all(line.startswith("encfile: hint: ") for line in lines[1:]), stderr
    assert "Traceback" not in stderr
    return stderr


def b64_forms(raw: bytes) -> set[str]:
    """Base64 text that any base64 encoding holding ``raw`` must contain: at the three
    alignments, standard and urlsafe, ending the data (with or without padding) or not.
    For checking that no secret appears in a message in encoded form."""
    forms = set()
    for shift in range(3):
        text = base64.b64encode(bytes(shift) + raw).decode()
        start = 4 if shift else 0  # the first group mixes in the unknown prefix
        end = len(text) - 4 if (shift + len(raw)) % 3 else len(text)  # ... the last
        for form in (text[start:end], text[start:], text[start:].rstrip("=")):
            forms |= {form, form.replace("+", "-").replace("/", "_")}
    return forms
