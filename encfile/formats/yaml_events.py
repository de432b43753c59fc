"""YAML parser events with source offsets: libyaml (ruamel.yaml.clib) when present.

``ruamel.yaml.cyaml.CParser`` reports every event with character offsets into
the input string at a fraction of the cost of building ruamel's round-trip
nodes. Without the C extension (PyPy, a platform without wheels) ruamel's
pure-Python parser yields the same events and marks, only slower.

Both parsers count a leading BOM differently, so callers strip it first.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

_parser_class: Any = None
# Up to this size, scanning in Python beats importing libyaml's binding (20 ms); beyond
# it, libyaml's speed per event wins (2.6 µs against 1 µs).
_FAST_MAX = 128 * 1024


def _load() -> Any:
    """libyaml's parser class, or False when ruamel.yaml.clib is not installed."""
    global _parser_class
    if _parser_class is None:
        try:
            from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]
        except ImportError:  # no ruamel.yaml.clib: same events, pure Python
            _parser_class = False
        else:
            _parser_class = CParser
    return _parser_class


def events(text: str) -> Iterator[Any]:
    """Yield the parser events of ``text`` (which must not start with a BOM).

    Plain block YAML (most encrypted files) is scanned here without loading ruamel;
    everything else goes to libyaml (see :mod:`encfile.formats.yaml_fast`).
    """
    if len(text) <= _FAST_MAX and "_ruamel_yaml" not in sys.modules:
        from . import yaml_fast

        fast = yaml_fast.events(text)
        if fast is not None:
            yield from fast
            return
    cls = _load()
    if cls:
        try:
            parser = cls(text)
        except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8
            from ..errors import InputError

            raise InputError("invalid YAML: the text is not valid UTF-8") from None
        try:
            while True:
                event = parser.get_event()
                yield event
                if event.__class__.__name__ == "StreamEndEvent":
                    return
        finally:
            dispose = getattr(parser, "dispose", None)
            if dispose is not None:
                dispose()
    else:
        from ruamel.yaml import YAML

        yield from YAML(typ="safe", pure=True).parse(text)


def parse_error_message(err: BaseException) -> str:
    """A one-line description of a ruamel/libyaml parse error (no source excerpt)."""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)
