"""Pieces shared by the Google Drive and Microsoft Graph fakes: a request log, injected
faults (429/5xx with Retry-After), bearer tokens that can be expired, and a loopback runner."""

from __future__ import annotations

import asyncio
import itertools
import queue
import secrets
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Logged:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    status: int


@dataclass
class Fault:
    """An answer injected instead of the real one: ``status`` with headers and a JSON body."""

    status: int
    body: dict[str, object]
    headers: dict[str, str] = field(default_factory=dict)


class Faults:
    """Faults queued per path prefix; each is served once, in order."""

    def __init__(self) -> None:
        self._queued: list[tuple[str, deque[Fault]]] = []

    def add(self, prefix: str, *faults: Fault) -> None:
        for existing, pending in self._queued:
            if existing == prefix:
                pending.extend(faults)
                return
        self._queued.append((prefix, deque(faults)))

    def take(self, path: str) -> Fault | None:
        for prefix, pending in self._queued:
            if path.startswith(prefix) and pending:
                return pending.popleft()
        return None


class Tokens:
    """Bearer tokens issued by a fake token endpoint; ``expire_all()`` makes them fail (401)."""

    def __init__(self) -> None:
        self._valid: dict[str, str] = {}  # token -> principal
        self._scopes: dict[str, set[str]] = {}
        self.issued = 0
        self._numbers = itertools.count(1)

    def issue(self, principal: str, body: str | None = None) -> str:
        token = body or f"fake-{next(self._numbers)}-{secrets.token_urlsafe(12)}"
        self._valid[token] = principal
        self.issued += 1
        return token

    def principal(self, authorization: str | None) -> str | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        return self._valid.get(authorization.removeprefix("Bearer "))

    def grant(self, token: str, scopes: set[str]) -> None:
        self._scopes[token] = set(scopes)

    def scopes_of(self, token: str) -> set[str] | None:
        return self._scopes.get(token) if token in self._valid else None

    def expire_all(self) -> None:
        self._valid.clear()


def log_middleware(log: list[Logged], faults: Faults, api_prefix: str) -> Middleware:
    """Record every request; serve queued faults for API paths before the real handler."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        fault = faults.take(request.path) if request.path.startswith(api_prefix) else None
        if fault is not None:
            response: web.StreamResponse = web.json_response(
                fault.body, status=fault.status, headers=fault.headers
            )
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = exc
        log.append(
            Logged(
                request.method,
                request.path,
                dict(request.query),
                request.headers.get("Authorization"),
                response.status,
            )
        )
        if isinstance(response, web.HTTPException):
            raise response
        return response

    return middleware


class LoopbackSite:
    """An aiohttp application served on a loopback address and a free port."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1") -> None:
        self.app = app
        self.host = host
        self._runner = web.AppRunner(app, access_log=None)
        self.url = ""

    async def start(self) -> str:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://{self.host}:{port}"
        return self.url

    async def stop(self) -> None:
        await self._runner.cleanup()


class Startable(Protocol):
    async def start(self) -> Any: ...

    async def stop(self) -> None: ...


@contextmanager
def running_in_thread(fake: Startable) -> Iterator[None]:
    """Serve ``fake`` from a background thread's event loop (for tests that run the CLI as a
    process). Stops it and joins the thread on exit."""
    ready: queue.Queue[BaseException | None] = queue.Queue()
    stop = threading.Event()

    async def main() -> None:
        try:
            await fake.start()
        except BaseException as exc:  # surfaced to the test thread below
            ready.put(exc)
            return
        ready.put(None)
        try:
            while not stop.is_set():
                await asyncio.sleep(0.05)
        finally:
            await fake.stop()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    problem = ready.get(timeout=30)
    if problem is not None:
        raise problem
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
