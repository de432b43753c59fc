"""``encfile scan`` over ../shared/corpus/real: 45 real config files with no live secret.

What it flags there, and why (checked on 2026-12-07, 13 findings in 7 files): literal
credentials that example and sample files ship with, each one a value a real deployment
must not commit:

* default passwords in example dotenv files (laradock: four ``*_PASSWORD``; documenso: an
  E2E test user's password), and ``user:password@`` in langfuse's DATABASE_URL (twice:
  the line and its commented-out twin);
* two private-key blocks in a dotenvx test fixture (``HELLO``, ``ALOHA``);
* two generated passwords, base64-encoded, in cloudnative-pg's sample Kubernetes Secrets;
* ``SA_PASSWORD`` in eShopOnWeb's compose file and ``SECRET_KEY_BASE`` in the
  OpenTelemetry demo's compose file.

Nothing in the JSON and INI files: package manifests, JSON schemas, a Grafana dashboard,
an F-Droid index (its APK signatures and a bitcoin address are public), CloudFormation,
php.ini and tox.ini. The test keeps that bound: findings only in those files, and no more
than them.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from scan_helpers import findings, run_scan, scan_env

EXPECTED = {
    "dotenv/laradock__laradock__env.example.env": 4,
    "dotenv/documenso__documenso__env.example.env": 1,
    "dotenv/langfuse__langfuse__env.prod.example.env": 2,
    "dotenv/dotenvx__dotenvx__env.crlf.env": 2,
    "yaml/cloudnative-pg__cloudnative-pg__cluster-example-full.yaml": 2,
    "yaml/dotnet-architecture__eShopOnWeb__docker-compose.yml": 1,
    "yaml/open-telemetry__opentelemetry-demo__compose.yaml": 1,
}


@pytest.mark.shared
def test_real_config_files(shared: Path, tmp_path: Path, home: Path) -> None:
    work = tmp_path / "real"
    shutil.copytree(shared / "corpus" / "real", work)
    found = findings(run_scan("--format", "json", ".", cwd=work, env=scan_env(home)))
    per_file = Counter(f["path"] for f in found)
    unexpected = {p: n for p, n in per_file.items() if n > EXPECTED.get(p, 0)}
    assert not unexpected, [(f["path"], f["line"], f["rule"], f["key"]) for f in found
                            if f["path"] in unexpected]
    assert not any(p.startswith(("json/", "ini/")) for p in per_file)
    assert sum(per_file.values()) >= 8  # the example passwords and keys are still found
