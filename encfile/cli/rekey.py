"""``encfile rotate`` and ``encfile updatekeys``: the plans come from the library
(``encfile.rekey``); this module shows them, asks, and writes."""

from __future__ import annotations

from .. import errors
from . import common
from .terminal import Out, confirm, info, say, write_stderr, write_stdout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .parse import Args


def rotate(a: Args) -> None:
    from .. import fsutil
    from .. import rekey as plans
    from ..document import rekey_text
    from ..opening import open_text

    if not a.files:
        raise errors.UsageError("no file given", hints=["usage: encfile rotate [-i] FILE..."])
    if len(a.files) > 1 and not a.in_place:
        raise errors.UsageError("several files can only be rotated with --in-place",
                                hints=["rotate them one by one, or add -i"])
    common.refuse_keyservice(a)
    if a.output and (a.in_place or len(a.files) > 1):
        raise errors.OptionConflict("--output takes one file, without --in-place")
    added, removed = common.changed_keys(a, "add"), common.changed_keys(a, "rm")
    keyring = common.keyring(a)

    def rotate_one(path: str) -> bytes:
        text, fmt, label = common.read_input(path, a.input_type, what="rotating")
        opened = open_text(text, fmt=fmt, keyring=keyring, label=label)
        groups = plans.rotation_groups(opened.metadata, added, removed, label)
        result = rekey_text(opened, groups=groups, new_key=True,
                            shamir_threshold=opened.metadata.shamir_threshold,
                            drop_unsupported=a.drop_unsupported_keys, ctx=keyring)
        info(f"rotated {label}: new data key for {sum(map(len, groups))} recipient(s)")
        return result.encode("utf-8", "surrogateescape")

    if a.output:
        fsutil.write_output(a.output, rotate_one(a.files[0]), force=Out.force)
        return
    if not a.in_place:
        write_stdout(rotate_one(a.files[0]))
        return
    for path in a.files:
        with fsutil.locked(path):
            fsutil.atomic_write(path, rotate_one(path))


def updatekeys(a: Args) -> None:
    from .. import files, fsutil
    from .. import rekey as plans
    from ..document import rekey_text
    from ..opening import open_text

    todo = []
    for path in files.walk_files(a.paths):
        found = files.sniff(path, a.input_type)
        if found is None:
            continue
        fmt, text, metadata = found
        try:
            plan = common.plan(path, [], {}, a.config, prefix=f"'{path}': ")
        except (errors.ConfigError, errors.RecipientError) as err:
            say("note", f"skipped '{path}': {err.message}")
            continue
        change = plans.update_plan(metadata, plan.groups, plan.shamir_threshold)
        if change is None:
            info(f"'{path}' is up to date")
            continue
        todo.append((path, fmt, text, plan, change))
    if not todo:
        write_stderr("encfile: every file is up to date\n")
        return
    for path, _, _, _, change in todo:
        write_stderr(f"'{path}':\n" + "".join(f"    + {r}\n" for r in change.added)
                     + "".join(f"    - {r}\n" for r in change.removed)
                     + ("    new data key: removing a recipient rotates the file, so the old "
                        "key cannot read what comes next\n" if change.rotate else ""))
    if not a.yes and not confirm("apply these changes?", needs="-y",
                                     what="updatekeys"):
        raise errors.EncfileError("nothing was changed")
    keyring = common.keyring()
    for index, (path, fmt, text, plan, change) in enumerate(todo, 1):
        with fsutil.locked(path):
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                if handle.read() != text:
                    raise errors.EncfileError(f"'{path}' changed since the plan was made",
                                              hints=["run 'encfile updatekeys' again"])
            opened = open_text(text, fmt=fmt, keyring=keyring, label=f"'{path}'")
            result = rekey_text(opened, groups=plan.groups, shamir_threshold=plan.shamir_threshold,
                                new_key=change.rotate, ctx=keyring,
                                drop_unsupported=bool(a.drop_unsupported_keys))
            fsutil.atomic_write(path, result.encode("utf-8", "surrogateescape"))
        write_stderr(f"encfile: [{index}/{len(todo)}] updated '{path}'\n")


def _group_target(a: Args) -> str:
    path = a.file or a.positional
    if not path:
        raise errors.UsageError("no file given", hints=["encfile groups add -f FILE …"])
    if a.file and a.positional:
        raise errors.UsageError(f"unexpected argument {a.positional!r}",
                                hints=["the file is given with -f"])
    return str(path)


def _regroup(a: Args, change: str) -> None:
    from .. import fsutil, keysources
    from .. import rekey as plans
    from ..document import rekey_text
    from ..opening import open_text
    from .spec import KEY_FLAGS

    common.refuse_keyservice(a)
    path = _group_target(a)
    keyring = common.keyring(a)
    threshold = common.shamir_threshold(a)
    with fsutil.locked(path):
        text, fmt, label = common.read_input(path, None, what="rekeying")
        opened = open_text(text, fmt=fmt, keyring=keyring, label=label)
        if change == "add":
            context = common.key_context(a)
            keys = [k for kind, *_ in KEY_FLAGS for value in (a[kind] or ())
                    for k in keysources.from_config(kind, value, context)]
            groups, threshold = plans.add_group(opened.metadata, keys, threshold)
        else:
            try:
                index = int(a.index)
            except ValueError:
                raise errors.UsageError(f"INDEX {a.index!r} is not a number") from None
            groups, threshold = plans.delete_group(opened.metadata, index, threshold)
        result = rekey_text(opened, groups=groups, shamir_threshold=threshold, new_key=False,
                            ctx=keyring).encode("utf-8", "surrogateescape")
        if a.in_place:
            fsutil.atomic_write(path, result)
        else:
            write_stdout(result)
    info(f"{label}: {len(groups)} key group(s), any {threshold or 1} of them open it")
    if change == "delete":
        say("note", "the deleted group's keys could read the file until now: rotate it "
            "('encfile rotate -i FILE') if they should not read what comes next")


def groups_add(a: Args) -> None:
    _regroup(a, "add")


def groups_delete(a: Args) -> None:
    _regroup(a, "delete")
