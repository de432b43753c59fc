"""Writing YAML text: single scalars in context, alias expansions, the ``sops`` block.

encfile never re-emits a whole document; it only writes the pieces it splices
in. Each piece must be valid YAML *where it lands* (block or flow context, at a
given indentation) and must parse back to exactly the intended value under
go-yaml's rules, which :func:`yaml_resolve.resolve_plain` implements. Quoting
follows go-yaml's habits (double quotes for strings that would read as another
type, YAML 1.1 booleans included; single quotes for other non-plain strings;
literal blocks for multi-line text) so decrypted sops files look like
``sops -d`` output.
"""

from __future__ import annotations

import binascii
import re
import sys

from .. import values
from .yaml_resolve import resolve_plain

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_YAML11_BOOLS = frozenset(["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"])
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_INDICATORS = frozenset(",[]{}")
_ESCAPES = {"\0": "\\0", "\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v",
            "\f": "\\f", "\r": "\\r", "\x1b": "\\e", '"': '\\"', "\\": "\\\\",
            "\x85": "\\N", "\u2028": "\\L", "\u2029": "\\P"}
# Characters a YAML (1.1, libyaml) reader treats as line breaks or cannot take raw.
_SURROGATE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)
_NOT_RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def _printable(s: str) -> bool:
    return _NOT_RAW.search(s) is None


def reads_as_other_type(s: str) -> bool:
    """Would ``s`` written plain be read (by go-yaml or a YAML 1.1 reader) as a non-string?"""
    resolved = resolve_plain(s)
    # "=" is YAML 1.1's value key: PyYAML cannot construct it (go-yaml writes it plain)
    return (resolved is None or resolved != ("str", s) or s in _YAML11_BOOLS or s == "="
            or bool(_BASE60.match(s)))


# A common shape that is always a plain string, unless it is one of a few special words.
_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_.@/-]*\Z")
_SPECIAL_WORDS = frozenset(_YAML11_BOOLS | {
    "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL"})


def plain_ok(s: str, flow: bool) -> bool:
    """Can ``s`` be written as a plain scalar (in flow context if ``flow``)?"""
    if _SIMPLE.match(s):
        return s not in _SPECIAL_WORDS
    if not s or s != s.strip(" \t") or "\n" in s or "\r" in s or "\t" in s:
        return False
    if not _printable(s) or ": " in s or " #" in s or s.endswith(":"):
        return False
    first = s[0]
    # An indicator cannot start a plain scalar, except '-', '?' and ':' before a non-space.
    if first in _INDICATORS and (first not in "-?:" or len(s) < 2 or s[1] == " "
                                 or (flow and s[1] in _FLOW_INDICATORS)):
        return False
    if flow and (any(c in _FLOW_INDICATORS for c in s) or ":" in s):
        return False
    if s.startswith(("---", "...")):
        return False
    return not reads_as_other_type(s)


def double_quoted(s: str) -> str:
    out = []
    for ch in s:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif _NOT_RAW.match(ch):
            code = ord(ch)
            out.append(f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _literal(s: str, indent: int, nl: str, *, base: int = -1, keep_ok: bool = False) -> str | None:
    """``s`` as a literal block scalar (header + lines), or None if it cannot be one.

    ``indent`` is the content column, ``base`` the parent's (for an indentation
    indicator when the text starts with spaces). A value ending in several line
    breaks needs ``|+``, which is safe only if no blank line follows (``keep_ok``).
    """
    if not _printable(s.replace("\t", "").replace("\n", "")) or "\r" in s:
        return None
    trailing = len(s) - len(s.rstrip("\n"))
    if trailing == 0:
        chomp, body = "-", s
    elif trailing == 1 or keep_ok:
        chomp, body = ("" if trailing == 1 else "+"), s[:-1]
    else:
        return None
    lines = body.split("\n")
    if not any(line.strip(" ") for line in lines):
        return None
    indicator = ""
    if not lines[0].strip(" ") or lines[0][0] == " ":
        if not 1 <= indent - base <= 9:
            return None
        indicator = str(indent - base)
    pad = " " * indent
    return "|" + indicator + chomp + "".join(nl + (pad + line if line else "") for line in lines)


def quote_string(s: str, flow: bool) -> str:
    """A single-line rendering of the string ``s`` (plain, single- or double-quoted)."""
    if plain_ok(s, flow):
        return s
    # go-yaml: single quotes unless a line break, a tab or a character YAML cannot hold raw
    # needs escapes, or the text would read as another type (then double, as go-yaml).
    if "\n" in s or "\t" in s or not _printable(s) or reads_as_other_type(s):
        return double_quoted(s)
    return "'" + s.replace("'", "''") + "'"


def render_scalar(kind: str | None, text: str, *, flow: bool = False, indent: int = 2,
                  base: int = -1, eol: bool = True, keep_ok: bool = False,
                  nl: str = "\n") -> str:
    """The default rendering of a typed value at a given place in a document.

    ``flow``: inside a flow collection; ``indent``: the column block content
    would start at (``base``: the parent's column); ``eol``: nothing but a line
    break follows on the line; ``keep_ok``: the next line is not blank.
    """
    if kind is None:
        return "null"
    if kind == "str":
        if _SURROGATE.search(text):
            data = binascii.b2a_base64(values.to_bytes(text), newline=False).decode()
            return "!!binary " + data
        if "\n" in text and not flow and eol:
            literal = _literal(text, indent, nl, base=base, keep_ok=keep_ok)
            if literal is not None:
                return literal
        return quote_string(text, flow)
    if kind == "int":
        return text
    if kind == "float":
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(
            g := values.format_float_g(values.parse_go_float(text)), g)
    if kind == "bool":
        return "true" if values.parse_go_bool(text) else "false"
    if kind == "time":
        return text
    raise ValueError(f"unknown type {kind!r}")


def render_flow_string(s: str) -> str:
    """A key or string as a double-quoted flow scalar (always valid, any context)."""
    return double_quoted(s)


# -- the sops block -------------------------------------------------------------------

def _is_datetime(value: object) -> bool:
    # No datetime can exist before the module is imported, and the decrypt path never
    # imports it (2 ms): ask sys.modules instead of importing it to ask.
    module = sys.modules.get("datetime")
    return module is not None and isinstance(value, module.datetime)


def _block_value(value: Any, col: int, base: int, nl: str) -> str:
    """A scalar after ``key: `` or ``- `` in block context. A multi-line string becomes a
    literal block whose lines start at column ``col`` (``base``: the column of the key or
    dash it belongs to, for an indentation indicator)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return render_scalar("float", values.format_float_f(value))
    if _is_datetime(value):
        return str(value.isoformat()).replace("+00:00", "Z")
    s = str(value)
    # go-yaml writes a multi-line string as a literal block unless a space ends it or
    # comes before a line break (those only a quoted string keeps).
    if "\n" in s and not s.endswith(" ") and " \n" not in s:
        literal = _literal(s, col, nl, base=base, keep_ok=True)
        if literal is not None:
            return literal
    return quote_string(s, False)


class _Indent:
    """go-yaml's indentation (yaml.v3, as sops writes): what a key's value moves to is the
    next multiple of the step (counted from the root's column); what follows a ``- `` is
    two columns in."""

    __slots__ = ("nl", "root", "step")

    def __init__(self, root: int, step: int, nl: str) -> None:
        self.root, self.step, self.nl = root, step, nl

    def under(self, col: int) -> int:
        """The column of a key's block value (nested keys, dashes, literal lines)."""
        return self.root + self.step * ((col - self.root + self.step) // self.step)


def emit_block(data: dict[str, Any], col: int, step: int, nl: str) -> str:
    """``data`` as block-style YAML lines starting at column ``col``."""
    out: list[str] = []
    _emit_map(data, col, _Indent(col, step, nl), out, first_prefix=None)
    return "".join(out)


def _emit_map(data: dict[str, Any], col: int, ind: _Indent, out: list[str],
              first_prefix: str | None) -> None:
    nl = ind.nl
    for i, (key, value) in enumerate(data.items()):
        prefix = first_prefix if (i == 0 and first_prefix is not None) else " " * col
        head = f"{prefix}{quote_string(str(key), False)}:"
        if isinstance(value, dict):
            if not value:
                out.append(f"{head} {{}}{nl}")
            else:
                out.append(head + nl)
                _emit_map(value, ind.under(col), ind, out, None)
        elif isinstance(value, list):
            if not value:
                out.append(f"{head} []{nl}")
            else:
                out.append(head + nl)
                _emit_seq(value, ind.under(col), ind, out, None)
        else:
            out.append(f"{head} {_block_value(value, ind.under(col), col, nl)}{nl}")


def _emit_seq(items: list[Any], col: int, ind: _Indent, out: list[str],
              first_prefix: str | None) -> None:
    """A block sequence with its dashes at ``col``; a sequence in a sequence starts on its
    parent's line (``- - item``), as go-yaml writes it."""
    nl = ind.nl
    for i, item in enumerate(items):
        prefix = first_prefix if (i == 0 and first_prefix is not None) else " " * col
        if isinstance(item, dict) and item:
            _emit_map(item, col + 2, ind, out, first_prefix=prefix + "- ")
        elif isinstance(item, list) and item:
            _emit_seq(item, col + 2, ind, out, first_prefix=prefix + "- ")
        else:
            rendered = "{}" if isinstance(item, dict) else "[]" if isinstance(item, list) else \
                _block_value(item, col + 2, col, nl)
            out.append(f"{prefix}- {rendered}{nl}")


def dump(data: Any, nl: str = "\n", indent: int = 4) -> str:
    """Python data as a block-style YAML document (conversions and ``--extract``),
    indented by ``indent`` as sops writes YAML (go-yaml's 4 unless configured)."""
    if isinstance(data, dict) and data:
        return emit_block(data, 0, indent, nl)
    if isinstance(data, list) and data:
        out: list[str] = []
        _emit_seq(data, 0, _Indent(0, indent, nl), out, None)
        return "".join(out)
    if isinstance(data, dict):
        return "{}" + nl
    if isinstance(data, list):
        return "[]" + nl
    return _block_value(data, indent, 0, nl) + nl
