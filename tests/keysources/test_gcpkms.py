"""GCP Cloud KMS keys (``gcp_kms``), through the CLI, against the fake of tests/fakecloud.py,
with the real sops 3.11 on the same fake in every case (the fake counts only as far as sops
agrees with it; the format in every file format is in tests/interop/).

* how keys are named: ``--gcp-kms``, ``SOPS_GCP_KMS_IDS``, rules and key groups;
* credentials as sops takes them: ``GOOGLE_CREDENTIALS`` (a path or the JSON itself), then
  ``GOOGLE_OAUTH_ACCESS_TOKEN``, then the application-default chain;
* a service that refuses (403), lost the key (404), fails (500), is slow (the timeout), or
  no credentials: exit 128 within the timeout, one reason per key, as sops exits;
* rotate ``--add-gcp-kms``/``--rm-gcp-kms``, updatekeys, ``--decryption-order``;
* the SDK: imported only when a file needs it and no cheap key opened it; missing, one line
  that names the extra.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import KEY_FILE, TEST_PUBLIC, assert_cli_error, load_docs, ok, run_encfile
from fakecloud import (  # noqa: F401 (cloud_fixture: the fake, as the fixture 'cloud')
    TOKEN,
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

KIND = "gcp_kms"
PLAIN = b"db_password: s3cret-gcp-value\n"
TIMEOUT = 2.0
STARTUP = 6.0  # what a loaded 2-CPU machine may add: Python, encfile, the SDK's imports


@pytest.fixture
def gcp(cloud: FakeCloud) -> Service:
    return Service(cloud, KIND)


def gcp_ids(path: Path) -> list[str]:
    return [e["resource_id"] for e in load_docs(path.read_text())[0]["sops"].get(KIND, [])]


# -- naming keys ------------------------------------------------------------------------------

def test_keys_as_rules_and_flags_name_them() -> None:
    rid = "projects/p/locations/global/keyRings/r/cryptoKeys/k"
    other = "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k2"
    keys = keysources.from_config(KIND, f" {rid} , proj ects/p/locations/europe-west1/keyRings"
                                        "/r/cryptoKeys/k2")  # sops drops every space
    assert [k.id for k in keys] == [rid, other]
    group = keysources.from_config(KIND, [{"resource_id": rid}, {"resource_id": other}])
    assert [k.id for k in group] == [rid, other]
    assert keys[0].to_metadata() == {"resource_id": rid, "created_at": "", "enc": ""}
    for bad in ("projects/p/cryptoKeys/k", [{"id": rid}], [3]):
        with pytest.raises(RecipientError):
            keysources.from_config(KIND, bad)


def test_the_variable_names_several_keys_and_each_failing_key_says_why(
        gcp: Service, tmp_path: Path) -> None:
    """SOPS_GCP_KMS_IDS with two keys: either opens the file (both tools); when neither can,
    exit 128 with one line per key."""
    second = gcp.new_key()
    plain = tmp_path / "app.yaml"
    plain.write_bytes(PLAIN)
    env = safe_env(gcp.cloud, tmp_path, SOPS_GCP_KMS_IDS=f"{gcp.key},{second}",
                   ENCFILE_KEY_SERVICE_TIMEOUT=str(TIMEOUT), **gcp.credentials)
    made = {}
    for tool, run in (("sops", run_sops), ("encfile", run_encfile)):
        made[tool] = tmp_path / f"{tool}.app.yaml"
        made[tool].write_bytes(ok(run("-e", str(plain), env=env), f"{tool} -e"))
        assert gcp_ids(made[tool]) == [gcp.key, second]
    gcp.set_mode(gcp.key, "deny")
    for path in made.values():
        assert ok(run_sops("-d", str(path), env=env), "sops -d") == PLAIN
        assert ok(run_encfile("-d", str(path), env=env), "encfile -d") == PLAIN
    gcp.set_mode(second, "gone")
    for path in made.values():
        assert sops_exit_code("-d", str(path), env=env) == 128
        stderr = assert_cli_error(run_encfile("-d", str(path), env=env), 128)
        assert f"encfile: hint: tried gcp_kms {gcp.key}: permission denied (403): needs " \
               "cloudkms.cryptoKeyVersions.useToDecrypt\n" in stderr
        assert f"encfile: hint: tried gcp_kms {second}: key not found (404)\n" in stderr


def test_rules_and_key_groups_name_keys(gcp: Service, tmp_path: Path) -> None:
    """A rule's gcp_kms (a string) and a key group's (resource_id mappings), in both tools."""
    second = gcp.new_key()
    (tmp_path / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: flat/.*\n    gcp_kms: {gcp.key}\n"
        f"  - path_regex: grouped/.*\n    key_groups:\n      - gcp_kms:\n"
        f"          - resource_id: {gcp.key}\n          - resource_id: {second}\n")
    env = safe_env(gcp.cloud, tmp_path, **gcp.credentials)
    for folder, expected in (("flat", [gcp.key]), ("grouped", [gcp.key, second])):
        (tmp_path / folder).mkdir()
        plain = tmp_path / folder / "app.yaml"
        plain.write_bytes(PLAIN)
        for tool, run in (("sops", run_sops), ("encfile", run_encfile)):
            out = tmp_path / folder / f"{tool}.enc.yaml"
            out.write_bytes(ok(run("-e", str(plain), env=env, cwd=tmp_path), f"{tool} -e"))
            assert gcp_ids(out) == expected, (tool, folder)
            for reader in (run_sops, run_encfile):
                assert ok(reader("-d", str(out), env=env), "-d") == PLAIN


# -- credentials ------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["GOOGLE_CREDENTIALS path", "GOOGLE_CREDENTIALS json",
                                  "GOOGLE_APPLICATION_CREDENTIALS"])
def test_service_account_credentials(form: str, gcp: Service, tmp_path: Path) -> None:
    """A service-account key in GOOGLE_CREDENTIALS (a path or the JSON) wins over
    GOOGLE_OAUTH_ACCESS_TOKEN, as in sops; without either, the application-default chain
    (GOOGLE_APPLICATION_CREDENTIALS) finds it. Both tools, each way."""
    account = gcp.cloud.service_account("encfile-ci@encfile-test.iam.gserviceaccount.com")
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(account))
    key_file.chmod(0o600)
    if form == "GOOGLE_APPLICATION_CREDENTIALS":
        extra = {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}
    else:
        extra = {"GOOGLE_CREDENTIALS": str(key_file) if "path" in form else json.dumps(account),
                 "GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.a-token-nobody-issued"}
    env = safe_env(gcp.cloud, tmp_path, **extra)
    plain = tmp_path / "app.yaml"
    plain.write_bytes(PLAIN)
    for maker in (run_sops, run_encfile):
        out = tmp_path / "app.enc.yaml"
        out.write_bytes(ok(maker("-e", "--gcp-kms", gcp.key, str(plain), env=env), "-e"))
        for reader in (run_sops, run_encfile):
            result = reader("-d", str(out), env=env)
            assert ok(result, "-d") == PLAIN
            assert account["private_key"].splitlines()[1] not in result.stderr.decode()


def test_unusable_google_credentials_are_named_never_quoted(gcp: Service, tmp_path: Path
                                                            ) -> None:
    encrypted = sops_file(gcp, tmp_path, PLAIN)
    secretish = "not-json-but-maybe-a-secret-" + "x" * 20
    env = safe_env(gcp.cloud, tmp_path, GOOGLE_CREDENTIALS=secretish)
    assert sops_exit_code("-d", str(encrypted), env=env) == 128
    stderr = assert_cli_error(run_encfile("-d", str(encrypted), env=env), 128)
    assert f"tried gcp_kms {gcp.key}: GOOGLE_CREDENTIALS is neither a credentials file nor " \
           "credentials JSON\n" in stderr
    assert secretish not in stderr


# -- a service that fails ---------------------------------------------------------------------

REASONS = {
    "deny": "permission denied (403): needs cloudkms.cryptoKeyVersions.useToDecrypt",
    "gone": "key not found (404)",
    "fail": "service error (500)",
    "slow": f"timed out after {TIMEOUT:g} s",
    "no credentials": "no credentials: set GOOGLE_CREDENTIALS or GOOGLE_OAUTH_ACCESS_TOKEN",
    "refused credentials": "not authenticated",
}


@pytest.mark.parametrize("case", list(REASONS))
def test_a_failing_service_gives_exit_128_and_its_reason_within_the_timeout(
        case: str, gcp: Service, tmp_path: Path) -> None:
    encrypted = sops_file(gcp, tmp_path, PLAIN)
    if case == "no credentials":
        creds = gcp.no_credentials
    elif case == "refused credentials":
        creds = gcp.refused_credentials
    else:
        gcp.set_mode(gcp.key, case)
        creds = gcp.credentials
    env = safe_env(gcp.cloud, tmp_path, ENCFILE_KEY_SERVICE_TIMEOUT=str(TIMEOUT), **creds)
    start = time.monotonic()
    result = run_encfile("-d", str(encrypted), env=env)
    took = time.monotonic() - start
    stderr = assert_cli_error(result, 128)
    assert f"encfile: hint: tried gcp_kms {gcp.key}: {REASONS[case]}" in stderr
    assert took < TIMEOUT + STARTUP, took
    if case == "slow":
        assert took >= TIMEOUT  # the request's own timeout ended it
    for secret in ("s3cret", TOKEN, "ya29.a-token-nobody-issued"):
        assert secret not in stderr
    # sops on the same case: the same exit code (for a slow service, it waits: still
    # running when the test's limit ends it)
    assert sops_exit_code("-d", str(encrypted), env=env, limit=8) == (
        None if case == "slow" else 128)


# -- rotate, updatekeys, the decryption order -----------------------------------------------

def test_rotate_adds_and_removes_gcp_keys(gcp: Service, tmp_path: Path) -> None:
    second, third = gcp.new_key(), gcp.new_key()
    encrypted = sops_file(gcp, tmp_path, PLAIN)
    env = safe_env(gcp.cloud, tmp_path, **gcp.credentials)
    ok(run_encfile("rotate", "-i", "--add-gcp-kms", second, str(encrypted), env=env), "rotate")
    assert gcp_ids(encrypted) == [gcp.key, second]
    gcp.set_mode(gcp.key, "deny")  # the new key alone opens it, in both tools
    for reader in (run_sops, run_encfile):
        assert ok(reader("-d", str(encrypted), env=env), "-d") == PLAIN
    gcp.set_mode(gcp.key, "ok")
    ok(run_encfile("rotate", "-i", "--rm-gcp-kms", gcp.key, str(encrypted), env=env), "rotate")
    assert gcp_ids(encrypted) == [second]
    for reader in (run_sops, run_encfile):
        assert ok(reader("-d", str(encrypted), env=env), "-d") == PLAIN
    # and sops rotates what encfile rotated; encfile opens it with sops's new key alone
    ok(run_sops("-r", "-i", "--add-gcp-kms", third, str(encrypted), env=env), "sops -r")
    assert gcp_ids(encrypted) == [second, third]
    gcp.set_mode(second, "deny")
    assert ok(run_encfile("-d", str(encrypted), env=env), "encfile -d") == PLAIN


@pytest.mark.parametrize("updater", ["encfile", "sops"])
def test_updatekeys_adds_a_gcp_key_from_the_rule(updater: str, gcp: Service, tmp_path: Path
                                                 ) -> None:
    """A file made for age; the rule gains a GCP key; after updatekeys (either tool), GCP
    alone opens it, in both tools."""
    rules = tmp_path / ".sops.yaml"
    rules.write_text(f"creation_rules:\n  - path_regex: .*\n    age: {TEST_PUBLIC}\n")
    plain = tmp_path / "app.yaml"
    plain.write_bytes(PLAIN)
    both = safe_env(gcp.cloud, tmp_path, SOPS_AGE_KEY_FILE=str(KEY_FILE), **gcp.credentials)
    encrypted = tmp_path / "app.enc.yaml"
    encrypted.write_bytes(ok(run_encfile("-e", str(plain), env=both, cwd=tmp_path), "-e"))
    assert gcp_ids(encrypted) == []
    rules.write_text(f"creation_rules:\n  - path_regex: .*\n    key_groups:\n"
                     f"      - age:\n          - {TEST_PUBLIC}\n{gcp.group_entry(gcp.key)}")
    run = run_encfile if updater == "encfile" else run_sops
    ok(run("updatekeys", "-y", str(encrypted), env=both, cwd=tmp_path), f"{updater} updatekeys")
    assert gcp_ids(encrypted) == [gcp.key]
    only_gcp = safe_env(gcp.cloud, tmp_path, **gcp.credentials)
    for reader in (run_sops, run_encfile):
        assert ok(reader("-d", str(encrypted), env=only_gcp), "-d") == PLAIN


def test_decryption_order_puts_gcp_first(gcp: Service, tmp_path: Path) -> None:
    """age and GCP in one group, both available: by default neither tool asks GCP (age is
    cheaper, and first in sops's order); with gcp_kms first, each asks it once."""
    plain = tmp_path / "app.yaml"
    plain.write_bytes(PLAIN)
    env = safe_env(gcp.cloud, tmp_path, SOPS_AGE_KEY_FILE=str(KEY_FILE), **gcp.credentials)
    encrypted = tmp_path / "app.enc.yaml"
    encrypted.write_bytes(ok(run_sops("-e", "--age", TEST_PUBLIC, "--gcp-kms", gcp.key,
                                      str(plain), env=env), "sops -e"))
    for reader in (run_sops, run_encfile):
        before = gcp.calls(gcp.key)
        assert ok(reader("-d", str(encrypted), env=env), "-d") == PLAIN
        assert gcp.calls(gcp.key) == before
        for how in (("--decryption-order", "gcp_kms,age"), ()):
            ordered = dict(env, SOPS_DECRYPTION_ORDER="gcp_kms,age") if not how else env
            before = gcp.calls(gcp.key)
            assert ok(reader("-d", *how, str(encrypted), env=ordered), "-d") == PLAIN
            assert gcp.calls(gcp.key) == before + 1, (reader, how)


# -- the SDK ------------------------------------------------------------------------------------

def test_the_sdk_loads_only_when_a_file_needs_it(gcp: Service, tmp_path: Path) -> None:
    """``import encfile``, ``encfile -d`` of an age file, and of a file that also has GCP
    (and Azure) keys when the age key opens it, import no Google module and ask no service;
    the cheap pass of a GCP key neither."""
    azure = Service(gcp.cloud, "azure_kv")
    env = safe_env(gcp.cloud, tmp_path, SOPS_AGE_KEY_FILE=str(KEY_FILE), **gcp.credentials)
    plain = tmp_path / "app.yaml"
    plain.write_bytes(PLAIN)
    age_only = tmp_path / "age.enc.yaml"
    age_only.write_bytes(ok(run_encfile("-e", "--age", TEST_PUBLIC, str(plain), env=env), "-e"))
    mixed = tmp_path / "mixed.enc.yaml"
    mixed.write_bytes(ok(run_sops("-e", "--age", TEST_PUBLIC, "--gcp-kms", gcp.key,
                                  "--azure-kv", azure.key, str(plain), env=env), "sops -e"))
    sdk = ("google", "grpc", "proto", "azure", "msal", "requests", "urllib3")
    before = len(gcp.cloud.api_calls())
    assert not modules_after(None, env) & set(sdk)
    for path in (age_only, mixed):
        loaded = modules_after(["-d", str(path)], env)
        assert "encfile" in loaded and not loaded & set(sdk), loaded & set(sdk)
    entry = load_docs(mixed.read_text())[0]["sops"][KIND][0]
    code = ("from encfile import keysources\nfrom encfile.keysources.identities import KeyRing\n"
            f"key = keysources.from_metadata('gcp_kms', {entry!r})\n"
            "assert key.unwrap(KeyRing(), cheap=True) is None\n")
    assert not modules_after(None, env, code=code) & set(sdk)
    assert len(gcp.cloud.api_calls()) == before, "no request to any service"
    # ... and the second pass does load it, and asks the service
    loaded = modules_after(["-d", str(mixed)], dict(env, SOPS_AGE_KEY_FILE=""))
    assert "google" in loaded and gcp.calls(gcp.key) == 1


def test_without_the_sdk_one_line_names_the_extra(gcp: Service, tmp_path: Path) -> None:
    encrypted = sops_file(gcp, tmp_path, PLAIN)
    env = safe_env(gcp.cloud, tmp_path, **gcp.credentials)
    blocked = ("google.cloud.kms_v1",)
    stderr = assert_cli_error(run_encfile_without(blocked, "-d", str(encrypted), env=env), 128)
    assert f"tried gcp_kms {gcp.key}: needs google-cloud-kms, which is not installed: pip " \
           "install 'encfile-sops[gcp]'\n" in stderr
    stderr = assert_cli_error(run_encfile_without(
        blocked, "-e", "--gcp-kms", gcp.key, str(tmp_path / "app.yaml"), env=env), 1)
    assert stderr == f"encfile: error: cannot wrap the data key for gcp_kms key '{gcp.key}': " \
                     "needs google-cloud-kms, which is not installed: pip install " \
                     "'encfile-sops[gcp]'\n"
