"""The errors of publishing (both are :class:`~encfile.errors.EncfileError`, code 1)."""

from __future__ import annotations

from ..errors import ConfigError, EncfileError


class PublishError(EncfileError):
    """A destination refused, could not be reached, or cannot hold the file's data."""


class ConflictError(PublishError):
    """The destination changed between reading it and writing (Vault KV v2's
    check-and-set, a GCS generation): nothing was written."""


class NoDestinationError(ConfigError):
    """No destination rule matches the file (a folder's other files are skipped)."""
