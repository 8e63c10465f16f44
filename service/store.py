"""The SQLite store (sqlite-utils): sources, scans, assets, items, findings, classifications.

One writer: every write goes through a single thread, so a scan's results are serialised no
matter how many items complete at once; WAL lets readers proceed while it writes. The store never
sees a raw matched value: findings arrive with masked evidence and keyed fingerprints.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils import Migrations

from models import (
    Asset,
    ItemResult,
    ItemStatus,
    Level,
    Scan,
    ScanCounters,
    ScanStatus,
    Source,
)
from models.errors import StoreError
from scanner.pipeline import DoneItem

migrations = Migrations("perimeter")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.table("sources").create(
        {"id": str, "kind": str, "name": str, "uri": str, "settings": str, "created": str},
        pk="id",
    )
    db.table("sources").create_index(["name"], unique=True)
    db.table("scans").create(
        {
            "id": str,
            "source_id": str,
            "target": str,
            "status": str,
            "started": str,
            "finished": str,
            "error": str,
            "options": str,
            **{name: int for name in ScanCounters.model_fields},
        },
        pk="id",
        foreign_keys=[("source_id", "sources", "id")],
    )
    db.table("assets").create(
        {
            "id": str,
            "source_id": str,
            "uri": str,
            "name": str,
            "kind": str,
            "exposure": str,
            "owner": str,
            "last_scan_id": str,
        },
        pk="id",
        foreign_keys=[("source_id", "sources", "id")],
    )
    db.table("items").create(
        {
            "id": str,
            "source_id": str,
            "container": str,
            "uri": str,
            "path": str,
            "size": int,
            "content_type": str,
            "created": str,
            "modified": str,
            "owner": str,
            "exposure": str,
            "etag": str,
            "version": str,
            "status": str,
            "error": str,
            "level": str,
            "types": str,
            "finding_count": int,
            "bytes_read": int,
            "last_scan_id": str,
            "scanned_at": str,
        },
        pk="id",
        foreign_keys=[("source_id", "sources", "id")],
    )
    db.table("items").create_index(["source_id", "container"])
    db.table("items").create_index(["level"])
    db.table("findings").create(
        {
            "id": int,
            "item_id": str,
            "scan_id": str,
            "type": str,
            "category": str,
            "score": float,
            "detector": str,
            "evidence": str,
            "fingerprint": str,
            "location": str,
            "start": int,
            "end": int,
        },
        pk="id",
        foreign_keys=[("item_id", "items", "id"), ("scan_id", "scans", "id")],
    )
    db.table("findings").create_index(["item_id"])
    db.table("findings").create_index(["fingerprint"])
    db.table("classifications").create(
        {"item_id": str, "scan_id": str, "level": str, "reasons": str, "classified_at": str},
        pk=("item_id", "scan_id"),
        foreign_keys=[("item_id", "items", "id"), ("scan_id", "scans", "id")],
    )


@migrations()
def m010_connector_state(db: sqlite_utils.Database) -> None:
    """SaaS connectors: an item's web URL, and each source's incremental-scan cursor."""
    if "web_url" not in db.table("items").columns_dict:
        db.table("items").add_column("web_url", str)
    db.table("connector_state").create(
        {"source_id": str, "cursor": str, "scan_id": str, "updated": str},
        pk="source_id",
        foreign_keys=[("source_id", "sources", "id")],
        if_not_exists=True,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _id(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


class Store:
    """Open with ``Store.open(path)``; close with ``close()``."""

    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self.db = db
        self.path = path
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")

    @classmethod
    def open(cls, path: Path) -> Store:
        try:
            if path.parent and not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
            db = sqlite_utils.Database(conn)
            db.enable_wal()
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = NORMAL")
            migrations.apply(db)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc
        return cls(db, path)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self.db.conn.close()

    # -- writes -----------------------------------------------------------------------------

    def upsert_source(self, source: Source) -> str:
        row = self.db.execute("SELECT id FROM sources WHERE name = ?", [source.name]).fetchone()
        source_id = row[0] if row else uuid.uuid4().hex
        with self.db.conn:
            self.db.table("sources").upsert(
                {
                    "id": source_id,
                    "kind": source.kind,
                    "name": source.name,
                    "uri": source.uri,
                    "settings": json.dumps(source.settings),
                    "created": _now(),
                },
                pk="id",
            )
        return str(source_id)

    def start_scan(self, source_id: str, target: str, options: dict[str, Any]) -> str:
        scan_id = uuid.uuid4().hex
        with self.db.conn:
            self.db.table("scans").insert(
                {
                    "id": scan_id,
                    "source_id": source_id,
                    "target": target,
                    "status": ScanStatus.RUNNING.value,
                    "started": _now(),
                    "options": json.dumps(options, default=str),
                    **ScanCounters().model_dump(),
                }
            )
        return scan_id

    def finish_scan(
        self, scan_id: str, status: ScanStatus, counters: ScanCounters, error: str | None = None
    ) -> None:
        with self.db.conn:
            self.db.table("scans").update(
                scan_id,
                {
                    "status": status.value,
                    "finished": _now(),
                    "error": error,
                    **counters.model_dump(),
                },
            )

    def save_asset(self, source_id: str, scan_id: str, asset: Asset) -> None:
        with self.db.conn:
            self.db.table("assets").upsert(
                {
                    "id": _id(source_id, asset.uri),
                    "source_id": source_id,
                    "uri": asset.uri,
                    "name": asset.name,
                    "kind": asset.kind,
                    "exposure": asset.exposure.value,
                    "owner": asset.owner,
                    "last_scan_id": scan_id,
                },
                pk="id",
            )

    def save_item(self, source_id: str, scan_id: str, result: ItemResult) -> None:
        """Replace the item's current state, findings and classification, atomically."""
        item = result.item
        item_id = _id(source_id, item.uri)
        now = _now()
        with self.db.conn:
            self.db.table("items").upsert(
                {
                    "id": item_id,
                    "source_id": source_id,
                    "container": item.container,
                    "uri": item.uri,
                    "path": item.path,
                    "size": item.size,
                    "content_type": item.content_type,
                    "created": _iso(item.created),
                    "modified": _iso(item.modified),
                    "owner": item.owner,
                    "exposure": item.exposure.value,
                    "etag": item.etag,
                    "version": item.version,
                    "web_url": item.web_url,
                    "status": result.status.value,
                    "error": result.error,
                    "level": result.classification.level.value,
                    "types": json.dumps(sorted({f.type for f in result.findings})),
                    "finding_count": len(result.findings),
                    "bytes_read": result.bytes_read,
                    "last_scan_id": scan_id,
                    "scanned_at": now,
                },
                pk="id",
            )
            self.db.execute("DELETE FROM findings WHERE item_id = ?", [item_id])
            self.db.table("findings").insert_all(
                {
                    "item_id": item_id,
                    "scan_id": scan_id,
                    "type": f.type,
                    "category": f.category.value,
                    "score": f.score,
                    "detector": f.detector,
                    "evidence": f.evidence,
                    "fingerprint": f.fingerprint,
                    "location": f.location.model_dump_json(exclude_none=True),
                    "start": f.start,
                    "end": f.end,
                }
                for f in result.findings
            )
            self.db.table("classifications").upsert(
                {
                    "item_id": item_id,
                    "scan_id": scan_id,
                    "level": result.classification.level.value,
                    "reasons": json.dumps(
                        [r.model_dump(mode="json") for r in result.classification.reasons]
                    ),
                    "classified_at": now,
                },
                pk=("item_id", "scan_id"),
            )

    def save_cursor(self, source_id: str, scan_id: str, cursor: str | None) -> None:
        """Remember where an incremental connector resumes (only after a completed scan)."""
        with self.db.conn:
            self.db.table("connector_state").upsert(
                {"source_id": source_id, "cursor": cursor, "scan_id": scan_id, "updated": _now()},
                pk="source_id",
            )

    def cursor(self, source_id: str) -> str | None:
        """The cursor saved by the source's last completed scan, if any."""
        row = self.db.execute(
            "SELECT cursor FROM connector_state WHERE source_id = ?", [source_id]
        ).fetchone()
        return str(row[0]) if row and row[0] is not None else None

    def delete_source(self, source_id: str) -> None:
        """A source and everything scanned from it, in one transaction."""
        with self.db.conn:
            for sql in (
                "DELETE FROM findings WHERE item_id IN (SELECT id FROM items WHERE source_id = ?)",
                "DELETE FROM classifications WHERE item_id IN "
                "(SELECT id FROM items WHERE source_id = ?)",
                "DELETE FROM items WHERE source_id = ?",
                "DELETE FROM assets WHERE source_id = ?",
                "DELETE FROM connector_state WHERE source_id = ?",
                "DELETE FROM scans WHERE source_id = ?",
                "DELETE FROM sources WHERE id = ?",
            ):
                self.db.execute(sql, [source_id])

    def update_counters(self, scan_id: str, counters: ScanCounters) -> None:
        """Progress of a running scan, so GET /v1/scans/{id} can show it."""
        with self.db.conn:
            self.db.table("scans").update(scan_id, counters.model_dump())

    def post_counters(self, scan_id: str, counters: ScanCounters) -> None:
        """``update_counters`` on the writer thread, without waiting: for progress callbacks
        that run on the event loop and must not block it, nor write beside the writer."""
        self._writer.submit(self.update_counters, scan_id, counters.model_copy())

    def done_items(self, scan_id: str) -> dict[str, DoneItem]:
        """Items this scan already stored: what a resumed scan need not read again."""
        return {
            r["uri"]: DoneItem(
                etag=r["etag"],
                status=ItemStatus(r["status"]),
                bytes_read=r["bytes_read"] or 0,
                findings=r["finding_count"] or 0,
            )
            for r in self.db.query(
                "SELECT uri, etag, status, bytes_read, finding_count FROM items "
                "WHERE last_scan_id = ?",
                [scan_id],
            )
        }

    def sink(self, source_id: str, scan_id: str) -> StoreSink:
        return StoreSink(self, source_id, scan_id)

    # -- reads ------------------------------------------------------------------------------

    def scan(self, scan_id: str) -> Scan:
        rows = list(
            self.db.query(
                "SELECT s.*, src.name AS source_name FROM scans s JOIN sources src "
                "ON src.id = s.source_id WHERE s.id = ?",
                [scan_id],
            )
        )
        if not rows:
            raise StoreError(f"no scan {scan_id}")
        rec = rows[0]
        return Scan(
            id=rec["id"],
            source=rec["source_name"],
            target=rec["target"],
            status=ScanStatus(rec["status"]),
            started=datetime.fromisoformat(rec["started"]),
            finished=datetime.fromisoformat(rec["finished"]) if rec["finished"] else None,
            counters=ScanCounters(**{k: rec[k] or 0 for k in ScanCounters.model_fields}),
            error=rec["error"],
        )

    def data_map(self) -> list[dict[str, Any]]:
        """Items and findings by source, container and level."""
        sql = """
            SELECT src.name AS source, src.uri AS source_uri, i.container AS container,
                   i.level AS level,
                   COUNT(*) AS items, SUM(i.finding_count) AS findings,
                   SUM(CASE WHEN i.status = 'failed' THEN 1 ELSE 0 END) AS failed,
                   GROUP_CONCAT(i.types, '') AS types
            FROM items i JOIN sources src ON src.id = i.source_id
            GROUP BY src.name, src.uri, i.container, i.level
            ORDER BY src.name, i.container, i.level
        """
        out = []
        for row in self.db.query(sql):
            types: set[str] = set()
            for chunk in (row.pop("types") or "").replace("][", "]\n[").splitlines():
                types.update(json.loads(chunk))
            out.append({**row, "types": sorted(types)})
        rank = {lv.value: lv.rank for lv in Level}
        out.sort(key=lambda r: (r["source"], r["container"], -rank[r["level"]]))
        return out

    def items(self, with_findings: bool = False) -> Iterator[dict[str, Any]]:
        """One record per item, most sensitive first."""
        sql = """
            SELECT i.id, src.name AS source, i.uri, i.container, i.path, i.level, i.status,
                   i.error, i.types, i.finding_count, i.size, i.bytes_read, i.content_type,
                   i.modified, i.owner, i.exposure, i.web_url, c.reasons
            FROM items i JOIN sources src ON src.id = i.source_id
            LEFT JOIN classifications c ON c.item_id = i.id AND c.scan_id = i.last_scan_id
            ORDER BY CASE i.level WHEN 'restricted' THEN 0 WHEN 'confidential' THEN 1
                     WHEN 'internal' THEN 2 ELSE 3 END, i.uri
        """
        for row in self.db.query(sql):
            item_id = row.pop("id")
            row["types"] = json.loads(row["types"] or "[]")
            row["reasons"] = json.loads(row["reasons"] or "[]")
            if row["status"] == ItemStatus.OK.value:
                row["error"] = None
            if with_findings:
                row["findings"] = [
                    {**f, "location": json.loads(f["location"] or "{}")}
                    for f in self.db.query(
                        "SELECT type, category, score, detector, evidence, location "
                        "FROM findings WHERE item_id = ? ORDER BY id",
                        [item_id],
                    )
                ]
            yield row

    def level_counts(self, scan_id: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT level, COUNT(*) FROM items WHERE last_scan_id = ? GROUP BY level", [scan_id]
        ).fetchall()
        return {level: count for level, count in rows}


class StoreSink:
    """The scanner's ResultSink, writing through the store's single writer thread."""

    def __init__(self, store: Store, source_id: str, scan_id: str) -> None:
        self.store, self.source_id, self.scan_id = store, source_id, scan_id

    async def asset(self, asset: Asset) -> None:
        await self._write(self.store.save_asset, asset)

    async def item(self, result: ItemResult) -> None:
        await self._write(self.store.save_item, result)

    async def _write(self, fn: Any, arg: Any) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.store._writer, fn, self.source_id, self.scan_id, arg)
