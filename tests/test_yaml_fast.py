"""The Python event scanner agrees with libyaml wherever it answers.

``yaml_fast.events`` may decline any text; when it answers, every event must match
libyaml's: type, start and end marks (index, line, column), value, style, tag, anchor,
implicit flags and flow style. The YAML codec builds its tree from these events, so
agreement here means ``encfile -d`` gives the same bytes on either path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_PUBLIC, corpus_files
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml.cyaml import CParser

import encfile
from encfile.formats import yaml_fast


def libyaml(text: str) -> list[Any] | None:
    parser = CParser(text)
    out = []
    try:
        while True:
            event = parser.get_event()
            out.append(event)
            if type(event).__name__ == "StreamEndEvent":
                return out
    except Exception:  # libyaml refuses the text
        return None


def shape(event: Any) -> tuple[Any, ...]:
    s, e = event.start_mark, event.end_mark
    return (type(event).__name__, s.index, s.line, s.column, e.index, e.line, e.column,
            getattr(event, "value", None), getattr(event, "style", None) or "",
            getattr(event, "tag", None), getattr(event, "anchor", None),
            getattr(event, "implicit", None), bool(getattr(event, "flow_style", None)))


def agrees(text: str) -> bool:
    """True when the scanner answered (and matched libyaml), False when it declined."""
    ours = yaml_fast.events(text)
    if ours is None:
        return False
    theirs = libyaml(text)
    assert theirs is not None, f"accepted what libyaml refuses: {text!r}"
    assert [shape(e) for e in ours] == [shape(e) for e in theirs], text
    return True



def test_every_corpus_file_agrees_or_is_declined(shared: Path) -> None:
    answered = 0
    for path in corpus_files(shared, ".yaml", ".yml"):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        answered += agrees(text)
    assert answered >= 50  # the scanner is exercised, not just declining


def test_encrypted_real_files_mostly_take_the_fast_path(shared: Path) -> None:
    answered = total = 0
    for path in sorted(shared.joinpath("corpus", "real").rglob("*.y*ml")):
        try:
            text = encfile.encrypt(path.read_text(encoding="utf-8"), recipients=TEST_PUBLIC,
                                   format="yaml")
        except (encfile.EncfileError, UnicodeDecodeError):
            continue
        total += 1
        answered += agrees(text)
    sops_made = sorted(shared.joinpath("corpus", "sops-made").rglob("*.y*ml"))
    for path in sops_made:
        total += 1
        answered += agrees(path.read_text(encoding="utf-8"))
    assert total and answered / total >= 0.5, (answered, total)


@pytest.mark.parametrize("text", [
    "a: 1\n",
    "a: 1",
    "# head\n\nroot:\n  child: x  # note\n\n  other: 'it''s'\nlist:\n- a\n-  b\nnext: \"q\\\"\\u00e9\"\n",
    "- a\n- k: v\n  k2: [ ]\n-\n  - nested\n- {}\n",
    "a: |\n  line one\n  line two\nb: |-\n    kept\nc: 3\n",
    "\"64\": x\n'200':\n  - 1\n",
    "---\na: 1\n---\nb: 2\n",
    "--- # c\na: 1\n",
    "k: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str] #ENC[AES256_GCM,data:x,type:comment]\n",
    "app.kubernetes.io/name: web\nkey with spaces: v\nx: -5\n",
])
def test_fixed_shapes_are_answered_and_agree(text: str) -> None:
    assert agrees(text)


@pytest.mark.parametrize("text", [
    "", "# only\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: >\n  f\n", "a: [1, 2]\n",
    "a: b\n  c\n", "a:\tb\n", "a: 1\r\n", "\ufeffa: 1\n", "%YAML 1.2\n---\na: 1\n",
    "a: 1\n...\n", "a: |+\n  x\n\nb: 1\n", "? a\n: b\n", "a: 'x\n  y'\n", "a: \"\\x41\"\n",
    "a: b\x01c\n", "a: \ud800\n", "a: \x7f\n", "- x:\n#", "  _:\n#", "  1: \"\"\n ",
])
def test_yaml_beyond_the_shape_is_declined(text: str) -> None:
    assert yaml_fast.events(text) is None


_KEYS = st.sampled_from(["a", "b", "key", "db", "x.y", "api-key", "'q'", '"d"', "k v", "-k"])
_VALUES = st.sampled_from([
    "1", "x", "'s'", '"d\\n"', "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]",
    "[]", "{}", "[ ]", "a b", "-5", "x # c", "''", '""', "true", "~", ":x", "-", "a:b",
    "&a", "*a", "!t", "[1]", "'unclosed", "x:", "|", "|-"])


@st.composite
def documents(draw: st.DrawFn, depth: int = 0) -> str:
    indent = draw(st.sampled_from([2, 4]))
    lines: list[str] = []
    if depth < 2 and draw(st.integers(0, 3)) == 0:
        for _ in range(draw(st.integers(1, 3))):
            if depth < 1 and draw(st.booleans()):
                inner = draw(documents(depth + 1)).splitlines()
                lines.append("- " + inner[0])
                lines += ["  " + line for line in inner[1:]]
            else:
                lines.append("- " + draw(_VALUES))
        return "\n".join(lines) + "\n"
    for key in draw(st.lists(_KEYS, min_size=1, max_size=4, unique=True)):
        roll = draw(st.integers(0, 5))
        if depth < 2 and roll == 0:
            inner = draw(documents(depth + 1)).splitlines()
            lines.append(f"{key}:" + draw(st.sampled_from(["", "  # c"])))
            pad = draw(st.sampled_from([indent, 0])) if inner[0].startswith("- ") else indent
            lines += [" " * pad + line for line in inner]
        elif roll == 1:
            lines.append(f"{key}: |" + draw(st.sampled_from(["", "-"])))
            lines += [" " * indent + "text " + str(n) for n in range(draw(st.integers(1, 2)))]
        else:
            lines.append(f"{key}: {draw(_VALUES)}")
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(st.sampled_from(["", "# c", "  # c", "---"])))
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""]))


@settings(max_examples=500, deadline=None)
@given(documents())
def test_fuzzed_documents_agree_with_libyaml(text: str) -> None:
    agrees(text)


@settings(max_examples=500, deadline=None)
@given(documents(), st.integers(0, 10_000), st.sampled_from(list(" -:#'\"[]{}|\n\\x&*!?")))
def test_one_changed_character_never_makes_it_disagree(text: str, where: int, char: str) -> None:
    pos = where % (len(text) + 1)
    agrees(text[:pos] + char + text[pos:])
