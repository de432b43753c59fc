"""A file as a bucket object (S3, GCS): the bytes uploaded, and the change against the
object there.

Without a recreation rule the object is the encrypted file, byte for byte (as sops
uploads it), and an object with the same bytes is up to date. With one, the object is
the file encrypted anew for the rule's keys; since every encryption makes new
ciphertext, the object carries a stamp in its metadata (``encfile-source``: a SHA-256
of the encrypted file and of the rule's keys and settings, nothing secret), and an
object with the same stamp is up to date.
"""

from __future__ import annotations

import hashlib

from ..errors import EncfileError
from .diff import Change, compare
from .source import top_level

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import CreationRule
    from ..keysources.identities import KeyRing
    from .source import Source

STAMP = "encfile-source"  # the object's metadata key


class Bucket:
    """A bucket destination (S3, GCS): objects at ``prefix`` + the file's name, copies
    re-encrypted under ``recreation`` when it names keys."""

    SCHEME = ""  # s3, gs: how a location is shown

    def __init__(self, bucket: str, prefix: str = "",
                 recreation: CreationRule | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.recreation = recreation

    def locate(self, name: str) -> tuple[str, str, CreationRule | None]:
        """(object key, the location as shown, the recreation rule in force) of a file."""
        key = self.prefix + name
        return key, f"{self.SCHEME}://{self.bucket}/{key}", active(self.recreation)


def active(rule: CreationRule | None) -> CreationRule | None:
    """The recreation rule, checked, if it names keys (sops ignores one without keys)."""
    if rule is None:
        return None
    rule.check()
    return rule if rule.key_groups else None


def stamp(source: Source, rule: CreationRule | None) -> str:
    """What the object's copy was made from: the encrypted file and the rule."""
    digest = hashlib.sha256(source.raw)
    if rule is not None:
        from .diff import canonical

        digest.update(b"\0" + canonical({
            "groups": [[f"{k.kind}:{k.id}" for k in group] for group in rule.key_groups],
            "threshold": rule.shamir_threshold, "options": rule.options}).encode())
    return digest.hexdigest()


def body(source: Source, rule: CreationRule | None) -> bytes:
    return source.raw if rule is None else source.recreated(rule)


def change(source: Source, rule: CreationRule | None, existing: bytes | None,
           existing_stamp: str | None, ctx: KeyRing) -> Change:
    """The change from the object there (None: no object) to this file's copy."""
    wanted = source.encrypted_top()
    if existing is None:
        return Change(added=list(wanted), new=True)
    if rule is None and existing == source.raw:
        return Change()
    if rule is not None and existing_stamp == stamp(source, rule):
        return Change()
    from .. import formats

    text = existing.decode("utf-8", "surrogateescape")
    try:
        parsed = formats.get(source.fmt).parse(text)
    except EncfileError:
        parsed = None
    if parsed is None or parsed.metadata is None:
        return Change(other="the whole object", note=f"the object there is not a sops "
                      f"{source.fmt} file")
    there = top_level(parsed.to_python())
    if rule is None:
        found = compare(there, wanted)
    else:  # new ciphertext every time: only the plaintext tells what changed
        from ..opening import open_text

        try:
            old = top_level(open_text(text, fmt=source.fmt, keyring=ctx,
                                      label="the object").data())
        except EncfileError:
            found = compare(there, wanted, equal=lambda a, b: False)
            found.note = "the copy there cannot be decrypted here: every value is written again"
            return found
        found = compare(old, top_level(source.opened().data()))
    if found.unchanged:
        found.other = "the sops metadata"  # keys, MAC or dates: the values are the same
    return found
