"""The ``ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`` token: grammar and sealing.

A token is what replaces a value (or a comment's text) in an encrypted file.
``data`` is the ciphertext without the GCM tag (as long as the plaintext), ``iv``
the 32-byte IV, ``tag`` the 16-byte GCM tag, all standard base64 with padding.
``type`` says how sops parses the plaintext back (see ``values.py``), plus
``comment`` for comments. ``bytes`` is a legacy type sops 3.11 crashes on: it is
read, never written.

Parsing is stricter than sops's greedy regex: the whole string must be a token
and every field must be valid padded base64. Non-canonical base64 (ignored low
bits set in the last character) decodes to the same bytes, as in Go, and is
accepted: it is not tampering, since the bytes are what GCM authenticates.
"""

from __future__ import annotations

import binascii

from .crypto import AuthenticationFailed, Cipher

TOKEN_TYPES = frozenset({"str", "int", "float", "bool", "time", "comment", "bytes"})
PREFIX = "ENC[AES256_GCM,"
# str.translate deletes every base64 character: what is left of a field must be its padding
_B64_ALPHABET = dict.fromkeys(map(ord, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789+/"))


def _fields(text: str) -> tuple[str, str, str, str] | None:
    """``(data, iv, tag, type)`` of ``ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]``, with
    each base64 field of the alphabet followed by at most two '=' (iv and tag not empty)
    and the type lowercase letters; else None. (With str methods: ``re`` costs 3 ms of
    every start.)"""
    if not text.startswith(PREFIX) or not text.endswith("]"):
        return None
    parts = text[15:-1].split(",")
    if len(parts) != 4:
        return None
    data, iv, tag, kind = parts
    if not (data.startswith("data:") and iv.startswith("iv:") and tag.startswith("tag:")
            and kind.startswith("type:")):
        return None
    data, iv, tag, kind = data[5:], iv[3:], tag[4:], kind[5:]
    if not iv or not tag or not kind or not (kind.isascii() and kind.isalpha()
                                              and kind.islower()):
        return None
    for field in (data, iv, tag):
        rest = field.translate(_B64_ALPHABET)
        if rest and (len(rest) > 2 or rest.strip("=") or not field.endswith(rest)):
            return None
    return data, iv, tag, kind


class MalformedToken(ValueError):
    """The string looks like (or should be) a token but is not a valid one."""


class Token(tuple[bytes, bytes, bytes, str]):
    """``(data, iv, tag, type)``; a tuple like a NamedTuple, without importing ``typing``."""

    __slots__ = ()

    def __new__(cls, data: bytes, iv: bytes, tag: bytes, type: str) -> Token:
        return super().__new__(cls, (data, iv, tag, type))

    @property
    def data(self) -> bytes:
        return self[0]

    @property
    def iv(self) -> bytes:
        return self[1]

    @property
    def tag(self) -> bytes:
        return self[2]

    @property
    def type(self) -> str:
        return self[3]


def looks_like_token(text: str) -> bool:
    return text.startswith("ENC[")


def _b64(field: str) -> bytes:
    """Strict padded standard base64 (:func:`_fields` has checked the alphabet and '=')."""
    if len(field) % 4 or field.endswith("==="):
        raise MalformedToken("invalid base64")
    return binascii.a2b_base64(field)


def parse(text: str) -> Token:
    """Parse a token string; raise :class:`MalformedToken` if it is not one."""
    found = _fields(text)
    if found is None:
        raise MalformedToken("not an ENC[AES256_GCM,...] value")
    data, iv, tag, kind = found
    if kind not in TOKEN_TYPES:
        raise MalformedToken(f"unknown type {kind!r}")
    return Token(_b64(data), _b64(iv), _b64(tag), kind)


def _strict_b64() -> bool:
    try:
        binascii.a2b_base64("", strict_mode=True)  # type: ignore[call-arg, unused-ignore]
    except TypeError:  # Python 3.10
        return False
    return True


_STRICT_B64 = _strict_b64()


def open_quick(cipher: Cipher, text: str, aad: bytes) -> tuple[str, bytes] | None:
    """``(type, plaintext)`` for a well-formed token that authenticates, else None.

    The hot path of decryption (a large file opens one token per value): the fields by
    one split, the base64 checked by binascii's strict mode where Python has it (3.11).
    On None the caller repeats the work with :func:`parse` and :func:`open_token` to say
    what is wrong.
    """
    if _STRICT_B64:
        if not text.startswith(PREFIX) or text[-1] != "]":
            return None
        parts = text[15:-1].split(",")
        if len(parts) != 4:
            return None
        data, iv, tag, kind = parts
        if (data[:5] != "data:" or iv[:3] != "iv:" or tag[:4] != "tag:"
                or kind[:5] != "type:" or kind[5:] not in TOKEN_TYPES):
            return None
        a2b = binascii.a2b_base64
        try:
            raw_iv = a2b(iv[3:], strict_mode=True)  # type: ignore[call-arg, unused-ignore]
            raw_tag = a2b(tag[4:], strict_mode=True)  # type: ignore[call-arg, unused-ignore]
            if len(raw_iv) != 32 or len(raw_tag) != 16:
                return None
            joined = a2b(data[5:], strict_mode=True) + raw_tag  # type: ignore[call-arg, unused-ignore]
            return kind[5:], cipher.open_joined(raw_iv, joined, aad)
        except (AuthenticationFailed, ValueError):  # binascii.Error, or not ASCII
            return None
    found = _fields(text)
    if found is None:
        return None
    data, iv, tag, kind = found
    if len(data) % 4 or len(iv) != 44 or len(tag) != 24 or kind not in TOKEN_TYPES:
        return None
    a2b = binascii.a2b_base64
    try:
        return kind, cipher.open_joined(a2b(iv), a2b(data) + a2b(tag), aad)
    except (AuthenticationFailed, binascii.Error):
        return None


def format_token(data: bytes, iv: bytes, tag: bytes, kind: str) -> str:
    b64 = binascii.b2a_base64
    return (
        f"ENC[AES256_GCM,data:{b64(data, newline=False).decode()},"
        f"iv:{b64(iv, newline=False).decode()},tag:{b64(tag, newline=False).decode()},"
        f"type:{kind}]"
    )


def seal(cipher: Cipher, plaintext: bytes, aad: str, kind: str) -> str:
    """Encrypt ``plaintext`` under a fresh IV and return the token string."""
    data, iv, tag = cipher.seal(plaintext, aad.encode("utf-8", "surrogateescape"))
    return format_token(data, iv, tag, kind)


def open_token(cipher: Cipher, token: Token, aad: str) -> bytes:
    """Authenticate and decrypt; raises :class:`AuthenticationFailed`."""
    return cipher.open(token.data, token.iv, token.tag, aad.encode("utf-8", "surrogateescape"))


__all__ = ["PREFIX", "AuthenticationFailed", "MalformedToken", "Token", "format_token",
           "looks_like_token", "open_token", "parse", "seal"]
