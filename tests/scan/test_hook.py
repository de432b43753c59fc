"""Keeping it clean: ``encfile git setup --scan`` (encfile's own hook) and the
``encfile-scan`` hook of the pre-commit framework, with real ``git commit``s."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, clean_env
from scan_helpers import FINDINGS_EXIT, scan_env

TOKEN = "ghp_" + "Zq8Rk2Lm4Np6Tv0Xb3Cd5Fg7Hj9Kw1Ys2Ua4"  # made up, GitHub's shape


@pytest.fixture
def genv(home: Path) -> dict[str, str]:
    env = scan_env(home)
    env["GIT_CONFIG_GLOBAL"] = str(home / ".gitconfig")
    return env


def git(repo: Path, *args: str, env: dict[str, str], check: bool = True
        ) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, timeout=120)
    if check:
        assert result.returncode == 0, (args, result.stderr.decode())
    return result


def encfile(*args: str, repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "encfile", *args], cwd=repo, env=env,
                          capture_output=True, timeout=120)


@pytest.fixture
def repo(tmp_path: Path, genv: dict[str, str]) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main", env=genv)
    return root


def test_setup_scan_refuses_a_staged_secret(repo: Path, genv: dict[str, str]) -> None:
    setup = encfile("git", "setup", "--scan", repo=repo, env=genv)
    assert setup.returncode == 0, setup.stderr.decode()
    hook = (repo / ".git" / "hooks" / "pre-commit").read_text()
    assert "git pre-commit && " in hook and " scan --staged\n" in hook
    (repo / "app.yaml").write_text("name: shop\n")
    git(repo, "add", "app.yaml", env=genv)
    git(repo, "commit", "-q", "-m", "clean", env=genv)
    (repo / "ci.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    git(repo, "add", "ci.env", env=genv)
    refused = git(repo, "commit", "-q", "-m", "leak", env=genv, check=False)
    stderr = refused.stderr.decode()
    assert refused.returncode != 0
    assert "encfile: error: 1 secret(s) not encrypted in staged files" in stderr
    assert TOKEN not in stderr + refused.stdout.decode()
    assert git(repo, "log", "--format=%s", env=genv).stdout.decode().split() == ["clean"]
    # setup again, without --scan: the hook keeps the scan; status says so
    again = encfile("git", "setup", repo=repo, env=genv)
    assert again.returncode == 0 and b"already set up" in again.stderr
    assert (repo / ".git" / "hooks" / "pre-commit").read_text() == hook
    status = encfile("git", "status", repo=repo, env=genv)
    assert b"and scans staged files for secrets" in status.stdout and not status.stderr
    # encrypted, the same content passes
    git(repo, "rm", "-q", "--cached", "ci.env", env=genv)
    (repo / "ci.env").unlink()
    (repo / "notes.txt").write_text("nothing secret here\n")
    git(repo, "add", "notes.txt", env=genv)
    git(repo, "commit", "-q", "-m", "notes", env=genv)


def test_setup_scan_needs_the_hook(repo: Path, genv: dict[str, str]) -> None:
    for other in ("--no-hook", "--global"):
        result = encfile("git", "setup", "--scan", other, repo=repo, env=genv)
        assert result.returncode == 8, result.stderr.decode()
        assert result.stderr.decode().startswith("encfile: error: --scan and ")


def test_setup_without_scan_writes_the_hook_as_before(repo: Path, genv: dict[str, str]) -> None:
    from encfile.gitsetup import hook_text

    assert encfile("git", "setup", repo=repo, env=genv).returncode == 0
    hook = (repo / ".git" / "hooks" / "pre-commit").read_text()
    assert "scan" not in hook
    assert hook_text(["/x/encfile"]) != hook_text(["/x/encfile"], scan=True)


def _manifest() -> dict[str, object]:
    from ruamel.yaml import YAML

    hooks = YAML(typ="safe", pure=True).load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return next(h for h in hooks if h["id"] == "encfile-scan")


def test_pre_commit_manifest_entry_scans_staged_content(repo: Path, genv: dict[str, str]
                                                        ) -> None:
    hook = _manifest()
    assert hook["language"] == "python" and hook["pass_filenames"] is True
    assert any(str(d).startswith("detect-secrets") for d in hook["additional_dependencies"])
    entry = shlex.split(str(hook["entry"]))
    assert entry[:3] == ["encfile", "scan", "--staged"]
    (repo / "ci.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    (repo / "ok.env").write_text("A=1\n")
    git(repo, "add", ".", env=genv)
    # as the framework runs it: the entry, then the staged files' names
    leak = subprocess.run([*entry, "ci.env", "ok.env"], cwd=repo, env=genv,
                          capture_output=True, timeout=120)
    assert leak.returncode == FINDINGS_EXIT, leak.stderr.decode()
    assert b"ci.env:1: GitHub token" in leak.stdout
    clean = subprocess.run([*entry, "ok.env"], cwd=repo, env=genv, capture_output=True,
                           timeout=120)
    assert clean.returncode == 0, clean.stderr.decode()


@pytest.mark.slow
def test_pre_commit_framework_runs_the_hook(repo: Path, genv: dict[str, str],
                                            tmp_path: Path) -> None:
    """The real framework: ``pre-commit try-repo`` installs this repository's hook in its
    own virtualenv (from the package index) and runs it on a staged secret."""
    framework = shutil.which("pre-commit")
    if framework is None:
        pytest.skip("pre-commit is not installed (pip install pre-commit)")
    env = dict(genv, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))
    env = clean_env(Path(env["HOME"]), **{k: v for k, v in env.items() if k != "HOME"})
    # the hooks' repository as it is now (try-repo leaves out files git does not track yet)
    source = tmp_path / "encfile-src"
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    git(source, "init", "-q", "-b", "main", env=env)
    git(source, "add", "-A", env=env)
    git(source, "commit", "-q", "-m", "snapshot", env=env)
    (repo / "ci.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    git(repo, "add", "ci.env", env=env)
    result = subprocess.run([framework, "try-repo", str(source), "encfile-scan", "--verbose"],
                            cwd=repo, env=env, capture_output=True, timeout=1200)
    out = result.stdout.decode() + result.stderr.decode()
    assert result.returncode != 0, out
    assert "ci.env:1: GitHub token" in out and TOKEN not in out
    assert os.path.isdir(tmp_path / "pre-commit-home")
