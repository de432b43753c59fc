"""Wrapping the data key for key groups, and getting it back (sops section 1.4 and 8).

One key group: every key of it gets the whole 32-byte key. Two or more groups:
the key is split with Shamir (``shamir.py``), each group's keys get that group's
33-byte share, and any ``shamir_threshold`` groups recover the key. The keys
themselves are :class:`~encfile.keysources.MasterKey` objects of any kind; this
module knows none of them.
"""

from __future__ import annotations

from . import crypto
from .errors import NoIdentityError, RecipientError
from .keysources import MasterKey
from .keysources.identities import KeyRing
from .metadata import KeyGroup, Metadata

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def checked_threshold(threshold: int, groups: int) -> int:
    """The Shamir threshold for ``groups`` key groups (0 for one group); raise
    RecipientError for one the groups cannot meet or that cannot split a key."""
    if groups < 2:
        return 0
    if threshold > groups:
        raise RecipientError(f"shamir threshold {threshold} is more than the {groups} key "
                             "groups")
    if threshold < 2:
        # sops writes such a file and then cannot read it: at least two shares are needed
        raise RecipientError(f"a shamir threshold of {threshold} cannot split the data key "
                             "between key groups", hints=["use 2 or more, or put the keys "
                                                          "in one group"])
    return threshold


def wrap_groups(key: bytes, groups: Sequence[Sequence[MasterKey]], threshold: int = 0,
                ctx: KeyRing | None = None) -> list[KeyGroup]:
    """Wrap ``key`` (or its Shamir shares) for each group's keys."""
    if not groups or not all(groups):
        raise RecipientError("every key group needs at least one key")
    if len(groups) == 1:
        secrets = [key]
    else:
        threshold = checked_threshold(threshold or len(groups), len(groups))
        from . import shamir  # only for several key groups

        secrets = shamir.split(key, len(groups), threshold, crypto._random)
    ctx = ctx if ctx is not None else KeyRing()
    return [KeyGroup([k.wrap(secret, ctx) for k in keys])
            for keys, secret in zip(groups, secrets, strict=True)]


def _open_group(group: KeyGroup, ctx: KeyRing, cheap: bool) -> bytes | None:
    for k in group.usable:
        secret = k.unwrap(ctx, cheap=cheap)
        if secret is not None:
            return secret
    return None


def _open_group_in_order(group: KeyGroup, ctx: KeyRing) -> bytes | None:
    """``--decryption-order``: each key in the order of its kind, cheap and then
    expensive sources, before the next key (kinds not named come last, in file order)."""
    rank = {kind: i for i, kind in enumerate(ctx.decryption_order)}
    for k in sorted(group.usable, key=lambda k: rank.get(k.kind, len(rank))):
        for cheap in (True, False):
            secret = k.unwrap(ctx, cheap=cheap)
            if secret is not None:
                return secret
    return None


def _combine(parts: list[bytes | None], metadata: Metadata) -> bytes | None:
    found = [p for p in parts if p is not None]
    if len(metadata.key_groups) == 1:
        return found[0] if found and len(found[0]) == crypto.DATA_KEY_SIZE else None
    if len(found) < (metadata.shamir_threshold or len(metadata.key_groups)):
        return None
    try:
        from . import shamir

        key = shamir.combine(found)
    except ValueError:
        return None
    return key if len(key) == crypto.DATA_KEY_SIZE else None


def _count_kinds(keys: Sequence[MasterKey]) -> str:
    """``1 hc_vault, 1 age``: how many keys of each kind, in sops's order."""
    from .keysources import sops_sorted

    counts: dict[str, int] = {}
    for k in sops_sorted(keys):
        counts[k.kind] = counts.get(k.kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def recover(metadata: Metadata, ctx: KeyRing, label: str) -> bytes:
    """The file's data key; raise NoIdentityError listing the keys and sources tried.

    Two passes: first every group with the cheap sources only (identities from the
    environment and key files); then, for the groups still closed, the expensive ones
    (commands, the OS keyring, gpg, the network), and only if the first pass was not
    enough.
    """
    groups = metadata.key_groups
    if ctx.decryption_order:
        parts = [_open_group_in_order(g, ctx) for g in groups]
    else:
        parts = [_open_group(g, ctx, True) for g in groups]
    key = _combine(parts, metadata)
    if key is None and any(p is None for p in parts) and not ctx.decryption_order:
        parts = [p if p is not None else _open_group(g, ctx, False)
                 for p, g in zip(parts, groups, strict=True)]
        key = _combine(parts, metadata)
    if key is not None:
        return key
    keys = [k for g in groups for k in g.usable]
    if len(groups) > 1:
        need = metadata.shamir_threshold or len(groups)
        opened = sum(p is not None for p in parts)
        what = (f"only {opened} of the {need} key groups needed could be opened"
                f" (shamir threshold {need} of {len(groups)})")
    elif not keys:
        what = "it has no key encfile can use"
    elif all(k.kind == "age" for k in keys):
        what = f"no identity matched any of its {len(keys)} age recipients"
    elif len(keys) == 1:
        what = f"its {keys[0].kind} key could not open it"
    else:
        what = f"none of its {len(keys)} keys ({_count_kinds(keys)}) could open it"
    # a key a service or gpg was asked for has its own "tried KIND ID: reason" line
    asked = {t.partition(": ")[0] for t in ctx.tried}
    hints = [f"recipient: {k.id}" if k.kind == "age" else f"{k.kind} key: {k.id}"
             for k in keys if k.kind == "age" or f"{k.kind} {k.id}" not in asked]
    others = sorted({kind for g in groups for kind in g.unknown_kinds})
    if others:
        hints.append(f"the file also has {', '.join(others)} keys, which encfile cannot use")
    hints.extend(f"tried {t}" for t in ctx.tried)
    if not ctx.tried:
        hints.append("no identity source was available")
    if any(k.kind == "age" for k in keys):
        hints.append("point SOPS_AGE_KEY_FILE (or ENCFILE_AGE_KEY_FILE) at the key file of "
                     "one of these recipients")
    raise NoIdentityError(
        f"failed to decrypt {label}: {what}",
        recipients=metadata.recipients, sources=ctx.tried, hints=hints,
    )
