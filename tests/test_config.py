"""Creation rules (.encfile.yaml / .sops.yaml), driven through the CLI as a user runs it.

sops is the oracle for what a rule means: the same config and file encrypted by both tools
must store the same rule, the same recipients and encrypt the same values.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import (
    OTHER_PUBLIC,
    OTHER_SECRET,
    TEST_PUBLIC,
    TEST_SECRET,
    clean_env,
    load_docs,
    run_encfile,
)

import encfile
from encfile import config

PLAIN = b"user: admin\npassword: hunter2\nport: 5432\n"
SECRET_MANIFEST = b"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  LOG_LEVEL: info
---
apiVersion: v1
kind: Secret
metadata:
  name: app
  labels: {team: shop}
type: Opaque
stringData:
  DATABASE_URL: postgres://app:s3cret@db/app
"""


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def metadata(enc: bytes) -> dict[str, object]:
    docs = load_docs(enc.decode())
    sops = docs[0]["sops"]
    assert isinstance(sops, dict)
    return sops


def encrypted_keys(enc: bytes) -> set[str]:
    doc = load_docs(enc.decode())[0]
    return {k for k, v in doc.items() if k != "sops" and str(v).startswith("ENC[")}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write(root / ".sops.yaml", f"""\
creation_rules:
  - path_regex: secrets/prod/.*\\.yaml$
    encrypted_regex: ^password$
    age: {TEST_PUBLIC}
  - path_regex: ^team/
    age: [{TEST_PUBLIC}, {OTHER_PUBLIC}]
""")
    write(root / "secrets" / "prod" / "db.yaml", PLAIN)
    write(root / "team" / "db.yaml", PLAIN)
    write(root / "elsewhere.yaml", PLAIN)
    return root


@pytest.fixture
def env_no_recipients(home: Path) -> dict[str, str]:
    return clean_env(home, SOPS_AGE_KEY_FILE=str(Path(__file__).parent.parent / "testdata"
                                                  / "keys" / "test-key.txt"))


# -- discovery ---------------------------------------------------------------------------------

def test_rule_found_from_the_files_folder_not_the_working_directory(
        repo: Path, tmp_path: Path, env_no_recipients: dict[str, str]) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    result = run_encfile("-e", str(repo / "secrets" / "prod" / "db.yaml"),
                         env=env_no_recipients, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    meta = metadata(result.stdout)
    assert meta["encrypted_regex"] == "^password$"
    assert encrypted_keys(result.stdout) == {"password"}
    assert [a["recipient"] for a in meta["age"]] == [TEST_PUBLIC]  # type: ignore[index]


def test_second_rule_gives_two_recipients(repo: Path, env_no_recipients: dict[str, str]) -> None:
    result = run_encfile("-e", str(repo / "team" / "db.yaml"), env=env_no_recipients)
    assert result.returncode == 0, result.stderr
    meta = metadata(result.stdout)
    assert [a["recipient"] for a in meta["age"]] == [TEST_PUBLIC, OTHER_PUBLIC]  # type: ignore[index]
    assert meta["unencrypted_suffix"] == "_unencrypted"
    assert encrypted_keys(result.stdout) == {"user", "password", "port"}
    for secret in (TEST_SECRET, OTHER_SECRET):
        assert encfile.decrypt(result.stdout.decode(), identities=[secret]) == PLAIN.decode()


def test_nearest_config_wins_and_encfile_yaml_beats_sops_yaml(
        repo: Path, env_no_recipients: dict[str, str]) -> None:
    nested = repo / "secrets" / "prod"
    write(nested / ".sops.yaml", f"creation_rules:\n  - encrypted_regex: ^user$\n"
                                 f"    age: {OTHER_PUBLIC}\n")
    result = run_encfile("-e", str(nested / "db.yaml"), env=env_no_recipients)
    assert metadata(result.stdout)["encrypted_regex"] == "^user$"
    write(nested / ".encfile.yaml", f"creation_rules:\n  - encrypted_regex: ^port$\n"
                                    f"    age: {TEST_PUBLIC}\nmax_age: 90d\n")
    result = run_encfile("-e", str(nested / "db.yaml"), env=env_no_recipients)
    assert result.returncode == 0, result.stderr
    assert metadata(result.stdout)["encrypted_regex"] == "^port$"
    assert encrypted_keys(result.stdout) == {"port"}


@pytest.mark.parametrize("how", ["--config", "SOPS_CONFIG", "ENCFILE_CONFIG"])
def test_explicit_config_overrides_the_search(repo: Path, tmp_path: Path, how: str,
                                              env_no_recipients: dict[str, str]) -> None:
    other = write(tmp_path / "ci" / "rules.yaml",
                  f"creation_rules:\n  - unencrypted_regex: ^user$\n    age: {OTHER_PUBLIC}\n")
    target = str(repo / "secrets" / "prod" / "db.yaml")
    if how == "--config":
        result = run_encfile("-e", "--config", str(other), target, env=env_no_recipients)
    else:
        result = run_encfile("-e", target, env={**env_no_recipients, how: str(other)})
    assert result.returncode == 0, result.stderr
    meta = metadata(result.stdout)
    assert meta["unencrypted_regex"] == "^user$"
    assert [a["recipient"] for a in meta["age"]] == [OTHER_PUBLIC]  # type: ignore[index]


def test_path_regex_is_relative_to_the_config_folder(repo: Path) -> None:
    cfg = config.load(str(repo / ".sops.yaml"))
    assert cfg.relative(str(repo / "secrets" / "prod" / "db.yaml")) == "secrets/prod/db.yaml"
    rule = cfg.rule_for(str(repo / "secrets" / "prod" / "db.yaml"))
    assert rule is not None and rule.line == 2
    assert cfg.rule_for(str(repo / "elsewhere.yaml")) is None
    outside = "/srv/team/db.yaml"
    assert cfg.relative(outside) == outside  # outside the folder: the absolute path, as sops


# -- what a rule does, and what flags do to it ---------------------------------------------------

def test_no_matching_rule_is_an_error_unless_recipients_are_given(
        repo: Path, env_no_recipients: dict[str, str]) -> None:
    target = repo / "elsewhere.yaml"
    result = run_encfile("-e", str(target), env=env_no_recipients)
    assert result.returncode == 1 and result.stdout == b""
    stderr = result.stderr.decode()
    assert "no creation rule" in stderr and "elsewhere.yaml" in stderr
    assert "encfile: hint: the rules' path_regex" in stderr
    result = run_encfile("-e", "--age", OTHER_PUBLIC, str(target), env=env_no_recipients)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == PLAIN


def test_age_flag_replaces_the_keys_but_keeps_the_rules_options(
        repo: Path, env_no_recipients: dict[str, str]) -> None:
    result = run_encfile("-e", "--age", OTHER_PUBLIC, str(repo / "secrets" / "prod" / "db.yaml"),
                         env=env_no_recipients)
    meta = metadata(result.stdout)
    assert [a["recipient"] for a in meta["age"]] == [OTHER_PUBLIC]  # type: ignore[index]
    assert meta["encrypted_regex"] == "^password$"


def test_rule_flag_with_a_config_rule_is_a_conflict(repo: Path,
                                                    env_no_recipients: dict[str, str]) -> None:
    target = repo / "secrets" / "prod" / "db.yaml"
    result = run_encfile("-e", "--unencrypted-suffix", "_pub", str(target), env=env_no_recipients)
    assert result.returncode != 0 and result.stdout == b""
    assert "more than one of" in result.stderr.decode()


def test_no_config_and_no_recipients(tmp_path: Path, env_no_recipients: dict[str, str]) -> None:
    target = write(tmp_path / "lonely" / "a.yaml", PLAIN)
    result = run_encfile("-e", str(target), env=env_no_recipients)
    assert result.returncode == 1 and result.stdout == b""
    assert ".encfile.yaml" in result.stderr.decode()


def test_library_encrypt_file_uses_the_rules(repo: Path) -> None:
    enc = encfile.encrypt_file(repo / "secrets" / "prod" / "db.yaml")
    assert encrypted_keys(enc.encode()) == {"password"}
    assert encfile.loads(enc, identities=[TEST_SECRET])["password"] == "hunter2"


# -- checking the file ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("creation_rules:\n  - path_regx: x\n    age: a\n", "line 2: unknown key 'path_regx'"),
    ("creation_rules:\n  - path_regex: '(?<n>x)'\n    age: a\n",
     "line 2: path_regex '(?<n>x)' is not a valid regular expression"),
    ("creation_rules:\n  - age: a\n    encrypted_regex: '['\n",
     "line 3: encrypted_regex '[' is not a valid regular expression"),
    ("creation_rules:\n  - age: a\n    encrypted_regex: x\n    unencrypted_suffix: y\n",
     "line 2: a rule can use only one of"),
    ("creation_rules:\n  - key_groups:\n      - age: [a]\n    shamir_threshold: 3\n",
     "shamir_threshold 3 is more than the 1 key groups"),
    (f"creation_rules:\n  - shamir_threshold: 1\n    key_groups:\n      - age: [{TEST_PUBLIC}]\n"
     f"      - age: [{TEST_PUBLIC}]\n", "line 2: a shamir_threshold of 1 cannot split"),
    # a group of HuaweiCloud KMS keys only: its Shamir share would be readable by no one
    ("creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [a]\n"
     "      - hckms: ['cn-north-4:0b9e']\n", "key group 2 has no keys encfile can write for"),
])
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    """A broken rule is an error naming its line once it is chosen for a file."""
    path = write(tmp_path / ".sops.yaml", text)
    cfg = config.load(str(path))  # as in sops: reading the file checks only the YAML
    with pytest.raises(encfile.ConfigError) as err:
        cfg.rule_for(str(tmp_path / "x.yaml"))
    assert message in str(err.value)


@pytest.mark.parametrize(("text", "message"), [
    ("creation_rules: [\n", "is not valid YAML"),
    ("creation_rules: {a: 1}\n", "'creation_rules' must be a list"),
    ("nonsense: 1\n", "line 1: unknown key 'nonsense'"),
])
def test_a_broken_config_file_is_an_error_when_read(tmp_path: Path, text: str,
                                                    message: str) -> None:
    path = write(tmp_path / ".sops.yaml", text)
    with pytest.raises(encfile.ConfigError) as err:
        config.load(str(path))
    assert message in str(err.value)


@pytest.mark.parametrize("broken", [
    "  - key_groups: [{}]\n",
    "  - path_regex: '(?<n>x)'\n    age: a\n",
    "  - unknown_key: 1\n    age: a\n",
    "  - 42\n",
])
def test_a_broken_rule_matters_only_when_it_is_chosen(tmp_path: Path, broken: str,
                                                      env: dict[str, str]) -> None:
    """sops reports a rule only when it is used: files other rules match keep working."""
    write(tmp_path / ".sops.yaml", f"creation_rules:\n  - path_regex: ^ok/\n"
                                   f"    age: {TEST_PUBLIC}\n{broken}")
    (tmp_path / "ok").mkdir()
    write(tmp_path / "ok" / "a.yaml", "password: hunter2\n")
    write(tmp_path / "b.yaml", "password: hunter2\n")
    result = run_encfile("-e", "ok/a.yaml", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert encfile.loads(result.stdout.decode(), identities=[TEST_SECRET]) == \
        {"password": "hunter2"}
    refused = run_encfile("-e", "b.yaml", env=env, cwd=tmp_path)
    assert refused.returncode == 1 and refused.stdout == b""
    assert b"line 4" in refused.stderr and b"Traceback" not in refused.stderr


def test_yaml_errors_in_the_config_stay_fatal(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / ".sops.yaml", f"creation_rules:\n  - age: {TEST_PUBLIC}\n  - [\n")
    write(tmp_path / "a.yaml", "password: hunter2\n")
    result = run_encfile("-e", "a.yaml", env=env, cwd=tmp_path)
    assert result.returncode == 1 and b"not valid YAML" in result.stderr


def test_sops_only_keys_are_accepted_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / ".sops.yaml", f"""\
stores:
  yaml: {{indent: 2}}
creation_rules:
  - filename_regex: x
    age: {TEST_PUBLIC}
    key_groups:
      - age: [{TEST_PUBLIC}]
        merge:
          - age: [{OTHER_PUBLIC}]
""")
    with pytest.warns(encfile.EncfileWarning) as caught:
        cfg = config.load(str(path))
        cfg.rule_for(str(tmp_path / "x.yaml"))
    messages = [str(w.message) for w in caught]
    assert any("line 4: 'filename_regex' is a sops setting" in m for m in messages), messages
    assert any("line 5: 'age' is ignored: the rule has key_groups" in m for m in messages)
    assert not any("'stores'" in m for m in messages)  # read: the indent of YAML output
    groups = cfg.rules[0].check().key_groups
    assert [[k.id for k in g] for g in groups] == [[TEST_PUBLIC, OTHER_PUBLIC]]  # merge joins


def test_age_as_comma_separated_string(tmp_path: Path) -> None:
    path = write(tmp_path / ".sops.yaml",
                 f"creation_rules:\n  - age: ' {TEST_PUBLIC} ,, {OTHER_PUBLIC}'\n")
    groups = config.load(str(path)).rules[0].check().key_groups
    assert [[k.kind, k.id] for g in groups for k in g] == [["age", TEST_PUBLIC],
                                                          ["age", OTHER_PUBLIC]]


# -- sops as the oracle --------------------------------------------------------------------------

def _sops(sops_bin: str, args: list[str], cwd: Path, env: dict[str, str]) -> bytes:
    result = subprocess.run([sops_bin, *args], cwd=cwd, env=env, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


@pytest.mark.parametrize("target", ["secrets/prod/db.yaml", "team/db.yaml"])
def test_sops_and_encfile_read_the_config_the_same_way(
        repo: Path, target: str, sops_bin: str, env_no_recipients: dict[str, str]) -> None:
    ours = run_encfile("-e", str(repo / target), env=env_no_recipients)
    assert ours.returncode == 0, ours.stderr
    # sops looks for .sops.yaml from its working directory: run it at the config's folder.
    theirs = _sops(sops_bin, ["encrypt", target], repo, env_no_recipients)
    mine, sops_meta = metadata(ours.stdout), metadata(theirs)
    for key in ("encrypted_regex", "unencrypted_suffix"):
        assert mine.get(key) == sops_meta.get(key)
    assert [a["recipient"] for a in mine["age"]] == \
        [a["recipient"] for a in sops_meta["age"]]  # type: ignore[index]
    assert encrypted_keys(ours.stdout) == encrypted_keys(theirs)
    # and each tool reads the other's file
    enc = write(repo / "out.enc.yaml", ours.stdout)
    assert _sops(sops_bin, ["decrypt", str(enc)], repo, env_no_recipients) == PLAIN
    assert encfile.decrypt(theirs.decode(), identities=[TEST_SECRET]) == PLAIN.decode()


def test_shamir_key_groups_two_of_three(tmp_path: Path, sops_bin: str, home: Path) -> None:
    third = encfile.generate_identity()
    root = tmp_path / "repo"
    write(root / ".sops.yaml", f"""\
creation_rules:
  - shamir_threshold: 2
    key_groups:
      - age: [{TEST_PUBLIC}]
      - age: [{OTHER_PUBLIC}]
      - age: [{third.public}]
""")
    target = write(root / "s.yaml", PLAIN)
    result = run_encfile("-e", str(target), env=clean_env(home))
    assert result.returncode == 0, result.stderr
    meta = metadata(result.stdout)
    assert meta["shamir_threshold"] == 2 and len(meta["key_groups"]) == 3  # type: ignore[arg-type]
    enc = write(root / "s.enc.yaml", result.stdout)
    pairs = [(TEST_SECRET, OTHER_SECRET), (TEST_SECRET, third.secret), (OTHER_SECRET, third.secret)]
    for pair in pairs:
        assert encfile.decrypt(enc.read_text(), identities=list(pair)) == PLAIN.decode()
        sops_env = clean_env(home, SOPS_AGE_KEY="\n".join(pair))
        assert _sops(sops_bin, ["decrypt", str(enc)], root, sops_env) == PLAIN
    with pytest.raises(encfile.NoIdentityError):
        encfile.decrypt(enc.read_text(), identities=[third.secret])


# -- Kubernetes manifests --------------------------------------------------------------------------

def test_kubernetes_secret_defaults_to_data_and_stringdata(
        tmp_path: Path, env: dict[str, str], sops_bin: str) -> None:
    target = write(tmp_path / "app.yaml", SECRET_MANIFEST)
    result = run_encfile("-e", "--age", TEST_PUBLIC, str(target), env=env)
    assert result.returncode == 0, result.stderr
    stderr = result.stderr.decode()
    assert stderr.startswith("encfile: note: ") and "kubectl apply" in stderr
    docs = load_docs(result.stdout.decode())
    assert docs[1]["metadata"] == {"name": "app", "labels": {"team": "shop"}}
    assert docs[1]["type"] == "Opaque"
    assert docs[1]["stringData"]["DATABASE_URL"].startswith("ENC[")
    assert docs[0]["data"]["LOG_LEVEL"].startswith("ENC[")  # a ConfigMap's data too, as sops
    assert docs[0]["sops"]["encrypted_regex"] == "^(data|stringData)$"
    enc = write(tmp_path / "app.enc.yaml", result.stdout)
    decrypted = run_encfile("-d", str(enc), env=env)
    assert decrypted.stdout == SECRET_MANIFEST
    sops_out = subprocess.run([sops_bin, "decrypt", str(enc)], env=env, capture_output=True)
    assert sops_out.returncode == 0, sops_out.stderr
    assert load_docs(sops_out.stdout.decode()) == load_docs(SECRET_MANIFEST.decode())


@pytest.mark.parametrize(("text", "flags"), [
    (SECRET_MANIFEST.replace(b"kind: Secret", b"kind: ConfigMap"), []),  # no Secret
    (SECRET_MANIFEST + b"---\nnot: kubernetes\n", []),  # not every document is an object
    (SECRET_MANIFEST, ["--unencrypted-suffix", "_pub"]),  # a rule was chosen
])
def test_kubernetes_default_only_when_it_applies(tmp_path: Path, env: dict[str, str],
                                                 text: bytes, flags: list[str]) -> None:
    target = write(tmp_path / "app.yaml", text)
    result = run_encfile("-e", "--age", TEST_PUBLIC, *flags, str(target), env=env)
    assert result.returncode == 0, result.stderr
    assert b"note:" not in result.stderr
    assert "encrypted_regex" not in load_docs(result.stdout.decode())[0]["sops"]


def test_kubernetes_default_for_json_manifests(tmp_path: Path, env: dict[str, str]) -> None:
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"},
                "data": {"token": "c2VjcmV0"}}
    target = write(tmp_path / "secret.json", json.dumps(manifest, indent=2) + "\n")
    result = run_encfile("-e", "--age", TEST_PUBLIC, str(target), env=env)
    enc = json.loads(result.stdout)
    assert enc["metadata"] == {"name": "x"} and enc["data"]["token"].startswith("ENC[")
    assert enc["sops"]["encrypted_regex"] == "^(data|stringData)$"
    assert re.search(r"note: .*Kubernetes", result.stderr.decode())
    assert os.path.getsize(target) > 0


def test_a_file_outside_the_project_gets_the_working_directorys_rules(
        tmp_path: Path, env: dict[str, str]) -> None:
    """sops's functional tests keep their files in a temp folder and the config in the
    working directory: with no config above the file, the one above the working
    directory applies. One above the file still wins."""
    project, outside = tmp_path / "project", tmp_path / "elsewhere" / "deep"
    (project / "sub").mkdir(parents=True)
    outside.mkdir(parents=True)
    write(project / ".sops.yaml", f"creation_rules:\n  - age: {TEST_PUBLIC}\n")
    target = write(outside / "s.yaml", "password: hunter2\n")
    result = run_encfile("-e", "-v", str(target), env=env, cwd=project / "sub")
    assert result.returncode == 0, result.stderr
    assert f"config '{project / '.sops.yaml'}'".encode() in result.stderr
    assert recipients_of(result.stdout.decode()) == [TEST_PUBLIC]
    write(outside / ".encfile.yaml", f"creation_rules:\n  - age: {OTHER_PUBLIC}\n")
    nearer = run_encfile("-e", "-v", str(target), env=env, cwd=project / "sub")
    assert nearer.returncode == 0, nearer.stderr
    assert f"config '{outside / '.encfile.yaml'}'".encode() in nearer.stderr
    assert recipients_of(nearer.stdout.decode()) == [OTHER_PUBLIC]


def recipients_of(text: str) -> list[str]:
    return [entry["recipient"] for entry in load_docs(text)[0]["sops"]["age"]]
