"""Notion: the pages and databases shared with an integration, as text.

API (``Notion-Version: 2022-06-28``), read-only: ``GET /v1/users/me`` (identity), ``POST
/v1/search`` (pages and databases, newest edit first), ``POST /v1/databases/{id}/query`` (rows),
``GET /v1/blocks/{id}/children`` (page content, paginated, nested blocks followed). Cursor
pagination (``start_cursor`` / ``next_cursor`` / ``has_more``) everywhere; the documented average
of three requests a second is kept with a token bucket, and 429 ``rate_limited`` waits out
``Retry-After``.

URIs: ``notion://WORKSPACE`` (pages outside databases), ``notion://WORKSPACE/db/DATABASE_ID``
(a database), ``notion://WORKSPACE/PAGE_ID`` (a page or a database row).

Exposure: a page or database with a ``public_url`` (published to the web) is public; everything
else is internal (Notion's API does not say which guests a page is shared with).

Incremental scans: the cursor is the newest ``last_edited_time`` seen; the next scan stops the
search once it reaches older pages, and queries databases with a ``last_edited_time`` filter.
Notion rounds ``last_edited_time`` to the minute, so pages edited in the minute of the newest
edit seen are read again rather than risk missing one.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from connectors.base import AccessReport, ConnectorBase, Content
from connectors.http import (
    Auth,
    BearerAuth,
    HttpClient,
    HttpSettings,
    RateLimiter,
    RefreshTokenAuth,
)
from models import Asset, Exposure, Item
from models.errors import AuthError, ConfigError, ItemUnreadable, SourceError, TargetNotFound

NOTION_VERSION = "2022-06-28"
_MAX_DEPTH = 8  # nested blocks followed this deep (toggles in toggles in columns...)


class NotionConfig(BaseModel):
    """Settings of one Notion workspace (an integration's view of it)."""

    model_config = ConfigDict(extra="forbid")

    token: SecretStr | None = Field(
        default=None, description="Internal integration secret, or a public integration's token."
    )
    refresh_token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    api_url: str = "https://api.notion.com/v1/"
    token_url: str = "https://api.notion.com/v1/oauth/token"
    workspace: str | None = Field(
        default=None, description="Name used in URIs [default: the bot's workspace name]."
    )
    include_databases: bool = True
    page_size: int = Field(default=100, ge=1, le=100)
    requests_per_second: float = Field(default=3.0, gt=0)
    http: HttpSettings = Field(default_factory=HttpSettings)

    @model_validator(mode="after")
    def _credentials(self) -> NotionConfig:
        if self.token is None and self.refresh_token is None:
            raise ValueError("set token (or refresh_token with client_id and client_secret)")
        if self.refresh_token is not None and not (self.client_id and self.client_secret):
            raise ValueError("refresh_token needs client_id and client_secret")
        if not self.api_url.endswith("/"):
            self.api_url += "/"
        return self


class NotionConnector(ConnectorBase):
    """Scans what one Notion integration can see."""

    kind: ClassVar[str] = "notion"
    schemes: ClassVar[tuple[str, ...]] = ("notion",)
    Config: ClassVar[type[BaseModel]] = NotionConfig

    def __init__(self, config: NotionConfig) -> None:
        self.config = config
        auth: Auth
        if config.refresh_token is not None:
            auth = RefreshTokenAuth(
                config.token_url,
                config.client_id or "",
                config.client_secret,
                config.refresh_token,
                access_token=config.token,
                body="json",
                client_auth="basic",
            )
        else:
            assert config.token is not None
            auth = BearerAuth(config.token)
        per_minute = config.requests_per_second * 60
        self.http = HttpClient(
            "notion",
            config.http,
            auth,
            headers={"Notion-Version": NOTION_VERSION, "Accept": "application/json"},
            limiters={"api": RateLimiter(per_minute, max(1, int(config.requests_per_second)))},
        )
        self._me: dict[str, Any] | None = None
        self._denied: dict[str, str] = {}
        self._props: dict[str, str] = {}  # row URI -> its properties as text, until read
        self._since: str | None = None
        self._next: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"NotionConnector(api_url={self.config.api_url!r})"

    @classmethod
    def config_from_target(cls, target: str, options: dict[str, Any]) -> NotionConfig:
        raise ConfigError(
            "Notion needs credentials: declare it in a sources file and run "
            "`perimeter scan --source NAME` (see docs/connectors/notion.md)"
        )

    async def _get(self, path: str, params: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        return await self.http.get_json(
            self.config.api_url + path, params=params, rate_key="api", **kw
        )

    async def _post(self, path: str, body: Mapping[str, Any], **kw: Any) -> Any:
        resp = await self.http.request(
            "POST", self.config.api_url + path, json=dict(body), rate_key="api", **kw
        )
        return resp.json()

    async def _whoami(self) -> dict[str, Any]:
        if self._me is None:
            me = await self._get("users/me")
            self._me = me if isinstance(me, dict) else {}
        return self._me

    def _workspace(self) -> str:
        if self.config.workspace:
            return self.config.workspace
        name = str(((self._me or {}).get("bot") or {}).get("workspace_name") or "workspace")
        return "-".join(name.lower().split()) or "workspace"

    # -- Connector API ------------------------------------------------------------------------

    async def check(self) -> None:
        await self._whoami()

    async def check_access(self) -> AccessReport:
        me = await self._whoami()
        return AccessReport(
            identity=f"integration {me.get('name') or '?'} ({me.get('id')}) in workspace "
            f"{((me.get('bot') or {}).get('workspace_name')) or '?'}",
            granted=None,
            needed=("read content",),
            optional=(),
            notes=(
                "Notion's API does not report an integration's capabilities: in the "
                "integration settings, grant 'Read content' only (no insert/update, no comments, "
                "'No user information')",
                "the integration sees only the pages and databases shared with it",
            ),
        )

    def resume_from(self, cursor: str | None) -> None:
        try:
            state = json.loads(cursor) if cursor else {}
        except ValueError:
            state = {}
        since = state.get("since") if isinstance(state, dict) else None
        self._since = since if isinstance(since, str) else None

    def next_cursor(self) -> str | None:
        return json.dumps(self._next, sort_keys=True) if self._next is not None else None

    async def discover(self) -> AsyncIterator[Asset | Item]:
        self._next = None
        await self.check()
        ws = self._workspace()
        root = f"notion://{ws}"
        newest = self._since
        yield Asset(uri=root, name=ws, kind="workspace", exposure=Exposure.INTERNAL)
        databases: list[dict[str, Any]] = []
        async for obj in self._search():
            edited = str(obj.get("last_edited_time") or "")
            if edited and (newest is None or _older(newest, edited)):
                newest = edited
            if obj.get("object") == "database":
                databases.append(obj)
                continue
            if (obj.get("parent") or {}).get("type") == "database_id":
                continue  # a row: listed with its database
            yield self._page_item(root, root, obj)
        if self.config.include_databases:
            for db in databases:
                db_uri = f"{root}/db/{db['id']}"
                yield Asset(
                    uri=db_uri,
                    name=plain(db.get("title")) or str(db["id"]),
                    kind="database",
                    exposure=Exposure.PUBLIC if db.get("public_url") else Exposure.INTERNAL,
                    owner=(db.get("created_by") or {}).get("id"),
                )
                try:
                    async for row in self._rows(db):
                        yield self._page_item(root, db_uri, row)
                except (AuthError, TargetNotFound) as exc:
                    self._denied[db_uri] = str(exc)
                    yield Item(uri=db_uri, container=db_uri, path=plain(db.get("title")) or "db")
        self._next = {"since": newest}

    async def read(self, item: Item, max_bytes: int) -> Content:
        if item.uri in self._denied:
            raise ItemUnreadable(self._denied.pop(item.uri))
        page_id = item.uri.rsplit("/", 1)[-1]
        lines: list[str] = [item.path]
        props = self._props.pop(item.uri, "")
        if props:
            lines.append(props)
        size = sum(len(x) + 1 for x in lines)
        truncated = False
        try:
            async for text in self._block_text(page_id, 0):
                lines.append(text)
                size += len(text.encode("utf-8")) + 1
                if size > max_bytes:
                    truncated = True
                    break
        except SourceError as exc:
            raise ItemUnreadable(str(exc)) from exc
        data = "\n".join(lines).encode("utf-8")
        return Content(data=data[:max_bytes], truncated=truncated or len(data) > max_bytes)

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- listings -----------------------------------------------------------------------------

    async def _paginate(self, fetch: Any) -> AsyncIterator[dict[str, Any]]:
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await fetch(cursor)
            for obj in page.get("results") or []:
                if isinstance(obj, dict):
                    yield obj
            cursor = page.get("next_cursor") if page.get("has_more") else None
            if not cursor:
                return
            if cursor in seen:
                raise SourceError("notion: the API returned the same cursor twice")
            seen.add(cursor)

    async def _search(self) -> AsyncIterator[dict[str, Any]]:
        async def fetch(cursor: str | None) -> Any:
            body: dict[str, Any] = {
                "sort": {"direction": "descending", "timestamp": "last_edited_time"},
                "page_size": self.config.page_size,
            }
            if cursor:
                body["start_cursor"] = cursor
            return await self._post("search", body)

        async for obj in self._paginate(fetch):
            edited = str(obj.get("last_edited_time") or "")
            if self._since and edited and _older(edited, self._since):
                return  # newest first: everything from here on is older than the last scan
            if obj.get("archived") or obj.get("in_trash"):
                continue
            yield obj

    async def _rows(self, db: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        async def fetch(cursor: str | None) -> Any:
            body: dict[str, Any] = {"page_size": self.config.page_size}
            if cursor:
                body["start_cursor"] = cursor
            if self._since:
                body["filter"] = {
                    "timestamp": "last_edited_time",
                    "last_edited_time": {"on_or_after": self._since},
                }
            return await self._post(f"databases/{db['id']}/query", body)

        async for row in self._paginate(fetch):
            edited = str(row.get("last_edited_time") or "")
            if self._since and edited and _older(edited, self._since):
                continue
            yield row

    async def _block_text(self, block_id: str, depth: int) -> AsyncIterator[str]:
        async def fetch(cursor: str | None) -> Any:
            params: dict[str, Any] = {"page_size": self.config.page_size}
            if cursor:
                params["start_cursor"] = cursor
            return await self._get(f"blocks/{block_id}/children", params)

        async for block in self._paginate(fetch):
            text = block_text(block)
            if text:
                yield text
            kind = block.get("type")
            # child pages and databases are items of their own
            nested = kind not in ("child_page", "child_database") and depth < _MAX_DEPTH
            if block.get("has_children") and nested:
                async for inner in self._block_text(str(block["id"]), depth + 1):
                    yield inner

    def _page_item(self, root: str, container: str, page: Mapping[str, Any]) -> Item:
        uri = f"{root}/{page['id']}"
        props = properties_text(page.get("properties") or {})
        if props:
            self._props[uri] = props
        return Item(
            uri=uri,
            container=container,
            path=title_of(page) or str(page["id"]),
            content_type="text/plain",
            created=_dt(page.get("created_time")),
            modified=_dt(page.get("last_edited_time")),
            owner=(page.get("created_by") or {}).get("id"),
            exposure=Exposure.PUBLIC if page.get("public_url") else Exposure.INTERNAL,
            version=str(page.get("last_edited_time") or ""),
            web_url=page.get("url"),
        )


# -- text from Notion objects -------------------------------------------------------------------


def plain(rich: Any) -> str:
    """The ``plain_text`` of a rich-text array."""
    if not isinstance(rich, list):
        return ""
    return "".join(str(r.get("plain_text") or "") for r in rich if isinstance(r, dict))


def title_of(page: Mapping[str, Any]) -> str:
    for prop in (page.get("properties") or {}).values():
        if isinstance(prop, dict) and prop.get("type") == "title":
            return plain(prop.get("title"))
    return ""


def properties_text(props: Mapping[str, Any]) -> str:
    """Database row properties as ``name: value`` lines (the title excluded: it is the path)."""
    lines = []
    for name, prop in props.items():
        if not isinstance(prop, dict) or prop.get("type") == "title":
            continue
        kind = prop.get("type")
        value = prop.get(kind) if isinstance(kind, str) else None
        text = ""
        if kind == "rich_text":
            text = plain(value)
        elif kind in ("email", "phone_number", "url", "number", "checkbox") and value is not None:
            text = str(value)
        elif kind == "select" and isinstance(value, dict):
            text = str(value.get("name") or "")
        elif kind == "multi_select" and isinstance(value, list):
            text = ", ".join(str(v.get("name")) for v in value if isinstance(v, dict))
        elif kind == "date" and isinstance(value, dict):
            text = str(value.get("start") or "")
        if text:
            lines.append(f"{name}: {text}")
    return "\n".join(lines)


def block_text(block: Mapping[str, Any]) -> str:
    """The text a block shows: its rich text, a caption, a code body, a table row's cells."""
    kind = block.get("type")
    body = block.get(kind) if isinstance(kind, str) else None
    if not isinstance(body, dict):
        return ""
    if kind == "table_row":
        return "\t".join(plain(cell) for cell in body.get("cells") or [])
    if kind == "child_page":
        return str(body.get("title") or "")
    parts = [plain(body.get("rich_text")), plain(body.get("caption"))]
    if kind == "equation":
        parts.append(str(body.get("expression") or ""))
    return "\n".join(p for p in parts if p)


def _dt(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _older(a: str, b: str) -> bool:
    """Whether timestamp ``a`` is strictly before ``b`` (ISO 8601, any precision)."""
    da, db = _dt(a), _dt(b)
    if da is None or db is None:
        return a < b
    return da < db
