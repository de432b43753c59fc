"""Writing files safely: atomic replacement that keeps the file's mode."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .errors import OutputError


def atomic_write(path: str | os.PathLike[str], data: bytes, *, private: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically (temp file in the same folder, fsync, rename).

    An existing file keeps its permission bits; a symlink keeps pointing where it
    did (its target is replaced). A new file gets mode 0600 when ``private`` (it
    holds plaintext), else the umask's default.
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    try:
        mode = target.stat().st_mode & 0o7777
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

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
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


def append_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Append to ``path``, creating it with mode 0600 (and its folder 0700) if needed."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
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
