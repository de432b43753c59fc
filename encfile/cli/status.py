"""``encfile status``: the library's rows (``encfile.status``) as lines or JSON."""

from __future__ import annotations

from .. import errors
from . import common
from .terminal import write_stdout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .parse import Args


def _line(row: dict[str, Any]) -> str:
    if not row["encrypted"]:
        return f"{row['file']}: PLAINTEXT ({row['problem']})"
    age = row.get("key_age_days")
    return (f"{row['file']}: {row['format']}, {sum(map(len, row['recipients']))} "
            f"recipient(s), data key {f'age {age} days' if age is not None else 'age unknown'}"
            f", MAC {row['mac']}" + (f" -- {row['problem']}" if row.get("problem") else ""))


def status(a: Args) -> None:
    import json

    from .. import status as _status

    rows = _status.rows(a.paths, common.keyring(), config_path=a.config,
                        input_type=a.input_type)
    if a.as_json:
        write_stdout((json.dumps(rows, indent=2) + "\n").encode())
    elif rows:
        write_stdout(("\n".join(map(_line, rows)) + "\n").encode())
    problems = [r for r in rows if r.get("problem")]
    if a.check and problems:
        raise errors.EncfileError(f"{len(problems)} file(s) need attention")


def filestatus(a: Args) -> None:
    """sops's ``filestatus``: ``{"encrypted":true}`` when FILE has sops metadata with a
    version and a MAC; an unreadable file is exit 1, as in sops."""
    from .. import _api, formats
    from ..metadata import Metadata

    fmt = a.input_type or formats.detect(a.file)
    try:
        text = _api.read_file(a.file, binary=fmt == "binary")
        raw = formats.get(fmt).parse(text).metadata
        encrypted = raw is not None and bool(Metadata.from_dict(raw).version) \
            and bool(Metadata.from_dict(raw).mac)
    except errors.NotEncryptedError:
        encrypted = False
    except errors.EncfileError as err:  # sops: 1 for a missing or unparsable file
        raise errors.EncfileError(f"cannot check the status of '{a.file}': {err.message}") \
            from None
    write_stdout(b'{"encrypted":true}\n' if encrypted else b'{"encrypted":false}\n')
