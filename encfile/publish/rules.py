"""A file's destination: the first matching ``destination_rules`` entry, as a
destination object, and the name the file gets there.

As in sops: a file named on its own is published under its base name, a file found
in a folder (``--recursive``) under its path below that folder; ``omit_extensions``
(or the rule's ``omit_extensions: true``) drops the last extension (``app.enc.yaml``
-> ``app.enc``). A rule names exactly one destination.
"""

from __future__ import annotations

import os

from ..errors import ConfigError
from .errors import NoDestinationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..config import DestinationRule
    from ..keysources.identities import KeyRing
    from .diff import Plan


def destination(rule: DestinationRule) -> Any:
    """The destination a checked rule names (each module is imported only when used)."""
    values = rule.values
    if isinstance(rule.item, dict) and "reencryption_rule" in rule.item and (
            values.get("s3_bucket") or values.get("gcs_bucket")):
        import warnings

        from ..errors import EncfileWarning

        warnings.warn(f"{rule.label} line {rule.line}: sops reads a destination's keys as "
                      "'recreation_rule' and ignores 'reencryption_rule' (sops publishes "
                      "the file as it is); encfile uses it", EncfileWarning, stacklevel=2)
    if values.get("vault_path"):
        from .vault import VaultKV

        return VaultKV(values.get("vault_address") or "", values["vault_path"],
                       values.get("vault_kv_mount_name") or "",
                       values.get("vault_kv_version") or 2)
    if values.get("s3_bucket"):
        from .s3 import S3

        return S3(values["s3_bucket"], values.get("s3_prefix") or "", rule.recreation)
    if values.get("gcs_bucket"):
        from .gcs import GCS

        return GCS(values["gcs_bucket"], values.get("gcs_prefix") or "", rule.recreation)
    from .secretsmanager import SecretsManager

    return SecretsManager(values["aws_secret_name"], bool(values.get("aws_secret_split")))


def name_for(path: str, root: str | None, omit_extensions: bool) -> str:
    """The file's name at its destination: below ``root`` (a walked folder), else its
    base name; without its last extension if asked."""
    if root is not None:
        name = os.path.relpath(path, root).replace(os.sep, "/")
    else:
        name = os.path.basename(path)
    extension = os.path.splitext(path)[1]
    if omit_extensions and extension and name.endswith(extension):
        name = name[:-len(extension)]
    return name


def prepare(path: str, *, ctx: KeyRing, config_path: str | None = None,
            root: str | None = None, omit_extensions: bool = False) -> Plan:
    """The plan for publishing ``path``: its destination read, the change worked out,
    nothing written. ``root``: the folder ``path`` was found in (``--recursive``).

    NotEncryptedError for a file without sops metadata; NoDestinationError if no rule
    matches; ConfigError for a bad rule or no config; PublishError when the destination
    cannot be read.
    """
    from .. import config
    from .source import Source

    source = Source(path, ctx)  # first: a file that is not encrypted needs no rule
    found = config.find(path, explicit=config_path)
    if found is None:
        raise ConfigError(f"no .sops.yaml or .encfile.yaml for '{path}': publish needs its "
                          "destination_rules", hints=["add destination_rules to the "
                                                      ".sops.yaml of the project"])
    rule = found.destination_for(path)
    if rule is None:
        patterns = ", ".join(repr(r.item.get("path_regex") or "") for r in
                             found.destination_rules if isinstance(r.item, dict)) or "none"
        raise NoDestinationError(
            f"no destination rule in '{found.path}' matches '{path}'",
            hints=[f"the rules' path_regex: {patterns} (matched against "
                   f"'{found.relative(path)}')"])
    target = destination(rule)
    name = name_for(path, root, omit_extensions or bool(rule.values.get("omit_extensions")))
    plan: Plan = target.plan(name, source, ctx)
    return plan
