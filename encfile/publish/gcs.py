"""Google Cloud Storage: the encrypted file as an object at ``gcs_prefix`` + its name
(see :mod:`.objects`), through google-cloud-storage (the optional extra ``[gcp]``),
imported only when a rule names a GCS bucket.

Credentials are Google's application default credentials (``GOOGLE_APPLICATION_CREDENTIALS``,
gcloud's, a metadata server), as sops's. A write carries the generation read
(``ifGenerationMatch``, 0 for a new object), so an object someone changed in between is
reported (:class:`ConflictError`), not overwritten.
"""

from __future__ import annotations

from ..keysources import service_timeout
from . import objects
from .diff import Plan
from .errors import ConflictError, PublishError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..keysources.identities import KeyRing
    from .source import Source

EXTRA = "pip install 'encfile-sops[gcp]'"
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"


class GCS(objects.Bucket):
    SCHEME = "gs"

    def plan(self, name: str, source: Source, ctx: KeyRing) -> Plan:
        key, where, rule = self.locate(name)
        timeout = service_timeout(ctx.env)
        bucket = _client(ctx).bucket(self.bucket)
        existing: bytes | None = None
        stamp: str | None = None
        generation = 0
        try:
            blob = bucket.get_blob(key, timeout=timeout)
            if blob is not None:
                generation = int(blob.generation or 0)
                existing = blob.download_as_bytes(if_generation_match=generation,
                                                  timeout=timeout)
                stamp = (blob.metadata or {}).get(objects.STAMP)
        except Exception as err:
            raise PublishError(f"cannot read {where}: {_reason(err)}") from None
        change = objects.change(source, rule, existing, stamp, ctx)

        def write() -> str:
            data = objects.body(source, rule)
            blob = bucket.blob(key)
            if rule is not None:
                blob.metadata = {objects.STAMP: objects.stamp(source, rule)}
            try:
                blob.upload_from_string(data, content_type="application/octet-stream",
                                        if_generation_match=generation, timeout=timeout)
            except Exception as err:
                if type(err).__name__ == "PreconditionFailed":
                    raise ConflictError(f"{where} changed since it was read (generation "
                                        f"{generation}): nothing was written",
                                        hints=["someone else published meanwhile; run "
                                               "publish again to see the new change"]) \
                        from None
                raise PublishError(f"cannot write {where}: {_reason(err)}") from None
            return f"written (generation {blob.generation})" if blob.generation else "written"

        return Plan(source.label, where, change, write)


def _client(ctx: KeyRing) -> Any:
    """One storage client per run, on the application default credentials."""
    cache: dict[str, Any] = ctx.cache.setdefault("publish-gcs", {})
    if "client" in cache:
        return cache["client"]
    try:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError
        from google.cloud import storage  # type: ignore[import-untyped,attr-defined,unused-ignore]
    except ImportError:
        raise PublishError("publishing to Google Cloud Storage needs google-cloud-storage, "
                           "which is not installed", hints=[EXTRA]) from None
    try:
        credentials, project = google.auth.default(scopes=[SCOPE])
    except DefaultCredentialsError:
        raise PublishError("no Google credentials for Cloud Storage",
                           hints=["set GOOGLE_APPLICATION_CREDENTIALS to a service account "
                                  "key file, or run 'gcloud auth application-default "
                                  "login'"]) from None
    # objects are named by bucket: the project is only a label for the client
    cache["client"] = storage.Client(project=project or "-", credentials=credentials)
    return cache["client"]


def _reason(err: BaseException) -> str:
    """A google-api-core or transport error as one line (no credential)."""
    code = getattr(err, "code", None)
    message = " ".join(str(getattr(err, "message", "") or "").split())[:300]
    if isinstance(code, int):
        return f"HTTP {code}{': ' + message if message else ''}"
    name = type(err).__name__
    if name in ("RefreshError", "TransportError"):
        return f"cannot get a Google access token ({name})"
    return f"{name}: {' '.join(str(err).split())[:200]}"
