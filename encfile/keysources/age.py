"""age keys: X25519, post-quantum, plugin and ssh recipients, and the identities that open them.

The only importer of ``pyrage``. The data key is age-encrypted separately for
every recipient (as sops does), as the raw 32 bytes (33 for a Shamir share),
ASCII-armored: the armored text is the ``enc`` field of an ``age`` entry
(``recipient``, ``enc``). :class:`Key` is the key source; the functions below it
are the age primitives that identity gathering (``identities.py``), ``keygen``
and the tests use.

Plugins (C2SP age-plugin): a recipient ``age1NAME1…`` and an identity
``AGE-PLUGIN-NAME-1…`` belong to the program ``age-plugin-NAME`` on ``PATH``, which
pyrage starts and talks to; encfile only checks the name (``[A-Za-z0-9+-._]``, never
a path). A plugin may talk to hardware and ask for a PIN, so plugin identities are
tried in the second pass only, and what a plugin asks goes to the caller's
``plugin_ui`` (``age_plugins.PluginUI``; without one, each question fails and is
noted in ``tried``). ``age_plugins.py`` holds that glue and loads only when a
plugin is used.

Post-quantum keys (``age1pq1…``, ``AGE-SECRET-KEY-PQ-1…``): pyrage 1.4 has no
hybrid recipient, but ``age1pq1…`` also reads as a plugin recipient of a plugin
named ``pq``, and encfile ships that plugin (``age-plugin-pq``, in
``age_pq_plugin.py``). pyrage writes and reads the age file; the plugin makes and
opens the ``mlkem768x25519`` stanza with pyca/cryptography's HPKE. An
``AGE-SECRET-KEY-PQ-1…`` line is handed to it in the plugin form
(``AGE-PLUGIN-PQ-1…``, the same 32 bytes). These identities are software keys from
key files: they are tried in the first pass, but only for ``age1pq1…``
recipients, so a file without one never starts the plugin or imports its code.
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

    from .age_plugins import PluginUI
    from .identities import KeyRing

SSH_PREFIXES = ("ssh-ed25519 ", "ssh-rsa ")
PQ_RECIPIENT_PREFIX = "age1pq1"
PQ_SECRET_PREFIX = "AGE-SECRET-KEY-PQ-1"
PLUGIN_PREFIX = "AGE-PLUGIN-"
_PQ_PUBLIC_SIZE = 1216  # age_pq.PUBLIC_SIZE (not imported here: it loads cryptography's HPKE)
_PLUGIN_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789+-._")


class Key(MasterKey):
    """An age recipient: X25519 (``age1…``), post-quantum (``age1pq1…``), a plugin's
    (``age1yubikey1…``) or ssh (``ssh-ed25519 …``, ``ssh-rsa …``)."""

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
        ui = ctx.plugin_ui if ctx is not None else None
        return Key(self.recipient, wrap(data_key, self.recipient, ui=ui))

    def unwrap(self, ctx: KeyRing, *, cheap: bool) -> bytes | None:
        pq = self.recipient.startswith(PQ_RECIPIENT_PREFIX)

        def attempt(found: Sequence[Any], plugins: bool) -> bytes | None:
            # Post-quantum identities only ever open an age1pq1 recipient's stanza.
            usable = [i for i in found if not isinstance(i, PluginIdentity)
                      or (i.pq and pq) or (plugins and not i.pq)]
            return unwrap(self.enc, usable, ui=ctx.plugin_ui, notes=ctx.tried)

        if cheap:  # identities from variables and key files (no plugin but pq), then ssh keys
            secret = attempt(ctx.identities(), plugins=False)
            if secret is None and self.recipient.startswith(SSH_PREFIXES):
                secret = unwrap(self.enc, ctx.ssh_identities())
            return secret
        # The second pass: plugin identities from those sources (a plugin may wait for a
        # touch or ask for a PIN), the key commands, then the OS keyring.
        plugged = [i for i in ctx.identities() if isinstance(i, PluginIdentity) and not i.pq]
        if plugged:
            secret = attempt(plugged, plugins=True)
            if secret is not None:
                return secret
        if ctx.has_commands():
            secret = attempt(ctx.command_identities(self.recipient), plugins=True)
            if secret is not None:
                return secret
        return attempt(ctx.keyring_identities([self.recipient]), plugins=True)


SECRET_PREFIX = "AGE-SECRET-KEY-1"


class PluginIdentity:
    """An identity a plugin opens: ``AGE-PLUGIN-NAME-1…``, or a post-quantum identity in
    that form (``pq``: software, opened by encfile's own ``age-plugin-pq``). Its text
    may be a private key: it is never shown."""

    __slots__ = ("identity", "name", "pq")

    def __init__(self, identity: Any) -> None:
        self.identity = identity  # a pyrage.plugin.Identity
        self.name = str(identity.plugin())
        self.pq = self.name == "pq"

    def __repr__(self) -> str:
        return f"PluginIdentity('age-plugin-{self.name}')"


class ParsedIdentities(tuple[list["Any"], list[str]]):
    """``(identities, errors)``: the identities (pyrage's, and :class:`PluginIdentity`)
    and one message per bad line."""

    __slots__ = ()

    def __new__(cls, identities: list[Any], errors: list[str]) -> ParsedIdentities:
        return super().__new__(cls, (identities, errors))

    @property
    def identities(self) -> list[Any]:
        return self[0]

    @property
    def errors(self) -> list[str]:
        return self[1]


def _short(recipient: str) -> str:
    return recipient if len(recipient) <= 24 else recipient[:16] + "…"


def plugin_name(recipient: str) -> str | None:
    """The plugin of an ``age1NAME1…`` recipient (``pq`` for ``age1pq1…``), else None."""
    if not recipient.startswith("age1"):
        return None
    end = recipient.rfind("1")
    return recipient[4:end] if end > 4 else None


def parse_recipient(text: str) -> Any:
    """Turn a recipient string into a pyrage recipient (``pyrage.plugin.Recipient`` for a
    plugin's and a post-quantum one); raise RecipientError if invalid."""
    s = text.strip()
    name = plugin_name(s)
    try:
        if s.startswith(SSH_PREFIXES):
            return pyrage.ssh.Recipient.from_str(s)
        if name is None:
            return pyrage.x25519.Recipient.from_str(s)
    except Exception as err:  # pyrage raises its own RecipientError type
        raise RecipientError(
            f"invalid age recipient {_short(s)!r}",
            hints=["age recipients look like 'age1…' (see 'encfile keygen') or 'ssh-ed25519 AAAA…'"],
        ) from err
    if not name or not set(name) <= _PLUGIN_NAME_CHARS:
        # The name becomes a program name: never a path (GHSA-32gq-x56h-299c).
        raise RecipientError(f"invalid age plugin recipient {_short(s)!r}: a plugin name is "
                             "letters, digits and '+-._' only")
    if name == "pq":
        from . import bech32

        try:
            hrp, data = bech32.decode(s)
            ok = hrp == "age1pq" and len(data) == _PQ_PUBLIC_SIZE
        except ValueError:
            ok = False
        if not ok:
            raise RecipientError(f"invalid post-quantum age recipient {_short(s)!r}",
                                 hints=["a post-quantum recipient is 'age1pq1' and about "
                                        "1,950 more characters (see 'encfile keygen --pq')"])
    try:
        return pyrage.plugin.Recipient.from_str(s)
    except Exception as err:
        raise RecipientError(f"invalid age plugin recipient {_short(s)!r}") from err


# -- plugins -------------------------------------------------------------------------------

def wrap(secret: bytes, recipient: str, *, ui: PluginUI | None = None) -> str:
    """Age-encrypt ``secret`` for one recipient; return the armored text. A plugin's (and a
    post-quantum) recipient runs its plugin, whose questions go to ``ui``."""
    parsed = parse_recipient(recipient)
    if isinstance(parsed, pyrage.plugin.Recipient):
        from . import age_plugins

        name = str(parsed.plugin())
        notes: list[str] = []
        shim = age_plugins.Callbacks(name, ui, notes)
        try:
            target = age_plugins.resolve([name], lambda: pyrage.plugin.RecipientPluginV1(
                name, [parsed], [], shim))
        except Exception:
            raise RecipientError(f"age recipient {_short(recipient)!r} needs the program "
                                 f"age-plugin-{name}, which is not on PATH",
                                 hints=[age_plugins.missing_hint(name)]) from None
        try:
            armored = pyrage.encrypt(secret, [target], armored=True)
        except Exception as err:
            shim.reraise()
            raise RecipientError(f"age-plugin-{name} could not wrap the data key for "
                                 f"{_short(recipient)!r}: {age_plugins.scrub(str(err))}",
                                 hints=notes) from None
        shim.reraise()
    else:
        armored = pyrage.encrypt(secret, [parsed], armored=True)
    text: str = armored.decode("ascii")
    return text if text.endswith("\n") else text + "\n"


def parse_identities(text: str) -> ParsedIdentities:
    """Parse identity-file text: one identity per line, ``#`` comments, blank lines.

    Lines are not trimmed (as in sops and age), except for a final ``\\r``.
    ``AGE-SECRET-KEY-1…`` lines give pyrage identities; ``AGE-PLUGIN-…`` and
    ``AGE-SECRET-KEY-PQ-1…`` lines give :class:`PluginIdentity`. A bad line is
    reported, not fatal: other lines of the same source still count.
    """
    identities: list[Any] = []
    errors: list[str] = []
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line or line.startswith("#"):
            continue
        # Never echo a line: it may be a (damaged) private key.
        if line.startswith(PQ_SECRET_PREFIX):
            try:
                identities.append(pq_identity(line))
            except ValueError:
                errors.append(f"line {number}: not a post-quantum age identity")
            continue
        if line.startswith(PLUGIN_PREFIX):
            try:
                identities.append(PluginIdentity(pyrage.plugin.Identity.from_str(line)))
            except Exception:
                errors.append(f"line {number}: not an age plugin identity")
            continue
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except Exception:
            errors.append(f"line {number}: not an age identity")
    return ParsedIdentities(identities, errors)


def pq_identity(text: str) -> PluginIdentity:
    """An ``AGE-SECRET-KEY-PQ-1…`` identity in its plugin form; ValueError if malformed."""
    from . import bech32

    hrp, seed = bech32.decode(text)
    if hrp != PQ_SECRET_PREFIX[:-1] or len(seed) != 32:
        raise ValueError("not a post-quantum age identity")
    try:
        return PluginIdentity(pyrage.plugin.Identity.from_str(
            bech32.encode("AGE-PLUGIN-PQ-", seed)))
    except Exception:
        raise ValueError("not a post-quantum age identity") from None


def parse_ssh_identity(data: bytes) -> Any:
    """An ssh private key (ed25519 or RSA) as an identity; ValueError if it cannot be used
    (passphrase-protected, or not a key). The message never quotes the key."""
    try:
        return pyrage.ssh.Identity.from_buffer(data)
    except Exception as err:
        if "decrypted first" in str(err):
            raise ValueError("passphrase-protected ssh keys are not supported") from None
        raise ValueError("not an ssh ed25519 or RSA private key") from None


def public_of(identity: Any) -> str | None:
    """The recipient (``age1…``, ``age1pq1…``) of an identity; None for a plugin's, whose
    recipient only the plugin knows."""
    if isinstance(identity, PluginIdentity):
        if not identity.pq:
            return None
        from . import age_pq, bech32

        return age_pq.recipient_of(bech32.decode(str(identity.identity))[1])
    return str(identity.to_public())


def unwrap(armored: str, identities: Sequence[Any], *, ui: PluginUI | None = None,
           notes: list[str] | None = None) -> bytes | None:
    """Decrypt an armored age file with any of ``identities``; None if none matches.

    :class:`PluginIdentity` entries run their plugins (grouped by plugin), after the
    native identities; their questions go to ``ui``, and a missing plugin or a
    plugin's error is noted in ``notes``.
    """
    targets = [i for i in identities if not isinstance(i, PluginIdentity)]
    shims: list[Any] = []
    if len(targets) < len(identities):
        from . import age_plugins

        by_name: dict[str, list[Any]] = {}
        for item in identities:
            if isinstance(item, PluginIdentity):
                by_name.setdefault(item.name, []).append(item.identity)
        for name, group in by_name.items():
            shim = age_plugins.Callbacks(name, ui, notes)
            try:
                made = age_plugins.resolve([name], lambda: pyrage.plugin.IdentityPluginV1(
                    name, group, shim))  # noqa: B023 (called at once)
            except Exception:
                age_plugins.note(notes, f"age-plugin-{name}: not found on PATH "
                                        f"({age_plugins.missing_hint(name)})")
                continue
            targets.append(made)
            shims.append(shim)
    if not targets:
        return None
    try:
        data: bytes | None = pyrage.decrypt(armored.encode("ascii", "replace"), targets)
    except Exception as err:
        if shims:
            age_plugins.plugin_failure(err, notes, [s.name for s in shims])
        data = None
    for shim in shims:
        shim.reraise()
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
