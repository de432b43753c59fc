"""One blob: what in it is a secret that is not encrypted.

* Every blob: the pattern rules over its whole text (tokens, keys, URLs with passwords).
* A config file that encfile's codecs read (YAML, JSON, dotenv, INI): each value with its
  key path. With sops metadata, a value its rules encrypt that is not an ``ENC[…]`` token
  is a finding, as the pre-commit guard sees it; without, a creation rule whose
  ``path_regex`` matches the file makes the file itself a finding. Values are checked
  by key name (``password:``, ``*_SECRET=``) and by entropy; a base64 value that decodes
  to text (a Kubernetes Secret's ``data``) is checked as that text.
* Other config-like files (TOML, properties, .npmrc, .tfvars, a YAML template that does
  not parse): ``key = value`` lines, checked the same way.
* Anything else (code, scripts, docs): detect-secrets' keyword patterns on each line.

Then overlapping matches are settled (the more specific rule wins), and look-alikes go.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import os
import re

from . import detectors, lookalikes
from .detectors import Hit
from .finding import Finding

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_BYTES = 2 * 1024 * 1024  # larger blobs are data, not config: skipped
MIN_ENTROPY_LENGTH = 20
CODEC_FORMATS = ("yaml", "json", "dotenv", "ini")
_CONFIG_EXTENSIONS = frozenset({
    ".toml", ".properties", ".conf", ".cnf", ".tfvars", ".tf", ".hcl", ".cfg", ".ini",
    ".env", ".yaml", ".yml", ".json", ".sh", ".bash", ".zsh", ".envrc", ".npmrc", ".pypirc",
    ".netrc", ".service", ".xml", ".plist",
})
_CONFIG_NAMES = frozenset({
    "credentials", "config", ".npmrc", ".pypirc", ".netrc", ".gitconfig", ".git-credentials",
    ".dockercfg", "pypirc", "npmrc", ".envrc", "dockerfile", "containerfile", ".htpasswd",
})
_SKIP_NAMES = frozenset({".encfile-scan-baseline.json"})
_LINE_ASSIGNMENT = re.compile(
    r"^[ \t]*(?:export[ \t]+|ENV[ \t]+|ARG[ \t]+|set[ \t]+|-[ \t]+)?[\"']?"
    r"([A-Za-z_][\w.\-]*(?:\[[^\]]*\])?)[\"']?[ \t]*(?:=|:(?!//)|[ \t])[ \t]*(.*?)[ \t,;]*$",
    re.M)
_ENC_TOKEN = re.compile(r"ENC\[[A-Z0-9_]+,[^\]\s]*\]")
_B64_TEXT = re.compile(r"^[A-Za-z0-9+/]{8,}={0,2}$")
_ASSIGNMENT = re.compile(r"^([A-Z_][A-Z0-9_]*)=([^=\s].*)$")


class Context:
    """What a scan knows beyond a blob's text: the folder paths are relative to (for the
    creation rules), and an explicit config file."""

    def __init__(self, root: str, config_path: str | None = None) -> None:
        self.root = root
        self.config_path = config_path
        self._configs: dict[str, Any] = {}

    def rule_demands(self, path: str) -> bool:
        """Does a creation rule with a ``path_regex`` say ``path`` is encrypted?"""
        from .. import config
        from ..errors import EncfileError

        if os.path.basename(path) in (*config.CONFIG_NAMES, ".sops.yml"):
            return False
        target = os.path.join(self.root, path)
        folder = os.path.dirname(os.path.abspath(target))
        if folder not in self._configs:
            try:
                self._configs[folder] = config.find(target, explicit=self.config_path)
            except EncfileError:
                self._configs[folder] = None
        found = self._configs[folder]
        if found is None:
            return False
        relative = found.relative(target)
        for rule in found.rules:
            try:
                if rule.matches(relative):
                    return bool(rule.path_regex)
            except EncfileError:
                return False
        return False


def decode(data: bytes) -> str | None:
    """A blob's text, or None for binary data (a NUL byte near the start)."""
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", "replace")


def scan_text(path: str, text: str, ctx: Context) -> list[Finding]:
    """The findings in one blob's ``text`` (``path`` as it will be reported)."""
    if len(text) > MAX_BYTES or os.path.basename(path) in _SKIP_NAMES:
        return []
    hits = detectors.text_hits(text)
    words: dict[int, list[str]] = {}  # id(hit) -> its key's words, for the look-alike tests
    whole: list[Finding] = []
    lock = lookalikes.is_lock_file(path)
    fmt = _codec_format(path)
    parsed = None
    values = not lock and ("sops" in text or _worth_parsing(text))
    if fmt is not None and values:
        parsed = _parse(fmt, text)
    elif fmt is not None and not lock and ctx.rule_demands(path):
        # no sops metadata without "sops" in the text: a plaintext file
        whole.append(Finding("plaintext-by-rule", path, 1, None))
    if parsed is not None and fmt is not None:
        if parsed.metadata is None and ctx.rule_demands(path):
            whole.append(Finding("plaintext-by-rule", path, 1, None))
        spans: list[tuple[int, int, tuple[str | int, ...]]] = []
        hits += _tree_hits(parsed, fmt, text, words, spans)
        _give_keys(hits, spans)
        if parsed.metadata is not None:
            tokens = [(m.start(), m.end()) for m in _ENC_TOKEN.finditer(text)]
            hits = [h for h in hits if not _inside(h, tokens)]
    elif values and _config_like(path):
        hits += _line_hits(text, words)
    elif values:
        hits += detectors.keyword_line_hits(path, text, _line_starts(text))
    out = whole + _findings(path, text, _settle(hits, words))
    if parsed is not None and parsed.metadata is not None:
        for f in out:
            f.encrypted_file = True
    return out


def _worth_parsing(text: str) -> bool:
    """Could a value of this config file be a finding: a key that says secret, or a value
    long enough for the entropy rules? (Parsing costs more than these searches.)"""
    return _LONG_TOKEN.search(text) is not None or detectors.mentions_secret_key(text)


_LONG_TOKEN = re.compile(r"[A-Za-z0-9+/_\-]{" + str(MIN_ENTROPY_LENGTH - 2) + ",}")


def _codec_format(path: str) -> str | None:
    from .. import formats

    fmt = formats.detect(path)
    return fmt if fmt in CODEC_FORMATS else None


def _parse(fmt: str, text: str) -> Any:
    from .. import formats
    from ..errors import EncfileError

    try:
        return formats.get(fmt).parse(text)
    except (EncfileError, ValueError, RecursionError):
        return None


def _config_like(path: str) -> bool:
    name = os.path.basename(path).lower()
    return (name in _CONFIG_NAMES or os.path.splitext(name)[1] in _CONFIG_EXTENSIONS
            or name.startswith(".env"))


def _inside(hit: Hit, spans: list[tuple[int, int]]) -> bool:
    return any(start <= hit.start and hit.end <= end for start, end in spans)


# -- config files through encfile's codecs ---------------------------------------------------

def _give_keys(hits: list[Hit], spans: list[tuple[int, int, tuple[str | int, ...]]]) -> None:
    """The key path of each text hit that lies in a value of the tree."""
    spans.sort()
    starts = [s[0] for s in spans]
    for hit in hits:
        if hit.key is not None:
            continue
        i = bisect.bisect_right(starts, hit.start) - 1
        if i >= 0 and spans[i][0] <= hit.start < max(spans[i][1], spans[i][0] + 1):
            hit.key = spans[i][2]


def _tree_hits(parsed: Any, fmt: str, text: str, words: dict[int, list[str]],
               spans: list[tuple[int, int, tuple[str | int, ...]]]) -> list[Hit]:
    from .. import token as _token
    from ..errors import EncfileError
    from ..tree import Alias, Branch, Comment, Scalar, Seq, walk

    encrypted: dict[int, bool] = {}
    rules: Any = None
    if parsed.metadata is not None:
        from ..metadata import Metadata

        try:
            rules = Metadata.from_dict(parsed.metadata).rules.with_default()
        except (EncfileError, ValueError, KeyError, TypeError, AttributeError):
            rules = None  # unreadable metadata: every value is taken as meant encrypted
        if rules is not None:
            def on_value(node: Any, aad: str, is_encrypted: bool) -> None:
                encrypted[id(node)] = is_encrypted

            for root in parsed.roots:
                walk(root, rules, on_value, lambda *_: None)
    out: list[Hit] = []

    def visit(node: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(node, Alias):
            return  # its anchor is checked where it is written
        if isinstance(node, Branch):
            for item in node:
                if not isinstance(item, Comment):
                    visit(item[1], (*path, str(item[0])))
            return
        if isinstance(node, Seq):
            index = 0
            for item in node:
                if not isinstance(item, Comment):
                    visit(item, (*path, index))
                    index += 1
            return
        if not isinstance(node, Scalar) or node.kind is None:
            return
        key = _key_of(path, fmt)
        value, start, end = _value_of(node, fmt, text)
        spans.append((node.start, node.end, key))
        if parsed.metadata is not None:
            if _token.looks_like_token(node.text):
                return
            if encrypted.get(id(node), rules is None):
                out.append(Hit("sops-clear-value", start, end, value, key))
                return
        if node.kind != "str" or not value:
            return
        for hit in value_hits(key, value, start, end):
            words[id(hit)] = [w for part in key if isinstance(part, str)
                              for w in lookalikes.words_of(part)][-3:]
            out.append(hit)

    for root in parsed.roots:
        visit(root, ())
    return out


def _key_of(path: tuple[str | int, ...], fmt: str) -> tuple[str | int, ...]:
    """The key path as sops and encfile name it (a dotenv key keeps its ``export ``)."""
    if fmt == "ini" and path and path[0] == "DEFAULT":
        return path[1:]
    return path


def _value_of(node: Any, fmt: str, text: str) -> tuple[str, int, int]:
    """A scalar's value as a program reads it, and where it is in the text."""
    value, start, end = node.text, node.start, node.end
    if fmt in ("dotenv", "ini"):
        raw = text[start:end] if end > start else value
        if raw[:1] in ("'", '"', "`"):
            close = raw.find(raw[0], 1)
            while close > 0 and raw[0] == '"' and raw[close - 1] == "\\":
                close = raw.find('"', close + 1)
            if close > 0:
                return raw[1:close], start + 1, start + close
        if fmt == "dotenv":
            raw = re.split(r"\s+#", raw, maxsplit=1)[0].rstrip()
            return raw, start, start + len(raw)
    return value, start, end


def value_hits(key: tuple[str | int, ...], value: str, start: int, end: int,
               depth: int = 0) -> list[Hit]:
    """Hits on one value of a config file: its key says it is a secret, or it is random."""
    names = [p for p in key if isinstance(p, str)]
    last = re.sub(r"^export\s+", "", names[-1]) if names else ""
    assignment = _ASSIGNMENT.match(value) if depth == 0 else None
    if assignment is not None:  # NAME=value in a list (compose's environment, args)
        offset = 0 if end - start != len(value) else assignment.start(2)
        return value_hits((*key, assignment.group(1)), assignment.group(2), start + offset,
                          end, depth + 1)
    key_words = lookalikes.words_of(last)
    out: list[Hit] = []
    decoded = _decoded_text(value) if depth == 0 else None
    checked = decoded if decoded is not None else value
    if last and detectors.is_secret_key(last):
        if decoded is None or lookalikes.placeholder(decoded) is None:
            out.append(Hit("secret-keyword", start, end, value, key))
    elif decoded is not None:
        for hit in value_hits(key, decoded, start, end, depth + 1):
            out.append(Hit(hit.rule, start, end, value, key))
        for hit in detectors.text_hits(decoded):
            out.append(Hit(hit.rule, start, end, value, key))
    elif not lookalikes.not_secret_key(key_words) and len(checked) >= MIN_ENTROPY_LENGTH \
            and not (lookalikes.public_material(checked) or lookalikes.encrypted(checked)
                     or lookalikes.digest(checked, key_words)):
        for token in checked.split() if any(c.isspace() for c in checked) else [checked]:
            rule = _random(token)
            if rule is not None:
                at = start + max(value.find(token), 0) if token != value else start
                out.append(Hit(rule, at, at + len(token) if token != value else end, token,
                               key))
    return out


def _random(token: str) -> str | None:
    """The entropy rule a token passes, or None.

    detect-secrets' limits first (4.5 bits per character for base64, 3.0 for hex). They
    miss about 2% of random 40-character base64 strings (a short string cannot show much
    entropy), so a base64 token of 32 characters or more that mixes upper case, lower
    case and digits, and changes between them as often as random text does, passes a
    limit made for its length (about the lowest that 100,000 random strings score).
    """
    if len(token) < MIN_ENTROPY_LENGTH or token.isdigit():
        return None
    if _HEX_TOKEN.fullmatch(token):
        hexadecimal = True
    elif _B64_TOKEN.fullmatch(token):
        hexadecimal = False
    else:
        return None
    score = detectors.entropy(token, hexadecimal)
    if score > detectors.entropy_limit(hexadecimal):
        return "high-entropy-hex" if hexadecimal else "high-entropy-base64"
    if hexadecimal or len(token) < 32 or score <= _relaxed_limit(len(token)):
        return None
    if not (any(c.isupper() for c in token) and any(c.islower() for c in token)
            and any(c.isdigit() for c in token)):
        return None
    changes = sum(_char_class(a) != _char_class(b) for a, b in itertools.pairwise(token))
    return "high-entropy-base64" if changes >= 0.45 * (len(token) - 1) else None


_HEX_TOKEN = re.compile(r"[0-9a-fA-F]+")
_B64_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-]+")


def _relaxed_limit(length: int) -> float:
    # measured: about the lowest entropy of 100,000 random base64 strings of this length
    for at_least, limit in ((64, 4.6), (44, 4.25), (40, 4.15), (32, 3.9)):
        if length >= at_least:
            return limit
    return 8.0


def _char_class(c: str) -> int:
    return 0 if c.isupper() else 1 if c.islower() else 2 if c.isdigit() else 3


def _decoded_text(value: str) -> str | None:
    """``value`` base64-decoded, when it is base64 of printable text (a Kubernetes
    Secret's data), else None."""
    if len(value) % 4 or not _B64_TEXT.match(value):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if len(text) < 4 or not text.isprintable():
        return None
    return text


# -- other config-like files: key = value lines ----------------------------------------------

def _line_hits(text: str, words: dict[int, list[str]]) -> list[Hit]:
    out: list[Hit] = []
    for m in _LINE_ASSIGNMENT.finditer(text):
        key, raw = m.group(1), m.group(2)
        if not raw or raw.startswith(("#", ";", "//")):
            continue
        start = m.start(2)
        value = raw
        if raw[:1] in ("'", '"', "`") and raw.find(raw[0], 1) > 0:
            close = raw.find(raw[0], 1)
            value, start = raw[1:close], start + 1
        else:
            value = re.split(r"\s+[#;]", raw, maxsplit=1)[0].rstrip()
        for hit in value_hits((key,), value, start, start + len(value)):
            words[id(hit)] = lookalikes.words_of(key)[-3:]
            out.append(hit)
    return out


# -- settling ---------------------------------------------------------------------------------

def _settle(hits: list[Hit], words: dict[int, list[str]]) -> list[Hit]:
    """Overlapping hits: the most specific rule (then encfile's own, then the longer
    match) claims the span; then look-alikes are dropped."""
    def order(hit: Hit) -> tuple[int, int, int]:
        rule = detectors.RULES[hit.rule]
        return rule.rank, 0 if rule.own else 1, -(hit.end - hit.start)

    taken: list[tuple[int, int]] = []
    out = []
    for hit in sorted(hits, key=order):
        if any(hit.start < end and start < hit.end for start, end in taken):
            continue
        taken.append((hit.start, hit.end))
        if lookalikes.for_hit(hit.rule, hit.value, words.get(id(hit), ())) is None:
            out.append(hit)
    return sorted(out, key=lambda h: h.start)


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def _findings(path: str, text: str, hits: list[Hit]) -> list[Finding]:
    if not hits:
        return []
    starts = _line_starts(text)
    out = []
    for hit in hits:
        line = bisect.bisect_right(starts, hit.start)
        finding = Finding(hit.rule, path, line, hit.value,
                          column=hit.start - starts[line - 1] + 1, key=hit.key)
        out.append(finding)
    return out
