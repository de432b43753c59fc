"""The command-line parser: the tables of ``spec.py`` applied to ``argv``, without typer.

Options may come before or after positional arguments; ``--`` ends the options;
``--name=value``, ``--name value``, ``-o value``, ``-ovalue`` and clusters of short
flags (``-iv``) work. A mistake is a :class:`~encfile.errors.UsageError` with a hint
pointing at the command's ``--help``; ``-h``/``--help`` raises :class:`HelpWanted`.
"""

from __future__ import annotations

from .. import errors
from ..errors import UsageError
from .spec import MODES, Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


class HelpWanted(Exception):
    """``--help`` was given: show the help of ``path`` (``["git", "setup"]``; [] for the
    top level)."""

    def __init__(self, path: list[str]) -> None:
        super().__init__(" ".join(path))
        self.path = path


class Args(dict):  # type: ignore[type-arg]
    """Parsed options and arguments by ``dest``; a missing name reads as None."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def normalize(argv: Sequence[str], looks_like_file: Any) -> list[str]:
    """sops's old forms as subcommands: the mode flags ``-e``/``-d``/``-r`` wherever they
    stand (before any ``--``), ``--set 'PATH VALUE' FILE`` as ``set FILE PATH VALUE``,
    and ``encfile [OPTIONS] FILE`` (sops's default mode) as ``edit [OPTIONS] FILE``."""
    from .spec import COMMANDS, sops_global_names

    args = list(argv)
    if args[:1] and args[0] in COMMANDS:
        return args
    end = args.index("--") if "--" in args else len(args)
    modes = [i for i, a in enumerate(args[:end]) if a in MODES]
    sets = [i for i, a in enumerate(args[:end]) if a == "--set" or a.startswith("--set=")]
    if sets:
        i = sets[0]
        value = args[i].partition("=")[2] if "=" in args[i] else \
            (args[i + 1] if i + 1 < len(args) else "")
        taken = {i} if "=" in args[i] else {i, i + 1}
        others = {MODES[args[m]] for m in modes} - {"edit"}
        if others:
            raise errors.OptionConflict(f"--set and {args[modes[0]]} cannot be used together")
        rest = [a for j, a in enumerate(args) if j not in taken]
        return ["set", *rest, *split_set(value)]
    if len({MODES[args[i]] for i in modes}) > 1:
        first, second = (args[i] for i in modes[:2])
        raise errors.OptionConflict(f"{first} and {second} cannot be used together")
    if modes:
        return [MODES[args[modes[0]]], *(a for i, a in enumerate(args) if i not in modes)]
    if args and (looks_like_file(args[0]) or args[0].partition("=")[0] in sops_global_names()):
        return ["edit", *args]
    return args


def split_set(value: str) -> list[str]:
    """``--set``'s one argument, ``'["a"][0] {"b": 1}'``, as set's PATH and VALUE: the path
    is the bracketed components from the start, the value the rest (JSON)."""
    i, depth, quote = 0, 0, ""
    while i < len(value):
        ch = value[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'" and depth:
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0 and value[i + 1:i + 2] != "[":
                return [value[:i + 1], value[i + 1:].strip()]
        i += 1
    raise errors.SetFormatError(f"--set {value!r} is not a path and a value, as in "
                                "'[\"key\"] \"value\"'")


def _usage(cmd: Command, path: list[str]) -> str:
    return f"see 'encfile {' '.join(path)} --help'"


def parse(cmd: Command, argv: Sequence[str], path: list[str]) -> Args:
    """``argv`` (after the command's name) for ``cmd``; ``path`` names it in messages."""
    table = {name: opt for opt in cmd.options for name in opt.names}
    out = Args({o.dest: ([] if o.multiple else (False if o.flag else None))
                for o in cmd.options})
    positional: list[str] = []
    rest: list[str] | None = None
    args = list(argv)
    hint = _usage(cmd, path)
    if cmd.literal:  # file names from git: only exact option words count
        if args in (["-h"], ["--help"]):
            raise HelpWanted(path)
        end = args.index("--") if "--" in args else len(args)
        for arg in args[:end]:
            opt = table.get(arg)
            if opt is not None and opt.flag:
                out[opt.dest] = True
            else:
                positional.append(arg)
        positional += args[end + 1:]
        _bind(cmd, out, positional, None, path)
        return out

    def set_value(opt: Any, name: str, value: str) -> None:
        if opt.multiple:
            out[opt.dest].append(value)
        else:
            out[opt.dest] = value

    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            if cmd.rest is not None:
                rest = args[i:]
                out["after_dashes"] = True  # an argv, not sops's one shell string
            else:
                positional += args[i:]
            break
        if arg in ("-h", "--help"):
            raise HelpWanted(path)
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            opt = table.get(name)
            if opt is None:
                raise UsageError(f"no such option: {name}", hints=[hint])
            if opt.flag:
                if eq:
                    raise UsageError(f"option {name} takes no value", hints=[hint])
                out[opt.dest] = True
                continue
            if not eq:
                if i >= len(args):
                    raise UsageError(f"option {name} needs a value ({opt.metavar})",
                                     hints=[hint])
                value = args[i]
                i += 1
            set_value(opt, name, value)
            continue
        if arg.startswith("-") and arg != "-":
            j = 1
            while j < len(arg):  # a cluster: -iv, -ofile, -vo file
                name = "-" + arg[j]
                opt = table.get(name)
                if opt is None:
                    raise UsageError(f"no such option: {name}"
                                     + (f" (in {arg})" if len(arg) > 2 else ""), hints=[hint])
                j += 1
                if opt.flag:
                    out[opt.dest] = True
                    continue
                if j < len(arg):
                    value = arg[j:]
                elif i < len(args):
                    value = args[i]
                    i += 1
                else:
                    raise UsageError(f"option {name} needs a value ({opt.metavar})",
                                     hints=[hint])
                set_value(opt, name, value)
                break
            continue
        if cmd.rest is not None and len(positional) >= len(cmd.args):
            rest = args[i - 1:]  # the command to run, with its own options
            break
        positional.append(arg)
    _bind(cmd, out, positional, rest, path)
    return out


def _bind(cmd: Command, out: Args, positional: list[str], rest: list[str] | None,
          path: list[str]) -> None:
    """Give each declared argument its values; too few or too many is a usage error."""
    hint = _usage(cmd, path)
    queue = list(positional)
    for arg in cmd.args:
        if arg.nargs == "*":
            out[arg.dest], queue = queue, []
        elif arg.nargs == "?":
            out[arg.dest] = queue.pop(0) if queue else None
        elif queue:
            out[arg.dest] = queue.pop(0)
        else:
            raise UsageError(f"missing {arg.metavar}",
                             hints=[f"usage: encfile {' '.join(path)} {usage_line(cmd)}",
                                    hint])
    if queue:
        raise UsageError(f"unexpected argument {queue[0]!r}", hints=[hint])
    if cmd.rest is not None:
        out[cmd.rest.dest] = rest or []


def usage_line(cmd: Command) -> str:
    """``[OPTIONS] FILE PATH [VALUE]``-style usage for messages."""
    words = ["[OPTIONS]"]
    for arg in cmd.args:
        shown = arg.metavar.strip("[]")
        words.append(f"[{shown}]..." if arg.nargs == "*" else
                     f"[{shown}]" if arg.nargs == "?" else shown)
    if cmd.rest is not None:
        words.append(f"[--] {cmd.rest.metavar} [ARGS]...")
    return " ".join(words)
