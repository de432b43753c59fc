"""`encfile set` / `unset` through the CLI: the file's own style, quiet diffs, sops agrees."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import TEST_PUBLIC, TEST_SECRET, run_encfile

import encfile

CASES = {
    # fmt: (file name, plaintext, path, JSON value, expected plaintext)
    "yaml-existing": ("s.enc.yaml", "db:\n    user: admin  # who\n    password: hunter2\n",
                      '["db"]["password"]', '"new pass"',
                      "db:\n    user: admin  # who\n    password: new pass\n"),
    "yaml-new-top": ("s.enc.yaml", "a: 1\n", '["token"]', '"x: y"', "a: 1\ntoken: 'x: y'\n"),
    "yaml-number": ("s.enc.yaml", "port: 5432\n", '["port"]', "6543", "port: 6543\n"),
    "json-existing": ("s.enc.json", '{\n  "db": {"password": "old"},\n  "n": 1\n}\n',
                      '["db"]["password"]', '"new"',
                      '{\n  "db": {"password": "new"},\n  "n": 1\n}\n'),
    "json-new": ("s.enc.json", '{\n  "a": 1\n}\n', '["b"]', '[1, "two"]',
                 '{\n  "a": 1,\n  "b": [1, "two"]\n}\n'),
    "dotenv-existing": ("s.enc.env", "# c\nexport TOKEN=old\nOTHER=1\n", '["TOKEN"]', '"n e w"',
                        '# c\nexport TOKEN=n e w\nOTHER=1\n'),
    "dotenv-new": ("s.enc.env", "A=1", '["B"]', '"two"', "A=1\nB=two\n"),
    "ini-existing": ("s.enc.ini", "[db]\nuser = admin\npass = old ; note\n", '["db"]["pass"]',
                     '"p;w"', "[db]\nuser = admin\npass = `p;w` ; note\n"),
    "ini-new-section": ("s.enc.ini", "[db]\nuser = admin\n", '["cache"]["url"]', '"redis://x"',
                        "[db]\nuser = admin\n\n[cache]\nurl = redis://x\n"),
    "ini-new-key": ("s.enc.ini", "[db]\nuser = admin\n\n[x]\na = 1\n", '["db"]["pass"]',
                    '"pw"', "[db]\nuser = admin\npass = pw\n\n[x]\na = 1\n"),
}
FORMATS = {"yaml": "yaml", "json": "json", "env": "dotenv", "ini": "ini"}


def make(tmp_path: Path, env: dict[str, str], name: str, plain: str) -> Path:
    src = tmp_path / name.replace(".enc", "")
    src.write_text(plain)
    result = run_encfile("-e", "--age", TEST_PUBLIC, str(src), env=env)
    assert result.returncode == 0, result.stderr
    out = tmp_path / name
    out.write_bytes(result.stdout)
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_set(case: str, tmp_path: Path, env: dict[str, str], sops_bin: str) -> None:
    name, plain, path, value, expected = CASES[case]
    fmt = FORMATS[name.rsplit(".", 1)[1]]
    enc = make(tmp_path, env, name, plain)
    before = enc.read_text()
    result = run_encfile("set", str(enc), path, value, env=env)
    assert result.returncode == 0, result.stderr
    after = enc.read_text()
    assert encfile.decrypt(after, format=fmt, identities=[TEST_SECRET]) == expected
    # values that did not change keep their ciphertext
    old_tokens = set(_tokens(before))
    kept = [t for t in _tokens(after) if t in old_tokens]
    assert len(kept) >= len(_tokens(encfile.encrypt(plain, recipients=TEST_PUBLIC,
                                                    format=fmt))) - 2 - (fmt == "yaml")
    sops = subprocess.run([sops_bin, "decrypt", "--input-type", fmt, "--output-type", "json",
                           str(enc)], env=env, capture_output=True)
    if fmt != "ini":
        assert sops.returncode == 0, sops.stderr
        assert json.loads(sops.stdout) == _data(expected, fmt)


def _tokens(text: str) -> list[str]:
    import re

    return re.findall(r"ENC\[AES256_GCM,[^\]]*type:(?:str|int|float|bool|time|comment)\]",
                      text.split("sops")[0])


def _data(text: str, fmt: str) -> object:
    """What sops's JSON output holds for the plaintext (numbers as floats for JSON)."""
    if fmt == "yaml":
        from conftest import load_docs

        return load_docs(text)[0]
    if fmt == "json":
        return json.loads(text)
    return {line.split("=", 1)[0]: line.split("=", 1)[1] for line in text.splitlines()
            if line and not line.startswith("#")}


@pytest.mark.parametrize(("name", "plain", "path", "expected"), [
    ("s.enc.yaml", "a: 1\nb:\n    c: 2\n    d: [1, 2]\ne: 3\n", '["b"]', "a: 1\ne: 3\n"),
    ("s.enc.json", '{"a": 1, "b": {"c": 2}, "e": 3}\n', '["b"]', '{"a": 1, "e": 3}\n'),
    ("s.enc.json", '{\n  "a": 1,\n  "b": 2\n}\n', '["a"]', '{\n  "b": 2\n}\n'),
    ("s.enc.env", "A=1\nB=2\nB=3\nC=4\n", '["B"]', "A=1\nC=4\n"),
    ("s.enc.ini", "[s]\na = 1\nb = 2\n", '["s"]["a"]', "[s]\nb = 2\n"),
])
def test_unset(name: str, plain: str, path: str, expected: str, tmp_path: Path,
               env: dict[str, str]) -> None:
    fmt = FORMATS[name.rsplit(".", 1)[1]]
    enc = make(tmp_path, env, name, plain)
    result = run_encfile("unset", str(enc), path, env=env)
    assert result.returncode == 0, result.stderr
    assert encfile.decrypt(enc.read_text(), format=fmt, identities=[TEST_SECRET]) == expected


def test_set_errors(tmp_path: Path, env: dict[str, str]) -> None:
    enc = make(tmp_path, env, "s.enc.yaml", "db:\n    password: x\n")
    before = enc.read_bytes()
    for args, code, message in [
        (['["db"]["password"]', "notjson"], 2, "must be JSON"),
        (['["nope"]["x"]', '"v"'], 1, "component ['nope'] not found"),
        (['["db"]["new"]', '"v"'], 2, "use 'encfile edit'"),
        (['["db"]', '"v"'], 2, "a mapping or a list"),
        (['db', '"v"'], 91, "--extract path"),
    ]:
        result = run_encfile("set", str(enc), *args, env=env)
        assert result.returncode == code, (args, result.stderr)
        assert message in result.stderr.decode() and result.stdout == b""
        assert enc.read_bytes() == before


def test_set_value_from_stdin_keeps_newlines(tmp_path: Path, env: dict[str, str]) -> None:
    enc = make(tmp_path, env, "s.enc.yaml", "cert: x\n")
    pem = "-----BEGIN X-----\nabc\n-----END X-----\n"
    result = run_encfile("set", "--value-stdin", str(enc), '["cert"]', env=env,
                         input=pem.encode())
    assert result.returncode == 0, result.stderr
    assert encfile.loads(enc.read_text(), identities=[TEST_SECRET])["cert"] == pem


def test_concurrent_sets_lose_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    """sops loses 8 of 10 concurrent sets; the lock serializes encfile's."""
    enc = make(tmp_path, env, "s.enc.env", "A=0\n")
    import sys

    procs = [subprocess.Popen([sys.executable, "-m", "encfile", "set", str(enc),
                               f'["K{i}"]', f'"{i}"'], env=env, stderr=subprocess.PIPE)
             for i in range(8)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read() if p.stderr else ""
    data = encfile.loads(enc.read_text(), format="dotenv", identities=[TEST_SECRET])
    assert {f"K{i}" for i in range(8)} <= set(data)
