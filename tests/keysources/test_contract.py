"""The contract every key source keeps, one parametrized family over the sources.

Each source in :data:`SOURCES` says how to name a key (as a rule or flag does), how to
get a run's context that can open it, and one that cannot. A new source adds a line
there (and, for a service, a fixture that starts its server) and must pass every test:

* wrap then unwrap gives the data key back, Shamir shares (33 bytes) included;
* a key the context has no identity or credential for gives None, in both passes;
* the metadata entry round-trips, in sops's field order, and names no secret;
* no message, repr or entry holds the data key (raw, hex or base64);
* importing the source's module costs what it must, and nothing else.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import age_plugin_support
import fakecloud
import gpg_support
import pytest
import servers
from conftest import OTHER_SECRET, TEST_PUBLIC, TEST_SECRET, b64_forms
from fakecloud import (  # noqa: F401 (fixtures of the gcp_kms and azure_kv sources)
    cloud_fixture,
    cloud_process_env,
    contract_azure,
    contract_gcp,
)
from gpg_support import gpg_keys, pgp_contract  # noqa: F401 (fixtures of the pgp source)
from servers import (  # noqa: F401 (fixtures of the hc_vault and kms sources)
    hc_vault_contract,
    kms_contract,
    moto_fixture,
    moto_server_fixture,
    openbao_fixture,
    openbao_server_fixture,
)

from encfile import keysources
from encfile.errors import RecipientError
from encfile.keysources.identities import KeyRing


class Source:
    def __init__(self, kind: str, value: Callable[[], Any], ctx: Callable[[], KeyRing],
                 foreign: Callable[[], KeyRing], fields: tuple[str, ...],
                 imports: tuple[str, ...], never: tuple[str, ...],
                 fixture: str | None = None) -> None:
        self.kind = kind
        self.value = value        # what a rule or --flag says
        self.ctx = ctx            # a context that can open the key
        self.foreign = foreign    # one that cannot
        self.fields = fields      # the metadata entry's fields, in sops's order
        self.imports = imports    # modules the source may load
        self.never = never        # modules it must not load
        self.fixture = fixture    # a pytest fixture to set up first (a server, a key ring)


SOURCES = [
    Source("age", lambda: TEST_PUBLIC, lambda: KeyRing([TEST_SECRET]),
           lambda: KeyRing([OTHER_SECRET]), ("recipient", "enc"), ("pyrage",),
           ("typer", "keyring", "ruamel", "boto3", "hvac", "google", "azure")),
    Source("pgp", lambda: gpg_support.Contract.fingerprint, gpg_support.contract_ctx,
           lambda: gpg_support.contract_ctx(foreign=True), ("created_at", "enc", "fp"), (),
           ("pyrage", "subprocess", "typer", "keyring", "ruamel", "boto3", "hvac", "google",
            "azure"), fixture="pgp_contract"),
    # GCP KMS and Azure Key Vault: the fakes of tests/fakecloud.py (held to sops elsewhere)
    Source("gcp_kms", lambda: fakecloud.CONTRACT.gcp_key, fakecloud.gcp_ring,
           lambda: fakecloud.gcp_ring("a-token-the-service-refuses"),
           ("resource_id", "created_at", "enc"), (),
           ("typer", "keyring", "ruamel", "boto3", "hvac", "google", "azure", "grpc"),
           fixture="contract_gcp"),
    Source("azure_kv", lambda: fakecloud.CONTRACT.azure_key, fakecloud.azure_ring,
           lambda: fakecloud.azure_ring("an-identity-the-service-refuses"),
           ("vault_url", "name", "version", "created_at", "enc"), (),
           ("typer", "keyring", "ruamel", "boto3", "hvac", "google", "azure", "msal"),
           fixture="contract_azure"),
    # age plugins: the test plugin of tests/age_plugin_support.py, and post-quantum
    # recipients (age1pq1…) through encfile's age-plugin-pq; both put on PATH
    Source("age", lambda: age_plugin_support.contract_key("plugin")[0],
           lambda: age_plugin_support.contract_ring("plugin"),
           lambda: age_plugin_support.contract_ring("plugin", other=True), ("recipient", "enc"),
           ("pyrage",), ("typer", "keyring", "ruamel", "boto3", "hvac", "google", "azure")),
    Source("age", lambda: age_plugin_support.contract_key("pq")[0],
           lambda: age_plugin_support.contract_ring("pq"),
           lambda: age_plugin_support.contract_ring("pq", other=True), ("recipient", "enc"),
           ("pyrage",), ("typer", "keyring", "ruamel", "boto3", "hvac", "google", "azure")),
    # Vault transit and AWS KMS: the OpenBao and moto servers of tests/servers.py
    Source("hc_vault", lambda: servers.CONTRACT["hc_vault"][0](),
           lambda: servers.CONTRACT["hc_vault"][1](), lambda: servers.CONTRACT["hc_vault"][2](),
           ("vault_address", "engine_path", "key_name", "created_at", "enc"), (),
           ("typer", "keyring", "ruamel", "pyrage", "boto3", "botocore", "hvac", "google",
            "azure", "http", "ssl", "urllib"), fixture="hc_vault_contract"),
    Source("kms", lambda: servers.CONTRACT["kms"][0](), lambda: servers.CONTRACT["kms"][1](),
           lambda: servers.CONTRACT["kms"][2](),
           ("arn", "context", "created_at", "enc", "aws_profile"), (),
           ("typer", "keyring", "ruamel", "pyrage", "boto3", "botocore", "hvac", "google",
            "azure", "http", "ssl", "urllib"), fixture="kms_contract"),
]
DATA_KEY = bytes(range(32))
SHARE = bytes(range(100, 133))  # a Shamir share: 32 bytes and the x coordinate


@pytest.fixture(params=SOURCES, ids=[s.kind for s in SOURCES])
def source(request: pytest.FixtureRequest) -> Source:
    src: Source = request.param
    if src.fixture:
        request.getfixturevalue(src.fixture)
    return src


def _key(source: Source) -> keysources.MasterKey:
    (key,) = keysources.from_config(source.kind, source.value())
    assert key.kind == source.kind and key.enc == ""
    return key


def _unwrap(key: keysources.MasterKey, ctx: KeyRing) -> bytes | None:
    return key.unwrap(ctx, cheap=True) or key.unwrap(ctx, cheap=False)


@pytest.mark.parametrize("secret", [DATA_KEY, SHARE], ids=["data key", "shamir share"])
def test_wrap_then_unwrap_gives_the_secret_back(source: Source, secret: bytes) -> None:
    key = _key(source)
    wrapped = key.wrap(secret, source.ctx())
    assert wrapped.enc and wrapped.same(key) and key.enc == "", "wrap returns a copy"
    assert _unwrap(wrapped, source.ctx()) == secret


def test_a_key_the_context_cannot_open_gives_none(source: Source) -> None:
    wrapped = _key(source).wrap(DATA_KEY, source.ctx())
    foreign = source.foreign()
    assert wrapped.unwrap(foreign, cheap=True) is None
    assert wrapped.unwrap(foreign, cheap=False) is None


def test_the_metadata_entry_round_trips_in_sops_order(source: Source) -> None:
    wrapped = _key(source).wrap(DATA_KEY, source.ctx())
    entry = wrapped.to_metadata()
    assert tuple(entry) == source.fields
    again = keysources.from_metadata(source.kind, dict(entry))
    assert type(again) is type(wrapped) and again.same(wrapped)
    assert again.to_metadata() == entry
    assert _unwrap(again, source.ctx()) == DATA_KEY


def test_no_secret_in_entries_messages_or_repr(source: Source) -> None:
    ctx = source.ctx()
    wrapped = _key(source).wrap(DATA_KEY, ctx)
    needles = {DATA_KEY.hex(), DATA_KEY.hex().upper(), *b64_forms(DATA_KEY)}
    shown = [repr(wrapped), str(wrapped.to_metadata()), *ctx.tried]
    damaged = keysources.from_metadata(source.kind, {
        **wrapped.to_metadata(), "enc": wrapped.enc[:len(wrapped.enc) // 2]})
    try:
        assert _unwrap(damaged, ctx) is None
    except Exception as err:  # a source may raise on a damaged entry; then its message
        shown.append(str(err))
        shown += list(getattr(err, "hints", ()))
    shown += ctx.tried
    for text in shown:
        assert not any(n in text for n in needles if len(n) >= 8), text
    assert TEST_SECRET not in " ".join(shown) and OTHER_SECRET not in " ".join(shown)
    assert wrapped.enc not in repr(wrapped) and wrapped.enc[:16] not in repr(wrapped)


def test_an_entry_of_an_unknown_kind_is_kept_word_for_word() -> None:
    entry = {"resource_id": "projects/p/x", "created_at": "2024-01-01T00:00:00Z",
             "enc": base64.b64encode(b"opaque").decode()}
    key = keysources.from_metadata("hckms", entry)
    assert isinstance(key, keysources.UnknownKey) and key.kind == "hckms"
    assert key.to_metadata() == entry and list(key.to_metadata()) == list(entry)
    assert key.unwrap(KeyRing([TEST_SECRET]), cheap=False) is None
    with pytest.raises(RecipientError):
        key.wrap(DATA_KEY, KeyRing())


def test_importing_a_source_loads_only_what_it_needs(source: Source) -> None:
    code = ("import sys, encfile\n"
            "before = set(sys.modules)\n"
            f"from encfile import keysources; keysources.handler({source.kind!r})\n"
            "print(' '.join(sorted(m.split('.')[0] for m in set(sys.modules) - before)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    loaded = set(out.stdout.split())
    assert not loaded & set(source.never), loaded
    for module in source.imports:
        assert module in loaded, f"{module} is the point of the {source.kind} source"


def test_import_encfile_loads_no_key_source() -> None:
    code = ("import sys, encfile\n"
            "print([m for m in sys.modules if m.startswith('encfile.keysources.')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
