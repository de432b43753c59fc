"""`encfile set`/`unset` against `sops set`/`unset` 3.11, on the same input.

Each case encrypts one plaintext twice (encfile, sops), runs the same command through each
tool on its own copy, and checks that both succeed or both fail, and that the data `sops
decrypt` reads from the two results is the same (so sops is also the oracle for the file
encfile wrote). sops panics (exit 2) on a negative index or a key on a list; encfile
refuses those as usage errors, so where sops fails encfile's exit code must be 1.

`DIFFERENCES` lists where encfile does not do what sops does, on purpose, and checks both
tools' actual behaviour, so a change in sops shows up here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_PUBLIC, TEST_SECRET, TESTDATA, load_docs, run_encfile

import encfile
from encfile.formats import dotenv, ini

pytestmark = pytest.mark.sops

DEMO = (TESTDATA / "demo" / "secrets.yaml").read_text()
NESTED = "a: 1\nn:\nb:\n  c: 2\n  d: {e: 3}\nl:\n- 1\n- 2\nm:\n- k: 1\n"
JSON = '{\n  "a": 1,\n  "b": {\n    "c": [1, {"d": 2}]\n  },\n  "e": []\n}\n'
INI = "[s]\nk = v\nj = 2\n\n[t]\nx = 1\n"

CASES = {
    # id: (file name, plaintext, command)
    # the four commands of the issue, verbatim
    "demo-new-nested-key": ("secrets.yaml", DEMO, ["set", '["database"]["sslmode"]', '"require"']),
    "demo-unset-nested-key": ("secrets.yaml", DEMO, ["unset", '["database"]["port"]']),
    "demo-new-mappings": ("secrets.yaml", DEMO, ["set", '["x"]["y"]["z"]', "1"]),
    "demo-append": ("secrets.yaml", DEMO, ["set", '["api_keys"][2]', '"x"']),
    # YAML
    "yaml-new-list-path": ("s.yaml", NESTED, ["set", '["x"][0]["y"]', "1"]),
    "yaml-index-beyond-end": ("s.yaml", NESTED, ["set", '["l"][5]', '"x"']),
    "yaml-append-built": ("s.yaml", NESTED, ["set", '["l"][7][0]', "1"]),
    "yaml-append-mapping": ("s.yaml", NESTED, ["set", '["l"][2]["z"]', "1"]),
    "yaml-negative-index": ("s.yaml", NESTED, ["set", '["l"][-1]', '"x"']),
    "yaml-index-on-mapping": ("s.yaml", NESTED, ["set", '["b"][0]', '"x"']),
    "yaml-through-a-value": ("s.yaml", NESTED, ["set", '["a"]["b"]', '"v"']),
    "yaml-through-null": ("s.yaml", NESTED, ["set", '["n"]["b"]', '"v"']),
    "yaml-list-through-a-value": ("s.yaml", NESTED, ["set", '["a"][0]', '"v"']),
    "yaml-item-through-a-value": ("s.yaml", NESTED, ["set", '["l"][1]["z"]', "1"]),
    "yaml-mapping-to-value": ("s.yaml", NESTED, ["set", '["b"]', '"s"']),
    "yaml-list-to-mapping": ("s.yaml", NESTED, ["set", '["l"]', "{}"]),
    "yaml-mapping-value": ("s.yaml", NESTED,
                           ["set", '["b"]["q"]', '{"p": [1, {"q": null}], "r": {}}']),
    "yaml-key-in-list-item": ("s.yaml", NESTED, ["set", '["m"][0]["k2"]', "true"]),
    "yaml-flow-add": ("s.yaml", NESTED, ["set", '["b"]["d"]["f"]', '"x"']),
    "yaml-flow-unset-last": ("s.yaml", NESTED, ["unset", '["b"]["d"]["e"]']),
    "yaml-unset-item": ("s.yaml", NESTED, ["unset", '["l"][0]']),
    "yaml-unset-subtree": ("s.yaml", NESTED, ["unset", '["b"]["d"]']),
    "yaml-unset-last-key": ("s.yaml", NESTED, ["unset", '["m"][0]["k"]']),
    "yaml-unset-negative": ("s.yaml", NESTED, ["unset", '["l"][-1]']),
    "yaml-first-document": ("s.yaml", "a: 1\n---\nb: 2\n", ["set", '["c"]', "5"]),
    "yaml-unset-first-document": ("s.yaml", "a: 1\n---\nb: 2\n", ["unset", '["a"]']),
    # JSON
    "json-through-a-value": ("s.json", JSON, ["set", '["a"]["x"]', '"x"']),
    "json-index-on-object": ("s.json", JSON, ["set", '["b"][0]', '"x"']),
    "json-append": ("s.json", JSON, ["set", '["e"][0]', '"x"']),
    "json-new-path": ("s.json", JSON, ["set", '["z"]["y"]', '{"w": 1}']),
    "json-unset-item": ("s.json", JSON, ["unset", '["b"]["c"][1]']),
    # dotenv and INI
    "dotenv-index-on-mapping": ("s.env", "A=1\nB=two\n", ["set", "[0]", '"x"']),
    "ini-unset-section": ("s.ini", INI, ["unset", '["s"]']),
    "ini-set-section": ("s.ini", INI, ["set", '["s"]', '{"p": "q"}']),
    "ini-section-value": ("s.ini", INI, ["set", '["s"]', '"x"']),
}


def _encrypt(sops_bin: str | None, plain: Path, out: Path, env: dict[str, str]) -> None:
    """``plain`` encrypted by sops, or by encfile when ``sops_bin`` is None."""
    args = ("-e", "--age", TEST_PUBLIC, str(plain))
    result = run_encfile(*args, env=env) if sops_bin is None else \
        subprocess.run([sops_bin, *args], env=env, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out.write_bytes(result.stdout)


def _data(sops_bin: str, path: Path, env: dict[str, str]) -> Any:
    """What ``sops decrypt`` reads from ``path``, as comparable Python data."""
    result = subprocess.run([sops_bin, "decrypt", str(path)], env=env, capture_output=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    if path.suffix == ".yaml":
        return load_docs(text)
    if path.suffix == ".json":
        return json.loads(text)
    if path.suffix == ".env":  # as a program reads it (quotes removed, the last line wins)
        return {dotenv.interpret_key(k): dotenv.interpret(v)
                for k, v in (line.split("=", 1) for line in text.splitlines() if "=" in line)}
    data: dict[str, Any] = ini.parse(text).to_python()[0]  # the strings go-ini reads
    return data


def _both(name: str, plain: str, command: list[str], tmp_path: Path, env: dict[str, str],
          sops_bin: str) -> tuple[subprocess.CompletedProcess[bytes], Path,
                                  subprocess.CompletedProcess[bytes], Path]:
    source = tmp_path / name
    source.write_bytes(plain.encode())
    stem, ext = name.rsplit(".", 1)
    ours, theirs = tmp_path / f"{stem}.enc.{ext}", tmp_path / f"{stem}.sops.{ext}"
    _encrypt(None, source, ours, env)
    _encrypt(sops_bin, source, theirs, env)
    mine = run_encfile(command[0], str(ours), *command[1:], env=env)
    sops = subprocess.run([sops_bin, command[0], str(theirs), *command[1:]], env=env,
                          capture_output=True, timeout=120)
    return mine, ours, sops, theirs


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_outcome_as_sops(case: str, tmp_path: Path, env: dict[str, str],
                              sops_bin: str) -> None:
    name, plain, command = CASES[case]
    mine, ours, sops, theirs = _both(name, plain, command, tmp_path, env, sops_bin)
    if sops.returncode != 0:
        assert mine.returncode == 1, (mine.stderr, sops.stderr[-300:])
        assert mine.stderr.startswith(b"encfile: error: ")
        return
    assert mine.returncode == 0, mine.stderr
    assert _data(sops_bin, ours, env) == _data(sops_bin, theirs, env)


ANCHORS = "base: &b\n  x: 1\nd:\n  <<: *b\n  y: 2\ne: *b\n"

DIFFERENCES = {
    # id: (file name, plaintext, command, (sops: "ok" / "broken" (its file no longer decrypts)
    #      / "fails", the data it leaves), (encfile's exit code, its text or its message))
    # sops writes every JSON number as a Go float; encfile writes the number as given
    # (here inside the quotes the old value had)
    "dotenv-number": ("s.env", 'A="1"\n', ["set", '["A"]', "5"],
                      ("ok", {"A": "5.0"}), (0, 'A="5"\n')),
    "ini-number": ("s.ini", '[s]\nk = "1"\n', ["set", '["s"]["k"]', "5"],
                   ("ok", {"s": {"k": "5.0"}}), (0, '[s]\nk = "5"\n')),
    # sops writes `A=<nil>` (or an INI list's Go text) and its own file no longer decrypts
    "dotenv-null": ("s.env", "A=1\n", ["set", '["A"]', "null"], ("broken", None),
                    (1, "cannot hold null")),
    "ini-null": ("s.ini", "[s]\nk = v\n", ["set", '["s"]["k"]', "null"], ("broken", None),
                 (1, "cannot hold null")),
    "ini-nested": ("s.ini", "[s]\nk = v\n", ["set", '["s"]["k"]["q"]', '"x"'],
                   ("broken", None), (1, "only flat values")),
    # sops cannot read a JSON list as a value ("Invalid --set value format", exit 7)
    "json-list-value": ("s.json", '{\n  "a": {\n    "b": 1\n  }\n}\n', ["set", '["l"]', "[1, 2]"],
                        ("fails", None),
                        (0, '{\n  "a": {\n    "b": 1\n  },\n  "l": [\n    1,\n    2\n  ]\n}\n')),
    # a repeated dotenv key: sops changes (removes) the first line; a program reads the last
    "dotenv-repeated-set": ("s.env", 'B=2\nB="3"\n', ["set", '["B"]', '"x"'],
                            ("ok", {"B": "3"}), (0, 'B=2\nB="x"\n')),
    "dotenv-repeated-unset": ("s.env", "A=1\n# old\nB=2\nB=3\nC=4\n", ["unset", '["B"]'],
                              ("ok", {"A": "1", "B": "3", "C": "4"}), (0, "A=1\nC=4\n")),
    # sops writes a line no dotenv reader takes as a variable
    "dotenv-bad-name": ("s.env", "A=1\n", ["set", '["bad key"]', '"x"'],
                        ("ok", {"A": "1", "bad key": "x"}), (1, "not a variable name")),
    # sops expands aliases when it reads a file; encfile edits the text, where an alias
    # (or the anchor an alias repeats, or a merge key) cannot change alone
    "yaml-inside-alias": ("s.yaml", ANCHORS, ["set", '["e"]["x"]', "5"], ("ok", None),
                          (1, "is an alias (*b)")),
    "yaml-anchored": ("s.yaml", ANCHORS, ["set", '["base"]["x"]', "5"], ("ok", None),
                      (1, "anchored node '&b'")),
    "yaml-merge-key": ("s.yaml", ANCHORS, ["unset", '["d"]["<<"]'], ("ok", None),
                       (1, "merge key ('<<')")),
}


@pytest.mark.parametrize("case", sorted(DIFFERENCES))
def test_documented_differences(case: str, tmp_path: Path, env: dict[str, str],
                                sops_bin: str) -> None:
    name, plain, command, (sops_outcome, sops_data), (code, expected) = DIFFERENCES[case]
    mine, ours, sops, theirs = _both(name, plain, command, tmp_path, env, sops_bin)
    if sops_outcome == "fails":
        assert sops.returncode != 0
    else:
        assert sops.returncode == 0, sops.stderr
        decrypted = subprocess.run([sops_bin, "decrypt", str(theirs)], env=env,
                                   capture_output=True, timeout=120)
        assert (decrypted.returncode == 0) == (sops_outcome == "ok")
        if sops_data is not None:
            assert _data(sops_bin, theirs, env) == sops_data
    assert mine.returncode == code, mine.stderr
    if code:
        assert expected in mine.stderr.decode()
    else:
        fmt = {".yaml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini"}[ours.suffix]
        assert encfile.decrypt(ours.read_text(), format=fmt,
                               identities=[TEST_SECRET]) == expected
