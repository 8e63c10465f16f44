"""The Slack connector over real HTTP against the fake Slack Web API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.base import AccessReport
from connectors.http import HttpSettings
from connectors.slack import SlackConfig, SlackConnector
from models import Asset, Exposure, Item
from models.errors import AuthError, ItemError
from tests.connectors.fakes import serve, serve_in_thread
from tests.connectors.fakes.slack import FakeSlack

FAST_HTTP = HttpSettings(backoff_base=0.01, backoff_max=0.05, max_retries=3, read_timeout=5)
FAST_TIERS = {1: 6000.0, 2: 6000.0, 3: 6000.0, 4: 6000.0}
SSN_TEXT = "Payroll fix: employee SSN 512-44-7821, please update"
CARD_TEXT = "Corporate card 4539 1488 0343 6467 exp 09/29"
AWS_TEXT = b"deploy:\n  key: AKIAQ3EGUMXVJ4R7WN2B\n"


def workspace() -> FakeSlack:
    """Five conversations of every kind, a thread, three files; listings need several pages."""
    fake = FakeSlack()
    fake.add_channel("C1", "general")
    for n in range(5):
        fake.post("C1", f"170000000{n}.000100", f"standup note {n}")
    fake.post("C1", "1700000010.000100", SSN_TEXT)
    fake.reply("C1", "1700000000.000100", "1700000020.000200", "thread reply one")
    fake.reply("C1", "1700000000.000100", "1700000021.000200", "thread reply two")
    fake.reply("C1", "1700000000.000100", "1700000022.000200", "thread reply three")
    fake.add_channel("C2", "partners", is_shared=True, is_ext_shared=True)
    fake.post("C2", "1700000030.000100", "welcome, partners")
    fake.add_channel("G1", "hr", is_private=True)
    fake.post("G1", "1700000040.000100", CARD_TEXT)
    fake.add_channel("C3", "locked")
    fake.post("C3", "1700000050.000100", "you cannot read me")
    fake.not_in_channel.add("C3")
    fake.add_channel("D1", "", is_im=True, user="U7")
    fake.post("D1", "1700000060.000100", "a direct message")
    fake.add_file(
        "F1", "deploy.yaml", AWS_TEXT, 1700000100, channels=["C1"], public_url_shared=True
    )
    fake.add_file("F2", "notes.txt", b"hr notes\n", 1700000101, channels=[], groups=["G1"])
    fake.add_file("F3", "gone.txt", b"soon deleted\n", 1700000102, channels=["C2"])
    fake.delete_after_listing.add("F3")
    return fake


def connector(fake: FakeSlack, **settings: Any) -> SlackConnector:
    config = SlackConfig.model_validate(
        {
            "token": "xoxb-valid",
            "api_url": fake.base + "/api/",
            "page_size": 2,
            "tier_rates": FAST_TIERS,
            "http": FAST_HTTP,
            **settings,
        }
    )
    return SlackConnector(config)


ScanOut = dict[str, tuple[Item, bytes | str]]


async def scan(conn: SlackConnector) -> tuple[list[Asset], ScanOut]:
    """discover() then read() every item, as the pipeline does; errors kept as strings."""
    assets: list[Asset] = []
    items: ScanOut = {}
    try:
        async for entry in conn.discover():
            if isinstance(entry, Asset):
                assets.append(entry)
                continue
            try:
                items[entry.uri] = (entry, (await conn.read(entry, 1_000_000)).data)
            except ItemError as exc:
                items[entry.uri] = (entry, str(exc))
    finally:
        await conn.aclose()
    return assets, items


def run(fake: FakeSlack, body: Callable[[FakeSlack], Any], download_host: bool = False) -> Any:
    async def main() -> Any:
        async with serve(fake.app()) as base, serve(fake.download_app()) as dl:
            fake.base = base
            fake.download_base = dl if download_host else None
            return await asyncio.wait_for(body(fake), timeout=60)

    return asyncio.run(main())


def full_scan(fake: FakeSlack, download_host: bool = False, **settings: Any) -> ScanOut:
    return run(fake, lambda f: scan(connector(f, **settings)), download_host)[1]


def test_discovers_every_conversation_message_reply_and_file_across_pages() -> None:
    fake = workspace()
    items = full_scan(fake)
    messages = {u for u in items if "/files/" not in u and u.count("/") == 4}
    assert "slack://T0/C1/1700000010.000100" in messages
    assert {"slack://T0/C1/1700000020.000200", "slack://T0/C1/1700000022.000200"} <= messages
    assert {"slack://T0/files/F1", "slack://T0/files/F2", "slack://T0/files/F3"} <= set(items)
    assert len(messages) == 6 + 3 + 1 + 1 + 1  # C1 history + thread, C2, G1, D1
    # page_size 2: five conversations, six C1 messages, four thread messages each need pages
    assert len(fake.called("conversations.list")) == 3
    assert len([c for c in fake.called("conversations.history") if c["channel"] == "C1"]) == 3
    assert len(fake.called("conversations.replies")) == 2
    assert len(fake.called("files.list")) == 2  # page/count paging, 3 files by 2
    assert items["slack://T0/C1/1700000010.000100"][1] == SSN_TEXT.encode()
    assert items["slack://T0/files/F1"][1] == AWS_TEXT
    # the token travels in the header, never in a URL or form field
    assert all("token" not in params for _, params in fake.calls)


def test_items_carry_metadata_and_web_urls() -> None:
    fake = workspace()
    items = full_scan(fake)
    msg = items["slack://T0/C1/1700000010.000100"][0]
    assert msg.owner == "U1" and msg.content_type == "text/plain"
    assert msg.created is not None and msg.created.timestamp() == 1700000010.0001
    assert msg.web_url == f"{fake.base}/workspace/archives/C1/p1700000010000100"
    reply = items["slack://T0/C1/1700000021.000200"][0]
    assert reply.web_url is not None and "thread_ts=1700000000.000100" in reply.web_url
    f1 = items["slack://T0/files/F1"][0]
    assert f1.size == len(AWS_TEXT) and f1.path == "deploy.yaml" and f1.web_url


@pytest.mark.parametrize(
    ("uri", "exposure"),
    [
        ("slack://T0/C1/1700000010.000100", Exposure.INTERNAL),
        ("slack://T0/C2/1700000030.000100", Exposure.EXTERNAL),
        ("slack://T0/G1/1700000040.000100", Exposure.PRIVATE),
        ("slack://T0/D1/1700000060.000100", Exposure.PRIVATE),
        ("slack://T0/files/F1", Exposure.PUBLIC),
        ("slack://T0/files/F2", Exposure.PRIVATE),
        ("slack://T0/files/F3", Exposure.EXTERNAL),
    ],
    ids=[
        "public-channel",
        "slack-connect",
        "private-channel",
        "dm",
        "public-link",
        "hr-file",
        "ext",
    ],
)
def test_exposure_is_mapped(uri: str, exposure: Exposure) -> None:
    assert full_scan(workspace())[uri][0].exposure is exposure


def test_429_with_retry_after_waits_and_loses_nothing() -> None:
    baseline = set(full_scan(workspace()))
    fake = workspace()
    fake.fail["conversations.history"] = [429]
    fake.fail["files.info"] = [429]
    items = full_scan(fake)
    assert set(items) == baseline
    assert all(
        not isinstance(v, str) for u, (_, v) in items.items() if "C3" not in u and "F3" not in u
    )


def test_a_5xx_is_retried() -> None:
    fake = workspace()
    fake.fail["conversations.list"] = [503, 500]
    items = full_scan(fake)
    assert "slack://T0/C2/1700000030.000100" in items


def test_an_expired_token_is_refreshed_with_the_rotation_flow() -> None:
    fake = workspace()
    fake.tokens, fake.expired, fake.refresh_tokens = set(), {"xoxe.xoxb-old"}, {"xoxe-1-first"}
    items = full_scan(
        fake,
        token="xoxe.xoxb-old",
        refresh_token="xoxe-1-first",
        client_id="cid",
        client_secret="csecret",
    )
    assert items["slack://T0/G1/1700000040.000100"][1] == CARD_TEXT.encode()
    assert items["slack://T0/files/F2"][1] == b"hr notes\n"
    rotations = fake.called("oauth.v2.access")
    assert len(rotations) == 1 and rotations[0]["refresh_token"] == "xoxe-1-first"


def test_a_forbidden_channel_is_recorded_and_the_scan_goes_on() -> None:
    items = full_scan(workspace())
    entry, error = items["slack://T0/C3"]
    assert isinstance(error, str) and "not_in_channel" in error
    assert entry.path == "#locked"
    assert not any(u.startswith("slack://T0/C3/") for u in items)
    assert "slack://T0/D1/1700000060.000100" in items  # listed after C3


def test_a_file_deleted_mid_scan_is_recorded() -> None:
    items = full_scan(workspace())
    assert "file_not_found" in str(items["slack://T0/files/F3"][1])


def test_downloads_redirected_to_another_host_lose_the_token() -> None:
    fake = workspace()
    items = full_scan(fake, download_host=True)
    assert items["slack://T0/files/F1"][1] == AWS_TEXT
    api_hops = [auth for path, auth in fake.downloads if path.startswith("/files-pri/")]
    cdn_hops = [auth for path, auth in fake.downloads if path.startswith("/dl/")]
    assert api_hops and all(a == "Bearer xoxb-valid" for a in api_hops)
    assert cdn_hops and all(a is None for a in cdn_hops)


def test_an_incremental_rescan_reads_only_what_changed() -> None:
    fake = workspace()
    fake.delete_after_listing.clear()

    async def body(f: FakeSlack) -> tuple[ScanOut, ScanOut, list[dict[str, str]]]:
        first = connector(f)
        first.resume_from(None)
        _, before = await scan(first)
        cursor = first.next_cursor()
        f.calls.clear()
        f.post("C1", "1700000200.000100", "new message after the scan")
        f.add_file("F9", "new.txt", b"fresh file\n", 4_000_000_000, channels=["C1"])
        second = connector(f)
        second.resume_from(cursor)
        _, after = await scan(second)
        return before, after, f.called("conversations.history")

    before, after, history = run(fake, body)
    assert len(before) > 10
    assert set(after) == {"slack://T0/C1/1700000200.000100", "slack://T0/files/F9", "slack://T0/C3"}
    c1 = next(c for c in history if c["channel"] == "C1")
    assert c1["oldest"] == "1700000010.000100"  # the newest message the first scan read


def test_check_access_lists_granted_scopes_and_flags_broader_ones() -> None:
    fake = workspace()
    fake.scopes = "channels:read,channels:history,files:read,chat:write,im:history"

    async def body(f: FakeSlack) -> AccessReport:
        conn = connector(f)
        try:
            return await conn.check_access()
        finally:
            await conn.aclose()

    report = run(fake, body)
    assert report.granted is not None and "chat:write" in report.granted
    assert report.broader == ("chat:write",) and report.missing == ()
    assert "B0BOT" not in report.identity and "T0" in report.identity


def test_a_revoked_token_fails_the_scan_with_an_auth_error() -> None:
    fake = workspace()
    fake.tokens = set()
    with pytest.raises(AuthError, match="invalid_auth"):
        full_scan(fake)


def test_secrets_are_not_in_repr_or_schema() -> None:
    config = SlackConfig(token=SecretStr("xoxb-hidden"))
    assert "xoxb-hidden" not in repr(config) and "xoxb-hidden" not in repr(SlackConnector(config))
    assert (
        SlackConfig.model_json_schema()["properties"]["token"]["anyOf"][0]["format"] == "password"
    )


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
    fake = workspace()
    fake.scopes += ",chat:write"
    with serve_in_thread(fake.app()) as base:
        fake.base = base
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f"""
[[source]]
name = "acme-slack"
kind = "slack"

[source.settings]
token = "${{env:TEST_SLACK_TOKEN}}"
api_url = "{base}/api/"
page_size = 2

[source.settings.http]
backoff_base = 0.01
"""
        )
        env = {"TEST_SLACK_TOKEN": "xoxb-valid", "PERIMETER_SOURCES": str(sources)}
        checked = cli("check", "acme-slack", env=env)
        assert checked.returncode == 0, checked.stderr
        assert "channels:history" in checked.stdout and "chat:write" in checked.stderr
        scanned = cli("scan", "--source", "acme-slack", "--workers", "1", env=env)
        assert scanned.returncode == 0, scanned.stderr
        shown = cli("map", "--items", "--format", "json", env=env)
        assert shown.returncode == 0, shown.stderr
        fake.post("C1", "1700000300.000100", "posted after the first scan")
        rescanned = cli("scan", "--source", "acme-slack", "--workers", "1", env=env)
        assert rescanned.returncode == 0, rescanned.stderr
        history_calls = len(fake.called("conversations.history"))
    rows = {r["uri"]: r for r in json.loads(shown.stdout)}
    ssn = rows["slack://T0/C1/1700000010.000100"]
    assert ssn["level"] == "restricted" and ssn["exposure"] == "internal"
    assert ssn["web_url"].endswith("/archives/C1/p1700000010000100")
    assert ssn["source"] == "acme-slack"
    assert rows["slack://T0/files/F1"]["level"] == "restricted"
    assert rows["slack://T0/files/F1"]["exposure"] == "public"
    assert rows["slack://T0/G1/1700000040.000100"]["exposure"] == "private"
    assert rows["slack://T0/C3"]["status"] == "failed"
    assert "xoxb-valid" not in shown.stdout + scanned.stdout + scanned.stderr
    # the rescan read only the new message (and recorded the still-locked channel again)
    assert ": 1 items scanned" in rescanned.stdout and "1 failed" in rescanned.stdout
    assert history_calls >= 8


def test_a_literal_token_in_the_sources_file_is_refused(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "s"\nkind = "slack"\n[source.settings]\ntoken = "xoxb-1"\n'
    )
    done = cli("check", "s", "--sources", str(sources), env={})
    assert done.returncode == 2 and "not in plain text" in done.stderr
    assert "xoxb-1" not in done.stderr
