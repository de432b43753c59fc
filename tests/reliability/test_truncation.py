"""A truncated encrypted file never yields partial or different plaintext.

Cut an encrypted file anywhere: decryption either fails (a typed encfile error, nothing
on stdout, no output file, no plaintext in the message), or, when only bytes that
nothing authenticates were cut (the final newline, or the trailing metadata lines that
only encfile reads), it yields exactly the original plaintext. Never a prefix of it,
never a traceback.

tests/test_tamper.py already cuts one small YAML file at every offset through the
library; this file does the same for JSON, dotenv, INI and binary files, samples 200
offsets of a large file in every format (YAML included), runs a fixed set of cuts per
format through the CLI (stdout, ``-o``, ``-i``), and pins what happens when only the
trailing whitespace is cut.
"""

from __future__ import annotations

import functools
import random
import re
import warnings
from pathlib import Path

import pytest
from conftest import TEST_PUBLIC, TEST_SECRET, TOKEN_RE, assert_cli_error, run_encfile

import encfile

# What a cut may legitimately fail with, and the CLI's codes for them (encfile/errors.py).
EXIT_OF: dict[type[encfile.EncfileError], int] = {
    encfile.NotEncryptedError: 1,  # the cut removed the whole metadata
    encfile.InputError: 2,  # no longer parses
    encfile.TamperedValueError: 25,
    encfile.MacMismatchError: 51,
    encfile.NoIdentityError: 128,  # the armored data key was cut
}
SUFFIX = {"yaml": ".enc.yaml", "json": ".enc.json", "dotenv": ".enc.env", "ini": ".enc.ini",
          "binary": ".enc.bin"}
FORMATS = tuple(SUFFIX)

SMALL = {
    "yaml": "# canary-c1-Tr1\nkey: canary-v1-Tr2\nlist:\n  - canary-i1-Tr3\n  - canary-i2-Tr4\n"
            "n: 3\n",
    "json": '{\n  "key": "canary-v1-Tr2",\n  "list": ["canary-i1-Tr3", "canary-i2-Tr4"],\n'
            '  "n": 3,\n  "on": true\n}\n',
    "dotenv": "# canary-c1-Tr1\nKEY=canary-v1-Tr2\nOTHER=canary-i1-Tr3\nN=3\n",
    "ini": "; canary-c1-Tr1\n[main]\nkey = canary-v1-Tr2\n[more]\nother = canary-i1-Tr3\n",
    "binary": "canary-v1-Tr2\x00\x01 raw bytes \u00e9\ncanary-i1-Tr3\n",
}
SMALL_CANARIES = ("canary-c1-Tr1", "canary-v1-Tr2", "canary-i1-Tr3", "canary-i2-Tr4",
                  "c1-Tr1", "v1-Tr2", "i1-Tr3", "i2-Tr4")

N_BIG = 120
BIG = {
    "yaml": "".join(f"# note canary-bc{i}-Yq\nsection{i}:\n  key: canary-bv{i}-Yq\n  n: {i}\n"
                    f"  list:\n    - canary-bl{i}-Yq\n" for i in range(N_BIG)),
    "json": "{\n" + ",\n".join(f'  "section{i}": {{"key": "canary-bv{i}-Jq", "n": {i}, '
                               f'"list": ["canary-bl{i}-Jq"]}}' for i in range(N_BIG)) + "\n}\n",
    "dotenv": "".join(f"# note canary-bc{i}-Dq\nKEY{i}=canary-bv{i}-Dq\n" for i in range(N_BIG)),
    "ini": "".join(f"[section{i}]\n; note canary-bc{i}-Iq\nkey = canary-bv{i}-Iq\n"
                   for i in range(N_BIG)),
    "binary": "".join(f"line {i} canary-bv{i}-Bq\n" for i in range(4 * N_BIG)),
}
BIG_CANARY = re.compile(r"canary-b[cvl]\d+-[YJDIB]q|b[cvl]\d+-[YJDIB]q")


@functools.cache
def encrypted(size: str, fmt: str) -> str:
    plain = (SMALL if size == "small" else BIG)[fmt]
    text = encfile.encrypt(plain, recipients=TEST_PUBLIC, format=fmt)
    assert decrypt(fmt, text) == plain
    assert "canary" not in text
    return text


def decrypt(fmt: str, text: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", encfile.EncfileWarning)
        return encfile.decrypt(text, format=fmt, identities=[TEST_SECRET])


def error_text(err: BaseException) -> str:
    parts = [str(err), repr(err), *map(str, err.args), *getattr(err, "hints", ())]
    cause = err.__cause__ or err.__context__
    if cause is not None:
        parts += [str(cause), repr(cause)]
    return "\n".join(parts)


def only_whitespace_cut(enc: str, cut: int) -> bool:
    return enc[cut:].strip() == ""


def check_cut(fmt: str, plain: str, enc: str, cut: int) -> str | None:
    """None if cutting ``enc`` at ``cut`` fails cleanly or gives ``plain``; else what's wrong.

    Any exception other than an EncfileError propagates and fails the test.
    """
    try:
        out = decrypt(fmt, enc[:cut])
    except encfile.EncfileError as err:
        if type(err) not in EXIT_OF:
            return f"cut {cut}: unexpected {type(err).__name__}: {err}"
        message = error_text(err)
        if "canary" in message or BIG_CANARY.search(message) or any(
                c in message for c in SMALL_CANARIES):
            return f"cut {cut}: plaintext in the message: {message!r}"
        return None
    if out != plain:
        return (f"cut {cut} (…{enc[max(0, cut - 30):cut]!r}): decrypted to a different text "
                f"(length {len(out)} of {len(plain)}, ends {out[-30:]!r})")
    return None


# -- the library: every offset of a small file, 200 offsets of a large one ------------------------

@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "yaml"])  # yaml: test_tamper.py
def test_every_offset_of_a_small_file(fmt: str) -> None:
    enc = encrypted("small", fmt)
    problems = [check_cut(fmt, SMALL[fmt], enc, cut) for cut in range(len(enc))
                if not only_whitespace_cut(enc, cut)]  # see test_cutting_the_final_newline
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems[:10])


def sampled_offsets(enc: str, seed: str) -> list[int]:
    """200 offsets: 150 over the whole file, 50 in the metadata (the last 8000 characters,
    where the armor, the MAC and the layout are), none that cut only whitespace."""
    rng = random.Random(seed)
    candidates = [c for c in range(len(enc)) if not only_whitespace_cut(enc, c)]
    tail = [c for c in candidates if c >= len(enc) - 8000]
    return sorted(set(rng.sample(candidates, 150)) | set(rng.sample(tail, 50)))


@pytest.mark.parametrize("fmt", FORMATS)
def test_sampled_offsets_of_a_large_file(fmt: str) -> None:
    enc = encrypted("big", fmt)
    assert len(enc) > 10_000
    offsets = sampled_offsets(enc, fmt)
    assert len(offsets) >= 190
    problems = [check_cut(fmt, BIG[fmt], enc, cut) for cut in offsets]
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems[:10])


# -- the CLI: fixed cuts per format ---------------------------------------------------------------

def cli_cuts(enc: str) -> dict[str, int]:
    """Named cut points found in the text, not hard-coded offsets."""
    first = TOKEN_RE.search(enc)
    armor = enc.index("-----BEGIN AGE ENCRYPTED FILE-----")
    mac = next(m for m in TOKEN_RE.finditer(enc)
               if enc[enc.rfind("\n", 0, m.start()):m.start()].rstrip(' "=:\t').endswith("mac"))
    stamp = re.search(r"lastmodified\W+\d{4}-\d\d-\d\dT\d\d", enc)
    assert first is not None and stamp is not None
    return {
        "empty": 0,
        "inside-first-token": (first.start() + first.end()) // 2,
        "after-first-token": first.end(),
        "before-armor": armor,
        "inside-armor": armor + 200,
        "inside-lastmodified": stamp.end(),
        "before-mac": mac.start(),
        "inside-mac-tag": mac.start("tag") + 5,
        "mac-without-bracket": mac.end() - 1,
        "last-significant-char": len(enc.rstrip()) - 1,
    }


CLI_CASES = [pytest.param(fmt, name, id=f"{fmt}-{name}") for fmt in FORMATS
             for name in cli_cuts(encrypted("small", fmt))]


@pytest.mark.parametrize(("fmt", "name"), CLI_CASES)
def test_cli_truncated_file(fmt: str, name: str, env: dict[str, str], tmp_path: Path) -> None:
    enc = encrypted("small", fmt)
    cut = cli_cuts(enc)[name]
    path = tmp_path / f"cut{SUFFIX[fmt]}"
    path.write_text(enc[:cut])
    result = run_encfile("-d", str(path), env=env)
    if result.returncode == 0:
        assert result.stdout.decode("utf-8", "surrogateescape") == SMALL[fmt]
        return
    assert result.returncode in EXIT_OF.values(), result.stderr
    stderr = assert_cli_error(result, result.returncode)
    assert not any(c in stderr for c in SMALL_CANARIES), stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_truncated_file_writes_nothing(fmt: str, env: dict[str, str],
                                          tmp_path: Path) -> None:
    """``-o``: no output file at all; ``-i``: the truncated input is left as it was."""
    enc = encrypted("small", fmt)
    cut = cli_cuts(enc)["inside-mac-tag"]
    path = tmp_path / f"cut{SUFFIX[fmt]}"
    path.write_text(enc[:cut])
    out = tmp_path / "plain.out"
    first = run_encfile("-d", str(path), "-o", str(out), env=env)
    assert first.returncode != 0
    assert_cli_error(first, first.returncode)
    assert not out.exists()
    second = run_encfile("-d", "-i", str(path), env=env)
    assert_cli_error(second, first.returncode)
    assert path.read_text() == enc[:cut]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["home", path.name])


# -- only the trailing whitespace cut -----------------------------------------------------------

@pytest.mark.parametrize("fmt", ["yaml", "json", "dotenv", "ini", "binary"])
def test_cutting_the_final_newline(fmt: str, env: dict[str, str], tmp_path: Path) -> None:
    """The final newline is outside every token and the MAC: cutting it must fail or give
    exactly the original plaintext (with its final newline)."""
    enc = encrypted("small", fmt)
    assert enc.endswith("\n") and SMALL[fmt].endswith("\n")
    try:
        out: str | None = decrypt(fmt, enc[:-1])
    except encfile.IntegrityError:
        out = None
    path = tmp_path / f"cut{SUFFIX[fmt]}"
    path.write_text(enc[:-1])
    result = run_encfile("-d", str(path), env=env)
    if out is None:
        assert_cli_error(result, result.returncode)
        return
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8", "surrogateescape") == out
    assert out == SMALL[fmt], f"{out[-20:]!r} instead of {SMALL[fmt][-20:]!r}"
