"""GDriveConnector over real HTTP against the in-repo fake Drive API and token endpoint."""

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

from connectors.base import AccessReport, Incremental, ReportsAccess, default_registry
from connectors.gdrive import (
    SCOPE_METADATA,
    SCOPE_READONLY,
    GDriveConfig,
    GDriveConnector,
    exposure_from_permissions,
)
from connectors.google_auth import ServiceAccountKey, sign_jwt
from connectors.http import HttpSettings
from models import Exposure, Item
from models.errors import AuthError, ConfigError, ItemUnreadable
from tests.connectors.fakes import discover_all
from tests.connectors.fakes._drive_common import running_in_thread
from tests.connectors.fakes.gdrive import (
    DOC,
    FOLDER,
    SHEET,
    FakeDrive,
    FakeFile,
    new_service_account,
    perm,
    rate_limited,
    server_error,
)

ORG = frozenset({"example.com"})
SCOPE_FULL = "https://www.googleapis.com/auth/drive"
FAST = HttpSettings(backoff_base=0.01, backoff_max=0.05, max_retries=3)
_KEY = new_service_account()  # RSA key generation is slow: one per module


def populate(fake: FakeDrive) -> None:
    """My Drive with a folder and five files, one readable shared drive, one forbidden one."""
    owner = perm("user", "owner", email="alice@example.com")
    fake.put(FakeFile("fld-fin", "Finance", FOLDER, parents=["root-my"], permissions=[owner]))
    fake.put(
        FakeFile(
            "f-salaries",
            "salaries.csv",
            "text/csv",
            b"name,ssn\nAda,536-22-1234\n",
            parents=["fld-fin"],
            permissions=[owner],
        )
    )
    fake.put(
        FakeFile(
            "f-plan",
            "Plan",
            DOC,
            b"Quarterly plan for the team",
            parents=["root-my"],
            permissions=[owner, perm("domain", domain="example.com")],
        )
    )
    fake.put(
        FakeFile(
            "f-budget",
            "Budget",
            SHEET,
            b"item,cost\nlaptops,1200\n",
            parents=["fld-fin"],
            permissions=[owner, perm("anyone")],
        )
    )
    fake.put(
        FakeFile(
            "f-partner",
            "partner.txt",
            "text/plain",
            b"for our partner",
            parents=["root-my"],
            permissions=[owner, perm("user", email="bob@partner.org")],
        )
    )
    fake.put(
        FakeFile(
            "f-colleague",
            "notes.txt",
            "text/plain",
            b"team notes",
            parents=["root-my"],
            permissions=[owner, perm("group", email="eng@example.com")],
        )
    )
    fake.add_drive("d-eng", "Engineering")
    fake.add_drive("d-secret", "Board")
    fake.forbidden_drives.add("d-secret")
    member = perm("group", "organizer", email="eng@example.com")
    for n in range(3):
        fake.put(
            FakeFile(
                f"e-{n}",
                f"design-{n}.md",
                "text/markdown",
                f"design doc {n}".encode(),
                drive_id="d-eng",
                parents=["d-eng"],
                permissions=[member],
            )
        )
    fake.put(
        FakeFile(
            "e-vendor",
            "vendor.txt",
            "text/plain",
            b"vendor contract",
            drive_id="d-eng",
            parents=["d-eng"],
            permissions=[member, perm("domain", domain="vendor.net")],
        )
    )


@asynccontextmanager
async def drive_source(
    key: dict[str, Any] | None = None, **options: Any
) -> AsyncIterator[tuple[FakeDrive, GDriveConnector]]:
    fake = await FakeDrive().start()
    fake.trust(_KEY, {SCOPE_READONLY, SCOPE_METADATA})
    populate(fake)
    settings: dict[str, Any] = {
        "subject": "alice@example.com",
        "service_account_key": json.dumps(key or _KEY),
        "api_url": fake.api_url,
        "token_url": fake.token_url,
        "tokeninfo_url": f"{fake.url}/tokeninfo",
        "page_size": 2,
        "http": FAST,
        **options,
    }
    connector = GDriveConnector(GDriveConfig(**settings))
    try:
        yield fake, connector
    finally:
        await connector.aclose()
        await fake.stop()


DENIED = "gdrive://d-secret"  # the forbidden drive, recorded as a failed entry
ALL_FILES = {
    DENIED,
    "gdrive://my/f-salaries",
    "gdrive://my/f-plan",
    "gdrive://my/f-budget",
    "gdrive://my/f-partner",
    "gdrive://my/f-colleague",
    "gdrive://d-eng/e-0",
    "gdrive://d-eng/e-1",
    "gdrive://d-eng/e-2",
    "gdrive://d-eng/e-vendor",
}


def test_full_scan_lists_my_drive_and_shared_drives_over_many_pages() -> None:
    async def scenario() -> None:
        async with drive_source() as (fake, connector):
            assets, items = await discover_all(connector)
            assert [a.uri for a in assets] == ["gdrive://my", "gdrive://d-eng", "gdrive://d-secret"]
            assert set(items) == ALL_FILES
            salaries = items["gdrive://my/f-salaries"]
            assert salaries.path == "Finance/salaries.csv"
            assert salaries.container == "gdrive://my"
            assert salaries.owner == "alice@example.com"
            assert salaries.size == len(b"name,ssn\nAda,536-22-1234\n")
            assert salaries.web_url == "https://docs.example.test/f-salaries/view"
            assert salaries.modified is not None and salaries.modified.tzinfo is not None
            assert items["gdrive://d-eng/e-1"].path == "design-1.md"
            assert items["gdrive://d-eng/e-1"].owner == "Engineering"
            # page_size=2: several files.list pages, each after the first sent with a pageToken.
            listings = fake.requests_to("/drive/v3/files")
            assert sum("pageToken" in r.query for r in listings) == 3
            assert all(
                r.query.get("supportsAllDrives") == "true" for r in listings if "driveId" in r.query
            )
            # A full scan leaves the changes token to resume from.
            assert connector.next_cursor() is not None

    asyncio.run(scenario())


EXPOSURES = {
    "gdrive://my/f-salaries": Exposure.PRIVATE,  # owner only
    "gdrive://my/f-colleague": Exposure.PRIVATE,  # a group of the organisation
    "gdrive://my/f-plan": Exposure.INTERNAL,  # the organisation's domain
    "gdrive://my/f-partner": Exposure.EXTERNAL,  # a user of another domain
    "gdrive://my/f-budget": Exposure.PUBLIC,  # anyone with the link
    "gdrive://d-eng/e-0": Exposure.PRIVATE,  # shared drive, permissions.list
    "gdrive://d-eng/e-vendor": Exposure.EXTERNAL,  # another organisation's domain
}


def test_exposure_from_listing_and_permissions_list() -> None:
    async def scenario() -> None:
        async with drive_source() as (fake, connector):
            _, items = await discover_all(connector)
            assert {uri: items[uri].exposure for uri in EXPOSURES} == EXPOSURES
            # Shared-drive files have no permissions in files.list: one permissions.list each.
            asked = {r.path.split("/")[4] for r in fake.requests_to("/permissions")}
            assert asked == {"e-0", "e-1", "e-2", "e-vendor"}

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("permissions", "expected"),
    [
        ([], Exposure.PRIVATE),
        ([{"type": "user", "emailAddress": "a@example.com"}], Exposure.PRIVATE),
        ([{"type": "user", "emailAddress": "A@EXAMPLE.COM"}], Exposure.PRIVATE),
        ([{"type": "group", "emailAddress": "g@example.com"}], Exposure.PRIVATE),
        ([{"type": "domain", "domain": "example.com"}], Exposure.INTERNAL),
        ([{"type": "domain", "domain": "other.org"}], Exposure.EXTERNAL),
        ([{"type": "user", "emailAddress": "x@gmail.com"}], Exposure.EXTERNAL),
        ([{"type": "group", "emailAddress": "g@partner.org"}], Exposure.EXTERNAL),
        ([{"type": "anyone", "allowFileDiscovery": False}], Exposure.PUBLIC),
        (
            [
                {"type": "domain", "domain": "example.com"},
                {"type": "user", "emailAddress": "x@y.z"},
            ],
            Exposure.EXTERNAL,
        ),
        ([{"type": "user", "emailAddress": "x@y.z"}, {"type": "anyone"}], Exposure.PUBLIC),
    ],
    ids=[
        "none",
        "org-user",
        "org-user-case",
        "org-group",
        "org-domain",
        "other-domain",
        "outside-user",
        "outside-group",
        "anyone",
        "widest-wins",
        "anyone-wins",
    ],
)
def test_exposure_mapping(permissions: list[dict[str, Any]], expected: Exposure) -> None:
    assert exposure_from_permissions(permissions, ORG) is expected


def test_forbidden_shared_drive_is_recorded_and_the_scan_goes_on() -> None:
    async def scenario() -> None:
        async with drive_source() as (_, connector):
            _, items = await discover_all(connector)
            assert set(items) == ALL_FILES  # every other drive was listed in full
            assert len(connector.problems) == 1
            assert connector.problems[0].startswith("gdrive://d-secret: ")
            assert "403" in connector.problems[0]
            denied = items[DENIED]
            assert denied.container == DENIED and denied.path == "Board"
            with pytest.raises(ItemUnreadable, match=r"drive not listed: .*HTTP 403"):
                await connector.read(denied, 1024)

    asyncio.run(scenario())


def test_read_downloads_files_and_exports_docs_and_sheets() -> None:
    async def scenario() -> None:
        async with drive_source() as (fake, connector):
            _, items = await discover_all(connector)
            csv = await connector.read(items["gdrive://my/f-salaries"], 1 << 20)
            assert csv.data == b"name,ssn\nAda,536-22-1234\n" and not csv.truncated
            doc = await connector.read(items["gdrive://my/f-plan"], 1 << 20)
            assert doc.data == b"Quarterly plan for the team"
            sheet = await connector.read(items["gdrive://my/f-budget"], 1 << 20)
            assert sheet.data.startswith(b"item,cost")
            exports = {
                r.path.split("/")[4]: r.query["mimeType"] for r in fake.requests_to("/export")
            }
            assert exports == {"f-plan": "text/plain", "f-budget": "text/csv"}
            capped = await connector.read(items["gdrive://d-eng/e-vendor"], 6)
            assert capped.data == b"vendor" and capped.truncated

    asyncio.run(scenario())


def test_rate_limited_listing_waits_for_retry_after_and_loses_nothing() -> None:
    async def scenario() -> None:
        async with drive_source() as (fake, connector):
            fake.faults.add("/drive/v3/files", rate_limited("1"), rate_limited("0"))
            _, items = await discover_all(connector)
            assert set(items) == ALL_FILES
            statuses = [r.status for r in fake.requests_to("/drive/v3/files")]
            assert statuses[:3] == [429, 429, 200]
            assert connector._client is not None and connector._client.rate_limited == 2

    asyncio.run(scenario())


def test_quota_403_rate_limit_is_retried() -> None:
    async def scenario() -> None:
        async with drive_source() as (fake, connector):
            from tests.connectors.fakes._drive_common import Fault
            from tests.connectors.fakes.gdrive import google_error

            quota = Fault(403, google_error(403, "userRateLimitExceeded", "User Rate Limit"))
            fake.faults.add("/drive/v3/drives", quota)
            _, items = await discover_all(connector)
            assert set(items) == ALL_FILES

    asyncio.run(scenario())


@pytest.mark.parametrize("status", [500, 502, 503], ids=["500", "502", "503"])
def test_server_errors_are_retried(status: int) -> None:
    async def scenario() -> None:
        async with drive_source() as (fake, connector):
            fake.faults.add("/drive/v3/files", server_error(status), server_error(status))
            _, items = await discover_all(connector)
            assert set(items) == ALL_FILES
            assert [r.status for r in fake.requests_to("/drive/v3/files")][:3] == [
                status,
                status,
                200,
            ]

    asyncio.run(scenario())


def test_expired_token_is_refreshed_once_and_the_request_retried() -> None:
    async def scenario() -> None:
        async with drive_source() as (fake, connector):
            expired = False

            async def expire(item: Item) -> None:
                nonlocal expired
                if not expired:
                    expired = True
                    fake.tokens.expire_all()

            _, items = await discover_all(connector, expire)
            assert set(items) == ALL_FILES
            assert fake.token_requests == 2
            assert 401 in [r.status for r in fake.log]

    asyncio.run(scenario())


def test_token_is_replaced_before_it_expires() -> None:
    async def scenario() -> None:
        async with drive_source() as (fake, connector):
            fake.token_lifetime = 4  # replaced half-way through, without waiting for a 401
            await connector.check()
            await connector.check()
            assert fake.token_requests == 1  # cached
            await asyncio.sleep(2.1)
            await connector.check()
            assert fake.token_requests == 2
            assert 401 not in [r.status for r in fake.log]

    asyncio.run(scenario())


def test_file_deleted_mid_scan_fails_alone() -> None:
    async def scenario() -> None:
        async with drive_source() as (fake, connector):
            _, items = await discover_all(connector)
            fake.delete("f-partner")
            with pytest.raises(ItemUnreadable, match=r"gdrive://my/f-partner: .*404.*not found"):
                await connector.read(items["gdrive://my/f-partner"], 1024)
            still = await connector.read(items["gdrive://my/f-colleague"], 1024)
            assert still.data == b"team notes"

    asyncio.run(scenario())


def test_incremental_rescan_reads_only_changed_files() -> None:
    async def scenario() -> None:
        async with drive_source() as (fake, connector):
            await discover_all(connector)
            cursor = connector.next_cursor()
            assert cursor is not None
            # Changes after the full scan: one edit, one new shared-drive file, one deletion,
            # one file moved to the trash, and a permission change making a file public.
            plan = fake.files["f-plan"]
            fake.put(
                FakeFile(
                    plan.id,
                    plan.name,
                    DOC,
                    b"Plan v2",
                    parents=plan.parents,
                    permissions=plan.permissions,
                )
            )
            fake.put(
                FakeFile(
                    "e-new",
                    "new.md",
                    "text/markdown",
                    b"new",
                    drive_id="d-eng",
                    parents=["d-eng"],
                    permissions=[perm("group", email="e@example.com")],
                )
            )
            fake.delete("f-colleague")
            salaries = fake.files["f-salaries"]
            fake.put(
                FakeFile(
                    salaries.id,
                    salaries.name,
                    salaries.mime_type,
                    salaries.content,
                    parents=salaries.parents,
                    trashed=True,
                )
            )
            partner = fake.files["f-partner"]
            fake.put(
                FakeFile(
                    partner.id,
                    partner.name,
                    partner.mime_type,
                    partner.content,
                    parents=partner.parents,
                    permissions=[*partner.permissions, perm("anyone")],
                )
            )

            rescan = GDriveConnector(connector.config)
            assert isinstance(rescan, Incremental)
            rescan.resume_from(cursor)
            fake.log.clear()
            try:
                assets, items = await discover_all(rescan)
                for item in items.values():
                    await rescan.read(item, 1 << 20)
            finally:
                await rescan.aclose()
            assert set(items) == {
                "gdrive://my/f-plan",
                "gdrive://d-eng/e-new",
                "gdrive://my/f-partner",
            }
            assert items["gdrive://my/f-partner"].exposure is Exposure.PUBLIC
            assert {a.uri for a in assets} == {"gdrive://my", "gdrive://d-eng"}
            assert sorted(rescan.removed) == ["gdrive://my/f-colleague", "gdrive://my/f-salaries"]
            assert sorted(fake.content_reads()) == ["e-new", "f-partner", "f-plan"]
            assert rescan.next_cursor() not in (None, cursor)

    asyncio.run(scenario())


def test_jwt_assertion_is_signed_rs256_and_verified_by_the_token_endpoint() -> None:
    key = ServiceAccountKey.from_json(json.dumps(_KEY))
    token = sign_jwt({"iss": key.client_email}, key.private_key.get_secret_value(), "kid-1")
    header = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[0] + "==").decode())
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}

    async def scenario() -> None:
        # A key the fake does not know (same email, other RSA key): the signature check fails.
        stranger = new_service_account()
        async with drive_source(key=stranger) as (fake, connector):
            with pytest.raises(AuthError, match="invalid_grant: Invalid JWT Signature") as info:
                await connector.check()
            assert "BEGIN PRIVATE KEY" not in str(info.value)
            assert fake.token_requests == 1

    asyncio.run(scenario())


def test_scopes_without_domain_wide_delegation_are_refused_with_a_hint() -> None:
    async def scenario() -> None:
        scopes = ["https://www.googleapis.com/auth/drive"]
        async with drive_source(scopes=scopes) as (_, connector):
            with pytest.raises(AuthError, match=r"unauthorized_client.*Domain-wide delegation"):
                await connector.check()

    asyncio.run(scenario())


def test_check_access_reports_the_scopes() -> None:
    async def scenario() -> None:
        async with drive_source() as (_, connector):
            assert isinstance(connector, ReportsAccess)
            report = await connector.check_access()
            assert isinstance(report, AccessReport)
            assert report.identity.endswith("acting as alice@example.com")
            assert report.needed == (SCOPE_READONLY,)
            assert report.granted == (SCOPE_READONLY,)
            assert report.missing == () and report.broader == ()

    asyncio.run(scenario())


def test_check_access_flags_a_broader_scope_and_a_metadata_only_grant() -> None:
    async def scenario() -> None:
        async with drive_source(scopes=[SCOPE_METADATA]) as (fake, connector):
            fake.delegated_scopes.add(SCOPE_FULL)
            report = await connector.check_access()
            assert report.granted == (SCOPE_METADATA,)
            assert report.missing == (SCOPE_READONLY,)
            assert any("metadata only" in note for note in report.notes)
        async with drive_source(scopes=[SCOPE_READONLY, SCOPE_FULL]) as (fake, connector):
            fake.delegated_scopes.add(SCOPE_FULL)
            report = await connector.check_access()
            assert report.broader == (SCOPE_FULL,)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("target", "drive"),
    [("gdrive://", None), ("gdrive://my", "my"), ("gdrive://0AbCdEf/", "0AbCdEf")],
    ids=["all", "my-drive", "shared-drive"],
)
def test_targets(target: str, drive: str | None) -> None:
    options = {"subject": "a@example.com", "service_account_key": "{}"}
    config = GDriveConnector.config_from_target(target, options)
    assert config.drive == drive


@pytest.mark.parametrize(
    ("target", "options", "message"),
    [
        ("gdrive://a/b", {"subject": "a@example.com"}, "expected gdrive://"),
        ("gdrive://", {"subject": "nobody"}, "subject"),
        ("gdrive://", {"subject": "a@example.com", "colour": "red"}, "colour"),
        ("s3://x", {"subject": "a@example.com"}, "not a gdrive"),
    ],
    ids=["nested", "bad-subject", "unknown-option", "other-scheme"],
)
def test_bad_configuration(target: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        GDriveConnector.config_from_target(target, options)


def test_key_material_never_shows() -> None:
    config = GDriveConfig(subject="a@example.com", service_account_key=SecretStr(json.dumps(_KEY)))
    text = repr(config) + str(config.model_dump()) + repr(GDriveConnector(config))
    assert "PRIVATE KEY" not in text
    with pytest.raises(ConfigError) as info:
        ServiceAccountKey.from_json(json.dumps({**_KEY, "client_email": 3}))
    assert "PRIVATE KEY" not in str(info.value)


def test_registered() -> None:
    registry = default_registry()
    assert registry.get("gdrive") is GDriveConnector
    assert registry.for_target("gdrive://my") is GDriveConnector


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
    fake = FakeDrive()
    fake.trust(_KEY, {SCOPE_READONLY})
    populate(fake)
    (tmp_path / "key.json").write_text(json.dumps(_KEY))
    with running_in_thread(fake):
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f"""
[[source]]
name = "acme-drive"
kind = "gdrive"

[source.settings]
subject = "alice@example.com"
service_account_key = {{ file = "key.json" }}
api_url = "{fake.api_url}"
token_url = "{fake.token_url}"
tokeninfo_url = "{fake.url}/tokeninfo"
page_size = 2

[source.settings.http]
backoff_base = 0.01
"""
        )
        env = {"PERIMETER_SOURCES": str(sources)}
        checked = cli("check", "acme-drive", env=env)
        assert checked.returncode == 0, checked.stderr
        assert SCOPE_READONLY in checked.stdout + checked.stderr
        scanned = cli("scan", "--source", "acme-drive", "--workers", "1", env=env)
        assert scanned.returncode == 0, scanned.stderr
        shown = cli("map", "--items", "--format", "json", env=env)
        assert shown.returncode == 0, shown.stderr
        plan = fake.files["f-plan"]
        fake.put(
            FakeFile(plan.id, plan.name, DOC, b"Plan v2", parents=plan.parents, permissions=[])
        )
        fake.log.clear()
        rescanned = cli("scan", "--source", "acme-drive", "--workers", "1", env=env)
        assert rescanned.returncode == 0, rescanned.stderr
        reads_on_rescan = fake.content_reads()
    rows = {r["uri"]: r for r in json.loads(shown.stdout)}
    salaries = rows["gdrive://my/f-salaries"]
    assert salaries["level"] == "restricted" and salaries["exposure"] == "private"
    assert salaries["web_url"] == "https://docs.example.test/f-salaries/view"
    assert salaries["source"] == "acme-drive"
    assert rows["gdrive://my/f-budget"]["exposure"] == "public"
    assert rows["gdrive://d-eng/e-vendor"]["exposure"] == "external"
    assert rows[DENIED]["status"] == "failed"
    assert "PRIVATE KEY" not in shown.stdout + scanned.stdout + scanned.stderr + checked.stdout
    # The rescan followed the changes feed and read the one edited document only.
    assert reads_on_rescan == ["f-plan"]
    assert ": 1 items scanned" in rescanned.stdout, rescanned.stdout
