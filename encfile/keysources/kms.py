"""AWS KMS keys: the data key encrypted by a KMS key, through boto3.

A ``kms`` entry is sops's: ``arn``, ``role`` (when a role is assumed), ``context`` (the
encryption context, when there is one), ``created_at``, ``enc`` (standard base64 of
KMS's ``CiphertextBlob``) and ``aws_profile`` (always written, "" for the default).
Rules and flags name keys by ARN, with ``+arn:aws:iam::ACCOUNT:role/NAME`` to assume
a role first (``ARN+ROLE_ARN``); a rule's key group may give ``arn``, ``role``,
``context`` and ``aws_profile`` as a mapping.

As in sops:

* the region is the ARN's;
* credentials come from boto3's default chain (variables, ``AWS_PROFILE``, the shared
  files, SSO, web identity, container and instance roles), or from the key's
  ``aws_profile``; ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_KMS`` /
  ``AWS_ENDPOINT_URL_STS`` point the clients elsewhere. boto3 reads these from the
  process environment (not from ``KeyRing.env``);
* a role is assumed through STS with the session name ``sops@HOSTNAME`` (the host name
  cleaned as sops cleans it), so CloudTrail shows sops and encfile alike;
* the encryption context is sent with every call, so KMS refuses an ``enc`` whose
  ``context`` was changed in the file.

boto3 is the optional extra ``[aws]``; its core, botocore, is what this module imports
(the session, the credential chain, SigV4), in the second pass only (never when an age
identity opened the file). Each request may take
``keysources.service_timeout`` seconds and is not retried; a failure is one line in
``ctx.tried`` (no credentials, access denied with KMS's reason, key not found,
timeout), never a credential or the data key.
"""

from __future__ import annotations

import re

from ..errors import InputError, RecipientError
from . import MasterKey, service_timeout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .identities import KeyRing

#: sops's ARN check; the first group is the region.
ARN_RE = re.compile(r"^arn:aws[\w-]*:kms:(.+):[0-9]+:(key|alias)/.+$")
#: What sops strips from the host name for the role session name. ``@-_`` is a range
#: (``@``, ``A``-``Z``, ``[\\]^_``), so a ``-`` in the host name is dropped, as in sops.
_SESSION_STRIP = re.compile(r"[^a-zA-Z0-9=,.@-_]+")
_ROLE_MARK = "+arn:aws:iam::"
EXTRA = "pip install 'encfile-sops[aws]'"


class Key(MasterKey):
    """An AWS KMS key (ARN), with the role, encryption context and profile to use it."""

    kind = "kms"
    __slots__ = ("arn", "aws_profile", "context", "created_at", "role")

    def __init__(self, arn: str, role: str = "", context: Mapping[str, str] | None = None,
                 aws_profile: str = "", created_at: str = "", enc: str = "") -> None:
        super().__init__(enc)
        self.arn = arn
        self.role = role
        self.context: dict[str, str] = dict(sorted((context or {}).items()))
        self.aws_profile = aws_profile
        self.created_at = created_at

    @property
    def id(self) -> str:
        """sops's name for the key: ``ARN[+ROLE][|CONTEXT][|PROFILE]`` (so a key with another
        context or profile is another key, as for sops's rotate and updatekeys)."""
        name = f"{self.arn}+{self.role}" if self.role else self.arn
        context = ",".join(f"{k}:{v}" for k, v in self.context.items())
        if self.aws_profile:
            return f"{name}|{context}|{self.aws_profile}"
        return f"{name}|{context}" if context else name

    @classmethod
    def from_config(cls, value: Any, context: Mapping[str, Any] | None = None
                    ) -> list[MasterKey]:
        """``value``: ARNs, comma-separated (``ARN+ROLE_ARN`` assumes a role), or a list of
        them, or (in a key group) a list of mappings with ``arn``, ``role``, ``context`` and
        ``aws_profile``. ``context``: the command line's or the rule's
        ``encryption_context`` and ``aws_profile``, for keys given as ARNs."""
        settings = context or {}
        pairs = _context(settings.get("encryption_context"), "the encryption context")
        profile = str(settings.get("aws_profile") or "")
        keys: list[MasterKey] = []
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                keys += [_from_arn(arn, "", pairs, profile) for arn in item.split(",")
                         if arn.replace(" ", "")]
            elif isinstance(item, dict):
                unknown = sorted(set(item) - {"arn", "role", "context", "aws_profile"})
                if unknown:
                    raise RecipientError(f"unknown field {unknown[0]!r} in a kms key (it "
                                         "takes arn, role, context and aws_profile)")
                if not isinstance(item.get("arn"), str) or not item["arn"].strip():
                    raise RecipientError("a kms key needs an 'arn'")
                keys.append(_from_arn(item["arn"], _text(item.get("role")),
                                      _context(item.get("context"), "a kms key's context"),
                                      _text(item.get("aws_profile"))))
            else:
                raise RecipientError("kms keys are ARNs, or mappings with 'arn' (and 'role', "
                                     "'context', 'aws_profile')")
        return keys

    @classmethod
    def from_metadata(cls, entry: dict[str, Any]) -> MasterKey:
        if not isinstance(entry.get("arn"), str) or not isinstance(entry.get("enc"), str):
            raise InputError("sops kms entry needs 'arn' and 'enc'")
        context = entry.get("context")
        if context is not None and not isinstance(context, dict):
            raise InputError("sops kms entry's 'context' is not a mapping")
        return cls(entry["arn"], _text(entry.get("role")),
                   {str(k): _text(v) for k, v in (context or {}).items()},
                   _text(entry.get("aws_profile")), _timestamp(entry.get("created_at")),
                   entry["enc"])

    def to_metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {"arn": self.arn}
        if self.role:
            out["role"] = self.role
        if self.context:
            out["context"] = dict(self.context)
        out["created_at"] = self.created_at
        out["enc"] = self.enc
        out["aws_profile"] = self.aws_profile
        return out

    def wrap(self, data_key: bytes, ctx: KeyRing) -> MasterKey:
        import base64

        client = _client(self, ctx)
        if isinstance(client, str):
            raise RecipientError(f"cannot wrap the data key for kms key {self.id}: {client}")
        answer = _send(client, "encrypt", ctx, KeyId=self.arn, Plaintext=data_key,
                       EncryptionContext=self.context)
        if isinstance(answer, str):
            raise RecipientError(f"cannot wrap the data key for kms key {self.id}: {answer}")
        enc = base64.b64encode(answer["CiphertextBlob"]).decode("ascii")
        # sops keeps a key's creation date when it wraps a new data key for it (rotate)
        return Key(self.arn, self.role, self.context, self.aws_profile,
                   self.created_at or _now(), enc)

    def unwrap(self, ctx: KeyRing, *, cheap: bool) -> bytes | None:
        if cheap:  # boto3 and the network: only in the second pass
            return None
        import base64
        import binascii

        try:
            blob = base64.b64decode(self.enc, validate=True)
        except (binascii.Error, ValueError):
            blob = b""
        if not blob:
            self._tried(ctx, "its enc is not base64")
            return None
        client = _client(self, ctx)
        if isinstance(client, str):
            self._tried(ctx, client)
            return None
        answer = _send(client, "decrypt", ctx, KeyId=self.arn, CiphertextBlob=blob,
                       EncryptionContext=self.context)
        if isinstance(answer, str):
            self._tried(ctx, answer)
            return None
        plaintext: bytes = answer["Plaintext"]
        return plaintext

    def _tried(self, ctx: KeyRing, reason: str) -> None:
        """This key's reason for the "no key worked" error (once a run: a command over many
        files asks the same key again)."""
        line = f"{self.kind} {self.id}: {reason}"
        if line not in ctx.tried:
            ctx.tried.append(line)


def _from_arn(arn: str, role: str, context: dict[str, str], profile: str) -> Key:
    """A key from an ARN (``ARN+ROLE_ARN`` splits as sops splits it); RecipientError when it
    is not a KMS key ARN."""
    arn = arn.replace(" ", "")
    at = arn.find(_ROLE_MARK)
    if at > 0 and not role:
        arn, role = arn[:at], arn[at + 1:]
    if not ARN_RE.match(arn):
        raise RecipientError(f"invalid AWS KMS key ARN {arn!r}",
                             hints=["e.g. arn:aws:kms:us-east-1:111122223333:key/ID or "
                                    "…:alias/NAME, with +arn:aws:iam::ACCOUNT:role/NAME to "
                                    "assume a role"])
    return Key(arn, role, context, profile)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _context(value: Any, what: str) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):  # sops's key:value,key:value
        pairs: dict[str, str] = {}
        for item in value.split(","):
            key, sep, text = item.partition(":")
            if not sep or ":" in text:
                raise RecipientError(f"{what}: {item!r} is not a key:value pair")
            pairs[key] = text
        return pairs
    if not isinstance(value, dict) or any(isinstance(v, (dict, list)) for v in value.values()):
        raise RecipientError(f"{what} must be a mapping of strings")
    return {str(k): _text(v) for k, v in value.items()}


def _now() -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _timestamp(value: Any) -> str:
    """``created_at`` as text (a YAML reader may have made it a datetime)."""
    if value is None or isinstance(value, str):
        return value or ""
    try:
        from datetime import timezone

        return str(value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    except (AttributeError, ValueError, TypeError):
        return str(value)


def session_name() -> str:
    """sops's STS role session name: ``sops@`` and the cleaned host name, at most 64
    characters."""
    import socket

    return ("sops@" + _SESSION_STRIP.sub("", socket.gethostname()))[:64]


# -- boto3 -------------------------------------------------------------------------------------

def _client(key: Key, ctx: KeyRing) -> Any:
    """The KMS client for the key's region, profile and role (one per run), or a one-line
    reason there is none (boto3 missing, a bad ARN, a role that cannot be assumed)."""
    found = ARN_RE.match(key.arn)
    if found is None:
        return "not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)"
    region = found.group(1)
    cache: dict[tuple[str, str, str], Any] = ctx.cache.setdefault("kms", {})
    slot = (key.aws_profile, region, key.role)
    if slot in cache:
        return cache[slot]
    try:
        # botocore is boto3's core (the session, the credential chain, the signing):
        # importing it alone spares boto3's resource layer and s3transfer on every decrypt
        import botocore.session  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]
    except ImportError:
        cache[slot] = f"needs boto3, which is not installed: {EXTRA}"
        return cache[slot]
    timeout = service_timeout(ctx.env)
    config = Config(connect_timeout=timeout, read_timeout=timeout,
                    retries={"total_max_attempts": 1})
    try:
        session = botocore.session.Session(profile=key.aws_profile or None)
        if not key.role:
            cache[slot] = session.create_client("kms", region_name=region, config=config)
            return cache[slot]
        sts = session.create_client("sts", region_name=region, config=config)
        answer = _send(sts, "assume_role", ctx, RoleArn=key.role,
                       RoleSessionName=session_name())
        if isinstance(answer, str):
            cache[slot] = f"cannot assume role {key.role}: {answer}"
            return cache[slot]
        creds = answer["Credentials"]
        cache[slot] = session.create_client(
            "kms", region_name=region, config=config,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"])
    except Exception as err:  # botocore's errors (a missing profile, a bad config file)
        cache[slot] = _reason(err, timeout)
    return cache[slot]


def _send(client: Any, operation: str, ctx: KeyRing, **params: Any) -> Any:
    """One call; its answer, or a one-line reason."""
    try:
        return getattr(client, operation)(**params)
    except Exception as err:  # botocore raises many classes; all become one line
        return _reason(err, service_timeout(ctx.env))


#: botocore's error class -> what to say (its own message would be longer or unclear).
_PLAIN = {
    "NoCredentialsError": "no AWS credentials (boto3 looked in AWS_ACCESS_KEY_ID/"
                          "AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, SSO, web identity, "
                          "and the container and instance roles)",
    "ParamValidationError": "the request was not valid (ParamValidationError)",
}
_CODES = {
    "NotFoundException": "key not found",
    "InvalidCiphertextException": "KMS cannot decrypt this enc with this key and "
                                  "encryption context (another key, or the file's context "
                                  "was changed)",
    "DisabledException": "the key is disabled",
    "KMSInvalidStateException": "the key cannot be used in its state",
    "IncorrectKeyException": "the enc was made by another KMS key",
}


def _reason(err: BaseException, timeout: float) -> str:
    """A botocore error as one line that holds no credential."""
    name = type(err).__name__
    if name in _PLAIN:
        return _PLAIN[name]
    if name in ("ReadTimeoutError", "ConnectTimeoutError"):
        return f"no answer within {timeout:g} s (ENCFILE_KEY_SERVICE_TIMEOUT)"
    if name in ("CredentialRetrievalError", "PartialCredentialsError"):
        # their text may quote a credential process's output: name the provider only
        kwargs = getattr(err, "kwargs", {})
        return f"incomplete AWS credentials ({name}: {kwargs.get('provider', '?')})"
    if name == "ProfileNotFound":
        return f"AWS profile {getattr(err, 'kwargs', {}).get('profile', '?')!r} not found"
    response = getattr(err, "response", None)
    if isinstance(response, dict):  # a ClientError: the service answered
        error = response.get("Error") or {}
        code = str(error.get("Code") or "?")
        message = " ".join(str(error.get("Message") or "").split())[:300]
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        http = f"HTTP {status}, " if status else ""
        if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
                    "InvalidClientTokenId", "ExpiredTokenException", "ExpiredToken"):
            return f"access denied ({http}{code}){': ' + message if message else ''}"
        if code in _CODES:
            return f"{_CODES[code]} ({http}{code}){': ' + message if message else ''}"
        return f"KMS refused the request ({http}{code}){': ' + message if message else ''}"
    if name in ("EndpointConnectionError", "ConnectionClosedError"):
        return f"cannot reach the KMS endpoint ({' '.join(str(err).split())[:200]})"
    return f"{name}: {' '.join(str(err).split())[:200]}"
