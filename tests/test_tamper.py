"""Tampering with an encrypted file must never go unnoticed, and must never leak.

One encrypted sample (values, nested maps, a list, inline and full-line
comments, a multi-line value, an ``_unencrypted`` key) is damaged in many ways;
every damaged copy must fail to decrypt with the right error class (library)
and exit code (CLI), print nothing on stdout, and never name a plaintext value
in its message.

Expected codes (errors.py): 25 TamperedValueError (a value, comment or layout
token fails), 51 MacMismatchError (the file MAC is missing, broken or
different), 128 NoIdentityError (the data key cannot be unwrapped).

Families:

* a fixed table of hand-made tamperings (library for all, CLI for a subset);
* the base64 policy: non-canonical base64 (only ignored bits changed) is not
  tampering;
* Hypothesis: one base64 character of any token changed;
* truncation at every offset of a small file;
* injections around the ``sops`` block and a metadata downgrade.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import TEST_PUBLIC, TEST_SECRET, run_encfile
from hypothesis import event, given, settings
from hypothesis import strategies as st

import encfile

SAMPLE = """\
# top-level comment zeta-comment-1
database:
  user: admin-user-xq7
  password: hunter2-pw-9zx  # inline comment kappa-inline-2
  port: 5432
  # first nested comment omega-note-3
  # second nested comment sigma-note-4
  replica:
    host: replica-host-v4b
    token: tok-a8f3k2
hosts:
  - alpha-host-m1q
  - beta-host-w2e
  - name: gamma-host-r3t
    weight: 7
certificate: |
  -----BEGIN CERT-----
  multiline-secret-one-p5
  multiline-secret-two-p6
  -----END CERT-----
api_unencrypted: public-endpoint-value
enabled: true
ratio: 1.5
"""

# Every encrypted plaintext (values and comments) worth looking for in messages.
SECRETS = (
    "zeta-comment-1", "admin-user-xq7", "hunter2-pw-9zx", "hunter2", "kappa-inline-2",
    "omega-note-3", "sigma-note-4", "replica-host-v4b", "tok-a8f3k2", "alpha-host-m1q",
    "beta-host-w2e", "gamma-host-r3t", "multiline-secret-one-p5", "multiline-secret-two-p6",
    "BEGIN CERT",
)

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
TOKEN_RE = re.compile(
    r"ENC\[AES256_GCM,data:(?P<data>[A-Za-z0-9+/=]*),iv:(?P<iv>[A-Za-z0-9+/=]*),"
    r"tag:(?P<tag>[A-Za-z0-9+/=]*),type:(?P<type>[a-z]+)\]"
)
FIELDS = ("data", "iv", "tag")
EXIT_OF = {encfile.TamperedValueError: 25, encfile.MacMismatchError: 51,
           encfile.NoIdentityError: 128}


# -- building the files once -------------------------------------------------------------

@functools.cache
def encrypted() -> str:
    """SAMPLE encrypted for the test key (built once: every test reads the same file)."""
    text = encfile.encrypt(SAMPLE, recipients=TEST_PUBLIC)
    assert encfile.decrypt(text, identities=[TEST_SECRET]) == SAMPLE
    for secret in SECRETS:
        assert secret not in text
    return text


@functools.cache
def other_encrypted() -> str:
    """The same SAMPLE encrypted again for the same recipient: another data key."""
    return encfile.encrypt(SAMPLE, recipients=TEST_PUBLIC)


# -- text surgery --------------------------------------------------------------------------

def token_span(enc: str, anchor: str, *, comment: bool = False) -> tuple[int, int]:
    """The span of the first ``ENC[...]`` after ``anchor`` (a ``#ENC[...]`` if ``comment``)."""
    pos = enc.index(anchor) + len(anchor)
    if comment:
        pos = enc.index("#ENC[", pos) + 1
    m = TOKEN_RE.search(enc, pos)
    assert m is not None and (comment or m.start() == pos), (anchor, enc[pos:pos + 40])
    return m.span()


def field_span(enc: str, tok_start: int, field: str) -> tuple[int, int]:
    m = TOKEN_RE.match(enc, tok_start)
    assert m is not None
    return m.span(field)


def flip(c: str) -> str:
    """Another base64 character whose top bit differs: it always changes the decoded bytes."""
    return B64[B64.index(c) ^ 0b100000]


def replace(text: str, span: tuple[int, int], new: str) -> str:
    return text[:span[0]] + new + text[span[1]:]


def flip_field(anchor: str, field: str, *, comment: bool = False) -> Callable[[str, str], str]:
    """Change one significant base64 character in the middle of a token's field."""
    def mutate(enc: str, other: str) -> str:
        start, _ = token_span(enc, anchor, comment=comment)
        s, e = field_span(enc, start, field)
        value = enc[s:e].rstrip("=")
        pos = s + len(value) // 2
        return enc[:pos] + flip(enc[pos]) + enc[pos + 1:]
    return mutate


def lines_of(enc: str) -> list[str]:
    return enc.splitlines(keepends=True)


def index_of_line(lines: list[str], prefix: str, nth: int = 0) -> int:
    found = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    return found[nth]


def swap_lines(prefix_a: str, prefix_b: str, nth_b: int = 0) -> Callable[[str, str], str]:
    def mutate(enc: str, other: str) -> str:
        lines = lines_of(enc)
        a = index_of_line(lines, prefix_a)
        b = index_of_line(lines, prefix_b, nth_b)
        assert a != b
        lines[a], lines[b] = lines[b], lines[a]
        return "".join(lines)
    return mutate


def drop_line(prefix: str) -> Callable[[str, str], str]:
    def mutate(enc: str, other: str) -> str:
        lines = lines_of(enc)
        del lines[index_of_line(lines, prefix)]
        return "".join(lines)
    return mutate


def replace_line(prefix: str, new: str) -> Callable[[str, str], str]:
    def mutate(enc: str, other: str) -> str:
        lines = lines_of(enc)
        lines[index_of_line(lines, prefix)] = new
        return "".join(lines)
    return mutate


def swap_tokens(anchor_a: str, anchor_b: str, *, comment_a: bool = False,
                comment_b: bool = False) -> Callable[[str, str], str]:
    def mutate(enc: str, other: str) -> str:
        a = token_span(enc, anchor_a, comment=comment_a)
        b = token_span(enc, anchor_b, comment=comment_b)
        (first, tf), (second, ts) = sorted([(a, enc[a[0]:a[1]]), (b, enc[b[0]:b[1]])])
        assert first[1] <= second[0]
        return enc[:first[0]] + ts + enc[first[1]:second[0]] + tf + enc[second[1]:]
    return mutate


def copy_token(src: str, dst: str, *, src_comment: bool = False,
               dst_comment: bool = False) -> Callable[[str, str], str]:
    """Overwrite the token after ``dst`` with a copy of the token after ``src``."""
    def mutate(enc: str, other: str) -> str:
        s = token_span(enc, src, comment=src_comment)
        return replace(enc, token_span(enc, dst, comment=dst_comment), enc[s[0]:s[1]])
    return mutate


def from_other(anchor: str) -> Callable[[str, str], str]:
    """The token at ``anchor`` replaced by the same token of the other file."""
    def mutate(enc: str, other: str) -> str:
        s = token_span(other, anchor)
        return replace(enc, token_span(enc, anchor), other[s[0]:s[1]])
    return mutate


def change_type(anchor: str, new_type: str) -> Callable[[str, str], str]:
    def mutate(enc: str, other: str) -> str:
        start, _ = token_span(enc, anchor)
        s, e = field_span(enc, start, "type")
        return replace(enc, (s, e), new_type)
    return mutate


def plaintext_value(enc: str, other: str) -> str:
    return replace(enc, token_span(enc, "\n  password: "), "hunter2-pw-9zx")


def change_lastmodified(enc: str, other: str) -> str:
    m = re.search(r'\n  lastmodified: "[0-9-]+T[0-9:]+(?P<digit>[0-9])Z"', enc)
    assert m is not None
    d = m.group("digit")
    return replace(enc, m.span("digit"), str((int(d) + 1) % 10))  # seconds stay < 60


def change_armor(enc: str, other: str) -> str:
    """One base64 character in the middle of the recipient's armored ``enc`` block."""
    lines = lines_of(enc)
    begin = index_of_line(lines, "        -----BEGIN AGE ENCRYPTED FILE-----")
    i = begin + 3  # a body line in the middle of the block, far from the padding
    assert not lines[i].strip().startswith("-----")
    pos = len(lines[i]) // 2
    lines[i] = lines[i][:pos] + flip(lines[i][pos]) + lines[i][pos + 1:]
    return "".join(lines)


def splice_sops_block(enc: str, other: str) -> str:
    return enc[:enc.index("\nsops:")] + other[other.index("\nsops:"):]


def splice_mac_from_other(enc: str, other: str) -> str:
    """lastmodified and mac both taken from the other file (self-consistent there)."""
    lines = lines_of(enc)
    other_lines = lines_of(other)
    for prefix in ("  lastmodified: ", "  mac: "):
        lines[index_of_line(lines, prefix)] = other_lines[index_of_line(other_lines, prefix)]
    return "".join(lines)


def add_unencrypted_key(enc: str, other: str) -> str:
    return enc.replace("\napi_unencrypted:", "\nextra_unencrypted: injected\napi_unencrypted:", 1)


def trailing_junk(enc: str, other: str) -> str:
    _, end = token_span(enc, "\n  user: ")
    return enc[:end] + "x" + enc[end:]


# -- the fixed table -------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    mutate: Callable[[str, str], str]
    error: type[encfile.EncfileError]
    cli: bool = False  # also run through the CLI


PW = "\n  password: "
LAYOUT = "\n  encfile_layout: "
MAC = "\n  mac: "
TOP_COMMENT = ""  # the first '#ENC[' of the file
INLINE_COMMENT = PW  # the '#ENC[' after the password value
NESTED_COMMENT = "\n  port: "  # the first full-line comment inside 'database'
T, M, N = encfile.TamperedValueError, encfile.MacMismatchError, encfile.NoIdentityError

CASES: dict[str, Case] = {
    # one character of a value token
    "value-data": Case(flip_field(PW, "data"), T, cli=True),
    "value-iv": Case(flip_field(PW, "iv"), T),
    "value-tag": Case(flip_field(PW, "tag"), T),
    "nested-value-data": Case(flip_field("\n    token: ", "data"), T),
    "list-item-tag": Case(flip_field("\n  - ", "tag"), T),
    "multiline-value-data": Case(flip_field("\ncertificate: ", "data"), T),
    # type changes: authentication passes (the type is not in the AAD), the parse fails
    "type-str-to-int": Case(change_type("\n  user: ", "int"), T, cli=True),
    "type-str-to-comment": Case(change_type("\n  user: ", "comment"), T),
    "type-int-to-bool": Case(change_type("\n  port: ", "bool"), T),
    "value-trailing-junk": Case(trailing_junk, T),
    # comment tokens
    "top-comment-data": Case(flip_field(TOP_COMMENT, "data", comment=True), T),
    "inline-comment-iv": Case(flip_field(INLINE_COMMENT, "iv", comment=True), T, cli=True),
    "nested-comment-tag": Case(flip_field(NESTED_COMMENT, "tag", comment=True), T),
    # layout token
    "layout-data": Case(flip_field(LAYOUT, "data"), T, cli=True),
    "layout-iv": Case(flip_field(LAYOUT, "iv"), T),
    "layout-tag": Case(flip_field(LAYOUT, "tag"), T),
    "layout-from-other-file": Case(from_other(LAYOUT), T),
    "layout-deleted": Case(drop_line("  encfile_layout: "), T),
    # the MAC and what it is bound to
    "mac-data": Case(flip_field(MAC, "data"), M, cli=True),
    "mac-iv": Case(flip_field(MAC, "iv"), M),
    "mac-tag": Case(flip_field(MAC, "tag"), M),
    "lastmodified-digit": Case(change_lastmodified, M, cli=True),
    "mac-deleted": Case(drop_line("  mac: "), M, cli=True),
    "mac-empty": Case(replace_line("  mac: ", '  mac: ""\n'), M),
    "mac-from-other-file": Case(from_other(MAC), M),
    "mac-and-lastmodified-from-other-file": Case(splice_mac_from_other, M),
    # the data key
    "armored-enc-block": Case(change_armor, N, cli=True),
    # whole tokens moved around
    "swap-two-keys": Case(swap_tokens("\n  user: ", PW), T, cli=True),
    "move-token-to-other-key": Case(copy_token(PW, "\n    host: "), T),
    "value-token-from-other-file": Case(from_other(PW), T),
    "reorder-list-items": Case(swap_lines("  - ENC[", "  - ENC[", 1), M, cli=True),
    "drop-list-item": Case(drop_line("  - ENC["), M),
    "token-replaced-by-plaintext": Case(plaintext_value, T, cli=True),
    "unencrypted-value-changed": Case(
        lambda enc, other: enc.replace("public-endpoint-value", "public-endpoint-valuf"), M,
        cli=True),
    "unencrypted-key-added": Case(add_unencrypted_key, M),
    # comments moved, removed, replaced
    "delete-comment-line": Case(drop_line("  #ENC["), T, cli=True),
    "swap-comments-same-map": Case(swap_lines("  #ENC[", "  #ENC[", 1), T),
    "swap-comments-across-maps": Case(
        swap_tokens(TOP_COMMENT, NESTED_COMMENT, comment_a=True, comment_b=True), T),
    "comment-replaced-by-plaintext": Case(replace_line("  #ENC[", "  # a harmless note\n"), T,
                                          cli=True),
    "comment-token-as-value": Case(copy_token(NESTED_COMMENT, "\n  user: ", src_comment=True),
                                   T),
    "value-token-as-comment": Case(copy_token("\n  user: ", NESTED_COMMENT, dst_comment=True),
                                   T),
    # the whole sops block of another file for the same recipient: its data key opens,
    # but it is the wrong key for these values
    "splice-sops-block": Case(splice_sops_block, T, cli=True),
}


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked in: {text!r}"


def error_text(err: encfile.EncfileError) -> str:
    parts = [str(err), repr(err), *map(str, err.args), *err.hints]
    cause = err.__cause__ or err.__context__
    if cause is not None:
        parts.append(str(cause))
    return "\n".join(parts)


def tampered(name: str) -> str:
    text = CASES[name].mutate(encrypted(), other_encrypted())
    assert text != encrypted(), "the mutation changed nothing"
    return text


@pytest.mark.parametrize("name", list(CASES))
def test_tampering_is_detected_library(name: str) -> None:
    case = CASES[name]
    text = tampered(name)
    with pytest.raises(encfile.EncfileError) as info:
        encfile.decrypt(text, identities=[TEST_SECRET])
    assert type(info.value) is case.error, f"{type(info.value).__name__}: {info.value}"
    assert_no_secret(error_text(info.value))
    # the data API must fail the same way
    with pytest.raises(case.error):
        encfile.loads(text, identities=[TEST_SECRET])


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.cli])
def test_tampering_is_detected_cli(name: str, env: dict[str, str], tmp_path: Path) -> None:
    case = CASES[name]
    path = tmp_path / "secrets.enc.yaml"
    path.write_text(tampered(name))
    result = run_encfile("-d", str(path), env=env)
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == EXIT_OF[case.error], stderr
    assert result.stdout == b""
    assert stderr.strip(), "a failure must say why"
    assert "Traceback" not in stderr
    assert_no_secret(stderr)


def test_untampered_file_decrypts_cli(env: dict[str, str], tmp_path: Path) -> None:
    """The control: the same file, unchanged, decrypts through the CLI."""
    path = tmp_path / "secrets.enc.yaml"
    path.write_text(encrypted())
    result = run_encfile("-d", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == SAMPLE


def test_wrong_identity_only() -> None:
    """Untouched file, but no matching identity: 128, and still no plaintext anywhere."""
    from conftest import OTHER_SECRET

    with pytest.raises(encfile.NoIdentityError) as info:
        encfile.decrypt(encrypted(), identities=[OTHER_SECRET])
    assert_no_secret(error_text(info.value))


# -- base64 policy ---------------------------------------------------------------------------
#
# Policy (the same as Go's base64.StdEncoding, which sops uses, and documented in
# encfile/token.py): the last base64 character before '=' padding carries bits
# that belong to no byte (2 bits with one '=', 4 bits with '=='). A decoder that
# is not in "strict" mode ignores them, so a change confined to those bits gives
# the very same bytes. GCM authenticates the bytes, not their spelling, so such a
# file is NOT tampered with: it decrypts to the original plaintext (and sops
# agrees). Any change to a bit that does belong to a byte must fail.

def ignored_bits(field: str) -> int:
    """How many low bits of the last significant character are ignored (0, 2 or 4)."""
    return {0: 0, 1: 2, 2: 4}[len(field) - len(field.rstrip("="))]


def only_ignored_bits_changed(field: str, offset: int, new: str) -> bool:
    """Would putting ``new`` at ``offset`` of ``field`` leave the decoded bytes as they are?"""
    old = field[offset]
    bits = ignored_bits(field)
    last = len(field.rstrip("=")) - 1
    if offset != last or bits == 0 or old == "=" or new == "=":
        return False
    return (B64.index(old) ^ B64.index(new)) < (1 << bits)


def with_char(text: str, pos: int, new: str) -> str:
    return text[:pos] + new + text[pos + 1:]


POLICY_TARGETS = {
    # anchor, comment?, field; every one of these fields ends in padding
    "value-iv-one-pad": (PW, False, "iv"),
    "value-tag-two-pads": (PW, False, "tag"),
    "value-data-one-pad": (PW, False, "data"),  # 'hunter2-pw-9zx': 14 bytes
    "value-data-two-pads": ("\n    token: ", False, "data"),  # 'tok-a8f3k2': 10 bytes
    "comment-iv": (NESTED_COMMENT, True, "iv"),
    "mac-tag": (MAC, False, "tag"),
    "layout-iv": (LAYOUT, False, "iv"),
}


@pytest.mark.parametrize("name", list(POLICY_TARGETS))
def test_noncanonical_base64_is_not_tampering(name: str) -> None:
    anchor, comment, field = POLICY_TARGETS[name]
    enc = encrypted()
    start, _ = token_span(enc, anchor, comment=comment)
    s, e = field_span(enc, start, field)
    value = enc[s:e]
    bits = ignored_bits(value)
    assert bits in (2, 4), f"{name}: {value!r} has no padding"
    last = len(value.rstrip("=")) - 1
    old = value[last]
    assert B64.index(old) & ((1 << bits) - 1) == 0, "encfile writes canonical base64"

    # only ignored bits: the same bytes, so the same plaintext
    for low in range(1, 1 << bits):
        new = B64[B64.index(old) ^ low]
        changed = value[:last] + new + value[last + 1:]
        assert changed != value
        assert base64.b64decode(changed) == base64.b64decode(value)
        text = with_char(enc, s + last, new)
        assert encfile.decrypt(text, identities=[TEST_SECRET]) == SAMPLE

    # the lowest bit that belongs to a byte: different bytes, so tampering
    new = B64[B64.index(old) ^ (1 << bits)]
    assert base64.b64decode(value[:last] + new + value[last + 1:]) != base64.b64decode(value)
    with pytest.raises(encfile.IntegrityError):
        encfile.decrypt(with_char(enc, s + last, new), identities=[TEST_SECRET])


def test_noncanonical_base64_decrypts_cli(env: dict[str, str], tmp_path: Path) -> None:
    enc = encrypted()
    start, _ = token_span(enc, PW)
    s, e = field_span(enc, start, "tag")
    last = s + len(enc[s:e].rstrip("=")) - 1
    path = tmp_path / "secrets.enc.yaml"
    path.write_text(with_char(enc, last, B64[B64.index(enc[last]) ^ 0b1111]))
    result = run_encfile("-d", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == SAMPLE


# -- Hypothesis: one base64 character of any token --------------------------------------------

@dataclass(frozen=True)
class FieldRef:
    kind: str  # value | comment | mac | layout
    start: int  # of the field's base64 in encrypted()
    end: int


@functools.cache
def field_refs() -> tuple[FieldRef, ...]:
    enc = encrypted()
    refs = []
    for m in TOKEN_RE.finditer(enc):
        line_start = enc.rfind("\n", 0, m.start()) + 1
        before = enc[line_start:m.start()]
        if before.endswith("#"):
            kind = "comment"
        elif before == "  mac: ":
            kind = "mac"
        elif before == "  encfile_layout: ":
            kind = "layout"
        else:
            kind = "value"
        for field in FIELDS:
            s, e = m.span(field)
            if e > s:
                refs.append(FieldRef(kind, s, e))
    kinds = {r.kind for r in refs}
    assert kinds == {"value", "comment", "mac", "layout"}, kinds
    return tuple(refs)


@st.composite
def one_char_change(draw: st.DrawFn) -> tuple[FieldRef, int, str]:
    ref = draw(st.sampled_from(field_refs()))
    field = encrypted()[ref.start:ref.end]
    last = len(field.rstrip("=")) - 1  # the character that may carry ignored bits
    offset = draw(st.integers(0, len(field) - 1) | st.just(last))
    old = encrypted()[ref.start + offset]
    new = draw(st.sampled_from([c for c in B64 + "=" if c != old]))
    return ref, offset, new


@settings(max_examples=200, deadline=None)
@given(change=one_char_change())
def test_any_base64_change_is_detected(change: tuple[FieldRef, int, str]) -> None:
    ref, offset, new = change
    enc = encrypted()
    field = enc[ref.start:ref.end]
    text = with_char(enc, ref.start + offset, new)
    event(ref.kind)
    if only_ignored_bits_changed(field, offset, new):
        event("only ignored bits changed: must decrypt")
        assert encfile.decrypt(text, identities=[TEST_SECRET]) == SAMPLE
        return
    with pytest.raises(encfile.IntegrityError) as info:
        encfile.decrypt(text, identities=[TEST_SECRET])
    expected = encfile.MacMismatchError if ref.kind == "mac" else encfile.TamperedValueError
    assert type(info.value) is expected, f"{ref.kind}: {type(info.value).__name__}"
    assert_no_secret(error_text(info.value))


# -- truncation ------------------------------------------------------------------------------

SMALL = """\
# small note trunc-comment-c1
key: trunc-secret-s1
list:
  - trunc-item-i1
n: 3
"""
SMALL_SECRETS = ("trunc-comment-c1", "trunc-secret-s1", "trunc-item-i1")


def test_truncation_never_yields_partial_plaintext() -> None:
    enc = encfile.encrypt(SMALL, recipients=TEST_PUBLIC)
    assert encfile.decrypt(enc, identities=[TEST_SECRET]) == SMALL
    wrong: list[tuple[int, str, str]] = []
    for cut in range(len(enc)):
        text = enc[:cut]
        try:
            out = encfile.decrypt(text, identities=[TEST_SECRET])
        except encfile.EncfileError as err:
            for secret in SMALL_SECRETS:
                assert secret not in error_text(err), (cut, err)
            continue
        # any other exception type propagates and fails the test
        if out != SMALL:
            wrong.append((cut, enc[max(0, cut - 25):cut], out[len(SMALL) - 5:]))
    assert not wrong, "truncations that decrypted to a different text (cut, tail, output end):\n" \
        + "\n".join(map(repr, wrong))


# -- injections around the sops block, and a metadata downgrade --------------------------------
#
# encfile promises (layout.py) that comments are authenticated in the files it
# writes, and rejects plaintext comments in them. These check the edges of that
# promise.

def test_plaintext_comment_after_sops_block_is_rejected() -> None:
    """An indented plaintext comment appended after the last metadata line."""
    text = encrypted() + "  # injected-by-attacker\n"
    with pytest.raises(encfile.TamperedValueError):
        out = encfile.decrypt(text, identities=[TEST_SECRET])
        assert "injected-by-attacker" not in out  # shows what slipped through


def test_appended_document_without_metadata_is_rejected() -> None:
    """encfile writes a sops block into every document; a bare extra one is foreign."""
    text = encrypted() + "---\n{}\n"
    with pytest.raises(encfile.IntegrityError):
        encfile.decrypt(text, identities=[TEST_SECRET])


@pytest.mark.parametrize("then", ["delete-comment", "plaintext-comment", "tamper-value"])
def test_metadata_downgrade_leaves_sops_guarantees(then: str) -> None:
    """Removing encfile_version and encfile_layout makes the file read as a sops file.

    That is a documented limit (docs/format.md, section 6): sops's own guarantees
    remain, and they cover values, not comments. So a deleted or plaintext comment is
    then accepted as sops accepts it, while a tampered value still fails.
    """
    lines = [line for line in lines_of(encrypted())
             if not line.startswith(("  encfile_version: ", "  encfile_layout: "))]
    assert len(lines) == len(lines_of(encrypted())) - 2
    i = index_of_line(lines, "  #ENC[")
    if then == "delete-comment":
        del lines[i]
    elif then == "plaintext-comment":
        lines[i] = "  # injected-by-attacker\n"
    else:
        j = next(k for k, line in enumerate(lines) if ": ENC[AES256_GCM,data:" in line
                 and not line.lstrip().startswith(("mac:", "#")))
        lines[j] = lines[j].replace("data:", "data:AAAA", 1)
    if then == "tamper-value":
        with pytest.raises(encfile.IntegrityError):
            encfile.decrypt("".join(lines), identities=[TEST_SECRET])
    else:
        out = encfile.decrypt("".join(lines), identities=[TEST_SECRET])
        assert ("injected-by-attacker" in out) == (then == "plaintext-comment")


# -- the layout stays bound to the values it describes -------------------------------------------

@pytest.mark.parametrize(("fmt", "plain", "before", "insert"), [
    # A clear null (neither MAC nor AAD covers it) would shift every later value's ordinal;
    # the layout's source text for `a` ("3.0") must not be shown under another key.
    ("json", '{"a": 3.0, "b": 2.50}\n', '{', ' "z": null,'),
    ("yaml", "a: 3.0\nb: 2.50\n", "", "z: null\n"),
    ("yaml", "a: 0x1F\nb: '7'\n", "", "z:\n"),
])
def test_clear_item_inserted_before_values_is_detected(fmt: str, plain: str, before: str,
                                                       insert: str) -> None:
    enc = encfile.encrypt(plain, recipients=TEST_PUBLIC, format=fmt)
    assert encfile.decrypt(enc, format=fmt, identities=[TEST_SECRET]) == plain
    at = len(before)
    tampered = enc[:at] + insert + enc[at:]
    with pytest.raises(encfile.IntegrityError, match="structure was changed"):
        encfile.decrypt(tampered, format=fmt, identities=[TEST_SECRET])


@pytest.mark.parametrize(("fmt", "plain", "old", "new"), [
    ("json", '{"port": 5432, "on": true}\n', "type:float]", "type:str]"),
    ("json", '{"port": 5432, "on": true}\n', "type:bool]", "type:str]"),
    ("yaml", "port: 5432\n", "type:int]", "type:str]"),
    ("yaml", "when: 2024-01-02\n", "type:time]", "type:str]"),
])
def test_changed_token_type_is_detected(fmt: str, plain: str, old: str, new: str) -> None:
    """sops does not authenticate a token's type (float -> str reads as the string "5432");
    encfile's layout binds the types of its own files."""
    enc = encfile.encrypt(plain, recipients=TEST_PUBLIC, format=fmt)
    assert old in enc
    with pytest.raises(encfile.IntegrityError, match="type of an encrypted value"):
        encfile.decrypt(enc.replace(old, new, 1), format=fmt, identities=[TEST_SECRET])


def test_removing_only_the_version_field_keeps_encfile_rules() -> None:
    """A file with its layout but without `encfile_version` is still held to encfile's rules:
    a line slipped in as a clear comment is refused, not shown."""
    enc = encfile.encrypt("A=1\n", recipients=TEST_PUBLIC, format="dotenv")
    downgraded = re.sub(r"sops_encfile_version=[^\n]*\n", "", enc)
    tampered = downgraded.replace("A=", "#injected line\nA=", 1)
    with pytest.raises(encfile.IntegrityError, match="should be encrypted"):
        encfile.decrypt(tampered, format="dotenv", identities=[TEST_SECRET])


@pytest.mark.parametrize(("plain", "old", "new"), [
    # a new key with an empty value: the MAC cannot see it (sops lets it through)
    ("a: 1\nb: x\n", "b: ENC", 'admin: ""\nb: ENC'),
    # two clear values re-split: the MAC hashes their concatenation
    ("x_unencrypted: ab\ny_unencrypted: c\n", "x_unencrypted: ab\ny_unencrypted: c",
     "x_unencrypted: a\ny_unencrypted: bc"),
    # a clear key renamed: the MAC does not cover keys
    ("host_unencrypted: db\npassword: x\n", "host_unencrypted:", "admin_unencrypted:"),
])
def test_structure_changes_the_mac_cannot_see_are_detected(plain: str, old: str,
                                                           new: str) -> None:
    enc = encfile.encrypt(plain, recipients=TEST_PUBLIC)
    assert old in enc
    with pytest.raises(encfile.IntegrityError, match="structure was changed"):
        encfile.decrypt(enc.replace(old, new, 1), identities=[TEST_SECRET])


def test_encrypted_list_item_swapped_with_an_empty_one() -> None:
    enc = encfile.encrypt('l:\n    - ""\n    - secret\n', recipients=TEST_PUBLIC)
    token = re.search(r"- (ENC\[[^\]]*\])", enc)
    assert token is not None
    swapped = enc.replace('- ""', "- " + token.group(1), 1).replace(
        "- " + token.group(1) + "\n    - " + token.group(1), "- " + token.group(1) + '\n    - ""')
    assert swapped != enc
    with pytest.raises(encfile.IntegrityError):
        encfile.decrypt(swapped, identities=[TEST_SECRET])
