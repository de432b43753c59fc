"""Unit tests for the merge driver's pieces: the line merge (:mod:`encfile.merge3`), the
per-key data merge (``gitmerge.merge_data``) and the text layout (``gitmerge.layout``)."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from encfile.document import parse_plain
from encfile.gitmerge import _leaves, layout, merge_data
from encfile.merge3 import merge

FAST = settings(max_examples=150, deadline=None, database=None)


def joined(chunks: list) -> list[str] | None:
    """The merged lines, or None when there is a conflict chunk."""
    if any(c[0] == "conflict" for c in chunks):
        return None
    return [line for c in chunks for line in c[1]]


# --- merge3 ---------------------------------------------------------------------------

@pytest.mark.parametrize(("base", "ours", "theirs", "expected"), [
    ("abc", "abc", "abc", [("ok", list("abc"))]),
    ("abc", "aXc", "abc", [("ok", list("aXc"))]),
    ("abc", "abc", "abY", [("ok", list("abY"))]),
    ("abc", "aXc", "aXc", [("ok", list("aXc"))]),
    ("abcde", "aXcde", "abcdY", [("ok", list("aXcdY"))]),
    ("abc", "aXc", "aYc", [("ok", ["a"]), ("conflict", ["b"], ["X"], ["Y"]), ("ok", ["c"])]),
    ("ac", "aXc", "aYc", [("ok", ["a"]), ("conflict", [], ["X"], ["Y"]), ("ok", ["c"])]),
    ("ab", "abX", "abY", [("ok", list("ab")), ("conflict", [], ["X"], ["Y"])]),
    ("abc", "ac", "abc", [("ok", list("ac"))]),
    ("abc", "abc", "", []),
    ("abc", "ac", "ac", [("ok", list("ac"))]),
    ("abc", "ac", "aYc", [("ok", ["a"]), ("conflict", ["b"], [], ["Y"]), ("ok", ["c"])]),
    ("", "", "", []),
    ("", "ab", "", [("ok", list("ab"))]),
    ("", "ab", "ab", [("ok", list("ab"))]),
    ("", "X", "Y", [("conflict", [], ["X"], ["Y"])]),
])
def test_merge3_table(base: str, ours: str, theirs: str, expected: list) -> None:
    assert merge(list(base), list(ours), list(theirs)) == expected


LINES = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "d\n", "\n"]), max_size=10)


@FAST
@given(LINES, LINES)
def test_merge3_one_side_changed(base: list[str], other: list[str]) -> None:
    taken = merge(base, base, other)
    assert all(c[0] == "ok" for c in taken)
    assert joined(taken) == other
    assert joined(merge(base, other, base)) == other
    assert joined(merge(base, other, other)) == other


@FAST
@given(LINES, st.one_of(LINES, st.just(None)), LINES)
def test_merge3_general(base: list[str], ours: list[str] | None, theirs: list[str]) -> None:
    ours = base if ours is None else ours
    chunks = merge(base, ours, theirs)
    result = joined(chunks)
    if result is not None and ours == base:
        assert result == theirs
    # no empty or adjacent ok chunks; a conflict is two different changes
    for first, second in itertools.pairwise(chunks):
        assert (first[0], second[0]) != ("ok", "ok")
    for c in chunks:
        assert c[0] == "conflict" or c[1]
        if c[0] == "conflict":
            assert c[2] != c[3] and c[1] not in (c[2], c[3])
    # the sides are symmetric
    swapped = [c if c[0] == "ok" else (c[0], c[1], c[3], c[2]) for c in chunks]
    assert merge(base, theirs, ours) == swapped


# --- merge_data -----------------------------------------------------------------------

DB = {"db": {"user": "app", "password": "old"}}


def db(**changes: object) -> list[dict]:
    inner = {**DB["db"], **changes}
    return [{"db": {k: v for k, v in inner.items() if v is not None}}]


@pytest.mark.parametrize(("base", "ours", "theirs", "merged", "conflicts"), [
    ([DB], db(password="new"), [DB], {"user": "app", "password": "new"}, {}),
    ([DB], [DB], db(password="new"), {"user": "app", "password": "new"}, {}),
    ([DB], db(password="n"), db(password="n"), {"user": "app", "password": "n"}, {}),
    ([DB], db(password="o"), db(password="t"), {"user": "app"}, {"db.password": ("o", "t")}),
    ([DB], db(host="h"), [DB], {"user": "app", "password": "old", "host": "h"}, {}),
    ([DB], db(host="h"), db(port=5), {"user": "app", "password": "old", "host": "h",
                                      "port": 5}, {}),
    ([DB], [DB], db(password=None), {"user": "app"}, {}),
    ([DB], db(password=None), db(password=None), {"user": "app"}, {}),
    ([DB], db(password=None), db(password="t"), {"user": "app"}, {"db.password": (None, "t")}),
    ([DB], db(password="o"), db(password=None), {"user": "app"}, {"db.password": ("o", None)}),
    ([DB], db(host="a"), db(host="b"), {"user": "app", "password": "old"},
     {"db.host": ("a", "b")}),
], ids=["ours", "theirs", "same", "conflict", "added", "added-both", "removed", "removed-both",
        "removed-vs-changed", "changed-vs-removed", "added-differently"])
def test_merge_data_table(base, ours, theirs, merged, conflicts) -> None:
    got, found = merge_data(base, ours, theirs)
    assert got == {("db", k): v for k, v in merged.items()}
    assert found == conflicts


@pytest.mark.parametrize(("ours", "theirs", "merged", "conflicts"), [
    (True, 1, True, {}),
    (1, 1.0, 1.0, {}),
    ("1", 1, "1", {}),
    (True, 1.0, None, {"a": (True, 1.0)}),
    ([1, 2, 3], [1, 2], [1, 2, 3], {}),
    ([1, 2], [0, 1, 2], [0, 1, 2], {}),
    ([1, 2, 3], [0, 1, 2], None, {"a": ([1, 2, 3], [0, 1, 2])}),
    ({}, [2], None, {"a": ({}, [2])}),
])
def test_merge_data_types_and_lists(ours, theirs, merged, conflicts) -> None:
    base = [1, 2] if isinstance(ours, list) or isinstance(theirs, list) else 1
    got, found = merge_data([{"a": base}], [{"a": ours}], [{"a": theirs}])
    assert found == conflicts
    assert got == ({} if merged is None else {("a",): merged})
    if merged is not None:
        assert type(got[("a",)]) is type(merged)


def test_merge_data_choose_settles() -> None:
    args = ([DB], db(password="o"), db(password="t"))
    for pick, value in (("theirs", "t"), ("ours", "o")):
        got, found = merge_data(*args, choose={"db.password": pick})
        assert found == {} and got[("db", "password")] == value
    got, found = merge_data(*args, choose={"db.user": "theirs"})
    assert "db.password" in found


def test_merge_data_multi_document() -> None:
    base = parse_plain("a: 1\n---\nb: 1\n", "yaml").to_python()
    ours = parse_plain("a: 2\n---\nb: 2\n", "yaml").to_python()
    theirs = parse_plain("a: 1\n---\nb: 3\n", "yaml").to_python()
    assert len(base) == 2
    got, found = merge_data(base, ours, theirs)
    assert got == {(0, "a"): 2}
    assert found == {"1.b": (2, 3)}


@pytest.mark.parametrize(("base", "ours", "theirs"), [
    ({"a": 1}, {}, {"a": 1, "b": 2}),
    ({"db": {"a": 1}}, {"db": {}}, {"db": {"a": 1, "b": 2}}),
    ({"db": {"a": 1}}, {"db": 5}, {"db": {"a": 1, "b": 2}}),
])
def test_merge_data_no_leaf_under_a_leaf(base, ours, theirs) -> None:
    got, found = merge_data([base], [ours], [theirs])
    paths = set(got)
    assert found or not any(p[:n] in paths for p in paths for n in range(len(p)))


# --- layout ---------------------------------------------------------------------------

def data(text: str, fmt: str) -> dict:
    return _leaves(parse_plain(text, fmt).to_python())


def run_layout(base: str, ours: str, theirs: str, fmt: str):
    merged, conflicts = merge_data(*(parse_plain(t, fmt).to_python()
                                     for t in (base, ours, theirs)))
    assert conflicts == {}
    return merged, layout(base, ours, theirs, fmt=fmt, merged=merged)


KV = {"yaml": "{}: {}\n", "dotenv": "{}={}\n"}


@pytest.mark.parametrize("fmt", ["yaml", "dotenv"])
def test_layout_appends_on_both_sides(fmt: str) -> None:
    base = KV[fmt].format("a", "1")
    merged, out = run_layout(base, base + KV[fmt].format("ours_key", "2"),
                             base + KV[fmt].format("their_key", "3"), fmt)
    assert out is not None
    text, notes = out
    assert "ours_key" in text and "their_key" in text and notes == []
    assert data(text, fmt) == merged


@pytest.mark.parametrize("fmt", ["yaml", "dotenv"])
def test_layout_comment_changed_on_both_sides(fmt: str) -> None:
    body = KV[fmt].format("a", "1") + "# {}\n" + KV[fmt].format("b", "2")
    merged, out = run_layout(body.format("base"), body.format("ours"), body.format("theirs"),
                             fmt)
    assert out is not None
    text, notes = out
    assert text == body.format("ours")
    assert notes == ["line 2: both sides changed this line; kept ours, without their change "
                     "to comments or formatting"]
    assert data(text, fmt) == merged


def test_layout_note_points_at_kept_lines() -> None:
    base = "A=1\nB=2\n# c\nC=3\n"
    ours = "A=1\nX=1\nB=2\n# c ours\nC=3\n"
    theirs = "A=1\nY=1\nB=2\n# c theirs\nC=3\n"
    _, out = run_layout(base, ours, theirs, "dotenv")
    assert out is not None
    text, notes = out
    assert text == "A=1\nX=1\nY=1\nB=2\n# c ours\nC=3\n"
    assert notes == ["line 5: both sides changed this line; kept ours, without their change "
                     "to comments or formatting"]


@pytest.mark.parametrize(("base", "ours", "theirs", "merged"), [
    # both sides made one change alike, ours made another next to it: one conflicting
    # run for diff3, all of it ours, and nothing of theirs is lost
    ("K0=3\nK1=1\nK2=3\n", "K0=9\nK1=4\nK2=3\n", "K0=9\nK1=1\nK2=3\n", "K0=9\nK1=4\nK2=3\n"),
    ("api: k1\nlevel: 3\n", "api: k2\nlevel: 4\n", "api: k2\nlevel: 3\n",
     "api: k2\nlevel: 4\n"),
    # one side changed a value, the other the neighbouring one
    ("a=1\nb=1\n", "a=2\nb=1\n", "a=1\nb=2\n", "a=2\nb=2\n"),
    # a layout that keeps an old line next to the new one holds the right data in
    # dotenv (the last one wins), but writes the key twice: not a layout
    ("K0=2\nK1=2\n", "K0=2\nK1=9\n", "K0=7\nK1=9\n", "K0=7\nK1=9\n"),
], ids=["same-change-and-one-more", "same-change-and-one-more-yaml", "neighbours",
        "no-key-twice"])
def test_layout_of_value_changes_has_no_note(base: str, ours: str, theirs: str,
                                             merged: str) -> None:
    fmt = "yaml" if ": " in base else "dotenv"
    _, out = run_layout(base, ours, theirs, fmt)
    assert out == (merged, [])


def test_layout_note_names_the_side_whose_comment_was_dropped() -> None:
    """Ours changed a comment, theirs the value on that line: the value must be theirs, so
    the line is theirs, and it is our comment that is dropped."""
    base = "a: 1  # c\nb: 2\n"
    _, out = run_layout(base, "a: 1  # ours\nb: 2\n", "a: 5  # c\nb: 2\n", "yaml")
    assert out == ("a: 5  # c\nb: 2\n", [
        "line 1: both sides changed this line; kept theirs, without our change to comments "
        "or formatting"])


def test_layout_of_comments_added_at_one_place_keeps_ours_and_says_so() -> None:
    base = "A=1\nB=2\n"
    _, out = run_layout(base, "A=1\n# ours\nB=2\n", "A=1\n# theirs\nB=2\n", "dotenv")
    assert out == ("A=1\n# ours\nB=2\n", [
        "line 2: both sides changed this line; kept ours, without their change to comments "
        "or formatting"])


KEYS = ["K1", "K2", "K3", "K4", "K5", "K6"]
VALUES = st.sampled_from(["v1", "v2", "v3"])


@st.composite
def sides(draw: st.DrawFn) -> tuple[str, str, str]:
    """A flat dotenv base and two sides; each key is edited by at most one side."""
    base_keys = draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=5))
    base = [(k, draw(VALUES)) for k in base_keys]
    owner = {k: draw(st.sampled_from(["ours", "theirs"])) for k in KEYS}
    out = []
    for side in ("ours", "theirs"):
        lines = []
        for k, v in base:
            if owner[k] != side:
                lines.append((k, v))
            elif (action := draw(st.sampled_from(["keep", "edit", "drop"]))) != "drop":
                lines.append((k, draw(VALUES) if action == "edit" else v))
        for k in KEYS:
            if owner[k] == side and k not in base_keys and draw(st.booleans()):
                lines.insert(draw(st.integers(0, len(lines))), (k, draw(VALUES)))
        out.append(lines)
    # a line nobody touches: an emptied file is the bug test_merge_data_no_leaf_under_a_leaf
    # shows, not a layout problem
    return tuple("PIN=0\n" + "".join(f"{k}={v}\n" for k, v in lines)
                 for lines in (base, *out))


def test_layout_text_holds_the_merged_data() -> None:
    count: Counter[str] = Counter()

    @settings(max_examples=200, deadline=None, database=None)
    @given(sides())
    def check(texts: tuple[str, str, str]) -> None:
        merged, out = run_layout(*texts, "dotenv")
        event("laid out" if out is not None else "no layout")
        count["laid out" if out is not None else "no layout"] += 1
        if out is not None:
            assert data(out[0], "dotenv") == merged

    check()
    assert count["laid out"] >= 0.6 * sum(count.values()), count


def test_a_second_document_on_one_side_is_no_false_conflict() -> None:
    got, found = merge_data([{"a": 1}], [{"a": 1}, {"b": 2}], [{"a": 2}])
    assert found == {}
    assert got == {(0, "a"): 2, (1, "b"): 2}


def test_dotted_keys_get_their_own_label() -> None:
    _, found = merge_data([{"db.password": 1, "db": {"password": 1}}],
                          [{"db.password": 2, "db": {"password": 2}}],
                          [{"db.password": 3, "db": {"password": 3}}])
    assert set(found) == {'"db.password"', "db.password"}


def test_a_replaced_map_conflicts_with_changes_inside_it_until_chosen() -> None:
    base, ours, theirs = [{"db": {"a": 1}}], [{"db": 5}], [{"db": {"a": 1, "b": 2}}]
    got, found = merge_data(base, ours, theirs)
    assert found == {"db": (5, {"a": 1, "b": 2})} and got == {}
    got, found = merge_data(base, ours, theirs, choose={"db": "theirs"})
    assert found == {} and got == {("db", "a"): 1, ("db", "b"): 2}
    got, found = merge_data(base, ours, theirs, choose={"db": "ours"})
    assert found == {} and got == {("db",): 5}
