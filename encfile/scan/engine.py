"""``scan()``: read the blobs, find the secrets in each, keep the first appearance of each
secret, drop what the baseline accepts, and say what to do about the rest."""

from __future__ import annotations

import os

from . import content, detectors, hints, sources
from .baseline import Baseline, default_path
from .errors import FindingsError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .finding import Finding

MODES = ("tree", "staged", "history")


class Report:
    """What a scan found: ``findings`` (sorted by path and line), how many the baseline
    ``accepted``, how many ``blobs`` were read; ``root`` is the folder paths are relative
    to, ``baseline`` the baseline file used (or None)."""

    def __init__(self, mode: str, root: str, findings: list[Finding], accepted: int,
                 blobs: int, baseline: str | None) -> None:
        self.mode, self.root, self.findings = mode, root, findings
        self.accepted, self.blobs, self.baseline = accepted, blobs, baseline

    def error(self) -> FindingsError | None:
        """The error a gate fails with, or None when nothing was found."""
        if not self.findings:
            return None
        files = len({f.path for f in self.findings})
        where = "in git history" if self.mode == "history" else \
            "in staged files" if self.mode == "staged" else "in the files"
        extra = (f"{self.accepted} more accepted by the baseline '{self.baseline}'",) \
            if self.accepted else ()
        return FindingsError(
            f"{len(self.findings)} secret(s) not encrypted {where} ({files} file(s))",
            count=len(self.findings),
            hints=(*extra, "encrypt them (each finding's hint says how); rotate every one "
                   "that was ever committed"))


def scan(paths: Sequence[str] = (), *, mode: str = "tree", since: str | None = None,
         baseline: str | None = None, use_default_baseline: bool = True,
         config_path: str | None = None, include_ignored: bool = False) -> Report:
    """Scan ``paths`` (default: the working folder) in the working tree (``tree``), as
    staged (``staged``) or through git history (``history``, the commits after ``since``
    only when given). ``baseline``: a baseline file (default: .encfile-scan-baseline.json
    at the top of the repository, when it is there)."""
    from ..errors import InputError

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    detectors.load()  # MissingExtraError now, before any git work
    cwd = os.getcwd()
    root = sources.repo_root(cwd)
    if mode != "tree" and root is None:
        raise InputError("not inside a git repository",
                         hints=[f"the {'history' if mode == 'history' else 'staged content'} "
                                "is read from git: run it in the repository"])
    base = root if mode != "tree" and root is not None else cwd
    ctx = content.Context(base, config_path)
    found: list[Finding] = []
    blobs = 0
    if mode == "tree":
        for blob in sources.read_tree(sources.tree_paths(paths, include_ignored=include_ignored,
                                                         in_repo=root is not None)):
            blobs += 1
            found += _scan_blob(blob, ctx)
        if root is not None and found:
            _mark_committed(found, root, cwd)
    else:
        assert root is not None
        found, blobs = _scan_git(root, cwd, mode, since, paths, ctx)
    baseline_file = baseline or (default_path(root or cwd) if use_default_baseline else None)
    accepted = 0
    used = None
    if baseline_file is not None and (baseline or os.path.isfile(baseline_file)):
        known = Baseline.load(baseline_file)
        used = baseline_file
        kept = [f for f in found if not known.accepts(f)]
        accepted, found = len(found) - len(kept), kept
    found.sort(key=lambda f: (f.path, f.line, f.column, f.rule))
    hints.assign(found, history=mode == "history")
    return Report(mode, base, found, accepted, blobs, used)


def _scan_blob(blob: sources.Blob, ctx: content.Context) -> list[Finding]:
    text = content.decode(blob.data)
    if text is None:
        return []
    out = content.scan_text(blob.path, text, ctx)
    for f in out:
        f.commit = blob.commit
    return out


def _scan_git(root: str, cwd: str, mode: str, since: str | None, paths: Sequence[str],
              ctx: content.Context) -> tuple[list[Finding], int]:
    wanted: list[tuple[str, str, str | None]]
    if mode == "staged":
        wanted = [(oid, path, None) for path, oid in sources.staged(root, paths, cwd)]
        head: set[str] = set()
    else:
        wanted = [(oid, path, commit) for oid, path, commit in
                  sources.history(root, since=since, paths=paths, cwd=cwd)]
        head = sources.head_oids(root)
    reader = sources.CatFile(root)
    first: dict[tuple[str, str], Finding] = {}
    in_head: set[tuple[str, str]] = set()
    blobs = 0
    try:
        for (oid, path, commit), (_, data) in zip(wanted, reader.read([w[0] for w in wanted]), strict=False):
            if data is None:
                continue
            blobs += 1
            for f in _scan_blob(sources.Blob(path, data, oid, commit), ctx):
                identity = f.identity()
                if oid in head:
                    in_head.add(identity)
                first.setdefault(identity, f)
    finally:
        reader.close()
    out = list(first.values())
    if mode == "history":
        for f in out:
            f.in_head = f.identity() in in_head
    return out, blobs


def _mark_committed(found: list[Finding], root: str, cwd: str) -> None:
    """Findings in files that git tracks: is the value in the committed version too?"""
    prefix = os.path.relpath(cwd, root)
    by_path: dict[str, list[Finding]] = {}
    for f in found:
        rel = os.path.normpath(os.path.join(prefix, f.path)).replace(os.sep, "/")
        by_path.setdefault(rel, []).append(f)
    names = sorted(by_path)
    reader = sources.CatFile(root)
    try:
        for name, data in reader.read([f"HEAD:{n}" for n in names]):
            rel = name[len("HEAD:"):]
            for f in by_path[rel]:
                value = f.secret_value()
                f.in_head = data is not None and (
                    value is None or value.encode("utf-8", "surrogateescape") in data)
    finally:
        reader.close()
