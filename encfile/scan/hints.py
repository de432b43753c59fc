"""What to do about each finding: the encfile command that encrypts it, or, for a secret
that git history holds, that it must be rotated (rewriting history does not unpublish a
secret: clones, forks, caches and CI logs keep it)."""

from __future__ import annotations

import os
import re
import shlex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .finding import Finding

_CODEC_FORMATS = ("yaml", "json", "dotenv", "ini")
_KEY_FILES = ("pem-private-key", "private-key", "age-secret-key")
ROTATE = "rotate it (revoke it and issue a new one)"


def set_path(key: Sequence[str | int]) -> str:
    """A key path as ``encfile set`` takes it: ``["db"]["password"]``, ``["hosts"][0]``."""
    return "".join(f"[{part}]" if isinstance(part, int) else f'["{part}"]' for part in key)


def _format(path: str) -> str:
    from .. import formats

    return formats.detect(path)


def _escape(name: str) -> str:
    """``name`` as a regex that Python and Go's RE2 (sops) both read: only the
    metacharacters escaped (re.escape also escapes spaces, which RE2 refuses)."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", name)


def _key_regex(names: Sequence[str]) -> str:
    unique = sorted(set(names))
    body = _escape(unique[0]) if len(unique) == 1 else \
        "(" + "|".join(_escape(n) for n in unique) + ")"
    return f"^{body}$"


def _encrypt(finding: Finding, names: Sequence[str]) -> str:
    path = shlex.quote(finding.path)
    fmt = _format(finding.path)
    if finding.rule == "plaintext-by-rule":
        return f"encrypt it as its creation rule says: encfile -e -i {path}"
    if finding.rule == "sops-clear-value" and finding.key:
        return (f"delete the clear value (line {finding.line}), then set it encrypted: "
                f"encfile set --value-stdin {path} {shlex.quote(set_path(finding.key))} "
                "(the value as JSON on standard input)")
    if finding.rule == "sops-clear-value":
        return f"decrypt, fix and encrypt the file again: encfile edit {path}"
    if finding.encrypted_file and names:
        return (f"the file's rules leave it in clear: decrypt the file (encfile -d -i {path}) "
                f"and encrypt it again with rules that cover it (encfile -e -i "
                f"--encrypted-regex {shlex.quote(_key_regex(names))} {path}, with the keys "
                "it encrypted before)")
    if fmt in _CODEC_FORMATS and names:
        return (f"encrypt it: encfile -e -i --encrypted-regex {shlex.quote(_key_regex(names))} "
                f"{path} (or encfile -e -i {path} for every value)")
    if fmt in _CODEC_FORMATS:
        return f"encrypt the file: encfile -e -i {path}"
    if finding.rule in _KEY_FILES and _whole_file_key(finding.path):
        return f"encrypt the key file: encfile -e -i {path} (as a binary file)"
    return ("move it out of this file into an encrypted one (encfile edit secrets.enc.env) "
            "and pass it at run time: encfile exec-env secrets.enc.env 'COMMAND'")


def _whole_file_key(path: str) -> bool:
    name = os.path.basename(path).lower()
    return name.endswith((".pem", ".key", ".p8", ".ppk")) or name.startswith("id_") \
        or "." not in name or name.endswith("_key")


def assign(findings: Sequence[Finding], *, history: bool) -> None:
    """Set each finding's ``hint``."""
    names: dict[str, list[str]] = {}
    for f in findings:
        if f.key and isinstance(f.key[-1], str) and f.rule not in ("sops-clear-value",):
            names.setdefault(f.path, []).append(f.key[-1])
        elif f.key and len(f.key) >= 2 and isinstance(f.key[-2], str):
            names.setdefault(f.path, []).append(f.key[-2])  # a list's key
    for f in findings:
        if history and f.in_head is False:
            f.hint = (f"only in git history (first in commit {(f.commit or '')[:12]}): {ROTATE}; "
                      "rewriting history does not unpublish it")
            continue
        hint = _encrypt(f, names.get(f.path, []))
        if history and f.commit:
            hint += f"; it is committed (first in {f.commit[:12]}): {ROTATE} too"
        elif f.in_head:
            hint += f"; it is committed already: {ROTATE} too"
        f.hint = hint
