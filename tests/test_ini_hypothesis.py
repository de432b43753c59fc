"""Hypothesis: generated INI files round-trip byte for byte, and read as go-ini reads them.

Each generated file is a list of lines: section headers (names may repeat), ``key<sep>value``
lines (unique keys within one section block, optional indentation, the same for a block's
keys, as deeper would make configparser continuation lines; separators ``=``, `` = ``,
``:``, ``: ``), full-line ``;``/``#`` comments and blank lines, joined with LF or CRLF, with or
without a final newline. Values are drawn as text that go-ini reads in a known way:

* bare text (spaces, quotes, ``%``, ``=``, ``:``, ``[]``...), optionally followed by an inline
  ``; comment``/``# comment``: read trimmed, cut at the first ``;``/``#``, and unquoted when
  one pair of ``'``/``"`` surrounds the rest (``go_ini_bare`` below);
* a backtick-quoted value (may hold ``;``, ``#``, spaces at the ends): read as is.

The expected data model: sections with the same name merge (later values win, first
places kept), keys before any header are section ``DEFAULT`` (left out when it has no
keys). Header comments (``[s] ; c``) are covered by test_ini_codec.py, not generated here.
"""

from __future__ import annotations

import warnings
from typing import Any

from conftest import TEST_PUBLIC, TEST_SECRET
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import encfile

KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
SECTION_CHARS = KEY_CHARS + " :/"
BARE_CHARS = "abcxyzABC019 %'\"=:;#.,/[]()@!?$&*+-_éü✓\t"
BACKTICK_CHARS = "abcxyz019 %'\"=:;#.,[]\\é"
COMMENT_CHARS = "abcxyz019 %'\"=:;#.,[]`\\é"

keys = st.text(KEY_CHARS, min_size=1, max_size=8).filter(lambda k: k[0] not in "-." and k != "-")
section_names = st.one_of(
    st.text(SECTION_CHARS, min_size=1, max_size=10).map(str.strip).filter(
        lambda s: bool(s) and s != "sops"),
    st.sampled_from(["DEFAULT", "Service", "core", "testenv:py3"]),
)


def go_ini_bare(raw: str) -> str:
    """What go-ini v1.67 reads from an unquoted value ``raw`` (no backslash at the end)."""
    line = raw.strip()
    for i, c in enumerate(line):
        if c in ";#":
            line = line[:i].strip()
            break
    for q in "'\"":
        if len(line) >= 2 and line[0] == q and line[-1] == q and line.count(q) == 2:
            return line[1:-1]
    return line


@st.composite
def values(draw: Any) -> tuple[str, str]:
    """(the value as written after the separator, the value go-ini reads)."""
    kind = draw(st.sampled_from(["bare", "bare", "bare", "comment", "backtick", "empty"]))
    if kind == "empty":
        return draw(st.sampled_from(["", " ", "  "])), ""
    if kind == "backtick":
        core = draw(st.text(BACKTICK_CHARS, max_size=12))
        return f"`{core}`", core
    raw = draw(st.text(BARE_CHARS, min_size=1, max_size=16))
    stripped = raw.lstrip()
    if stripped.startswith('"""') or raw.rstrip().endswith("\\"):
        raw = "x" + raw.replace('"""', '"x"')
    if kind == "comment":
        marker = draw(st.sampled_from([" ;", " #", ";", "#"]))
        raw = raw + marker + draw(st.text(COMMENT_CHARS.replace("\\", ""), max_size=10))
    return raw, go_ini_bare(raw)


@st.composite
def ini_files(draw: Any) -> tuple[str, dict[str, dict[str, str]]]:
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    lines: list[str] = []
    data: dict[str, dict[str, str]] = {"DEFAULT": {}}
    blocks = draw(st.integers(1, 4))
    for b in range(blocks):
        if b > 0 or draw(st.booleans()):
            name = draw(section_names)
            lines.append(f"[{name}]")
        else:
            name = "DEFAULT"
        section = data.setdefault(name, {})
        used: set[str] = set()
        # one indentation per block: a key indented deeper than the key above it is a
        # configparser continuation line, which encfile reads as configparser does
        indent = draw(st.sampled_from(["", "", "", "  ", "\t"]))
        for _ in range(draw(st.integers(0, 5))):
            what = draw(st.sampled_from(["key", "key", "key", "comment", "blank"]))
            if what == "blank":
                lines.append(draw(st.sampled_from(["", " ", "\t"])))
                continue
            if what == "comment":
                marker = draw(st.sampled_from([";", "#", "; ", "# ", "  ;", "\t#"]))
                lines.append(marker + draw(st.text(COMMENT_CHARS, max_size=20)))
                continue
            key = draw(keys.filter(lambda k, taken=frozenset(used): k not in taken))
            used.add(key)
            sep = draw(st.sampled_from([" = ", "=", ": ", ":", " =", "\t=\t"]))
            written, read = draw(values())
            if sep.endswith((" ", "\t")) and written == "":
                sep = sep.rstrip()
            lines.append(f"{indent}{key}{sep}{written}")
            section[key] = read
    if not any(data.values()):
        lines.append("k = v")
        data["DEFAULT" if not any(line.startswith("[") for line in lines) else name]["k"] = "v"
    text = nl.join(lines)
    if draw(st.booleans()):
        text += nl
    if not data["DEFAULT"]:
        del data["DEFAULT"]
    return text, data


def _encrypt(text: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", encfile.EncfileWarning)
        return encfile.encrypt(text, recipients=TEST_PUBLIC, format="ini")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ini_files())
def test_round_trip_and_data(case: tuple[str, dict[str, dict[str, str]]]) -> None:
    text, data = case
    enc = _encrypt(text)
    assert encfile.decrypt(enc, format="ini", identities=[TEST_SECRET]) == text
    assert encfile.loads(enc, format="ini", identities=[TEST_SECRET]) == data


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ini_files())
def test_encrypted_file_is_stable_under_re_encryption(
        case: tuple[str, dict[str, dict[str, str]]]) -> None:
    """Decrypt, encrypt again, decrypt: the same text (nothing drifts across cycles)."""
    text, _ = case
    once = encfile.decrypt(_encrypt(text), format="ini", identities=[TEST_SECRET])
    twice = encfile.decrypt(_encrypt(once), format="ini", identities=[TEST_SECRET])
    assert twice == text
