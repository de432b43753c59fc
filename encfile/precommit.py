"""The pre-commit guard: staged files that must be encrypted, are, and are intact.

A staged file must be encrypted when a creation rule with a ``path_regex`` matches it,
or when ``.gitattributes`` gives it ``diff=encfile``. (A rule without ``path_regex``
says who may read new files, not which files are secret, so it makes no demand.)
The guard reads what is staged, not the working tree, and refuses a file that

* has no sops metadata (plaintext about to be committed),
* has broken metadata or a token that is not well formed, or
* when the committer holds an identity for it, does not decrypt and verify.
"""

from __future__ import annotations

import os
import re

from .errors import EncfileError, NoIdentityError
from .gitsetup import git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .keysources.identities import KeyRing

_TOKEN = re.compile(r"ENC\[[^\]\s]*\]?")
_NEVER = (".sops.yaml", ".encfile.yaml", ".gitattributes", ".pre-commit-hooks.yaml")


class Problem:
    def __init__(self, path: str, problem: str, fix: str) -> None:
        self.path = path
        self.problem = problem
        self.fix = fix


def staged_paths(root: str) -> list[str]:
    out = git(["diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR"], root).stdout
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def _attribute_paths(root: str, paths: list[str]) -> set[str]:
    if not paths:
        return set()
    data = git(["check-attr", "-z", "--stdin", "diff"], root,
               input_bytes="\0".join(paths).encode("utf-8", "surrogateescape")).stdout
    fields = data.decode("utf-8", "surrogateescape").split("\0")
    return {fields[i] for i in range(0, len(fields) - 2, 3) if fields[i + 2] == "encfile"}


def _rule_demands(root: str, path: str) -> bool:
    from . import config

    found = config.find(os.path.join(root, path))
    if found is None:
        return False
    rule = found.rule_for(os.path.join(root, path))
    return rule is not None and bool(rule.path_regex)


def must_be_encrypted(root: str, paths: list[str]) -> list[str]:
    by_attribute = _attribute_paths(root, paths)
    return [p for p in paths if os.path.basename(p) not in _NEVER
            and (p in by_attribute or _rule_demands(root, p))]


def check_text(text: str, path: str, keyring: KeyRing | None) -> Problem | None:
    """What is wrong with one staged encrypted file, or None."""
    from . import formats
    from . import token as _token
    from .metadata import Metadata
    from .opening import open_text

    fmt = formats.detect(path)
    encrypt_fix = f"encrypt it: encfile -e -i '{path}' && git add '{path}'"
    try:
        parsed = formats.get(fmt).parse(text)
    except EncfileError as err:
        return Problem(path, f"cannot be read as {fmt} ({err})", encrypt_fix)
    if parsed.metadata is None:
        return Problem(path, "is not encrypted (no sops metadata)", encrypt_fix)
    restore = f"restore a good version: git checkout HEAD -- '{path}', or re-encrypt it"
    try:
        metadata = Metadata.from_dict(parsed.metadata)
        _token.parse(metadata.mac)
        for found in _TOKEN.findall(text):
            _token.parse(found)
    except (EncfileError, ValueError) as err:
        return Problem(path, f"has broken metadata or tokens ({err})", restore)
    clear = _clear_values(parsed, metadata)
    if clear:
        more = f" (and {len(clear) - 1} more)" if len(clear) > 1 else ""
        return Problem(path, f"has a value in clear that its rules say must be encrypted: "
                       f"{clear[0]}{more}",
                       f"encrypt it again: encfile edit '{path}' (or decrypt, fix and "
                       "encrypt), then git add it")
    if keyring is None:
        return None
    try:
        open_text(text, fmt=fmt, keyring=keyring, label=f"'{path}'")
    except NoIdentityError:
        return None  # not ours to read: the structure checks above are all we can do
    except EncfileError as err:
        return Problem(path, f"does not verify ({err.message})", restore)
    return None


def _clear_values(parsed: Any, metadata: Any) -> list[str]:
    """Key paths of values that the file's rules encrypt but that are not tokens (a value
    added in clear by someone without the key)."""
    from . import token as _token
    from .tree import Hidden, walk

    rules = metadata.rules.with_default()
    found: list[str] = []

    def on_value(node: Any, aad: str, encrypted: bool) -> None:
        if encrypted and node.text and type(node) is not Hidden \
                and not _token.looks_like_token(node.text):
            found.append(aad.rstrip(":").replace(":", ".") or "(the document)")

    def on_comment(node: Any, aad: str, encrypted: bool) -> None:
        return None

    for root in parsed.roots:
        walk(root, rules, on_value, on_comment)
    return found


def problems(root: str, keyring: KeyRing | None, paths: list[str] | None = None) -> list[Problem]:
    """Problems of the staged files (or of ``paths``, as staged)."""
    staged = staged_paths(root) if paths is None else paths
    out = []
    for path in must_be_encrypted(root, staged):
        blob = git(["show", f":{path}"], root, check=False)
        if blob.returncode != 0:
            continue  # not staged (deleted, or a path outside the index)
        text = blob.stdout.decode("utf-8", "surrogateescape")
        found = check_text(text, path, keyring)
        if found is not None:
            out.append(found)
    return out
