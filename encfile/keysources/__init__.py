"""Master keys: what a file's data key is wrapped for, one module per kind.

A *master key* is one entry of a key group in the sops metadata: an age
recipient, a PGP fingerprint, a KMS key… together with the data key wrapped for
it (``enc``). Each kind is one module of this package behind the small interface
of :class:`MasterKey`. :data:`KINDS` maps sops's metadata names to those modules,
and a module is imported only when a file or a rule uses its kind (as
``formats/__init__.py`` does for codecs).

Adding a kind means one module here (a :class:`MasterKey` subclass named
``Key``), one line in :data:`KINDS`, and the contract tests in
``tests/keysources/``; ARCHITECTURE.md walks through the age module as the
example.

Entries of a kind no module handles (``hckms``, or one from a newer sops) are
kept word for word as :class:`UnknownKey`: the file keeps them through every
rewrite that keeps its data key, and a new data key cannot be wrapped for them.

Recovering a data key (``datakey.recover``) takes two passes. The first asks
every key with ``cheap=True``: identities from environment variables and key
files only. The second, for the key groups still closed, lets keys run
commands, ask the OS keyring, or use gpg or the network. So a file with both age
and KMS keys never imports boto3 when an age identity opens it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from .identities import KeyRing

#: sops metadata name -> the module that handles it. One line per kind.
KINDS: dict[str, str] = {
    "age": "encfile.keysources.age",
    "pgp": "encfile.keysources.pgp",
    "hc_vault": "encfile.keysources.hcvault",
    "kms": "encfile.keysources.kms",
    "gcp_kms": "encfile.keysources.gcpkms",
    "azure_kv": "encfile.keysources.azkv",
}
#: Every kind sops writes, in the order sops writes them inside a key group.
SOPS_ORDER = ("pgp", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age")


class MasterKey:
    """One entry of a key group: a key that can wrap and unwrap the data key.

    ``kind`` is the sops metadata name (``age``); :attr:`id` is what identifies the
    key to a person (a recipient, a fingerprint, an ARN; never a secret).
    ``enc`` is the data key (or a Shamir share of it) wrapped for this key, ""
    until :meth:`wrap` has run.
    """

    kind = ""
    __slots__ = ("enc",)

    def __init__(self, enc: str = "") -> None:
        self.enc = enc

    @property
    def id(self) -> str:
        raise NotImplementedError

    @classmethod
    def from_config(cls, value: Any, context: Mapping[str, Any] | None = None
                    ) -> list[MasterKey]:
        """The keys a creation rule or a flag names (``value`` as written there: a string
        may list several, comma-separated; a rule's list may hold strings or mappings).
        ``context``: settings of the rule or the command line that apply to every key of
        the kind (``aws_profile``, ``encryption_context``). No I/O: nothing is checked
        against a service until the key is used."""
        raise NotImplementedError

    @classmethod
    def from_metadata(cls, entry: dict[str, Any]) -> MasterKey:
        """The key of one entry of a file's metadata; InputError if it is malformed."""
        raise NotImplementedError

    def to_metadata(self) -> dict[str, Any]:
        """The entry as sops writes it, in sops's field order."""
        raise NotImplementedError

    def wrap(self, data_key: bytes, ctx: KeyRing) -> MasterKey:
        """A copy of this key with ``enc`` set to ``data_key`` wrapped for it."""
        raise NotImplementedError

    def unwrap(self, ctx: KeyRing, *, cheap: bool) -> bytes | None:
        """The data key from ``enc``, or None when this run has no way to open it (no
        identity or credential for this key). ``cheap``: the first pass, which may only
        use identities from the environment and key files. A fatal problem (a service
        that refuses, a malformed ``enc``) raises; what was tried goes to ``ctx.tried``.
        """
        raise NotImplementedError

    def same(self, other: MasterKey) -> bool:
        """Is ``other`` the same key (whatever it wraps)?"""
        return self.kind == other.kind and self.id == other.id

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"  # never enc


class UnknownKey(MasterKey):
    """An entry of a kind encfile has no module for, kept exactly as it was read."""

    __slots__ = ("entry", "kind")

    def __init__(self, kind: str, entry: Any) -> None:
        super().__init__(str(entry.get("enc", "")) if isinstance(entry, dict) else "")
        self.kind = kind
        self.entry = entry

    @property
    def id(self) -> str:
        if isinstance(self.entry, dict):
            for field in ("fp", "arn", "resource_id", "vault_url", "key_name", "recipient"):
                if self.entry.get(field):
                    return str(self.entry[field])
        return "?"

    def to_metadata(self) -> dict[str, Any]:
        return self.entry  # type: ignore[no-any-return]

    def wrap(self, data_key: bytes, ctx: KeyRing) -> MasterKey:
        from ..errors import RecipientError

        raise RecipientError(f"encfile cannot wrap a data key for {self.kind} keys")

    def unwrap(self, ctx: KeyRing, *, cheap: bool) -> bytes | None:
        return None


def handler(kind: str) -> type[MasterKey] | None:
    """The class for a kind of key, importing its module; None for a kind encfile lacks."""
    module = KINDS.get(kind)
    if module is None:
        return None
    cls: type[MasterKey] = __import__(module, fromlist=["Key"]).Key
    return cls


def from_metadata(kind: str, entry: Any) -> MasterKey:
    """One metadata entry as a key: handled by its kind's module, else kept verbatim."""
    cls = handler(kind)
    if cls is None:
        return UnknownKey(kind, entry)
    if not isinstance(entry, dict):
        from ..errors import InputError

        raise InputError(f"sops {kind} entry is not a mapping")
    return cls.from_metadata(entry)


def from_config(kind: str, value: Any, context: Mapping[str, Any] | None = None
                ) -> list[MasterKey]:
    """The keys of one kind that a rule or flag names; ConfigError for a kind encfile
    cannot use."""
    cls = handler(kind)
    if cls is None:
        from ..errors import ConfigError

        raise ConfigError(f"encfile cannot use {kind} keys yet",
                          hints=[f"encfile handles {', '.join(sorted(KINDS))} keys"])
    return cls.from_config(value, context)


def sops_sorted(keys: Iterable[MasterKey]) -> list[MasterKey]:
    """Keys in the order sops writes a group (by kind; within a kind, as given)."""
    rank = {kind: i for i, kind in enumerate(SOPS_ORDER)}
    return sorted(keys, key=lambda k: rank.get(k.kind, len(rank)))


#: How long one request to a key service may take, in seconds (ENCFILE_KEY_SERVICE_TIMEOUT).
DEFAULT_SERVICE_TIMEOUT = 10.0


def service_timeout(env: Mapping[str, str]) -> float:
    """The timeout for one request to a key service: ``ENCFILE_KEY_SERVICE_TIMEOUT``
    seconds, else :data:`DEFAULT_SERVICE_TIMEOUT`."""
    value = env.get("ENCFILE_KEY_SERVICE_TIMEOUT", "").strip()
    if not value:
        return DEFAULT_SERVICE_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        from ..errors import ConfigError

        raise ConfigError(f"ENCFILE_KEY_SERVICE_TIMEOUT must be a number of seconds, not "
                          f"{value!r}")
    return seconds


def split_list(value: str) -> list[str]:
    """A comma-separated list the way sops splits one (trimmed, empty items skipped)."""
    return [part.strip() for part in value.split(",") if part.strip()]
