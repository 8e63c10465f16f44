"""Tables of the HTTP service (keys, audit, webhooks), in their own migration set.

The scan store's tables are in service/store.py (set ``perimeter``); these are applied by the
service and by the commands that manage keys and webhooks (set ``perimeter-service``).
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

service_migrations = Migrations("perimeter-service")


@service_migrations()
def s001_keys_and_audit(db: sqlite_utils.Database) -> None:
    db.table("api_keys").create(
        {
            "id": str,
            "name": str,
            "scopes": str,
            "secret_hash": str,
            "created": str,
            "revoked": str,
            "last_used": str,
        },
        pk="id",
    )
    db.table("audit_log").create(
        {
            "id": int,
            "time": str,
            "key_id": str,
            "key_name": str,
            "method": str,
            "path": str,
            "action": str,
            "status": int,
            "detail": str,
        },
        pk="id",
    )
    db.table("audit_log").create_index(["time"])


@service_migrations()
def s002_webhooks(db: sqlite_utils.Database) -> None:
    db.table("webhooks").create(
        {"id": str, "url": str, "events": str, "secret": str, "created": str, "active": int},
        pk="id",
    )
    db.table("webhook_deliveries").create(
        {
            "id": int,
            "webhook_id": str,
            "delivery_id": str,
            "event": str,
            "time": str,
            "attempts": int,
            "status": str,
            "response_code": int,
            "error": str,
        },
        pk="id",
    )
    db.table("webhook_deliveries").create_index(["webhook_id", "id"])
    # Restricted values already announced, so "new restricted findings" fire once per value.
    db.table("announced_fingerprints").create(
        {"fingerprint": str, "scan_id": str, "time": str}, pk="fingerprint"
    )


@service_migrations()
def s003_schedules(db: sqlite_utils.Database) -> None:
    db.table("schedules").create(
        {
            "source": str,
            "cron": str,
            "enabled": int,
            "created": str,
            "last_run": str,
            "last_scan_id": str,
        },
        pk="source",
    )


def apply_service_migrations(db: sqlite_utils.Database) -> None:
    service_migrations.apply(db)
