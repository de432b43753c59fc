"""Merging three versions of an encrypted file by key path (git's merge driver).

The three versions are decrypted in memory. The data merges per key path: a value
changed on one side only wins, keys added or removed on one side apply, the same
change on both sides is one change, and two different changes to one key are a
conflict. Lists are single values. The text (comments, order, formatting) merges
line by line (:mod:`encfile.merge3`); where the lines conflict, the choices
(ours, ours then theirs, theirs then ours, theirs) are tried until the text holds
exactly the merged data, preferring ours for comments and formatting; failing that,
conflicting runs are split at the lines both sides share and tried again.

The result is encrypted again. When both sides share their data key and recipients,
it keeps them, and every value that did not change keeps its ciphertext. Otherwise
(one side rotated the key or changed who may read the file) it never widens access:
it goes to the recipients the creation rules give for the file, else to those present
on both sides, under a new data key.
"""

from __future__ import annotations

import itertools
import json
import shlex
from collections import Counter
from difflib import SequenceMatcher

from . import merge3
from .errors import EncfileError, InputError, MergeConflict

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as _dt
    from typing import Any

    from .keysources.identities import KeyRing
    from .opening import Opened

_ABSENT = object()
_OPTIONS = ("ours", "ours+theirs", "theirs+ours", "theirs")
_MAX_SEARCH_HUNKS = 4


class Merged:
    """The merged file: encrypted text, plus notes for the user (no values in them)."""

    def __init__(self, text: str, notes: list[str]) -> None:
        self.text = text
        self.notes = notes


def path_label(path: tuple[Any, ...]) -> str:
    """``db.password``; a key holding a dot or space is quoted (``db."a.b"``)."""
    parts = [json.dumps(p) if isinstance(p, str) and (not p or set(p) & set(". \"")) else str(p)
             for p in path]
    return ".".join(parts) or "(the whole document)"


def _leaves(docs: list[Any], multi: bool | None = None) -> dict[tuple[Any, ...], Any]:
    """Path -> value; paths start with the document's index when ``multi`` (default: when
    there are several documents)."""
    multi = len(docs) > 1 if multi is None else multi
    out: dict[tuple[Any, ...], Any] = {}

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, (*path, key))
        else:
            out[path] = node

    for index, doc in enumerate(docs):
        walk(doc, (index,) if multi else ())
    return out


def _canon(value: Any) -> tuple[str, str]:
    """Equality that tells ``1`` from ``True`` and ``1.0``."""
    return type(value).__name__, repr(value)


def merge_data(base: list[Any], ours: list[Any], theirs: list[Any], *,
               choose: dict[str, str] | None = None
               ) -> tuple[dict[tuple[Any, ...], Any], dict[str, tuple[Any, Any]]]:
    """The merged leaves (path -> value) and the conflicts (label -> (ours, theirs)).

    ``choose`` settles conflicts: label -> ``"ours"`` or ``"theirs"``.
    """
    # one document on one side and several on another: every path carries its index
    multi = max(len(base), len(ours), len(theirs)) > 1
    b, o, t = (_leaves(side, multi) for side in (base, ours, theirs))
    merged: dict[tuple[Any, ...], Any] = {}
    conflicts: dict[str, tuple[Any, Any]] = {}
    for path in {**o, **t, **b}:
        old, mine, other = (side.get(path, _ABSENT) for side in (b, o, t))
        c_old, c_mine, c_other = (_canon(v) if v is not _ABSENT else None
                                  for v in (old, mine, other))
        if c_mine == c_other or c_other == c_old:
            value = mine
        elif c_mine == c_old:
            value = other
        else:
            label = path_label(path)
            pick = (choose or {}).get(label)
            if pick is None:
                conflicts[label] = (None if mine is _ABSENT else mine,
                                    None if other is _ABSENT else other)
                continue
            value = mine if pick == "ours" else other
        if value is not _ABSENT:
            merged[path] = value
    _nested_conflicts(merged, conflicts, o, t, choose or {})
    return merged, conflicts


def _nested_conflicts(merged: dict[tuple[Any, ...], Any], conflicts: dict[str, tuple[Any, Any]],
                      ours: dict[tuple[Any, ...], Any], theirs: dict[tuple[Any, ...], Any],
                      choose: dict[str, str]) -> None:
    """A leaf that is also the parent of merged keys: one side replaced (or emptied) a map
    in which the other side changed keys. A conflict on the leaf's path; a choice takes
    that side's whole subtree."""
    for path in sorted((p for p in merged if any(p[:n] in merged for n in range(len(p)))),
                       key=len):
        root = next((path[:n] for n in range(len(path)) if path[:n] in merged), None)
        if root is None:
            continue  # settled by an earlier (shorter) root
        label = path_label(root)
        under = [p for p in merged if p[:len(root)] == root]
        pick = choose.get(label)
        if pick is None:
            conflicts[label] = (_subtree(ours, root), _subtree(theirs, root))
            for p in under:
                del merged[p]
            continue
        side = ours if pick == "ours" else theirs
        for p in under:
            del merged[p]
        merged.update({p: v for p, v in side.items() if p[:len(root)] == root})


def _subtree(leaves: dict[tuple[Any, ...], Any], root: tuple[Any, ...]) -> Any:
    """The value at ``root`` rebuilt from leaves (for showing both candidates)."""
    if root in leaves:
        return leaves[root]
    out: dict[Any, Any] = {}
    for path, value in leaves.items():
        if path[:len(root)] != root or len(path) == len(root):
            continue
        node = out
        for key in path[len(root):-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return out or None


def _same_leaves(a: dict[tuple[Any, ...], Any], b: dict[tuple[Any, ...], Any]) -> bool:
    return a.keys() == b.keys() and all(_canon(a[k]) == _canon(b[k]) for k in a)


def _data_of(text: str, fmt: str, *, unique: bool = False) -> list[Any] | None:
    """The data of a plaintext, or None when it does not parse (or, with ``unique``,
    when a mapping holds a key twice: dotenv, JSON and INI take the last one, so a
    layout that kept the old line next to the new one would still hold the right data)."""
    from .document import parse_plain

    try:
        parsed = parse_plain(text, fmt)
        data: list[Any] = parsed.to_python()
    except (EncfileError, ValueError):
        return None
    if unique and any(_repeats_a_key(root) for root in parsed.roots):
        return None
    return data


def _repeats_a_key(node: Any) -> bool:
    from .tree import Branch, Seq

    if isinstance(node, Branch):
        keys = [item[0] for item in node if isinstance(item, tuple)]
        if len(keys) != len(set(keys)):
            return True
        return any(_repeats_a_key(item[1]) for item in node if isinstance(item, tuple))
    if isinstance(node, Seq):
        return any(_repeats_a_key(item) for item in node)
    return False


def layout(base: str, ours: str, theirs: str, *, fmt: str,
           merged: dict[tuple[Any, ...], Any], multi: bool = False
           ) -> tuple[str, list[str]] | None:
    """Plaintext holding exactly ``merged``, laid out by a line merge, and notes; or None.

    ``multi``: the merged paths start with document indexes (a side has several).
    """
    chunks = merge3.merge(base.splitlines(keepends=True), ours.splitlines(keepends=True),
                          theirs.splitlines(keepends=True))
    # a key written twice is no layout, unless a side already has one
    unique = all(_data_of(side, fmt, unique=True) is not None for side in (ours, theirs))
    found = _search(chunks, fmt, merged, multi, unique)
    if found is None and any(chunk[0] == "conflict" for chunk in chunks):
        # Neighbouring lines changed on each side (`a:` by ours, `b:` by theirs) make
        # one conflicting run: merge such runs line by line when the lines correspond.
        found = _search(_linewise(chunks), fmt, merged, multi, unique)
    if found is None and any(chunk[0] == "conflict" for chunk in chunks):
        # Then split each conflicting run at the lines both sides have (a file added on
        # both branches has no base at all): what remains are two insertions at one place.
        found = _search(_refined(chunks), fmt, merged, multi, unique)
    return found


def _linewise(chunks: list[Any]) -> list[Any]:
    out: list[Any] = []
    for chunk in chunks:
        if chunk[0] == "conflict" and len(chunk[1]) == len(chunk[2]) == len(chunk[3]):
            for old, mine, other in zip(chunk[1], chunk[2], chunk[3], strict=True):
                out += merge3.merge([old], [mine], [other])
        else:
            out.append(chunk)
    return out


def _refined(chunks: list[Any]) -> list[Any]:
    out: list[Any] = []
    for chunk in chunks:
        if chunk[0] == "ok":
            out.append(chunk)
            continue
        mine, other = chunk[2], chunk[3]
        blocks = SequenceMatcher(None, mine, other, autojunk=False).get_matching_blocks()
        common = [line for m in blocks for line in mine[m.a:m.a + m.size]]
        out += merge3.merge(common, mine, other)
    return out


def _search(chunks: list[Any], fmt: str, merged: dict[tuple[Any, ...], Any],
            multi: bool, unique: bool) -> tuple[str, list[str]] | None:
    hunks = [i for i, chunk in enumerate(chunks) if chunk[0] == "conflict"]
    if len(hunks) > _MAX_SEARCH_HUNKS:
        tries: Any = [(n,) * len(hunks) for n in range(len(_OPTIONS))]
    else:
        tries = itertools.product(range(len(_OPTIONS)), repeat=len(hunks))
    for choice in tries:
        picked = dict(zip(hunks, choice, strict=True))
        lines: list[str] = []
        placed: list[tuple[int, list[str], list[str], list[str], list[str]]] = []
        for i, chunk in enumerate(chunks):
            if chunk[0] == "ok":
                lines += chunk[1]
                continue
            old, mine, other = chunk[1], chunk[2], chunk[3]
            taken = {"ours": mine, "theirs": other, "ours+theirs": [*mine, *other],
                     "theirs+ours": [*other, *mine]}[_OPTIONS[picked[i]]]
            placed.append((len(lines) + 1, old, mine, other, taken))
            lines += taken
        text = "".join(lines)
        data = _data_of(text, fmt, unique=unique)
        if data is not None and _same_leaves(_leaves(data, multi), merged):
            notes = [n for n in (_dropped_note(*p) for p in placed) if n is not None]
            return text, notes
    return None


def _dropped_note(first: int, old: list[str], mine: list[str], other: list[str],
                  taken: list[str]) -> str | None:
    """A note when the text laid out for a conflicting run lacks a change of one side.

    The data of the whole text is the merged data (checked before), so what a side can
    lose here is text alone: comments, blank lines, quoting, spacing. When one side's
    edits are all in the lines taken (both made the same change, and one side made
    another one too), nothing is lost and there is no note.
    """
    lost = [side for side, lines in (("ours", mine), ("theirs", other))
            if not _change_kept(old, lines, taken)]
    if not lost:
        return None
    last = first + max(len(taken), 1) - 1
    where, these = (f"line {first}", "this line") if last == first else \
        (f"lines {first}-{last}", "these lines")
    if len(lost) == 2:
        return (f"{where}: both sides changed {these}; neither side's change to comments or "
                "formatting is kept in full")
    kept, whose = ("theirs", "our") if lost == ["ours"] else ("ours", "their")
    return (f"{where}: both sides changed {these}; kept {kept}, without {whose} change to "
            "comments or formatting")


def _change_kept(old: list[str], side: list[str], taken: list[str]) -> bool:
    """Whether ``taken`` has every edit that ``side`` made to ``old``: each line that it
    added is among the lines ``taken`` added, and no base line that it removed or
    replaced is still in ``taken``."""
    taken_from_old = {i for m in SequenceMatcher(None, old, taken, autojunk=False)
                      .get_matching_blocks() for i in range(m.a, m.a + m.size)}
    added_in_taken = Counter(taken)
    for line in (old[i] for i in taken_from_old):
        added_in_taken[line] -= 1
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, side,
                                               autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if any(i in taken_from_old for i in range(i1, i2)):
            return False  # a base line this side removed or replaced is still there
        for line in side[j1:j2]:
            if added_in_taken[line] <= 0:
                return False
            added_in_taken[line] -= 1
    return True


def merge_opened(base: Opened | None, ours: Opened, theirs: Opened, *, path: str,
                 keyring: KeyRing | None = None, choose: dict[str, str] | None = None,
                 config_path: str | None = None, now: _dt.datetime | None = None) -> Merged:
    """Merge three opened versions of ``path``; raise :class:`MergeConflict` on a conflict."""
    fmt = ours.fmt
    base_text = base.text() if base is not None else ""
    base_data = base.data() if base is not None else [{}]
    ours_data, theirs_data = ours.data(), theirs.data()
    multi = max(len(base_data), len(ours_data), len(theirs_data)) > 1
    merged, conflicts = merge_data(base_data, ours_data, theirs_data, choose=choose)
    if conflicts:
        names = sorted(conflicts)
        raise MergeConflict(
            f"'{path}': both sides changed {len(names)} key{'s' if len(names) > 1 else ''}: "
            + ", ".join(names), names, candidates=conflicts,
            hints=[f"run: encfile git resolve {shlex.quote(path)} (or with --ours / --theirs); "
                   "the file in the working tree is still encrypted (our version)"])
    laid_out = layout(base_text, ours.text(), theirs.text(), fmt=fmt, merged=merged,
                      multi=multi)
    if laid_out is None:
        raise MergeConflict(
            f"'{path}': the changes merge key by key, but their lines overlap in a way "
            "encfile cannot lay out", [],
            hints=[f"take one side (git checkout --ours -- {shlex.quote(path)}) and apply "
                   "the other side's changes with 'encfile set' or 'encfile edit', then "
                   "git add it"])
    text, notes = laid_out
    return Merged(_encrypt(text, ours, theirs, path=path, config_path=config_path, now=now,
                           notes=notes), notes)


def _rules_text(rules: Any) -> str:
    return ", ".join(f"{k}: {v}" for k, v in rules.as_dict().items()) or "the defaults"


def _encrypt(text: str, ours: Opened, theirs: Opened, *, path: str, config_path: str | None,
             now: _dt.datetime | None, notes: list[str]) -> str:
    from . import config
    from .document import encrypt_text, reencrypt_text

    meta_o, meta_t = ours.metadata, theirs.metadata
    if meta_o.rules != meta_t.rules:
        # Ours' rules could leave in clear what theirs encrypts: no guessing here.
        raise MergeConflict(
            f"'{path}': the two sides encrypt different values (their rules differ: "
            f"{_rules_text(meta_o.rules)} against {_rules_text(meta_t.rules)})", [],
            hints=["merge by hand: take one side with 'git checkout --ours' (or --theirs) "
                   "and apply the other side's changes with 'encfile edit'"])
    same_key = ours.same_key(theirs)
    if same_key and meta_o.recipient_groups == meta_t.recipient_groups:
        return reencrypt_text(text, fmt=ours.fmt, previous=ours, now=now, label=f"'{path}'",
                              also_reuse=theirs.stash())
    plan = None
    try:
        found = config.find(path, explicit=config_path)
        rule = found.rule_for(path) if found is not None else None
        if rule is not None and rule.key_groups:
            plan = (rule.key_groups, rule.shamir_threshold)
    except EncfileError:
        plan = None
    if plan is None:
        if len(meta_o.key_groups) > 1 or len(meta_t.key_groups) > 1:
            # With key groups (Shamir), a smaller group list can mean *fewer* shares
            # needed: only a creation rule can say who may read the result.
            raise MergeConflict(
                f"'{path}': the two sides have different key groups, and no creation rule "
                "says which the merged file should have", [],
                hints=["add a creation rule for it to .encfile.yaml (or .sops.yaml), then "
                       "merge again"])
        theirs_all = [k for g in meta_t.key_groups for k in g.usable]
        groups = [[k for k in g.usable if any(k.same(t) for t in theirs_all)]
                  for g in meta_o.key_groups]
        groups = [g for g in groups if g]
        if not groups:
            raise InputError(f"'{path}': the two sides share no recipient, and no creation "
                             "rule says who may read the merged file",
                             hints=["add a creation rule for it to .encfile.yaml"])
        plan = (groups, meta_o.shamir_threshold if len(groups) > 1 else 0)
        notes.append("the sides differ in data key or recipients: the result is encrypted "
                     "under a new data key for the recipients both sides have")
    else:
        notes.append("the sides differ in data key or recipients: the result is encrypted "
                     "under a new data key for the recipients of the creation rule")
    groups, threshold = plan
    return encrypt_text(text, fmt=ours.fmt, recipients=groups, rules=meta_o.rules,
                        shamir_threshold=threshold, now=now, label=f"'{path}'")
