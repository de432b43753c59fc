"""Azure Key Vault keys (``azure_kv``), through the CLI, against the fake of
tests/fakecloud.py, with the real sops 3.11 on the same fake in every case (the fake counts
only as far as sops agrees with it; every file format is in tests/interop/).

Both tools get their token from managed identity (the fake's ``IDENTITY_ENDPOINT``, with
``AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential``, so no metadata address is ever
tried), meet Key Vault's 401 challenge first, and wrap with RSA-OAEP-256.

* how keys are named: ``--azure-kv``, ``SOPS_AZURE_KEYVAULT_URLS``, a rule's
  ``azure_keyvault`` and key groups' ``vaultUrl``/``key``/``version``; a URL without a
  version means the key's current version, which the file then names;
* a vault that refuses (403), lost the key (404), fails (500), is slow (the timeout), or no
  credentials: exit 128 within the timeout, one reason per key, as sops exits;
* rotate ``--add-azure-kv``/``--rm-azure-kv``, updatekeys, ``--decryption-order``;
* the SDK: imported only when a file needs it and no cheap key opened it; missing, one line
  that names the extra.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import KEY_FILE, TEST_PUBLIC, assert_cli_error, load_docs, ok, run_encfile
from fakecloud import (  # noqa: F401 (cloud_fixture: the fake, as the fixture 'cloud')
    FakeCloud,
    Service,
    cloud_fixture,
    modules_after,
    run_encfile_without,
    run_sops,
    safe_env,
    sops_exit_code,
    sops_file,
)

from encfile import keysources
from encfile.errors import RecipientError

pytestmark = pytest.mark.sops

KIND = "azure_kv"
PLAIN = b"db_password: s3cret-azure-value\n"
TIMEOUT = 2.0
STARTUP = 6.0  # what a loaded 2-CPU machine may add: Python, encfile, the SDK's imports


@pytest.fixture
def azure(cloud: FakeCloud) -> Service:
    return Service(cloud, KIND)


def key_urls(path: Path) -> list[str]:
    return [f"{e['vault_url']}/keys/{e['name']}/{e['version']}"
            for e in load_docs(path.read_text())[0]["sops"].get(KIND, [])]


# -- naming keys ------------------------------------------------------------------------------

def test_keys_as_rules_and_flags_name_them() -> None:
    vault = "https://team.vault.azure.net"
    keys = keysources.from_config(KIND, f" {vault}/keys/k1/v1 ,{vault}/keys/k2")
    assert [(k.vault_url, k.name, k.version) for k in keys] == [  # type: ignore[attr-defined]
        (vault, "k1", "v1"), (vault, "k2", "")]
    assert keys[0].id == f"{vault}/keys/k1/v1"
    group = keysources.from_config(KIND, [{"vaultUrl": vault, "key": "k1", "version": "v1"},
                                          {"vaultUrl": vault, "key": "k2"}])
    assert [k.id for k in group] == [f"{vault}/keys/k1/v1", f"{vault}/keys/k2/"]
    assert keys[1].same(keysources.from_config(KIND, f"{vault}/keys/k2/v7")[0]), \
        "a key without a version is the same key as any version of it"
    assert not keys[0].same(keysources.from_config(KIND, f"{vault}/keys/k1/v2")[0])
    assert list(keys[0].to_metadata()) == ["vault_url", "name", "version", "created_at", "enc"]
    for bad in ("http://team.vault.azure.net/keys/k", f"{vault}/secrets/k/v",
                [{"vaultUrl": vault}], [7]):
        with pytest.raises(RecipientError):
            keysources.from_config(KIND, bad)


def test_a_key_without_a_version_is_its_current_version(azure: Service, tmp_path: Path
                                                        ) -> None:
    """Both tools write the current version into the file; a newer version later does not
    change which one opens it; a new file gets the newer one."""
    name = azure.key.split("/keys/")[1].split("/")[0]
    versionless = f"{azure.vault}/keys/{name}"
    plain = tmp_path / "app.yaml"
    plain.write_bytes(PLAIN)
    env = safe_env(azure.cloud, tmp_path, SOPS_AZURE_KEYVAULT_URLS=versionless)
    made = {}
    for tool, run in (("sops", run_sops), ("encfile", run_encfile)):
        made[tool] = tmp_path / f"{tool}.app.yaml"
        made[tool].write_bytes(ok(run("-e", str(plain), env=env), f"{tool} -e"))
        assert key_urls(made[tool]) == [azure.key]
    newer = azure.cloud.azure_key(azure.vault, name, new_version=True)
    for path in made.values():
        for reader in (run_sops, run_encfile):
            assert ok(reader("-d", str(path), env=env), "-d") == PLAIN
    for tool, run in (("sops", run_sops), ("encfile", run_encfile)):
        again = tmp_path / f"{tool}.again.yaml"
        again.write_bytes(ok(run("-e", str(plain), env=env), f"{tool} -e"))
        assert key_urls(again) == [f"{versionless}/{newer}"]


def test_several_keys_and_each_failing_key_says_why(azure: Service, tmp_path: Path) -> None:
    """Two keys by --azure-kv: either opens the file (both tools); when neither can, exit
    128 with one line per key."""
    second = azure.new_key()
    plain = tmp_path / "app.yaml"
    plain.write_bytes(PLAIN)
    env = safe_env(azure.cloud, tmp_path, ENCFILE_KEY_SERVICE_TIMEOUT=str(TIMEOUT))
    made = {}
    for tool, run in (("sops", run_sops), ("encfile", run_encfile)):
        made[tool] = tmp_path / f"{tool}.app.yaml"
        made[tool].write_bytes(ok(run("-e", "--azure-kv", f"{azure.key},{second}", str(plain),
                                      env=env), f"{tool} -e"))
        assert key_urls(made[tool]) == [azure.key, second]
    azure.set_mode(azure.key, "deny")
    for path in made.values():
        assert ok(run_sops("-d", str(path), env=env), "sops -d") == PLAIN
        assert ok(run_encfile("-d", str(path), env=env), "encfile -d") == PLAIN
    azure.set_mode(second, "gone")
    for path in made.values():
        assert sops_exit_code("-d", str(path), env=env) == 128
        stderr = assert_cli_error(run_encfile("-d", str(path), env=env), 128)
        assert f"encfile: hint: tried azure_kv {azure.key}: permission denied (403): needs " \
               "the keys/decrypt permission\n" in stderr
        assert f"encfile: hint: tried azure_kv {second}: key not found (404)\n" in stderr


def test_rules_and_key_groups_name_keys(azure: Service, tmp_path: Path) -> None:
    """A rule's azure_keyvault (a URL string) and a key group's mappings, in both tools."""
    second = azure.new_key()
    (tmp_path / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: flat/.*\n    azure_keyvault: {azure.key}\n"
        f"  - path_regex: grouped/.*\n    key_groups:\n      -\n"
        f"{azure.group_entry(azure.key)}" + azure.group_entry(second).split("\n", 1)[1])
    env = safe_env(azure.cloud, tmp_path)
    for folder, expected in (("flat", [azure.key]), ("grouped", [azure.key, second])):
        (tmp_path / folder).mkdir()
        plain = tmp_path / folder / "app.yaml"
        plain.write_bytes(PLAIN)
        for tool, run in (("sops", run_sops), ("encfile", run_encfile)):
            out = tmp_path / folder / f"{tool}.enc.yaml"
            out.write_bytes(ok(run("-e", str(plain), env=env, cwd=tmp_path), f"{tool} -e"))
            assert key_urls(out) == expected, (tool, folder)
            for reader in (run_sops, run_encfile):
                assert ok(reader("-d", str(out), env=env), "-d") == PLAIN


# -- a vault that fails -----------------------------------------------------------------------

REASONS = {
    "deny": "permission denied (403): needs the keys/decrypt permission",
    "gone": "key not found (404)",
    "fail": "service error (500)",
    "slow": f"timed out after {TIMEOUT:g} s",
    "no credentials": "no credentials: DefaultAzureCredential found none",
    "refused credentials": "no credentials: DefaultAzureCredential found none",
}


@pytest.mark.parametrize("case", list(REASONS))
def test_a_failing_vault_gives_exit_128_and_its_reason_within_the_timeout(
        case: str, azure: Service, tmp_path: Path) -> None:
    encrypted = sops_file(azure, tmp_path, PLAIN)
    if case == "no credentials":
        creds = azure.no_credentials
    elif case == "refused credentials":
        creds = azure.refused_credentials
    else:
        azure.set_mode(azure.key, case)
        creds = azure.credentials
    env = safe_env(azure.cloud, tmp_path, ENCFILE_KEY_SERVICE_TIMEOUT=str(TIMEOUT), **creds)
    start = time.monotonic()
    result = run_encfile("-d", str(encrypted), env=env)
    took = time.monotonic() - start
    stderr = assert_cli_error(result, 128)
    assert f"encfile: hint: tried azure_kv {azure.key}: {REASONS[case]}" in stderr
    assert took < TIMEOUT + STARTUP, took
    if case == "slow":
        assert took >= TIMEOUT  # the request's own timeout ended it
    assert "s3cret" not in stderr and "msi-" not in stderr  # no plaintext, no token
    # sops on the same case: the same exit code (it retries a 500 for about 10 s, and waits
    # for a slow vault: still running when the test's limit ends it)
    assert sops_exit_code("-d", str(encrypted), env=env, limit=20 if case == "fail" else 8) \
        == (None if case == "slow" else 128)


# -- rotate, updatekeys, the decryption order -----------------------------------------------

def test_rotate_adds_and_removes_azure_keys(azure: Service, tmp_path: Path) -> None:
    second, third = azure.new_key(), azure.new_key()
    encrypted = sops_file(azure, tmp_path, PLAIN)
    env = safe_env(azure.cloud, tmp_path)
    ok(run_encfile("rotate", "-i", "--add-azure-kv", second, str(encrypted), env=env),
       "rotate")
    assert key_urls(encrypted) == [azure.key, second]
    azure.set_mode(azure.key, "deny")  # the new key alone opens it, in both tools
    for reader in (run_sops, run_encfile):
        assert ok(reader("-d", str(encrypted), env=env), "-d") == PLAIN
    azure.set_mode(azure.key, "ok")
    ok(run_encfile("rotate", "-i", "--rm-azure-kv", azure.key, str(encrypted), env=env),
       "rotate")
    assert key_urls(encrypted) == [second]
    for reader in (run_sops, run_encfile):
        assert ok(reader("-d", str(encrypted), env=env), "-d") == PLAIN
    # and sops rotates what encfile rotated; encfile opens it with sops's new key alone
    ok(run_sops("-r", "-i", "--add-azure-kv", third, str(encrypted), env=env), "sops -r")
    assert key_urls(encrypted) == [second, third]
    azure.set_mode(second, "deny")
    assert ok(run_encfile("-d", str(encrypted), env=env), "encfile -d") == PLAIN


@pytest.mark.parametrize("updater", ["encfile", "sops"])
def test_updatekeys_adds_an_azure_key_from_the_rule(updater: str, azure: Service,
                                                    tmp_path: Path) -> None:
    """A file made for age; the rule gains an Azure key; after updatekeys (either tool),
    Azure alone opens it, in both tools."""
    rules = tmp_path / ".sops.yaml"
    rules.write_text(f"creation_rules:\n  - path_regex: .*\n    age: {TEST_PUBLIC}\n")
    plain = tmp_path / "app.yaml"
    plain.write_bytes(PLAIN)
    both = safe_env(azure.cloud, tmp_path, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    encrypted = tmp_path / "app.enc.yaml"
    encrypted.write_bytes(ok(run_encfile("-e", str(plain), env=both, cwd=tmp_path), "-e"))
    rules.write_text(f"creation_rules:\n  - path_regex: .*\n    age: {TEST_PUBLIC}\n"
                     f"    azure_keyvault: {azure.key}\n")
    run = run_encfile if updater == "encfile" else run_sops
    ok(run("updatekeys", "-y", str(encrypted), env=both, cwd=tmp_path), f"{updater} updatekeys")
    assert key_urls(encrypted) == [azure.key]
    only_azure = safe_env(azure.cloud, tmp_path)
    for reader in (run_sops, run_encfile):
        assert ok(reader("-d", str(encrypted), env=only_azure), "-d") == PLAIN


def test_decryption_order_puts_azure_first(azure: Service, tmp_path: Path) -> None:
    """age and Azure in one group, both available: by default neither tool asks the vault;
    with azure_kv first, each asks it once."""
    plain = tmp_path / "app.yaml"
    plain.write_bytes(PLAIN)
    env = safe_env(azure.cloud, tmp_path, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    encrypted = tmp_path / "app.enc.yaml"
    encrypted.write_bytes(ok(run_sops("-e", "--age", TEST_PUBLIC, "--azure-kv", azure.key,
                                      str(plain), env=env), "sops -e"))
    for reader in (run_sops, run_encfile):
        before = azure.calls(azure.key)
        assert ok(reader("-d", str(encrypted), env=env), "-d") == PLAIN
        assert azure.calls(azure.key) == before
        for how in (("--decryption-order", "azure_kv,age"), ()):
            ordered = dict(env, SOPS_DECRYPTION_ORDER="azure_kv,age") if not how else env
            before = azure.calls(azure.key)
            assert ok(reader("-d", *how, str(encrypted), env=ordered), "-d") == PLAIN
            assert azure.calls(azure.key) == before + 1, (reader, how)


# -- the SDK ------------------------------------------------------------------------------------

def test_the_sdk_loads_only_when_a_file_needs_it(azure: Service, tmp_path: Path) -> None:
    """``encfile -d`` of a file with age and Azure keys, when the age key opens it, imports
    no Azure module and asks no service; the cheap pass of an Azure key neither."""
    env = safe_env(azure.cloud, tmp_path, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    plain = tmp_path / "app.yaml"
    plain.write_bytes(PLAIN)
    mixed = tmp_path / "mixed.enc.yaml"
    mixed.write_bytes(ok(run_encfile("-e", "--age", TEST_PUBLIC, "--azure-kv", azure.key,
                                     str(plain), env=env), "-e"))
    sdk = {"azure", "msal", "msal_extensions", "requests", "urllib3", "google"}
    before = len(azure.cloud.api_calls())
    assert not modules_after(None, env) & sdk
    loaded = modules_after(["-d", str(mixed)], env)
    assert "encfile" in loaded and not loaded & sdk, loaded & sdk
    entry = load_docs(mixed.read_text())[0]["sops"][KIND][0]
    code = ("from encfile import keysources\nfrom encfile.keysources.identities import KeyRing\n"
            f"key = keysources.from_metadata('azure_kv', {entry!r})\n"
            "assert key.unwrap(KeyRing(), cheap=True) is None\n")
    assert not modules_after(None, env, code=code) & sdk
    assert len(azure.cloud.api_calls()) == before, "no request to any service"
    # ... the second pass does load it, and asks the vault; and sops agrees with the file
    calls = azure.calls(azure.key)
    loaded = modules_after(["-d", str(mixed)], dict(env, SOPS_AGE_KEY_FILE=""))
    assert "azure" in loaded and azure.calls(azure.key) == calls + 1
    assert ok(run_sops("-d", str(mixed), env=dict(env, SOPS_AGE_KEY_FILE="")), "sops") == PLAIN


def test_without_the_sdk_one_line_names_the_extra(azure: Service, tmp_path: Path) -> None:
    encrypted = sops_file(azure, tmp_path, PLAIN)
    env = safe_env(azure.cloud, tmp_path)
    extra = "needs azure-keyvault-keys and azure-identity, which are not installed: pip " \
            "install 'encfile-sops[azure]'"
    for blocked in (("azure.keyvault.keys",), ("azure.identity",)):
        stderr = assert_cli_error(run_encfile_without(blocked, "-d", str(encrypted), env=env),
                                  128)
        assert f"tried azure_kv {azure.key}: {extra}\n" in stderr
        stderr = assert_cli_error(run_encfile_without(
            blocked, "-e", "--azure-kv", azure.key, str(tmp_path / "app.yaml"), env=env), 1)
        assert stderr == f"encfile: error: cannot wrap the data key for azure_kv key " \
                         f"'{azure.key}': {extra}\n"
