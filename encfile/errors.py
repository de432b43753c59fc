"""The exceptions encfile raises, and the warning category it uses.

Every failure is an :class:`EncfileError`; the CLI maps each class to one exit
code (the sops numbers, so scripts written for sops keep working)::

    EncfileError                       1  anything not listed below
    ├── InputError                     2  unreadable, unparsable or unsupported input
    ├── OptionConflict                 8  options that cannot be used together
    ├── SetFormatError                 7  a ``set`` path or value that is not valid
    ├── ConversionError                4  data the output format cannot hold
    ├── UsageError                     1  a request that cannot be carried out as given
    │                                     (files of several formats joined into one
    │                                     stream, a construct set/unset cannot edit in
    │                                     place)
    ├── FileMissingError             100  the named file does not exist
    ├── AlreadyEncryptedError        203  encrypting a file that has sops metadata
    ├── NotEncryptedError              1  decrypting a file without sops metadata
    ├── RecipientError                 1  a malformed age recipient, or none given
    ├── ConfigError                    1  a bad .encfile.yaml/.sops.yaml, or no rule for a file
    ├── RuleError (in rules.py)        1  two encryption rules at once, or a bad regex
    ├── NoIdentityError              128  no identity could unwrap the data key
    ├── IntegrityError                    the file was changed by someone without the key
    │   ├── TamperedValueError        25  a value, comment or layout token fails to
    │   │                                 authenticate, or is not a valid token
    │   └── MacMismatchError          51  the file MAC is missing, broken or different
    ├── ExtractPathError              91  a malformed ``--extract`` path
    ├── PathNotFoundError              1  ``--extract`` names a key that is not there
    ├── MergeConflict                  1  both sides of a merge changed the same key
    └── OutputError                    3  the result could not be written

Messages are lowercase, have no trailing period, quote user input, and never
contain a secret value: at most a key path, a recipient (public key) or a file
name. ``hints`` carries extra lines for the user (``encfile: hint: ...``).
``remedy`` names, for a program, what would make the call work (``"force"``,
``"recipients"``…); the CLI turns it into the hint that names its own flag.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


__all__ = [
    "AlreadyEncryptedError",
    "ConfigError",
    "ConversionError",
    "EncfileError",
    "EncfileNote",
    "EncfileWarning",
    "ExtractPathError",
    "FileMissingError",
    "InputError",
    "IntegrityError",
    "MacMismatchError",
    "MergeConflict",
    "NoIdentityError",
    "NotEncryptedError",
    "OptionConflict",
    "OutputError",
    "PathNotFoundError",
    "RecipientError",
    "SetFormatError",
    "TamperedValueError",
    "UsageError",
]


class EncfileWarning(UserWarning):
    """Something worked but deserves the user's attention (e.g. keys holding ``:``)."""


class EncfileNote(EncfileWarning):
    """Information about a choice encfile made for the user (the CLI prints it as a note)."""


class EncfileError(Exception):
    """Base class of every error encfile raises on purpose."""

    def __init__(self, message: str, *, hints: Sequence[str] = (),
                 remedy: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hints: tuple[str, ...] = tuple(hints)
        self.remedy = remedy

    def __str__(self) -> str:
        return self.message


class InputError(EncfileError):
    """The input cannot be read or parsed, or uses a structure encfile refuses."""


class OptionConflict(EncfileError):
    """Options that cannot be used together, such as in-place output and an output file."""


class ConversionError(EncfileError):
    """The data cannot be written in the format asked for (sops's code 4): nested values
    for dotenv, a list at the top for JSON…"""


class SetFormatError(EncfileError):
    """A ``set`` path that does not parse, or a value that is not JSON (sops's code 7)."""


class NotModifiedError(EncfileError):
    """An edit saved without a change: nothing was written (sops's code 200, which
    scripts such as helm-secrets pass on)."""


class FindingsError(EncfileError):
    """``encfile scan`` found secrets that are not encrypted (and not accepted by its
    baseline): a code of its own, so that a CI gate tells "found secrets" from "the scan
    broke". ``count`` is how many were found."""

    def __init__(self, message: str, *, count: int, hints: tuple[str, ...] = ()) -> None:
        super().__init__(message, hints=hints)
        self.count = count


class UsageError(EncfileError):
    """The input is fine, but what was asked cannot be done this way (the hints say how)."""


class FileMissingError(EncfileError):
    """The file named on the command line or passed to the library does not exist."""


class AlreadyEncryptedError(EncfileError):
    """Encryption was asked for a file that already carries sops metadata."""


class NotEncryptedError(EncfileError):
    """Decryption was asked for a file that has no sops metadata."""


class RecipientError(EncfileError):
    """A recipient string is not a valid age recipient, or no recipient was given."""


class ConfigError(EncfileError):
    """A config file that cannot be read or checked, or that has no rule for a file."""


class NoIdentityError(EncfileError):
    """None of the available identities can unwrap the file's data key.

    ``recipients`` lists the file's recipients (public keys only) and
    ``sources`` the identity sources that were tried.
    """

    def __init__(
        self,
        message: str,
        *,
        recipients: Sequence[str] = (),
        sources: Sequence[str] = (),
        hints: Sequence[str] = (),
        remedy: str | None = None,
    ) -> None:
        super().__init__(message, hints=hints, remedy=remedy)
        self.recipients = tuple(recipients)
        self.sources = tuple(sources)


class IntegrityError(EncfileError):
    """The file does not authenticate: it was damaged or changed without the key."""


class TamperedValueError(IntegrityError):
    """A value, comment or layout token does not decrypt under its key path."""


class MacMismatchError(IntegrityError):
    """The file MAC is missing, cannot be decrypted, or does not match the values."""


class ExtractPathError(EncfileError):
    """An ``--extract`` path such as ``["a"]["b"][0]`` is malformed."""


class PathNotFoundError(EncfileError):
    """An ``--extract`` path names a key or index that the document does not have."""


class OutputError(EncfileError):
    """The result could not be written where the user asked."""


class MergeConflict(EncfileError):
    """Both sides of a merge changed the same keys differently.

    ``paths`` names them (never their values); ``candidates`` maps each to its
    ``(ours, theirs)`` values, for ``encfile git resolve`` to show in an editor.
    """

    def __init__(self, message: str, paths: Sequence[str], *, hints: Sequence[str] = (),
                 candidates: dict[str, tuple[object, object]] | None = None) -> None:
        super().__init__(message, hints=hints)
        self.paths = list(paths)
        self.candidates = candidates or {}
