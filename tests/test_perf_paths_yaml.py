"""The bulk YAML reader builds exactly the tree the event path builds, wherever it answers.

``yaml_bulk.parse`` may decline any text; when it answers, the parsed stream must equal
what ``yaml.parse_events`` makes of the same text: every node's type, kind, text, span,
ordinal and context, every document field (spans of the ``sops`` block, where it is
inserted, the indent step), the notes about what sops reads otherwise. Checked on the
corpus (plain and encrypted), on the benchmark's shape, on fixed shapes and on fuzzed
documents; and end to end, ``encfile -d`` and ``-e`` give the same bytes either way.
"""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

import pytest
from conftest import SOPS_VECTORS, TEST_PUBLIC, TEST_SECRET, corpus_files
from hypothesis import given, settings
from hypothesis import strategies as st

import encfile
from encfile.formats import yaml as yaml_codec
from encfile.formats import yaml_bulk
from encfile.tree import Alias, Branch, Comment, Scalar, Seq

pytestmark = pytest.mark.filterwarnings("ignore::encfile.EncfileWarning",
                                        "ignore::encfile.EncfileNote")

DOC_FIELDS = ("start", "insert_at", "flow_root", "step", "root_col", "directive", "meta_raw",
              "meta_span", "wrap", "meta_tail", "flow_prefix", "meta_flow_start")


def node_shape(item: Any) -> Any:
    if isinstance(item, tuple):
        return ("item", item[0], node_shape(item[1]))
    if isinstance(item, (Branch, Seq)):
        return (type(item).__name__, item.start, item.end, item.ordinal, item.ctx,
                [node_shape(i) for i in item])
    if isinstance(item, Scalar):
        return (type(item).__name__, item.kind, item.text, item.start, item.end, item.ordinal,
                item.ctx, item.out)
    if isinstance(item, Comment):
        return ("Comment", item.text, item.start, item.end, item.ctx, item.out)
    if isinstance(item, Alias):
        return ("Alias", item.source, item.start, item.end, item.ordinal,
                node_shape(item.target))
    raise TypeError(item)


def parsed_shape(parsed: Any) -> dict[str, Any]:
    return {
        "text": parsed.text, "bom": parsed.bom, "nl": parsed.nl,
        "docs": [({f: getattr(d, f) for f in DOC_FIELDS}, node_shape(d.root))
                 for d in parsed.docs],
        "clear_blocks": [node_shape(n) for n in parsed.clear_blocks],
        "alias_comments": [node_shape(n) for n in parsed.alias_comments],
        "sops_notes": list(parsed.sops_notes),
        "overrides": dict(parsed.overrides),
    }


def agrees(text: str) -> bool:
    """True when the bulk reader answered (and matched the event path), False when it
    declined. Text the event path refuses must be declined."""
    ours = yaml_bulk.parse(text)
    try:
        theirs = yaml_codec.parse_events(text, "")
    except encfile.EncfileError:
        assert ours is None, f"accepted what the event path refuses: {text!r}"
        return False
    if ours is None:
        return False
    assert parsed_shape(ours) == parsed_shape(theirs), text
    return True


def bench_data(values: int, seed: int = 7) -> dict[str, dict[str, str]]:
    """The shape benchmarks/bench.py generates: maps of ten 20-character strings."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits
    return {f"service{i:04d}": {f"key{j}": "".join(rng.choice(alphabet) for _ in range(20))
                                for j in range(10)} for i in range(values // 10)}


def bench_yaml(values: int) -> str:
    return "".join(f"{group}:\n" + "".join(f"    {k}: {v}\n" for k, v in keys.items())
                   for group, keys in bench_data(values).items())



def test_corpus_files_and_their_encryptions_agree(shared: Path) -> None:
    answered = encrypted = 0
    for path in corpus_files(shared, ".yaml", ".yml"):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        answered += agrees(text)
        try:
            sealed = encfile.encrypt(text, recipients=TEST_PUBLIC, format="yaml")
        except encfile.EncfileError:
            continue
        encrypted += agrees(sealed)
    assert answered >= 30 and encrypted >= 80, (answered, encrypted)  # not just declining


def test_the_benchmark_shape_takes_the_bulk_path() -> None:
    plain = bench_yaml(300)
    sealed = encfile.encrypt(plain, recipients=TEST_PUBLIC)
    assert agrees(plain) and agrees(sealed)
    # sops's own writing of a file of this shape (testdata/sops, made by sops 3.11)
    sops_made = [p for p in sorted(SOPS_VECTORS.glob("*.enc.yaml")) if agrees(p.read_text())]
    assert sops_made


@pytest.mark.parametrize("text", [
    "a: 1\n",
    "a: 1\nb:\n  c: x\n  d:\ne:\n- 1\n-   two\nf:\n    - 3\n123: 99999999999999999999999\n",
    "\n\na: 1\n\n  \nb:   spaced out  value\n",
    "q: 'it''s'\nd: \"plain double\"\ne: ''\nf: \"\"\n",
    "x: -5\ny: :x\nz: ?y\nw: -\u00e9\nv: a:b\nu: a [b] {c}, d\nt: ENC[x]\n",
    "true: 1\n0755: 2\n1.5: 3\nnull: 5\nyes: 6\n",
    "big: 18446744073709551616\nint: 9223372036854775808\nneg: -9223372036854775809\n",
    "times: 2024-01-02\nt2: 2024-01-02T03:04:05Z\nf: 1e3\nh: 0x1F\no: 0o17\nb: .inf\n",
    "a:\n    b:\n        c: 1\n    d: 2\ne: 3\n",
    "list:\n- ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:comment]\n- x\n",
    "a:\nb:\n", "sopsx: 1\nsops_x: 2\n",
    "k: v\nsops:\n    age: []\n    version: 3.11.0\n",
])
def test_fixed_shapes_are_answered_and_agree(text: str) -> None:
    assert agrees(text)


@pytest.mark.parametrize("text", [
    "", "a: 1", "# c\na: 1\n", "a: 1 # c\n", "a: &x 1\nb: *x\n", "a: !!str 1\n",
    "a: [1, 2]\n", "a: {}\n", "a: b\n  c\n", "a:\tb\n", "a: 1\r\n", "\ufeffa: 1\n",
    "---\na: 1\n", "a: 1\n...\n", "a: |\n  x\n", "? a\n: b\n", "'q': 1\n", "a: 'x\n  y'\n",
    "a: \"\\x41\"\n", "a: b\x01c\n", "a: \x85\n", "- a\n", "  a: 1\n", "a: 1\na: 2\n",
    "a: b: c\n", "a: b:\n", "a: trailing \n", "a:\n  - x: 1\n", "a:\n  -\n", "a:\n  - - x\n",
    "a: 1\nsops: 2\nb: 3\n", "a: 1\nsops:\n  x: 1\nb: 2\n", "a:\n  b: 1\n c: 2\n",
    "a:\n- x\n  y: 1\n", "a: b\n- c\n", "a: 'x' y\n", "a: \"x\" y\n",
    "a: -\n", "a: - x\n", "a: '''\n", "sops:\n    version: 3.11.0\n",
])
def test_yaml_beyond_the_shape_is_declined(text: str) -> None:
    assert yaml_bulk.parse(text) is None


_KEYS = st.sampled_from(["a", "b", "key", "db", "x.y", "api-key", "k v", "1", "true", "sops",
                         "'q'", "-k", "~", "0x1"])
_VALUES = st.sampled_from([
    "1", "x", "'s'", "'it''s'", '"d"', '"d\\n"', "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,"
    "type:str]", "a b", "-5", "''", '""', "true", "~", ":x", "-", "a:b", "a: b", "x:", "[]",
    "&a", "*a", "!t", "'unclosed", "|", "é", "18446744073709551616", "2024-1-2", ".5", "no",
    "x ", "? y", "--", "---", "...", "%x", "@x", "a #c", "a#b", "1_000", "+1", "0o7"])


@st.composite
def documents(draw: st.DrawFn, depth: int = 0) -> str:
    indent = draw(st.sampled_from([2, 4]))
    lines: list[str] = []
    if depth and draw(st.integers(0, 3)) == 0:
        for _ in range(draw(st.integers(1, 3))):
            lines.append("- " + draw(_VALUES))
        return "\n".join(lines) + "\n"
    for key in draw(st.lists(_KEYS, min_size=1, max_size=4, unique=True)):
        roll = draw(st.integers(0, 5))
        if depth < 2 and roll == 0:
            inner = draw(documents(depth + 1)).splitlines()
            lines.append(f"{key}:" + draw(st.sampled_from(["", " ", "  "])))
            pad = draw(st.sampled_from([indent, 0])) if inner[0].startswith("- ") else indent
            lines += [" " * pad + line if line else line for line in inner]
        elif roll == 1:
            lines.append(f"{key}:")
        else:
            lines.append(f"{key}:" + draw(st.sampled_from([" ", "  "])) + draw(_VALUES))
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", "# c"])))
    return "\n".join(lines) + "\n"


_SOPS_BLOCKS = st.sampled_from([
    "",
    "sops:\n    version: 3.11.0\n",
    "sops:\n    age:\n        - recipient: age1x\n          enc: |\n            -----BEGIN AGE"
    " ENCRYPTED FILE-----\n            YWJj\n            -----END AGE ENCRYPTED FILE-----\n"
    "    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: ENC[AES256_GCM,data:AA==,iv:AA==,"
    "tag:AA==,type:str]\n    version: 3.11.0\n",
    "sops:\n  mac: x\n\n",
    "sops: {}\n",
])


@settings(max_examples=400, deadline=None)
@given(documents(), _SOPS_BLOCKS)
def test_fuzzed_documents_agree_with_the_event_path(text: str, block: str) -> None:
    agrees(text + block)


@settings(max_examples=400, deadline=None)
@given(documents(), _SOPS_BLOCKS, st.integers(0, 10_000),
       st.sampled_from(list(" -:#'\"[]{}|\n\\x&*!?\t\r\x00\u2028")))
def test_one_changed_character_never_makes_it_disagree(text: str, block: str, where: int,
                                                       char: str) -> None:
    text += block
    pos = where % (len(text) + 1)
    agrees(text[:pos] + char + text[pos:])


def test_decrypt_and_encrypt_give_the_same_bytes_on_either_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    plain = bench_yaml(200) + "extra:\n- a\n- 'b'\nempty:\nnumber: 12\n"
    sealed = encfile.encrypt(plain, recipients=TEST_PUBLIC)
    assert yaml_bulk.parse(sealed) is not None
    bulk = encfile.decrypt(sealed, identities=[TEST_SECRET])
    tree = encfile.open_encrypted(sealed, identities=[TEST_SECRET]).data()
    monkeypatch.setattr(yaml_bulk, "parse", lambda text: None)
    assert encfile.decrypt(sealed, identities=[TEST_SECRET]) == bulk == plain
    assert encfile.open_encrypted(sealed, identities=[TEST_SECRET]).data() == tree


_WORDS = st.text(alphabet=st.sampled_from(list("aAbBeExXoOyYnNtT_.@/-019:+ é")), min_size=1,
                 max_size=8)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(_WORDS, st.sampled_from(sorted(yaml_codec._NOT_AS_IS)),
                 st.from_regex(r"[0-9]{1,4}[a-zA-Z][A-Za-z0-9]{0,4}", fullmatch=True)),
       st.sampled_from([-1, 0, 4, 9]))
def test_strings_taken_as_they_are_render_as_they_are(text: str, ctx: int) -> None:
    """The quick checks in the YAML codec and the bulk reader say what yaml_emit and
    yaml_resolve say, only sooner: a string written as it is, a string read as one."""
    from encfile.formats import yaml_emit, yaml_resolve

    node = Scalar("str", text, 0, 0, 0, ctx)
    quick = yaml_codec._AS_IS.match(text) is not None and text not in yaml_codec._NOT_AS_IS
    full = [yaml_emit.render_scalar("str", text, flow=flow) for flow in (False, True)]
    if quick:
        assert full == [text, text]
        assert yaml_codec._render_plain(node, "str", text, "", "\n", 4) == text
    if yaml_bulk._DIGITS_WORD.match(text):
        assert yaml_resolve.resolve_plain(text) == ("str", text)


def test_the_unscanned_class_is_the_complement_of_the_plain_characters() -> None:
    import re

    from encfile.formats import yaml_fast

    plain = re.compile(f"[{yaml_fast.PLAIN_CHARS}]")
    unscanned = [c for c in map(chr, range(0x110000)) if yaml_fast.UNSCANNED.match(c)]
    assert unscanned == [c for c in map(chr, range(0x110000)) if not plain.match(c)]
    ascii_ok = {chr(b) for b in yaml_bulk._ASCII_OK}
    assert ascii_ok == {chr(c) for c in range(128) if plain.match(chr(c))}
