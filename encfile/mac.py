"""The file MAC (spec section 4): SHA-512 over the plaintext values in sops's order,
stored as an encrypted token whose AAD is ``lastmodified``; compared in constant time."""

from __future__ import annotations

from . import crypto
from . import token as _token
from .digest import compare_digest, sha256, sha512
from .errors import MacMismatchError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .metadata import Metadata
    from .rules import Rules

# A fixed prefix keeps MACs with and without mac_only_encrypted apart (as in sops).
_MAC_ONLY_INIT = sha256(b"sops").digest()


def new_hash(rules: Rules) -> Any:
    """The running hash for a file with these rules (fed each value's plaintext)."""
    h = sha512()
    if rules.mac_only_encrypted:
        h.update(_MAC_ONLY_INIT)
    return h


def check(cipher: crypto.Cipher, metadata: Metadata, digest: str, label: str) -> None:
    """The stored MAC opens under ``lastmodified`` and equals ``digest``."""
    if not metadata.mac:
        raise MacMismatchError(f"{label}: the file has no MAC")
    try:
        stored = _token.open_token(cipher, _token.parse(metadata.mac),
                                   metadata.lastmodified).decode("ascii", "replace")
    except (_token.MalformedToken, crypto.AuthenticationFailed):
        raise MacMismatchError(f"{label}: the MAC does not authenticate "
                               "(the MAC or lastmodified was changed)") from None
    if not compare_digest(stored.encode(), digest.encode()):
        raise MacMismatchError(f"{label}: MAC mismatch: the values were changed, added, "
                               "removed or reordered")
