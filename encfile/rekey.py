"""What ``rotate`` and ``updatekeys`` change in a file's keys: plans, made before anything
is written (``document.rekey_text`` then writes them)."""

from __future__ import annotations

from .datakey import checked_threshold
from .errors import RecipientError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .keysources import MasterKey
    from .metadata import Metadata


def _has(keys: Sequence[MasterKey], key: MasterKey) -> bool:
    return any(key.same(k) for k in keys)


def rotation_groups(metadata: Metadata, add: Sequence[MasterKey],
                    remove: Sequence[MasterKey], label: str) -> list[list[MasterKey]]:
    """The key groups after a rotation: ``remove`` taken out of every group, ``add``
    joining the first (as sops's ``rotate --add-*/--rm-*``)."""
    current = [g.usable for g in metadata.key_groups]
    everyone = [k for g in current for k in g]
    missing = [k for k in remove if not _has(everyone, k)]
    if missing:
        raise RecipientError(f"{label} has no recipient {missing[0].id}",
                             hints=["nothing was changed; the file's recipients: "
                                    + ", ".join(k.id for k in everyone)])
    groups = [[k for k in g if not _has(remove, k)] for g in current]
    if add:
        groups[0] += [k for k in add if not _has(groups[0], k)]
    if not all(groups):
        raise RecipientError(f"{label}: removing those recipients leaves a key group empty")
    return groups


class Update:
    """One file's ``updatekeys`` plan: who is added and removed, and whether the data key
    must change (removing a key, or any change to several key groups)."""

    __slots__ = ("added", "removed", "rotate")

    def __init__(self, added: list[str], removed: list[str], rotate: bool) -> None:
        self.added = added
        self.removed = removed
        self.rotate = rotate


def update_plan(metadata: Metadata, groups: Sequence[Sequence[MasterKey]],
                shamir_threshold: int) -> Update | None:
    """What making the file's keys match ``groups`` takes; None when they already do.
    The order of keys within a group is no change (the order of the groups is)."""
    current = metadata.recipient_groups
    target = [[k.id for k in g] for g in groups]
    wanted_threshold = shamir_threshold if len(target) > 1 else 0
    if [set(g) for g in current] == [set(g) for g in target] \
            and metadata.shamir_threshold == wanted_threshold:
        return None
    before = {r for g in current for r in g}
    after = {r for g in target for r in g}
    rotate = bool(before - after) or len(current) != 1 or len(target) != 1
    return Update(sorted(after - before), sorted(before - after), rotate)


def add_group(metadata: Metadata, keys: Sequence[MasterKey],
              shamir_threshold: int | None) -> tuple[list[list[MasterKey]], int]:
    """The key groups and threshold after ``groups add`` (sops: the threshold stays unless
    given, and is at least 1)."""
    if not keys:
        raise RecipientError("a new key group needs at least one key")
    groups = [g.usable for g in metadata.key_groups] + [list(keys)]
    threshold = shamir_threshold if shamir_threshold is not None \
        else (metadata.shamir_threshold or len(groups))
    return groups, checked_threshold(threshold, len(groups))


def delete_group(metadata: Metadata, index: int,
                 shamir_threshold: int | None) -> tuple[list[list[MasterKey]], int]:
    """The key groups and threshold after ``groups delete INDEX`` (from 0, as sops)."""
    groups = [g.usable for g in metadata.key_groups]
    if not 0 <= index < len(groups):
        raise RecipientError(f"the file has no key group {index} (it has {len(groups)}, "
                             "counted from 0)")
    if len(groups) == 1:
        raise RecipientError("the file's only key group cannot be deleted")
    del groups[index]
    threshold = shamir_threshold
    if threshold is None:
        # As sops: a threshold the groups left cannot meet is refused, not lowered behind
        # the user's back (3 of 3 becoming 2 of 2 opens the file with fewer keys).
        threshold = metadata.shamir_threshold or len(groups)  # 0: every group, as sops
        if threshold > len(groups):
            raise RecipientError(f"deleting key group {index} leaves {len(groups)} key "
                                 f"group{'s' if len(groups) > 1 else ''} for a shamir "
                                 f"threshold of {threshold}",
                                 hints=["give a threshold the groups left can meet"],
                                 remedy="threshold")
    return groups, checked_threshold(threshold, len(groups))


