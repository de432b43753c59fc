"""``encfile init``: the shortest path from nothing to a working setup in a project.

It finds the user's public key (or makes an identity in sops's default key file, so sops
reads it too), writes ``.encfile.yaml`` with one creation rule for the given file
patterns, and leaves git to :mod:`encfile.gitsetup`. It never overwrites a config.
"""

from __future__ import annotations

import os
import re

from .errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .keysources.identities import KeyRing

#: Files that `init` marks as secret when no pattern is given: `*.enc.*` and `*.enc`.
DEFAULT_REGEX = r"\.enc(\.[A-Za-z0-9]+)?$"


def regex_of(pattern: str) -> str:
    """A ``path_regex`` for a glob: ``*`` and ``?`` stay in one folder, ``**/`` spans any.

    A pattern without ``/`` matches the file name in any folder (as in .gitignore).
    """
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    head = "^" if "/" in pattern.strip("/") or pattern.startswith("/") else "(^|/)"
    return head + out.lstrip("/") + "$"


def attribute_patterns(patterns: Sequence[str]) -> list[str]:
    """The same globs as gitattributes patterns (which read `*`, `**/` and a leading `/`
    the way :func:`regex_of` does)."""
    return [p.lstrip("/") if "/" in p.strip("/") else p for p in patterns]


def rule_regex(patterns: Sequence[str]) -> str:
    if not patterns:
        return DEFAULT_REGEX
    parts = [regex_of(p) for p in patterns]
    return parts[0] if len(parts) == 1 else "|".join(f"({p})" for p in parts)


def config_text(regex: str, recipients: Sequence[str]) -> str:
    quoted = "'" + regex.replace("'", "''") + "'"
    return ("# Which files are secret and who can read them (encfile and sops both read this).\n"
            "# Add a teammate: append their age1... key to 'age', then run\n"
            "#   encfile updatekeys -y .\n"
            "creation_rules:\n"
            f"  - path_regex: {quoted}\n"
            f"    age: {','.join(recipients)}\n")


def find_public_key(keyring: KeyRing) -> tuple[str, str] | None:
    """The user's first identity as ``(public key, where it is)``, or None."""
    for item in keyring.describe():
        if item.get("public", "").startswith("age1"):
            return item["public"], item["source"]
    return None


def check_no_config(folder: str) -> None:
    path = os.path.join(folder, ".encfile.yaml")
    if os.path.exists(path):
        raise ConfigError(f"'{path}' already exists; encfile init does not overwrite it",
                          hints=["edit its creation_rules instead, or remove it first"])


def write_config(folder: str, regex: str, recipients: Sequence[str]) -> str:
    """Create ``FOLDER/.encfile.yaml``; refuse to overwrite one."""
    from . import config

    check_no_config(folder)
    path = os.path.join(folder, ".encfile.yaml")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as err:
        raise ConfigError(f"cannot create '{path}': {err.strerror or err}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(config_text(regex, recipients))
    for rule in config.load(path).rules:  # what init writes must read back as valid rules
        rule.check()
    return path
