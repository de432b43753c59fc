"""``encfile edit``: the plaintext in $EDITOR, on tmpfs; what changed is encrypted again."""

from __future__ import annotations

import os
import sys

from .. import errors
from . import common
from .spec import RULE_DESTS
from .terminal import confirm, info, say

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .parse import Args

_ERROR_MARK = "# encfile: "


def editor_command() -> list[str]:
    """The editor, as sops finds it: ``$SOPS_EDITOR``, else ``$VISUAL``, else ``$EDITOR``
    (split as a shell would), else the first of vim, nano and vi on PATH."""
    import shlex
    import shutil

    for variable in ("SOPS_EDITOR", "VISUAL", "EDITOR"):
        if os.environ.get(variable, "").strip():
            return shlex.split(os.environ[variable])
    for name in ("vim", "nano", "vi"):
        if shutil.which(name):
            return [name]
    raise errors.EncfileError("no editor found", hints=["set $EDITOR (or $SOPS_EDITOR)"])


def run_editor(path: str) -> None:
    import subprocess

    command = editor_command()
    try:
        code = subprocess.call([*command, path])
    except OSError as err:
        raise errors.EncfileError(f"cannot run the editor {command[0]!r}: "
                                  f"{err.strerror or err}",
                                  hints=["set $EDITOR (or $SOPS_EDITOR)"]) from None
    if code != 0:
        raise errors.EncfileError(f"the editor exited with status {code}; nothing was changed")


def _strip_error_header(text: str, header: str) -> str:
    """The edited text without the error lines encfile put on top (if the user left them)."""
    return text[len(header):] if header and text.startswith(header) else text


def edit(a: Args) -> None:
    """Decrypt into a private tmpfs file, run the editor, re-encrypt what changed."""
    path, input_type, allow_disk = a.file, a.input_type, a.allow_disk_temp
    if a.show_master_keys:
        raise errors.UsageError("encfile edit shows the values, not the master keys (-s)",
                                hints=["change keys with 'encfile rotate --add-…/--rm-…' or "
                                       "'encfile updatekeys'; 'encfile status' lists them"])
    common.refuse_keyservice(a)
    import signal

    from .. import _api, formats, fsutil
    from ..document import encrypt_text, reencrypt_text
    from ..opening import open_text

    fmt = input_type or formats.detect(path)
    label = f"'{path}'"
    binary = fmt == "binary"
    original: bytes | None = None
    if os.path.exists(path):
        try:
            with open(path, "rb") as handle:
                original = handle.read()
        except OSError as err:
            raise errors.InputError(f"cannot read {label}: {err.strerror or err}") from None
        opened = open_text(_api.decode_text(original, label, binary=binary), fmt=fmt,
                           keyring=common.keyring(a), label=label,
                           ignore_mac=bool(a.ignore_mac))
        plain = opened.text()
    else:
        opened = None
        plain = ""
        plan = common.plan(path, common.flag_keys(a), {k: a[k] for k in RULE_DESTS if a[k]},
                           a.config, threshold=common.shamir_threshold(a))
    comments = fmt in ("yaml", "dotenv", "ini")
    if not allow_disk and not fsutil.memory_folders() and sys.stdin.isatty():
        say("warning", "no memory file system (tmpfs) is available: the plaintext would be "
                       "written to a temp file on disk while you edit")
        allow_disk = confirm("continue anyway?", needs="--allow-disk-temp",
                             what="editing without tmpfs")

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # leave through the finally below: the temp folder goes

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with fsutil.private_tempdir(allow_disk=allow_disk) as folder:
            tmp = os.path.join(folder, os.path.basename(path) or "file")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(plain.encode("utf-8", "surrogateescape"))
            except OSError as err:
                raise errors.OutputError(f"cannot write the plaintext for the editor in "
                                         f"'{folder}': {err.strerror or err}") from None
            last_failed: str | None = None
            header = ""
            while True:
                run_editor(tmp)
                with open(tmp, "rb") as handle:
                    edited = _strip_error_header(_api.decode_text(handle.read(), "the edited "
                                                                  "file", binary=binary), header)
                if edited == plain and opened is not None:
                    raise errors.NotModifiedError(f"{label} has not changed: nothing written")
                if edited == last_failed:
                    raise errors.EncfileError(f"{label} was not changed: the edit still does "
                                              "not parse")
                try:
                    if opened is not None:
                        result = reencrypt_text(edited, fmt=fmt, previous=opened, label=label)
                    else:
                        result = encrypt_text(edited, fmt=fmt, recipients=plan.groups,
                                              rules=plan.rules, label=label,
                                              shamir_threshold=plan.shamir_threshold)
                    break
                except errors.InputError as err:
                    last_failed = edited
                    say("error", err.message)
                    header = "".join(f"{_ERROR_MARK}{line}\n" for line in (
                        f"error: {err.message}",
                        "fix the file and save it, or save it unchanged to give up")) \
                        if comments else ""
                    with open(tmp, "wb") as out:
                        out.write((header + edited).encode("utf-8", "surrogateescape"))
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if original is None:
        fsutil.atomic_write(path, result.encode("utf-8", "surrogateescape"))
    else:
        with fsutil.locked(path):
            with open(path, "rb") as handle:
                if handle.read() != original:
                    # Someone else saved first: keep this edit, encrypted, beside the file.
                    kept = fsutil.write_sibling(path, "conflict",
                                                result.encode("utf-8", "surrogateescape"))
                    raise errors.EncfileError(
                        f"{label} changed while it was being edited; your edit was saved, "
                        f"encrypted, as '{kept}'",
                        hints=[f"compare: encfile -d --input-type {fmt} '{kept}'",
                               f"then edit '{path}' again and delete '{kept}'"])
            fsutil.atomic_write(path, result.encode("utf-8", "surrogateescape"))
    info(f"saved {label}")
