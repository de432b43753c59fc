"""`encfile set` / `unset` through the CLI: the file's own style, quiet diffs, sops agrees."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import TEST_PUBLIC, TEST_SECRET, TESTDATA, assert_cli_error, run_encfile

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
        (["set", '["db"]["password"]', "notjson"], 7, "the value is not valid JSON"),
        (["set", '["db"]["password"]', "NaN"], 7, "the value is not valid JSON"),
        (["set", "db", '"v"'], 7, "error parsing path"),
        (["set", "", '"v"'], 1, "set needs a path"),
        (["unset", '["nope"]'], 1, "component ['nope'] not found"),
        (["unset", '["db"]["password"]["x"]'], 1, "component ['x'] not found"),
    ]:
        result = run_encfile(args[0], str(enc), *args[1:], env=env)
        assert result.returncode == code, (args, result.stderr)
        assert message in result.stderr.decode() and result.stdout == b""
        assert enc.read_bytes() == before


def test_set_value_from_stdin_keeps_newlines(tmp_path: Path, env: dict[str, str]) -> None:
    enc = make(tmp_path, env, "s.enc.yaml", "cert: x\n")
    pem = "-----BEGIN X-----\nabc\n-----END X-----\n"
    # the value is JSON, as in sops
    result = run_encfile("set", "--value-stdin", str(enc), '["cert"]', env=env,
                         input=json.dumps(pem).encode())
    assert result.returncode == 0, result.stderr
    assert encfile.loads(enc.read_text(), identities=[TEST_SECRET])["cert"] == pem
    raw = run_encfile("set", "--value-stdin", str(enc), '["cert"]', env=env, input=b"pem body")
    assert raw.returncode == 7 and b"pem body" not in raw.stderr


def test_set_value_file_names_a_json_file(tmp_path: Path, env: dict[str, str]) -> None:
    """sops's --value-file is a flag: VALUE is then the file holding the JSON value."""
    enc = make(tmp_path, env, "s.enc.yaml", "a: 1\n")
    (tmp_path / "v.json").write_text('{"user": "u", "port": 5432}')
    result = run_encfile("set", "--value-file", str(enc), '["db"]', str(tmp_path / "v.json"),
                         env=env)
    assert result.returncode == 0, result.stderr
    assert encfile.loads(enc.read_text(), identities=[TEST_SECRET])["db"] == \
        {"user": "u", "port": 5432}
    (tmp_path / "plain.txt").write_text("not json")
    bad = run_encfile("set", "--value-file", str(enc), '["x"]', str(tmp_path / "plain.txt"),
                      env=env)
    assert bad.returncode == 7 and b"not json" not in bad.stderr


def test_idempotent_and_the_legacy_set_flag(tmp_path: Path, env: dict[str, str]) -> None:
    enc = make(tmp_path, env, "s.enc.yaml", "a: 1\n")
    before = enc.read_bytes()
    assert run_encfile("set", "--idempotent", str(enc), '["a"]', "1", env=env).returncode == 0
    assert enc.read_bytes() == before, "an unchanged value writes nothing"
    missing = run_encfile("unset", str(enc), '["zz"]', env=env)
    assert missing.returncode == 1
    assert run_encfile("unset", "--idempotent", str(enc), '["zz"]', env=env).returncode == 0
    assert enc.read_bytes() == before
    legacy = run_encfile("--set", '["b"]["c"] {"d": true}', str(enc), env=env)
    assert legacy.returncode == 0, legacy.stderr
    assert encfile.loads(enc.read_text(), identities=[TEST_SECRET]) == \
        {"a": 1, "b": {"c": {"d": True}}}


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


# -- every path sops supports, edited in the file's own style ----------------------------------

DEMO = (TESTDATA / "demo" / "secrets.yaml").read_text()
PASSWORD = '  password: "correct horse battery staple"\n'
SENDGRID = "  - sendgrid: SG.example-key\n"
TLS_KEY = DEMO[DEMO.index("  key: |"):]
FLOWY = "name: app\nlimits: {cpu: 1, memory: 2Gi}\nports: [80, 443]\n"
COMMENTED = ("db:\n  # the primary\n  host: a.internal  # moved in May\n"
             "  # read replica\n  replica: b.internal\nkeep: 1  # stays\n")
QUOTED = "password: \"correct horse\"\ntoken: 'abc'\nplain: xyz\n"
ANCHORS = "base: &b\n  x: s3cret-x\nd:\n  <<: *b\n  y: s3cret-y\ne: *b\n"
PRETTY = '{\n  "db": {\n    "user": "u"\n  },\n  "l": [1]\n}\n'

EDITS = {
    # id: (file name, plaintext, command, expected plaintext)
    # the four commands of the issue, verbatim
    "demo-new-nested-key": ("secrets.enc.yaml", DEMO,
                            ["set", '["database"]["sslmode"]', '"require"'],
                            DEMO.replace(PASSWORD, PASSWORD + "  sslmode: require\n")),
    "demo-unset-nested-key": ("secrets.enc.yaml", DEMO, ["unset", '["database"]["port"]'],
                              DEMO.replace("  port: 5432\n", "")),
    "demo-new-mappings": ("secrets.enc.yaml", DEMO, ["set", '["x"]["y"]["z"]', "1"],
                          DEMO + 'x:\n  "y":\n    z: 1\n'),
    "demo-append": ("secrets.enc.yaml", DEMO, ["set", '["api_keys"][2]', '"x"'],
                    DEMO.replace(SENDGRID, SENDGRID + "  - x\n")),
    # a replaced value keeps its quotes (or its block style) when they can hold the new one
    "demo-keep-double-quotes": ("secrets.enc.yaml", DEMO,
                                ["set", '["database"]["password"]', '"new"'],
                                DEMO.replace(PASSWORD, '  password: "new"\n')),
    "demo-keep-literal-block": ("secrets.enc.yaml", DEMO,
                                ["set", '["tls"]["key"]', '"-----BEGIN X-----\\nnew\\n"'],
                                DEMO.replace(TLS_KEY, "  key: |\n    -----BEGIN X-----\n"
                                                      "    new\n")),
    "yaml-keep-single-quotes": ("s.enc.yaml", QUOTED, ["set", '["token"]', '"it\'s"'],
                                QUOTED.replace("'abc'", "'it''s'")),
    "yaml-plain-to-literal": ("s.enc.yaml", QUOTED, ["set", '["plain"]', '"line 1\\nline 2"'],
                              QUOTED.replace("xyz", "|-\n  line 1\n  line 2")),
    "yaml-single-falls-back": ("s.enc.yaml", QUOTED, ["set", '["token"]', '"a\\nb"'],
                               QUOTED.replace("'abc'", "|-\n  a\n  b")),
    # mappings and lists as values, built where the path is new
    "demo-append-mapping": ("secrets.enc.yaml", DEMO,
                            ["set", '["api_keys"][2]', '{"github": "ghp_x", "scopes": ["repo"]}'],
                            DEMO.replace(SENDGRID, SENDGRID + "  - github: ghp_x\n"
                                                   "    scopes:\n      - repo\n")),
    "yaml-scalar-to-mapping": ("s.enc.yaml", "a: 1\nb:\n    c: 2\n",
                               ["set", '["a"]', '{"k": "v", "l": [1, 2]}'],
                               "a:\n    k: v\n    l:\n        - 1\n        - 2\nb:\n    c: 2\n"),
    "yaml-mapping-to-scalar": ("s.enc.yaml", "a: 1\nb:\n    c: 2\nd: 3\n",
                               ["set", '["b"]', '"flat"'], "a: 1\nb: flat\nd: 3\n"),
    "yaml-through-a-value": ("s.enc.yaml", "a: 1\nb: 2\n", ["set", '["a"]["c"]', "true"],
                             "a:\n  c: true\nb: 2\n"),
    "yaml-index-beyond-end": ("s.enc.yaml", "l:\n- a\n- b\n", ["set", '["l"][7]', '"c"'],
                              "l:\n- a\n- b\n- c\n"),
    "yaml-indentless-lists": ("s.enc.yaml", "l:\n- a\n", ["set", '["m"]', '["x", "y"]'],
                              'l:\n- a\nm:\n- x\n- "y"\n'),
    "yaml-first-document": ("s.enc.yaml", "a: 1\n---\nb: 2\n", ["set", '["c"]', "3"],
                            "a: 1\nc: 3\n---\nb: 2\n"),
    "yaml-crlf": ("s.enc.yaml", "a: 1\r\nb:\r\n  c: 2\r\n", ["set", '["b"]["d"]', '"x"'],
                  "a: 1\r\nb:\r\n  c: 2\r\n  d: x\r\n"),
    # flow collections grow and shrink in flow style
    "yaml-flow-unset": ("s.enc.yaml", FLOWY, ["unset", '["limits"]["memory"]'],
                        FLOWY.replace("{cpu: 1, memory: 2Gi}", "{cpu: 1}")),
    "yaml-flow-unset-first": ("s.enc.yaml", FLOWY, ["unset", '["limits"]["cpu"]'],
                              FLOWY.replace("{cpu: 1, memory: 2Gi}", "{memory: 2Gi}")),
    "yaml-flow-add": ("s.enc.yaml", FLOWY, ["set", '["limits"]["disk"]', '"10Gi"'],
                      FLOWY.replace("2Gi}", "2Gi, disk: 10Gi}")),
    "yaml-flow-append": ("s.enc.yaml", FLOWY, ["set", '["ports"][2]', "8443"],
                         FLOWY.replace("443]", "443, 8443]")),
    "yaml-flow-unset-item": ("s.enc.yaml", FLOWY, ["unset", '["ports"][0]'],
                             FLOWY.replace("[80, 443]", "[443]")),
    # removals take their own comments, leave the neighbours' and keep `{}` / `[]`
    "demo-unset-list-item": ("secrets.enc.yaml", DEMO, ["unset", '["api_keys"][0]'],
                             DEMO.replace("  - stripe: sk_test_51H8example\n", "")),
    "yaml-unset-subtree": ("s.enc.yaml", "a:\n  b:\n    c: 1\n    d: 2\n  e: 3\n",
                           ["unset", '["a"]["b"]'], "a:\n  e: 3\n"),
    # the comments that open the file stay (a second document: sops edits the first)
    "demo-header-stays": ("secrets.enc.yaml", DEMO + "---\nother: 1\n", ["unset", '["app"]'],
                          DEMO.replace(DEMO[DEMO.index("app:"):DEMO.index("database:")], "")
                          + "---\nother: 1\n"),
    "yaml-unset-takes-comments": ("s.enc.yaml", COMMENTED, ["unset", '["db"]["host"]'],
                                  "db:\n  # read replica\n  replica: b.internal\n"
                                  "keep: 1  # stays\n"),
    "yaml-unset-last-key": ("s.enc.yaml", "a:\n  b: 1\nc: 2\n", ["unset", '["a"]["b"]'],
                            "a: {}\nc: 2\n"),
    "yaml-unset-last-item": ("s.enc.yaml", "a:\n  - 1\nc: 2\n", ["unset", '["a"][0]'],
                             "a: []\nc: 2\n"),
    "yaml-unset-compact-key": ("s.enc.yaml", "l:\n  - k: 1\n    j: 2\n",
                               ["unset", '["l"][0]["k"]'], "l:\n  - j: 2\n"),
    # next to aliases and merge keys, as long as no alias would see the change
    "yaml-merge-sibling": ("s.enc.yaml", ANCHORS, ["set", '["d"]["z"]', "3"],
                           ANCHORS.replace("  y: s3cret-y\n", "  y: s3cret-y\n  z: 3\n")),
    "yaml-replace-alias": ("s.enc.yaml", ANCHORS, ["set", '["e"]', '"own"'],
                           ANCHORS.replace("e: *b", "e: own")),
    "yaml-unset-alias": ("s.enc.yaml", "base: &b\n  x: 1\nsvc:\n  copy: *b\n  own: 2\n",
                         ["unset", '["svc"]["copy"]'], "base: &b\n  x: 1\nsvc:\n  own: 2\n"),
    # JSON: pretty where the file is, one line where it is
    "json-new-path": ("s.enc.json", PRETTY, ["set", '["x"]["y"]', '{"z": [true]}'],
                      PRETTY.replace('[1]\n', '[1],\n  "x": {\n    "y": {\n      "z": [\n'
                                               '        true\n      ]\n    }\n  }\n')),
    "json-append": ("s.enc.json", PRETTY, ["set", '["l"][1]', "2"],
                    PRETTY.replace("[1]", "[1, 2]")),
    "json-through-a-value": ("s.enc.json", PRETTY, ["set", '["db"]["user"][0]', '"u"'],
                             PRETTY.replace('"user": "u"', '"user": [\n      "u"\n    ]')),
    "json-unset-item": ("s.enc.json", '{"l": [1, 2, 3]}\n', ["unset", '["l"][1]'],
                        '{"l": [1, 3]}\n'),
    "json-compact": ("s.enc.json", '{"a":{"b":1}}', ["set", '["a"]["c"]', '"x"'],
                     '{"a":{"b":1,"c":"x"}}'),
    # dotenv and INI keep quotes and inline comments; removals take comment lines
    "dotenv-keep-double-quotes": ("s.enc.env", 'export TOKEN="old value"\nOTHER=1\n',
                                  ["set", '["TOKEN"]', '"new"'],
                                  'export TOKEN="new"\nOTHER=1\n'),
    "dotenv-keep-inline-comment": ("s.enc.env", "A=old # rotate monthly\n",
                                   ["set", '["A"]', '"new"'], "A=new # rotate monthly\n"),
    "dotenv-unset-takes-comment": ("s.enc.env", "# header\n\n# the token\nTOKEN=x\nOTHER=1\n",
                                   ["unset", '["TOKEN"]'], "# header\n\nOTHER=1\n"),
    "ini-keep-quotes": ("s.enc.ini", '[db]\npass = "old" ; note\n',
                        ["set", '["db"]["pass"]', '"new"'], '[db]\npass = "new" ; note\n'),
    "ini-unset-takes-comment": ("s.enc.ini", "[db]\n; who\nuser = admin\npass = x\n",
                                ["unset", '["db"]["user"]'], "[db]\npass = x\n"),
    "ini-unset-section": ("s.enc.ini",
                          "[db]\nuser = admin\n\n; cache settings\n[cache]\nurl = redis://x\n",
                          ["unset", '["cache"]'], "[db]\nuser = admin\n"),
    "ini-set-section": ("s.enc.ini", "[db]\nuser = admin\npass = x\n\n[cache]\nurl = r\n",
                        ["set", '["db"]', '{"user": "root"}'],
                        "[db]\nuser = root\n\n[cache]\nurl = r\n"),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_edit_in_place(case: str, tmp_path: Path, env: dict[str, str]) -> None:
    """The decrypted result, byte for byte: only the lines the change needs are new."""
    name, plain, command, expected = EDITS[case]
    fmt = FORMATS[name.rsplit(".", 1)[1]]
    enc = make(tmp_path, env, name, plain)
    result = run_encfile(command[0], str(enc), *command[1:], env=env)
    assert result.returncode == 0, result.stderr
    after = enc.read_bytes().decode()
    assert encfile.decrypt(after, format=fmt, identities=[TEST_SECRET]) == expected


def test_issue_commands_keep_other_ciphertexts(tmp_path: Path, env: dict[str, str]) -> None:
    """The four commands of the issue in a row: the encrypted diff is the changed lines only."""
    import difflib

    enc = make(tmp_path, env, "secrets.enc.yaml", DEMO)
    before = enc.read_text().split("\nsops:")[0].splitlines()
    for command in (["set", '["database"]["sslmode"]', '"require"'],
                    ["unset", '["database"]["port"]'],
                    ["set", '["x"]["y"]["z"]', "1"],
                    ["set", '["api_keys"][2]', '"x"']):
        result = run_encfile(command[0], str(enc), *command[1:], env=env)
        assert result.returncode == 0, (command, result.stderr)
    after = enc.read_text().split("\nsops:")[0].splitlines()
    changed = [line[0] + line[1:].split(" ENC[")[0]
               for line in difflib.unified_diff(before, after, lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-  port:", "+  sslmode:", "+  -", "+x:", '+  "y":', "+    z:"]
    assert encfile.decrypt(enc.read_text(), identities=[TEST_SECRET]) == DEMO.replace(
        "  port: 5432\n", "").replace(PASSWORD, PASSWORD + "  sslmode: require\n").replace(
        SENDGRID, SENDGRID + "  - x\n") + 'x:\n  "y":\n    z: 1\n'


REFUSALS = {
    # id: (file name, plaintext, command, what the message names, the hint)
    "alias-inside": ("s.enc.yaml", ANCHORS, ["set", '["e"]["x"]', '"v"'],
                     '["e"] is an alias (*b)', "encfile edit"),
    "alias-unset-inside": ("s.enc.yaml", ANCHORS, ["unset", '["e"]["x"]'],
                           '["e"] is an alias (*b)', "encfile edit"),
    "merge-key-unset": ("s.enc.yaml", ANCHORS, ["unset", '["d"]["<<"]'],
                        "merge key ('<<')", "encfile edit"),
    "merge-key-below": ("s.enc.yaml", ANCHORS, ["set", '["d"]["<<"]["x"]', '"v"'],
                        "merge key ('<<')", "encfile edit"),
    "anchored-set": ("s.enc.yaml", ANCHORS, ["set", '["base"]["x"]', '"v"'],
                     "anchored node '&b', which aliases repeat", "encfile edit"),
    "anchored-unset": ("s.enc.yaml", ANCHORS, ["unset", '["base"]'],
                       "holds the anchor '&b'", "encfile edit"),
    "negative-index": ("s.enc.yaml", "l: [s3cret-a, s3cret-b]\n", ["set", '["l"][-1]', '"v"'],
                       "negative index [-1]", "[2] appends one"),
    "key-on-list": ("s.enc.yaml", "l: [s3cret-a]\n", ["set", '["l"]["k"]', '"v"'],
                    '["l"] is a list', "by its index"),
    "dotenv-nested": ("s.enc.env", "A=s3cret-a\n", ["set", '["A"]["b"]', '"v"'],
                      "a dotenv file holds only flat values", "encfile edit"),
    "dotenv-null": ("s.enc.env", "A=s3cret-a\n", ["set", '["A"]', "null"],
                    "a dotenv file cannot hold null", "unset"),
    "dotenv-bad-name": ("s.enc.env", "A=s3cret-a\n", ["set", '["bad key"]', '"v"'],
                        "'bad key' is not a variable name", "letters, digits"),
    "ini-section-value": ("s.enc.ini", "[s]\nk = s3cret-a\n", ["set", '["s"]', '"v"'],
                          '["s"] is an INI section', '["s"]["key"]'),
    "ini-nested": ("s.enc.ini", "[s]\nk = s3cret-a\n", ["set", '["s"]["k"]["x"]', '"v"'],
                   "an INI file holds only flat values", "encfile edit"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_in_place(case: str, tmp_path: Path, env: dict[str, str]) -> None:
    """What cannot be edited in place is a usage error (exit 1), named, with a hint."""
    name, plain, command, named, hint = REFUSALS[case]
    enc = make(tmp_path, env, name, plain)
    before = enc.read_bytes()
    result = run_encfile(command[0], str(enc), *command[1:], env=env)
    stderr = assert_cli_error(result, 1)
    first, *hints = stderr.splitlines()
    assert named in first and any(hint in line for line in hints), stderr
    assert "s3cret" not in stderr
    assert enc.read_bytes() == before


@pytest.mark.parametrize("name", ["s.enc.yaml", "s.enc.env"])
def test_index_on_a_mapping_changes_nothing(name: str, tmp_path: Path,
                                            env: dict[str, str]) -> None:
    """sops sets nothing and succeeds; encfile too, and says so."""
    enc = make(tmp_path, env, name, "A: 1\n" if name.endswith("yaml") else "A=1\n")
    before = enc.read_bytes()
    result = run_encfile("set", str(enc), "[0]", '"v"', env=env)
    assert result.returncode == 0, result.stderr
    assert "encfile: warning: nothing set: the top level is a mapping" in result.stderr.decode()
    assert enc.read_bytes() == before
