"""Wrapping the data key for key groups, and getting it back (sops section 1.4 and 8).

One key group: every recipient gets the whole 32-byte key. Two or more groups:
the key is split with Shamir (``shamir.py``), each group's recipients get that
group's 33-byte share, and any ``shamir_threshold`` groups recover the key.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import age, crypto, shamir
from .errors import NoIdentityError, RecipientError
from .keys import KeyRing
from .metadata import AgeKey, KeyGroup, Metadata

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def wrap_groups(key: bytes, groups: Sequence[Sequence[str]], threshold: int = 0) -> list[KeyGroup]:
    """Age-encrypt ``key`` (or its Shamir shares) for each group's recipients."""
    if not groups or not all(groups):
        raise RecipientError("every key group needs at least one age recipient")
    if len(groups) == 1:
        secrets = [key]
    else:
        secrets = shamir.split(key, len(groups), threshold or len(groups), crypto._random)
    return [
        KeyGroup(age=[AgeKey(r, age.wrap(secret, r)) for r in recipients])
        for recipients, secret in zip(groups, secrets, strict=True)
    ]


def _unwrap_with(group: KeyGroup, identities: list[Any]) -> bytes | None:
    for entry in group.age:
        secret = age.unwrap(entry.enc, identities)
        if secret is not None:
            return secret
    return None


def _unwrap_group(group: KeyGroup, keyring: KeyRing) -> bytes | None:
    secret = _unwrap_with(group, keyring.identities())
    if secret is not None:
        return secret
    ssh = [e for e in group.age if e.recipient.startswith(("ssh-ed25519 ", "ssh-rsa "))]
    if ssh:
        ssh_identities = keyring.ssh_identities()
        for entry in ssh:
            secret = age.unwrap(entry.enc, ssh_identities)
            if secret is not None:
                return secret
    if keyring.has_commands():
        for entry in group.age:
            secret = age.unwrap(entry.enc, keyring.command_identities(entry.recipient))
            if secret is not None:
                return secret
    return None


def recover(metadata: Metadata, keyring: KeyRing, label: str) -> bytes:
    """The file's data key; raise NoIdentityError listing recipients and sources tried."""
    parts = [_unwrap_group(g, keyring) for g in metadata.key_groups]
    if any(p is None for p in parts):
        # The OS keyring is asked only now (importing it and talking to it costs time).
        extra = keyring.keyring_identities(metadata.recipients)
        if extra:
            parts = [p if p is not None else _unwrap_with(g, extra)
                     for p, g in zip(parts, metadata.key_groups, strict=True)]
    found = [p for p in parts if p is not None]
    if len(metadata.key_groups) == 1:
        if found and len(found[0]) == crypto.DATA_KEY_SIZE:
            return found[0]
        need = 1
    else:
        need = metadata.shamir_threshold or len(metadata.key_groups)
        if len(found) >= need:
            try:
                key = shamir.combine(found)
            except ValueError:
                key = b""
            if len(key) == crypto.DATA_KEY_SIZE:
                return key
    recipients = metadata.recipients
    others = sorted({name for g in metadata.key_groups for name in g.other})
    if len(metadata.key_groups) > 1:
        what = (f"only {len(found)} of the {need} key groups needed could be opened"
                f" (shamir threshold {need} of {len(metadata.key_groups)})")
    else:
        what = f"no identity matched any of its {len(recipients)} age recipients"
    hints = [f"recipient: {r}" for r in recipients]
    if others:
        hints.append(f"the file also has {', '.join(others)} keys, which encfile cannot use")
    hints.extend(f"tried {t}" for t in keyring.tried)
    if not keyring.tried:
        hints.append("no identity source was available")
    hints.append("point SOPS_AGE_KEY_FILE (or ENCFILE_AGE_KEY_FILE) at the key file of one "
                 "of these recipients")
    raise NoIdentityError(
        f"failed to decrypt {label}: {what}",
        recipients=recipients, sources=keyring.tried, hints=hints,
    )
