"""``encfile exec`` and ``encfile exec-file``: run a program with the secrets, in its
environment or at a path in memory. encfile becomes the program (same pid), or with
``--watch`` stays as its supervisor (``encfile.run``)."""

from __future__ import annotations

import os
import sys

from .. import errors
from . import common
from .terminal import info, say

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from .parse import Args


def become(argv: list[str], env: dict[str, str]) -> NoReturn:
    """Replace this process with ``argv`` (127/126 when it cannot be run)."""
    sys.stdout.flush()
    sys.stderr.flush()
    supervise(lambda: os.execvpe(argv[0], argv, env), argv[0])


def supervise(run_it: Any, program: str) -> NoReturn:
    """Exit with the supervised command's status (127/126 when it cannot be started)."""
    try:
        code = run_it()
    except FileNotFoundError:
        say("error", f"command not found: {program!r}")
        sys.exit(127)
    except OSError as err:
        say("error", f"cannot run {program!r}: {err.strerror or err}")
        sys.exit(126)
    sys.exit(code)


def _watch(command: list[str], paths: list[str], env: Any, refresh: Any, **more: Any) -> NoReturn:
    from .. import run

    supervise(lambda: run.supervise(command, paths, env=env, refresh=refresh,
                                    log=lambda line: say("watch", line), **more), command[0])


def exec_command(a: Args) -> NoReturn:
    from .. import envmap
    from ..keysources.identities import IDENTITY_VARS
    from ..opening import open_text

    command: list[str] = a.command
    if not command:
        raise errors.UsageError("no command to run",
                                hints=["usage: encfile exec [-f FILE] -- COMMAND [ARGS]..."])
    keyring = common.keyring()
    paths = a.files or envmap.exec_files(os.getcwd())

    def environment() -> dict[str, str]:
        variables: dict[str, tuple[str, str]] = {}
        for path in paths:
            text, fmt, label = common.read_input(path, a.input_type, what="decrypting")
            docs = open_text(text, fmt=fmt, keyring=keyring, label=label).data()
            variables.update(envmap.file_variables(docs, fmt, prefix=a.prefix or "",
                                                   nested=not a.no_flatten, source=label))
            info(f"using {label}")
        return envmap.environment(variables, os.environ, pristine=a.pristine,
                                  override=not a.no_override, remove=IDENTITY_VARS)

    env = environment()
    if a.watch:
        state = {"env": env}

        def refresh() -> None:
            state["env"] = environment()

        _watch(command, paths, lambda: state["env"], refresh)
    become(command, env)


def exec_file(a: Args) -> NoReturn:
    from ..keysources.identities import IDENTITY_VARS
    from ..opening import open_text

    command: list[str] = a.command
    target: str = a.file
    if not command:
        raise errors.UsageError("exec-file needs a file and a command",
                                hints=["usage: encfile exec-file FILE -- COMMAND {}"])
    if not hasattr(os, "memfd_create"):
        raise errors.EncfileError("exec-file needs Linux (memfd) in this version")
    placeholder = a.placeholder or "{}"
    keyring = common.keyring()
    reload_signal = None
    if a.signal:
        import signal

        name = str(a.signal).upper()
        try:
            reload_signal = signal.Signals[name if name.startswith("SIG") else "SIG" + name]
        except KeyError:
            raise errors.UsageError(f"unknown signal {a.signal!r}") from None

    def content() -> bytes:
        text, fmt, label = common.read_input(target, a.input_type, what="decrypting")
        opened = open_text(text, fmt=fmt, keyring=keyring, label=label)
        plain = common.convert(opened.data(), fmt, a.output_type) or opened.text()
        return plain.encode("utf-8", "surrogateescape")

    fd = os.memfd_create("encfile-plaintext", 0)  # not CLOEXEC: the command inherits it
    os.write(fd, content())
    # This process becomes the command (same pid): it and its children can open the path.
    path = f"/proc/{os.getpid()}/fd/{fd}"
    argv = [arg.replace(placeholder, path) for arg in command]
    if argv == command:
        say("warning", f"no {placeholder!r} in the command: it will not see the path")
    env = {k: v for k, v in os.environ.items() if k not in IDENTITY_VARS}
    info(f"'{target}' is readable at {path}")
    if a.watch:
        def refresh() -> None:
            data = content()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)

        _watch(argv, [target], lambda: env, refresh, pass_fds=(fd,), reload_signal=reload_signal)
    become(argv, env)
