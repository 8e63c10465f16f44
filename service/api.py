"""The HTTP API (FastAPI), built by ``create_app(settings)``.

Every route but ``/healthz`` needs ``Authorization: Bearer <key>`` with the route's scope; keys
are rate-limited (token bucket, 429 + Retry-After); bodies are size-limited; every /v1 call is
written to the audit log with the caller and the result. Handlers are plain ``def`` so FastAPI
runs them in its thread pool and SQLite reads stay off the event loop; each request opens its own
connection (WAL lets them read while a scan writes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import re2
import sqlite_utils
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.base import default_registry
from models import Level, Source
from models.errors import AuthError, ConfigError, PerimeterError, StoreError, TargetNotFound
from service import exports, queries
from service.auth import (
    AuditLog,
    AuditWriter,
    KeyStore,
    Principal,
    apply_service_migrations,
    audit_entry,
)
from service.auth import Scope as KeyScope
from service.classify import batches, classify_batch
from service.jobs import (
    ScanManager,
    ScanRequest,
    build_stored_connector,
    redact_settings,
    seal_settings,
    source_uri,
)
from service.metrics import Metrics
from service.schedules import Scheduler, Schedules
from service.settings import Settings
from service.store import Store
from service.vault import Vault
from service.webhooks import Event, Webhooks

log = logging.getLogger(__name__)
access_log = logging.getLogger("perimeter.http")
_REQUEST_ID = re2.compile(r"[A-Za-z0-9._-]{1,64}")


def _request_id(given: str | None) -> str:
    """The caller's X-Request-ID when it is a short token (so logs correlate), else a new one."""
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


API_VERSION = "0.1.0"
MAX_CLASSIFY_LINES = 1000
MAX_PAGE = 1000


# --- models of the API's answers (they make the OpenAPI document complete) ------------------


class FindingOut(BaseModel):
    id: int
    type: str
    category: str
    score: float
    detector: str
    evidence: str = Field(examples=["***-**-6789"])
    fingerprint: str
    location: dict[str, Any] = Field(examples=[{"row": 12, "field": "ssn"}])
    scan_id: str
    item_uri: str
    container: str
    path: str
    level: Level
    exposure: str
    source: str
    source_kind: str
    scanned_at: str


class FindingPage(BaseModel):
    findings: list[FindingOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end")


class ItemOut(BaseModel):
    source: str
    uri: str
    container: str
    path: str
    level: Level
    status: str
    error: str | None
    types: list[str]
    finding_count: int
    size: int | None
    content_type: str | None
    modified: str | None
    owner: str | None
    exposure: str
    scanned_at: str


class ItemPage(BaseModel):
    items: list[ItemOut]
    next_cursor: str | None


class MapRow(BaseModel):
    source: str
    source_uri: str
    container: str
    level: Level
    items: int
    findings: int | None
    failed: int
    types: list[str]


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["siem-export"])
    scopes: list[KeyScope] = Field(min_length=1, examples=[["findings:read"]])


class KeyCreated(BaseModel):
    id: str
    key: str = Field(description="Shown once; only a hash is stored")


class WebhookIn(BaseModel):
    url: str = Field(
        pattern=r"^https?://[^\s/?#]+",
        max_length=2048,
        examples=["https://siem.example.com/hooks/perimeter"],
    )
    events: list[Event] = Field(min_length=1, examples=[["scan.finished", "findings.restricted"]])


class WebhookCreated(BaseModel):
    id: str
    secret: str = Field(description="HMAC signing secret; shown once, stored encrypted")


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$", examples=["hr-share"])
    kind: str = Field(examples=["local"])
    settings: dict[str, Any] = Field(
        default_factory=dict,
        examples=[{"root": "/srv/share/hr"}],
        description="The connector's settings (see GET /v1/connectors). Credentials may be "
        'references ("${env:NAME}", {"file": "/path"}) or values, which are stored encrypted.',
    )


class SourceOut(BaseModel):
    name: str
    kind: str
    uri: str
    settings: dict[str, Any]
    created: str
    schedule: str | None = None


class ScheduleIn(BaseModel):
    cron: str = Field(examples=["0 3 * * *"], description="5-field crontab, UTC")
    enabled: bool = True


class ScanStarted(BaseModel):
    id: str
    status: str = "running"
    url: str


class Problem(BaseModel):
    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing, invalid or revoked API key"},
    403: {"model": Problem, "description": "The key lacks the scope this route needs"},
    429: {"model": Problem, "description": "Rate limit; retry after the Retry-After seconds"},
}


# --- rate limiting ------------------------------------------------------------------------------


class TokenBuckets:
    """One token bucket per API key: ``burst`` requests at once, refilled at ``per_minute``."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed; else the seconds until a token is available."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


# --- body size limit ----------------------------------------------------------------------------


class BodyLimit:
    """Rejects request bodies over ``limit`` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _send_413(send, self.limit)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _send_413(send, self.limit)


class _TooLarge(Exception):
    pass


async def _send_413(send: Send, limit: int) -> None:
    body = f'{{"detail": "request body larger than {limit} bytes"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- the app ----------------------------------------------------------------------------------


@dataclass
class Runtime:
    """What the request handlers share: where the store is and the rate-limit buckets."""

    db_path: Path
    buckets: TokenBuckets

    def open_db(self) -> sqlite_utils.Database:
        conn = sqlite3.connect(self.db_path, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA busy_timeout = 10000")
        return sqlite_utils.Database(conn)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def database(rt: Annotated[Runtime, Depends(runtime)]) -> Iterator[sqlite_utils.Database]:
    """A connection of this request's own, closed when the response is sent."""
    db = rt.open_db()
    try:
        yield db
    finally:
        db.conn.close()


Db = Annotated[sqlite_utils.Database, Depends(database)]


def authenticated(
    request: Request,
    db: Db,
    rt: Annotated[Runtime, Depends(runtime)],
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401,
            "missing API key: send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        principal = KeyStore(db).verify(token.strip())
    except AuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
    request.state.principal = principal
    wait = rt.buckets.take(principal.key_id)
    if wait:
        raise HTTPException(
            429,
            "rate limit exceeded for this API key",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    return principal


Authenticated = Annotated[Principal, Depends(authenticated)]


def require(scope: KeyScope) -> Callable[..., Principal]:
    def check(principal: Authenticated) -> Principal:
        if not principal.allows(scope.value):
            raise HTTPException(403, f"this key lacks the {scope.value} scope")
        return principal

    return check


def finding_filter(
    source: str | None = None,
    container: str | None = None,
    type: Annotated[list[str] | None, Query(max_length=50)] = None,
    category: Literal["pii", "secret"] | None = None,
    level: Annotated[list[Level] | None, Query()] = None,
    exposure: Annotated[
        list[Literal["private", "internal", "external", "public"]] | None, Query()
    ] = None,
    since: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}")] = None,
    until: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}")] = None,
) -> queries.FindingFilter:
    return queries.FindingFilter(
        source=source,
        container=container,
        types=type or [],
        category=category,
        levels=[lv.value for lv in level or []],
        exposure=list(exposure or []),
        since=since,
        until=until,
    )


Filter = Annotated[queries.FindingFilter, Depends(finding_filter)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]


def create_app(settings: Settings) -> FastAPI:
    """The application for one deployment; nothing happens at import time."""
    store = Store.open(settings.db)  # creates the schema, applies migrations
    apply_service_migrations(store.db)
    store.close()
    db_path = settings.db
    rt = Runtime(db_path, TokenBuckets(settings.rate_per_minute, settings.rate_burst))
    open_db = rt.open_db

    manager = ScanManager(settings, open_db)
    audit_writer = AuditWriter(open_db)

    async def start_scheduled(source: str) -> str | None:
        try:
            return await manager.start(ScanRequest(source=source))
        except PerimeterError as exc:
            log.warning("scheduled scan of %s not started: %s", source, exc)
            return None

    scheduler = Scheduler(open_db, start_scheduled)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await manager.resume_interrupted()
        await scheduler.start()
        try:
            yield
        finally:
            scheduler.shutdown()
            await manager.shutdown()
            audit_writer.flush()

    app = FastAPI(
        lifespan=lifespan,
        title="Perimeter",
        version=API_VERSION,
        description="Where sensitive data lives, how exposed it is, and what it is.",
    )
    app.state.runtime = rt
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    metrics = Metrics(open_db)

    @app.middleware("http")
    async def audit(request: Request, call_next: Callable[[Request], Any]) -> Any:
        started = time.perf_counter()
        request_id = _request_id(request.headers.get("x-request-id"))
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.latency.labels(request.method, route, str(response.status_code)).observe(elapsed)
        response.headers["X-Request-ID"] = request_id
        principal = getattr(request.state, "principal", None)
        # The route template, not the path: ids in paths are not secret, but query strings and
        # bodies may hold search values, so neither is logged.
        access_log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
                "key_id": principal.key_id if principal else None,
                "client": request.client.host if request.client else None,
            },
        )
        if request.url.path.startswith("/v1/"):
            query = dict(request.query_params)
            _audit(principal, request, response.status_code, query)
        return response

    def _audit(
        principal: Principal | None, request: Request, status: int, query: dict[str, str]
    ) -> None:
        route = request.scope.get("route")
        action = f"{request.method} {getattr(route, 'path', request.url.path)}"
        audit_writer.record(
            audit_entry(
                principal, request.method, request.url.path, action, status, {"query": query}
            )
        )

    @app.exception_handler(PerimeterError)
    def perimeter_error(request: Request, exc: PerimeterError) -> JSONResponse:
        status = (
            400
            if isinstance(exc, ConfigError)
            else 404
            if isinstance(exc, TargetNotFound)
            else 401
            if isinstance(exc, AuthError)
            else 503
            if isinstance(exc, StoreError)
            else 500
        )
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(sqlite3.OperationalError)
    def busy(request: Request, exc: sqlite3.OperationalError) -> JSONResponse:
        return JSONResponse(
            {"detail": "the store is busy; retry"}, status_code=503, headers={"Retry-After": "1"}
        )

    # -- routes ---------------------------------------------------------------------------------

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers. The only route without a key."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses=ERRORS)
    def readyz(db: Db, _: Authenticated) -> dict[str, str]:
        """Readiness: the store can be read."""
        db.execute("SELECT 1 FROM items LIMIT 1").fetchall()
        return {"status": "ready"}

    @app.get(
        "/metrics",
        tags=["health"],
        responses=ERRORS,
        response_class=PlainTextResponse,
        dependencies=[Depends(require(KeyScope.METRICS_READ))],
    )
    def prometheus() -> PlainTextResponse:
        """Prometheus metrics: scans, items, bytes, findings by level, API latency."""
        return PlainTextResponse(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    findings_read = Depends(require(KeyScope.FINDINGS_READ))

    @app.get("/v1/map", tags=["data map"], responses=ERRORS, dependencies=[findings_read])
    def data_map(db: Db) -> list[MapRow]:
        """Items and findings by source, container and level."""
        return [MapRow(**r) for r in Store(db, db_path).data_map()]

    @app.get("/v1/items", tags=["data map"], responses=ERRORS, dependencies=[findings_read])
    def list_items(
        db: Db,
        source: str | None = None,
        level: Annotated[list[Level] | None, Query()] = None,
        cursor: str | None = None,
        limit: Limit = 100,
    ) -> ItemPage:
        """Scanned items, with level, data types and error; cursor-paginated."""
        rows, nxt = queries.items_page(db, source, [lv.value for lv in level or []], cursor, limit)
        return ItemPage(items=[ItemOut(**r) for r in rows], next_cursor=nxt)

    @app.get("/v1/findings", tags=["findings"], responses=ERRORS, dependencies=[findings_read])
    def list_findings(
        db: Db,
        filt: Filter,
        cursor: str | None = None,
        limit: Limit = 100,
    ) -> FindingPage:
        """Findings (masked evidence and locations only), stable order, cursor-paginated."""
        rows, nxt = queries.findings_page(db, filt, cursor, limit)
        return FindingPage(findings=[FindingOut(**r) for r in rows], next_cursor=nxt)

    @app.get(
        "/v1/exports/findings",
        tags=["findings"],
        responses={
            **ERRORS,
            200: {
                "content": {
                    "application/x-ndjson": {},
                    "text/csv": {},
                    "application/sarif+json": {},
                }
            },
        },
        dependencies=[findings_read],
    )
    def export_findings(
        filt: Filter, format: Literal["jsonl", "csv", "ocsf", "sarif"] = "jsonl"
    ) -> StreamingResponse:
        """Every matching finding, streamed: JSON Lines, CSV, OCSF 2006 (one event per item,
        JSON Lines) or SARIF 2.1.0."""

        def body() -> Iterator[str]:
            db = open_db()
            try:
                if format == "ocsf":
                    yield from exports.ocsf(queries.item_findings_by_item(db, filt))
                elif format == "csv":
                    yield from exports.csv_rows(queries.iter_findings(db, filt))
                elif format == "sarif":
                    yield from exports.sarif(queries.iter_findings(db, filt))
                else:
                    yield from exports.jsonl(queries.iter_findings(db, filt))
            finally:
                db.conn.close()

        media = {"csv": "text/csv", "sarif": "application/sarif+json"}.get(
            format, "application/x-ndjson"
        )
        return StreamingResponse(body(), media_type=media)

    @app.get(
        "/v1/scans",
        tags=["scans"],
        responses=ERRORS,
        dependencies=[Depends(require(KeyScope.SCANS_READ))],
    )
    def list_scans(db: Db, limit: Limit = 50) -> list[dict[str, Any]]:
        """Recent scans with status and progress counters."""
        return queries.scans(db, limit)

    @app.get(
        "/v1/scans/{scan_id}",
        tags=["scans"],
        responses={**ERRORS, 404: {"model": Problem}},
        dependencies=[Depends(require(KeyScope.SCANS_READ))],
    )
    def get_scan(
        db: Db, scan_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]
    ) -> dict[str, Any]:
        """One scan: status, counters, error."""
        try:
            return Store(db, db_path).scan(scan_id).model_dump(mode="json")
        except StoreError as exc:
            raise HTTPException(404, f"no scan {scan_id}") from exc

    keys_admin = Depends(require(KeyScope.KEYS_ADMIN))

    @app.post(
        "/v1/keys", tags=["keys"], status_code=201, responses=ERRORS, dependencies=[keys_admin]
    )
    def create_key(db: Db, body: KeyIn) -> KeyCreated:
        """Create an API key; the key is in this answer only."""
        key_id, key = KeyStore(db).create(body.name, [s.value for s in body.scopes])
        return KeyCreated(id=key_id, key=key)

    @app.get("/v1/keys", tags=["keys"], responses=ERRORS, dependencies=[keys_admin])
    def list_keys(db: Db) -> list[dict[str, Any]]:
        """Keys with scopes and last use; never the secret or its hash."""
        return KeyStore(db).all()

    @app.delete(
        "/v1/keys/{key_id}",
        tags=["keys"],
        status_code=204,
        responses={**ERRORS, 404: {"model": Problem}},
        dependencies=[keys_admin],
    )
    def revoke_key(db: Db, key_id: str) -> None:
        """Revoke a key; it stops working at once."""
        try:
            KeyStore(db).revoke(key_id)
        except ConfigError as exc:
            raise HTTPException(404, str(exc)) from exc

    sources_read = Depends(require(KeyScope.SOURCES_READ))
    sources_write = Depends(require(KeyScope.SOURCES_WRITE))
    scans_write = Depends(require(KeyScope.SCANS_WRITE))

    @app.get("/v1/connectors", tags=["sources"], responses=ERRORS, dependencies=[sources_read])
    def connector_kinds() -> dict[str, Any]:
        """Connector kinds and the JSON Schema of the settings each accepts."""
        registry = default_registry()
        return {k: registry.get(k).Config.model_json_schema() for k in registry.kinds()}

    def _source_out(db: sqlite_utils.Database, row: dict[str, Any]) -> SourceOut:
        cron = db.execute("SELECT cron FROM schedules WHERE source = ?", [row["name"]]).fetchone()
        return SourceOut(
            name=row["name"],
            kind=row["kind"],
            uri=row["uri"],
            created=row["created"],
            settings=redact_settings(row["kind"], json.loads(row["settings"] or "{}")),
            schedule=cron[0] if cron else None,
        )

    def _save_source(db: sqlite_utils.Database, body: SourceIn) -> SourceOut:
        vault = manager.vault()
        sealed = seal_settings(body.kind, body.settings, vault)
        build_stored_connector(body.kind, sealed, vault, body.name)  # validates, no I/O
        store = Store(db, db_path)
        store.upsert_source(
            Source(
                kind=body.kind,
                name=body.name,
                uri=source_uri(body.kind, body.name, body.settings),
                settings=sealed,
            )
        )
        row = next(iter(db.query("SELECT * FROM sources WHERE name = ?", [body.name])))
        return _source_out(db, row)

    @app.post(
        "/v1/sources",
        tags=["sources"],
        status_code=201,
        responses={**ERRORS, 409: {"model": Problem}},
        dependencies=[sources_write],
    )
    def create_source(db: Db, body: SourceIn) -> SourceOut:
        """Add a source. Settings are validated against the connector's schema."""
        if db.execute("SELECT 1 FROM sources WHERE name = ?", [body.name]).fetchone():
            raise HTTPException(409, f"a source named {body.name!r} exists; PUT to change it")
        return _save_source(db, body)

    @app.get("/v1/sources", tags=["sources"], responses=ERRORS, dependencies=[sources_read])
    def list_sources(db: Db) -> list[SourceOut]:
        """Sources, with credentials shown only as references or <encrypted>."""
        return [_source_out(db, r) for r in db.query("SELECT * FROM sources ORDER BY name")]

    def _source_row(db: sqlite_utils.Database, name: str) -> dict[str, Any]:
        row = next(iter(db.query("SELECT * FROM sources WHERE name = ?", [name])), None)
        if row is None:
            raise HTTPException(404, f"no source named {name!r}")
        return row

    @app.get(
        "/v1/sources/{name}",
        tags=["sources"],
        responses={**ERRORS, 404: {"model": Problem}},
        dependencies=[sources_read],
    )
    def get_source(db: Db, name: str) -> SourceOut:
        return _source_out(db, _source_row(db, name))

    @app.put(
        "/v1/sources/{name}",
        tags=["sources"],
        responses={**ERRORS, 404: {"model": Problem}},
        dependencies=[sources_write],
    )
    def update_source(db: Db, name: str, body: SourceIn) -> SourceOut:
        """Replace a source's kind and settings (the name in the body must match)."""
        row = _source_row(db, name)
        if body.name != name or body.kind != row["kind"]:
            raise HTTPException(400, "the name and kind of a source cannot change")
        return _save_source(db, body)

    @app.delete(
        "/v1/sources/{name}",
        tags=["sources"],
        status_code=204,
        responses={**ERRORS, 404: {"model": Problem}, 409: {"model": Problem}},
        dependencies=[sources_write],
    )
    def delete_source(db: Db, name: str) -> None:
        """Delete a source with everything scanned from it (items, findings, scans)."""
        row = _source_row(db, name)
        if db.execute(
            "SELECT 1 FROM scans WHERE source_id = ? AND status = 'running'", [row["id"]]
        ).fetchone():
            raise HTTPException(409, "a scan of this source is running; cancel it first")
        Store(db, db_path).delete_source(row["id"])
        with db.conn:
            db.execute("DELETE FROM schedules WHERE source = ?", [name])
        scheduler.reload(name)

    @app.put(
        "/v1/sources/{name}/schedule",
        tags=["schedules"],
        responses={**ERRORS, 404: {"model": Problem}},
        dependencies=[sources_write],
    )
    def set_schedule(db: Db, name: str, body: ScheduleIn) -> dict[str, Any]:
        """Scan this source on a cron schedule (UTC). A run missed while the service was down
        runs once when it starts again."""
        _source_row(db, name)
        Schedules(db).set(name, body.cron, body.enabled)
        scheduler.reload(name)
        return next(r for r in Schedules(db).all() if r["source"] == name)

    @app.delete(
        "/v1/sources/{name}/schedule",
        tags=["schedules"],
        status_code=204,
        responses={**ERRORS, 404: {"model": Problem}},
        dependencies=[sources_write],
    )
    def delete_schedule(db: Db, name: str) -> None:
        try:
            Schedules(db).remove(name)
        except ConfigError as exc:
            raise HTTPException(404, str(exc)) from exc
        scheduler.reload(name)

    @app.get("/v1/schedules", tags=["schedules"], responses=ERRORS, dependencies=[sources_read])
    def list_schedules(db: Db) -> list[dict[str, Any]]:
        """Every schedule with its last and next run."""
        return Schedules(db).all()

    @app.post(
        "/v1/scans",
        tags=["scans"],
        status_code=202,
        responses={**ERRORS, 404: {"model": Problem}},
        dependencies=[scans_write],
    )
    async def start_scan(body: ScanRequest) -> ScanStarted:
        """Start a scan now; answers at once with its id. Follow it with GET /v1/scans/{id}."""
        scan_id = await manager.start(body)
        return ScanStarted(id=scan_id, url=f"/v1/scans/{scan_id}")

    @app.post(
        "/v1/scans/{scan_id}/cancel",
        tags=["scans"],
        status_code=202,
        responses={**ERRORS, 409: {"model": Problem}},
        dependencies=[scans_write],
    )
    def cancel_scan(scan_id: str) -> dict[str, str]:
        """Stop a running scan; what it stored so far stays, marked with the scan."""
        if not manager.cancel(scan_id):
            raise HTTPException(409, f"scan {scan_id} is not running in this service")
        return {"id": scan_id, "status": "cancelling"}

    @app.post(
        "/v1/classify",
        tags=["classify"],
        responses={**ERRORS, 200: {"content": {"application/x-ndjson": {}}}},
        response_class=PlainTextResponse,
        dependencies=[Depends(require(KeyScope.CLASSIFY))],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-ndjson": {
                        "schema": {"type": "string"},
                        "example": '{"id": 1, "text": "SSN 536-22-1234"}\n',
                    }
                },
            }
        },
    )
    async def classify(request: Request, explain: bool = False) -> PlainTextResponse:
        """The `perimeter classify` contract over HTTP: JSON Lines of {"id", "text"} in (at most
        1,000 lines and the body limit), one JSON line per input line out, in order."""
        lines = (await request.body()).decode("utf-8", errors="replace").splitlines()
        if sum(1 for line in lines if line.strip()) > MAX_CLASSIFY_LINES:
            raise HTTPException(413, f"at most {MAX_CLASSIFY_LINES} lines per request")
        loop = asyncio.get_running_loop()
        pool = manager.pool()
        outputs = await asyncio.gather(
            *(
                loop.run_in_executor(pool, classify_batch, parsed, explain)
                for parsed in batches(lines, 64)
            )
        )
        body = "".join(line + "\n" for out in outputs for line in out)
        return PlainTextResponse(body, media_type="application/x-ndjson")

    hooks_admin = Depends(require(KeyScope.WEBHOOKS_ADMIN))

    def webhooks(db: sqlite_utils.Database) -> Webhooks:
        return Webhooks(db, Vault.from_file(settings.vault_key_file))

    @app.post(
        "/v1/webhooks",
        tags=["webhooks"],
        status_code=201,
        responses=ERRORS,
        dependencies=[hooks_admin],
    )
    def add_webhook(db: Db, body: WebhookIn) -> WebhookCreated:
        """Register a receiver for scan.finished and/or findings.restricted."""
        hook_id, secret = webhooks(db).add(body.url, list(body.events))
        return WebhookCreated(id=hook_id, secret=secret)

    @app.get("/v1/webhooks", tags=["webhooks"], responses=ERRORS, dependencies=[hooks_admin])
    def list_webhooks(db: Db) -> list[dict[str, Any]]:
        """Registered receivers (never their secrets)."""
        return webhooks(db).all()

    @app.delete(
        "/v1/webhooks/{hook_id}",
        tags=["webhooks"],
        status_code=204,
        responses={**ERRORS, 404: {"model": Problem}},
        dependencies=[hooks_admin],
    )
    def remove_webhook(db: Db, hook_id: str) -> None:
        """Stop delivering to a receiver."""
        try:
            webhooks(db).remove(hook_id)
        except ConfigError as exc:
            raise HTTPException(404, str(exc)) from exc

    @app.get(
        "/v1/webhooks/{hook_id}/deliveries",
        tags=["webhooks"],
        responses=ERRORS,
        dependencies=[hooks_admin],
    )
    def webhook_deliveries(db: Db, hook_id: str, limit: Limit = 100) -> list[dict[str, Any]]:
        """The delivery log: event, attempts, final status and response code, newest first."""
        return webhooks(db).deliveries(hook_id, limit)

    @app.get(
        "/v1/audit",
        tags=["audit"],
        responses=ERRORS,
        dependencies=[Depends(require(KeyScope.AUDIT_READ))],
    )
    def audit_log(
        db: Db,
        after: Annotated[int, Query(ge=0, lt=2**63)] = 0,
        limit: Limit = 100,
    ) -> list[dict[str, Any]]:
        """The audit trail: who called what, when, with which result."""
        audit_writer.flush()
        return AuditLog(db).entries(after, limit)

    return app
