"""The baseline: findings accepted as known, in a file that holds no secret.

Each entry keeps where a finding was (rule, path, line, commit), how it is shown (at
most four characters and the length) and a fingerprint: scrypt of the value (a whole
file's finding: its path) with the baseline's random salt. scrypt is slow on purpose,
so that the file does not let anyone test guesses of short passwords quickly; the salt
keeps fingerprints from being compared across repositories. A finding is accepted when
its fingerprint is in the file, wherever it has moved since.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets

from ..errors import InputError, OutputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from .finding import Finding

DEFAULT_NAME = ".encfile-scan-baseline.json"
VERSION = 1
# scrypt's cost: some 30 ms and 4 MiB per fingerprint
_N, _R, _P = 2 ** 12, 8, 1


class Baseline:
    def __init__(self, path: str, salt: bytes, entries: list[dict[str, Any]]) -> None:
        self.path = path
        self.salt = salt
        self.entries = entries
        self._known = {e["fingerprint"] for e in entries if isinstance(e.get("fingerprint"), str)}
        self._cache: dict[tuple[str, str], str] = {}

    @classmethod
    def new(cls, path: str) -> Baseline:
        return cls(path, secrets.token_bytes(16), [])

    @classmethod
    def load(cls, path: str) -> Baseline:
        """Read a baseline; InputError naming the file if it is not one."""
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            raise InputError(f"no such baseline file: '{path}'") from None
        except (OSError, ValueError) as err:
            raise InputError(f"cannot read the baseline '{path}': {err}") from None
        try:
            if data.get("version") != VERSION:
                raise ValueError(f"version {data.get('version')!r}")
            salt = bytes.fromhex(data["salt"])
            entries = list(data["findings"])
            if not all(isinstance(e, dict) for e in entries):
                raise ValueError("findings must be objects")
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise InputError(f"'{path}' is not an encfile scan baseline ({err})") from None
        return cls(path, salt, entries)

    def fingerprint(self, finding: Finding) -> str:
        kind, what = finding.identity()
        if (kind, what) not in self._cache:
            digest = hashlib.scrypt(f"{kind}\0{what}".encode("utf-8", "surrogateescape"),
                                    salt=self.salt, n=_N, r=_R, p=_P, dklen=16)
            self._cache[(kind, what)] = digest.hex()
        return self._cache[(kind, what)]

    def accepts(self, finding: Finding) -> bool:
        return bool(self._known) and self.fingerprint(finding) in self._known

    def add(self, findings: Sequence[Finding]) -> int:
        """Record the findings not in the file yet; how many were added."""
        added = 0
        for finding in findings:
            mark = self.fingerprint(finding)
            if mark in self._known:
                continue
            self._known.add(mark)
            self.entries.append({"fingerprint": mark, "rule": finding.rule,
                                 "path": finding.path, "line": finding.line,
                                 "shown": finding.shown, "commit": finding.commit})
            added += 1
        return added

    def save(self) -> None:
        from ..fsutil import atomic_write

        data = {"version": VERSION, "tool": "encfile scan",
                "about": "findings accepted as known: fingerprints (scrypt with this salt), "
                         "never the values",
                "salt": self.salt.hex(),
                "findings": sorted(self.entries, key=lambda e: (str(e.get("path")),
                                                                int(e.get("line") or 0)))}
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        try:
            atomic_write(self.path, text.encode("utf-8"))
        except OSError as err:
            raise OutputError(f"cannot write the baseline '{self.path}': {err.strerror}") \
                from None


def default_path(root: str) -> str:
    return os.path.join(root, DEFAULT_NAME)
