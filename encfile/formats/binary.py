"""The binary codec: the whole file is one value, in sops's JSON wrapper.

Encrypted, a file becomes ``{"data": "ENC[…]", "sops": {…}}`` (tab-indented,
as sops writes it), with the file's bytes as one ``str`` value under the key
path ``data:``. The text handed to this codec carries arbitrary bytes as
``surrogateescape`` characters (see ``_api.decode_text``), so NUL bytes,
invalid UTF-8 and a BOM all come back exactly. An empty file stays an empty,
unencrypted ``data`` string, as with sops.
"""

from __future__ import annotations

import json as _json

from ..errors import InputError
from ..tree import Branch, Scalar
from . import json_emit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "binary"
EXTENSIONS: tuple[str, ...] = ()
WHOLE_FILE = True
KEY = "data"


# A plain class, not a dataclass: see "Start-up" in ARCHITECTURE.md.
class ParsedBinary:
    def __init__(self, value: Scalar, meta_raw: Any = None, extra_keys: bool = False) -> None:
        self.value = value
        self.meta_raw = meta_raw
        self.extra_keys = extra_keys

    @property
    def roots(self) -> list[Branch]:
        root = Branch()
        root.append((KEY, self.value))
        return [root]

    @property
    def metadata(self) -> Any:
        return self.meta_raw

    def metadata_consistent(self) -> bool:
        return True

    def structure_problem(self) -> str | None:
        return "the file holds more than 'data' and 'sops'" if self.extra_keys else None

    def layout(self) -> dict[str, Any]:
        return {}

    def render_encrypted(self, metadata: dict[str, Any]) -> str:
        value = self.value.out if self.value.out is not None else self.value.text
        return json_emit.dump({KEY: value, "sops": metadata}) + "\n"

    def render_plain(self, layout: dict[str, Any] | None) -> str:
        if self.value.out is not None:
            return str(self.value.out[1])
        return self.value.text

    def apply_layout(self, layout: dict[str, Any] | None) -> None:
        return None

    def to_python(self) -> list[Any]:
        """The file as sops sees it: ``{"data": <the whole file>}``."""
        return [{KEY: self.render_plain(None)}]


def _wrapped(text: str) -> dict[str, Any] | None:
    """The wrapper object if ``text`` is an encrypted binary file, else None."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        data = _json.loads(text)
    except (ValueError, RecursionError):  # any bytes are a valid plain binary file
        return None
    if isinstance(data, dict) and isinstance(data.get("sops"), dict):
        return data
    return None


def parse(text: str) -> ParsedBinary:
    """A plain file (any bytes) or an encrypted one (the JSON wrapper)."""
    wrapper = _wrapped(text)
    if wrapper is None:
        return ParsedBinary(Scalar("str", text))
    value = wrapper.get(KEY, "")
    if not isinstance(value, str):
        raise InputError("the 'data' of an encrypted binary file must be a string")
    return ParsedBinary(Scalar("str", value), wrapper["sops"],
                        extra_keys=bool(set(wrapper) - {KEY, "sops"}))
