from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from models.errors import ConfigError
from service.schedules import Scheduler, Schedules
from service.schema import apply_service_migrations


def _open(path: Path) -> sqlite_utils.Database:
    db = sqlite_utils.Database(sqlite3.connect(path, check_same_thread=False))
    apply_service_migrations(db)
    return db


def _backdate(db: sqlite_utils.Database, source: str, hours: float) -> None:
    then = (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
    with db.conn:
        db.execute("UPDATE schedules SET last_run = ? WHERE source = ?", [then, source])


def test_missed_runs_once_at_startup_not_once_per_occurrence(tmp_path: Path) -> None:
    db_path = tmp_path / "s.db"
    db = _open(db_path)
    schedules = Schedules(db)
    schedules.set("hourly", "0 * * * *")
    schedules.set("yearly", "0 0 1 1 *")
    schedules.set("paused", "0 * * * *", enabled=False)
    for source in ("hourly", "yearly", "paused"):
        _backdate(db, source, hours=30)  # down for 30 hours: 30 hourly occurrences missed
    started: list[str] = []

    async def start_scan(source: str) -> str:
        started.append(source)
        return f"scan-{source}"

    async def boot() -> list[str]:
        scheduler = Scheduler(lambda: _open(db_path), start_scan)
        try:
            return await scheduler.start()
        finally:
            scheduler.shutdown()

    assert asyncio.run(boot()) == ["hourly"]
    assert started == ["hourly"]
    row = next(r for r in schedules.all() if r["source"] == "hourly")
    assert row["last_scan_id"] == "scan-hourly"
    assert datetime.fromisoformat(row["next_run"]) > datetime.now(UTC)
    started.clear()
    assert asyncio.run(boot()) == []  # restarting again runs nothing: the miss was caught up


@pytest.mark.parametrize("cron", ["every hour", "61 * * * *", "* * *", ""])
def test_bad_cron_is_rejected(tmp_path: Path, cron: str) -> None:
    with pytest.raises(ConfigError, match="cron"):
        Schedules(_open(tmp_path / "s.db")).set("x", cron)
