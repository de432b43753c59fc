"""Comments get the same key path (AAD) from encfile as from sops, over a grid of layouts.

sops decrypts each comment under the path of the map or list go-yaml attaches it to;
encfile replays go-yaml's rules (formats/yaml.py, flush_pending). Here the real sops
encrypts each layout, every comment token is opened under each candidate path with the
data key, and the path that opens it must be the one encfile chooses.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import KEY_FILE, SHARED, TEST_PUBLIC, TEST_SECRET

from encfile import crypto, token
from encfile.formats import yaml as yaml_codec
from encfile.keysources import age
from encfile.metadata import Metadata
from encfile.rules import Rules
from encfile.tree import walk

pytestmark = pytest.mark.sops
NEST = "a:\n  b:\n    c:\n      d: 1\n"  # blocks at columns 0, 2, 4 and 6


def encfile_paths(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for root in yaml_codec.parse(text).roots:
        walk(root, Rules.default(), lambda *_: None,
             lambda c, aad, _: out.__setitem__(c.text, aad))
    return out


def sops_paths(text: str, sops: str, tmp: Path) -> dict[str, set[str]]:
    """Each comment's text -> the paths sops sealed it under (sops repeats comments inside
    anchored nodes at every alias it expands, so a text can have several)."""
    plain = tmp / "in.yaml"
    plain.write_text(text)
    env = dict(os.environ, SOPS_AGE_KEY_FILE=str(KEY_FILE))
    enc = subprocess.run([sops, "encrypt", "--age", TEST_PUBLIC, str(plain)], env=env,
                         capture_output=True, text=True, check=True).stdout
    parsed = yaml_codec.parse(enc)
    group = Metadata.from_dict(parsed.metadata).key_groups[0]
    key = age.unwrap(group.of_kind("age")[0].enc, age.parse_identities(TEST_SECRET).identities)
    assert key is not None
    cipher = crypto.Cipher(key)
    candidates = {":"}
    for root in parsed.roots:
        walk(root, Rules.default(),
             lambda _n, aad, _e: candidates.update(
                 ":".join(aad.split(":")[:i]) + ":" for i in range(1, aad.count(":"))),
             lambda _c, aad, _e: candidates.add(aad))
    out: dict[str, set[str]] = {}
    for match in re.finditer(r"ENC\[AES256_GCM,[^\]]*type:comment\]", enc):
        tok = token.parse(match.group(0))
        for path in sorted(candidates):
            try:
                out.setdefault(token.open_token(cipher, tok, path).decode(), set()).add(path)
                break
            except crypto.AuthenticationFailed:
                continue
    return out


def check(text: str, sops: str, tmp: Path) -> None:
    ours = encfile_paths(text)
    theirs = sops_paths(text, sops, tmp)
    wrong = {k: (v, theirs[k]) for k, v in ours.items() if k in theirs and v not in theirs[k]}
    assert not wrong, f"{text}\ncomment: (encfile's path, sops's paths): {wrong}"
    assert set(theirs) <= set(ours)


# One comment after a nested block: every column, with or without blank lines around it,
# before a key at every level.
@pytest.mark.parametrize(("before", "col", "after", "next_col"), [
    (b, c, a, n) for b, a in itertools.product(("", "\n"), repeat=2)
    for c in range(0, 8) for n in (0, 2, 4, 6)])
def test_one_comment_after_a_nested_block(before: str, col: int, after: str, next_col: int,
                                          sops_bin: str, tmp_path: Path) -> None:
    text = NEST + before + " " * col + "# X\n" + after + " " * next_col + "e: 2\n"
    check(text, sops_bin, tmp_path)


# Three comment runs separated by blank lines, at block columns.
@pytest.mark.slow
@pytest.mark.parametrize(("cols", "next_col"), [
    (cols, n) for cols in itertools.product((0, 2, 4, 6), repeat=3) for n in (0, 2)])
def test_three_comment_runs(cols: tuple[int, int, int], next_col: int, sops_bin: str,
                            tmp_path: Path) -> None:
    runs = "\n".join(" " * c + f"# C{i}\n" for i, c in enumerate(cols))
    check(NEST + runs + " " * next_col + "e: 2\n", sops_bin, tmp_path)


@pytest.mark.parametrize("text", [
    "l:\n- a\n# c\no: 1\n", "l:\n- a\n\n# c\no: 1\n", "m:\n  l:\n  - a\n    # c\n  o: 1\n",
    "m:\n  l:\n  - a\n\n# c\no: 1\n", "l:\n  - a\n  # c\no: 1\n", "l:\n- a\n# c\n- b\n",
    "l:\n- - a\n  # c\n- b\n", "a:\n  # head of b\n  b: 1\n", "a: # line\n  b: 1\n",
    "a: [x, y] # c\nb: 1\n", "a: 1\n# end\n", "a:\n  b: 1\n  # end, nested\n",
    "p:\n  c:\n    s:\n      cap:\n        drop:\n        - ALL\n\n      # X\n  w:\n    s: 1\n",
])
def test_lists_and_line_comments(text: str, sops_bin: str, tmp_path: Path) -> None:
    check(text, sops_bin, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not present")
@pytest.mark.parametrize("path", sorted((SHARED / "corpus" / "real" / "yaml").glob("*"))
                         if SHARED.is_dir() else [], ids=lambda p: p.name)
def test_real_files(path: Path, sops_bin: str, tmp_path: Path) -> None:
    text = path.read_text(encoding="utf-8-sig")
    try:
        check(text, sops_bin, tmp_path)
    except subprocess.CalledProcessError:
        pytest.skip("sops cannot encrypt this file")
