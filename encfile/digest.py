"""SHA-256, SHA-512 and constant-time comparison, from CPython's own C modules.

``hashlib`` and ``hmac`` load the system OpenSSL (about 4 ms of every start); the
built-in ``_sha2`` (``_sha256``/``_sha512`` before Python 3.12) computes the same
digests, and ``hmac.compare_digest`` is ``_operator._compare_digest``. ``hashlib`` is
the fallback where a build lacks them. tests/test_token_crypto.py checks the digests
and the comparison against hashlib and hmac.
"""

from __future__ import annotations

from _operator import _compare_digest as compare_digest

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same interface
    from hashlib import sha256, sha512
else:
    try:
        from _sha2 import sha256, sha512  # Python 3.12 and later
    except ImportError:  # pragma: no cover - depends on the Python version
        try:
            from _sha256 import sha256
            from _sha512 import sha512
        except ImportError:
            from hashlib import sha256, sha512


__all__ = ["compare_digest", "sha256", "sha512"]
