"""Scans run by the HTTP service: started on demand or by schedule, tracked, cancellable, and
resumed after a crash.

Every item a scan stores is committed on its own, so the store is the checkpoint: a service
killed mid-scan finds the scan still `running` at start-up, scans the source again under the
same scan id, counts the items already stored (same etag) without reading them, and reads the
rest. Findings of an item are replaced in one transaction, so nothing is duplicated or lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from classifiers.classifier import ClassifierSettings
from connectors.base import Connector, default_registry
from models import ScanCounters, ScanStatus, Source
from models.errors import ConfigError, PerimeterError, TargetNotFound
from scanner.executor import local_pool
from scanner.sampling import DEFAULT_MAX_BYTES, Order, SamplingOptions
from service.keys import load_or_create_key
from service.runner import prepare_scan, run_scan
from service.settings import Settings
from service.sources import resolve
from service.store import Store
from service.vault import Vault
from service.webhooks import Webhooks

log = logging.getLogger(__name__)

PROGRESS_EVERY = 1.0  # seconds between progress writes of a running scan


class ScanRequest(BaseModel):
    """Options of one on-demand scan (all optional)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=100, examples=["hr-share"])
    budget: int | None = Field(default=None, ge=1, description="Items per container")
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1, le=1 << 34)
    order: Order = Order.NEWEST
    seed: int = 0
    concurrency: int = Field(default=8, ge=1, le=64)
    full: bool = Field(default=False, description="Ignore the incremental cursor")

    def sampling(self) -> SamplingOptions:
        return SamplingOptions(
            budget=self.budget, max_bytes=self.max_bytes, order=self.order, seed=self.seed
        )


def secret_fields(kind: str) -> set[str]:
    cls = default_registry().get(kind)
    return {n for n, f in cls.Config.model_fields.items() if "SecretStr" in str(f.annotation)}


def seal_settings(kind: str, settings: dict[str, Any], vault: Vault) -> dict[str, Any]:
    """Inline credentials become ``{"vault": <ciphertext>}``; references stay as given."""
    sealed = dict(settings)
    for name in secret_fields(kind) & set(settings):
        value = settings[name]
        if isinstance(value, str) and not value.strip().startswith("${env:"):
            sealed[name] = {"vault": vault.encrypt(value)}
    return sealed


def redact_settings(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as the API shows them: encrypted credentials never leave, not even encrypted."""
    return {
        k: ("<encrypted>" if isinstance(v, dict) and set(v) == {"vault"} else v)
        for k, v in settings.items()
    }


def build_stored_connector(
    kind: str, settings: dict[str, Any], vault: Vault, name: str
) -> Connector:
    """The connector for a stored source: vault entries decrypted, references resolved."""
    cls = default_registry().get(kind)
    resolved: dict[str, Any] = {}
    for key, value in settings.items():
        where = f"source {name!r}, setting {key!r}"
        if isinstance(value, dict) and set(value) == {"vault"}:
            resolved[key] = SecretStr(vault.decrypt(value["vault"]))
        else:
            resolved[key] = resolve(value, where)
    try:
        config = cls.Config.model_validate(resolved)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"source {name!r}: {where}: {first['msg']}") from None
    factory: Any = cls
    connector: Connector = factory(config)
    return connector


def source_uri(kind: str, name: str, settings: dict[str, Any]) -> str:
    if kind == "local" and isinstance(settings.get("root"), str):
        return Path(settings["root"]).expanduser().resolve().as_uri()
    if kind == "s3" and isinstance(settings.get("bucket"), str):
        return f"s3://{settings['bucket']}/{settings.get('prefix', '')}".rstrip("/")
    return f"{kind}://{name}"


class ScanManager:
    """Owns the service's running scans and the process pool they share."""

    def __init__(self, settings: Settings, open_db: Callable[[], sqlite_utils.Database]) -> None:
        self.settings = settings
        self.open_db = open_db
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._cancelled: set[str] = set()
        self._executor: Executor | None = None
        self._classifier: ClassifierSettings | None = None

    def vault(self) -> Vault:
        return Vault.from_file(self.settings.vault_key_file)

    def pool(self) -> Executor:
        """The service's process pool (started on first use), shared by scans and classify."""
        return self._pool()

    def _pool(self) -> Executor:
        if self._executor is None:
            self._classifier = ClassifierSettings(
                key=load_or_create_key(self.settings.key_file),
                pattern_backend=self.settings.pattern_engine,
            )
            self._executor = local_pool(self._classifier, self.settings.workers)
        return self._executor

    def _source(self, db: sqlite_utils.Database, name: str) -> tuple[Source, Connector]:
        row = next(iter(db.query("SELECT * FROM sources WHERE name = ?", [name])), None)
        if row is None:
            raise TargetNotFound(f"no source named {name!r}")
        settings = json.loads(row["settings"] or "{}")
        connector = build_stored_connector(row["kind"], settings, self.vault(), name)
        source = Source(kind=row["kind"], name=name, uri=row["uri"], settings=settings)
        return source, connector

    async def start(self, request: ScanRequest) -> str:
        """Create the scan row and run the scan in the background; returns its id at once."""
        db = self.open_db()
        try:
            source, connector = self._source(db, request.source)
        finally:
            db.conn.close()
        store = Store.open(self.settings.db)
        scan_id = prepare_scan(store, source, request.sampling(), request.concurrency, "service")
        log.info(
            "scan started",
            extra={"scan_id": scan_id, "source": source.name, "kind": source.kind},
        )
        self._launch(store, scan_id, source, connector, request)
        return scan_id

    def _launch(
        self,
        store: Store,
        scan_id: str,
        source: Source,
        connector: Connector,
        request: ScanRequest,
    ) -> None:
        task = asyncio.create_task(self._run(store, scan_id, source, connector, request))
        self.tasks[scan_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(scan_id, None))

    async def _run(
        self,
        store: Store,
        scan_id: str,
        source: Source,
        connector: Connector,
        request: ScanRequest,
    ) -> None:
        last = 0.0

        def progress(counters: ScanCounters) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY:
                last = now
                store.post_counters(scan_id, counters)

        try:
            await run_scan(
                store,
                connector,
                source,
                self._classifier_settings(),
                request.sampling(),
                concurrency=request.concurrency,
                on_progress=progress,
                executor=self._pool(),
                full=request.full,
                scan_id=scan_id,
            )
        except asyncio.CancelledError:
            if scan_id in self._cancelled:  # a user's cancel, not a shutdown
                await asyncio.to_thread(self._mark, store, scan_id, ScanStatus.CANCELLED)
            else:  # shutting down: stays `running`, resumed at the next start
                await asyncio.to_thread(self._mark, store, scan_id, ScanStatus.RUNNING)
            raise
        except PerimeterError as exc:
            log.warning(
                "scan %s of %s failed: %s",
                scan_id,
                source.name,
                exc,
                extra={"scan_id": scan_id, "source": source.name, "error_type": type(exc).__name__},
            )
        finally:
            await asyncio.to_thread(self._notify, store, scan_id)
            await asyncio.to_thread(store.close)

    def _classifier_settings(self) -> ClassifierSettings:
        self._pool()
        assert self._classifier is not None
        return self._classifier

    @staticmethod
    def _mark(store: Store, scan_id: str, status: ScanStatus) -> None:
        with store.db.conn:
            store.db.execute(
                "UPDATE scans SET status = ?, error = ? WHERE id = ?",
                [status.value, None if status is ScanStatus.RUNNING else "cancelled", scan_id],
            )

    def _notify(self, store: Store, scan_id: str) -> None:
        scan = store.scan(scan_id)
        if scan.status is ScanStatus.RUNNING:
            log.info("scan interrupted, resumes at start-up", extra={"scan_id": scan_id})
            return
        log.info(
            "scan ended",
            extra={
                "scan_id": scan_id,
                "source": scan.source,
                "status": scan.status.value,
                "error": scan.error,
                **scan.counters.model_dump(),
            },
        )
        try:
            Webhooks(store.db, self.vault()).scan_finished(scan)
        except PerimeterError as exc:
            log.warning("webhooks for scan %s: %s", scan_id, exc)

    def cancel(self, scan_id: str) -> bool:
        task = self.tasks.get(scan_id)
        if task is None:
            return False
        self._cancelled.add(scan_id)
        task.cancel()
        return True

    async def resume_interrupted(self) -> list[str]:
        """Scans this service started that were still running when it died: run them on."""
        db = self.open_db()
        try:
            rows = list(
                db.query(
                    "SELECT s.id, s.options, src.name FROM scans s JOIN sources src "
                    "ON src.id = s.source_id WHERE s.status = 'running' ORDER BY s.started"
                )
            )
        finally:
            db.conn.close()
        resumed = []
        for row in rows:
            options = json.loads(row["options"] or "{}")
            if options.get("origin") != "service":
                continue  # a CLI scan in another process; not ours to resume
            request = ScanRequest(
                source=row["name"],
                budget=options.get("budget"),
                max_bytes=options.get("max_bytes", DEFAULT_MAX_BYTES),
                order=options.get("order", Order.NEWEST),
                seed=options.get("seed", 0),
                concurrency=options.get("concurrency", 8),
            )
            db = self.open_db()
            try:
                source, connector = self._source(db, row["name"])
            except PerimeterError as exc:
                log.warning("cannot resume scan %s: %s", row["id"], exc)
                continue
            finally:
                db.conn.close()
            self._launch(Store.open(self.settings.db), row["id"], source, connector, request)
            resumed.append(row["id"])
        return resumed

    async def shutdown(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        for task in list(self.tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
