"""The document tree every codec builds, and sops's walk over it.

The tree mirrors sops's ``TreeBranch``: a :class:`Branch` is a list of
``(key, node)`` pairs and :class:`Comment` items, a :class:`Seq` a list of nodes
and comments, a :class:`Scalar` a leaf. Every node remembers where it came from
in the source text (``start``/``end``), so codecs can splice replacements into
the original text instead of re-emitting it. Codecs may hang their own
rendering context on ``ctx``.

:func:`walk` visits leaves in exactly sops's order, with sops's AAD (the map
keys from the root joined by ``:``, plus a final ``:``; lists add nothing) and
sops's comment stack, and calls back into the document layer, which does the
crypto. The tree knows no crypto.
"""

from __future__ import annotations

from .rules import Rules

TYPE_CHECKING = False
if TYPE_CHECKING:  # collections.abc (2 ms) stays off the start-up path
    from collections.abc import Callable, Sequence
    from typing import Any

    ValueVisitor = Callable[["Scalar", str, bool], None]
    CommentVisitor = Callable[["Comment", str, bool], None]


class Scalar:
    """A leaf. ``kind`` is a sops type name (``None`` for null), ``text`` its canonical text."""

    __slots__ = ("ctx", "end", "kind", "ordinal", "out", "start", "text")

    def __init__(self, kind: str | None, text: str, start: int = 0, end: int = 0,
                 ordinal: int = -1, ctx: Any = None) -> None:
        self.kind = kind
        self.text = text
        self.start = start
        self.end = end
        self.ordinal = ordinal
        self.ctx = ctx
        self.out: Any = None  # set by the document layer: a token, or (kind, text)

    def __repr__(self) -> str:
        return f"Scalar({self.kind!r}, {self.text!r})"


class Hidden(Scalar):
    """A value sops's reader never sees (an INI key given twice: go-ini keeps the last).

    encfile encrypts it like any value, under the same key path, but leaves it
    out of the sops MAC; the layout carries a digest of these values instead.
    """

    __slots__ = ()


class Comment:
    """A comment; ``text`` is what follows the marker (``#``/``;``)."""

    __slots__ = ("ctx", "end", "out", "start", "text")

    def __init__(self, text: str, start: int = 0, end: int = 0, ctx: Any = None) -> None:
        self.text = text
        self.start = start
        self.end = end
        self.ctx = ctx
        self.out: Any = None

    def __repr__(self) -> str:
        return f"Comment({self.text!r})"


class _Container(list):  # type: ignore[type-arg]
    __slots__ = ("ctx", "end", "ordinal", "start")

    def __init__(self, start: int = 0, ordinal: int = -1, ctx: Any = None) -> None:
        super().__init__()
        self.start = start
        self.end = start
        self.ordinal = ordinal
        self.ctx = ctx


class Branch(_Container):
    """A mapping: ``(key, node)`` tuples and :class:`Comment` items, in file order."""

    __slots__ = ()


class Seq(_Container):
    """A list: nodes and :class:`Comment` items, in file order."""

    __slots__ = ()


class Alias:
    """A YAML alias: ``target`` is a comment-free copy of the anchored node."""

    __slots__ = ("ctx", "end", "ordinal", "source", "start", "target")

    def __init__(self, target: Node, source: str, start: int, end: int, ordinal: int) -> None:
        self.target = target
        self.source = source
        self.start = start
        self.end = end
        self.ordinal = ordinal
        self.ctx: Any = None


class GcPaused:
    """``with GcPaused(len(text)):`` builds, opens or renders a large file's tree with the
    cyclic garbage collector paused (and as it was after).

    A 10k-value file makes some 100k small objects, none of them in a reference cycle;
    the collector's passes over them (a hundred young ones and a full one) were 10-15%
    of ``encfile -d``. Below ``PAUSE_AT`` characters nothing changes, and ``gc`` is not
    even imported (the start-up path of small files stays as it is).
    """

    __slots__ = ("_gc",)
    PAUSE_AT = 64 * 1024

    def __init__(self, size: int) -> None:
        self._gc: Any = None
        if size >= self.PAUSE_AT:
            import gc

            if gc.isenabled():
                self._gc = gc

    def __enter__(self) -> None:
        if self._gc is not None:
            self._gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._gc is not None:
            self._gc.enable()


Node = Scalar | Branch | Seq | Alias


def walk(root: Branch, rules: Rules, on_value: ValueVisitor, on_comment: CommentVisitor) -> None:
    """Visit every non-null leaf and every comment of ``root`` in sops's order.

    ``on_value(scalar, aad, encrypted)`` and ``on_comment(comment, aad, encrypted)``
    receive the AAD string and whether sops's rules say the item is encrypted.
    """
    if not rules.uses_comments:
        _walk_paths(root, rules, on_value, on_comment)
        return
    match = rules.component_matches
    decide = rules.encrypted

    def value(node: Node, prefix: str, matched: bool, stack: list[list[str]]) -> None:
        while isinstance(node, Alias):
            node = node.target
        if isinstance(node, Scalar):
            if node.kind is not None:  # null is neither encrypted nor hashed
                on_value(node, prefix, decide(matched, stack, False))
        elif isinstance(node, Branch):
            branch(node, prefix, matched, stack)
        else:
            seq(node, prefix, matched, stack)

    def comment(item: Comment, prefix: str, matched: bool, stack: list[list[str]]) -> None:
        stack[-1].append(item.text)
        on_comment(item, prefix or ":", decide(matched, stack, True))

    def branch(node: Branch, prefix: str, matched: bool, stack: list[list[str]]) -> None:
        stack = [*stack, []]
        for item in node:
            if isinstance(item, Comment):
                comment(item, prefix, matched, stack)
                continue
            key, child = item
            value(child, f"{prefix}{key}:", matched or match(key), stack)
            stack[-1] = []

    def seq(node: Seq, prefix: str, matched: bool, stack: list[list[str]]) -> None:
        stack = [*stack, []]
        for item in node:
            if isinstance(item, Comment):
                comment(item, prefix, matched, stack)
                continue
            value(item, prefix, matched, stack)
            stack[-1] = []

    branch(root, "", False, [])


def visits(roots: Sequence[Branch], rules: Rules) -> tuple[list[Any], list[str], list[bool]]:
    """What :func:`walk` visits, in its order, as three lists: each item (a
    :class:`Scalar` or a :class:`Comment`), its AAD, and whether it is encrypted.

    For rules that look only at key paths (the common case) the lists are filled as the
    tree is walked, without a call per item: large files are opened and sealed in bulk
    from them.
    """
    nodes: list[Any] = []
    aads: list[str] = []
    flags: list[bool] = []
    if rules.uses_comments:
        def visit(node: Any, aad: str, encrypted: bool) -> None:
            nodes.append(node)
            aads.append(aad)
            flags.append(encrypted)

        for root in roots:
            walk(root, rules, visit, visit)
        return nodes, aads, flags
    for root in roots:
        _paths(root, rules, nodes, aads, flags)
    return nodes, aads, flags


def _walk_paths(root: Branch, rules: Rules, on_value: ValueVisitor,
                on_comment: CommentVisitor) -> None:
    """:func:`walk` for rules that look only at key paths (no comment stack)."""
    nodes: list[Any] = []
    aads: list[str] = []
    flags: list[bool] = []
    _paths(root, rules, nodes, aads, flags)
    for node, aad, encrypted in zip(nodes, aads, flags, strict=True):
        if type(node) is Comment:
            on_comment(node, aad, encrypted)
        else:
            on_value(node, aad, encrypted)


def _paths(root: Branch, rules: Rules, nodes: list[Any], aads: list[str],
           flags: list[bool]) -> None:
    """The walk for rules that look only at key paths, into three lists: the hot path."""
    test = rules.path_test
    match: Callable[[str], bool] = rules.component_matches
    if test is not None and isinstance(test[1], str):
        suffix = test[1]

        def match(key: str) -> bool:
            return key.endswith(suffix)
    # encrypted(matched): with no path rule everything is; else a match encrypts or clears.
    outcome = (True, True) if test is None else (not test[0], test[0])  # indexed by `matched`
    add_node, add_aad, add_flag = nodes.append, aads.append, flags.append

    def items(node: Branch | Seq, prefix: str, matched: bool) -> None:
        comment_aad = prefix or ":"
        is_map = type(node) is Branch
        for item in node:
            if type(item) is Comment:
                add_node(item)
                add_aad(comment_aad)
                add_flag(outcome[matched])
                continue
            if is_map:
                key, child = item
                aad = f"{prefix}{key}:"
                sub = matched or (test is not None and match(key))
            else:
                child, aad, sub = item, prefix, matched
            while type(child) is Alias:
                child = child.target
            if isinstance(child, Scalar):
                if child.kind is not None:
                    add_node(child)
                    add_aad(aad)
                    add_flag(outcome[sub])
            else:
                items(child, aad, sub)

    items(root, "", False)
