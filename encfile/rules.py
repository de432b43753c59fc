"""Which values and comments are encrypted: sops's six rules and ``mac_only_encrypted``.

At most one rule may be set. With none, encryption uses
``unencrypted_suffix: _unencrypted`` and writes it to the metadata; a file read
without any stored rule is treated the same way. A rule applies when *any*
component of the key path matches (so everything below ``x_unencrypted:`` stays
in clear, list items included). Comments go through the same test with the path
of their enclosing map or list. Regexes are matched unanchored, as Go's
``regexp.Match`` does.
"""

from __future__ import annotations

from .errors import EncfileError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"
RULE_NAMES = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex",
              "unencrypted_comment_regex", "encrypted_comment_regex")
_FIELDS = (*RULE_NAMES, "mac_only_encrypted")


class RuleError(EncfileError):
    """Two rules at once, or a regex that does not compile."""


class Rules:
    """The rules stored in one file's metadata; immutable, compared and hashed by value.

    A plain class rather than a dataclass (see "Start-up" in ARCHITECTURE.md).
    """

    unencrypted_suffix: str
    encrypted_suffix: str
    unencrypted_regex: str
    encrypted_regex: str
    unencrypted_comment_regex: str
    encrypted_comment_regex: str
    mac_only_encrypted: bool

    def __init__(self, unencrypted_suffix: str = "", encrypted_suffix: str = "",
                 unencrypted_regex: str = "", encrypted_regex: str = "",
                 unencrypted_comment_regex: str = "", encrypted_comment_regex: str = "",
                 mac_only_encrypted: bool = False) -> None:
        given = (unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex,
                 unencrypted_comment_regex, encrypted_comment_regex, mac_only_encrypted)
        for name, value in zip(_FIELDS, given, strict=True):
            object.__setattr__(self, name, value)
        active = [name for name in RULE_NAMES if getattr(self, name)]
        if len(active) > 1:
            raise RuleError(
                "cannot use more than one of " + ", ".join(RULE_NAMES) + " in the same file",
                hints=[f"these are set: {', '.join(active)}"],
            )
        for name in RULE_NAMES:
            if name.endswith("regex") and getattr(self, name):
                import re  # only for regex rules: re costs 3 ms of a start

                try:
                    re.compile(getattr(self, name))
                except re.error as err:
                    raise RuleError(f"invalid {name} {getattr(self, name)!r}: {err}") from err

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Rules are immutable: cannot assign to {name!r}")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rules):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(_FIELDS, self._values(), strict=True))
        return f"Rules({shown})"

    @property
    def any_rule(self) -> bool:
        """Is one of the six rules set?"""
        return any(getattr(self, name) for name in RULE_NAMES)

    @classmethod
    def default(cls) -> Rules:
        return cls(unencrypted_suffix=DEFAULT_UNENCRYPTED_SUFFIX)

    def with_default(self) -> Rules:
        """These rules, or the default suffix rule if none of the six is set."""
        if any(getattr(self, name) for name in RULE_NAMES):
            return self
        return Rules(unencrypted_suffix=DEFAULT_UNENCRYPTED_SUFFIX,
                     mac_only_encrypted=self.mac_only_encrypted)

    def as_dict(self) -> dict[str, object]:
        return {name: value for name, value in zip(_FIELDS, self._values(), strict=True) if value}

    # -- evaluation -------------------------------------------------------------------

    @property
    def path_test(self) -> tuple[bool, object] | None:
        """``(a match means encrypted, suffix or compiled regex)`` for the path rules."""
        return self._path_test

    @property
    def _path_test(self) -> tuple[bool, object] | None:
        """(match_means_encrypted, predicate) for the path rules, None otherwise (made
        once: the instance is immutable, so the result is kept in its __dict__)."""
        cached = self.__dict__.get("_path_test_value", False)
        if cached is not False:
            return cached  # type: ignore[no-any-return]
        test: tuple[bool, object] | None = None
        if self.unencrypted_suffix:
            test = (False, self.unencrypted_suffix)
        elif self.encrypted_suffix:
            test = (True, self.encrypted_suffix)
        elif self.unencrypted_regex or self.encrypted_regex:
            import re

            test = (False, re.compile(self.unencrypted_regex)) if self.unencrypted_regex \
                else (True, re.compile(self.encrypted_regex))
        self.__dict__["_path_test_value"] = test
        return test

    def component_matches(self, key: str) -> bool:
        """Does one key-path component match the active path rule?"""
        test = self._path_test
        if test is None:
            return False
        pred = test[1]
        if isinstance(pred, str):
            return key.endswith(pred)
        return pred.search(key) is not None  # type: ignore[attr-defined]

    @property
    def uses_comments(self) -> bool:
        return bool(self.unencrypted_comment_regex or self.encrypted_comment_regex)

    def encrypted(self, matched: bool, stack: Sequence[Sequence[str]] = (),
                  is_comment: bool = False) -> bool:
        """sops's shouldBeEncrypted: ``matched`` says if any path component matched."""
        test = self._path_test
        if test is not None:
            return matched if test[0] else not matched
        import re

        if self.unencrypted_comment_regex:
            rx = re.compile(self.unencrypted_comment_regex)
            return not any(rx.search(c) for level in stack for c in level)
        if self.encrypted_comment_regex:
            rx = re.compile(self.encrypted_comment_regex)
            last = len(stack) - 1
            for i, level in enumerate(stack):
                for j, c in enumerate(level):
                    # A matching comment does not encrypt itself, only what follows it.
                    if is_comment and i == last and j == len(level) - 1:
                        continue
                    if rx.search(c):
                        return True
            return False
        return True
