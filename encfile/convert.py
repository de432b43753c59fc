"""Format conversion (``--output-type``): Python data written as another format.

Conversion goes through the data, so the result is the target format's plain
rendering (as sops writes it), not a copy of the source layout. What the target
cannot hold is refused with a clear error: a JSON file needs an object at the
top, a dotenv file flat values, an INI file sections of flat values, and a
binary file one ``data`` string.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from .errors import ConversionError


def _scalar_text(value: Any, where: str, target: str) -> str:
    if isinstance(value, (dict, list)):
        raise ConversionError(f"cannot write the nested value at {where!r} in a {target} file",
                         hints=[f"{target} holds flat values; keep the file as YAML or "
                                "JSON, or take only part of it"], remedy="extract")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        from . import values

        return values.format_float_f(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _escape_newlines(text: str) -> str:
    return text.replace("\n", "\\n")  # as sops writes dotenv values


def _one(docs: list[Any], target: str) -> Any:
    if len(docs) != 1:
        raise ConversionError(f"cannot write {len(docs)} documents as one {target} file")
    return docs[0]


def render(docs: list[Any], target: str, indent: int | None = None) -> str:
    """The documents ``docs`` (decrypted data) as ``target`` text.

    ``indent``: spaces per level for YAML (default 4) and JSON (default a tab), as
    sops's ``--indent`` and ``stores:`` set them. A binary file's data is
    ``{"data": <the file>}``, as sops sees it.
    """
    if target == "yaml":
        from .formats import yaml_emit

        return "---\n".join(yaml_emit.dump(d, indent=indent or 4) for d in docs)
    data = _one(docs, target)
    if target == "binary":
        if not (isinstance(data, dict) and set(data) == {"data"} and isinstance(data["data"], str)):
            raise ConversionError("a binary file can only be written from a single 'data' string")
        return str(data["data"])
    if not isinstance(data, dict):
        raise ConversionError(f"a {target} file needs a mapping at the top")
    if target == "json":
        from .formats import json_emit

        return json_emit.dump(data, " " * indent if indent else "\t") + "\n"
    if target == "dotenv":
        return "".join(f"{k}={_escape_newlines(_scalar_text(v, k, target))}\n"
                       for k, v in data.items())
    if target == "ini":
        from .formats.ini import render_value

        out = []
        for name, section in data.items():
            if not isinstance(section, dict):
                raise ConversionError(f"the value at {name!r} is not a section: INI files hold "
                                 "sections of keys")
            # go-ini (sops's writer) aligns the '=' of a section's keys
            width = max((len(str(k)) for k in section), default=0)
            lines = [f"{str(k).ljust(width)} = "
                     f"{render_value(_scalar_text(v, f'{name}:{k}', target))}\n"
                     for k, v in section.items()]
            out.append(f"[{name}]\n" + "".join(lines))
        return "\n".join(out)
    raise ConversionError(f"unknown format {target!r}")


def render_part(value: Any, target: str, indent: int | None = None) -> str:
    """``--extract``'s result, as sops writes it: a string raw (no newline), a mapping as
    a whole document of ``target``, anything else as that format's single value (YAML
    ``5\n``, JSON ``1.5`` without a newline)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return render([value], target, indent)
    if target == "json":
        from .formats import json_emit

        return json_emit.dump(value, " " * indent if indent else "\t")
    if target in ("yaml", "binary"):
        from .formats import yaml_emit

        return yaml_emit.dump(value, indent=indent or 4)
    raise ConversionError(f"a {target} file can hold only a string or a mapping here",
                          hints=["choose another --output-type, or extract a string"])
