"""Slack: channels, private channels, group DMs and DMs the token can read, threads and files.

Web API methods used (all read-only): ``auth.test``, ``conversations.list`` (tier 2),
``conversations.history`` and ``conversations.replies`` (tier 3), ``files.list`` (tier 3),
``files.info`` (tier 4), and ``oauth.v2.access`` for token rotation. Each method has its own token
bucket at its tier's rate; a 429 waits out ``Retry-After`` for that method only.

URIs::

    slack://T0/C1                           a conversation (Asset)
    slack://T0/C1/1700000000.000100         a message or a thread reply (Item)
    slack://T0/files/F1                     a file (Item, in the ``files`` container)

Exposure:

    =========================================================  ========
    a conversation with ``is_ext_shared`` (Slack Connect)      external
    a public channel                                           internal
    a private channel, a DM or a group DM                      private
    a file with ``public_url_shared`` (public link)            public
    a file shared into an external conversation, or external   external
    a file shared into a public channel                        internal
    =========================================================  ========

Incremental scans: the cursor remembers, per conversation, the newest message ``ts`` read and,
for files, when the last listing started; the next scan asks ``conversations.history`` for
``oldest=<ts>`` and ``files.list`` for ``ts_from=<time>``. Edits to old messages and new replies
to old threads are not seen by an incremental scan (Slack offers no cheap filter for them): run
``--full`` periodically.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from connectors.base import AccessReport, ConnectorBase, Content
from connectors.http import (
    Auth,
    BearerAuth,
    HttpClient,
    HttpResponse,
    HttpSettings,
    RateLimiter,
    RefreshTokenAuth,
)
from models import Asset, Exposure, Item
from models.errors import (
    AuthError,
    ConfigError,
    ItemUnreadable,
    PerimeterError,
    SourceError,
    TargetNotFound,
)

NEEDED_SCOPES = ("channels:read", "channels:history", "files:read")
OPTIONAL_SCOPES = (
    "groups:read",
    "groups:history",
    "im:read",
    "im:history",
    "mpim:read",
    "mpim:history",
)
# Slack's published tiers (requests per minute, "+" meaning bursts are tolerated).
TIER_OF_METHOD = {
    "auth.test": 4,
    "conversations.list": 2,
    "conversations.history": 3,
    "conversations.replies": 3,
    "files.list": 3,
    "files.info": 4,
}
_FATAL = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "not_allowed_token_type",
        "org_login_required",
        "team_access_not_granted",
    }
)
_GONE = frozenset(
    {"channel_not_found", "file_not_found", "file_deleted", "thread_not_found", "message_not_found"}
)
_KIND = {"public_channel": "channel", "private_channel": "private_channel"}


class SlackConfig(BaseModel):
    """Settings of one Slack workspace."""

    model_config = ConfigDict(extra="forbid")

    token: SecretStr | None = Field(
        default=None, description="Bot (xoxb-) or user (xoxp-) token; with rotation, the current."
    )
    refresh_token: SecretStr | None = Field(default=None, description="Token rotation: xoxe-1-…")
    client_id: str | None = Field(default=None, description="App client ID (token rotation).")
    client_secret: SecretStr | None = Field(default=None, description="App client secret.")
    api_url: str = Field(
        default="https://slack.com/api/",
        description="Web API base (GovSlack: https://slack-gov.com/api/).",
    )
    token_url: str | None = Field(
        default=None, description="Token endpoint [default: <api_url>oauth.v2.access]."
    )
    types: list[str] = Field(
        default=["public_channel", "private_channel", "mpim", "im"],
        description="Conversation types to scan (those the token lacks scopes for are noted).",
    )
    include_archived: bool = False
    include_threads: bool = True
    include_files: bool = True
    page_size: int = Field(default=200, ge=1, le=999)
    tier_rates: dict[int, float] = Field(
        default={1: 1, 2: 20, 3: 50, 4: 100},
        description="Requests per minute per method of each Slack rate tier.",
    )
    tier_burst: int = Field(default=5, ge=1, description="Requests a method may burst.")
    http: HttpSettings = Field(default_factory=HttpSettings)

    @model_validator(mode="after")
    def _credentials(self) -> SlackConfig:
        if self.token is None and self.refresh_token is None:
            raise ValueError("set token (or refresh_token with client_id and client_secret)")
        if self.refresh_token is not None and not (self.client_id and self.client_secret):
            raise ValueError("token rotation (refresh_token) needs client_id and client_secret")
        if not self.api_url.endswith("/"):
            self.api_url += "/"
        return self


class SlackConnector(ConnectorBase):
    """Scans one Slack workspace through the Web API."""

    kind: ClassVar[str] = "slack"
    schemes: ClassVar[tuple[str, ...]] = ("slack",)
    Config: ClassVar[type[BaseModel]] = SlackConfig

    def __init__(self, config: SlackConfig) -> None:
        self.config = config
        auth: Auth
        if config.refresh_token is not None:
            auth = RefreshTokenAuth(
                config.token_url or config.api_url + "oauth.v2.access",
                config.client_id or "",
                config.client_secret,
                config.refresh_token,
                access_token=config.token,
            )
        else:
            assert config.token is not None
            auth = BearerAuth(config.token)
        limiters = {
            method: RateLimiter(config.tier_rates.get(tier, 20), config.tier_burst)
            for method, tier in TIER_OF_METHOD.items()
        }
        self.http = HttpClient(
            "slack", config.http, auth, unauthorized=_token_refused, limiters=limiters
        )
        self._team: dict[str, Any] | None = None
        self._texts: dict[str, str] = {}
        self._denied: dict[str, str] = {}
        self._resume: dict[str, Any] = {}
        self._next: dict[str, Any] | None = None
        self._newest: dict[str, str] = {}  # conversation -> newest top-level ts listed

    def __repr__(self) -> str:
        return f"SlackConnector(api_url={self.config.api_url!r})"

    @classmethod
    def config_from_target(cls, target: str, options: dict[str, Any]) -> SlackConfig:
        raise ConfigError(
            "Slack needs credentials: declare it in a sources file and run "
            "`perimeter scan --source NAME` (see docs/connectors/slack.md)"
        )

    # -- API calls ----------------------------------------------------------------------------

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, scope: str = "source"
    ) -> tuple[dict[str, Any], HttpResponse]:
        """POST one Web API method; ``{"ok": false}`` answers become the error tree."""
        resp = await self.http.request(
            "POST",
            self.config.api_url + method,
            data={k: str(v) for k, v in (params or {}).items() if v is not None},
            rate_key=method,
            scope="item" if scope == "item" else "source",
        )
        payload = resp.json()
        if not isinstance(payload, dict):
            raise SourceError(f"slack: {method} answered something other than a JSON object")
        if payload.get("ok") is True:
            return payload, resp
        error = str(payload.get("error") or "unknown_error")
        message = f"slack: {method}: {error}"
        if error == "missing_scope" and payload.get("needed"):
            message += f" (needs {payload['needed']})"
        if scope == "item":
            raise ItemUnreadable(message)
        if error in _FATAL or error == "missing_scope":
            raise AuthError(message)
        if error in _GONE:
            raise TargetNotFound(message)
        raise SourceError(message)

    async def _team_info(self) -> dict[str, Any]:
        if self._team is None:
            payload, resp = await self.call("auth.test")
            self._team = {**payload, "_scopes": resp.headers.get("X-OAuth-Scopes")}
        return self._team

    # -- Connector API ------------------------------------------------------------------------

    async def check(self) -> None:
        await self._team_info()

    async def check_access(self) -> AccessReport:
        team = await self._team_info()
        raw = team.get("_scopes")
        granted = tuple(s.strip() for s in raw.split(",") if s.strip()) if raw else None
        kind = "bot" if team.get("bot_id") else "user"
        notes = []
        if granted is not None:
            lacking = [s for s in OPTIONAL_SCOPES if s not in granted]
            if lacking:
                notes.append("not scanned for lack of scope: " + ", ".join(lacking))
        if kind == "bot":
            notes.append("a bot reads only the channels it was invited to")
        return AccessReport(
            identity=f"{kind} {team.get('user')} ({team.get('user_id')}) in workspace "
            f"{team.get('team')} ({team.get('team_id')})",
            granted=granted,
            needed=NEEDED_SCOPES,
            optional=OPTIONAL_SCOPES,
            notes=tuple(notes),
        )

    def resume_from(self, cursor: str | None) -> None:
        try:
            state = json.loads(cursor) if cursor else {}
        except ValueError:
            state = {}
        self._resume = state if isinstance(state, dict) else {}

    def next_cursor(self) -> str | None:
        return json.dumps(self._next, sort_keys=True) if self._next is not None else None

    async def discover(self) -> AsyncIterator[Asset | Item]:
        self._next = None
        started = int(time.time())
        team = await self._team_info()
        team_id = str(team.get("team_id") or "T")
        base_url = str(team.get("url") or "").rstrip("/")
        previous: dict[str, str] = dict(self._resume.get("channels") or {})
        latest: dict[str, str] = dict(previous)
        exposures: dict[str, Exposure] = {}
        async for channel in self._conversations():
            cid = str(channel["id"])
            exposure = channel_exposure(channel)
            exposures[cid] = exposure
            uri = f"slack://{team_id}/{cid}"
            name = _channel_name(channel)
            yield Asset(
                uri=uri,
                name=name,
                kind=_channel_kind(channel),
                exposure=exposure,
                owner=channel.get("creator") or channel.get("user"),
            )
            try:
                async for item in self._messages(team_id, base_url, channel, exposure, previous):
                    yield item
                if cid in self._newest:
                    latest[cid] = self._newest[cid]
            except (AuthError, TargetNotFound, SourceError) as exc:
                if _fatal(exc):
                    raise
                # Recorded as a failed entry in the data map; the scan goes on.
                self._denied[uri] = str(exc)
                yield Item(uri=uri, container=uri, path=name, exposure=exposure)
        if self.config.include_files:
            files_uri = f"slack://{team_id}/files"
            yield Asset(uri=files_uri, name="files", kind="files", exposure=Exposure.INTERNAL)
            async for item in self._files(files_uri, exposures):
                yield item
        self._next = {"channels": latest, "files_ts": started}

    async def read(self, item: Item, max_bytes: int) -> Content:
        if item.uri in self._denied:
            raise ItemUnreadable(self._denied.pop(item.uri))
        if item.uri in self._texts:
            data = self._texts.pop(item.uri).encode("utf-8")
            return Content(data=data[:max_bytes], truncated=len(data) > max_bytes)
        if "/files/" in item.uri:
            return await self._read_file(item, max_bytes)
        raise ItemUnreadable(f"slack: {item.uri} was not listed in this scan")

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- listings -----------------------------------------------------------------------------

    async def _pages(
        self, method: str, params: dict[str, Any], scope: str = "source"
    ) -> AsyncIterator[dict[str, Any]]:
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            payload, _ = await self.call(method, {**params, "cursor": cursor}, scope)
            yield payload
            cursor = (payload.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return
            if cursor in seen:
                raise SourceError(f"slack: {method} returned the same cursor twice")
            seen.add(cursor)

    async def _conversations(self) -> AsyncIterator[dict[str, Any]]:
        params = {
            "types": ",".join(self.config.types),
            "exclude_archived": "false" if self.config.include_archived else "true",
            "limit": self.config.page_size,
        }
        async for page in self._pages("conversations.list", params):
            for channel in page.get("channels") or []:
                if isinstance(channel, dict) and channel.get("id"):
                    yield channel

    async def _messages(
        self,
        team_id: str,
        base_url: str,
        channel: dict[str, Any],
        exposure: Exposure,
        previous: Mapping[str, str],
    ) -> AsyncIterator[Item]:
        cid = str(channel["id"])
        container = f"slack://{team_id}/{cid}"
        name = _channel_name(channel)
        params = {"channel": cid, "limit": self.config.page_size, "oldest": previous.get(cid)}
        async for page in self._pages("conversations.history", params):
            for msg in page.get("messages") or []:
                ts = str(msg.get("ts") or "")
                # Only top-level messages move the cursor: history's `oldest` filters on them.
                if ts and (cid not in self._newest or float(ts) > float(self._newest[cid])):
                    self._newest[cid] = ts
                item = self._message_item(container, name, base_url, cid, msg, exposure, None)
                if item is not None:
                    yield item
                if self.config.include_threads and int(msg.get("reply_count") or 0) > 0:
                    async for reply in self._replies(container, name, base_url, cid, msg, exposure):
                        yield reply

    async def _replies(
        self,
        container: str,
        name: str,
        base_url: str,
        cid: str,
        parent: dict[str, Any],
        exposure: Exposure,
    ) -> AsyncIterator[Item]:
        thread_ts = str(parent["ts"])
        params = {"channel": cid, "ts": thread_ts, "limit": self.config.page_size}
        async for page in self._pages("conversations.replies", params):
            for msg in page.get("messages") or []:
                if str(msg.get("ts")) == thread_ts:
                    continue  # the parent, already yielded from the history
                item = self._message_item(container, name, base_url, cid, msg, exposure, thread_ts)
                if item is not None:
                    yield item

    def _message_item(
        self,
        container: str,
        name: str,
        base_url: str,
        cid: str,
        msg: dict[str, Any],
        exposure: Exposure,
        thread_ts: str | None,
    ) -> Item | None:
        ts = str(msg.get("ts") or "")
        text = message_text(msg)
        if not ts or not text:
            return None  # joins, pins and file-only posts carry no text of their own
        uri = f"{container}/{ts}"
        link = f"{base_url}/archives/{cid}/p{ts.replace('.', '')}" if base_url else None
        if link and thread_ts:
            link += f"?thread_ts={thread_ts}&cid={cid}"
        edited = (msg.get("edited") or {}).get("ts")
        self._texts[uri] = text
        return Item(
            uri=uri,
            container=container,
            path=f"{name}/{ts}",
            size=len(text.encode("utf-8")),
            content_type="text/plain",
            created=_ts(ts),
            modified=_ts(str(edited)) if edited else _ts(ts),
            owner=msg.get("user") or msg.get("bot_id") or msg.get("username"),
            exposure=exposure,
            version=ts,
            web_url=link,
        )

    async def _files(
        self, container: str, exposures: Mapping[str, Exposure]
    ) -> AsyncIterator[Item]:
        page, pages = 1, 1
        ts_from = self._resume.get("files_ts")
        while page <= pages:
            payload, _ = await self.call(
                "files.list",
                {"count": self.config.page_size, "page": page, "ts_from": ts_from},
            )
            for f in payload.get("files") or []:
                if isinstance(f, dict) and f.get("id"):
                    yield _file_item(container, f, exposures)
            paging = payload.get("paging") or {}
            pages = min(int(paging.get("pages") or 1), 10_000)
            page += 1

    async def _read_file(self, item: Item, max_bytes: int) -> Content:
        file_id = item.uri.rsplit("/", 1)[-1]
        # files.info first: a file deleted since the listing fails here with file_deleted,
        # and the download URL is the current one.
        payload, _ = await self.call("files.info", {"file": file_id}, scope="item")
        info = payload.get("file") or {}
        url = info.get("url_private_download") or info.get("url_private")
        if info.get("is_external") or not url:
            raise ItemUnreadable(f"slack: {file_id} is hosted outside Slack; not downloaded")
        try:
            resp = await self.http.request("GET", str(url), scope="item", max_bytes=max_bytes)
        except PerimeterError as exc:
            raise ItemUnreadable(str(exc)) from exc
        if resp.headers.get("Content-Type", "").startswith("text/html"):
            # Slack answers an unauthorised download with its login page, not a 403.
            raise ItemUnreadable(f"slack: {file_id}: the download returned a web page (no access)")
        return Content(data=resp.body, truncated=resp.truncated)


# -- mapping helpers ----------------------------------------------------------------------------


def channel_exposure(channel: Mapping[str, Any]) -> Exposure:
    """Exposure of a conversation from its ``conversations.list`` flags."""
    if channel.get("is_ext_shared") or channel.get("is_pending_ext_shared"):
        return Exposure.EXTERNAL
    if channel.get("is_im") or channel.get("is_mpim") or channel.get("is_private"):
        return Exposure.PRIVATE
    return Exposure.INTERNAL


def file_exposure(f: Mapping[str, Any], exposures: Mapping[str, Exposure]) -> Exposure:
    """The widest of: a public link, an external origin, the conversations it is shared in."""
    if f.get("public_url_shared"):
        return Exposure.PUBLIC
    if f.get("is_external"):
        return Exposure.EXTERNAL
    order = list(Exposure)
    widest = Exposure.PRIVATE
    shared_in = [*(f.get("channels") or []), *(f.get("groups") or []), *(f.get("ims") or [])]
    for cid in shared_in:
        exp = exposures.get(str(cid), Exposure.INTERNAL if f.get("is_public") else Exposure.PRIVATE)
        if order.index(exp) > order.index(widest):
            widest = exp
    if not shared_in and f.get("is_public"):
        widest = Exposure.INTERNAL
    return widest


def message_text(msg: Mapping[str, Any]) -> str:
    """A message's text plus its legacy attachments' text (bots post there)."""
    parts = [str(msg.get("text") or "")]
    for att in msg.get("attachments") or []:
        if isinstance(att, dict):
            parts.extend(str(att[k]) for k in ("pretext", "title", "text") if att.get(k))
    return "\n".join(p for p in parts if p).strip()


def _file_item(container: str, f: Mapping[str, Any], exposures: Mapping[str, Exposure]) -> Item:
    created = f.get("created")
    return Item(
        uri=f"{container}/{f['id']}",
        container=container,
        path=str(f.get("name") or f.get("title") or f["id"]),
        size=int(f["size"]) if isinstance(f.get("size"), int) else None,
        content_type=f.get("mimetype") or None,
        created=datetime.fromtimestamp(int(created), UTC) if created else None,
        modified=datetime.fromtimestamp(int(f.get("updated") or created), UTC) if created else None,
        owner=f.get("user"),
        exposure=file_exposure(f, exposures),
        version=str(f.get("updated") or created or ""),
        web_url=f.get("permalink"),
    )


def _token_refused(resp: HttpResponse) -> bool:
    if resp.status == 401:
        return True
    if resp.status != 200 or b"token_expired" not in resp.body:
        return False
    try:
        payload = json.loads(resp.body)
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("error") == "token_expired"


def _fatal(exc: PerimeterError) -> bool:
    """Whether an error from ``call()`` ("slack: METHOD: CODE ...") ends the whole scan."""
    parts = str(exc).split(": ")
    return len(parts) >= 3 and parts[2].split(" ")[0] in _FATAL


def _channel_name(channel: Mapping[str, Any]) -> str:
    if channel.get("is_im"):
        return f"@{channel.get('user') or channel['id']}"
    return f"#{channel.get('name') or channel['id']}"


def _channel_kind(channel: Mapping[str, Any]) -> str:
    if channel.get("is_im"):
        return "dm"
    if channel.get("is_mpim"):
        return "group_dm"
    return _KIND["private_channel" if channel.get("is_private") else "public_channel"]


def _ts(ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except ValueError:
        return None
