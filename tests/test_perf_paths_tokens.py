"""The batched token paths give what the one-by-one paths give.

* ``token.open_many`` opens a list of tokens at once: it must answer exactly when
  ``token.open_quick`` answers for every one of them, with the same types and
  plaintexts, on sealed tokens and on tokens changed a character at a time;
* ``token.seal_many`` writes the tokens ``token.seal`` writes, under the same IVs;
* opening a large file with one bad value says what opening it one value at a time
  says: the first bad value, by its key path, and nothing is printed or returned.
"""

from __future__ import annotations

import re

import pytest
from conftest import TEST_PUBLIC, TEST_SECRET
from hypothesis import given, settings
from hypothesis import strategies as st

import encfile
from encfile import crypto, token
from encfile.crypto import Cipher

KEY = bytes(range(32))
_CHARS = list("A=+/,:]x \n\u00e9[")


def sealed(count: int, kinds: tuple[str, ...] = ("str",)) -> tuple[list[str], list[bytes]]:
    cipher = Cipher(KEY)
    texts = [token.seal(cipher, f"value {i}".encode(), f"k{i}:", kinds[i % len(kinds)])
             for i in range(count)]
    return texts, [f"k{i}:".encode() for i in range(count)]


def one_by_one(texts: list[str], aads: list[bytes]) -> tuple[list[str], list[bytes]] | None:
    cipher = Cipher(KEY)
    opened = [token.open_quick(cipher, text, aad) for text, aad in zip(texts, aads, strict=True)]
    if any(o is None for o in opened):
        return None
    return [o[0] for o in opened if o], [o[1] for o in opened if o]


def test_sealed_tokens_open_at_once_as_one_by_one() -> None:
    texts, aads = sealed(50, ("str", "int", "comment", "bytes", "bool"))
    assert token.open_many(Cipher(KEY), texts, aads) == one_by_one(texts, aads)
    assert token.open_many(Cipher(KEY), texts, aads) is not None


def test_a_wrong_path_or_key_fails_them_all() -> None:
    texts, aads = sealed(20)
    assert token.open_many(Cipher(KEY), texts, [*aads[:-1], b"other:"]) is None
    assert token.open_many(Cipher(bytes(32)), texts, aads) is None
    assert token.open_many(Cipher(KEY), [], []) is None


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 6), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 200),
                                             st.sampled_from(_CHARS),
                                             st.sampled_from(["set", "insert", "delete"])),
                                   max_size=3))
def test_changed_tokens_open_at_once_exactly_when_one_by_one(
        count: int, edits: list[tuple[int, int, str, str]]) -> None:
    texts, aads = sealed(count)
    for which, at, char, how in edits:
        chars = list(texts[which % count])
        at = min(at, len(chars))
        if how == "insert":
            chars.insert(at, char)
        elif at < len(chars):
            if how == "set":
                chars[at] = char
            else:
                del chars[at]
        texts[which % count] = "".join(chars)
    assert token.open_many(Cipher(KEY), texts, aads) == one_by_one(texts, aads)


def test_moved_fields_are_not_read_in_their_new_places() -> None:
    """Each field name is checked in its place, so fields swapped inside a token (or
    tokens whose separators were shifted between them) are refused, as one by one."""
    texts, aads = sealed(3)
    fields = texts[0][len("ENC[AES256_GCM,"):-1].split(",")
    swapped = "ENC[AES256_GCM," + ",".join([fields[1], fields[0], *fields[2:]]) + "]"
    shifted = [texts[0][:-1] + ":]", texts[1].replace("iv:", "iv", 1), texts[2]]
    # one token's text ending where the next one's begins: read together, the parts
    # would make the two tokens again
    straddling = [texts[0] + "," + texts[1][:14], texts[1][15:], texts[2]]
    doubled = [texts[0] + "," + texts[1], texts[1], texts[2]]
    for bad in ([swapped, *texts[1:]], shifted, straddling, doubled):
        assert one_by_one(bad, aads) is None
        assert token.open_many(Cipher(KEY), bad, aads) is None


def test_seal_many_writes_the_tokens_seal_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = bytes(range(256)) * 400
    drawn = [0]

    def deterministic(n: int) -> bytes:
        out = stream[drawn[0]:drawn[0] + n]
        drawn[0] += n
        return out

    monkeypatch.setattr(crypto, "_random", deterministic)
    values = [f"v{i}".encode() * (i % 5) + b"x" for i in range(300)]
    aads = [f"a:{i}:" for i in range(300)]
    kinds = ["str", "int", "comment"] * 100
    many = token.seal_many(Cipher(KEY), values, aads, kinds)
    drawn[0] = 0
    single = Cipher(KEY)
    assert many == [token.seal(single, v, a, k) for v, a, k in zip(values, aads, kinds, strict=True)]
    assert token.seal_many(Cipher(KEY), [], [], []) == []
    opened = one_by_one(many, [a.encode() for a in aads])
    assert opened == (kinds, values)


def big_file(values: int) -> str:
    return "".join(f"group{g}:\n" + "".join(f"    key{k}: value-{g}-{k}\n" for k in range(10))
                   for g in range(values // 10))


@pytest.mark.parametrize("target", [0, 537, 999])
def test_one_bad_value_among_many_is_named_as_one_by_one(target: int) -> None:
    sealed_text = encfile.encrypt(big_file(1000), recipients=TEST_PUBLIC)
    tokens = re.findall(r"ENC\[AES256_GCM,data:[^\]]*type:str\]", sealed_text)
    group, key = divmod(target, 10)
    bad = tokens[target].replace("data:", "data:A", 1)  # no longer valid base64
    tampered = sealed_text.replace(tokens[target], bad, 1)
    with pytest.raises(encfile.TamperedValueError, match=f"'group{group}:key{key}'"):
        encfile.decrypt(tampered, identities=[TEST_SECRET])
    swapped = sealed_text.replace(tokens[target], tokens[(target + 1) % 1000], 1)
    with pytest.raises(encfile.TamperedValueError,
                       match=f"'group{group}:key{key}' does not authenticate"):
        encfile.decrypt(swapped, identities=[TEST_SECRET])


def test_large_lists_open_a_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token, "_CHUNK", 7)
    texts, aads = sealed(50, ("str", "int"))
    assert token.open_many(Cipher(KEY), texts, aads) == one_by_one(texts, aads)
    texts[45] = texts[45].replace("iv:", "iv:A", 1)  # a bad token in the last chunk
    assert token.open_many(Cipher(KEY), texts, aads) is None
