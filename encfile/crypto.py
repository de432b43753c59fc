"""AES-256-GCM exactly as sops uses it; the only importer of ``cryptography.hazmat``.

Nonce decisions, in one place:

* Every value gets a fresh random **32-byte** IV. sops uses 32 bytes (GCM then
  derives the counter block through GHASH); readers accept any length, but a
  compatible writer must keep 32. With 96 random bits per IV the collision bound
  would already be comfortable; 256 random bits make it moot.
* No caller ever passes an IV or a data key in. Quiet diffs (an unchanged value
  keeps its ciphertext) come from reusing the *whole old token*, never from
  choosing an IV (see ``document.py``).
* IVs come from ``os.urandom`` in batches: one system call per 256 values, not
  one per value. Tests may replace the private ``_random`` seam.
"""

from __future__ import annotations

import os
from operator import itemgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

try:
    # The Rust binding itself: the public ``ciphers.aead`` module is this very class, but
    # its package imports typing, enum and every cipher mode (10 ms of a 30 ms start-up).
    # tests/test_token_crypto.py checks the two stay the same object.
    from cryptography.hazmat.bindings._rust import openssl as _openssl

    AESGCM = _openssl.aead.AESGCM
except (ImportError, AttributeError):  # pragma: no cover - older or repackaged cryptography
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DATA_KEY_SIZE = 32
IV_SIZE = 32
TAG_SIZE = 16
_CIPHERTEXT = itemgetter(slice(None, -TAG_SIZE))  # GCM's output: ciphertext, then the tag
_TAG = itemgetter(slice(-TAG_SIZE, None))
_IV_BATCH = 256

# The private randomness seam: tests swap it for a deterministic source.
_random: Callable[[int], bytes] = os.urandom


class AuthenticationFailed(Exception):
    """A ciphertext, its IV, tag or AAD was altered, or the key is wrong."""


def new_data_key() -> bytes:
    """Return a fresh random 32-byte data key."""
    return _random(DATA_KEY_SIZE)


class Cipher:
    """AES-256-GCM bound to one data key, with sops's data/tag split."""

    __slots__ = ("_aead", "_pool", "_pos")

    def __init__(self, key: bytes) -> None:
        if len(key) != DATA_KEY_SIZE:
            # sops would silently fall back to AES-128/192 for a short key;
            # a key of the wrong size can only come from a damaged file.
            raise AuthenticationFailed(f"data key has {len(key)} bytes, expected {DATA_KEY_SIZE}")
        self._aead = AESGCM(key)
        self._pool = b""
        self._pos = 0

    def _next_iv(self) -> bytes:
        if self._pos >= len(self._pool):
            self._pool = _random(IV_SIZE * _IV_BATCH)
            self._pos = 0
        iv = self._pool[self._pos : self._pos + IV_SIZE]
        self._pos += IV_SIZE
        return iv

    def _next_ivs(self, count: int) -> list[bytes]:
        """``count`` fresh IVs: the rest of the pool, then one draw for what is missing
        (at least a batch)."""
        need = count * IV_SIZE
        if len(self._pool) - self._pos < need:
            missing = count - (len(self._pool) - self._pos) // IV_SIZE
            self._pool = self._pool[self._pos:] + _random(IV_SIZE * max(missing, _IV_BATCH))
            self._pos = 0
        pool, pos = self._pool, self._pos
        self._pos = pos + need
        return [pool[at:at + IV_SIZE] for at in range(pos, pos + need, IV_SIZE)]

    def seal_many(self, plaintexts: list[bytes],
                  aads: list[bytes]) -> tuple[list[bytes], list[bytes], list[bytes]]:
        """:meth:`seal` of each pair, each under its own fresh IV, in one ``map`` (no
        Python call per value); return the lists ``(data, ivs, tags)``."""
        ivs = self._next_ivs(len(plaintexts))
        sealed = list(map(self._aead.encrypt, ivs, plaintexts, aads))
        return list(map(_CIPHERTEXT, sealed)), ivs, list(map(_TAG, sealed))

    def seal(self, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes, bytes]:
        """Encrypt under a fresh IV; return ``(data, iv, tag)``."""
        iv = self._next_iv()
        out = self._aead.encrypt(iv, plaintext, aad)
        return out[:-TAG_SIZE], iv, out[-TAG_SIZE:]

    def open_joined(self, iv: bytes, data_and_tag: bytes, aad: bytes) -> bytes:
        """:meth:`open` for a 32-byte IV and the ciphertext with its tag appended."""
        try:
            return self._aead.decrypt(iv, data_and_tag, aad)
        except Exception as err:
            if _is_invalid_tag(err):
                raise AuthenticationFailed("authentication failed") from err
            raise

    def open_many(self, ivs: list[bytes], data_and_tags: list[bytes],
                  aads: list[bytes]) -> list[bytes]:
        """:meth:`open_joined` of each triple, in one ``map`` (no Python call per value);
        raise :class:`AuthenticationFailed` if any fails."""
        try:
            return list(map(self._aead.decrypt, ivs, data_and_tags, aads))
        except Exception as err:
            if _is_invalid_tag(err):
                raise AuthenticationFailed("authentication failed") from err
            raise

    def open(self, data: bytes, iv: bytes, tag: bytes, aad: bytes) -> bytes:
        """Decrypt and authenticate; raise :class:`AuthenticationFailed` on any mismatch."""
        if len(tag) != TAG_SIZE or not 8 <= len(iv) <= 128:
            # cryptography refuses IVs outside 8..128 bytes; sops never writes them.
            raise AuthenticationFailed("bad iv or tag length")
        try:
            return self._aead.decrypt(iv, data + tag, aad)
        except Exception as err:
            if _is_invalid_tag(err):
                raise AuthenticationFailed("authentication failed") from err
            raise


def _is_invalid_tag(err: Exception) -> bool:
    from cryptography.exceptions import InvalidTag  # only on failure: it imports typing

    return isinstance(err, InvalidTag)
