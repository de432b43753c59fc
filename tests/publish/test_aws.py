"""``encfile publish`` to S3 and AWS Secrets Manager on a real moto server; sops's own S3
publish test (which upstream skips for lack of a server) runs here against it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import OTHER_KEY_FILE, OTHER_PUBLIC, run_encfile
from fakecloud import go_sops
from gpg_support import FT_B611, FUNCTIONAL, GnuPG, gnupg_functional, gpg_keys  # noqa: F401
from publish_support import (
    DOC,
    decrypted_data,
    encrypted,
    ok,
    project,
    publish,
    sops_publish,
    with_key,
)
from servers import Moto, moto_fixture, moto_server_fixture  # noqa: F401

pytestmark = pytest.mark.sops


def bucket(moto: Moto, name: str = "bkt") -> str:
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def object_versions(moto: Moto, key: str, name: str = "bkt") -> int:
    found = moto.client("s3").list_object_versions(Bucket=name, Prefix=key)
    return len([v for v in found.get("Versions", []) if v["Key"] == key])


def body(moto: Moto, key: str, name: str = "bkt") -> bytes:
    data: bytes = moto.client("s3").get_object(Bucket=name, Key=key)["Body"].read()
    return data


def test_s3_gets_the_encrypted_file_byte_for_byte(moto: Moto, tmp_path: Path) -> None:
    env = with_key(moto.env(tmp_path / "home"))
    bucket(moto)
    root = project(tmp_path / "p", "  - s3_bucket: bkt\n    s3_prefix: pre/\n")
    path = encrypted(root, "db.json", env=env)
    yaml_path = encrypted(root, "deep/web.yaml", text="a: 1\n", env=env)
    ok(publish("-y", "db.json", env=env, cwd=root))
    assert body(moto, "pre/db.json") == path.read_bytes()
    assert b"s3cret-value-1" not in body(moto, "pre/db.json")
    ok(publish("-y", "db.json", env=env, cwd=root))
    assert object_versions(moto, "pre/db.json") == 1  # unchanged: not written again
    # from a folder: named below it, every file once
    ok(publish("-y", "--recursive", ".", env=env, cwd=root))
    assert body(moto, "pre/deep/web.yaml") == yaml_path.read_bytes()
    assert object_versions(moto, "pre/db.json") == 1
    # a changed value: the dry run names it by its ciphertext, never a value
    assert run_encfile("set", str(path), '["port"]', "6543", env=env).returncode == 0
    dry = publish("--dry-run", "db.json", env=env, cwd=root)
    assert dry.stdout.decode().splitlines()[1:] == ["    ~ port"], dry.stdout
    ok(publish("-y", "db.json", env=env, cwd=root))
    assert body(moto, "pre/db.json") == path.read_bytes()
    assert object_versions(moto, "pre/db.json") == 2


def test_sops_functional_s3_publish_passes_against_moto(moto: Moto, tmp_path: Path,
                                                        gnupg_functional: GnuPG,  # noqa: F811
                                                        ) -> None:
    """functional-tests/src/lib.rs ``publish_json_file_s3``: its .sops.yaml, PGP keys and
    file; sops encrypts, publishes with --yes, and the object is there (the upstream
    TODO). sops ignores the rule's ``reencryption_rule`` (its key is
    ``recreation_rule``); encfile uses it, for the public key B611…, and says so."""
    root = tmp_path / "functional"
    root.mkdir()
    shutil.copy(FUNCTIONAL / "sops.yaml.txt", root / ".sops.yaml")
    env = gnupg_functional.env(moto.env(tmp_path / "home"))
    bucket(moto, "sops-publish-functional-tests")
    name = "test_encrypt_publish_s3.json"
    path = encrypted(root, name, text='{\n    "foo": 2,\n    "bar": "baz"\n}', env=env,
                     tool="sops")
    ok(sops_publish("--yes", name, env=env, cwd=root))
    key = f"functional-test/{name}"
    assert body(moto, key, "sops-publish-functional-tests") == path.read_bytes()
    err = ok(publish("--yes", name, env=env, cwd=root))
    assert "ignores 'reencryption_rule'" in err
    copy = json.loads(body(moto, key, "sops-publish-functional-tests"))
    assert [k["fp"] for k in copy["sops"]["pgp"]] == [FT_B611]
    assert copy["foo"].startswith("ENC[") and copy["sops"]["mac"]
    ok(publish("--yes", name, env=env, cwd=root))  # the copy's stamp: up to date
    assert object_versions(moto, key, "sops-publish-functional-tests") == 2  # sops's, ours


def test_recreation_rule_copy_is_for_its_keys_only(moto: Moto, tmp_path: Path) -> None:
    env = with_key(moto.env(tmp_path / "home"))
    bucket(moto)
    rule = (f"  - s3_bucket: bkt\n    recreation_rule:\n      age: {OTHER_PUBLIC}\n")
    other = {**env, "SOPS_AGE_KEY_FILE": str(OTHER_KEY_FILE)}
    for tool in ("encfile", "sops"):
        root = project(tmp_path / tool, rule)
        path = encrypted(root, "db.json", env=env)
        run = publish if tool == "encfile" else sops_publish
        ok(run("-y", "db.json", env=env, cwd=root))
        copy = tmp_path / f"{tool}-copy.json"
        copy.write_bytes(body(moto, "db.json"))
        assert decrypted_data(copy, other) == decrypted_data(path, env) == DOC
        by_sops = subprocess.run([go_sops(), "decrypt", str(copy)], env=other,
                                 capture_output=True, timeout=60)
        assert by_sops.returncode == 0 and json.loads(by_sops.stdout) == DOC
        assert run_encfile("-d", str(copy), env=env).returncode == 128  # not the old key
    # encfile's copy is stamped: a re-run writes nothing (sops's copy had no stamp)
    root = tmp_path / "encfile"
    ok(publish("-y", "db.json", env=env, cwd=root))
    before = object_versions(moto, "db.json")
    err = ok(publish("-y", "db.json", env=env, cwd=root))
    assert "is up to date" in err and object_versions(moto, "db.json") == before


def secret_versions(moto: Moto, name: str) -> int:
    found = moto.client("secretsmanager").list_secret_version_ids(SecretId=name)
    return len(found["Versions"])


def secret(moto: Moto, name: str) -> str:
    value: str = moto.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    return value


def test_secrets_manager_whole_and_split(moto: Moto, tmp_path: Path) -> None:
    env = with_key(moto.env(tmp_path / "home"))
    root = project(tmp_path / "p", "  - path_regex: '^whole'\n    aws_secret_name: app/db\n"
                                   "  - path_regex: '^split'\n    aws_secret_name: app/split\n"
                                   "    aws_secret_split: true\n")
    whole = encrypted(root, "whole.json", env=env)
    split = encrypted(root, "split.yaml", text="user: app\npassword: pw-value-9\nport: 5432\n"
                                               "opts: {tls: true}\n", env=env)
    ok(publish("-y", "whole.json", "split.yaml", env=env, cwd=root))
    assert json.loads(secret(moto, "app/db")) == decrypted_data(whole, env)
    assert {k: secret(moto, f"app/split/{k}") for k in ("user", "password", "port", "opts")} \
        == {"user": "app", "password": "pw-value-9", "port": "5432", "opts": '{"tls":true}'}
    ok(publish("-y", "whole.json", "split.yaml", env=env, cwd=root))
    assert secret_versions(moto, "app/db") == 1 and secret_versions(moto, "app/split/user") == 1
    # a key removed from the file: its split secret is scheduled for deletion
    split.write_text("user: app\npassword: pw-value-10\nopts: {tls: true}\n")
    assert run_encfile("-e", "-i", str(split), env=env).returncode == 0
    dry = publish("--dry-run", "split.yaml", env=env, cwd=root).stdout.decode()
    assert "~ password" in dry and "- port" in dry and "pw-value" not in dry
    ok(publish("-y", "split.yaml", env=env, cwd=root))
    client = moto.client("secretsmanager")
    assert client.describe_secret(SecretId="app/split/port").get("DeletedDate")
    assert secret(moto, "app/split/password") == "pw-value-10"
    assert secret_versions(moto, "app/split/user") == 1
    # without a region there is no Secrets Manager to ask
    no_region = {k: v for k, v in env.items() if "REGION" not in k}
    result = publish("-y", "whole.json", env=no_region, cwd=root)
    assert result.returncode == 1 and b"no AWS region" in result.stderr
