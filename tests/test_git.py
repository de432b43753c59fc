"""Git integration, driven through real repositories: setup, diff, merge, resolve, pre-commit."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import sysconfig
import zlib
from pathlib import Path

import pytest
from conftest import (
    KEY_FILE,
    OTHER_KEY_FILE,
    OTHER_PUBLIC,
    ROOT,
    TEST_PUBLIC,
    clean_env,
    load_docs,
    run_encfile,
)

import encfile
from encfile.gitsetup import glob_of

CANARIES = ("hunter2-old", "hunter2-new", "zebra-ours", "zebra-theirs", "walrus-added")


@pytest.fixture
def genv(home: Path) -> dict[str, str]:
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE),
                    GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1")
    # the encfile under test is the one git finds (the venv's, or `python -m encfile`)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def git(repo: Path, *args: str, env: dict[str, str], check: bool = True
        ) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, timeout=120)
    if check:
        assert result.returncode == 0, (args, result.stderr.decode())
    return result


def enc(text: str, recipients: str = TEST_PUBLIC) -> str:
    return encfile.encrypt(text, recipients=recipients, format="yaml")


def decrypt(path: Path, secret_file: Path = KEY_FILE) -> str:
    identity = [line for line in secret_file.read_text().splitlines()
                if line.startswith("AGE-SECRET-KEY-")]
    return encfile.decrypt(path.read_text(), format="yaml", identities=identity)


def set_value(repo: Path, env: dict[str, str], name: str, path: str, value: str) -> None:
    result = run_encfile("set", name, path, value, env=env, cwd=repo)
    assert result.returncode == 0, result.stderr.decode()


RULES = f"creation_rules:\n  - path_regex: \\.enc\\.(yaml|env)$\n    age: {TEST_PUBLIC}\n"
FIRST = "db:\n  password: hunter2-old  # rotate yearly\n  user: app\napi: k1\nlevel: 3\n"


def make_repo(r: Path, env: dict[str, str], setup: list[str] | None = None,
              setup_env: dict[str, str] | None = None) -> Path:
    """A repository with rules, set up by ``setup`` (argv; default: ``python -m encfile git
    setup``) and one commit of ``s.enc.yaml``."""
    r.mkdir()
    git(r, "init", "-q", "-b", "main", env=env)
    git(r, "config", "user.email", "dev@example.org", env=env)
    git(r, "config", "user.name", "Dev", env=env)
    (r / ".encfile.yaml").write_text(RULES)
    argv = setup or [sys.executable, "-m", "encfile", "git", "setup"]
    result = subprocess.run(argv, cwd=r, env=setup_env or env, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    (r / "s.enc.yaml").write_text(enc(FIRST))
    git(r, "add", ".", env=env)
    git(r, "commit", "-qm", "first", env=env)
    return r


@pytest.fixture
def repo(tmp_path: Path, genv: dict[str, str]) -> Path:
    return make_repo(tmp_path / "repo", genv)


def assert_no_plaintext(repo: Path, env: dict[str, str]) -> None:
    """No canary in the working tree, in any file under .git, or in any git object."""
    for path in repo.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            with contextlib.suppress(zlib.error):  # loose git objects are zlib streams
                data += zlib.decompress(data)
            assert not any(c.encode() in data for c in CANARIES), path
    objects = git(repo, "cat-file", "--batch-all-objects", "--batch", env=env).stdout
    assert not any(c.encode() in objects for c in CANARIES)
    notes = git(repo, "for-each-ref", "refs/notes", env=env).stdout
    assert notes == b"", "textconv output was cached under refs/notes"


# -- setup -------------------------------------------------------------------------------------

def test_setup_writes_attributes_drivers_and_hook_once(repo: Path, genv: dict[str, str]) -> None:
    attributes = (repo / ".gitattributes").read_text()
    assert "*.enc.yaml diff=encfile merge=encfile\n" in attributes
    assert "*.enc.env diff=encfile merge=encfile\n" in attributes
    config = git(repo, "config", "--local", "--list", env=genv).stdout.decode()
    assert "diff.encfile.textconv=" in config and " git textconv" in config
    assert "diff.encfile.cachetextconv=false" in config
    assert re.search(r"merge\.encfile\.driver=.* git merge %O %A %B %P", config)
    hook = repo / ".git" / "hooks" / "pre-commit"
    assert hook.stat().st_mode & stat.S_IXUSR
    again = run_encfile("git", "setup", env=genv, cwd=repo)
    assert again.returncode == 0 and b"nothing changed" in again.stderr
    assert (repo / ".gitattributes").read_text() == attributes
    status = run_encfile("git", "status", env=genv, cwd=repo)
    assert b"pre-commit hook: installed" in status.stdout
    assert b".gitattributes patterns: *.enc.yaml, *.enc.env" in status.stdout


def test_setup_chains_an_existing_hook(tmp_path: Path, genv: dict[str, str]) -> None:
    r = tmp_path / "r"
    r.mkdir()
    git(r, "init", "-q", env=genv)
    hook = r / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch '{tmp_path}/old-hook-ran'\n")
    hook.chmod(0o755)
    assert run_encfile("git", "setup", env=genv, cwd=r).returncode == 0
    assert (r / ".git" / "hooks" / "pre-commit.local").exists()
    git(r, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty",
        "-m", "x", env=genv)
    assert (tmp_path / "old-hook-ran").exists()
    assert (r / ".gitattributes").read_text().count("diff=encfile") == 2  # the defaults


def test_setup_global_uses_the_user_config(tmp_path: Path, genv: dict[str, str],
                                          home: Path) -> None:
    result = run_encfile("git", "setup", "--global", env=genv, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "encfile git merge" in (home / ".gitconfig").read_text()
    assert "*.enc.* diff=encfile merge=encfile" in (home / ".config" / "git" /
                                                    "attributes").read_text()


def test_setup_outside_a_repository_is_a_clear_error(tmp_path: Path,
                                                     genv: dict[str, str]) -> None:
    result = run_encfile("git", "setup", env=genv, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith("encfile: error: not inside a git repository")


@pytest.mark.parametrize(("regex", "globs"), [
    (r"\.enc\.yaml$", ["*.enc.yaml"]),
    (r"\.enc\.(yaml|json)$", ["*.enc.yaml", "*.enc.json"]),
    (r".*\.enc\.env$", ["*.enc.env"]),
    (r"^secrets/.*\.yaml$", ["secrets/**/*.yaml"]),
    (r"^prod\.enc\.yaml$", ["/prod.enc.yaml"]),
    (r"secrets/", ["**/secrets/**"]),
    (r"\.enc\.", ["*.enc.*"]),
    (r"(dev|prod)/[^/]+\.yaml$", ["**/dev/*.yaml", "**/prod/*.yaml"]),
    (r"\.ya?ml$", None),
    (r"", None),
])
def test_creation_rule_regexes_become_globs(regex: str, globs: list[str] | None) -> None:
    assert glob_of(regex) == globs


# -- diff --------------------------------------------------------------------------------------

def test_git_diff_log_and_show_print_values(repo: Path, genv: dict[str, str]) -> None:
    set_value(repo, genv, "s.enc.yaml", '["db"]["password"]', '"hunter2-new"')
    diff = git(repo, "diff", env=genv).stdout.decode()
    assert "-  password: hunter2-old  # rotate yearly\n" in diff
    assert "+  password: hunter2-new  # rotate yearly\n" in diff
    raw = git(repo, "diff", "--no-textconv", "--unified=0", env=genv).stdout.decode()
    changed = [line for line in raw.splitlines() if line[:1] in "+-"
               and not line.startswith(("+++", "---"))]
    # quiet diffs: the password, and the MAC, timestamp and layout token (bound to
    # both); its comment and every other value keep their ciphertext
    names = [re.match(r"[+-]\s*(\w+):", line).group(1) for line in changed]  # type: ignore[union-attr]
    assert set(names) <= {"password", "mac", "lastmodified", "encfile_layout"}, raw
    assert names.count("password") == 2 and names.count("mac") == 2
    git(repo, "commit", "-qam", "rotate", env=genv)
    log = git(repo, "log", "-p", env=genv).stdout.decode()
    assert "+  password: hunter2-new" in log and "+  password: hunter2-old" in log
    show = git(repo, "show", "HEAD", env=genv).stdout.decode()
    assert "-  password: hunter2-old" in show
    assert_no_plaintext(repo, genv)


def test_textconv_of_a_file_for_someone_else_shows_ciphertext_and_why(
        repo: Path, genv: dict[str, str]) -> None:
    (repo / "theirs.enc.yaml").write_text(enc("token: zebra-theirs\n", OTHER_PUBLIC))
    git(repo, "add", "theirs.enc.yaml", env=genv)
    git(repo, "commit", "-qm", "other team's file", env=genv)
    shown = git(repo, "show", "HEAD", env=genv)
    text = shown.stdout.decode()
    assert "+token: ENC[AES256_GCM," in text
    assert "+encfile: this version cannot be decrypted: " in text
    assert "zebra-theirs" not in text


def test_textconv_passes_plain_files_through(repo: Path, genv: dict[str, str]) -> None:
    (repo / "notes.enc.yaml").write_text("just: text\n")
    result = run_encfile("git", "textconv", "notes.enc.yaml", env=genv, cwd=repo)
    assert result.returncode == 0 and result.stdout == b"just: text\n"


# -- merge -------------------------------------------------------------------------------------

def branch(repo: Path, env: dict[str, str], name: str, base: str = "main") -> None:
    git(repo, "checkout", "-q", "-b", name, base, env=env)


def token_of(text: str, key: str) -> str:
    m = re.search(rf"^\s*{key}: (ENC\[[^\]]+\])", text, re.M)
    assert m, key
    return m.group(1)


def test_merge_of_different_keys_succeeds_and_keeps_ciphertext(
        repo: Path, genv: dict[str, str], sops_bin: str) -> None:
    before = (repo / "s.enc.yaml").read_text()
    branch(repo, genv, "feature")
    set_value(repo, genv, "s.enc.yaml", '["api"]', '"zebra-theirs"')
    git(repo, "commit", "-qam", "api", env=genv)
    git(repo, "checkout", "-q", "main", env=genv)
    set_value(repo, genv, "s.enc.yaml", '["db"]["password"]', '"hunter2-new"')
    git(repo, "commit", "-qam", "password", env=genv)
    merged = git(repo, "merge", "-m", "merge", "feature", env=genv)
    assert merged.returncode == 0
    after = (repo / "s.enc.yaml").read_text()
    expected = ("db:\n  password: hunter2-new  # rotate yearly\n  user: app\n"
                "api: zebra-theirs\nlevel: 3\n")
    assert decrypt(repo / "s.enc.yaml") == expected
    sops = subprocess.run([sops_bin, "-d", "s.enc.yaml"], cwd=repo, env=genv,
                          capture_output=True, check=True)
    assert load_docs(sops.stdout.decode()) == load_docs(expected)
    assert token_of(after, "user") == token_of(before, "user")  # unchanged: same ciphertext
    assert token_of(after, "level") == token_of(before, "level")
    assert git(repo, "status", "--porcelain", env=genv).stdout == b""
    assert_no_plaintext(repo, genv)


def test_keys_added_on_both_sides_at_the_same_place_both_apply(
        repo: Path, genv: dict[str, str]) -> None:
    branch(repo, genv, "feature")
    set_value(repo, genv, "s.enc.yaml", '["zz_theirs"]', '"walrus-added"')
    git(repo, "commit", "-qam", "theirs", env=genv)
    git(repo, "checkout", "-q", "main", env=genv)
    set_value(repo, genv, "s.enc.yaml", '["zz_ours"]', '"zebra-ours"')
    git(repo, "commit", "-qam", "ours", env=genv)
    assert git(repo, "merge", "-m", "merge", "feature", env=genv).returncode == 0
    data = load_docs(decrypt(repo / "s.enc.yaml"))[0]
    assert data["zz_ours"] == "zebra-ours" and data["zz_theirs"] == "walrus-added"
    assert data["api"] == "k1"


def conflicting(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    branch(repo, env, "feature")
    set_value(repo, env, "s.enc.yaml", '["db"]["password"]', '"zebra-theirs"')
    set_value(repo, env, "s.enc.yaml", '["api"]', '"walrus-added"')
    git(repo, "commit", "-qam", "theirs", env=env)
    git(repo, "checkout", "-q", "main", env=env)
    set_value(repo, env, "s.enc.yaml", '["db"]["password"]', '"zebra-ours"')
    git(repo, "commit", "-qam", "ours", env=env)
    return git(repo, "merge", "-m", "merge", "feature", env=env, check=False)


def test_conflicting_merge_fails_names_the_key_and_leaves_it_encrypted(
        repo: Path, genv: dict[str, str]) -> None:
    result = conflicting(repo, genv)
    ours = git(repo, "show", "HEAD:s.enc.yaml", env=genv).stdout.decode()
    assert result.returncode != 0
    output = (result.stdout + result.stderr).decode()
    assert "both sides changed 1 key: db.password" in output
    assert not any(c in output for c in CANARIES)
    assert (repo / "s.enc.yaml").read_text() == ours  # still encrypted: our version
    assert b"UU s.enc.yaml" in git(repo, "status", "--porcelain", env=genv).stdout
    assert_no_plaintext(repo, genv)


@pytest.mark.parametrize(("how", "password"), [("--ours", "zebra-ours"),
                                              ("--theirs", "zebra-theirs"),
                                              ("editor", "zebra-ours")])
def test_resolve_settles_the_conflict(repo: Path, genv: dict[str, str], tmp_path: Path,
                                      how: str, password: str) -> None:
    conflicting(repo, genv)
    env = dict(genv)
    args = ["git", "resolve", "s.enc.yaml"]
    if how == "editor":
        editor = tmp_path / "choose.py"
        editor.write_text(
            "import json, sys\n"
            "data = json.load(open(sys.argv[1]))\n"
            "assert data['db.password'] == {'ours': 'zebra-ours', 'theirs': 'zebra-theirs'}\n"
            "json.dump({'db.password': 'ours'}, open(sys.argv[1], 'w'))\n")
        env["EDITOR"] = f"{sys.executable} {editor}"
    else:
        args.append(how)
    result = run_encfile(*args, env=env, cwd=repo)
    assert result.returncode == 0, result.stderr.decode()
    data = load_docs(decrypt(repo / "s.enc.yaml"))[0]
    assert data["db"]["password"] == password
    assert data["api"] == "walrus-added"  # the change only theirs made still applies
    git(repo, "commit", "-qm", "resolved", env=genv)
    assert_no_plaintext(repo, genv)


def test_merge_after_offboarding_never_widens_access(repo: Path, genv: dict[str, str]) -> None:
    """Theirs added a recipient; ours did not: with no rule for the file, only the
    recipients both sides share can read the result, under a new data key."""
    (repo / ".encfile.yaml").unlink()
    git(repo, "commit", "-qam", "no rules", env=genv)
    branch(repo, genv, "feature")
    result = run_encfile("rotate", "-i", "--add-age", OTHER_PUBLIC, "s.enc.yaml", env=genv,
                         cwd=repo)
    assert result.returncode == 0, result.stderr.decode()
    git(repo, "commit", "-qam", "add a reader", env=genv)
    git(repo, "checkout", "-q", "main", env=genv)
    set_value(repo, genv, "s.enc.yaml", '["api"]', '"zebra-ours"')
    git(repo, "commit", "-qam", "ours", env=genv)
    result = git(repo, "merge", "-m", "merge", "feature", env=genv, check=False)
    assert result.returncode == 0, result.stderr.decode()
    text = (repo / "s.enc.yaml").read_text()
    assert TEST_PUBLIC in text and OTHER_PUBLIC not in text
    assert load_docs(decrypt(repo / "s.enc.yaml"))[0]["api"] == "zebra-ours"


def test_merge_without_an_identity_fails_safely(repo: Path, genv: dict[str, str],
                                                home: Path) -> None:
    ours_env = dict(genv)
    branch(repo, genv, "feature")
    set_value(repo, genv, "s.enc.yaml", '["api"]', '"zebra-theirs"')
    git(repo, "commit", "-qam", "theirs", env=genv)
    git(repo, "checkout", "-q", "main", env=genv)
    set_value(repo, genv, "s.enc.yaml", '["level"]', "4")
    git(repo, "commit", "-qam", "ours", env=genv)
    ours = (repo / "s.enc.yaml").read_text()
    ours_env["SOPS_AGE_KEY_FILE"] = str(OTHER_KEY_FILE)
    result = git(repo, "merge", "-m", "merge", "feature", env=ours_env, check=False)
    assert result.returncode != 0
    assert b"no identity" in result.stdout + result.stderr
    assert (repo / "s.enc.yaml").read_text() == ours


# -- pre-commit --------------------------------------------------------------------------------

def test_commit_of_a_plaintext_secrets_file_is_refused(repo: Path, genv: dict[str, str]) -> None:
    (repo / "new.enc.yaml").write_text("password: hunter2-new\n")
    git(repo, "add", "new.enc.yaml", env=genv)
    result = git(repo, "commit", "-qm", "oops", env=genv, check=False)
    assert result.returncode != 0
    err = result.stderr.decode()
    assert "encfile: error: 'new.enc.yaml' is not encrypted" in err
    assert "encfile -e -i 'new.enc.yaml'" in err
    assert "hunter2-new" not in err
    assert git(repo, "rev-list", "--count", "HEAD", env=genv).stdout == b"1\n"


def test_commit_of_a_tampered_file_is_refused(repo: Path, genv: dict[str, str]) -> None:
    text = (repo / "s.enc.yaml").read_text()
    a, b = token_of(text, "user"), token_of(text, "api")
    (repo / "s.enc.yaml").write_text(text.replace(a, "@").replace(b, a).replace("@", b))
    git(repo, "add", "s.enc.yaml", env=genv)
    result = git(repo, "commit", "-qm", "swap", env=genv, check=False)
    assert result.returncode != 0
    assert "encfile: error: 's.enc.yaml' does not verify" in result.stderr.decode()


def test_files_for_other_people_pass_and_broken_tokens_do_not(
        repo: Path, genv: dict[str, str]) -> None:
    (repo / "team.enc.yaml").write_text(enc("token: zebra-theirs\n", OTHER_PUBLIC))
    git(repo, "add", "team.enc.yaml", env=genv)
    git(repo, "commit", "-qm", "their file", env=genv)  # no identity: structure checks only
    text = (repo / "team.enc.yaml").read_text()
    (repo / "team.enc.yaml").write_text(text.replace(",type:str]", ",type:nope]", 1))
    git(repo, "add", "team.enc.yaml", env=genv)
    result = git(repo, "commit", "-qm", "broken", env=genv, check=False)
    assert result.returncode != 0
    assert "'team.enc.yaml' has broken metadata or tokens" in result.stderr.decode()


def test_pre_commit_checks_what_is_staged_not_the_working_tree(
        repo: Path, genv: dict[str, str]) -> None:
    (repo / "late.enc.env").write_text("TOKEN=hunter2-new\n")
    git(repo, "add", "late.enc.env", env=genv)
    (repo / "late.enc.env").write_text(encfile.encrypt("TOKEN=x\n", recipients=TEST_PUBLIC,
                                                       format="dotenv"))
    result = run_encfile("git", "pre-commit", env=genv, cwd=repo)
    assert result.returncode == 1
    assert b"'late.enc.env' is not encrypted" in result.stderr


def test_pre_commit_framework_hook_is_declared() -> None:
    hooks = load_docs((ROOT / ".pre-commit-hooks.yaml").read_text())[0]
    assert hooks[0]["id"] == "encfile" and hooks[0]["entry"] == "encfile git pre-commit"
    assert hooks[0]["pass_filenames"] is False


def test_git_help_and_bad_subcommands(genv: dict[str, str], tmp_path: Path) -> None:
    shown = run_encfile("git", "--help", env=genv, cwd=tmp_path)
    assert shown.returncode == 0 and b"encfile git setup" in shown.stdout
    assert "Commands:" in shown.stdout.decode()
    bad = run_encfile("git", "frobnicate", env=genv, cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.decode().startswith("encfile: error: no such git command: 'frobnicate'")


def test_a_file_added_on_both_branches_merges_by_key(repo: Path, genv: dict[str, str]) -> None:
    branch(repo, genv, "feature")
    (repo / "new.enc.yaml").write_text(enc("shared: 1\ntheirs: walrus-added\n"))
    git(repo, "add", ".", env=genv)
    git(repo, "commit", "-qm", "theirs", env=genv)
    git(repo, "checkout", "-q", "main", env=genv)
    (repo / "new.enc.yaml").write_text(enc("shared: 1\nours: zebra-ours\n"))
    git(repo, "add", ".", env=genv)
    git(repo, "commit", "-qm", "ours", env=genv)
    result = git(repo, "merge", "-m", "merge", "feature", env=genv, check=False)
    assert result.returncode == 0, result.stderr.decode()
    data = load_docs(decrypt(repo / "new.enc.yaml"))[0]
    assert data == {"shared": 1, "ours": "zebra-ours", "theirs": "walrus-added"}
    assert_no_plaintext(repo, genv)


def test_files_that_are_not_encrypted_merge_as_text(repo: Path, genv: dict[str, str]) -> None:
    (repo / "plain.enc").write_text("a\nb\nc\nd\ne\n")
    git(repo, "add", ".", env=genv)
    git(repo, "commit", "-qm", "plain", "--no-verify", env=genv)
    branch(repo, genv, "feature")
    (repo / "plain.enc").write_text("a\nB\nc\nd\ne\n")
    git(repo, "commit", "-qam", "theirs", "--no-verify", env=genv)
    git(repo, "checkout", "-q", "main", env=genv)
    (repo / "plain.enc").write_text("a\nb\nc\nd\nE\n")
    git(repo, "commit", "-qam", "ours", "--no-verify", env=genv)
    git(repo, "merge", "-m", "merge", "--no-verify", "feature", env=genv)
    assert (repo / "plain.enc").read_text() == "a\nB\nc\nd\nE\n"


def test_dotenv_files_merge_by_key_too(repo: Path, genv: dict[str, str]) -> None:
    def put(text: str) -> None:
        (repo / "app.enc.env").write_text(encfile.encrypt(text, recipients=TEST_PUBLIC,
                                                          format="dotenv"))

    put("A=1\nB=2\n")
    git(repo, "add", ".", env=genv)
    git(repo, "commit", "-qm", "env", env=genv)
    branch(repo, genv, "feature")
    set_value(repo, genv, "app.enc.env", '["C"]', '"walrus-added"')
    git(repo, "commit", "-qam", "theirs", env=genv)
    git(repo, "checkout", "-q", "main", env=genv)
    set_value(repo, genv, "app.enc.env", '["A"]', '"zebra-ours"')
    git(repo, "commit", "-qam", "ours", env=genv)
    assert git(repo, "merge", "-m", "merge", "feature", env=genv).returncode == 0
    identity = [line for line in KEY_FILE.read_text().splitlines()
                if line.startswith("AGE-SECRET-KEY-")]
    text = encfile.decrypt((repo / "app.enc.env").read_text(), format="dotenv",
                           identities=identity)
    assert text == "A=zebra-ours\nB=2\nC=walrus-added\n"


def test_neighbouring_keys_changed_on_each_side_merge(repo: Path, genv: dict[str, str]) -> None:
    branch(repo, genv, "feature")
    set_value(repo, genv, "s.enc.yaml", '["level"]', "4")
    git(repo, "commit", "-qam", "theirs", env=genv)
    git(repo, "checkout", "-q", "main", env=genv)
    set_value(repo, genv, "s.enc.yaml", '["api"]', '"zebra-ours"')  # the line above level
    git(repo, "commit", "-qam", "ours", env=genv)
    result = git(repo, "merge", "-m", "merge", "feature", env=genv, check=False)
    assert result.returncode == 0, result.stderr.decode()
    data = load_docs(decrypt(repo / "s.enc.yaml"))[0]
    assert data["api"] == "zebra-ours" and data["level"] == 4


def test_sides_with_different_rules_do_not_merge(repo: Path, genv: dict[str, str]) -> None:
    branch(repo, genv, "feature")
    (repo / "s.enc.yaml").write_text(encfile.encrypt(
        "db:\n  password: x\n  user: app\napi: k1\nlevel: 3\n", recipients=TEST_PUBLIC,
        format="yaml", rules=encfile.Rules(encrypted_regex="^(db|api)$")))
    git(repo, "commit", "-qam", "theirs: fewer values encrypted", env=genv)
    git(repo, "checkout", "-q", "main", env=genv)
    set_value(repo, genv, "s.enc.yaml", '["api"]', '"zebra-ours"')
    git(repo, "commit", "-qam", "ours", env=genv)
    ours = (repo / "s.enc.yaml").read_text()
    result = git(repo, "merge", "-m", "merge", "feature", env=genv, check=False)
    assert result.returncode != 0
    assert b"their rules differ" in result.stdout + result.stderr
    assert (repo / "s.enc.yaml").read_text() == ours


def test_textconv_takes_file_names_that_look_like_options(repo: Path,
                                                          genv: dict[str, str]) -> None:
    (repo / "-x.enc.yaml").write_text(enc("token: hunter2-old\n"))
    git(repo, "add", "--", "-x.enc.yaml", env=genv)
    git(repo, "commit", "-qm", "dash", env=genv)
    set_value(repo, genv, "./-x.enc.yaml", '["token"]', '"hunter2-new"')
    diff = git(repo, "diff", env=genv).stdout.decode()
    assert "-token: hunter2-old" in diff and "+token: hunter2-new" in diff


def test_textconv_of_undecodable_bytes_still_succeeds(repo: Path, genv: dict[str, str]) -> None:
    (repo / "bad.enc.yaml").write_bytes(b"a: [1]\nb: \xff\n")
    result = run_encfile("git", "textconv", "bad.enc.yaml", env=genv, cwd=repo)
    assert result.returncode == 0 and b"Traceback" not in result.stderr
    assert result.stdout.startswith(b"a: [1]\nb: \xff\n")
    assert b"cannot be decrypted: invalid YAML: the text is not valid UTF-8" in result.stdout


def test_a_clear_value_added_to_someone_elses_file_is_refused(
        repo: Path, genv: dict[str, str]) -> None:
    (repo / "team.enc.yaml").write_text(enc("token: zebra-theirs\n", OTHER_PUBLIC))
    git(repo, "add", "team.enc.yaml", env=genv)
    git(repo, "commit", "-qm", "their file", env=genv)
    text = (repo / "team.enc.yaml").read_text()
    (repo / "team.enc.yaml").write_text("leak: hunter2-new\n" + text)
    git(repo, "add", "team.enc.yaml", env=genv)
    result = git(repo, "commit", "-qm", "leak", env=genv, check=False)
    assert result.returncode != 0
    assert "has a value in clear that its rules say must be encrypted: leak" in \
        result.stderr.decode()


def test_setup_repairs_a_hook_that_lost_its_executable_bit(repo: Path,
                                                           genv: dict[str, str]) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.chmod(0o644)
    result = run_encfile("git", "setup", env=genv, cwd=repo)
    assert b"executable again" in result.stderr
    assert hook.stat().st_mode & stat.S_IXUSR


# -- git runs encfile without PATH -------------------------------------------------------------

VENV_ENCFILE = Path(sys.executable).parent / "encfile"


@pytest.fixture
def venv_encfile() -> Path:
    if not os.access(VENV_ENCFILE, os.X_OK):
        pytest.skip("no encfile console script next to this Python")
    return VENV_ENCFILE


def without_encfile(env: dict[str, str]) -> dict[str, str]:
    """``env`` with no encfile on PATH (git, sh and the usual tools stay)."""
    dirs = [d for d in env.get("PATH", "").split(os.pathsep)
            if d and not os.access(os.path.join(d, "encfile"), os.X_OK)]
    out = {**env, "PATH": os.pathsep.join(dirs)}
    assert shutil.which("encfile", path=out["PATH"]) is None
    return out


def with_on_path(env: dict[str, str], program: Path) -> dict[str, str]:
    return {**env, "PATH": f"{program.parent}{os.pathsep}{env['PATH']}"}


def config_value(repo: Path, key: str, env: dict[str, str]) -> str:
    return git(repo, "config", "--get", key, env=env).stdout.decode()


@pytest.mark.parametrize("on_path_at_setup", [False, True],
                         ids=["never-on-path", "on-path-only-during-setup"])
def test_git_runs_the_encfile_that_ran_setup_without_path(
        tmp_path: Path, genv: dict[str, str], venv_encfile: Path, on_path_at_setup: bool) -> None:
    """The user's report: setup in an activated virtualenv, then git without it on PATH."""
    bare = without_encfile(genv)
    r = make_repo(tmp_path / "repo", bare, [str(venv_encfile), "git", "setup"],
                  with_on_path(bare, venv_encfile) if on_path_at_setup else bare)
    # (make_repo committed: the hook ran, without encfile on PATH)
    assert f"{venv_encfile} git textconv" in config_value(r, "diff.encfile.textconv", bare)
    assert f"{venv_encfile} git merge %O %A %B %P" in \
        config_value(r, "merge.encfile.driver", bare)
    assert f"{venv_encfile} git pre-commit" in (r / ".git" / "hooks" / "pre-commit").read_text()
    set_value(r, bare, "s.enc.yaml", '["db"]["password"]', '"hunter2-new"')
    assert "+  password: hunter2-new  # rotate yearly" in git(r, "diff", env=bare).stdout.decode()
    git(r, "commit", "-qam", "rotate", env=bare)
    assert "-  password: hunter2-old" in git(r, "show", "HEAD", env=bare).stdout.decode()
    log = git(r, "log", "-p", env=bare).stdout.decode()
    assert "+  password: hunter2-old" in log and "+  password: hunter2-new" in log
    branch(r, bare, "feature")
    set_value(r, bare, "s.enc.yaml", '["api"]', '"zebra-theirs"')
    git(r, "commit", "-qam", "theirs", env=bare)
    git(r, "checkout", "-q", "main", env=bare)
    set_value(r, bare, "s.enc.yaml", '["level"]', "4")
    git(r, "commit", "-qam", "ours", env=bare)
    merged = git(r, "merge", "-m", "merge", "feature", env=bare, check=False)
    assert merged.returncode == 0, merged.stderr.decode()
    data = load_docs(decrypt(r / "s.enc.yaml"))[0]
    assert data["api"] == "zebra-theirs" and data["level"] == 4
    (r / "new.enc.yaml").write_text("password: walrus-added\n")
    git(r, "add", "new.enc.yaml", env=bare)
    refused = git(r, "commit", "-qm", "oops", env=bare, check=False)
    assert refused.returncode != 0
    assert "encfile: error: 'new.enc.yaml' is not encrypted" in refused.stderr.decode()


def program_that_can_go(tmp_path: Path, form: str, venv_encfile: Path) -> tuple[list[str], Path]:
    """The argv of ``git setup`` run by a program that the test takes away later (a copy of
    the console script, or a virtualenv of its own), and the folder that holds it. The
    folder's name has a space and a quote: the drivers and the hook quote it."""
    folder = tmp_path / "old venv's"
    if form == "python -m":
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)],
                       check=True, capture_output=True, timeout=120)
        python = folder / "bin" / "python"
        purelib = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True, timeout=60).stdout.strip()
        # this virtualenv sees the packages of the one running the tests (encfile included)
        Path(purelib, "tests-venv.pth").write_text(
            f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
        return [str(python), "-m", "encfile", "git", "setup"], folder
    (folder / "bin").mkdir(parents=True)
    shutil.copy(venv_encfile, folder / "bin" / "encfile")
    return [str(folder / "bin" / "encfile"), "git", "setup"], folder


@pytest.mark.parametrize("form", ["script", "python -m", "interpreter gone"])
def test_when_the_recorded_encfile_is_gone_git_fails_safe(
        tmp_path: Path, genv: dict[str, str], venv_encfile: Path, form: str) -> None:
    """Diffs show the stored text, a merge is a conflict that keeps ours, the hook refuses
    and says how to fix it; encfile on PATH is the second choice; setup again repairs."""
    bare = without_encfile(genv)
    setup, folder = program_that_can_go(tmp_path, "python -m" if form == "python -m" else
                                        "script", venv_encfile)
    r = make_repo(tmp_path / "repo", bare, setup)
    assert str(folder) in config_value(r, "diff.encfile.textconv", bare)
    branch(r, bare, "feature")
    set_value(r, bare, "s.enc.yaml", '["level"]', "4")
    git(r, "commit", "-qam", "theirs", env=bare)
    git(r, "checkout", "-q", "main", env=bare)
    set_value(r, bare, "s.enc.yaml", '["api"]', '"zebra-ours"')
    git(r, "commit", "-qam", "ours", env=bare)
    gone = form != "interpreter gone"
    if gone:
        shutil.rmtree(folder)  # the virtualenv was deleted
    else:  # the virtualenv was made again with another Python: the script cannot start
        script = folder / "bin" / "encfile"
        script.write_text("#!/nonexistent/python3\n" + script.read_text().split("\n", 1)[1])

    for args in (["show", "HEAD"], ["log", "-p"], ["diff", "HEAD~1", "HEAD"]):
        text = git(r, *args, env=bare).stdout.decode()  # exit 0: git does not break
        assert "+api: ENC[AES256_GCM," in text, args
        assert not any(c in text for c in CANARIES)
        if gone:
            assert "encfile: this version is shown encrypted: " in text
            assert "put encfile on PATH, or run 'encfile git setup' again" in text

    ours = (r / "s.enc.yaml").read_text()
    merged = git(r, "merge", "-m", "merge", "feature", env=bare, check=False)
    assert merged.returncode != 0
    if gone:
        assert "the merge driver cannot run encfile" in merged.stderr.decode()
    assert (r / "s.enc.yaml").read_text() == ours  # kept, encrypted, no markers
    assert b"UU s.enc.yaml" in git(r, "status", "--porcelain", env=bare).stdout
    git(r, "merge", "--abort", env=bare)

    (r / "new.enc.yaml").write_text("password: walrus-added\n")
    git(r, "add", "new.enc.yaml", env=bare)
    refused = git(r, "commit", "-qm", "plaintext", env=bare, check=False)
    assert refused.returncode != 0
    err = refused.stderr.decode()
    assert "put encfile on PATH" in err and "'encfile git setup' again" in err, err
    if gone:
        assert "encfile: error: the pre-commit hook cannot run encfile: " in err
    assert git(r, "rev-list", "--count", "HEAD", env=bare).stdout == b"2\n"

    status = run_encfile("git", "status", env=bare, cwd=r)
    if gone:
        assert b"local drivers: " in status.stdout and b"(gone)" in status.stdout
        assert b"which is gone" in status.stderr and b"encfile git setup" in status.stderr
        # the encfile on PATH is the second choice
        on_path = with_on_path(bare, venv_encfile)
        assert "+api: zebra-ours" in git(r, "show", "HEAD", env=on_path).stdout.decode()

    again = subprocess.run([str(venv_encfile), "git", "setup"], cwd=r, env=bare,
                           capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode()
    assert b"set git config local diff.encfile.textconv" in again.stderr
    assert b"installed the pre-commit hook" in again.stderr
    textconv = config_value(r, "diff.encfile.textconv", bare)
    assert str(venv_encfile) in textconv and str(folder) not in textconv
    status = run_encfile("git", "status", env=bare, cwd=r)
    assert b"warning" not in status.stderr and b"(gone)" not in status.stdout
    assert "+api: zebra-ours" in git(r, "show", "HEAD", env=bare).stdout.decode()
    refused = git(r, "commit", "-qm", "plaintext", env=bare, check=False)
    assert "'new.enc.yaml' is not encrypted" in refused.stderr.decode()  # the hook runs again


def test_status_and_setup_repair_what_an_older_setup_wrote(repo: Path,
                                                           genv: dict[str, str]) -> None:
    git(repo, "config", "diff.encfile.textconv", "encfile git textconv", env=genv)
    git(repo, "config", "merge.encfile.driver", "encfile git merge %O %A %B %P", env=genv)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\n# installed by 'encfile git setup': refuses plaintext secrets "
                    "and broken encrypted files\nencfile git pre-commit || exit $?\n")
    status = run_encfile("git", "status", env=genv, cwd=repo)
    assert b"local drivers: encfile (from PATH)" in status.stdout
    assert b"pre-commit hook: installed, runs encfile (from PATH)" in status.stdout
    assert b"written by an older encfile" in status.stderr
    found = json.loads(run_encfile("git", "status", "--json", env=genv, cwd=repo).stdout)
    assert found["programs"]["local"] == {"program": ["encfile"], "state": "path"}
    assert len(found["problems"]) == 2
    fixed = run_encfile("git", "setup", env=genv, cwd=repo)
    assert b"set git config local diff.encfile.textconv" in fixed.stderr
    assert b"installed the pre-commit hook" in fixed.stderr
    found = json.loads(run_encfile("git", "status", "--json", env=genv, cwd=repo).stdout)
    assert found["problems"] == []
    assert found["programs"]["local"]["program"][0] == sys.executable
    assert found["programs"]["hook"] == found["programs"]["local"]
    assert found["this_program"] == found["programs"]["local"]["program"]


# -- help, -q and -v ---------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["setup", "status", "textconv", "merge", "resolve",
                                     "pre-commit"])
def test_each_git_command_has_its_own_help(genv: dict[str, str], tmp_path: Path,
                                           command: str) -> None:
    for args in ([command, "--help"], [command, "-h"], ["help", command]):
        shown = run_encfile("git", *args, env=genv, cwd=tmp_path)
        assert shown.returncode == 0 and shown.stderr == b"", args
        text = shown.stdout.decode()
        assert text.startswith(f"Usage: encfile git {command}"), text
        assert "Commands:" not in text
        assert "--quiet" in text and "Exit codes" in text
        assert f"encfile git {command}" in text.split("Example:", 1)[1]
    group = run_encfile("git", "--help", env=genv, cwd=tmp_path).stdout.decode()
    assert group.startswith("Usage: encfile git ") and "Commands:" in group


def test_a_usage_error_points_at_the_commands_help(genv: dict[str, str], tmp_path: Path) -> None:
    result = run_encfile("git", "resolve", env=genv, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.decode().startswith("encfile: error: missing FILE\n")
    assert b"usage: encfile git resolve [OPTIONS] FILE" in result.stderr
    assert b"see 'encfile git resolve --help'" in result.stderr


def test_setup_quiet_prints_nothing_and_verbose_names_the_program(
        tmp_path: Path, genv: dict[str, str]) -> None:
    r = tmp_path / "r"
    r.mkdir()
    git(r, "init", "-q", env=genv)
    git(r, "config", "commit.verbose", "true", env=genv)
    quiet = run_encfile("git", "setup", "-q", env=genv, cwd=r)
    assert quiet.returncode == 0 and quiet.stderr == b"" and quiet.stdout == b""
    assert (r / ".gitattributes").exists() and (r / ".git" / "hooks" / "pre-commit").exists()
    assert run_encfile("git", "setup", "--quiet", env=genv, cwd=r).stderr == b""
    loud = run_encfile("git", "setup", "-v", env=genv, cwd=r).stderr.decode()
    assert "already set up; nothing changed" in loud
    assert f"git runs {shlex.quote(sys.executable)} " in loud  # python -m encfile ran setup
    assert "commit.verbose is on" in loud
    outside = run_encfile("git", "setup", "-q", env=genv, cwd=tmp_path)
    assert outside.returncode == 2  # errors still print
    assert outside.stderr.decode().startswith("encfile: error: not inside a git repository")


# -- what a merge says -------------------------------------------------------------------------

def edit_text(repo: Path, env: dict[str, str], tmp_path: Path, name: str, old: str,
              new: str) -> None:
    """``encfile edit`` with an editor that replaces ``old`` by ``new`` in the plaintext."""
    editor = tmp_path / "replace.py"
    editor.write_text("import sys\nold, new, path = sys.argv[1:]\n"
                      "text = open(path).read()\nassert old in text\n"
                      "open(path, 'w').write(text.replace(old, new))\n")
    result = run_encfile("edit", name, env={**env, "EDITOR": f"{sys.executable} {editor} "
                                            f"{shlex.quote(old)} {shlex.quote(new)}"}, cwd=repo)
    assert result.returncode == 0, result.stderr.decode()


def test_a_merge_of_value_changes_only_says_nothing_about_comments(
        repo: Path, genv: dict[str, str]) -> None:
    """The user's report: both sides set `api` alike, ours changed `level` too."""
    branch(repo, genv, "feature")
    set_value(repo, genv, "s.enc.yaml", '["api"]', '"k2"')
    git(repo, "commit", "-qam", "theirs", env=genv)
    git(repo, "checkout", "-q", "main", env=genv)
    set_value(repo, genv, "s.enc.yaml", '["api"]', '"k2"')
    set_value(repo, genv, "s.enc.yaml", '["level"]', "4")
    git(repo, "commit", "-qam", "ours", env=genv)
    merged = git(repo, "merge", "-m", "merge", "feature", env=genv)
    output = (merged.stdout + merged.stderr).decode()
    assert "comments or formatting" not in output and "encfile: note" not in output, output
    assert decrypt(repo / "s.enc.yaml") == FIRST.replace("k1", "k2").replace("3", "4")


@pytest.mark.parametrize(("theirs", "note"), [
    ("# rotate weekly", "line 2: both sides changed this line; kept ours, without their change "
     "to comments or formatting"),
    ("hunter2-new  # rotate yearly", "line 2: both sides changed this line; kept theirs, "
     "without our change to comments or formatting"),
])
def test_a_merge_that_drops_a_comment_change_says_so(
        repo: Path, genv: dict[str, str], tmp_path: Path, theirs: str, note: str) -> None:
    branch(repo, genv, "feature")
    old = "hunter2-old  # rotate yearly" if "hunter2-new" in theirs else "# rotate yearly"
    edit_text(repo, genv, tmp_path, "s.enc.yaml", old, theirs)
    git(repo, "commit", "-qam", "theirs", env=genv)
    git(repo, "checkout", "-q", "main", env=genv)
    edit_text(repo, genv, tmp_path, "s.enc.yaml", "# rotate yearly", "# rotate monthly")
    git(repo, "commit", "-qam", "ours", env=genv)
    merged = git(repo, "merge", "-m", "merge", "feature", env=genv)
    assert f"encfile: note: 's.enc.yaml': {note}\n" in merged.stderr.decode()
    password = decrypt(repo / "s.enc.yaml").splitlines()[1]
    assert password == ("  password: hunter2-new  # rotate yearly" if "new" in theirs else
                        "  password: hunter2-old  # rotate monthly")
