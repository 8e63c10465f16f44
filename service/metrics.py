"""Prometheus metrics: store totals read at scrape time, API latency measured in-process.

Totals come from the store rather than in-process counters, so scans run by the CLI or by another
process count too, and a restart does not reset them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import sqlite_utils
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class StoreCollector(Collector):
    def __init__(self, open_db: Callable[[], sqlite_utils.Database]) -> None:
        self.open_db = open_db

    def collect(self) -> Iterator[Metric]:
        db = self.open_db()
        try:
            running = GaugeMetricFamily("perimeter_scans_running", "Scans in progress")
            running.add_metric(
                [], db.execute("SELECT COUNT(*) FROM scans WHERE status = 'running'").fetchone()[0]
            )
            yield running
            scans = CounterMetricFamily(
                "perimeter_scans", "Scans by final status", labels=["status"]
            )
            for status, n in db.execute("SELECT status, COUNT(*) FROM scans GROUP BY status"):
                scans.add_metric([status], n)
            yield scans
            totals = db.execute(
                "SELECT COALESCE(SUM(items_scanned), 0), COALESCE(SUM(items_skipped), 0), "
                "COALESCE(SUM(items_failed), 0), COALESCE(SUM(bytes_read), 0) FROM scans"
            ).fetchone()
            items = CounterMetricFamily(
                "perimeter_items", "Items processed by scans", labels=["outcome"]
            )
            for outcome, value in zip(("scanned", "skipped", "failed"), totals[:3], strict=True):
                items.add_metric([outcome], value)
            yield items
            read = CounterMetricFamily("perimeter_bytes_read", "Bytes read by scans")
            read.add_metric([], totals[3])
            yield read
            findings = GaugeMetricFamily(
                "perimeter_findings",
                "Findings stored, by the level of their item",
                labels=["level"],
            )
            for level, n in db.execute(
                "SELECT i.level, COUNT(*) FROM findings f JOIN items i ON i.id = f.item_id "
                "GROUP BY i.level"
            ):
                findings.add_metric([level], n)
            yield findings
            levels = GaugeMetricFamily(
                "perimeter_items_by_level", "Items by level", labels=["level"]
            )
            for level, n in db.execute("SELECT level, COUNT(*) FROM items GROUP BY level"):
                levels.add_metric([level], n)
            yield levels
        finally:
            db.conn.close()


class Metrics:
    """One registry per app, so several apps (tests) never collide on metric names."""

    def __init__(self, open_db: Callable[[], sqlite_utils.Database]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(StoreCollector(open_db))
        self.latency = Histogram(
            "perimeter_api_request_duration_seconds",
            "API request latency",
            labelnames=["method", "route", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
