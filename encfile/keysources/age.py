"""age keys: X25519 and ssh recipients, and the identities that open them.

The only importer of ``pyrage``. The data key is age-encrypted separately for
every recipient (as sops does), as the raw 32 bytes (33 for a Shamir share),
ASCII-armored: the armored text is the ``enc`` field of an ``age`` entry
(``recipient``, ``enc``). :class:`Key` is the key source; the functions below it
are the age primitives that identity gathering (``identities.py``), ``keygen``
and the tests use.
"""

from __future__ import annotations

import pyrage

from ..errors import InputError, RecipientError
from . import MasterKey, split_list

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and datetime stay off the start-up path of -d and exec
    import datetime as _dt
    from collections.abc import Mapping, Sequence
    from typing import Any

    from .identities import KeyRing

SSH_PREFIXES = ("ssh-ed25519 ", "ssh-rsa ")


class Key(MasterKey):
    """An age recipient (``age1…``, ``ssh-ed25519 …``, ``ssh-rsa …``)."""

    kind = "age"
    __slots__ = ("recipient",)

    def __init__(self, recipient: str, enc: str = "") -> None:
        super().__init__(enc)
        self.recipient = recipient

    @property
    def id(self) -> str:
        return self.recipient

    @classmethod
    def from_config(cls, value: Any, context: Mapping[str, Any] | None = None
                    ) -> list[MasterKey]:
        items = value if isinstance(value, list) else [value]
        return [cls(r) for item in items for r in split_list(str(item))]

    @classmethod
    def from_metadata(cls, entry: dict[str, Any]) -> MasterKey:
        if "recipient" not in entry or "enc" not in entry:
            raise InputError("sops age entry needs 'recipient' and 'enc'")
        return cls(str(entry["recipient"]), str(entry["enc"]))

    def to_metadata(self) -> dict[str, Any]:
        return {"recipient": self.recipient, "enc": self.enc}

    def wrap(self, data_key: bytes, ctx: KeyRing | None = None) -> MasterKey:
        return Key(self.recipient, wrap(data_key, self.recipient))

    def unwrap(self, ctx: KeyRing, *, cheap: bool) -> bytes | None:
        if cheap:  # identities from variables and key files, then ssh keys
            secret = unwrap(self.enc, ctx.identities())
            if secret is None and self.recipient.startswith(SSH_PREFIXES):
                secret = unwrap(self.enc, ctx.ssh_identities())
            return secret
        # the second pass: the key commands, then the OS keyring
        if ctx.has_commands():
            secret = unwrap(self.enc, ctx.command_identities(self.recipient))
            if secret is not None:
                return secret
        return unwrap(self.enc, ctx.keyring_identities([self.recipient]))


SECRET_PREFIX = "AGE-SECRET-KEY-1"
UNSUPPORTED_IDENTITY_PREFIXES = ("AGE-PLUGIN-", "AGE-SECRET-KEY-PQ-1")


class ParsedIdentities(tuple[list["Any"], list[str]]):
    """``(identities, errors)``: the pyrage identities and one message per bad line."""

    __slots__ = ()

    def __new__(cls, identities: list[Any], errors: list[str]) -> ParsedIdentities:
        return super().__new__(cls, (identities, errors))

    @property
    def identities(self) -> list[Any]:
        return self[0]

    @property
    def errors(self) -> list[str]:
        return self[1]


def parse_recipient(text: str) -> Any:
    """Turn a recipient string into a pyrage recipient; raise RecipientError if invalid."""
    s = text.strip()
    try:
        if s.startswith(SSH_PREFIXES):
            return pyrage.ssh.Recipient.from_str(s)
        if s.startswith("age1pq1"):
            raise RecipientError(f"post-quantum age recipient {s[:16]}… is not supported yet")
        if s.startswith("age1") and "1" in s[4:]:
            # bech32 data never contains '1': a second one ends a plugin's HRP (age1yubikey1…)
            raise RecipientError(f"age plugin recipient {s[:16]}… is not supported yet")
        return pyrage.x25519.Recipient.from_str(s)
    except RecipientError:
        raise
    except Exception as err:  # pyrage raises its own RecipientError type
        raise RecipientError(
            f"invalid age recipient {s!r}",
            hints=["age recipients look like 'age1…' (see 'encfile keygen') or 'ssh-ed25519 AAAA…'"],
        ) from err


def wrap(secret: bytes, recipient: str) -> str:
    """Age-encrypt ``secret`` for one recipient; return the armored text."""
    armored = pyrage.encrypt(secret, [parse_recipient(recipient)], armored=True)
    text: str = armored.decode("ascii")
    return text if text.endswith("\n") else text + "\n"


def parse_identities(text: str) -> ParsedIdentities:
    """Parse identity-file text: one identity per line, ``#`` comments, blank lines.

    Lines are not trimmed (as in sops and age), except for a final ``\\r``.
    Plugin and post-quantum identities are reported, not fatal: other lines of
    the same source still count.
    """
    identities: list[Any] = []
    errors: list[str] = []
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line or line.startswith("#"):
            continue
        if line.startswith(UNSUPPORTED_IDENTITY_PREFIXES):
            errors.append(f"line {number}: {line.split('1', 1)[0]}… identities are not supported")
            continue
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except Exception:
            # Never echo the line: it may be a (damaged) private key.
            errors.append(f"line {number}: not an age identity")
    return ParsedIdentities(identities, errors)


def parse_ssh_identity(data: bytes) -> Any:
    """An ssh private key (ed25519 or RSA) as an identity; ValueError if it cannot be used
    (passphrase-protected, or not a key). The message never quotes the key."""
    try:
        return pyrage.ssh.Identity.from_buffer(data)
    except Exception as err:
        if "decrypted first" in str(err):
            raise ValueError("passphrase-protected ssh keys are not supported") from None
        raise ValueError("not an ssh ed25519 or RSA private key") from None


def public_of(identity: Any) -> str:
    """The recipient (``age1…``) of an identity."""
    return str(identity.to_public())


def unwrap(armored: str, identities: Sequence[Any]) -> bytes | None:
    """Decrypt an armored age file with any of ``identities``; None if none matches."""
    if not identities:
        return None
    try:
        data: bytes = pyrage.decrypt(armored.encode("ascii", "replace"), list(identities))
    except Exception:
        return None
    return data


MAX_SCRYPT_WORK_FACTOR = 20  # 2**20 * 1 KiB = 1 GiB of memory; age -p writes 18, rage 20


def scrypt_work_factor(data: bytes) -> int | None:
    """The scrypt stanza's log2(N) of a passphrase-encrypted age file (armored or not)."""
    if data.lstrip().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----"):
        import base64

        lines = data.strip().splitlines()[1:5]  # the header is in the first lines
        try:
            data = base64.b64decode(b"".join(line.strip() for line in lines
                                             if not line.startswith(b"-----")))
        except ValueError:
            return None
    for line in data.split(b"\n")[1:8]:
        if line.startswith(b"-> scrypt "):
            parts = line.split()
            return int(parts[3]) if len(parts) == 4 and parts[3].isdigit() else None
    return None


def decrypt_identity_file(data: bytes, passphrase: str) -> str:
    """The identities inside a passphrase-protected file; ValueError on any failure.

    The scrypt work factor is checked first: a crafted file must not make
    pyrage spend gigabytes of memory.
    """
    factor = scrypt_work_factor(data)
    if factor is None:
        raise ValueError("not a passphrase-protected age file")
    if factor > MAX_SCRYPT_WORK_FACTOR:
        raise ValueError(f"its scrypt work factor {factor} is above the limit of "
                         f"{MAX_SCRYPT_WORK_FACTOR}")
    if data.lstrip().startswith(b"-----BEGIN"):
        import base64

        body = b"".join(line.strip() for line in data.strip().splitlines()[1:-1])
        data = base64.b64decode(body)
    try:
        plain: bytes = pyrage.passphrase.decrypt(data, passphrase)
    except Exception:
        raise ValueError("wrong passphrase") from None
    return plain.decode("utf-8", "replace")


def is_encrypted_identity_file(text: str) -> bool:
    """A passphrase-protected identity file is itself an age file."""
    head = text.lstrip()[:32]
    return head.startswith(("age-encryption.org/", "-----BEGIN AGE ENCRYPTED FILE-----"))


class NewIdentity(tuple[str, str]):
    """``(secret, public)``: a new age identity and its recipient."""

    __slots__ = ()

    def __new__(cls, secret: str, public: str) -> NewIdentity:
        return super().__new__(cls, (secret, public))

    @property
    def secret(self) -> str:
        return self[0]

    @property
    def public(self) -> str:
        return self[1]

    def __repr__(self) -> str:
        return f"NewIdentity(public={self.public!r})"  # never the secret

    def file_block(self, now: _dt.datetime | None = None) -> str:
        """The identity in ``age-keygen``'s layout (also sops's ``keys.txt`` layout)."""
        from datetime import datetime, timezone

        when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        return (
            f"# created: {when.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
            f"# public key: {self.public}\n"
            f"{self.secret}\n"
        )


def generate() -> NewIdentity:
    """A new X25519 identity."""
    identity = pyrage.x25519.Identity.generate()
    return NewIdentity(str(identity), str(identity.to_public()))
