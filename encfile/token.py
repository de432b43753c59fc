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
from itertools import repeat

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


_CHUNK = 2048  # tokens opened together
# The last part of a token split at ',' and ':' (its type and the closing bracket).
_TYPE_ENDS = frozenset(f"{kind}]" for kind in TOKEN_TYPES)


def open_many(cipher: Cipher, texts: list[str],
              aads: list[bytes]) -> tuple[list[str], list[bytes]] | None:
    """:func:`open_quick` of every token at once: ``(types, plaintexts)``, or None unless
    every one is well formed and authenticates (the caller then goes one by one, to say
    which value is wrong and why).

    The tokens are split together, at every ',' and ':' (base64 has neither), and the
    parts are read nine at a time: part ``9*i + k`` is field ``k`` of token ``i``, each
    field name checked in its place, each base64 field decoded strictly. That reading
    is the tokens' own: each token starts with its prefix and ends with ']', and only
    the ninth part of a group (the type) may end with ']', so each token is a whole
    number of groups; as many groups as tokens, so one each. Then one comprehension per
    base64 field and one ``map`` over AES-GCM: no Python call per token. What is
    accepted is exactly what :func:`open_quick` accepts.
    """
    if not _STRICT_B64 or not texts:
        return None
    if len(texts) > _CHUNK:  # a chunk at a time: the parts of all tokens at once would
        types: list[str] = []  # double the file's size in memory
        plain: list[bytes] = []
        for at in range(0, len(texts), _CHUNK):
            done = open_many(cipher, texts[at:at + _CHUNK], aads[at:at + _CHUNK])
            if done is None:
                return None
            types += done[0]
            plain += done[1]
        return types, plain
    count = len(texts)
    if not (all(map(str.startswith, texts, repeat(PREFIX)))
            and all(map(str.endswith, texts, repeat("]")))):
        return None
    parts = ",".join(texts).replace(":", ",").split(",")
    # ENC[AES256_GCM , data , D , iv , I , tag , T , type , K]
    if (len(parts) != 9 * count
            or parts[0::9].count("ENC[AES256_GCM") != count or parts[1::9].count("data") != count
            or parts[3::9].count("iv") != count or parts[5::9].count("tag") != count
            or parts[7::9].count("type") != count or not _TYPE_ENDS.issuperset(parts[8::9])):
        return None
    a2b = binascii.a2b_base64
    try:
        ivs = [a2b(iv, strict_mode=True) for iv in parts[4::9]]  # type: ignore[call-arg, unused-ignore]
        tags = [a2b(tag, strict_mode=True) for tag in parts[6::9]]  # type: ignore[call-arg, unused-ignore]
        if set(map(len, ivs)) != {32} or set(map(len, tags)) != {16}:
            return None
        joined = [a2b(data, strict_mode=True) + tag  # type: ignore[call-arg, unused-ignore]
                  for data, tag in zip(parts[2::9], tags, strict=True)]
        plain = cipher.open_many(ivs, joined, aads)
    except (AuthenticationFailed, ValueError):  # binascii.Error, or not ASCII
        return None
    ends = parts[8::9]
    return ["str"] * count if ends.count("str]") == count else [k[:-1] for k in ends], plain


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


def seal_many(cipher: Cipher, plaintexts: list[bytes], aads: list[str],
              kinds: list[str]) -> list[str]:
    """:func:`seal` of each value, each under its own fresh IV: the same tokens, with
    the encryption in one ``map`` and each base64 field encoded for all values at once
    (one ``b2a_base64`` per value through ``map``, one join, one split)."""
    data, ivs, tags = cipher.seal_many(
        plaintexts, [aad.encode("utf-8", "surrogateescape") for aad in aads])
    b64 = binascii.b2a_base64  # each ends in a line break: the join splits at them

    def fields(raw: list[bytes]) -> list[str]:
        return b"".join(map(b64, raw)).decode("ascii").split("\n")[:-1]

    return [f"ENC[AES256_GCM,data:{d},iv:{i},tag:{t},type:{k}]"
            for d, i, t, k in zip(fields(data), fields(ivs), fields(tags), kinds, strict=True)]


def open_token(cipher: Cipher, token: Token, aad: str) -> bytes:
    """Authenticate and decrypt; raises :class:`AuthenticationFailed`."""
    return cipher.open(token.data, token.iv, token.tag, aad.encode("utf-8", "surrogateescape"))


__all__ = ["PREFIX", "AuthenticationFailed", "MalformedToken", "Token", "format_token",
           "looks_like_token", "open_many", "open_token", "parse", "seal", "seal_many"]
