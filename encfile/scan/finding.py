"""A finding, and the one way a secret value is ever shown.

A :class:`Finding` keeps the value it found (the baseline fingerprints it, and findings
are told apart by it) in a slot that nothing renders: every output goes through
:func:`shown`, which gives at most the first four characters and the length.
"""

from __future__ import annotations

SHOW_PREFIX_FROM = 16  # a value this long shows its first 4 characters; shorter, none
PREFIX = 4


def shown(value: str | None) -> str:
    """How a secret is shown: ``ghp_… (40 chars)`` from 16 characters on, ``(12 chars)``
    below; nothing for a finding that is a whole file."""
    if not value:
        return ""
    if len(value) >= SHOW_PREFIX_FROM:
        return f"{value[:PREFIX]}… ({len(value)} chars)"
    return f"({len(value)} chars)"


class Finding:
    """One secret that is not encrypted.

    ``rule``: the detector's id (:data:`encfile.scan.detectors.RULES`); ``path`` and
    ``line`` (1-based; ``column`` too when known) locate it; ``key`` is its key path in
    a config file (``["db"]["password"]``-style parts), ``commit`` the first commit that
    holds it (a history scan), ``in_head``: the commit at HEAD still holds it, or the
    file is committed as it is (None: not known); ``encrypted_file``: it is in a file with
    sops metadata. ``hint``: what to run about it.
    """

    __slots__ = ("_value", "column", "commit", "encrypted_file", "hint", "in_head", "key",
                 "line", "path", "rule")

    def __init__(self, rule: str, path: str, line: int, value: str | None, *,
                 column: int = 0, key: tuple[str | int, ...] | None = None) -> None:
        self.rule = rule
        self.path = path
        self.line = line
        self.column = column
        self.key = key
        self._value = value
        self.commit: str | None = None
        self.in_head: bool | None = None
        self.encrypted_file = False  # found in a file with sops metadata
        self.hint = ""

    @property
    def shown(self) -> str:
        return shown(self._value)

    @property
    def length(self) -> int:
        return len(self._value or "")

    def secret_value(self) -> str | None:
        """The value itself: for fingerprints and comparisons only, never for output."""
        return self._value

    def identity(self) -> tuple[str, str]:
        """What makes two findings the same secret: the value, whichever rule found it
        (a finding about a whole file: the file's path)."""
        if self._value is None:
            return "file", self.path
        return "value", self._value

    def __repr__(self) -> str:  # never the value
        return f"Finding({self.rule}, {self.path}:{self.line}, {self.shown!r})"
