"""The JSON codec: value spans from one regex pass over validated text, splice text.

The stdlib's C parser validates the document (strict RFC 8259: no NaN, no
control characters in strings, nothing after the root); a single regular
expression then walks its tokens in order, so every value's span is known and
the text can be spliced instead of re-emitted: indentation, spacing, key order,
escapes and number spellings all stay as written.

Types follow sops (Go ``encoding/json``): strings are ``str``, booleans
``bool``, and every number is a 64-bit float (``type:float``, hashed in Go's
'f' form); null and empty strings stay in clear. A number's exact text
(``3.0``, ``12345678901234567890``) and any string escaped otherwise than Go
would write it are kept in the layout, so encfile gives back the exact text.

The ``sops`` object is appended as the root's last member, in the file's own
indentation (one line for a one-line file). A BOM is dropped from the
encrypted file (sops cannot read one) and restored from the layout.
"""

from __future__ import annotations

import json as _json
import re

from ..errors import InputError
from ..tree import Branch, Scalar, Seq
from .splice import apply, overrides_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "json"
EXTENSIONS = (".json",)
MAX_DEPTH = 200

_TOKEN = re.compile(
    r'(?P<s>"[^"\\]*(?:\\.[^"\\]*)*")(?P<k>[ \t\n\r]*:)?|(?P<o>[{\[])|(?P<c>[}\]])'
    r'|(?P<n>[-0-9][-+.eE0-9]*)|(?P<t>true)|(?P<f>false)|(?P<z>null)')
_WS = " \t\n\r"
_SURROGATE = re.compile("[\ud800-\udfff]")
_INT = re.compile(r"-?[0-9]+\Z")
_scanstring = _json.decoder.scanstring  # type: ignore[attr-defined]


def _decode(literal: str) -> str:
    """A JSON string literal's value, with lone surrogates as U+FFFD (as Go reads them)."""
    if "\\" not in literal:
        return literal[1:-1]
    value: str = _scanstring(literal, 1, True)[0]
    if "\\u" in literal:
        value = _SURROGATE.sub("\ufffd", value)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _Member:
    __slots__ = ("key", "key_start", "value_end")

    def __init__(self, key: str, key_start: int, value_end: int) -> None:
        self.key = key
        self.key_start = key_start
        self.value_end = value_end


# A plain class, not a dataclass: see "Start-up" in ARCHITECTURE.md.
class ParsedJson:
    """A parsed JSON document: one data tree plus what is needed to write it back."""

    def __init__(self, text: str, bom: bool, root: Branch, members: list[_Member]) -> None:
        self.text = text  # without a BOM
        self.bom = bom
        self.root = root
        self.members = members  # the root's members, the `sops` one included
        self.meta_raw: Any = None
        self.meta_index = -1  # the `sops` member's place in `members`
        self.sops_notes: list[str] = []
        self.overrides: dict[str, str] = {}  # from an opened layout
        self.scalars: list[Scalar] = []

    # -- what the document layer uses ------------------------------------------------------

    @property
    def roots(self) -> list[Branch]:
        return [self.root]

    @property
    def metadata(self) -> Any:
        if self.meta_index < 0:
            return None
        return {} if self.meta_raw is None else self.meta_raw  # `"sops": null` is still a claim

    def metadata_consistent(self) -> bool:
        return sum(m.key == "sops" for m in self.members) <= 1

    def structure_problem(self) -> str | None:
        if self.meta_index != len(self.members) - 1:
            return "text follows the sops metadata"
        return None

    # -- encrypting ------------------------------------------------------------------------

    def layout(self) -> dict[str, Any]:
        from . import json_emit

        text = self.text
        scalars = {}
        for node in self.scalars:
            if node.out is not None:
                source = text[node.start:node.end]
                if source != json_emit.scalar(node.kind, node.text):
                    scalars[str(node.ordinal)] = source
        # What follows the top-level object (usually a line break): restored from here,
        # since nothing in the encrypted file authenticates those bytes.
        out: dict[str, Any] = {"tail": text[self.root.end:]}
        if scalars:
            out["scalars"] = scalars
        if self.bom:
            out["bom"] = True
        return out

    def render_encrypted(self, metadata: dict[str, Any]) -> str:
        from . import json_emit

        text = self.text
        splices = [(n.start, n.end, f'"{n.out}"') for n in self.scalars if n.out is not None]
        root = self.root
        if self.members:
            first = self.members[0].key_start
            at = self.members[-1].value_end
            gap = text[root.start + 1:first]
            sep = ","
        else:
            at = root.start + 1
            gap = text[at:root.end - 1]
            sep = ""
        if "\n" in gap:
            nl = "\r\n" if "\r\n" in gap else "\n"
            unit = gap[gap.rfind("\n") + 1:] or "\t"
            entry = (f"{sep}{nl}{unit}\"sops\": "
                     + json_emit.dump(metadata, unit, 1, nl))
        else:
            entry = f'{sep}"sops":' + json_emit.dump(metadata, "", 0, "")
        splices.append((at, at, entry))
        return apply(text, splices)

    # -- decrypting ------------------------------------------------------------------------

    def render_plain(self, layout: dict[str, Any] | None) -> str:
        layout = layout or {}
        overrides: dict[str, str] = layout.get("scalars", {})
        splices = _plain_strings(self.scalars) if not overrides else None
        if splices is None:
            from . import json_emit

            splices = []
            for node in self.scalars:
                if node.out is not None:
                    rendered = overrides.get(str(node.ordinal)) if overrides else None
                    if rendered is None:
                        rendered = json_emit.scalar(*node.out)
                    splices.append((node.start, node.end, rendered))
        if self.meta_index >= 0:
            meta = self.members[self.meta_index]
            if self.meta_index > 0:
                start = self.members[self.meta_index - 1].value_end
                end = meta.value_end
            elif len(self.members) > 1:
                start, end = meta.key_start, self.members[1].key_start
            elif layout:
                start, end = self.root.start + 1, meta.value_end
            else:  # a sops-made file of no data: sops prints `{}`
                start, end = self.root.start + 1, self.root.end - 1
            splices.append((start, end, ""))
        # What follows the object: the file's own bytes for a file encfile wrote; one line
        # break for any other, as sops prints it.
        tail = str(layout["tail"]) if "tail" in layout else "\n"
        if self.text[self.root.end:] != tail:
            splices.append((self.root.end, len(self.text), tail))
        bom = "\ufeff" if self.bom or layout.get("bom") else ""
        return bom + apply(self.text, splices)

    def apply_layout(self, layout: dict[str, Any] | None) -> None:
        self.overrides = overrides_of(layout)

    # -- data --------------------------------------------------------------------------------

    def to_python(self) -> list[Any]:
        return [self._value(self.root)]

    def _value(self, node: Any) -> Any:
        if isinstance(node, Scalar):
            if node.out is None:
                return _json.loads(self.text[node.start:node.end])
            source = self.overrides.get(str(node.ordinal))
            if source is not None:
                return _json.loads(source)
            kind, text = node.out
            if kind == "float":
                return int(text) if _INT.match(text) else float(text)
            from .. import values

            return values.to_python(kind, text)
        if isinstance(node, Branch):
            return {k: self._value(v) for k, v in node}
        return [self._value(v) for v in node]




# What json_emit escapes (Go's encoder); tests/test_perf_paths_json.py checks they agree.
_NEEDS_ESCAPE = re.compile('["\\\\<>&\u2028\u2029\x00-\x1f\ud800-\udfff]')


def _plain_strings(scalars: list[Scalar]) -> list[tuple[int, int, str]] | None:
    """The splices of decrypted values when every one is a string that needs no escape
    (checked all at once): each is written as it is, in quotes. None otherwise."""
    opened = [node for node in scalars if node.out is not None]
    texts = [node.out[1] for node in opened if node.out[0] == "str"]
    if len(texts) != len(opened) or _NEEDS_ESCAPE.search(" ".join(texts)):
        return None
    return [(node.start, node.end, f'"{text}"') for node, text in zip(opened, texts, strict=True)]


_SHORT_CANONICAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?\Z")


def _number(source: str, notes: list[str], text: str, start: int) -> str:
    """A number's canonical text (Go 'f' form of its float64), as sops hashes it.

    Messages give the number's line, never the number: it may be the secret.
    """
    if len(source) <= 15 and _SHORT_CANONICAL.match(source):
        return source  # at most 15 digits, no exponent, no trailing zeros: already canonical
    from .. import values

    value = float(source)
    if value in (float("inf"), float("-inf")):
        raise InputError(f"the number at line {text.count(chr(10), 0, start) + 1} does not fit a 64-bit float "
                         "(sops reads every JSON number as one)")
    canon = values.format_float_f(value)
    if _INT.match(source) and int(source) != int(value) and len(notes) < 10:
        line = text.count("\n", 0, start) + 1
        notes.append(f"sops reads the {len(source)}-digit number at line {line} as a 64-bit "
                     "float, which rounds it")
    return canon


def parse(text: str) -> ParsedJson:
    """Parse a JSON document whose top level is an object."""
    bom = text.startswith("\ufeff")
    body = text[1:] if bom else text
    try:
        _json.loads(body, parse_constant=_no_constant)
    except _json.JSONDecodeError as err:
        raise InputError(f"not valid JSON: {err.msg.lower()} (line {err.lineno}, "
                         f"column {err.colno})") from None
    except ValueError as err:
        raise InputError(f"not valid JSON: {err}") from None
    except RecursionError:
        raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    start = len(body) - len(body.lstrip(_WS))
    if body[start:start + 1] != "{":
        raise InputError("the top level of a JSON file must be an object",
                         hints=['sops needs a map at the top: put the data under a key, '
                                'e.g. {"data": [...]}'])
    from . import json_bulk  # the same tree from one findall, which is quicker

    return json_bulk.build(body, bom, start) or _Builder(body, bom).build(start)


class _Builder:
    def __init__(self, text: str, bom: bool) -> None:
        self.text = text
        self.bom = bom

    def build(self, start: int) -> ParsedJson:
        text = self.text
        root = Branch(start)
        parsed = ParsedJson(text, self.bom, root, [])
        members = parsed.members
        scalars = parsed.scalars
        notes = parsed.sops_notes
        # frames: [node, is_map, pending key]; the root is frame 0
        stack: list[list[Any]] = [[root, True, None]]
        key_start = 0
        ordinal = 0
        tokens = _TOKEN.finditer(text, start + 1)
        node: Any
        for m in tokens:
            kind = m.lastgroup
            frame = stack[-1]
            if kind == "k":  # a key
                key = _decode(m.group("s"))
                frame[2] = key
                if len(stack) == 1:
                    key_start = m.start()
                    if key == "sops":
                        self._metadata(parsed, m, tokens, key_start)
                continue
            if kind == "s":
                start, end = m.span()
                node = Scalar("str", _decode(m.group()), start, end, ordinal)
            elif kind == "c":
                node = stack.pop()[0]
                node.end = m.end()
                if not stack:
                    break
                if len(stack) == 1:
                    members.append(_Member(stack[0][2], key_start, m.end()))
                continue
            elif kind == "o":
                child: Branch | Seq = Branch(m.start()) if m.group() == "{" else Seq(m.start())
                if len(stack) >= MAX_DEPTH:
                    raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels")
                if frame[1]:
                    frame[0].append((frame[2], child))
                else:
                    frame[0].append(child)
                stack.append([child, type(child) is Branch, None])
                continue
            else:
                start, end = m.span()
                if kind == "n":
                    node = Scalar("float", _number(m.group(), notes, text, start), start,
                                  end, ordinal)
                elif kind == "z":
                    node = Scalar(None, "", start, end, ordinal)
                else:
                    node = Scalar("bool", "True" if kind == "t" else "False", start, end,
                                  ordinal)
            ordinal += 1
            scalars.append(node)
            if frame[1]:
                frame[0].append((frame[2], node))
            else:
                frame[0].append(node)
            if len(stack) == 1:
                members.append(_Member(frame[2], key_start, end))
        return parsed

    def _metadata(self, parsed: ParsedJson, key: re.Match[str], tokens: Any,
                  key_start: int) -> None:
        """Consume the root's `sops` member: raw data for the metadata, not part of the tree."""
        depth = 0
        value_start = -1
        end = key.end()
        for m in tokens:
            c = m.group()[0]
            if value_start < 0:
                value_start = m.start()
            if c in "{[":
                depth += 1
            elif c in "}]":
                depth -= 1
            end = m.end()
            if depth == 0:
                break
        if parsed.meta_index < 0:
            parsed.meta_raw = _json.loads(self.text[value_start:end])
            parsed.meta_index = len(parsed.members)
        parsed.members.append(_Member("sops", key_start, end))
