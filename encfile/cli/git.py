"""``encfile git …``: the terminal side of the git integration.

git runs ``textconv``, ``merge`` and ``pre-commit`` once per file or commit; like
every command they start without typer.
"""

from __future__ import annotations

import os

from .. import errors
from . import common
from .terminal import Out, info, note, say, tell, write_stdout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .parse import Args


# -- setup and status ------------------------------------------------------------------------

def setup(a: Args) -> int:
    if a.scan and (a.no_hook or a.global_):
        raise errors.OptionConflict(f"--scan and {'--no-hook' if a.no_hook else '--global'} "
                                    "cannot be used together (--scan is a step of the hook)")
    return run_setup(global_=a.global_, no_hook=a.no_hook, scan=bool(a.scan))


def run_setup(*, global_: bool, no_hook: bool, patterns: list[str] | None = None,
              scan: bool = False) -> int:
    """``patterns``: gitattributes patterns to use instead of those made from the rules
    (``encfile init`` passes its own). ``scan``: the hook also runs ``encfile scan
    --staged``."""
    from .. import gitsetup

    program = gitsetup.self_program()
    changed: list[str] = []
    if global_:
        changed += gitsetup.set_drivers("--global", None, program)
        attributes = gitsetup.global_attributes_file(None)
        changed += gitsetup.add_attributes(attributes, gitsetup.DEFAULT_PATTERNS)
    else:
        root = gitsetup.repo_root()
        if patterns is None:
            patterns, notes = gitsetup.patterns_for(root)
            for line in notes:
                note("note", line)
        changed += gitsetup.add_attributes(os.path.join(root, ".gitattributes"), patterns)
        changed += gitsetup.set_drivers("--local", root, program)
        if not no_hook:
            changed += gitsetup.install_hook(root, program, scan)
    for line in changed:
        tell(line)
    if not changed:
        tell("already set up; nothing changed")
    import shlex

    info(f"git runs {shlex.join(program)} (the encfile that ran setup; if it is gone, the "
          "encfile on PATH)")
    verbose = gitsetup.git(["config", "--type=bool", "--get", "commit.verbose"], None,
                           check=False).stdout.strip()
    if verbose == b"true":
        note("note", "commit.verbose is on: 'git commit' will show decrypted values in the "
              "message editor, and git keeps that text in .git/COMMIT_EDITMSG")
        note("hint", "git config commit.verbose false   # in this repository")
    return 0


def _program_line(entry: Any) -> str:
    import shlex

    if entry["program"] is None:
        return "set, to a command encfile did not write"
    shown = shlex.join(entry["program"])
    return {"ok": shown, "gone": f"{shown} (gone)", "path": f"{shown} (from PATH)",
            "outdated": f"{shown} (no fallback: written by an older encfile)"}[entry["state"]]


def status(a: Args) -> int:
    from .. import gitsetup

    found = gitsetup.status()
    if a.as_json:
        import json

        write_stdout((json.dumps(found, indent=2) + "\n").encode())
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
        if Out.verbose:
            for key, value in settings.items():
                lines.append(f"  {key}: {value if value is not None else '(not set)'}")
    if found["repository"] is not None:
        patterns: Any = found["patterns"]
        lines.append(f".gitattributes patterns: {', '.join(patterns) or '(none)'}")
        lines.append("pre-commit hook: " + (f"installed, runs {_program_line(programs['hook'])}"
                                            + (", and scans staged files for secrets"
                                               if found.get("hook_scan") else "")
                                            if found["hook"] else "not installed"))
    write_stdout(("\n".join(lines) + "\n").encode())
    problems: Any = found["problems"]
    for problem in problems:
        note("warning", problem)
    scopes = {"--global" if p.startswith("the global") else "" for p in problems}
    for scope in sorted(scopes):
        note("hint", f"run 'encfile git setup{' ' + scope if scope else ''}' again, with the "
              "encfile you use now, to record its path")
    return 0


# -- textconv --------------------------------------------------------------------------------

def textconv(a: Args) -> int:
    """Decrypt for a diff; a version that cannot be decrypted is shown as it is, plus why."""
    from .. import _api, formats
    from ..opening import open_text

    path = a.file
    text = ""
    try:
        text = _api.read_file(path, binary=True)
        fmt = formats.detect(path)
        plain = open_text(text, fmt=fmt, keyring=common.keyring(), label=f"'{path}'").text()
    except errors.NotEncryptedError:
        plain = text
    except errors.EncfileError as err:
        ending = "" if not text or text.endswith("\n") else "\n"
        plain = f"{text}{ending}encfile: this version cannot be decrypted: {err.message}\n"
    write_stdout(plain.encode("utf-8", "surrogateescape"))
    return 0


# -- merge and resolve -----------------------------------------------------------------------

def _open_side(text: str, fmt: str, label: str, keyring: Any) -> Any:
    from ..opening import open_text

    return open_text(text, fmt=fmt, keyring=keyring, label=label)


def merge(a: Args) -> int:
    from .. import _api, formats, fsutil, gitmerge
    from ..files import has_metadata
    from ..gitsetup import git

    base_file, ours_file, theirs_file, path = a.base, a.ours, a.theirs, a.path
    fmt = formats.detect(path)
    base, ours, theirs = (_api.read_file(f, binary=True)
                          for f in (base_file, ours_file, theirs_file))
    if not (has_metadata(ours, fmt) and has_metadata(theirs, fmt)):
        # Not (both) encrypted: plain text, so git's own line merge is right and safe.
        info(f"'{path}' is not encrypted on both sides; merging it as text")
        return git(["merge-file", "-L", "ours", "-L", "base", "-L", "theirs", ours_file,
                    base_file, theirs_file], check=False).returncode and 1
    keyring = common.keyring()
    opened_base = (_open_side(base, fmt, f"'{path}' (base)", keyring)
                   if has_metadata(base, fmt) else None)
    merged = gitmerge.merge_opened(opened_base, _open_side(ours, fmt, f"'{path}' (ours)", keyring),
                                   _open_side(theirs, fmt, f"'{path}' (theirs)", keyring),
                                   path=path, keyring=keyring)
    fsutil.atomic_write(ours_file, merged.text.encode("utf-8", "surrogateescape"))
    for line in merged.notes:
        note("note", f"'{path}': {line}")
    info(f"merged '{path}' key by key")
    return 0


def _stage_text(rel: str, stage: int, root: str) -> str | None:
    from ..gitsetup import git

    result = git(["show", f":{stage}:{rel}"], root, check=False)
    return result.stdout.decode("utf-8", "surrogateescape") if result.returncode == 0 else None


def resolve(a: Args) -> int:
    from .. import formats, fsutil, gitmerge, gitsetup
    from ..files import has_metadata

    if a.ours and a.theirs:
        raise errors.UsageError("--ours and --theirs cannot be used together")
    path = a.file
    root = gitsetup.repo_root()
    rel = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    ours, theirs = _stage_text(rel, 2, root), _stage_text(rel, 3, root)
    if ours is None or theirs is None:
        raise errors.InputError(f"'{path}' has no merge conflict to resolve",
                                hints=["git status lists the conflicted files"])
    base = _stage_text(rel, 1, root)
    fmt = formats.detect(path)
    keyring = common.keyring()
    opened_base = _open_side(base, fmt, f"'{path}' (base)", keyring) \
        if base is not None and has_metadata(base, fmt) else None
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
            if a.ours or a.theirs:
                side = "ours" if a.ours else "theirs"
                choose = dict.fromkeys(err.paths, side)
            else:
                choose = _choose_in_editor(path, err.candidates)
    else:  # pragma: no cover - the second round either merges or raises
        raise errors.EncfileError(f"'{path}': could not resolve")
    fsutil.atomic_write(path, merged.text.encode("utf-8", "surrogateescape"))
    gitsetup.git(["add", "--", rel], root)
    for line in merged.notes:
        note("note", f"'{path}': {line}")
    tell(f"resolved '{path}' (encrypted) and staged it; commit to finish the merge")
    return 0


_CHOOSE_HELP = ("For each key, replace the {ours, theirs} pair by \"ours\" or \"theirs\", "
                "then save and quit.")


def _choose_in_editor(path: str, candidates: dict[str, tuple[Any, Any]]) -> dict[str, str]:
    # not at the top: textconv, which git runs once per version in a diff, needs none of them
    import json
    import shlex

    from .. import fsutil
    from .edit import run_editor

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
        run_editor(name)
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

def pre_commit(a: Args) -> int:
    from .. import gitsetup, precommit

    root = gitsetup.repo_root()
    paths = [os.path.relpath(os.path.abspath(p), root).replace(os.sep, "/")
             for p in a.files] or None
    found = precommit.problems(root, common.keyring(), paths)
    for problem in found:
        say("error", f"'{problem.path}' {problem.problem}")
        say("hint", problem.fix)
    if found:
        say("hint", "the commit was refused; fix the files above and commit again")
        return 1
    info("pre-commit: every staged secrets file is encrypted and intact")
    return 0
