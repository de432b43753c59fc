"""The public functions. Heavy modules (cryptography, pyrage, ruamel) load on first use."""

from __future__ import annotations

import os

from .errors import FileMissingError, InputError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing, datetime and pathlib stay off the start-up path of -d and exec
    import datetime as _dt
    from collections.abc import Sequence
    from typing import Any, TypeAlias

    from .keysources import MasterKey
    from .keysources.age import NewIdentity
    from .keysources.identities import KeyRing
    from .opening import Opened
    from .rules import Rules

    #: Identities: None (every source of the environment, as the CLI does), identity
    #: strings (``AGE-SECRET-KEY-1…``), or a :class:`encfile.KeyRing`.
    Identities: TypeAlias = "Sequence[str] | KeyRing | None"

MAX_INPUT_BYTES = 100 * 1024 * 1024  # ENCFILE_MAX_SIZE overrides (bytes)


def max_input_bytes() -> int:
    value = os.environ.get("ENCFILE_MAX_SIZE", "").strip()
    if not value:
        return MAX_INPUT_BYTES
    try:
        limit = int(value)
    except ValueError:
        limit = -1
    if limit < 0:
        raise InputError(f"ENCFILE_MAX_SIZE must be a number of bytes, not {value!r}",
                         hints=[f"e.g. ENCFILE_MAX_SIZE={2 * MAX_INPUT_BYTES}"])
    return limit


def _too_large(label: str) -> InputError:
    return InputError(f"{label} is larger than {max_input_bytes()} bytes",
                      hints=["set ENCFILE_MAX_SIZE (bytes) to raise the limit"])


def _keyring(identities: Identities) -> KeyRing:
    from .keysources.identities import KeyRing

    if identities is None:
        return KeyRing()
    if isinstance(identities, KeyRing):
        return identities
    if isinstance(identities, str):
        return KeyRing([identities])
    return KeyRing(list(identities))


def decode_text(data: bytes, label: str, *, binary: bool = False) -> str:
    """Input bytes as text: UTF-8 (a BOM is kept as U+FEFF), line endings untouched.

    ``binary``: any bytes, those that are not UTF-8 carried as surrogate escapes.
    """
    if len(data) > max_input_bytes():
        raise _too_large(label)
    if binary:
        return data.decode("utf-8", "surrogateescape")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{label} is UTF-16; encfile reads UTF-8 files",
                         hints=["convert it, e.g. with 'iconv -f UTF-16 -t UTF-8'"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{label} is not valid UTF-8 (byte {err.start})") from None


def read_file(path: str | os.PathLike[str], *, binary: bool = False) -> str:
    """Read a file as text for encfile; raise FileMissingError or InputError."""
    name = os.fspath(path)
    label = f"'{name}'"
    try:
        with open(name, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_input_bytes():
                raise _too_large(label)
            data = f.read()
    except FileNotFoundError:
        raise FileMissingError(f"no such file: {label}") from None
    except IsADirectoryError:
        raise InputError(f"{label} is a directory") from None
    except PermissionError:
        raise InputError(f"cannot read {label}: permission denied") from None
    except OSError as err:
        raise InputError(f"cannot read {label}: {err.strerror or err}") from None
    return decode_text(data, label, binary=binary)


def _format_of(path: str | os.PathLike[str], fmt: str | None) -> str:
    from . import formats

    return fmt or formats.detect(os.fspath(path))


def _keys(items: str | Sequence[str | MasterKey] | None) -> list[MasterKey]:
    """Keys given to the library: MasterKey objects, or age recipient strings (each may
    list several, comma-separated)."""
    from . import keysources

    if isinstance(items, str):
        items = [items]
    return [k for item in (items or ()) for k in (
        [item] if isinstance(item, keysources.MasterKey)
        else keysources.from_config("age", item))]


def _groups(recipients: str | Sequence[str | MasterKey] | None,
            key_groups: Sequence[Sequence[str | MasterKey]] | None) -> list[list[MasterKey]]:
    from .errors import RecipientError

    groups = [_keys(g) for g in key_groups] if key_groups else [_keys(recipients)]
    if not groups or not all(groups):
        raise RecipientError("no keys to encrypt for",
                             hints=["pass recipients='age1…' (or key_groups=[[…], […]])"])
    return groups


def encrypt(
    text: str,
    *,
    recipients: str | Sequence[str | MasterKey] | None = None,
    key_groups: Sequence[Sequence[str | MasterKey]] | None = None,
    shamir_threshold: int = 0,
    format: str = "yaml",
    rules: Rules | None = None,
    now: _dt.datetime | None = None,
) -> str:
    """Encrypt the values of a plaintext document; return the sops-format text.

    ``recipients``: age recipients (a list, or a comma-separated string).
    ``key_groups``: several groups instead, with ``shamir_threshold`` of them needed.
    ``rules``: which values stay in clear (default: keys ending in ``_unencrypted``).
    """
    from .document import encrypt_text

    return encrypt_text(text, fmt=format, recipients=_groups(recipients, key_groups),
                        rules=rules, shamir_threshold=shamir_threshold, now=now)


def open_encrypted(text: str, *, format: str | None = None, identities: Identities = None,
                   ignore_mac: bool = False, label: str = "input") -> Opened:
    """Decrypt and authenticate; the result renders text (``.text()``) or data (``.data()``).

    ``format``: yaml, json, dotenv, ini or binary; by default it is told from the text
    (the way each format stores the sops metadata).
    """
    from . import formats
    from .opening import open_text

    return open_text(text, fmt=format or formats.sniff_encrypted(text),
                     keyring=_keyring(identities), label=label, ignore_mac=ignore_mac,
                     sniffed=format is None)


def decrypt(text: str, *, format: str | None = None, identities: Identities = None,
            ignore_mac: bool = False) -> str:
    """Decrypt a sops-format document; formatting, comments and layout are preserved."""
    return open_encrypted(text, format=format, identities=identities,
                          ignore_mac=ignore_mac).text()


def _single(docs: list[Any], label: str) -> Any:
    if len(docs) != 1:
        raise InputError(f"{label} holds {len(docs)} documents", hints=["use load_all()"])
    return docs[0]


def loads(text: str, *, format: str | None = None, identities: Identities = None) -> Any:
    """Decrypt a sops-format document to Python data (a dict for a mapping)."""
    return _single(open_encrypted(text, format=format, identities=identities).data(), "input")


def load(path: str | os.PathLike[str], *, format: str | None = None,
         identities: Identities = None) -> Any:
    """Decrypt a file to Python data; the format comes from the extension by default."""
    label = f"'{os.fspath(path)}'"
    fmt = _format_of(path, format)
    opened = open_encrypted(read_file(path, binary=fmt == "binary"), format=fmt,
                            identities=identities, label=label)
    return _single(opened.data(), label)


def load_all(path: str | os.PathLike[str], *, format: str | None = None,
             identities: Identities = None) -> list[Any]:
    """Decrypt a (multi-document) file to a list with one item per document."""
    fmt = _format_of(path, format)
    opened = open_encrypted(read_file(path, binary=fmt == "binary"), format=fmt,
                            identities=identities, label=f"'{os.fspath(path)}'")
    return opened.data()


def decrypt_file(path: str | os.PathLike[str], *, format: str | None = None,
                 identities: Identities = None, ignore_mac: bool = False) -> str:
    """Decrypt a file to its plaintext (never written anywhere by encfile)."""
    fmt = _format_of(path, format)
    return open_encrypted(read_file(path, binary=fmt == "binary"), format=fmt,
                          identities=identities, ignore_mac=ignore_mac,
                          label=f"'{os.fspath(path)}'").text()


def encrypt_file(path: str | os.PathLike[str], *,
                 recipients: str | Sequence[str | MasterKey] | None = None,
                 key_groups: Sequence[Sequence[str | MasterKey]] | None = None,
                 shamir_threshold: int = 0,
                 format: str | None = None, rules: Rules | None = None,
                 now: _dt.datetime | None = None) -> str:
    """Encrypt a file's values; return the encrypted text (the file is not changed).

    Without ``recipients`` or ``key_groups``, the creation rule for the file in the nearest
    ``.encfile.yaml``/``.sops.yaml`` above it gives them (and its options, which ``rules``
    overrides).
    """
    from .document import encrypt_text

    if not key_groups:
        # The creation rule's options apply even when recipients are given (as in sops).
        from . import config

        options = {k: v for k, v in (rules.as_dict() if rules else {}).items() if v}
        given = _keys(recipients) if recipients is not None else []
        plan = config.plan(os.fspath(path), given, options)
        key_groups, shamir_threshold, rules = plan.groups, plan.shamir_threshold, plan.rules

    fmt = _format_of(path, format)
    return encrypt_text(read_file(path, binary=fmt == "binary"), fmt=fmt,
                        recipients=_groups(recipients, key_groups), rules=rules,
                        shamir_threshold=shamir_threshold, now=now,
                        label=f"'{os.fspath(path)}'")


def generate_identity() -> NewIdentity:
    """A new age X25519 identity (``.secret``, ``.public``, ``.file_block()``)."""
    from .keysources.age import generate

    return generate()
