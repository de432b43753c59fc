"""``--extract '["a"]["b"][0]'``: select part of a decrypted document (sops's syntax)."""

from __future__ import annotations

from .errors import ExtractPathError, PathNotFoundError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def parse_path(spec: str) -> list[str | int]:
    """Split a path the way sops does: ``["key"]`` or ``['key']`` for keys, ``[0]`` for indices."""
    parts = spec.split("[")
    if parts[0] != "":
        raise ExtractPathError(f"error parsing --extract path {spec!r}: it must start with '['")
    out: list[str | int] = []
    for part in parts[1:]:
        if not part.endswith("]"):
            raise ExtractPathError(f"error parsing --extract path: component {part!r} "
                                   "doesn't end with ]")
        inner = part[:-1]
        if inner[:1] in ('"', "'"):
            if len(inner) < 2 or inner[-1] != inner[0]:
                raise ExtractPathError(f"error parsing --extract path: unterminated key {inner!r}")
            out.append(inner[1:-1])
        else:
            try:
                out.append(int(inner))
            except ValueError:
                raise ExtractPathError(f"error parsing --extract path: {inner!r} is neither a "
                                       "quoted key nor an index") from None
    return out


def select(data: Any, path: list[str | int]) -> Any:
    """The part of ``data`` that ``path`` names; PathNotFoundError if it is not there."""
    node = data
    for step in path:
        if isinstance(step, str) and isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(step, int) and isinstance(node, list) and -len(node) <= step < len(node):
            node = node[step]
        else:
            shown = f"[{step!r}]" if isinstance(step, str) else f"[{step}]"
            raise PathNotFoundError(f"component {shown} not found")
    return node
