"""A real scan of a planted directory through the process pool into a real SQLite store."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from classifiers.classifier import ClassifierSettings
from connectors.local import LocalConfig, LocalConnector
from models import Asset, Item, ScanStatus, Source
from scanner.sampling import SamplingOptions
from service.runner import run_scan
from service.store import Store

# Values planted in the files; none of them may appear in the database files afterwards.
PLANTED = {
    "US_SSN": "536-22-1234",
    "CREDIT_CARD": "5425233430109903",
    "IBAN_CODE": "DE89370400440532013000",
    "EMAIL_ADDRESS": "margaret.thompson@example-corp.com",
    "PHONE_NUMBER": "(415) 555-2671",
    "PERSON": "Margaret Thompson",
    "AWS_ACCESS_KEY_ID": "AKIA2OGYBAH6STQ3PQRZ",
    "GITHUB_TOKEN": "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",
    "URL_CREDENTIALS": "Vq8rT2mZp4Lx",
}


def _workspace(root: Path) -> None:
    (root / "hr").mkdir(parents=True)
    (root / "hr" / "staff.csv").write_text(
        "name,email,phone,ssn\n"
        f"{PLANTED['PERSON']},{PLANTED['EMAIL_ADDRESS']},{PLANTED['PHONE_NUMBER']},"
        f"{PLANTED['US_SSN']}\n"
    )
    (root / "finance").mkdir()
    (root / "finance" / "payout.json").write_text(
        json.dumps({"payee": {"card": PLANTED["CREDIT_CARD"], "iban": PLANTED["IBAN_CODE"]}})
    )
    (root / "notes.txt").write_text("Lunch menu: soup, bread, and apples.\n")
    (root / "deploy.env").write_text(
        f"AWS_ACCESS_KEY_ID={PLANTED['AWS_ACCESS_KEY_ID']}\n"
        f"GITHUB_TOKEN={PLANTED['GITHUB_TOKEN']}\n"
        f"DATABASE_URL=postgres://app:{PLANTED['URL_CREDENTIALS']}@db.internal:5432/prod\n"
    )
    (root / "broken.json").write_text('{"unterminated": ')
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    (root / "big.txt").write_text("filler line\n" * 10_000 + f"late {PLANTED['US_SSN']}\n")


def _scan(root: Path, db: Path, sampling: SamplingOptions | None = None) -> tuple[Store, str]:
    store = Store.open(db)
    settings = ClassifierSettings(key=b"k" * 32)
    source = Source(kind="local", name="planted", uri=root.as_uri())
    scan = asyncio.run(
        run_scan(
            store,
            LocalConnector(LocalConfig(root=root)),
            source,
            settings,
            sampling or SamplingOptions(max_bytes=64 * 1024),
            workers=2,
        )
    )
    assert scan.status is ScanStatus.COMPLETED
    return store, scan.id


def test_scan_classifies_locates_and_records_errors(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _workspace(root)
    store, scan_id = _scan(root, tmp_path / "p.db")
    try:
        items = {Path(r["path"]).name: r for r in store.items(with_findings=True)}
        scan = store.scan(scan_id)
    finally:
        store.close()

    assert items["staff.csv"]["level"] == "restricted"
    assert set(items["staff.csv"]["types"]) >= {"US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER", "PERSON"}
    ssn = next(f for f in items["staff.csv"]["findings"] if f["type"] == "US_SSN")
    assert ssn["location"] == {"row": 1, "field": "ssn"}
    assert ssn["evidence"] == "***-**-1234"
    card = next(f for f in items["payout.json"]["findings"] if f["type"] == "CREDIT_CARD")
    assert card["location"] == {"json_path": "$.payee.card"}
    assert items["notes.txt"]["level"] == "internal" and items["notes.txt"]["types"] == []
    assert items["deploy.env"]["level"] == "restricted"
    assert {"AWS_ACCESS_KEY_ID", "GITHUB_TOKEN", "URL_CREDENTIALS"} <= set(
        items["deploy.env"]["types"]
    )
    assert items["broken.json"]["status"] == "failed"
    assert "invalid JSON" in items["broken.json"]["error"]
    assert items["image.png"]["status"] == "skipped"
    assert "image/png" in items["image.png"]["error"]
    # The byte cap: the SSN on the last line of big.txt is past 64 KiB.
    assert items["big.txt"]["status"] == "partial"
    assert "byte cap" in items["big.txt"]["error"]
    assert items["big.txt"]["bytes_read"] == 64 * 1024
    assert "US_SSN" not in items["big.txt"]["types"]

    c = scan.counters
    assert (c.items_seen, c.items_sampled) == (7, 7)
    assert (c.items_scanned, c.items_failed, c.items_skipped, c.items_partial) == (5, 1, 1, 1)


def test_store_never_holds_a_raw_value(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _workspace(root)
    db = tmp_path / "p.db"
    store, _ = _scan(root, db)
    store.close()
    blobs = b"".join(p.read_bytes() for p in tmp_path.glob("p.db*"))
    assert blobs, "the store files are missing"
    for data_type, raw in PLANTED.items():
        forms = {raw, raw.replace("-", ""), raw.replace(" ", "")}
        for form in forms:
            assert form.encode() not in blobs, f"raw {data_type} {form!r} found in the store"


def test_rescan_replaces_findings_without_duplicates(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _workspace(root)
    db = tmp_path / "p.db"
    store, _ = _scan(root, db)
    first = store.db.execute("SELECT COUNT(*) FROM findings").fetchone()[0]
    store.close()
    store, _ = _scan(root, db)
    try:
        assert store.db.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == first
        assert store.db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 7
        assert store.db.execute("SELECT COUNT(*) FROM scans").fetchone()[0] == 2
    finally:
        store.close()


class _VanishingConnector(LocalConnector):
    """The real local connector, racing a user who deletes a file after it was listed."""

    async def discover(self) -> AsyncIterator[Asset | Item]:
        async for entry in super().discover():
            if isinstance(entry, Item) and entry.path == "notes.txt":
                (self.root / entry.path).unlink()
            yield entry


def test_item_gone_before_read_is_an_item_error_and_the_scan_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _workspace(root)
    store = Store.open(tmp_path / "p.db")
    try:
        scan = asyncio.run(
            run_scan(
                store,
                _VanishingConnector(LocalConfig(root=root)),
                Source(kind="local", name="race", uri=root.as_uri()),
                ClassifierSettings(key=b"k" * 32),
                SamplingOptions(),
                workers=1,
            )
        )
        items = {Path(r["path"]).name: r for r in store.items()}
    finally:
        store.close()
    assert scan.status is ScanStatus.COMPLETED
    assert items["notes.txt"]["status"] == "failed"
    assert "No such file" in items["notes.txt"]["error"]
    assert items["staff.csv"]["level"] == "restricted"


@pytest.mark.parametrize("budget", [1, 2])
def test_budget_limits_items_per_container(tmp_path: Path, budget: int) -> None:
    root = tmp_path / "data"
    _workspace(root)
    store, scan_id = _scan(root, tmp_path / "p.db", SamplingOptions(budget=budget))
    try:
        counters = store.scan(scan_id).counters
    finally:
        store.close()
    # three containers: data/ (5 files), hr/ (1), finance/ (1)
    assert counters.items_seen == 7
    assert counters.items_sampled == min(budget, 5) + 1 + 1
