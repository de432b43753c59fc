"""Splicing: the one way codecs write text (replacements at spans of the original)."""

from __future__ import annotations

from ..errors import InputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

Splice = tuple[int, int, str]


def apply(text: str, splices: list[Splice]) -> str:
    """``text`` with each ``(start, end, replacement)`` applied; spans must not overlap."""
    splices.sort(key=lambda s: (s[0], s[1]))
    out: list[str] = []
    pos = 0
    for start, end, replacement in splices:
        if start < pos:
            raise InputError("internal error: overlapping edits")  # pragma: no cover
        out.append(text[pos:start])
        out.append(replacement)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def overrides_of(layout: dict[str, Any] | None) -> dict[str, str]:
    """The layout's source texts by ordinal (``scalars``), checked to be a mapping."""
    scalars = (layout or {}).get("scalars", {})
    if not isinstance(scalars, dict):
        raise InputError("layout data is malformed")
    return scalars
