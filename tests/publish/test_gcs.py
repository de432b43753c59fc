"""``encfile publish`` to Google Cloud Storage: a local fake of its JSON API behind a TLS
proxy (fakegcs.py), held to the real sops binary, which publishes to the same fake."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_encfile
from fakecloud import client_env
from fakegcs import FakeGCS
from publish_support import AtPrompt, encrypted, ok, project, publish, sops_publish, with_key

pytestmark = pytest.mark.sops


@pytest.fixture(scope="module")
def gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGCS]:
    fake = FakeGCS(tmp_path_factory.mktemp("fakegcs"))
    try:
        yield fake
        assert not fake.refused(), f"requests for other hosts: {fake.refused()}"
    finally:
        fake.stop()


@pytest.fixture
def env(gcs: FakeGCS, tmp_path: Path) -> dict[str, str]:
    """Application default credentials: a service account the fake trusts, whose token
    endpoint is the fake's; every request through the proxy."""
    gcs.control("reset")
    gcs.control("bucket", name="bkt")
    home = tmp_path / "home"
    home.mkdir()
    key = home / "sa.json"
    key.write_text(json.dumps(gcs.service_account("publisher@encfile-test.iam."
                                                  "gserviceaccount.com")))
    from conftest import clean_env

    return with_key(client_env(gcs, home, clean_env(home),  # type: ignore[arg-type]
                               GOOGLE_APPLICATION_CREDENTIALS=str(key)))


def test_gcs_holds_the_encrypted_file_as_sops_writes_it(gcs: FakeGCS, env: dict[str, str],
                                                        tmp_path: Path) -> None:
    root = project(tmp_path / "p", "  - gcs_bucket: bkt\n    gcs_prefix: team/\n")
    path = encrypted(root, "db.json", env=env)
    ok(sops_publish("-y", "db.json", env=env, cwd=root))  # the oracle writes first
    first = gcs.objects("bkt")["team/db.json"]
    assert first["bytes"] == path.read_bytes()
    err = ok(publish("-y", "db.json", env=env, cwd=root))
    assert "is up to date at gs://bkt/team/db.json" in err
    assert gcs.objects("bkt")["team/db.json"]["generation"] == first["generation"]
    assert run_encfile("set", str(path), '["port"]', "1", env=env).returncode == 0
    ok(publish("-y", "db.json", env=env, cwd=root))
    mine = gcs.objects("bkt")["team/db.json"]
    assert mine["bytes"] == path.read_bytes() and mine["generation"] > first["generation"]
    ok(sops_publish("-y", "db.json", env=env, cwd=root))  # sops uploads the same bytes
    assert gcs.objects("bkt")["team/db.json"]["bytes"] == mine["bytes"]
    uploads = [e for e in gcs.log() if e["path"].startswith("/upload/")]
    assert {e["query"].get("uploadType") for e in uploads} == {"multipart"}
    assert all(e["auth"] for e in gcs.log() if e["host"] == "storage.googleapis.com")


def test_gcs_from_a_folder_and_a_concurrent_change(gcs: FakeGCS, env: dict[str, str],
                                                   tmp_path: Path) -> None:
    root = project(tmp_path / "p", "  - gcs_bucket: bkt\n")
    a = encrypted(root, "secrets/a.yaml", text="a: 1\n", env=env)
    b = encrypted(root, "secrets/sub/b.yaml", text="b: 2\n", env=env)
    ok(publish("-y", "--recursive", "--omit-extensions", "secrets", env=env, cwd=root))
    found = gcs.objects("bkt")
    assert {k: v["bytes"] for k, v in found.items()} == {"a": a.read_bytes(),
                                                         "sub/b": b.read_bytes()}
    ok(publish("-y", "--recursive", "--omit-extensions", "secrets", env=env, cwd=root))
    assert {k: v["generation"] for k, v in gcs.objects("bkt").items()} == \
        {k: v["generation"] for k, v in found.items()}
    # someone overwrites the object while encfile asks: its generation check refuses
    assert run_encfile("set", str(a), '["a"]', "5", env=env).returncode == 0
    asked = AtPrompt("--omit-extensions", str(a), env=env, cwd=root)
    assert "~ a" in asked.err.decode()
    gcs.control("put-object", bucket="bkt", name="a",
                data=base64.b64encode(b"theirs").decode())
    code, err = asked.answer("y")
    assert code == 1 and "changed since it was read" in err, err
    assert gcs.objects("bkt")["a"]["bytes"] == b"theirs"
