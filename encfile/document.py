"""Orchestration: a parsed plaintext + keys -> encrypted text (decryption: ``opening.py``).

With ``opening.py``, the only layer that joins the codecs (structure, no crypto)
with the crypto (no structure): it walks each codec's trees in sops's order,
seals every value and comment, computes the MAC, and seals the layout.
"""

from __future__ import annotations

import warnings
from itertools import compress, repeat
from operator import and_, attrgetter

from . import crypto, datakey, formats, layout, values
from . import mac as _mac
from . import token as _token
from ._version import __version__
from .errors import (
    AlreadyEncryptedError,
    EncfileNote,
    EncfileWarning,
    RecipientError,
)
from .keysources import MasterKey, UnknownKey, sops_sorted
from .keysources.identities import KeyRing
from .metadata import KeyGroup, Metadata, format_lastmodified
from .opening import Stash
from .rules import Rules
from .tree import Alias, Branch, Comment, GcPaused, Hidden, Scalar, Seq, visits

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and datetime stay off the start-up path of -d and exec
    import datetime as _dt
    from collections.abc import Sequence
    from typing import Any

    from .opening import Opened

K8S_SECRET_REGEX = "^(data|stringData)$"
_KIND, _TEXT, _ORDINAL = attrgetter("kind"), attrgetter("text"), attrgetter("ordinal")


def _kubernetes_secrets(roots: Sequence[Branch]) -> bool:
    """Is every document a Kubernetes object (apiVersion + kind), one of them a Secret?"""
    kinds = []
    for root in roots:
        fields = {item[0]: item[1] for item in root if isinstance(item, tuple)}
        kind, version = fields.get("kind"), fields.get("apiVersion")
        if not (isinstance(kind, Scalar) and isinstance(version, Scalar) and kind.kind == "str"):
            return False
        kinds.append(kind.text)
    return "Secret" in kinds


def _keys_with_colon(node: Any, found: set[str]) -> None:
    todo = [node]
    while todo:
        item = todo.pop()
        while isinstance(item, Alias):
            item = item.target
        if isinstance(item, Branch):
            for entry in item:
                if isinstance(entry, tuple):
                    if ":" in entry[0]:
                        found.add(entry[0])
                    todo.append(entry[1])
        elif isinstance(item, Seq):
            todo.extend(i for i in item if not isinstance(i, Comment))


# -- encryption ----------------------------------------------------------------------------

def encrypt_text(
    text: str,
    *,
    fmt: str,
    recipients: Sequence[Sequence[MasterKey]],
    rules: Rules | None = None,
    shamir_threshold: int = 0,
    now: _dt.datetime | None = None,
    label: str = "input",
    ctx: KeyRing | None = None,
) -> str:
    """Encrypt a plaintext document for ``recipients`` (the keys of each key group)."""
    with GcPaused(len(text)):
        codec, parsed = _parse_plain(text, fmt, label)
        rules = _rules_for(codec, parsed, rules, label)
        key = crypto.new_data_key()
        groups = datakey.wrap_groups(key, recipients, shamir_threshold, ctx)
        threshold = shamir_threshold if len(recipients) > 1 else 0
        return _seal(codec.NAME, parsed, key, groups, threshold, rules, now, label, {})


def reencrypt_text(text: str, *, fmt: str, previous: Opened, now: _dt.datetime | None = None,
                   label: str = "input", also_reuse: Stash | None = None) -> str:
    """Encrypt an edited plaintext under ``previous``'s data key, recipients and rules.

    Every value and comment whose key path and plaintext did not change keeps its exact
    ciphertext (as sops does on edit and set), so the diff shows only what changed; new
    values get fresh IVs. Reusing an IV is safe here: same key, same AAD and same
    plaintext give the same ciphertext, and nothing else.

    ``also_reuse`` offers more tokens to keep, from another file **under the same data
    key** (the merge driver passes the other side's).
    """
    with GcPaused(len(text)):
        codec, parsed = _parse_plain(text, fmt, label)
        meta = previous.metadata
        rules = _whole_file_rules(codec, meta.rules)
        stash = {**(also_reuse or {}), **previous.stash()}
        return _seal(codec.NAME, parsed, previous._key, meta.key_groups,
                     meta.shamir_threshold, rules, now, label, stash,
                     meta.encfile_key_created)


def rekey_text(previous: Opened, *, groups: Sequence[Sequence[MasterKey]],
               shamir_threshold: int = 0, new_key: bool, drop_unsupported: bool = False,
               now: _dt.datetime | None = None, ctx: KeyRing | None = None) -> str:
    """The file for other keys (the keys of each key group).

    ``new_key``: rotate, i.e. a fresh data key and every value encrypted again (needed
    whenever someone loses access). Otherwise the data key stays, every value keeps its
    ciphertext and ``lastmodified`` does not move (as sops's updatekeys and groups): with
    one key group, keys already present keep their ``enc`` entries and new ones get the
    key; with several, the same data key is split again and every group gets its new
    share. Key entries encfile cannot write survive a kept key in one group; where the
    key must be wrapped anew they are dropped only with ``drop_unsupported``.
    """
    meta = previous.metadata
    label = previous.label
    kinds = sorted({k for g in meta.key_groups for k in g.unknown_kinds})
    reshare = not new_key and (len(groups) != 1 or len(meta.key_groups) != 1)
    if (new_key or reshare) and kinds and not drop_unsupported:
        raise RecipientError(f"{label} also has {', '.join(kinds)} keys, which encfile cannot "
                             "write for a new data key",
                             hints=["a rotation can drop them"], remedy="drop_unsupported")
    codec, parsed = _parse_plain(previous.text(), previous.fmt, label)
    rules = _whole_file_rules(codec, meta.rules)
    if new_key:
        key = crypto.new_data_key()
        wrapped = datakey.wrap_groups(key, groups, shamir_threshold, ctx)
        return _seal(codec.NAME, parsed, key, wrapped, shamir_threshold, rules, now, label, {})
    from datetime import datetime

    when = datetime.fromisoformat(meta.lastmodified.replace("Z", "+00:00")) \
        if meta.lastmodified else now
    if reshare:
        if not groups:
            raise RecipientError(f"{label}: a file needs at least one key group")
        shared = datakey.wrap_groups(previous._key, groups, shamir_threshold, ctx)
        return _seal(codec.NAME, parsed, previous._key, shared, shamir_threshold, rules, when,
                     label,
                     previous.stash(), meta.encfile_key_created)
    group = meta.key_groups[0]

    def present(wanted: MasterKey) -> MasterKey | None:
        return next((k for k in group.usable if k.same(wanted)), None)

    fresh = [k for k in groups[0] if present(k) is None]
    added = datakey.wrap_groups(previous._key, [fresh], ctx=ctx)[0].keys if fresh else []
    kept = [k for k in map(present, groups[0]) if k is not None]
    unknown = [k for k in group.keys if isinstance(k, UnknownKey)]
    new_group = KeyGroup(sops_sorted([*unknown, *kept, *added]))
    return _seal(codec.NAME, parsed, previous._key, [new_group], 0, rules, when, label,
                 previous.stash(),
                 meta.encfile_key_created)


def parse_plain(text: str, fmt: str, label: str = "input") -> Any:
    """Parse a plaintext document (no metadata allowed); ``.to_python()`` gives its data."""
    return _parse_plain(text, fmt, label)[1]


def _parse_plain(text: str, fmt: str, label: str) -> tuple[Any, Any]:
    codec = formats.get(fmt)
    parsed = codec.parse(text)
    if parsed.metadata is not None:
        raise AlreadyEncryptedError(
            f"{label} is already encrypted: it has sops metadata",
            hints=["decrypt it first, or edit it with 'encfile edit'"],
        )
    return codec, parsed


def _whole_file_rules(codec: Any, rules: Rules) -> Rules:
    """``rules``, except for a codec whose one value is the whole file: sops ignores (and
    does not store) any rule there."""
    if getattr(codec, "WHOLE_FILE", False):
        return Rules(mac_only_encrypted=rules.mac_only_encrypted)
    return rules


def _rules_for(codec: Any, parsed: Any, rules: Rules | None, label: str) -> Rules:
    """The rules a new file gets: the given ones, else a default that fits the file."""
    if getattr(codec, "WHOLE_FILE", False):
        return _whole_file_rules(codec, rules or Rules())
    if ((rules is None or not rules.any_rule) and codec.NAME in ("yaml", "json")
            and _kubernetes_secrets(parsed.roots)):
        warnings.warn(f"{label} holds Kubernetes objects with a Secret: only 'data' and "
                      f"'stringData' are encrypted (encrypted_regex {K8S_SECRET_REGEX}), so "
                      "'metadata' stays readable and 'encfile -d FILE | kubectl apply -f -' works",
                      EncfileNote, stacklevel=3)
        return Rules(encrypted_regex=K8S_SECRET_REGEX,
                     mac_only_encrypted=bool(rules and rules.mac_only_encrypted))
    return (rules or Rules()).with_default()




def _seal(fmt: str, parsed: Any, key: bytes, groups: list[Any], shamir_threshold: int,
          rules: Rules,
          now: _dt.datetime | None, label: str, stash: Stash,
          key_created: str | None = "") -> str:
    """Encrypt a parsed plaintext under ``key``; tokens in ``stash`` are reused.

    The walk notes what each value and comment needs; the new tokens are then sealed
    all at once (:func:`encfile.token.seal_many`) and the MAC hashes the joined
    plaintexts in one update.

    ``key_created`` is the data key's birth: "" for a key made now, None if unknown.
    """
    cipher = crypto.Cipher(key)
    mac = _mac.new_hash(rules)
    colon_keys: set[str] = set()
    for root in parsed.roots:
        _keys_with_colon(root, colon_keys)
    nodes, aads, flags = visits(parsed.roots, rules)
    if not stash and set(map(type, nodes)) <= {Scalar}:
        sealed = _seal_values(nodes, aads, flags, rules, cipher)
    else:
        sealed = _seal_one_by_one(nodes, aads, flags, rules, cipher, stash)
    paths, kinds, shape = sealed.paths, sealed.kinds, sealed.shape
    comments, hidden = sealed.comments, sealed.hidden
    mac.update(b"".join(sealed.hashed))
    if colon_keys:
        warnings.warn(
            f"{label}: keys containing ':' ({', '.join(sorted(map(repr, colon_keys))[:3])}) make "
            "key paths ambiguous, since sops joins them with ':'; the file works both ways, "
            "but a value could be moved between such keys unnoticed",
            EncfileWarning, stacklevel=3,
        )
    notes = getattr(parsed, "sops_notes", ())
    if notes:
        more = f" (and {len(notes) - 1} more)" if len(notes) > 1 else ""
        warnings.warn(f"{label}: sops will not read this file as encfile does: {notes[0]}{more}",
                      EncfileWarning, stacklevel=3)
    digest = mac.hexdigest().upper()
    from datetime import datetime, timezone

    lastmodified = format_lastmodified(now or datetime.now(timezone.utc))
    layout_data = parsed.layout()
    if layout_data.get("scalars"):
        layout_data["bound"] = layout.override_paths(layout_data["scalars"], paths)
    if comments:
        layout_data["comments"] = layout.comment_digest(comments)
    if kinds:
        layout_data["types"] = layout.types_digest(kinds)
    if hidden:
        layout_data["hidden"] = layout.comment_digest(hidden)
    layout_data["shape"] = layout.comment_digest(shape)
    layout_data["keys"] = layout.key_outline(parsed.roots)
    layout_data["format"] = fmt  # a file converted to another format loses its layout
    metadata = Metadata(
        key_groups=groups,
        lastmodified=lastmodified,
        # Unchanged values at an unchanged time: the old MAC and layout tokens stay too.
        mac=stash.get(("@mac", lastmodified, digest))
        or _token.seal(cipher, digest.encode("ascii"), lastmodified, "str"),
        rules=rules,
        shamir_threshold=shamir_threshold if len(groups) > 1 else 0,
        encfile_version=__version__,
        encfile_key_created=lastmodified if key_created == "" else key_created,
        encfile_layout=stash.get(("@layout", f"{lastmodified}:{digest}", layout.body(layout_data)))
        or layout.seal(cipher, layout_data, lastmodified, digest),
    )
    result: str = parsed.render_encrypted(metadata.to_dict())
    return result


class _Sealed:
    """What sealing the values and comments gathers for the MAC and the layout."""

    __slots__ = ("comments", "hashed", "hidden", "kinds", "paths", "shape")

    def __init__(self) -> None:
        self.paths: dict[int, str] = {}  # ordinal -> key path
        self.kinds: list[str] = []  # token types: sops does not authenticate them
        self.shape: list[str] = []  # each value's path and size
        self.hashed: list[bytes] = []  # what the MAC covers, in order
        self.comments: list[str] = []
        self.hidden: list[str] = []


def _seal_values(nodes: list[Scalar], aads: list[str], flags: list[bool], rules: Rules,
                 cipher: crypto.Cipher) -> _Sealed:
    """Values only (no comment, nothing hidden, no token to reuse): all in bulk, the new
    tokens sealed at once (:func:`encfile.token.seal_many`)."""
    out = _Sealed()
    data = list(map(str.encode, map(_TEXT, nodes), repeat("utf-8"), repeat("surrogateescape")))
    out.paths.update(zip(map(_ORDINAL, nodes), aads, strict=True))
    out.shape = list(map("{}\x1f{}".format, aads, map(len, data)))
    out.hashed = data if not rules.mac_only_encrypted else list(compress(data, flags))
    sealing = list(map(and_, flags, map(bool, data)))  # encrypted, and not empty
    targets = list(compress(nodes, sealing))
    out.kinds = [kind or "str" for kind in map(_KIND, targets)]
    tokens = _token.seal_many(cipher, list(compress(data, sealing)),
                              list(compress(aads, sealing)), out.kinds)
    for node, token in zip(targets, tokens, strict=True):
        node.out = token
    return out


def _seal_one_by_one(nodes: list[Any], aads: list[str], flags: list[bool], rules: Rules,
                     cipher: crypto.Cipher, stash: Stash) -> _Sealed:
    """Values and comments in the walk's order, reusing the tokens in ``stash``; the new
    ones are sealed at once after the walk."""
    out = _Sealed()
    mac_all = not rules.mac_only_encrypted
    to_bytes = values.to_bytes
    paths, kinds, shape, hashed = out.paths, out.kinds, out.shape, out.hashed
    comments, hidden = out.comments, out.hidden
    pending: list[Any] = []  # what needs a new token, and its plaintext, AAD and type
    plaintexts: list[bytes] = []
    sealing: list[str] = []
    types: list[str] = []
    for node, aad, encrypted in zip(nodes, aads, flags, strict=True):
        if type(node) is Comment:
            if encrypted and node.text:
                reused = stash.get((aad, "comment", node.text)) if stash else None
                if reused:
                    node.out = reused
                else:
                    pending.append(node)
                    plaintexts.append(to_bytes(node.text))
                    sealing.append(aad)
                    types.append("comment")
                comments.append(node.text)
            continue
        data = to_bytes(node.text)
        paths[node.ordinal] = aad
        shape.append(f"{aad}\x1f{len(data)}")
        if type(node) is Hidden:
            hidden.append(f"{aad}{encrypted:d}{node.text}")
        elif mac_all or encrypted:
            hashed.append(data)
        if encrypted and data:
            kind = node.kind or "str"
            reused = stash.get((aad, kind, node.text)) if stash else None
            if reused:
                node.out = reused
            else:
                pending.append(node)
                plaintexts.append(data)
                sealing.append(aad)
                types.append(kind)
            kinds.append(kind)
    tokens = _token.seal_many(cipher, plaintexts, sealing, types)
    for node, token in zip(pending, tokens, strict=True):
        node.out = token
    return out


# -- decryption ----------------------------------------------------------------------------
