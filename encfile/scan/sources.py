"""The blobs a scan reads: working-tree files, the index, or every blob in git history.

History is read as git stores it: ``git log --raw`` (one process) names, for every
commit from the oldest, the blobs it adds or changes and their paths; each blob not seen
before is then read through one ``git cat-file --batch`` process, fed by a thread while
the scan reads its answers. A blob is scanned once, at the first commit and path that
hold it. Symlinks and submodules are not files, and are skipped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading

from ..errors import InputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

MAX_BYTES = 2 * 1024 * 1024
_FILE_MODES = (b"100644", b"100755")
_NULL_OID = b"0" * 40
#: Files that are never text worth scanning: not even asked of git.
_BINARY_EXTENSIONS = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".psd",
    ".pdf", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tar", ".jar",
    ".war", ".class", ".so", ".dll", ".dylib", ".exe", ".bin", ".o", ".a", ".pyc", ".whl",
    ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".mov", ".avi", ".wav",
    ".ogg", ".flac", ".mkv", ".webm", ".sqlite", ".db", ".parquet", ".npy", ".pt", ".onnx",
})


class Blob:
    """A file's bytes as scanned: ``path`` (as reported), and for a blob from git its
    ``oid`` and the ``commit`` that first holds it."""

    __slots__ = ("commit", "data", "oid", "path")

    def __init__(self, path: str, data: bytes, oid: str | None = None,
                 commit: str | None = None) -> None:
        self.path, self.data, self.oid, self.commit = path, data, oid, commit


def git(args: Sequence[str], cwd: str | None = None, *, check: bool = True
        ) -> subprocess.CompletedProcess[bytes]:
    from ..gitsetup import git as run

    return run(args, cwd, check=check)


def repo_root(cwd: str | None = None) -> str | None:
    """The top folder of the repository around ``cwd``, or None outside one."""
    try:
        result = git(["rev-parse", "--show-toplevel"], cwd, check=False)
    except InputError:
        return None  # git is not installed: no repository either
    return result.stdout.decode().strip() if result.returncode == 0 else None


def skipped(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in _BINARY_EXTENSIONS


# -- the working tree ------------------------------------------------------------------------

def tree_paths(paths: Sequence[str], *, include_ignored: bool = False,
               in_repo: bool = True) -> list[str]:
    """The files to scan below ``paths`` (default: here): in a repository the tracked
    files and the untracked ones git does not ignore (all files with
    ``include_ignored``); a file named explicitly is always scanned."""
    from ..errors import FileMissingError
    from ..files import walk_files

    out: list[str] = []
    folders = []
    for path in paths or ["."]:
        if os.path.isdir(path):
            folders.append(path)
        elif os.path.lexists(path):
            out.append(path)
        else:
            raise FileMissingError(f"no such file: '{path}'")
    if folders and in_repo and not include_ignored:
        listed = git(["ls-files", "-z", "-co", "--exclude-standard", "--", *folders]).stdout
        out += [p for p in listed.decode("utf-8", "surrogateescape").split("\0") if p]
    elif folders:
        out += walk_files(folders)
    seen: set[str] = set()
    result = []
    for path in out:
        norm = os.path.normpath(path)
        if norm in seen or os.path.islink(norm) or not os.path.isfile(norm) or skipped(norm):
            continue
        seen.add(norm)
        result.append(norm)
    return result


def read_tree(paths: Iterable[str]) -> Iterator[Blob]:
    for path in paths:
        try:
            if os.path.getsize(path) > MAX_BYTES:
                continue
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            continue  # gone meanwhile, or unreadable: nothing to scan
        yield Blob(path, data)


# -- git objects -----------------------------------------------------------------------------

class CatFile:
    """One ``git cat-file --batch`` process for all the objects a scan reads."""

    def __init__(self, root: str) -> None:
        try:
            self.process = subprocess.Popen(["git", "cat-file", "--batch"], cwd=root,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL, bufsize=1 << 20)
        except FileNotFoundError:
            raise InputError("git is not installed (or not on PATH)") from None
        self.started = 1  # how many processes this reader started (one)

    def read(self, names: Sequence[str]) -> Iterator[tuple[str, bytes | None]]:
        """``(name, bytes)`` for each object name, in order; None for a missing object or
        a blob over the size limit."""
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout

        def feed() -> None:
            try:
                for name in names:
                    stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
                stdin.close()
            except (BrokenPipeError, ValueError):
                pass  # the reader stopped early (an error): nothing more to ask

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        try:
            for name in names:
                header = stdout.readline()
                fields = header.split()
                if len(fields) != 3:
                    yield name, None  # "<name> missing" (or ambiguous)
                    continue
                size = int(fields[2])
                if size > MAX_BYTES:
                    remaining = size + 1  # the contents and their LF, read and dropped
                    while remaining > 0:
                        chunk = stdout.read(min(remaining, 1 << 20))
                        if not chunk:
                            break
                        remaining -= len(chunk)
                    yield name, None
                    continue
                data = stdout.read(size)
                stdout.read(1)  # the LF after the contents
                yield name, data if fields[1] == b"blob" else None
        finally:
            writer.join(timeout=10)

    def close(self) -> None:
        process = self.process
        if process.stdin is not None and not process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def staged(root: str, paths: Sequence[str], cwd: str | None = None) -> list[tuple[str, str]]:
    """``(path, oid)`` of the files the next commit adds or changes (limited to ``paths``),
    as they are staged; paths relative to the top of the repository."""
    changed = git(["diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR", "--",
                   *paths], cwd).stdout.decode("utf-8", "surrogateescape").split("\0")
    wanted = {p for p in changed if p}
    listed = git(["ls-files", "-s", "-z"], root).stdout.decode("utf-8", "surrogateescape")
    out = []
    for entry in listed.split("\0"):
        meta, _, path = entry.partition("\t")
        fields = meta.split()
        if path in wanted and len(fields) == 3 and fields[0] in ("100644", "100755") \
                and fields[2] == "0" and not skipped(path):
            out.append((path, fields[1]))
    return out


def history(root: str, *, since: str | None = None, paths: Sequence[str] = (),
            cwd: str | None = None) -> list[tuple[str, str, str]]:
    """``(oid, path, commit)`` for each blob of the history reachable from any ref (the
    commits after ``since`` only), at the first commit and path that hold it, oldest
    first (parents before children)."""
    args = ["log", "--all", "--reverse", "--topo-order", "--raw", "--no-renames",
            "--no-abbrev", "-c", "--root", "-z", "--format=%x01%H"]
    if since:
        if git(["rev-parse", "--verify", "--quiet", since + "^{commit}"], cwd,
               check=False).returncode != 0:
            raise InputError(f"'{since}' is not a commit in this repository",
                             hints=["give a commit, branch or tag, e.g. origin/main"])
        args += ["--not", since]
    args += ["--", *paths]
    result = git(args, cwd, check=False)
    if result.returncode != 0:
        if git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd, check=False).returncode:
            return []  # no commit yet: no history
        first = (result.stderr.decode(errors="replace").strip().splitlines() or ["failed"])[0]
        raise InputError(f"git log: {first.removeprefix('fatal: ')}")
    seen: set[bytes] = set()
    out: list[tuple[str, str, str]] = []
    commit = ""
    tokens = result.stdout.split(b"\0")
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip(b"\n")
        i += 1
        if token.startswith(b"\x01"):
            commit = token[1:].decode()
            continue
        if not token.startswith(b":") or i >= len(tokens):
            continue
        path = tokens[i]
        i += 1
        parents = len(token) - len(token.lstrip(b":"))
        fields = token.lstrip(b":").split(b" ")
        if len(fields) < 2 * (parents + 1) + 1:
            continue
        mode, oid = fields[parents], fields[2 * parents + 1]
        if mode not in _FILE_MODES or oid == _NULL_OID or oid in seen:
            continue
        seen.add(oid)
        name = path.decode("utf-8", "surrogateescape")
        if not skipped(name):
            out.append((oid.decode(), name, commit))
    return out


def head_oids(root: str) -> set[str]:
    """The blobs of the commit at HEAD (empty when there is none)."""
    result = git(["ls-tree", "-r", "-z", "HEAD"], root, check=False)
    if result.returncode != 0:
        return set()
    out = set()
    for entry in result.stdout.split(b"\0"):
        fields = entry.partition(b"\t")[0].split()
        if len(fields) == 3 and fields[1] == b"blob":
            out.add(fields[2].decode())
    return out
