"""Read queries for the API and exports: filters, stable order, cursor pagination.

Cursors are opaque to clients (base64 of the last row id seen); rows are ordered by id, which only
grows, so a page boundary never skips or repeats a row while new rows are written.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from models.errors import ConfigError

_FINDING_COLUMNS = """
    f.id AS id, f.type AS type, f.category AS category, f.score AS score,
    f.detector AS detector, f.evidence AS evidence, f.fingerprint AS fingerprint,
    f.location AS location, f.scan_id AS scan_id,
    i.uri AS item_uri, i.container AS container, i.path AS path, i.level AS level,
    i.exposure AS exposure, i.content_type AS content_type, i.size AS size,
    i.modified AS modified, i.owner AS owner, i.scanned_at AS scanned_at,
    src.name AS source, src.kind AS source_kind
"""


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(str(row_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError("invalid cursor") from exc
    if not 0 <= value < 2**63:  # SQLite integers are 64-bit
        raise ConfigError("invalid cursor")
    return value


@dataclass
class FindingFilter:
    """Every field narrows the result; None means any."""

    source: str | None = None
    container: str | None = None
    types: list[str] = field(default_factory=list)
    category: str | None = None
    levels: list[str] = field(default_factory=list)
    exposure: list[str] = field(default_factory=list)
    since: str | None = None  # ISO time: items scanned at or after
    until: str | None = None
    item_uri: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("src.name", self.source),
            ("i.container", self.container),
            ("f.category", self.category),
            ("i.uri", self.item_uri),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        for column, values in (
            ("f.type", self.types),
            ("i.level", self.levels),
            ("i.exposure", self.exposure),
        ):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
        if self.since:
            clauses.append("i.scanned_at >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("i.scanned_at < ?")
            params.append(self.until)
        return (" AND ".join(clauses) or "1"), params


def findings_page(
    db: sqlite_utils.Database, filt: FindingFilter, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of findings (masked evidence and locations only) and the next cursor."""
    where, params = filt.where()
    rows = list(
        db.query(
            f"SELECT {_FINDING_COLUMNS} FROM findings f JOIN items i ON i.id = f.item_id "
            f"JOIN sources src ON src.id = i.source_id WHERE f.id > ? AND {where} "
            "ORDER BY f.id LIMIT ?",
            [decode_cursor(cursor), *params, limit + 1],
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    for r in rows:
        r["location"] = json.loads(r["location"] or "{}")
    return rows, (encode_cursor(rows[-1]["id"]) if more and rows else None)


def iter_findings(db: sqlite_utils.Database, filt: FindingFilter) -> Iterator[dict[str, Any]]:
    """Every matching finding, page by page (constant memory for exports)."""
    cursor: str | None = None
    while True:
        page, cursor = findings_page(db, filt, cursor, 1000)
        yield from page
        if cursor is None:
            return


def items_page(
    db: sqlite_utils.Database,
    source: str | None,
    levels: list[str],
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    clauses: list[str] = ["i.rowid > ?"]
    params: list[Any] = [decode_cursor(cursor)]
    if source is not None:
        clauses.append("src.name = ?")
        params.append(source)
    if levels:
        clauses.append(f"i.level IN ({', '.join('?' for _ in levels)})")
        params.extend(levels)
    rows = list(
        db.query(
            "SELECT i.rowid AS cursor_id, src.name AS source, i.uri, i.container, i.path, "
            "i.level, i.status, i.error, i.types, i.finding_count, i.size, i.content_type, "
            "i.modified, i.owner, i.exposure, i.scanned_at FROM items i "
            f"JOIN sources src ON src.id = i.source_id WHERE {' AND '.join(clauses)} "
            "ORDER BY i.rowid LIMIT ?",
            [*params, limit + 1],
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1]["cursor_id"]) if more and rows else None
    for r in rows:
        r.pop("cursor_id")
        r["types"] = json.loads(r["types"] or "[]")
        if r["status"] == "ok":
            r["error"] = None
    return rows, next_cursor


def item_findings_by_item(
    db: sqlite_utils.Database, filt: FindingFilter
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(item, its findings) for every item with matching findings, in item order."""
    current: dict[str, Any] | None = None
    group: list[dict[str, Any]] = []
    where, params = filt.where()
    rows = db.query(
        f"SELECT {_FINDING_COLUMNS}, i.id AS item_id FROM findings f "
        "JOIN items i ON i.id = f.item_id JOIN sources src ON src.id = i.source_id "
        f"WHERE {where} ORDER BY i.id, f.id",
        params,
    )
    for r in rows:
        r["location"] = json.loads(r["location"] or "{}")
        if current is not None and r["item_id"] != current["item_id"]:
            yield current, group
            group = []
        if not group:
            current = r
        group.append(r)
    if current is not None and group:
        yield current, group


def scans(db: sqlite_utils.Database, limit: int = 50) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT s.*, src.name AS source FROM scans s JOIN sources src ON src.id = s.source_id "
            "ORDER BY s.started DESC LIMIT ?",
            [limit],
        )
    )
