"""S3: the encrypted file as an object at ``s3_prefix`` + its name (see :mod:`.objects`)."""

from __future__ import annotations

from ..keysources import service_timeout
from . import aws, objects
from .diff import Plan
from .errors import PublishError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..keysources.identities import KeyRing
    from .source import Source


class S3(objects.Bucket):
    SCHEME = "s3"

    def plan(self, name: str, source: Source, ctx: KeyRing) -> Plan:
        key, where, rule = self.locate(name)
        client = aws.client("s3", ctx)
        timeout = service_timeout(ctx.env)
        existing: bytes | None = None
        stamp: str | None = None
        try:
            answer = client.get_object(Bucket=self.bucket, Key=key)
            existing = answer["Body"].read()
            stamp = (answer.get("Metadata") or {}).get(objects.STAMP)
        except Exception as err:
            if aws.code(err) not in ("NoSuchKey", "404"):
                raise PublishError(f"cannot read {where}: {aws.reason(err, timeout)}") from None
        change = objects.change(source, rule, existing, stamp, ctx)

        def write() -> str:
            data = objects.body(source, rule)
            extra = {"Metadata": {objects.STAMP: objects.stamp(source, rule)}} if rule else {}
            try:
                answer = client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)
            except Exception as err:
                raise PublishError(f"cannot write {where}: {aws.reason(err, timeout)}") \
                    from None
            version = answer.get("VersionId")
            return f"written (version {version})" if version else "written"

        return Plan(source.label, where, change, write)
