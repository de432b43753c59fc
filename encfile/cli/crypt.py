"""``encfile encrypt`` (``-e``) and ``encfile decrypt`` (``-d``)."""

from __future__ import annotations

from .. import errors
from . import common
from .spec import RULE_DESTS
from .terminal import Out, Progress, info, write_stdout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .parse import Args

_STDIN_HINT = "write the result to standard output or -o FILE"


def encrypt(a: Args) -> None:
    from .. import fsutil
    from ..document import encrypt_text, reencrypt_text
    from ..opening import open_text

    if a.in_place and a.output:
        raise errors.OptionConflict("--in-place and --output cannot be used together")
    files = a.files or ["-"]  # as in sops: no file is standard input
    if len(files) > 1 and not a.in_place:
        raise errors.UsageError("several files can only be encrypted with --in-place",
                                hints=["encrypt them one by one, or add -i"])
    if a.in_place and "-" in files:
        raise errors.UsageError("--in-place needs a file, not standard input",
                                hints=[_STDIN_HINT])
    common.refuse_keyservice(a)
    flag_keys = common.flag_keys(a)
    threshold = common.shamir_threshold(a)
    rules = {k: a[k] for k in RULE_DESTS if a[k]}
    if a.mac_only_encrypted:
        rules["mac_only_encrypted"] = True
    previous = None
    if a.reuse_from:
        # The old version's key, recipients and rules; its unchanged values keep their tokens.
        if flag_keys or rules:
            raise errors.OptionConflict("--reuse-from takes the keys and rules of the old "
                                        "file: drop the key flags and the rule options")
        old_text, old_fmt, old_label = common.read_input(a.reuse_from, a.input_type,
                                                         what="decrypting")
        previous = open_text(old_text, fmt=old_fmt, keyring=common.keyring(a),
                             label=old_label)
    outputs = []
    for path in files:
        if previous is not None:
            text, fmt, label = common.read_input(path, a.input_type, what="encrypting")
            result = reencrypt_text(text, fmt=fmt, previous=previous, label=label)
            outputs.append((path, result.encode("utf-8", "surrogateescape")))
            continue
        plan = common.plan(Out.name_override or path, flag_keys, rules, a.config,
                           threshold=threshold)
        text, fmt, label = common.read_input(path, common.input_type(a.input_type),
                                             what="encrypting")
        if a.output_type and a.output_type != fmt:
            from .. import formats

            converted = common.convert(formats.get(fmt).parse(text).to_python(), fmt,
                                       a.output_type)
            text, fmt = converted or text, a.output_type
        result = encrypt_text(text, fmt=fmt, recipients=plan.groups, rules=plan.rules,
                              shamir_threshold=plan.shamir_threshold, label=label)
        count = sum(len(g) for g in plan.groups)
        info(f"encrypted {label} for {count} recipient(s)"
             + (f" in {len(plan.groups)} key groups" if len(plan.groups) > 1 else ""))
        outputs.append((path, result.encode("utf-8", "surrogateescape")))
    if a.in_place:
        for path, data in outputs:
            fsutil.atomic_write(path, data)
    elif a.output:
        fsutil.write_output(a.output, outputs[0][1], force=Out.force)
    else:
        write_stdout(outputs[0][1])


def _stream_error() -> errors.UsageError:
    return errors.UsageError("only YAML files can be decrypted into one stream",
                             hints=["decrypt the files one by one, or add --output-type yaml"])


def _check_stream(files: list[str], input_type: str | None, output_type: str | None) -> None:
    """Refuse, before decrypting anything, files that cannot make one YAML stream."""
    from .. import formats

    if output_type is not None:
        if output_type != "yaml":
            raise _stream_error()
    elif any((input_type or formats.detect(f)) != "yaml" for f in files if f != "-"):
        raise _stream_error()


def decrypt(a: Args) -> None:
    from ..opening import open_text

    if a.in_place and a.output:
        raise errors.OptionConflict("--in-place and --output cannot be used together")
    if a.in_place and a.extract:
        raise errors.OptionConflict("--in-place and --extract cannot be used together")
    files = a.files or ["-"]
    if a.in_place and "-" in files:
        raise errors.UsageError("--in-place needs a file, not standard input",
                                hints=[_STDIN_HINT])
    input_type = common.input_type(a.input_type)
    if len(files) > 1 and not a.in_place and not a.extract:
        _check_stream(files, input_type, a.output_type)
    common.refuse_keyservice(a)
    path_spec = None
    if a.extract:  # extract, and files for several files: off the one-file start-up path
        from .. import extract as _extract

        path_spec = _extract.parse_path(a.extract)
    keyring = common.keyring(a)
    results: list[tuple[str, str]] = []
    all_yaml = True
    progress = Progress("decrypting", len(files))
    try:
        for done, path in enumerate(files):
            progress.step(done)
            text, fmt, label = common.read_input(path, input_type, what="decrypting")
            all_yaml = all_yaml and (a.output_type or fmt) == "yaml"
            opened = open_text(text, fmt=fmt, keyring=keyring, label=label,
                               ignore_mac=a.ignore_mac)
            info(f"decrypted {label}")
            target = a.output_type or fmt
            if path_spec is not None:
                from .. import convert

                docs = opened.sops_data()  # as sops sees them: dotenv quotes, INI's DEFAULT
                try:
                    value = _extract.select(docs[0] if len(docs) == 1 else docs, path_spec)
                except errors.PathNotFoundError as err:
                    raise errors.PathNotFoundError(f"--extract: {err.message}") from None
                plain = convert.render_part(value, target, None if isinstance(value, str)
                                            else common.indent(a, path, target, a.config))
            elif a.output_type and a.output_type != fmt:
                plain = common.convert(opened.sops_data(), fmt, a.output_type,
                                       common.indent(a, path, a.output_type, a.config)) or ""
            else:
                plain = opened.text()
            results.append((path, plain))
    finally:
        progress.close()
    for line in keyring.tried:
        info(f"identity source {line}")
    if a.in_place:
        from .. import fsutil  # only when writing: standard output needs none of it

        for path, plain in results:
            fsutil.atomic_write(path, plain.encode("utf-8", "surrogateescape"))
        return
    # Several YAML files make one stream of documents (for kubectl apply -f -).
    plains = [plain for _, plain in results]
    if len(plains) > 1 and not all_yaml:  # standard input, whose format is known only now
        raise _stream_error()
    if len(plains) > 1:
        from .. import files as _files

        plains = [_files.join_yaml_stream(plains)]
    data = plains[0].encode("utf-8", "surrogateescape")
    if a.output:
        from .. import fsutil

        fsutil.write_output(a.output, data, private=True, force=Out.force)
    else:
        write_stdout(data)
