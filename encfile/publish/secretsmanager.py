"""AWS Secrets Manager (encfile's own destination; sops has none): the decrypted data.

``aws_secret_name: NAME`` stores the whole document as one JSON secret string.
``aws_secret_split: true`` stores one secret per top-level key, ``NAME/KEY``: a string
value as it is, any other value as JSON. Split secrets are tagged
``encfile:split-of = NAME``; a key that left the document has its secret deleted, with
Secrets Manager's recovery window (30 days: ``restore-secret`` brings it back), and only
if it carries that tag. A secret whose value is the same is not written, so no new
version appears.
"""

from __future__ import annotations

import json

from ..keysources import service_timeout
from . import aws
from .diff import Change, Plan, compare
from .errors import PublishError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..keysources.identities import KeyRing
    from .source import Source

TAG = "encfile:split-of"
GONE = ("ResourceNotFoundException",)


def as_string(value: Any) -> str:
    """A value as a secret string: text as it is, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class SecretsManager:
    def __init__(self, name: str, split: bool = False) -> None:
        self.name = name
        self.split = split

    def plan(self, name: str, source: Source, ctx: KeyRing) -> Plan:
        data = source.data()
        client = aws.client("secretsmanager", ctx)
        calls = _Calls(client, service_timeout(ctx.env))
        if not self.split:
            return self._whole(source, data, calls)
        return self._split(source, data, calls)

    def _whole(self, source: Source, data: dict[str, Any], calls: _Calls) -> Plan:
        where = f"secretsmanager:{self.name}"
        text = as_string(data)
        there = calls.value(self.name, where)
        current: Any = None
        if there is not None:
            try:
                current = json.loads(there[0])
            except ValueError:
                current = None
        if there is not None and there[0] == text:
            change = Change()
        elif there is not None and not isinstance(current, dict):
            change = Change(other="the whole secret", note="the secret there is not a JSON "
                            "object")
        else:
            change = compare(current, data)
            if change.unchanged:
                change.other = "the JSON text"  # same data, other spacing or key order

        def write() -> str:
            return calls.put(self.name, text, where, exists=there, tag=False)

        return Plan(source.label, where, change, write)

    def _split(self, source: Source, data: dict[str, Any], calls: _Calls) -> Plan:
        where = f"secretsmanager:{self.name}/*"
        wanted = {key: as_string(value) for key, value in data.items()}
        there: dict[str, Any] = {}
        for key in wanted:
            found = calls.value(f"{self.name}/{key}", where)
            if found is not None:
                there[key] = found
        ours = calls.tagged(self.name, where)
        current = {k: v[0] for k, v in there.items()}
        for key in ours:
            if key not in wanted:
                current[key] = None
        change = compare(current, wanted, equal=lambda a, b: a == b)

        def write() -> str:
            done: list[str] = []
            try:
                for key in change.added + change.changed:
                    calls.put(f"{self.name}/{key}", wanted[key], where,
                              exists=there.get(key), tag=True)
                    done.append(key)
                for key in change.removed:
                    calls.delete(f"{self.name}/{key}", where)
                    done.append(key)
            except PublishError as err:
                wrote = ", ".join(f"{self.name}/{k}" for k in done) or "none"
                raise PublishError(f"{err.message} (of {where}, written before it: {wrote})",
                                   hints=err.hints) from None
            removed = f", {len(change.removed)} scheduled for deletion" if change.removed \
                else ""
            return f"{len(change.added) + len(change.changed)} secret(s) written{removed}"

        return Plan(source.label, where, change, write)


class _Calls:
    """The few Secrets Manager calls, each failure one PublishError line."""

    def __init__(self, client: Any, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    def _fail(self, what: str, err: BaseException) -> PublishError:
        return PublishError(f"cannot {what}: {aws.reason(err, self.timeout)}")

    def value(self, secret: str, where: str) -> tuple[str, str] | None:
        """(its string, "") if the secret exists; None when there is none, or when it is
        scheduled for deletion (a write restores it)."""
        try:
            answer = self.client.get_secret_value(SecretId=secret)
        except Exception as err:
            if aws.code(err) in GONE:
                return None
            if aws.code(err) == "InvalidRequestException" and "deleted" in str(err).lower():
                return None
            raise self._fail(f"read the secret '{secret}'", err) from None
        return str(answer.get("SecretString") or ""), ""

    def tagged(self, name: str, where: str) -> list[str]:
        """The keys of the split secrets of ``name`` that exist now (tagged by encfile)."""
        keys: list[str] = []
        try:
            pages = self.client.get_paginator("list_secrets").paginate(
                Filters=[{"Key": "name", "Values": [f"{name}/"]},
                         {"Key": "tag-key", "Values": [TAG]}])
            for page in pages:
                for entry in page.get("SecretList") or []:
                    tags = {t.get("Key"): t.get("Value") for t in entry.get("Tags") or []}
                    secret = str(entry.get("Name") or "")
                    if tags.get(TAG) == name and secret.startswith(f"{name}/") \
                            and not entry.get("DeletedDate"):
                        keys.append(secret[len(name) + 1:])
        except Exception as err:
            raise self._fail(f"list the secrets of {where}", err) from None
        return keys

    def put(self, secret: str, text: str, where: str, *, exists: Any, tag: bool) -> str:
        tags = [{"Key": TAG, "Value": secret.rpartition("/")[0]}] if tag else []
        try:
            if exists is None:
                try:
                    answer = self.client.create_secret(Name=secret, SecretString=text,
                                                       **({"Tags": tags} if tags else {}))
                except Exception as err:
                    if aws.code(err) != "InvalidRequestException":
                        raise
                    # scheduled for deletion: bring it back, then write the new value
                    self.client.restore_secret(SecretId=secret)
                    answer = self.client.put_secret_value(SecretId=secret, SecretString=text)
                    if tags:
                        self.client.tag_resource(SecretId=secret, Tags=tags)
            else:
                answer = self.client.put_secret_value(SecretId=secret, SecretString=text)
        except Exception as err:
            raise self._fail(f"write the secret '{secret}'", err) from None
        version = str(answer.get("VersionId") or "")
        return f"version {version}" if version else "written"

    def delete(self, secret: str, where: str) -> None:
        try:
            self.client.delete_secret(SecretId=secret, RecoveryWindowInDays=30)
        except Exception as err:
            raise self._fail(f"delete the secret '{secret}'", err) from None
