"""Shared by the scanner's tests (imported by each test module): the corpus repositories
(built once per session, with a seed drawn at test time and shown in every failure) and
the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import corpus as _corpus
import pytest
from conftest import TEST_PUBLIC, clean_env

SEED = int(os.environ.get("ENCFILE_SCAN_SEED") or secrets.randbits(32))
FINDINGS_EXIT = 10


def scan_env(home: Path) -> dict[str, str]:
    env = _corpus.git_env(clean_env(home))
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def run_scan(*args: str, cwd: Path, env: dict[str, str],
             input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "encfile", "scan", *args], cwd=cwd, env=env,
                          capture_output=True, timeout=300, input=input)


def findings(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    assert result.returncode in (0, FINDINGS_EXIT), result.stderr.decode()
    return list(json.loads(result.stdout)["findings"])


@pytest.fixture(scope="session")
def corpus_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    return home


@pytest.fixture(scope="session")
def mixed(tmp_path_factory: pytest.TempPathFactory, corpus_home: Path) -> _corpus.Corpus:
    """The corpus with secrets and look-alikes."""
    root = tmp_path_factory.mktemp("mixed") / "repo"
    return _corpus.build(root, scan_env(corpus_home), TEST_PUBLIC, seed=SEED)


@pytest.fixture(scope="session")
def lookalikes_only(tmp_path_factory: pytest.TempPathFactory,
                    corpus_home: Path) -> _corpus.Corpus:
    root = tmp_path_factory.mktemp("lookalikes") / "repo"
    return _corpus.build(root, scan_env(corpus_home), TEST_PUBLIC, seed=SEED + 1,
                         only_lookalikes=True)
