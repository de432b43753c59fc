"""The command line: the only package that prints, reads the terminal, or exits.

It is a thin layer over the library: parse (``parse.py``, from the tables of
``spec.py``), call one command module, print. Every command starts without typer;
typer renders ``--help`` and answers shell completion from the same tables
(``app.py``). All terminal output goes through ``terminal.py``; the exit codes are
one table in ``exits.py``.

    __init__   main(): version, sops's forms, dispatch, errors to exit codes
    spec       every command and option       parse     argv -> Args
    app        --help and completion (typer)  terminal  output, prompts, progress
    exits      the exit-code table            common    input, keys, plans
    crypt      encrypt, decrypt               edit      edit
    setunset   set, unset                     rekey     rotate, updatekeys
    status     status                         keys      keygen, identities
    init       init                           run       exec, exec-file
    git        git setup|status|textconv|merge|resolve|pre-commit (tables: git_spec)
    scan       scan (tables: scan_spec)       more      keyservice, completion
    publish    publish (tables: publish_spec) remedies  the flag each library remedy names
"""

from __future__ import annotations

import os
import sys

from .. import errors
from .._version import DISTRIBUTION, SOPS_VERSION, __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn


def looks_like_file(arg: str) -> bool:
    """A first argument that names a file, not a mistyped command: it exists, or it has a
    folder or an extension (``encfile new.enc.yaml`` creates it, as ``sops`` does)."""
    if arg.startswith("-"):
        return False
    return os.path.exists(arg) or "/" in arg or "." in arg.lstrip(".")


def version_line(program: str) -> str:
    """``--version``: under the name ``sops`` (a drop-in symlink), the sops version whose
    behaviour encfile follows comes first, for tools that parse ``sops X.Y.Z``."""
    if program == "sops":
        return f"sops {SOPS_VERSION} (encfile {__version__})\n"
    return f"encfile {__version__} ({DISTRIBUTION}, follows sops {SOPS_VERSION})\n"


def program_name() -> str:
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "encfile"


def _resolve(args: list[str]) -> tuple[list[str], object, list[str]]:
    """(the command's path, its spec, its arguments) for a normalized argv."""
    from .parse import HelpWanted
    from .spec import COMMANDS

    if not args or args[0] in ("-h", "--help"):
        raise HelpWanted([])
    name = args[0]
    cmd = COMMANDS.get(name)
    if cmd is None:
        if name.startswith("-"):
            raise errors.UsageError(f"no such option: {name.partition('=')[0]}",
                                    hints=["see 'encfile --help'"])
        raise errors.UsageError(f"no such command: {name!r}", hints=["see 'encfile --help'"])
    if not cmd.subcommands:
        return [name], cmd, args[1:]
    rest = args[1:]
    if not rest or rest[0] in ("-h", "--help"):
        raise HelpWanted([name])
    if rest[0] == "help":  # encfile git help SUB
        raise HelpWanted([name, *rest[1:2]] if rest[1:2] and rest[1] in cmd.subcommands
                         else [name])
    sub = cmd.subcommands.get(rest[0])
    if sub is None:
        raise errors.UsageError(f"no such {name} command: {rest[0]!r}",
                                hints=[f"see 'encfile {name} --help'"])
    return [name, rest[0]], sub, rest[1:]


def _run(args: list[str]) -> int:
    import warnings

    from .parse import normalize, parse
    from .terminal import Out, show_warning

    warnings.showwarning = show_warning
    args = normalize(args, looks_like_file)
    path, cmd, rest = _resolve(args)
    parsed = parse(cmd, rest, path)  # type: ignore[arg-type]
    Out.verbose, Out.quiet = bool(parsed.verbose), bool(parsed.quiet)
    Out.force = bool(parsed.force)
    Out.name_override = parsed.filename_override or None
    module, _, function = cmd.run.partition(":")  # type: ignore[attr-defined]
    # __import__, not importlib.import_module: the importlib package is not on the fast path.
    result = getattr(__import__(module, fromlist=[function]), function)(parsed)
    global _quick_exit
    _quick_exit = cmd.run in _READ_ONLY and not (  # type: ignore[attr-defined]
        getattr(parsed, "in_place", False) or getattr(parsed, "output", None))
    return int(result or 0)


# Commands that only read files and write to standard output: when one of them is done,
# the process may end without the interpreter's teardown (see command).
_READ_ONLY = frozenset({"encfile.cli.crypt:decrypt", "encfile.cli.git:textconv"})
_quick_exit = False


def command() -> NoReturn:
    """The ``encfile`` console script: :func:`main`, then, after a read-only command, the
    process ends without the interpreter's teardown.

    Freeing every object and unloading the OpenSSL binding takes 2-3 ms, a tenth of
    decrypting a small file, and git runs textconv once per version it shows. It is
    skipped only when nothing is left for it to do: output flushed, no exit handler
    registered (a key service's SDK may add one), no other thread running. :func:`main`
    (and ``python -m encfile``, which runpy may run inside another program) always raises
    SystemExit, for callers in the same process.
    """
    try:
        main()
    except SystemExit as done:
        import atexit

        code = done.code
        if (_quick_exit and isinstance(code, int) and
                getattr(atexit, "_ncallbacks", lambda: 1)() == 0 and
                ("threading" not in sys.modules
                 or sys.modules["threading"].active_count() == 1)):
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except (OSError, ValueError):
                raise done from None  # the usual exit reports or ignores it as always
            os._exit(code)
        raise


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the ``encfile`` command."""
    from .parse import HelpWanted

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if os.environ.get("_ENCFILE_COMPLETE"):  # the shell asks for completions
            from . import app
            from .parse import normalize

            sys.exit(app.complete(lambda words: normalize(words, looks_like_file)))
        if args[:1] == ["--version"]:  # also with sops's --disable-version-check: no network
            from .terminal import write_stdout

            write_stdout(version_line(program_name()).encode())
            sys.exit(0)
        if args[:1] == ["--show-completion"]:  # the shell named, else $SHELL's
            sys.exit(_run(["completion", args[1] if len(args) > 1
                           else os.path.basename(os.environ.get("SHELL", ""))]))
        if args[:1] == ["--install-completion"]:
            from . import app

            sys.exit(app.build().main(args=args, prog_name=app.PROG))
        sys.exit(_run(args))
    except HelpWanted as wanted:
        from . import app

        sys.exit(app.show_help(wanted.path))
    except errors.EncfileError as err:
        from .terminal import fail

        fail(err)
    except KeyboardInterrupt:
        from .exits import KEYBOARD_INTERRUPT

        sys.stderr.write("\n")
        sys.exit(KEYBOARD_INTERRUPT)
