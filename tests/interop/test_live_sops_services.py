"""Live interoperability with the real sops binary for files whose data key lives in a key
service: Vault transit (OpenBao) and AWS KMS (moto), every format, both directions.

For each service and each format (YAML, JSON, dotenv, INI, binary):

* encfile writes, sops reads: ``sops -d`` of encfile's file prints exactly what ``sops -d``
  of sops's own encryption of the same plaintext prints (sops reformats; its own round
  trip is the reference), and encfile's round trip gives the plaintext byte for byte;
* sops writes, encfile reads: ``encfile -d`` of sops's file prints exactly the bytes
  ``sops -d`` prints.

Then the services mixed: a creation rule with two key groups, KMS and age in one and
Vault in the other, Shamir threshold 2, written by each tool and read by the other with
only the service credentials (and, for the age group, the age identity).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY_FILE, TEST_PUBLIC, load_docs, ok, run_encfile
from servers import (  # noqa: F401 (fixtures: moto, openbao)
    Moto,
    OpenBao,
    moto_fixture,
    moto_server_fixture,
    openbao_fixture,
    openbao_server_fixture,
)

pytestmark = pytest.mark.sops

PLAINS = {
    "yaml": ("app.yaml", "db:\n  user: admin # who\n  password: hunter2\nports:\n  - 80\n"
                         "  - 443\nratio: 0.5\nenabled: true\n"),
    "json": ("app.json", '{\n  "db": {"user": "admin", "password": "hunter2"},\n'
                         '  "ports": [80, 443],\n  "enabled": true\n}\n'),
    "dotenv": ("app.env", "DB_USER=admin\nDB_PASSWORD=hunter2\n# a comment\nPORT=5432\n"),
    "ini": ("app.ini", "[db]\nuser = admin\npassword = hunter2\n\n[web]\nport = 80\n"),
    "binary": ("blob.bin", "\x00\x01binary secret\n\xff"),
}


def sops(sops_bin: str, *args: str, env: dict[str, str], cwd: Path | None = None
         ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sops_bin, *args], capture_output=True, env=env, cwd=cwd,
                          timeout=120)


class Service:
    def __init__(self, kind: str, flag: str, key: str, env: dict[str, str]) -> None:
        self.kind, self.flag, self.key, self.env = kind, flag, key, env


@pytest.fixture(params=["hc_vault", "kms"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Service:
    home = tmp_path / "home"
    if request.param == "hc_vault":
        bao: OpenBao = request.getfixturevalue("openbao")
        return Service("hc_vault", "--hc-vault-transit", bao.create_key("interop"),
                       bao.env(home))
    aws: Moto = request.getfixturevalue("moto")
    return Service("kms", "--kms", aws.create_key(), aws.env(home))


def _types(fmt: str) -> tuple[str, ...]:
    # the binary plaintext has no extension sops knows: name its type for both tools
    return ("--input-type", "binary", "--output-type", "binary") if fmt == "binary" else ()


@pytest.mark.parametrize("fmt", list(PLAINS))
def test_both_ways_in_every_format(fmt: str, service: Service, tmp_path: Path,
                                   sops_bin: str) -> None:
    name, text = PLAINS[fmt]
    plain = tmp_path / name
    plain.write_bytes(text.encode("latin-1") if fmt == "binary" else text.encode())
    env = service.env
    types = _types(fmt)
    ours = tmp_path / f"ours.{name}"
    ours.write_bytes(ok(run_encfile("-e", *types, service.flag, service.key, str(plain),
                                    env=env), "encfile -e"))
    theirs = tmp_path / f"theirs.{name}"
    theirs.write_bytes(ok(sops(sops_bin, "-e", *types, service.flag, service.key, str(plain),
                               env=env), "sops -e"))
    for path in (ours, theirs):  # each file holds one key of the service, as sops writes it
        text_of = path.read_text(errors="replace")
        assert f"{service.kind}" in text_of
    # encfile writes, sops reads
    assert ok(sops(sops_bin, "-d", *types, str(ours), env=env), "sops -d ours") == \
        ok(sops(sops_bin, "-d", *types, str(theirs), env=env), "sops -d theirs")
    assert ok(run_encfile("-d", *types, str(ours), env=env), "encfile -d ours") == \
        plain.read_bytes()
    # sops writes, encfile reads
    assert ok(run_encfile("-d", *types, str(theirs), env=env), "encfile -d theirs") == \
        ok(sops(sops_bin, "-d", *types, str(theirs), env=env), "sops -d theirs")


def _entries(path: Path) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = load_docs(path.read_text())[0]["sops"]["key_groups"]
    return groups


def test_kms_age_and_vault_groups_with_shamir(openbao: OpenBao, moto: Moto, tmp_path: Path,
                                              sops_bin: str) -> None:
    uri = openbao.create_key("team")
    arn = moto.create_key()
    (tmp_path / ".sops.yaml").write_text(f"""creation_rules:
  - path_regex: .*
    shamir_threshold: 2
    key_groups:
      - kms:
          - arn: {arn}
            context:
              team: platform
        age: [{TEST_PUBLIC}]
      - hc_vault: [{uri}]
""")
    home = tmp_path / "home"
    services = {**moto.env(home), "VAULT_TOKEN": openbao.ROOT}
    everything = {**services, "SOPS_AGE_KEY_FILE": str(KEY_FILE)}
    vault_and_age = {**openbao.env(home), "SOPS_AGE_KEY_FILE": str(KEY_FILE)}
    plain = tmp_path / "app.yaml"
    plain.write_text(PLAINS["yaml"][1])
    ours = tmp_path / "ours.enc.yaml"
    theirs = tmp_path / "theirs.enc.yaml"
    ours.write_bytes(ok(run_encfile("-e", str(plain), env=everything, cwd=tmp_path),
                        "encfile -e"))
    theirs.write_bytes(ok(sops(sops_bin, "-e", str(plain), env=everything, cwd=tmp_path),
                          "sops -e"))
    for path in (ours, theirs):
        groups = _entries(path)
        assert [sorted(k for k in g if g[k]) for g in groups] == [["age", "kms"],
                                                                  ["hc_vault"]]
        assert groups[0]["kms"][0]["context"] == {"team": "platform"}
        reference = ok(sops(sops_bin, "-d", str(theirs), env=everything), "sops -d")
        # each tool, with the services only, and with Vault and age only (no AWS at all)
        for env in (services, vault_and_age):
            assert ok(run_encfile("-d", str(path), env=env), f"encfile -d {path.name}") == \
                (plain.read_bytes() if path == ours else reference)
            assert ok(sops(sops_bin, "-d", str(path), env=env), f"sops -d {path.name}") == \
                (ok(sops(sops_bin, "-d", str(ours), env=everything), "sops -d")
                 if path == ours else reference)
        # one group is not enough
        alone = {**moto.env(home), "SOPS_AGE_KEY_FILE": str(KEY_FILE)}
        assert run_encfile("-d", str(path), env=alone).returncode == 128
        assert sops(sops_bin, "-d", str(path), env=alone).returncode == 128
