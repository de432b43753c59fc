"""The command line: the only module that prints, reads the terminal, or exits.

It is a thin layer over the library. sops's legacy flags work as in sops
(``encfile -e FILE``, ``encfile -d FILE``) next to the subcommands
(``encfile encrypt FILE``); options may come before or after file names.
typer is imported only when a command is actually parsed.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence

from . import errors
from ._version import DISTRIBUTION, SOPS_VERSION, __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn


class _Conflict(errors.EncfileError):
    """Options that cannot be used together (sops's exit code 8)."""


# Exit codes: sops's numbers wherever sops has the case, so scripts keep working.
EXIT_CODES: tuple[tuple[type[errors.EncfileError], int], ...] = (
    (_Conflict, 8),
    (errors.FileMissingError, 100),
    (errors.AlreadyEncryptedError, 203),
    (errors.NoIdentityError, 128),
    (errors.MacMismatchError, 51),
    (errors.TamperedValueError, 25),
    (errors.ExtractPathError, 91),
    (errors.OutputError, 3),
    (errors.InputError, 2),
    (errors.EncfileError, 1),
)
EXIT_CONFLICT = 8
EXIT_USAGE = 1

EXIT_HELP = """\
Exit codes (sops's numbers):
  0 success; 1 other errors (bad option, no recipients, no metadata, missing --extract key);
  2 unreadable or unparsable input; 3 output not writable; 8 conflicting options;
  25 a value, comment or layout token was tampered with or moved; 51 MAC mismatch;
  91 bad --extract path; 100 no such file; 128 no identity matched;
  203 the file is already encrypted
"""

_MODES = {"-e": "encrypt", "--encrypt": "encrypt", "-d": "decrypt", "--decrypt": "decrypt"}
_COMMANDS = ("encrypt", "decrypt", "exec", "exec-file", "git", "init", "edit", "set", "unset", "rotate", "updatekeys",
             "status", "keygen", "identities")


# -- terminal output ---------------------------------------------------------------------------

class _Out:
    quiet = False
    verbose = False
    force = False  # -o may write through a symlink, FIFO or device
    name_override: str | None = None  # --filename-override: rules and format from this name


def _say(kind: str, message: str) -> None:
    sys.stderr.write(f"encfile: {kind}: {message}\n")


def _info(message: str) -> None:
    if _Out.verbose:
        sys.stderr.write(f"encfile: {message}\n")


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    if not _Out.quiet:
        _say("note" if issubclass(category, errors.EncfileNote) else "warning", str(message))


class _Progress:
    """``encfile: decrypting 12/200`` on one rewritten line, for long multi-file work: only
    on a terminal, never with -q, and gone once the work is done."""

    MIN_ITEMS = 20

    def __init__(self, what: str, total: int) -> None:
        self.what, self.total = what, total
        self.on = total >= self.MIN_ITEMS and not _Out.quiet and sys.stderr.isatty()

    def step(self, done: int) -> None:
        if self.on:
            sys.stderr.write(f"\rencfile: {self.what} {done}/{self.total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.on:  # blank the line (no terminal escape codes)
            width = len(f"encfile: {self.what} {self.total}/{self.total}")
            sys.stderr.write("\r" + " " * width + "\r")
            sys.stderr.flush()


def _ask_passphrase(source: str) -> str | None:
    """The passphrase of a protected identity file, asked on the terminal (None: no tty)."""
    import getpass

    try:  # only a real terminal: getpass would otherwise read standard input, echoing it
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return None
    try:
        return getpass.getpass(f"encfile: passphrase for {source}: ")
    except (OSError, EOFError):
        return None


def _keyring() -> Any:
    from .keysources.identities import KeyRing

    return KeyRing(passphrase=_ask_passphrase)


def _fail(err: errors.EncfileError) -> NoReturn:
    _say("error", err.message)
    for hint in err.hints:
        _say("hint", hint)
    code = next(code for cls, code in EXIT_CODES if isinstance(err, cls))
    sys.exit(code)


def _write_stdout(data: bytes) -> None:
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


# -- argument normalisation ----------------------------------------------------------------------

def normalize_argv(argv: Sequence[str]) -> list[str]:
    """Turn sops's ``-e``/``-d`` mode flags into the subcommand, wherever they appear, and
    ``encfile FILE`` into ``encfile edit FILE`` (sops's default mode)."""
    args = list(argv)
    end = args.index("--") if "--" in args else len(args)
    if any(a in _COMMANDS for a in args[:1]):
        return args
    modes = [i for i, a in enumerate(args[:end]) if a in _MODES]
    if len({_MODES[args[i]] for i in modes}) > 1:
        raise _Conflict("-e and -d cannot be used together")
    if not modes:
        if args and _looks_like_file(args[0]):
            return ["edit", *args]
        return args
    mode = _MODES[args[modes[0]]]
    rest = [a for i, a in enumerate(args) if i not in modes]
    return [mode, *rest]


def _looks_like_file(arg: str) -> bool:
    """A first argument that names a file, not a mistyped command: it exists, or it has
    a folder or an extension (``encfile new.enc.yaml`` creates it, as ``sops`` does)."""
    if arg.startswith("-"):
        return False
    return os.path.exists(arg) or "/" in arg or "." in arg.lstrip(".")


def version_line(program: str) -> str:
    """``--version``: under the name ``sops`` (a drop-in symlink), the sops version whose
    behaviour encfile follows first, for tools that parse ``sops X.Y.Z``."""
    if program == "sops":
        return f"sops {SOPS_VERSION} (encfile {__version__})\n"
    return f"encfile {__version__} ({DISTRIBUTION}, follows sops {SOPS_VERSION})\n"


def program_name() -> str:
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "encfile"


# -- commands --------------------------------------------------------------------------------------

def _read_input(path: str, input_type: str | None, *, what: str) -> tuple[str, str, str]:
    """(text, format, label) for a file name or '-' (standard input).

    Encrypted standard input without a type is told by where its metadata is (as the
    library does); plaintext needs ``--input-type`` or ``--filename-override``.
    """
    from . import _api, formats

    if path == "-":
        data = sys.stdin.buffer.read()
        if input_type:
            return (_api.decode_text(data, "standard input", binary=input_type == "binary"),
                    input_type, "<stdin>")
        if what == "encrypting":
            raise _Conflict("encrypting standard input needs its format",
                            hints=["add --input-type yaml (json, dotenv, ini, binary) or "
                                   "--filename-override NAME"])
        text = _api.decode_text(data, "standard input")
        return text, formats.sniff_encrypted(text), "<stdin>"
    fmt = input_type or formats.detect(path)
    return _api.read_file(path, binary=fmt == "binary"), fmt, f"'{path}'"


def _input_type(input_type: str | None) -> str | None:
    """--input-type, else the format of --filename-override's name (as in sops)."""
    if input_type or not _Out.name_override:
        return input_type
    from . import formats

    return formats.detect(_Out.name_override)


def _convert(docs: list[Any], input_type: str, output_type: str | None) -> str | None:
    """The data in another format when ``--output-type`` asks for one, else None."""
    if not output_type or output_type == input_type:
        return None
    from . import convert, formats

    formats.get(output_type)  # an unknown name is an error, not a silent fallback
    return convert.render(docs, output_type)


def _rules(**given: Any) -> Any:
    from .rules import Rules

    return Rules(**{k: v for k, v in given.items() if v})


def _info_config(plan: Any, prefix: str = "") -> None:
    """-v: which config (and rule) a plan came from."""
    if plan.config is not None:
        _info(f"{prefix}config '{plan.config.path}': " + (
            f"rule at line {plan.rule.line}" if plan.rule else "no rule matches"))


def _age_keys(flag: str | None) -> list[Any]:
    """The age keys of ``--age`` (else ``$ENCFILE_AGE_RECIPIENTS``, ``$SOPS_AGE_RECIPIENTS``)."""
    from . import keysources

    value = flag or os.environ.get("ENCFILE_AGE_RECIPIENTS") \
        or os.environ.get("SOPS_AGE_RECIPIENTS") or ""
    return keysources.from_config("age", value)


def cmd_encrypt(files: list[str], in_place: bool, output: str | None, age: str | None,
                input_type: str | None, output_type: str | None, rules: dict[str, Any],
                config_path: str | None = None, reuse_from: str | None = None) -> None:
    from . import config, fsutil
    from .document import encrypt_text, open_text, reencrypt_text

    if in_place and output:
        raise _Conflict("--in-place and --output cannot be used together")
    files = files or ["-"]  # as in sops: no file is standard input
    if len(files) > 1 and not in_place:
        raise errors.UsageError("several files can only be encrypted with --in-place",
                                hints=["encrypt them one by one, or add -i"])
    if in_place and "-" in files:
        raise errors.UsageError("--in-place needs a file, not standard input",
                                hints=["write the result to standard output or -o FILE"])
    flag_recipients = _age_keys(age)
    cli_rules = {k: v for k, v in rules.items() if v}
    previous = None
    if reuse_from:
        # The old version's key, recipients and rules; its unchanged values keep their tokens.
        if age or cli_rules:
            raise _Conflict("--reuse-from takes the keys and rules of the old file: drop --age "
                            "and the rule options")

        old_text, old_fmt, old_label = _read_input(reuse_from, input_type, what="decrypting")
        previous = open_text(old_text, fmt=old_fmt, keyring=_keyring(), label=old_label)
    outputs = []
    for path in files:
        if previous is not None:
            text, fmt, label = _read_input(path, input_type, what="encrypting")
            result = reencrypt_text(text, fmt=fmt, previous=previous, label=label)
            outputs.append((path, result.encode("utf-8", "surrogateescape")))
            continue
        plan = config.plan(_Out.name_override or path, flag_recipients, cli_rules,
                           explicit=config_path)
        _info_config(plan)
        groups, threshold, rule_set = plan.groups, plan.shamir_threshold, plan.rules
        text, fmt, label = _read_input(path, _input_type(input_type), what="encrypting")
        if output_type and output_type != fmt:
            from . import formats

            converted = _convert(formats.get(fmt).parse(text).to_python(), fmt, output_type)
            text, fmt = converted or text, output_type
        result = encrypt_text(text, fmt=fmt, recipients=groups, rules=rule_set,
                              shamir_threshold=threshold, label=label)
        count = sum(len(g) for g in groups)
        _info(f"encrypted {label} for {count} recipient(s)"
              + (f" in {len(groups)} key groups" if len(groups) > 1 else ""))
        outputs.append((path, result.encode("utf-8", "surrogateescape")))
    if in_place:
        for path, data in outputs:
            fsutil.atomic_write(path, data)
    elif output:
        fsutil.write_output(output, outputs[0][1], force=_Out.force)
    else:
        _write_stdout(outputs[0][1])


def cmd_decrypt(files: list[str], in_place: bool, output: str | None, extract: str | None,
                input_type: str | None, output_type: str | None, ignore_mac: bool) -> None:
    from . import extract as _extract
    from . import fsutil
    from .document import open_text

    if in_place and output:
        raise _Conflict("--in-place and --output cannot be used together")
    if in_place and extract:
        raise _Conflict("--in-place and --extract cannot be used together")
    files = files or ["-"]
    if in_place and "-" in files:
        raise errors.UsageError("--in-place needs a file, not standard input",
                                hints=["write the result to standard output or -o FILE"])
    if len(files) > 1 and not in_place and not extract:
        _check_stream(files, _input_type(input_type), output_type)
    path_spec = _extract.parse_path(extract) if extract else None
    keyring = _keyring()
    results: list[tuple[str, str]] = []
    all_yaml = True
    progress = _Progress("decrypting", len(files))
    try:
        for done, path in enumerate(files):
            progress.step(done)
            text, fmt, label = _read_input(path, _input_type(input_type), what="decrypting")
            all_yaml = all_yaml and (output_type or fmt) == "yaml"
            opened = open_text(text, fmt=fmt, keyring=keyring, label=label, ignore_mac=ignore_mac)
            _info(f"decrypted {label}")
            if path_spec is not None:
                docs = opened.data()
                value = _extract.select(docs[0] if len(docs) == 1 else docs, path_spec)
                if isinstance(value, str):
                    plain = value
                else:
                    from .formats import yaml_emit

                    plain = yaml_emit.dump(value)
            elif output_type and output_type != fmt:
                plain = _convert(opened.data(), fmt, output_type) or ""
            else:
                plain = opened.text()
            results.append((path, plain))
    finally:
        progress.close()
    if _Out.verbose:
        for line in keyring.tried:
            _info(f"identity source {line}")
    if in_place:
        for path, plain in results:
            fsutil.atomic_write(path, plain.encode("utf-8", "surrogateescape"))
        return
    # Several YAML files make one stream of documents (for kubectl apply -f -).
    plains = [plain for _, plain in results]
    if len(plains) > 1 and not all_yaml:  # standard input, whose format is known only now
        raise _stream_error()
    joined = _join_stream(plains)
    data = joined.encode("utf-8", "surrogateescape")
    if output:
        fsutil.write_output(output, data, private=True, force=_Out.force)
    else:
        _write_stdout(data)


def _stream_error() -> errors.UsageError:
    return errors.UsageError("only YAML files can be decrypted into one stream",
                             hints=["decrypt the files one by one, or add --output-type yaml"])


def _check_stream(files: list[str], input_type: str | None, output_type: str | None) -> None:
    """Refuse, before decrypting anything, files that cannot make one YAML stream."""
    from . import formats

    if output_type is not None:
        if output_type != "yaml":
            raise _stream_error()
    elif any((input_type or formats.detect(f)) != "yaml" for f in files if f != "-"):
        raise _stream_error()


def _join_stream(texts: list[str]) -> str:
    """Several decrypted YAML files as one stream: '---' between documents.

    A BOM may only start the stream, and a file that opens with a directive
    (``%YAML``) needs the previous document closed with '...' instead.
    """
    out = texts[0]
    for text in texts[1:]:
        text = text.removeprefix("\ufeff")
        if out and not out.endswith("\n"):
            out += "\n"
        if text.startswith("%"):
            out += "...\n" + text
        elif text.startswith("---"):
            out += text
        else:
            out += "---\n" + text
    return out


# -- edit ------------------------------------------------------------------------------------------

_ERROR_MARK = "# encfile: "


def _run_editor(path: str) -> None:
    import shlex
    import subprocess

    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        code = subprocess.call([*shlex.split(command), path])
    except OSError as err:
        raise errors.EncfileError(f"cannot run the editor {command!r}: {err.strerror or err}",
                                  hints=["set $EDITOR (or $VISUAL)"]) from None
    if code != 0:
        raise errors.EncfileError(f"the editor exited with status {code}; nothing was changed")


def _strip_error_header(text: str, header: str) -> str:
    """The edited text without the error lines encfile put on top (if the user left them)."""
    return text[len(header):] if header and text.startswith(header) else text


def cmd_edit(path: str, input_type: str | None, age: str | None, config_path: str | None,
             allow_disk: bool) -> None:
    """Decrypt into a private tmpfs file, run the editor, re-encrypt what changed."""
    import signal

    from . import _api, config, formats, fsutil
    from .document import encrypt_text, open_text, reencrypt_text

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
                           keyring=_keyring(), label=label)
        plain = opened.text()
    else:
        opened = None
        plain = ""
        plan = config.plan(path, _age_keys(age), {}, explicit=config_path)
    comments = fmt in ("yaml", "dotenv", "ini")
    if not allow_disk and not fsutil.memory_folders() and sys.stdin.isatty():
        _say("warning", "no memory file system (tmpfs) is available: the plaintext would be "
                        "written to a temp file on disk while you edit")
        sys.stderr.write("continue anyway? [y/N] ")
        sys.stderr.flush()
        allow_disk = sys.stdin.readline().strip().lower() in ("y", "yes")

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
                _run_editor(tmp)
                with open(tmp, "rb") as handle:
                    edited = _strip_error_header(_api.decode_text(handle.read(), "the edited "
                                                                  "file", binary=binary), header)
                if edited == plain and opened is not None:
                    _info("no changes")
                    return
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
                    _say("error", err.message)
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
    _info(f"saved {label}")


# -- rotate, updatekeys, status ----------------------------------------------------------------------

def cmd_rotate(files: list[str], in_place: bool, add: list[str], remove: list[str],
               drop_unsupported: bool, input_type: str | None) -> None:
    from . import fsutil, keysources
    from .document import open_text, rekey_text

    if not files:
        raise errors.InputError("no file given", hints=["usage: encfile rotate [-i] FILE..."])
    if len(files) > 1 and not in_place:
        raise errors.InputError("several files can only be rotated with --in-place")
    added = [k for a in add for k in keysources.from_config("age", a)]
    removed = [k for a in remove for k in keysources.from_config("age", a)]
    keyring = _keyring()

    def rotate_one(path: str) -> bytes:
        text, fmt, label = _read_input(path, input_type, what="rotating")
        opened = open_text(text, fmt=fmt, keyring=keyring, label=label)
        current = [g.usable for g in opened.metadata.key_groups]
        unknown = [k for k in removed if not any(k.same(c) for g in current for c in g)]
        if unknown:
            raise errors.RecipientError(f"{label} has no recipient {unknown[0].id}",
                                        hints=["nothing was changed; the file's recipients: "
                                               + ", ".join(k.id for g in current for k in g)])
        groups = [[k for k in g if not any(k.same(r) for r in removed)] for g in current]
        if added:
            groups[0] += [k for k in added if not any(k.same(g) for g in groups[0])]
        if not all(groups):
            raise errors.RecipientError(f"{label}: removing those recipients leaves a key group "
                                        "empty")
        result = rekey_text(opened, groups=groups, new_key=True,
                            shamir_threshold=opened.metadata.shamir_threshold,
                            drop_unsupported=drop_unsupported)
        _info(f"rotated {label}: new data key for {sum(map(len, groups))} recipient(s)")
        return result.encode("utf-8", "surrogateescape")

    if not in_place:
        _write_stdout(rotate_one(files[0]))
        return
    for path in files:
        with fsutil.locked(path):
            fsutil.atomic_write(path, rotate_one(path))


def _walk_files(paths: list[str]) -> list[str]:
    """The files named, and every file below the folders named (not inside .git)."""
    found: list[str] = []
    for path in paths or ["."]:
        if os.path.isdir(path):
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d != ".git")
                found += [os.path.join(folder, n) for n in sorted(names)
                          if not os.path.islink(os.path.join(folder, n))]
        elif os.path.exists(path):
            found.append(path)
        else:
            raise errors.FileMissingError(f"no such file: '{path}'")
    return found


def _read_metadata(path: str, input_type: str | None) -> tuple[str, str, Any] | None:
    """(format, text, Metadata) of an encrypted file, or None for anything else."""
    from . import _api, formats
    from .metadata import Metadata

    fmt = input_type or formats.detect(path)
    try:
        text = _api.read_file(path, binary=fmt == "binary")
        raw = formats.get(fmt).parse(text).metadata
        return (fmt, text, Metadata.from_dict(raw)) if raw is not None else None
    except errors.EncfileError:
        return None


def cmd_updatekeys(paths: list[str], yes: bool, config_path: str | None,
                   input_type: str | None) -> None:
    from . import config, fsutil
    from .document import open_text, rekey_text

    plans = []
    for path in _walk_files(paths):
        found = _read_metadata(path, input_type)
        if found is None:
            continue
        fmt, text, metadata = found
        try:
            plan = config.plan(path, [], {}, explicit=config_path)
        except (errors.ConfigError, errors.RecipientError) as err:
            _say("note", f"skipped '{path}': {err.message}")
            continue
        _info_config(plan, f"'{path}': ")
        current = metadata.recipient_groups
        target = [[k.id for k in g] for g in plan.groups]
        # The order of recipients within a group is no change (the groups' order is).
        if [set(g) for g in current] == [set(g) for g in target] and \
                metadata.shamir_threshold == (
                plan.shamir_threshold if len(target) > 1 else 0):
            _info(f"'{path}' is up to date")
            continue
        before = {r for g in current for r in g}
        after = {r for g in target for r in g}
        rotate = bool(before - after) or len(current) != 1 or len(target) != 1
        plans.append((path, fmt, text, plan, sorted(after - before), sorted(before - after),
                      rotate))
    if not plans:
        sys.stderr.write("encfile: every file is up to date\n")
        return
    for path, _, _, _, added, removed, rotate in plans:
        sys.stderr.write(f"'{path}':\n")
        sys.stderr.writelines(f"    + {r}\n" for r in added)
        sys.stderr.writelines(f"    - {r}\n" for r in removed)
        if rotate:
            sys.stderr.write("    new data key: removing a recipient rotates the file, so the "
                             "old key cannot read what comes next\n")
    if not yes:
        if not sys.stdin.isatty():
            raise errors.EncfileError("updatekeys needs confirmation",
                                      hints=["pass -y to apply the changes above"])
        sys.stderr.write("apply these changes? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise errors.EncfileError("nothing was changed")
    keyring = _keyring()
    for index, (path, fmt, text, plan, _, _, rotate) in enumerate(plans, 1):
        with fsutil.locked(path):
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                if handle.read() != text:
                    raise errors.EncfileError(f"'{path}' changed since the plan was made",
                                              hints=["run 'encfile updatekeys' again"])
            opened = open_text(text, fmt=fmt, keyring=keyring, label=f"'{path}'")
            result = rekey_text(opened, groups=plan.groups,
                                shamir_threshold=plan.shamir_threshold, new_key=rotate)
            fsutil.atomic_write(path, result.encode("utf-8", "surrogateescape"))
        sys.stderr.write(f"encfile: [{index}/{len(plans)}] updated '{path}'\n")


_DAY = 86400


def _max_age_days(settings: dict[str, Any]) -> int:
    value = str(settings.get("max_age", "90d")).strip()
    number = value[:-1] if value[-1:] in "dD" else value
    try:
        return int(number)
    except ValueError:
        raise errors.ConfigError(f"max_age {value!r} is not a number of days (like 90d)") \
            from None


def cmd_status(paths: list[str], as_json: bool, check: bool, config_path: str | None,
               input_type: str | None) -> None:
    import datetime as dt
    import json

    from . import config, values
    from .document import open_text

    keyring = _keyring()
    now = dt.datetime.now(dt.timezone.utc)
    rows: list[dict[str, Any]] = []
    for path in _walk_files(paths):
        if os.path.basename(path) in (*config.CONFIG_NAMES, ".sops.yml"):
            continue  # the rules themselves are plaintext on purpose
        cfg = config.find(path, explicit=config_path)
        rule = cfg.rule_for(path) if cfg is not None else None
        found = _read_metadata(path, input_type)
        if found is None:
            if rule is not None and rule.path_regex:
                rows.append({"file": path, "encrypted": False,
                             "problem": "plaintext, but a creation rule says it is encrypted"})
            continue
        fmt, text, metadata = found
        row: dict[str, Any] = {"file": path, "encrypted": True, "format": fmt,
                               "recipients": metadata.recipient_groups,
                               "lastmodified": metadata.lastmodified,
                               "key_created": metadata.encfile_key_created or "unknown"}
        if metadata.encfile_key_created:
            try:
                born = values.time_to_python(metadata.encfile_key_created)
            except ValueError:
                row["key_created"] = "unreadable"
                row["problem"] = "its data key's creation time is unreadable"
            else:
                row["key_age_days"] = int((now - born).total_seconds() // _DAY)
                limit = _max_age_days(cfg.settings if cfg else {})
                if row["key_age_days"] > limit:
                    row["problem"] = f"data key older than {limit} days: rotate it"
        try:
            open_text(text, fmt=fmt, keyring=keyring, label=f"'{path}'")
            row["mac"] = "valid"
        except errors.NoIdentityError:
            row["mac"] = "not checked (no identity)"
        except errors.IntegrityError as err:
            row["mac"] = "INVALID"
            row["problem"] = err.message
        rows.append(row)
    if as_json:
        _write_stdout((json.dumps(rows, indent=2) + "\n").encode())
    else:
        lines = []
        for row in rows:
            if not row["encrypted"]:
                lines.append(f"{row['file']}: PLAINTEXT ({row['problem']})")
                continue
            age = row.get("key_age_days")
            lines.append(f"{row['file']}: {row['format']}, "
                         f"{sum(map(len, row['recipients']))} recipient(s), "
                         f"data key {'age ' + str(age) + ' days' if age is not None else 'age unknown'}"
                         f", MAC {row['mac']}"
                         + (f" -- {row['problem']}" if row.get("problem") else ""))
        _write_stdout(("\n".join(lines) + "\n").encode() if lines else b"")
    problems = [r for r in rows if r.get("problem")]
    if check and problems:
        raise errors.EncfileError(f"{len(problems)} file(s) need attention")


def cmd_identities(as_json: bool) -> None:
    import json

    from .keysources.identities import KeyRing

    found = KeyRing().describe()
    if as_json:
        _write_stdout((json.dumps(found, indent=2) + "\n").encode())
        return
    lines = [f"{item['public']}  ({item['source']})" for item in found if item.get("public")]
    lines += [f"# {item['source']}: {item['note']}" for item in found if not item.get("public")]
    _write_stdout(("\n".join(lines) + "\n").encode() if lines else b"")


def cmd_set(path: str, spec: str, value: str | None, value_file: str | None,
            value_stdin: bool, input_type: str | None, *, unset: bool = False) -> None:
    """Change (or remove) one value; every other value keeps its ciphertext."""
    import json

    from . import _api, fsutil, setpath
    from . import extract as _extract
    from .document import open_text, reencrypt_text

    steps = _extract.parse_path(spec)
    new: Any = None
    if not unset:
        given = [v for v in (value is not None, value_file is not None, value_stdin) if v]
        if len(given) != 1:
            raise _Conflict("give the value once: as an argument (JSON), --value-file or "
                            "--value-stdin")
        if value_file is not None:
            new = _api.read_file(value_file)
        elif value_stdin:
            new = _api.decode_text(sys.stdin.buffer.read(), "standard input")
        else:
            try:
                new = json.loads(value or "")
            except ValueError:
                raise errors.InputError("the value must be JSON: a string needs quotes, as "
                                        "in '\"s3cret\"'") from None
    if not os.path.exists(path):
        raise errors.FileMissingError(f"no such file: '{path}'")
    with fsutil.locked(path):
        text, fmt, label = _read_input(path, input_type, what="decrypting")
        opened = open_text(text, fmt=fmt, keyring=_keyring(), label=label)
        plain = opened.text()
        try:
            changed = setpath.unset_value(plain, fmt, steps) if unset else \
                setpath.set_value(plain, fmt, steps, new)
        except (errors.PathNotFoundError, errors.UsageError) as err:
            raise type(err)(f"{label}: {err.message}", hints=err.hints) from None
        if changed == plain:
            _info("no change")
            return
        result = reencrypt_text(changed, fmt=fmt, previous=opened, label=label)
        fsutil.atomic_write(path, result.encode("utf-8", "surrogateescape"))
    _info(f"{'removed' if unset else 'set'} {spec} in {label}")


# -- exec ------------------------------------------------------------------------------------------

EXEC_HELP = """\
Usage: encfile exec [-f FILE]... [OPTIONS] -- COMMAND [ARGS]...

  Run COMMAND with the decrypted values in its environment (encfile replaces itself
  with it: signals, stdio and the exit status are the command's own).

  Without -f: the files listed under 'exec: files:' in the nearest .encfile.yaml,
  else the first of secrets.enc.env, secrets.enc.yaml, secrets.enc.json here.
  Nested keys become DB_PASSWORD, list items NAME_0; the identity variables
  (SOPS_AGE_KEY…) are removed from the command's environment.

Options:
  -f, --file FILE     An encrypted file (several: later ones override earlier ones).
  --prefix PREFIX     Put PREFIX before every variable name.
  --no-flatten        Only top-level keys, as 'sops exec-env' does.
  --pristine          Only the decrypted values: inherit no environment.
  --no-override       Keep variables that are already set.
  --watch             Stay as a supervisor: restart the command when a file changes
                      (signals are forwarded; a file that does not decrypt is ignored).
  --input-type TYPE   The files' format (default: from their names).
  -v, --verbose       Say which files were used.
  -q, --quiet         Print no warnings.

Example: encfile exec -f secrets.enc.env -- ./manage.py runserver
"""
_EXEC_DEFAULTS = ("secrets.enc.env", "secrets.enc.yaml", "secrets.enc.json")


def _option_value(name: str, inline: str, rest: list[str]) -> str:
    """An option's value: after '=', else the next argument (taken from ``rest``)."""
    if inline:
        return inline
    if not rest:
        raise errors.EncfileError(f"option {name} needs a value")
    return rest.pop(0)


def _parse_exec(args: list[str]) -> tuple[dict[str, Any], list[str], list[str]]:
    opts: dict[str, Any] = {"prefix": "", "flatten": True, "pristine": False,
                            "override": True, "input_type": None, "watch": False}
    files: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            return opts, files, rest
        if arg in ("-h", "--help"):
            sys.stdout.write(EXEC_HELP)
            sys.exit(0)
        name, _, inline = arg.partition("=")
        if name in ("-f", "--file", "--prefix", "--input-type"):
            inline = _option_value(name, inline, rest)
            if name in ("-f", "--file"):
                files.append(inline)
            else:
                opts[name.lstrip("-").replace("-", "_")] = inline
        elif arg == "--no-flatten":
            opts["flatten"] = False
        elif arg == "--pristine":
            opts["pristine"] = True
        elif arg == "--no-override":
            opts["override"] = False
        elif arg == "--watch":
            opts["watch"] = True
        elif arg in ("-v", "--verbose"):
            _Out.verbose = True
        elif arg in ("-q", "--quiet"):
            _Out.quiet = True
        elif not arg.startswith("-"):
            return opts, files, [arg, *rest]  # the command, without a '--'
        else:
            raise errors.EncfileError(f"no such option: {arg}",
                                      hints=["see 'encfile exec --help'"])
    return opts, files, []


def _exec_files(files: list[str]) -> list[str]:
    if files:
        return files
    folder = os.getcwd()
    # Only an .encfile.yaml can list files: look for one before paying for a YAML parser.
    probe = folder
    while True:
        candidate = os.path.join(probe, ".encfile.yaml")
        if os.path.isfile(candidate):
            from . import config

            listed = config.load(candidate).settings.get("exec", {})
            found = listed.get("files") if isinstance(listed, dict) else None
            if found:
                if not isinstance(found, list) or not all(isinstance(f, str) for f in found):
                    raise errors.ConfigError(f"'{candidate}': exec.files must be a list of "
                                             "paths")
                return [os.path.join(probe, f) for f in found]
            break
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    for name in _EXEC_DEFAULTS:
        if os.path.isfile(os.path.join(folder, name)):
            return [name]
    raise errors.FileMissingError(
        "no secrets file to run with",
        hints=["pass -f FILE, list files under 'exec: files:' in .encfile.yaml, or create "
               "secrets.enc.env here"])


def _become(argv: list[str], env: dict[str, str]) -> NoReturn:
    """Replace this process with ``argv`` (127/126 when it cannot be run)."""
    sys.stdout.flush()
    sys.stderr.flush()
    _supervise(lambda: os.execvpe(argv[0], argv, env), argv[0])


def _supervise(run_it: Any, program: str) -> NoReturn:
    """Exit with the supervised command's status (127/126 when it cannot be started)."""
    try:
        code = run_it()
    except FileNotFoundError:
        _say("error", f"command not found: {program!r}")
        sys.exit(127)
    except OSError as err:
        _say("error", f"cannot run {program!r}: {err.strerror or err}")
        sys.exit(126)
    sys.exit(code)


def cmd_exec(args: list[str]) -> NoReturn:
    from . import envmap
    from .document import open_text
    from .keysources.identities import IDENTITY_VARS

    opts, files, command = _parse_exec(args)
    if not command:
        raise errors.EncfileError("no command to run", hints=["usage: encfile exec [-f FILE] "
                                                               "-- COMMAND [ARGS]..."])
    keyring = _keyring()
    paths = _exec_files(files)

    def environment() -> dict[str, str]:
        values: dict[str, tuple[str, str]] = {}
        for path in paths:
            text, fmt, label = _read_input(path, opts["input_type"], what="decrypting")
            docs = open_text(text, fmt=fmt, keyring=keyring, label=label).data()
            for data in docs:
                if fmt == "ini" and isinstance(data, dict) and "DEFAULT" in data:
                    data = {**data.pop("DEFAULT"), **data}  # keys before any section
                values.update(envmap.flatten(data, prefix=opts["prefix"],
                                             nested=opts["flatten"], source=label))
            _info(f"using {label}")
        env = {} if opts["pristine"] else {k: v for k, v in os.environ.items()
                                           if k not in IDENTITY_VARS}
        for name, (value, _) in values.items():
            if opts["override"] or name not in env:
                env[name] = value
        for name in IDENTITY_VARS:
            env.pop(name, None)
        return env

    env = environment()
    if opts["watch"]:
        from . import run

        state = {"env": env}

        def refresh() -> None:
            state["env"] = environment()

        _supervise(lambda: run.supervise(command, paths, env=lambda: state["env"],
                                         refresh=refresh, log=lambda line: _say("watch", line)),
                   command[0])
    _become(command, env)


EXEC_FILE_HELP = """\
Usage: encfile exec-file [OPTIONS] FILE -- COMMAND [ARGS]...

  Run COMMAND with '{}' in its arguments replaced by a path from which it can read
  the decrypted FILE, as often as it likes. The plaintext lives in memory (a Linux
  memfd), never in a file on disk.

Options:
  --input-type TYPE   The file's format (default: from its name).
  --output-type TYPE  Convert the data (e.g. json) for the command.
  --placeholder TEXT  What to replace with the path (default: {}).
  --watch             Stay as a supervisor: refresh the content when FILE changes and
                      restart the command (or send it --signal, e.g. HUP).
  --signal NAME       With --watch: signal the command instead of restarting it.
  -v, --verbose       Say what is being done.
  -q, --quiet         Print no warnings.

Example: encfile exec-file secrets.enc.json -- myapp --config {}
"""


def cmd_exec_file(args: list[str]) -> NoReturn:
    from .document import open_text
    from .keysources.identities import IDENTITY_VARS

    opts: dict[str, Any] = {"input_type": None, "output_type": None, "placeholder": "{}",
                            "watch": False, "signal": None}
    rest = list(args)
    target: str | None = None
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            break
        if arg in ("-h", "--help"):
            sys.stdout.write(EXEC_FILE_HELP)
            sys.exit(0)
        name, _, inline = arg.partition("=")
        if arg == "--watch":
            opts["watch"] = True
            continue
        if name in ("--input-type", "--output-type", "--placeholder", "--signal"):
            opts[name[2:].replace("-", "_")] = _option_value(name, inline, rest)
        elif arg in ("-v", "--verbose"):
            _Out.verbose = True
        elif arg in ("-q", "--quiet"):
            _Out.quiet = True
        elif arg.startswith("-") and arg != "-":
            raise errors.EncfileError(f"no such option: {arg}",
                                      hints=["see 'encfile exec-file --help'"])
        elif target is None:
            target = arg
        else:
            rest.insert(0, arg)
            break
    command = rest
    if target is None or not command:
        raise errors.EncfileError("exec-file needs a file and a command",
                                  hints=["usage: encfile exec-file FILE -- COMMAND {}"])
    if not hasattr(os, "memfd_create"):
        raise errors.EncfileError("exec-file needs Linux (memfd) in this version")
    keyring = _keyring()
    reload_signal = None
    if opts["signal"]:
        import signal

        name = str(opts["signal"]).upper()
        try:
            reload_signal = signal.Signals[name if name.startswith("SIG") else "SIG" + name]
        except KeyError:
            raise errors.EncfileError(f"unknown signal {opts['signal']!r}") from None

    def content() -> bytes:
        text, fmt, label = _read_input(target, opts["input_type"], what="decrypting")
        opened = open_text(text, fmt=fmt, keyring=keyring, label=label)
        output_type = opts["output_type"]
        plain = (_convert(opened.data(), fmt, output_type) if output_type and output_type != fmt
                 else None) or opened.text()
        return plain.encode("utf-8", "surrogateescape")

    label = f"'{target}'"
    fd = os.memfd_create("encfile-plaintext", 0)  # not CLOEXEC: the command inherits it
    os.write(fd, content())
    # This process becomes the command (same pid): it and its children can open the path.
    path = f"/proc/{os.getpid()}/fd/{fd}"
    argv = [a.replace(opts["placeholder"], path) for a in command]
    if argv == command:
        _say("warning", f"no {opts['placeholder']!r} in the command: it will not see the path")
    env = {k: v for k, v in os.environ.items() if k not in IDENTITY_VARS}
    _info(f"{label} is readable at {path}")
    if opts["watch"]:
        from . import run

        def refresh() -> None:
            data = content()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)

        _supervise(lambda: run.supervise(argv, [target], env=lambda: env, refresh=refresh,
                                         log=lambda line: _say("watch", line),
                                         pass_fds=(fd,), reload_signal=reload_signal),
                   argv[0])
    _become(argv, env)


def cmd_keygen_public(path: str | None) -> None:
    """``keygen -y [FILE]``: the public key of each identity in FILE ('-': standard input;
    default: the sops key file), one per line, as ``age-keygen -y`` prints them."""
    from . import _api
    from .keysources.age import is_encrypted_identity_file, parse_identities, public_of
    from .keysources.identities import sops_default_key_file

    if path is None:
        path = os.environ.get("SOPS_AGE_KEY_FILE") or sops_default_key_file()
    if path == "-":
        text, label = _api.decode_text(sys.stdin.buffer.read(), "standard input"), "standard input"
    else:
        text, label = _api.read_file(os.path.expanduser(path)), f"'{path}'"
    if is_encrypted_identity_file(text):
        raise errors.InputError(f"{label} is passphrase-protected",
                                hints=["its public keys are in 'encfile identities' once it "
                                       "is named in SOPS_AGE_KEY_FILE"])
    parsed = parse_identities(text)
    if not parsed.identities:
        raise errors.InputError(f"{label} holds no age identity",
                                hints=[f"{label} {e}" for e in parsed.errors[:3]])
    _write_stdout("".join(public_of(i) + "\n" for i in parsed.identities).encode())


def cmd_keygen(output: str | None, use_keyring: bool = False) -> None:
    from . import _api, fsutil

    identity = _api.generate_identity()
    block = identity.file_block()
    if use_keyring:
        from .keysources import oskeyring

        oskeyring.store(identity.public, identity.secret)
        _info(f"stored in the OS keyring ({oskeyring.backend_name()}), service "
              f"'{oskeyring.SERVICE}'")
        sys.stderr.write(f"Public key: {identity.public}\n")
        if not output:
            return
    if output:
        path = os.path.expanduser(output)
        existed = os.path.exists(path)
        fsutil.append_private(path, block.encode("ascii"))
        sys.stderr.write(f"Public key: {identity.public}\n")
        _info(f"{'appended to' if existed else 'created'} '{path}'")
    else:
        _write_stdout(block.encode("ascii"))
        if not sys.stdout.isatty():
            sys.stderr.write(f"Public key: {identity.public}\n")


def cmd_init(patterns: list[str], age: str | None, no_git: bool, no_hook: bool) -> None:
    """A key if the user has none, .encfile.yaml for ``patterns``, git setup, next steps."""
    from . import _api, fsutil, gitsetup, project
    from .keysources import split_list
    from .keysources.identities import KeyRing, sops_default_key_file

    existing = os.path.exists(os.path.join(os.getcwd(), ".encfile.yaml"))
    if age:
        recipients = split_list(age)
    else:
        found = project.find_public_key(KeyRing(passphrase=_ask_passphrase))
        if found is None:
            identity = _api.generate_identity()
            key_file = sops_default_key_file()
            fsutil.append_private(key_file, identity.file_block().encode("ascii"))
            sys.stderr.write(f"encfile: created an identity in '{key_file}' (mode 0600); "
                             "back it up: without it, nothing encrypted for it can be read\n")
            found = (identity.public, key_file)
        else:
            sys.stderr.write(f"encfile: using your identity {found[0]} ({found[1]})\n")
        recipients = [found[0]]
    regex = project.rule_regex(patterns)
    if existing:
        # A clone of a project that uses encfile: its rules stay; the user needs a key
        # (above), git setup (below), and a teammate to add the key to the rules.
        _say("note", "this project already has .encfile.yaml: it is kept as it is; ask a "
             f"teammate to add your key {recipients[0]} to it and run 'encfile updatekeys -y .'")
    else:
        path = project.write_config(os.getcwd(), regex, recipients)
        sys.stderr.write(f"encfile: wrote '{path}': files matching '{regex}' are encrypted "
                         f"for {', '.join(recipients)}\n")
    in_git = False
    if not no_git:
        try:
            gitsetup.repo_root()
            in_git = True
        except errors.InputError:
            _say("note", "not a git repository: run 'encfile git setup' after 'git init'")
    if in_git:
        from . import cli_git

        cli_git._setup([], {"--no-hook"} if no_hook else set(),
                       patterns=project.attribute_patterns(patterns) if patterns else None)
    example = patterns[0].replace("**/", "").replace("*", "app") if patterns else \
        "secrets.enc.yaml"
    steps = [
        (f"encfile edit {example}", "create it in $EDITOR (plaintext stays on tmpfs)"),
        (f"encfile -e -i {example}", "or encrypt an existing file in place"),
        (f"encfile -d {example}", "print it decrypted"),
        (f"encfile exec -f {example} -- ./your-app", "run with the values in the environment"),
        ("git add .encfile.yaml" + (" .gitattributes" if in_git else "") + f" {example}", ""),
    ]
    width = max(len(command) for command, note in steps if note)
    lines = [f"  {command.ljust(width)}   # {note}" if note else f"  {command}"
             for command, note in steps]
    _write_stdout(("Next steps:\n" + "\n".join(lines) + "\n").encode())


_RULE_OPTIONS = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex",
                 "encrypted_regex", "unencrypted_comment_regex", "encrypted_comment_regex")


def run_command(name: str, opts: dict[str, Any], files: list[str]) -> None:
    """Run a command of :data:`FAST_OPTIONS` with parsed options (from typer or the fast
    parser)."""
    get = opts.get
    _Out.verbose, _Out.quiet = bool(get("verbose")), bool(get("quiet"))
    _Out.force = bool(get("force"))
    _Out.name_override = get("filename_override") or None
    if name == "updatekeys":
        cmd_updatekeys(files, bool(get("yes")), get("config"), get("input_type"))
    elif name == "status":
        cmd_status(files, bool(get("as_json")), bool(get("check")), get("config"),
                   get("input_type"))
    elif name == "encrypt":
        rules = {k: get(k) for k in _RULE_OPTIONS}
        rules["mac_only_encrypted"] = bool(get("mac_only_encrypted"))
        cmd_encrypt(files, bool(get("in_place")), get("output"), get("age"), get("input_type"),
                    get("output_type"), rules, get("config"), get("reuse_from"))
    else:
        cmd_decrypt(files, bool(get("in_place")), get("output"), get("extract"),
                    get("input_type"), get("output_type"), bool(get("ignore_mac")))


# The options of the two hot commands, for the fast parser: name -> (dest, takes a value).
# typer defines the same options below (a test checks that the two agree); the fast path
# spares ``encfile -d`` typer's import time, which alone is longer than a small decryption.
_COMMON_OPTIONS = {
    "-i": ("in_place", False), "--in-place": ("in_place", False),
    "-o": ("output", True), "--output": ("output", True),
    "--input-type": ("input_type", True), "--output-type": ("output_type", True),
    "-v": ("verbose", False), "--verbose": ("verbose", False),
    "-q": ("quiet", False), "--quiet": ("quiet", False),
    "--config": ("config", True),
    "--force": ("force", False),
    "--filename-override": ("filename_override", True),
}
_BATCH_OPTIONS = {
    "--config": ("config", True), "--input-type": ("input_type", True),
    "-v": ("verbose", False), "--verbose": ("verbose", False),
    "-q": ("quiet", False), "--quiet": ("quiet", False),
}
FAST_OPTIONS: dict[str, dict[str, tuple[str, bool]]] = {
    "decrypt": {**_COMMON_OPTIONS, "--extract": ("extract", True),
                "--ignore-mac": ("ignore_mac", False)},
    "encrypt": {**_COMMON_OPTIONS, "-a": ("age", True), "--age": ("age", True),
                "--reuse-from": ("reuse_from", True),
                "--mac-only-encrypted": ("mac_only_encrypted", False),
                **{"--" + o.replace("_", "-"): (o, True) for o in _RULE_OPTIONS}},
    # batch commands that CI and hooks run often: typer costs them 40 ms and 7 MB
    "updatekeys": {"-y": ("yes", False), "--yes": ("yes", False), **_BATCH_OPTIONS},
    "status": {"--json": ("as_json", False), "--check": ("check", False), **_BATCH_OPTIONS},
}


def fast_parse(args: Sequence[str]) -> tuple[str, dict[str, Any], list[str]] | None:
    """Parse a plain ``encrypt``/``decrypt`` call without typer; None if anything is unusual."""
    if not args or args[0] not in FAST_OPTIONS:
        return None
    table = FAST_OPTIONS[args[0]]
    opts: dict[str, Any] = {}
    files: list[str] = []
    rest = iter(args[1:])
    only_files = False
    for arg in rest:
        if only_files or arg == "-" or not arg.startswith("-"):
            files.append(arg)
            continue
        if arg == "--":
            only_files = True
            continue
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        spec = table.get(name)
        if spec is None:
            return None  # --help, typos, combined short flags: typer answers those
        dest, takes_value = spec
        if takes_value:
            if not eq:
                nxt = next(rest, None)
                if nxt is None:
                    return None
                value = nxt
            opts[dest] = value
        elif eq:
            return None
        else:
            opts[dest] = True
    return args[0], opts, files


# -- typer wiring ------------------------------------------------------------------------------------

def _build_app() -> Any:
    import typer

    app = typer.Typer(
        name="encfile",
        help="Encrypt the values of config files for age recipients (sops-compatible).\n\n"
             "Examples:\n\n"
             "  encfile -e --age age1… secrets.yaml > secrets.enc.yaml\n\n"
             "  encfile -d secrets.enc.yaml | kubectl apply -f -",
        epilog=EXIT_HELP.replace("\n", "\n\n"),
        add_completion=True,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    def version_callback(value: bool) -> None:
        if value:
            _write_stdout(version_line(program_name()).encode())
            raise typer.Exit()

    @app.callback()
    def _main(
        version: bool = typer.Option(False, "--version", help="Show the version and exit.",
                                     callback=version_callback, is_eager=True),
    ) -> None:
        """Encrypt the values of config files for age recipients (sops-compatible)."""

    verbose_opt = typer.Option(False, "--verbose", "-v", help="Say what is being done.")
    quiet_opt = typer.Option(False, "--quiet", "-q", help="Print no warnings.")
    in_place_opt = typer.Option(False, "--in-place", "-i", help="Write the result over the file.")
    output_opt = typer.Option(None, "--output", "-o", help="Write the result to this file.")
    force_opt = typer.Option(False, "--force", help="Let -o write through a symlink, FIFO or "
                             "device (refused by default).")
    override_opt = typer.Option(None, "--filename-override", help="Take the creation rule and "
                                "the format from this name instead of the file's (as sops).")
    input_type_opt = typer.Option(None, "--input-type",
                                  help="Input format: yaml, json, dotenv, ini or binary; default from the file name.")
    config_opt = typer.Option(None, "--config", help="The creation rules file (default: the "
                              "nearest .encfile.yaml or .sops.yaml above the file; "
                              "$SOPS_CONFIG).")
    output_type_opt = typer.Option(None, "--output-type",
                                   help="Output format (converts the data); default: the input format.")

    @app.command("encrypt", epilog="Example: encfile -e --age age1… -i secrets.yaml")
    def encrypt_command(
        files: list[str] = typer.Argument(None, help="File to encrypt ('-' for stdin).",
                                          show_default=False),
        in_place: bool = in_place_opt,
        output: str | None = output_opt,
        age: str | None = typer.Option(None, "--age", "-a", help="Age recipients, comma-separated "
                                       "(default: $SOPS_AGE_RECIPIENTS)."),
        input_type: str | None = input_type_opt,
        output_type: str | None = output_type_opt,
        unencrypted_suffix: str | None = typer.Option(
            None, help="Leave values in clear under keys ending with this (default _unencrypted)."),
        encrypted_suffix: str | None = typer.Option(
            None, help="Encrypt only values under keys ending with this."),
        unencrypted_regex: str | None = typer.Option(
            None, help="Leave values in clear under keys matching this regex."),
        encrypted_regex: str | None = typer.Option(
            None, help="Encrypt only values under keys matching this regex."),
        unencrypted_comment_regex: str | None = typer.Option(
            None, help="Leave in clear the values after a comment matching this regex."),
        encrypted_comment_regex: str | None = typer.Option(
            None, help="Encrypt only the values after a comment matching this regex."),
        mac_only_encrypted: bool = typer.Option(
            False, help="Compute the MAC over encrypted values only."),
        reuse_from: str | None = typer.Option(
            None, "--reuse-from", help="The previous encrypted version: keep its data key, "
            "recipients and rules, and the ciphertext of every unchanged value."),
        verbose: bool = verbose_opt,
        quiet: bool = quiet_opt,
        config: str | None = config_opt,
        force: bool = force_opt,
        filename_override: str | None = override_opt,
    ) -> None:
        """Encrypt a file's values (the same as 'encfile -e FILE')."""
        run_command("encrypt", {k: v for k, v in locals().items() if k != "files"}, files or [])

    @app.command("decrypt", epilog="Example: encfile -d secrets.enc.yaml | kubectl apply -f -")
    def decrypt_command(
        files: list[str] = typer.Argument(None, help="Files to decrypt ('-' or none: stdin); "
                                          "several are joined as one YAML stream.",
                                          show_default=False),
        in_place: bool = in_place_opt,
        output: str | None = output_opt,
        extract: str | None = typer.Option(None, "--extract",
                                           help="Print only this part, e.g. '[\"db\"][\"password\"]'."),
        input_type: str | None = input_type_opt,
        output_type: str | None = output_type_opt,
        ignore_mac: bool = typer.Option(False, "--ignore-mac",
                                        help="Do not check the file MAC (recovery only)."),
        verbose: bool = verbose_opt,
        quiet: bool = quiet_opt,
        config: str | None = config_opt,
        force: bool = force_opt,
        filename_override: str | None = override_opt,
    ) -> None:
        """Decrypt files to stdout (the same as 'encfile -d FILE')."""
        run_command("decrypt", {k: v for k, v in locals().items() if k != "files"}, files or [])

    @app.command("exec", add_help_option=False,
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                 epilog="Example: encfile exec -f secrets.enc.env -- ./manage.py runserver")
    def exec_command(ctx):  # type: ignore[no-untyped-def]
        """Run a command with the decrypted values in its environment."""
        cmd_exec(list(ctx.args))

    # typer reads annotations at run time, and this module imports typer lazily.
    exec_command.__annotations__ = {"ctx": typer.Context, "return": None}

    def exec_file_command(ctx):  # type: ignore[no-untyped-def]
        """Run a command that reads the plaintext from a path in memory ('{}')."""
        cmd_exec_file(list(ctx.args))

    exec_file_command.__annotations__ = {"ctx": typer.Context, "return": None}
    app.command("exec-file", add_help_option=False,
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                epilog="Example: encfile exec-file secrets.enc.json -- myapp --config {}")(
        exec_file_command)

    def git_command(ctx):  # type: ignore[no-untyped-def]
        """Git integration: setup, status, textconv, merge, resolve, pre-commit."""
        from . import cli_git

        cli_git.main(list(ctx.args))

    git_command.__annotations__ = {"ctx": typer.Context, "return": None}
    app.command("git", add_help_option=False,
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                epilog="Example: encfile git setup")(git_command)

    @app.command("edit", epilog="Example: EDITOR=nano encfile edit secrets.enc.yaml")
    def edit_command(
        file: str = typer.Argument(..., help="The encrypted file (created if it does not exist)."),
        input_type: str | None = input_type_opt,
        age: str | None = typer.Option(None, "--age", "-a", help="Recipients for a new file "
                                       "(default: the creation rules)."),
        config: str | None = config_opt,
        allow_disk_temp: bool = typer.Option(False, "--allow-disk-temp", help="Allow the "
                                             "plaintext on disk when no tmpfs exists."),
        verbose: bool = verbose_opt,
        quiet: bool = quiet_opt,
    ) -> None:
        """Edit the plaintext in $EDITOR (on tmpfs); unchanged values keep their ciphertext."""
        _Out.verbose, _Out.quiet = verbose, quiet
        cmd_edit(file, input_type, age, config, allow_disk_temp)

    @app.command("set", epilog="""Example: encfile set secrets.enc.yaml '["db"]["password"]' '"s3cret"'""")
    def set_command(
        file: str = typer.Argument(..., help="The encrypted file."),
        path: str = typer.Argument(..., help='The key path, as in --extract: \'["db"]["password"]\'.'),
        value: str | None = typer.Argument(None, help="The new value, as JSON."),
        value_file: str | None = typer.Option(None, "--value-file",
                                              help="Take the value (a string) from a file."),
        value_stdin: bool = typer.Option(False, "--value-stdin",
                                         help="Take the value (a string) from standard input."),
        input_type: str | None = input_type_opt,
        verbose: bool = verbose_opt,
        quiet: bool = quiet_opt,
    ) -> None:
        """Set one value (added if its key is new); other values keep their ciphertext."""
        _Out.verbose, _Out.quiet = verbose, quiet
        cmd_set(file, path, value, value_file, value_stdin, input_type)

    @app.command("unset", epilog="""Example: encfile unset secrets.enc.yaml '["old_token"]'""")
    def unset_command(
        file: str = typer.Argument(..., help="The encrypted file."),
        path: str = typer.Argument(..., help="The key path, as in --extract."),
        input_type: str | None = input_type_opt,
        verbose: bool = verbose_opt,
        quiet: bool = quiet_opt,
    ) -> None:
        """Remove one key; other values keep their ciphertext."""
        _Out.verbose, _Out.quiet = verbose, quiet
        cmd_set(file, path, None, None, False, input_type, unset=True)

    @app.command("rotate", epilog="Example: encfile rotate -i --rm-age age1old… secrets.enc.yaml")
    def rotate_command(
        files: list[str] = typer.Argument(None, help="Encrypted files.", show_default=False),
        in_place: bool = in_place_opt,
        add_age: list[str] = typer.Option([], "--add-age", help="Add these recipients."),
        rm_age: list[str] = typer.Option([], "--rm-age", help="Remove these recipients."),
        drop_unsupported_keys: bool = typer.Option(
            False, help="Drop pgp/kms/… entries (encfile cannot write them for a new key)."),
        input_type: str | None = input_type_opt,
        verbose: bool = verbose_opt,
        quiet: bool = quiet_opt,
    ) -> None:
        """New data key; every value encrypted again (and recipients changed)."""
        _Out.verbose, _Out.quiet = verbose, quiet
        cmd_rotate(files or [], in_place, add_age, rm_age, drop_unsupported_keys, input_type)

    @app.command("updatekeys", epilog="Example: encfile updatekeys -y secrets/")
    def updatekeys_command(
        paths: list[str] = typer.Argument(None, help="Files or folders (default: here).",
                                          show_default=False),
        yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking."),
        config: str | None = config_opt,
        input_type: str | None = input_type_opt,
        verbose: bool = verbose_opt,
        quiet: bool = quiet_opt,
    ) -> None:
        """Make each file's recipients match the creation rules (removing one rotates)."""
        run_command("updatekeys", {k: v for k, v in locals().items() if k != "paths"},
                    paths or [])

    @app.command("status", epilog="Example: encfile status --check .")
    def status_command(
        paths: list[str] = typer.Argument(None, help="Files or folders (default: here).",
                                          show_default=False),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
        check: bool = typer.Option(False, "--check", help="Exit 1 if a file needs attention."),
        config: str | None = config_opt,
        input_type: str | None = input_type_opt,
        verbose: bool = verbose_opt,
        quiet: bool = quiet_opt,
    ) -> None:
        """Recipients, data key age and MAC of encrypted files; plaintext that should not be."""
        run_command("status", {k: v for k, v in locals().items() if k != "paths"}, paths or [])

    @app.command("keygen", epilog="Example: encfile keygen -o ~/.config/sops/age/keys.txt")
    def keygen_command(
        output: str | None = typer.Option(None, "--output", "-o",
                                          help="Append the identity to this file (created 0600)."),
        use_keyring: bool = typer.Option(False, "--keyring", help="Store it in the OS keyring "
                                         "(service 'encfile') instead of printing it."),
        public: bool = typer.Option(False, "-y", help="Print the public key of each identity "
                                    "in FILE instead (as age-keygen -y; FILE defaults to "
                                    "$SOPS_AGE_KEY_FILE, else sops's key file)."),
        file: str | None = typer.Argument(None, metavar="[FILE]", show_default=False,
                                          help="With -y: an identity file ('-': standard "
                                          "input)."),
        verbose: bool = verbose_opt,
        quiet: bool = quiet_opt,
    ) -> None:
        """Create an age identity; print it, append it to a key file, or keep it in the OS
        keyring. With -y, print the public keys of existing identities."""
        _Out.verbose, _Out.quiet = verbose, quiet
        if public:
            cmd_keygen_public(file)
            return
        if file is not None:
            raise errors.UsageError(f"unexpected argument {file!r}",
                                    hints=["-o FILE writes a new identity; -y FILE prints "
                                           "the public keys of FILE"])
        cmd_keygen(output, use_keyring)

    @app.command("init", epilog="Example: encfile init 'secrets/*.yaml' '*.enc.env'")
    def init_command(
        patterns: list[str] = typer.Argument(None, help="Which files are secret (globs; "
                                             "default: *.enc.* and *.enc).", show_default=False),
        age: str | None = typer.Option(None, "--age", "-a", help="Recipients (default: your "
                                       "identity's public key; one is made if you have none)."),
        no_git: bool = typer.Option(False, "--no-git", help="Do not run 'encfile git setup'."),
        no_hook: bool = typer.Option(False, "--no-hook", help="Set up git without the "
                                     "pre-commit hook."),
        verbose: bool = verbose_opt,
        quiet: bool = quiet_opt,
    ) -> None:
        """Set up a project: a key if you have none, .encfile.yaml, git drivers and hook."""
        _Out.verbose, _Out.quiet = verbose, quiet
        cmd_init(patterns or [], age, no_git, no_hook)

    @app.command("identities", epilog="Example: encfile identities --json")
    def identities_command(
        as_json: bool = typer.Option(False, "--json", help="One JSON object per identity."),
        verbose: bool = verbose_opt,
        quiet: bool = quiet_opt,
    ) -> None:
        """List the identities encfile finds, and where (public keys only)."""
        _Out.verbose, _Out.quiet = verbose, quiet
        cmd_identities(as_json)

    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``encfile`` command."""
    args = list(sys.argv[1:] if argv is None else argv) or ["--help"]
    warnings.showwarning = _show_warning
    try:
        if args[0] == "--version":  # also with sops's --disable-version-check: no network
            _write_stdout(version_line(program_name()).encode())
            sys.exit(0)
        args = normalize_argv(args)
        if args and args[0] == "exec":  # its own parser: everything after '--' is the command's
            cmd_exec(args[1:])
        if args and args[0] == "exec-file":
            cmd_exec_file(args[1:])
        if args and args[0] == "git":  # git runs these once per file: no typer
            from . import cli_git

            cli_git.main(args[1:])
        fast = None if os.environ.get("ENCFILE_NO_FAST_CLI") else fast_parse(args)
        if fast is not None:
            run_command(*fast)
        else:
            import typer.main

            command = typer.main.get_command(_build_app())
            command.main(args=args, prog_name="encfile", standalone_mode=False)
    except errors.EncfileError as err:
        _fail(err)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        sys.exit(85)
    except SystemExit:
        raise
    except Exception as err:
        exit_code = getattr(err, "exit_code", None)
        if exit_code is not None and hasattr(err, "format_message"):  # click's usage errors
            _say("error", err.format_message()[:1].lower() + err.format_message()[1:])
            _say("hint", "see 'encfile --help'")
            sys.exit(EXIT_USAGE)
        if err.__class__.__name__ in ("Abort", "Exit"):
            sys.exit(getattr(err, "exit_code", 1) or 0)
        raise
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
