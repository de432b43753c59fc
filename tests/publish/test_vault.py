"""``encfile publish`` to Vault KV v1 and v2 on a real OpenBao server, with sops publishing
to the same server as the oracle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED, TEST_PUBLIC, load_docs, run_encfile
from publish_support import (
    DOC,
    AtPrompt,
    decrypted_data,
    encrypted,
    ok,
    project,
    publish,
    sops_publish,
    with_key,
)
from servers import OpenBao, openbao_fixture, openbao_server_fixture  # noqa: F401

pytestmark = pytest.mark.sops


def vault_rule(openbao: OpenBao, path: str = "app/", mount: str = "secret/", version: int = 2,
               regex: str = "") -> str:
    return (f"  - vault_path: {path}\n    vault_kv_mount_name: {mount}\n"
            f"    vault_kv_version: {version}\n    vault_address: {openbao.address}\n"
            + (f"    path_regex: '{regex}'\n" if regex else ""))


def kv2(openbao: OpenBao, path: str) -> tuple[object, int]:
    """(the data, the current version) of a KV v2 secret at secret/PATH."""
    answer = openbao.call("GET", f"secret/data/{path}")
    return answer["data"]["data"], answer["data"]["metadata"]["version"]


def versions(openbao: OpenBao, path: str, mount: str = "secret") -> int:
    return int(openbao.call("GET", f"{mount}/metadata/{path}")["data"]["current_version"])


def test_kv2_holds_exactly_what_decrypt_gives(openbao: OpenBao, tmp_path: Path) -> None:
    env = with_key(openbao.env(tmp_path / "home"))
    root = project(tmp_path / "p", vault_rule(openbao))
    path = encrypted(root, "db.json", env=env)
    yaml_path = encrypted(root, "web.yaml", text="name: web\nreplicas: 3\nflags: {a: true}\n"
                          "hosts:\n  - h1\n  - h2\n", env=env)
    err = ok(publish("-y", "db.json", "web.yaml", env=env, cwd=root))
    assert "published 'db.json'" in err and openbao.ROOT not in err
    data, version = kv2(openbao, "app/db.json")
    assert data == decrypted_data(path, env) == DOC and version == 1
    plain = run_encfile("-d", str(yaml_path), env=env).stdout.decode()
    assert kv2(openbao, "app/web.yaml")[0] == load_docs(plain)[0]
    # a second run over the unchanged files writes no new version
    err = ok(publish("-y", "db.json", "web.yaml", env=env, cwd=root))
    assert "is up to date" in err
    assert versions(openbao, "app/db.json") == 1 and versions(openbao, "app/web.yaml") == 1


def test_a_change_is_one_new_version_and_the_dry_run_names_keys_only(
        openbao: OpenBao, tmp_path: Path) -> None:
    env = with_key(openbao.env(tmp_path / "home"))
    root = project(tmp_path / "p", vault_rule(openbao))
    path = encrypted(root, "db.json", env=env)
    dry = publish("--dry-run", "db.json", env=env, cwd=root)
    assert dry.returncode == 0 and b"+ db_password" in dry.stdout and b"new" in dry.stdout
    assert openbao.call("GET", "secret/data/app/db.json", ok=False)["errors"] == []  # 404
    ok(publish("-y", "db.json", env=env, cwd=root))
    changed = {k: v for k, v in DOC.items() if k != "debug"}
    changed["port"] = 6432
    changed["added"] = "new-secret-value-2"
    path.write_text(json.dumps(changed))
    assert run_encfile("-e", "-i", str(path), env=env).returncode == 0
    dry = publish("--dry-run", "db.json", env=env, cwd=root)
    report = dry.stdout.decode()
    assert dry.returncode == 0, dry.stderr.decode()
    assert "+ added" in report and "~ port" in report and "- debug" in report
    assert "~ db_password" not in report and "version 1 there" in report
    for value in ("new-secret-value-2", "6432", "s3cret-value-1"):
        assert value not in report + dry.stderr.decode()
    assert versions(openbao, "app/db.json") == 1  # a dry run writes nothing
    ok(publish("-y", "db.json", env=env, cwd=root))
    assert kv2(openbao, "app/db.json") == (changed, 2)


def test_kv_v1_and_v2_as_sops_functional_tests_publish(openbao: OpenBao,
                                                       tmp_path: Path) -> None:
    """sops's functional suite (publish_json_file_vault, …_version_1): its destination
    rules, its files, ``publish --yes``; sops and encfile agree both ways."""
    config = (SHARED / "corpus" / "sops-made" / "sops-functional-tests" / "sops.yaml.txt")
    if not config.is_file():
        pytest.skip("../shared's sops functional-test fixtures are not present")
    rules = config.read_text().split("destination_rules:\n", 1)[1]
    rules = rules.replace('vault_kv_version: 2\n',
                          f'vault_kv_version: 2\n      vault_address: {openbao.address}\n')
    rules = rules.replace('vault_kv_version: 1\n',
                          f'vault_kv_version: 1\n      vault_address: {openbao.address}\n')
    root = tmp_path / "p"
    root.mkdir()
    (root / ".sops.yaml").write_text(f"creation_rules:\n    - age: {TEST_PUBLIC}\n"
                                     f"destination_rules:\n{rules}")
    env = with_key(openbao.env(tmp_path / "home"))
    files = {"test_encrypt_publish_vault.json": ("secret", "functional-test/"),
             "test_encrypt_publish_vault_version_1.json": ("kv", "functional-test-version-1/")}

    def read(name: str) -> object:
        mount, prefix = files[name]
        answer = openbao.call("GET", f"{mount}/{'data/' if mount == 'secret' else ''}"
                                     f"{prefix}{name}")
        return answer["data"]["data"] if mount == "secret" else answer["data"]

    for name in files:
        encrypted(root, name, {"foo": 2, "bar": "baz"}, env=env, tool="sops")
        ok(sops_publish("--yes", name, env=env, cwd=root))
        by_sops = read(name)
        assert by_sops == {"foo": 2, "bar": "baz"}
        err = ok(publish("--yes", name, env=env, cwd=root))
        assert "is up to date" in err  # encfile reads what sops wrote as its own
    assert versions(openbao, f"functional-test/{next(iter(files))}") == 1
    for name in files:  # and the other way: sops publishes what encfile wrote, unchanged
        path = root / name
        path.write_text(json.dumps({"foo": 3, "bar": "qux", "new": [1, 2]}))
        assert run_encfile("-e", "-i", str(path), env=env, cwd=root).returncode == 0
        ok(publish("--yes", name, env=env, cwd=root))
        assert read(name) == decrypted_data(path, env)
        ok(sops_publish("--yes", name, env=env, cwd=root))
        assert read(name) == {"foo": 3, "bar": "qux", "new": [1, 2]}


def test_recursive_and_omit_extensions_name_secrets_as_sops(openbao: OpenBao,
                                                            tmp_path: Path) -> None:
    env = with_key(openbao.env(tmp_path / "home"))
    trees = {}
    for tool, prefix in (("sops", "by-sops/"), ("encfile", "by-encfile/")):
        root = project(tmp_path / tool, vault_rule(openbao, prefix, version=1, mount="kv/"))
        encrypted(root, "secrets/a.json", {"a": 1}, env=env)
        encrypted(root, "secrets/deep/b.json", {"b": "two"}, env=env)
        encrypted(root, "secrets/deep/c.enc.json", {"c": True}, env=env)
        run = sops_publish if tool == "sops" else publish
        ok(run("-y", "--recursive", "--omit-extensions", "secrets", env=env, cwd=root))
        listed = openbao.call("LIST", f"kv/{prefix}")["data"]["keys"]
        deep = openbao.call("LIST", f"kv/{prefix}deep/")["data"]["keys"]
        trees[tool] = (sorted(listed), sorted(deep))
    assert trees["encfile"] == trees["sops"] == (["a", "deep/"], ["b", "c.enc"])
    assert openbao.call("GET", "kv/by-encfile/deep/c.enc")["data"] == {"c": True}
    # files below the folder that are not encrypted, or have no rule, are skipped
    root = tmp_path / "encfile"
    (root / "secrets" / "README.md").write_text("not a secret\n")
    (root / "secrets" / "broken.yaml").write_text("a: [\n")
    err = ok(publish("-y", "--recursive", "secrets", env=env, cwd=root))
    assert "README" not in err and "skipped 'secrets/broken.yaml'" in err


def test_check_and_set_reports_a_concurrent_change(openbao: OpenBao, tmp_path: Path) -> None:
    """Someone publishes while encfile waits for its (y/n): encfile's write, carrying the
    version it read, is refused by KV v2 and reported; the other version stays."""
    env = with_key(openbao.env(tmp_path / "home"))
    root = project(tmp_path / "p", vault_rule(openbao))
    encrypted(root, "db.json", env=env)
    openbao.call("POST", "secret/data/app/db.json", {"data": {"old": "x"}})
    asked = AtPrompt("db.json", env=env, cwd=root)
    assert "+ db_password" in asked.err.decode() and "- old" in asked.err.decode()
    openbao.call("POST", "secret/data/app/db.json", {"data": {"theirs": "y"}})
    code, err = asked.answer("y")
    assert code == 1, err
    assert "changed since it was read (version 1): nothing was written" in err
    assert "not published: 'db.json'" in err
    assert kv2(openbao, "app/db.json") == ({"theirs": "y"}, 2)
    # answered "n", a file named on its own is not published, and that is an error (sops)
    code, err = AtPrompt("db.json", env=env, cwd=root).answer("n")
    assert code == 1 and "declined" in err
    assert versions(openbao, "app/db.json") == 2


def test_a_partial_failure_says_exactly_what_was_written(openbao: OpenBao,
                                                         tmp_path: Path) -> None:
    env = with_key(openbao.env(tmp_path / "home"))
    rules = (vault_rule(openbao, regex=r"^(a|c)\.json$")
             + vault_rule(openbao, mount="missing-mount/", regex=r"^b\.json$"))
    root = project(tmp_path / "p", rules)
    for name in ("a.json", "b.json", "c.json"):
        encrypted(root, name, {name[0]: name}, env=env)
    ok(publish("-y", "c.json", env=env, cwd=root))
    result = publish("-y", "-q", "a.json", "b.json", "c.json", env=env, cwd=root)
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert f"written: 'a.json' to {openbao.address}/v1/secret/data/app/a.json" in err
    assert f"up to date: 'c.json' at {openbao.address}/v1/secret/data/app/c.json" in err
    assert "not published: 'b.json'" in err and "1 of 3 file(s) not published" in err
    assert "missing-mount/data/app/b.json" in err and "HTTP 404" in err
    assert kv2(openbao, "app/a.json")[0] == {"a": "a.json"}


def test_refusals_are_one_line_and_never_the_token(openbao: OpenBao, tmp_path: Path) -> None:
    env = with_key(openbao.env(tmp_path / "home"))
    root = project(tmp_path / "p", vault_rule(openbao))
    encrypted(root, "db.json", env=env)
    # no terminal and no -y: an error at once, never a hang
    result = publish("db.json", env=env, cwd=root)
    assert result.returncode == 1 and b"no terminal to ask on" in result.stderr
    # a token whose policy does not cover the path
    reader = openbao.token(display_name="reader")
    result = publish("-y", "db.json", env={**env, "VAULT_TOKEN": reader}, cwd=root)
    err = result.stderr.decode()
    assert result.returncode == 1 and "permission denied (HTTP 403)" in err
    assert reader not in err and openbao.ROOT not in err and "Traceback" not in err
    # no token at all
    result = publish("-y", "db.json", env={k: v for k, v in env.items()
                                            if k != "VAULT_TOKEN"}, cwd=root)
    assert result.returncode == 1 and b"no Vault token" in result.stderr
    # a file that no rule matches, and a missing file
    encrypted(root, "other/x.json", {"x": 1}, env=env)
    (root / ".sops.yaml").write_text((root / ".sops.yaml").read_text()
                                     .replace("vault_address", "path_regex: '^db'\n    "
                                                               "vault_address"))
    result = publish("-y", "other/x.json", env=env, cwd=root)
    assert result.returncode == 1 and b"no destination rule" in result.stderr
    assert publish("-y", "nope.json", env=env, cwd=root).returncode == 100


def test_publishing_to_vault_loads_no_cloud_sdk(openbao: OpenBao, tmp_path: Path) -> None:
    """google-cloud-storage and botocore load only for their destinations."""
    from fakecloud import modules_after

    env = with_key(openbao.env(tmp_path / "home"))
    root = project(tmp_path / "p", vault_rule(openbao))
    path = encrypted(root, "db.json", env=env)
    loaded = modules_after(["publish", "-y", str(path)], {**env, "PWD": str(root)})
    assert kv2(openbao, "app/db.json")[1] == 1
    assert not loaded & {"botocore", "boto3", "google"}, loaded
