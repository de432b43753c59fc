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
    import json

    from .. import _api

    given = [v for v in (a.value is not None, a.value_file is not None, a.value_stdin) if v]
    if len(given) != 1:
        raise errors.OptionConflict("give the value once: as an argument (JSON), --value-file or "
                       "--value-stdin")
    if a.value_file is not None:
        return _api.read_file(a.value_file)
    if a.value_stdin:
        return _api.decode_text(sys.stdin.buffer.read(), "standard input")
    try:
        return json.loads(a.value or "")
    except ValueError:
        raise errors.InputError("the value must be JSON: a string needs quotes, as in "
                                "'\"s3cret\"'") from None


def _change(a: Args, *, unset: bool) -> None:
    from .. import extract as _extract
    from .. import fsutil, setpath
    from ..document import reencrypt_text
    from ..opening import open_text

    steps = _extract.parse_path(a.path)
    new = None if unset else _new_value(a)
    if not os.path.exists(a.file):
        raise errors.FileMissingError(f"no such file: '{a.file}'")
    with fsutil.locked(a.file):
        text, fmt, label = common.read_input(a.file, a.input_type, what="decrypting")
        opened = open_text(text, fmt=fmt, keyring=common.keyring(), label=label)
        plain = opened.text()
        try:
            changed = setpath.unset_value(plain, fmt, steps) if unset else \
                setpath.set_value(plain, fmt, steps, new)
        except (errors.PathNotFoundError, errors.UsageError) as err:
            raise type(err)(f"{label}: {err.message}", hints=err.hints) from None
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
