"""Bech32 (BIP 173) as age uses it: no length limit, and one case for the whole string.

age encodes every key as Bech32: recipients with a lower-case HRP (``age1pq1…``),
identities with an upper-case one (``AGE-SECRET-KEY-PQ-1…``). Its variant drops
BIP 173's 90-character limit (an ``age1pq1`` recipient is about 1,960 characters)
and keeps the rest: the checksum, no mixed case, the last ``1`` ends the HRP.
A checksum is an error-detecting code, not cryptography.
"""

from __future__ import annotations

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_VALUES = {c: i for i, c in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GENERATOR[i]
    return chk


def _expand(hrp: str) -> list[int]:
    low = hrp.lower()
    return [ord(c) >> 5 for c in low] + [0] + [ord(c) & 31 for c in low]


def _regroup(data: bytes | list[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    top = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & top)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & top)
    elif bits >= frombits or (acc << (tobits - bits)) & top:
        raise ValueError("invalid padding")
    return out


def encode(hrp: str, data: bytes) -> str:
    """``hrp`` + ``1`` + ``data`` + checksum; upper case if ``hrp`` is (as age does)."""
    if not hrp or hrp not in (hrp.lower(), hrp.upper()) or \
            any(not 33 <= ord(c) <= 126 for c in hrp):
        raise ValueError("invalid human-readable part")
    values = _regroup(data, 8, 5, True)
    chk = _polymod(_expand(hrp) + values + [0] * 6) ^ 1
    text = hrp.lower() + "1" + "".join(CHARSET[v] for v in values) + \
        "".join(CHARSET[(chk >> 5 * (5 - i)) & 31] for i in range(6))
    return text if hrp == hrp.lower() else text.upper()


def decode(text: str) -> tuple[str, bytes]:
    """``(hrp, data)`` of a Bech32 string, the HRP in the string's case; ValueError if it
    is not valid Bech32. The message never quotes the string (it may be a private key)."""
    if text not in (text.lower(), text.upper()):
        raise ValueError("mixed case")
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text):
        raise ValueError("no separator")
    hrp = text[:pos]
    if any(not 33 <= ord(c) <= 126 for c in hrp):
        raise ValueError("invalid human-readable part")
    try:
        values = [_VALUES[c] for c in text[pos + 1:].lower()]
    except KeyError:
        raise ValueError("invalid character") from None
    if _polymod(_expand(hrp) + values) != 1:
        raise ValueError("invalid checksum")
    return hrp, bytes(_regroup(values[:-6], 5, 8, False))
