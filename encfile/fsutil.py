"""Writing files safely: atomic replacement that keeps the file's mode; private temp folders."""

from __future__ import annotations

import contextlib
import os

from .errors import OutputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator


def atomic_write(path: str | os.PathLike[str], data: bytes, *, private: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically (temp file in the same folder, fsync, rename).

    An existing file keeps its permission bits; a symlink keeps pointing where it
    did (its target is replaced). A new file gets mode 0600 when ``private`` (it
    holds plaintext), else the umask's default.
    """
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    try:
        mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise OutputError(f"cannot write '{path}': {err.strerror or err}") from None
    if mode is None:
        if private:
            mode = 0o600
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
    import tempfile  # only when writing: it costs several ms to import

    name = os.path.basename(target)
    _sweep_temps(folder, name)
    try:
        # the writer's pid in the name: a later write can tell a dead writer's temp
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise OutputError(f"cannot write '{path}': {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"cannot write '{path}': {err.strerror or err}") from None
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _left_by_dead_writer(path: str, pid: int, min_age: float = 0) -> bool:
    """Is ``path`` ours, at least ``min_age`` seconds old, and named after a process ``pid``
    that is gone (killed before its cleanup ran)?"""
    import time

    if pid == os.getpid():
        return False
    try:
        st = os.lstat(path)
        if st.st_uid != os.getuid() or time.time() - st.st_mtime < min_age:
            return False
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _sweep_temps(folder: str, name: str) -> None:
    """Remove temp files of ``name`` that a killed writer left (``.NAME.<pid>.….tmp``);
    they may hold plaintext (``-d -o``)."""
    import re

    prefix = f".{name}."
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return
    for entry in names:
        m = re.match(r"(\d+)\.", entry[len(prefix):])
        path = os.path.join(folder, entry)
        if m is not None and _left_by_dead_writer(path, int(m.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(path)


def write_sibling(path: str, tag: str, data: bytes) -> str:
    """Write ``data`` to a new file beside ``path``, named ``PATH.TAG-<UTC time>`` (with
    ``-2``, ``-3``… if taken), with ``path``'s mode; return its name. Never replaces a file."""
    import time

    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        mode = 0o600
    stem = f"{path}.{tag}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    for attempt in range(1, 100):
        name = stem if attempt == 1 else f"{stem}-{attempt}"
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue
        except OSError as err:
            raise OutputError(f"cannot write '{name}': {err.strerror or err}") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), mode)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise OutputError(f"cannot write '{name}': {err.strerror or err}") from None
        return name
    raise OutputError(f"cannot find a free name for '{stem}'")


def write_output(path: str, data: bytes, *, private: bool = False, force: bool = False) -> None:
    """Write the file the user named with ``-o``.

    A regular file (or a new one) is replaced atomically, as by :func:`atomic_write`.
    A symlink, a FIFO or a device is refused unless ``force``: plaintext must not follow
    a link someone else planted. With ``force``, a link is followed and a special file
    is written into directly (no rename is possible there). A folder is always refused.
    """
    import stat

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        atomic_write(path, data, private=private)
        return
    except OSError as err:
        raise OutputError(f"cannot write '{path}': {err.strerror or err}") from None
    if stat.S_ISREG(st.st_mode):
        if private and st.st_mode & 0o077:
            import warnings

            from .errors import EncfileWarning

            warnings.warn(f"'{path}' keeps its mode {st.st_mode & 0o777:04o}: other users "
                          "can read the plaintext written to it", EncfileWarning, stacklevel=2)
        atomic_write(path, data, private=private)
        return
    kinds = ((stat.S_ISLNK, "a symlink"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))
    kind = next((name for test, name in kinds if test(st.st_mode)), "not a regular file")
    if kind == "a folder":
        raise OutputError(f"cannot write '{path}': it is a folder")
    if not force:
        raise OutputError(f"refusing to write to '{path}': it is {kind}",
                          remedy="force")
    try:
        target_regular = stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        target_regular = True  # a dangling link: its target is created
    except OSError as err:
        raise OutputError(f"cannot write '{path}': {err.strerror or err}") from None
    if target_regular:
        atomic_write(path, data, private=private)
        return
    try:
        with open(path, "wb") as handle:
            handle.write(data)
    except OSError as err:
        raise OutputError(f"cannot write '{path}': {err.strerror or err}") from None


def _private_folders(folder: str) -> None:
    """Create ``folder`` and every missing parent 0700 (``os.makedirs`` gives the mode only
    to the last one, and the umask to the others)."""
    missing = []
    while folder and not os.path.isdir(folder):
        missing.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    for new in reversed(missing):
        os.mkdir(new, 0o700)
        os.chmod(new, 0o700)


def append_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Append to ``path``, creating it with mode 0600 (and its folder 0700) if needed."""
    p = os.fspath(path)
    try:
        _private_folders(os.path.dirname(p) or ".")
        fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as err:
        raise OutputError(f"cannot write '{path}': {err.strerror or err}") from None
    try:
        os.write(fd, data)
        os.fsync(fd)
    except OSError as err:
        raise OutputError(f"cannot write '{path}': {err.strerror or err}") from None
    finally:
        os.close(fd)


# -- plaintext that must live somewhere for a while (edit) --------------------------------------

_MEMORY_FS = ("tmpfs", "ramfs")


def filesystem_type(path: str) -> str:
    """The type of the file system holding ``path`` (from /proc/mounts; '' if unknown)."""
    path = os.path.realpath(path)
    best, kind = "", ""
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) < 3:
                    continue
                point = fields[1].replace("\\040", " ")
                inside = path == point or path.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, kind = point, fields[2]
    except OSError:
        return ""
    return kind


def memory_folders() -> list[str]:
    """Folders on a memory file system where a private temp folder can go, best first."""
    candidates = [os.environ.get("XDG_RUNTIME_DIR", ""), "/dev/shm", "/run/shm"]
    return [c for c in candidates
            if c and os.path.isdir(c) and os.access(c, os.W_OK)
            and filesystem_type(c) in _MEMORY_FS]


_STALE_AFTER = 60  # seconds: an editor a killed encfile was starting has started by then


def _sweep_stale(parent: str) -> None:
    """Remove our folders that a killed encfile left behind (``encfile-<pid>-…`` whose
    process is gone, a minute old, and that no process uses): a SIGKILL skips every
    ``finally``."""
    import re
    import shutil

    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        m = re.match(r"encfile-(\d+)-", name)
        path = os.path.join(parent, name)
        if m is not None and _left_by_dead_writer(path, int(m.group(1)), _STALE_AFTER) \
                and not _in_use(path):
            shutil.rmtree(path, ignore_errors=True)


def _in_use(folder: str) -> bool:
    """Does a process still use ``folder`` (an editor the killed encfile left running):
    an argument, an open file or its working folder inside it? Without /proc: assume so."""
    if not os.path.isdir("/proc/self/fd"):
        return True
    inside = folder.rstrip("/") + "/"
    needle = inside.encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read()
            if needle in argv or folder.encode() + b"\0" in argv:
                return True
            links = [os.readlink(f"/proc/{pid}/cwd")]
            links += [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if any(link == folder or link.startswith(inside) for link in links):
            return True
    return False


@contextlib.contextmanager
def private_tempdir(*, allow_disk: bool = False) -> Iterator[str]:
    """A fresh 0700 folder on tmpfs, removed with everything in it on exit.

    With no memory file system available, raise OutputError unless ``allow_disk``
    (then the system temp folder is used).
    """
    import shutil
    import tempfile

    folders = memory_folders()
    if not folders and not allow_disk:
        raise OutputError("no memory file system (tmpfs) to hold the plaintext while editing",
                          hints=["set XDG_RUNTIME_DIR to a tmpfs folder"],
                          remedy="allow_disk")
    parent = folders[0] if folders else tempfile.gettempdir()
    _sweep_stale(parent)
    folder = tempfile.mkdtemp(prefix=f"encfile-{os.getpid()}-", dir=parent)
    try:
        os.chmod(folder, 0o700)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def locked(path: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for a read-modify-write (serializes writers).

    Writers replace the file by renaming, so after waiting for the lock the path
    may name a newer file: then lock that one instead.
    """
    import fcntl

    while True:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as err:
            raise OutputError(f"cannot open '{path}': {err.strerror or err}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except OSError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)
