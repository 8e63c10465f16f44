"""The Confluence Cloud connector over real HTTP against the fake REST API v2 on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.base import AccessReport
from connectors.confluence import ConfluenceConfig, ConfluenceConnector, storage_to_text
from connectors.http import HttpSettings
from models import Exposure
from models.errors import AuthError
from tests.connectors.fakes import ScanOut, perimeter, read_all, serve, serve_in_thread
from tests.connectors.fakes.confluence import FakeConfluence

FAST_HTTP = HttpSettings(backoff_base=0.01, backoff_max=0.05, max_retries=3, read_timeout=5)
SSN_PAGE = "<p>Onboarding for <strong>Dana</strong>: SSN 512-44-7821</p>"
CODE_PAGE = (
    '<p>Deploy with:</p><ac:structured-macro ac:name="code"><ac:parameter ac:name="language">'
    "yaml</ac:parameter><ac:plain-text-body><![CDATA[key: AKIAQ3EGUMXVJ4R7WN2B]]>"
    "</ac:plain-text-body></ac:structured-macro>"
)
OLD = "2024-02-01T10:00:00.000Z"


def site() -> FakeConfluence:
    fake = FakeConfluence()
    fake.add_space("1", "ENG", "Engineering")
    fake.add_space("2", "PUB", "Public docs", anonymous=True)
    fake.add_space("3", "~dana", "Dana", kind="personal")
    fake.add_space("4", "SEC", "Security")
    fake.forbidden_spaces.add("4")
    for n in range(5):
        fake.add_page(f"10{n}", "1", f"Eng page {n}", f"<p>note {n}</p>", OLD)
    fake.add_page("110", "1", "Onboarding", SSN_PAGE, OLD)
    fake.add_page("120", "1", "Deploy", CODE_PAGE, OLD)
    fake.add_attachment("att1", "120", "creds.txt", b"password = hunter2-not-real\n")
    fake.add_attachment("att2", "120", "notes.txt", b"plain notes\n")
    fake.add_attachment("att3", "120", "more.txt", b"more notes\n")
    fake.add_page("200", "2", "Welcome", "<p>Hello world</p>", OLD)
    fake.add_page("300", "3", "Diary", "<p>private thoughts</p>", OLD)
    fake.add_page("130", "1", "Doomed", "<p>to be deleted</p>", OLD)
    fake.delete_on_read.add("130")
    return fake


def connector(fake: FakeConfluence, **settings: Any) -> ConfluenceConnector:
    values: dict[str, Any] = {
        "site_url": fake.base,
        "email": "bot@acme.example",
        "api_token": "api-token",
        "page_size": 2,
        "http": FAST_HTTP,
    }
    values.update(settings)
    return ConfluenceConnector(ConfluenceConfig.model_validate(values))


def run(fake: FakeConfluence, body: Callable[[FakeConfluence], Any]) -> Any:
    async def main() -> Any:
        async with serve(fake.app()) as base, serve(fake.media_app()) as media:
            fake.base, fake.media_base = base, media
            return await asyncio.wait_for(body(fake), timeout=60)

    return asyncio.run(main())


def full_scan(fake: FakeConfluence, **settings: Any) -> ScanOut:
    return run(fake, lambda f: read_all(connector(f, **settings)))


def uri(fake: FakeConfluence, rest: str) -> str:
    return f"confluence://127.0.0.1/{rest}"


def test_lists_spaces_pages_and_attachments_across_pages() -> None:
    fake = site()
    items = full_scan(fake)
    pages = {u for u in items if u.count("/") == 4}
    assert {uri(fake, f"ENG/10{n}") for n in range(5)} <= pages
    assert uri(fake, "ENG/120/attachments/att3") in items
    assert items[uri(fake, "ENG/110")][1] == b"Onboarding\n\nOnboarding for Dana: SSN 512-44-7821"
    assert b"AKIAQ3EGUMXVJ4R7WN2B" in items[uri(fake, "ENG/120")][1]  # type: ignore[operator]
    assert items[uri(fake, "ENG/120/attachments/att1")][1] == b"password = hunter2-not-real\n"
    # page_size 2: check() + 4 spaces in 2 pages; 3 attachments of page 120 in 2 pages
    assert [c.get("cursor") for c in fake.called("spaces")] == [None, None, "2"]
    assert len([c for c in fake.called("pages") if c.get("cursor")]) == 3  # 8 ENG pages
    assert len(fake.called("attachments")) == 8 + 1 + 1 + 1  # one per page, two for 120


def test_items_carry_metadata_and_web_urls() -> None:
    fake = site()
    items = full_scan(fake)
    page = items[uri(fake, "ENG/110")][0]
    assert page.web_url == f"{fake.base}/wiki/spaces/ENG/pages/110/Onboarding"
    assert page.owner == "acc-1" and page.modified is not None and page.version == "1"
    att = items[uri(fake, "ENG/120/attachments/att1")][0]
    assert att.size == len(b"password = hunter2-not-real\n") and att.content_type == "text/plain"


@pytest.mark.parametrize(
    ("rest", "exposure"),
    [
        ("ENG/110", Exposure.INTERNAL),
        ("PUB/200", Exposure.PUBLIC),
        ("~dana/300", Exposure.PRIVATE),
        ("ENG/120/attachments/att1", Exposure.INTERNAL),
    ],
    ids=["team-space", "anonymous-read", "personal-space", "attachment"],
)
def test_exposure_from_space_permissions(rest: str, exposure: Exposure) -> None:
    fake = site()
    assert full_scan(fake)[uri(fake, rest)][0].exposure is exposure


def test_429_and_5xx_are_waited_out_and_nothing_is_lost() -> None:
    baseline = set(full_scan(site()))
    fake = site()
    fake.fail["pages"] = [429]
    fake.fail["page"] = [503, 502]
    fake.fail["spaces"] = [500]
    assert set(full_scan(fake)) == baseline


def test_a_forbidden_space_is_recorded_and_the_scan_goes_on() -> None:
    fake = site()
    items = full_scan(fake)
    _, error = items[uri(fake, "SEC")]
    assert "HTTP 403" in str(error) and "Forbidden" in str(error)
    assert uri(fake, "~dana/300") in items


def test_a_page_deleted_mid_scan_is_recorded() -> None:
    fake = site()
    items = full_scan(fake)
    assert "HTTP 404" in str(items[uri(fake, "ENG/130")][1])


def test_attachment_downloads_reach_the_media_host_without_credentials() -> None:
    fake = site()
    full_scan(fake)
    wiki = [a for p, a in fake.downloads if p.startswith("/wiki/")]
    media = [a for p, a in fake.downloads if p.startswith("/file/")]
    assert wiki and all(a is not None and a.startswith("Basic ") for a in wiki)
    assert media and all(a is None for a in media)


def test_an_expired_oauth_token_is_refreshed() -> None:
    fake = site()
    fake.tokens = set()
    fake.refresh_tokens = {"rt-0"}
    settings = {
        "email": None,
        "api_token": None,
        "access_token": "expired",
        "refresh_token": "rt-0",
        "client_id": "cid",
        "client_secret": "csecret",
        "cloud_id": "cloud-1",
        "token_url": "",
    }

    async def body(f: FakeConfluence) -> ScanOut:
        conn = connector(
            f, **{**settings, "api_url": f.base + "/wiki", "token_url": f.base + "/oauth/token"}
        )
        return await read_all(conn)

    items = run(fake, body)
    assert items[uri(fake, "ENG/110")][1].startswith(b"Onboarding")  # type: ignore[union-attr]
    assert [c["refresh_token"] for r, c in fake.calls if r == "token"] == ["rt-0"]


def test_an_incremental_rescan_reads_only_changed_pages() -> None:
    fake = site()
    fake.delete_on_read.clear()

    async def body(f: FakeConfluence) -> tuple[ScanOut, ScanOut]:
        first = connector(f)
        first.resume_from(None)
        before = await read_all(first)
        cursor = first.next_cursor()
        f.pages["101"]["version"] = {"number": 2, "createdAt": "2024-03-01T09:00:00.000Z"}
        f.pages["101"]["body"]["storage"]["value"] = "<p>edited: SSN 512-44-7821</p>"
        second = connector(f)
        second.resume_from(cursor)
        return before, await read_all(second)

    before, after = run(fake, body)
    assert len(before) > 10
    assert set(after) == {uri(fake, "ENG/101"), uri(fake, "SEC")}
    assert b"edited" in after[uri(fake, "ENG/101")][1]  # type: ignore[operator]


def test_check_access_reports_identity_and_scopes() -> None:
    fake = site()
    fake.tokens = {"Bearer at-static"}
    fake.scopes = [
        "read:space:confluence",
        "read:page:confluence",
        "read:attachment:confluence",
        "write:page:confluence",
    ]

    async def body(f: FakeConfluence) -> tuple[AccessReport, AccessReport]:
        oauth = connector(
            f,
            email=None,
            api_token=None,
            access_token="at-static",
            cloud_id="cloud-1",
            api_url=f.base + "/wiki",
            accessible_resources_url=f.base + "/oauth/token/accessible-resources",
        )
        f.tokens.add(
            "Basic " + __import__("base64").b64encode(b"bot@acme.example:api-token").decode()
        )
        basic = connector(f)
        try:
            return await oauth.check_access(), await basic.check_access()
        finally:
            await oauth.aclose()
            await basic.aclose()

    oauth, basic = run(fake, body)
    assert oauth.broader == ("write:page:confluence",) and oauth.missing == ()
    assert "Perimeter Scanner" in oauth.identity
    assert basic.granted is None and basic.notes


def test_bad_credentials_fail_the_scan() -> None:
    fake = site()
    fake.tokens = set()
    with pytest.raises(AuthError, match="HTTP 401"):
        full_scan(fake)


@pytest.mark.parametrize(
    ("storage", "text"),
    [
        ("<p>a</p><p>b</p>", "a\nb"),
        ("<table><tr><td>name</td><td>ssn</td></tr></table>", "name ssn"),
        (
            '<ac:structured-macro><ac:parameter ac:name="x">hidden</ac:parameter>'
            "<ac:plain-text-body><![CDATA[secret body]]></ac:plain-text-body>"
            "</ac:structured-macro>",
            "secret body",
        ),
        ("<p>Tom &amp; Jerry&nbsp;ok</p>", "Tom & Jerry\xa0ok"),
    ],
    ids=["paragraphs", "table-row", "cdata-macro", "entities"],
)
def test_storage_format_to_text(storage: str, text: str) -> None:
    assert storage_to_text(storage) == text


def test_scan_source_end_to_end(tmp_path: Path) -> None:
    fake = site()
    with serve_in_thread(fake.media_app()) as media_base, serve_in_thread(fake.app()) as base:
        fake.base, fake.media_base = base, media_base
        sources = tmp_path / "sources.yaml"
        (tmp_path / "token").write_text("api-token\n")
        sources.write_text(
            "sources:\n"
            "  - name: wiki\n"
            "    kind: confluence\n"
            "    settings:\n"
            f"      site_url: {base}\n"
            "      email: bot@acme.example\n"
            "      api_token: {file: token}\n"
        )
        env = {"PERIMETER_SOURCES": str(sources)}
        checked = perimeter("check", "wiki", env=env)
        scanned = perimeter("scan", "--source", "wiki", "--workers", "1", env=env)
        shown = perimeter("map", "--items", "--format", "json", env=env)
    assert checked.returncode == 0 and "Perimeter Scanner" in checked.stdout, checked.stderr
    assert scanned.returncode == 0, scanned.stderr
    rows = {r["uri"]: r for r in json.loads(shown.stdout)}
    onboarding = rows[uri(fake, "ENG/110")]
    assert onboarding["level"] == "restricted" and onboarding["exposure"] == "internal"
    assert onboarding["web_url"] == f"{fake.base}/wiki/spaces/ENG/pages/110/Onboarding"
    assert rows[uri(fake, "ENG/120")]["level"] == "restricted"  # the AWS key in a code macro
    assert rows[uri(fake, "PUB/200")]["exposure"] == "public"
    assert rows[uri(fake, "SEC")]["status"] == "failed"
