"""The dotenv codec: ``KEY=value`` lines, spliced in place.

The data is what sops's dotenv reader makes of a line, so both tools see the
same values and key paths: the key is everything before the first ``=`` (taken
literally: ``export X`` and ``X `` are keys), the value everything after it
(quotes, spaces and an inline ``# comment`` included, a CRLF file's ``\\r``
too), with the two characters ``\\n`` read as a newline. A line whose first
character is ``#`` is a comment. Every value is a string.

What sops's format cannot express is still encrypted and restored exactly:

* a quoted value running over several lines is one value (sops reads the
  encrypted file, where the value is one token on one line);
* an indented comment, or a line without ``=``, is encrypted as a comment at
  the start of its line, and the layout restores the line's start;
* a line of spaces (or a CRLF file's empty line) is written empty;
* a leading byte order mark belongs to the file, not to the first key (sops
  reads it as part of the key): the encrypted file has none, the layout
  restores it. A file sops encrypted with one keeps it in its first key, as
  sops's AAD does, and the data shows the key without it.

What the values *mean* to a program (quotes removed, escapes decoded, inline
comments cut) is :func:`interpret`'s job: python-dotenv's rules, plus backtick
quotes as Node's dotenv reads them. The metadata is sops's flat
``sops_<key>=<value>`` lines, sorted, after the data.
"""

from __future__ import annotations

from ..metadata import flatten, unflatten
from ..tree import Branch, Comment, Scalar
from .splice import apply, overrides_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAME = "dotenv"
EXTENSIONS = (".env",)
META_PREFIX = "sops_"
_QUOTES = "\"'`"


def _render(plain: str) -> str:
    """A value as sops writes it: newlines as the two characters ``\\n``."""
    return plain.replace("\n", "\\n")


def _closing(text: str, pos: int, quote: str) -> int:
    """Index of the quote closing a value opened at ``pos - 1`` (-1 if none)."""
    if quote == "`":
        return text.find("`", pos)
    while True:
        found = text.find(quote, pos)
        if found < 0:
            return -1
        backslashes = 0
        while found - backslashes - 1 >= pos and text[found - backslashes - 1] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return found
        pos = found + 1


# A plain class, not a dataclass: see "Start-up" in ARCHITECTURE.md.
class ParsedDotenv:
    def __init__(self, text: str, root: Branch) -> None:
        self.text = text
        self.bom = text.startswith("\ufeff")  # not part of the first line
        self.root = root
        self.scalars: list[Scalar] = []
        self.comments: list[Comment] = []
        self.meta_pairs: list[tuple[str, str]] = []
        self.meta_lines: list[tuple[int, int]] = []  # spans, newline included
        self.data_end = 0  # end of the last data line (after its newline)
        # line starts the encrypted file cannot show: comment index -> text before the comment
        self.prefixes: dict[str, str] = {}
        self.blanks: dict[str, str] = {}  # blank-line index -> its spaces
        self.blank_spans: list[tuple[int, int]] = []
        self.sops_notes: list[str] = []
        self.overrides: dict[str, str] = {}

    @property
    def roots(self) -> list[Branch]:
        return [self.root]

    @property
    def metadata(self) -> Any:
        if not self.meta_lines:
            return None
        return unflatten(self.meta_pairs)

    def metadata_consistent(self) -> bool:
        return True

    def structure_problem(self) -> str | None:
        if self.meta_lines and self.data_end > self.meta_lines[0][0]:
            return "text follows the sops metadata"
        return None

    # -- encrypting ------------------------------------------------------------------------

    def layout(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        scalars = {str(n.ordinal): self.text[n.start:n.end] for n in self.scalars
                   if n.out is not None and self.text[n.start:n.end] != _render(n.text)}
        if scalars:
            out["scalars"] = scalars
        if self.prefixes:
            out["prefixes"] = self.prefixes
        if self.blanks:
            out["blanks"] = self.blanks
        if self.text and not self.text.endswith("\n"):
            out["no_final_newline"] = True
        if self.bom:
            out["bom"] = True
        return out

    def render_encrypted(self, metadata: dict[str, Any]) -> str:
        text = self.text
        splices = [(n.start, n.end, n.out) for n in self.scalars if n.out is not None]
        for c in self.comments:
            body = c.out if c.out is not None else c.text
            if c.ctx is not None:  # an indented comment or a bare line: '#' at the start
                splices.append((c.ctx, c.end, "#" + body))
            elif c.out is not None:
                splices.append((c.start, c.end, body))
        splices += [(s, e, "") for s, e in self.blank_spans if s != e]
        lines = "".join(f"{META_PREFIX}{k}={_render(v)}\n" for k, v in flatten(metadata))
        body = apply(text, splices)
        if self.bom:  # sops would read it as part of the first key
            body = body[1:]
        spans = self.blank_spans
        if spans and spans[-1][1] == len(text) and spans[-1][0] != spans[-1][1]:
            body += "\n"  # a last line of spaces, written empty: keep it a line
        if body and not body.endswith("\n"):
            body += "\n"
        return body + lines

    # -- decrypting ------------------------------------------------------------------------

    def render_plain(self, layout: dict[str, Any] | None) -> str:
        layout = layout or {}
        overrides: dict[str, str] = layout.get("scalars", {})
        prefixes: dict[str, str] = layout.get("prefixes", {})
        blanks: dict[str, str] = layout.get("blanks", {})
        splices = []
        for node in self.scalars:
            if node.out is not None:
                rendered = overrides.get(str(node.ordinal)) if overrides else None
                splices.append((node.start, node.end,
                                rendered if rendered is not None else _render(node.out[1])))
        for index, c in enumerate(self.comments):
            prefix = prefixes.get(str(index)) if prefixes else None
            if prefix is not None:
                body = c.out if c.out is not None else c.text
                splices.append((c.start - 1, c.end, prefix + body))
            elif c.out is not None:
                splices.append((c.start, c.end, c.out))
        if blanks:
            for index, (start, end) in enumerate(self.blank_spans):
                if str(index) in blanks:
                    splices.append((start, end, blanks[str(index)]))
        splices += [(s, e, "") for s, e in self.meta_lines]
        if layout and self.meta_lines and self.meta_lines[-1][1] < len(self.text):
            # encfile writes its metadata last: what follows was added since, unsigned
            splices.append((self.meta_lines[-1][1], len(self.text), ""))
        out = apply(self.text, splices)
        if layout.get("no_final_newline") and out.endswith("\n"):
            out = out[:-1]
        if layout.get("bom") and not self.bom:
            out = "\ufeff" + out
        return out

    def apply_layout(self, layout: dict[str, Any] | None) -> None:
        self.overrides = overrides_of(layout)

    # -- data --------------------------------------------------------------------------------

    def sops_data(self) -> list[Any]:
        """The variables as sops sees them (``sops exec-env`` passes these): each key as
        written, its value the raw text after ``=``, quotes included."""
        out: dict[str, Any] = {}
        for item in self.root:
            if isinstance(item, Comment):
                continue
            key, node = item
            out[key] = node.out[1] if node.out is not None else node.text
        return [out]

    def to_python(self) -> list[Any]:
        """The variables as a program reads them (see :func:`interpret`)."""
        out: dict[str, Any] = {}
        for item in self.root:
            if isinstance(item, Comment):
                continue
            key, node = item
            name = interpret_key(key)
            if node.out is not None:
                source = self.overrides.get(str(node.ordinal)) or _render(node.out[1])
            else:
                source = self.text[node.start:node.end]
            out[name] = interpret(source)
        return [out]




# -- reading values as programs do ----------------------------------------------------------

_DOUBLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'",
                   "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_SINGLE_ESCAPES = {"'": "'", "\\": "\\"}


def interpret_key(key: str) -> str:
    """A line's key as python-dotenv reads it: ``export`` and spaces removed.

    A byte order mark in front (the first key of a file sops encrypted with one) goes too.
    """
    key = key.removeprefix("\ufeff")
    bare = key.lstrip()
    if bare.startswith("export") and bare[6:7] in (" ", "\t"):
        key = bare[6:].lstrip(" \t")
    name = key.strip()
    if len(name) >= 2 and name[0] == name[-1] == "'":
        name = name[1:-1]
    return name


def _unescape(inner: str, escapes: dict[str, str]) -> str:
    """Each backslash and the character after it, left to right, as ``escapes`` maps the
    character (a pair it does not map stays as it is)."""
    at = inner.find("\\")
    if at < 0:
        return inner
    out: list[str] = []
    start = 0
    while 0 <= at < len(inner) - 1:
        out += (inner[start:at], escapes.get(inner[at + 1], inner[at:at + 2]))
        start = at + 2
        at = inner.find("\\", start)
    out.append(inner[start:])
    return "".join(out)


def interpret(source: str) -> str:
    """A value's text after ``=`` as python-dotenv reads it (and Node's dotenv for backticks).

    Double quotes decode backslash escapes; single quotes only ``\\'`` and
    ``\\\\``; backticks nothing; an unquoted value loses an inline ``# comment``
    and the spaces around it.
    """
    value = source.lstrip(" \t")
    if value and value[0] in _QUOTES:
        quote = value[0]
        end = _closing(value, 1, quote)
        if end > 0:
            inner = value[1:end]
            if quote == '"':
                return _unescape(inner, _DOUBLE_ESCAPES)
            if quote == "'":
                return _unescape(inner, _SINGLE_ESCAPES)
            return inner
    value = value.rstrip("\r")
    # An inline comment: the first '#' after a space or tab, with the run of them before it.
    hash_at = value.find("#", 1)
    while hash_at > 0 and value[hash_at - 1] not in " \t":
        hash_at = value.find("#", hash_at + 1)
    if hash_at > 0:
        value = value[:hash_at].rstrip(" \t")
    return value.strip(" \t")


# -- parsing ---------------------------------------------------------------------------------

# A line that needs no care: a key not starting with '#' or a space, then '=' and a value
# that does not start with a quote or a space (so it cannot run over several lines) and holds
# no carriage return. Found with str methods: the parser imports no re.
_NOT_SIMPLE_START = "\"'`"


def parse(text: str) -> ParsedDotenv:
    parsed = ParsedDotenv(text, Branch())
    root = parsed.root
    notes = parsed.sops_notes
    pos = 1 if parsed.bom else 0
    if parsed.bom:
        notes.append("sops reads its byte order mark as part of the first line")
    size = len(text)
    line_no = 0
    find = text.find
    scalars = parsed.scalars
    while pos < size:
        line_no += 1
        eol = find("\n", pos)
        if eol < 0:
            eol = nxt = size
        else:
            nxt = eol + 1
        eq = find("=", pos, eol)
        if (eq > pos and text[pos] != "#" and not text[pos].isspace()
                and (eq + 1 == eol or (text[eq + 1] not in _NOT_SIMPLE_START
                                       and not text[eq + 1].isspace()))
                and find("\r", eq + 1, eol) < 0):
            # the common KEY=value line
            key = text[pos:eq]
            raw = text[eq + 1:eol]
            if key.startswith(META_PREFIX):
                parsed.meta_pairs.append((key[len(META_PREFIX):], raw.replace("\\n", "\n")))
                parsed.meta_lines.append((pos, nxt))
            else:
                node = Scalar("str", raw.replace("\\n", "\n") if "\\" in raw else raw, eq + 1,
                              eol, len(scalars))
                scalars.append(node)
                root.append((key, node))
                parsed.data_end = nxt
            pos = nxt
            continue
        if eol == pos:  # an empty line
            parsed.blank_spans.append((pos, eol))
            pos = nxt
            continue
        first = text[pos]
        if first == "#":
            _comment(parsed, pos, pos + 1, eol, None)
            pos = nxt
            continue
        stripped = text[pos:eol].lstrip(" \t\r")
        if not stripped:  # spaces only: sops stops at it, so it is written empty
            parsed.blanks[str(len(parsed.blank_spans))] = text[pos:eol]
            parsed.blank_spans.append((pos, eol))
            pos = nxt
            continue
        eq = text.find("=", pos, eol)
        if stripped[0] == "#" or eq < 0:
            mark = eol - len(stripped) if stripped[0] == "#" else pos
            _comment(parsed, pos, mark + 1 if stripped[0] == "#" else pos, eol,
                     text[pos:mark + 1] if stripped[0] == "#" else "")
            if stripped[0] != "#" and len(notes) < 10:
                notes.append(f"line {line_no} has no '=': sops cannot read it")
            pos = nxt
            continue
        key = text[pos:eq]
        start = eq + 1
        end = _value_end(text, start, eol)
        if end != eol:
            line_no += text.count("\n", eol, end)
            nxt = end + 1
            if len(notes) < 10:
                notes.append(f"the value of {key.strip()!r} spans several lines: sops cannot "
                             "read it from the plain file")
        raw = text[start:end]
        if key.startswith(META_PREFIX):
            parsed.meta_pairs.append((key[len(META_PREFIX):], raw.replace("\\n", "\n")))
            parsed.meta_lines.append((pos, min(nxt, size)))
        else:
            node = Scalar("str", raw.replace("\\n", "\n"), start, end, len(parsed.scalars))
            parsed.scalars.append(node)
            root.append((key, node))
            parsed.data_end = min(nxt, size)
        pos = nxt
    if parsed.bom and parsed.meta_lines and root and isinstance(root[0], tuple):
        key, node = root[0]
        if node.start == len(key) + 2:  # sops wrote it: the BOM is in its first key's path
            root[0] = ("\ufeff" + key, node)
    return parsed


def _comment(parsed: ParsedDotenv, line_start: int, start: int, end: int,
             prefix: str | None) -> None:
    """A comment; ``prefix`` is the line's text before the comment when it is not just '#'."""
    comment = Comment(parsed.text[start:end], start, end)
    if prefix is not None:
        comment.ctx = line_start
        parsed.prefixes[str(len(parsed.comments))] = prefix
    parsed.comments.append(comment)
    parsed.root.append(comment)
    parsed.data_end = end


def _value_end(text: str, start: int, eol: int) -> int:
    """Where a value ends: its line's end, or a later line's if a quote stays open."""
    value_start = start
    while value_start < eol and text[value_start] in " \t":
        value_start += 1
    if value_start >= eol or text[value_start] not in _QUOTES:
        return eol
    close = _closing(text, value_start + 1, text[value_start])
    if close < 0 or close < eol:
        return eol
    end = text.find("\n", close)
    return len(text) if end < 0 else end
