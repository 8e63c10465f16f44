"""The Notion connector over real HTTP against the fake Notion API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.base import AccessReport
from connectors.http import HttpSettings
from connectors.notion import NotionConfig, NotionConnector, block_text, properties_text
from models import Exposure
from models.errors import AuthError
from tests.connectors.fakes import ScanOut, perimeter, read_all, serve, serve_in_thread
from tests.connectors.fakes.notion import FakeNotion, rich

FAST_HTTP = HttpSettings(backoff_base=0.01, backoff_max=0.05, max_retries=3, read_timeout=5)
T0 = "2024-03-01T10:00:00.000Z"
ROOT = "notion://acme"


def workspace() -> FakeNotion:
    fake = FakeNotion()
    for n in range(5):
        fake.add_page(f"p{n}", f"Note {n}", f"2024-02-0{n + 1}T10:00:00.000Z")
    fake.add_page("hr", "HR onboarding", T0)
    for n in range(3):
        fake.add_block("hr", "paragraph", f"step {n}")
    toggle = fake.add_block("hr", "toggle", "Sensitive")
    fake.nest(toggle, "paragraph", "Dana's SSN 512-44-7821")
    fake.add_block("hr", "code", "key: AKIAQ3EGUMXVJ4R7WN2B")
    fake.add_page("pub", "Press kit", T0, public=True)
    fake.add_block("pub", "paragraph", "We are hiring")
    fake.add_database("db1", "Customers", T0)
    fake.add_page(
        "row1",
        "Globex",
        T0,
        parent={"type": "database_id", "database_id": "db1"},
        props={"Contact": {"id": "c", "type": "email", "email": "ops@globex.example"}},
    )
    fake.add_page("row2", "Initech", T0, parent={"type": "database_id", "database_id": "db1"})
    fake.add_database("db2", "Board minutes", T0)
    fake.restricted.add("db2")
    fake.add_database("db3", "Public roadmap", T0, public=True)
    fake.add_page("row3", "Q3", T0, parent={"type": "database_id", "database_id": "db3"})
    fake.add_page("doomed", "Old draft", "2024-01-15T10:00:00.000Z")
    fake.delete_after_search.add("doomed")
    return fake


def connector(fake: FakeNotion, **settings: Any) -> NotionConnector:
    values: dict[str, Any] = {
        "token": "ntn_valid",
        "api_url": fake.base + "/v1/",
        "page_size": 2,
        "requests_per_second": 1000,
        "http": FAST_HTTP,
    }
    values.update(settings)
    return NotionConnector(NotionConfig.model_validate(values))


def run(fake: FakeNotion, body: Callable[[FakeNotion], Any]) -> Any:
    async def main() -> Any:
        async with serve(fake.app()) as base:
            fake.base = base
            return await asyncio.wait_for(body(fake), timeout=60)

    return asyncio.run(main())


def full_scan(fake: FakeNotion, **settings: Any) -> ScanOut:
    return run(fake, lambda f: read_all(connector(f, **settings)))


def test_search_pages_blocks_and_database_rows_across_pages() -> None:
    fake = workspace()
    items = full_scan(fake)
    assert {f"{ROOT}/p{n}" for n in range(5)} <= set(items)
    assert {f"{ROOT}/row1", f"{ROOT}/row2", f"{ROOT}/row3"} <= set(items)
    hr = items[f"{ROOT}/hr"][1]
    assert isinstance(hr, bytes)
    assert b"step 2" in hr and b"SSN 512-44-7821" in hr and b"AKIAQ3EGUMXVJ4R7WN2B" in hr
    assert b"Contact: ops@globex.example" in items[f"{ROOT}/row1"][1]  # type: ignore[operator]
    # page_size 2: search over 14 objects, hr's 5 top-level blocks, db1's 2 rows
    assert len(fake.called("search")) == 7
    assert len([c for c in fake.called("children") if c.get("start_cursor")]) >= 2
    assert all(c.get("page_size") == 2 for c in fake.called("search"))


def test_items_carry_metadata_and_web_urls() -> None:
    fake = workspace()
    items = full_scan(fake)
    hr = items[f"{ROOT}/hr"][0]
    assert hr.path == "HR onboarding" and hr.owner == "user-1"
    assert hr.web_url == "https://www.notion.so/HR-onboarding-hr"
    assert hr.modified is not None and hr.container == ROOT
    assert items[f"{ROOT}/row1"][0].container == f"{ROOT}/db/db1"


@pytest.mark.parametrize(
    ("uri", "exposure"),
    [
        (f"{ROOT}/hr", Exposure.INTERNAL),
        (f"{ROOT}/pub", Exposure.PUBLIC),
        (f"{ROOT}/row1", Exposure.INTERNAL),
        (f"{ROOT}/row3", Exposure.INTERNAL),
    ],
    ids=["page", "published-page", "row", "row-of-public-db"],
)
def test_exposure_from_public_urls(uri: str, exposure: Exposure) -> None:
    assert full_scan(workspace())[uri][0].exposure is exposure


def test_429_and_5xx_are_waited_out_and_nothing_is_lost() -> None:
    baseline = full_scan(workspace())
    fake = workspace()
    fake.fail["search"] = [429, 503]
    fake.fail["children"] = [502, 429]
    fake.fail["query"] = [500]
    items = full_scan(fake)
    assert set(items) == set(baseline)
    assert items[f"{ROOT}/hr"][1] == baseline[f"{ROOT}/hr"][1]


def test_a_restricted_database_is_recorded_and_the_scan_goes_on() -> None:
    items = full_scan(workspace())
    _, error = items[f"{ROOT}/db/db2"]
    assert "object_not_found" in str(error) and "HTTP 404" in str(error)
    assert f"{ROOT}/row3" in items  # db3 is listed after db2


def test_a_page_deleted_mid_scan_is_recorded() -> None:
    items = full_scan(workspace())
    assert "Could not find block" in str(items[f"{ROOT}/doomed"][1])


def test_an_expired_token_is_refreshed() -> None:
    fake = workspace()
    fake.refresh_tokens = {"nrt_0"}
    items = run(
        fake,
        lambda f: read_all(
            connector(
                f,
                token="ntn_expired",
                refresh_token="nrt_0",
                client_id="cid",
                client_secret="csecret",
                token_url=f.base + "/v1/oauth/token",
            )
        ),
    )
    assert b"SSN" in items[f"{ROOT}/hr"][1]  # type: ignore[operator]
    assert [c["refresh_token"] for r, c in fake.calls if r == "token"] == ["nrt_0"]


def test_an_incremental_rescan_reads_only_changed_pages() -> None:
    fake = workspace()
    fake.delete_after_search.clear()
    for n, pid in enumerate(["hr", "pub", "row1", "row2", "row3"]):
        fake.pages[pid]["last_edited_time"] = f"2024-02-2{n}T10:00:00.000Z"
    fake.add_page("latest", "Latest", T0)  # the newest edit the first scan sees

    async def body(f: FakeNotion) -> tuple[ScanOut, ScanOut]:
        first = connector(f)
        first.resume_from(None)
        before = await read_all(first)
        cursor = first.next_cursor()
        f.pages["p2"]["last_edited_time"] = "2024-04-01T08:00:00.000Z"
        f.pages["row2"]["last_edited_time"] = "2024-04-01T08:00:00.000Z"
        second = connector(f)
        second.resume_from(cursor)
        return before, await read_all(second)

    before, after = run(fake, body)
    assert len(before) > 10
    # p2 and row2 changed; `latest` is in the minute of the cursor (Notion's minute precision),
    # so it is read again rather than risk missing an edit; db2 is still denied.
    assert set(after) == {f"{ROOT}/p2", f"{ROOT}/row2", f"{ROOT}/latest", f"{ROOT}/db/db2"}


def test_check_access_says_capabilities_are_not_reported() -> None:
    async def body(f: FakeNotion) -> AccessReport:
        conn = connector(f)
        try:
            return await conn.check_access()
        finally:
            await conn.aclose()

    report = run(workspace(), body)
    assert report.granted is None and "Acme" in report.identity and report.notes


def test_a_bad_token_fails_the_scan() -> None:
    with pytest.raises(AuthError, match="API token is invalid"):
        full_scan(workspace(), token="ntn_wrong")


@pytest.mark.parametrize(
    ("block", "text"),
    [
        ({"type": "paragraph", "paragraph": {"rich_text": rich("hi")}}, "hi"),
        ({"type": "table_row", "table_row": {"cells": [rich("a"), rich("b")]}}, "a\tb"),
        ({"type": "image", "image": {"caption": rich("badge photo")}}, "badge photo"),
        ({"type": "divider", "divider": {}}, ""),
    ],
    ids=["paragraph", "table-row", "caption", "divider"],
)
def test_block_text(block: dict[str, Any], text: str) -> None:
    assert block_text(block) == text


def test_properties_text_skips_the_title() -> None:
    props = {
        "Name": {"type": "title", "title": rich("x")},
        "Phone": {"type": "phone_number", "phone_number": "+1 555 0100"},
        "Tags": {"type": "multi_select", "multi_select": [{"name": "vip"}, {"name": "eu"}]},
    }
    assert properties_text(props) == "Phone: +1 555 0100\nTags: vip, eu"


def test_scan_source_end_to_end(tmp_path: Path) -> None:
    fake = workspace()
    with serve_in_thread(fake.app()) as base:
        fake.base = base
        sources = tmp_path / "sources.toml"
        sources.write_text(
            '[[source]]\nname = "notes"\nkind = "notion"\n'
            f'[source.settings]\ntoken = "${{env:TEST_NOTION_TOKEN}}"\napi_url = "{base}/v1/"\n'
        )
        env = {"TEST_NOTION_TOKEN": "ntn_valid"}
        checked = perimeter("check", "notes", "--sources", str(sources), env=env)
        scanned = perimeter(
            "scan", "--source", "notes", "--sources", str(sources), "--workers", "1", env=env
        )
        shown = perimeter("map", "--items", "--format", "json", env=env)
        table = perimeter("map", env=env)
    assert checked.returncode == 0 and "Read content" in checked.stdout, checked.stderr
    assert scanned.returncode == 0, scanned.stderr
    rows = {r["uri"]: r for r in json.loads(shown.stdout)}
    hr = rows[f"{ROOT}/hr"]
    assert hr["level"] == "restricted" and hr["exposure"] == "internal"
    assert hr["web_url"] == "https://www.notion.so/HR-onboarding-hr"
    assert rows[f"{ROOT}/pub"]["exposure"] == "public"
    assert rows[f"{ROOT}/db/db2"]["status"] == "failed"
    assert "notes" in table.stdout and "restricted" in table.stdout
    assert "ntn_valid" not in shown.stdout + scanned.stdout + scanned.stderr + table.stdout
