"""One codec per file format; this module maps names and file names to codecs.

A codec module provides ``NAME``, ``EXTENSIONS`` and ``parse(text)``, which
returns an object with ``roots`` (the data trees), ``metadata`` (the raw
``sops`` block or None), ``metadata_consistent()``, ``layout()``,
``render_encrypted(metadata)``, ``render_plain(layout)`` and ``to_python()``.
Codecs know no crypto. Modules are imported only when their format is used.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import InputError

# name -> module; adding a format means one module and one line here.
_CODECS = {
    "yaml": "encfile.formats.yaml",
}
# Formats sops knows that this version of encfile does not implement yet.
_PLANNED = ("json", "dotenv", "ini", "binary")
FORMATS = tuple(_CODECS)


def get(name: str) -> ModuleType:
    """The codec module for a format name."""
    module = _CODECS.get(name)
    if module is None:
        if name in _PLANNED:
            raise InputError(f"the {name} format is not supported yet",
                             hints=["this version of encfile reads and writes YAML files"])
        raise InputError(f"unknown format {name!r}", hints=[f"formats: {', '.join(FORMATS)}"])
    return importlib.import_module(module)


def detect(path: str) -> str:
    """The format of a file name, from its extension, as sops decides it."""
    lower = path.lower()
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    if lower.endswith(".json"):
        return "json"
    if lower.endswith(".env"):
        return "dotenv"
    if lower.endswith(".ini"):
        return "ini"
    return "binary"
