"""API keys and the audit log of the HTTP service.

A key is shown once, at creation: ``pmk_<id>_<secret>``. The store keeps the id, the scopes and a
SHA-256 of the secret; the secret is 32 random bytes, so a plain hash cannot be brute-forced and a
slow KDF would only slow down every request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlite_utils

from models.errors import AuthError, ConfigError
from service.schema import apply_service_migrations

KEY_PREFIX = "pmk"


class Scope(StrEnum):
    SOURCES_READ = "sources:read"
    SOURCES_WRITE = "sources:write"
    SCANS_READ = "scans:read"
    SCANS_WRITE = "scans:write"
    FINDINGS_READ = "findings:read"
    CLASSIFY = "classify"
    AUDIT_READ = "audit:read"
    METRICS_READ = "metrics:read"
    WEBHOOKS_ADMIN = "webhooks:admin"
    KEYS_ADMIN = "keys:admin"


__all__ = ["AuditLog", "KeyStore", "Principal", "Scope", "apply_service_migrations"]


@dataclass(frozen=True)
class Principal:
    """The caller of an API request, after its key was verified."""

    key_id: str
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(text: str) -> list[str]:
    scopes = [s.strip() for s in text.split(",") if s.strip()]
    known = {s.value for s in Scope}
    unknown = [s for s in scopes if s not in known]
    if unknown or not scopes:
        raise ConfigError(
            f"unknown scope(s) {', '.join(unknown) or '(none given)'}; known: "
            + ", ".join(sorted(known))
        )
    return scopes


class KeyStore:
    """API keys in the service database."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def create(self, name: str, scopes: list[str]) -> tuple[str, str]:
        """Create a key; returns (key id, the full key to show once)."""
        if not name.strip():
            raise ConfigError("a key needs a name")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self.db.conn:
            self.db.table("api_keys").insert(
                {
                    "id": key_id,
                    "name": name,
                    "scopes": json.dumps(sorted(set(scopes))),
                    "secret_hash": _hash(secret),
                    "created": _now(),
                    "revoked": None,
                    "last_used": None,
                }
            )
        return key_id, f"{KEY_PREFIX}_{key_id}_{secret}"

    def all(self) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT id, name, scopes, created, revoked, last_used FROM api_keys ORDER BY created"
        )
        return [{**r, "scopes": json.loads(r["scopes"])} for r in rows]

    def revoke(self, key_id: str) -> None:
        with self.db.conn:
            cur = self.db.execute(
                "UPDATE api_keys SET revoked = ? WHERE id = ? AND revoked IS NULL", [_now(), key_id]
            )
        if cur.rowcount == 0:
            raise ConfigError(f"no active key {key_id!r}")

    def verify(self, presented: str) -> Principal:
        """The principal for a presented key; AuthError if unknown, malformed or revoked."""
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != KEY_PREFIX or not key_id or not secret:
            raise AuthError("malformed API key")
        row = self.db.execute(
            "SELECT name, scopes, secret_hash, revoked, last_used FROM api_keys WHERE id = ?",
            [key_id],
        ).fetchone()
        # Compare even when the id is unknown, so timing does not tell which ids exist.
        expected = row[2] if row else _hash(secrets.token_urlsafe(32))
        if not hmac.compare_digest(expected, _hash(secret)) or row is None:
            raise AuthError("invalid API key")
        if row[3] is not None:
            raise AuthError("API key revoked")
        now = datetime.now(UTC)
        # last_used is advisory: written at most once a minute, and never waited for: when a
        # scan holds the write lock the update is skipped, so a read never queues behind it.
        if row[4] is None or (now - datetime.fromisoformat(row[4])).total_seconds() > 60:
            (timeout,) = self.db.execute("PRAGMA busy_timeout").fetchone()
            self.db.execute("PRAGMA busy_timeout = 0")
            try:
                with self.db.conn:
                    self.db.execute(
                        "UPDATE api_keys SET last_used = ? WHERE id = ?", [now.isoformat(), key_id]
                    )
            except sqlite3.OperationalError:
                pass  # a busy database must not fail the request for this
            finally:
                self.db.execute(f"PRAGMA busy_timeout = {int(timeout)}")
        return Principal(key_id=key_id, name=row[0], scopes=frozenset(json.loads(row[1])))


def audit_entry(
    principal: Principal | None,
    method: str,
    path: str,
    action: str,
    status: int,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "time": _now(),
        "key_id": principal.key_id if principal else None,
        "key_name": principal.name if principal else None,
        "method": method,
        "path": path,
        "action": action,
        "status": status,
        "detail": json.dumps(detail or {}),
    }


class AuditWriter:
    """Appends audit entries from one background thread, in batches.

    Every API call is audited; a write transaction per request would make reads contend for the
    database lock with each other and with a running scan. Entries are queued and committed
    together; ``flush()`` waits until everything queued so far is committed.
    """

    def __init__(self, open_db: Callable[[], sqlite_utils.Database], interval: float = 0.2):
        self._open_db = open_db
        self._interval = interval
        self._queue: queue.Queue[dict[str, Any] | threading.Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def record(self, entry: dict[str, Any]) -> None:
        self._queue.put(entry)

    def flush(self, timeout: float = 10.0) -> None:
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        db = self._open_db()
        try:
            while True:
                item = self._queue.get()
                batch: list[dict[str, Any]] = []
                waiters: list[threading.Event] = []
                stop = False
                while True:
                    if item is None:
                        stop = True
                    elif isinstance(item, threading.Event):
                        waiters.append(item)
                    else:
                        batch.append(item)
                    try:
                        item = self._queue.get(timeout=self._interval if not waiters else 0)
                    except queue.Empty:
                        break
                if batch:
                    self._write(db, batch)
                for w in waiters:
                    w.set()
                if stop:
                    return
        finally:
            db.conn.close()

    @staticmethod
    def _write(db: sqlite_utils.Database, batch: list[dict[str, Any]]) -> None:
        for _ in range(50):
            try:
                with db.conn:
                    db.table("audit_log").insert_all(batch)
                return
            except sqlite3.OperationalError:
                time.sleep(0.1)  # the database is busy (a scan commits); retry, never drop


class AuditLog:
    """Who did what, when, and with which result."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def entries(self, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", [after, limit]
        )
        return [{**r, "detail": json.loads(r["detail"] or "{}")} for r in rows]
