"""Sealing encfile's layout data, bound to the file it belongs to.

The layout (see the codecs) holds source text of the user's file, so it is
encrypted like a value: AES-256-GCM under the data key, stored as an
``ENC[...]`` token in the ``encfile_layout`` metadata field, which sops ignores.
Its AAD binds it to this very version of the file: ``encfile-layout:``, the
``lastmodified`` string, ``:``, and the file MAC (the hash of every value,
never written in clear). A layout copied from another file, or from an older
version of this one, does not open. The layout also carries a digest of the
encrypted comments in order, which sops does not authenticate, so removing or
reordering a comment is caught too.
"""

from __future__ import annotations

from . import token as _token
from .crypto import Cipher
from .digest import sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

LAYOUT_VERSION = 1


def _aad(lastmodified: str, mac: str) -> str:
    return f"encfile-layout:{lastmodified}:{mac}"


def comment_digest(comments: Sequence[str]) -> str:
    h = sha256()
    for text in comments:
        data = text.encode("utf-8", "surrogateescape")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def types_digest(kinds: Sequence[str]) -> str:
    """A digest of the token types in order (type names hold no ',')."""
    return sha256(",".join(kinds).encode("ascii")).hexdigest()


def override_paths(overrides: dict[str, Any], paths: dict[int, str]) -> str:
    """A digest binding each layout override (keyed by ordinal) to its value's key path.

    Without it, a clear item added before a value (say ``x: null``, which neither
    the MAC nor any AAD covers) would shift the ordinals, and a value's recorded
    source text would be shown under another key.
    """
    h = sha256()
    for ordinal in sorted(overrides, key=int):  # the layout is authenticated: digits only
        h.update(f"{ordinal}\0{paths.get(int(ordinal), '')}\0".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def body(layout: dict[str, Any]) -> str:
    """The layout's canonical JSON text (what is sealed)."""
    import json  # only for files encfile wrote: a sops-made file has no layout

    return json.dumps({**layout, "v": LAYOUT_VERSION}, ensure_ascii=False,
                      separators=(",", ":"), sort_keys=True)


def seal(cipher: Cipher, layout: dict[str, Any], lastmodified: str, mac: str) -> str:
    return _token.seal(cipher, body(layout).encode("utf-8", "surrogateescape"),
                       _aad(lastmodified, mac), "str")


def open_layout(cipher: Cipher, sealed: str, lastmodified: str, mac: str) -> dict[str, Any]:
    """Decrypt a layout token; raises MalformedToken or AuthenticationFailed."""
    tok = _token.parse(sealed)
    data = _token.open_token(cipher, tok, _aad(lastmodified, mac))
    from .jsontext import loads

    layout = loads(data.decode("utf-8", "surrogateescape"))
    if not isinstance(layout, dict) or layout.get("v") != LAYOUT_VERSION:
        raise _token.MalformedToken("unsupported layout version")
    return layout


def key_outline(roots: Sequence[Any]) -> str:
    """A digest of every key with its depth, in document order.

    sops's key paths join keys with ':', so `a:b` and `a` → `b` give the same AAD and
    MAC; this outline tells them apart (and any other re-nesting of keys).
    """
    from .tree import Alias, Branch, Comment, Seq

    parts: list[str] = []
    for root in roots:
        todo: list[tuple[Any, int]] = [(root, 0)]
        while todo:
            node, depth = todo.pop()
            while isinstance(node, Alias):
                node = node.target
            if isinstance(node, Branch):
                entries = [e for e in node if isinstance(e, tuple)]
                parts += [f"{depth}\x1fk\x1f{key}" for key, _ in entries]
                todo += [(value, depth + 1) for _, value in reversed(entries)]
            elif isinstance(node, Seq):
                items = [i for i in node if not isinstance(i, Comment)]
                parts.append(f"{depth}\x1fs\x1f{len(items)}")
                todo += [(item, depth + 1) for item in reversed(items)]
        parts.append("\x1e")
    return comment_digest(parts)
