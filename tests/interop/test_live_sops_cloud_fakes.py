"""GCP Cloud KMS and Azure Key Vault files, both ways with the real sops 3.11, every format.

Neither service can be had offline, so both tools talk to the fakes of ``tests/fakecloud.py``
through its TLS proxy; the fake counts only as far as sops agrees with it, so every case
runs sops against the same fake:

* sops encrypts, encfile decrypts (``encfile -d`` prints what ``sops -d`` prints), and the
  fake saw encfile's decrypt call;
* encfile encrypts, sops decrypts (what ``sops -d`` prints of sops's own file), encfile gives
  the original bytes back, and the key's metadata entry has sops's fields in sops's order,
  with ``enc`` in sops's encoding;
* key groups that mix services: age and GCP in one group, Shamir across an Azure group and
  an age group, from creation rules, each tool reading the other's file.

No test reaches a real cloud or a metadata address (``fakecloud.client_env``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY_FILE, TEST_PUBLIC, load_docs, ok, run_encfile
from fakecloud import (  # noqa: F401 (cloud_fixture: the fake, as the fixture 'cloud')
    FakeCloud,
    Service,
    cloud_fixture,
    gcp_id,
    run_sops,
    safe_env,
    unique,
    vault_url,
)

pytestmark = pytest.mark.sops

SAMPLES = {  # one file per format, in forms sops writes back unchanged
    "yaml": ("app.yaml", "db:\n    user: admin\n    password: s3cret-yaml\nports:\n    - 80\n"
                         "    - 443\n"),
    "json": ("app.json", '{\n    "db": {\n        "user": "admin",\n        "password": '
                         '"s3cret-json"\n    },\n    "n": 3\n}\n'),
    "dotenv": ("app.env", "USER=admin\nPASSWORD=s3cret-dotenv\n"),
    "ini": ("app.ini", "[db]\nuser     = admin\npassword = s3cret-ini\n"),
    "binary": ("app.bin", "\x00binary s3cret-binary\n\x7f"),
}
ENC_FORMS = {"gcp_kms": re.compile(r"^[A-Za-z0-9+/]+={0,2}$"),      # standard base64
             "azure_kv": re.compile(r"^[A-Za-z0-9_-]{342}$")}       # RSA-2048, base64url
CREATED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def quiet(proc: Any, what: str) -> bytes:
    """stdout of an encfile run that must succeed without a word on stderr (no SDK log line,
    no warning)."""
    out = ok(proc, what)
    assert proc.stderr == b"", proc.stderr.decode(errors="replace")
    return out


def entry_fields(text: str, fmt: str, kind: str) -> list[tuple[str, str]]:
    """The (field, value) pairs of the first ``kind`` entry of a file's metadata, in the
    file's order (dotenv and INI flatten them: ``sops_gcp_kms__list_0__map_enc``)."""
    if fmt in ("yaml", "json", "binary"):
        data = json.loads(text) if fmt != "yaml" else load_docs(text)[0]
        return [(k, str(v)) for k, v in data["sops"][kind][0].items()]
    prefix = f"sops_{kind}__list_0__map_" if fmt == "dotenv" else f"{kind}__list_0__map_"
    sep = "=" if fmt == "dotenv" else " = "
    pairs = [line.split(sep, 1) for line in text.splitlines() if line.startswith(prefix)]
    return [(k[len(prefix):].strip(), v.strip()) for k, v in pairs]


SOPS_FIELDS = {"gcp_kms": ["resource_id", "created_at", "enc"],
               "azure_kv": ["vault_url", "name", "version", "created_at", "enc"]}


@pytest.mark.parametrize("fmt", list(SAMPLES))
@pytest.mark.parametrize("kind", ["gcp_kms", "azure_kv"])
def test_both_ways_with_sops(kind: str, fmt: str, cloud: FakeCloud, tmp_path: Path) -> None:
    service = Service(cloud, kind)
    name, text = SAMPLES[fmt]
    plain = tmp_path / name
    plain.write_bytes(text.encode("latin-1"))
    env = safe_env(cloud, tmp_path, **service.credentials)
    types = () if fmt != "binary" else ("--input-type", "binary", "--output-type", "binary")

    # sops encrypts, encfile decrypts
    by_sops = tmp_path / f"sops.{name}"
    by_sops.write_bytes(ok(run_sops("-e", *types, service.flag, service.key, str(plain),
                                    env=env), "sops -e"))
    sops_plain = ok(run_sops("-d", *types, str(by_sops), env=env), "sops -d")
    before = service.calls(service.key)
    assert quiet(run_encfile("-d", *types, str(by_sops), env=env), "encfile -d") == sops_plain
    assert service.calls(service.key) == before + 1, "encfile asked the service once"

    # encfile encrypts, sops decrypts
    by_encfile = tmp_path / f"encfile.{name}"
    by_encfile.write_bytes(quiet(run_encfile("-e", *types, service.flag, service.key,
                                             str(plain), env=env), "encfile -e"))
    assert ok(run_sops("-d", *types, str(by_encfile), env=env), "sops -d") == sops_plain
    assert quiet(run_encfile("-d", *types, str(by_encfile), env=env), "encfile -d") \
        == plain.read_bytes()

    # the entry as sops writes it
    mine = entry_fields(by_encfile.read_text("latin-1"), fmt, kind)
    theirs = entry_fields(by_sops.read_text("latin-1"), fmt, kind)
    # sops's field order; dotenv flattens the metadata, sorted by name (as sops does); sops
    # writes INI's [sops] section from a Go map, in no fixed order (encfile sorts it)
    if fmt in ("yaml", "json", "binary"):
        assert [f for f, _ in mine] == [f for f, _ in theirs] == SOPS_FIELDS[kind]
    else:
        assert [f for f, _ in mine] == sorted(f for f, _ in theirs) == sorted(SOPS_FIELDS[kind])
    fields, values = dict(mine), dict(theirs)
    assert ENC_FORMS[kind].match(fields["enc"]) and ENC_FORMS[kind].match(values["enc"])
    assert CREATED_AT.match(fields["created_at"]), fields["created_at"]
    for same in set(SOPS_FIELDS[kind]) - {"enc", "created_at"}:
        assert fields[same] == values[same], same
    assert cloud.refused() == []


def _rules(tmp_path: Path, text: str) -> None:
    (tmp_path / ".sops.yaml").write_text(text)


@pytest.mark.parametrize("maker", ["encfile", "sops"])
def test_age_and_gcp_in_one_group(maker: str, cloud: FakeCloud, tmp_path: Path) -> None:
    """One key group with an age recipient and a GCP key: either opens the file, in both
    tools, whichever made it."""
    resource = cloud.gcp_key(gcp_id(unique("mixed-")))
    _rules(tmp_path, f"creation_rules:\n  - path_regex: secrets/.*\n    key_groups:\n"
                     f"      - age:\n          - {TEST_PUBLIC}\n"
                     f"        gcp_kms:\n          - resource_id: {resource}\n")
    (tmp_path / "secrets").mkdir()
    plain = tmp_path / "secrets" / "app.yaml"
    plain.write_text("token: s3cret-mixed\n")
    both = safe_env(cloud, tmp_path, GOOGLE_OAUTH_ACCESS_TOKEN="dummy")
    make = run_encfile if maker == "encfile" else run_sops
    encrypted = tmp_path / "secrets" / "app.enc.yaml"
    encrypted.write_bytes(ok(make("-e", str(plain), env=both, cwd=tmp_path), f"{maker} -e"))
    metadata = load_docs(encrypted.read_text())[0]["sops"]
    assert len(metadata["age"]) == 1 and len(metadata["gcp_kms"]) == 1
    assert "key_groups" not in metadata  # one group: sops writes it flat

    only_gcp = safe_env(cloud, tmp_path, GOOGLE_OAUTH_ACCESS_TOKEN="dummy")
    only_age = safe_env(cloud, tmp_path, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    for env in (only_gcp, only_age):
        expected = b"token: s3cret-mixed\n"
        assert ok(run_sops("-d", str(encrypted), env=env), "sops -d") == expected
        assert ok(run_encfile("-d", str(encrypted), env=env), "encfile -d") == expected


@pytest.mark.parametrize("maker", ["encfile", "sops"])
def test_shamir_across_an_azure_group_and_an_age_group(maker: str, cloud: FakeCloud,
                                                       tmp_path: Path) -> None:
    """Threshold 2 of 2: the Azure group and the age group are both needed, in both tools."""
    vault, name = vault_url(unique("shamir")), unique("k")
    version = cloud.azure_key(vault, name)
    _rules(tmp_path, "creation_rules:\n  - path_regex: .*\n    shamir_threshold: 2\n"
                     "    key_groups:\n      - azure_keyvault:\n"
                     f"          - vaultUrl: {vault}\n            key: {name}\n"
                     f"            version: {version}\n"
                     f"      - age:\n          - {TEST_PUBLIC}\n")
    plain = tmp_path / "app.env"
    plain.write_text("PASSWORD=s3cret-shamir\n")
    both = safe_env(cloud, tmp_path, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    make = run_encfile if maker == "encfile" else run_sops
    encrypted = tmp_path / "app.enc.env"
    encrypted.write_bytes(ok(make("-e", str(plain), env=both, cwd=tmp_path), f"{maker} -e"))
    text = encrypted.read_text()
    assert "sops_shamir_threshold=2" in text
    assert "sops_key_groups__list_0__map_azure_kv__list_0__map_vault_url=" + vault in text
    assert "sops_key_groups__list_1__map_age__list_0__map_recipient=" + TEST_PUBLIC in text
    for tool in (run_sops, run_encfile):
        assert ok(tool("-d", str(encrypted), env=both), "-d") == b"PASSWORD=s3cret-shamir\n"
    # one group alone is not enough, for either tool
    for env in (safe_env(cloud, tmp_path), safe_env(cloud, tmp_path,
                                                    IDENTITY_HEADER="someone-else",
                                                    SOPS_AGE_KEY_FILE=str(KEY_FILE))):
        assert run_sops("-d", str(encrypted), env=env).returncode == 128
        result = run_encfile("-d", str(encrypted), env=env)
        assert result.returncode == 128 and b"s3cret" not in result.stderr + result.stdout


def test_groups_add_and_delete_with_cloud_keys(cloud: FakeCloud, tmp_path: Path) -> None:
    """An age file gains a GCP group (encfile), then an Azure group (sops); encfile deletes
    the GCP group. After each step, both tools read the file with exactly the groups that
    the threshold needs."""
    gcp, azure = Service(cloud, "gcp_kms"), Service(cloud, "azure_kv")
    plain = tmp_path / "app.yaml"
    plain.write_text("token: s3cret-groups\n")
    expected = plain.read_bytes()
    every = safe_env(cloud, tmp_path, SOPS_AGE_KEY_FILE=str(KEY_FILE), **gcp.credentials)
    encrypted = tmp_path / "app.enc.yaml"
    encrypted.write_bytes(ok(run_sops("-e", "--age", TEST_PUBLIC, str(plain), env=every), "-e"))

    def kinds() -> list[list[str]]:
        groups = load_docs(encrypted.read_text())[0]["sops"]["key_groups"]
        return [sorted(k for k, v in g.items() if v) for g in groups]

    ok(run_encfile("groups", "add", "-f", str(encrypted), "--gcp-kms", gcp.key, "-i",
                   "--shamir-secret-sharing-threshold", "2", env=every), "encfile groups add")
    assert kinds() == [["age"], ["gcp_kms"]]
    for tool in (run_sops, run_encfile):
        assert ok(tool("-d", str(encrypted), env=every), "-d") == expected
        only_age = safe_env(cloud, tmp_path, SOPS_AGE_KEY_FILE=str(KEY_FILE))
        assert tool("-d", str(encrypted), env=only_age).returncode == 128

    ok(run_sops("groups", "add", "-f", str(encrypted), "--azure-kv", azure.key, "-i",
                env=every), "sops groups add")
    assert kinds() == [["age"], ["gcp_kms"], ["azure_kv"]]
    no_gcp = safe_env(cloud, tmp_path, SOPS_AGE_KEY_FILE=str(KEY_FILE))  # age + Azure: 2 of 3
    for tool in (run_sops, run_encfile):
        assert ok(tool("-d", str(encrypted), env=no_gcp), "-d") == expected

    ok(run_encfile("groups", "delete", "-f", str(encrypted), "-i", "1", env=every),
       "encfile groups delete")
    assert kinds() == [["age"], ["azure_kv"]]
    for tool in (run_sops, run_encfile):
        assert ok(tool("-d", str(encrypted), env=no_gcp), "-d") == expected
