"""M365Connector over real HTTP against the in-repo fake Microsoft Graph and token endpoint."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.base import Incremental, ReportsAccess, default_registry
from connectors.http import HttpSettings
from connectors.m365 import M365Config, M365Connector, exposure_from_permissions
from models import Exposure, Item
from models.errors import AuthError, ConfigError, ItemUnreadable
from tests.connectors.fakes import discover_all
from tests.connectors.fakes._drive_common import running_in_thread
from tests.connectors.fakes.m365 import (
    FakeGraph,
    FakeItem,
    grant,
    link,
    server_error,
    throttled,
)

SECRET = "s3cr3t-client-value"
FAST = HttpSettings(backoff_base=0.01, backoff_max=0.05, max_retries=3)
HR = "contoso.sharepoint.com,site-hr,web-hr"
LEGAL = "contoso.sharepoint.com,site-legal,web-legal"
GUEST_LOGIN = "i:0#.f|membership|bob_partner.org#ext#@contoso.onmicrosoft.com"


def populate(fake: FakeGraph) -> None:
    """An HR library (folder + five files), a forbidden Legal site, and a user's OneDrive."""
    fake.clients["app-1"] = SECRET
    fake.add_drive("b!hr", "Documents", site=HR)
    fake.add_drive("b!legal", "Contracts", site=LEGAL)
    fake.forbidden_sites.add(LEGAL)
    fake.put("b!hr", FakeItem("fld-pay", "Payroll", folder=True))
    fake.put(
        "b!hr",
        FakeItem(
            "i-payroll",
            "payroll.csv",
            b"name,ssn\nAda,536-22-1234\n",
            parent="fld-pay",
            mime_type="text/csv",
            permissions=[grant("hr@contoso.com")],
        ),
    )
    fake.put(
        "b!hr",
        FakeItem("i-handbook", "handbook.txt", b"handbook", permissions=[link("organization")]),
    )
    fake.put(
        "b!hr", FakeItem("i-press", "press.txt", b"press release", permissions=[link("anonymous")])
    )
    fake.put(
        "b!hr",
        FakeItem(
            "i-guest",
            "guest.txt",
            b"for a guest",
            permissions=[grant("bob@partner.org", GUEST_LOGIN)],
        ),
    )
    fake.put(
        "b!hr",
        FakeItem(
            "i-invite",
            "invite.txt",
            b"invited",
            permissions=[link("users"), grant("carol@partner.org", invited=True)],
        ),
    )
    fake.add_drive("b!adele", "OneDrive", user="adele@contoso.com")
    for n in range(3):
        fake.put("b!adele", FakeItem(f"a-{n}", f"note-{n}.txt", f"note {n}".encode()))


@asynccontextmanager
async def graph_source(**options: Any) -> AsyncIterator[tuple[FakeGraph, M365Connector]]:
    fake = await FakeGraph().start()
    populate(fake)
    settings: dict[str, Any] = {
        "tenant_id": fake.tenant,
        "client_id": "app-1",
        "client_secret": SECRET,
        "authority": fake.url,
        "graph_url": fake.url,
        "users": ["adele@contoso.com"],
        "domains": ["contoso.com"],
        "page_size": 2,
        "http": FAST,
        **options,
    }
    connector = M365Connector(M365Config(**settings))
    try:
        yield fake, connector
    finally:
        await connector.aclose()
        await fake.stop()


DENIED = f"m365://denied/{LEGAL}"  # the forbidden site, recorded as a failed entry
ALL_ITEMS = {
    DENIED,
    "m365://b!hr/i-payroll",
    "m365://b!hr/i-handbook",
    "m365://b!hr/i-press",
    "m365://b!hr/i-guest",
    "m365://b!hr/i-invite",
    "m365://b!adele/a-0",
    "m365://b!adele/a-1",
    "m365://b!adele/a-2",
}


def test_full_scan_lists_libraries_and_onedrives_over_many_pages() -> None:
    async def scenario() -> None:
        async with graph_source() as (fake, connector):
            assets, items = await discover_all(connector)
            assert [(a.uri, a.kind) for a in assets] == [
                ("m365://b!hr", "library"),
                (DENIED, "site"),
                ("m365://b!adele", "onedrive"),
            ]
            assert assets[2].owner == "adele@contoso.com"
            assert set(items) == ALL_ITEMS
            payroll = items["m365://b!hr/i-payroll"]
            assert payroll.path == "Payroll/payroll.csv"
            assert payroll.content_type == "text/csv"
            assert payroll.size == len(b"name,ssn\nAda,536-22-1234\n")
            assert payroll.owner == "adele@contoso.com"
            assert payroll.web_url == "https://contoso.test/b!hr/payroll.csv"
            assert payroll.created is not None and payroll.created.tzinfo is not None
            # page_size=2: delta pages followed through @odata.nextLink, ended by a deltaLink.
            deltas = fake.requests_to("/root/delta")
            assert sum("$skiptoken" in r.query for r in deltas) >= 3
            cursor = json.loads(connector.next_cursor() or "{}")
            assert set(cursor) == {"b!hr", "b!adele"}
            assert all("token=" in link for link in cursor.values())

    asyncio.run(scenario())


EXPOSURES = {
    "m365://b!hr/i-payroll": Exposure.PRIVATE,
    "m365://b!hr/i-handbook": Exposure.INTERNAL,
    "m365://b!hr/i-press": Exposure.PUBLIC,
    "m365://b!hr/i-guest": Exposure.EXTERNAL,
    "m365://b!hr/i-invite": Exposure.EXTERNAL,
    "m365://b!adele/a-0": Exposure.PRIVATE,
}


def test_exposure_from_sharing_links_and_permissions() -> None:
    async def scenario() -> None:
        async with graph_source() as (_, connector):
            _, items = await discover_all(connector)
            assert {uri: items[uri].exposure for uri in EXPOSURES} == EXPOSURES

    asyncio.run(scenario())


DOMAINS = frozenset({"contoso.com"})


@pytest.mark.parametrize(
    ("permissions", "expected"),
    [
        ([], Exposure.PRIVATE),
        ([{"grantedToV2": {"user": {"email": "a@contoso.com"}}}], Exposure.PRIVATE),
        ([{"grantedToV2": {"group": {"email": "team@contoso.com"}}}], Exposure.PRIVATE),
        ([{"link": {"scope": "organization", "type": "view"}}], Exposure.INTERNAL),
        ([{"link": {"scope": "anonymous", "type": "view"}}], Exposure.PUBLIC),
        (
            [
                {
                    "link": {"scope": "users"},
                    "grantedToIdentitiesV2": [{"user": {"email": "x@y.org"}}],
                }
            ],
            Exposure.EXTERNAL,
        ),
        ([{"grantedToV2": {"siteUser": {"loginName": GUEST_LOGIN}}}], Exposure.EXTERNAL),
        ([{"invitation": {"email": "x@partner.org"}}], Exposure.EXTERNAL),
        ([{"invitation": {"email": "new@contoso.com"}}], Exposure.PRIVATE),
        (
            [{"link": {"scope": "organization"}}, {"grantedToV2": {"user": {"email": "x@y.org"}}}],
            Exposure.EXTERNAL,
        ),
        (
            [{"grantedToV2": {"user": {"email": "x@y.org"}}}, {"link": {"scope": "anonymous"}}],
            Exposure.PUBLIC,
        ),
    ],
    ids=[
        "none",
        "tenant-user",
        "tenant-group",
        "organization-link",
        "anonymous-link",
        "specific-people-outside",
        "guest-account",
        "invitation-outside",
        "invitation-inside",
        "widest-wins",
        "anonymous-wins",
    ],
)
def test_exposure_mapping(permissions: list[dict[str, Any]], expected: Exposure) -> None:
    assert exposure_from_permissions(permissions, DOMAINS) is expected


def test_guest_detected_without_configured_domains() -> None:
    perms: list[dict[str, Any]] = [{"grantedToV2": {"siteUser": {"loginName": GUEST_LOGIN}}}]
    assert exposure_from_permissions(perms, frozenset()) is Exposure.EXTERNAL


def test_forbidden_site_is_recorded_and_the_scan_goes_on() -> None:
    async def scenario() -> None:
        async with graph_source() as (_, connector):
            _, items = await discover_all(connector)
            assert set(items) == ALL_ITEMS
            assert len(connector.problems) == 1
            assert "site-legal" in connector.problems[0] and "403" in connector.problems[0]
            assert "accessDenied" in connector.problems[0]
            with pytest.raises(ItemUnreadable, match=r"not listed: .*HTTP 403: accessDenied"):
                await connector.read(items[DENIED], 1024)

    asyncio.run(scenario())


def test_download_follows_the_redirect_to_another_host_without_authorization() -> None:
    async def scenario() -> None:
        async with graph_source() as (fake, connector):
            _, items = await discover_all(connector)
            content = await connector.read(items["m365://b!hr/i-payroll"], 1 << 20)
            assert content.data == b"name,ssn\nAda,536-22-1234\n" and not content.truncated
            [hop] = fake.requests_to("/content")
            assert hop.status == 302 and hop.authorization is not None
            [download] = fake.download_log
            assert download.status == 200 and download.authorization is None
            assert fake.download_url.startswith("http://127.0.0.2:")
            capped = await connector.read(items["m365://b!hr/i-press"], 5)
            assert capped.data == b"press" and capped.truncated

    asyncio.run(scenario())


@pytest.mark.parametrize("status", [429, 503], ids=["429", "503"])
def test_throttling_waits_for_retry_after_and_loses_nothing(status: int) -> None:
    async def scenario() -> None:
        async with graph_source() as (fake, connector):
            fake.faults.add("/v1.0/drives/b!hr/root/delta", throttled(status, "1"))
            fake.faults.add("/v1.0/drives/b!adele/items", throttled(status, "0"))
            _, items = await discover_all(connector)
            assert set(items) == ALL_ITEMS
            statuses = [r.status for r in fake.requests_to("/root/delta")]
            assert statuses[:2] == [status, 200]

    asyncio.run(scenario())


def test_server_error_is_retried() -> None:
    async def scenario() -> None:
        async with graph_source() as (fake, connector):
            fake.faults.add("/v1.0/sites", server_error(500), server_error(502))
            _, items = await discover_all(connector)
            assert set(items) == ALL_ITEMS
            assert [r.status for r in fake.log if r.path == "/v1.0/sites"][:3] == [500, 502, 200]

    asyncio.run(scenario())


def test_expired_token_is_refreshed_and_the_request_retried() -> None:
    async def scenario() -> None:
        async with graph_source() as (fake, connector):
            expired = False

            async def expire(item: Item) -> None:
                nonlocal expired
                if not expired:
                    expired = True
                    fake.tokens.expire_all()

            _, items = await discover_all(connector, expire)
            assert set(items) == ALL_ITEMS
            assert fake.token_requests == 2
            assert 401 in [r.status for r in fake.log]

    asyncio.run(scenario())


def test_token_is_replaced_before_it_expires() -> None:
    async def scenario() -> None:
        async with graph_source(drive="b!adele") as (fake, connector):
            fake.token_lifetime = 62  # the shared OAuth2 auth replaces tokens 60 s early
            await connector.check()
            await connector.check()
            assert fake.token_requests == 1  # cached
            await asyncio.sleep(2.1)
            await connector.check()
            assert fake.token_requests == 2
            assert 401 not in [r.status for r in fake.log]

    asyncio.run(scenario())


def test_item_deleted_mid_scan_fails_alone() -> None:
    async def scenario() -> None:
        async with graph_source() as (fake, connector):
            _, items = await discover_all(connector)
            fake.delete("b!hr", "i-guest")
            with pytest.raises(ItemUnreadable, match=r"m365://b!hr/i-guest: .*404.*itemNotFound"):
                await connector.read(items["m365://b!hr/i-guest"], 1024)
            still = await connector.read(items["m365://b!hr/i-handbook"], 1024)
            assert still.data == b"handbook"

    asyncio.run(scenario())


async def _rescan(
    connector: M365Connector, cursor: str | None
) -> tuple[M365Connector, dict[str, Item]]:
    rescan = M365Connector(connector.config)
    assert isinstance(rescan, Incremental)
    rescan.resume_from(cursor)
    try:
        _, items = await discover_all(rescan)
        for item in items.values():
            if item.uri != DENIED:
                await rescan.read(item, 1 << 20)
    finally:
        await rescan.aclose()
    return rescan, items


def test_incremental_rescan_reads_only_changed_items() -> None:
    async def scenario() -> None:
        async with graph_source() as (fake, connector):
            await discover_all(connector)
            cursor = connector.next_cursor()
            fake.put(
                "b!hr",
                FakeItem(
                    "i-handbook", "handbook.txt", b"handbook v2", permissions=[link("anonymous")]
                ),
            )
            fake.put("b!adele", FakeItem("a-new", "new.txt", b"new note"))
            fake.delete("b!hr", "i-invite")
            fake.log.clear()
            rescan, items = await _rescan(connector, cursor)
            assert set(items) == {DENIED, "m365://b!hr/i-handbook", "m365://b!adele/a-new"}
            assert items["m365://b!hr/i-handbook"].exposure is Exposure.PUBLIC
            assert rescan.removed == ["m365://b!hr/i-invite"]
            assert sorted(fake.content_reads()) == ["a-new", "i-handbook"]
            assert all("token" in r.query for r in fake.requests_to("/root/delta"))
            # Nothing changed since: the next rescan reads nothing.
            fake.log.clear()
            _, nothing = await _rescan(connector, rescan.next_cursor())
            assert set(nothing) == {DENIED} and fake.content_reads() == []

    asyncio.run(scenario())


def test_expired_delta_link_falls_back_to_a_full_listing() -> None:
    async def scenario() -> None:
        async with graph_source() as (fake, connector):
            await discover_all(connector)
            cursor = connector.next_cursor()
            fake.expired_before = 10_000  # every earlier delta token is now too old
            _, items = await _rescan(connector, cursor)
            assert set(items) == ALL_ITEMS
            assert 410 in [r.status for r in fake.requests_to("/root/delta")]

    asyncio.run(scenario())


def test_a_stored_delta_link_to_another_host_is_not_followed() -> None:
    async def scenario() -> None:
        async with graph_source(drive="b!adele") as (fake, connector):
            cursor = json.dumps({"b!adele": "http://127.0.0.9:1/v1.0/drives/b!adele/root/delta"})
            _, items = await _rescan(connector, cursor)
            # Listed in full from Graph instead; nothing was sent to the other host.
            assert set(items) == {u for u in ALL_ITEMS if u.startswith("m365://b!adele/")}
            assert all("token" not in r.query for r in fake.requests_to("/root/delta"))

    asyncio.run(scenario())


def test_wrong_client_secret_is_an_auth_error_without_the_secret() -> None:
    async def scenario() -> None:
        async with graph_source(client_secret="not-the-secret") as (_, connector):
            with pytest.raises(AuthError, match="AADSTS7000215") as info:
                await connector.check()
            assert "not-the-secret" not in str(info.value)

    asyncio.run(scenario())


def test_check_access_lists_the_roles_in_the_token() -> None:
    async def scenario() -> None:
        async with graph_source() as (fake, connector):
            fake.roles = ["Files.Read.All", "Sites.Read.All", "Sites.ReadWrite.All"]
            assert isinstance(connector, ReportsAccess)
            report = await connector.check_access()
            assert report.granted == ("Files.Read.All", "Sites.Read.All", "Sites.ReadWrite.All")
            assert report.missing == ()
            assert report.broader == ("Sites.ReadWrite.All",)

    asyncio.run(scenario())


def test_one_drive_target_reads_only_that_drive() -> None:
    async def scenario() -> None:
        async with graph_source(drive="b!adele") as (fake, connector):
            assets, items = await discover_all(connector)
            assert [a.uri for a in assets] == ["m365://b!adele"]
            assert set(items) == {u for u in ALL_ITEMS if u.startswith("m365://b!adele/")}
            assert not connector.problems
            assert not fake.requests_to("/v1.0/sites")
            outside = Item(uri="m365://b!hr/i-press", container="m365://b!hr", path="press.txt")
            with pytest.raises(ItemUnreadable, match="not in drive"):
                await connector.read(outside, 10)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("target", "drive"),
    [("m365://", None), ("m365://b!abc/", "b!abc")],
    ids=["all", "one-drive"],
)
def test_targets(target: str, drive: str | None) -> None:
    options = {"tenant_id": "t", "client_id": "c", "client_secret": "s"}
    assert M365Connector.config_from_target(target, options).drive == drive


@pytest.mark.parametrize(
    ("target", "options", "message"),
    [
        ("m365://a/b", {}, "expected m365://"),
        ("m365://", {"tenant_id": "t", "client_id": "c"}, "client_secret"),
        (
            "m365://",
            {"tenant_id": "t", "client_id": "c", "client_secret": "s", "graph_url": "ftp://x"},
            "graph_url",
        ),
        ("gdrive://", {}, "not an m365"),
    ],
    ids=["nested", "no-secret", "bad-url", "other-scheme"],
)
def test_bad_configuration(target: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        M365Connector.config_from_target(target, options)


def test_national_cloud_endpoints_follow_the_base_urls() -> None:
    config = M365Config(
        tenant_id="t1",
        client_id="c",
        client_secret=SecretStr("very-secret-value"),
        authority="https://login.microsoftonline.us",
        graph_url="https://graph.microsoft.us",
    )
    assert config.token_endpoint() == "https://login.microsoftonline.us/t1/oauth2/v2.0/token"
    assert config.api() == "https://graph.microsoft.us/v1.0"
    connector = M365Connector(config)
    assert connector._auth.scope == "https://graph.microsoft.us/.default"
    assert "very-secret-value" not in repr(config) + repr(connector) + str(config.model_dump())


def test_registered() -> None:
    registry = default_registry()
    assert registry.get("m365") is M365Connector
    assert registry.for_target("m365://b!x") is M365Connector


# -- end to end through the CLI -------------------------------------------------------------------

PERIMETER = str(Path(sys.executable).with_name("perimeter"))


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PERIMETER, *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, **env},
    )


def test_scan_source_end_to_end_shows_levels_exposure_and_web_urls(tmp_path: Path) -> None:
    fake = FakeGraph()
    populate(fake)
    fake.roles = ["Files.Read.All", "Sites.Read.All", "Files.ReadWrite.All"]
    with running_in_thread(fake):
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f"""
[[source]]
name = "contoso-365"
kind = "m365"

[source.settings]
tenant_id = "{fake.tenant}"
client_id = "app-1"
client_secret = "${{env:TEST_M365_SECRET}}"
authority = "{fake.url}"
graph_url = "{fake.url}"
users = ["adele@contoso.com"]
domains = ["contoso.com"]
page_size = 2

[source.settings.http]
backoff_base = 0.01
"""
        )
        env = {"PERIMETER_SOURCES": str(sources), "TEST_M365_SECRET": SECRET}
        checked = cli("check", "contoso-365", env=env)
        assert checked.returncode == 0, checked.stderr
        scanned = cli("scan", "--source", "contoso-365", "--workers", "1", env=env)
        assert scanned.returncode == 0, scanned.stderr
        shown = cli("map", "--items", "--format", "json", env=env)
        assert shown.returncode == 0, shown.stderr
        fake.put("b!adele", FakeItem("a-1", "note-1.txt", b"note 1, edited"))
        fake.log.clear()
        rescanned = cli("scan", "--source", "contoso-365", "--workers", "1", env=env)
        assert rescanned.returncode == 0, rescanned.stderr
        reads_on_rescan = fake.content_reads()
        after = cli("map", "--items", "--format", "json", env=env).stdout
    rows = {r["uri"]: r for r in json.loads(shown.stdout)}
    payroll = rows["m365://b!hr/i-payroll"]
    assert payroll["level"] == "restricted" and payroll["exposure"] == "private"
    assert payroll["web_url"] == "https://contoso.test/b!hr/payroll.csv"
    assert payroll["source"] == "contoso-365"
    assert rows["m365://b!hr/i-press"]["exposure"] == "public"
    assert rows["m365://b!hr/i-guest"]["exposure"] == "external"
    assert rows[DENIED]["status"] == "failed"
    assert "Files.ReadWrite.All" in checked.stdout + checked.stderr
    assert SECRET not in shown.stdout + scanned.stdout + scanned.stderr + checked.stdout
    # The rescan followed the delta links and read the one edited file only.
    assert reads_on_rescan == ["a-1"]
    assert ": 1 items scanned" in rescanned.stdout and "1 failed" in rescanned.stdout, (
        rescanned.stdout + rescanned.stderr + after
    )
