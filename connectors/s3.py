"""Amazon S3 and S3-compatible stores: ``perimeter scan s3://bucket[/prefix]``.

Credentials follow the standard AWS chain (environment, shared config/credentials files and
``profile``, SSO, container and instance roles) unless ``access_key_id``/``secret_access_key`` are
given. ``endpoint_url`` (or ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``) selects an S3-compatible
server, which is then addressed path-style (``http://host/bucket/key``).

Exposure of the bucket, applied to every object in it (object ACLs are not read: one extra call
per object would double the cost of a scan):

    ==============================================  =========
    bucket policy status ``IsPublic: true``          public
    bucket ACL grant to the ``AllUsers`` group       public
    bucket ACL grant to ``AuthenticatedUsers``       external  (any AWS account)
    none of the above                                private
    ==============================================  =========

A bucket public access block overrides the above: ``IgnorePublicAcls`` discards both ACL rows
and ``RestrictPublicBuckets`` discards the policy row, so all four flags true always gives private.
Account-level public access blocks (S3 Control) are not read. Each of the three calls may be
denied or unimplemented (S3-compatible servers often answer ``NotImplemented``); that is "no
information", never a scan failure.

Object bytes are fetched with ``Range: bytes=0-(max_bytes - 1)``, so a 10 GB object costs
``max_bytes`` of transfer, not 10 GB.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from connectors.base import ConnectorBase, Content, invalid_options
from models import Asset, Exposure, Item
from models.errors import (
    AuthError,
    ConfigError,
    EndpointUnreachable,
    ItemUnreadable,
    PerimeterError,
    SourceError,
    TargetNotFound,
)

log = logging.getLogger(__name__)

_BUCKET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$")
_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
_AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
_AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "TokenRefreshRequired",
        "401",
        "403",
    }
)
_NOT_FOUND_CODES = frozenset({"NoSuchBucket", "404", "NotFound"})
_AUTH_HINTS = {
    "InvalidAccessKeyId": "the access key ID is not known to the endpoint",
    "SignatureDoesNotMatch": "the secret access key does not match the access key ID",
    "ExpiredToken": "the session token has expired",
    "InvalidToken": "the session token is malformed or invalid",
    "TokenRefreshRequired": "the session token must be refreshed",
}
_MAX_POOL_CONNECTIONS = 32  # the scanner reads several objects at once


class S3Config(BaseModel):
    """Settings of one S3 source. Secrets are ``SecretStr``: never shown in repr or logs."""

    model_config = ConfigDict(extra="forbid")

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    page_size: int = Field(default=1000, ge=1, le=1000)  # keys per ListObjectsV2 call
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=20)  # botocore "standard" retry mode

    @field_validator("bucket")
    @classmethod
    def _valid_bucket(cls, value: str) -> str:
        if not _BUCKET_RE.match(value):
            raise ValueError("a bucket name is 3-255 letters, digits, dots, hyphens or underscores")
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _valid_endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/?#\s]+", value):
            raise ValueError("endpoint_url must be an http:// or https:// URL")
        return value


# Options a CLI or a stored Source may set; bucket and prefix come from the target itself.
_OPTIONS = tuple(name for name in S3Config.model_fields if name not in ("bucket", "prefix"))


class S3Connector(ConnectorBase):
    """Lists the objects of one bucket (optionally under a prefix) and reads their first bytes."""

    kind: ClassVar[str] = "s3"
    schemes: ClassVar[tuple[str, ...]] = ("s3",)
    Config: ClassVar[type[BaseModel]] = S3Config

    def __init__(self, config: S3Config) -> None:
        self.config = config
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._endpoint_label = config.endpoint_url or "the AWS S3 endpoint"

    def __repr__(self) -> str:
        endpoint = f", endpoint={self.config.endpoint_url!r}" if self.config.endpoint_url else ""
        return f"S3Connector(s3://{self.config.bucket}/{self.config.prefix}{endpoint})"

    @classmethod
    def config_from_target(cls, target: str, options: dict[str, Any]) -> S3Config:
        bucket, prefix = _parse_target(target)
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ConfigError(
                f"unknown option{'s' if len(unknown) > 1 else ''} for s3:// targets: "
                f"{', '.join(unknown)}; accepted: {', '.join(_OPTIONS)}"
            )
        # An option the CLI passes as None was not given: keep the default.
        given = {key: value for key, value in options.items() if value is not None}
        try:
            return S3Config(bucket=bucket, prefix=prefix, **given)
        except ValidationError as exc:
            # Not chained: a ValidationError's text echoes input values, which may be secrets.
            raise invalid_options("s3", exc) from None

    # -- client ---------------------------------------------------------------------------

    def _get_client(self) -> Any:
        """The boto3 client, built on first use (in a worker thread: it reads config files)."""
        with self._client_lock:
            if self._client is None:
                self._client = self._build_client()
            return self._client

    def _build_client(self) -> Any:
        import boto3
        from botocore.config import Config as BotoConfig
        from botocore.exceptions import BotoCoreError, ProfileNotFound

        cfg = self.config
        endpoint = cfg.endpoint_url or _endpoint_from_env()
        s3_options: dict[str, str] = {}
        if endpoint:
            # S3-compatible servers (SeaweedFS, MinIO, ...) rarely resolve bucket sub-domains.
            s3_options["addressing_style"] = "path"
        botocore_config = BotoConfig(
            connect_timeout=cfg.connect_timeout,
            read_timeout=cfg.read_timeout,
            retries={"mode": "standard", "max_attempts": cfg.max_attempts},
            s3=s3_options or None,
            max_pool_connections=_MAX_POOL_CONNECTIONS,
            user_agent_extra="perimeter",
        )
        try:
            session = boto3.Session(
                profile_name=cfg.profile,
                region_name=cfg.region,
                aws_access_key_id=_reveal(cfg.access_key_id),
                aws_secret_access_key=_reveal(cfg.secret_access_key),
                aws_session_token=_reveal(cfg.session_token),
            )
            client = session.client("s3", endpoint_url=endpoint, config=botocore_config)
        except ProfileNotFound as exc:
            profile = cfg.profile or exc.kwargs.get("profile")  # may come from AWS_PROFILE
            raise AuthError(
                f"AWS profile {profile!r} is not defined in the shared config or credentials files"
            ) from exc
        except BotoCoreError as exc:
            raise SourceError(f"cannot set up the S3 client: {_one_line(str(exc))}") from exc
        self._endpoint_label = client.meta.endpoint_url or self._endpoint_label
        return client

    async def _call(self, method: str, **kwargs: Any) -> Any:
        def run() -> Any:
            return getattr(self._get_client(), method)(**kwargs)

        return await asyncio.to_thread(run)

    # -- Connector API -------------------------------------------------------------------------

    async def check(self) -> None:
        """One ListObjectsV2 of a single key: proves the bucket exists and may be listed."""
        try:
            await self._call(
                "list_objects_v2", Bucket=self.config.bucket, Prefix=self.config.prefix, MaxKeys=1
            )
        except PerimeterError:
            raise
        except Exception as exc:
            raise self._source_error(exc) from exc

    async def discover(self) -> AsyncIterator[Asset | Item]:
        await self.check()
        bucket = self.config.bucket
        exposure, owner = await self._bucket_exposure()
        container = f"s3://{bucket}"
        yield Asset(uri=container, name=bucket, kind="bucket", exposure=exposure, owner=owner)
        async for entry in self._list_objects():
            key = entry["Key"]
            size = int(entry.get("Size", 0))
            if key.endswith("/") and size == 0:
                continue  # a "folder" placeholder made by consoles, holds no data
            yield Item(
                # The key is kept verbatim (not percent-encoded): read() splits the URI at the
                # first "/" after the bucket, so any key, spaces and unicode included, round-trips.
                uri=f"{container}/{key}",
                container=container,
                path=key,
                size=size,
                modified=_utc(entry.get("LastModified")),
                etag=_strip_etag(entry.get("ETag")),
                owner=_owner_name(entry.get("Owner")),
                exposure=exposure,
            )

    async def read(self, item: Item, max_bytes: int) -> Content:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        bucket, key = self._split_item_uri(item)
        if max_bytes == 0:
            return Content(data=b"", truncated=item.size is None or item.size > 0)
        try:
            return await asyncio.to_thread(self._read_range, bucket, key, max_bytes, item.size)
        except PerimeterError:
            raise
        except Exception as exc:
            raise self._item_error(item, exc) from exc

    async def aclose(self) -> None:
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    # -- helpers --------------------------------------------------------------------------------

    def _split_item_uri(self, item: Item) -> tuple[str, str]:
        rest = item.uri.removeprefix("s3://")
        bucket, sep, key = rest.partition("/")
        if rest == item.uri or not sep or not key:
            raise ItemUnreadable(f"{item.uri}: not an s3://bucket/key URI")
        if bucket != self.config.bucket:
            # Connectors talk only to what their source names.
            raise ItemUnreadable(f"{item.uri}: not in bucket {self.config.bucket!r}")
        return bucket, key

    def _read_range(self, bucket: str, key: str, max_bytes: int, size: int | None) -> Content:
        from botocore.exceptions import ClientError

        try:
            response = self._get_client().get_object(
                Bucket=bucket, Key=key, Range=f"bytes=0-{max_bytes - 1}"
            )
        except ClientError as exc:
            if _error_code(exc) == "InvalidRange":
                # The only unsatisfiable range starting at byte 0 is that of an empty object.
                return Content(data=b"", truncated=False)
            raise
        body = response["Body"]
        try:
            data = _read_at_most(body.read, max_bytes)
        finally:
            # Closing drops whatever is left (a server that ignored Range) instead of draining it.
            body.close()
        total = _total_from_content_range(response.get("ContentRange"))
        if total is None and response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 200:
            total = response.get("ContentLength")  # the server sent the whole object
        if total is None:
            total = size
        truncated = total > len(data) if total is not None else len(data) >= max_bytes
        return Content(data=data, truncated=truncated)

    async def _list_objects(self) -> AsyncIterator[dict[str, Any]]:
        fetch_owner = True
        while True:
            pages = self._pages(fetch_owner)
            first = True
            try:
                while True:
                    page = await asyncio.to_thread(_next_or_none, pages)
                    if page is None:
                        return
                    for entry in page.get("Contents", ()):
                        yield entry
                    first = False
            except PerimeterError:
                raise
            except Exception as exc:
                if first and fetch_owner and _is_unsupported(exc):
                    # Some S3-compatible servers reject FetchOwner: list without owners.
                    fetch_owner = False
                    continue
                raise self._source_error(exc) from exc

    def _pages(self, fetch_owner: bool) -> Iterator[dict[str, Any]]:
        paginator = self._get_client().get_paginator("list_objects_v2")
        kwargs: dict[str, Any] = {"Bucket": self.config.bucket, "Prefix": self.config.prefix}
        if fetch_owner:
            kwargs["FetchOwner"] = True
        pages: Iterator[dict[str, Any]] = iter(
            paginator.paginate(**kwargs, PaginationConfig={"PageSize": self.config.page_size})
        )
        return pages

    async def _bucket_exposure(self) -> tuple[Exposure, str | None]:
        bucket = self.config.bucket
        policy_status, acl, block = await asyncio.gather(
            self._optional("get_bucket_policy_status", Bucket=bucket),
            self._optional("get_bucket_acl", Bucket=bucket),
            self._optional("get_public_access_block", Bucket=bucket),
        )
        owner = _owner_name(acl.get("Owner")) if acl else None
        return exposure_from_responses(policy_status, acl, block), owner

    async def _optional(self, method: str, **kwargs: Any) -> dict[str, Any] | None:
        """A call whose failure only means "no information" (denied, unimplemented, absent)."""
        try:
            result: dict[str, Any] = await self._call(method, **kwargs)
        except PerimeterError:
            raise
        except Exception as exc:
            log.debug(
                "s3 %s on %s gave no information: %s",
                method,
                kwargs.get("Bucket"),
                _error_code(exc) or type(exc).__name__,
            )
            return None
        return result

    def _source_error(self, exc: BaseException) -> SourceError:
        """Translate a boto3/botocore exception about the whole bucket into one clear line."""
        where = f"s3://{self.config.bucket}"
        reachability = self._unreachable_reason(exc)
        if reachability is not None:
            return EndpointUnreachable(
                f"cannot reach S3 endpoint {self._endpoint_label}: {reachability}"
            )
        auth = _credential_problem(exc)
        if auth is not None:
            return AuthError(auth)
        code = _error_code(exc)
        if code is None:
            return SourceError(f"{where}: {_one_line(str(exc)) or type(exc).__name__}")
        if code in _NOT_FOUND_CODES:
            return TargetNotFound(f"{where}: no such bucket at {self._endpoint_label}")
        if code in _AUTH_CODES:
            hint = _AUTH_HINTS.get(
                code, "the credentials may not list this bucket (needs s3:ListBucket)"
            )
            return AuthError(f"{where}: access denied ({code}): {hint}")
        if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "301"):
            return SourceError(f"{where}: the bucket is in another region; set the region option")
        return SourceError(f"{where}: {code}: {_error_message(exc)}")

    def _item_error(self, item: Item, exc: BaseException) -> ItemUnreadable:
        reachability = self._unreachable_reason(exc)
        if reachability is not None:
            return ItemUnreadable(
                f"{item.uri}: S3 endpoint {self._endpoint_label} unreachable: {reachability}"
            )
        auth = _credential_problem(exc)
        if auth is not None:
            return ItemUnreadable(f"{item.uri}: {auth}")
        code = _error_code(exc)
        if code in ("NoSuchKey", "404", "NotFound"):
            return ItemUnreadable(f"{item.uri}: object no longer exists (deleted since listing?)")
        if code in ("NoSuchBucket",):
            return ItemUnreadable(f"{item.uri}: bucket no longer exists")
        if code in _AUTH_CODES:
            hint = _AUTH_HINTS.get(code, "needs s3:GetObject")
            return ItemUnreadable(f"{item.uri}: access denied ({code}): {hint}")
        if code == "InvalidObjectState":
            return ItemUnreadable(f"{item.uri}: object is archived; restore it before scanning")
        if code is not None:
            return ItemUnreadable(f"{item.uri}: {code}: {_error_message(exc)}")
        return ItemUnreadable(f"{item.uri}: {_one_line(str(exc)) or type(exc).__name__}")

    def _unreachable_reason(self, exc: BaseException) -> str | None:
        from botocore.exceptions import (
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
            SSLError,
        )

        if isinstance(exc, ConnectTimeoutError):
            return f"no connection within {self.config.connect_timeout:g}s"
        if isinstance(exc, ReadTimeoutError):
            return f"no response within {self.config.read_timeout:g}s"
        if isinstance(exc, SSLError):
            return "TLS handshake failed"
        if isinstance(exc, ConnectionClosedError):
            return "the server closed the connection"
        if isinstance(exc, EndpointConnectionError):
            # The socket-level cause ("[Errno 111] Connection refused") is only in kwargs.
            text = f"{exc} {getattr(exc, 'kwargs', {}).get('error', '')}".lower()
            if "refused" in text:
                return "connection refused"
            if (
                "name or service not known" in text
                or "nodename nor servname" in text
                or ("name resolution" in text)
            ):
                return "host name not found"
            return "could not connect"
        return None


def exposure_from_responses(
    policy_status: Mapping[str, Any] | None,
    acl: Mapping[str, Any] | None,
    public_access_block: Mapping[str, Any] | None,
) -> Exposure:
    """Bucket exposure from the GetBucketPolicyStatus, GetBucketAcl and GetPublicAccessBlock
    responses (boto3 shapes; ``None`` where the call gave no information). See the module doc.
    """
    block = (public_access_block or {}).get("PublicAccessBlockConfiguration") or {}
    ignore_acls = bool(block.get("IgnorePublicAcls"))
    restrict_policy = bool(block.get("RestrictPublicBuckets"))

    exposure = Exposure.PRIVATE
    if not restrict_policy and (policy_status or {}).get("PolicyStatus", {}).get("IsPublic"):
        exposure = Exposure.PUBLIC
    if not ignore_acls:
        for grant in (acl or {}).get("Grants", ()):
            grantee = grant.get("Grantee") or {}
            uri = grantee.get("URI")
            if uri == _ALL_USERS:
                exposure = Exposure.PUBLIC
            elif uri == _AUTHENTICATED_USERS and exposure is Exposure.PRIVATE:
                exposure = Exposure.EXTERNAL
    return exposure


def _parse_target(target: str) -> tuple[str, str]:
    if not target.startswith("s3://"):
        raise ConfigError(f"not an s3:// target: {target!r}")
    bucket, _, prefix = target.removeprefix("s3://").partition("/")
    if not bucket:
        raise ConfigError(f"{target!r}: the target names no bucket (expected s3://bucket/prefix)")
    if not _BUCKET_RE.match(bucket):
        raise ConfigError(
            f"{target!r}: invalid bucket name {bucket!r} "
            "(3-255 letters, digits, dots, hyphens or underscores)"
        )
    return bucket, prefix


def _endpoint_from_env() -> str | None:
    # Mirrors botocore's own precedence, so path-style addressing follows the env endpoint too.
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def _credential_problem(exc: BaseException) -> str | None:
    from botocore.exceptions import (
        CredentialRetrievalError,
        NoCredentialsError,
        PartialCredentialsError,
        SSOError,
        TokenRetrievalError,
    )

    if isinstance(exc, NoCredentialsError):
        return (
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE (or the profile option), or run with an instance or container role"
        )
    if isinstance(exc, PartialCredentialsError):
        return "incomplete AWS credentials: an access key ID needs its secret access key"
    if isinstance(exc, CredentialRetrievalError | TokenRetrievalError | SSOError):
        return f"could not obtain AWS credentials ({type(exc).__name__})"
    return None


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    if code:
        return str(code)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(status) if status else None


def _error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    message = ""
    if isinstance(response, dict):
        message = str(response.get("Error", {}).get("Message") or "")
    return _one_line(message) or "request failed"


def _is_unsupported(exc: BaseException) -> bool:
    code = _error_code(exc)
    return code in ("NotImplemented", "501", "InvalidArgument", "InvalidRequest")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _next_or_none(pages: Iterator[dict[str, Any]]) -> dict[str, Any] | None:
    return next(pages, None)


def _read_at_most(read: Callable[[int], bytes], limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = read(min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _total_from_content_range(value: str | None) -> int | None:
    # "bytes 0-999/3145728"; the total may be "*" when the server does not know it.
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def _strip_etag(etag: str | None) -> str | None:
    return etag.strip('"') if etag else None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _owner_name(owner: Mapping[str, Any] | None) -> str | None:
    if not owner:
        return None
    name = owner.get("DisplayName") or owner.get("ID")
    return str(name) if name else None
