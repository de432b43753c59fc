"""One codec per file format; this module maps names and file names to codecs.

A codec module provides ``NAME``, ``EXTENSIONS`` and ``parse(text)``, which
returns an object with ``roots`` (the data trees), ``metadata`` (the raw
``sops`` block or None), ``metadata_consistent()``, ``structure_problem()``,
``layout()``, ``render_encrypted(metadata)``, ``render_plain(layout)``,
``apply_layout(layout)`` and ``to_python()``. A codec whose one value is the
whole file sets ``WHOLE_FILE = True`` (sops applies no rules to it).
Codecs know no crypto. Modules are imported only when their format is used.
"""

from __future__ import annotations

import os

from ..errors import InputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

# name -> module; adding a format means one module and one line here.
_CODECS = {
    "yaml": "encfile.formats.yaml",
    "json": "encfile.formats.json",
    "dotenv": "encfile.formats.dotenv",
    "ini": "encfile.formats.ini",
    "binary": "encfile.formats.binary",
}
FORMATS = tuple(_CODECS)
_BY_EXTENSION = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "dotenv",
                 ".ini": "ini", ".cfg": "ini"}


def get(name: str) -> ModuleType:
    """The codec module for a format name."""
    module = _CODECS.get(name)
    if module is None:
        raise InputError(f"unknown format {name!r}", hints=[f"formats: {', '.join(FORMATS)}"])
    codec: ModuleType = __import__(module, fromlist=["parse"])
    return codec


def detect(path: str) -> str:
    """The format of a file name: by extension, then dotenv's ``.env.<stage>`` names.

    ``secrets.enc.yaml`` is YAML like ``secrets.yaml``; ``.env``, ``prod.env`` and
    ``.env.production`` are dotenv; ``.cfg`` is INI; anything else is binary.
    (sops knows only ``.yaml``/``.yml``, ``.json``, ``.env`` and ``.ini``.)
    """
    name = os.path.basename(path).lower()
    fmt = _BY_EXTENSION.get(os.path.splitext(name)[1])
    if fmt is not None:
        return fmt
    if name.startswith(".env.") or name == ".env":
        return "dotenv"
    return "binary"



def sniff_encrypted(text: str) -> str:
    """The format of an encrypted text, from where its sops metadata is: a JSON object
    (``{"data", "sops"}`` alone is a binary file), ``sops_mac=`` lines (dotenv), a
    ``[sops]`` section (INI); else YAML."""
    import re

    body = text.lstrip("\ufeff \t\r\n")
    if body.startswith("{"):
        import json

        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return "yaml"  # a YAML flow mapping (its tokens are not JSON strings)
        return "binary" if isinstance(data, dict) and set(data) == {"data", "sops"} else "json"
    if re.search(r"^sops_mac=", text, re.M):
        return "dotenv"
    if re.search(r"^\[sops\]\s*$", text, re.M):
        return "ini"
    return "yaml"
