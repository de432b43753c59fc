"""Finding encrypted files, and joining several decrypted YAML files into one stream.

The helpers that commands over many files share: walking folders
(:func:`walk_files`), telling an encrypted file from any other (:func:`sniff`,
:func:`has_metadata`), and ``encfile -d a.yaml b.yaml``'s one stream of documents
(:func:`join_yaml_stream`). Nothing here decrypts.
"""

from __future__ import annotations

import os

from .errors import EncfileError, FileMissingError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .metadata import Metadata


def walk_files(paths: list[str]) -> list[str]:
    """The files named, and every file below the folders named (not inside .git, not
    following links), in a stable order; ``[]`` means the working folder."""
    found: list[str] = []
    for path in paths or ["."]:
        if os.path.isdir(path):
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d != ".git")
                found += [os.path.join(folder, n) for n in sorted(names)
                          if not os.path.islink(os.path.join(folder, n))]
        elif os.path.exists(path):
            found.append(path)
        else:
            raise FileMissingError(f"no such file: '{path}'")
    return found


def has_metadata(text: str, fmt: str) -> bool:
    """Does ``text``, read as ``fmt``, carry sops metadata? (False if it does not parse.)"""
    from . import formats

    try:
        return formats.get(fmt).parse(text).metadata is not None
    except EncfileError:
        return False


def sniff(path: str, fmt: str | None = None) -> tuple[str, str, Metadata] | None:
    """``(format, text, metadata)`` of an encrypted file, or None for any other file
    (plaintext, unreadable, or metadata that does not parse)."""
    from . import _api, formats
    from .metadata import Metadata

    fmt = fmt or formats.detect(path)
    try:
        text = _api.read_file(path, binary=fmt == "binary")
        raw = formats.get(fmt).parse(text).metadata
        return (fmt, text, Metadata.from_dict(raw)) if raw is not None else None
    except EncfileError:
        return None


def join_yaml_stream(texts: list[str]) -> str:
    """Several decrypted YAML files as one stream: '---' between documents.

    A BOM may only start the stream, and a file that opens with a directive
    (``%YAML``) needs the previous document closed with '...' instead.
    """
    out = texts[0]
    for text in texts[1:]:
        text = text.removeprefix("\ufeff")
        if out and not out.endswith("\n"):
            out += "\n"
        if text.startswith("%"):
            out += "...\n" + text
        elif text.startswith("---"):
            out += text
        else:
            out += "---\n" + text
    return out
