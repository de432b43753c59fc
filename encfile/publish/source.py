"""One file to publish: its encrypted bytes, its decrypted data as JSON holds it, and
its copy re-encrypted for a recreation rule's keys.

The file is decrypted only when a destination needs its data (Vault, Secrets Manager) or
a new copy (a recreation rule): publishing the encrypted file as it is needs no key.
"""

from __future__ import annotations

import datetime as _dt
import math

from ..errors import NotEncryptedError
from .errors import PublishError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..config import CreationRule
    from ..keysources.identities import KeyRing
    from ..opening import Opened


class Source:
    """An encrypted file, read once (``label`` is its quoted path for messages)."""

    def __init__(self, path: str, ctx: KeyRing) -> None:
        from .. import _api, formats

        self.path = path
        self.label = f"'{path}'"
        self.ctx = ctx
        self.fmt = formats.detect(path)
        self.text = _api.read_file(path, binary=self.fmt == "binary")
        self.raw = self.text.encode("utf-8", "surrogateescape")  # the file's own bytes
        self.parsed = formats.get(self.fmt).parse(self.text)
        if self.parsed.metadata is None:
            raise NotEncryptedError(f"{self.label} is not encrypted: it has no sops metadata",
                                    hints=["publish takes files encrypted with encfile or "
                                           "sops"])
        self._opened: Opened | None = None

    def opened(self) -> Opened:
        """The file decrypted and authenticated (once)."""
        if self._opened is None:
            from ..opening import open_text

            self._opened = open_text(self.text, fmt=self.fmt, keyring=self.ctx,
                                     label=self.label)
        return self._opened

    def data(self) -> dict[str, Any]:
        """The decrypted document as JSON types (a date becomes RFC 3339 text, as sops
        sends it): one mapping, as a secret holds it."""
        docs = self.opened().data()
        if len(docs) != 1:
            raise PublishError(f"{self.label} holds {len(docs)} YAML documents: a secret "
                               "holds one mapping", hints=["split the file, one document "
                                                           "per file"])
        if not isinstance(docs[0], dict):
            raise PublishError(f"{self.label} does not hold a mapping at the top: a secret "
                               "holds one")
        out: dict[str, Any] = as_json(docs[0], self.label, "")
        return out

    def encrypted_top(self) -> dict[str, Any]:
        """The top-level keys of the file with their ciphertext (nothing decrypted)."""
        return top_level(self.parsed.to_python())

    def recreated(self, rule: CreationRule) -> bytes:
        """The file encrypted anew (new data key) for ``rule``'s keys and rules."""
        from ..document import encrypt_text
        from ..rules import Rules

        opened = self.opened()
        text = encrypt_text(opened.text(), fmt=self.fmt, recipients=rule.key_groups,
                            rules=Rules(**rule.options) if rule.options else None,
                            shamir_threshold=rule.shamir_threshold, label=self.label,
                            ctx=self.ctx)
        return text.encode("utf-8", "surrogateescape")


def top_level(docs: list[Any]) -> dict[str, Any]:
    """The top-level keys of a file's documents (``[2].key`` past the first document)."""
    if len(docs) == 1 and isinstance(docs[0], dict):
        return dict(docs[0])
    out: dict[str, Any] = {}
    for index, doc in enumerate(docs):
        items = doc.items() if isinstance(doc, dict) else [("", doc)]
        for key, value in items:
            out[f"[{index}]{'.' if key != '' else ''}{key}"] = value
    return out


def as_json(value: Any, label: str, where: str) -> Any:
    """``value`` in JSON's types; PublishError for what JSON cannot hold (NaN, infinity)."""
    if isinstance(value, dict):
        return {str(k): as_json(v, label, f"{where}.{k}" if where else str(k))
                for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v, label, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PublishError(f"{label}: the value at '{where}' is not a finite number, "
                               "which JSON cannot hold")
        return value
    if isinstance(value, _dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)
