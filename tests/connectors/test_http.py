"""The shared HTTP machinery over real HTTP against small aiohttp servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from connectors.http import (
    BearerAuth,
    HttpClient,
    HttpSettings,
    RateLimiter,
    RefreshTokenAuth,
    link_header_next,
    paginate_cursor,
    paginate_links,
    retry_after_seconds,
)
from models.errors import (
    AuthError,
    EndpointUnreachable,
    ItemUnreadable,
    SourceError,
    TargetNotFound,
)
from tests.connectors.fakes import serve

FAST = HttpSettings(backoff_base=0.01, backoff_max=0.05, max_retries=3, read_timeout=2)
TOKEN = "xoxb-secret-token-value"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def run_with(routes: dict[str, Handler], body: Callable[[str], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_route("*", path, handler)
        async with serve(app) as base:
            return await asyncio.wait_for(body(base), timeout=30)

    return asyncio.run(main())


def flaky(failures: list[web.Response], final: web.Response) -> tuple[Handler, list[int]]:
    """A handler answering each of ``failures`` once, then ``final``; counts calls."""
    calls = [0]

    async def handler(request: web.Request) -> web.Response:
        calls[0] += 1
        if calls[0] <= len(failures):
            return failures[calls[0] - 1]
        return final

    return handler, calls


def test_a_5xx_is_retried_until_it_succeeds() -> None:
    handler, calls = flaky(
        [web.json_response({"message": "busy"}, status=503), web.Response(status=502)],
        web.json_response({"ok": True}),
    )

    async def body(base: str) -> Any:
        client = HttpClient("t", FAST)
        try:
            return await client.get_json(base + "/x"), client.retries
        finally:
            await client.aclose()

    payload, retries = run_with({"/x": handler}, body)
    assert payload == {"ok": True}
    assert calls[0] == 3 and retries == 2


def test_429_waits_for_retry_after_and_loses_nothing() -> None:
    limited = web.json_response({"ok": False, "error": "ratelimited"}, status=429)
    limited.headers["Retry-After"] = "1"
    handler, calls = flaky([limited], web.json_response({"n": 1}))

    async def body(base: str) -> Any:
        client = HttpClient("t", FAST)
        try:
            start = time.monotonic()
            got = await client.get_json(base + "/x", rate_key="m")
            return got, time.monotonic() - start, client.rate_limited
        finally:
            await client.aclose()

    payload, waited, limited_count = run_with({"/x": handler}, body)
    assert payload == {"n": 1} and calls[0] == 2 and limited_count == 1
    assert waited >= 0.9  # the header's second was honoured, not skipped


def test_a_timeout_is_retried() -> None:
    calls = [0]

    async def slow_once(request: web.Request) -> web.Response:
        calls[0] += 1
        if calls[0] == 1:
            await asyncio.sleep(1.0)
        return web.json_response({"ok": True})

    async def body(base: str) -> Any:
        client = HttpClient("t", FAST.model_copy(update={"read_timeout": 0.2}))
        try:
            return await client.get_json(base + "/x")
        finally:
            await client.aclose()

    assert run_with({"/x": slow_once}, body) == {"ok": True}
    assert calls[0] == 2


@pytest.mark.parametrize(
    ("status", "payload", "scope", "error", "detail"),
    [
        (401, {"error": "invalid_auth"}, "source", AuthError, "invalid_auth"),
        (403, {"message": "no access"}, "source", AuthError, "no access"),
        (404, {"errors": [{"title": "Not Found"}]}, "source", TargetNotFound, "Not Found"),
        (400, {"code": "validation_error", "message": "bad"}, "source", SourceError, "bad"),
        (
            500,
            {"error": {"code": "boom", "message": "down"}},
            "source",
            EndpointUnreachable,
            "down",
        ),
        (403, {"message": "denied"}, "item", ItemUnreadable, "denied"),
        (404, {"message": "gone"}, "item", ItemUnreadable, "gone"),
    ],
    ids=[
        "401-auth",
        "403-auth",
        "404-notfound",
        "400-source",
        "500-unreachable",
        "403-item",
        "404-item",
    ],
)
def test_error_bodies_are_translated(
    status: int, payload: dict[str, Any], scope: str, error: type[Exception], detail: str
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(payload, status=status)

    async def body(base: str) -> BaseException:
        client = HttpClient("vendor", FAST, BearerAuth(SecretStr(TOKEN)))
        try:
            await client.request("GET", base + "/x?token=" + TOKEN, scope=scope)  # type: ignore[arg-type]
        except Exception as exc:
            return exc
        finally:
            await client.aclose()
        raise AssertionError("no error raised")

    exc = run_with({"/x": handler}, body)
    assert type(exc) is error
    assert detail in str(exc) and f"HTTP {status}" in str(exc)
    assert TOKEN not in str(exc)


def test_connection_refused_is_unreachable() -> None:
    async def main() -> BaseException:
        app = web.Application()
        async with serve(app) as base:
            pass  # closed: nothing listens on the port any more
        client = HttpClient("t", FAST)
        try:
            await client.get_json(base + "/x")
        except EndpointUnreachable as exc:
            return exc
        finally:
            await client.aclose()
        raise AssertionError("no error")

    exc = asyncio.run(main())
    assert "did not answer" in str(exc)


def test_the_request_budget_stops_a_runaway_listing() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({})

    async def body(base: str) -> int:
        client = HttpClient("t", FAST.model_copy(update={"max_requests": 3}))
        try:
            for _ in range(3):
                await client.get_json(base + "/x")
            with pytest.raises(SourceError, match="request budget of 3"):
                await client.get_json(base + "/x")
            return client.requests_made
        finally:
            await client.aclose()

    assert run_with({"/x": handler}, body) == 3


@pytest.mark.parametrize(
    ("cross_host", "expect_auth"),
    [(True, None), (False, f"Bearer {TOKEN}")],
    ids=["other-host-no-credentials", "same-host-keeps-credentials"],
)
def test_redirects_drop_credentials_when_leaving_the_host(
    cross_host: bool, expect_auth: str | None
) -> None:
    seen: list[str | None] = []

    async def file_host(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(body=b"file bytes")

    async def main() -> bytes:
        other = web.Application()
        other.router.add_get("/file", file_host)
        async with serve(other) as other_base:
            api = web.Application()

            async def redirect(request: web.Request) -> web.Response:
                target = other_base if cross_host else str(request.url.origin())
                raise web.HTTPFound(target + "/file")

            api.router.add_get("/download", redirect)
            api.router.add_get("/file", file_host)
            async with serve(api) as base:
                client = HttpClient("t", FAST, BearerAuth(SecretStr(TOKEN)))
                try:
                    resp = await client.request("GET", base + "/download", max_bytes=100)
                finally:
                    await client.aclose()
                return resp.body

    assert asyncio.run(main()) == b"file bytes"
    assert seen == [expect_auth]


def test_max_bytes_truncates_a_download() -> None:
    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 200_000)

    async def body(base: str) -> tuple[int, bool]:
        client = HttpClient("t", FAST)
        try:
            resp = await client.request("GET", base + "/big", max_bytes=1000)
            return len(resp.body), resp.truncated
        finally:
            await client.aclose()

    assert run_with({"/big": big}, body) == (1000, True)


def _token_server(issued: list[dict[str, str]], expires_in: int) -> Handler:
    async def token(request: web.Request) -> web.Response:
        form = dict(await request.post())
        issued.append({k: str(v) for k, v in form.items()})
        if form.get("refresh_token") not in ("r1", "r2") or form.get("client_secret") != "cs":
            return web.json_response({"error": "invalid_grant"}, status=400)
        n = len(issued)
        return web.json_response(
            {
                "access_token": f"access-{n}",
                "expires_in": expires_in,
                "refresh_token": "r2",
                "scope": "read",
                "token_type": "Bearer",
            }
        )

    return token


def test_oauth2_refreshes_on_401_and_uses_the_rotated_refresh_token() -> None:
    issued: list[dict[str, str]] = []
    valid = {"Bearer access-2"}

    async def api(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") not in valid:
            return web.json_response({"error": "token_expired"}, status=401)
        return web.json_response({"ok": True})

    async def body(base: str) -> Any:
        auth = RefreshTokenAuth(base + "/token", "cid", SecretStr("cs"), SecretStr("r1"))
        client = HttpClient("t", FAST, auth)
        try:
            # the first token (access-1) is refused: one refresh, one retry
            got = await client.get_json(base + "/api")
            return got, auth.refreshes, auth.state.scope
        finally:
            await client.aclose()

    got, refreshes, scope = run_with({"/token": _token_server(issued, 3600), "/api": api}, body)
    assert got == {"ok": True} and refreshes == 2 and scope == "read"
    assert [i["refresh_token"] for i in issued] == ["r1", "r2"]
    assert all(i["grant_type"] == "refresh_token" for i in issued)


def test_oauth2_refreshes_before_expiry() -> None:
    issued: list[dict[str, str]] = []

    async def api(request: web.Request) -> web.Response:
        return web.json_response({"auth": request.headers.get("Authorization")})

    async def body(base: str) -> list[Any]:
        # expires_in 30 < leeway 60: every use finds the token due and refreshes first
        auth = RefreshTokenAuth(base + "/token", "cid", SecretStr("cs"), SecretStr("r1"))
        client = HttpClient("t", FAST, auth)
        try:
            return [(await client.get_json(base + "/api"))["auth"] for _ in range(2)]
        finally:
            await client.aclose()

    got = run_with({"/token": _token_server(issued, 30), "/api": api}, body)
    assert got == ["Bearer access-1", "Bearer access-2"]


def test_a_refused_refresh_is_an_auth_error_without_secrets() -> None:
    issued: list[dict[str, str]] = []

    async def body(base: str) -> BaseException:
        auth = RefreshTokenAuth(base + "/token", "cid", SecretStr("wrong"), SecretStr("r1"))
        client = HttpClient("t", FAST, auth)
        try:
            await client.get_json(base + "/api")
        except AuthError as exc:
            return exc
        finally:
            await client.aclose()
        raise AssertionError("no error")

    exc = run_with({"/token": _token_server(issued, 3600)}, body)
    assert "invalid_grant" in str(exc) and "wrong" not in str(exc) and "r1" not in str(exc)
    assert "wrong" not in repr(RefreshTokenAuth("u", "c", SecretStr("wrong"), SecretStr("r1")))


def test_link_pagination_follows_relative_links() -> None:
    async def pages(request: web.Request) -> web.Response:
        n = int(request.query.get("page", "1"))
        resp = web.json_response({"results": [n]})
        if n < 3:
            resp.headers["Link"] = f'</pages?page={n + 1}>; rel="next"'
        return resp

    async def body(base: str) -> list[int]:
        client = HttpClient("t", FAST)
        out: list[int] = []
        try:
            async for page in paginate_links(
                client, base + "/pages", lambda r, p: link_header_next(r.headers)
            ):
                out.extend(page["results"])
        finally:
            await client.aclose()
        return out

    assert run_with({"/pages": pages}, body) == [1, 2, 3]


def test_cursor_pagination_stops_on_a_repeated_cursor() -> None:
    async def fetch(cursor: str | None) -> dict[str, str]:
        return {"next": "same"}

    async def main() -> int:
        n = 0
        with pytest.raises(EndpointUnreachable, match="twice"):
            async for _ in paginate_cursor(fetch, lambda p: p["next"]):
                n += 1
        return n

    assert asyncio.run(main()) == 2


@pytest.mark.parametrize(
    ("header", "expected"),
    [("2", 2.0), ("0", 0.0), (None, None), ("soon", None), ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0)],
    ids=["seconds", "zero", "absent", "garbage", "date-in-past"],
)
def test_retry_after_parsing(header: str | None, expected: float | None) -> None:
    assert retry_after_seconds(header) == expected


def test_rate_limiter_spaces_requests_after_the_burst() -> None:
    async def main() -> float:
        limiter = RateLimiter(per_minute=600, burst=2)  # one per 0.1 s after two free
        start = time.monotonic()
        for _ in range(4):
            await limiter.acquire()
        return time.monotonic() - start

    assert asyncio.run(main()) >= 0.15


def test_settings_schema_is_json() -> None:
    assert "max_requests" in json.dumps(HttpSettings.model_json_schema())
