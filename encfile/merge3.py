"""A three-way merge of line lists, in memory (plaintext never goes to ``git merge-file``).

The classic diff3 procedure: find the base lines that both sides kept unchanged
("sync regions"); between two of them, a side that left the base alone takes the
other side's change, two identical changes are one, and anything else is a conflict.
"""

from __future__ import annotations

from difflib import SequenceMatcher

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any

    #: ``("ok", lines)`` or ``("conflict", base_lines, our_lines, their_lines)``
    Chunk = tuple[Any, ...]


def _matches(base: Sequence[str], side: Sequence[str]) -> list[tuple[int, int, int]]:
    blocks = SequenceMatcher(None, base, side, autojunk=False).get_matching_blocks()
    return [(m.a, m.b, m.size) for m in blocks]


def _sync_regions(base: Sequence[str], ours: Sequence[str],
                  theirs: Sequence[str]) -> Iterator[tuple[int, int, int, int]]:
    """``(base_start, base_end, our_start, their_start)`` of the runs both sides kept."""
    a, b = _matches(base, ours), _matches(base, theirs)
    i = j = 0
    while i < len(a) and j < len(b):
        a_base, a_side, a_len = a[i]
        b_base, b_side, b_len = b[j]
        start, end = max(a_base, b_base), min(a_base + a_len, b_base + b_len)
        if start < end:
            yield start, end, a_side + start - a_base, b_side + start - b_base
        if a_base + a_len < b_base + b_len:
            i += 1
        else:
            j += 1
    yield len(base), len(base), len(ours), len(theirs)


def merge(base: Sequence[str], ours: Sequence[str], theirs: Sequence[str]) -> list[Chunk]:
    """The merged lines as chunks; adjacent ``ok`` chunks are joined."""
    out: list[Chunk] = []

    def ok(lines: Sequence[str]) -> None:
        if not lines:
            return
        if out and out[-1][0] == "ok":
            out[-1] = ("ok", [*out[-1][1], *lines])
        else:
            out.append(("ok", list(lines)))

    z = o = t = 0
    for z_start, z_end, o_start, t_start in _sync_regions(base, ours, theirs):
        old, mine, other = base[z:z_start], ours[o:o_start], theirs[t:t_start]
        if mine == other:
            ok(mine)
        elif mine == old:
            ok(other)
        elif other == old:
            ok(mine)
        else:
            out.append(("conflict", list(old), list(mine), list(other)))
        ok(base[z_start:z_end])
        z, o, t = z_end, o_start + (z_end - z_start), t_start + (z_end - z_start)
    return out
