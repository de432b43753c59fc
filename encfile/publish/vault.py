"""Vault (and OpenBao) KV: the decrypted data as one secret, as sops publishes it.

The secret's path is sops's: ``MOUNT`` (default ``secret/``) then, for KV v2,
``data/``, then ``vault_path`` (with a ``/`` added) and the file's name. The address
is the rule's ``vault_address``, else ``VAULT_ADDR``, else ``https://127.0.0.1:8200``
(as the Vault client sops uses). The token, TLS (``VAULT_CACERT``, ``VAULT_CAPATH``,
client certificates; verification always on), ``VAULT_NAMESPACE`` and proxies are
those of :mod:`encfile.keysources.hcvault`.

Unlike sops, an unchanged secret is never written again (sops compares KV v1 data
with the wrong field, and Vault's numbers with Go's), and a KV v2 write carries
``cas`` = the version read, so a secret someone changed in between is reported
(:class:`ConflictError`), not overwritten.
"""

from __future__ import annotations

from ..keysources import hcvault, service_timeout
from .diff import Change, Plan, compare
from .errors import ConflictError, PublishError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..keysources.identities import KeyRing
    from .source import Source

DEFAULT_ADDRESS = "https://127.0.0.1:8200"  # the Vault client's default, as sops's


class VaultKV:
    """A KV mount of a Vault server: ``vault_path``, ``vault_address``,
    ``vault_kv_mount_name``, ``vault_kv_version`` of a destination rule."""

    def __init__(self, address: str, path: str, mount: str = "", version: int = 2) -> None:
        self.address = address.rstrip("/")
        self.path = path if path.endswith("/") else path + "/"
        mount = mount or "secret/"
        self.mount = mount if mount.endswith("/") else mount + "/"
        self.version = version if version in (1, 2) else 2

    def secret_path(self, name: str) -> str:
        if self.version == 1:
            return f"{self.mount}{self.path}{name}"
        return f"{self.mount}data/{self.path}{name}"

    def address_for(self, ctx: KeyRing) -> str:
        return self.address or ctx.env.get("VAULT_ADDR", "").rstrip("/") or DEFAULT_ADDRESS

    def plan(self, name: str, source: Source, ctx: KeyRing) -> Plan:
        address = self.address_for(ctx)
        path = self.secret_path(name)
        where = f"{address}/v1/{path}"
        wanted = source.data()
        status, answer = _request(address, path, ctx, where, "GET")
        current: dict[str, Any] | None = None
        version = 0
        body: dict[str, Any] = answer["data"] if isinstance(answer.get("data"), dict) else {}
        if status == 200:
            current = body.get("data") if self.version == 2 else body
            if self.version == 2:
                version = int((body.get("metadata") or {}).get("version") or 0)
        elif status == 404 and self.version == 2 and isinstance(body.get("metadata"), dict):
            version = int(body["metadata"].get("version") or 0)  # its latest was deleted
        elif status != 404:
            raise PublishError(f"cannot read {where}: {_refusal(status, answer, path)}")
        if current is not None and not isinstance(current, dict):
            current = None
        change: Change = compare(current, wanted)
        if version:
            change.note = f"version {version} there"

        def write() -> str:
            payload: dict[str, Any] = wanted if self.version == 1 else {
                "options": {"cas": version}, "data": wanted}
            status, answer = _request(address, path, ctx, where, "POST", payload)
            if status in (200, 204):
                written = (answer.get("data") or {}).get("version") if self.version == 2 \
                    else None
                return f"version {written}" if written else "written"
            said = hcvault.server_message(answer)
            if self.version == 2 and status == 400 and "check-and-set" in said:
                raise ConflictError(
                    f"{where} changed since it was read (version {version}): nothing was "
                    "written", hints=["someone else published meanwhile; run publish again "
                                      "to see the new change"])
            raise PublishError(f"cannot write {where}: {_refusal(status, answer, path)}")

        return Plan(source.label, where, change, write)


def _request(address: str, path: str, ctx: KeyRing, where: str, method: str,
             body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    secret, why = hcvault.token(ctx)
    if not secret:
        raise PublishError(f"cannot publish to {where}: {why}")
    status, answer = hcvault.post(address, path, body, secret, ctx, service_timeout(ctx.env),
                                   method=method)
    if isinstance(answer, str):
        raise PublishError(f"cannot publish to {where}: {answer}")
    return status, answer


def _refusal(status: int, answer: dict[str, Any], path: str) -> str:
    said = hcvault.server_message(answer)
    if status == 403:
        return (f"permission denied (HTTP 403): the token's policies do not allow this on "
                f"{path}{' (' + said + ')' if said and said != 'permission denied' else ''}")
    if status == 404:
        return f"not found (HTTP 404){': ' + said if said else ''} (is the KV mount there?)"
    return f"HTTP {status}{': ' + said if said else ''}"
