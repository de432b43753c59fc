"""Post-quantum age keys: hybrid ML-KEM-768 + X25519 (``age1pq1…``, ``AGE-SECRET-KEY-PQ-1…``).

The ``mlkem768x25519`` recipient stanza of the age spec (C2SP age, "The
mlkem768x25519 recipient type") is HPKE SealBase with KEM MLKEM768-X25519
(draft-ietf-hpke-pq), KDF HKDF-SHA256 and AEAD ChaCha20Poly1305, ``info`` =
``age-encryption.org/mlkem768x25519``, empty AAD. Every primitive here is
pyca/cryptography's (``hazmat.primitives.hpke``, ML-KEM, X25519, SHAKE256); this
module only encodes keys and checks stanzas. It is the only importer of those
parts of cryptography, and it is imported only by ``encfile keygen --pq`` and by
the ``age-plugin-pq`` process (``age_pq_plugin.py``), never on the path of a
file without post-quantum recipients.

Keys, as age 1.3 writes them:

* the identity is a 32-byte seed, Bech32 with HRP ``AGE-SECRET-KEY-PQ-``; the
  same seed with HRP ``AGE-PLUGIN-PQ-`` is its plugin-protocol form (what
  ``age-plugin-pq -identity`` prints);
* the seed expands, as the KEM specifies, through SHAKE256 into 64 bytes of
  ML-KEM-768 seed (d || z) and 32 bytes of X25519 private key;
* the recipient is the ML-KEM-768 encapsulation key (1,184 bytes) followed by the
  X25519 public key (32 bytes), Bech32 with HRP ``age1pq``.
"""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from . import bech32

RECIPIENT_HRP = "age1pq"
SECRET_HRP = "AGE-SECRET-KEY-PQ-"
PLUGIN_HRP = "AGE-PLUGIN-PQ-"
STANZA_TYPE = "mlkem768x25519"
LABEL = "postquantum"  # the recipient-stanza label that keeps PQ and classical apart
_INFO = b"age-encryption.org/mlkem768x25519"
SEED_SIZE = 32
MLKEM_PUBLIC_SIZE = 1184
PUBLIC_SIZE = MLKEM_PUBLIC_SIZE + 32
ENC_SIZE = 1088 + 32  # ML-KEM-768 ciphertext, then the X25519 ephemeral share
FILE_KEY_SIZE = 16
BODY_SIZE = FILE_KEY_SIZE + 16  # the file key and the ChaCha20Poly1305 tag
_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


class InvalidStanza(ValueError):
    """An ``mlkem768x25519`` stanza that is not well formed (a header failure, as age
    reports it): it must not be tried with other identities either."""


class Unsupported(RuntimeError):
    """This build of cryptography has no ML-KEM (its OpenSSL is older than 3.5)."""

    def __init__(self) -> None:
        super().__init__("this build of the cryptography package has no ML-KEM-768 (it needs "
                         "cryptography 47 or later, built with OpenSSL 3.5 or later, AWS-LC "
                         "or BoringSSL, as its wheels are)")


def _parts(seed: bytes) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
    if len(seed) != SEED_SIZE:
        raise ValueError("a post-quantum identity is 32 bytes")
    shake = hashes.Hash(hashes.SHAKE256(digest_size=64 + 32))
    shake.update(seed)
    expanded = shake.finalize()
    try:
        pq = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    except UnsupportedAlgorithm:
        raise Unsupported from None
    return pq, x25519.X25519PrivateKey.from_private_bytes(expanded[64:])


def public_bytes(seed: bytes) -> bytes:
    """The recipient's 1,216 bytes for an identity's seed."""
    pq, classic = _parts(seed)
    return pq.public_key().public_bytes_raw() + classic.public_key().public_bytes_raw()


def _public_key(data: bytes) -> hpke.MLKEM768X25519PublicKey:
    if len(data) != PUBLIC_SIZE:
        raise ValueError("a post-quantum recipient is 1216 bytes")
    try:
        pq = mlkem.MLKEM768PublicKey.from_public_bytes(data[:MLKEM_PUBLIC_SIZE])
    except UnsupportedAlgorithm:
        raise Unsupported from None
    return hpke.MLKEM768X25519PublicKey(
        pq, x25519.X25519PublicKey.from_public_bytes(data[MLKEM_PUBLIC_SIZE:]))


def parse_recipient(text: str) -> bytes:
    """The key bytes of an ``age1pq1…`` recipient; ValueError if it is not one."""
    hrp, data = bech32.decode(text)
    if hrp != RECIPIENT_HRP:
        raise ValueError("not an age1pq1 recipient")
    _public_key(data)  # checks the ML-KEM encapsulation key
    return data


def parse_identity(text: str) -> bytes:
    """The seed of ``AGE-SECRET-KEY-PQ-1…`` or ``AGE-PLUGIN-PQ-1…``; ValueError if it is
    neither (the message never quotes it)."""
    hrp, data = bech32.decode(text)
    if hrp.upper() not in (SECRET_HRP, PLUGIN_HRP) or len(data) != SEED_SIZE:
        raise ValueError("not a post-quantum age identity")
    return data


def recipient_of(seed: bytes) -> str:
    return bech32.encode(RECIPIENT_HRP, public_bytes(seed))


def generate() -> tuple[str, str]:
    """A new identity and its recipient: ``(AGE-SECRET-KEY-PQ-1…, age1pq1…)``."""
    import os

    seed = os.urandom(SEED_SIZE)
    return bech32.encode(SECRET_HRP, seed), recipient_of(seed)


def b64encode(data: bytes) -> str:
    """age's base64: standard alphabet, no padding."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def b64decode(text: str) -> bytes:
    """age's base64, canonical only (no padding, no stray low bits); ValueError otherwise."""
    if "=" in text or not text.isascii():
        raise ValueError("not canonical base64")
    data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    if b64encode(data) != text:
        raise ValueError("not canonical base64")
    return data


def wrap(recipient: bytes, file_key: bytes) -> tuple[list[str], bytes]:
    """The ``mlkem768x25519`` stanza for ``file_key``: ``(arguments, body)``."""
    sealed = _SUITE.encrypt(file_key, _public_key(recipient), info=_INFO)
    return [STANZA_TYPE, b64encode(sealed[:ENC_SIZE])], sealed[ENC_SIZE:]


def check_stanza(args: list[str], body: bytes) -> bytes | None:
    """The encapsulated key of an ``mlkem768x25519`` stanza, None for a stanza of another
    type; InvalidStanza if it is malformed (the spec's checks, before any decryption)."""
    if not args or args[0] != STANZA_TYPE:
        return None
    if len(args) != 2:
        raise InvalidStanza("mlkem768x25519 stanza must have exactly one argument")
    try:
        enc = b64decode(args[1])
    except ValueError:
        raise InvalidStanza("mlkem768x25519 stanza argument is not canonical base64") from None
    if len(enc) != ENC_SIZE:
        raise InvalidStanza("mlkem768x25519 stanza argument is not 1120 bytes")
    if len(body) != BODY_SIZE:  # before decrypting: no partitioning oracle
        raise InvalidStanza("mlkem768x25519 stanza body is not 32 bytes")
    return enc


def unwrap(seed: bytes, enc: bytes, body: bytes) -> bytes | None:
    """The file key, or None when this identity does not open the stanza; InvalidStanza
    when the X25519 share is a low-order point (an all-zero shared secret)."""
    pq, classic = _parts(seed)
    try:
        classic.exchange(x25519.X25519PublicKey.from_public_bytes(enc[-32:]))
    except ValueError:
        raise InvalidStanza("mlkem768x25519 stanza has a low-order X25519 share") from None
    try:
        file_key = _SUITE.decrypt(enc + body, hpke.MLKEM768X25519PrivateKey(pq, classic),
                                  info=_INFO)
    except (InvalidTag, ValueError):
        return None  # ML-KEM rejects implicitly: a wrong key shows only here
    return file_key if len(file_key) == FILE_KEY_SIZE else None
