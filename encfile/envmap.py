"""Decrypted data as environment variables (``encfile exec``).

Nested keys are joined with ``_`` and upper-cased (``db: {password: x}`` gives
``DB_PASSWORD``), list items get their index (``HOSTS_0``), and characters that
cannot appear in a variable name become ``_`` (``api-key`` gives ``API_KEY``).
Two keys that land on the same name are an error naming both key paths, never
a value. Values are strings: numbers and booleans as JSON writes them
(``5432``, ``true``), null as the empty string.
"""

from __future__ import annotations

import json
import re

from .errors import EncfileError, InputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_INVALID = re.compile(r"[^A-Za-z0-9_]")


def variable_name(parts: list[str]) -> str:
    """The conventional variable name for a key path."""
    name = "_".join(_INVALID.sub("_", p) for p in parts if p != "").upper()
    return f"_{name}" if name[:1].isdigit() else name


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):  # a YAML date or time; not importing datetime to ask
        return str(value.isoformat()).replace("+00:00", "Z")
    return json.dumps(value, ensure_ascii=False)


def flatten(data: Any, *, prefix: str = "", nested: bool = True,
            source: str = "input") -> dict[str, tuple[str, str]]:
    """``{NAME: (value, key path)}`` for one decrypted document.

    ``nested=False`` takes only top-level keys (as ``sops exec-env``), and a key
    that holds a mapping or a list is an error, as there. A top-level list or
    value has no names to give and is refused.
    """
    if not isinstance(data, dict):
        raise InputError(f"{source} does not hold a mapping: it cannot become environment "
                         "variables")
    out: dict[str, tuple[str, str]] = {}

    def add(parts: list[str], value: Any) -> None:
        path = ".".join(parts)
        if isinstance(value, (dict, list)) and not nested:
            raise EncfileError(f"{source}: the key {path!r} holds a "
                               f"{'mapping' if isinstance(value, dict) else 'list'}, which "
                               "cannot be an environment variable",
                               hints=["drop --no-flatten to get names like DB_PASSWORD"])
        if isinstance(value, dict):
            for key, item in value.items():
                add([*parts, str(key)], item)
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                add([*parts, str(index)], item)
            return
        name = prefix + (variable_name(parts) if nested else _INVALID.sub("_", parts[-1]))
        if not name or name == prefix:
            raise InputError(f"{source}: the key {path!r} gives no variable name")
        if name in out:
            raise InputError(f"{source}: the keys {out[name][1]!r} and {path!r} both become "
                             f"${name}", hints=["rename one of them, or use --no-flatten"])
        text = _text(value)
        if "\0" in text:
            raise InputError(f"{source}: the value of {path!r} contains a NUL byte, which no "
                             "environment variable can hold", hints=["use exec-file instead"])
        out[name] = (text, path)

    for key, value in data.items():
        add([str(key)], value)
    return out
