"""The config reader's subset of YAML agrees with ruamel wherever it answers at all.

``config_yaml.parse`` may decline (return None) for anything; when it answers, the
data and the line of every key and item must be what ruamel's round-trip loader gives.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from encfile import config_yaml

R1 = "age1rv3z4rt8wl49ujg8fvvca03g7wfgqrnvqj9n9wz5uyr2zcwr5gdsmknx3v"

ACCEPTED = [
    "",
    "# only a comment\n",
    f"creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {R1}\n",
    f"creation_rules:\n- path_regex: '.*\\.env$'\n  age: >-\n    {R1}\n",  # declined: folded
    f'creation_rules:\n  - path_regex: "^secrets/.*"\n    age: "{R1},{R1}"\n',
    f"creation_rules:\n  - path_regex: prod/.*\n    key_groups:\n      - age:\n          - {R1}\n"
    f"      - age: [{R1}]\n    shamir_threshold: 2\n",
    "exec:\n  files: [a.enc.env, b.enc.yaml]\nmax_age: 90  # days\n",
    "exec:\n  files:\n  - a.enc.env\n  -   b.enc.env\n",
    "creation_rules:\n  - encrypted_regex: ^(data|stringData)$\n    mac_only_encrypted: true\n",
    "a: it's\nb: 'it''s'\nc: \"tab\\there \\\"q\\\" \\\\ \\/\"\nd: x#y\ne: ~\nf:\ng: null\n",
    "a: True\nb: FALSE\nc: yes\nd: off\ne: -5\nf: +7\ng: 0\nh: [ ]\ni: [a, b,]\n",
    "creation_rules:\r\n  - path_regex: x\r\n    age: y\r\n",
    "top:\n    deep:\n        deeper: 1\n    back: 2\nnext: 3\n",
    "- a\n- b: 1\n  c: 2\n-\n  - nested\n-\n",
]

DECLINED = [
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: |\n  text\n",
    "a: {b: 1}\n",
    "a: 010\n",
    "a: 1.5\n",
    "a: 2024-01-01\n",
    "a: 0x1F\n",
    "a: b\n  c\n",
    "a: 1\na: 2\n",
    "---\na: 1\n",
    "a:\tb\n",
    '"a": 1\n',
    'a: "\\x41"\n',
    "a: 'open\n",
    "a: b: c\n",
    "? a\n: b\n",
    "a: [b, [c]]\n",
    "<<: {a: 1}\n",
]


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return ("float", float(value))
    if isinstance(value, str):
        return str(value)
    return ("other", type(value).__name__, str(value))


def lines(value: Any) -> Any:
    """Every key's and item's line, nested, from ruamel's or our ``lc``."""
    if isinstance(value, dict):
        return {str(k): (value.lc.key(k)[0], lines(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [(value.lc.item(i)[0], lines(v)) for i, v in enumerate(value)]
    return None


def ruamel(text: str) -> Any:
    data = YAML(typ="rt").load(text)
    return {} if data is None else data


def agrees(text: str) -> bool:
    """True when parse() answered (and the answer matched ruamel); False when it declined."""
    ours = config_yaml.parse(text)
    if ours is None:
        return False
    try:
        theirs = ruamel(text)
    except YAMLError as err:
        raise AssertionError(f"parse() accepted what ruamel refuses: {text!r}") from err
    assert plain(ours) == plain(theirs), text
    if isinstance(theirs, (dict, list)) and (theirs or not text.strip()):
        assert lines(ours) == lines(theirs), text
    return True


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_configs_match_ruamel(text: str) -> None:
    answered = agrees(text)
    assert answered or ">-" in text


@pytest.mark.parametrize("text", DECLINED)
def test_yaml_beyond_the_subset_is_declined(text: str) -> None:
    assert config_yaml.parse(text) is None


# -- fuzz: small config-like documents, then one character changed --------------------------

_WORDS = st.sampled_from(["a", "b", "age", "path_regex", "x_y", "k.v", "true", "False", "null",
                          "~", "0", "12", "-3", "1.5", "07", "yes", "it's", "a#b", "a b",
                          "\\.enc$", "^x/.*", "2024-01-01", "0x10", "[", "-", "::", "'q'",
                          '"d\\tq"', '"\\x"', "''", "[a, b]", "[]", "&a", "*a", "!t", "|", "{}"])
_KEYS = st.sampled_from(["a", "b", "age", "path_regex", "files", "k-1", "x.y", "'q'", "? k"])


@st.composite
def documents(draw: st.DrawFn, depth: int = 0) -> str:
    indent = draw(st.sampled_from([2, 4]))
    if depth < 2 and draw(st.booleans()):
        item_lines = []
        for _ in range(draw(st.integers(1, 3))):
            if depth < 1 and draw(st.booleans()):
                inner = draw(documents(depth + 1)).splitlines()
                item_lines.append("- " + inner[0])
                item_lines += [" " * 2 + line for line in inner[1:]]
            else:
                item_lines.append("- " + draw(_WORDS))
        return "\n".join(item_lines) + "\n"
    out = []
    for key in draw(st.lists(_KEYS, min_size=1, max_size=4)):
        if depth < 2 and draw(st.integers(0, 3)) == 0:
            inner = draw(documents(depth + 1)).splitlines()
            out.append(f"{key}:" + draw(st.sampled_from(["", "  # c"])))
            out += [" " * indent + line for line in inner]
        else:
            comment = draw(st.sampled_from(["", " # note", "#x"]))
            out.append(f"{key}: {draw(_WORDS)}{comment}")
    return "\n".join(out) + "\n"


@settings(max_examples=400, deadline=None)
@given(documents())
def test_fuzzed_documents_agree_with_ruamel(text: str) -> None:
    agrees(text)


@settings(max_examples=400, deadline=None)
@given(documents(), st.integers(0, 10_000), st.sampled_from(list(" -:#'\"[]\t\n\\x0{&")))
def test_one_changed_character_never_makes_it_disagree(text: str, where: int, char: str) -> None:
    pos = where % (len(text) + 1)
    agrees(text[:pos] + char + text[pos:])
