"""Vault transit keys (``hc_vault``) against a real OpenBao server, with sops as the oracle.

Everything runs the CLI in a subprocess, the way a user does, against the session's
OpenBao dev server (``servers.openbao``, reset for each test), with a private HOME.
Covered: the URI forms and the metadata entry; the token from ``VAULT_TOKEN`` or
``~/.vault-token``; the address from the file; namespaces; TLS with ``VAULT_CACERT``;
creation rules and key groups mixing Vault with age (Shamir included); rotate,
updatekeys and the decryption order; every failure (no token, 403, key or mount not
found, 500, a slow server) as exit 128 with one reason per key, compared with sops's
exit code; and the three Level-3 promises: access policy, audit, offboarding.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY_FILE, TEST_PUBLIC, load_docs, ok, run_encfile
from servers import (  # noqa: F401 (fixtures: openbao, openbao_tls, canned)
    OpenBao,
    base_env,
    canned_fixture,
    openbao_fixture,
    openbao_server_fixture,
    openbao_tls_fixture,
)

from encfile import keysources
from encfile.errors import InputError, RecipientError
from encfile.keysources import hcvault
from encfile.keysources.identities import KeyRing

pytestmark = pytest.mark.sops  # sops is the oracle throughout

PLAIN = "db:\n  user: admin\n  password: hunter2 # the secret\nport: 5432\n"
SECRET_WORD = "hunter2"


def encfile(*args: str, env: dict[str, str], cwd: Path | None = None
            ) -> subprocess.CompletedProcess[bytes]:
    return run_encfile(*args, env=env, cwd=cwd)


def sops(sops_bin: str, *args: str, env: dict[str, str], cwd: Path | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sops_bin, *args], capture_output=True, env=env, cwd=cwd,
                          timeout=timeout)


def plain_file(folder: Path, name: str = "app.yaml", text: str = PLAIN) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def encrypted(bao: OpenBao, tmp_path: Path, *uris: str, name: str = "app.enc.yaml") -> Path:
    """A file encrypted by encfile for these transit keys (root token)."""
    src = plain_file(tmp_path, "plain-" + name)
    out = tmp_path / name
    out.write_bytes(ok(encfile("-e", "--hc-vault-transit", ",".join(uris), str(src),
                               env=bao.env(tmp_path / "home"))))
    return out


def vault_entries(path: Path) -> list[dict[str, Any]]:
    meta = load_docs(path.read_text())[0]["sops"]
    groups = meta.get("key_groups") or [meta]
    return [entry for group in groups for entry in group.get("hc_vault") or []]


def decrypts(bao: OpenBao, mark: int, key: str = "dev") -> list[dict[str, Any]]:
    return [e for e in bao.audit_since(mark)
            if e.get("request", {}).get("path") == f"transit/decrypt/{key}"]


# -- the key and its entry ---------------------------------------------------------------------

def test_uris_parse_as_sops_parses_them() -> None:
    (key,) = keysources.from_config("hc_vault", "https://vault.example.com:8200/v1/transit/"
                                                "keys/app")
    assert isinstance(key, hcvault.Key)
    assert (key.vault_address, key.engine_path, key.key_name) == (
        "https://vault.example.com:8200", "transit", "app")
    assert key.id == "https://vault.example.com:8200/v1/transit/keys/app"
    nested = keysources.from_config("hc_vault", ["http://h:1/v1/team/transit/keys/k/",
                                                 "http://h:2/v1/t/keys/a , http://h:3/v1/t/keys/b"])
    assert [(k.vault_address, k.engine_path, k.key_name) for k in nested] == [  # type: ignore[attr-defined]
        ("http://h:1", "team/transit", "k"), ("http://h:2", "t", "a"), ("http://h:3", "t", "b")]
    for bad in ("vault.example.com/v1/transit/keys/app", "https://h/transit/keys/app",
                "https://h/prefix/v1/transit/keys/app", "https://h/v1/transit"):
        with pytest.raises(RecipientError, match="invalid Vault transit key URI"):
            keysources.from_config("hc_vault", bad)
    with pytest.raises(RecipientError):
        keysources.from_config("hc_vault", [{"uri": "x"}])
    with pytest.raises(InputError, match="'engine_path', 'enc'"):
        keysources.from_metadata("hc_vault", {"vault_address": "http://h", "key_name": "k"})


def test_the_cheap_pass_never_calls_the_server() -> None:
    # the address is a port nothing listens on: a call would leave a reason in tried
    key = hcvault.Key("http://127.0.0.1:9", "transit", "k", "2024-01-01T00:00:00Z",
                      "vault:v1:abc")
    ring = KeyRing(env={"VAULT_TOKEN": "t", "HOME": "/nonexistent"})
    assert key.unwrap(ring, cheap=True) is None
    assert ring.tried == []


def test_encrypt_with_the_flag_and_the_variable(openbao: OpenBao, tmp_path: Path,
                                                sops_bin: str) -> None:
    uri = openbao.create_key("dev")
    env = openbao.env(tmp_path / "home")
    src = plain_file(tmp_path)
    by_flag = ok(encfile("-e", "--hc-vault-transit", uri, str(src), env=env)).decode()
    by_var = ok(encfile("-e", str(src), env={**env, "SOPS_VAULT_URIS": uri})).decode()
    for text in (by_flag, by_var):
        (entry,) = load_docs(text)[0]["sops"]["hc_vault"]
        assert list(entry) == ["vault_address", "engine_path", "key_name", "created_at",
                               "enc"]
        assert entry["vault_address"] == openbao.address
        assert (entry["engine_path"], entry["key_name"]) == ("transit", "dev")
        assert entry["created_at"].endswith("Z") and len(entry["created_at"]) == 20
        # enc is the transit ciphertext itself: the server opens it to a 32-byte key
        assert entry["enc"].startswith("vault:v1:")
        assert len(openbao.decrypt("dev", entry["enc"])) == 32
        out = tmp_path / "out.enc.yaml"
        out.write_text(text)
        assert ok(encfile("-d", str(out), env=env)).decode() == PLAIN
        assert load_docs(ok(sops(sops_bin, "-d", str(out), env=env)).decode()) == \
            load_docs(PLAIN)


def test_the_token_comes_from_vault_token_else_the_token_file(openbao: OpenBao,
                                                              tmp_path: Path) -> None:
    openbao.create_key("dev")
    path = encrypted(openbao, tmp_path, openbao.uri("dev"))
    home = tmp_path / "home"
    (home / ".vault-token").write_text(openbao.ROOT + "\n")
    assert ok(encfile("-d", str(path), env=openbao.env(home, token=None))).decode() == PLAIN
    # VAULT_TOKEN wins over the file (here the file's token is bad)
    (home / ".vault-token").write_text("not-a-token\n")
    assert ok(encfile("-d", str(path), env=openbao.env(home))).decode() == PLAIN
    failed = encfile("-d", str(path), env=openbao.env(home, token=None))
    assert failed.returncode == 128
    assert b"the token was refused" in failed.stderr and b"not-a-token" not in failed.stderr


def test_the_address_comes_from_the_file_not_vault_addr(openbao: OpenBao,
                                                         tmp_path: Path) -> None:
    openbao.create_key("dev")
    path = encrypted(openbao, tmp_path, openbao.uri("dev"))
    env = openbao.env(tmp_path / "home", VAULT_ADDR="http://127.0.0.1:9")
    assert ok(encfile("-d", str(path), env=env)).decode() == PLAIN


def test_vault_namespace_sets_the_namespace(openbao: OpenBao, tmp_path: Path,
                                            sops_bin: str) -> None:
    ns = f"team{time.monotonic_ns()}"  # namespaces are deleted in the background
    openbao.call("POST", f"sys/namespaces/{ns}", {})
    openbao.call("POST", "sys/mounts/transit", {"type": "transit"}, namespace=ns)
    openbao.create_key("app", namespace=ns)
    src = plain_file(tmp_path)
    env = openbao.env(tmp_path / "home", VAULT_NAMESPACE=ns)
    path = tmp_path / "ns.enc.yaml"
    path.write_bytes(ok(encfile("-e", "--hc-vault-transit", openbao.uri("app"), str(src),
                                env=env)))
    assert ok(encfile("-d", str(path), env=env)).decode() == PLAIN
    assert load_docs(ok(sops(sops_bin, "-d", str(path), env=env)).decode()) == \
        load_docs(PLAIN)
    outside = encfile("-d", str(path), env=openbao.env(tmp_path / "home"))
    assert outside.returncode == 128 and b"key not found" in outside.stderr


def test_tls_is_verified_against_vault_cacert(openbao_tls: OpenBao, tmp_path: Path,
                                              sops_bin: str) -> None:
    name = f"k{time.monotonic_ns()}"
    uri = openbao_tls.create_key(name)
    assert uri.startswith("https://127.0.0.1:")
    src = plain_file(tmp_path)
    trusted = openbao_tls.env(tmp_path / "home")
    untrusted = {k: v for k, v in trusted.items() if k != "VAULT_CACERT"}
    refused = encfile("-e", "--hc-vault-transit", uri, str(src), env=untrusted)
    assert refused.returncode == 1
    assert b"is not trusted" in refused.stderr and b"VAULT_CACERT" in refused.stderr
    path = tmp_path / "tls.enc.yaml"
    path.write_bytes(ok(encfile("-e", "--hc-vault-transit", uri, str(src), env=trusted)))
    assert ok(encfile("-d", str(path), env=trusted)).decode() == PLAIN
    assert load_docs(ok(sops(sops_bin, "-d", str(path), env=trusted)).decode()) == \
        load_docs(PLAIN)
    skip = encfile("-d", str(path), env={**untrusted, "VAULT_SKIP_VERIFY": "1"})
    assert skip.returncode == 128
    assert b"VAULT_SKIP_VERIFY is not honoured" in skip.stderr


# -- rules, groups, rotate, updatekeys, decryption order ------------------------------------------

def _config(folder: Path, text: str) -> None:
    (folder / ".sops.yaml").write_text(text)


def test_a_rule_with_hc_vault_transit_uri(openbao: OpenBao, tmp_path: Path,
                                          sops_bin: str) -> None:
    uri = openbao.create_key("dev")
    _config(tmp_path, f"creation_rules:\n  - path_regex: .*\n    hc_vault_transit_uri: {uri}\n")
    src = plain_file(tmp_path, "app.yaml")
    env = openbao.env(tmp_path / "home")
    ours = ok(encfile("-e", str(src), env=env, cwd=tmp_path))
    theirs = ok(sops(sops_bin, "-e", str(src), env=env, cwd=tmp_path))
    for text in (ours, theirs):
        (entry,) = load_docs(text.decode())[0]["sops"]["hc_vault"]
        assert entry["vault_address"] == openbao.address and entry["key_name"] == "dev"


def test_age_and_vault_in_one_group_and_shamir_across_groups(openbao: OpenBao,
                                                              tmp_path: Path,
                                                              sops_bin: str) -> None:
    uri = openbao.create_key("dev")
    _config(tmp_path, f"""creation_rules:
  - path_regex: one/
    key_groups:
      - age: [{TEST_PUBLIC}]
        hc_vault: [{uri}]
  - path_regex: two/
    shamir_threshold: 2
    key_groups:
      - hc_vault: [{uri}]
      - age: [{TEST_PUBLIC}]
""")
    home = tmp_path / "home"
    both = openbao.env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    age_only = openbao.env(home, token=None, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    vault_only = openbao.env(home)
    one = tmp_path / "one" / "app.enc.yaml"
    two = tmp_path / "two" / "app.enc.yaml"
    for path in (one, two):
        src = plain_file(path.parent, "app.yaml")
        path.write_bytes(ok(encfile("-e", str(src), env=both, cwd=tmp_path)))
    meta = load_docs(one.read_text())[0]["sops"]
    assert [len(meta["age"]), len(meta["hc_vault"])] == [1, 1]
    meta = load_docs(two.read_text())[0]["sops"]
    assert meta["shamir_threshold"] == 2 and len(meta["key_groups"]) == 2

    mark = openbao.audit_mark()
    assert ok(encfile("-d", str(one), env=both)).decode() == PLAIN
    assert decrypts(openbao, mark) == [], "an age identity opens it: no call to Vault"
    assert ok(encfile("-d", str(one), env=vault_only)).decode() == PLAIN
    assert ok(encfile("-d", str(two), env=both)).decode() == PLAIN
    half = encfile("-d", str(two), env=age_only)
    assert half.returncode == 128
    assert b"only 1 of the 2 key groups" in half.stderr and b"no Vault token" in half.stderr
    for path in (one, two):  # sops reads both, and fails on the same half
        assert load_docs(ok(sops(sops_bin, "-d", str(path), env=both)).decode()) == \
            load_docs(PLAIN)
    assert sops(sops_bin, "-d", str(two), env=age_only).returncode == 128


def test_rotate_add_and_remove_a_vault_key(openbao: OpenBao, tmp_path: Path,
                                           sops_bin: str) -> None:
    uri = openbao.create_key("dev")
    home = tmp_path / "home"
    age_env = openbao.env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    src = plain_file(tmp_path)
    path = tmp_path / "app.enc.yaml"
    path.write_bytes(ok(encfile("-e", "--age", TEST_PUBLIC, str(src), env=age_env)))
    ok(encfile("rotate", "-i", "--add-hc-vault-transit", uri, str(path), env=age_env))
    assert [e["key_name"] for e in vault_entries(path)] == ["dev"]
    vault_only = openbao.env(home)
    assert ok(encfile("-d", str(path), env=vault_only)).decode() == PLAIN
    assert load_docs(ok(sops(sops_bin, "-d", str(path), env=vault_only)).decode()) == \
        load_docs(PLAIN)
    ok(encfile("rotate", "-i", "--rm-hc-vault-transit", uri, str(path), env=age_env))
    assert vault_entries(path) == []
    assert encfile("-d", str(path), env=vault_only).returncode == 128


def test_updatekeys_moves_a_file_from_age_to_vault(openbao: OpenBao, tmp_path: Path,
                                                   sops_bin: str) -> None:
    uri = openbao.create_key("dev")
    home = tmp_path / "home"
    age_env = openbao.env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    _config(tmp_path, f"creation_rules:\n  - path_regex: .*\n    age: {TEST_PUBLIC}\n")
    src = plain_file(tmp_path, "app.yaml")
    path = tmp_path / "app.enc.yaml"
    path.write_bytes(ok(encfile("-e", str(src), env=age_env, cwd=tmp_path)))
    before = load_docs(path.read_text())[0]
    _config(tmp_path, "creation_rules:\n  - path_regex: .*\n"
                      f"    age: {TEST_PUBLIC}\n    hc_vault_transit_uri: {uri}\n")
    ok(encfile("updatekeys", "-y", str(path), env=age_env, cwd=tmp_path))
    after = load_docs(path.read_text())[0]
    assert [e["key_name"] for e in vault_entries(path)] == ["dev"]
    assert after["db"] == before["db"], "adding a key keeps every ciphertext"
    vault_only = openbao.env(home)
    assert ok(encfile("-d", str(path), env=vault_only)).decode() == PLAIN
    assert load_docs(ok(sops(sops_bin, "-d", str(path), env=vault_only)).decode()) == \
        load_docs(PLAIN)
    # the last step of a migration: the age key leaves, the file rotates
    _config(tmp_path, f"creation_rules:\n  - path_regex: .*\n    hc_vault_transit_uri: {uri}\n")
    ok(encfile("updatekeys", "-y", str(path), env=vault_only, cwd=tmp_path))
    meta = load_docs(path.read_text())[0]["sops"]
    assert "age" not in meta and len(meta["hc_vault"]) == 1
    assert encfile("-d", str(path), env=openbao.env(home, token=None, SOPS_AGE_KEY_FILE=str(
        KEY_FILE))).returncode == 128
    assert ok(encfile("-d", str(path), env=vault_only)).decode() == PLAIN


def test_the_decryption_order_decides_who_is_asked_first(openbao: OpenBao,
                                                          tmp_path: Path) -> None:
    uri = openbao.create_key("dev")
    env = openbao.env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(KEY_FILE))
    src = plain_file(tmp_path)
    path = tmp_path / "app.enc.yaml"
    path.write_bytes(ok(encfile("-e", "--age", TEST_PUBLIC, "--hc-vault-transit", uri,
                                str(src), env=env)))
    for args, extra, calls in ((("-d",), {}, 0),
                               (("-d", "--decryption-order", "hc_vault,age"), {}, 1),
                               (("-d",), {"SOPS_DECRYPTION_ORDER": "hc_vault"}, 1),
                               (("-d", "--decryption-order", "age,hc_vault"), {}, 0)):
        mark = openbao.audit_mark()
        assert ok(encfile(*args, str(path), env={**env, **extra})).decode() == PLAIN
        assert len([e for e in decrypts(openbao, mark) if e["type"] == "request"]) == calls, \
            (args, extra)


# -- failures: exit 128, one reason per key, sops agrees ------------------------------------------

def _pointed_at(path: Path, address: str, out: Path) -> Path:
    """The file with its Vault key at another address (the metadata is outside the MAC)."""
    text = path.read_text()
    entries = vault_entries(path)
    out.write_text(text.replace(f"vault_address: {entries[0]['vault_address']}",
                                f"vault_address: {address}"))
    return out


@pytest.mark.parametrize("case", ["no token", "403", "key not found", "no such mount",
                                  "500", "slow"])
def test_failures_exit_128_with_one_reason(case: str, openbao: OpenBao, canned: Any,
                                           tmp_path: Path, sops_bin: str) -> None:
    openbao.create_key("dev")
    good = encrypted(openbao, tmp_path, openbao.uri("dev"))
    home = tmp_path / "home"
    token: str | None = openbao.ROOT
    path = good
    expect = ""
    if case == "no token":
        token, expect = None, "no Vault token: set VAULT_TOKEN"
    elif case == "403":
        openbao.policy("other", 'path "transit/decrypt/other" { capabilities = ["update"] }')
        token = openbao.token("other", display_name="ci")
        expect = ("permission denied (HTTP 403) on transit/decrypt/dev: the policies of token "
                  "'token-ci' (default, other) do not allow 'update' on transit/decrypt/dev")
    elif case == "key not found":
        path = tmp_path / "gone.enc.yaml"
        path.write_text(good.read_text().replace("key_name: dev", "key_name: gone"))
        expect = "key not found: the transit engine at 'transit' has no key 'gone'"
    elif case == "no such mount":
        path = tmp_path / "nomount.enc.yaml"
        path.write_text(good.read_text().replace("engine_path: transit", "engine_path: nope"))
        expect = "not found (HTTP 404): no nope/decrypt/dev on the server"
    elif case == "500":
        server = canned(500, '{"errors":["internal error"]}')
        path = _pointed_at(good, server.address, tmp_path / "500.enc.yaml")
        expect = "the server refused transit/decrypt/dev (HTTP 500): internal error"
    else:
        server = canned(200, '{"data":{"plaintext":"AAAA"}}', delay=30)
        path = _pointed_at(good, server.address, tmp_path / "slow.enc.yaml")
        expect = f"no answer from 127.0.0.1:{server.port} within 2 s (ENCFILE_KEY_SERVICE_TIMEOUT)"
    env = openbao.env(home, token=token, ENCFILE_KEY_SERVICE_TIMEOUT="2")
    started = time.monotonic()
    failed = encfile("-d", str(path), env=env)
    took = time.monotonic() - started
    stderr = failed.stderr.decode()
    assert failed.returncode == 128, stderr
    assert took < 8, f"encfile took {took:.1f} s with a 2 s timeout"
    lines = stderr.splitlines()
    # the headline names the kind; the one hint is the key's reason
    assert lines[0] == f"encfile: error: failed to decrypt '{path}': its hc_vault key could " \
                       "not open it", stderr
    assert len(lines) == 2, stderr
    uri = vault_entries(path)[0]
    key_id = f"{uri['vault_address']}/v1/{uri['engine_path']}/keys/{uri['key_name']}"
    reasons = [line for line in lines if line.startswith("encfile: hint: tried hc_vault ")]
    assert len(reasons) == 1, stderr
    assert reasons[0].startswith(f"encfile: hint: tried hc_vault {key_id}: {expect}"), stderr
    assert "Traceback" not in stderr and SECRET_WORD not in stderr
    if token:
        assert token not in stderr
    # sops on the same case, only for its exit code (its own client timeout set to ours)
    sops_env = {**env, "VAULT_CLIENT_TIMEOUT": "2", "VAULT_MAX_RETRIES": "0"}
    try:
        theirs = sops(sops_bin, "-d", str(path), env=sops_env, timeout=30).returncode
    except subprocess.TimeoutExpired:
        pytest.fail("sops did not finish within 30 s")
    assert theirs == 128


def test_every_key_tried_gives_its_own_line(openbao: OpenBao, canned: Any,
                                            tmp_path: Path) -> None:
    openbao.create_key("dev")
    openbao.create_key("ops")
    server = canned(503, '{"errors":["Vault is sealed"]}')
    path = encrypted(openbao, tmp_path, openbao.uri("dev"), openbao.uri("ops"))
    text = path.read_text()
    # the second key's server is down
    head, _, tail = text.rpartition(f"vault_address: {openbao.address}")
    path.write_text(head + f"vault_address: {server.address}" + tail)
    openbao.policy("none", 'path "transit/decrypt/x" { capabilities = ["update"] }')
    env = openbao.env(tmp_path / "home", token=openbao.token("none", display_name="bob"),
                      ENCFILE_KEY_SERVICE_TIMEOUT="2")
    failed = encfile("-d", str(path), env=env)
    assert failed.returncode == 128
    assert failed.stderr.decode().splitlines()[0] == (
        f"encfile: error: failed to decrypt '{path}': none of its 2 keys (2 hc_vault) could "
        "open it")
    reasons = [line for line in failed.stderr.decode().splitlines() if " hc_vault " in line]
    assert len(reasons) == 2, failed.stderr
    assert "HTTP 403" in reasons[0] and "transit/decrypt/dev" in reasons[0]
    assert "HTTP 503" in reasons[1] and "Vault is sealed" in reasons[1]


def test_a_failing_encryption_is_one_line(openbao: OpenBao, tmp_path: Path) -> None:
    openbao.create_key("dev")
    openbao.policy("reader", 'path "transit/decrypt/dev" { capabilities = ["update"] }')
    token = openbao.token("reader", display_name="ci")
    src = plain_file(tmp_path)
    failed = encfile("-e", "--hc-vault-transit", openbao.uri("dev"), str(src),
                     env=openbao.env(tmp_path / "home", token=token))
    stderr = failed.stderr.decode()
    assert failed.returncode == 1 and failed.stdout == b""
    assert stderr.splitlines() == [
        f"encfile: error: cannot wrap the data key for hc_vault key {openbao.uri('dev')}: "
        "permission denied (HTTP 403) on transit/encrypt/dev: the policies of token 'token-ci' "
        "(default, reader) do not allow 'update' on transit/encrypt/dev"]
    assert token not in stderr


def test_a_bad_timeout_setting_is_refused(openbao: OpenBao, tmp_path: Path) -> None:
    openbao.create_key("dev")
    path = encrypted(openbao, tmp_path, openbao.uri("dev"))
    failed = encfile("-d", str(path), env=openbao.env(tmp_path / "home",
                                                      ENCFILE_KEY_SERVICE_TIMEOUT="soon"))
    assert failed.returncode == 1
    assert b"ENCFILE_KEY_SERVICE_TIMEOUT must be a number of seconds" in failed.stderr


# -- Level 3: access policy, audit, offboarding ---------------------------------------------------

DEV_POLICY = 'path "transit/decrypt/dev" { capabilities = ["update"] }'


def _environments(bao: OpenBao, tmp_path: Path) -> tuple[Path, Path]:
    """dev/app.enc.yaml and prod/app.enc.yaml, each under its environment's key, by rule."""
    bao.create_key("dev")
    bao.create_key("prod")
    _config(tmp_path, f"""creation_rules:
  - path_regex: ^prod/
    hc_vault_transit_uri: {bao.uri("prod")}
  - path_regex: ^dev/
    hc_vault_transit_uri: {bao.uri("dev")}
""")
    out = []
    for stage in ("dev", "prod"):
        src = plain_file(tmp_path / stage, "app.yaml")
        path = tmp_path / stage / "app.enc.yaml"
        path.write_bytes(ok(encfile("-e", str(src), env=bao.env(tmp_path / "home"),
                                    cwd=tmp_path)))
        src.unlink()
        out.append(path)
    return out[0], out[1]


def test_access_policy_dev_token_reads_dev_not_prod(openbao: OpenBao, tmp_path: Path,
                                                    sops_bin: str) -> None:
    dev, prod = _environments(openbao, tmp_path)
    assert [e["key_name"] for e in vault_entries(dev)] == ["dev"]
    assert [e["key_name"] for e in vault_entries(prod)] == ["prod"]
    openbao.policy("dev-reader", DEV_POLICY)
    token = openbao.token("dev-reader", display_name="ci")
    env = openbao.env(tmp_path / "home", token=token)
    assert ok(encfile("-d", str(dev), env=env)).decode() == PLAIN
    refused = encfile("-d", str(prod), env=env)
    assert refused.returncode == 128
    assert (f"tried hc_vault {openbao.uri('prod')}: permission denied (HTTP 403) on "
            "transit/decrypt/prod: the policies of token 'token-ci' (default, dev-reader) do "
            "not allow 'update' on transit/decrypt/prod") in refused.stderr.decode()
    assert ok(sops(sops_bin, "-d", str(dev), env=env))
    assert sops(sops_bin, "-d", str(prod), env=env).returncode == 128


def test_audit_one_decrypt_is_one_logged_request(openbao: OpenBao, tmp_path: Path) -> None:
    dev, _ = _environments(openbao, tmp_path)
    openbao.policy("dev-reader", DEV_POLICY)
    token = openbao.token("dev-reader", display_name="alice")
    env = openbao.env(tmp_path / "home", token=token)
    mark = openbao.audit_mark()
    assert ok(encfile("-d", str(dev), env=env)).decode() == PLAIN
    entries = openbao.audit_since(mark)
    assert [(e["type"], e["request"]["path"]) for e in entries] == [
        ("request", "transit/decrypt/dev"), ("response", "transit/decrypt/dev")]
    request, response = entries
    assert request["request"]["id"] == response["request"]["id"]
    assert request["auth"]["display_name"] == "token-alice"
    assert request["auth"]["policies"] == ["default", "dev-reader"]
    assert request["request"]["remote_address"] == "127.0.0.1"
    assert "error" not in response or not response["error"]
    # the record names this file: the HMAC of its enc is the logged ciphertext
    (entry,) = vault_entries(dev)
    assert request["request"]["data"]["ciphertext"] == openbao.audit_hash(entry["enc"])
    assert token not in json.dumps(entries), "the audit log holds only HMACs of tokens"


def test_offboarding_revoking_a_token_ends_access_without_reencryption(
        openbao: OpenBao, tmp_path: Path, sops_bin: str) -> None:
    dev, _ = _environments(openbao, tmp_path)
    openbao.policy("dev-reader", DEV_POLICY)
    alice = openbao.token("dev-reader", display_name="alice")
    bob = openbao.token("dev-reader", display_name="bob")
    home = tmp_path / "home"
    before = hashlib.sha256(dev.read_bytes()).hexdigest()
    assert ok(encfile("-d", str(dev), env=openbao.env(home, token=alice))).decode() == PLAIN
    openbao.revoke(alice)
    gone = encfile("-d", str(dev), env=openbao.env(home, token=alice))
    assert gone.returncode == 128
    assert (b"permission denied (HTTP 403) on transit/decrypt/dev: the token was refused "
            b"(revoked, expired, or not valid on this server)") in gone.stderr
    assert alice.encode() not in gone.stderr
    assert sops(sops_bin, "-d", str(dev), env=openbao.env(home, token=alice)).returncode == 128
    assert ok(encfile("-d", str(dev), env=openbao.env(home, token=bob))).decode() == PLAIN
    assert hashlib.sha256(dev.read_bytes()).hexdigest() == before, "nothing was re-encrypted"


# -- start-up -----------------------------------------------------------------------------------------

def test_an_age_identity_opens_a_mixed_file_without_loading_http(openbao: OpenBao,
                                                                 tmp_path: Path) -> None:
    uri = openbao.create_key("dev")
    env = openbao.env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(KEY_FILE))
    src = plain_file(tmp_path)
    path = tmp_path / "app.enc.yaml"
    path.write_bytes(ok(encfile("-e", "--age", TEST_PUBLIC, "--hc-vault-transit", uri,
                                str(src), env=env)))
    code = ("import sys\nfrom encfile.cli import main\n"
            f"sys.argv = ['encfile', '-d', {str(path)!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print([m for m in ('http.client', 'ssl', 'urllib.request', 'hvac') "
            "if m in sys.modules], file=sys.stderr)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env,
                         timeout=60)
    assert out.stdout.decode() == PLAIN
    assert out.stderr.decode().strip() == "[]"


def test_base_env_drops_the_developers_vault_settings(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "developer-token")
    monkeypatch.setenv("VAULT_ADDR", "https://vault.example.com")
    env = base_env(tmp_path / "h")
    assert "VAULT_TOKEN" not in env and "VAULT_ADDR" not in env
    assert env["HOME"] == str(tmp_path / "h")


def test_the_server_fixture_resets_to_a_known_state(openbao_server: OpenBao) -> None:
    """What tests/servers.py promises the tests that share the server (publish too)."""
    bao = openbao_server
    bao.reset()
    bao.create_key("leftover")
    bao.policy("leftover", 'path "kv/*" { capabilities = ["read"] }')
    token = bao.token("leftover")
    bao.call("POST", "sys/mounts/extra", {"type": "kv"})
    bao.call("PUT", "kv/app", {"password": "v1"})
    bao.call("PUT", "secret/data/app", {"data": {"password": "v2"}})
    bao.reset()
    mounts = bao.call("GET", "sys/mounts")["data"]
    assert {m: mounts[m]["type"] for m in mounts} == {
        "cubbyhole/": "cubbyhole", "identity/": "identity", "sys/": "system",
        "transit/": "transit", "kv/": "kv", "secret/": "kv"}
    assert mounts["kv/"]["options"]["version"] == "1"
    assert mounts["secret/"]["options"]["version"] == "2"
    assert bao.call("LIST", "transit/keys", ok=False) == {"errors": []}, "no transit key"
    assert bao.call("LIST", "sys/policies/acl")["data"]["keys"] == ["default", "root"]
    assert bao.call("GET", "auth/token/lookup-self", token=token, ok=False) == {
        "errors": ["permission denied"]}, "tokens are revoked"
    assert "errors" in bao.call("GET", "kv/app", ok=False)
    assert "errors" in bao.call("GET", "secret/data/app", ok=False)
    # KV works as publish needs it: v1 plain, v2 with check-and-set
    bao.call("PUT", "kv/app", {"password": "v1"})
    assert bao.call("GET", "kv/app")["data"] == {"password": "v1"}
    bao.call("PUT", "secret/data/app", {"data": {"password": "v2"}, "options": {"cas": 0}})
    assert bao.call("GET", "secret/data/app")["data"]["data"] == {"password": "v2"}
