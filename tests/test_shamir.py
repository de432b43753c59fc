"""Shamir secret sharing as sops does it (GF(2^8), x-coordinates 1..n)."""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from encfile import shamir


@given(secret=st.binary(min_size=1, max_size=40), parts=st.integers(2, 6), data=st.data())
def test_any_threshold_subset_recovers_the_secret(secret: bytes, parts: int,
                                                  data: st.DataObject) -> None:
    threshold = data.draw(st.integers(2, parts))
    shares = shamir.split(secret, parts, threshold, os.urandom)
    assert [s[-1] for s in shares] == list(range(1, parts + 1))
    for subset in itertools.combinations(shares, threshold):
        assert shamir.combine(list(subset)) == secret


def test_fewer_shares_than_the_threshold_reveal_nothing_useful() -> None:
    secret = os.urandom(32)
    shares = shamir.split(secret, 3, 3, os.urandom)
    assert shamir.combine(shares[:2]) != secret


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        shamir.split(b"x", 2, 3, os.urandom)
    with pytest.raises(ValueError):
        shamir.combine([b"\x01\x01", b"\x02\x01"])  # duplicate x
