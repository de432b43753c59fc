"""botocore clients for S3 and Secrets Manager, and their errors as one line.

Credentials, region and endpoints are the usual AWS settings, read by botocore from the
process environment and the shared files (``AWS_PROFILE``, ``AWS_REGION``,
``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_S3`` / ``_SECRETS_MANAGER``…), as sops's
S3 publishing reads them. botocore comes with boto3, the optional extra ``[aws]``.
"""

from __future__ import annotations

from ..keysources import service_timeout
from .errors import PublishError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..keysources.identities import KeyRing

EXTRA = "pip install 'encfile-sops[aws]'"
NAMES = {"s3": "S3", "secretsmanager": "Secrets Manager"}


def client(service: str, ctx: KeyRing) -> Any:
    """One client per service and run."""
    cache: dict[str, Any] = ctx.cache.setdefault("publish-aws", {})
    if service in cache:
        return cache[service]
    try:
        import botocore.session  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]
    except ImportError:
        raise PublishError(f"publishing to {NAMES[service]} needs boto3, which is not "
                           "installed", hints=[EXTRA]) from None
    timeout = service_timeout(ctx.env)
    try:
        session = botocore.session.Session()
        region = session.get_config_variable("region")
        if not region and service != "s3":
            raise PublishError(f"no AWS region for {NAMES[service]}",
                               hints=["set AWS_REGION, or a region in the AWS profile"])
        cache[service] = session.create_client(
            service, region_name=region or None,
            config=Config(connect_timeout=timeout, read_timeout=timeout,
                          retries={"total_max_attempts": 2}))
    except PublishError:
        raise
    except Exception as err:  # botocore's: a missing profile, a bad config file
        raise PublishError(f"cannot use {NAMES[service]}: {reason(err, timeout)}") from None
    return cache[service]


def code(err: BaseException) -> str:
    """The service's error code (``NoSuchKey``, ``ResourceNotFoundException``), or ""."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""


def status(err: BaseException) -> int:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        return int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    return 0


def reason(err: BaseException, timeout: float) -> str:
    """A botocore error as one line that holds no credential."""
    name = type(err).__name__
    if name == "NoCredentialsError":
        return ("no AWS credentials (boto3 looked in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                "AWS_PROFILE and ~/.aws, SSO, web identity, container and instance roles)")
    if name in ("ReadTimeoutError", "ConnectTimeoutError"):
        return f"no answer within {timeout:g} s (ENCFILE_KEY_SERVICE_TIMEOUT)"
    if name in ("CredentialRetrievalError", "PartialCredentialsError"):
        return f"incomplete AWS credentials ({name})"
    if name == "ProfileNotFound":
        return f"AWS profile {getattr(err, 'kwargs', {}).get('profile', '?')!r} not found"
    found = code(err)
    if found:
        message = str(((getattr(err, "response", None) or {}).get("Error") or {})
                      .get("Message") or "")
        message = " ".join(message.split())[:300]
        http = f"HTTP {status(err)}, " if status(err) else ""
        return f"{found} ({http.rstrip(', ') or 'refused'}){': ' + message if message else ''}"
    if name in ("EndpointConnectionError", "ConnectionClosedError"):
        return f"cannot reach the endpoint ({' '.join(str(err).split())[:200]})"
    return f"{name}: {' '.join(str(err).split())[:200]}"
