"""Shared HTTP machinery of the SaaS connectors (aiohttp).

One :class:`HttpClient` per source and scan holds one ``aiohttp.ClientSession`` and applies the
rules every connector must follow:

- bounded concurrency (``HttpSettings.max_concurrency`` requests in flight per source);
- retries with exponential backoff and full jitter on 5xx answers, timeouts and dropped
  connections (``max_retries``);
- 429 honoured with its ``Retry-After`` (seconds or an HTTP date, capped by
  ``max_retry_after``); while a rate-limit key waits, every request with that key waits too;
- optional per-key token buckets (:class:`RateLimiter`) for vendors that publish per-method
  rates, such as Slack's tiers;
- a request budget per source (``max_requests``): past it, a ``SourceError`` ends the scan
  rather than a runaway crawl hammering the vendor;
- redirects followed by hand: a hop to another origin (scheme, host, port) goes WITHOUT the
  Authorization header, and no later hop gets it back (Slack file hosts, Graph download URLs);
- auth objects for static bearer tokens and the OAuth2 token endpoint (refresh-token and
  client-credentials grants; refreshed before expiry and once on a 401);
- JSON error bodies translated into the error tree of ``models.errors``.

Credentials are ``SecretStr`` and only revealed when a header or token request is built; they
never appear in a log line, an error message or a ``repr``.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from models.errors import (
    AuthError,
    EndpointUnreachable,
    ItemUnreadable,
    PerimeterError,
    SourceError,
    TargetNotFound,
)

log = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_ERROR_BODY_CHARS = 300

Scope = Literal["source", "item"]


class HttpSettings(BaseModel):
    """Politeness and resilience settings; each connector's Config embeds one as ``http``."""

    model_config = ConfigDict(extra="forbid")

    max_concurrency: int = Field(default=4, ge=1, le=64, description="Requests in flight.")
    max_requests: int | None = Field(
        default=None, ge=1, description="Request budget per scan of this source (none: no cap)."
    )
    max_retries: int = Field(default=4, ge=0, le=20, description="Retries after 5xx/timeouts.")
    max_rate_limit_waits: int = Field(
        default=8, ge=0, le=100, description="429 answers waited out per request."
    )
    backoff_base: float = Field(default=0.5, gt=0, description="First backoff, seconds.")
    backoff_max: float = Field(default=30.0, gt=0, description="Longest backoff, seconds.")
    max_retry_after: float = Field(
        default=120.0, gt=0, description="Longest Retry-After honoured; longer waits fail."
    )
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    user_agent: str = "perimeter-dlp (+https://github.com/perimeter)"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A fully read answer: status, headers, body bytes, the final URL."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    url: str
    truncated: bool = False

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is an ``EndpointUnreachable``."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise EndpointUnreachable(
                f"{_origin_label(self.url)} answered HTTP {self.status} with a body that is "
                "not JSON"
            ) from exc

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


# -- rate limiting ------------------------------------------------------------------------------


class RateLimiter:
    """A token bucket: ``per_minute`` requests a minute on average, bursts up to ``burst``."""

    def __init__(self, per_minute: float, burst: int = 1) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be > 0")
        self.interval = 60.0 / per_minute
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) / self.interval)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) * self.interval)


# -- auth ---------------------------------------------------------------------------------------


class Auth(Protocol):
    """Supplies the Authorization header and reacts to a rejected token."""

    async def authorization(self, client: HttpClient) -> str | None:
        """The Authorization header value to send (fetching or refreshing a token if due)."""
        ...

    async def on_unauthorized(self, client: HttpClient, sent: str | None) -> bool:
        """A request sent with ``sent`` was refused as unauthenticated: return True if a new
        credential is now available and the request should be retried once."""
        ...


class BearerAuth:
    """A static token (Slack bot/user token, Notion integration token, an API token)."""

    def __init__(self, token: SecretStr, scheme: str = "Bearer") -> None:
        self._token = token
        self._scheme = scheme

    def __repr__(self) -> str:
        return f"BearerAuth(scheme={self._scheme!r}, token=**********)"

    async def authorization(self, client: HttpClient) -> str | None:
        return f"{self._scheme} {self._token.get_secret_value()}"

    async def on_unauthorized(self, client: HttpClient, sent: str | None) -> bool:
        return False


class BasicAuth:
    """HTTP Basic (Atlassian email + API token)."""

    def __init__(self, user: str, password: SecretStr) -> None:
        self._user = user
        self._password = password

    def __repr__(self) -> str:
        return f"BasicAuth(user={self._user!r}, password=**********)"

    async def authorization(self, client: HttpClient) -> str | None:
        return basic_authorization(self._user, self._password.get_secret_value())

    async def on_unauthorized(self, client: HttpClient, sent: str | None) -> bool:
        return False


@dataclass
class TokenState:
    """The current access token of an OAuth2 auth (and what the token endpoint said of it)."""

    access_token: SecretStr | None = None
    expires_at: float | None = None  # time.time() seconds; None: unknown, used until refused
    scope: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class OAuth2Auth:
    """Base of the OAuth2 token-endpoint grants.

    Subclasses give the grant's form fields in :meth:`grant`. The access token is fetched on
    first use, refreshed ``leeway`` seconds before it expires and once when an API answers 401
    (single-flight: concurrent requests share one refresh). ``body`` picks how the token request
    is encoded (``form`` per RFC 6749; ``json`` for Atlassian); ``client_auth`` whether the
    client credentials go in the body (``post``) or a Basic header (``basic``, Notion).
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr | None,
        *,
        access_token: SecretStr | None = None,
        expires_at: float | None = None,
        leeway: float = 60.0,
        body: Literal["form", "json"] = "form",
        client_auth: Literal["post", "basic"] = "post",
        token_response: Callable[[Any], Mapping[str, Any]] = lambda payload: payload,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.state = TokenState(access_token=access_token, expires_at=expires_at)
        self.leeway = leeway
        self._body = body
        self._client_auth = client_auth
        self._token_response = token_response
        self._lock = asyncio.Lock()
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def grant(self) -> dict[str, str]:
        """The grant-specific fields of the token request (``grant_type`` and its inputs)."""
        raise NotImplementedError

    def _due(self) -> bool:
        st = self.state
        if st.access_token is None:
            return True
        return st.expires_at is not None and time.time() >= st.expires_at - self.leeway

    async def authorization(self, client: HttpClient) -> str | None:
        if self._due():
            async with self._lock:
                if self._due():
                    await self._fetch(client)
        assert self.state.access_token is not None
        return f"Bearer {self.state.access_token.get_secret_value()}"

    async def on_unauthorized(self, client: HttpClient, sent: str | None) -> bool:
        async with self._lock:
            current = self.state.access_token
            if current is not None and sent != f"Bearer {current.get_secret_value()}":
                return True  # another request already refreshed it
            if not self.can_refresh():
                return False
            await self._fetch(client)
            return True

    def can_refresh(self) -> bool:
        return True

    async def _fetch(self, client: HttpClient) -> None:
        fields = {**self.grant()}
        headers: dict[str, str] = {"Accept": "application/json"}
        secret = self._client_secret.get_secret_value() if self._client_secret else None
        if self._client_auth == "basic" and secret is not None:
            headers["Authorization"] = basic_authorization(self.client_id, secret)
        else:
            fields["client_id"] = self.client_id
            if secret is not None:
                fields["client_secret"] = secret
        kwargs: dict[str, Any] = {"json": fields} if self._body == "json" else {"data": fields}
        resp = await client.request(
            "POST",
            self.token_url,
            headers=headers,
            use_auth=False,
            accept=lambda r: True,
            **kwargs,
        )
        payload: Any = None
        try:
            payload = json.loads(resp.body or b"null")
        except ValueError:
            payload = None
        data = self._token_response(payload) if isinstance(payload, dict) else {}
        token = data.get("access_token")
        if not resp.ok or not isinstance(token, str) or not token:
            detail = error_detail(resp) or f"HTTP {resp.status}"
            raise AuthError(
                f"the token endpoint {_origin_label(self.token_url)} refused to issue an access "
                f"token: {detail}"
            )
        expires_in = data.get("expires_in")
        self.state = TokenState(
            access_token=SecretStr(token),
            expires_at=time.time() + float(expires_in)
            if isinstance(expires_in, int | float)
            else None,
            scope=data.get("scope") if isinstance(data.get("scope"), str) else None,
            extra={k: v for k, v in data.items() if k not in _TOKEN_SECRETS},
        )
        self.refreshes += 1
        self.accepted(data)
        log.info("obtained an access token from %s", _origin_label(self.token_url))

    def accepted(self, data: Mapping[str, Any]) -> None:
        """Hook: the token endpoint answered ``data`` (e.g. a rotated refresh token)."""


_TOKEN_SECRETS = frozenset({"access_token", "refresh_token", "id_token"})


class RefreshTokenAuth(OAuth2Auth):
    """OAuth2 ``refresh_token`` grant; a rotated refresh token in the answer replaces the old."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr | None,
        refresh_token: SecretStr,
        **kwargs: Any,
    ) -> None:
        super().__init__(token_url, client_id, client_secret, **kwargs)
        self._refresh_token = refresh_token

    def grant(self) -> dict[str, str]:
        return {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token.get_secret_value(),
        }

    def accepted(self, data: Mapping[str, Any]) -> None:
        rotated = data.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            self._refresh_token = SecretStr(rotated)


class ClientCredentialsAuth(OAuth2Auth):
    """OAuth2 ``client_credentials`` grant (Microsoft identity platform, app-only tokens)."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr | None,
        scope: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(token_url, client_id, client_secret, **kwargs)
        self.scope = scope

    def grant(self) -> dict[str, str]:
        fields = {"grant_type": "client_credentials"}
        if self.scope:
            fields["scope"] = self.scope
        return fields


# -- the client ---------------------------------------------------------------------------------


def _default_unauthorized(resp: HttpResponse) -> bool:
    return resp.status == 401


class HttpClient:
    """One source's HTTP session. Build without I/O; the session opens on the first request.

    ``name`` labels errors ("slack"); ``unauthorized`` says whether an answer means the token was
    refused (Slack answers ``200 {"ok": false, "error": "token_expired"}``), which triggers one
    refresh and retry; ``limiters`` maps a rate-limit key (a Slack method) to its bucket.
    """

    def __init__(
        self,
        name: str,
        settings: HttpSettings | None = None,
        auth: Auth | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        unauthorized: Callable[[HttpResponse], bool] = _default_unauthorized,
        limiters: Mapping[str, RateLimiter] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self.settings = settings or HttpSettings()
        self.auth = auth
        self._headers = {"User-Agent": self.settings.user_agent, **(headers or {})}
        self._unauthorized = unauthorized
        self._limiters = dict(limiters or {})
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._blocked_until: dict[str | None, float] = {}
        self.requests_made = 0
        self.retries = 0
        self.rate_limited = 0

    def __repr__(self) -> str:
        return f"HttpClient({self.name!r}, requests_made={self.requests_made})"

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(
                total=None,
                sock_connect=self.settings.connect_timeout,
                sock_read=self.settings.read_timeout,
            )
            self._session = aiohttp.ClientSession(
                timeout=timeout,
                # Auth is set per request by us; aiohttp must not read ~/.netrc or env proxies'
                # credentials into requests to vendors.
                trust_env=False,
                raise_for_status=False,
            )
            self._semaphore = asyncio.Semaphore(self.settings.max_concurrency)
        return self._session

    # -- public API ---------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        use_auth: bool = True,
        rate_key: str | None = None,
        scope: Scope = "source",
        accept: Callable[[HttpResponse], bool] | None = None,
        max_bytes: int | None = None,
    ) -> HttpResponse:
        """Send one request with retries, rate limiting, budget and safe redirects.

        Returns the answer when it is 2xx or ``accept(response)`` is true; otherwise raises the
        translated error: with ``scope="source"`` a ``SourceError`` kind (AuthError for 401/403,
        TargetNotFound for 404/410, EndpointUnreachable for 5xx and network failures), with
        ``scope="item"`` an ``ItemUnreadable``. ``max_bytes`` caps the body read (downloads);
        the answer says ``truncated`` when more was available.
        """
        retried_auth = False
        while True:
            resp, sent = await self._with_retries(
                method, url, params, headers, json, data, use_auth, rate_key, scope, max_bytes
            )
            if use_auth and self.auth is not None and self._unauthorized(resp) and not retried_auth:
                retried_auth = True
                if await self.auth.on_unauthorized(self, sent):
                    continue
            if resp.ok or (accept is not None and accept(resp)):
                return resp
            raise self.translate(resp, scope)

    async def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET and decode JSON (same keywords as :meth:`request`)."""
        return (await self.request("GET", url, **kwargs)).json()

    def translate(self, resp: HttpResponse, scope: Scope = "source") -> PerimeterError:
        """The error-tree exception for a failed answer, with the vendor's own message."""
        detail = error_detail(resp)
        where = _origin_label(resp.url)
        msg = f"{self.name}: {where} answered HTTP {resp.status}" + (
            f": {detail}" if detail else ""
        )
        if scope == "item":
            return ItemUnreadable(msg)
        if resp.status in (401, 403):
            return AuthError(msg)
        if resp.status in (404, 410):
            return TargetNotFound(msg)
        if resp.status >= 500 or resp.status == 429:
            return EndpointUnreachable(msg)
        return SourceError(msg)

    # -- internals ----------------------------------------------------------------------------

    async def _with_retries(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        json_body: Any,
        data: Any,
        use_auth: bool,
        rate_key: str | None,
        scope: Scope,
        max_bytes: int | None,
    ) -> tuple[HttpResponse, str | None]:
        attempt = 0
        waits = 0
        while True:
            sent = await self.auth.authorization(self) if use_auth and self.auth else None
            await self._wait_rate(rate_key)
            try:
                resp = await self._follow(
                    method, url, params, headers, json_body, data, sent, max_bytes
                )
            except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
                if attempt >= self.settings.max_retries:
                    reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
                    message = (
                        f"{self.name}: {_origin_label(url)} did not answer ({reason}) after "
                        f"{attempt + 1} attempts"
                    )
                    if scope == "item":
                        raise ItemUnreadable(message) from exc
                    raise EndpointUnreachable(message) from exc
                attempt += 1
                self.retries += 1
                await self._sleep(self._backoff(attempt))
                continue
            if resp.status == 429:
                if waits >= self.settings.max_rate_limit_waits:
                    return resp, sent
                waits += 1
                self.rate_limited += 1
                delay = retry_after_seconds(resp.headers.get("Retry-After"))
                if delay is None:
                    delay = self._backoff(waits)
                if delay > self.settings.max_retry_after:
                    return resp, sent
                self._blocked_until[rate_key] = time.monotonic() + delay
                log.info("%s: rate limited, waiting %.1fs", self.name, delay)
                continue
            if resp.status in _RETRY_STATUSES and attempt < self.settings.max_retries:
                attempt += 1
                self.retries += 1
                delay = retry_after_seconds(resp.headers.get("Retry-After"))
                await self._sleep(min(delay, self.settings.max_retry_after) if delay else 0)
                await self._sleep(self._backoff(attempt))
                continue
            return resp, sent

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter (AWS architecture blog's recommendation)."""
        cap = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** (attempt - 1))
        return random.uniform(0, cap)

    async def _wait_rate(self, rate_key: str | None) -> None:
        for key in {rate_key, None}:
            while (left := self._blocked_until.get(key, 0.0) - time.monotonic()) > 0:
                await self._sleep(left)
        limiter = self._limiters.get(rate_key) if rate_key is not None else None
        if limiter is not None:
            await limiter.acquire()

    def _spend(self) -> None:
        budget = self.settings.max_requests
        if budget is not None and self.requests_made >= budget:
            raise SourceError(
                f"{self.name}: the request budget of {budget} requests for this scan is spent "
                "(raise http.max_requests to scan further)"
            )
        self.requests_made += 1

    async def _follow(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        json_body: Any,
        data: Any,
        authorization: str | None,
        max_bytes: int | None,
    ) -> HttpResponse:
        session = self._get_session()
        assert self._semaphore is not None
        hop_headers = CIMultiDict(self._headers)
        hop_headers.update(headers or {})
        if authorization is not None:
            hop_headers["Authorization"] = authorization
        origin = _origin(url)
        current: str = url
        for _ in range(_MAX_REDIRECTS + 1):
            self._spend()
            async with (
                self._semaphore,
                session.request(
                    method,
                    current,
                    params=params,
                    headers=hop_headers,
                    json=json_body,
                    data=data,
                    allow_redirects=False,
                ) as raw,
            ):
                if raw.status in _REDIRECT_STATUSES and "Location" in raw.headers:
                    target = urljoin(str(raw.url), raw.headers["Location"])
                    if _origin(target) != origin:
                        # Credentials never leave the origin the caller addressed.
                        hop_headers.popall("Authorization", None)
                        hop_headers.popall("Cookie", None)
                        origin = _origin(target)
                    if raw.status == 303 or (raw.status in (301, 302) and method == "POST"):
                        method, json_body, data = "GET", None, None
                    params = None  # the Location carries its own query
                    current = target
                    continue
                body, truncated = await _read_body(raw, max_bytes)
                return HttpResponse(
                    status=raw.status,
                    headers=raw.headers,
                    body=body,
                    url=str(raw.url),
                    truncated=truncated,
                )
        raise EndpointUnreachable(f"{self.name}: more than {_MAX_REDIRECTS} redirects from {url}")


async def _read_body(raw: aiohttp.ClientResponse, max_bytes: int | None) -> tuple[bytes, bool]:
    if max_bytes is None:
        return await raw.read(), False
    chunks: list[bytes] = []
    total = 0
    async for chunk in raw.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            return b"".join(chunks)[:max_bytes], True
    return b"".join(chunks), False


# -- helpers ------------------------------------------------------------------------------------


def basic_authorization(user: str, password: str) -> str:
    """An RFC 7617 ``Basic`` Authorization header value (UTF-8)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_detail(resp: HttpResponse) -> str | None:
    """The vendor's own error text from a JSON body (common shapes), one line, capped."""
    try:
        payload = json.loads(resp.body) if resp.body else None
    except ValueError:
        payload = None
    parts: list[str] = []
    if isinstance(payload, dict):
        for key in ("error", "code", "error_description", "message", "msg", "reason"):
            value = payload.get(key)
            if isinstance(value, dict):  # Graph: {"error": {"code": ..., "message": ...}}
                parts.extend(str(value[k]) for k in ("code", "message") if value.get(k))
            elif isinstance(value, str | int) and value != "":
                parts.append(str(value))
        errors = payload.get("errors")
        if isinstance(errors, list):
            for e in errors[:3]:
                if isinstance(e, dict) and (e.get("message") or e.get("title")):
                    parts.append(str(e.get("message") or e.get("title")))
    elif resp.body and not resp.headers.get("Content-Type", "").startswith("text/html"):
        parts.append(resp.body[:_ERROR_BODY_CHARS].decode("utf-8", "replace"))
    if not parts:
        return None
    text = re.sub(r"\s+", " ", ": ".join(dict.fromkeys(parts))).strip()
    return text[:_ERROR_BODY_CHARS]


def link_header_next(headers: Mapping[str, str]) -> str | None:
    """The ``rel="next"`` target of an RFC 8288 ``Link`` header, if any."""
    value = headers.get("Link")
    if not value:
        return None
    for part in value.split(","):
        m = re.match(r"\s*<([^>]*)>\s*;(.*)", part)
        if m and re.search(r'rel\s*=\s*"?next"?', m.group(2)):
            return m.group(1)
    return None


async def paginate_cursor(
    fetch: Callable[[str | None], Awaitable[Any]],
    next_cursor: Callable[[Any], str | None],
    max_pages: int = 100_000,
) -> AsyncIterator[Any]:
    """Yield pages of a cursor-paginated listing: ``fetch(cursor)`` -> page, and
    ``next_cursor(page)`` -> the next cursor or None/"" at the end. A cursor seen twice ends
    the walk with an error instead of looping forever."""
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        page = await fetch(cursor)
        yield page
        cursor = next_cursor(page) or None
        if cursor is None:
            return
        if cursor in seen:
            raise EndpointUnreachable(f"the API returned the cursor {cursor[:20]!r} twice")
        seen.add(cursor)
    raise EndpointUnreachable(f"more than {max_pages} pages in one listing")


async def paginate_links(
    client: HttpClient,
    url: str,
    next_link: Callable[[HttpResponse, Any], str | None],
    *,
    params: Mapping[str, Any] | None = None,
    max_pages: int = 100_000,
    **kwargs: Any,
) -> AsyncIterator[Any]:
    """Yield decoded JSON pages of a link-paginated listing (``@odata.nextLink``, ``_links.next``,
    a ``Link`` header). ``next_link(response, page)`` returns the next URL, absolute or relative
    to the current one; the first request carries ``params``, later ones follow the link as is.
    """
    current: str | None = url
    seen: set[str] = set()
    for _ in range(max_pages):
        assert current is not None
        resp = await client.request("GET", current, params=params, **kwargs)
        page = resp.json()
        yield page
        link = next_link(resp, page)
        if not link:
            return
        current = urljoin(resp.url, link)
        if current in seen:
            raise EndpointUnreachable(f"{client.name}: the API linked to {current} twice")
        seen.add(current)
        params = None
    raise EndpointUnreachable(f"{client.name}: more than {max_pages} pages in one listing")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _origin_label(url: str) -> str:
    """``https://host[:port]`` of a URL: error messages name the endpoint, never a query string
    (which may carry a token or a signature)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
