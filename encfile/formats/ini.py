"""The INI codec: sections of ``key = value`` lines, spliced in place.

Values are what sops's INI reader (go-ini v1.67) makes of them, so both tools
agree on the data and on key paths (``section:key:``; keys before the first
header are in section ``DEFAULT``):

* the key is the text before the first ``=`` or ``:``, trimmed, case kept;
* the value is trimmed; an unquoted ``;`` or ``#`` starts an inline comment;
  surrounding ``'``/``"`` quotes are removed; ``\"\"\"…\"\"\"`` and backtick
  quotes may span lines; a trailing ``\\`` continues the value on the next line;
* a key given twice in a section keeps its first place and its last value
  (the earlier values are encrypted too, outside sops's MAC: see ``Hidden``);
* comment lines above a key or a section header belong to it (AAD
  ``section:``); sops strips the marker and the spaces after it.

Files with indented continuation lines (``tox.ini``, ``setup.cfg``: Python's
configparser style) are read the way ``configparser`` reads them: a value runs on
over the lines indented deeper than its key's line, whatever they hold
(``    pytest``, ``    = src``, ``    mytool = pkg:main``), blank and comment lines
in between do not end it, the lines are joined with newlines, and no inline
comments or quotes are special. A file is read so when go-ini stops on such a
line, reads one as a key or header of its own, or cannot read the file, and
configparser can read it (:func:`parse`); keys are read as go-ini reads them.
The encrypted file writes each such value as one token, so sops reads it.

A leading byte order mark belongs to the file, as go-ini reads it: the
encrypted file has none (as sops writes it), the layout restores it.

Encrypted values and comments are spliced into the text; the ``[sops]``
section (sops's flat metadata keys, aligned) is appended after a blank line.
"""

from __future__ import annotations

import re

from ..errors import InputError
from ..metadata import flatten, unflatten
from ..tree import Branch, Comment, Hidden, Scalar
from .splice import apply, overrides_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "ini"
EXTENSIONS = (".ini", ".cfg")
DEFAULT_SECTION = "DEFAULT"
META_SECTION = "sops"
_COMMENT_CUT = {";": "; ", "#": "# "}


def render_value(value: str) -> str:
    """A value as go-ini writes it, quoted so that go-ini reads it back unchanged."""
    if "\n" in value or "`" in value:
        return f'"""{value}"""'
    if (";" in value or "#" in value or value.endswith("\\") or value.startswith('"""')
            or (len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"")):
        return f"`{value}`"
    if value.strip() != value:
        return f'"{value}"'
    return value


class _Unreadable(Exception):
    """The reader (go-ini's or configparser's) would stop at this line."""

    def __init__(self, line_no: int, message: str) -> None:
        super().__init__(message)
        self.line_no = line_no


class _Section:
    __slots__ = ("header", "keys", "name", "node")

    def __init__(self, name: str, node: Branch, header: tuple[int, int] | None) -> None:
        self.name = name
        self.node = node
        self.header = header  # span of the header line (newline excluded)
        self.keys: dict[str, int] = {}  # key -> index in node


# A plain class, not a dataclass: see "Start-up" in ARCHITECTURE.md.
class ParsedIni:
    def __init__(self, text: str, nl: str, sections: list[_Section], root: Branch,
                 configparser: bool = False) -> None:
        self.text = text
        self.bom = text.startswith("\ufeff")  # skipped by the reader, left out when writing
        self.nl = nl
        self.sections = sections
        self.root = root
        self.scalars: list[Scalar] = []
        self.comments: list[Comment] = []
        self.configparser = configparser
        # go-ini mode: the first line go-ini reads as a key or header, configparser as a
        # continuation line (-1: none)
        self.continued = -1
        self.meta: _Section | None = None
        self.meta_pairs: list[tuple[str, str]] = []
        self.meta_span: tuple[int, int] | None = None
        self.tail_after_meta = False
        # `[name] ; comment`: (comment, line start, position after ']'). go-ini takes the name
        # up to the LAST ']', and a token holds one, so the encrypted comment goes on a line
        # of its own above the header (go-ini gives it to the section all the same).
        self.header_comments: list[tuple[Comment, int, int]] = []
        self.sops_notes: list[str] = []
        self.overrides: dict[str, str] = {}

    @property
    def roots(self) -> list[Branch]:
        return [self.root]

    @property
    def metadata(self) -> Any:
        if self.meta is None:
            return None
        return unflatten(self.meta_pairs)

    def metadata_consistent(self) -> bool:
        return sum(s.name == META_SECTION for s in self.sections) <= 1

    def structure_problem(self) -> str | None:
        if self.tail_after_meta:
            return "text follows the sops metadata"
        return None

    # -- encrypting ------------------------------------------------------------------------

    def _encrypted_form(self, node: Scalar) -> str | None:
        """What replaces a value's span in the encrypted file (None: it stays as written)."""
        if node.out is not None:
            return str(node.out)
        if self.configparser and (node.ctx != node.text or render_value(node.text) != node.text):
            return render_value(node.text)  # so that go-ini reads the clear value the same
        return None

    def layout(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        text = self.text
        scalars = {}
        for node in self.scalars:
            form = self._encrypted_form(node)
            if form is not None and text[node.start:node.end] != (
                    render_value(node.text) if node.out is not None else form):
                scalars[str(node.ordinal)] = text[node.start:node.end]
        if scalars:
            out["scalars"] = scalars
        moved = {str(self.comments.index(c)): text[after:c.start]
                 for c, _, after in self.header_comments if c.out is not None}
        if moved:
            out["header_comments"] = moved
        if text and not text.endswith("\n"):
            out["no_final_newline"] = True
        if self.bom:
            out["bom"] = True
        return out

    def render_encrypted(self, metadata: dict[str, Any]) -> str:
        splices = []
        for node in self.scalars:
            form = self._encrypted_form(node)
            if form is not None:
                splices.append((node.start, node.end, form))
        moved = {id(c) for c, _, _ in self.header_comments if c.out is not None}
        splices += [(c.start, c.end, c.out) for c in self.comments
                    if c.out is not None and id(c) not in moved]
        for c, line_start, after in self.header_comments:
            if c.out is not None:
                splices.append((line_start, line_start, f"; {c.out}{self.nl}"))
                splices.append((after, c.end, ""))
        body = apply(self.text, splices)
        if self.bom:
            body = body[1:]
        nl = self.nl
        if body and not body.endswith("\n"):
            body += "\n"  # exactly what render_plain takes off again
        pairs = flatten(metadata)
        width = max(len(k) for k, _ in pairs)
        lines = "".join(f"{k.ljust(width)} = {render_value(_escape_newlines(v))}{nl}"
                        for k, v in pairs)
        return body + (nl if body else "") + f"[{META_SECTION}]{nl}" + lines

    # -- decrypting ------------------------------------------------------------------------

    def render_plain(self, layout: dict[str, Any] | None) -> str:
        layout = layout or {}
        overrides: dict[str, str] = layout.get("scalars", {})
        splices = []
        for node in self.scalars:
            rendered = overrides.get(str(node.ordinal)) if overrides else None
            if rendered is None and node.out is not None:
                rendered = render_value(node.out[1])
            if rendered is not None:
                splices.append((node.start, node.end, rendered))
        moved: dict[str, str] = layout.get("header_comments", {})
        for index, c in enumerate(self.comments):
            if c.out is None:
                continue
            suffix = moved.get(str(index)) if moved else None
            if suffix is not None:
                splices += self._header_comment_back(c, suffix)
            else:
                plain = c.out if layout else _goini_comment(c.out)
                splices.append((c.start, c.end, plain))
        if self.meta_span is not None:
            splices.append((*self.meta_span, ""))
        out = apply(self.text, splices)
        if layout.get("no_final_newline") and out.endswith("\n"):
            out = out[:-1]
        if self.bom:  # not written by encfile or sops: go-ini skips it, and so does sops -d
            out = out[1:]
        return "\ufeff" + out if layout.get("bom") else out

    def _header_comment_back(self, c: Comment, suffix: str) -> list[tuple[int, int, str]]:
        """Put a header's comment, written on the line above it, back after its ']'."""
        text = self.text
        line_start = text.rfind("\n", 0, c.start) + 1
        line_end = text.find("\n", c.end)
        header_end = text.find("\n", line_end + 1)
        header_end = len(text) if header_end < 0 else header_end
        close = text.rfind("]", line_end + 1, header_end)
        if line_end < 0 or close < 0 or text[line_start:c.start] != "; " \
                or text[line_end + 1:line_end + 2] != "[":
            raise InputError("a section header's comment is not where the layout data says")
        return [(line_start, line_end + 1, ""), (close + 1, close + 1, suffix + c.out)]

    def apply_layout(self, layout: dict[str, Any] | None) -> None:
        self.overrides = overrides_of(layout)

    # -- data --------------------------------------------------------------------------------

    def sops_data(self) -> list[Any]:
        """The sections as sops decrypts them: ``DEFAULT`` first, empty when no key is
        outside a section (go-ini always has it)."""
        data: dict[str, Any] = self.to_python()[0]
        return [{DEFAULT_SECTION: data.pop(DEFAULT_SECTION, {}), **data}]

    def to_python(self) -> list[Any]:
        """``{section: {key: value}}``; the keys before any header are under ``DEFAULT``."""
        out: dict[str, dict[str, str]] = {}
        for section in self.sections:
            if section is self.meta:
                continue
            values = out.setdefault(section.name, {})
            for item in section.node:
                if isinstance(item, tuple) and not isinstance(item[1], Hidden):
                    node = item[1]
                    values[item[0]] = node.out[1] if node.out is not None else node.text
        if not out.get(DEFAULT_SECTION):
            out.pop(DEFAULT_SECTION, None)
        return [out]




# -- parsing ---------------------------------------------------------------------------------

_LINE = re.compile(r"[^\n]*\n?")


def parse(text: str) -> ParsedIni:
    """go-ini's reading of ``text``, or configparser's if it has continuation lines.

    configparser's reading is taken when configparser sees a continuation line that
    go-ini reads as a key or a header of its own, or when go-ini cannot read a file that
    has continuation lines; and only if configparser can read the file. An encrypted
    file (one with a ``[sops]`` section) that go-ini reads is read as sops reads it:
    encfile writes no continuation lines.
    """
    lines = [(m.start(), m.end())
             for m in _LINE.finditer(text, 1 if text.startswith("\ufeff") else 0)
             if m.end() > m.start()]
    continuations = _continuation_lines(text, lines)
    goini: ParsedIni | None = None
    goini_error: _Unreadable | None = None
    try:
        goini = _Parser(text, lines, continuations, configparser=False).run()
    except _Unreadable as err:
        if not continuations:
            raise InputError(f"line {err.line_no}: {err}") from None
        note = "its indented continuation lines stop sops's INI reader"
        if err.line_no - 1 not in continuations:
            goini_error = err  # maybe a configparser file all the same (`k = `x`: a value)
            note = f"sops's INI reader stops at line {err.line_no} ({err})"
    else:
        if goini.continued < 0 or goini.meta is not None:
            return goini
        start, end = lines[goini.continued]
        what = "a section header" if text[start:end].lstrip().startswith("[") else "a key"
        note = (f"sops reads line {goini.continued + 1} as {what} of its own, configparser as "
                "part of the value above it")
    try:
        parsed = _Parser(text, lines, continuations, configparser=True).run()
    except _Unreadable as err:
        if goini is not None:  # configparser cannot read it either: go-ini's reading stands
            return goini
        err = goini_error or err
        raise InputError(f"line {err.line_no}: {err}") from None
    parsed.sops_notes.append(note)
    return parsed


def _continuation_lines(text: str, lines: list[tuple[int, int]]) -> frozenset[int]:
    """The indexes of the lines that configparser reads as continuation lines.

    configparser's ``RawConfigParser._read`` (``empty_lines_in_values``, the default):
    a line that is neither blank nor a comment continues the value of the last option
    when it is indented deeper than that option's line. Blank and comment lines leave
    the value open; a section header closes it. Keys before the first header count as
    options here (configparser refuses them; encfile reads them in ``DEFAULT``).
    """
    found = []
    indent_level = -1  # of the last option line; -1: no value is open
    for i, (start, end) in enumerate(lines):
        raw = text[start:end]
        body = raw.strip()
        if not body or body[0] in "#;":
            continue
        indent = len(raw) - len(raw.lstrip())
        if indent > indent_level >= 0:
            found.append(i)
        elif _is_header(body):
            indent_level = -1
        else:
            indent_level = indent
    return frozenset(found)


def _is_header(line: str) -> bool:
    """configparser's ``SECTCRE``, ``\\[(?P<header>.+)\\]``, on a stripped line."""
    return line.startswith("[") and line.rfind("]") >= 2


class _Parser:
    def __init__(self, text: str, lines: list[tuple[int, int]], continuations: frozenset[int],
                 *, configparser: bool) -> None:
        self.text = text
        self.lines = lines
        self.continuations = continuations
        self.configparser = configparser
        nl = "\r\n" if "\r\n" in text else "\n"
        self.root = Branch()
        default = _Section(DEFAULT_SECTION, Branch(), None)
        self.root.append((DEFAULT_SECTION, default.node))
        self.parsed = ParsedIni(text, nl, [default], self.root, configparser=configparser)
        self.section = default
        self.pending: list[Comment] = []
        self.last_key: Scalar | None = None  # whose value continuation lines extend
        self.blank_run = 0  # blank lines since the last key or continuation line
        self.tentative: list[Comment] = []  # comments inside a configparser value, maybe
        self.auto = 1

    def run(self) -> ParsedIni:
        lines = self.lines
        i = 0
        while i < len(lines):
            start, end = lines[i]
            i = self.line(lines, i, start, end)
        self._end()
        return self.parsed

    # A line; returns the index of the next line to read.
    def line(self, lines: list[tuple[int, int]], i: int, start: int, end: int) -> int:
        text = self.text
        content_end = end - 1 if text.endswith("\n", start, end) else end
        if text.endswith("\r", start, content_end):
            content_end -= 1
        raw = text[start:content_end]
        body = raw.lstrip()
        if not body:
            self.blank_run += 1
            return i + 1
        at = start + len(raw) - len(body)
        if i in self.continuations:
            if self.configparser:
                return self._continue(lines, i)
            if self.parsed.continued < 0:  # go-ini reads it as a key or a header
                self.parsed.continued = i
        if body[0] in "#;":
            self._comment(at, content_end)
            if self.configparser and self.last_key is not None:
                # configparser skips a comment line inside a value, wherever it starts
                self.tentative.append(self.parsed.comments[-1])
            return i + 1
        self.blank_run = 0
        self.tentative = []
        self.last_key = None
        if body[0] == "[":
            self._header(i, start, at, content_end)
            return i + 1
        return self._key(lines, i, at, content_end)

    def _comment(self, marker: int, end: int) -> None:
        text = self.text
        cut = _COMMENT_CUT[text[marker]]
        pos = marker
        while pos < end and text[pos] in cut:
            pos += 1
        comment = Comment(text[pos:end], pos, end)
        self.pending.append(comment)
        self.parsed.comments.append(comment)

    def _flush(self, section: _Section) -> None:
        section.node.extend(self.pending)
        self.pending = []

    def _header(self, i: int, start: int, at: int, end: int) -> None:
        text = self.text
        close = text.rfind("]", at, end)
        if close < 0:
            raise _Unreadable(i + 1, "a section header is not closed with ']'")
        name = text[at + 1:close]
        if not name:
            raise _Unreadable(i + 1, "a section header has no name")
        rest = text[close + 1:end]
        mark = min((p for p in (rest.find(";"), rest.find("#")) if p >= 0), default=-1)
        section = _Section(name, Branch(), (start, end))
        if name == META_SECTION and self.parsed.meta is None:
            self.parsed.meta = section
        elif self.parsed.meta is not None:
            self.parsed.tail_after_meta = True
        if section is self.parsed.meta:  # comments before it end the previous section
            self._flush(self.section)
        if mark >= 0:
            self._comment(close + 1 + mark, end)
            self.parsed.header_comments.append((self.parsed.comments[-1], start, close + 1))
        self._flush(section)
        self.parsed.sections.append(section)
        if section is not self.parsed.meta:
            self.root.append((name, section.node))
        self.section = section
        self.auto = 1

    def _key(self, lines: list[tuple[int, int]], i: int, at: int, end: int) -> int:
        text = self.text
        # The key is read as go-ini reads it, in configparser files too: it stays in clear
        # in the encrypted file, where sops must find the same key path.
        name, value_at = self._key_name(i, at, end)
        if self.configparser:
            value_start = _skip_space(text, value_at, end)
            value_end = end
            while value_end > value_start and text[value_end - 1].isspace():
                value_end -= 1
            node_text = text[value_start:value_end]
            self.last_key = self._add(name, node_text, value_start, value_end, node_text)
            return i + 1
        value, value_start, value_end, next_i, comment_at = self._value(lines, i, value_at, end)
        self._add(name, value, value_start, value_end, None)
        if comment_at >= 0:
            self._comment(comment_at, self._line_end(lines[next_i - 1]))
            self.section.node.append(self.pending.pop())
        return next_i

    def _key_name(self, i: int, at: int, end: int) -> tuple[str, int]:
        text = self.text
        quote = ""
        if text[at] == '"':
            # go-ini counts the line's newline in its length (as in _value)
            quote = '"""' if self.lines[i][1] - at > 6 and text.startswith('"""', at) else '"'
        elif text[at] == "`":
            quote = "`"
        if quote:
            close = text.find(quote, at + len(quote), end)
            if close < 0:
                raise _Unreadable(i + 1, "a quoted key is not closed")
            delim = _find_any(text, "=:", close + len(quote), end)
            if delim < 0:
                raise _Unreadable(i + 1, "a key has no '=' or ':'")
            return text[at + len(quote):close].strip(), delim + 1
        delim = _find_any(text, "=:", at, end)
        if delim < 0:
            raise _Unreadable(i + 1, "a line has no '=' or ':'")
        if delim == at:
            raise _Unreadable(i + 1, "a line has an empty key name")
        name = text[at:delim].strip()
        if name == "-":
            name = f"#{self.auto}"
            self.auto += 1
        return name, delim + 1

    def _value(self, lines: list[tuple[int, int]], i: int, at: int,
               end: int) -> tuple[str, int, int, int, int]:
        """go-ini's readValue: (value, span start, span end, next line index, comment start)."""
        text = self.text
        start = _skip_space(text, at, end)
        if start >= end:
            return "", start, start, i + 1, -1
        quote = ""
        # go-ini's test is len(line) > 3 on the line with its newline: `k = """` then a
        # newline opens a multi-line value (sops -d writes "\nx" so), at the file's end not
        if lines[i][1] - start > 3 and text.startswith('"""', start):
            quote = '"""'
        elif text[start] == "`":
            quote = "`"
        if quote:
            inner = start + len(quote)
            close = text.rfind(quote, inner, end)
            if close >= 0:  # anything after the closing quote is ignored by go-ini
                return text[inner:close], start, end, i + 1, -1
            parts = [text[inner:lines[i][1]]]
            j = i + 1
            while j < len(lines):
                line_start, line_end = lines[j]
                close = text.rfind(quote, line_start, line_end)
                if close >= 0:
                    parts.append(text[line_start:close])
                    content_end = self._line_end(lines[j])
                    rest = text[close + len(quote):content_end]
                    mark = min((p for p in (rest.find(";"), rest.find("#")) if p >= 0),
                               default=-1)
                    if mark >= 0:
                        return ("".join(parts), start, close + len(quote) + mark, j + 1,
                                close + len(quote) + mark)
                    return "".join(parts), start, content_end, j + 1, -1
                parts.append(text[line_start:line_end])
                j += 1
            raise _Unreadable(i + 1, "a quoted value is not closed")
        stop = end
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        if text[stop - 1] == "\\":  # continuation lines
            value = text[start:stop - 1]
            j = i + 1
            span_end = stop
            while j < len(lines):
                nxt = text[lines[j][0]:self._line_end(lines[j])].strip()
                j += 1
                if not nxt:
                    break
                value += nxt
                span_end = self._line_end(lines[j - 1])
                if not value.endswith("\\"):
                    break
                value = value[:-1]
            return value, start, span_end, j, -1
        mark = _find_any(text, "#;", start, stop)
        comment_at = -1
        if mark >= 0:
            comment_at = mark
            stop = mark
            while stop > start and text[stop - 1].isspace():
                stop -= 1
        value = text[start:stop]
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" \
                and value.find(value[0], 1) == len(value) - 1:
            value = value[1:-1]
        return value, start, stop, i + 1, comment_at

    def _line_end(self, span: tuple[int, int]) -> int:
        start, end = span
        if self.text.endswith("\n", start, end):
            end -= 1
        if self.text.endswith("\r", start, end):
            end -= 1
        return end

    def _continue(self, lines: list[tuple[int, int]], i: int) -> int:
        """configparser style: indented lines extend the last key's value."""
        node = self.last_key
        assert node is not None
        text = self.text
        start, _ = lines[i]
        end = self._line_end(lines[i])
        part = text[start:end].strip()
        node.text += "\n" * (self.blank_run + 1) + part
        self.blank_run = 0
        node.end = end
        node.ctx = text[node.start:end]
        for comment in self.tentative:  # a comment line inside the value: part of its text
            self.parsed.comments.remove(comment)
            self.pending.remove(comment)
        self.tentative = []
        return i + 1

    def _add(self, name: str, value: str, start: int, end: int, source: str | None) -> Scalar:
        section = self.section
        node = Scalar("str", value, start, end, len(self.parsed.scalars),
                      source if source is not None else self.text[start:end])
        self.parsed.scalars.append(node)
        if section is self.parsed.meta:
            self.parsed.meta_pairs.append((name, value.replace("\\n", "\n")))
            return node
        index = section.keys.get(name)
        if index is None:
            section.keys[name] = len(section.node)
            section.node.append((name, node))
        else:  # go-ini keeps the first place and the last value
            if len(self.parsed.sops_notes) < 10:
                self.parsed.sops_notes.append(f"[{section.name}] {name!r} is given twice: sops "
                                              "keeps only the last value")
            old = section.node[index][1]
            hidden = Hidden(old.kind, old.text, old.start, old.end, old.ordinal, old.ctx)
            self.parsed.scalars[old.ordinal] = hidden
            section.node[index] = (name, node)
            section.node.append((name, hidden))
        self._flush(section)
        return node

    def _end(self) -> None:
        parsed = self.parsed
        # Comments after the last key: go-ini drops them; encfile keeps them encrypted.
        if self.pending:
            self._flush(self.section if self.section is not parsed.meta
                        else parsed.sections[-2] if len(parsed.sections) > 1
                        else parsed.sections[0])
        meta = parsed.meta
        if meta is not None:
            parsed.scalars = [n for n in parsed.scalars
                              if not (meta.header and n.start > meta.header[0])]
            for ordinal, node in enumerate(parsed.scalars):
                node.ordinal = ordinal
            assert meta.header is not None
            start = meta.header[0]
            text = self.text
            # one blank line before the section goes with it (encfile and sops write one)
            if start > 0:
                prev = text.rfind("\n", 0, start - 1) + 1
                if not text[prev:start].strip():
                    start = prev
            parsed.meta_span = (start, len(text))
            if parsed.tail_after_meta:
                parsed.meta_span = None


def _goini_comment(plain: str) -> str:
    """A sops-made comment as go-ini's writer prints it (what ``sops -d`` shows).

    The first line follows the marker already in the file; every further line of a
    comment block gets its marker back, then one space and the trimmed rest.
    """
    lines = plain.split("\n")
    out = [lines[0].strip()]
    for line in lines[1:]:
        if line[:1] in (";", "#"):
            out.append(f"{line[0]} {line[1:].strip()}")
        else:
            out.append(f"; {line.strip()}")
    return "\n".join(out)


def _escape_newlines(value: str) -> str:
    return value.replace("\n", "\\n")


def _skip_space(text: str, pos: int, end: int) -> int:
    while pos < end and text[pos].isspace():
        pos += 1
    return pos


def _find_any(text: str, chars: str, start: int, end: int) -> int:
    found = [p for p in (text.find(c, start, end) for c in chars) if p >= 0]
    return min(found) if found else -1
