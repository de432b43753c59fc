"""``encfile publish``: each file's plan from the library (``encfile.publish``), shown,
asked about (unless ``-y``), applied; and at the end, when anything failed, exactly what
was written and what was not."""

from __future__ import annotations

import os
import sys

from .. import errors
from . import common
from .terminal import Out, Progress, confirm, info, note, say, tell, write_stdout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..keysources.identities import KeyRing
    from ..publish import Change, Plan
    from .parse import Args


class _Outcome:
    """What became of one file: ``state`` is written, unchanged, declined or failed."""

    def __init__(self, path: str, state: str, where: str = "", detail: str = "",
                 error: errors.EncfileError | None = None) -> None:
        self.path, self.state, self.where, self.detail, self.error = (path, state, where,
                                                                      detail, error)


def _targets(a: Args) -> list[tuple[str, str | None]]:
    """(file, the folder it was found in, or None for a file named on its own)."""
    from .. import files

    if not a.paths:
        raise errors.FileMissingError("no file given", hints=[
            "usage: encfile publish [-y] FILE... (or --recursive DIR)"])
    found: list[tuple[str, str | None]] = []
    for path in a.paths:
        if os.path.isdir(path):
            if not a.recursive:
                raise errors.UsageError(f"'{path}' is a folder",
                                        hints=["add --recursive to publish the files below it"])
            found += [(f, path) for f in files.walk_files([path])]
        elif os.path.exists(path):
            found.append((path, None))
        else:
            raise errors.FileMissingError(f"no such file: '{path}'")
    return found


def change_lines(change: Change) -> str:
    """The keys of a change, one a line (never a value)."""
    lines = [f"    + {k}\n" for k in change.added] + [f"    ~ {k}\n" for k in change.changed]
    lines += [f"    - {k}\n" for k in change.removed]
    if change.other and not (change.added or change.changed or change.removed):
        lines.append(f"    ~ ({change.other})\n")
    if change.note:
        lines.append(f"    ({change.note})\n")
    return "".join(lines)


def _report(plan: Plan) -> str:
    return (f"{plan.source} -> {plan.where}: {plan.change.summary()}\n"
            + ("" if plan.change.unchanged else change_lines(plan.change)))


def publish(a: Args) -> int:
    common.refuse_keyservice(a)
    targets = _targets(a)
    if not (a.yes or a.dry_run) and not sys.stdin.isatty():
        raise errors.EncfileError("publish asks before each file, and there is no terminal "
                                  "to ask on", hints=["pass -y to publish without asking, "
                                                      "or --dry-run to only look"])
    ctx = common.keyring(a)
    outcomes: list[_Outcome] = []
    progress = Progress("publishing", len(targets))
    for index, (path, root) in enumerate(targets):
        progress.step(index)
        outcome = _one(a, ctx, path, root, progress)
        if outcome is not None:
            outcomes.append(outcome)
    progress.close()
    return _summary(outcomes, bool(a.dry_run))


def _one(a: Args, ctx: KeyRing, path: str, root: str | None,
         progress: Progress) -> _Outcome | None:
    """Publish one file (None: a folder's file that is not for publishing)."""
    from ..errors import NotEncryptedError
    from ..publish import NoDestinationError, prepare

    try:
        plan = prepare(path, ctx=ctx, config_path=a.config, root=root,
                       omit_extensions=bool(a.omit_extensions))
    except (NotEncryptedError, NoDestinationError, errors.InputError) as err:
        if root is None:
            return _failed(path, "", err, progress)
        progress.close()  # a folder's other files
        if isinstance(err, NotEncryptedError):
            info(f"skipped '{path}': not encrypted")
        else:  # no rule for it, or not a file encfile can read
            note("note", f"skipped '{path}': {err.message}")
        return None
    except errors.EncfileError as err:
        return _failed(path, "", err, progress)
    progress.close()
    info(f"'{path}' -> {plan.where}: {plan.change.summary()}")
    if a.dry_run:
        write_stdout(_report(plan).encode())
        return _Outcome(path, "planned", plan.where)
    if plan.change.unchanged:
        tell(f"'{path}' is up to date at {plan.where}")
        return _Outcome(path, "unchanged", plan.where)
    if not a.yes:
        sys.stderr.write(_report(plan))
        if not confirm(f"encfile: publish '{path}' to {plan.where}?", needs="-y",
                       what="publish"):
            if root is not None:  # as sops: declining is an error for a file named alone
                return _Outcome(path, "declined", plan.where)
            return _failed(path, plan.where, errors.EncfileError(
                f"'{path}' was not published: declined"), progress)
    try:
        done = plan.apply()
    except errors.EncfileError as err:
        return _failed(path, plan.where, err, progress)
    tell(f"published '{path}' to {plan.where} ({plan.change.summary()}; {done})")
    return _Outcome(path, "written", plan.where, done)


def _failed(path: str, where: str, err: errors.EncfileError, progress: Progress) -> _Outcome:
    progress.close()
    _fail_line(path, err)
    return _Outcome(path, "failed", where, error=err)


def _fail_line(path: str, err: errors.EncfileError) -> None:
    from .remedies import REMEDIES

    message = err.message if f"'{path}'" in err.message else f"'{path}': {err.message}"
    say("error", message)
    for hint in err.hints:
        say("hint", hint)
    if err.remedy in REMEDIES:
        say("hint", REMEDIES[err.remedy])


def _summary(outcomes: list[_Outcome], dry_run: bool) -> int:
    """The last lines; the exit code (the first failure's)."""
    from . import exits

    failed = [o for o in outcomes if o.state == "failed"]
    count = {s: len([o for o in outcomes if o.state == s])
             for s in ("written", "unchanged", "declined")}
    if not failed:
        if not dry_run and not Out.quiet:
            tell(f"{count['written']} file(s) published, {count['unchanged']} up to date"
                 + (f", {count['declined']} declined" if count["declined"] else ""))
        return 0
    # even with -q: which destinations now hold the new version, and which do not
    say("error", f"{len(failed)} of {len(outcomes)} file(s) not published"
        + ("" if dry_run else f"; {count['written']} written"))
    for outcome in outcomes:
        if outcome.state == "written":
            say("hint", f"written: '{outcome.path}' to {outcome.where} ({outcome.detail})")
    for outcome in outcomes:
        if outcome.state == "unchanged":
            say("hint", f"up to date: '{outcome.path}' at {outcome.where}")
    say("hint", "not published: " + ", ".join(f"'{o.path}'" for o in failed))
    first = failed[0].error
    return exits.code_of(first) if first is not None else 1
