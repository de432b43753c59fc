"""Decryption: a sops file -> an :class:`Opened` file, authenticated all or nothing.

:func:`open_text` runs six steps, each a function here: check the metadata,
recover the data key, open the values (and the comments), open the comments sops
placed under other paths, check the MAC, check and apply the layout. Nothing is
returned until the whole file has authenticated.
"""

from __future__ import annotations

import warnings
from itertools import repeat
from operator import attrgetter

from . import crypto, datakey, formats, mac, values
from . import token as _token
from .digest import compare_digest
from .errors import (
    EncfileNote,
    EncfileWarning,
    InputError,
    NotEncryptedError,
    TamperedValueError,
)
from .keysources.identities import KeyRing
from .metadata import Metadata
from .tree import Comment, GcPaused, Hidden, Scalar, visits, walk

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and datetime stay off the start-up path of -d and exec
    import datetime as _dt
    from collections.abc import Iterable
    from typing import Any

Stash = dict[tuple[str, str, str], str]  # (AAD, type, plaintext) -> the token that holds it
_KIND, _TEXT, _ORDINAL = attrgetter("kind"), attrgetter("text"), attrgetter("ordinal")


def path_of(aad: str) -> str:
    """A key path for messages: the AAD without its final ':' (never a value)."""
    return aad[:-1] or "(top level)"


class Opened:
    """A parsed file whose values were decrypted and authenticated.

    It renders the plaintext (:meth:`text`) or the data (:meth:`data`), and encrypts an
    edited plaintext again under the same data key (:meth:`reencrypt`); the data key
    itself never leaves it.
    """

    __slots__ = ("_key", "digest", "fmt", "label", "layout", "metadata", "parsed")

    def __init__(self, parsed: Any, metadata: Metadata, layout: dict[str, Any] | None,
                 label: str = "input", key: bytes = b"", fmt: str = "yaml",
                 digest: str = "") -> None:
        self.parsed = parsed
        self.metadata = metadata
        self.layout = layout
        self.label = label
        self._key = key  # the data key, for re-encrypting edits; never handed out
        self.fmt = fmt
        self.digest = digest  # the MAC it verified

    def __repr__(self) -> str:
        return f"Opened(label={self.label!r}, fmt={self.fmt!r})"

    def text(self) -> str:
        try:
            with GcPaused(len(getattr(self.parsed, "text", ""))):
                out: str = self.parsed.render_plain(self.layout)
        except InputError as err:  # the clear structure no longer fits the sealed layout
            raise TamperedValueError(f"{self.label}: {err}") from None
        return out

    def data(self) -> list[Any]:
        out: list[Any] = self.parsed.to_python()
        return out

    def sops_data(self) -> list[Any]:
        """The data as sops decrypts it, where that differs from :meth:`data` (a dotenv
        value is the raw text after ``=``, quotes included)."""
        view = getattr(self.parsed, "sops_data", None)
        out: list[Any] = view() if view is not None else self.parsed.to_python()
        return out

    def reencrypt(self, text: str, *, now: _dt.datetime | None = None) -> str:
        """An edited plaintext of this file, encrypted under its data key, recipients and
        rules: every unchanged value keeps its ciphertext (see
        :func:`encfile.document.reencrypt_text`)."""
        from .document import reencrypt_text

        return reencrypt_text(text, fmt=self.fmt, previous=self, now=now, label=self.label)

    def same_key(self, other: Opened) -> bool:
        """Do the two files share a data key? (Compared in constant time.)"""
        return compare_digest(self._key, other._key)

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
                from . import layout

                found[("@layout", f"{meta.lastmodified}:{self.digest}",
                       layout.body(self.layout))] = meta.encfile_layout
        return found


def open_text(text: str, *, fmt: str, keyring: KeyRing | None = None, label: str = "input",
              ignore_mac: bool = False, sniffed: bool = False,
              _key: bytes | None = None) -> Opened:
    """Parse, decrypt and authenticate a sops file; raise on any failure.

    ``sniffed``: ``fmt`` was told from the text, so a file encfile wrote in another format
    that reads as this one (a YAML flow mapping is JSON) is opened as what it was written as.
    """
    with GcPaused(len(text)):
        return _open_text(text, fmt, keyring, label, ignore_mac, sniffed, _key)


def _open_text(text: str, fmt: str, keyring: KeyRing | None, label: str,
               ignore_mac: bool, sniffed: bool, _key: bytes | None) -> Opened:
    parsed, metadata, strict = _check_metadata(text, fmt, label)
    key = _key or datakey.recover(metadata, keyring or KeyRing(), label)
    cipher = crypto.Cipher(key)
    state = _Values(metadata, strict, label)
    _open_values(parsed, cipher, state)
    _open_misplaced_comments(cipher, state)
    digest = state.mac.hexdigest().upper()
    if not ignore_mac:
        mac.check(cipher, metadata, digest, label)
    try:
        sealed_layout = _open_layout(parsed, cipher, metadata, digest, state, ignore_mac, fmt,
                                     sniffed)
    except _WrittenAs as written:
        return open_text(text, fmt=written.fmt, label=label, ignore_mac=ignore_mac, _key=key)
    try:
        parsed.apply_layout(sealed_layout)
    except InputError as err:
        raise TamperedValueError(f"{label}: {err}") from None
    return Opened(parsed, metadata, sealed_layout, label, key, fmt,
                  "" if ignore_mac else digest)


def _check_metadata(text: str, fmt: str, label: str) -> tuple[Any, Metadata, bool]:
    """(parsed file, metadata, strict): the file has sops metadata, the same in every
    document, and (strict: a file encfile wrote) nothing outside what encfile writes."""
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
    return parsed, metadata, strict


class _Values:
    """What opening the values gathers for the later checks."""

    __slots__ = ("aads", "comments", "hidden", "kinds", "label", "layout", "mac", "mac_all",
                 "paths", "rules", "strict", "unopened", "walked")

    def __init__(self, metadata: Metadata, strict: bool, label: str) -> None:
        self.rules = metadata.rules
        self.strict = strict
        self.layout = bool(metadata.encfile_layout)  # kinds, paths, walked: for its checks
        self.label = label
        self.mac = mac.new_hash(self.rules)
        self.mac_all = not self.rules.mac_only_encrypted
        self.comments: list[str] = []
        self.hidden: list[str] = []
        self.unopened: list[tuple[Comment, _token.Token]] = []
        self.aads: list[str] = []  # sops files: the key paths, for comments placed elsewhere
        self.paths: dict[int, str] = {}
        self.kinds: list[str] = []
        self.walked: list[tuple[str, Scalar]] = []


def _open_values(parsed: Any, cipher: crypto.Cipher, state: _Values) -> None:
    """Open every value and comment in sops's order, feeding the MAC.

    The walk lists the items (:func:`encfile.tree.visits`); the tokens of the plain
    string values among them are opened at once (:func:`encfile.token.open_many`). When
    that is every item, the results are stored and hashed in bulk (one MAC update over
    the joined plaintexts); otherwise each item goes through the visitors of
    :func:`_open_one_by_one` in order, which say what is wrong with the first bad one.
    """
    nodes, aads, flags = visits(parsed.roots, state.rules)
    simple = (bool(nodes) and all(flags) and set(map(type, nodes)) == {Scalar}
              and set(map(_KIND, nodes)) == {"str"} and all(map(_TEXT, nodes)))
    if simple:
        batch, batch_aads = nodes, aads
    else:
        picked = [(node, aad) for node, aad, encrypted in zip(nodes, aads, flags, strict=True)
                  if encrypted and type(node) is Scalar and node.kind == "str" and node.text]
        batch, batch_aads = [node for node, _ in picked], [aad for _, aad in picked]
    opened = _token.open_many(cipher, list(map(_TEXT, batch)),
                              list(map(str.encode, batch_aads, repeat("utf-8"),
                                       repeat("surrogateescape")))) if batch else None
    if simple and opened is not None and set(opened[0]) == {"str"}:
        _store_strings(nodes, aads, opened[1], state)
        return
    _open_one_by_one(zip(nodes, aads, flags, strict=True), cipher, state, opened)


def _store_strings(nodes: list[Scalar], aads: list[str], data: list[bytes],
                   state: _Values) -> None:
    """Every item was an encrypted string that opened: store and hash them in bulk."""
    plain = map(bytes.decode, data, repeat("utf-8"), repeat("surrogateescape"))
    for node, out in zip(nodes, zip(repeat("str"), plain, strict=False), strict=True):
        node.out = out
    state.mac.update(b"".join(data))
    if state.layout:  # what the layout checks (a file encfile wrote)
        state.kinds.extend(repeat("str", len(nodes)))
        state.paths.update(zip(map(_ORDINAL, nodes), aads, strict=True))
        state.walked.extend(zip(aads, nodes, strict=True))
    if not state.strict:
        state.aads.extend(aads)


def _open_one_by_one(seen: Iterable[tuple[Any, str, bool]], cipher: crypto.Cipher,
                     state: _Values, opened: tuple[list[str], list[bytes]] | None) -> None:
    """Each item in order; ``opened``: what :func:`encfile.token.open_many` gave for the
    plain string values, if it opened them all."""
    label, strict, mac_all = state.label, state.strict, state.mac_all
    update = state.mac.update
    comments, hidden, unopened = state.comments, state.hidden, state.unopened
    aads, paths, kinds, walked = state.aads, state.paths, state.kinds, state.walked
    to_bytes = values.to_bytes
    open_token = _token.open_token
    open_quick = _token.open_quick
    ready = iter(zip(*opened, strict=True)) if opened is not None else None

    def on_value(node: Scalar, aad: str, encrypted: bool) -> None:
        paths[node.ordinal] = aad
        walked.append((aad, node))
        if type(node) is Hidden:
            _open_hidden(node, aad, encrypted)
            return
        if not encrypted:
            if mac_all:
                update(to_bytes(node.text))
            return
        if node.kind == "str" and node.text:
            quick = next(ready) if ready is not None else \
                open_quick(cipher, node.text, aad.encode("utf-8", "surrogateescape"))
            if quick is not None:
                kind, data = quick
                plain = data.decode("utf-8", "surrogateescape")
                if kind != "str":
                    try:
                        values.check_plaintext(kind, plain)
                    except ValueError:
                        kind = ""  # 'comment', 'bytes' or a bad value: the careful path says
                if kind:
                    node.out = (kind, plain)
                    kinds.append(kind)
                    update(data)
                    if not strict:
                        aads.append(aad)
                    return
        _open_value(node, aad)

    def _open_value(node: Scalar, aad: str) -> None:
        """The careful path: typed values, and every failure with its reason."""
        if node.kind != "str":
            raise TamperedValueError(f"{label}: the value at {path_of(aad)!r} should be "
                                     "encrypted but is not")
        if not node.text:
            return  # empty strings are never encrypted
        try:
            tok = _token.parse(node.text)
            data = open_token(cipher, tok, aad)
        except _token.MalformedToken as err:
            raise TamperedValueError(f"{label}: the value at {path_of(aad)!r} is not a valid "
                                     f"encrypted value ({err})") from None
        except crypto.AuthenticationFailed:
            raise TamperedValueError(f"{label}: the value at {path_of(aad)!r} does not "
                                     "authenticate (changed, or moved from another key)") from None
        kind = "str" if tok.type == "bytes" else tok.type
        plain = values.from_bytes(data)
        try:
            if kind == "comment":
                raise ValueError("a comment token where a value belongs")
            values.check_plaintext(kind, plain)
        except ValueError as err:
            raise TamperedValueError(f"{label}: the value at {path_of(aad)!r} is malformed "
                                     f"({err})") from None
        node.out = (kind, plain)
        kinds.append(tok.type)
        update(data)
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
            raise TamperedValueError(f"{label}: the value at {path_of(aad)!r} does not "
                                     "authenticate") from None
        node.out = (tok.type, plain)
        kinds.append(tok.type)
        hidden.append(f"{aad}{encrypted:d}{plain}")

    def on_comment(node: Comment, aad: str, encrypted: bool) -> None:
        if not encrypted or not node.text:
            return
        if not _token.looks_like_token(node.text):
            if strict:
                raise TamperedValueError(f"{label}: a comment in {path_of(aad)!r} should be "
                                         "encrypted but is not")
            return  # sops made it (or an old sops wrote it in clear): keep it as it is
        try:
            tok = _token.parse(node.text)
            if tok.type != "comment":
                raise _token.MalformedToken("not a comment token")
            data = open_token(cipher, tok, aad)
        except _token.MalformedToken as err:
            raise TamperedValueError(f"{label}: a comment in {path_of(aad)!r} is not a valid "
                                     f"encrypted comment ({err})") from None
        except crypto.AuthenticationFailed:
            if strict:
                raise TamperedValueError(f"{label}: a comment in {path_of(aad)!r} does not "
                                         "authenticate") from None
            unopened.append((node, tok))  # sops may place it under another map: retry below
            return
        node.out = values.from_bytes(data)
        comments.append(node.out)

    for node, aad, encrypted in seen:
        if type(node) is Comment:
            on_comment(node, aad, encrypted)
        else:
            on_value(node, aad, encrypted)


def _open_misplaced_comments(cipher: crypto.Cipher, state: _Values) -> None:
    """sops files only: comments that did not open under the path encfile read them at."""
    if not state.unopened:
        return
    prefixes: set[str] = {":"}
    for aad in state.aads:
        prefixes.update(_prefixes(aad))
    for node, tok in state.unopened:
        _open_comment_anywhere(cipher, node, tok, prefixes, state.label)


class _WrittenAs(Exception):
    """A sniffed format differs from the one the sealed layout names (open it as that)."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self.fmt = fmt


def _open_layout(parsed: Any, cipher: crypto.Cipher, metadata: Metadata, digest: str,
                 state: _Values, ignore_mac: bool, fmt: str,
                 sniffed: bool = False) -> dict[str, Any] | None:
    """The sealed layout, checked against what was opened (None for a sops-made file,
    and for a file converted to another format since encfile wrote it)."""
    label = state.label
    if not metadata.encfile_layout:
        if state.strict and not ignore_mac:
            raise TamperedValueError(f"{label}: its layout data is missing")
        if state.hidden:
            raise TamperedValueError(f"{label}: a value given twice has no layout data to "
                                     "vouch for it")
        return None
    from . import layout  # a file encfile wrote: sops-made files never load it

    try:
        sealed: dict[str, Any] = layout.open_layout(cipher, metadata.encfile_layout,
                                                    metadata.lastmodified, digest)
    except (_token.MalformedToken, crypto.AuthenticationFailed, ValueError):
        if not ignore_mac:
            raise TamperedValueError(f"{label}: its layout data does not authenticate") \
                from None
        warnings.warn(f"{label}: layout data ignored (the MAC was not checked)",
                      EncfileWarning, stacklevel=3)
        return None
    written_as = sealed.get("format")
    if sniffed and written_as == "yaml" and fmt == "json":
        raise _WrittenAs(written_as)  # JSON text is YAML too: encfile wrote a flow mapping
    if written_as is not None and written_as != fmt:
        # Converted (Flux renders YAML resources as JSON before decrypting them): the values
        # and the MAC were checked, as sops checks them; the comment and layout checks
        # describe the other format's text and no longer apply.
        warnings.warn(f"{label}: written as {written_as} and converted to {fmt} since: its "
                      "values and MAC are checked, its comments and layout no longer apply",
                      EncfileNote, stacklevel=3)
        return None
    _check_layout(sealed, comments=state.comments, paths=state.paths, kinds=state.kinds,
                  hidden=state.hidden, label=label)
    if "shape" in sealed:
        to_bytes = values.to_bytes
        shape = [f"{aad}\x1f{len(to_bytes(n.out[1] if n.out is not None else n.text))}"
                 for aad, n in state.walked]
        if not compare_digest(str(sealed["shape"]), layout.comment_digest(shape)):
            raise TamperedValueError(f"{label}: its structure was changed (a key renamed, an "
                                     "empty value added or removed, or clear values re-split)")
    if "keys" in sealed and not compare_digest(str(sealed["keys"]),
                                                    layout.key_outline(parsed.roots)):
        raise TamperedValueError(f"{label}: its keys were renamed or re-nested (sops joins key "
                                 "paths with ':', so `a:b` and `a` > `b` look alike to it)")
    return sealed


def _check_layout(sealed: dict[str, Any], *, comments: list[str], paths: dict[int, str],
                  kinds: list[str], hidden: list[str], label: str) -> None:
    """What the layout vouches for beyond the MAC: comments, value positions, token types,
    hidden values. ("bound" and "types" are absent from layouts of encfile 0.1.0.)"""
    from . import layout

    def same(expected: object, actual: object) -> bool:
        return compare_digest(str(expected), str(actual))

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
