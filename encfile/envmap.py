"""Decrypted data as environment variables (``encfile exec``).

Nested keys are joined with ``_`` and upper-cased (``db: {password: x}`` gives
``DB_PASSWORD``), list items get their index (``HOSTS_0``), and characters that
cannot appear in a variable name become ``_`` (``api-key`` gives ``API_KEY``).
Two keys that land on the same name are an error naming both key paths, never
a value. Values are strings: numbers and booleans as JSON writes them
(``5432``, ``true``), null as the empty string.
"""

from __future__ import annotations

import os

from .errors import ConfigError, EncfileError, FileMissingError, InputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

def _safe(part: str) -> str:
    """``part`` with every character outside ``[A-Za-z0-9_]`` made ``_``."""
    if part.isascii() and part.replace("_", "a").isalnum():
        return part
    return "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in part)


def variable_name(parts: list[str]) -> str:
    """The conventional variable name for a key path."""
    name = "_".join(_safe(p) for p in parts if p != "").upper()
    return f"_{name}" if name[:1].isdigit() else name


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):  # a YAML date or time; not importing datetime to ask
        return str(value.isoformat()).replace("+00:00", "Z")
    import json  # numbers, booleans and lists as JSON; not needed for a dotenv file

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
                               hints=["nested keys can become names like DB_PASSWORD"],
                               remedy="flatten")
        if isinstance(value, dict):
            for key, item in value.items():
                add([*parts, str(key)], item)
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                add([*parts, str(index)], item)
            return
        name = prefix + (variable_name(parts) if nested else _safe(parts[-1]))
        if not name or name == prefix:
            raise InputError(f"{source}: the key {path!r} gives no variable name")
        if name in out:
            raise InputError(f"{source}: the keys {out[name][1]!r} and {path!r} both become "
                             f"${name}", hints=["rename one of them"], remedy="no_flatten")
        text = _text(value)
        if "\0" in text:
            raise InputError(f"{source}: the value of {path!r} contains a NUL byte, which no "
                             "environment variable can hold", hints=["use exec-file instead"])
        out[name] = (text, path)

    for key, value in data.items():
        add([str(key)], value)
    return out


def file_variables(docs: list[Any], fmt: str, *, prefix: str = "", nested: bool = True,
                   source: str = "input") -> dict[str, tuple[str, str]]:
    """:func:`flatten` of every document of one decrypted file (an INI file's keys before
    any section, under ``DEFAULT``, become top-level names)."""
    out: dict[str, tuple[str, str]] = {}
    for data in docs:
        if fmt == "ini" and isinstance(data, dict) and "DEFAULT" in data:
            data = {**data["DEFAULT"], **{k: v for k, v in data.items() if k != "DEFAULT"}}
        out.update(flatten(data, prefix=prefix, nested=nested, source=source))
    return out


def environment(variables: dict[str, tuple[str, str]], base: Mapping[str, str], *,
                pristine: bool = False, override: bool = True,
                remove: Sequence[str] = ()) -> dict[str, str]:
    """A child's environment: ``base`` (none with ``pristine``) plus ``variables`` (which
    replace inherited ones unless not ``override``), without the names in ``remove``
    (the identity variables: a child never sees how its parent decrypted)."""
    env = {} if pristine else {k: v for k, v in base.items() if k not in remove}
    for name, (value, _) in variables.items():
        if override or name not in env:
            env[name] = value
    for name in remove:
        env.pop(name, None)
    return env


EXEC_DEFAULTS = ("secrets.enc.env", "secrets.enc.yaml", "secrets.enc.json")


def exec_files(folder: str) -> list[str]:
    """The files ``encfile exec`` uses when none is named: those listed under ``exec:
    files:`` in the nearest ``.encfile.yaml`` above ``folder``, else the first of
    :data:`EXEC_DEFAULTS` in ``folder``."""
    # Only an .encfile.yaml can list files: look for one before paying for a YAML parser.
    probe = folder
    while True:
        candidate = os.path.join(probe, ".encfile.yaml")
        if os.path.isfile(candidate):
            from . import config

            listed = config.load(candidate).settings.get("exec", {})
            found = listed.get("files") if isinstance(listed, dict) else None
            if found:
                if not isinstance(found, list) or not all(isinstance(f, str) for f in found):
                    raise ConfigError(f"'{candidate}': exec.files must be a list of paths")
                return [os.path.join(probe, f) for f in found]
            break
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    for name in EXEC_DEFAULTS:
        if os.path.isfile(os.path.join(folder, name)):
            return [name]
    raise FileMissingError(
        "no secrets file to run with",
        hints=["list files under 'exec: files:' in .encfile.yaml, or create secrets.enc.env "
               "here"], remedy="exec_file")


def sops_value_text(value: Any) -> str:
    """A value as ``sops exec-env`` writes it into the environment (Go's ValToString):
    ``5``, ``1.0`` (a float keeps a decimal point), ``true``, ``<nil>`` for null, times in
    RFC 3339 (UTC as ``Z``)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        from decimal import Decimal

        text = format(Decimal(repr(value)), "f") if value == value and abs(value) != \
            float("inf") else ("NaN" if value != value else ("+Inf" if value > 0 else "-Inf"))
        return text if "." in text or "N" in text or "I" in text else text + ".0"
    if isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        if not hasattr(value, "hour"):  # a date: sops reads it as midnight UTC
            return f"{value.isoformat()}T00:00:00Z"
        return str(value.isoformat()).replace("+00:00", "Z")
    return str(value)


def sops_environment(data: Any, base: Mapping[str, str], *, pristine: bool = False,
                     source: str = "input") -> dict[str, str]:
    """``sops exec-env``'s environment: ``base`` (none with ``pristine``), then each
    top-level key of ``data`` (later wins); a nested value or a key with ``=`` is an
    error, as in sops."""
    if not isinstance(data, dict):
        raise InputError(f"{source} does not hold a mapping: it cannot become environment "
                         "variables")
    env = {} if pristine else dict(base)
    for key, value in data.items():
        name = str(key)
        if isinstance(value, (dict, list)):
            raise EncfileError(f"{source}: cannot use complex value in environment; offending "
                               f"key {name}", remedy="exec_flatten")
        if "=" in name:
            raise EncfileError(f"{source}: cannot use keys with '=' in environment: {name}")
        text = sops_value_text(value)
        if "\0" in text or "\0" in name:
            raise InputError(f"{source}: the value of {name!r} contains a NUL byte, which no "
                             "environment variable can hold")
        env[name] = text
    return env
