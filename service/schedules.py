"""Scheduled scans: a cron expression per source, run in-process by APScheduler.

The schedule and its last run live in SQLite, so a restart knows what it missed. At start-up a
source whose schedule fired while the service was down is scanned once (not once per missed
occurrence); after that APScheduler fires at each cron time, coalescing runs it missed while busy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import sqlite_utils
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from models.errors import ConfigError


def parse_cron(expression: str) -> CronTrigger:
    """A standard 5-field crontab expression, evaluated in UTC."""
    try:
        return CronTrigger.from_crontab(expression, timezone=UTC)
    except ValueError as exc:
        raise ConfigError(f"invalid cron expression {expression!r}: {exc}") from exc


class Schedules:
    """The schedules table."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def set(self, source: str, cron: str, enabled: bool = True) -> None:
        parse_cron(cron)
        now = datetime.now(UTC).isoformat()
        with self.db.conn:
            self.db.execute(
                "INSERT INTO schedules (source, cron, enabled, created, last_run) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET cron = excluded.cron, "
                "enabled = excluded.enabled",
                [source, cron, int(enabled), now, now],
            )

    def remove(self, source: str) -> None:
        with self.db.conn:
            cur = self.db.execute("DELETE FROM schedules WHERE source = ?", [source])
        if cur.rowcount == 0:
            raise ConfigError(f"no schedule for source {source!r}")

    def all(self) -> list[dict[str, Any]]:
        rows = list(self.db.query("SELECT * FROM schedules ORDER BY source"))
        for row in rows:
            row["enabled"] = bool(row["enabled"])
            last = datetime.fromisoformat(row["last_run"])
            nxt = parse_cron(row["cron"]).get_next_fire_time(None, last)
            row["next_run"] = nxt.isoformat() if nxt else None
        return rows

    def mark_run(self, source: str, when: datetime, scan_id: str | None) -> None:
        with self.db.conn:
            self.db.execute(
                "UPDATE schedules SET last_run = ?, last_scan_id = ? WHERE source = ?",
                [when.isoformat(), scan_id, source],
            )

    def missed(self, now: datetime) -> list[str]:
        """Sources whose schedule fired at least once between their last run and ``now``."""
        due = []
        for row in self.db.query("SELECT source, cron, last_run FROM schedules WHERE enabled = 1"):
            last = datetime.fromisoformat(row["last_run"])
            nxt = parse_cron(row["cron"]).get_next_fire_time(None, last)
            if nxt is not None and last < nxt <= now:
                due.append(row["source"])
        return due


StartScan = Callable[[str], Awaitable[str | None]]


class Scheduler:
    """Runs scheduled scans inside the service's event loop."""

    def __init__(self, open_db: Callable[[], sqlite_utils.Database], start_scan: StartScan) -> None:
        self.open_db = open_db
        self.start_scan = start_scan
        self.scheduler = AsyncIOScheduler(timezone=UTC)

    async def start(self) -> list[str]:
        """Catch up on missed runs (once each), then schedule every enabled source.
        Returns the sources started to catch up."""
        db = self.open_db()
        try:
            store = Schedules(db)
            now = datetime.now(UTC)
            missed = store.missed(now)
            rows = [r for r in store.all() if r["enabled"]]
        finally:
            db.conn.close()
        for source in missed:
            await self._run(source)
        for row in rows:
            self.scheduler.add_job(
                self._run,
                parse_cron(row["cron"]),
                args=[row["source"]],
                id=row["source"],
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
                replace_existing=True,
            )
        self.scheduler.start()
        return missed

    def reload(self, source: str) -> None:
        """Apply a created, changed or removed schedule without a restart."""
        if not self.scheduler.running:
            return
        db = self.open_db()
        try:
            row = next(iter(db.query("SELECT * FROM schedules WHERE source = ?", [source])), None)
        finally:
            db.conn.close()
        if self.scheduler.get_job(source):
            self.scheduler.remove_job(source)
        if row and row["enabled"]:
            self.scheduler.add_job(
                self._run,
                parse_cron(row["cron"]),
                args=[source],
                id=source,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )

    async def _run(self, source: str) -> None:
        when = datetime.now(UTC)
        scan_id = await self.start_scan(source)
        db = self.open_db()
        try:
            await asyncio.to_thread(Schedules(db).mark_run, source, when, scan_id)
        finally:
            db.conn.close()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
