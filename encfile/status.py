"""``encfile status``: one row per file: is it encrypted, for whom, how old is its data key,
does its MAC verify, and what needs attention (the key-age policy is ``max_age``)."""

from __future__ import annotations

import os

from . import config, files, values
from .errors import ConfigError, IntegrityError, NoIdentityError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as _dt
    from typing import Any

    from .keysources.identities import KeyRing

DEFAULT_MAX_AGE = "90d"
_DAY = 86400


def max_age_days(settings: dict[str, Any]) -> int:
    """The config's ``max_age`` (``90d``, or a number of days) as days."""
    value = str(settings.get("max_age", DEFAULT_MAX_AGE)).strip()
    number = value[:-1] if value[-1:] in "dD" else value
    try:
        return int(number)
    except ValueError:
        raise ConfigError(f"max_age {value!r} is not a number of days (like 90d)") from None


def rows(paths: list[str], keyring: KeyRing, *, config_path: str | None = None,
         input_type: str | None = None, now: _dt.datetime | None = None) -> list[dict[str, Any]]:
    """A row per encrypted file below ``paths``, and per plaintext file that a creation
    rule says is encrypted; a row with a ``problem`` needs attention."""
    import datetime as dt

    from .opening import open_text

    now = now or dt.datetime.now(dt.timezone.utc)
    out: list[dict[str, Any]] = []
    for path in files.walk_files(paths):
        if os.path.basename(path) in (*config.CONFIG_NAMES, ".sops.yml"):
            continue  # the rules themselves are plaintext on purpose
        cfg = config.find(path, explicit=config_path)
        rule = cfg.rule_for(path) if cfg is not None else None
        found = files.sniff(path, input_type)
        if found is None:
            if rule is not None and rule.path_regex:
                out.append({"file": path, "encrypted": False,
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
                limit = max_age_days(cfg.settings if cfg else {})
                if row["key_age_days"] > limit:
                    row["problem"] = f"data key older than {limit} days: rotate it"
        try:
            open_text(text, fmt=fmt, keyring=keyring, label=f"'{path}'")
            row["mac"] = "valid"
        except NoIdentityError:
            row["mac"] = "not checked (no identity)"
        except IntegrityError as err:
            row["mac"] = "INVALID"
            row["problem"] = err.message
        out.append(row)
    return out
