"""Azure Key Vault keys (``azure_kv``): the data key encrypted with RSA-OAEP-256 by a
Key Vault RSA key.

An entry is ``vault_url``, ``name``, ``version``, ``created_at`` and ``enc``, the
unpadded base64url of the ciphertext, as sops 3.11 writes it. Keys come from
``--azure-kv``, ``SOPS_AZURE_KEYVAULT_URLS`` and a rule's ``azure_keyvault`` (key URLs
``https://VAULT.vault.azure.net/keys/NAME/VERSION``, comma-separated or a list), and from
``azure_keyvault`` in key groups (a list of ``vaultUrl``/``key``/``version`` mappings).
A key given without a version is wrapped for the key's current version, which the file
then names (as sops does).

Credentials come from azure-identity's ``DefaultAzureCredential``, the chain sops uses:
the ``AZURE_CLIENT_*`` variables, workload identity, managed identity, the Azure CLI…
(``AZURE_TOKEN_CREDENTIALS`` picks one). It reads the process environment. The client is
``azure-keyvault-keys`` (the ``[azure]`` extra), imported only when a key of this kind
must wrap or unwrap, and only in the second pass of :func:`encfile.datakey.recover`.
Each request has the key-service timeout (:func:`encfile.keysources.service_timeout`) and
is not retried.
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

KEY_URL = re.compile(r"^(https://[^/]+)/keys/([^/]+)(/[^/]*)?$")  # sops's pattern
EXTRA = "pip install 'encfile-sops[azure]'"
CACHE = "azure_kv"


class Unavailable(Exception):
    """No client for this run (no SDK, no credential); the message is the reason."""


class Key(MasterKey):
    """A Key Vault key: the vault's URL, the key's name and version."""

    kind = "azure_kv"
    __slots__ = ("created_at", "name", "vault_url", "version")

    def __init__(self, vault_url: str, name: str, version: str = "", enc: str = "",
                 created_at: str = "") -> None:
        super().__init__(enc)
        self.vault_url = vault_url
        self.name = name
        self.version = version
        self.created_at = created_at

    @property
    def id(self) -> str:
        return f"{self.vault_url}/keys/{self.name}/{self.version}"  # sops's ToString

    def same(self, other: MasterKey) -> bool:
        """A key named without a version is the same key as any version of it."""
        if not isinstance(other, Key):
            return False
        return (self.vault_url.rstrip("/"), self.name) == (other.vault_url.rstrip("/"),
                                                           other.name) \
            and (not self.version or not other.version or self.version == other.version)

    @classmethod
    def from_config(cls, value: Any, context: Mapping[str, Any] | None = None
                    ) -> list[MasterKey]:
        items = value if isinstance(value, list) else [value]
        keys: list[MasterKey] = []
        for item in items:
            if isinstance(item, dict):  # a key group's entry: vaultUrl, key, version
                vault, name, version = (item.get(f) for f in ("vaultUrl", "key", "version"))
                if not isinstance(vault, str) or not vault or not isinstance(name, str) \
                        or not name or not isinstance(version, (str, type(None))):
                    raise RecipientError("an azure_keyvault entry of a key group needs "
                                         "'vaultUrl' and 'key' (and may give 'version')")
                keys.append(cls(vault, name, version or ""))
                continue
            if not isinstance(item, str):
                raise RecipientError("azure_keyvault keys are key URLs (strings)")
            for url in split_list(item):
                match = KEY_URL.match(url)
                if match is None:
                    raise RecipientError(
                        f"invalid Azure Key Vault key URL {url!r}",
                        hints=["a key URL looks like https://VAULT.vault.azure.net/keys/"
                               "NAME/VERSION (the version may be left out)"])
                keys.append(cls(match[1], match[2], (match[3] or "/")[1:]))
        return keys

    @classmethod
    def from_metadata(cls, entry: dict[str, Any]) -> MasterKey:
        if not entry.get("vault_url") or not entry.get("name") or "enc" not in entry:
            raise InputError("sops azure_kv entry needs 'vault_url', 'name' and 'enc'")
        return cls(str(entry["vault_url"]), str(entry["name"]),
                   str(entry.get("version") or ""), str(entry["enc"] or ""),
                   str(entry.get("created_at") or ""))

    def to_metadata(self) -> dict[str, Any]:
        return {"vault_url": self.vault_url, "name": self.name, "version": self.version,
                "created_at": self.created_at, "enc": self.enc}

    def _key_id(self, version: str) -> str:
        return f"{self.vault_url.rstrip('/')}/keys/{self.name}/{version}"

    def wrap(self, data_key: bytes, ctx: KeyRing) -> MasterKey:
        import base64
        import time

        timeout = service_timeout(ctx.env)
        version = self.version
        try:
            sdk = _sdk(ctx)
            if not version:  # as sops: the file names the version that wrapped it
                version = _current_version(sdk, ctx, self.vault_url, self.name, timeout)
            result = _crypto_client(sdk, ctx, self._key_id(version), timeout).encrypt(
                sdk.algorithm, data_key)
        except Unavailable as err:
            raise RecipientError(f"cannot wrap the data key for azure_kv key '{self.id}': "
                                 f"{err}") from None
        except Exception as err:
            raise RecipientError(f"cannot wrap the data key for azure_kv key '{self.id}': "
                                 f"{_reason(err, timeout, 'encrypt')}") from None
        enc = base64.urlsafe_b64encode(bytes(result.ciphertext)).rstrip(b"=").decode()
        return Key(self.vault_url, self.name, version, enc,
                   time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def unwrap(self, ctx: KeyRing, *, cheap: bool) -> bytes | None:
        if cheap:  # a network service: only in the second pass
            return None
        import base64
        import binascii

        try:  # base64url without padding (Go's RawURLEncoding)
            if "=" in self.enc or not self.enc:
                raise ValueError
            ciphertext = base64.urlsafe_b64decode(self.enc + "=" * (-len(self.enc) % 4))
        except (binascii.Error, ValueError):
            ctx.tried.append(f"{self.kind} {self.id}: its enc is not unpadded base64url")
            return None
        timeout = service_timeout(ctx.env)
        try:
            sdk = _sdk(ctx)
            result = _crypto_client(sdk, ctx, self._key_id(self.version), timeout).decrypt(
                sdk.algorithm, ciphertext)
        except Unavailable as err:
            ctx.tried.append(f"{self.kind} {self.id}: {err}")
            return None
        except Exception as err:
            ctx.tried.append(f"{self.kind} {self.id}: {_reason(err, timeout, 'decrypt')}")
            return None
        return bytes(result.plaintext)


class _Sdk:
    """What this run uses of the SDK: the credential and the client classes."""

    __slots__ = ("algorithm", "credential", "crypto_client", "key_client")

    def __init__(self, credential: Any, crypto_client: Any, key_client: Any,
                 algorithm: Any) -> None:
        self.credential = credential
        self.crypto_client = crypto_client
        self.key_client = key_client
        self.algorithm = algorithm


def _sdk(ctx: KeyRing) -> _Sdk:
    """The run's credential and client classes (set up once; Unavailable, also once)."""
    cache = ctx.cache.setdefault(CACHE, {})
    if "sdk" not in cache:
        try:
            cache["sdk"] = _load(ctx)
        except Unavailable as err:
            cache["sdk"] = err
    sdk = cache["sdk"]
    if isinstance(sdk, Unavailable):
        raise sdk
    return sdk  # type: ignore[no-any-return]


def _load(ctx: KeyRing) -> _Sdk:
    import logging

    try:
        from azure.identity import DefaultAzureCredential
        from azure.keyvault.keys import KeyClient
        from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm
    except ImportError:
        raise Unavailable("needs azure-keyvault-keys and azure-identity, which are not "
                          f"installed: {EXTRA}") from None
    # azure-identity logs why each credential failed; encfile says it in its own words
    logger = logging.getLogger("azure")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())  # no "last resort" printing to stderr
    timeout = service_timeout(ctx.env)
    try:
        credential = DefaultAzureCredential(**_transport_options(timeout))
    except Exception as err:  # a bad AZURE_TOKEN_CREDENTIALS, for one
        raise Unavailable(f"no credentials: DefaultAzureCredential cannot be set up "
                          f"({type(err).__name__})") from None
    return _Sdk(credential, CryptographyClient, KeyClient, EncryptionAlgorithm.rsa_oaep_256)


def _transport_options(timeout: float) -> dict[str, Any]:
    # one try per request, each within the key-service timeout
    return {"retry_total": 0, "connection_timeout": timeout, "read_timeout": timeout}


def _crypto_client(sdk: _Sdk, ctx: KeyRing, key_id: str, timeout: float) -> Any:
    clients = ctx.cache.setdefault(CACHE, {}).setdefault("clients", {})
    if key_id not in clients:
        clients[key_id] = sdk.crypto_client(key_id, sdk.credential,
                                            **_transport_options(timeout))
    return clients[key_id]


def _current_version(sdk: _Sdk, ctx: KeyRing, vault_url: str, name: str,
                     timeout: float) -> str:
    client = sdk.key_client(vault_url, sdk.credential, **_transport_options(timeout))
    version = client.get_key(name).properties.version
    if not version:
        raise Unavailable("the vault did not say the key's current version")
    return str(version)


# What each call needs, for a 403's reason.
PERMISSIONS = {"encrypt": "keys/encrypt (and keys/get for a key without a version)",
               "decrypt": "keys/decrypt"}


def _reason(err: Exception, timeout: float, verb: str) -> str:
    """One line for a failed call, in encfile's words: the SDK's text may hold anything."""
    status = getattr(err, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool) and 400 <= status < 600:
        if status == 401:
            return "not authenticated (401): the vault refused the token"
        if status == 403:
            return f"permission denied (403): needs the {PERMISSIONS[verb]} permission"
        if status == 404:
            return "key not found (404)"
        if status == 400 and verb == "decrypt":
            return "the vault cannot decrypt it (400): not wrapped by this key, or damaged"
        if status == 400:
            return "refused (400): the key may be disabled, or not an RSA key"
        if status == 429:
            return "rate-limited (429)"
        return f"service error ({status})"
    names = {cls.__name__ for cls in type(err).__mro__}
    if any("Timeout" in name for name in names) or "timed out" in str(err).lower():
        return f"timed out after {timeout:g} s"
    if "ClientAuthenticationError" in names:  # the credential chain got no token
        return ("no credentials: DefaultAzureCredential found none (set AZURE_CLIENT_ID… "
                "or use a managed identity, or run 'az login')")
    if names & {"ServiceRequestError", "ServiceResponseError", "ConnectionError", "OSError"}:
        return f"cannot reach the vault ({type(err).__name__})"
    return f"failed ({type(err).__name__})"
