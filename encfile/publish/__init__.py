"""Publishing encrypted files to where running systems read their secrets (sops's
``publish``, plus AWS Secrets Manager).

A file's destination comes from the first ``destination_rules`` entry of its
``.sops.yaml`` / ``.encfile.yaml`` that matches it (:mod:`.rules`). Vault KV and
Secrets Manager get the decrypted data; S3 and GCS get the encrypted file, re-encrypted
for the rule's ``recreation_rule`` keys when it has one: plaintext never goes to a bucket.

Publishing is two steps, so that a person (or ``--dry-run``) can look in between:
:func:`prepare` reads the file and the destination's current state and returns a
:class:`~.diff.Plan` (which top-level keys a write would add, change or remove, never
their values); :meth:`Plan.apply` writes, and writes nothing when nothing changed.

    rules           destination rules -> a destination, and a file's name there
    source          one file: its bytes, its data, its copy for a recreation rule
    diff            Change and Plan: what a write would do
    vault           Vault / OpenBao KV v1 and v2 (v2 writes use check-and-set)
    aws             botocore clients and their errors, for s3 and secretsmanager
    s3              S3 objects
    gcs             Google Cloud Storage objects (google-cloud-storage)
    secretsmanager  AWS Secrets Manager: one secret, or one per top-level key
    errors          PublishError, ConflictError
"""

from __future__ import annotations

from .diff import Change, Plan
from .errors import ConflictError, NoDestinationError, PublishError
from .rules import prepare

__all__ = ["Change", "ConflictError", "NoDestinationError", "Plan", "PublishError", "prepare"]
