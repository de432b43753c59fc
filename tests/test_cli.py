"""The command line as a user drives it: a subprocess, its stdout bytes, stderr and exit code.

Every error case checks the same contract: the documented exit code, nothing on
stdout, a message starting with ``encfile: error: `` on stderr (never a
traceback), and the input files left byte-for-byte as they were.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    KEY_FILE,
    OTHER_KEY_FILE,
    OTHER_PUBLIC,
    OTHER_SECRET,
    PLAIN,
    TEST_PUBLIC,
    TEST_SECRET,
    assert_cli_error,
    clean_env,
    run_encfile,
)

import encfile

ROUNDTRIP_FILES = [
    "anchors.yaml", "blocks.yaml", "bom.yaml", "comments.yaml", "crlf.yaml", "flow.yaml",
    "multidoc.yaml", "no-final-newline.yaml", "toplevel-list.yaml", "types.yaml",
]

SIMPLE = b"db:\n  user: admin\n  password: hunter2\nport: 5432\n"


# -- helpers ---------------------------------------------------------------------------------------

def assert_ok(result: subprocess.CompletedProcess[bytes]) -> None:
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert b"Traceback" not in result.stderr


def assert_error(result: subprocess.CompletedProcess[bytes], code: int) -> str:
    """The error contract; returns stderr as text for further checks."""
    stderr = result.stderr.decode("utf-8", errors="replace")
    assert result.returncode == code, stderr
    assert result.stdout == b""
    assert stderr.startswith("encfile: error: "), stderr
    assert "Traceback" not in stderr
    return stderr


def write(path: Path, data: bytes, mode: int | None = None) -> Path:
    path.write_bytes(data)
    if mode is not None:
        os.chmod(path, mode)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def encrypt_bytes(data: bytes, tmp_path: Path, env: dict[str, str], *,
                  recipients: str = TEST_PUBLIC, name: str = "plain.yaml") -> bytes:
    src = write(tmp_path / name, data)
    result = run_encfile("-e", "--age", recipients, str(src), env=env)
    assert_ok(result)
    assert b"ENC[AES256_GCM," in result.stdout
    return result.stdout


def encrypted_file(tmp_path: Path, env: dict[str, str], data: bytes = SIMPLE, *,
                   recipients: str = TEST_PUBLIC, name: str = "secrets.enc.yaml") -> Path:
    enc = encrypt_bytes(data, tmp_path, env, recipients=recipients,
                        name="src-" + name.replace(".enc", ""))
    return write(tmp_path / name, enc)


# -- encrypt / decrypt round trips -----------------------------------------------------------------

@pytest.mark.parametrize("name", ROUNDTRIP_FILES)
def test_roundtrip_via_stdout_is_byte_exact(name: str, tmp_path: Path, env: dict[str, str]) -> None:
    original = (PLAIN / name).read_bytes()
    enc = run_encfile("-e", "--age", TEST_PUBLIC, str(PLAIN / name), env=env)
    assert_ok(enc)
    assert b"ENC[AES256_GCM," in enc.stdout
    assert TEST_PUBLIC.encode() in enc.stdout
    assert b"AGE-SECRET-KEY" not in enc.stdout
    assert (PLAIN / name).read_bytes() == original
    enc_file = write(tmp_path / name.replace(".yaml", ".enc.yaml"), enc.stdout)
    dec = run_encfile("-d", str(enc_file), env=env)
    assert_ok(dec)
    assert dec.stdout == original


def test_encrypted_output_hides_values(tmp_path: Path, env: dict[str, str]) -> None:
    enc = encrypt_bytes(SIMPLE, tmp_path, env)
    assert b"hunter2" not in enc
    assert b"admin" not in enc
    assert b"password:" in enc  # keys stay readable
    assert b"sops:" in enc


def test_subcommand_forms(tmp_path: Path, env: dict[str, str]) -> None:
    src = write(tmp_path / "s.yaml", SIMPLE)
    enc = run_encfile("encrypt", "--age", TEST_PUBLIC, str(src), env=env)
    assert_ok(enc)
    enc_file = write(tmp_path / "s.enc.yaml", enc.stdout)
    dec = run_encfile("decrypt", str(enc_file), env=env)
    assert_ok(dec)
    assert dec.stdout == SIMPLE
    # the long sops flags work too
    dec2 = run_encfile("--decrypt", str(enc_file), env=env)
    assert_ok(dec2)
    assert dec2.stdout == SIMPLE


@pytest.mark.parametrize("order", ["options-first", "file-first", "mode-last"])
def test_decrypt_option_placement(order: str, tmp_path: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    before = enc_file.read_bytes()
    out = tmp_path / "out.yaml"
    args = {
        "options-first": ["-d", "-o", str(out), str(enc_file)],
        "file-first": ["-d", str(enc_file), "-o", str(out)],
        "mode-last": [str(enc_file), "-o", str(out), "-d"],
    }[order]
    result = run_encfile(*args, env=env)
    assert_ok(result)
    assert result.stdout == b""
    assert out.read_bytes() == SIMPLE
    assert enc_file.read_bytes() == before


@pytest.mark.parametrize("order", ["options-first", "file-first"])
def test_encrypt_option_placement(order: str, tmp_path: Path, env: dict[str, str]) -> None:
    src = write(tmp_path / "s.yaml", SIMPLE)
    out = tmp_path / "s.enc.yaml"
    args = {
        "options-first": ["-e", "--age", TEST_PUBLIC, "-o", str(out), str(src)],
        "file-first": ["-e", str(src), "--age", TEST_PUBLIC, "-o", str(out)],
    }[order]
    result = run_encfile(*args, env=env)
    assert_ok(result)
    assert result.stdout == b""
    assert src.read_bytes() == SIMPLE
    assert b"ENC[AES256_GCM," in out.read_bytes()
    dec = run_encfile("-d", str(out), env=env)
    assert_ok(dec)
    assert dec.stdout == SIMPLE


# -- recipients ------------------------------------------------------------------------------------

@pytest.mark.parametrize("var", ["SOPS_AGE_RECIPIENTS", "ENCFILE_AGE_RECIPIENTS"])
def test_recipients_from_environment(var: str, tmp_path: Path, home: Path) -> None:
    src = write(tmp_path / "s.yaml", SIMPLE)
    enc = run_encfile("-e", str(src), env=clean_env(home, **{var: OTHER_PUBLIC}))
    assert_ok(enc)
    assert OTHER_PUBLIC.encode() in enc.stdout
    assert TEST_PUBLIC.encode() not in enc.stdout
    enc_file = write(tmp_path / "s.enc.yaml", enc.stdout)
    dec = run_encfile("-d", str(enc_file), env=clean_env(home, SOPS_AGE_KEY_FILE=str(OTHER_KEY_FILE)))
    assert_ok(dec)
    assert dec.stdout == SIMPLE


def test_two_recipients_both_can_decrypt(tmp_path: Path, home: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env, recipients=f"{TEST_PUBLIC},{OTHER_PUBLIC}")
    text = enc_file.read_bytes()
    assert TEST_PUBLIC.encode() in text and OTHER_PUBLIC.encode() in text
    for key_file in (KEY_FILE, OTHER_KEY_FILE):
        dec = run_encfile("-d", str(enc_file), env=clean_env(home, SOPS_AGE_KEY_FILE=str(key_file)))
        assert_ok(dec)
        assert dec.stdout == SIMPLE


def test_no_recipients_is_an_error_with_hint(tmp_path: Path, env: dict[str, str]) -> None:
    src = write(tmp_path / "s.yaml", SIMPLE)
    stderr = assert_error(run_encfile("-e", str(src), env=env), 1)
    assert "no keys to encrypt for" in stderr and "--age" in stderr
    assert "\nencfile: hint: " in stderr
    assert src.read_bytes() == SIMPLE


# -- in place and --output -------------------------------------------------------------------------

def test_in_place_roundtrip_keeps_bytes_and_mode(tmp_path: Path, env: dict[str, str]) -> None:
    original = (PLAIN / "comments.yaml").read_bytes()
    target = write(tmp_path / "secrets.yaml", original, mode=0o640)
    enc = run_encfile("-e", "-i", "--age", TEST_PUBLIC, str(target), env=env)
    assert_ok(enc)
    assert enc.stdout == b""
    assert b"ENC[AES256_GCM," in target.read_bytes()
    assert mode_of(target) == 0o640
    dec = run_encfile("-d", "-i", str(target), env=env)
    assert_ok(dec)
    assert dec.stdout == b""
    assert target.read_bytes() == original
    assert mode_of(target) == 0o640
    # no temporary files left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "secrets.yaml"]


@pytest.mark.parametrize("mode", ["-e", "-d"])
def test_in_place_with_output_conflicts(mode: str, tmp_path: Path, env: dict[str, str]) -> None:
    target = encrypted_file(tmp_path, env) if mode == "-d" else write(tmp_path / "s.yaml", SIMPLE)
    before = target.read_bytes()
    out = tmp_path / "out.yaml"
    args = [mode, "-i", "-o", str(out), str(target)]
    if mode == "-e":
        args[1:1] = ["--age", TEST_PUBLIC]
    assert_error(run_encfile(*args, env=env), 8)
    assert target.read_bytes() == before
    assert not out.exists()


def test_decrypt_output_file_is_created_private(tmp_path: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    out = tmp_path / "plain-out.yaml"
    result = run_encfile("-d", str(enc_file), "-o", str(out), env=env)
    assert_ok(result)
    assert result.stdout == b""
    assert out.read_bytes() == SIMPLE
    assert mode_of(out) == 0o600


def test_decrypt_output_over_existing_file_keeps_its_mode(tmp_path: Path,
                                                         env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    out = write(tmp_path / "plain-out.yaml", b"old content\n", mode=0o640)
    assert_ok(run_encfile("-d", str(enc_file), "-o", str(out), env=env))
    assert out.read_bytes() == SIMPLE
    assert mode_of(out) == 0o640


def test_encrypt_output_file(tmp_path: Path, env: dict[str, str]) -> None:
    src = write(tmp_path / "s.yaml", SIMPLE)
    out = tmp_path / "s.enc.yaml"
    result = run_encfile("-e", "--age", TEST_PUBLIC, "-o", str(out), str(src), env=env)
    assert_ok(result)
    assert result.stdout == b""
    assert src.read_bytes() == SIMPLE
    assert b"hunter2" not in out.read_bytes()
    assert_ok(dec := run_encfile("-d", str(out), env=env))
    assert dec.stdout == SIMPLE


# -- several files ---------------------------------------------------------------------------------

def test_decrypt_several_files_as_one_stream(tmp_path: Path, env: dict[str, str]) -> None:
    a_plain = b"a: 1\nsecret: one\n"
    b_plain = b"b: 2\nsecret: two\n"
    c_plain = b"---\nc: 3\n"
    a = encrypted_file(tmp_path, env, a_plain, name="a.enc.yaml")
    b = encrypted_file(tmp_path, env, b_plain, name="b.enc.yaml")
    c = encrypted_file(tmp_path, env, c_plain, name="c.enc.yaml")
    result = run_encfile("-d", str(a), str(b), str(c), env=env)
    assert_ok(result)
    # '---' is added before b, but not before c, which already starts with one
    assert result.stdout == a_plain + b"---\n" + b_plain + c_plain


def test_decrypt_several_files_first_without_final_newline(tmp_path: Path,
                                                           env: dict[str, str]) -> None:
    first = (PLAIN / "no-final-newline.yaml").read_bytes()
    assert not first.endswith(b"\n")
    a = encrypted_file(tmp_path, env, first, name="a.enc.yaml")
    b = encrypted_file(tmp_path, env, SIMPLE, name="b.enc.yaml")
    result = run_encfile("-d", str(a), str(b), env=env)
    assert_ok(result)
    assert result.stdout == first + b"\n---\n" + SIMPLE


@pytest.mark.parametrize("second", ["bom.yaml", "directive.yaml", "multidoc.yaml",
                                    "crlf.yaml", "comments.yaml"])
def test_several_files_stream_is_valid_yaml(second: str, tmp_path: Path,
                                            env: dict[str, str]) -> None:
    """The joined stream holds exactly the documents of each file, in order."""
    from ruamel.yaml import YAML

    second_plain = (PLAIN / second).read_bytes()
    a = encrypted_file(tmp_path, env, SIMPLE, name="a.enc.yaml")
    b = encrypted_file(tmp_path, env, second_plain, name="b.enc.yaml")
    result = run_encfile("-d", str(a), str(b), env=env)
    assert_ok(result)
    expected = list(YAML(typ="safe").load_all(SIMPLE.decode())) + \
        list(YAML(typ="safe").load_all(second_plain.decode("utf-8-sig")))
    assert list(YAML(typ="safe").load_all(result.stdout.decode("utf-8"))) == expected


@pytest.mark.parametrize("second, path, value", [
    ("bom.yaml", '[1]["secret"]', b"value"),
    ("directive.yaml", '[1]["key"]', b"value"),
    ("multidoc.yaml", '[2]["stringData"]["token"]', b"abc123"),
])
def test_several_files_stream_can_be_encrypted_again(second: str, path: str, value: bytes,
                                                     tmp_path: Path, env: dict[str, str]) -> None:
    """`encfile -d a b > all.yaml` then `encfile -e all.yaml`: encfile reads its own stream."""
    a = encrypted_file(tmp_path, env, SIMPLE, name="a.enc.yaml")
    b = encrypted_file(tmp_path, env, (PLAIN / second).read_bytes(), name="b.enc.yaml")
    stream = tmp_path / "all.yaml"
    assert_ok(run_encfile("-d", str(a), str(b), "-o", str(stream), env=env))
    enc = run_encfile("-e", "--age", TEST_PUBLIC, str(stream), env=env)
    assert_ok(enc)
    enc_file = write(tmp_path / "all.enc.yaml", enc.stdout)
    dec = run_encfile("-d", "--extract", path, str(enc_file), env=env)
    assert_ok(dec)
    assert dec.stdout == value


def test_decrypt_several_files_is_all_or_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    a = encrypted_file(tmp_path, env, name="a.enc.yaml")
    b = encrypted_file(tmp_path, env, name="b.enc.yaml", recipients=OTHER_PUBLIC)
    before = (a.read_bytes(), b.read_bytes())
    stderr = assert_error(run_encfile("-d", str(a), str(b), env=env), 128)
    assert "b.enc.yaml" in stderr
    assert (a.read_bytes(), b.read_bytes()) == before


def test_decrypt_several_files_to_output_is_all_or_nothing(tmp_path: Path,
                                                           env: dict[str, str]) -> None:
    a = encrypted_file(tmp_path, env, name="a.enc.yaml")
    missing = tmp_path / "missing.enc.yaml"
    out = tmp_path / "out.yaml"
    assert_error(run_encfile("-d", str(a), str(missing), "-o", str(out), env=env), 100)
    assert not out.exists()


def test_in_place_decrypt_of_several_files_is_all_or_nothing(tmp_path: Path,
                                                             env: dict[str, str]) -> None:
    a = encrypted_file(tmp_path, env, name="a.enc.yaml")
    b = encrypted_file(tmp_path, env, name="b.enc.yaml", recipients=OTHER_PUBLIC)
    before = (a.read_bytes(), b.read_bytes())
    assert_error(run_encfile("-d", "-i", str(a), str(b), env=env), 128)
    assert (a.read_bytes(), b.read_bytes()) == before


def test_in_place_encrypt_of_several_files(tmp_path: Path, env: dict[str, str]) -> None:
    a = write(tmp_path / "a.yaml", b"a: one\n")
    b = write(tmp_path / "b.yaml", b"b: two\n")
    assert_ok(run_encfile("-e", "-i", "--age", TEST_PUBLIC, str(a), str(b), env=env))
    for path, plain in ((a, b"a: one\n"), (b, b"b: two\n")):
        assert b"ENC[AES256_GCM," in path.read_bytes()
        dec = run_encfile("-d", str(path), env=env)
        assert_ok(dec)
        assert dec.stdout == plain


def test_in_place_encrypt_of_several_files_is_all_or_nothing(tmp_path: Path,
                                                             env: dict[str, str]) -> None:
    a = write(tmp_path / "a.yaml", b"a: one\n")
    b = write(tmp_path / "b.yaml", b"b: [broken\n")
    assert_error(run_encfile("-e", "-i", "--age", TEST_PUBLIC, str(a), str(b), env=env), 2)
    assert a.read_bytes() == b"a: one\n"
    assert b.read_bytes() == b"b: [broken\n"


def test_encrypt_several_files_needs_in_place(tmp_path: Path, env: dict[str, str]) -> None:
    a = write(tmp_path / "a.yaml", b"a: one\n")
    b = write(tmp_path / "b.yaml", b"b: two\n")
    assert_error(run_encfile("-e", "--age", TEST_PUBLIC, str(a), str(b), env=env), 1)  # a usage limit, not bad input
    assert a.read_bytes() == b"a: one\n" and b.read_bytes() == b"b: two\n"


# -- --extract -------------------------------------------------------------------------------------

def test_extract_string_is_raw_without_newline(tmp_path: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    result = run_encfile("-d", "--extract", '["db"]["password"]', str(enc_file), env=env)
    assert_ok(result)
    assert result.stdout == b"hunter2"


def test_extract_map_prints_yaml(tmp_path: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    result = run_encfile("-d", str(enc_file), "--extract", "['db']", env=env)
    assert_ok(result)
    assert result.stdout == b"user: admin\npassword: hunter2\n"


def test_extract_list_index(tmp_path: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env, b"hosts:\n  - alpha\n  - beta\n")
    result = run_encfile("-d", "--extract", '["hosts"][1]', str(enc_file), env=env)
    assert_ok(result)
    assert result.stdout == b"beta"


@pytest.mark.parametrize("path, code", [
    ('["db"]["nope"]', 1),
    ('["nothere"]', 1),
    ('["db"]["password"]["deeper"]', 1),
    ("bad", 91),
    ('["db"', 91),
    ("[db]", 91),
])
def test_extract_errors(path: str, code: int, tmp_path: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    before = enc_file.read_bytes()
    assert_error(run_encfile("-d", "--extract", path, str(enc_file), env=env), code)
    assert enc_file.read_bytes() == before


def test_extract_with_in_place_conflicts(tmp_path: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    before = enc_file.read_bytes()
    assert_error(run_encfile("-d", "-i", "--extract", '["db"]', str(enc_file), env=env), 8)
    assert enc_file.read_bytes() == before


# -- standard input --------------------------------------------------------------------------------

def test_decrypt_from_stdin(tmp_path: Path, env: dict[str, str]) -> None:
    enc = encrypt_bytes(SIMPLE, tmp_path, env)
    result = run_encfile("-d", "--input-type", "yaml", "-", env=env, input=enc)
    assert_ok(result)
    assert result.stdout == SIMPLE


def test_encrypt_from_stdin(tmp_path: Path, env: dict[str, str]) -> None:
    result = run_encfile("-e", "--age", TEST_PUBLIC, "--input-type", "yaml", "-",
                         env=env, input=SIMPLE)
    assert_ok(result)
    assert b"hunter2" not in result.stdout
    dec = run_encfile("-d", "--input-type", "yaml", "-", env=env, input=result.stdout)
    assert_ok(dec)
    assert dec.stdout == SIMPLE


@pytest.mark.parametrize("args", [["-d", "-"], ["-d"]], ids=["dash", "no-file"])
@pytest.mark.parametrize("name, plain", [
    ("s.yaml", SIMPLE), ("s.json", b'{\n  "a": {"b": "x"},\n  "n": 1\n}\n'),
    ("s.env", b"A=1\nB=two\n"), ("s.ini", b"[db]\nuser = x\n"),
    ("s.bin", b"\x00\x01 any bytes \xff\n"), ("s.bin2", b'{"data": "not a sops file"}\n')])
def test_decrypting_stdin_tells_the_format_from_the_text(
        args: list[str], name: str, plain: bytes, tmp_path: Path, env: dict[str, str]) -> None:
    """As the library does: the metadata's place gives the format; sops's {"data", "sops"}
    JSON object is a binary file, as sops reads it."""
    enc = encrypt_bytes(plain, tmp_path, env, name=name)
    result = run_encfile(*args, env=env, input=enc)
    assert_ok(result)
    assert result.stdout == plain


def test_encrypting_stdin_needs_its_format(env: dict[str, str]) -> None:
    """sops's rule (exit 8): plaintext says nothing of its format."""
    stderr = assert_error(run_encfile("-e", "--age", TEST_PUBLIC, env=env, input=SIMPLE), 8)
    assert "--input-type" in stderr and "--filename-override" in stderr
    assert "\nencfile: hint: " in stderr
    result = run_encfile("-e", "--age", TEST_PUBLIC, "--filename-override", "x.yaml", env=env,
                         input=SIMPLE)
    assert_ok(result)
    assert run_encfile("-d", env=env, input=result.stdout).stdout == SIMPLE


@pytest.mark.parametrize("args, why", [
    (["-e", "--age", TEST_PUBLIC, "A", "B"], "only be encrypted with --in-place"),
    (["-e", "-i", "--age", TEST_PUBLIC, "-"], "--in-place needs a file"),
    (["-d", "-i", "-"], "--in-place needs a file"),
    (["-d", "A", "C"], "only YAML files"),
    (["-d", "--output-type", "json", "A", "B"], "only YAML files"),
])
def test_usage_limits_exit_1_with_a_hint(args: list[str], why: str, tmp_path: Path,
                                         env: dict[str, str]) -> None:
    """Not 2 (that is unparsable input): a request that cannot be done this way."""
    files = {"A": encrypted_file(tmp_path, env, name="a.enc.yaml"),
             "B": encrypted_file(tmp_path, env, name="b.enc.yaml"),
             "C": encrypted_file(tmp_path, env, b'{"k": "v"}\n', name="c.enc.json")}
    argv = [str(files[a]) if a in files else a for a in args]
    stderr = assert_error(run_encfile(*argv, env=env, input=b""), 1)
    assert why in stderr and "\nencfile: hint: " in stderr


# -- error exit codes ------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["-d", "-e"])
def test_missing_file(mode: str, tmp_path: Path, env: dict[str, str]) -> None:
    args = [mode, str(tmp_path / "nope.yaml")]
    if mode == "-e":
        args += ["--age", TEST_PUBLIC]
    stderr = assert_error(run_encfile(*args, env=env), 100)
    assert "nope.yaml" in stderr


def test_encrypting_encrypted_file(tmp_path: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    before = enc_file.read_bytes()
    for extra in ([], ["-i"]):
        stderr = assert_error(
            run_encfile("-e", *extra, "--age", TEST_PUBLIC, str(enc_file), env=env), 203)
        assert "already encrypted" in stderr
        assert enc_file.read_bytes() == before


def test_decrypting_plaintext(tmp_path: Path, env: dict[str, str]) -> None:
    src = write(tmp_path / "plain.yaml", SIMPLE)
    for extra in ([], ["-i"]):
        stderr = assert_error(run_encfile("-d", *extra, str(src), env=env), 1)
        assert "not encrypted" in stderr
        assert src.read_bytes() == SIMPLE


def test_wrong_identity(tmp_path: Path, home: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    before = enc_file.read_bytes()
    other_env = clean_env(home, SOPS_AGE_KEY_FILE=str(OTHER_KEY_FILE))
    stderr = assert_error(run_encfile("-d", str(enc_file), env=other_env), 128)
    assert TEST_PUBLIC in stderr  # the file's recipient
    assert "SOPS_AGE_KEY_FILE" in stderr  # the sources tried
    assert str(OTHER_KEY_FILE) in stderr
    assert "keys.txt" in stderr
    assert "AGE-SECRET-KEY" not in stderr
    assert TEST_SECRET not in stderr and OTHER_SECRET not in stderr
    assert enc_file.read_bytes() == before


def test_wrong_identity_from_variable_does_not_leak_it(tmp_path: Path, home: Path,
                                                       env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    stderr = assert_error(
        run_encfile("-d", str(enc_file), env=clean_env(home, SOPS_AGE_KEY=OTHER_SECRET)), 128)
    assert "SOPS_AGE_KEY" in stderr
    assert "AGE-SECRET-KEY" not in stderr


def test_no_identity_source(tmp_path: Path, home: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    before = enc_file.read_bytes()
    stderr = assert_error(run_encfile("-d", str(enc_file), env=clean_env(home)), 128)
    assert TEST_PUBLIC in stderr
    assert "\nencfile: hint: " in stderr
    assert enc_file.read_bytes() == before


def test_in_place_decrypt_with_wrong_identity_leaves_file(tmp_path: Path, home: Path,
                                                          env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    before = enc_file.read_bytes()
    other_env = clean_env(home, SOPS_AGE_KEY_FILE=str(OTHER_KEY_FILE))
    assert_error(run_encfile("-d", "-i", str(enc_file), env=other_env), 128)
    assert enc_file.read_bytes() == before


@pytest.mark.parametrize("data", [
    b"key: [unclosed\n",
    b"a: 1\n  b: 2\n- c\n",
    b"key: \"unterminated\n",
    b"",
    b"   \n\n",
    b"key: caf\xe9\n",
    b"a: \xc3\x28\n",
    b"\xfe\xff" + "a: 1\n".encode("utf-16-be"),
    b"\xff\xfe" + "a: 1\n".encode("utf-16-le"),
], ids=["unclosed-flow", "bad-indent", "unterminated-quote", "empty", "blank-lines",
        "latin1", "bad-utf8-sequence", "utf16-be-bom", "utf16-le-bom"])
def test_unreadable_input_to_encrypt(data: bytes, tmp_path: Path, env: dict[str, str]) -> None:
    src = write(tmp_path / "bad.yaml", data)
    assert_error(run_encfile("-e", "--age", TEST_PUBLIC, str(src), env=env), 2)
    assert src.read_bytes() == data
    # in place too: the file must not be touched
    assert_error(run_encfile("-e", "-i", "--age", TEST_PUBLIC, str(src), env=env), 2)
    assert src.read_bytes() == data


def test_top_level_scalar_is_accepted(tmp_path: Path, env: dict[str, str]) -> None:
    data = b"just a string\n"
    enc = encrypt_bytes(data, tmp_path, env)
    assert b"just a string" not in enc
    enc_file = write(tmp_path / "scalar.enc.yaml", enc)
    dec = run_encfile("-d", str(enc_file), env=env)
    assert_ok(dec)
    assert dec.stdout == data


def test_garbage_encrypted_file(tmp_path: Path, env: dict[str, str]) -> None:
    bad = write(tmp_path / "bad.enc.yaml", b"a: [\n")
    assert_error(run_encfile("-d", str(bad), env=env), 2)
    assert bad.read_bytes() == b"a: [\n"


def test_no_arguments_prints_help(env: dict[str, str]) -> None:
    result = run_encfile(env=env)
    assert result.returncode == 0 and result.stderr == b""
    assert b"encrypt" in result.stdout and b"decrypt" in result.stdout


@pytest.mark.parametrize("args", [["--bogus"], ["-d", "--bogus", "x.yaml"],
                                  ["encrypt", "--nope"], ["keygen", "--frob"]])
def test_unknown_option(args: list[str], env: dict[str, str]) -> None:
    stderr = assert_error(run_encfile(*args, env=env), 1)
    assert "--" in stderr


def test_unknown_command(env: dict[str, str]) -> None:
    assert_error(run_encfile("frobnicate", env=env), 1)


@pytest.mark.parametrize("args", [["-e", "-d"], ["-d", "--encrypt"], ["--decrypt", "-e"]])
def test_encrypt_and_decrypt_together(args: list[str], tmp_path: Path,
                                      env: dict[str, str]) -> None:
    src = write(tmp_path / "s.yaml", SIMPLE)
    stderr = assert_error(run_encfile(*args, "--age", TEST_PUBLIC, str(src), env=env), 8)
    assert "-e" in stderr and "-d" in stderr
    assert src.read_bytes() == SIMPLE


def test_output_type_converts_the_data(tmp_path: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    result = run_encfile("-d", "--output-type", "json", str(enc_file), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (b'{\n\t"db": {\n\t\t"user": "admin",\n\t\t"password": "hunter2"\n'
                             b'\t},\n\t"port": 5432\n}\n')


@pytest.mark.parametrize(("target", "message", "code"), [
    ("dotenv", "nested value at 'db'", 4), ("ini", "'port' is not a section", 4),
    ("binary", "single 'data' string", 4),  # sops: 4, the data cannot be written so
    ("toml", "unknown format", 2)])
def test_output_type_that_cannot_hold_the_data(tmp_path: Path, env: dict[str, str],
                                               target: str, message: str, code: int) -> None:
    enc_file = encrypted_file(tmp_path, env)
    before = enc_file.read_bytes()
    stderr = assert_error(run_encfile("-d", "--output-type", target, str(enc_file), env=env),
                          code)
    assert message in stderr
    assert enc_file.read_bytes() == before


def test_malformed_recipient(tmp_path: Path, env: dict[str, str]) -> None:
    src = write(tmp_path / "s.yaml", SIMPLE)
    assert_error(run_encfile("-e", "--age", "age1notakey", str(src), env=env), 1)
    assert src.read_bytes() == SIMPLE


def test_output_not_writable(tmp_path: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    out = tmp_path / "no-such-dir" / "out.yaml"
    assert_error(run_encfile("-d", str(enc_file), "-o", str(out), env=env), 3)
    assert not out.exists()


# -- keygen ----------------------------------------------------------------------------------------

IDENTITY_BLOCK = re.compile(
    r"# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n"
    r"# public key: (age1[02-9ac-hj-np-z]{58})\n"
    r"(AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58})\n")


def test_keygen_to_stdout(env: dict[str, str]) -> None:
    result = run_encfile("keygen", env=env)
    assert_ok(result)
    match = IDENTITY_BLOCK.fullmatch(result.stdout.decode())
    assert match, result.stdout
    assert result.stderr == f"Public key: {match.group(1)}\n".encode()


def test_keygen_to_terminal_prints_no_public_key_line(env: dict[str, str]) -> None:
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "encfile", "keygen"], stdout=follower,
                              stderr=subprocess.PIPE, env=env, timeout=120)
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    assert proc.stderr == b""
    shown = b"".join(chunks).replace(b"\r\n", b"\n").decode()
    assert IDENTITY_BLOCK.fullmatch(shown), shown


def test_keygen_output_file(tmp_path: Path, env: dict[str, str]) -> None:
    key_file = tmp_path / "keys.txt"
    result = run_encfile("keygen", "-o", str(key_file), env=env)
    assert_ok(result)
    assert result.stdout == b""
    match = IDENTITY_BLOCK.fullmatch(key_file.read_text())
    assert match
    assert result.stderr == f"Public key: {match.group(1)}\n".encode()
    assert mode_of(key_file) == 0o600


def test_keygen_appends_never_truncates(tmp_path: Path, env: dict[str, str]) -> None:
    key_file = tmp_path / "keys.txt"
    assert_ok(run_encfile("keygen", "-o", str(key_file), env=env))
    first = key_file.read_bytes()
    assert_ok(run_encfile("keygen", "-o", str(key_file), env=env))
    both = key_file.read_bytes()
    assert both.startswith(first)
    blocks = IDENTITY_BLOCK.findall(both.decode())
    assert len(blocks) == 2
    assert blocks[0][0] != blocks[1][0]
    assert mode_of(key_file) == 0o600


def test_keygen_keeps_existing_content(tmp_path: Path, env: dict[str, str]) -> None:
    key_file = write(tmp_path / "keys.txt", KEY_FILE.read_bytes(), mode=0o600)
    existing = key_file.read_bytes()
    assert_ok(run_encfile("keygen", "-o", str(key_file), env=env))
    data = key_file.read_bytes()
    assert data.startswith(existing)
    assert len(IDENTITY_BLOCK.findall(data.decode())) == 2


def test_keygen_creates_missing_folders(tmp_path: Path, env: dict[str, str]) -> None:
    key_file = tmp_path / "cfg" / "sops" / "age" / "keys.txt"
    assert_ok(run_encfile("keygen", "-o", str(key_file), env=env))
    assert IDENTITY_BLOCK.fullmatch(key_file.read_text())
    assert mode_of(key_file) == 0o600


def test_keygen_identity_round_trip(tmp_path: Path, home: Path, env: dict[str, str]) -> None:
    key_file = tmp_path / "new-keys.txt"
    result = run_encfile("keygen", "-o", str(key_file), env=env)
    assert_ok(result)
    public = result.stderr.decode().split("Public key: ")[1].strip()
    enc_file = encrypted_file(tmp_path, env, recipients=public)
    dec = run_encfile("-d", str(enc_file), env=clean_env(home, SOPS_AGE_KEY_FILE=str(key_file)))
    assert_ok(dec)
    assert dec.stdout == SIMPLE


# -- version and help ------------------------------------------------------------------------------

def test_version(env: dict[str, str]) -> None:
    from encfile._version import DISTRIBUTION, SOPS_VERSION, __version__

    result = run_encfile("--version", env=env)
    assert_ok(result)
    # the distribution's name tells this encfile from PyPI's unrelated 'encfile' program
    assert result.stdout == \
        f"encfile {__version__} ({DISTRIBUTION}, follows sops {SOPS_VERSION})\n".encode()


def test_version_under_the_name_sops(tmp_path: Path, env: dict[str, str]) -> None:
    """A symlink named sops (the drop-in install): tools such as community.sops match
    '^sops X.Y.Z' and fall back to old command forms otherwise."""
    import shutil

    from encfile._version import SOPS_VERSION, __version__

    script = shutil.which("encfile")
    if script is None:
        pytest.skip("the encfile console script is not on PATH")
    link = tmp_path / "bin" / "sops"
    link.parent.mkdir()
    link.symlink_to(script)
    for args in (["--version"], ["--version", "--disable-version-check"]):
        result = subprocess.run([str(link), *args], capture_output=True, env=env, timeout=60)
        assert_ok(result)
        assert result.stdout == f"sops {SOPS_VERSION} (encfile {__version__})\n".encode()
        assert re.match(rb"^sops ([0-9]+)\.([0-9]+)\.([0-9]+)", result.stdout)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(flag: str, env: dict[str, str]) -> None:
    result = run_encfile(flag, env=env)
    assert_ok(result)
    out = result.stdout.decode()
    assert "128" in out and "203" in out
    assert "encrypt" in out and "decrypt" in out and "keygen" in out


@pytest.mark.parametrize("command", ["encrypt", "decrypt", "keygen"])
def test_subcommand_help(command: str, env: dict[str, str]) -> None:
    result = run_encfile(command, "--help", env=env)
    assert_ok(result)
    assert b"--output" in result.stdout


# -- identity sources ------------------------------------------------------------------------------

def _source_env(source: str, home: Path, tmp_path: Path) -> dict[str, str]:
    config = home / ".config"
    if source == "SOPS_AGE_KEY":
        return clean_env(home, SOPS_AGE_KEY=KEY_FILE.read_text())
    if source == "ENCFILE_AGE_KEY":
        return clean_env(home, ENCFILE_AGE_KEY=TEST_SECRET)
    if source in ("SOPS_AGE_KEY_FILE", "ENCFILE_AGE_KEY_FILE"):
        return clean_env(home, **{source: str(KEY_FILE)})
    if source in ("SOPS_AGE_KEY_CMD", "ENCFILE_AGE_KEY_CMD"):
        return clean_env(home, **{source: f"cat {shlex.quote(str(KEY_FILE))}"})
    if source in ("sops-default", "encfile-default"):
        folder = config / ("sops/age" if source == "sops-default" else "encfile")
        folder.mkdir(parents=True)
        write(folder / "keys.txt", KEY_FILE.read_bytes(), mode=0o600)
        return clean_env(home)
    if source == "home-default":  # no XDG_CONFIG_HOME: ~/.config/sops/age/keys.txt
        folder = home / ".config" / "sops" / "age"
        folder.mkdir(parents=True)
        write(folder / "keys.txt", KEY_FILE.read_bytes(), mode=0o600)
        env = clean_env(home)
        del env["XDG_CONFIG_HOME"]
        return env
    raise AssertionError(source)


@pytest.mark.parametrize("source", [
    "SOPS_AGE_KEY", "ENCFILE_AGE_KEY", "SOPS_AGE_KEY_FILE", "ENCFILE_AGE_KEY_FILE",
    "SOPS_AGE_KEY_CMD", "ENCFILE_AGE_KEY_CMD", "sops-default", "encfile-default",
    "home-default",
])
def test_identity_source_on_its_own(source: str, tmp_path: Path, home: Path,
                                    env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    dec = run_encfile("-d", str(enc_file), env=_source_env(source, home, tmp_path))
    assert_ok(dec)
    assert dec.stdout == SIMPLE


def test_identity_sources_are_combined(tmp_path: Path, home: Path, env: dict[str, str]) -> None:
    only_other = encrypted_file(tmp_path, env, name="other.enc.yaml", recipients=OTHER_PUBLIC)
    only_test = encrypted_file(tmp_path, env, name="test.enc.yaml", recipients=TEST_PUBLIC)
    both = clean_env(home, SOPS_AGE_KEY=OTHER_SECRET, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    for enc_file in (only_other, only_test):
        dec = run_encfile("-d", str(enc_file), env=both)
        assert_ok(dec)
        assert dec.stdout == SIMPLE
    # and in one call: two files, each for a different key
    dec = run_encfile("-d", str(only_other), str(only_test), env=both)
    assert_ok(dec)
    assert dec.stdout == SIMPLE + b"---\n" + SIMPLE


def test_key_cmd_combined_with_key_file(tmp_path: Path, home: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env, recipients=OTHER_PUBLIC)
    both = clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE),
                     SOPS_AGE_KEY_CMD=f"cat {shlex.quote(str(OTHER_KEY_FILE))}")
    dec = run_encfile("-d", str(enc_file), env=both)
    assert_ok(dec)
    assert dec.stdout == SIMPLE


def test_failing_key_cmd_is_reported(tmp_path: Path, home: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    stderr = assert_error(run_encfile("-d", str(enc_file),
                                      env=clean_env(home, SOPS_AGE_KEY_CMD="false")), 128)
    assert "SOPS_AGE_KEY_CMD" in stderr


def test_missing_key_file_is_reported(tmp_path: Path, home: Path, env: dict[str, str]) -> None:
    enc_file = encrypted_file(tmp_path, env)
    missing = tmp_path / "no-keys.txt"
    stderr = assert_error(run_encfile("-d", str(enc_file),
                                      env=clean_env(home, SOPS_AGE_KEY_FILE=str(missing))), 128)
    assert str(missing) in stderr


# -- pipes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("when", ["before-output", "after-first-byte"])
def test_broken_pipe_has_no_traceback(when: str, tmp_path: Path, env: dict[str, str]) -> None:
    """Like `encfile -d big.enc.yaml | head -c 1`: the reader goes away early."""
    big = b"".join(b"key%05d: %s\n" % (i, b"v" * 200) for i in range(2000))  # ~420 KB
    enc_file = encrypted_file(tmp_path, env, big)
    proc = subprocess.Popen([sys.executable, "-m", "encfile", "-d", str(enc_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    if when == "after-first-byte":
        assert proc.stdout.read(1) == b"k"
    proc.stdout.close()
    stderr = proc.stderr.read()
    proc.wait(timeout=120)
    assert b"Traceback" not in stderr
    assert b"Exception ignored" not in stderr
    assert proc.returncode in (0, 1)  # not killed by a signal, not a crash


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_output_onto_a_symlink_or_fifo_needs_force(tmp_path: Path, env: dict[str, str],
                                                   kind: str) -> None:
    enc = tmp_path / "s.enc.yaml"
    enc.write_text(encfile.encrypt("password: hunter2\n", recipients=TEST_PUBLIC,
                                   format="yaml"))
    target = tmp_path / "elsewhere.yaml"
    out = tmp_path / "out.yaml"
    if kind == "symlink":
        target.write_text("untouched\n")
        out.symlink_to(target)
    else:
        os.mkfifo(out)
    result = run_encfile("-d", str(enc), "-o", str(out), env=env)
    assert_cli_error(result, 3)
    assert f"refusing to write to '{out}': it is a {kind.replace('fifo', 'FIFO')}" in \
        result.stderr.decode()
    if kind == "symlink":
        assert target.read_text() == "untouched\n" and out.is_symlink()
        forced = run_encfile("-d", str(enc), "-o", str(out), "--force", env=env)
        assert forced.returncode == 0, forced.stderr
        assert out.is_symlink() and target.read_text() == "password: hunter2\n"
    else:
        reader = subprocess.Popen(["cat", str(out)], stdout=subprocess.PIPE)
        forced = run_encfile("-d", str(enc), "-o", str(out), "--force", env=env)
        assert forced.returncode == 0, forced.stderr
        assert reader.communicate(timeout=30)[0] == b"password: hunter2\n"
        assert stat.S_ISFIFO(out.lstat().st_mode)


def test_a_killed_writers_temp_file_is_swept_by_the_next_write(tmp_path: Path,
                                                              env: dict[str, str]) -> None:
    target = tmp_path / "out.yaml"
    enc = tmp_path / "s.enc.yaml"
    enc.write_text(encfile.encrypt("password: hunter2\n", recipients=TEST_PUBLIC,
                                   format="yaml"))
    gone = subprocess.Popen(["true"])  # its pid belongs to nobody once it has exited
    gone.wait()
    stale = tmp_path / f".out.yaml.{gone.pid}.abc123.tmp"
    live = tmp_path / f".out.yaml.{os.getpid()}.def456.tmp"  # this process is alive
    for temp in (stale, live):
        temp.write_text("password: hunter2\n")
    result = run_encfile("-d", str(enc), "-o", str(target), env=env)
    assert result.returncode == 0, result.stderr
    assert not stale.exists() and live.exists()
    assert target.read_text() == "password: hunter2\n"


def test_filename_override_picks_the_rule_and_the_format(tmp_path: Path,
                                                        env: dict[str, str]) -> None:
    (tmp_path / ".encfile.yaml").write_text(
        f"creation_rules:\n  - path_regex: \\.enc\\.json$\n    encrypted_regex: ^password$\n"
        f"    age: {TEST_PUBLIC}\n")
    (tmp_path / "plain.txt").write_text('{"user": "app", "password": "hunter2"}\n')
    refused = run_encfile("-e", "plain.txt", env=env, cwd=tmp_path)
    assert refused.returncode == 1  # no rule matches plain.txt
    result = run_encfile("-e", "--filename-override", "app.enc.json", "plain.txt", "-o",
                         "app.enc.json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "app.enc.json").read_text()
    assert '"user": "app"' in text and "hunter2" not in text and '"sops":{' in text
    back = run_encfile("-d", "--filename-override", "x.json", "-", env=env, cwd=tmp_path,
                       input=text.encode())
    assert back.returncode == 0 and back.stdout == b'{"user": "app", "password": "hunter2"}\n'
