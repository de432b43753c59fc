"""``encfile set`` and ``encfile unset``: one value changed, every other keeps its ciphertext."""

from __future__ import annotations

import os
import sys

from .. import errors
from . import common
from .terminal import info

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .parse import Args


def _new_value(a: Args) -> Any:
    """The new value, as sops takes it: JSON, given as VALUE, or in the file VALUE names
    (``--value-file``), or on standard input (``--value-stdin``)."""
    import json

    from .. import _api

    if a.value_file and a.value_stdin:
        raise errors.OptionConflict("--value-file and --value-stdin cannot be used together")
    if a.value_stdin:
        if a.value is not None:
            raise errors.UsageError("--value-stdin takes the value from standard input: "
                                    "drop VALUE")
        text, where = _api.decode_text(sys.stdin.buffer.read(), "standard input"), "standard input"
    elif a.value is None:
        raise errors.UsageError("missing VALUE", hints=[
            "give it as JSON ('\"s3cret\"'), or name a file with --value-file, or pipe it "
            "with --value-stdin"])
    elif a.value_file:
        text, where = _api.read_file(a.value), f"'{a.value}'"
    else:
        text, where = a.value, "the value"
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError:
        # never the text itself: it may be the secret, typed without JSON's quotes
        raise errors.SetFormatError(f"{where} is not valid JSON",
                                    hints=["a string needs JSON's quotes, as in "
                                           "'\"s3cret\"'"]) from None


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON


def _change(a: Args, *, unset: bool) -> None:
    from .. import extract as _extract
    from .. import fsutil, setpath
    from ..document import reencrypt_text
    from ..opening import open_text

    try:
        steps = _extract.parse_path(a.path)
    except errors.ExtractPathError as err:  # sops: "Invalid set index format", code 7
        raise errors.SetFormatError(err.message.replace("--extract path", "path")) from None
    new = None if unset else _new_value(a)
    if not os.path.exists(a.file):
        raise errors.FileMissingError(f"no such file: '{a.file}'")
    common.refuse_keyservice(a)
    with fsutil.locked(a.file):
        text, fmt, label = common.read_input(a.file, a.input_type, what="decrypting")
        opened = open_text(text, fmt=fmt, keyring=common.keyring(a), label=label,
                           ignore_mac=bool(a.ignore_mac))
        plain = opened.text()
        try:
            changed = setpath.unset_value(plain, fmt, steps) if unset else \
                setpath.set_value(plain, fmt, steps, new)
        except errors.PathNotFoundError as err:
            if unset and a.idempotent:  # sops: --idempotent unset of a missing key is fine
                info(f"{a.path} is not in {label}: nothing to do")
                return
            raise errors.PathNotFoundError(f"{label}: {err.message}", hints=err.hints) \
                from None
        except errors.UsageError as err:
            raise errors.UsageError(f"{label}: {err.message}", hints=err.hints) from None
        if changed == plain:
            info("no change")
            return
        result = reencrypt_text(changed, fmt=fmt, previous=opened, label=label)
        fsutil.atomic_write(a.file, result.encode("utf-8", "surrogateescape"))
    info(f"{'removed' if unset else 'set'} {a.path} in {label}")


def set_value(a: Args) -> None:
    _change(a, unset=False)


def unset_value(a: Args) -> None:
    _change(a, unset=True)
