"""The scanner's errors. Importing this module loads nothing but :mod:`encfile.errors`."""

from __future__ import annotations

from ..errors import EncfileError, FindingsError

EXTRA = "encfile-sops[scan]"
__all__ = ["EXTRA", "FindingsError", "MissingExtraError"]


class MissingExtraError(EncfileError):
    """detect-secrets, which the scanner builds on, is not installed."""

    def __init__(self) -> None:
        super().__init__(f"encfile scan needs detect-secrets: pip install '{EXTRA}'")
