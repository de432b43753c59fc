"""What several commands share: reading their input, the run's keys, conversions."""

from __future__ import annotations

import os
import sys

from .. import errors
from .terminal import Out, ask_passphrase, info

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..keysources import MasterKey
    from ..keysources.identities import KeyRing


def keyring() -> KeyRing:
    """The run's keys, asking the terminal for passphrases."""
    from ..keysources.identities import KeyRing

    return KeyRing(passphrase=ask_passphrase)


def read_input(path: str, input_type: str | None, *, what: str) -> tuple[str, str, str]:
    """(text, format, label) for a file name or '-' (standard input).

    Encrypted standard input without a type is told by where its metadata is (as the
    library does); plaintext needs ``--input-type`` or ``--filename-override``.
    """
    from .. import _api, formats

    if path == "-":
        data = sys.stdin.buffer.read()
        if input_type:
            return (_api.decode_text(data, "standard input", binary=input_type == "binary"),
                    input_type, "<stdin>")
        if what == "encrypting":
            raise errors.OptionConflict("encrypting standard input needs its format",
                           hints=["add --input-type yaml (json, dotenv, ini, binary) or "
                                  "--filename-override NAME"])
        text = _api.decode_text(data, "standard input")
        return text, formats.sniff_encrypted(text), "<stdin>"
    fmt = input_type or formats.detect(path)
    return _api.read_file(path, binary=fmt == "binary"), fmt, f"'{path}'"


def input_type(given: str | None) -> str | None:
    """--input-type, else the format of --filename-override's name (as in sops)."""
    if given or not Out.name_override:
        return given
    from .. import formats

    return formats.detect(Out.name_override)


def convert(docs: list[Any], input_fmt: str, output_type: str | None) -> str | None:
    """The data in another format when ``--output-type`` asks for one, else None."""
    if not output_type or output_type == input_fmt:
        return None
    from .. import convert as _convert
    from .. import formats

    formats.get(output_type)  # an unknown name is an error, not a silent fallback
    return _convert.render(docs, output_type)


def age_keys(flag: str | None) -> list[MasterKey]:
    """The age keys of ``--age`` (else ``$ENCFILE_AGE_RECIPIENTS``, ``$SOPS_AGE_RECIPIENTS``)."""
    from .. import keysources

    value = flag or os.environ.get("ENCFILE_AGE_RECIPIENTS") \
        or os.environ.get("SOPS_AGE_RECIPIENTS") or ""
    return keysources.from_config("age", value)


def info_config(plan: Any, prefix: str = "") -> None:
    """-v: which config (and rule) a plan came from."""
    if plan.config is not None:
        info(f"{prefix}config '{plan.config.path}': " + (
            f"rule at line {plan.rule.line}" if plan.rule else "no rule matches"))


def plan(path: str, keys: list[MasterKey], options: dict[str, Any],
         config_path: str | None, prefix: str = "") -> Any:
    """The creation plan for ``path`` (``-v`` says where it came from)."""
    from .. import config

    found = config.plan(path, keys, options, explicit=config_path)
    info_config(found, prefix)
    return found
