"""GCP Cloud KMS keys (``gcp_kms``): the data key encrypted by a Cloud KMS crypto key.

An entry is ``resource_id`` (``projects/P/locations/L/keyRings/R/cryptoKeys/K``),
``created_at`` and ``enc``, the standard base64 of the ciphertext Cloud KMS returned, as
sops 3.11 writes it. Keys come from ``--gcp-kms``, ``SOPS_GCP_KMS_IDS``, a rule's
``gcp_kms`` (comma-separated, or a list) and ``gcp_kms`` in key groups (a list of
``resource_id:`` mappings).

Credentials are found the way sops finds them: ``GOOGLE_CREDENTIALS`` (the path of a
credentials file, or the JSON itself), else ``GOOGLE_OAUTH_ACCESS_TOKEN`` (an access token),
both read from the run's environment; else Google's application-default chain
(``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth application-default login``, the
metadata server of a Google Cloud machine). The client is ``google-cloud-kms`` (the
``[gcp]`` extra) over REST (sops's ``SOPS_GCP_KMS_CLIENT_TYPE`` has no effect: the service
is the same), imported only when a key of this kind must wrap or unwrap, and only in the
second pass of :func:`encfile.datakey.recover`. Each request has the key-service timeout
(:func:`encfile.keysources.service_timeout`) and is not retried.
"""

from __future__ import annotations

import re

from ..errors import InputError, RecipientError
from . import MasterKey, service_timeout, split_list

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .identities import KeyRing

RESOURCE_ID = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")
EXTRA = "pip install 'encfile-sops[gcp]'"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
CACHE = "gcp_kms"


class Unavailable(Exception):
    """No client for this run (no SDK, no credentials); the message is the reason."""


class Key(MasterKey):
    """A Cloud KMS crypto key, named by its resource id."""

    kind = "gcp_kms"
    __slots__ = ("created_at", "resource_id")

    def __init__(self, resource_id: str, enc: str = "", created_at: str = "") -> None:
        super().__init__(enc)
        self.resource_id = resource_id
        self.created_at = created_at

    @property
    def id(self) -> str:
        return self.resource_id

    @classmethod
    def from_config(cls, value: Any, context: Mapping[str, Any] | None = None
                    ) -> list[MasterKey]:
        items = value if isinstance(value, list) else [value]
        ids: list[str] = []
        for item in items:
            if isinstance(item, dict):  # a key group's entry
                if not isinstance(item.get("resource_id"), str):
                    raise RecipientError("a gcp_kms entry of a key group needs 'resource_id'")
                item = item["resource_id"]
            if not isinstance(item, str):
                raise RecipientError("gcp_kms keys are resource ids (strings)")
            # sops drops every space of a resource id
            ids += [part.replace(" ", "") for part in split_list(item)]
        for resource_id in ids:
            if not RESOURCE_ID.match(resource_id):
                raise RecipientError(
                    f"invalid GCP KMS resource id {resource_id!r}",
                    hints=["a resource id looks like projects/P/locations/L/keyRings/R/"
                           "cryptoKeys/K"])
        return [cls(resource_id) for resource_id in ids]

    @classmethod
    def from_metadata(cls, entry: dict[str, Any]) -> MasterKey:
        if not entry.get("resource_id") or "enc" not in entry:
            raise InputError("sops gcp_kms entry needs 'resource_id' and 'enc'")
        return cls(str(entry["resource_id"]), str(entry["enc"] or ""),
                   str(entry.get("created_at") or ""))

    def to_metadata(self) -> dict[str, Any]:
        return {"resource_id": self.resource_id, "created_at": self.created_at,
                "enc": self.enc}

    def wrap(self, data_key: bytes, ctx: KeyRing) -> MasterKey:
        import base64
        import time

        timeout = service_timeout(ctx.env)
        try:
            client = _client(ctx)
            answer = client.encrypt(request={"name": self.resource_id, "plaintext": data_key},
                                    timeout=timeout, retry=None)
        except Unavailable as err:
            raise RecipientError(f"cannot wrap the data key for gcp_kms key "
                                 f"'{self.resource_id}': {err}") from None
        except Exception as err:
            raise RecipientError(f"cannot wrap the data key for gcp_kms key "
                                 f"'{self.resource_id}': {_reason(err, timeout, 'encrypt')}"
                                 ) from None
        # standard base64, as sops 3.9+ writes it (and as sops <= 3.8 read it)
        return Key(self.resource_id, base64.b64encode(bytes(answer.ciphertext)).decode(),
                   time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def unwrap(self, ctx: KeyRing, *, cheap: bool) -> bytes | None:
        if cheap:  # a network service: only in the second pass
            return None
        import base64
        import binascii

        try:
            ciphertext = base64.b64decode(self.enc, validate=True)
        except (binascii.Error, ValueError):
            ciphertext = b""
        if not ciphertext:
            ctx.tried.append(f"{self.kind} {self.resource_id}: its enc is not base64")
            return None
        timeout = service_timeout(ctx.env)
        try:
            client = _client(ctx)
            answer = client.decrypt(request={"name": self.resource_id,
                                             "ciphertext": ciphertext},
                                    timeout=timeout, retry=None)
        except Unavailable as err:
            ctx.tried.append(f"{self.kind} {self.resource_id}: {err}")
            return None
        except Exception as err:
            ctx.tried.append(f"{self.kind} {self.resource_id}: "
                             f"{_reason(err, timeout, 'decrypt')}")
            return None
        return bytes(answer.plaintext)


def _client(ctx: KeyRing) -> Any:
    """The run's Cloud KMS client (made once; Unavailable, also once, if it cannot be)."""
    cache = ctx.cache.setdefault(CACHE, {})
    if "client" not in cache:
        try:
            cache["client"] = _make_client(ctx.env)
        except Unavailable as err:
            cache["client"] = err
    client = cache["client"]
    if isinstance(client, Unavailable):
        raise client
    return client


def _make_client(env: Mapping[str, str]) -> Any:
    import logging

    try:
        from google.cloud.kms_v1.services.key_management_service.client import (
            KeyManagementServiceClient,
        )
    except ImportError:
        raise Unavailable(f"needs google-cloud-kms, which is not installed: {EXTRA}") from None
    # google-auth logs why each credential source failed; encfile says it in its own words
    for name in ("google.auth", "google.api_core", "google.cloud"):
        _quiet(logging.getLogger(name))
    credentials = _credentials(env)
    try:  # REST, not gRPC: it goes through HTTPS proxies, and needs no HTTP/2
        return KeyManagementServiceClient(credentials=credentials, transport="rest")
    except Exception as err:
        raise Unavailable(f"cannot set up the Cloud KMS client ({type(err).__name__})"
                          ) from None


def _quiet(logger: Any) -> None:
    """A logger with a handler, so Python's "last resort" does not print its warnings to
    stderr (an application that configures logging still gets them)."""
    import logging

    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _credentials(env: Mapping[str, str]) -> Any:
    """sops's order: GOOGLE_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN, application default."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    given = env.get("GOOGLE_CREDENTIALS", "")
    if given:
        import json
        import os

        where = "GOOGLE_CREDENTIALS"
        text = given
        if os.path.isfile(given):  # a path, else the JSON itself (as sops decides)
            where = f"GOOGLE_CREDENTIALS file '{given}'"
            try:
                with open(given, encoding="utf-8") as handle:
                    text = handle.read()
            except (OSError, UnicodeDecodeError) as err:
                raise Unavailable(f"cannot read {where} ({type(err).__name__})") from None
        try:
            info = json.loads(text)
        except ValueError:
            info = None
        if not isinstance(info, dict):
            raise Unavailable(f"{where} is neither a credentials file nor credentials JSON")
        try:
            credentials, _ = google.auth.load_credentials_from_dict(  # type: ignore[no-untyped-call]
                info, scopes=list(SCOPES))
        except (DefaultCredentialsError, ValueError, KeyError):
            # never quote the file: it holds a private key
            raise Unavailable(f"{where} holds no usable credentials "
                              f"(type {str(info.get('type', '?'))[:40]!r})") from None
        return credentials
    token = env.get("GOOGLE_OAUTH_ACCESS_TOKEN", "")
    if token:
        import google.oauth2.credentials

        return google.oauth2.credentials.Credentials(token)  # type: ignore[no-untyped-call]
    try:
        credentials, _ = google.auth.default(scopes=list(SCOPES))
    except DefaultCredentialsError:
        raise Unavailable("no credentials: set GOOGLE_CREDENTIALS or "
                          "GOOGLE_OAUTH_ACCESS_TOKEN, or run 'gcloud auth "
                          "application-default login'") from None
    except Exception as err:
        raise Unavailable(f"no credentials: application-default credentials failed "
                          f"({type(err).__name__})") from None
    return credentials


# What each call needs, for a 403's reason.
PERMISSIONS = {"encrypt": "cloudkms.cryptoKeyVersions.useToEncrypt",
               "decrypt": "cloudkms.cryptoKeyVersions.useToDecrypt"}


def _reason(err: Exception, timeout: float, verb: str) -> str:
    """One line for a failed call, in encfile's words: the SDK's text may hold anything."""
    status = getattr(err, "code", None)
    if isinstance(status, int) and not isinstance(status, bool) and 400 <= status < 600:
        if status == 401:
            return "not authenticated (401): the credentials were refused"
        if status == 403:
            return f"permission denied (403): needs {PERMISSIONS[verb]}"
        if status == 404:
            return "key not found (404)"
        if status == 400 and verb == "decrypt":
            return "the service cannot decrypt it (400): not wrapped by this key, or damaged"
        if status == 400:
            return "refused (400): the key may be disabled, or not for encryption"
        if status == 429:
            return "rate-limited (429)"
        return f"service error ({status})"
    names = {cls.__name__ for cls in type(err).__mro__}
    if names & {"Timeout", "ReadTimeout", "ConnectTimeout", "DeadlineExceeded",
                "TimeoutError"} or "timed out" in str(err).lower():
        return f"timed out after {timeout:g} s"
    if "RefreshError" in names:
        return "not authenticated: cannot get an access token with these credentials"
    if names & {"ConnectionError", "TransportError", "ServiceUnavailable", "OSError"}:
        return f"cannot reach Cloud KMS ({type(err).__name__})"
    return f"failed ({type(err).__name__})"
