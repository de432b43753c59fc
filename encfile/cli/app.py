"""``--help`` and shell completion: a typer app built from ``spec.py``.

Only help and completion come here (typer costs ~40 ms to import): commands are parsed
and run by ``parse.py``, so the app's callbacks never run. The same tables make both,
so what help shows and completion offers is what the parser accepts.
"""

from __future__ import annotations

import inspect
import os

from . import exits, spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PROG = "encfile"
COMPLETE_VAR = "_ENCFILE_COMPLETE"

TOP_HELP = (
    "Encrypt the values of config files (sops-compatible): keys, comments and layout stay "
    "readable, and decrypting gives the file back byte for byte.\n\n"
    "sops's forms work too: 'encfile -e FILE' is 'encfile encrypt FILE', 'encfile -d FILE' "
    "is 'encfile decrypt FILE', and 'encfile FILE' is 'encfile edit FILE'; the options "
    "below are those of that form.\n\n"
    "Examples:\n\n"
    "  encfile -e --age age1… secrets.yaml > secrets.enc.yaml\n\n"
    "  encfile -d secrets.enc.yaml | kubectl apply -f -")


def _legacy_options() -> list[spec.Opt]:
    """What ``encfile --help`` lists: the mode flags and every option of those forms."""
    out = [spec.Opt("-e", "--encrypt", help="Encrypt FILE (as 'encfile encrypt')."),
           spec.Opt("-d", "--decrypt", help="Decrypt FILE (as 'encfile decrypt')."),
           spec.Opt("-r", "--rotate", help="A new data key for FILE (as 'encfile rotate')."),
           spec.Opt("--set", metavar="'PATH VALUE'", help="Set one value of FILE (as "
                    "'encfile set FILE PATH VALUE')."),
           spec.Opt("--disable-version-check", help="Accepted for sops (encfile never "
                    "checks for updates)."),
           spec.Opt("--check-for-updates", help="Accepted for sops: encfile does not check.")]
    seen = {name for o in out for name in o.names}
    for cmd in (spec.COMMANDS["encrypt"], spec.COMMANDS["decrypt"], spec.COMMANDS["rotate"],
                spec.COMMANDS["edit"]):
        for opt in cmd.options:
            if not opt.hidden and not seen.intersection(opt.names):
                out.append(opt)
                seen.update(opt.names)
    return out


def _completer(choices: tuple[str, ...]) -> Any:
    def complete(incomplete: str) -> list[str]:
        return [c for c in choices if c.startswith(incomplete)]

    return complete


def _callback(options: list[spec.Opt], args: tuple[spec.Arg, ...],
              rest: spec.Arg | None) -> Any:
    """A function whose signature declares ``options`` and ``args`` to typer. It never
    runs: commands are parsed and run by parse.py."""
    import typer

    params: list[inspect.Parameter] = []
    hints: dict[str, Any] = {}
    for opt in options:
        hint: Any
        extra: dict[str, Any] = {"help": opt.help, "hidden": opt.hidden}
        if opt.choices:
            extra["autocompletion"] = _completer(opt.choices)
        if opt.flag:
            default, hint = typer.Option(False, *opt.names, **extra), bool
        elif opt.multiple:
            default, hint = typer.Option([], *opt.names, metavar=opt.metavar, **extra), \
                list[str]
        else:
            default, hint = typer.Option(None, *opt.names, metavar=opt.metavar, **extra), \
                str | None
        params.append(inspect.Parameter(opt.dest, inspect.Parameter.KEYWORD_ONLY,
                                        default=default))
        hints[opt.dest] = hint
    for arg in (*args, *([rest] if rest is not None else [])):
        many = arg.nargs == "*" or arg is rest
        required = arg.nargs == 1 and arg is not rest
        default = typer.Argument(... if required else None, metavar=arg.metavar,
                                 help=arg.help, show_default=False)
        params.append(inspect.Parameter(arg.dest, inspect.Parameter.KEYWORD_ONLY,
                                        default=default))
        hints[arg.dest] = list[str] if many else (str if required else str | None)

    def callback(**kwargs: Any) -> None:
        """Nothing: a group's runs before its command shows help; commands never run here."""

    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__annotations__ = {**hints, "return": None}
    return callback


def _epilog(cmd: spec.Command) -> str:
    parts = [f"Example: {cmd.example}"] if cmd.example else []
    if cmd.exits:
        parts.append(f"Exit codes: {cmd.exits}")
    return "\n\n".join(parts)


def _add(parent: Any, cmd: spec.Command) -> None:
    import typer

    settings: dict[str, Any] = {"help_option_names": ["-h", "--help"]}
    text = f"{cmd.summary}\n\n{cmd.help}" if cmd.help else cmd.summary
    if cmd.subcommands:
        group = typer.Typer(name=cmd.name, help=text, epilog=_epilog(cmd), no_args_is_help=True,
                            rich_markup_mode=None, context_settings=settings,
                            add_completion=False)
        group.callback()(_callback(list(cmd.options), (), None))
        for sub in cmd.subcommands.values():
            _add(group, sub)
        parent.add_typer(group, name=cmd.name, help=text)
        return
    if cmd.rest is not None:
        settings = {**settings, "allow_interspersed_args": False}
    parent.command(cmd.name, help=text, short_help=cmd.summary, epilog=_epilog(cmd),
                   context_settings=settings)(_callback(list(cmd.options), cmd.args, cmd.rest))


def build() -> Any:
    """The click command for the whole CLI (typer's, built from the spec)."""
    import typer
    import typer.main

    app = typer.Typer(name=PROG, help=TOP_HELP, epilog="\b\n" + exits.help_text(),
                      add_completion=True, no_args_is_help=True, rich_markup_mode=None,
                      pretty_exceptions_enable=False,
                      context_settings={"help_option_names": ["-h", "--help"]})
    top = [*_legacy_options(),
           spec.Opt("--version", help="Print the version (as 'sops X.Y.Z' when run as sops)."),
           ]
    app.callback(invoke_without_command=True)(_callback(top, (), None))
    for cmd in spec.COMMANDS.values():
        _add(app, cmd)
    command = typer.main.get_command(app)
    _plain_arguments(command)
    return command


def _plain_arguments(command: Any) -> None:
    """Arguments show their metavar (FILE), not also typer's ``<list[str]>``."""
    for param in getattr(command, "params", ()):
        if param.param_type_name == "argument":
            param.display_type_rich = lambda ctx: None
    for sub in getattr(command, "commands", {}).values():
        _plain_arguments(sub)


def show_completion(shell: str) -> int:
    """Print the completion script for ``shell``: the one ``--install-completion`` installs
    (typer's ``--show-completion`` only knows the shell it runs in)."""
    from typer._completion_shared import get_completion_script

    from .terminal import write_stdout

    write_stdout(get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR,
                                       shell=shell).encode())
    return 0


def show_help(path: list[str]) -> int:
    """Print the help of ``encfile PATH…`` (typer's rendering)."""
    command = build()
    result = command.main(args=[*path, "--help"], prog_name=PROG, standalone_mode=False)
    return int(result or 0)


def complete(normalize: Any) -> int:
    """Answer the shell's completion request (``_ENCFILE_COMPLETE`` is set), after turning
    sops's forms into subcommands in the words typed so far (``encfile -d <TAB>`` completes
    like ``encfile decrypt <TAB>``)."""
    import shlex

    words_var = os.environ.get("COMP_WORDS")
    if words_var is not None:  # bash: the words, and the index of the one being completed
        words = shlex.split(words_var) if words_var.strip() else [PROG]
        cword = int(os.environ.get("COMP_CWORD", len(words)))
        before, current = words[1:cword], (words[cword] if cword < len(words) else "")
        before = _normalized(normalize, before)
        os.environ["COMP_WORDS"] = " ".join([PROG, *map(shlex.quote, before), current])
        os.environ["COMP_CWORD"] = str(len(before) + 1)
    typed = os.environ.get("_TYPER_COMPLETE_ARGS")
    if typed is not None:  # zsh and fish: the command line up to the cursor
        words = shlex.split(typed)[1:]
        current = "" if typed.endswith(" ") or not words else words.pop()
        line = " ".join([PROG, *map(shlex.quote, _normalized(normalize, words))])
        os.environ["_TYPER_COMPLETE_ARGS"] = f"{line} {current}" if current else f"{line} "
    result = build().main(args=[], prog_name=PROG, complete_var=COMPLETE_VAR,
                          standalone_mode=False)
    return int(result or 0)


def _normalized(normalize: Any, words: list[str]) -> list[str]:
    try:
        return list(normalize(words))
    except Exception:  # -e with -d while typing: complete what was typed
        return words

