"""Orchestration: a parsed file + keys -> encrypted or decrypted text.

This is the only layer that joins the codecs (structure, no crypto) with the
crypto (no structure): it walks each codec's trees in sops's order, seals or
opens every value and comment, computes and checks the MAC, and seals or opens
the layout. All-or-nothing: nothing is returned until the whole file has
authenticated.
"""

from __future__ import annotations

import hashlib
import hmac
import warnings

from . import crypto, datakey, formats, layout, values
from . import token as _token
from ._version import __version__
from .errors import (
    AlreadyEncryptedError,
    EncfileNote,
    EncfileWarning,
    InputError,
    MacMismatchError,
    NotEncryptedError,
    RecipientError,
    TamperedValueError,
)
from .keysources import MasterKey, UnknownKey, sops_sorted
from .keysources.identities import KeyRing
from .metadata import KeyGroup, Metadata, format_lastmodified
from .rules import Rules
from .tree import Alias, Branch, Comment, Hidden, Scalar, Seq, walk

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing, datetime and dataclasses stay off the start-up path of -d and exec
    import datetime as _dt
    from collections.abc import Sequence
    from typing import Any

_MAC_ONLY_INIT = hashlib.sha256(b"sops").digest()
K8S_SECRET_REGEX = "^(data|stringData)$"


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


def _new_hash(rules: Rules) -> Any:
    h = hashlib.sha512()
    if rules.mac_only_encrypted:
        # A fixed prefix keeps MACs with and without the option apart (as in sops).
        h.update(_MAC_ONLY_INIT)
    return h


def _path(aad: str) -> str:
    """A key path for messages: the AAD without its final ':' (never a value)."""
    return aad[:-1] or "(top level)"


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
    codec, parsed = _parse_plain(text, fmt, label)
    rules = _rules_for(codec, parsed, rules, label)
    key = crypto.new_data_key()
    groups = datakey.wrap_groups(key, recipients, shamir_threshold, ctx)
    threshold = shamir_threshold if len(recipients) > 1 else 0
    return _seal(parsed, key, groups, threshold, rules, now, label, {})


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
    codec, parsed = _parse_plain(text, fmt, label)
    meta = previous.metadata
    rules = _whole_file_rules(codec, meta.rules)
    stash = {**(also_reuse or {}), **previous.stash()}
    return _seal(parsed, previous.key, meta.key_groups, meta.shamir_threshold, rules, now,
                 label, stash, meta.encfile_key_created)


def rekey_text(previous: Opened, *, groups: Sequence[Sequence[MasterKey]],
               shamir_threshold: int = 0, new_key: bool, drop_unsupported: bool = False,
               now: _dt.datetime | None = None, ctx: KeyRing | None = None) -> str:
    """The file for other keys (the keys of each key group).

    ``new_key``: rotate, i.e. a fresh data key and every value encrypted again (needed
    whenever someone loses access). Otherwise the data key stays: recipients already
    present keep their ``enc`` entries, new ones get the key, every value keeps its
    ciphertext and ``lastmodified`` does not move (as sops's updatekeys); this is only
    possible for a single key group. Key entries encfile cannot write (pgp, kms… from
    sops) survive a kept key; a new key drops them only with ``drop_unsupported``.
    """
    meta = previous.metadata
    label = previous.label
    kinds = sorted({k for g in meta.key_groups for k in g.unknown_kinds})
    if new_key and kinds and not drop_unsupported:
        raise RecipientError(f"{label} also has {', '.join(kinds)} keys, which encfile cannot "
                             "write for a new data key",
                             hints=["they can be dropped (rotate --drop-unsupported-keys)"])
    codec, parsed = _parse_plain(previous.text(), previous.fmt, label)
    rules = _whole_file_rules(codec, meta.rules)
    if new_key:
        key = crypto.new_data_key()
        wrapped = datakey.wrap_groups(key, groups, shamir_threshold, ctx)
        return _seal(parsed, key, wrapped, shamir_threshold, rules, now, label, {})
    if len(groups) != 1 or len(meta.key_groups) != 1:
        raise RecipientError(f"{label}: changing the recipients of key groups needs a new "
                             "data key", hints=["rotate the file instead"])
    group = meta.key_groups[0]

    def present(wanted: MasterKey) -> MasterKey | None:
        return next((k for k in group.usable if k.same(wanted)), None)

    fresh = [k for k in groups[0] if present(k) is None]
    added = datakey.wrap_groups(previous.key, [fresh], ctx=ctx)[0].keys if fresh else []
    kept = [k for k in map(present, groups[0]) if k is not None]
    unknown = [k for k in group.keys if isinstance(k, UnknownKey)]
    new_group = KeyGroup(sops_sorted([*unknown, *kept, *added]))
    from datetime import datetime

    when = datetime.fromisoformat(meta.lastmodified.replace("Z", "+00:00")) \
        if meta.lastmodified else now
    return _seal(parsed, previous.key, [new_group], 0, rules, when, label, previous.stash(),
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


Stash = dict[tuple[str, str, str], str]  # (AAD, type, plaintext) -> the token that holds it


def _seal(parsed: Any, key: bytes, groups: list[Any], shamir_threshold: int, rules: Rules,
          now: _dt.datetime | None, label: str, stash: Stash,
          key_created: str | None = "") -> str:
    """Encrypt a parsed plaintext under ``key``; tokens in ``stash`` are reused.

    ``key_created`` is the data key's birth: "" for a key made now, None if unknown.
    """
    cipher = crypto.Cipher(key)
    mac = _new_hash(rules)
    mac_all = not rules.mac_only_encrypted
    comments: list[str] = []
    hidden: list[str] = []
    seal = _token.seal
    to_bytes = values.to_bytes

    paths: dict[int, str] = {}
    kinds: list[str] = []  # token types: sops does not authenticate them; the layout does

    shape: list[str] = []

    def on_value(node: Scalar, aad: str, encrypted: bool) -> None:
        data = to_bytes(node.text)
        paths[node.ordinal] = aad
        shape.append(f"{aad}\x1f{len(data)}")
        if type(node) is Hidden:
            hidden.append(f"{aad}{encrypted:d}{node.text}")
        elif mac_all or encrypted:
            mac.update(data)
        if encrypted and data:
            kind = node.kind or "str"
            node.out = (stash.get((aad, kind, node.text)) if stash else None) \
                or seal(cipher, data, aad, kind)
            kinds.append(kind)

    def on_comment(node: Comment, aad: str, encrypted: bool) -> None:
        if encrypted and node.text:
            node.out = (stash.get((aad, "comment", node.text)) if stash else None) \
                or seal(cipher, to_bytes(node.text), aad, "comment")
            comments.append(node.text)

    colon_keys: set[str] = set()
    for root in parsed.roots:
        walk(root, rules, on_value, on_comment)
        _keys_with_colon(root, colon_keys)
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
    metadata = Metadata(
        key_groups=groups,
        lastmodified=lastmodified,
        # Unchanged values at an unchanged time: the old MAC and layout tokens stay too.
        mac=stash.get(("@mac", lastmodified, digest))
        or seal(cipher, digest.encode("ascii"), lastmodified, "str"),
        rules=rules,
        shamir_threshold=shamir_threshold if len(groups) > 1 else 0,
        encfile_version=__version__,
        encfile_key_created=lastmodified if key_created == "" else key_created,
        encfile_layout=stash.get(("@layout", f"{lastmodified}:{digest}", layout.body(layout_data)))
        or layout.seal(cipher, layout_data, lastmodified, digest),
    )
    result: str = parsed.render_encrypted(metadata.to_dict())
    return result


# -- decryption ----------------------------------------------------------------------------

class Opened:
    """A parsed file whose values were decrypted and authenticated."""

    __slots__ = ("digest", "fmt", "key", "label", "layout", "metadata", "parsed")

    def __init__(self, parsed: Any, metadata: Metadata, layout: dict[str, Any] | None,
                 label: str = "input", key: bytes = b"", fmt: str = "yaml",
                 digest: str = "") -> None:
        self.parsed = parsed
        self.metadata = metadata
        self.layout = layout
        self.label = label
        self.key = key  # the data key, for re-encrypting edits; never in repr
        self.fmt = fmt
        self.digest = digest  # the MAC it verified

    def __repr__(self) -> str:
        return f"Opened(label={self.label!r}, fmt={self.fmt!r})"

    def text(self) -> str:
        try:
            out: str = self.parsed.render_plain(self.layout)
        except InputError as err:  # the clear structure no longer fits the sealed layout
            raise TamperedValueError(f"{self.label}: {err}") from None
        return out

    def data(self) -> list[Any]:
        out: list[Any] = self.parsed.to_python()
        return out

    def stash(self) -> Stash:
        """Each token of the file by (AAD, type, plaintext); the last one wins, as in sops."""
        found: Stash = {}

        def on_value(node: Scalar, aad: str, encrypted: bool) -> None:
            if encrypted and node.out is not None:
                found[(aad, node.out[0], node.out[1])] = node.text

        def on_comment(node: Comment, aad: str, encrypted: bool) -> None:
            if encrypted and node.out is not None:
                found[(aad, "comment", node.out)] = node.text

        for root in self.parsed.roots:
            walk(root, self.metadata.rules, on_value, on_comment)
        meta = self.metadata
        if self.digest:
            found[("@mac", meta.lastmodified, self.digest)] = meta.mac
            if self.layout is not None and meta.encfile_layout:
                found[("@layout", f"{meta.lastmodified}:{self.digest}",
                       layout.body(self.layout))] = meta.encfile_layout
        return found


def open_text(text: str, *, fmt: str, keyring: KeyRing | None = None, label: str = "input",
              ignore_mac: bool = False) -> Opened:
    """Parse, decrypt and authenticate a sops file; raise on any failure."""
    parsed = formats.get(fmt).parse(text)
    raw = parsed.metadata
    if raw is None:
        raise NotEncryptedError(f"{label} is not encrypted: it has no sops metadata",
                                hints=["encrypt it with 'encfile -e'"])
    if not parsed.metadata_consistent():
        raise TamperedValueError(f"{label}: its documents carry different sops metadata")
    metadata = Metadata.from_dict(raw)
    # A file encfile wrote is held to encfile's rules: every comment sealed, a layout,
    # nothing outside the structure encfile writes. (A file stripped of its encfile_*
    # fields reads as a sops file: sops's guarantees, which cover values, not comments.)
    strict = metadata.encfile_version is not None or metadata.encfile_layout is not None
    if strict:
        problem = parsed.structure_problem()
        if problem:
            raise TamperedValueError(f"{label}: {problem}")
    key = datakey.recover(metadata, keyring or KeyRing(), label)
    cipher = crypto.Cipher(key)
    rules = metadata.rules
    mac = _new_hash(rules)
    mac_all = not rules.mac_only_encrypted
    comments: list[str] = []
    hidden: list[str] = []
    unopened: list[tuple[Comment, _token.Token]] = []
    prefixes: set[str] = {":"}
    to_bytes = values.to_bytes
    open_token = _token.open_token

    open_quick = _token.open_quick
    aads: list[str] = []  # sops files: the key paths, for comments sops placed elsewhere
    paths: dict[int, str] = {}
    kinds: list[str] = []

    walked: list[tuple[str, Scalar]] = []

    def on_value(node: Scalar, aad: str, encrypted: bool) -> None:
        paths[node.ordinal] = aad
        walked.append((aad, node))
        if type(node) is Hidden:
            _open_hidden(node, aad, encrypted)
            return
        if not encrypted:
            if mac_all:
                mac.update(to_bytes(node.text))
            return
        if node.kind == "str" and node.text:
            opened = open_quick(cipher, node.text, aad.encode("utf-8", "surrogateescape"))
            if opened is not None:
                kind, data = opened
                plain = data.decode("utf-8", "surrogateescape")
                if kind != "str":
                    try:
                        values.check_plaintext(kind, plain)
                    except ValueError:
                        kind = ""  # 'comment', 'bytes' or a bad value: the careful path says
                if kind:
                    node.out = (kind, plain)
                    kinds.append(kind)
                    mac.update(data)
                    if not strict:
                        aads.append(aad)
                    return
        _open_value(node, aad)

    def _open_value(node: Scalar, aad: str) -> None:
        """The careful path: typed values, and every failure with its reason."""
        if node.kind != "str":
            raise TamperedValueError(f"{label}: the value at {_path(aad)!r} should be "
                                     "encrypted but is not")
        if not node.text:
            return  # empty strings are never encrypted
        try:
            tok = _token.parse(node.text)
            data = open_token(cipher, tok, aad)
        except _token.MalformedToken as err:
            raise TamperedValueError(f"{label}: the value at {_path(aad)!r} is not a valid "
                                     f"encrypted value ({err})") from None
        except crypto.AuthenticationFailed:
            raise TamperedValueError(f"{label}: the value at {_path(aad)!r} does not "
                                     "authenticate (changed, or moved from another key)") from None
        kind = "str" if tok.type == "bytes" else tok.type
        plain = values.from_bytes(data)
        try:
            if kind == "comment":
                raise ValueError("a comment token where a value belongs")
            values.check_plaintext(kind, plain)
        except ValueError as err:
            raise TamperedValueError(f"{label}: the value at {_path(aad)!r} is malformed "
                                     f"({err})") from None
        node.out = (kind, plain)
        kinds.append(tok.type)
        mac.update(data)
        if not strict:
            aads.append(aad)

    def _open_hidden(node: Scalar, aad: str, encrypted: bool) -> None:
        # Only encfile writes values sops cannot see; the layout vouches for them.
        if not encrypted or not node.text:
            hidden.append(f"{aad}{encrypted:d}{node.text}")
            return
        try:
            tok = _token.parse(node.text)
            plain = values.from_bytes(open_token(cipher, tok, aad))
            values.check_plaintext(tok.type, plain)
        except (_token.MalformedToken, crypto.AuthenticationFailed, ValueError):
            raise TamperedValueError(f"{label}: the value at {_path(aad)!r} does not "
                                     "authenticate") from None
        node.out = (tok.type, plain)
        kinds.append(tok.type)
        hidden.append(f"{aad}{encrypted:d}{plain}")

    def on_comment(node: Comment, aad: str, encrypted: bool) -> None:
        if not encrypted or not node.text:
            return
        if not _token.looks_like_token(node.text):
            if strict:
                raise TamperedValueError(f"{label}: a comment in {_path(aad)!r} should be "
                                         "encrypted but is not")
            return  # sops made it (or an old sops wrote it in clear): keep it as it is
        try:
            tok = _token.parse(node.text)
            if tok.type != "comment":
                raise _token.MalformedToken("not a comment token")
            data = open_token(cipher, tok, aad)
        except _token.MalformedToken as err:
            raise TamperedValueError(f"{label}: a comment in {_path(aad)!r} is not a valid "
                                     f"encrypted comment ({err})") from None
        except crypto.AuthenticationFailed:
            if strict:
                raise TamperedValueError(f"{label}: a comment in {_path(aad)!r} does not "
                                         "authenticate") from None
            unopened.append((node, tok))  # sops may place it under another map: retry below
            return
        node.out = values.from_bytes(data)
        comments.append(node.out)

    for root in parsed.roots:
        walk(root, rules, on_value, on_comment)
    if unopened:
        for aad in aads:
            prefixes.update(_prefixes(aad))
    for node, tok in unopened:
        _open_comment_anywhere(cipher, node, tok, prefixes, label)

    digest = mac.hexdigest().upper()
    if not ignore_mac:
        _check_mac(cipher, metadata, digest, label)
    sealed_layout = None
    if metadata.encfile_layout:
        try:
            sealed_layout = layout.open_layout(cipher, metadata.encfile_layout,
                                               metadata.lastmodified, digest)
        except (_token.MalformedToken, crypto.AuthenticationFailed, ValueError):
            if not ignore_mac:
                raise TamperedValueError(f"{label}: its layout data does not authenticate") \
                    from None
            warnings.warn(f"{label}: layout data ignored (the MAC was not checked)",
                          EncfileWarning, stacklevel=2)
        if sealed_layout is not None:
            _check_layout(sealed_layout, comments=comments, paths=paths, kinds=kinds,
                          hidden=hidden, label=label)
            if "shape" in sealed_layout:
                shape = [f"{aad}\x1f{len(to_bytes(n.out[1] if n.out is not None else n.text))}"
                         for aad, n in walked]
                if not hmac.compare_digest(str(sealed_layout["shape"]),
                                           layout.comment_digest(shape)):
                    raise TamperedValueError(f"{label}: its structure was changed (a key "
                                             "renamed, an empty value added or removed, or "
                                             "clear values re-split)")
            if "keys" in sealed_layout and not hmac.compare_digest(
                    str(sealed_layout["keys"]), layout.key_outline(parsed.roots)):
                raise TamperedValueError(f"{label}: its keys were renamed or re-nested (sops "
                                         "joins key paths with ':', so `a:b` and `a` > `b` "
                                         "look alike to it)")
    elif strict and not ignore_mac:
        raise TamperedValueError(f"{label}: its layout data is missing")
    elif hidden:
        raise TamperedValueError(f"{label}: a value given twice has no layout data to vouch "
                                 "for it")
    try:
        parsed.apply_layout(sealed_layout)
    except InputError as err:
        raise TamperedValueError(f"{label}: {err}") from None
    return Opened(parsed, metadata, sealed_layout, label, key, fmt,
                  "" if ignore_mac else digest)


def _check_layout(sealed: dict[str, Any], *, comments: list[str], paths: dict[int, str],
                  kinds: list[str], hidden: list[str], label: str) -> None:
    """What the layout vouches for beyond the MAC: comments, value positions, token types,
    hidden values. ("bound" and "types" are absent from layouts of encfile 0.1.0.)"""
    def same(expected: object, actual: object) -> bool:
        return hmac.compare_digest(str(expected), str(actual))

    if not same(sealed.get("comments"), layout.comment_digest(comments) if comments else None):
        raise TamperedValueError(f"{label}: its comments were changed, removed or reordered")
    overrides = sealed.get("scalars")
    if "bound" in sealed and not (isinstance(overrides, dict) and same(
            sealed["bound"], layout.override_paths(overrides, paths))):
        raise TamperedValueError(f"{label}: its structure was changed (values no longer "
                                 "stand where the layout data says)")
    if "types" in sealed and not same(sealed["types"], layout.types_digest(kinds)):
        raise TamperedValueError(f"{label}: the type of an encrypted value was changed")
    if not same(sealed.get("hidden"), layout.comment_digest(hidden) if hidden else None):
        raise TamperedValueError(f"{label}: a value given twice was changed")


def _prefixes(aad: str) -> list[str]:
    parts = aad.split(":")[:-1]
    return [":".join(parts[:i]) + ":" for i in range(1, len(parts))]


def _open_comment_anywhere(cipher: crypto.Cipher, node: Comment, tok: _token.Token,
                           prefixes: set[str], label: str) -> None:
    """sops files only: try the comment under every map path of the file.

    go-yaml may attach a comment to a different map than encfile's reading of
    the layout suggests; GCM makes a wrong path fail, never succeed, so trying
    the file's other paths cannot accept a forged comment.
    """
    for prefix in sorted(prefixes):
        try:
            data = _token.open_token(cipher, tok, prefix)
        except crypto.AuthenticationFailed:
            continue
        node.out = values.from_bytes(data)
        return
    raise TamperedValueError(f"{label}: an encrypted comment does not authenticate")


def _check_mac(cipher: crypto.Cipher, metadata: Metadata, digest: str, label: str) -> None:
    if not metadata.mac:
        raise MacMismatchError(f"{label}: the file has no MAC")
    try:
        stored = _token.open_token(cipher, _token.parse(metadata.mac),
                                   metadata.lastmodified).decode("ascii", "replace")
    except (_token.MalformedToken, crypto.AuthenticationFailed):
        raise MacMismatchError(f"{label}: the MAC does not authenticate "
                               "(the MAC or lastmodified was changed)") from None
    if not hmac.compare_digest(stored.encode(), digest.encode()):
        raise MacMismatchError(f"{label}: MAC mismatch: the values were changed, added, "
                               "removed or reordered")
