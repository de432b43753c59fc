"""``encfile scan`` as a user runs it: outputs, exit codes, canaries, the baseline, staged
content, one cat-file process, no network, and what it costs ``import encfile``."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import corpus as _corpus
import pytest
import scan_helpers
from scan_helpers import FINDINGS_EXIT, SEED, findings, run_scan, scan_env

from encfile.scan.finding import shown

corpus_home = scan_helpers.corpus_home  # a fixture
mixed = scan_helpers.mixed  # a fixture

TOKEN = "ghp_" + "Zq8Rk2Lm4Np6Tv0Xb3Cd5Fg7Hj9Kw1Ys2Ua4"  # made up, GitHub's shape


def _git(repo: Path, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, timeout=60)
    assert result.returncode == 0, (args, result.stderr.decode())
    return result.stdout.decode()


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return scan_env(home)


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main", env=env)
    return root


def _forms(value: str) -> list[str]:
    """A secret, and its base64 and hex encodings; for a multi-line value also its
    longest line."""
    data = value.encode()
    out = [value, base64.b64encode(data).decode(), data.hex()]
    lines = sorted(value.splitlines(), key=len)
    if len(lines) > 1:
        out.append(lines[-1])
    return [v for v in out if len(v) >= 8]


def test_shown_values_are_cut() -> None:
    assert shown("a" * 15) == "(15 chars)"
    assert shown("abcd" + "e" * 12) == "abcd… (16 chars)"
    assert shown(None) == ""


def test_no_secret_in_any_output(mixed: _corpus.Corpus, corpus_home: Path,
                                 tmp_path: Path) -> None:
    env = scan_env(corpus_home)
    outputs: list[tuple[str, str]] = []
    for history in ([], ["--history"]):
        for shape in ("text", "json", "sarif"):
            result = run_scan(*history, "--format", shape, cwd=mixed.root, env=env)
            assert result.returncode == FINDINGS_EXIT, result.stderr.decode()
            outputs.append((f"{history} {shape} stdout", result.stdout.decode()))
            outputs.append((f"{history} {shape} stderr", result.stderr.decode()))
        report = tmp_path / f"report{len(history)}.sarif"
        result = run_scan(*history, "--format", "sarif", "-o", str(report), "-v",
                          cwd=mixed.root, env=env)
        assert result.returncode == FINDINGS_EXIT
        outputs.append(("-o file", report.read_text()))
        baseline = tmp_path / f"baseline{len(history)}.json"
        result = run_scan(*history, "--write-baseline", "--baseline", str(baseline),
                          cwd=mixed.root, env=env)
        assert result.returncode == 0, result.stderr.decode()
        outputs.append(("baseline", baseline.read_text()))
    assert "findings" in outputs[2][1]
    for plant in mixed.secrets:
        if plant.value is None:
            continue
        for form in _forms(plant.value):
            for name, text in outputs:
                assert form not in text, (SEED, plant, name)
    # what is shown: at most 4 characters and the length
    found = json.loads(outputs[2][1])["findings"]
    for f in found:
        if f["length"] and f["length"] < 16:
            assert f["shown"] == f"({f['length']} chars)"
        elif f["length"]:
            assert f["shown"].endswith(f"… ({f['length']} chars)") and len(f["shown"]) < 25


def test_json_and_sarif_locate_every_finding(mixed: _corpus.Corpus, corpus_home: Path) -> None:
    env = scan_env(corpus_home)
    result = run_scan("--history", "--format", "sarif", cwd=mixed.root, env=env)
    assert result.returncode == FINDINGS_EXIT
    sarif = json.loads(result.stdout)
    assert sarif["version"] == "2.1.0" and "sarif-2.1.0" in sarif["$schema"]
    run = sarif["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert run["results"]
    for result_ in run["results"]:
        location = result_["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] and not location["artifactLocation"][
            "uri"].startswith("/")
        assert location["region"]["startLine"] >= 1
        assert rules[result_["ruleIndex"]] == result_["ruleId"]
        assert result_["properties"]["commit"]
    as_json = findings(run_scan("--history", "--format", "json", cwd=mixed.root, env=env))
    assert len(as_json) == len(run["results"])
    assert {(f["path"], f["line"]) for f in as_json} == {
        (r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
         r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]}


def test_exit_codes(repo: Path, env: dict[str, str], tmp_path: Path) -> None:
    (repo / "app.yaml").write_text("name: shop\nreplicas: 3\n")
    clean = run_scan(cwd=repo, env=env)
    assert clean.returncode == 0 and clean.stdout == b""
    assert b"no secrets found in 1 file(s)" in clean.stderr
    (repo / "ci.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    dirty = run_scan(cwd=repo, env=env)
    assert dirty.returncode == FINDINGS_EXIT
    assert dirty.stdout.decode().startswith("ci.env:1: GitHub token [github-token]")
    assert dirty.stderr.decode().startswith("encfile: error: 1 secret(s) not encrypted")
    assert TOKEN not in (dirty.stdout + dirty.stderr).decode()
    bad = run_scan("--format", "xml", cwd=repo, env=env)
    assert bad.returncode == 1 and b"encfile: error: unknown report format" in bad.stderr
    outside = tmp_path / "outside"
    outside.mkdir()
    not_git = run_scan("--history", cwd=outside, env=env)
    assert not_git.returncode == 2 and b"not inside a git repository" in not_git.stderr
    (repo / "broken.json").write_text("{not json")
    broken = run_scan("--baseline", "broken.json", cwd=repo, env=env)
    assert broken.returncode == 2 and b"baseline" in broken.stderr
    for result in (bad, not_git, broken):
        lines = result.stderr.decode().splitlines()
        assert lines[0].startswith("encfile: error: ") and "Traceback" not in result.stderr.decode()
        assert all(line.startswith("encfile: hint: ") for line in lines[1:])
    missing = run_scan("nothing-here", cwd=repo, env=env)
    assert missing.returncode == 100


def test_exit_table_knows_findings() -> None:
    """The exit-code table (README, --help) has the scan's own code."""
    from encfile.cli import exits
    from encfile.cli.scan_spec import FINDINGS_EXIT as CODE
    from encfile.scan.errors import FindingsError

    assert CODE == FINDINGS_EXIT
    assert CODE not in (0, 1, 2) and exits.code_of(FindingsError("x", count=1)) == CODE


def test_baseline_accepts_known_findings_only(repo: Path, env: dict[str, str]) -> None:
    (repo / "ci.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    wrote = run_scan("--write-baseline", cwd=repo, env=env)
    assert wrote.returncode == 0, wrote.stderr.decode()
    baseline = repo / ".encfile-scan-baseline.json"
    data = json.loads(baseline.read_text())
    assert len(data["findings"]) == 1 and data["findings"][0]["rule"] == "github-token"
    assert TOKEN not in baseline.read_text() and TOKEN[4:] not in baseline.read_text()
    again = run_scan(cwd=repo, env=env)
    assert again.returncode == 0 and b"1 accepted by the baseline" in again.stderr
    (repo / "ci.env").rename(repo / "moved.env")  # moved: still the known secret
    assert run_scan(cwd=repo, env=env).returncode == 0
    other = TOKEN[:10] + "Q" + TOKEN[11:]
    assert len(other) == len(TOKEN) == 40
    (repo / "new.env").write_text(f"TOKEN={other}\n")
    new = run_scan("--format", "json", cwd=repo, env=env)
    assert new.returncode == FINDINGS_EXIT
    assert [f["path"] for f in json.loads(new.stdout)["findings"]] == ["new.env"]
    assert json.loads(new.stdout)["summary"]["accepted"] == 1
    ignored = run_scan("--no-baseline", cwd=repo, env=env)
    assert ignored.returncode == FINDINGS_EXIT and ignored.stdout.count(b"[github-token]") == 2


def test_staged_reads_the_index(repo: Path, env: dict[str, str]) -> None:
    (repo / "a.env").write_text("A=1\n")
    _git(repo, "add", "a.env", env=env)
    _git(repo, "commit", "-q", "-m", "one", env=env)
    (repo / "a.env").write_text(f"A=1\nGITHUB_TOKEN={TOKEN}\n")
    _git(repo, "add", "a.env", env=env)
    (repo / "a.env").write_text("A=1\n")  # the working tree no longer has it
    (repo / "b.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")  # not staged
    assert run_scan("--staged", cwd=repo, env=env).returncode == FINDINGS_EXIT
    found = findings(run_scan("--staged", "--format", "json", cwd=repo, env=env))
    assert [(f["path"], f["line"]) for f in found] == [("a.env", 2)]
    tree = findings(run_scan("--format", "json", cwd=repo, env=env))
    assert [f["path"] for f in tree] == ["b.env"]
    assert run_scan("--staged", "b.env", cwd=repo, env=env).returncode == 0
    conflict = run_scan("--staged", "--history", cwd=repo, env=env)
    assert conflict.returncode == 8


def test_history_reads_blobs_through_one_cat_file(repo: Path, env: dict[str, str],
                                                  tmp_path: Path) -> None:
    for i in range(12):
        (repo / f"f{i % 4}.env").write_text(f"N={i}\n" + (f"T={TOKEN}\n" if i == 5 else ""))
        _git(repo, "add", ".", env=env)
        _git(repo, "commit", "-q", "-m", f"c{i}", env=env)
    log = tmp_path / "git.log"
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True,
                          text=True).stdout.strip()
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    traced = dict(env, PATH=f"{wrapper.parent}{os.pathsep}{env['PATH']}")
    found = findings(run_scan("--history", "--format", "json", cwd=repo, env=traced))
    calls = log.read_text().splitlines()
    assert sum(c.startswith("cat-file") for c in calls) == 1, calls
    assert not any(c.startswith(("show", "cat-file -p")) for c in calls)
    head = _git(repo, "rev-list", "--reverse", "HEAD", env=env).split()
    assert [(f["path"], f["line"], f["commit"]) for f in found] == [("f1.env", 2, head[5])]
    assert found[0]["in_head"] is False and "only in git history" in found[0]["hint"]
    since = findings(run_scan("--since", head[6], "--format", "json", cwd=repo, env=env))
    assert since == []


def test_hints_encrypt_what_they_name(repo: Path, env: dict[str, str], sops_bin: str) -> None:
    """Each hint is a command that works: run it, and the finding is gone; sops decrypts
    the result (the oracle)."""
    from conftest import KEY_FILE, TEST_PUBLIC

    env = dict(env, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    (repo / ".sops.yaml").write_text(f"creation_rules:\n  - age: {TEST_PUBLIC}\n")
    password = "Vq3-zT9.wLx2kR7p"
    (repo / "config.yaml").write_text(f"db:\n  host: db.internal\n  password: {password}\n")
    found = findings(run_scan("--format", "json", cwd=repo, env=env))
    assert len(found) == 1 and found[0]["key"] == '["db"]["password"]'
    command = found[0]["hint"].split("encrypt it: ", 1)[1].split(" (or ", 1)[0]
    assert command.startswith("encfile -e -i --encrypted-regex ")
    ran = subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True)
    assert ran.returncode == 0, ran.stderr.decode()
    assert "host: db.internal" in (repo / "config.yaml").read_text()  # the rest stays clear
    assert run_scan(cwd=repo, env=env).returncode == 0
    plain = subprocess.run([sops_bin, "-d", "config.yaml"], cwd=repo, env=env,
                           capture_output=True)
    assert plain.returncode == 0 and f"password: {password}" in plain.stdout.decode()

    # a value its rules leave in clear: the hint says to encrypt it again, with the key
    text = (repo / "config.yaml").read_text().replace("db:\n", "db:\n  token: Tq9xWm2Lp7Zr4Kc8\n", 1)
    (repo / "config.yaml").write_text(text)
    found = findings(run_scan("--format", "json", cwd=repo, env=env))
    assert [f["rule"] for f in found] == ["secret-keyword"]
    assert "encfile -d -i config.yaml" in found[0]["hint"]
    assert "--encrypted-regex '^token$'" in found[0]["hint"]

    # a value added in clear where the rules encrypt: the hint's encfile set fixes it
    (repo / "other.yaml").write_text("region: eu-west-1\n")
    assert subprocess.run(["encfile", "-e", "-i", "other.yaml"], cwd=repo, env=env).returncode == 0
    text = (repo / "other.yaml").read_text()
    (repo / "other.yaml").write_text("zone: b3d9q7k2\n" + text)
    found = [f for f in findings(run_scan("--format", "json", cwd=repo, env=env))
             if f["path"] == "other.yaml"]
    assert [(f["rule"], f["line"], f["shown"]) for f in found] == [
        ("sops-clear-value", 1, "(8 chars)")]
    hint = found[0]["hint"]
    assert "line 1" in hint
    command = hint.split("set it encrypted: ", 1)[1].split(" (the value", 1)[0]
    assert command == "encfile set --value-stdin other.yaml '[\"zone\"]'"
    (repo / "other.yaml").write_text(text)  # the clear line deleted
    ran = subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True,
                         input=b'"b3d9q7k2"')
    assert ran.returncode == 0, ran.stderr.decode()
    assert not [f for f in findings(run_scan("--format", "json", cwd=repo, env=env))
                if f["path"] == "other.yaml"]
    plain = subprocess.run([sops_bin, "-d", "other.yaml"], cwd=repo, env=env,
                           capture_output=True)
    assert plain.returncode == 0 and "zone: b3d9q7k2" in plain.stdout.decode()


def test_plaintext_a_rule_encrypts(repo: Path, env: dict[str, str]) -> None:
    from conftest import KEY_FILE, TEST_PUBLIC

    env = dict(env, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    (repo / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: \\.enc\\.yaml$\n"
                                     f"    age: {TEST_PUBLIC}\n")
    (repo / "app.enc.yaml").write_text("region: eu-west-1\n")
    found = findings(run_scan("--format", "json", cwd=repo, env=env))
    assert [(f["rule"], f["line"]) for f in found] == [("plaintext-by-rule", 1)]
    command = found[0]["hint"].split(": ", 1)[1]
    assert command == "encfile -e -i app.enc.yaml"
    assert subprocess.run(["bash", "-c", command], cwd=repo, env=env).returncode == 0
    assert run_scan(cwd=repo, env=env).returncode == 0


def test_missing_extra_is_one_line(repo: Path, env: dict[str, str], tmp_path: Path) -> None:
    fake = tmp_path / "fake" / "detect_secrets"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('not installed')\n")
    (repo / "a.env").write_text(f"T={TOKEN}\n")
    result = run_scan(cwd=repo, env=dict(env, PYTHONPATH=str(fake.parent)))
    assert result.returncode == 1
    assert result.stderr.decode() == ("encfile: error: encfile scan needs detect-secrets: "
                                      "pip install 'encfile-sops[scan]'\n")


def test_no_network_and_no_verification(mixed: _corpus.Corpus, corpus_home: Path,
                                        tmp_path: Path) -> None:
    """detect-secrets can verify tokens against their services; the scan never asks."""
    site = tmp_path / "site"
    site.mkdir()
    attempts = tmp_path / "attempts"
    (site / "sitecustomize.py").write_text(
        "import socket\n"
        "def _refuse(self, address, *a, **k):\n"
        f"    open({str(attempts)!r}, 'a').write(repr(address) + '\\n')\n"
        "    raise OSError('network refused by the test')\n"
        "socket.socket.connect = _refuse\n"
        "socket.socket.connect_ex = _refuse\n"
        "socket.create_connection = lambda *a, **k: _refuse(None, a)\n")
    env = dict(scan_env(corpus_home), PYTHONPATH=str(site))
    result = run_scan("--history", "--format", "json", cwd=mixed.root, env=env)
    assert result.returncode == FINDINGS_EXIT and findings(result)
    assert not attempts.exists(), attempts.read_text()


def test_import_encfile_and_decrypt_load_no_scanner(tmp_path: Path, home: Path) -> None:
    from conftest import KEY_FILE, TEST_PUBLIC, clean_env

    import encfile

    banned = ("detect_secrets", "encfile.scan", "requests")
    code = ("import sys, encfile; bad = [m for m in sys.modules if m.startswith("
            f"{banned!r})]; assert not bad, bad")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
    target = tmp_path / "s.enc.yaml"
    target.write_text(encfile.encrypt("password: hunter2\n", recipients=TEST_PUBLIC))
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "encfile", "-d",
                             str(target)], capture_output=True, env=env)
    assert result.returncode == 0 and result.stdout == b"password: hunter2\n"
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.decode().splitlines()
                if line.startswith("import time:")]
    assert imported and not [m for m in imported if m.startswith(banned)]


def test_ignored_files_need_include_ignored(repo: Path, env: dict[str, str]) -> None:
    (repo / ".gitignore").write_text(".env\n")
    (repo / ".env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    assert run_scan(cwd=repo, env=env).returncode == 0
    found = findings(run_scan("--include-ignored", "--format", "json", cwd=repo, env=env))
    assert [f["path"] for f in found] == [".env"]
    named = findings(run_scan(".env", "--format", "json", cwd=repo, env=env))
    assert [f["path"] for f in named] == [".env"]  # a file named is always scanned


def test_the_docs_list_every_rule() -> None:
    from conftest import ROOT

    from encfile.scan.detectors import RULES

    page = (ROOT / "docs" / "scan.md").read_text(encoding="utf-8")
    table = page.split("## What it finds, and where each rule comes from", 1)[1]
    table = table.split("\n## ", 1)[0]
    for rule in RULES.values():
        assert f"`{rule.id}`" in table, rule.id
        source = "encfile" if rule.own else rule.source.split()[-1]
        row = next(line for line in table.splitlines() if f"`{rule.id}`" in line)
        assert source in row, (rule.id, row)


def test_files_sops_encrypted(repo: Path, env: dict[str, str], sops_bin: str) -> None:
    """A file the real sops encrypted is understood: its tokens are no finding, and a value
    added in clear where its rules encrypt is one."""
    from conftest import KEY_FILE, TEST_PUBLIC

    env = dict(env, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    (repo / "plain.yaml").write_text(f"db:\n  password: Vq3-zT9.wLx2kR7p\n  token: {TOKEN}\n")
    made = subprocess.run([sops_bin, "-e", "--age", TEST_PUBLIC, "plain.yaml"], cwd=repo,
                          env=env, capture_output=True)
    assert made.returncode == 0, made.stderr.decode()
    (repo / "plain.yaml").unlink()
    (repo / "s.enc.yaml").write_bytes(made.stdout)
    assert run_scan(cwd=repo, env=env).returncode == 0
    text = made.stdout.decode().replace("db:\n", "db:\n    replica: Kx81mQz0\n", 1)
    (repo / "s.enc.yaml").write_text(text)
    found = findings(run_scan("--format", "json", cwd=repo, env=env))
    assert [(f["rule"], f["key"], f["shown"]) for f in found] == [
        ("sops-clear-value", '["db"]["replica"]', "(8 chars)")]
