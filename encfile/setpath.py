"""``encfile set`` / ``unset``: change one value of a plaintext, in the file's own style.

Both work on the decrypted text and return new plaintext text (the caller
re-encrypts it under the same key, so every other value keeps its ciphertext).
The path is sops's ``--extract`` syntax (``["db"]["password"]``, ``[0]``); the
value is JSON (``'"s3cret"'``, ``5432``, ``true``, ``{"a": 1}``).

Which paths work, and what they do, is sops's ``Set``/``Unset`` (sops.go),
step by step:

* a key that exists is followed (``set`` replaces the value it ends on,
  whatever it was: a value, a mapping or a list);
* a new key is added at the end of its mapping, with the mappings and lists the
  rest of the path needs (``["x"]["y"][0]`` on a file without ``x`` adds
  ``x: {y: [value]}``);
* an index at or beyond a list's end appends one item; a value (or null) met
  before the path's end is replaced by what the rest of the path builds;
* an index on a mapping names nothing: sops changes nothing and succeeds, and
  so does encfile (with a warning). A key on a list and a negative index crash
  sops; encfile refuses them.

``unset`` removes the key or list item the path ends on, with the comment lines
directly above it and its line comment; the last key of a mapping (or item of a
list) leaves ``{}`` (``[]``), as sops does. A path that is not there is a
:class:`~encfile.errors.PathNotFoundError`.

Each format edits in its own module (:mod:`setpath_yaml` over
:mod:`setpath_yaml_view`, :mod:`setpath_json`, :mod:`setpath_flat` for dotenv
and INI), in the file's own style: indentation, quoting, flow or block. What
cannot be edited in place (a key inside an alias's copy, a merge key, an
anchored node that aliases repeat) is a :class:`~encfile.errors.UsageError`
that points to ``encfile edit``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from .errors import EncfileWarning, InputError, PathNotFoundError, UsageError

EDIT_HINT = "use 'encfile edit' for this change"
Steps = list[str | int]


class Node:
    """What an editor needs to know of one value: its kind, its span, its items.

    ``kind`` is ``"map"``, ``"seq"``, ``"value"`` (scalars and null) or
    ``"alias"`` (YAML). Format modules subclass it to keep their own details.
    """

    __slots__ = ("end", "items", "kind", "start")

    def __init__(self, kind: str, start: int, end: int) -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.items: list[Item] = []


class Item:
    """A key and its value (mappings; ``key`` is None in lists); ``start``: where it begins."""

    __slots__ = ("key", "node", "start")

    def __init__(self, key: str | None, node: Node, start: int) -> None:
        self.key = key
        self.node = node
        self.start = start


# The items from the root to the item being worked on (each with the container holding it).
Chain = list[tuple[Node, Item]]


class Editor:
    """One format's edits; each method returns the whole new text."""

    def __init__(self, source: str, root: Node) -> None:
        self.source = source  # the text being edited
        self.root = root

    def find(self, node: Node, key: str) -> Item | None:
        """The item of mapping ``node`` that ``key`` names (the last, if given twice)."""
        found = [i for i in node.items if i.key == key]
        return found[-1] if found else None

    def enter(self, chain: Chain) -> None:
        """Refuse to go below ``chain[-1]`` when the format cannot edit there in place."""

    def replace(self, chain: Chain, value: Any) -> str:
        """``chain[-1]``'s value set to ``value`` (Python data from JSON)."""
        raise NotImplementedError

    def add(self, chain: Chain, node: Node, key: str, value: Any) -> str:
        """Mapping ``node`` (the value of ``chain[-1]``, or the root) with a new last key."""
        raise NotImplementedError

    def append(self, chain: Chain, node: Node, value: Any) -> str:
        """List ``node`` with one more item at its end."""
        raise NotImplementedError

    def delete(self, chain: Chain) -> str:
        """The text without ``chain[-1]``."""
        raise NotImplementedError


def shown(path: Steps) -> str:
    """A path as the user writes it: ``["db"][0]`` (names only, never a value)."""
    return "".join(f'["{step}"]' if isinstance(step, str) else f"[{step}]" for step in path)


def path_of(chain: Chain) -> Steps:
    """The path of ``chain[-1]``: keys for mapping items, indexes for list items."""
    out: Steps = []
    for container, item in chain:
        out.append(item.key if item.key is not None else container.items.index(item))
    return out


def build(path: Steps, leaf: Any) -> Any:
    """What ``path`` makes of ``leaf`` where nothing exists yet (sops's valueFromPathAndLeaf)."""
    for step in reversed(path):
        leaf = [leaf] if isinstance(step, int) else {step: leaf}
    return leaf


def check_value(value: Any) -> None:
    """Refuse what JSON cannot hold (Python's reader takes NaN and Infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError("the value must be JSON: NaN and Infinity are not JSON numbers")
    if isinstance(value, dict):
        for item in value.values():
            check_value(item)
    elif isinstance(value, list):
        for item in value:
            check_value(item)


def _editor(text: str, fmt: str) -> Editor:
    if fmt == "yaml":
        from .setpath_yaml import YamlEditor

        return YamlEditor(text)
    if fmt == "json":
        from .setpath_json import JsonEditor

        return JsonEditor(text)
    if fmt in ("dotenv", "ini"):
        from .setpath_flat import DotenvEditor, IniEditor

        return DotenvEditor(text) if fmt == "dotenv" else IniEditor(text)
    raise UsageError(f"set and unset do not work on {fmt} files", hints=[EDIT_HINT])


def set_value(text: str, fmt: str, path: Steps, value: Any) -> str:
    """``text`` with the value at ``path`` set to ``value``, as ``sops set`` does it."""
    if not path:
        raise UsageError("set needs a path to a value, such as '[\"key\"]'")
    check_value(value)
    editor = _editor(text, fmt)
    return _set(editor, editor.root, path, value, [])


def _set(editor: Editor, node: Node, path: Steps, value: Any, chain: Chain) -> str:
    step, rest = path[0], path[1:]
    here = path_of(chain)
    if node.kind == "map":
        if isinstance(step, int):
            where = shown(here) or "the top level"
            warnings.warn(f"nothing set: {where} is a mapping, so the index [{step}] names "
                          "nothing (sops does the same)", EncfileWarning, stacklevel=2)
            return editor.source
        item = editor.find(node, step)
        if item is None:
            return editor.add(chain, node, step, build(rest, value))
        chain = [*chain, (node, item)]
        if not rest:
            return editor.replace(chain, value)
        editor.enter(chain)
        return _set(editor, item.node, rest, value, chain)
    if node.kind == "seq":
        if isinstance(step, str):
            raise UsageError(f"{shown(here) or 'the top level'} is a list: the key "
                             f"[\"{step}\"] cannot name one of its items",
                             hints=["name an item by its index, as in [0]"])
        if step < 0:
            raise UsageError(f"negative index [{step}] in {shown([*here, step])}",
                             hints=[f"items count from [0]; [{len(node.items)}] appends one"])
        if step >= len(node.items):
            return editor.append(chain, node, build(rest, value))
        chain = [*chain, (node, node.items[step])]
        if not rest:
            return editor.replace(chain, value)
        editor.enter(chain)
        return _set(editor, node.items[step].node, rest, value, chain)
    if node.kind == "alias":  # pragma: no cover - editors refuse to enter aliases
        raise UsageError(f"{shown(here)} is an alias", hints=[EDIT_HINT])
    # A value (or null) before the path's end: replaced by what the rest of the path builds.
    return editor.replace(chain, build(path, value))


def unset_value(text: str, fmt: str, path: Steps) -> str:
    """``text`` without the key or list item at ``path``, as ``sops unset`` does it."""
    if not path:
        raise UsageError("unset needs a path to a key, such as '[\"key\"]'")
    editor = _editor(text, fmt)
    node: Node = editor.root
    chain: Chain = []
    for index, step in enumerate(path):
        here = path_of(chain)
        item: Item | None = None
        if node.kind == "map":
            item = editor.find(node, step) if isinstance(step, str) else None
        elif node.kind == "seq" and isinstance(step, int):
            if step < 0:
                raise UsageError(f"negative index [{step}] in {shown(path[:index + 1])}",
                                 hints=["items count from [0]"])
            item = node.items[step] if step < len(node.items) else None
        if item is None:
            what = {"map": "", "seq": f": {shown(here) or 'the top level'} is a list",
                    "value": f": {shown(here)} is a value"}.get(node.kind, "")
            raise PathNotFoundError(f"component {_component(step)} not found{what}")
        chain = [*chain, (node, item)]
        if index < len(path) - 1:
            editor.enter(chain)
        node = item.node
    return editor.delete(chain)


def _component(step: str | int) -> str:
    return f"[{step!r}]" if isinstance(step, str) else f"[{step}]"

