"""Shamir secret sharing over GF(2^8), as sops (after HashiCorp Vault) does it.

Used when a file has two or more key groups: the data key is split into one
share per group and each group's recipients receive only that group's share.
A share is the 32 evaluated bytes followed by one x-coordinate byte; sops uses
x = 1, 2, 3, ... for groups 1, 2, 3, ... The field is GF(2^8) with the AES
polynomial x^8 + x^4 + x^3 + x + 1; addition is XOR.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_POLY = 0x11B


def _mul(a: int, b: int) -> int:
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        if a & 0x100:
            a ^= _POLY
        b >>= 1
    return out


def _inv(a: int) -> int:
    # a^254 = a^-1 in GF(2^8); 0 has no inverse (never a valid x-coordinate).
    out, base, exp = 1, a, 254
    while exp:
        if exp & 1:
            out = _mul(out, base)
        base = _mul(base, base)
        exp >>= 1
    return out


def split(secret: bytes, parts: int, threshold: int, random: Callable[[int], bytes]) -> list[bytes]:
    """Split ``secret`` into ``parts`` shares, any ``threshold`` of which recover it."""
    if not 2 <= threshold <= parts <= 255:
        raise ValueError("need 2 <= threshold <= parts <= 255")
    coefficients = [random(threshold - 1) for _ in secret]
    shares = []
    for x in range(1, parts + 1):
        out = bytearray()
        for byte, coeffs in zip(secret, coefficients, strict=True):
            y = 0
            for c in reversed(coeffs):  # Horner: ((c_k x + ...) x + c_1) x + secret
                y = _mul(y ^ c, x)
            out.append(y ^ byte)
        out.append(x)
        shares.append(bytes(out))
    return shares


def combine(shares: Sequence[bytes]) -> bytes:
    """Recover the secret from shares (Lagrange interpolation at x = 0)."""
    if len(shares) < 2 or len({len(s) for s in shares}) != 1 or len(shares[0]) < 2:
        raise ValueError("need at least two shares of equal length")
    xs = [s[-1] for s in shares]
    if len(set(xs)) != len(xs) or 0 in xs:
        raise ValueError("duplicate or zero x-coordinate")
    weights = []
    for j, xj in enumerate(xs):
        w = 1
        for m, xm in enumerate(xs):
            if m != j:
                w = _mul(w, _mul(xm, _inv(xj ^ xm)))
        weights.append(w)
    out = bytearray()
    for i in range(len(shares[0]) - 1):
        acc = 0
        for share, w in zip(shares, weights, strict=True):
            acc ^= _mul(share[i], w)
        out.append(acc)
    return bytes(out)
