"""AWS KMS keys (``kms``) against a real moto server, with sops as the oracle.

The CLI runs in a subprocess against the session's moto server (``servers.moto``, reset
for each test), with dummy credentials, a private HOME and no metadata lookups.
Covered: the ARN forms (``ARN+ROLE_ARN``, lists, key-group mappings) and the metadata
entry; what sops's functional suite checks with KMS (an encrypt with ``--kms``, a round
trip with ``--encryption-context``); the context enforced on decrypt; roles through STS
with sops's session name; profiles (``--aws-profile``, ``AWS_PROFILE``, a rule's
``aws_profile``) and the endpoint variables; creation rules mixing KMS and age; rotate,
updatekeys; every failure (no credentials, 403, key not found, 500, a slow endpoint) as
exit 128 with one reason per key, against sops's exit code; boto3 missing; and the
import cost.
"""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY_FILE, TEST_PUBLIC, load_docs, ok, run_encfile
from servers import (  # noqa: F401 (fixtures: moto, canned)
    Moto,
    canned_fixture,
    free_port,
    moto_fixture,
    moto_server_fixture,
)

from encfile import keysources
from encfile.errors import InputError, RecipientError
from encfile.keysources import kms

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


def kms_entries(path: Path | str) -> list[dict[str, Any]]:
    text = path.read_text() if isinstance(path, Path) else path
    meta = load_docs(text)[0]["sops"]
    groups = meta.get("key_groups") or [meta]
    return [entry for group in groups for entry in group.get("kms") or []]


def encrypted(aws: Moto, tmp_path: Path, *args: str, name: str = "app.enc.yaml",
              env: dict[str, str] | None = None) -> Path:
    src = plain_file(tmp_path, "plain-" + name)
    out = tmp_path / name
    out.write_bytes(ok(encfile("-e", *args, str(src), env=env or aws.env(tmp_path / "home"))))
    return out


def no_keys(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items()
            if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}


def write_profile(home: Path, name: str) -> None:
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    (home / ".aws" / "credentials").write_text(
        f"[{name}]\naws_access_key_id = profile-key\naws_secret_access_key = profile-secret\n")


# -- the key and its entry ---------------------------------------------------------------------

ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = "arn:aws:iam::111122223333:role/deploy"


def test_arns_parse_as_sops_parses_them() -> None:
    keys = keysources.from_config("kms", f" {ARN}+{ROLE}, arn:aws:kms:us-east-1:1:alias/app",
                                  {"aws_profile": "ops",
                                   "encryption_context": {"env": "prod", "app": "web"}})
    assert [(k.arn, k.role, k.context, k.aws_profile) for k in keys] == [  # type: ignore[attr-defined]
        (ARN, ROLE, {"app": "web", "env": "prod"}, "ops"),
        ("arn:aws:kms:us-east-1:1:alias/app", "", {"app": "web", "env": "prod"}, "ops")]
    assert keys[0].id == f"{ARN}+{ROLE}|app:web,env:prod|ops"
    (plain,) = keysources.from_config("kms", ARN)
    assert plain.id == ARN
    (grouped,) = keysources.from_config("kms", [{"arn": ARN, "role": ROLE,
                                                 "context": {"team": "a"},
                                                 "aws_profile": "p"}],
                                        {"aws_profile": "rule-level"})
    assert (grouped.role, grouped.context, grouped.aws_profile) == (  # type: ignore[attr-defined]
        ROLE, {"team": "a"}, "p")
    for bad in ("not-an-arn", "arn:aws:s3:::bucket", [{"role": ROLE}], [{"arn": ARN, "x": 1}],
                [3]):
        with pytest.raises(RecipientError):
            keysources.from_config("kms", bad)


def test_the_entry_is_in_sops_order() -> None:
    key = kms.Key(ARN, ROLE, {"b": "2", "a": "1"}, "", "2024-01-02T03:04:05Z", "AAAA")
    assert list(key.to_metadata().items()) == [
        ("arn", ARN), ("role", ROLE), ("context", {"a": "1", "b": "2"}),
        ("created_at", "2024-01-02T03:04:05Z"), ("enc", "AAAA"), ("aws_profile", "")]
    bare = kms.Key(ARN, created_at="2024-01-02T03:04:05Z", enc="AAAA")
    assert list(bare.to_metadata()) == ["arn", "created_at", "enc", "aws_profile"]
    again = keysources.from_metadata("kms", key.to_metadata())
    assert again.same(key) and again.to_metadata() == key.to_metadata()
    for bad in ({"enc": "AAAA"}, {"arn": ARN}, {"arn": ARN, "enc": "AAAA", "context": "x"}):
        with pytest.raises(InputError):
            keysources.from_metadata("kms", bad)


def test_the_role_session_name_is_sops_s() -> None:
    host = socket.gethostname()
    expected = "sops@" + "".join(c for c in host if c.isalnum() or c in "=,.@[\\]^_")
    assert kms.session_name() == expected[:64]


# -- sops's functional checks, and the round trips -------------------------------------------------

def test_encrypt_with_kms(moto: Moto, tmp_path: Path, sops_bin: str) -> None:
    """sops's functional suite: ``sops -e --kms ARN``."""
    arn = moto.create_key()
    env = moto.env(tmp_path / "home")
    for by in (("--kms", arn), ("-k", arn)):
        path = encrypted(moto, tmp_path, *by)
        (entry,) = kms_entries(path)
        assert list(entry) == ["arn", "created_at", "enc", "aws_profile"]
        assert entry["arn"] == arn and entry["aws_profile"] == ""
        key = moto.client("kms").decrypt(CiphertextBlob=base64.b64decode(entry["enc"]))
        assert len(key["Plaintext"]) == 32, "enc is the standard base64 of KMS's blob"
        assert ok(encfile("-d", str(path), env=env)).decode() == PLAIN
        assert load_docs(ok(sops(sops_bin, "-d", str(path), env=env)).decode()) == \
            load_docs(PLAIN)
    by_var = encrypted(moto, tmp_path, name="var.enc.yaml",
                       env={**env, "SOPS_KMS_ARN": arn})
    assert [e["arn"] for e in kms_entries(by_var)] == [arn]


def test_round_trip_with_encryption_context(moto: Moto, tmp_path: Path,
                                            sops_bin: str) -> None:
    """sops's functional suite: a round trip with ``--encryption-context``."""
    arn = moto.create_key()
    env = moto.env(tmp_path / "home")
    path = encrypted(moto, tmp_path, "--kms", arn, "--encryption-context", "env:prod,app:web")
    (entry,) = kms_entries(path)
    assert list(entry) == ["arn", "context", "created_at", "enc", "aws_profile"]
    assert list(entry["context"].items()) == [("app", "web"), ("env", "prod")]
    client = moto.client("kms")
    blob = base64.b64decode(entry["enc"])
    assert len(client.decrypt(CiphertextBlob=blob, EncryptionContext=entry["context"])
               ["Plaintext"]) == 32
    assert ok(encfile("-d", str(path), env=env)).decode() == PLAIN
    assert load_docs(ok(sops(sops_bin, "-d", str(path), env=env)).decode()) == \
        load_docs(PLAIN)
    theirs = tmp_path / "theirs.enc.yaml"
    theirs.write_bytes(ok(sops(sops_bin, "-e", "--kms", arn, "--encryption-context",
                               "env:prod,app:web", str(plain_file(tmp_path)), env=env)))
    assert kms_entries(theirs)[0]["context"] == entry["context"]
    assert ok(encfile("-d", str(theirs), env=env)) == ok(sops(sops_bin, "-d", str(theirs),
                                                              env=env))


def test_the_encryption_context_is_enforced(moto: Moto, tmp_path: Path,
                                            sops_bin: str) -> None:
    arn = moto.create_key()
    env = moto.env(tmp_path / "home", ENCFILE_KEY_SERVICE_TIMEOUT="2")
    path = encrypted(moto, tmp_path, "--kms", arn, "--encryption-context", "env:prod")
    changed = tmp_path / "changed.enc.yaml"
    changed.write_text(path.read_text().replace("env: prod", "env: dev"))
    failed = encfile("-d", str(changed), env=env)
    assert failed.returncode == 128
    assert (f"tried kms {arn}|env:dev: KMS cannot decrypt this enc with this key and "
            "encryption context") in failed.stderr.decode()
    assert sops(sops_bin, "-d", str(changed), env=env).returncode == 128


def test_a_role_is_assumed_with_sops_s_session_name(moto: Moto, tmp_path: Path,
                                                    sops_bin: str) -> None:
    arn = moto.create_key()
    role = moto.role("deployer")
    env = moto.env(tmp_path / "home")
    path = encrypted(moto, tmp_path, "--kms", f"{arn}+{role}")
    (entry,) = kms_entries(path)
    assert (entry["arn"], entry["role"]) == (arn, role)
    assert list(entry) == ["arn", "role", "created_at", "enc", "aws_profile"]
    with moto.recording() as requests:
        assert ok(encfile("-d", str(path), env=env)).decode() == PLAIN
    ours = [r for r in moto.assumed_roles() if r["role_arn"] == role]
    assert [r["session_name"] for r in ours] == [kms.session_name()] * 2  # -e and -d
    (decrypt,) = [r for r in requests if r["target"] == "TrentService.Decrypt"]
    credential = decrypt["headers"]["Authorization"].split("Credential=")[1].split("/")[0]
    assert credential == ours[-1]["access_key_id"], "KMS was called as the assumed role"
    assert ok(sops(sops_bin, "-d", str(path), env=env))
    names = {r["session_name"] for r in moto.assumed_roles() if r["role_arn"] == role}
    assert names == {kms.session_name()}, "sops names its session the same way"


def test_alias_arns_work(moto: Moto, tmp_path: Path, sops_bin: str) -> None:
    arn = moto.create_key(alias="app")
    alias = arn.split(":key/")[0] + ":alias/app"
    env = moto.env(tmp_path / "home")
    path = encrypted(moto, tmp_path, "--kms", alias)
    assert kms_entries(path)[0]["arn"] == alias
    assert ok(encfile("-d", str(path), env=env)).decode() == PLAIN
    assert ok(sops(sops_bin, "-d", str(path), env=env))


def test_profiles_from_the_flag_the_variable_and_the_file(moto: Moto, tmp_path: Path,
                                                          sops_bin: str) -> None:
    arn = moto.create_key()
    home = tmp_path / "home"
    write_profile(home, "team")
    env = no_keys(moto.env(home))
    path = encrypted(moto, tmp_path, "--kms", arn, "--aws-profile", "team", env=env)
    assert kms_entries(path)[0]["aws_profile"] == "team"
    assert ok(encfile("-d", str(path), env=env)).decode() == PLAIN
    assert ok(sops(sops_bin, "-d", str(path), env=env))
    with moto.recording() as requests:
        assert ok(encfile("-d", str(path), env=env))
    (decrypt,) = [r for r in requests if r["target"] == "TrentService.Decrypt"]
    assert "Credential=profile-key/" in decrypt["headers"]["Authorization"]
    # a file without a profile: AWS_PROFILE picks one
    plain = encrypted(moto, tmp_path, "--kms", arn, name="plain.enc.yaml",
                      env={**env, "AWS_PROFILE": "team"})
    assert kms_entries(plain)[0]["aws_profile"] == ""
    assert ok(encfile("-d", str(plain), env={**env, "AWS_PROFILE": "team"})).decode() == PLAIN
    failed = encfile("-d", str(plain), env={**env, "AWS_PROFILE": "nobody",
                                            "ENCFILE_KEY_SERVICE_TIMEOUT": "2"})
    assert failed.returncode == 128
    assert f"tried kms {arn}: AWS profile 'nobody' not found".encode() in failed.stderr


def test_the_service_endpoint_variable_wins(moto: Moto, tmp_path: Path,
                                            sops_bin: str) -> None:
    arn = moto.create_key()
    env = {**moto.env(tmp_path / "home"), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
           "AWS_ENDPOINT_URL_KMS": moto.endpoint}
    path = encrypted(moto, tmp_path, "--kms", arn, env=env)
    assert ok(encfile("-d", str(path), env=env)).decode() == PLAIN
    assert ok(sops(sops_bin, "-d", str(path), env=env))


# -- rules, groups, rotate, updatekeys --------------------------------------------------------------

def _config(folder: Path, text: str) -> None:
    (folder / ".sops.yaml").write_text(text)


def test_rules_name_kms_keys_as_sops_reads_them(moto: Moto, tmp_path: Path,
                                                sops_bin: str) -> None:
    one, two = moto.create_key(), moto.create_key()
    role = moto.role("reader")
    home = tmp_path / "home"
    write_profile(home, "team")
    _config(tmp_path, f"""creation_rules:
  - path_regex: top/
    kms: {one},{two}+{role}
    aws_profile: team
  - path_regex: group/
    key_groups:
      - age: [{TEST_PUBLIC}]
        kms:
          - arn: {one}
            role: {role}
            context:
              app: web
            aws_profile: team
          - arn: {two}
""")
    env = moto.env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    for folder in ("top", "group"):
        src = plain_file(tmp_path / folder, "app.yaml")
        ours = ok(encfile("-e", str(src), env=env, cwd=tmp_path)).decode()
        theirs = ok(sops(sops_bin, "-e", str(src), env=env, cwd=tmp_path)).decode()

        def fields(text: str) -> list[tuple[Any, ...]]:
            return [(e["arn"], e.get("role"), e.get("context"), e["aws_profile"])
                    for e in kms_entries(text)]

        assert fields(ours) == fields(theirs)
        path = tmp_path / folder / "app.enc.yaml"
        path.write_text(ours)
        kms_only = moto.env(home)  # no age identity: KMS must open it
        assert ok(encfile("-d", str(path), env=kms_only)).decode() == PLAIN
        assert load_docs(ok(sops(sops_bin, "-d", str(path), env=kms_only)).decode()) == \
            load_docs(PLAIN)
    top = kms_entries((tmp_path / "top" / "app.enc.yaml").read_text())
    assert [(e["arn"], e.get("role"), e["aws_profile"]) for e in top] == [
        (one, None, "team"), (two, role, "team")]


def test_age_and_kms_in_one_group(moto: Moto, tmp_path: Path, sops_bin: str) -> None:
    arn = moto.create_key()
    home = tmp_path / "home"
    env = moto.env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    path = encrypted(moto, tmp_path, "--age", TEST_PUBLIC, "--kms", arn, env=env)
    meta = load_docs(path.read_text())[0]["sops"]
    assert len(meta["kms"]) == 1 and len(meta["age"]) == 1
    with moto.recording() as requests:
        assert ok(encfile("-d", str(path), env=no_keys(env))).decode() == PLAIN
    assert requests == [], "an age identity opened it: KMS was not asked"
    kms_only = moto.env(home)
    assert ok(encfile("-d", str(path), env=kms_only)).decode() == PLAIN
    assert ok(sops(sops_bin, "-d", str(path), env=kms_only))
    with moto.recording() as requests:
        assert ok(encfile("-d", "--decryption-order", "kms,age", str(path), env=env))
    assert [r["target"] for r in requests] == ["TrentService.Decrypt"]


def test_rotate_and_updatekeys_with_kms(moto: Moto, tmp_path: Path, sops_bin: str) -> None:
    arn = moto.create_key()
    home = tmp_path / "home"
    env = moto.env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    kms_only = moto.env(home)
    path = encrypted(moto, tmp_path, "--age", TEST_PUBLIC, env=env)
    ok(encfile("rotate", "-i", "--add-kms", arn, "--encryption-context", "app:web", str(path),
               env=env))
    assert [(e["arn"], e["context"]) for e in kms_entries(path)] == [(arn, {"app": "web"})]
    assert ok(encfile("-d", str(path), env=kms_only)).decode() == PLAIN
    assert ok(sops(sops_bin, "-d", str(path), env=kms_only))
    ok(encfile("rotate", "-i", "--rm-kms", arn, "--encryption-context", "app:web", str(path),
               env=env))
    assert kms_entries(path) == []
    _config(tmp_path, f"creation_rules:\n  - path_regex: .*\n    age: {TEST_PUBLIC}\n"
                      f"    kms: {arn}\n")
    ok(encfile("updatekeys", "-y", str(path), env=env, cwd=tmp_path))
    assert [e["arn"] for e in kms_entries(path)] == [arn]
    assert ok(encfile("-d", str(path), env=kms_only)).decode() == PLAIN
    assert load_docs(ok(sops(sops_bin, "-d", str(path), env=kms_only)).decode()) == \
        load_docs(PLAIN)


# -- failures: exit 128, one reason per key, sops agrees ------------------------------------------

DENIED = ('{"__type":"AccessDeniedException","message":"User: arn:aws:sts::123456789012:'
          'assumed-role/ci/x is not authorized to perform: kms:Decrypt on this resource '
          'because no identity-based policy allows the kms:Decrypt action"}')


@pytest.mark.parametrize("case", ["no credentials", "403", "key not found", "500", "slow"])
def test_failures_exit_128_with_one_reason(case: str, moto: Moto, canned: Any,
                                           tmp_path: Path, sops_bin: str) -> None:
    arn = moto.create_key()
    home = tmp_path / "home"
    path = encrypted(moto, tmp_path, "--kms", arn)
    env = moto.env(home, ENCFILE_KEY_SERVICE_TIMEOUT="2", AWS_MAX_ATTEMPTS="1")
    if case == "no credentials":
        env = no_keys(env)
        expect = "no AWS credentials (boto3 looked in AWS_ACCESS_KEY_ID"
    elif case == "403":
        env["AWS_ENDPOINT_URL_KMS"] = canned(403, DENIED).address
        expect = ("access denied (HTTP 403, AccessDeniedException): User: arn:aws:sts::"
                  "123456789012:assumed-role/ci/x is not authorized to perform: kms:Decrypt")
    elif case == "key not found":
        moto.reset()  # the key is gone
        expect = "key not found (HTTP 400, NotFoundException)"
    elif case == "500":
        env["AWS_ENDPOINT_URL_KMS"] = canned(
            500, '{"__type":"KMSInternalException","message":"internal failure"}').address
        expect = "KMS refused the request (HTTP 500, KMSInternalException): internal failure"
    else:
        env["AWS_ENDPOINT_URL_KMS"] = canned(
            500, '{"__type":"KMSInternalException","message":"too late"}', delay=8).address
        expect = "no answer within 2 s (ENCFILE_KEY_SERVICE_TIMEOUT)"
    started = time.monotonic()
    failed = encfile("-d", str(path), env=env)
    took = time.monotonic() - started
    stderr = failed.stderr.decode()
    assert failed.returncode == 128, stderr
    assert took < 8, f"encfile took {took:.1f} s with a 2 s timeout"
    lines = stderr.splitlines()
    # the headline names the kind; the one hint is the key's reason
    assert lines[0] == f"encfile: error: failed to decrypt '{path}': its kms key could " \
                       "not open it", stderr
    assert len(lines) == 2, stderr
    reasons = [line for line in lines if line.startswith("encfile: hint: tried kms ")]
    assert len(reasons) == 1, stderr
    assert reasons[0].startswith(f"encfile: hint: tried kms {arn}: {expect}"), stderr
    assert "Traceback" not in stderr and SECRET_WORD not in stderr
    assert "testing" not in stderr, "no credential in a message"
    try:
        theirs = sops(sops_bin, "-d", str(path), env=env, timeout=30).returncode
    except subprocess.TimeoutExpired:
        pytest.fail("sops did not finish within 30 s")
    assert theirs == 128


def test_a_failing_encryption_is_one_line(moto: Moto, canned: Any, tmp_path: Path) -> None:
    arn = moto.create_key()
    env = {**moto.env(tmp_path / "home"), "AWS_ENDPOINT_URL_KMS": canned(403, DENIED).address}
    failed = encfile("-e", "--kms", arn, str(plain_file(tmp_path)), env=env)
    assert failed.returncode == 1 and failed.stdout == b""
    (line,) = failed.stderr.decode().splitlines()
    assert line.startswith(f"encfile: error: cannot wrap the data key for kms key {arn}: "
                           "access denied (HTTP 403, AccessDeniedException): User: ")


@pytest.fixture
def without_boto3(tmp_path: Path) -> str:
    """A PYTHONPATH on which ``import boto3`` (and its botocore) fails as it does where the
    extra is not installed."""
    for name in ("boto3", "botocore"):
        shadow = tmp_path / "no-boto3" / name
        shadow.mkdir(parents=True)
        (shadow / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{name}'\", name='{name}')\n")
    return str(tmp_path / "no-boto3")


def test_without_boto3_one_line_names_the_extra(moto: Moto, tmp_path: Path,
                                                without_boto3: str) -> None:
    arn = moto.create_key()
    env = moto.env(tmp_path / "home")
    path = encrypted(moto, tmp_path, "--kms", arn)
    bare = {**env, "PYTHONPATH": without_boto3}
    refused = encfile("-e", "--kms", arn, str(plain_file(tmp_path)), env=bare)
    assert refused.returncode == 1
    assert refused.stderr.decode().splitlines() == [
        f"encfile: error: cannot wrap the data key for kms key {arn}: needs boto3, which is "
        "not installed: pip install 'encfile-sops[aws]'"]
    failed = encfile("-d", str(path), env=bare)
    assert failed.returncode == 128
    assert (f"encfile: hint: tried kms {arn}: needs boto3, which is not installed: pip "
            "install 'encfile-sops[aws]'") in failed.stderr.decode().splitlines()
    # an age key in the same file still opens it without boto3
    mixed = encrypted(moto, tmp_path, "--age", TEST_PUBLIC, "--kms", arn, name="mixed.enc.yaml")
    assert ok(encfile("-d", str(mixed), env={**bare, "SOPS_AGE_KEY_FILE": str(KEY_FILE)})
              ).decode() == PLAIN


# -- start-up -----------------------------------------------------------------------------------------

_REPORT = ("import sys\nfrom encfile.cli import main\n"
           "sys.argv = ['encfile', '-d', sys.argv[1]]\n"
           "try:\n    main()\nexcept SystemExit:\n    pass\n"
           "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', "
           "'hvac', 'google', 'azure', 'urllib3'}), sorted(m for m in sys.modules "
           "if m.startswith('encfile.keysources.') and m not in ("
           "'encfile.keysources.age', 'encfile.keysources.identities')), file=sys.stderr)\n")


def test_decrypting_an_age_file_imports_no_sdk(tmp_path: Path, moto: Moto) -> None:
    env = moto.env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(KEY_FILE))
    age_only = encrypted(moto, tmp_path, "--age", TEST_PUBLIC, env=env)
    out = subprocess.run([sys.executable, "-c", _REPORT, str(age_only)], capture_output=True,
                         env=env, timeout=60)
    assert out.stdout.decode() == PLAIN
    assert out.stderr.decode().strip() == "[] []"
    # a file with an age and a KMS key, opened by the age identity: the kms module is read
    # (for its entry), boto3 is not
    mixed = encrypted(moto, tmp_path, "--age", TEST_PUBLIC, "--kms", moto.create_key(),
                      name="mixed.enc.yaml", env=env)
    out = subprocess.run([sys.executable, "-c", _REPORT, str(mixed)], capture_output=True,
                         env=env, timeout=60)
    assert out.stdout.decode() == PLAIN
    assert out.stderr.decode().strip() == "[] ['encfile.keysources.kms']"


def test_the_server_fixture_resets_every_service(moto_server: Moto) -> None:
    """What tests/servers.py promises the tests that share the server (publish too): KMS,
    STS, S3 and Secrets Manager, all emptied by a reset."""
    aws = moto_server
    aws.reset()
    arn = aws.create_key(alias="leftover")
    aws.client("s3").create_bucket(Bucket="leftover")
    aws.client("secretsmanager").create_secret(Name="leftover", SecretString="v")
    assert aws.client("sts").get_caller_identity()["Account"] == aws.ACCOUNT
    aws.reset()
    assert aws.client("kms").list_keys()["Keys"] == []
    assert aws.client("s3").list_buckets()["Buckets"] == []
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []
    assert arn not in str(aws.client("kms").list_aliases())
