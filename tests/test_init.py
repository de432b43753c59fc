"""`encfile init`: from an empty repository to a committed encrypted file with readable diffs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KEY_FILE, TEST_PUBLIC, clean_env, run_encfile

from encfile.project import regex_of


def git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(["git", "-c", "user.email=a@example.org", "-c", "user.name=A",
                             *args], cwd=cwd, env=env, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


@pytest.fixture
def fresh(tmp_path: Path, home: Path) -> tuple[Path, dict[str, str]]:
    env = clean_env(home, GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q", env=env)
    return repo, env


def assert_steps_aligned(stdout: str) -> None:
    """The comments of "Next steps" start in one column, whatever the file names' lengths."""
    steps = stdout.split("Next steps:\n", 1)[1].splitlines()
    columns = {line.index("   # ") for line in steps if "   # " in line}
    assert len(columns) == 1 and len(steps) >= 4, stdout


@pytest.mark.parametrize("pattern", ["s.env", "deploy/production/*.enc.yaml"])
def test_next_steps_are_aligned_for_any_pattern(fresh: tuple[Path, dict[str, str]],
                                                pattern: str) -> None:
    repo, env = fresh
    result = run_encfile("init", "--no-git", "--age", TEST_PUBLIC, pattern, env=env, cwd=repo)
    assert result.returncode == 0, result.stderr.decode()
    assert_steps_aligned(result.stdout.decode())


def test_init_in_an_empty_repository_leads_to_readable_diffs(
        fresh: tuple[Path, dict[str, str]], home: Path) -> None:
    repo, env = fresh
    result = run_encfile("init", env=env, cwd=repo)
    assert result.returncode == 0, result.stderr.decode()
    key_file = home / ".config" / "sops" / "age" / "keys.txt"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    public = re.search(r"# public key: (age1\w+)", key_file.read_text())
    assert public is not None
    config = (repo / ".encfile.yaml").read_text()
    assert f"age: {public.group(1)}" in config
    assert b"Next steps:" in result.stdout and b"encfile edit secrets.enc.yaml" in result.stdout
    assert_steps_aligned(result.stdout.decode())
    assert "*.enc.* diff=encfile merge=encfile" in (repo / ".gitattributes").read_text()

    (repo / "secrets.enc.yaml").write_text("db:\n  password: hunter2\n")
    assert run_encfile("-e", "-i", "secrets.enc.yaml", env=env, cwd=repo).returncode == 0
    git(repo, "add", ".", env=env)
    git(repo, "commit", "-qm", "secrets", env=env)  # the pre-commit hook lets it through
    changed = run_encfile("set", "secrets.enc.yaml", '["db"]["password"]', '"s3cret"',
                          env=env, cwd=repo)
    assert changed.returncode == 0, changed.stderr.decode()
    diff = git(repo, "diff", env=env)
    assert "-  password: hunter2\n" in diff and "+  password: s3cret\n" in diff


def test_init_uses_an_existing_identity_and_keeps_an_existing_config(
        fresh: tuple[Path, dict[str, str]]) -> None:
    repo, env = fresh
    env = {**env, "SOPS_AGE_KEY_FILE": str(KEY_FILE)}
    result = run_encfile("init", "secrets/**/*.yaml", "--no-git", env=env, cwd=repo)
    assert result.returncode == 0, result.stderr.decode()
    assert f"using your identity {TEST_PUBLIC}" in result.stderr.decode()
    config = (repo / ".encfile.yaml").read_text()
    assert f"age: {TEST_PUBLIC}" in config and "path_regex: '^secrets/(.*/)?[^/]*\\.yaml$'" \
        in config
    assert not (repo / ".gitattributes").exists()
    again = run_encfile("init", env=env, cwd=repo)  # a teammate's clone: rules are kept
    assert again.returncode == 0, again.stderr.decode()
    assert b"already has .encfile.yaml: it is kept" in again.stderr
    assert (repo / ".encfile.yaml").read_text() == config
    assert "*.enc.* diff=encfile" in (repo / ".gitattributes").read_text()


def test_init_with_several_globs_sets_up_git_for_each(fresh: tuple[Path, dict[str, str]]) -> None:
    repo, env = fresh
    env = {**env, "SOPS_AGE_KEY_FILE": str(KEY_FILE)}
    result = run_encfile("init", "secrets/*.yaml", "*.enc.env", env=env, cwd=repo)
    assert result.returncode == 0, result.stderr.decode()
    attributes = (repo / ".gitattributes").read_text()
    assert "secrets/*.yaml diff=encfile" in attributes
    assert "*.enc.env diff=encfile" in attributes
    checked = git(repo, "check-attr", "diff", "--", "secrets/app.yaml", "x/prod.enc.env", env=env)
    assert checked.count(": diff: encfile") == 2


@pytest.mark.parametrize(("glob", "matches", "misses"), [
    ("*.enc.yaml", ["a.enc.yaml", "x/y/a.enc.yaml"], ["a.enc.yaml.bak", "a.yaml"]),
    ("secrets/*.yaml", ["secrets/a.yaml"], ["secrets/x/a.yaml", "other/secrets/a.yaml"]),
    ("secrets/**/*.yaml", ["secrets/a.yaml", "secrets/x/y/a.yaml"], ["a.yaml"]),
    ("**/prod.env", ["prod.env", "deploy/prod.env"], ["prod.envx"]),
    (".env.?", [".env.1"], [".env.12", ".env"]),
])
def test_globs_become_path_regexes(glob: str, matches: list[str], misses: list[str]) -> None:
    rx = re.compile(regex_of(glob))
    assert all(rx.search(p) for p in matches), regex_of(glob)
    assert not any(rx.search(p) for p in misses), regex_of(glob)
