"""Splicing: the one way codecs write text (replacements at spans of the original)."""

from __future__ import annotations

from operator import gt, itemgetter

from ..errors import InputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

Splice = tuple[int, int, str]
_SPAN = itemgetter(0, 1)
_START = itemgetter(0)
_END = itemgetter(1)
_REPLACEMENT = itemgetter(2)


def apply(text: str, splices: list[Splice]) -> str:
    """``text`` with each ``(start, end, replacement)`` applied; spans must not overlap.

    One join: the kept pieces between the spans are cut with ``map`` (a large file has a
    splice per value), interleaved with the replacements.
    """
    splices.sort(key=_SPAN)
    starts = [*map(_START, splices), len(text)]
    ends = [0, *map(_END, splices)]
    if any(map(gt, ends, starts)):
        raise InputError("internal error: overlapping edits")  # pragma: no cover
    pieces: list[str] = [""] * (2 * len(splices) + 1)
    pieces[0::2] = map(text.__getitem__, map(slice, ends, starts))
    pieces[1::2] = map(_REPLACEMENT, splices)
    return "".join(pieces)


def overrides_of(layout: dict[str, Any] | None) -> dict[str, str]:
    """The layout's source texts by ordinal (``scalars``), checked to be a mapping."""
    scalars = (layout or {}).get("scalars", {})
    if not isinstance(scalars, dict):
        raise InputError("layout data is malformed")
    return scalars
