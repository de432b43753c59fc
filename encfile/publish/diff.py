"""What publishing one file would do: the :class:`Change` of top-level keys, and the
:class:`Plan` that carries it out.

Values are compared, never shown: a change lists key names only. Data is compared as
JSON (``1``, ``1.0`` and ``true`` differ), encrypted files by their ciphertext (a value
sops or encfile kept while editing keeps its ciphertext).
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any


class Change:
    """The top-level keys a write adds, changes and removes. ``new``: the destination has
    nothing yet. ``other``: what else changes (``"the sops metadata"``), for a write that
    changes no key. ``note``: a remark about the comparison."""

    def __init__(self, added: list[str] | None = None, changed: list[str] | None = None,
                 removed: list[str] | None = None, *, new: bool = False, other: str = "",
                 note: str = "") -> None:
        self.added = added or []
        self.changed = changed or []
        self.removed = removed or []
        self.new = new
        self.other = other
        self.note = note

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.changed or self.removed or self.new or self.other)

    def summary(self) -> str:
        """``2 added, 1 changed`` (or ``unchanged``)."""
        if self.unchanged:
            return "unchanged"
        parts = [f"{len(keys)} {what}" for keys, what in ((self.added, "added"),
                 (self.changed, "changed"), (self.removed, "removed")) if keys]
        if self.other and not parts:
            parts.append(f"{self.other} changed")
        return ("new, " if self.new else "") + (", ".join(parts) or "empty")


def same(a: Any, b: Any) -> bool:
    """Equal as JSON (types kept apart: ``1 != 1.0 != true``)."""
    return canonical(a) == canonical(b)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def compare(current: Mapping[str, Any] | None, wanted: Mapping[str, Any], *,
            equal: Callable[[Any, Any], bool] = same) -> Change:
    """The change from ``current`` (None: nothing there yet) to ``wanted``, key by key."""
    if current is None:
        return Change(added=list(wanted), new=True)
    return Change(added=[k for k in wanted if k not in current],
                  changed=[k for k in wanted if k in current and not equal(current[k],
                                                                           wanted[k])],
                  removed=[k for k in current if k not in wanted])


class Plan:
    """Publishing one file to one destination: ``source`` (the file's label), ``where``
    (the destination, as a URL for messages) and ``change``. :meth:`apply` writes, or
    does nothing when the change is empty, and returns what it did in a few words
    ("version 4", "unchanged")."""

    def __init__(self, source: str, where: str, change: Change,
                 write: Callable[[], str]) -> None:
        self.source = source
        self.where = where
        self.change = change
        self._write = write
        self.done = ""  # what apply() did

    def apply(self) -> str:
        if not self.done:
            self.done = "unchanged" if self.change.unchanged else self._write()
        return self.done
