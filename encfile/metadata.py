"""The ``sops`` metadata block <-> :class:`Metadata`.

Codecs hand over the block as plain Python data (dicts, lists, strings, ints,
bools) and receive it back as an ordered dict in sops's field order (spec
section 7), so every format writes the same fields in the same order.

encfile adds three fields that sops ignores (sops reads files with unknown
metadata keys, and drops them when it rewrites a file):

* ``encfile_version``: the encfile version that wrote the file (``version``
  stays a sops version number, because sops parses it).
* ``encfile_key_created``: when the data key was made (RFC 3339, UTC), for
  rotation policies (``encfile status``); kept by writes that keep the key.
* ``encfile_layout``: an ``ENC[...]`` token holding what the encrypted text
  cannot show without leaking (see ``layout.py``).
"""

from __future__ import annotations

import itertools

from . import keysources, values
from .errors import InputError, NotEncryptedError
from .keysources import MasterKey, UnknownKey
from .rules import RULE_NAMES, Rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as _dt
    from typing import Any

SOPS_VERSION = "3.11.0"
# Master key kinds sops writes before ``age`` (and, at the top level, before ``lastmodified``).
_KINDS_BEFORE_AGE = ("kms", "gcp_kms", "hckms", "azure_kv", "hc_vault")


# Plain classes, not dataclasses: see "Start-up" in ARCHITECTURE.md.
class KeyGroup:
    """The keys of one key group, each a :class:`~encfile.keysources.MasterKey` (entries of
    kinds encfile has no module for are kept word for word)."""

    __slots__ = ("keys",)

    def __init__(self, keys: list[MasterKey] | None = None) -> None:
        self.keys: list[MasterKey] = [] if keys is None else keys

    def of_kind(self, kind: str) -> list[MasterKey]:
        return [k for k in self.keys if k.kind == kind]

    @property
    def usable(self) -> list[MasterKey]:
        """The keys encfile can wrap for and unwrap with."""
        return [k for k in self.keys if not isinstance(k, UnknownKey)]

    @property
    def unknown_kinds(self) -> list[str]:
        return sorted({k.kind for k in self.keys if isinstance(k, UnknownKey)})

    def __repr__(self) -> str:
        return f"KeyGroup({self.keys!r})"


class Metadata:
    __slots__ = (
        "encfile_key_created",
        "encfile_layout",
        "encfile_version",
        "key_groups",
        "lastmodified",
        "mac",
        "rules",
        "shamir_threshold",
        "version",
    )

    def __init__(self, key_groups: list[KeyGroup], lastmodified: str, mac: str, rules: Rules,
                 version: str = SOPS_VERSION, shamir_threshold: int = 0,
                 encfile_version: str | None = None, encfile_key_created: str | None = None,
                 encfile_layout: str | None = None) -> None:
        self.key_groups = key_groups
        self.lastmodified = lastmodified
        self.mac = mac
        self.rules = rules
        self.version = version
        self.shamir_threshold = shamir_threshold
        self.encfile_version = encfile_version
        self.encfile_key_created = encfile_key_created
        self.encfile_layout = encfile_layout

    def __repr__(self) -> str:
        return (f"Metadata(version={self.version!r}, lastmodified={self.lastmodified!r}, "
                f"key_groups={self.key_groups!r}, rules={self.rules!r})")

    @property
    def recipients(self) -> list[str]:
        return [r for group in self.recipient_groups for r in group]

    @property
    def recipient_groups(self) -> list[list[str]]:
        """The ids (age recipients, fingerprints, …) of each key group's usable keys."""
        return [[k.id for k in g.usable] for g in self.key_groups]

    # -- reading ------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, raw: object) -> Metadata:
        if not isinstance(raw, dict):
            raise InputError("sops metadata is not a mapping")

        def text(name: str, default: str = "") -> str:
            value = raw.get(name, default)
            if value is None:
                return default
            if isinstance(value, (dict, list)):
                raise InputError(f"sops metadata field {name!r} is not a scalar")
            return str(value)

        flat = _group_from(raw)
        groups_raw = raw.get("key_groups")
        if flat.keys or not groups_raw:
            groups = [flat]  # the top-level lists win over key_groups, as in sops
        else:
            if not isinstance(groups_raw, list):
                raise InputError("sops metadata field 'key_groups' is not a list")
            groups = [_group_from(g) for g in groups_raw]
        if not any(g.keys for g in groups):
            raise InputError("no keys found in the sops metadata")
        try:
            threshold = int(text("shamir_threshold", "0") or 0)
        except ValueError:
            raise InputError("sops metadata field 'shamir_threshold' is not a number") from None
        try:
            rules = Rules(
                **{name: text(name) for name in RULE_NAMES},
                mac_only_encrypted=text("mac_only_encrypted").lower() == "true",
            ).with_default()
        except Exception as err:
            raise InputError(f"invalid encryption rule in the sops metadata: {err}") from err
        version = text("version")
        mac = text("mac")
        if not version and not mac:
            raise NotEncryptedError("sops metadata has no version and no mac")
        return cls(
            key_groups=groups,
            lastmodified=normalize_lastmodified(text("lastmodified")),
            mac=mac,
            rules=rules,
            version=version,
            shamir_threshold=threshold,
            encfile_version=raw.get("encfile_version") and text("encfile_version"),
            encfile_key_created=raw.get("encfile_key_created") and text("encfile_key_created"),
            encfile_layout=raw.get("encfile_layout") and text("encfile_layout"),
        )

    # -- writing ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The block in sops's field order, empty fields left out."""
        out: dict[str, Any] = {}
        if len(self.key_groups) > 1:
            out["shamir_threshold"] = self.shamir_threshold or len(self.key_groups)
            out["key_groups"] = [_group_to(g, in_group=True) for g in self.key_groups]
        else:
            group = self.key_groups[0] if self.key_groups else KeyGroup()
            out.update(_group_to(group, in_group=False))
        out["lastmodified"] = self.lastmodified
        out["mac"] = self.mac
        if len(self.key_groups) == 1 and self.key_groups[0].of_kind("pgp"):
            out["pgp"] = _entries(self.key_groups[0], "pgp")
        out.update(self.rules.as_dict())
        out.pop("mac_only_encrypted", None)
        if self.rules.mac_only_encrypted:
            out["mac_only_encrypted"] = True
        out["version"] = self.version
        if self.encfile_version:
            out["encfile_version"] = self.encfile_version
        if self.encfile_key_created:
            out["encfile_key_created"] = self.encfile_key_created
        if self.encfile_layout:
            out["encfile_layout"] = self.encfile_layout
        return out


def _group_from(raw: object) -> KeyGroup:
    group = KeyGroup()
    if not isinstance(raw, dict):
        raise InputError("sops key group is not a mapping")
    for kind in keysources.SOPS_ORDER:
        entries = raw.get(kind)
        if not entries:
            continue
        if not isinstance(entries, list):
            raise InputError(f"sops metadata field {kind!r} is not a list")
        group.keys += [keysources.from_metadata(kind, entry) for entry in entries]
    return group


def _entries(group: KeyGroup, kind: str) -> list[Any]:
    return [k.to_metadata() for k in group.of_kind(kind)]


def _group_to(group: KeyGroup, *, in_group: bool) -> dict[str, Any]:
    """A group's lists in sops's order: inside ``key_groups`` pgp first and ``hc_vault`` and
    ``age`` always; at the top level pgp comes after the MAC (see :meth:`Metadata.to_dict`)."""
    out: dict[str, Any] = {}
    if in_group and group.of_kind("pgp"):
        out["pgp"] = _entries(group, "pgp")
    for kind in _KINDS_BEFORE_AGE:
        if group.of_kind(kind):
            out[kind] = _entries(group, kind)
        elif in_group and kind == "hc_vault":
            out[kind] = []  # sops always writes hc_vault and age inside a group
    if group.of_kind("age") or in_group:
        out["age"] = _entries(group, "age")
    return out


def normalize_lastmodified(text: str) -> str:
    """sops parses ``lastmodified`` as RFC 3339 and formats it again for the MAC's AAD."""
    try:
        values.parse_rfc3339(text)
    except ValueError:
        return text
    base = text[:19].replace("t", "T")
    zone = text[19:].lstrip(".,0123456789")
    if zone in ("Z", "z", "+00:00", "-00:00"):
        return base + "Z"
    return base + zone


def format_lastmodified(when: _dt.datetime) -> str:
    """A datetime as sops writes ``lastmodified``: UTC, whole seconds, ``Z``."""
    from datetime import timezone  # lazily: only writers stamp a time

    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- flat metadata (dotenv ``sops_…`` lines, the INI ``[sops]`` section) -----------------------

_MAP, _LIST = "__map_", "__list_"


def flatten(block: dict[str, Any]) -> list[tuple[str, str]]:
    """The block as sops's flat ``(key, value)`` pairs, sorted bytewise by key.

    Nested maps add ``__map_<key>``, list items ``__list_<i>``; empty lists and
    nulls vanish; ``True`` is ``true`` and numbers are written without decimals.
    """
    out: list[tuple[str, str]] = []

    def descend(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                descend(item, f"{key}{_MAP}{name}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                descend(item, f"{key}{_LIST}{index}")
        elif value is not None:
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, (int, float)):
                text = f"{value:.0f}"
            else:
                text = str(value)
            out.append((key, text))

    for name, value in block.items():
        descend(value, name)
    out.sort(key=lambda kv: kv[0].encode("utf-8"))
    return out


def _split_flat(key: str) -> list[str]:
    """``key`` cut at each ``__map_`` and ``__list_``, the markers kept (as a regex split would)."""
    parts: list[str] = []
    start = 0
    while True:
        at_map, at_list = key.find(_MAP, start), key.find(_LIST, start)
        if at_map < 0 and at_list < 0:
            parts.append(key[start:])
            return parts
        if at_list < 0 or 0 <= at_map < at_list:
            at, sep = at_map, _MAP
        else:
            at, sep = at_list, _LIST
        parts += (key[start:at], sep)
        start = at + len(sep)


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Inverse of :func:`flatten` (lists rebuilt by index, in any order of the pairs)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = _split_flat(key)
        path: list[str | int] = [parts[0]]
        for sep, name in zip(parts[1::2], parts[2::2], strict=True):
            if sep == _LIST:
                if not name.isdigit():
                    raise InputError(f"sops metadata key {key!r} has a bad list index")
                path.append(int(name))
            else:
                path.append(name)
        node: Any = root
        for step, nxt in itertools.pairwise(path):
            child = node.get(step)
            if child is None:
                child = {} if isinstance(nxt, str) else _Items()
                node[step] = child
            elif not isinstance(child, dict) or isinstance(child, _Items) != isinstance(nxt, int):
                raise InputError(f"sops metadata key {key!r} mixes lists and maps")
            node = child
        if path[-1] in node:
            raise InputError(f"sops metadata key {key!r} appears twice")
        node[path[-1]] = value
    result: dict[str, Any] = _lists(root)
    return result


class _Items(dict):  # type: ignore[type-arg]
    """List items by index while unflattening."""


def _lists(node: Any) -> Any:
    if isinstance(node, _Items):
        if sorted(node) != list(range(len(node))):
            raise InputError("sops metadata has a list with missing items")
        return [_lists(node[i]) for i in range(len(node))]
    if isinstance(node, dict):
        return {k: _lists(v) for k, v in node.items()}
    return node
