"""The tamper matrix over every format: a changed file never decrypts, never leaks.

tests/test_tamper.py covers one rich YAML file (a fixed table, the base64 policy on
tokens, one base64 character of data/iv/tag, truncation, injections). This file
extends that to YAML, JSON, dotenv, INI and binary files, and to what the YAML file
does not reach:

* Hypothesis over format, token (value, comment, layout, MAC), position *anywhere* in
  the token (data, iv, tag, ``type`` and the ``ENC[AES256_GCM,...]`` frame) and the new
  character; over any character of ``lastmodified``; over any base64 character of the
  age ``enc`` block (armor);
* an exhaustive sweep: every position of every token of every format, one
  byte-changing character each;
* a fixed table per format through the CLI (exit code, empty stdout, no output file,
  one error line, no canary in stderr) and the library (error class);
* the policies pinned: non-canonical base64 in a token is the same bytes and decrypts
  (every format); non-canonical base64 in the armor is refused (age armor is strict);
  ``lastmodified`` is compared as an instant (``t``/``z`` in lower case are the same
  instant);
* keys holding ``:`` (warned about, not refused) and the delimiter attack they allow;
* whitespace appended after the last line (outside every token and the MAC);
* the sops contrast: sops shows a file whose comment token was damaged (warning,
  exit 0); encfile refuses it.

Expected codes (encfile/errors.py): 25 TamperedValueError, 51 MacMismatchError,
128 NoIdentityError (the data key cannot be unwrapped).
"""

from __future__ import annotations

import base64
import functools
import re
import subprocess
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import (
    B64,
    EXIT_MAC,
    EXIT_TAMPERED,
    KEY_FILE,
    OTHER_PUBLIC,
    OTHER_SECRET,
    TEST_PUBLIC,
    TEST_SECRET,
    TOKEN_RE,
    assert_cli_error,
    clean_env,
    run_encfile,
)
from hypothesis import event, given, settings
from hypothesis import strategies as st

import encfile

EXIT_NO_IDENTITY = 128
T, M, N = encfile.TamperedValueError, encfile.MacMismatchError, encfile.NoIdentityError
EXIT_OF: dict[type[encfile.EncfileError], int] = {T: EXIT_TAMPERED, M: EXIT_MAC,
                                                  N: EXIT_NO_IDENTITY}


# -- the samples: one per format, every encrypted plaintext a distinctive canary -------------

@dataclass(frozen=True)
class Sample:
    fmt: str
    suffix: str  # file name suffix, so that the CLI detects the format
    plain: str
    canaries: tuple[str, ...]  # every encrypted plaintext (values and comments)
    anchors: dict[str, str]  # logical name -> the text right before that value's token
    sops_start: str  # where the metadata starts (for splicing another file's)
    lists: str = ""  # the text right before the first list item's token ("" if no list)
    item_sep: str = ""  # what separates two list items
    clear: tuple[str, str] = ("", "")  # an unencrypted value and another spelling of it


SAMPLES = {
    "yaml": Sample(
        "yaml", ".enc.yaml",
        "# canary-c1-Qw1\n"
        "user: canary-user-7Hq2\n"
        "password: canary-pw-3Kx9  # canary-c2-Er2\n"
        "port: 5432\n"
        "hosts:\n"
        "  - canary-h1-Aa4\n"
        "  - canary-h2-Bb5\n"
        "  - canary-h3-Cc6\n"
        "nested:\n"
        "  # canary-c3-Ty3\n"
        "  token: canary-tok-Zz1\n"
        "api_unencrypted: public-endpoint\n",
        ("canary-c1-Qw1", "canary-user-7Hq2", "canary-pw-3Kx9", "canary-c2-Er2",
         "canary-h1-Aa4", "canary-h2-Bb5", "canary-h3-Cc6", "canary-c3-Ty3", "canary-tok-Zz1"),
        {"user": "\nuser: ", "password": "\npassword: ", "token": "\n  token: ",
         "port": "\nport: "},
        "\nsops:\n", lists="\nhosts:\n  - ", item_sep="\n  - ",
        clear=("public-endpoint", "public-endpoinT"),
    ),
    "json": Sample(
        "json", ".enc.json",
        '{\n  "user": "canary-user-7Hq2",\n  "password": "canary-pw-3Kx9",\n  "port": 5432,\n'
        '  "on": true,\n  "hosts": ["canary-h1-Aa4", "canary-h2-Bb5", "canary-h3-Cc6"],\n'
        '  "nested": {"token": "canary-tok-Zz1"},\n  "api_unencrypted": "public-endpoint"\n}\n',
        ("canary-user-7Hq2", "canary-pw-3Kx9", "canary-h1-Aa4", "canary-h2-Bb5",
         "canary-h3-Cc6", "canary-tok-Zz1"),
        {"user": '"user": "', "password": '"password": "', "token": '"token": "',
         "port": '"port": "'},
        ',\n  "sops": {', lists='"hosts": ["', item_sep='", "',
        clear=("public-endpoint", "public-endpoinT"),
    ),
    "dotenv": Sample(
        "dotenv", ".enc.env",
        "# canary-c1-Qw1\n"
        "USER=canary-user-7Hq2\n"
        "PASSWORD=canary-pw-3Kx9\n"
        "# canary-c2-Er2\n"
        "PORT=5432\n"
        "TOKEN=canary-tok-Zz1\n"
        "API_unencrypted=public-endpoint\n",
        ("canary-c1-Qw1", "canary-user-7Hq2", "canary-pw-3Kx9", "canary-c2-Er2",
         "canary-tok-Zz1"),
        {"user": "\nUSER=", "password": "\nPASSWORD=", "token": "\nTOKEN=", "port": "\nPORT="},
        "\nsops_", clear=("public-endpoint", "public-endpoinT"),
    ),
    "ini": Sample(
        "ini", ".enc.ini",
        "; canary-c1-Qw1\n"
        "[db]\n"
        "user = canary-user-7Hq2\n"
        "password = canary-pw-3Kx9\n"
        "# canary-c2-Er2\n"
        "port = 5432\n"
        "api_unencrypted = public-endpoint\n"
        "[other]\n"
        "; canary-c3-Ty3\n"
        "token = canary-tok-Zz1\n",
        ("canary-c1-Qw1", "canary-user-7Hq2", "canary-pw-3Kx9", "canary-c2-Er2",
         "canary-c3-Ty3", "canary-tok-Zz1"),
        {"user": "\nuser = ", "password": "\npassword = ", "token": "\ntoken = ",
         "port": "\nport = "},
        "\n[sops]\n", clear=("public-endpoint", "public-endpoinT"),
    ),
    "binary": Sample(
        "binary", ".enc.bin",
        "canary-bin-Uu8 first line\nsecond line canary-bin-Vv9\n",
        ("canary-bin-Uu8", "canary-bin-Vv9"),
        {"data": '"data": "'},
        ',\n\t"sops": {',
    ),
}
FORMATS = tuple(SAMPLES)
COMMENTED = tuple(f for f in FORMATS if "canary-c1-Qw1" in SAMPLES[f].canaries)


@functools.cache
def encrypted(fmt: str) -> str:
    """The sample encrypted once for the test key (every test reads this same file)."""
    sample = SAMPLES[fmt]
    text = encfile.encrypt(sample.plain, recipients=TEST_PUBLIC, format=fmt)
    assert encfile.decrypt(text, format=fmt, identities=[TEST_SECRET]) == sample.plain
    for canary in sample.canaries:
        assert canary not in text
    return text


@functools.cache
def other_encrypted(fmt: str) -> str:
    """The same sample encrypted again for the same recipient: another data key."""
    return encfile.encrypt(SAMPLES[fmt].plain, recipients=TEST_PUBLIC, format=fmt)


# -- finding things in an encrypted file ------------------------------------------------------

def token_kind(text: str, start: int) -> str:
    """value | comment | mac | layout, for the token that starts at ``start``."""
    m = TOKEN_RE.match(text, start)
    assert m is not None
    if m.group("type") == "comment":
        return "comment"
    line = text[text.rfind("\n", 0, start) + 1:start].rstrip(' "=:\t')
    if line.endswith("encfile_layout"):
        return "layout"
    if line.endswith("mac"):
        return "mac"
    return "value"


@functools.cache
def tokens(fmt: str) -> tuple[tuple[str, int, int], ...]:
    """(kind, start, end) of every token of the encrypted sample."""
    enc = encrypted(fmt)
    found = tuple((token_kind(enc, m.start()), m.start(), m.end())
                  for m in TOKEN_RE.finditer(enc))
    kinds = {kind for kind, _, _ in found}
    expected = {"value", "mac", "layout"} | ({"comment"} if fmt in COMMENTED else set())
    assert kinds == expected, (fmt, kinds)
    return found


def token_at(enc: str, anchor: str, nth: int = 0) -> tuple[int, int]:
    """The span of the token right after the ``nth`` occurrence of ``anchor``."""
    pos = -1
    for _ in range(nth + 1):
        pos = enc.index(anchor, pos + 1)
    m = TOKEN_RE.match(enc, pos + len(anchor))
    assert m is not None, (anchor, enc[pos:pos + 60])
    return m.span()


def tokens_of_kind(enc: str, kind: str) -> list[tuple[int, int]]:
    return [m.span() for m in TOKEN_RE.finditer(enc) if token_kind(enc, m.start()) == kind]


def field_span(enc: str, token_start: int, field: str) -> tuple[int, int]:
    m = TOKEN_RE.match(enc, token_start)
    assert m is not None
    return m.span(field)


def replace(text: str, span: tuple[int, int], new: str) -> str:
    assert span[0] <= span[1]
    return text[:span[0]] + new + text[span[1]:]


def with_char(text: str, pos: int, new: str) -> str:
    return text[:pos] + new + text[pos + 1:]


def flip(c: str) -> str:
    """Another base64 character whose top bit differs: the decoded bytes always change."""
    return B64[B64.index(c) ^ 0b100000]


def ignored_bits(field: str) -> int:
    """How many low bits of the last significant character base64 ignores (0, 2 or 4)."""
    return {0: 0, 1: 2, 2: 4}.get(len(field) - len(field.rstrip("=")), 0)


def same_bytes(field: str, offset: int, new: str) -> bool:
    """Does ``new`` at ``offset`` of a base64 ``field`` leave the decoded bytes unchanged?"""
    old = field[offset]
    if offset != len(field.rstrip("=")) - 1 or "=" in (old, new) or ignored_bits(field) == 0:
        return False
    return (B64.index(old) ^ B64.index(new)) < (1 << ignored_bits(field))


def armor_positions(enc: str) -> list[int]:
    """Every base64 character of the (first) armored ``enc`` block, markers excluded.

    In JSON, dotenv and INI the armor's line breaks are ``\\n`` escapes: their ``n`` is not
    armor and is skipped.
    """
    begin = enc.index("-----BEGIN AGE ENCRYPTED FILE-----") + len("-----BEGIN AGE ENCRYPTED FILE-----")
    end = enc.index("-----END AGE ENCRYPTED FILE-----", begin)
    return [i for i in range(begin, end)
            if (enc[i] in B64 or enc[i] == "=") and enc[i - 1] != "\\"]


def lastmodified_span(enc: str) -> tuple[int, int]:
    m = re.search(r"lastmodified\W+(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", enc)
    assert m is not None
    return m.span(1)


# -- the checks ----------------------------------------------------------------------------

def error_text(err: BaseException) -> str:
    parts = [str(err), repr(err), *map(str, err.args)]
    parts += list(getattr(err, "hints", ()))
    cause = err.__cause__ or err.__context__
    if cause is not None:
        parts += [str(cause), repr(cause)]
    return "\n".join(parts)


def assert_no_canary(fmt: str, text: str) -> None:
    for canary in SAMPLES[fmt].canaries:
        tail = canary.removeprefix("canary-")
        assert canary not in text and tail not in text, f"{canary!r} leaked in: {text!r}"


def decrypt(fmt: str, text: str, identity: str = TEST_SECRET) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", encfile.EncfileWarning)
        return encfile.decrypt(text, format=fmt, identities=[identity])


def assert_fails(fmt: str, text: str, error: type[encfile.EncfileError]) -> None:
    """The library refuses ``text`` with exactly ``error`` and names no plaintext."""
    with pytest.raises(encfile.EncfileError) as info:
        out = decrypt(fmt, text)
        assert_no_canary(fmt, out)  # a wrong plaintext is as bad as a leaked one
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert_no_canary(fmt, error_text(info.value))


# -- Hypothesis: one character anywhere in any token --------------------------------------------

@st.composite
def token_change(draw: st.DrawFn) -> tuple[str, str, int, int, str]:
    """(format, kind, token start, offset in the token, new character)."""
    fmt = draw(st.sampled_from(FORMATS))
    kind, start, end = draw(st.sampled_from(tokens(fmt)))
    enc = encrypted(fmt)
    m = TOKEN_RE.match(enc, start)
    assert m is not None
    # any position; the last significant character of a padded field gets extra weight,
    # since that is where base64's ignored bits live
    lasts = [m.start(f) + len(m.group(f).rstrip("=")) - 1 - start for f in ("data", "iv", "tag")
             if m.group(f).endswith("=")]
    offset = draw(st.integers(0, end - start - 1) | st.sampled_from(lasts))
    old = enc[start + offset]
    new = draw(st.sampled_from([c for c in B64 + "=" if c != old]))
    return fmt, kind, start, offset, new


@settings(max_examples=300, deadline=None)
@given(change=token_change())
def test_one_character_anywhere_in_any_token(change: tuple[str, str, int, int, str]) -> None:
    fmt, kind, start, offset, new = change
    enc = encrypted(fmt)
    pos = start + offset
    m = TOKEN_RE.match(enc, start)
    assert m is not None
    part = next((f for f in ("data", "iv", "tag", "type") if m.start(f) <= pos < m.end(f)),
                "frame")
    event(f"{fmt} {kind} {part}")
    text = with_char(enc, pos, new)
    if part in ("data", "iv", "tag") and same_bytes(m.group(part), pos - m.start(part), new):
        event("only ignored bits: the same bytes, must decrypt")
        assert decrypt(fmt, text) == SAMPLES[fmt].plain
        return
    assert_fails(fmt, text, M if kind == "mac" else T)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_token_position_changed(fmt: str) -> None:
    """Exhaustive: each character of each token replaced by one that changes the bytes."""
    enc = encrypted(fmt)
    wrong = []
    for kind, start, end in tokens(fmt):
        for pos in range(start, end):
            old = enc[pos]
            new = flip(old) if old in B64 else ("A" if old == "=" else
                                                 "x" if old.isalpha() or old == "]" else "Q")
            try:
                decrypt(fmt, with_char(enc, pos, new))
            except encfile.EncfileError as err:
                expected = M if kind == "mac" else T
                if type(err) is not expected:
                    wrong.append((kind, pos - start, old, new, type(err).__name__))
                assert_no_canary(fmt, error_text(err))
            else:
                wrong.append((kind, pos - start, old, new, "decrypted"))
    assert not wrong, wrong[:20]


# -- lastmodified ---------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_one_character_of_lastmodified(data: st.DataObject) -> None:
    fmt = data.draw(st.sampled_from(FORMATS))
    enc = encrypted(fmt)
    s, e = lastmodified_span(enc)
    pos = data.draw(st.integers(s, e - 1))
    old = enc[pos]
    new = data.draw(st.sampled_from([c for c in "0123456789-:TZ+. x" if c != old]))
    event(f"{fmt}")
    assert_fails(fmt, with_char(enc, pos, new), M)


@pytest.mark.parametrize("fmt", FORMATS)
def test_lastmodified_is_compared_as_an_instant(fmt: str, env: dict[str, str],
                                                tmp_path: Path) -> None:
    """Pinned policy: RFC 3339 allows ``t`` and ``z`` in lower case; encfile reads the same
    instant, so the MAC (whose AAD is the re-formatted time) still verifies. sops's Go parser
    refuses such a file (exit 1): see test_sops_refuses_lowercase_lastmodified."""
    enc = encrypted(fmt)
    s, e = lastmodified_span(enc)
    stamp = enc[s:e]
    for letter in "TZ":
        text = with_char(enc, s + stamp.index(letter), letter.lower())
        assert decrypt(fmt, text) == SAMPLES[fmt].plain
    path = tmp_path / f"s{SAMPLES[fmt].suffix}"
    path.write_text(with_char(enc, s + stamp.index("T"), "t"))
    result = run_encfile("-d", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8", "surrogateescape") == SAMPLES[fmt].plain


def test_sops_refuses_lowercase_lastmodified(sops_bin: str, tmp_path: Path, home: Path) -> None:
    """The other side of the policy above, so that a change in either tool shows up."""
    enc = encrypted("yaml")
    s, e = lastmodified_span(enc)
    path = tmp_path / "s.enc.yaml"
    path.write_text(with_char(enc, s + enc[s:e].index("T"), "t"))
    result = subprocess.run([sops_bin, "-d", str(path)], capture_output=True, timeout=60,
                            env=clean_env(home, SOPS_AGE_KEY_FILE=str(KEY_FILE)))
    assert result.returncode != 0
    assert result.stdout == b""


# -- the age enc block -------------------------------------------------------------------------

@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_one_character_of_the_armored_enc_block(data: st.DataObject) -> None:
    """Any base64 character of the armor changed: the data key cannot be unwrapped (128).

    This includes changes confined to base64's ignored bits at the end of the armor: age
    armor must be canonical base64, and encfile's age library enforces it (pinned below).
    """
    fmt = data.draw(st.sampled_from(FORMATS))
    enc = encrypted(fmt)
    pos = data.draw(st.sampled_from(armor_positions(enc)))
    new = data.draw(st.sampled_from([c for c in B64 + "=" if c != enc[pos]]))
    event(fmt)
    assert_fails(fmt, with_char(enc, pos, new), N)


@functools.cache
def padded_armor(fmt: str) -> str:
    """The sample encrypted until its armor ends in '=' padding (the grease stanza varies)."""
    for _ in range(40):
        text = encfile.encrypt(SAMPLES[fmt].plain, recipients=TEST_PUBLIC, format=fmt)
        end = text.index("-----END AGE ENCRYPTED FILE-----")
        if re.search(r"=(\\n|\n\s*)$", text[:end]):
            return text
    raise AssertionError("no armor with padding in 40 tries")


@pytest.mark.parametrize("fmt", FORMATS)
def test_noncanonical_base64_in_the_armor_is_refused(fmt: str) -> None:
    """Pinned policy: unlike tokens (where GCM authenticates bytes, not their spelling), the
    armored age file must be canonical base64; ignored bits set there give 128."""
    enc = padded_armor(fmt)
    end = enc.index("-----END AGE ENCRYPTED FILE-----")
    m = re.search(r"([A-Za-z0-9+/])(=+)(\\n|\n\s*)$", enc[:end])
    assert m is not None
    pos, bits = m.start(1), 2 * len(m.group(2))
    old = enc[pos]
    assert B64.index(old) & ((1 << bits) - 1) == 0, "encfile writes canonical armor"
    assert decrypt(fmt, enc) == SAMPLES[fmt].plain
    for low in range(1, 1 << bits):
        assert_fails(fmt, with_char(enc, pos, B64[B64.index(old) ^ low]), N)


def test_only_the_enc_block_the_identity_uses_matters() -> None:
    """Two recipients: damaging the block of the test key's recipient gives 128 for the test
    key even though the other block is intact; damaging only the other block does not
    concern the test key (metadata outside the MAC), but locks out the other identity."""
    plain = SAMPLES["yaml"].plain
    enc = encfile.encrypt(plain, recipients=[TEST_PUBLIC, OTHER_PUBLIC])
    blocks = [m.start() for m in re.finditer("-----BEGIN AGE ENCRYPTED FILE-----", enc)]
    recipients = re.findall(r"recipient: (age1\w+)", enc)
    assert len(blocks) == 2 and sorted(recipients) == sorted([TEST_PUBLIC, OTHER_PUBLIC])
    for i, recipient in enumerate(recipients):
        body = enc.index("\n", blocks[i] + 40) + 30  # a character of the second armor line
        assert enc[body] in B64
        damaged = with_char(enc, body, flip(enc[body]))
        mine, theirs = ((TEST_SECRET, OTHER_SECRET) if recipient == TEST_PUBLIC
                        else (OTHER_SECRET, TEST_SECRET))
        with pytest.raises(encfile.NoIdentityError):
            decrypt("yaml", damaged, identity=mine)
        assert decrypt("yaml", damaged, identity=theirs) == plain


# -- non-canonical base64 in tokens, every format --------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_noncanonical_base64_in_tokens_decrypts(fmt: str, env: dict[str, str],
                                                tmp_path: Path) -> None:
    """Pinned policy (encfile/token.py, as Go's base64.StdEncoding that sops uses): a token
    field whose ignored low bits are set decodes to the same bytes and is accepted, in every
    token kind; the lowest bit that belongs to a byte is tampering."""
    enc = encrypted(fmt)
    changed = enc
    seen = set()
    for kind, start, _ in tokens(fmt):
        for field in ("iv", "tag", "data"):
            s, e = field_span(enc, start, field)
            value = enc[s:e]
            bits = ignored_bits(value)
            if not bits:
                continue
            last = s + len(value.rstrip("=")) - 1
            old = enc[last]
            assert B64.index(old) & ((1 << bits) - 1) == 0, "encfile writes canonical base64"
            new = B64[B64.index(old) | ((1 << bits) - 1)]
            spelled = value[:last - s] + new + value[last - s + 1:]
            assert base64.b64decode(spelled) == base64.b64decode(value)
            alone = with_char(enc, last, new)
            assert decrypt(fmt, alone) == SAMPLES[fmt].plain, (kind, field)
            byte_bit = with_char(enc, last, B64[B64.index(old) ^ (1 << bits)])
            assert_fails(fmt, byte_bit, M if kind == "mac" else T)
            changed = with_char(changed, last, new)
            seen.add(kind)
    assert {"value", "mac", "layout"} <= seen, seen
    # every padded field of the file spelled non-canonically at once, through the CLI
    path = tmp_path / f"s{SAMPLES[fmt].suffix}"
    path.write_text(changed)
    result = run_encfile("-d", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8", "surrogateescape") == SAMPLES[fmt].plain


# -- the fixed table, per format --------------------------------------------------------------------

Mutation = Callable[[str, str, Sample], str]


def flip_field(anchor_name: str, field: str) -> Mutation:
    def mutate(enc: str, other: str, sample: Sample) -> str:
        start, _ = token_at(enc, sample.anchors[anchor_name])
        s, e = field_span(enc, start, field)
        pos = s + len(enc[s:e].rstrip("=")) // 2
        return with_char(enc, pos, flip(enc[pos]))
    return mutate


def flip_kind(kind: str, field: str = "data", nth: int = 0) -> Mutation:
    def mutate(enc: str, other: str, sample: Sample) -> str:
        start, _ = tokens_of_kind(enc, kind)[nth]
        s, e = field_span(enc, start, field)
        pos = s + len(enc[s:e].rstrip("=")) // 2
        return with_char(enc, pos, flip(enc[pos]))
    return mutate


def set_type(anchor_name: str, new_type: str) -> Mutation:
    def mutate(enc: str, other: str, sample: Sample) -> str:
        start, _ = token_at(enc, sample.anchors[anchor_name])
        return replace(enc, field_span(enc, start, "type"), new_type)
    return mutate


def change_lastmodified(enc: str, other: str, sample: Sample) -> str:
    _, end = lastmodified_span(enc)
    pos = end - 2  # the last digit of the seconds: stays a valid time
    return with_char(enc, pos, str((int(enc[pos]) + 1) % 10))


def change_armor(enc: str, other: str, sample: Sample) -> str:
    positions = armor_positions(enc)
    pos = positions[len(positions) // 2]
    return with_char(enc, pos, flip(enc[pos]))


def swap_values(a: str, b: str) -> Mutation:
    def mutate(enc: str, other: str, sample: Sample) -> str:
        sa, sb = token_at(enc, sample.anchors[a]), token_at(enc, sample.anchors[b])
        (first, second) = sorted([sa, sb])
        return (enc[:first[0]] + enc[second[0]:second[1]] + enc[first[1]:second[0]]
                + enc[first[0]:first[1]] + enc[second[1]:])
    return mutate


def copy_value(src: str, dst: str) -> Mutation:
    """The token of ``dst`` overwritten by a copy of the token of ``src``."""
    def mutate(enc: str, other: str, sample: Sample) -> str:
        s = token_at(enc, sample.anchors[src])
        return replace(enc, token_at(enc, sample.anchors[dst]), enc[s[0]:s[1]])
    return mutate


def from_other_file(anchor_name: str) -> Mutation:
    def mutate(enc: str, other: str, sample: Sample) -> str:
        s = token_at(other, sample.anchors[anchor_name])
        return replace(enc, token_at(enc, sample.anchors[anchor_name]), other[s[0]:s[1]])
    return mutate


def layout_from_other_file(enc: str, other: str, sample: Sample) -> str:
    s = tokens_of_kind(other, "layout")[0]
    return replace(enc, tokens_of_kind(enc, "layout")[0], other[s[0]:s[1]])


def plaintext_for(anchor_name: str, plain: str) -> Mutation:
    def mutate(enc: str, other: str, sample: Sample) -> str:
        return replace(enc, token_at(enc, sample.anchors[anchor_name]), plain)
    return mutate


def list_items(enc: str, sample: Sample) -> list[tuple[int, int]]:
    first = token_at(enc, sample.lists)
    items = [first]
    while enc.startswith(sample.item_sep, items[-1][1]):
        m = TOKEN_RE.match(enc, items[-1][1] + len(sample.item_sep))
        if m is None:
            break
        items.append(m.span())
    assert len(items) == 3, items
    return items


def reorder_list(enc: str, other: str, sample: Sample) -> str:
    a, b, _ = list_items(enc, sample)
    return enc[:a[0]] + enc[b[0]:b[1]] + enc[a[1]:b[0]] + enc[a[0]:a[1]] + enc[b[1]:]


def drop_list_item(enc: str, other: str, sample: Sample) -> str:
    a, b, _ = list_items(enc, sample)
    return enc[:a[0]] + enc[b[0]:]  # the first item and its separator removed


def splice_sops(enc: str, other: str, sample: Sample) -> str:
    return enc[:enc.index(sample.sops_start)] + other[other.index(sample.sops_start):]


def comment_line(enc: str, nth: int) -> tuple[int, int]:
    """The span of the whole line holding the ``nth`` comment token (with its newline)."""
    start, _ = tokens_of_kind(enc, "comment")[nth]
    line_start = enc.rfind("\n", 0, start) + 1
    return line_start, enc.index("\n", start) + 1


def delete_comment(enc: str, other: str, sample: Sample) -> str:
    return replace(enc, comment_line(enc, 0), "")


def comment_as_plaintext(enc: str, other: str, sample: Sample) -> str:
    """The first comment token replaced by its own plaintext (a downgrade to a clear comment)."""
    marker = "; " if sample.fmt == "ini" else "# "
    assert sample.plain.startswith(marker + "canary-c1-Qw1\n")
    return replace(enc, comment_line(enc, 0), marker + "canary-c1-Qw1\n")


def swap_comments(enc: str, other: str, sample: Sample) -> str:
    a, b = tokens_of_kind(enc, "comment")[:2]
    return enc[:a[0]] + enc[b[0]:b[1]] + enc[a[1]:b[0]] + enc[a[0]:a[1]] + enc[b[1]:]


def comment_token_as_value(enc: str, other: str, sample: Sample) -> str:
    c = tokens_of_kind(enc, "comment")[0]
    return replace(enc, token_at(enc, sample.anchors["user"]), enc[c[0]:c[1]])


def change_clear_value(enc: str, other: str, sample: Sample) -> str:
    old, new = sample.clear
    assert enc.count(old) == 1
    return enc.replace(old, new)


@dataclass(frozen=True)
class Case:
    mutate: Mutation
    error: type[encfile.EncfileError]
    applies: Callable[[Sample], bool] = lambda sample: True
    cli: bool = False  # also through the CLI (a subprocess each: the table's main cases)


def has(name: str) -> Callable[[Sample], bool]:
    return lambda sample: name in sample.anchors


def commented(sample: Sample) -> bool:
    return sample.fmt in COMMENTED


CASES: dict[str, Case] = {
    # one character of a value token
    "value-data": Case(flip_field("password", "data"), T, has("password"), cli=True),
    "value-iv": Case(flip_field("password", "iv"), T, has("password")),
    "value-tag": Case(flip_field("password", "tag"), T, has("password")),
    "binary-data": Case(flip_field("data", "data"), T, has("data"), cli=True),
    "binary-tag": Case(flip_field("data", "tag"), T, has("data")),
    # the type is not in the AAD; the value does not parse as the new type, or the layout's
    # type digest catches it
    "value-type-str-to-int": Case(set_type("user", "int"), T, has("user"), cli=True),
    "value-type-str-to-bool": Case(set_type("port", "bool"), T, has("port")),
    "value-type-to-comment": Case(set_type("password", "comment"), T, has("password")),
    "binary-type-to-bytes": Case(set_type("data", "bytes"), T, has("data"), cli=True),
    # comment tokens
    "comment-data": Case(flip_kind("comment", "data"), T, commented, cli=True),
    "comment-tag": Case(flip_kind("comment", "tag", nth=1), T, commented),
    "comment-deleted": Case(delete_comment, T, commented, cli=True),
    "comment-as-plaintext": Case(comment_as_plaintext, T, commented, cli=True),
    "comments-swapped": Case(swap_comments, T, commented),
    "comment-token-as-value": Case(comment_token_as_value, T, commented),
    # encfile's layout token
    "layout-data": Case(flip_kind("layout", "data"), T, cli=True),
    "layout-iv": Case(flip_kind("layout", "iv"), T),
    "layout-from-other-file": Case(layout_from_other_file, T),
    # the MAC and lastmodified
    "mac-data": Case(flip_kind("mac", "data"), M, cli=True),
    "mac-tag": Case(flip_kind("mac", "tag"), M),
    "lastmodified-second": Case(change_lastmodified, M, cli=True),
    # the data key
    "armored-enc-block": Case(change_armor, N, cli=True),
    # whole tokens moved around
    "swap-two-values": Case(swap_values("user", "password"), T, has("user"), cli=True),
    "move-value-to-other-key": Case(copy_value("password", "token"), T, has("password"),
                                    cli=True),
    "value-from-other-file": Case(from_other_file("password"), T, has("password")),
    "binary-data-from-other-file": Case(from_other_file("data"), T, has("data")),
    "value-replaced-by-its-plaintext": Case(plaintext_for("password", "canary-pw-3Kx9"), T,
                                            has("password"), cli=True),
    "binary-replaced-by-plaintext": Case(plaintext_for("data", "canary-bin-Uu8"), T,
                                         has("data"), cli=True),
    "reorder-list-items": Case(reorder_list, M, lambda sample: bool(sample.lists), cli=True),
    "drop-list-item": Case(drop_list_item, M, lambda sample: bool(sample.lists), cli=True),
    "unencrypted-value-changed": Case(change_clear_value, M,
                                      lambda sample: bool(sample.clear[0]), cli=True),
    # another file's whole sops block (same recipient: its data key opens, for other values)
    "splice-sops-block": Case(splice_sops, T, cli=True),
}

TABLE = [pytest.param(fmt, name, id=f"{fmt}-{name}") for fmt in FORMATS
         for name, case in CASES.items() if case.applies(SAMPLES[fmt])]


def tampered(fmt: str, name: str) -> str:
    text = CASES[name].mutate(encrypted(fmt), other_encrypted(fmt), SAMPLES[fmt])
    assert text != encrypted(fmt), "the mutation changed nothing"
    return text


@pytest.mark.parametrize(("fmt", "name"), TABLE)
def test_table_library(fmt: str, name: str) -> None:
    assert_fails(fmt, tampered(fmt, name), CASES[name].error)


@pytest.mark.parametrize(("fmt", "name"), [p for p in TABLE if CASES[p.values[1]].cli])
def test_table_cli(fmt: str, name: str, env: dict[str, str], tmp_path: Path) -> None:
    """``encfile -d`` to stdout: the code, nothing on stdout, one error line, no canary."""
    path = tmp_path / f"secrets{SAMPLES[fmt].suffix}"
    path.write_text(tampered(fmt, name))
    result = run_encfile("-d", str(path), env=env)
    stderr = assert_cli_error(result, EXIT_OF[CASES[name].error])
    assert_no_canary(fmt, stderr)


@pytest.mark.parametrize(("fmt", "name"), [
    ("yaml", "value-data"), ("json", "reorder-list-items"), ("dotenv", "comment-deleted"),
    ("ini", "mac-data"), ("binary", "armored-enc-block"),
])
def test_table_cli_output_file(fmt: str, name: str, env: dict[str, str],
                               tmp_path: Path) -> None:
    """``-o FILE`` and ``-i``: a refused file writes no output and leaves the input as is."""
    text = tampered(fmt, name)
    path = tmp_path / f"secrets{SAMPLES[fmt].suffix}"
    path.write_text(text)
    out = tmp_path / "plain.out"
    stderr = assert_cli_error(run_encfile("-d", str(path), "-o", str(out), env=env),
                              EXIT_OF[CASES[name].error])
    assert_no_canary(fmt, stderr)
    assert not out.exists()
    stderr = assert_cli_error(run_encfile("-d", "-i", str(path), env=env),
                              EXIT_OF[CASES[name].error])
    assert_no_canary(fmt, stderr)
    assert path.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["home", path.name])


@pytest.mark.parametrize("fmt", FORMATS)
def test_untampered_sample_decrypts_cli(fmt: str, env: dict[str, str], tmp_path: Path) -> None:
    """The control for the table: the unchanged file decrypts through the CLI."""
    path = tmp_path / f"secrets{SAMPLES[fmt].suffix}"
    path.write_text(encrypted(fmt))
    result = run_encfile("-d", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8", "surrogateescape") == SAMPLES[fmt].plain


# -- whitespace appended after the last line ------------------------------------------------------

@pytest.mark.parametrize("extra", ["\n", " ", " \n"], ids=["newline", "space", "space-newline"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_appended_whitespace(fmt: str, extra: str) -> None:
    """Bytes appended after the file are outside every token and the MAC: decryption must
    fail or give exactly the original plaintext (see also test_truncation.py)."""
    text = encrypted(fmt) + extra
    try:
        out = decrypt(fmt, text)
    except encfile.IntegrityError:
        return
    assert out == SAMPLES[fmt].plain, f"ends {out[-12:]!r}"


# -- sops lets a damaged comment through; encfile does not ---------------------------------------

@pytest.mark.parametrize("fmt", COMMENTED)
def test_damaged_comment_sops_warns_encfile_refuses(fmt: str, sops_bin: str, env: dict[str, str],
                                                    tmp_path: Path) -> None:
    path = tmp_path / f"secrets{SAMPLES[fmt].suffix}"
    path.write_text(tampered(fmt, "comment-data"))
    sops = subprocess.run([sops_bin, "-d", str(path)], capture_output=True, timeout=60,
                          env=env)
    # sops: exit 0, a warning, the damaged token shown as if it were a clear comment
    assert sops.returncode == 0, sops.stderr
    assert b"ENC[AES256_GCM" in sops.stdout
    assert b"warning" in sops.stderr.lower()
    stderr = assert_cli_error(run_encfile("-d", str(path), env=env), EXIT_TAMPERED)
    assert_no_canary(fmt, stderr)


# -- keys holding ':' ---------------------------------------------------------------------------

COLON_SAMPLES = {
    "yaml": 'Fn::Join: canary-fn-Kk1\n"a:b": canary-ab-Ll2\n',
    "json": '{"Fn::Join": "canary-fn-Kk1", "a:b": "canary-ab-Ll2"}\n',
    "dotenv": "FN::JOIN=canary-fn-Kk1\nA:B=canary-ab-Ll2\n",
    "ini": "[a:b]\nk = canary-ab-Ll2\n",
}


@pytest.mark.parametrize("fmt", list(COLON_SAMPLES))
def test_keys_with_colons_are_warned_about_not_refused(fmt: str, env: dict[str, str],
                                                       tmp_path: Path) -> None:
    plain = COLON_SAMPLES[fmt]
    with pytest.warns(encfile.EncfileWarning, match="':'"):
        enc = encfile.encrypt(plain, recipients=TEST_PUBLIC, format=fmt)
    assert decrypt(fmt, enc) == plain
    suffix = SAMPLES[fmt].suffix.removeprefix(".enc")
    source = tmp_path / f"colon{suffix}"
    source.write_text(plain)
    result = run_encfile("-e", "--age", TEST_PUBLIC, str(source), env=env)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "warning" in stderr and "':'" in stderr
    assert "canary" not in stderr
    target = tmp_path / f"colon.enc{suffix}"
    target.write_bytes(result.stdout)
    result = run_encfile("-d", str(target), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == plain


@pytest.mark.parametrize(("fmt", "plain", "nested", "flat"), [
    ("yaml", "a:\n  b: canary-ab-Ll2\nc: d\n", "a:\n  b: ", '"a:b": '),
    ("json", '{"a": {"b": "canary-ab-Ll2"}, "c": "d"}\n', '"a": {"b": "', '"a:b": "'),
], ids=["yaml", "json"])
def test_nested_key_flattened_to_a_colon_key(fmt: str, plain: str, nested: str,
                                             flat: str) -> None:
    """``a: {b: X}`` rewritten as ``"a:b": X`` (same AAD ``a:b:``) in a file encfile wrote,
    which held no key with ':': it must fail, or at least warn about the key when decrypting
    (what encfile promises for such keys)."""
    enc = encfile.encrypt(plain, recipients=TEST_PUBLIC, format=fmt)
    start, end = token_at(enc, nested)
    tok = enc[start:end]
    at = enc.index(nested)
    if fmt == "yaml":
        forged = enc[:at] + flat + tok + enc[end:]
    else:  # '"a": {"b": "TOKEN"}' -> '"a:b": "TOKEN"'
        forged = enc[:at] + flat + tok + '"' + enc[enc.index("}", end) + 1:]
    assert forged != enc and tok in forged and nested not in forged
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = encfile.decrypt(forged, format=fmt, identities=[TEST_SECRET])
        except encfile.IntegrityError:
            return
    assert "canary-ab-Ll2" in out  # the forged file did decrypt
    assert any(issubclass(w.category, encfile.EncfileWarning) and "a:b" in str(w.message)
               for w in caught), "decrypted a forged structure without a word"
