"""S3Connector against a real SeaweedFS S3 gateway over HTTP (no moto, no patched clients).

Tests marked ``s3`` use the session's SeaweedFS server; the others check configuration parsing and
the exposure mapping, which need no server.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from connectors.base import Content, default_registry
from connectors.s3 import S3Config, S3Connector, exposure_from_responses
from models import Asset, Exposure, Item
from models.errors import (
    AuthError,
    ConfigError,
    EndpointUnreachable,
    ItemUnreadable,
    TargetNotFound,
)

_AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)
_bucket_numbers = itertools.count()


@pytest.fixture(autouse=True)
def _isolated_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Whatever AWS setup the machine has must not leak into (or rescue) a test."""
    for name in _AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no 1 s instance-metadata probes


@pytest.fixture(scope="module")
def admin(s3_server: Any) -> Iterator[Any]:
    """A plain boto3 client that sets up buckets and objects for the tests."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
        region_name="us-east-1",
        config=BotoConfig(s3={"addressing_style": "path"}, max_pool_connections=32),
    )
    yield client
    client.close()


@pytest.fixture
def bucket(admin: Any) -> Iterator[str]:
    name = f"perimeter-test-{next(_bucket_numbers)}-{int(time.time() * 1000) % 10**8}"
    admin.create_bucket(Bucket=name)
    yield name
    # SeaweedFS deletes non-empty buckets (-s3.allowDeleteBucketNotEmpty defaults to true).
    admin.delete_bucket(Bucket=name)


def _connector(server: Any, target: str, **options: Any) -> S3Connector:
    options.setdefault("endpoint_url", server.endpoint_url)
    options.setdefault("access_key_id", server.access_key)
    options.setdefault("secret_access_key", server.secret_key)
    return S3Connector(S3Connector.config_from_target(target, options))


async def _discover(connector: S3Connector) -> tuple[list[Asset], list[Item]]:
    assets: list[Asset] = []
    items: list[Item] = []
    async for entry in connector.discover():
        if isinstance(entry, Asset):
            assert not items, "the bucket asset comes before its objects"
            assets.append(entry)
        else:
            items.append(entry)
    return assets, items


def _scan(connector: S3Connector) -> tuple[list[Asset], list[Item]]:
    async def main() -> tuple[list[Asset], list[Item]]:
        async with connector:
            return await _discover(connector)

    return asyncio.run(main())


def _check(connector: S3Connector) -> None:
    async def main() -> None:
        async with connector:
            await connector.check()

    asyncio.run(main())


def _put_many(admin: Any, bucket: str, keys: list[str], body: bytes = b"x") -> None:
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda key: admin.put_object(Bucket=bucket, Key=key, Body=body), keys))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class CountingProxy:
    """A loopback TCP relay that counts the bytes the server sends and records the requests.

    It sits between the connector and SeaweedFS so a test can see what really crossed the wire.
    """

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").rsplit(":", 1)
        self.upstream = (host, int(port))
        self.from_server = 0
        self.to_server = bytearray()
        self.lock = threading.Lock()
        self.closing = threading.Event()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._relay(self.request)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _relay(self, client: socket.socket) -> None:
        with (
            socket.create_connection(self.upstream) as upstream,
            selectors.DefaultSelector() as sel,
        ):
            sel.register(client, selectors.EVENT_READ, upstream)
            sel.register(upstream, selectors.EVENT_READ, client)
            while not self.closing.is_set():
                for key, _ in sel.select(timeout=0.2):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
                    with self.lock:
                        if source is upstream:
                            self.from_server += len(data)
                        else:
                            self.to_server.extend(data)

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def proxy(s3_server: Any) -> Iterator[CountingProxy]:
    relay = CountingProxy(s3_server.endpoint_url)
    yield relay
    relay.close()


# -- configuration (no server) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "bucket", "prefix"),
    [
        ("s3://my-bucket", "my-bucket", ""),
        ("s3://my-bucket/", "my-bucket", ""),
        ("s3://my-bucket/logs/2024/", "my-bucket", "logs/2024/"),
        ("s3://my-bucket/logs", "my-bucket", "logs"),
        ("s3://my.bucket/with space/ünï/", "my.bucket", "with space/ünï/"),
    ],
    ids=["bucket", "trailing-slash", "prefix", "prefix-no-slash", "raw-unicode-prefix"],
)
def test_config_from_target(target: str, bucket: str, prefix: str) -> None:
    config = S3Connector.config_from_target(target, {})
    assert (config.bucket, config.prefix) == (bucket, prefix)
    assert config.endpoint_url is None


def test_registry_routes_s3_targets() -> None:
    assert default_registry().for_target("s3://bucket/prefix/") is S3Connector


@pytest.mark.parametrize(
    "target",
    ["s3://", "s3:///prefix", "s3://ab", "s3://bad?bucket", "s3://-leading-dash", "file:///x"],
    ids=["empty", "no-bucket", "too-short", "bad-char", "leading-dash", "wrong-scheme"],
)
def test_config_rejects_bad_targets(target: str) -> None:
    with pytest.raises(ConfigError):
        S3Connector.config_from_target(target, {})


def test_unknown_option_is_rejected_by_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown option for s3:// targets: regoin") as info:
        S3Connector.config_from_target("s3://bucket", {"regoin": "eu-west-1"})
    assert "region" in str(info.value)  # the accepted names are listed


def test_none_options_keep_defaults() -> None:
    config = S3Connector.config_from_target("s3://bucket", {"endpoint_url": None, "region": None})
    assert config.endpoint_url is None and config.page_size == 1000


@pytest.mark.parametrize(
    "options",
    [
        {"page_size": 0},
        {"page_size": 5000},
        {"endpoint_url": "localhost:8333"},
        {"max_attempts": 0},
        {"secret_access_key": ["hunter2-secret"]},
    ],
    ids=["page-size-0", "page-size-big", "endpoint-no-scheme", "attempts-0", "secret-bad-type"],
)
def test_invalid_option_values_give_one_line_config_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"^invalid s3 option ") as info:
        S3Connector.config_from_target("s3://bucket", options)
    message = str(info.value)
    assert "\n" not in message
    assert "hunter2" not in message


def test_secrets_never_in_repr() -> None:
    config = S3Connector.config_from_target(
        "s3://bucket/p/",
        {
            "access_key_id": "AKIAEXAMPLE",
            "secret_access_key": "s3cr3t-value",
            "session_token": "tok-value",
        },
    )
    connector = S3Connector(config)
    for text in (repr(config), str(config), repr(connector), config.model_dump_json()):
        assert "s3cr3t-value" not in text
        assert "tok-value" not in text
    assert isinstance(config, S3Config)


def test_constructor_does_no_io() -> None:
    config = S3Connector.config_from_target(
        "s3://bucket", {"endpoint_url": f"http://127.0.0.1:{_closed_port()}"}
    )
    connector = S3Connector(config)
    assert connector._client is None  # nothing built until the first call
    asyncio.run(connector.aclose())


_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
_AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
_LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
_OWNER_GRANT = {
    "Grantee": {"ID": "abc123", "DisplayName": "owner", "Type": "CanonicalUser"},
    "Permission": "FULL_CONTROL",
}


def _acl(*group_uris: str, permission: str = "READ") -> dict[str, Any]:
    grants = [_OWNER_GRANT] + [
        {"Grantee": {"Type": "Group", "URI": uri}, "Permission": permission} for uri in group_uris
    ]
    return {"Owner": {"ID": "abc123", "DisplayName": "owner"}, "Grants": grants}


def _block(**flags: bool) -> dict[str, Any]:
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    return {"PublicAccessBlockConfiguration": {name: flags.get(name, False) for name in names}}


_ALL_BLOCKED = _block(
    BlockPublicAcls=True, IgnorePublicAcls=True, BlockPublicPolicy=True, RestrictPublicBuckets=True
)


@pytest.mark.parametrize(
    ("policy_status", "acl", "block", "expected"),
    [
        (None, None, None, Exposure.PRIVATE),
        ({"PolicyStatus": {"IsPublic": False}}, _acl(), None, Exposure.PRIVATE),
        ({"PolicyStatus": {"IsPublic": True}}, _acl(), None, Exposure.PUBLIC),
        (None, _acl(_ALL_USERS), None, Exposure.PUBLIC),
        (None, _acl(_ALL_USERS, permission="WRITE"), None, Exposure.PUBLIC),
        (None, _acl(_AUTH_USERS), None, Exposure.EXTERNAL),
        (None, _acl(_AUTH_USERS, _ALL_USERS), None, Exposure.PUBLIC),
        (None, _acl(_LOG_DELIVERY, permission="WRITE"), None, Exposure.PRIVATE),
        ({"PolicyStatus": {"IsPublic": True}}, _acl(_ALL_USERS), _ALL_BLOCKED, Exposure.PRIVATE),
        (None, _acl(_ALL_USERS), _block(IgnorePublicAcls=True), Exposure.PRIVATE),
        (None, _acl(_ALL_USERS), _block(BlockPublicAcls=True), Exposure.PUBLIC),
        (
            {"PolicyStatus": {"IsPublic": True}},
            None,
            _block(RestrictPublicBuckets=True),
            Exposure.PRIVATE,
        ),
        (
            {"PolicyStatus": {"IsPublic": True}},
            None,
            _block(IgnorePublicAcls=True),
            Exposure.PUBLIC,
        ),
    ],
    ids=[
        "no-information",
        "private",
        "public-policy",
        "acl-all-users",
        "acl-all-users-write",
        "acl-authenticated-users",
        "acl-both-groups",
        "acl-log-delivery",
        "all-four-block-flags",
        "ignore-public-acls",
        "block-new-acls-only",
        "restrict-public-buckets",
        "ignore-acls-keeps-policy",
    ],
)
def test_exposure_mapping(
    policy_status: dict[str, Any] | None,
    acl: dict[str, Any] | None,
    block: dict[str, Any] | None,
    expected: Exposure,
) -> None:
    assert exposure_from_responses(policy_status, acl, block) is expected


# -- against SeaweedFS -------------------------------------------------------------------------


@pytest.mark.s3
def test_discover_yields_bucket_then_objects_with_metadata(
    s3_server: Any, admin: Any, bucket: str
) -> None:
    bodies = {"a.txt": b"alpha", "dir/b.csv": b"name,email\nx,y@example.com\n"}
    for key, body in bodies.items():
        admin.put_object(Bucket=bucket, Key=key, Body=body)
    admin.put_object(Bucket=bucket, Key="folder/", Body=b"")  # console-style directory marker

    assets, items = _scan(_connector(s3_server, f"s3://{bucket}"))

    assert assets == [
        Asset(
            uri=f"s3://{bucket}",
            name=bucket,
            kind="bucket",
            exposure=Exposure.PRIVATE,
            owner="perimeter-admin",
        )
    ]
    assert sorted(item.path for item in items) == sorted(bodies)
    now = datetime.now(UTC)
    for item in items:
        body = bodies[item.path]
        assert item.uri == f"s3://{bucket}/{item.path}"
        assert item.container == f"s3://{bucket}"
        assert item.size == len(body)
        assert item.etag == hashlib.md5(body).hexdigest()
        assert item.modified is not None and item.modified.utcoffset() == timedelta(0)
        assert abs(now - item.modified) < timedelta(minutes=5)
        assert item.owner == "perimeter-admin"
        assert item.exposure is Exposure.PRIVATE


@pytest.mark.s3
def test_listing_follows_pages(
    s3_server: Any, admin: Any, bucket: str, proxy: CountingProxy
) -> None:
    keys = [f"k{i:03d}" for i in range(25)]
    _put_many(admin, bucket, keys)

    _, items = _scan(_connector(s3_server, f"s3://{bucket}", endpoint_url=proxy.url, page_size=7))

    assert [item.path for item in items] == keys
    # check() lists one key; discover lists 25 keys 7 at a time: 4 pages.
    assert proxy.to_server.count(b"list-type=2") == 1 + 4
    assert proxy.to_server.count(b"max-keys=7") == 4


@pytest.mark.s3
def test_more_than_1000_objects(s3_server: Any, admin: Any, bucket: str) -> None:
    keys = [f"many/{i:05d}" for i in range(1100)]
    _put_many(admin, bucket, keys)

    _, items = _scan(_connector(s3_server, f"s3://{bucket}"))

    assert [item.path for item in items] == keys


@pytest.mark.s3
def test_prefix_filters_objects(s3_server: Any, admin: Any, bucket: str) -> None:
    _put_many(admin, bucket, ["logs/2024/a", "logs/2025/b", "logsx", "data/c"])

    _, items = _scan(_connector(s3_server, f"s3://{bucket}/logs/"))
    assert sorted(item.path for item in items) == ["logs/2024/a", "logs/2025/b"]

    # Without the slash the prefix has plain S3 semantics: "logsx" starts with "logs" too.
    _, items = _scan(_connector(s3_server, f"s3://{bucket}/logs"))
    assert sorted(item.path for item in items) == ["logs/2024/a", "logs/2025/b", "logsx"]


@pytest.mark.s3
def test_ranged_read_transfers_only_the_cap(
    s3_server: Any, admin: Any, bucket: str, proxy: CountingProxy
) -> None:
    body = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32)  # 3 MiB
    admin.put_object(Bucket=bucket, Key="big.bin", Body=body)
    connector = _connector(s3_server, f"s3://{bucket}", endpoint_url=proxy.url)

    async def main() -> Content:
        async with connector:
            _, items = await _discover(connector)
            return await connector.read(items[0], 1000)

    content = asyncio.run(main())

    assert content.data == body[:1000]
    assert content.truncated is True
    assert b"range: bytes=0-999" in bytes(proxy.to_server).lower()
    # Listing, exposure calls and the ranged GET: a few KiB, not the 3 MiB object.
    assert proxy.from_server < 32 * 1024


@pytest.mark.s3
@pytest.mark.parametrize(
    ("max_bytes", "expected", "truncated"),
    [(1000, b"hello world", False), (11, b"hello world", False), (5, b"hello", True)],
    ids=["cap-above-size", "cap-equals-size", "cap-below-size"],
)
def test_small_object_read(
    s3_server: Any, admin: Any, bucket: str, max_bytes: int, expected: bytes, truncated: bool
) -> None:
    admin.put_object(Bucket=bucket, Key="small.txt", Body=b"hello world")
    connector = _connector(s3_server, f"s3://{bucket}")

    async def main() -> Content:
        async with connector:
            _, items = await _discover(connector)
            return await connector.read(items[0], max_bytes)

    assert asyncio.run(main()) == Content(data=expected, truncated=truncated)


@pytest.mark.s3
def test_empty_object_and_zero_cap(s3_server: Any, admin: Any, bucket: str) -> None:
    admin.put_object(Bucket=bucket, Key="empty", Body=b"")
    admin.put_object(Bucket=bucket, Key="full", Body=b"data")
    connector = _connector(s3_server, f"s3://{bucket}")

    async def main() -> dict[str, tuple[Content, Content]]:
        async with connector:
            _, items = await _discover(connector)
            return {
                item.path: (await connector.read(item, 100), await connector.read(item, 0))
                for item in items
            }

    results = asyncio.run(main())
    assert results["empty"] == (Content(b"", False), Content(b"", False))
    assert results["full"] == (Content(b"data", False), Content(b"", True))


@pytest.mark.s3
def test_unicode_and_space_keys_round_trip(s3_server: Any, admin: Any, bucket: str) -> None:
    keys = [
        "with space/file name.txt",
        "ünïcødé/文件.txt",
        "plus+equals=amp&.txt",
        "percent%20literal.txt",
        "question?hash#.txt",
        "emoji-🙂.txt",
    ]
    for key in keys:
        admin.put_object(Bucket=bucket, Key=key, Body=key.encode())
    connector = _connector(s3_server, f"s3://{bucket}")

    async def main() -> dict[str, Content]:
        async with connector:
            _, items = await _discover(connector)
            return {item.path: await connector.read(item, 1000) for item in items}

    results = asyncio.run(main())
    assert sorted(results) == sorted(keys)
    for key, content in results.items():
        assert content == Content(key.encode(), False)


@pytest.mark.s3
def test_object_deleted_between_listing_and_read(s3_server: Any, admin: Any, bucket: str) -> None:
    admin.put_object(Bucket=bucket, Key="gone.txt", Body=b"soon gone")
    connector = _connector(s3_server, f"s3://{bucket}")

    async def main() -> None:
        async with connector:
            _, items = await _discover(connector)
            admin.delete_object(Bucket=bucket, Key="gone.txt")
            await connector.read(items[0], 100)

    with pytest.raises(ItemUnreadable, match=r"gone\.txt: object no longer exists"):
        asyncio.run(main())


@pytest.mark.s3
def test_read_refuses_items_of_another_bucket(s3_server: Any, bucket: str) -> None:
    connector = _connector(s3_server, f"s3://{bucket}")
    stranger = Item(uri="s3://other-bucket/key", container="s3://other-bucket", path="key")
    with pytest.raises(ItemUnreadable, match="not in bucket"):
        asyncio.run(connector.read(stranger, 10))


@pytest.mark.s3
def test_missing_bucket_is_target_not_found(s3_server: Any) -> None:
    with pytest.raises(TargetNotFound, match=r"s3://no-such-bucket-here: no such bucket"):
        _check(_connector(s3_server, "s3://no-such-bucket-here"))
    with pytest.raises(TargetNotFound):
        _scan(_connector(s3_server, "s3://no-such-bucket-here"))


@pytest.mark.s3
@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"secret_access_key": "definitely-the-wrong-secret"}, "SignatureDoesNotMatch"),
        (
            {"access_key_id": "UNKNOWNKEY", "secret_access_key": "definitely-the-wrong-secret"},
            "InvalidAccessKeyId",
        ),
    ],
    ids=["wrong-secret", "unknown-key"],
)
def test_bad_credentials_are_auth_errors(
    s3_server: Any, bucket: str, options: dict[str, Any], code: str
) -> None:
    with pytest.raises(AuthError) as info:
        _check(_connector(s3_server, f"s3://{bucket}", **options))
    message = str(info.value)
    assert code in message
    assert "definitely-the-wrong-secret" not in message
    assert "\n" not in message


@pytest.mark.s3
def test_permission_errors(s3_server: Any, admin: Any, bucket: str) -> None:
    admin.put_object(Bucket=bucket, Key="secret.txt", Body=b"x")
    list_key, list_secret = s3_server.list_only
    lister = _connector(
        s3_server, f"s3://{bucket}", access_key_id=list_key, secret_access_key=list_secret
    )

    async def list_then_read() -> None:
        async with lister:
            _, items = await _discover(lister)  # ACL and policy calls denied: no information
            assert [(item.path, item.exposure) for item in items] == [
                ("secret.txt", Exposure.PRIVATE)
            ]
            await lister.read(items[0], 100)

    with pytest.raises(ItemUnreadable, match=r"secret\.txt: access denied \(AccessDenied\)"):
        asyncio.run(list_then_read())

    read_key, read_secret = s3_server.read_only
    reader = _connector(
        s3_server, f"s3://{bucket}", access_key_id=read_key, secret_access_key=read_secret
    )
    with pytest.raises(AuthError, match=r"access denied \(AccessDenied\).*s3:ListBucket"):
        _check(reader)


@pytest.mark.s3
def test_no_credentials_is_auth_error_with_hint(s3_server: Any, bucket: str) -> None:
    connector = S3Connector(
        S3Connector.config_from_target(f"s3://{bucket}", {"endpoint_url": s3_server.endpoint_url})
    )
    with pytest.raises(AuthError, match=r"no AWS credentials found: set AWS_ACCESS_KEY_ID"):
        _check(connector)


@pytest.mark.s3
def test_profile_from_shared_credentials_file(
    s3_server: Any, admin: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "aws-credentials").write_text(
        "[scanner]\n"
        f"aws_access_key_id = {s3_server.access_key}\n"
        f"aws_secret_access_key = {s3_server.secret_key}\n"
    )
    admin.put_object(Bucket=bucket, Key="x", Body=b"x")
    config = S3Connector.config_from_target(
        f"s3://{bucket}", {"endpoint_url": s3_server.endpoint_url, "profile": "scanner"}
    )
    _, items = _scan(S3Connector(config))
    assert [item.path for item in items] == ["x"]

    missing = S3Connector.config_from_target(
        f"s3://{bucket}", {"endpoint_url": s3_server.endpoint_url, "profile": "nope"}
    )
    with pytest.raises(AuthError, match="AWS profile 'nope' is not defined"):
        _check(S3Connector(missing))

    monkeypatch.setenv("AWS_PROFILE", "ghost")
    from_env = S3Connector.config_from_target(
        f"s3://{bucket}", {"endpoint_url": s3_server.endpoint_url}
    )
    with pytest.raises(AuthError, match="AWS profile 'ghost' is not defined"):
        _check(S3Connector(from_env))


@pytest.mark.s3
def test_aws_endpoint_url_env_is_honoured(
    s3_server: Any, admin: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin.put_object(Bucket=bucket, Key="env.txt", Body=b"from env")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    connector = S3Connector(S3Connector.config_from_target(f"s3://{bucket}", {}))

    async def main() -> Content:
        async with connector:
            _, items = await _discover(connector)
            return await connector.read(items[0], 100)

    assert asyncio.run(main()) == Content(b"from env", False)


@pytest.mark.s3
def test_unreachable_endpoint_fails_fast() -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    connector = S3Connector(
        S3Connector.config_from_target(
            "s3://some-bucket",
            {
                "endpoint_url": endpoint,
                "access_key_id": "key",
                "secret_access_key": "secret",
                "connect_timeout": 2,
                "max_attempts": 2,
            },
        )
    )
    started = time.monotonic()
    with pytest.raises(EndpointUnreachable) as info:
        _check(connector)
    assert time.monotonic() - started < 10
    assert str(info.value) == f"cannot reach S3 endpoint {endpoint}: connection refused"


@pytest.mark.s3
@pytest.mark.parametrize(
    ("acl", "expected"),
    [
        ("public-read", Exposure.PUBLIC),
        ("authenticated-read", Exposure.EXTERNAL),
        ("private", Exposure.PRIVATE),
    ],
    ids=["public-read", "authenticated-read", "private"],
)
def test_bucket_acl_sets_exposure(
    s3_server: Any, admin: Any, bucket: str, acl: str, expected: Exposure
) -> None:
    admin.put_bucket_acl(Bucket=bucket, ACL=acl)
    admin.put_object(Bucket=bucket, Key="doc.txt", Body=b"x")

    assets, items = _scan(_connector(s3_server, f"s3://{bucket}"))

    assert assets[0].exposure is expected
    assert [item.exposure for item in items] == [expected]


@pytest.mark.s3
def test_public_bucket_policy_sets_public_exposure(s3_server: Any, admin: Any, bucket: str) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    assets, _ = _scan(_connector(s3_server, f"s3://{bucket}"))

    assert assets[0].exposure is Exposure.PUBLIC
