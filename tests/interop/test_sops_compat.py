"""encfile in sops's place: every behaviour the drop-in issue lists, run with the real sops
3.11 binary and with encfile the same way, in the same setup, and compared.

Each test builds one sandbox (a project folder with a .sops.yaml, the test identity in
SOPS_AGE_KEY_FILE, and files elsewhere, as sops's functional tests keep them in a temp
folder), then runs a command line through both programs. Exit codes must match; outputs
match byte for byte where sops's output is canonical, else as parsed data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY_FILE, OTHER_KEY_FILE, OTHER_PUBLIC, TEST_PUBLIC, clean_env, load_docs

pytestmark = pytest.mark.sops

ENCFILE = [sys.executable, "-m", "encfile"]


class Sandbox:
    """A project (cwd, with .sops.yaml) and a folder outside it for the files."""

    def __init__(self, root: Path, sops: str) -> None:
        self.project = root / "project"
        self.files = root / "elsewhere"
        self.project.mkdir()
        self.files.mkdir()
        self.env = clean_env(root / "home", SOPS_AGE_KEY_FILE=str(KEY_FILE))
        (root / "home").mkdir()
        self.tools = {"sops": [sops], "encfile": ENCFILE}

    def config(self, text: str) -> None:
        (self.project / ".sops.yaml").write_text(text)

    def file(self, name: str, text: str | bytes) -> Path:
        path = self.files / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path

    def run(self, tool: str, *args: str | Path, input: bytes | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*self.tools[tool], *map(str, args)], cwd=self.project,
                              env={**self.env, **(env or {})}, input=input,
                              capture_output=True, timeout=120)

    def both(self, *args: str | Path, setup: Callable[[str], list[str | Path]] | None = None,
             input: bytes | None = None, env: dict[str, str] | None = None
             ) -> dict[str, subprocess.CompletedProcess[bytes]]:
        """The same command line through both tools; ``setup(tool)`` may prepare a fresh
        copy of the files for each (and return the arguments to use)."""
        out = {}
        for tool in ("sops", "encfile"):
            argv = setup(tool) if setup is not None else list(args)
            out[tool] = self.run(tool, *argv, input=input, env=env)
        return out


@pytest.fixture
def sb(tmp_path: Path, sops_bin: str) -> Sandbox:
    box = Sandbox(tmp_path, sops_bin)
    box.config(f"creation_rules:\n  - path_regex: broken\\.yaml$\n    key_groups:\n"
               f"      - {{}}\n  - age: {TEST_PUBLIC}\n")
    return box


def same_code(results: dict[str, subprocess.CompletedProcess[bytes]]) -> None:
    codes = {tool: r.returncode for tool, r in results.items()}
    assert codes["sops"] == codes["encfile"], {t: (r.returncode, r.stderr.decode()[-300:])
                                               for t, r in results.items()}


def fresh_encrypted(sb: Sandbox, name: str, text: str) -> Callable[[str], Path]:
    """A function giving each tool its own copy of ``text``, encrypted by that tool."""
    def make(tool: str) -> Path:
        path = sb.file(f"{tool}-{name}", text)
        done = sb.run(tool, "encrypt", "-i", path)
        assert done.returncode == 0, done.stderr.decode()
        return path
    return make


# -- configuration -----------------------------------------------------------------------------

def test_the_working_directorys_config_serves_files_elsewhere(sb: Sandbox) -> None:
    plain = sb.file("s.yaml", "a: secret\n")
    results = sb.both("encrypt", plain)
    same_code(results)
    for result in results.values():
        assert result.returncode == 0
        assert [e["recipient"] for e in load_docs(result.stdout.decode())[0]["sops"]["age"]] \
            == [TEST_PUBLIC]


def test_a_broken_rule_matters_only_for_the_files_it_takes(sb: Sandbox) -> None:
    same_code(sb.both("encrypt", sb.file("ok.yaml", "a: 1\n")))
    results = sb.both("encrypt", sb.file("broken.yaml", "a: 1\n"))
    same_code(results)
    assert results["encfile"].returncode == 1


# -- standard input ----------------------------------------------------------------------------

def test_encrypt_from_stdin_with_a_filename_override(sb: Sandbox) -> None:
    results = sb.both("encrypt", "--filename-override", "x.yaml", "--output-type", "json",
                      input=b"foo: 2\nbar: baz\n")
    same_code(results)
    for result in results.values():
        data = json.loads(result.stdout)
        assert data["foo"].startswith("ENC[") and data["bar"].startswith("ENC[")


def test_decrypt_from_stdin(sb: Sandbox) -> None:
    """With both types given, as sops needs them; encfile also takes --input-type alone
    (sops then writes binary, and refuses: code 4)."""
    make = fresh_encrypted(sb, "s.yaml", "a: 1\nb: two\n")
    outputs = {}
    for tool in ("sops", "encfile"):
        enc = make(tool).read_bytes()
        result = sb.run(tool, "decrypt", "--input-type", "yaml", "--output-type", "yaml",
                        input=enc)
        assert result.returncode == 0, result.stderr
        outputs[tool] = load_docs(result.stdout.decode())
        alone = sb.run(tool, "decrypt", "--input-type", "yaml", input=enc)
        assert alone.returncode == (4 if tool == "sops" else 0), alone.stderr
        if tool == "encfile":
            assert alone.stdout == result.stdout
    assert outputs["sops"] == outputs["encfile"] == [{"a": 1, "b": "two"}]


def test_stdin_without_a_type_is_binary_to_sops_and_recognized_by_encfile(sb: Sandbox) -> None:
    """sops assumes binary; encfile tells a binary file's {"data", "sops"} JSON the same."""
    data = b'""{}this_is_binary_data'
    make = fresh_encrypted(sb, "blob.bin", data.decode())
    for tool in ("sops", "encfile"):
        enc = make(tool).read_bytes()
        result = sb.run(tool, "decrypt", input=enc)
        assert result.returncode == 0 and result.stdout == data, result.stderr


# -- set and unset -------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["value", "value-file", "value-stdin", "legacy"])
def test_set_forms(sb: Sandbox, form: str) -> None:
    make = fresh_encrypted(sb, "s.json", '{"a": 2, "b": "ba"}')
    value = '{"aa": "aaa"}'
    (sb.files / "v.json").write_text(value)
    data = {}
    for tool in ("sops", "encfile"):
        path = make(tool)
        argv: list[str | Path] = {
            "value": ["set", path, '["a"]', value],
            "value-file": ["set", "--value-file", path, '["a"]', sb.files / "v.json"],
            "value-stdin": ["set", "--value-stdin", path, '["a"]'],
            "legacy": ["--set", f'["a"] {value}', path],
        }[form]
        result = sb.run(tool, *argv, input=value.encode() if form == "value-stdin" else None)
        assert result.returncode == 0, result.stderr
        enc = json.loads(path.read_text())
        assert enc["a"]["aa"].startswith("ENC[")
        shown = sb.run(tool, "decrypt", path)
        data[tool] = json.loads(shown.stdout)
    assert data["sops"] == data["encfile"] == {"a": {"aa": "aaa"}, "b": "ba"}


def test_two_mode_flags_are_refused(sb: Sandbox) -> None:
    """A deliberate difference: sops 3.11 warns (deprecated) and runs the last mode."""
    make = fresh_encrypted(sb, "s.yaml", "a: 1\n")
    path = make("encfile")
    before = path.read_bytes()
    for argv in (["-e", "-d", path], ["-d", "-r", "-i", path]):
        result = sb.run("encfile", *argv)
        assert result.returncode == 8 and result.stdout == b"", result.stderr
        assert result.stderr.startswith(b"encfile: error: ")
        assert path.read_bytes() == before


@pytest.mark.parametrize(("argv", "code"), [
    (["set", "{f}", '["a"]', "not json"], 7),
    (["set", "{f}", "bad", "1"], 7),
    (["unset", "{f}", '["zz"]'], 1),
    (["unset", "--idempotent", "{f}", '["zz"]'], 0),
    (["set", "--idempotent", "{f}", '["b"]', '"ba"'], 0),
])
def test_set_and_unset_exit_codes(sb: Sandbox, argv: list[str], code: int) -> None:
    make = fresh_encrypted(sb, "s.json", '{"a": 2, "b": "ba"}')
    results = sb.both(setup=lambda tool: [a.replace("{f}", str(make(tool))) for a in argv])
    same_code(results)
    assert results["encfile"].returncode == code


def test_unset_in_a_flow_mapping(sb: Sandbox) -> None:
    make = fresh_encrypted(sb, "s.yaml", "m: {a: 1, b: 2}\nc: 3\n")
    data = {}
    for tool in ("sops", "encfile"):
        path = make(tool)
        assert sb.run(tool, "unset", path, '["m"]["b"]').returncode == 0
        data[tool] = load_docs(sb.run(tool, "decrypt", path).stdout.decode())
    assert data["sops"] == data["encfile"] == [{"m": {"a": 1}, "c": 3}]


# -- exec-env and exec-file ---------------------------------------------------------------------

def test_exec_env_passes_values_as_sops_does(sb: Sandbox) -> None:
    make = fresh_encrypted(sb, "s.env", 'A="quoted"\nB=plain\nC=\'single\'\n')
    script = 'printf "%s|%s|%s" "$A" "$B" "$C"'
    outputs = {}
    for tool in ("sops", "encfile"):
        result = sb.run(tool, "exec-env", make(tool), script)
        assert result.returncode == 0, result.stderr
        outputs[tool] = result.stdout
    assert outputs["sops"] == outputs["encfile"] == b'"quoted"|plain|\'single\''


@pytest.mark.parametrize(("text", "script", "code"), [
    ("i: 5\nf: 1.0\nb: true\nn: null\nd: 2024-01-01\n",
     'printf "%s,%s,%s,%s,%s" "$i" "$f" "$b" "$n" "$d"', 0),
    ("x:\n  y: 1\n", "true", 1),
    ("a: 1\n", "exit 7", 7),
])
def test_exec_env_types_errors_and_status(sb: Sandbox, text: str, script: str,
                                          code: int) -> None:
    make = fresh_encrypted(sb, "s.yaml", text)
    results = sb.both(setup=lambda tool: ["exec-env", make(tool), script])
    same_code(results)
    assert results["encfile"].returncode == code
    if code == 0:
        assert results["encfile"].stdout == results["sops"].stdout


def test_exec_env_pristine(sb: Sandbox) -> None:
    make = fresh_encrypted(sb, "s.env", "A=1\n")
    results = sb.both(setup=lambda tool: ["exec-env", "--pristine", make(tool),
                                          'printf "%s/%s" "$A" "${KEEP-unset}"'],
                      env={"KEEP": "inherited"})
    assert results["sops"].stdout == results["encfile"].stdout == b"1/unset"


@pytest.mark.parametrize("flags", [[], ["--no-fifo"], ["--no-fifo", "--filename", "x.yaml"]])
def test_exec_file_sops_form(sb: Sandbox, flags: list[str]) -> None:
    make = fresh_encrypted(sb, "s.yaml", "a: 1\nb: two\n")
    outputs = {}
    for tool in ("sops", "encfile"):
        result = sb.run(tool, "exec-file", *flags, make(tool), "cat {}; echo; basename {}")
        assert result.returncode == 0, result.stderr
        outputs[tool] = result.stdout.decode()
    for text in outputs.values():
        body, _, name = text.rpartition("\n\n")
        assert load_docs(body) == [{"a": 1, "b": "two"}]
        assert name.strip() == ("x.yaml" if "x.yaml" in flags else "tmp-file") \
            or name.strip().startswith("tmp-file")


def test_exec_file_leaves_no_file_behind(sb: Sandbox, tmp_path: Path) -> None:
    make = fresh_encrypted(sb, "s.yaml", "a: hunter2\n")
    path = make("encfile")
    shown = sb.run("encfile", "exec-file", "--no-fifo", path, "echo {}")
    assert shown.returncode == 0, shown.stderr
    where = Path(shown.stdout.decode().strip())
    assert not where.exists() and not where.parent.exists()


# -- output formats ------------------------------------------------------------------------------

def test_ini_output_is_go_inis(sb: Sandbox) -> None:
    text = ("the_section:\n  int: 123\n  float: 1.23\n  bool: true\n  date: 2025-01-02\n"
            "  timestamp: 2025-01-02 03:04:05\n  utc_timestamp: 2025-01-02T03:04:05Z\n"
            "  string: this is a string")
    make = fresh_encrypted(sb, "values.yaml", text)
    results = sb.both(setup=lambda tool: ["decrypt", "--output-type", "ini", make(tool)])
    same_code(results)
    assert results["encfile"].stdout == results["sops"].stdout


@pytest.mark.parametrize("args", [["decrypt", "--output-type", "yaml"],
                                  ["--indent", "2", "-d", "--output-type", "yaml"],  # global
                                  ["decrypt", "--extract", '["a"]'],
                                  ["decrypt", "--extract", '["l"]'],
                                  ["decrypt", "--extract", '["a"]["b"]["c"]']])
def test_conversions_and_extracts_as_sops_writes_them(sb: Sandbox, args: list[str]) -> None:
    make = fresh_encrypted(sb, "c.json", '{"a": {"b": {"c": 1}}, "l": [1, {"x": 2}]}')
    results = sb.both(setup=lambda tool: [*args, make(tool)])
    same_code(results)
    assert results["encfile"].stdout == results["sops"].stdout


MULTILINE = {"a": "x\ny\n", "lead": " sp\nz", "nl": "\n\nq", "keep": "k\n\n", "tab": "t\tx\ny",
             "sb": "s \nx", "end": "e\nf ",
             "m": {"b": "p\nq", "s": ["i\nj", " lead\nk", {"c": "r\ns", "d": [" w\nv"]}],
                   "ss": [["u\nv"], []], "e": {}}}


@pytest.mark.parametrize("indent", ["4", "2"])
def test_multi_line_strings_written_from_data_as_go_yaml_writes_them(sb: Sandbox,
                                                                     indent: str) -> None:
    """Literal blocks, their indentation indicators and chomping, quoted strings where a
    space meets a line break, and compact ``- -``: sops's bytes, but where sops writes an
    indicator that does not read back (a list item starting with a space, at indent 4)."""
    make = fresh_encrypted(sb, "m.json", json.dumps(MULTILINE))
    results = sb.both(setup=lambda tool: ["--indent", indent, "-d", "--output-type", "yaml",
                                          make(tool)])
    same_code(results)
    ours, theirs = results["encfile"].stdout.decode(), results["sops"].stdout.decode()
    if indent == "4":
        assert "- |4-" in theirs
        theirs = theirs.replace("- |4-", "- |2-")
    assert ours == theirs
    assert load_docs(ours) == [MULTILINE]


# Strings that go-yaml writes plain, single-quoted or double-quoted. Left out: "<<", which
# go-yaml writes as `!!merge <<` (a tag no other reader takes), U+2028, which it writes raw
# (encfile escapes it: a YAML 1.1 reader breaks the line there), and "=", which it writes
# plain (YAML 1.1's value key, which PyYAML cannot read back; encfile quotes it).
QUOTING = [" a", "a ", "1", "true", "yes", "Yes", "on", "~", "null", "a: b", "#x", "x #y", "'q'",
           '"d"', "-", "- x", "?", "? x", ":", ":x", "tab\tx", "ünï", "\u3000x: y", "@at", "`b",
           "0x1F", "1e3", "2024-01-01", "2024-01-01T00:00:00Z", ".inf", "a\u00a0", "", "{x}",
           "[x]", "*a", "&a", "!t", "%p", "|", ">", "a,b", "a]", "x:", "1_000", "0o17", "+1",
           "-1.5", "1:20", "y", "n", "NO", "off", "a'b", 'a"b', "é é", "\\", "ab\x7f",
           "\ufeff", "12:30:45", "0b101", "010", "0.", "-.inf", ".NaN"]


def test_strings_written_from_data_quote_as_go_yaml(sb: Sandbox) -> None:
    data = {f"k{i:02d}": value for i, value in enumerate(QUOTING)}
    make = fresh_encrypted(sb, "q.json", json.dumps(data))
    results = sb.both(setup=lambda tool: ["decrypt", "--output-type", "yaml", make(tool)])
    same_code(results)
    assert results["encfile"].stdout == results["sops"].stdout
    assert load_docs(results["encfile"].stdout.decode()) == [data]


def test_stores_indent_in_the_config(sb: Sandbox) -> None:
    sb.config(f"creation_rules:\n  - age: {TEST_PUBLIC}\nstores:\n  yaml:\n    indent: 2\n")
    make = fresh_encrypted(sb, "c.json", '{"a": {"b": 1}}')
    results = sb.both(setup=lambda tool: ["decrypt", "--output-type", "yaml", make(tool)])
    assert results["encfile"].stdout == results["sops"].stdout == b"a:\n  b: 1\n"


def test_filestatus(sb: Sandbox) -> None:
    make = fresh_encrypted(sb, "s.yaml", "a: 1\n")
    plain = sb.file("p.yaml", "a: 1\n")
    for target in ("enc", "plain", "missing"):
        results = sb.both(setup=lambda tool, t=target: ["filestatus", {
            "enc": lambda: make(tool), "plain": lambda: plain,
            "missing": lambda: sb.files / "nope.yaml"}[t]()])
        same_code(results)
        assert results["encfile"].stdout == results["sops"].stdout


# -- keys, groups, rotation ----------------------------------------------------------------------

def test_groups_add_and_delete(sb: Sandbox) -> None:
    make = fresh_encrypted(sb, "s.yaml", "a: 1\nb: two\n")
    both_keys = KEY_FILE.read_text() + OTHER_KEY_FILE.read_text()
    for tool in ("sops", "encfile"):
        path = make(tool)
        added = sb.run(tool, "groups", "add", "--file", path, "--age", OTHER_PUBLIC, "-i")
        assert added.returncode == 0, added.stderr
        meta = load_docs(path.read_text())[0]["sops"]
        assert meta["shamir_threshold"] == 2 and len(meta["key_groups"]) == 2
        for reader in ("sops", "encfile"):  # each tool reads the other's groups
            shown = sb.run(reader, "decrypt", path, env={"SOPS_AGE_KEY": both_keys,
                                                         "SOPS_AGE_KEY_FILE": ""})
            assert load_docs(shown.stdout.decode()) == [{"a": 1, "b": "two"}], shown.stderr
        # Two groups at threshold 2: one group left cannot meet it, so both refuse...
        before = path.read_bytes()
        refused = sb.run(tool, "groups", "delete", "--file", path, "-i", "1",
                         env={"SOPS_AGE_KEY": both_keys, "SOPS_AGE_KEY_FILE": ""})
        assert refused.returncode == 1 and path.read_bytes() == before, refused.stderr
        # ...until the threshold is given.
        deleted = sb.run(tool, "groups", "delete", "--file", path, "-i",
                         "--shamir-secret-sharing-threshold", "1", "1",
                         env={"SOPS_AGE_KEY": both_keys, "SOPS_AGE_KEY_FILE": ""})
        assert deleted.returncode == 0, deleted.stderr
        meta = load_docs(path.read_text())[0]["sops"]
        assert len(meta.get("key_groups", [meta])) == 1
        for reader in ("sops", "encfile"):
            shown = sb.run(reader, "decrypt", path, env={"SOPS_AGE_KEY_FILE": str(KEY_FILE)})
            assert load_docs(shown.stdout.decode()) == [{"a": 1, "b": "two"}], shown.stderr


def test_rotate_in_the_old_form_adds_a_recipient(sb: Sandbox) -> None:
    make = fresh_encrypted(sb, "s.yaml", "a: 1\n")
    for tool in ("sops", "encfile"):
        path = make(tool)
        result = sb.run(tool, "-r", "-i", "--add-age", OTHER_PUBLIC, path)
        assert result.returncode == 0, result.stderr
        for reader in ("sops", "encfile"):
            shown = sb.run(reader, "decrypt", path, env={"SOPS_AGE_KEY_FILE":
                                                         str(OTHER_KEY_FILE)})
            assert shown.returncode == 0 and load_docs(shown.stdout.decode()) == [{"a": 1}]


@pytest.mark.parametrize(("argv", "code"), [
    (["decrypt", "-i", "--output", "x", "{f}"], 8),
    (["decrypt", "--decryption-order", "age", "{f}"], 0),
    (["decrypt", "--enable-local-keyservice", "{f}"], 0),
])
def test_flags_and_their_codes(sb: Sandbox, argv: list[str], code: int) -> None:
    make = fresh_encrypted(sb, "s.yaml", "a: 1\n")
    results = sb.both(setup=lambda tool: [a.replace("{f}", str(make(tool))) for a in argv])
    same_code(results)
    assert results["encfile"].returncode == code


def test_a_file_alone_is_edit(sb: Sandbox, tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/one/two/' \"$1\"\n")
    editor.chmod(0o755)
    make = fresh_encrypted(sb, "s.yaml", "a: one\n")
    for tool in ("sops", "encfile"):
        path = make(tool)
        result = sb.run(tool, path, env={"EDITOR": str(editor), "SOPS_EDITOR": str(editor)})
        assert result.returncode == 0, result.stderr
        assert load_docs(sb.run(tool, "decrypt", path).stdout.decode()) == [{"a": "two"}]


def test_version_under_the_name_sops(sb: Sandbox, tmp_path: Path) -> None:
    script = shutil.which("encfile", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("no encfile console script next to this python")
    link = tmp_path / "sops"
    link.symlink_to(script)
    ours = subprocess.run([str(link), "--version", "--disable-version-check"],
                          capture_output=True, text=True, timeout=60)
    theirs = sb.run("sops", "--version", "--disable-version-check")
    assert ours.stdout.split()[:2] == theirs.stdout.decode().split()[:2] == ["sops", "3.11.0"]


def _data(result: subprocess.CompletedProcess[bytes]) -> Any:
    return load_docs(result.stdout.decode())
