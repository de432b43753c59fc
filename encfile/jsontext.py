"""Reading JSON without importing :mod:`json`.

``json`` imports ``re`` (and with it ``enum``): 3-5 ms of a start that only
needs to read encfile's own compact JSON (the sealed layout). The C scanner in
``_json``, which ``json`` itself uses, reads it without them. Anything it does
not take whole, and any Python without it, goes to ``json.loads``, which also
gives the error.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Context:
    """The settings ``_json.make_scanner`` reads, as ``json.JSONDecoder`` sets them."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        raise ValueError(name)  # NaN and Infinity: json.loads decides


def _scanner() -> Any:
    try:
        from _json import make_scanner
    except ImportError:
        return None
    return make_scanner(_Context())  # type: ignore[arg-type]  # any object with the fields


_SCAN = _scanner()


def loads(text: str) -> Any:
    """``json.loads(text)`` for a document that starts with its value."""
    if _SCAN is not None:
        try:
            value, end = _SCAN(text, 0)
        except (StopIteration, ValueError, RecursionError):
            pass
        else:
            if end == len(text):
                return value
    import json

    return json.loads(text)
