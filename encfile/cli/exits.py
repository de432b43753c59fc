"""The exit codes: one table, from which the help texts and the README's table come.

sops's numbers wherever sops has the case, so scripts written for sops keep working.
A test checks that the README shows exactly :data:`TABLE`.
"""

from __future__ import annotations

from .. import errors

#: (code, meaning, the error classes that give it), in the order of the codes.
TABLE: tuple[tuple[int, str, tuple[type[errors.EncfileError], ...]], ...] = (
    (0, "success", ()),
    (1, "other errors: bad option or usage, no recipients, file not encrypted, `--extract` "
        "key missing", (errors.UsageError, errors.EncfileError)),
    (2, "input unreadable or unparsable (invalid YAML, not UTF-8, duplicate keys, …)",
     (errors.InputError,)),
    (3, "output could not be written", (errors.OutputError,)),
    (4, "the data cannot be written in the output format (`--output-type`)",
     (errors.ConversionError,)),
    (7, "a `set` path or value that does not parse (the value must be JSON)",
     (errors.SetFormatError,)),
    (8, "conflicting options (`-i` with `-o`, `-e` with `-d`)", (errors.OptionConflict,)),
    (10, "`encfile scan` found secrets that are not encrypted (and not in its baseline)",
     (errors.FindingsError,)),
    (25, "a value, comment or layout token was tampered with or moved",
     (errors.TamperedValueError,)),
    (51, "MAC mismatch (values changed, added, removed or reordered)",
     (errors.MacMismatchError,)),
    (91, "malformed `--extract` path", (errors.ExtractPathError,)),
    (100, "no such file", (errors.FileMissingError,)),
    (128, "no identity matched (the message lists recipients and the sources tried)",
     (errors.NoIdentityError,)),
    (200, "`edit` saved without a change: nothing written", (errors.NotModifiedError,)),
    (203, "the file is already encrypted", (errors.AlreadyEncryptedError,)),
)
KEYBOARD_INTERRUPT = 85  # sops's number for ^C


def code_of(err: errors.EncfileError) -> int:
    """The exit code for an error: that of its most specific class in :data:`TABLE`."""
    best = (len(errors.EncfileError.__mro__) - 1, 1)
    for code, _, classes in TABLE:
        for cls in classes:
            if isinstance(err, cls):
                best = max(best, (len(cls.__mro__), code), key=lambda pair: pair[0])
    return best[1]


def help_text() -> str:
    """The exit codes for ``--help``: one line each."""
    lines = ["Exit codes (sops's numbers):"]
    lines += [f"  {code:>3}  {meaning.replace('`', '')}" for code, meaning, _ in TABLE]
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The README's table."""
    rows = ["| code | meaning |", "|---|---|"]
    rows += [f"| {code} | {meaning} |" for code, meaning, _ in TABLE]
    return "\n".join(rows) + "\n"
