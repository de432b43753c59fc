"""``encfile set`` / ``unset``: change one value of a plaintext, in the file's own style.

Both work on the decrypted text and return new plaintext text (the caller
re-encrypts it under the same key, so every other value keeps its ciphertext).
The path is sops's ``--extract`` syntax (``["db"]["password"]``, ``[0]``); the
value is JSON (``'"s3cret"'``, ``5432``, ``true``, ``{"a": 1}``).

An existing scalar is replaced where it stands. A new key is added at the end
of its mapping: any dotenv key, an INI key (in a new section if needed), a key
of any JSON object, and a top-level key of a YAML file. ``unset`` removes a
dotenv line, an INI key, a JSON member or a top-level YAML key. Anything else
is refused with a hint to use ``encfile edit``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import InputError, PathNotFoundError
from .tree import Branch, Comment, Hidden, Scalar, Seq

_EDIT_HINT = "use 'encfile edit' for this change"


def _render(fmt: str, value: Any) -> str:
    """``value`` as a scalar in ``fmt``, read back as the same value."""
    if fmt == "json":
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (dict, list)):
        if fmt == "yaml":
            return json.dumps(value, ensure_ascii=False)  # JSON is YAML's flow style
        raise InputError(f"a {fmt} file holds only flat values", hints=[_EDIT_HINT])
    if fmt == "yaml":
        from .formats import yaml_emit

        if isinstance(value, str):
            return yaml_emit.quote_string(value, flow=False)
        return json.dumps(value)  # numbers, true/false, null read the same in YAML
    text = value if isinstance(value, str) else json.dumps(value)
    if fmt == "ini":
        from .formats.ini import render_value

        return render_value(text)
    # dotenv: quote what a dotenv reader would otherwise change
    if text != text.strip() or any(c in text for c in "\n\"'`#\\") or not text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def _find(root: Any, path: list[str | int], fmt: str) -> tuple[Any, Any, Any]:
    """(parent, item, node) for ``path``; node is None when only the last step is missing."""
    node: Any = root
    parent: Any = None
    item: Any = None
    for index, step in enumerate(path):
        last = index == len(path) - 1
        if isinstance(node, Branch) and isinstance(step, str):
            matches = [i for i in node if isinstance(i, tuple) and not isinstance(i[1], Hidden)
                       and _key_is(i[0], step, fmt)]
            if matches:
                parent, item, node = node, matches[-1], matches[-1][1]
                continue
            if last:
                return node, None, None
        elif isinstance(node, Seq) and isinstance(step, int):
            items = [i for i in node if not isinstance(i, Comment)]
            if -len(items) <= step < len(items):
                parent, item, node = node, step, items[step]
                continue
        shown = f"[{step!r}]" if isinstance(step, str) else f"[{step}]"
        raise PathNotFoundError(f"component {shown} not found")
    return parent, item, node


def _key_is(key: str, step: str, fmt: str) -> bool:
    if key == step:
        return True
    if fmt == "dotenv":
        from .formats.dotenv import interpret_key

        return interpret_key(key) == step
    return False


def _line_span(text: str, start: int, end: int) -> tuple[int, int]:
    """From the start of ``start``'s line to after the newline that ends ``end``'s line."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return line_start, len(text) if line_end < 0 else line_end + 1


def set_value(text: str, fmt: str, path: list[str | int], value: Any) -> str:
    """``text`` with the value at ``path`` set to ``value`` (added if only its key is new)."""
    from . import formats

    if not path:
        raise InputError("set needs a path to a value")
    parsed = formats.get(fmt).parse(text)
    roots = parsed.roots
    if len(roots) != 1:
        raise InputError("set works on files with one document", hints=[_EDIT_HINT])
    try:
        parent, _, node = _find(roots[0], path, fmt)
    except PathNotFoundError:
        if fmt != "ini" or len(path) != 2:
            raise
        parent, node = None, None  # a key in a new INI section
    if node is not None:
        if not isinstance(node, Scalar):
            raise InputError("the path names a mapping or a list, not a value",
                             hints=[_EDIT_HINT])
        rendered = _render(fmt, value)
        if fmt == "dotenv" and text[node.start:node.end].endswith("\r"):
            rendered += "\r"
        return text[:node.start] + rendered + text[node.end:]
    return _add(text, fmt, parsed, parent, path, value)


def _add(text: str, fmt: str, parsed: Any, parent: Any, path: list[str | int],
         value: Any) -> str:
    key = str(path[-1])
    nl = "\r\n" if "\r\n" in text else "\n"
    if fmt == "dotenv" and len(path) == 1:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", key):
            raise InputError(f"{key!r} is not a variable name")
        sep = "" if not text or text.endswith("\n") else nl
        return f"{text}{sep}{key}={_render(fmt, value)}{nl}"
    if fmt == "ini" and len(path) == 2:
        line = f"{key} = {_render(fmt, value)}{nl}"
        section = next((s for s in reversed(parsed.sections) if s.name == path[0]), None)
        if section is None or (not section.header and not section.node):
            sep = "" if not text or text.endswith("\n") else nl
            blank = nl if text.strip() else ""
            head = "" if path[0] == "DEFAULT" and not text.strip() else f"[{path[0]}]{nl}"
            return f"{text}{sep}{blank}{head}{line}"
        values = [i[1] for i in section.node if isinstance(i, tuple)]
        at = _line_span(text, values[-1].start, values[-1].end)[1] if values else \
            _line_span(text, *section.header)[1]
        if at == len(text) and text and not text.endswith("\n"):
            line = nl + line
        return text[:at] + line + text[at:]
    if fmt == "json" and isinstance(parent, Branch):
        members = [i[1] for i in parent if isinstance(i, tuple)]
        entry = f"{json.dumps(key, ensure_ascii=False)}: {_render(fmt, value)}"
        if not members:
            return text[:parent.start + 1] + entry + text[parent.start + 1:]
        last = members[-1]
        line_start = text.rfind("\n", 0, last.start) + 1
        inside = text[parent.start:last.start]
        if "\n" in inside:
            indent = re.match(r"[ \t]*", text[line_start:]).group()  # type: ignore[union-attr]
            return text[:last.end] + f",{nl}{indent}{entry}" + text[last.end:]
        return text[:last.end] + f", {entry}" + text[last.end:]
    if fmt == "yaml" and len(path) == 1 and isinstance(parent, Branch) and parsed.docs \
            and not parsed.docs[0].flow_root and parsed.docs[0].root_col == 0:
        from .formats import yaml_emit

        name = yaml_emit.quote_string(key, flow=False)
        sep = "" if not text or text.endswith("\n") else nl
        return f"{text}{sep}{name}: {_render(fmt, value)}{nl}"
    raise InputError(f"adding {key!r} there is not supported", hints=[_EDIT_HINT])


def unset_value(text: str, fmt: str, path: list[str | int]) -> str:
    """``text`` without the key at ``path``."""
    from . import formats

    parsed = formats.get(fmt).parse(text)
    if len(parsed.roots) != 1 or not path:
        raise InputError("unset works on a path in a one-document file", hints=[_EDIT_HINT])
    parent, item, node = _find(parsed.roots[0], path, fmt)
    if node is None:
        raise PathNotFoundError(f"component [{path[-1]!r}] not found")
    if fmt in ("dotenv", "ini") and isinstance(node, Scalar):
        key = item[0]
        spans = [i[1] for i in parent if isinstance(i, tuple) and i[0] == key]
        out = text
        for scalar in sorted(spans, key=lambda s: -s.start):  # every line of a repeated key
            start, end = _line_span(out, scalar.start, scalar.end)
            out = out[:start] + out[end:]
        return out
    if fmt == "json" and isinstance(parent, Branch):
        return _unset_json(text, parent, node)
    if fmt == "yaml" and len(path) == 1 and parsed.docs[0].root_col == 0 \
            and not parsed.docs[0].flow_root:
        return _unset_yaml_top(text, path[0], node)
    raise InputError("removing that key is not supported", hints=[_EDIT_HINT])


def _key_start(text: str, value_start: int) -> int:
    """The opening quote of the JSON key before a member's value."""
    pos = text.rfind(":", 0, value_start)
    close = text.rfind('"', 0, pos)
    pos = close - 1
    while pos >= 0:
        if text[pos] == '"':
            slashes = 0
            while text[pos - 1 - slashes] == "\\":
                slashes += 1
            if slashes % 2 == 0:
                return pos
        pos -= 1
    raise InputError("cannot find the key of that JSON member")  # pragma: no cover


def _unset_json(text: str, parent: Branch, node: Any) -> str:
    members = [i[1] for i in parent if isinstance(i, tuple)]
    index = next(i for i, m in enumerate(members) if m is node)
    start = _key_start(text, node.start)
    if index > 0:  # from the end of the previous member: its comma goes too
        return text[:members[index - 1].end] + text[node.end:]
    if len(members) > 1:  # the first of several: up to the next member's key
        return text[:start] + text[_key_start(text, members[1].start):]
    return text[:parent.start + 1] + text[node.end:parent.end - 1].strip(" \t\r\n,") \
        + text[parent.end - 1:]


def _unset_yaml_top(text: str, key: str | int, node: Any) -> str:
    """A top-level block key: from its line to the end of its value's last line."""
    pattern = re.compile(rf"^{re.escape(str(key))}\s*:|^['\"]{re.escape(str(key))}['\"]\s*:",
                         re.M)
    found = [m.start() for m in pattern.finditer(text, 0, node.start + 1)]
    if not found:
        raise InputError("cannot find that key's line", hints=[_EDIT_HINT])
    start = found[-1]
    end = _line_span(text, node.start, max(node.end - 1, node.start))[1]
    return text[:start] + text[end:]
