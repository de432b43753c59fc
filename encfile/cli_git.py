"""``encfile git …``: the terminal side of the git integration (part of the CLI layer).

git runs ``textconv``, ``merge`` and ``pre-commit`` once per file or commit, so these
commands have their own small parser and never import typer.
"""

from __future__ import annotations

import json
import os
import shlex
import sys

from . import errors
from .cli import _info, _keyring, _Out, _run_editor, _say, _write_stdout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

GIT_HELP = """\
Usage: encfile git COMMAND [ARGS]

  Use encrypted files in git as if they were plain text: diffs show values, merges
  go key by key, and a pre-commit hook keeps plaintext secrets out of commits.

Commands:
  setup [--global] [--no-hook]   configure this repository (or your user) for encfile:
                                 .gitattributes, diff and merge drivers, pre-commit hook
  status [--json]                show what is configured, and what is stale
  textconv FILE                  print FILE decrypted (git's diff driver)
  merge BASE OURS THEIRS PATH    merge three versions key by key (git's merge driver)
  resolve FILE [--ours|--theirs] settle a conflicted merge of FILE (in $EDITOR, or by side)
  pre-commit [FILE...]           refuse staged files that must be encrypted but are not,
                                 or are broken (the hook runs this)

  'encfile git COMMAND --help' shows a command's own help.

Options (every command):
  -v, --verbose                  say what is being done
  -q, --quiet                    print no notes or warnings
  -h, --help                     show this help

Example:
  encfile git setup && git log -p secrets.enc.yaml

Exit codes: 0 success (textconv always); 1 a conflict, a refused commit, a usage error or
another error; 2 unreadable input; 128 no identity for a merge.
"""

_COMMON = """\
  -v, --verbose    say what is being done
  -q, --quiet      print no notes or warnings
  -h, --help       show this help
"""

HELP = {
    "setup": """\
Usage: encfile git setup [--global] [--no-hook] [-v | -q]

  Set git up for encrypted files, in this repository: a '.gitattributes' line for each
  pattern of secrets files (from the creation rules' path_regex, else *.enc.* and
  *.enc), the diff and merge drivers in .git/config, and a pre-commit hook. Running it
  again changes only what is missing or out of date.

  git runs the encfile that ran setup by its absolute path, so encfile need not be on
  PATH; if that one is gone later, git runs the encfile on PATH instead. Run setup
  again after moving encfile (for example to a new virtualenv).

Options:
  --global         set the drivers in your user git config and add *.enc.* and *.enc
                   to your user attributes file, for every repository (no hook)
  --no-hook        do not install the pre-commit hook
  -v, --verbose    also say which encfile git runs
  -q, --quiet      print nothing, unless there is an error
  -h, --help       show this help

Example:
  encfile git setup && git log -p secrets.enc.yaml

Exit codes: 0 success; 1 a usage error; 2 not in a git repository, or git failed.
""",
    "status": """\
Usage: encfile git status [--json] [-v | -q]

  Show how git is set up for encfile: the drivers (local and global) and the encfile
  they run, the .gitattributes patterns and the pre-commit hook. A warning names what
  is stale, such as an encfile that is not there any more, and how to fix it.

Options:
  --json           print it as JSON, for scripts ("problems" lists what is stale)
  -v, --verbose    also print the git config values
  -q, --quiet      print no warnings
  -h, --help       show this help

Example:
  encfile git status

Exit codes: 0 (also when something is stale: see the warnings or "problems").
""",
    "textconv": f"""\
Usage: encfile git textconv FILE

  Print FILE decrypted: git's diff driver (diff.encfile.textconv), which git diff, git
  log -p and git show call for each version of an encrypted file. A version that
  cannot be decrypted is printed as it is, followed by one line that says why.

Options:
{_COMMON}
  Every argument is a file name, except -h or --help alone.

Example:
  encfile git textconv secrets.enc.yaml

Exit codes: always 0, so that git never fails on a file you cannot read.
""",
    "merge": f"""\
Usage: encfile git merge BASE OURS THEIRS PATH

  Merge three versions of an encrypted file key by key: git's merge driver
  (merge.encfile.driver, called as %O %A %B %P). The merged file, encrypted again,
  replaces OURS. When both sides changed a key differently, OURS is left as it is and
  git records a conflict; 'encfile git resolve PATH' settles it.

Options:
{_COMMON}
  Every argument is a file name, except -h or --help alone.

Example:
  encfile git merge base.enc.yaml ours.enc.yaml theirs.enc.yaml secrets.enc.yaml

Exit codes: 0 merged; 1 a conflict or an error (git then reports a conflict);
128 no identity for one of the versions.
""",
    "resolve": f"""\
Usage: encfile git resolve FILE [--ours | --theirs] [-v | -q]

  Settle a merge of FILE that stopped because both sides changed the same keys.
  With --ours or --theirs, every conflicting key takes that side's value; without,
  $EDITOR shows both values of each conflicting key (in a short JSON file on tmpfs)
  and you choose. Every change that only one side made is merged as usual. The
  result is encrypted and staged; commit to finish the merge.

Options:
  --ours           take our value for each conflicting key
  --theirs         take their value for each conflicting key
{_COMMON}
Example:
  encfile git resolve secrets.enc.yaml --theirs && git commit

Exit codes: 0 resolved and staged; 1 a usage error, or a conflict that is still there;
2 no conflict to resolve, unreadable input, or no valid choice in the editor; 3 no
tmpfs for the editor's file (use --ours or --theirs); 128 no identity.
""",
    "pre-commit": f"""\
Usage: encfile git pre-commit [FILE...] [-v | -q]

  Check the staged version of every file that must be encrypted (.gitattributes gives
  it diff=encfile, or a creation rule's path_regex matches it), or of the FILEs named,
  and refuse one that is not encrypted, is malformed, or does not verify. The hook
  that 'encfile git setup' installs runs this.

Options:
{_COMMON}
Example:
  encfile git pre-commit secrets.enc.yaml

Exit codes: 0 every file passed; 1 a file was refused (so is the commit); 2 not in a
git repository.
""",
}


def main(args: list[str]) -> NoReturn:
    """Run ``encfile git ARGS``."""
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(GIT_HELP)
        sys.exit(0)
    if args[0] == "help":
        if len(args) > 1 and args[1] in HELP:
            sys.stdout.write(HELP[args[1]])
        elif len(args) > 1:
            raise errors.EncfileError(f"no such git command: {args[1]!r}",
                                      hints=["see 'encfile git --help'"])
        else:
            sys.stdout.write(GIT_HELP)
        sys.exit(0)
    command, rest = args[0], args[1:]
    known = {"setup": {"--global", "--no-hook"}, "status": {"--json"}, "textconv": set(),
             "merge": set(), "resolve": {"--ours", "--theirs"}, "pre-commit": set()}
    if command not in known:
        raise errors.EncfileError(f"no such git command: {command!r}",
                                  hints=["see 'encfile git --help'"])
    # Paths come from git as they are (a file may be called '-x.enc.yaml'): only the
    # command's own options count as options, and '--' ends them. git's drivers get
    # file names only, so for them a lone -h/--help is the one way to ask for help.
    allowed = known[command] | {"-v", "--verbose", "-q", "--quiet", "-h", "--help"}
    end = rest.index("--") if "--" in rest else len(rest)
    flags = {a for a in rest[:end] if a in allowed}
    positional = [a for a in rest[:end] if a not in allowed] + rest[end + 1:]
    driver = command in ("textconv", "merge")
    if (rest in (["-h"], ["--help"])) if driver else flags & {"-h", "--help"}:
        sys.stdout.write(HELP[command])
        sys.exit(0)
    if flags & {"-v", "--verbose"}:
        _Out.verbose = True
    if flags & {"-q", "--quiet"}:
        _Out.quiet = True
    if not driver:
        unknown = [a for a in positional if a.startswith("-") and a != "-"]
        if unknown and end == len(rest):
            raise errors.EncfileError(f"no such option for 'git {command}': {unknown[0]}",
                                      hints=[f"see 'encfile git {command} --help'"])
    handler = {"setup": _setup, "status": _status, "textconv": _textconv, "merge": _merge,
               "resolve": _resolve, "pre-commit": _pre_commit}[command]
    sys.exit(handler(positional, flags))


def _tell(line: str) -> None:
    """A line about what was done: shown unless -q."""
    if not _Out.quiet:
        sys.stderr.write(f"encfile: {line}\n")


def _note(kind: str, message: str) -> None:
    """A note, warning or hint: shown unless -q (errors are raised, never quieted)."""
    if not _Out.quiet:
        _say(kind, message)


def _need(positional: list[str], count: int, command: str) -> None:
    if len(positional) != count:
        usage = HELP[command].splitlines()[0].removeprefix("Usage: ")
        raise errors.EncfileError(f"usage: {usage}",
                                  hints=[f"see 'encfile git {command} --help'"])


# -- setup and status ------------------------------------------------------------------------

def _setup(positional: list[str], flags: set[str], patterns: list[str] | None = None) -> int:
    """``patterns``: gitattributes patterns to use instead of those made from the rules.

    Honours ``_Out.quiet`` and ``_Out.verbose`` (set by ``-q``/``-v`` here or by
    ``encfile init``)."""
    from . import gitsetup

    _need(positional, 0, "setup")
    program = gitsetup.self_program()
    changed: list[str] = []
    if "--global" in flags:
        changed += gitsetup.set_drivers("--global", None, program)
        attributes = gitsetup.global_attributes_file(None)
        changed += gitsetup.add_attributes(attributes, gitsetup.DEFAULT_PATTERNS)
    else:
        root = gitsetup.repo_root()
        if patterns is None:
            patterns, notes = gitsetup.patterns_for(root)
            for note in notes:
                _note("note", note)
        changed += gitsetup.add_attributes(os.path.join(root, ".gitattributes"), patterns)
        changed += gitsetup.set_drivers("--local", root, program)
        if "--no-hook" not in flags:
            changed += gitsetup.install_hook(root, program)
    for line in changed:
        _tell(line)
    if not changed:
        _tell("already set up; nothing changed")
    _info(f"git runs {shlex.join(program)} (the encfile that ran setup; if it is gone, the "
          "encfile on PATH)")
    verbose = gitsetup.git(["config", "--type=bool", "--get", "commit.verbose"], None,
                           check=False).stdout.strip()
    if verbose == b"true":
        _note("note", "commit.verbose is on: 'git commit' will show decrypted values in the "
              "message editor, and git keeps that text in .git/COMMIT_EDITMSG")
        _note("hint", "git config commit.verbose false   # in this repository")
    return 0


def _program_line(entry: Any) -> str:
    if entry["program"] is None:
        return "set, to a command encfile did not write"
    shown = shlex.join(entry["program"])
    return {"ok": shown, "gone": f"{shown} (gone)", "path": f"{shown} (from PATH)",
            "outdated": f"{shown} (no fallback: written by an older encfile)"}[entry["state"]]


def _status(positional: list[str], flags: set[str]) -> int:
    from . import gitsetup

    _need(positional, 0, "status")
    found = gitsetup.status()
    if "--json" in flags:
        _write_stdout((json.dumps(found, indent=2) + "\n").encode())
        return 0
    programs: Any = found["programs"]
    lines = [f"repository: {found['repository'] or '(not in a git repository)'}"]
    for scope in ("local", "global"):
        settings: Any = found.get(scope)
        if settings is None:
            continue
        entry = programs.get(scope)
        lines.append(f"{scope} drivers: "
                     + (_program_line(entry) if entry is not None else "(not set)"))
        if _Out.verbose:
            for key, value in settings.items():
                lines.append(f"  {key}: {value if value is not None else '(not set)'}")
    if found["repository"] is not None:
        patterns: Any = found["patterns"]
        lines.append(f".gitattributes patterns: {', '.join(patterns) or '(none)'}")
        lines.append("pre-commit hook: " + (f"installed, runs {_program_line(programs['hook'])}"
                                            if found["hook"] else "not installed"))
    _write_stdout(("\n".join(lines) + "\n").encode())
    problems: Any = found["problems"]
    for problem in problems:
        _note("warning", problem)
    scopes = {"--global" if p.startswith("the global") else "" for p in problems}
    for scope in sorted(scopes):
        _note("hint", f"run 'encfile git setup{' ' + scope if scope else ''}' again, with the "
              "encfile you use now, to record its path")
    return 0


# -- textconv --------------------------------------------------------------------------------

def _textconv(positional: list[str], flags: set[str]) -> int:
    """Decrypt for a diff; a version that cannot be decrypted is shown as it is, plus why."""
    from . import _api, formats
    from .document import open_text

    _need(positional, 1, "textconv")
    path = positional[0]
    text = ""
    try:
        text = _api.read_file(path, binary=True)
        fmt = formats.detect(path)
        plain = open_text(text, fmt=fmt, keyring=_keyring(), label=f"'{path}'").text()
    except errors.NotEncryptedError:
        plain = text
    except errors.EncfileError as err:
        ending = "" if not text or text.endswith("\n") else "\n"
        plain = f"{text}{ending}encfile: this version cannot be decrypted: {err.message}\n"
    _write_stdout(plain.encode("utf-8", "surrogateescape"))
    return 0


# -- merge and resolve -----------------------------------------------------------------------

def _open_side(text: str, fmt: str, label: str, keyring: Any) -> Any:
    from .document import open_text

    return open_text(text, fmt=fmt, keyring=keyring, label=label)


def _is_encrypted(text: str, fmt: str) -> bool:
    from . import formats

    try:
        return formats.get(fmt).parse(text).metadata is not None
    except errors.EncfileError:
        return False


def _merge(positional: list[str], flags: set[str]) -> int:
    from . import _api, formats, fsutil, gitmerge
    from .gitsetup import git

    _need(positional, 4, "merge")
    base_file, ours_file, theirs_file, path = positional
    fmt = formats.detect(path)
    base, ours, theirs = (_api.read_file(f, binary=True) for f in positional[:3])
    if not (_is_encrypted(ours, fmt) and _is_encrypted(theirs, fmt)):
        # Not (both) encrypted: plain text, so git's own line merge is right and safe.
        _info(f"'{path}' is not encrypted on both sides; merging it as text")
        return git(["merge-file", "-L", "ours", "-L", "base", "-L", "theirs", ours_file,
                    base_file, theirs_file], check=False).returncode and 1
    keyring = _keyring()
    opened_base = (_open_side(base, fmt, f"'{path}' (base)", keyring)
                   if _is_encrypted(base, fmt) else None)
    merged = gitmerge.merge_opened(opened_base, _open_side(ours, fmt, f"'{path}' (ours)", keyring),
                                   _open_side(theirs, fmt, f"'{path}' (theirs)", keyring),
                                   path=path, keyring=keyring)
    fsutil.atomic_write(ours_file, merged.text.encode("utf-8", "surrogateescape"))
    for note in merged.notes:
        _note("note", f"'{path}': {note}")
    _info(f"merged '{path}' key by key")
    return 0


def _stage_text(rel: str, stage: int, root: str) -> str | None:
    from .gitsetup import git

    result = git(["show", f":{stage}:{rel}"], root, check=False)
    return result.stdout.decode("utf-8", "surrogateescape") if result.returncode == 0 else None


def _resolve(positional: list[str], flags: set[str]) -> int:
    from . import formats, fsutil, gitmerge, gitsetup

    _need(positional, 1, "resolve")
    if {"--ours", "--theirs"} <= flags:
        raise errors.EncfileError("--ours and --theirs cannot be used together")
    path = positional[0]
    root = gitsetup.repo_root()
    rel = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    ours, theirs = _stage_text(rel, 2, root), _stage_text(rel, 3, root)
    if ours is None or theirs is None:
        raise errors.InputError(f"'{path}' has no merge conflict to resolve",
                                hints=["git status lists the conflicted files"])
    base = _stage_text(rel, 1, root)
    fmt = formats.detect(path)
    keyring = _keyring()
    opened_base = _open_side(base, fmt, f"'{path}' (base)", keyring) \
        if base is not None and _is_encrypted(base, fmt) else None
    sides = (opened_base, _open_side(ours, fmt, f"'{path}' (ours)", keyring),
             _open_side(theirs, fmt, f"'{path}' (theirs)", keyring))
    choose: dict[str, str] = {}
    for _ in range(2):
        try:
            merged = gitmerge.merge_opened(sides[0], sides[1], sides[2], path=path,
                                           keyring=keyring, choose=choose)
            break
        except errors.MergeConflict as err:
            if not err.paths or choose:
                raise
            if flags & {"--ours", "--theirs"}:
                side = "ours" if "--ours" in flags else "theirs"
                choose = dict.fromkeys(err.paths, side)
            else:
                choose = _choose_in_editor(path, err.candidates)
    else:  # pragma: no cover - the second round either merges or raises
        raise errors.EncfileError(f"'{path}': could not resolve")
    fsutil.atomic_write(path, merged.text.encode("utf-8", "surrogateescape"))
    gitsetup.git(["add", "--", rel], root)
    for note in merged.notes:
        _note("note", f"'{path}': {note}")
    sys.stderr.write(f"encfile: resolved '{path}' (encrypted) and staged it; commit to "
                     "finish the merge\n")
    return 0


_CHOOSE_HELP = ("For each key, replace the {ours, theirs} pair by \"ours\" or \"theirs\", "
                "then save and quit.")


def _choose_in_editor(path: str, candidates: dict[str, tuple[Any, Any]]) -> dict[str, str]:
    from . import fsutil

    shown = {"//": _CHOOSE_HELP, **{k: {"ours": o, "theirs": t}
                                    for k, (o, t) in sorted(candidates.items())}}
    if not fsutil.memory_folders():
        raise errors.OutputError(
            "no memory file system (tmpfs) to show the conflicting values in",
            hints=[f"settle it without an editor: encfile git resolve {shlex.quote(path)} "
                   "--ours (or --theirs)"])
    with fsutil.private_tempdir() as folder:
        name = os.path.join(folder, "conflicts.json")
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(shown, handle, indent=2, ensure_ascii=False, default=str)
            handle.write("\n")
        _run_editor(name)
        with open(name, encoding="utf-8") as handle:
            try:
                answer = json.load(handle)
            except ValueError:
                raise errors.InputError("the edited choices are not valid JSON; nothing was "
                                        "changed") from None
    choose = {}
    for key in candidates:
        pick = answer.get(key) if isinstance(answer, dict) else None
        if pick not in ("ours", "theirs"):
            raise errors.InputError(f"no choice for '{key}' (write \"ours\" or \"theirs\"); "
                                    "nothing was changed")
        choose[key] = pick
    return choose


# -- pre-commit ------------------------------------------------------------------------------

def _pre_commit(positional: list[str], flags: set[str]) -> int:
    from . import gitsetup, precommit

    root = gitsetup.repo_root()
    paths = [os.path.relpath(os.path.abspath(p), root).replace(os.sep, "/")
             for p in positional] or None
    found = precommit.problems(root, _keyring(), paths)
    for problem in found:
        _say("error", f"'{problem.path}' {problem.problem}")
        _say("hint", problem.fix)
    if found:
        _say("hint", "the commit was refused; fix the files above and commit again")
        return 1
    _info("pre-commit: every staged secrets file is encrypted and intact")
    return 0
