"""HashiCorp Vault (and OpenBao) transit keys: the data key wrapped by a transit engine.

An ``hc_vault`` entry names a transit key by the server's address, the engine's mount
path and the key's name (``vault_address``, ``engine_path``, ``key_name``,
``created_at``, ``enc``, in sops's order); ``enc`` is the engine's ciphertext
(``vault:v1:…``) of the data key, exactly as ``transit/encrypt`` returns it. Rules and
flags name a key by its URI, ``https://vault.example.com:8200/v1/transit/keys/NAME``.

As in sops:

* the address comes from the file (``VAULT_ADDR`` is not read);
* the token is ``VAULT_TOKEN``, else the first line of ``~/.vault-token``;
* ``VAULT_NAMESPACE`` sets the namespace (the ``X-Vault-Namespace`` header).

TLS certificates are always verified, against the system's CAs or ``VAULT_CACERT``
(a file) / ``VAULT_CAPATH`` (a folder); ``VAULT_CLIENT_CERT`` and ``VAULT_CLIENT_KEY``
give a client certificate. ``VAULT_SKIP_VERIFY`` is not honoured. ``HTTPS_PROXY``,
``HTTP_PROXY`` and ``NO_PROXY`` apply as in Go (never to loopback addresses).

The client is the standard library's ``http.client`` (imported in the second pass
only): two JSON calls need no SDK. Each request may take
``keysources.service_timeout`` seconds; a failure is one line in ``ctx.tried``
("no Vault token", "permission denied (HTTP 403) on transit/decrypt/prod …", "no
answer within 2 s …"), never the token or the data key.
"""

from __future__ import annotations

import os
import re

from ..errors import InputError, RecipientError
from . import MasterKey, service_timeout, split_list

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .identities import KeyRing

#: sops's checks of a transit key URI's path (``engineAndKeyFromPath``).
_PREFIXED = re.compile(r"/[^/]+/v[\d]+/[^/]+/[^/]+/[^/]+")
_VAULT_PATH = re.compile(r"/v[\d]+/[^/]+/[^/]+/[^/]+")
_EXAMPLE = "https://vault.example.com:8200/v1/transit/keys/NAME"
_NO_TOKEN = "no Vault token: set VAULT_TOKEN, or log in ('vault login' writes ~/.vault-token)"


class Key(MasterKey):
    """A transit key of a Vault or OpenBao server."""

    kind = "hc_vault"
    __slots__ = ("created_at", "engine_path", "key_name", "vault_address")

    def __init__(self, vault_address: str, engine_path: str, key_name: str,
                 created_at: str = "", enc: str = "") -> None:
        super().__init__(enc)
        self.vault_address = vault_address
        self.engine_path = engine_path
        self.key_name = key_name
        self.created_at = created_at

    @property
    def id(self) -> str:
        """The key's URI, as sops shows it."""
        return f"{self.vault_address}/v1/{self.engine_path}/keys/{self.key_name}"

    @classmethod
    def from_config(cls, value: Any, context: Mapping[str, Any] | None = None
                    ) -> list[MasterKey]:
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            raise RecipientError("Vault transit keys are URIs (strings), e.g. " + _EXAMPLE)
        return [from_uri(uri) for item in items for uri in split_list(item)]

    @classmethod
    def from_metadata(cls, entry: dict[str, Any]) -> MasterKey:
        missing = [f for f in ("vault_address", "engine_path", "key_name", "enc")
                   if not isinstance(entry.get(f), str)]
        if missing:
            raise InputError(f"sops hc_vault entry needs {', '.join(map(repr, missing))}")
        return cls(entry["vault_address"], entry["engine_path"], entry["key_name"],
                   _timestamp(entry.get("created_at")), entry["enc"])

    def to_metadata(self) -> dict[str, Any]:
        return {"vault_address": self.vault_address, "engine_path": self.engine_path,
                "key_name": self.key_name, "created_at": self.created_at, "enc": self.enc}

    def wrap(self, data_key: bytes, ctx: KeyRing) -> MasterKey:
        import base64

        path = f"{self.engine_path}/encrypt/{self.key_name}"
        answer = _call(self, ctx, path, {"plaintext": base64.b64encode(data_key).decode()})
        if isinstance(answer, str):
            raise RecipientError(f"cannot wrap the data key for hc_vault key {self.id}: "
                                 f"{answer}")
        ciphertext = answer.get("ciphertext")
        if not isinstance(ciphertext, str) or not ciphertext.startswith("vault:"):
            raise RecipientError(f"cannot wrap the data key for hc_vault key {self.id}: the "
                                 f"server's answer to {path} has no ciphertext")
        # sops keeps a key's creation date when it wraps a new data key for it (rotate)
        return Key(self.vault_address, self.engine_path, self.key_name,
                   self.created_at or _now(), ciphertext)

    def unwrap(self, ctx: KeyRing, *, cheap: bool) -> bytes | None:
        if cheap:  # a network call: only in the second pass
            return None
        path = f"{self.engine_path}/decrypt/{self.key_name}"
        answer = _call(self, ctx, path, {"ciphertext": self.enc})
        if isinstance(answer, str):
            self._tried(ctx, answer)
            return None
        import base64
        import binascii

        plaintext = answer.get("plaintext")
        try:
            secret = base64.b64decode(str(plaintext), validate=True)
        except (binascii.Error, ValueError):
            secret = b""
        if not secret:
            self._tried(ctx, f"the server's answer to {path} has no plaintext")
            return None
        return secret

    def _tried(self, ctx: KeyRing, reason: str) -> None:
        """This key's reason for the "no key worked" error (once a run: a command over many
        files asks the same key again)."""
        line = f"{self.kind} {self.id}: {reason}"
        if line not in ctx.tried:
            ctx.tried.append(line)


def from_uri(uri: str) -> Key:
    """The key a transit URI names (sops's ``NewMasterKeyFromURI``); RecipientError if
    the URI is not of the form ``SCHEME://HOST[:PORT]/v1/ENGINE/keys/NAME``."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(uri)
    except ValueError:
        parts = None
    if parts is None or not parts.scheme or not parts.netloc:
        raise RecipientError(f"invalid Vault transit key URI {uri!r}: it needs a scheme and "
                             f"a host", hints=[f"e.g. {_EXAMPLE}"])
    path = parts.path
    if _PREFIXED.search(path) or not _VAULT_PATH.search(path):
        raise RecipientError(f"invalid Vault transit key URI {uri!r}: the path must be "
                             "/v1/ENGINE/keys/NAME (Vault behind a path prefix is not "
                             "supported, as in sops)", hints=[f"e.g. {_EXAMPLE}"])
    dirs = [d for d in path.strip("/").split("/") if d]
    return Key(f"{parts.scheme}://{parts.netloc}", "/".join(dirs[1:-2]), dirs[-1])


def _now() -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _timestamp(value: Any) -> str:
    """``created_at`` as text (a YAML reader may have made it a datetime)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        from datetime import timezone

        return str(value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    except (AttributeError, ValueError, TypeError):
        return str(value)


# -- the token --------------------------------------------------------------------------------

def token(ctx: KeyRing) -> tuple[str, str]:
    """(the token, "") or ("", why there is none): ``VAULT_TOKEN``, else ``~/.vault-token``
    (read once per run)."""
    cache: dict[str, Any] = ctx.cache.setdefault("hc_vault", {})
    if "token" not in cache:
        cache["token"] = _find_token(ctx.env)
    found: tuple[str, str] = cache["token"]
    return found


def _find_token(env: Mapping[str, str]) -> tuple[str, str]:
    value = env.get("VAULT_TOKEN", "").strip()
    if value:
        return value, ""
    home = env.get("HOME") or os.path.expanduser("~")
    path = os.path.join(home, ".vault-token")
    try:
        with open(path, encoding="utf-8") as handle:
            value = handle.read().strip()
    except FileNotFoundError:
        return "", _NO_TOKEN
    except (OSError, UnicodeDecodeError) as err:
        return "", f"cannot read ~/.vault-token ({type(err).__name__})"
    return (value, "") if value else ("", f"{_NO_TOKEN} (~/.vault-token is empty)")


# -- the HTTP call ----------------------------------------------------------------------------

def _call(key: Key, ctx: KeyRing, path: str, body: dict[str, str]) -> dict[str, Any] | str:
    """POST ``body`` to ``/v1/PATH`` of the key's server: the answer's ``data``, or a
    one-line reason (never the token, the body or the answer's data)."""
    secret, why = token(ctx)
    if not secret:
        return why
    timeout = service_timeout(ctx.env)
    status, answer = post(key.vault_address, path, body, secret, ctx, timeout)
    if isinstance(answer, str):
        return answer
    if status == 200 and isinstance(answer.get("data"), dict):
        data: dict[str, Any] = answer["data"]
        return data
    return _refusal(key, ctx, path, status, answer, secret, timeout)


def _refusal(key: Key, ctx: KeyRing, path: str, status: int, answer: dict[str, Any],
             secret: str, timeout: float) -> str:
    """Why the server refused (one line): 403 says whether the token or its policy."""
    said = server_message(answer)
    if status == 403:
        # Ask who the token is (the default policy allows it): a rejected token and a
        # policy that lacks the path are different fixes.
        who_status, who = post(key.vault_address, "auth/token/lookup-self", None, secret,
                                ctx, timeout, method="GET")
        if who_status == 200 and isinstance(who, dict) and isinstance(who.get("data"), dict):
            data = who["data"]
            policies = ", ".join(str(p) for p in data.get("policies") or []) or "none"
            name = str(data.get("display_name") or "?")
            return (f"permission denied (HTTP 403) on {path}: the policies of token "
                    f"'{name}' ({policies}) do not allow 'update' on {path}")
        return (f"permission denied (HTTP 403) on {path}: the token was refused (revoked, "
                "expired, or not valid on this server)")
    if status == 404:
        return f"not found (HTTP 404): no {path} on the server ({said or 'no such route'})"
    if status == 400 and "not found" in said:
        return f"key not found: the transit engine at '{key.engine_path}' has no key " \
               f"'{key.key_name}' ({said})"
    return f"the server refused {path} (HTTP {status}){': ' + said if said else ''}"


def server_message(answer: dict[str, Any]) -> str:
    errors = answer.get("errors")
    text = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
    text = " ".join(text.replace("*", " ").split())  # Vault's multi-line error lists
    return text[:200]


def post(address: str, path: str, body: dict[str, str] | None, secret: str, ctx: KeyRing,
          timeout: float, method: str = "POST") -> tuple[int, dict[str, Any] | str]:
    """(HTTP status, the parsed JSON answer) or (0, a one-line reason)."""
    import http.client
    import json
    import ssl
    from urllib.parse import urlsplit

    target = urlsplit(address)
    host = target.hostname or ""
    https = target.scheme == "https"
    headers = {"X-Vault-Token": secret, "X-Vault-Request": "true",
               "Content-Type": "application/json"}
    namespace = ctx.env.get("VAULT_NAMESPACE", "").strip()
    if namespace:
        headers["X-Vault-Namespace"] = namespace
    try:
        port = target.port or (443 if https else 80)
    except ValueError:
        return 0, f"invalid port in the key's address {address!r}"
    if target.scheme not in ("http", "https"):
        return 0, f"unsupported scheme in the key's address {address!r}"
    url = f"/v1/{path}"
    proxy = _proxy(ctx.env, target.scheme, host)
    try:
        conn: http.client.HTTPConnection
        if https:
            conn = http.client.HTTPSConnection(*(proxy[:2] if proxy else (host, port)),
                                               timeout=timeout, context=_tls(ctx))
        else:
            conn = http.client.HTTPConnection(*(proxy[:2] if proxy else (host, port)),
                                              timeout=timeout)
        if proxy:
            if https:
                conn.set_tunnel(host, port, headers=proxy[2])
            else:
                url = f"http://{host}:{port}{url}"
                headers.update(proxy[2])
        try:
            conn.request(method, url, json.dumps(body) if body is not None else None, headers)
            response = conn.getresponse()
            raw = response.read()
            status = response.status
        finally:
            conn.close()
    except ssl.SSLCertVerificationError as err:
        return 0, (f"the TLS certificate of {target.netloc} is not trusted "
                   f"({err.verify_message}): point VAULT_CACERT at its CA"
                   + ("; VAULT_SKIP_VERIFY is not honoured" if ctx.env.get("VAULT_SKIP_VERIFY")
                      else ""))
    except ssl.SSLError as err:
        return 0, f"TLS error with {target.netloc} ({err.reason or type(err).__name__})"
    except TimeoutError:
        return 0, (f"no answer from {target.netloc} within {timeout:g} s "
                   "(ENCFILE_KEY_SERVICE_TIMEOUT)")
    except ConnectionRefusedError:
        return 0, f"cannot connect to {target.netloc} (connection refused)"
    except (OSError, http.client.HTTPException) as err:
        return 0, f"cannot reach {target.netloc} ({type(err).__name__}: {_oneline(err)})"
    try:
        answer = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError):
        answer = None
    if not isinstance(answer, dict):
        return 0, f"the server's answer to {path} is not Vault's JSON (HTTP {status})"
    return status, answer


def _oneline(err: BaseException) -> str:
    return " ".join(str(err).split())[:160]


_CONTEXTS: dict[tuple[str, ...], Any] = {}


def _tls(ctx: KeyRing) -> Any:
    """The TLS context: certificates verified against the system's CAs, or VAULT_CACERT /
    VAULT_CAPATH; a client certificate from VAULT_CLIENT_CERT and VAULT_CLIENT_KEY."""
    import ssl

    env = ctx.env
    settings = tuple(env.get(v, "") for v in ("VAULT_CACERT", "VAULT_CAPATH",
                                             "VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY"))
    cafile, capath, cert, keyfile = settings
    found = _CONTEXTS.get(settings)
    if found is None:
        found = ssl.create_default_context(cafile=cafile or None, capath=capath or None)
        if cert:
            found.load_cert_chain(cert, keyfile or None)
        _CONTEXTS[settings] = found
    return found


def _proxy(env: Mapping[str, str], scheme: str, host: str
           ) -> tuple[str, int, dict[str, str]] | None:
    """(proxy host, port, headers) for a request, as Go's ProxyFromEnvironment decides."""
    if host in ("localhost", "::1") or host.startswith("127."):
        return None
    name = f"{scheme}_proxy"
    value = env.get(name.upper()) or env.get(name)
    if not value:
        return None
    no_proxy = env.get("NO_PROXY") or env.get("no_proxy") or ""
    for item in split_list(no_proxy):
        suffix = item.lstrip("*").lstrip(".") if item != "*" else ""
        if item == "*" or host == suffix or host.endswith("." + suffix):
            return None
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(value if "://" in value else "http://" + value)
    headers: dict[str, str] = {}
    if parts.username is not None:
        import base64

        user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
    return parts.hostname or "", parts.port or 80, headers
