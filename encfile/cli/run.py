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
    keyring = common.keyring(a)
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
    common.refuse_keyservice(a)
    if (a.user or a.background) and (len(command) != 1 or a.after_dashes):
        raise errors.UsageError("--user and --background go with sops's form: one COMMAND "
                                "string", hints=["encfile exec-file FILE 'COMMAND {}'"])
    if not hasattr(os, "memfd_create") and (len(command) != 1 or a.after_dashes):
        raise errors.EncfileError("exec-file needs Linux (memfd) in this version")
    placeholder = a.placeholder or "{}"
    keyring = common.keyring(a)
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
        plain = common.convert(opened.sops_data(), fmt, a.output_type) or opened.text()
        return plain.encode("utf-8", "surrogateescape")

    env = {k: v for k, v in os.environ.items() if k not in IDENTITY_VARS}
    if a.pristine:
        env = {}
    if len(command) == 1 and not a.after_dashes and not a.watch:
        _sops_form_exec_file(a, content, env)
    fd = os.memfd_create("encfile-plaintext", 0)  # not CLOEXEC: the command inherits it
    os.write(fd, content())
    # This process becomes the command (same pid): it and its children can open the path.
    path = f"/proc/{os.getpid()}/fd/{fd}"
    argv = [arg.replace(placeholder, path) for arg in command]
    if argv == command:
        say("warning", f"no {placeholder!r} in the command: it will not see the path")
    info(f"'{target}' is readable at {path}")
    if a.watch:
        def refresh() -> None:
            data = content()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)

        _watch(argv, [target], lambda: env, refresh, pass_fds=(fd,), reload_signal=reload_signal)
    become(argv, env)


def _shell_argv(command: list[str], after_dashes: bool) -> list[str]:
    """sops's form is one string for /bin/sh -c; after '--', the words are the argv."""
    if after_dashes or len(command) != 1:
        return command
    return ["/bin/sh", "-c", command[0]]


def _run_child(argv: list[str], env: dict[str, str], user: str | None,
               background: bool) -> NoReturn:
    """Run ``argv`` as a child and exit with its status (sops's way: encfile waits)."""
    import subprocess

    sys.stdout.flush()
    sys.stderr.flush()
    try:
        child = subprocess.Popen(argv, env=env, user=user or None)
    except FileNotFoundError:
        say("error", f"command not found: {argv[0]!r}")
        sys.exit(127)
    except (OSError, subprocess.SubprocessError) as err:
        say("error", f"cannot run {argv[0]!r}: {getattr(err, 'strerror', None) or err}")
        sys.exit(126)
    if background:
        sys.exit(0)
    import signal

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda signum, frame: child.send_signal(signum))
    code = child.wait()
    sys.exit(128 - code if code < 0 else code)


def exec_env(a: Args) -> NoReturn:
    """sops's exec-env: top-level keys, values as sops sees them, /bin/sh -c as a child."""
    from .. import envmap
    from ..opening import open_text

    common.refuse_keyservice(a)
    if not a.command:
        raise errors.UsageError("exec-env needs a file and a command",
                                hints=["usage: encfile exec-env FILE 'COMMAND'"])
    text, fmt, label = common.read_input(a.file, None, what="decrypting")
    docs = open_text(text, fmt=fmt, keyring=common.keyring(a), label=label).sops_data()
    env = envmap.sops_environment(docs[0] if docs else {}, os.environ, pristine=a.pristine,
                                  source=label)
    argv = _shell_argv(list(a.command), bool(a.after_dashes))
    if a.same_process:
        if a.user:
            _become_user(a.user)
        become(argv, env)
    _run_child(argv, env, a.user, bool(a.background))


def _become_user(user: str) -> None:
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise errors.UsageError(f"no such user: {user!r}") from None
    try:
        os.initgroups(entry.pw_name, entry.pw_gid)
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
    except OSError as err:
        raise errors.EncfileError(f"cannot run as {user!r}: {err.strerror or err}",
                                  hints=["--user needs root"]) from None


def _sops_form_exec_file(a: Args, content: Any, env: dict[str, str]) -> NoReturn:
    """sops's form of exec-file: the plaintext at a named pipe (read once) or, with
    --no-fifo, a 0600 file, in a private folder on tmpfs; the command runs through
    /bin/sh -c with '{}' replaced; the folder goes on every way out."""
    import subprocess
    import threading

    from .. import fsutil

    name = os.path.basename(a.filename or "tmp-file") or "tmp-file"
    data = content()
    try:
        holder = fsutil.private_tempdir()
    except errors.OutputError:
        raise errors.OutputError(
            "no memory file system (tmpfs) to hold the plaintext for the command",
            hints=["encfile's form keeps it in memory: encfile exec-file FILE -- COMMAND {}"]
        ) from None
    with holder as folder:
        path = os.path.join(folder, name)
        if a.no_fifo:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
        else:
            os.mkfifo(path, 0o600)

            def feed() -> None:
                try:
                    with open(path, "wb") as pipe:  # waits for the command to open it
                        pipe.write(data)
                except OSError:
                    pass  # the command went away without reading

            writer = threading.Thread(target=feed, daemon=True)
            writer.start()
        placeholder = a.placeholder or "{}"
        argv = ["/bin/sh", "-c", a.command[0].replace(placeholder, path)]
        info(f"'{a.file}' is readable at {path}")
        try:
            child = subprocess.Popen(argv, env=env, user=a.user or None)
        except (OSError, subprocess.SubprocessError) as err:
            raise errors.EncfileError(f"cannot run the command: {err}") from None
        if a.background:
            sys.exit(0)
        code = child.wait()
        if not a.no_fifo and writer.is_alive():  # never opened: let the writer go
            try:  # noqa: SIM105 - contextlib is not on exec's path
                os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
            except OSError:
                pass
            writer.join(5)
    sys.exit(128 - code if code < 0 else code)
