"""Webhooks: signed notifications when a scan finishes and when new restricted findings appear.

Each delivery is a JSON POST with headers

    X-Perimeter-Event:      scan.finished | findings.restricted
    X-Perimeter-Delivery:   a unique id (the same across retries of one delivery)
    X-Perimeter-Timestamp:  Unix seconds when signed
    X-Perimeter-Signature:  sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>

Receivers recompute the signature and reject old timestamps (replay). Failures (network errors,
5xx, 429) are retried with exponential backoff; every delivery ends in the delivery log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import sqlite_utils

from models import Scan
from models.errors import ConfigError
from service.schema import apply_service_migrations
from service.store import Store
from service.vault import Vault

MAX_FINDINGS_PER_EVENT = 100


class Event(StrEnum):
    SCAN_FINISHED = "scan.finished"
    RESTRICTED_FINDINGS = "findings.restricted"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 1.0  # seconds; doubles each retry
    max_delay: float = 60.0
    timeout: float = 10.0


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, tolerance: int = 300) -> bool:
    """What a receiver does: constant-time compare and a bounded clock skew."""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def _restricted_types(reasons_json: str | None) -> set[str]:
    return {
        t
        for r in json.loads(reasons_json or "[]")
        if r["level"] == "restricted"
        for t in r["types"]
    }


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Webhooks:
    """Webhook registrations and deliveries in the service database."""

    def __init__(
        self, db: sqlite_utils.Database, vault: Vault, retry: RetryPolicy | None = None
    ) -> None:
        self.db = db
        self.vault = vault
        self.retry = retry or RetryPolicy()

    def add(self, url: str, events: list[Event]) -> tuple[str, str]:
        """Register a receiver; returns (id, signing secret shown once, stored encrypted)."""
        if not url.startswith(("https://", "http://")):
            raise ConfigError("a webhook URL must be http:// or https://")
        if not events:
            raise ConfigError("a webhook needs at least one event")
        hook_id = uuid.uuid4().hex[:12]
        secret = secrets.token_urlsafe(32)
        with self.db.conn:
            self.db.table("webhooks").insert(
                {
                    "id": hook_id,
                    "url": url,
                    "events": json.dumps(sorted(set(events))),
                    "secret": self.vault.encrypt(secret),
                    "created": _now(),
                    "active": 1,
                }
            )
        return hook_id, secret

    def all(self) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT id, url, events, created, active FROM webhooks ORDER BY created"
        )
        return [{**r, "events": json.loads(r["events"]), "active": bool(r["active"])} for r in rows]

    def remove(self, hook_id: str) -> None:
        with self.db.conn:
            cur = self.db.execute(
                "UPDATE webhooks SET active = 0 WHERE id = ? AND active = 1", [hook_id]
            )
        if cur.rowcount == 0:
            raise ConfigError(f"no active webhook {hook_id!r}")

    def deliveries(self, hook_id: str, limit: int = 100) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT delivery_id, event, time, attempts, status, response_code, error "
                "FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?",
                [hook_id, limit],
            )
        )

    # -- events -------------------------------------------------------------------------------

    def scan_finished(self, scan: Scan) -> None:
        """Send scan.finished, then findings.restricted if the scan found new restricted values."""
        levels = dict(
            self.db.execute(
                "SELECT level, COUNT(*) FROM items WHERE last_scan_id = ? GROUP BY level", [scan.id]
            ).fetchall()
        )
        self.emit(Event.SCAN_FINISHED, {"scan": scan.model_dump(mode="json"), "levels": levels})
        new = self._new_restricted(scan.id)
        if new:
            self.emit(
                Event.RESTRICTED_FINDINGS,
                {
                    "scan_id": scan.id,
                    "source": scan.source,
                    "count": len(new),
                    "findings": new[:MAX_FINDINGS_PER_EVENT],
                },
            )

    def _new_restricted(self, scan_id: str) -> list[dict[str, Any]]:
        """Findings that made an item restricted in this scan (the types named by the policy's
        restricted reasons), whose value was never announced before."""
        rows = list(
            self.db.query(
                "SELECT f.type, f.category, f.detector, f.evidence, f.location, f.fingerprint, "
                "i.uri AS item_uri, c.reasons FROM findings f JOIN items i ON i.id = f.item_id "
                "JOIN classifications c ON c.item_id = i.id AND c.scan_id = f.scan_id "
                "WHERE f.scan_id = ? AND i.level = 'restricted' AND f.fingerprint NOT IN "
                "(SELECT fingerprint FROM announced_fingerprints) ORDER BY f.id",
                [scan_id],
            )
        )
        driving = [r for r in rows if r["type"] in _restricted_types(r.pop("reasons"))]
        fresh: dict[str, dict[str, Any]] = {}
        for r in driving:
            fresh.setdefault(r["fingerprint"], {**r, "location": json.loads(r["location"] or "{}")})
        with self.db.conn:
            self.db.table("announced_fingerprints").insert_all(
                ({"fingerprint": fp, "scan_id": scan_id, "time": _now()} for fp in fresh),
                ignore=True,
            )
        return list(fresh.values())

    def emit(self, event: Event, payload: dict[str, Any]) -> None:
        """Deliver to every active webhook subscribed to ``event``, each with retries."""
        hooks = [
            h
            for h in self.db.query("SELECT id, url, events, secret FROM webhooks WHERE active = 1")
            if event.value in json.loads(h["events"])
        ]
        for hook in hooks:
            self._deliver(hook, event, payload)

    def _deliver(self, hook: dict[str, Any], event: Event, payload: dict[str, Any]) -> None:
        delivery_id = uuid.uuid4().hex
        body = json.dumps(
            {"event": event.value, "delivery": delivery_id, "sent_at": _now(), **payload}
        ).encode()
        secret = self.vault.decrypt(hook["secret"])
        status, code, error, attempt = "failed", None, None, 0
        with httpx.Client(timeout=self.retry.timeout, follow_redirects=False) as client:
            for attempt in range(1, self.retry.attempts + 1):
                timestamp = int(time.time())
                headers = {
                    "Content-Type": "application/json",
                    "User-Agent": "Perimeter-Webhooks/1",
                    "X-Perimeter-Event": event.value,
                    "X-Perimeter-Delivery": delivery_id,
                    "X-Perimeter-Timestamp": str(timestamp),
                    "X-Perimeter-Signature": sign(secret, timestamp, body),
                }
                try:
                    response = client.post(hook["url"], content=body, headers=headers)
                    code, error = response.status_code, None
                    if 200 <= code < 300:
                        status = "delivered"
                        break
                    retry_after = response.headers.get("Retry-After", "")
                    if code < 500 and code != 429:
                        error = f"receiver answered {code}"
                        break  # a 4xx other than 429 will not get better by retrying
                    error = f"receiver answered {code}"
                except httpx.HTTPError as exc:
                    code, error, retry_after = None, f"{type(exc).__name__}: {exc}", ""
                if attempt < self.retry.attempts:
                    delay = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
                    if retry_after.isdigit():
                        delay = min(self.retry.max_delay, max(delay, float(retry_after)))
                    time.sleep(delay * (0.8 + 0.4 * secrets.randbelow(1000) / 1000))
        with self.db.conn:
            self.db.table("webhook_deliveries").insert(
                {
                    "webhook_id": hook["id"],
                    "delivery_id": delivery_id,
                    "event": event.value,
                    "time": _now(),
                    "attempts": attempt,
                    "status": status,
                    "response_code": code,
                    "error": error,
                }
            )


def notify_scan_finished(db_path: Path, vault_key_file: Path, scan: Scan) -> None:
    """For scans run outside the service (the CLI): deliver to registered webhooks, if any."""
    store = Store.open(db_path)
    try:
        apply_service_migrations(store.db)
        if store.db.execute("SELECT 1 FROM webhooks WHERE active = 1").fetchone():
            Webhooks(store.db, Vault.from_file(vault_key_file)).scan_finished(scan)
    finally:
        store.close()
