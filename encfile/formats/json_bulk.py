"""The JSON tree from one ``findall`` over a validated document's tokens.

:mod:`encfile.formats.json` validates a document with the C parser, then walks its
tokens to learn every value's span. Walking them with ``finditer`` makes a match object
per token; here one ``findall`` returns each token with the gap before it (what valid
JSON has between tokens: white space, ',' and ':'), so every span follows by adding
lengths, and the loop builds the same tree: the same nodes, spans, ordinals, root
members and metadata.

It answers for any valid document; it returns None (and the caller walks the tokens
one by one) if the lengths do not add up to where the root object ends, which valid
JSON cannot do. ``tests/test_perf_paths_json.py`` holds the two walks to the same trees.
"""

from __future__ import annotations

import json as _json
import re

from ..errors import InputError
from ..tree import Branch, Scalar, Seq
from . import json as _codec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# One row per token, a key with its value when that is a string, number or word: (gap,
# string's inside, the ':' after a key and the space around it, the key's value, opening
# bracket, closing bracket, number or word). A string is '"', no '"', '"': quicker than
# following escapes, and right unless the text holds a '\\"' (an escaped quote, or a
# string ending in a backslash), which :func:`build` leaves to the token walk.
_ATOM = r"[-0-9][-+.eE0-9]*|true|false|null"
_TOKENS = re.compile(rf'([ \t\n\r,:]*)(?:"([^"]*)"(?:([ \t\n\r]*:[ \t\n\r]*)("[^"]*"|{_ATOM})?)?'
                     rf'|([{{\[])|([}}\]])|({_ATOM}))')
_WORDS = {"true": ("bool", "True"), "false": ("bool", "False"), "null": (None, "")}


def build(text: str, bom: bool, start: int) -> _codec.ParsedJson | None:
    """The parsed document of ``text`` (valid JSON whose root object opens at ``start``),
    or None for the token walk to build."""
    if '\\"' in text:
        return None
    root = Branch(start)
    parsed = _codec.ParsedJson(text, bom, root, [])
    members = parsed.members
    scalars = parsed.scalars
    notes = parsed.sops_notes
    decode = _codec._decode
    member = _codec._Member
    rows = _TOKENS.findall(text, start + 1)
    node: Any = root  # the open container, whether it is a map, its pending key
    is_map = True
    key: str | None = None
    stack: list[tuple[Any, bool, str | None]] = []
    key_start = 0
    ordinal = 0
    pos = start + 1
    index = 0
    count = len(rows)
    while index < count:
        gap, inside, colon, value, opening, closing, atom = rows[index]
        index += 1
        at = pos + len(gap)
        if colon:  # a key, and its value unless that is an object or an array
            key = inside if "\\" not in inside else decode(f'"{inside}"')
            pos = at + len(inside) + 2 + len(colon)
            if not stack:
                key_start = at
                if key == "sops":
                    found = _metadata(parsed, text, rows, index, pos, key_start, value)
                    if found is None:
                        return None
                    index, pos = found
                    continue
            if not value:
                continue
            at, pos = pos, pos + len(value)
            if value[0] == '"':
                inside = value[1:-1]
                scalar = Scalar("str", inside if "\\" not in inside else decode(value), at,
                                pos, ordinal)
            else:
                scalar = _atom(value, at, pos, ordinal, notes, text)
        elif inside or not (opening or closing or atom):  # a string in a list
            pos = at + len(inside) + 2
            scalar = Scalar("str", inside if "\\" not in inside else decode(f'"{inside}"'),
                            at, pos, ordinal)
        elif atom:
            pos = at + len(atom)
            scalar = _atom(atom, at, pos, ordinal, notes, text)
        elif opening:
            pos = at + 1
            child: Any = Branch(at) if opening == "{" else Seq(at)
            if len(stack) + 1 >= _codec.MAX_DEPTH:
                raise InputError(f"JSON nested deeper than {_codec.MAX_DEPTH} levels")
            node.append((key, child) if is_map else child)
            stack.append((node, is_map, key))
            node, is_map, key = child, opening == "{", None
            continue
        else:  # closing
            pos = at + 1
            node.end = pos
            if not stack:
                break
            node, is_map, key = stack.pop()  # the parent's pending key comes back too
            if not stack:
                members.append(member(key, key_start, pos))  # type: ignore[arg-type]
            continue
        ordinal += 1
        scalars.append(scalar)
        node.append((key, scalar) if is_map else scalar)
        if not stack:
            members.append(member(key, key_start, pos))  # type: ignore[arg-type]
    else:
        return None  # the root object never closed: not what was validated
    if text[pos - 1:pos] != "}" or text[pos:].strip(" \t\n\r"):
        return None
    return parsed


def _atom(atom: str, start: int, end: int, ordinal: int, notes: list[str],
          text: str) -> Scalar:
    word = _WORDS.get(atom)
    if word is None:
        return Scalar("float", _codec._number(atom, notes, text, start), start, end, ordinal)
    return Scalar(word[0], word[1], start, end, ordinal)


def _metadata(parsed: _codec.ParsedJson, text: str, rows: list[tuple[str, ...]], index: int,
              pos: int, key_start: int, value: str) -> tuple[int, int] | None:
    """Skip the root's ``sops`` member (raw data for the metadata, not part of the tree);
    return the row and position after it. ``value``: the member's value when it was in
    the key's row (a string, number or word)."""
    value_start = pos
    if value:
        pos += len(value)
    else:
        depth = 0
        while index < len(rows):
            gap, inside, colon, scalar, opening, closing, atom = rows[index]
            index += 1
            at = pos + len(gap)
            if colon or not (opening or closing or atom):
                pos = at + len(inside) + 2 + len(colon) + len(scalar)
            else:
                pos = at + len(opening) + len(closing) + len(atom)
            if opening:
                depth += 1
            elif closing:
                depth -= 1
            if depth == 0:
                break
        else:
            return None
    if parsed.meta_index < 0:
        parsed.meta_raw = _json.loads(text[value_start:pos])
        parsed.meta_index = len(parsed.members)
    parsed.members.append(_codec._Member("sops", key_start, pos))
    return index, pos
