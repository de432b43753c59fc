"""``--watch``: a small supervisor that restarts (or signals) a command when secrets change.

It starts the command, forwards SIGTERM/SIGINT/SIGHUP/SIGUSR1/SIGUSR2 to it,
and polls the secret files. When one changes (a rotation, a ``git pull``), it
asks ``refresh`` for the new state; if that fails (the file does not decrypt),
the running command is left alone. Otherwise the command is restarted (SIGTERM,
a grace period, SIGKILL) or, for ``exec-file --signal``, sent that signal. The
supervisor returns the command's exit status (128 + N when a signal ended it).
It never prints: ``log`` receives one line per event.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


def _stamp(paths: Sequence[str]) -> list[tuple[int, int] | None]:
    out: list[tuple[int, int] | None] = []
    for path in paths:
        try:
            st = os.stat(path)
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return out


def _status(code: int) -> int:
    return 128 - code if code < 0 else code


def supervise(command: Sequence[str], files: Sequence[str], *,
              env: Callable[[], dict[str, str]], refresh: Callable[[], Any],
              log: Callable[[str], None], reload_signal: int | None = None,
              pass_fds: Sequence[int] = (), grace: float = 5.0, poll: float = 0.2) -> int:
    """Run ``command`` until it exits; on a change of ``files``, refresh then restart/signal.

    ``env()`` gives the environment for each start; ``refresh()`` is called on a
    change and may raise to keep the current command running.
    """
    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(list(command), env=env(), pass_fds=tuple(pass_fds))

    child = start()
    previous = {s: signal.signal(s, lambda num, frame: child.send_signal(num)) for s in FORWARDED}
    stamps = _stamp(files)
    try:
        while True:
            code = child.poll()
            if code is not None:
                return _status(code)
            time.sleep(poll)
            now = _stamp(files)
            if now == stamps:
                continue
            stamps = now
            try:
                refresh()
            except Exception as err:  # a file that does not decrypt: keep what runs
                log(f"secrets changed but cannot be read ({err}); the command keeps running")
                continue
            if reload_signal is not None:
                log(f"secrets changed: sending {signal.Signals(reload_signal).name} to the "
                    "command")
                child.send_signal(reload_signal)
                continue
            log("secrets changed: restarting the command")
            child.terminate()
            try:
                child.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            child = start()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
