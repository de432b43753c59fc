"""encfile: encrypt the values of config files for age recipients, in sops's format.

>>> import encfile
>>> data = encfile.load("secrets.enc.yaml")          # dict; identities from the environment
>>> text = encfile.decrypt(enc_text, format="yaml")  # str, formatting preserved

Importing encfile is cheap: cryptography, pyrage and ruamel.yaml load on first
use, typer and keyring never (they belong to the CLI).
"""

from __future__ import annotations

from ._api import (
    decrypt,
    decrypt_file,
    encrypt,
    encrypt_file,
    generate_identity,
    load,
    load_all,
    loads,
    open_encrypted,
)
from ._version import __version__
from .errors import (
    AlreadyEncryptedError,
    ConfigError,
    EncfileError,
    EncfileNote,
    EncfileWarning,
    ExtractPathError,
    FileMissingError,
    InputError,
    IntegrityError,
    MacMismatchError,
    MergeConflict,
    NoIdentityError,
    NotEncryptedError,
    OutputError,
    PathNotFoundError,
    RecipientError,
    TamperedValueError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .keysources.identities import KeyRing
    from .rules import Rules

__all__ = [
    "AlreadyEncryptedError",
    "ConfigError",
    "EncfileError",
    "EncfileNote",
    "EncfileWarning",
    "ExtractPathError",
    "FileMissingError",
    "InputError",
    "IntegrityError",
    "KeyRing",
    "MacMismatchError",
    "MergeConflict",
    "NoIdentityError",
    "NotEncryptedError",
    "OutputError",
    "PathNotFoundError",
    "RecipientError",
    "Rules",
    "TamperedValueError",
    "__version__",
    "decrypt",
    "decrypt_file",
    "encrypt",
    "encrypt_file",
    "generate_identity",
    "load",
    "load_all",
    "loads",
    "open_encrypted",
]


def __getattr__(name: str) -> Any:
    # KeyRing and Rules live in modules that are cheap but not needed to import encfile.
    if name == "KeyRing":
        from .keysources.identities import KeyRing

        return KeyRing
    if name == "Rules":
        from .rules import Rules

        return Rules
    raise AttributeError(f"module 'encfile' has no attribute {name!r}")
