"""The JSON codec's one-findall walk builds exactly the tree of the token-by-token walk.

``json_bulk.build`` may decline (None) any text; when it answers, the parsed document
must equal what ``json._Builder`` makes of the same text: every node's type, kind, text,
span and ordinal, the root's members with their spans, the metadata and its place, the
notes. Checked on the corpus (plain and encrypted), on fixed shapes and on generated
documents in many layouts; and end to end, ``-d`` gives the same bytes either way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_PUBLIC, TEST_SECRET, corpus_files
from hypothesis import given, settings
from hypothesis import strategies as st

import encfile
from encfile.formats import json as json_codec
from encfile.formats import json_bulk
from encfile.tree import Branch, Scalar, Seq

pytestmark = pytest.mark.filterwarnings("ignore::encfile.EncfileWarning")


def node_shape(item: Any) -> Any:
    if isinstance(item, tuple):
        return ("item", item[0], node_shape(item[1]))
    if isinstance(item, (Branch, Seq)):
        return (type(item).__name__, item.start, item.end, item.ordinal,
                [node_shape(i) for i in item])
    assert isinstance(item, Scalar)
    return ("Scalar", item.kind, item.text, item.start, item.end, item.ordinal, item.ctx)


def parsed_shape(parsed: Any) -> dict[str, Any]:
    return {"text": parsed.text, "bom": parsed.bom, "root": node_shape(parsed.root),
            "members": [(m.key, m.key_start, m.value_end) for m in parsed.members],
            "meta": (parsed.meta_raw, parsed.meta_index), "notes": list(parsed.sops_notes),
            "scalars": [node_shape(n) for n in parsed.scalars]}


def agrees(text: str) -> bool:
    """True when the bulk walk answered (and matched the token walk); False when it
    declined or the codec refuses the text (before either walk)."""
    try:
        json.loads(text.removeprefix("\ufeff"))
    except (ValueError, RecursionError):
        return False
    bom = text.startswith("\ufeff")
    body = text[1:] if bom else text
    start = len(body) - len(body.lstrip(" \t\n\r"))
    if body[start:start + 1] != "{":
        return False
    try:
        theirs = json_codec._Builder(body, bom).build(start)
    except encfile.EncfileError:
        with pytest.raises(encfile.EncfileError):
            json_bulk.build(body, bom, start)
        return False
    ours = json_bulk.build(body, bom, start)
    if ours is None:
        return False
    assert parsed_shape(ours) == parsed_shape(theirs), text
    return True



def test_corpus_files_and_their_encryptions_agree(shared: Path) -> None:
    answered = encrypted = 0
    for path in corpus_files(shared, ".json"):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        answered += agrees(text)
        try:
            sealed = encfile.encrypt(text, recipients=TEST_PUBLIC, format="json")
        except encfile.EncfileError:
            continue
        encrypted += agrees(sealed)
    assert answered >= 40 and encrypted >= 40, (answered, encrypted)


@pytest.mark.parametrize("text", [
    '{}', '{"a": 1}', ' \n{"a":"b","c":[1,2.50,{"d":null}],"e":{"f":true,"g":false}} \n',
    '{\n\t"k": "v",\n\t"n": {\n\t\t"x": -1e5,\n\t\t"l": []\n\t}\n}\n',
    '{"esc": "a\\nb\\u00e9\\\\x", "k\\u0041": 1, "": ""}',
    '{"sops": {"a": [1, {"b": "c"}]}, "after": 1}', '{"x": 1, "sops": null}',
    '{"a": 1, "sops": {"mac": "m"}, "sops": {"mac": "n"}}',
    '{"big": 123456789012345678901234567890, "tiny": 1e-320, "neg": -0.0}',
    '\ufeff{"bom": 1}', '{"a": [[], [[]], {}, [{"b": [1]}]]}',
    '{ "spaced" : [ 1 , 2 ] , "x" :{ } }',
])
def test_fixed_shapes_agree(text: str) -> None:
    assert agrees(text)


@pytest.mark.parametrize("text", ['{"q": "say \\"hi\\""}', '{"ends": "back\\\\"}'])
def test_escaped_quotes_are_left_to_the_token_walk(text: str) -> None:
    assert json_bulk.build(text, False, 0) is None


_LEAVES = (st.none() | st.booleans() | st.integers(-10**25, 10**25)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(alphabet=st.sampled_from(list('ab é"\\\n\t/\u2028\ud7ff<&')), max_size=6))
_KEYS = st.sampled_from(["a", "b", "sops", "k\\", "é", "", "x y", 'q"'])
JSON = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(_KEYS, inner, max_size=4), max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_KEYS, JSON, max_size=5), st.sampled_from([None, 0, 1, 2, "\t"]),
       st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : ")]), st.booleans(),
       st.sampled_from(["", "\n", " \r\n"]))
def test_generated_documents_agree(data: dict[str, Any], indent: int | str | None,
                                   separators: tuple[str, str], ascii_only: bool,
                                   tail: str) -> None:
    agrees(json.dumps(data, indent=indent, separators=separators,
                      ensure_ascii=ascii_only) + tail)


def test_decrypt_gives_the_same_bytes_on_either_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    data = {f"service{i}": {f"key{j}": f"v{i}-{j}" for j in range(10)} for i in range(50)}
    data["mixed"] = {"n": 1.5, "b": True, "z": None, "l": [1, "two", {"three": 3}]}
    plain = json.dumps(data, indent="\t") + "\n"
    sealed = encfile.encrypt(plain, recipients=TEST_PUBLIC, format="json")
    assert json_bulk.build(sealed, False, 0) is not None
    bulk = encfile.decrypt(sealed, format="json", identities=[TEST_SECRET])
    monkeypatch.setattr(json_bulk, "build", lambda text, bom, start: None)
    assert encfile.decrypt(sealed, format="json", identities=[TEST_SECRET]) == bulk == plain


def test_the_quick_string_check_escapes_what_json_emit_escapes() -> None:
    from encfile.formats import json_emit

    assert json_codec._NEEDS_ESCAPE.pattern == json_emit._NEEDS_ESCAPE.pattern
    opened = [Scalar("str", "", 0, 0, 0), Scalar("str", "", 0, 0, 1)]
    for text in ["plain", "a<b", "new\nline", "é", "\u2028", "q\"", "ENC[x,y:z]"]:
        opened[0].out = ("str", text)
        opened[1].out = ("str", "ok")
        quick = json_codec._plain_strings(opened)
        if quick is not None:
            assert [r for _, _, r in quick] == [json_emit.scalar("str", text), '"ok"']
        else:
            assert json_emit.scalar("str", text) != f'"{text}"'
