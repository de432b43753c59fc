"""The YAML codec: find value spans and key paths from parser events, splice text.

encfile never re-emits a YAML document. It walks the parser events once,
building a :mod:`tree` whose leaves remember their character spans, then writes
the result by splicing replacements into the original text. Every byte it does
not touch stays as it was: comments, blank lines, indentation, quoting, flow
style, anchors, tags, CRLF, directives.

Encrypting (plaintext -> sops file):

* each encrypted scalar's whole span (properties included) becomes an
  ``ENC[...]`` token, double-quoted inside flow collections;
* each comment's text after ``#`` becomes a token, in place;
* each alias becomes a flow-style copy of what it points to, so sops (which
  expands aliases and would otherwise decrypt the anchor's tokens under the
  alias's key path) can read the file;
* a ``%YAML 1.2`` directive (go-yaml accepts only 1.1) is written as 1.1;
* a top-level list or value goes under a ``data:`` key (sops needs a map);
* a ``sops:`` block is appended to every document.

What the encrypted text cannot show is recorded as *layout* (kept encrypted by
the document layer): the source text of every scalar whose default rendering
differs from what was written, the alias texts, the directives, the wrapping
keys, and whether the file ended without a newline. Nodes are identified by their *ordinal*: the
index of the node's event in the encrypted text (keys included, the ``sops``
subtree excluded), which both sides can compute.

Decrypting reverses this; a file without layout (made by sops) keeps its own
layout and gets default renderings for decrypted values.
"""

from __future__ import annotations

import re

from .. import values
from ..errors import InputError
from ..tree import Alias, Branch, Comment, Node, Scalar, Seq
from . import yaml_emit
from .splice import apply
from .yaml_events import events, parse_error_message
from .yaml_resolve import exact_int, resolve, short_tag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "yaml"
WRAP_KEY = "data"  # holds a top-level list (as sops's binary format holds a whole file)
EXTENSIONS = (".yaml", ".yml")
MAX_DEPTH = 200
# Scalar.ctx: _FLOW inside flow collections; else 2*column of the key (map values)
# or 2*column+1 of the dash (list items), from which a block scalar's indent follows.
_FLOW = -1
TOKEN_PREFIX = "ENC[AES256_GCM,"  # token.PREFIX (codecs know no crypto; a test checks both)


class _Frame:
    __slots__ = (
        "indent",
        "is_flow",
        "is_map",
        "is_meta",
        "key",
        "key_col",
        "keys",
        "last_end",
        "node",
    )

    def __init__(self, node: Branch | Seq, is_map: bool, is_flow: bool, is_meta: bool) -> None:
        self.node = node
        self.is_map = is_map
        self.is_flow = is_flow
        self.is_meta = is_meta
        self.indent = -1
        self.key: str | None = None  # pending key (maps) while its value is parsed
        self.key_col = 0
        self.keys: set[str] = set()
        self.last_end = node.start


# Plain classes, not dataclasses: see "Start-up" in ARCHITECTURE.md.
class YamlDoc:
    def __init__(self, root: Branch, start: int) -> None:
        self.root = root
        self.start = start
        self.insert_at = -1  # where the sops block goes when encrypting
        self.flow_root = False
        self.step = 0
        self.root_col = 0
        self.directive: tuple[int, int] | None = None  # the %YAML x.y token (go-yaml: 1.1)
        self.meta_raw: Any = None
        self.meta_span: tuple[int, int] | None = None  # the `sops` item, for removal
        self.wrap: tuple[int, str] | None = None  # a top-level list: where `data:` was added
        self.meta_tail: tuple[int, int] | None = None  # between `sops` and the root's end
        self.flow_prefix = ""  # a flow root map: what goes before the `"sops": {…}` entry
        self.meta_flow_start = 0  # a flow root map (sops-made): end of the item before `sops`


class _Pending:
    __slots__ = ("col", "comment", "direct", "snapshot")

    def __init__(self, comment: Comment, col: int, snapshot: tuple[_Frame, ...],
                 direct: bool) -> None:
        self.comment = comment
        self.col = col
        self.snapshot = snapshot
        self.direct = direct  # no blank line between the previous item and this comment


class ParsedYaml:
    """A parsed YAML stream: the data trees plus what is needed to write it back."""

    def __init__(self, text: str, bom: str, nl: str) -> None:
        self.text = text
        self.bom = bom
        self.nl = nl
        self.docs: list[YamlDoc] = []
        # Block scalars whose value the line break before an appended `sops` block could
        # change (empty ones, and those ending a file that has no final newline): when they
        # stay in clear, the encrypted file shows them double-quoted and the layout keeps
        # the source.
        self.clear_blocks: list[Scalar] = []
        # Line comments after an alias: they live in the alias's copy (see
        # _Builder.add_comment).
        self.alias_comments: list[Comment] = []
        self.sops_notes: list[str] = []  # what sops will not read the same
        self.overrides: dict[str, str] = {}  # from an opened layout

    # -- what the document layer uses ------------------------------------------------------

    @property
    def roots(self) -> list[Branch]:
        return [d.root for d in self.docs]

    @property
    def metadata(self) -> Any:
        """The first document's raw ``sops`` block, or None for a plaintext file."""
        for doc in self.docs:
            if doc.meta_span is not None:
                return {} if doc.meta_raw is None else doc.meta_raw  # `sops:` alone claims too
        return None

    def metadata_consistent(self) -> bool:
        """Every document that carries a ``sops`` block carries the same one."""
        blocks = [d.meta_raw for d in self.docs if d.meta_span is not None]
        return all(b == blocks[0] for b in blocks)

    def structure_problem(self) -> str | None:
        """What is wrong with a file that claims encfile wrote it, or None.

        encfile gives every document a `sops` block and puts it last in the
        document's root map, so nothing may follow it there.
        """
        for index, doc in enumerate(self.docs):
            if doc.meta_span is None:
                return f"document {index + 1} has no sops metadata"
            if doc.meta_tail is not None and doc.meta_tail[0] != doc.meta_tail[1]:
                return "text follows the sops metadata"
        return None

    # -- encrypting ------------------------------------------------------------------------

    def layout(self) -> dict[str, Any]:
        """What must be remembered (encrypted) to restore the plaintext byte for byte."""
        scalars: dict[str, str] = {}
        aliases: dict[str, str] = {}
        text, nl = self.text, self.nl
        as_is = _AS_IS.match
        for doc in self.docs:
            for node in _nodes(doc.root):
                cls = type(node)
                if cls is Branch or cls is Seq or cls is Comment:
                    continue
                if cls is Alias:
                    aliases[str(node.ordinal)] = node.source
                elif node.out is not None:
                    source = text[node.start:node.end]
                    plain = node.text
                    if source == plain and node.kind == "str" and as_is(plain) \
                            and plain not in _NOT_AS_IS:
                        continue  # written as its default rendering
                    if source != _render_plain(node, node.kind, plain, text, nl, doc.step):
                        scalars[str(node.ordinal)] = source
        for node in self.clear_blocks:
            if node.out is None:
                scalars[str(node.ordinal)] = text[node.start:node.end]
        out: dict[str, Any] = {}
        if scalars:
            out["scalars"] = scalars
        if aliases:
            out["aliases"] = aliases
        directives = {str(i): text[d.directive[0]:d.directive[1]]
                      for i, d in enumerate(self.docs)
                      if d.directive and text[d.directive[0]:d.directive[1]] != YAML_11}
        if directives:
            out["directives"] = directives
        wrapped = {str(i): d.wrap[1] for i, d in enumerate(self.docs) if d.wrap}
        if wrapped:
            out["wrapped"] = wrapped
        flow = {str(i): d.flow_prefix for i, d in enumerate(self.docs) if d.flow_root}
        if flow:
            out["flow_roots"] = flow
        if self.docs and not self._ends_with_newline_at(self.docs[-1].insert_at):
            out["no_final_newline"] = True
        if self.bom:
            out["bom"] = True
        return out

    def _ends_with_newline_at(self, pos: int) -> bool:
        return pos == 0 or self.text[pos - 1] == "\n"

    def render_encrypted(self, metadata: dict[str, Any]) -> str:
        """The encrypted text: tokens spliced in, one ``sops`` block per document."""
        text = self.text
        splices: list[tuple[int, int, str]] = [
            (n.start, n.end, yaml_emit.double_quoted(n.text)) for n in self.clear_blocks
            if n.out is None]
        splices += [(c.start + 1, c.end, c.out) for c in self.alias_comments if c.out is not None]
        for doc in self.docs:
            if doc.directive:
                splices.append((doc.directive[0], doc.directive[1], YAML_11))
            if doc.wrap:
                splices.append((doc.wrap[0], doc.wrap[0], doc.wrap[1]))
            add = splices.append
            for node in _nodes(doc.root):
                cls = type(node)
                if cls is Branch or cls is Seq:
                    continue
                if cls is Alias:
                    copy = _flow_copy(node.target)
                    if node.ctx == "multiline":  # a line comment follows: see add_comment
                        col = node.start - (text.rfind("\n", 0, node.start) + 1)
                        copy = copy[:-1] + self.nl + " " * col + copy[-1]
                    add((node.start, node.end, copy))
                elif node.out is None:
                    continue
                elif cls is Comment:
                    add((node.start + 1, node.end, node.out))
                else:
                    add((node.start, node.end,
                         node.out if node.ctx != _FLOW else f'"{node.out}"'))
            splices.append((doc.insert_at, doc.insert_at, self._metadata_text(doc, metadata)))
        return self.bom + apply(text, splices)

    def _metadata_text(self, doc: YamlDoc, metadata: dict[str, Any]) -> str:
        nl = self.nl
        if doc.flow_root:
            import json  # a flow-style document only

            return doc.flow_prefix + json.dumps({"sops": metadata}, ensure_ascii=False)[1:-1]
        block = yaml_emit.emit_block({"sops": metadata}, doc.root_col, doc.step or 4, nl)
        if not self._ends_with_newline_at(doc.insert_at):
            block = nl + block
        return block

    # -- decrypting ------------------------------------------------------------------------

    def render_plain(self, layout: dict[str, Any] | None) -> str:
        """The decrypted text; ``layout`` restores an encfile file exactly."""
        layout = layout or {}
        overrides: dict[str, str] = layout.get("scalars", {})
        aliases: dict[str, str] = layout.get("aliases", {})
        directives: dict[str, str] = layout.get("directives", {})
        text, nl = self.text, self.nl
        splices: list[tuple[int, int, str]] = []
        for index, doc in enumerate(self.docs):
            if doc.wrap is not None:
                splices.append((doc.wrap[0], doc.wrap[0] + len(doc.wrap[1]), ""))
            if str(index) in directives:
                if doc.directive is None or text[doc.directive[0]:doc.directive[1]] != YAML_11:
                    raise InputError("layout data names a %YAML directive that is not there")
                splices.append((doc.directive[0], doc.directive[1], directives[str(index)]))
            if doc.meta_span is not None:
                start, end = doc.meta_span
                if doc.meta_tail is not None and not text[doc.meta_tail[0]:doc.meta_tail[1]].strip():
                    end = doc.meta_tail[1]  # blank lines left after the block go with it
                if doc.flow_root:
                    prefix = layout.get("flow_roots", {}).get(str(index))
                    if prefix is not None:
                        if not text.startswith(prefix, start - len(prefix)):
                            raise InputError("the sops entry of a flow mapping moved")
                        splices.append((start - len(prefix), end, ""))
                    else:
                        splices.append((doc.meta_flow_start, end, ""))
                else:
                    if (index == len(self.docs) - 1 and layout.get("no_final_newline")
                            and text[:start].endswith(nl)):
                        start -= len(nl)
                    splices.append((start, end, ""))
            if not aliases:
                self._value_splices(_nodes(doc.root), overrides, doc.step, splices)
                continue
            skip = (-1, -1)  # the text of an alias copy being put back: nothing inside it
            for node in _nodes(doc.root):
                if skip[0] <= node.start < skip[1]:
                    continue
                ordinal = getattr(node, "ordinal", -1)
                if aliases and str(ordinal) in aliases:
                    splices.append((node.start, node.end, aliases[str(ordinal)]))
                    skip = (node.start, node.end)
                elif isinstance(node, Scalar):
                    rendered = overrides.get(str(ordinal)) if overrides else None
                    if rendered is None and node.out is not None:
                        rendered = _render_plain(node, node.out[0], node.out[1], text, nl,
                                                 doc.step)
                    if rendered is not None:
                        splices.append((node.start, node.end, rendered))
                elif isinstance(node, Comment) and node.out is not None:
                    if node.ctx == "item":  # a sops list-item comment: '- ENC[...]'
                        splices.append((node.start, node.end, "#" + node.out))
                    else:
                        splices.append((node.start + 1, node.end, node.out))
        bom = self.bom or ("\ufeff" if layout.get("bom") else "")
        return bom + apply(text, splices)

    def _value_splices(self, nodes: list[Any], overrides: dict[str, str], step: int,
                       splices: list[tuple[int, int, str]]) -> None:
        """:meth:`render_plain`'s splices for the values and comments of a document with
        no alias to put back: the loop of a large file, kept short."""
        text, nl = self.text, self.nl
        add = splices.append
        as_is = _AS_IS.match
        for node in nodes:
            cls = type(node)
            if cls is Branch or cls is Seq:
                continue
            if isinstance(node, Scalar):
                rendered = overrides.get(str(node.ordinal)) if overrides else None
                if rendered is None:
                    if node.out is None:
                        continue
                    kind, plain = node.out
                    if kind == "str" and as_is(plain) and plain not in _NOT_AS_IS:
                        rendered = plain
                    else:
                        rendered = _render_plain(node, kind, plain, text, nl, step)
                add((node.start, node.end, rendered))
            elif cls is Comment and node.out is not None:
                if node.ctx == "item":  # a sops list-item comment: '- ENC[...]'
                    add((node.start, node.end, "#" + node.out))
                else:
                    add((node.start + 1, node.end, node.out))

    def apply_layout(self, layout: dict[str, Any] | None) -> None:
        """Take note of an opened layout (for ``to_python``) and of wrapped documents."""
        self.overrides = (layout or {}).get("scalars", {})
        self.unwrap(layout)

    def unwrap(self, layout: dict[str, Any] | None) -> None:
        """Mark the documents whose top-level list encfile put under ``data:``."""
        wrapped = (layout or {}).get("wrapped", {})
        if not isinstance(wrapped, dict):
            raise InputError("layout data is malformed")
        for index, inserted in wrapped.items():
            doc = self.docs[int(index)] if index.isdigit() and int(index) < len(self.docs) \
                else None
            if doc is None or not isinstance(inserted, str):
                raise InputError("layout data names a document that does not exist")
            items = [i for i in doc.root if not isinstance(i, Comment)]
            if len(items) != 1 or items[0][0] != WRAP_KEY or isinstance(items[0][1], Branch):
                raise InputError("a wrapped top-level list is missing its 'data' key")
            key_start = doc.root.start
            pos = key_start - (len(self.nl) if inserted.startswith(self.nl) else 0)
            if not self.text.startswith(inserted, pos):
                raise InputError("a wrapped top-level list is missing its 'data' key")
            doc.wrap = (pos, inserted)

    # -- data --------------------------------------------------------------------------------

    def to_python(self) -> list[Any]:
        """Each document as Python data (decrypted values where the walk set them)."""
        out = []
        for doc in self.docs:
            data = _to_python(doc.root, self.overrides)
            out.append(data[WRAP_KEY] if doc.wrap is not None else data)
        return out


# -- helpers -------------------------------------------------------------------------------



def _nodes(root: Node) -> list[Any]:
    """Every node and comment below ``root`` in document order (alias targets not entered)."""
    out: list[Any] = []
    todo: list[Any] = [root]
    while todo:
        item = todo.pop()
        if isinstance(item, tuple):
            item = item[1]
        out.append(item)
        if isinstance(item, (Branch, Seq)):
            todo.extend(reversed(item))
    return out


def _line_rest_blank(text: str, pos: int) -> bool:
    end = text.find("\n", pos)
    rest = text[pos:] if end < 0 else text[pos:end]
    return not rest.strip(" \t\r")


# Strings whose default rendering is the text itself, in any context (yaml_emit would say
# so after longer checks): a word of letters, digits and `_.@/-` (not one of the words
# that read as a bool or null), or digits then a letter that cannot continue a number
# (no e, x, o, b) and more letters and digits. tests/test_perf_paths_yaml.py holds
# this to yaml_emit.render_scalar.
_AS_IS = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_.@/-]*|[0-9]+[ac-df-np-wyzAC-DF-NP-WYZ][A-Za-z0-9]*)\Z")
_NOT_AS_IS = frozenset(["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On",
                        "ON", "off", "Off", "OFF", "true", "True", "TRUE", "false", "False",
                        "FALSE", "null", "Null", "NULL"])


def _render_plain(node: Scalar, kind: str | None, plain: str, text: str, nl: str,
                  step: int) -> str:
    """A value's default rendering where ``node`` stands (go-yaml's habits, as sops -d)."""
    if kind == "str" and _AS_IS.match(plain) and plain not in _NOT_AS_IS:
        return plain
    flow = node.ctx == _FLOW
    base = node.ctx >> 1
    if flow:
        indent = base = 0
    elif node.ctx & 1:  # a list item: content starts two columns after the dash
        indent = base + 2
    else:  # a map value: the next multiple of the file's indent step after the key
        step = step or 4
        indent = (base // step + 1) * step
    # Only multi-line text needs to know what follows it (for a literal block).
    eol = keep_ok = False
    if kind == "str" and "\n" in plain and not flow:
        eol = _line_rest_blank(text, node.end)
        keep_ok = eol and _next_line_filled(text, node.end)
    return yaml_emit.render_scalar(
        kind, plain, flow=flow, indent=indent, base=base, nl=nl, eol=eol, keep_ok=keep_ok,
    )


def _next_line_filled(text: str, pos: int) -> bool:
    """Is the line after ``pos``'s line missing (EOF) or not blank? (see ``|+``)"""
    eol = text.find("\n", pos)
    if eol < 0:
        return True
    nxt = text.find("\n", eol + 1)
    line = text[eol + 1:] if nxt < 0 else text[eol + 1:nxt]
    return eol + 1 >= len(text) or bool(line.strip(" \t\r"))


def _flow_copy(node: Node) -> str:
    """A node as one line of flow YAML, with tokens where the walk encrypted values."""
    if isinstance(node, Alias):
        return _flow_copy(node.target)
    if isinstance(node, Scalar):
        if node.out is not None:
            return f'"{node.out}"'
        if node.kind == "str":
            return yaml_emit.render_flow_string(node.text)
        if node.kind == "time":
            return "!!timestamp " + yaml_emit.render_flow_string(node.text)
        rendered = yaml_emit.render_scalar(node.kind, node.text, flow=True)
        if node.kind == "float" and rendered.lstrip("-").isdigit():
            rendered += ".0"  # '-0' would read back as the int 0 (and change the MAC)
        return rendered
    if isinstance(node, Branch):
        items = [f"{yaml_emit.render_flow_string(k)}: {_flow_copy(v)}"
                 for k, v in (i for i in node if not isinstance(i, Comment))]
        return "{" + ", ".join(items) + "}"
    return "[" + ", ".join(_flow_copy(v) for v in node if not isinstance(v, Comment)) + "]"


def _copy(node: Node, budget: list[int]) -> Node:
    """A comment-free copy of ``node`` for an alias (each copy gets its own tokens)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise InputError("aliases expand to too many nodes (an alias bomb?)")
    if isinstance(node, Alias):
        return _copy(node.target, budget)
    if isinstance(node, Scalar):
        return Scalar(node.kind, node.text)
    if isinstance(node, Branch):
        branch = Branch()
        for item in node:
            if not isinstance(item, Comment):
                budget[0] -= 1
                branch.append((item[0], _copy(item[1], budget)))
        return branch
    seq = Seq()
    seq.extend(_copy(v, budget) for v in node if not isinstance(v, Comment))
    return seq


def _size(node: Node) -> int:
    """How many events ``node`` is written as in flow style (keys count)."""
    if isinstance(node, Alias):
        return _size(node.target)
    if isinstance(node, Scalar):
        return 1
    if isinstance(node, Branch):
        return 1 + sum(1 + _size(i[1]) for i in node if not isinstance(i, Comment))
    return 1 + sum(_size(i) for i in node if not isinstance(i, Comment))


def _to_python(node: Node, overrides: dict[str, str]) -> Any:
    if isinstance(node, Alias):
        return _to_python(node.target, overrides)
    if isinstance(node, Scalar):
        kind, text = node.out if node.out is not None else (node.kind, node.text)
        if kind == "float" and overrides:
            # An integer beyond int64 travels as a float for sops; its exact text is layout.
            big = exact_int(overrides.get(str(node.ordinal), ""))
            if big is not None:
                return big
        return values.to_python(kind, text)
    if isinstance(node, Branch):
        return {k: _to_python(v, overrides)
                for k, v in (i for i in node if not isinstance(i, Comment))}
    return [_to_python(v, overrides) for v in node if not isinstance(v, Comment)]


def _strip_comments(text: str) -> str:
    """``text`` without its ``#`` comments (for the gap before a flow map's '}')."""
    return "".join(_COMMENT_TAIL.sub("", line) for line in text.splitlines(keepends=True))


def _first_dash(text: str, pos: int) -> int:
    """The first '-' from ``pos`` on that is not inside a comment (a block list's first dash)."""
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch == "-":
            return pos
        if ch == "#":
            eol = text.find("\n", pos)
            pos = n if eol < 0 else eol
        pos += 1
    return -1


def _column(text: str, pos: int) -> int:
    return pos - (text.rfind("\n", 0, pos) + 1)


def _skip_properties(text: str, pos: int) -> int:
    """Index after the anchor/tag properties starting at ``pos`` (and spaces after them)."""
    n = len(text)
    while pos < n and text[pos] in "&!":
        while pos < n and text[pos] not in " \t\r\n":
            pos += 1
        while pos < n and text[pos] in " \t":
            pos += 1
    return pos


# -- parsing -------------------------------------------------------------------------------

def _raw(node: Node) -> Any:
    """The ``sops`` subtree as plain Python data (strings stay strings, times as text)."""
    if isinstance(node, Alias):
        return _raw(node.target)
    if isinstance(node, Scalar):
        if node.kind in ("int", "bool", "float"):
            return values.to_python(node.kind, node.text)
        return None if node.kind is None else node.text
    if isinstance(node, Branch):
        return {k: _raw(v) for k, v in (i for i in node if not isinstance(i, Comment))}
    return [_raw(v) for v in node if not isinstance(v, Comment)]


class _Builder:
    """Turns parser events into trees; one instance per parse."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.docs: list[YamlDoc] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, Node] = {}
        self.open_anchors: set[str] = set()
        self.ordinal = 0
        self.pending: list[_Pending] = []
        self.prev_end = 0
        self.cur_start = 0
        self.line_item: tuple[int, Branch | Seq, int] | None = None  # for inline comments
        self.budget = [100_000 + 10 * len(text)]
        # The document's `sops` item while it is being read (never part of the data tree).
        self.meta_node: Node | None = None
        self.meta_start = 0
        self.meta_prev_end = 0
        self.root_frame: _Frame | None = None
        self.gap_start = 0  # where the run of pending comments' gap began
        self.prior_is_value = False  # the last token was a key's ':' (its value not begun)
        self.content_end = 0  # end of the last node's text (block scalars trimmed)
        self.last_alias: Alias | None = None
        self.data_line_item: tuple[int, Branch | Seq, int] | None = None
        self.alias_slot: tuple[Branch | Seq, int, bool] = (Branch(), 0, False)
        # The last flow collection closed: (its end, node, owner, index in owner, map value?)
        self.flow_closed: tuple[int, Branch | Seq, Branch | Seq | None, int, bool] | None = None
        self.alias_comments: list[Comment] = []
        self.sops_notes: list[str] = []  # what sops cannot read as encfile does
        self.clear_blocks: list[Scalar] = []

    # -- comments ------------------------------------------------------------------------

    def scan_gap(self, start: int, end: int) -> None:
        """Find comments between two events: a '#' at a line start or after a blank."""
        text = self.text
        pos = text.find("#", start, end)
        if not self.pending:
            self.gap_start = min(start, self.content_end)
        while pos >= 0:
            if pos == 0 or text[pos - 1] in " \t\n\r":
                eol = text.find("\n", pos, end)
                stop = end if eol < 0 else eol
                body_end = stop - 1 if stop > pos and text[stop - 1] == "\r" else stop
                self.add_comment(Comment(text[pos + 1:body_end], pos, body_end), pos)
                if eol < 0:
                    return
                pos = text.find("#", eol, end)
            else:
                pos = text.find("#", pos + 1, end)

    def add_comment(self, comment: Comment, pos: int) -> None:
        text = self.text
        line_start = text.rfind("\n", 0, pos) + 1
        inline = bool(text[line_start:pos].strip(" \t"))
        item = self.line_item
        alias = self.last_alias
        if (inline and alias is not None and item is not None and item[0] <= alias.start < pos
                and line_start <= alias.start and isinstance(alias.target, (Branch, Seq))
                and alias.target):
            # The encrypted file shows a flow copy of the anchored collection here. It is
            # written with its closing bracket on a line of its own, so this comment
            # follows a closed flow collection there (the copy, or one that closes after
            # it), and lands as such a comment does.
            alias.ctx = "multiline"
            closed = self.flow_closed
            if closed is not None and closed[0] > alias.start:
                self._after_flow(comment, closed[1], closed[2], closed[3], closed[4])
            else:
                self._after_flow(comment, alias.target, *self.alias_slot)
                if self.alias_slot[2]:
                    self.alias_comments.append(comment)
            return
        if inline and item is not None and line_start <= item[0] < pos:
            # A line comment belongs before the item it follows (as go-yaml/sops see it).
            _, container, index = item
            container.insert(index, comment)
            self.line_item = (item[0], container, index + 1)
            return
        closed = self.flow_closed
        if inline and closed is not None and line_start <= closed[0] < pos:
            self._after_flow(comment, closed[1], closed[2], closed[3], closed[4])
            return
        # Does the comment follow the previous item without a blank line in between?
        direct = _BLANK_LINE.search(text, self.gap_start, pos) is None
        self.pending.append(_Pending(comment, pos - line_start, tuple(self.stack), direct))

    @staticmethod
    def _after_flow(comment: Comment, node: Branch | Seq, owner: Branch | Seq | None,
                    index: int, in_map: bool) -> None:
        """A line comment after a flow collection's closing bracket (nothing else on the line).

        go-yaml makes it the collection's line comment; sops keeps that inside the
        collection when it is a map value, and in the outer list when it is a list item.
        """
        if in_map or owner is None:
            node.insert(0, comment)
        else:
            owner.insert(index, comment)

    def flush_pending(self, item_col: int | None, frame: _Frame | None) -> None:
        """Give pending full-line comments the map or list go-yaml attaches them to.

        sops decrypts a comment under the path of the node go-yaml hung it on, so
        encfile must choose the same one. This replays go-yaml's rules (its
        scanner's ``scan_comments`` and ``unroll_indent``, then the parser's
        ``unfold_comments``) on what encfile knows: the comment lines, the blank
        lines between them, the open blocks and the next item's column.

        1. The lines are cut into records: at the first blank line, if the comments
           directly follow the previous item (or are left of the innermost block);
           and before a line that is left of the innermost block at another column
           than the record's first line. A cut record is a *foot* record: it is
           tied to the previous item, or (when dedented, or after an earlier cut)
           to its own position. What remains at the end is a *head* record.
        2. Each block the next item closes (innermost first) ends just before the
           earliest record that starts at the block's column, else before all of
           them; it takes, in order, the records tied to positions before its end.
        3. The remaining records head the next item (its container).
        """
        pending = self.pending
        snapshot = pending[0].snapshot
        innermost = snapshot[-1] if snapshot else None
        if innermost is not None and innermost.is_flow:
            innermost.node.extend(p.comment for p in pending)  # flow: no indentation rules
            pending.clear()
            return
        # An indentless list ('key:\n- a') has no indentation level of its own: it ends at
        # the token that ends its parent (or at the next key), and takes comments first.
        indentless = {id(f) for i, f in enumerate(snapshot)
                      if not f.is_map and i and snapshot[i - 1].is_map
                      and f.indent == snapshot[i - 1].indent}
        blocks = [f for f in snapshot if id(f) not in indentless]
        indent = max(blocks[-1].indent, 0) if blocks else 0
        text = self.text
        prior = -1  # "tied to the previous item": before every position
        records: list[tuple[list[Comment], int, int, int]] = []  # comments, tie, start, col
        run: list[Comment] = []
        run_col = 0
        first_empty = pending[0].direct
        cursor = self.gap_start
        tie_next = prior

        def cut(tied: int) -> None:
            records.append((run[:], tied, run[0].start, run_col))
            run.clear()

        for p in [*pending, None]:
            pos = p.comment.start if p is not None else self.cur_start
            blank = _BLANK_LINE.search(text, cursor, pos)
            if blank is not None and run:
                if first_empty and ((not self.prior_is_value and pending[0].direct)
                                    or run_col < indent):
                    cut(run[0].start if run_col < indent else tie_next)
                    tie_next = blank.start()
                first_empty = False
            elif blank is not None:
                first_empty = False
            col = p.col if p is not None else (item_col if item_col is not None else 0)
            if run and col < indent and col != run_col:
                cut(tie_next)
                tie_next = pos
            if p is None:
                break
            if not run:
                run_col = p.col
            run.append(p.comment)
            cursor = p.comment.end
        if run:
            records.append((run[:], run[0].start, run[0].start, run_col))

        def block_end(block: _Frame) -> int:
            end = self.gap_start - 1
            for _, _, rec_start, rec_col in reversed(records):  # all: go-yaml ends blocks first
                if rec_col == block.indent:
                    end = rec_start
            return end

        taken = 0
        for i in range(len(snapshot) - 1, -1, -1):
            block = snapshot[i]
            if frame is not None and block is frame:
                break  # the next item's own container stays open
            if id(block) in indentless:
                parent = snapshot[i - 1]
                end = block_end(parent) if item_col is None or parent.indent > item_col \
                    else self.gap_start - 1
            elif item_col is None or block.indent > item_col:
                end = block_end(block)
            else:
                break
            while taken < len(records) and records[taken][1] <= end:
                block.node.extend(records[taken][0])
                taken += 1
        home = frame.node if frame is not None else self.docs[-1].root
        for comments, _, _, _ in records[taken:]:
            home.extend(comments)
        pending.clear()

    # -- driving -------------------------------------------------------------------------

    def build(self) -> list[YamlDoc]:
        try:
            for event in events(self.text):
                self.handle(event)
        except InputError:
            raise
        except RecursionError as err:
            raise InputError("YAML nesting is too deep") from err
        except Exception as err:
            if type(err).__module__.startswith(("ruamel", "_ruamel")):
                raise InputError(f"invalid YAML: {parse_error_message(err)}") from err
            raise
        return self.docs

    def handle(self, event: Any) -> None:
        name = event.__class__.__name__
        start = event.start_mark.index
        end = event.end_mark.index
        self.cur_start = start
        if self.prior_is_value and name in _NODE_EVENTS:
            # Comments before this event follow a key's ':' only if this is its value.
            self.prior_is_value = bool(self.stack) and \
                self.stack[-1].is_map and self.stack[-1].key is not None
        if name == "StreamStartEvent":
            return
        if name == "DocumentStartEvent":
            # Scan the whole prefix: comments may sit between directives and '---'.
            self.scan_gap(self.prev_end, end)
            doc = YamlDoc(root=Branch(start), start=start)
            if self.text.startswith("%", start):
                doc.directive = _yaml_directive(self.text, start, end)
            self.docs.append(doc)
            self.prev_end = end
            return
        if self.text.find("#", self.prev_end, start) >= 0:
            self.scan_gap(self.prev_end, start)
        if name == "DocumentEndEvent":
            doc = self.docs[-1]
            if self.pending:
                # The encrypted file has the `sops` key here, at the root's column:
                # settle comments as its head (or as foot comments of deeper blocks).
                self.flush_pending(doc.root_col, self.root_frame)
            if doc.insert_at == -2:
                self.docs[-1].insert_at = start
            self.prev_end = max(self.prev_end, end)
            return
        if name == "StreamEndEvent":
            if self.pending:
                if not self.docs:
                    raise InputError("the file holds no YAML document",
                                     hints=["an empty file cannot be encrypted (as with sops)"])
                self.flush_pending(None, None)
            return
        if name in ("MappingEndEvent", "SequenceEndEvent"):
            self._end(start, end)
            return

        # A node: ScalarEvent, AliasEvent, MappingStartEvent or SequenceStartEvent.
        frame = self.stack[-1] if self.stack else None
        if frame is not None:
            if frame.is_map and frame.key is None:
                col = event.start_mark.column
                text = self.text
                if (start >= 2 and text[start - 2:start] == "? " and not frame.is_flow
                        and (start == 2 or text[start - 3] in " \t\n")):
                    col -= 2  # an explicit key ('? key'): the map starts at the '?'
                if frame.indent < 0:
                    frame.indent = col
                    self._note_step(frame)
                self.data_line_item = self.line_item
                self.item_start(frame, col)
                self._key(event, name, frame, start, end)
                return
            if not frame.is_map:
                if frame.indent < 0:
                    frame.indent = event.start_mark.column if frame.is_flow else \
                        _column(self.text, frame.node.start)
                    self._note_step(frame)
                self.item_start(frame, event.start_mark.column if frame.is_flow else frame.indent)
        if len(self.stack) >= MAX_DEPTH:
            raise InputError(f"YAML nesting deeper than {MAX_DEPTH} levels is not supported")
        if name == "ScalarEvent":
            self._scalar(event, frame, start, end)
        elif name == "AliasEvent":
            self._alias(event, frame, start, end)
        else:
            self._collection(event, name == "MappingStartEvent", frame, start, end)

    def item_start(self, frame: _Frame, col: int) -> None:
        """A key (maps) or an item (lists) begins: settle comments, note where."""
        if self.pending:
            self.flush_pending(col, frame)
        if not frame.is_meta:  # a line comment after the `sops` block is the document's
            node = frame.node
            self.line_item = (self.cur_start, node, len(node))

    def _note_step(self, frame: _Frame) -> None:
        doc = self.docs[-1]
        if doc.step or frame.is_meta or frame.is_flow or len(self.stack) < 2:
            return
        parent = self.stack[-2]
        if not parent.is_flow and 0 <= parent.indent < frame.indent:
            doc.step = frame.indent - parent.indent

    def _next_ordinal(self, size: int = 1) -> int:
        """The next node's ordinal; nodes of the `sops` block are not counted."""
        frame = self.stack[-1] if self.stack else None
        if frame is not None and (frame.is_meta or self._is_meta_slot(frame)):
            return -1
        ordinal = self.ordinal
        self.ordinal += size
        return ordinal

    def _is_meta_slot(self, frame: _Frame) -> bool:
        """Is the next value in ``frame`` the document's `sops` block?"""
        return (frame.is_map and frame.key == "sops" and len(self.stack) == 1
                and self.meta_node is None and frame.node is self.docs[-1].root)

    # -- node kinds ----------------------------------------------------------------------

    def _key(self, event: Any, name: str, frame: _Frame, start: int, end: int) -> None:
        line = event.start_mark.line + 1
        if name == "AliasEvent":
            raise InputError(f"an alias used as a mapping key (line {line}) is not supported")
        if name != "ScalarEvent":
            raise InputError(f"complex mapping keys (line {line}) are not supported")
        key = event.value
        if key in frame.keys and key != "<<":
            raise InputError(f"mapping key {key!r} already defined (line {line})")
        frame.keys.add(key)
        frame.key = key
        self.content_end = end
        self.prior_is_value = not frame.is_flow
        if not frame.is_meta and key != "<<":
            try:
                typed = resolve(key, short_tag(event.tag), not event.style)
            except ValueError as err:  # a tag the key's text does not fit (!!int x)
                raise InputError(f"{err} (line {line})") from None
            if typed is None or typed[0] != "str":
                self.sops_notes.append(f"the key {key!r} (line {line}) is not a string to sops")
        frame.key_col = event.start_mark.column
        if event.anchor:
            self.anchors[event.anchor] = Scalar("str", key)
        if len(self.stack) == 1 and key == "sops" and not frame.is_meta:
            self.line_item = self.data_line_item  # the `sops` key is not an item of the data
            self.meta_start = start
            self.meta_prev_end = frame.last_end
        else:
            self._next_ordinal()
        self.prev_end = end
        frame.last_end = end

    def _place(self, node: Node, frame: _Frame) -> bool:
        """Attach ``node`` to ``frame``; True if it is the document's `sops` value."""
        if frame.is_map:
            if self._is_meta_slot(frame):
                frame.key = None
                self.meta_node = node
                return True
            frame.node.append((frame.key, node))
            frame.key = None
        else:
            frame.node.append(node)
        return False

    def _finish_meta(self, end: int) -> None:
        doc = self.docs[-1]
        node = self.meta_node
        assert node is not None
        self.meta_node = None
        doc.meta_raw = _raw(node)
        text = self.text
        if doc.flow_root:
            doc.meta_span = (self.meta_start, end)
            doc.meta_flow_start = self.meta_prev_end
            return
        line_start = text.rfind("\n", 0, self.meta_start) + 1
        start = line_start if not text[line_start:self.meta_start].strip() else self.meta_start
        eol = text.find("\n", end)
        doc.meta_span = (start, len(text) if eol < 0 else eol + 1)

    def _scalar(self, event: Any, frame: _Frame | None, start: int, end: int) -> None:
        text = self.text
        style = event.style or ""
        tag = short_tag(event.tag)
        self.prev_end = end
        if frame is None:
            doc = self.docs[-1]
            if start == end and not style:
                doc.insert_at = start
                self._next_ordinal()  # the map that the `sops` block makes of it
                return
            frame = self._wrap(event, doc, start, same_line=True)
        if style in ("|", ">"):
            end = start + len(text[start:end].rstrip(" \t\r\n"))
        frame.last_end = self.content_end = end
        if not frame.is_map and not style and tag is None and not frame.is_meta \
                and event.value.startswith(TOKEN_PREFIX) and event.value.endswith(",type:comment]"):
            # sops writes comments inside lists as list items: '- ENC[...,type:comment]'.
            frame.node.append(Comment(event.value, text.rfind("-", 0, start), end, ctx="item"))
            return
        try:
            resolved = resolve(event.value, tag, not style)
        except ValueError as err:
            raise InputError(f"{err} (line {event.start_mark.line + 1})") from None
        kind, canon = resolved if resolved is not None else (None, "")
        if frame.is_flow:
            ctx = _FLOW
        elif frame.is_map:
            ctx = frame.key_col * 2
        else:
            ctx = frame.indent * 2 + 1
        node = Scalar(kind, canon, start, end, self._next_ordinal(), ctx)
        if event.anchor:
            self.anchors[event.anchor] = node
        if kind == "float" and not style and tag is None and exact_int(event.value) is not None:
            self.sops_notes.append(f"the integer at line {event.start_mark.line + 1} is beyond "
                                   "int64: sops reads it as a float")
        if kind == "str" and style in ("|", ">") and (
                not canon or (event.end_mark.index == len(text) and not text.endswith("\n"))):
            # If it stays in clear, the line break added before the `sops` block (here, or
            # at the end of a file without one) could change its value.
            self.clear_blocks.append(node)
        if self._place(node, frame):
            self._finish_meta(end)
        if frame is self.root_frame and self.docs[-1].wrap is not None and len(self.stack) == 1:
            self.stack.pop()  # a wrapped top-level scalar: the document is complete
            self.docs[-1].insert_at = -2

    def _alias(self, event: Any, frame: _Frame | None, start: int, end: int) -> None:
        name = event.anchor
        if name in self.open_anchors:
            raise InputError(f"a recursive alias at line {event.start_mark.line + 1} is not "
                             "supported")
        target = self.anchors.get(name)
        if target is None:
            # not the alias's name: `password: *hunter2` is how a secret becomes an alias
            raise InputError(f"an alias to an undefined anchor at line "
                             f"{event.start_mark.line + 1}",
                             hints=["quote a value that starts with '*' or '&'"])
        if frame is None:
            raise InputError("a YAML document that is an alias has nowhere to keep the sops "
                             "metadata")
        copy = _copy(target, self.budget)
        node = Alias(copy, self.text[start:end], start, end, self._next_ordinal(_size(copy)))
        self.prev_end = self.content_end = end
        frame.last_end = end
        self.last_alias = node
        self.alias_slot = (frame.node, len(frame.node), frame.is_map)
        if self._place(node, frame):
            self._finish_meta(end)

    def _collection(self, event: Any, is_map: bool, frame: _Frame | None,
                    start: int, end: int) -> None:
        flow = bool(event.flow_style)
        doc = self.docs[-1]
        node: Branch | Seq
        if frame is None and not is_map:
            frame = self._wrap(event, doc, start, same_line=flow)
        if frame is None:
            node = doc.root
            node.start = start
            node.ordinal = self._next_ordinal()
            doc.flow_root = flow
            is_meta = False
        else:
            node = Branch(start) if is_map else Seq(start)
            node.ordinal = self._next_ordinal()
            is_meta = self._place(node, frame) or frame.is_meta
        if not flow and not is_map and self.text[start] != "-":
            # Properties first (`&a` / `!tag`): the list itself starts at its first dash.
            node.start = _first_dash(self.text, _skip_properties(self.text, start))
        new = _Frame(node, is_map, flow or (frame is not None and frame.is_flow), is_meta)
        if frame is None:
            self.root_frame = new
        new.last_end = end if flow else start
        if event.anchor:
            self.anchors[event.anchor] = node
            self.open_anchors.add(event.anchor)
            node.ctx = event.anchor
        self.stack.append(new)
        self.prev_end = end if flow else _skip_properties(self.text, start)
        if flow:
            self.content_end = end

    def _wrap(self, event: Any, doc: YamlDoc, start: int, *, same_line: bool) -> _Frame:
        """A top-level list or value goes under a ``data:`` key, so sops finds a mapping.

        The key goes on its own line above a block list (which stays byte-identical,
        now an indentless sequence), or just before a flow list, a value, or the
        node's anchor/tag; on a new line if the node shares the '---' line.
        """
        text = self.text
        nl = detect_newline(text)
        line_start = text.rfind("\n", 0, start) + 1
        alone = not text[line_start:start].strip(" \t")
        block_list = not same_line
        has_props = bool(event.anchor or (event.tag and text[start] in "&!"))
        if block_list and alone and not has_props:
            doc.wrap = (line_start, f"{WRAP_KEY}:{nl}")
        elif alone:
            doc.wrap = (start, f"{WRAP_KEY}: ")
        elif not block_list or has_props:
            doc.wrap = (start, f"{nl}{WRAP_KEY}: ")
        else:
            raise InputError("a top-level list that starts on the '---' line is not supported",
                             hints=["the top level should be a mapping (key: value)"])
        doc.root_col = 0 if doc.wrap[1].startswith(nl) else _column(text, doc.wrap[0])
        root = doc.root
        root.start = doc.wrap[0]
        root.ordinal = self._next_ordinal()
        frame = _Frame(root, True, False, False)
        self.root_frame = frame
        frame.indent = 0
        frame.key = WRAP_KEY
        frame.keys.add(WRAP_KEY)
        self.stack.append(frame)
        if self.pending:  # comments above the list belong to the new top-level map
            self.flush_pending(0, frame)
        self._next_ordinal()  # the key
        return frame

    def _end(self, start: int, end: int) -> None:
        finished = self.stack.pop()
        node = finished.node
        node.end = end if finished.is_flow else finished.last_end
        if isinstance(node.ctx, str):
            self.open_anchors.discard(node.ctx)
            node.ctx = None
        self.prev_end = end if finished.is_flow else start
        if finished.is_flow:
            self.content_end = end
            if not finished.is_meta:
                owner = self.stack[-1] if self.stack else None
                in_map = owner is not None and owner.is_map
                self.flow_closed = (end, node, owner.node if owner else None,
                                    len(owner.node) - 1 if owner else 0, in_map)
        doc = self.docs[-1]
        if doc.wrap is not None and len(self.stack) == 1 and self.stack[0].node is doc.root:
            self.stack.pop()  # the synthetic map around a top-level list
            doc.insert_at = -2  # at the document's end (set by DocumentEndEvent)
            return
        if self.stack:
            self.stack[-1].last_end = node.end
            if node is self.meta_node:
                self._finish_meta(node.end)
            return
        doc.root_col = max(finished.indent, 0)
        doc.insert_at = start
        if finished.is_flow:
            # Before '}', with a comma unless the items end with one already; on a line of
            # its own if a comment precedes the brace.
            between = _strip_comments(self.text[finished.last_end:start])
            has_items = any(not isinstance(item, Comment) for item in node)
            doc.flow_prefix = ", " if has_items and "," not in between else ""
            if "#" in self.text[finished.last_end:start] and not self.text[:start].endswith("\n"):
                doc.flow_prefix = detect_newline(self.text) + doc.flow_prefix
        if doc.meta_span is not None and not finished.is_flow and doc.meta_span[1] <= start:
            doc.meta_tail = (doc.meta_span[1], start)


_NODE_EVENTS = frozenset({"ScalarEvent", "AliasEvent", "MappingStartEvent", "SequenceStartEvent"})
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
_COMMENT_TAIL = re.compile(r"(?:^|(?<=[ \t]))#[^\n]*")
_YAML_DIRECTIVE = re.compile(r"%YAML[ \t]+[^ \t\r\n#]+")
YAML_11 = "%YAML 1.1"  # the only version go-yaml (and so sops) accepts


def _yaml_directive(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of the ``%YAML x.y`` directive in a document prefix, if any."""
    pos = start
    while pos < end:
        eol = text.find("\n", pos, end)
        stop = end if eol < 0 else eol + 1
        m = _YAML_DIRECTIVE.match(text, pos, stop)
        if m:
            return m.start(), m.end()
        pos = stop
    return None


def detect_newline(text: str) -> str:
    i = text.find("\n")
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"


def parse(text: str) -> ParsedYaml:
    """Parse a YAML stream into trees with spans; raise InputError if it cannot be used."""
    bom = ""
    if text.startswith("\ufeff"):
        bom, text = "\ufeff", text[1:]
    if not bom:
        from . import yaml_bulk  # one-line block mappings and lists: no parser events

        bulk = yaml_bulk.parse(text)
        if bulk is not None:
            return bulk
    return parse_events(text, bom)


def parse_events(text: str, bom: str) -> ParsedYaml:
    """:func:`parse` through parser events (any YAML), for ``text`` without its BOM."""
    parsed = ParsedYaml(text=text, bom=bom, nl=detect_newline(text))
    builder = _Builder(text)
    parsed.docs = builder.build()
    if not parsed.docs:
        raise InputError("the file holds no YAML document",
                         hints=["an empty file cannot be encrypted (as with sops)"])
    parsed.clear_blocks = builder.clear_blocks
    parsed.alias_comments = builder.alias_comments
    parsed.sops_notes = builder.sops_notes
    return parsed
