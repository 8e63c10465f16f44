"""Confluence Cloud: spaces, pages (storage format -> text) and their attachments.

REST API v2 (``/wiki/api/v2``), all read-only: ``GET /spaces``, ``/spaces/{id}/permissions``,
``/spaces/{id}/pages``, ``/pages/{id}?body-format=storage``, ``/pages/{id}/attachments``, then
the attachment's ``downloadLink`` (which Confluence redirects to its media host: followed without
credentials). Listings follow ``_links.next``. Identity comes from ``/wiki/rest/api/user/current``.

Auth: an Atlassian account email + API token (HTTP Basic, against ``https://SITE/wiki``), or
OAuth 2.0 (3LO) with a rotating refresh token against
``https://api.atlassian.com/ex/confluence/CLOUD_ID/wiki``.

URIs: ``confluence://SITE/SPACEKEY`` (Asset), ``confluence://SITE/SPACEKEY/PAGEID`` (page),
``confluence://SITE/SPACEKEY/PAGEID/attachments/ATTID``.

Exposure, per space, applied to its pages and attachments:

    ===================================================================  ========
    a read-space permission for anonymous users                          public
    a personal space                                                     private
    any other space (the site's licensed users may be granted access)    internal
    ===================================================================  ========

Page-level view restrictions narrow access further and are not read (one call per page).

Incremental scans: the cursor keeps, per space, the newest page version time seen; the next scan
still lists the pages (cheap: 250 per call) but yields only those with a newer version, and their
attachments. An attachment added to an unchanged page waits for a ``--full`` scan.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from connectors.base import AccessReport, ConnectorBase, Content
from connectors.http import (
    Auth,
    BasicAuth,
    BearerAuth,
    HttpClient,
    HttpSettings,
    RefreshTokenAuth,
)
from models import Asset, Exposure, Item
from models.errors import (
    AuthError,
    ConfigError,
    EndpointUnreachable,
    ItemUnreadable,
    TargetNotFound,
)

# Granular OAuth scopes a scan needs (classic equivalents in docs/connectors/confluence.md).
NEEDED_SCOPES = (
    "read:space:confluence",
    "read:page:confluence",
    "read:attachment:confluence",
)
OPTIONAL_SCOPES = ("read:space.permission:confluence", "read:user:confluence", "offline_access")


class ConfluenceConfig(BaseModel):
    """Settings of one Confluence Cloud site."""

    model_config = ConfigDict(extra="forbid")

    site_url: str = Field(description="https://YOUR-SITE.atlassian.net")
    api_url: str | None = Field(
        default=None,
        description="Wiki API base [default: <site_url>/wiki; OAuth: "
        "https://api.atlassian.com/ex/confluence/<cloud_id>/wiki].",
    )
    email: str | None = Field(default=None, description="Account email (API token auth).")
    api_token: SecretStr | None = None
    cloud_id: str | None = Field(default=None, description="Site cloud ID (OAuth).")
    access_token: SecretStr | None = None
    refresh_token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    token_url: str = "https://auth.atlassian.com/oauth/token"
    accessible_resources_url: str = "https://api.atlassian.com/oauth/token/accessible-resources"
    spaces: list[str] = Field(default=[], description="Space keys to scan (default: all).")
    include_personal: bool = True
    include_attachments: bool = True
    page_size: int = Field(default=100, ge=1, le=250)
    http: HttpSettings = Field(default_factory=HttpSettings)

    @model_validator(mode="after")
    def _auth(self) -> ConfluenceConfig:
        self.site_url = self.site_url.rstrip("/")
        basic = self.email is not None and self.api_token is not None
        oauth = self.access_token is not None or self.refresh_token is not None
        if basic == oauth:
            raise ValueError("set either email + api_token, or access_token/refresh_token")
        if self.refresh_token is not None and not (self.client_id and self.client_secret):
            raise ValueError("refresh_token needs client_id and client_secret")
        if self.api_url is None:
            if oauth and not self.cloud_id:
                raise ValueError("OAuth needs cloud_id (or an explicit api_url)")
            self.api_url = (
                f"https://api.atlassian.com/ex/confluence/{self.cloud_id}/wiki"
                if oauth
                else f"{self.site_url}/wiki"
            )
        self.api_url = self.api_url.rstrip("/")
        return self


class ConfluenceConnector(ConnectorBase):
    """Scans the spaces of one Confluence Cloud site."""

    kind: ClassVar[str] = "confluence"
    schemes: ClassVar[tuple[str, ...]] = ("confluence",)
    Config: ClassVar[type[BaseModel]] = ConfluenceConfig

    def __init__(self, config: ConfluenceConfig) -> None:
        self.config = config
        self.api = str(config.api_url)
        self.site = urlsplit(config.site_url).hostname or config.site_url
        auth: Auth
        self._oauth: RefreshTokenAuth | None = None
        if config.email is not None and config.api_token is not None:
            auth = BasicAuth(config.email, config.api_token)
        elif config.refresh_token is not None:
            self._oauth = RefreshTokenAuth(
                config.token_url,
                config.client_id or "",
                config.client_secret,
                config.refresh_token,
                access_token=config.access_token,
                body="json",
            )
            auth = self._oauth
        else:
            assert config.access_token is not None
            auth = BearerAuth(config.access_token)
        self.http = HttpClient(
            "confluence", config.http, auth, headers={"Accept": "application/json"}
        )
        self._denied: dict[str, str] = {}
        self._downloads: dict[str, str] = {}  # attachment id -> download link, until read
        self._resume: dict[str, str] = {}
        self._next: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"ConfluenceConnector(site={self.config.site_url!r})"

    @classmethod
    def config_from_target(cls, target: str, options: dict[str, Any]) -> ConfluenceConfig:
        raise ConfigError(
            "Confluence needs credentials: declare it in a sources file and run "
            "`perimeter scan --source NAME` (see docs/connectors/confluence.md)"
        )

    # -- Connector API ------------------------------------------------------------------------

    async def check(self) -> None:
        await self.http.get_json(self.api + "/api/v2/spaces", params={"limit": 1})

    async def check_access(self) -> AccessReport:
        await self.check()
        try:
            me = await self.http.get_json(self.api + "/rest/api/user/current")
        except (AuthError, TargetNotFound):  # needs read:user:confluence, which is optional
            me = {}
        who = f"{me.get('displayName') or '?'} ({me.get('accountId') or '?'}) on {self.site}"
        if self._oauth is None and self.config.access_token is None:
            return AccessReport(
                identity=who,
                granted=None,
                needed=NEEDED_SCOPES,
                optional=OPTIONAL_SCOPES,
                notes=(
                    "an API token acts with all of its account's permissions; use an account "
                    "that can only view the spaces to scan",
                ),
            )
        resources = await self.http.get_json(self.config.accessible_resources_url)
        granted: list[str] = []
        for res in resources if isinstance(resources, list) else []:
            if isinstance(res, dict) and res.get("id") == self.config.cloud_id:
                granted.extend(str(s) for s in res.get("scopes") or [])
        return AccessReport(
            identity=who,
            granted=tuple(granted),
            needed=NEEDED_SCOPES,
            optional=OPTIONAL_SCOPES,
        )

    def resume_from(self, cursor: str | None) -> None:
        try:
            state = json.loads(cursor) if cursor else {}
        except ValueError:
            state = {}
        spaces = state.get("spaces") if isinstance(state, dict) else None
        self._resume = dict(spaces) if isinstance(spaces, dict) else {}

    def next_cursor(self) -> str | None:
        return json.dumps(self._next, sort_keys=True) if self._next is not None else None

    async def discover(self) -> AsyncIterator[Asset | Item]:
        self._next = None
        await self.check()
        newest: dict[str, str] = dict(self._resume)
        async for space in self._list(
            self.api + "/api/v2/spaces", {"limit": self.config.page_size}
        ):
            key = str(space.get("key") or space.get("id"))
            if self.config.spaces and key not in self.config.spaces:
                continue
            if space.get("type") == "personal" and not self.config.include_personal:
                continue
            uri = f"confluence://{self.site}/{key}"
            try:
                exposure = await self._space_exposure(space)
            except (AuthError, TargetNotFound) as exc:
                self._denied[uri] = str(exc)
                yield Asset(uri=uri, name=str(space.get("name") or key), kind="space")
                yield Item(uri=uri, container=uri, path=key)
                continue
            yield Asset(
                uri=uri,
                name=str(space.get("name") or key),
                kind="space",
                exposure=exposure,
                owner=space.get("authorId"),
            )
            since = self._resume.get(key)
            seen: dict[str, str] = {}
            try:
                async for entry in self._pages(uri, key, space, exposure, since, seen):
                    yield entry
                # Only a space listed to its end moves its cursor.
                if key in seen:
                    newest[key] = seen[key]
            except (AuthError, TargetNotFound) as exc:
                self._denied[uri] = str(exc)
                yield Item(uri=uri, container=uri, path=key, exposure=exposure)
        self._next = {"spaces": newest}

    async def read(self, item: Item, max_bytes: int) -> Content:
        if item.uri in self._denied:
            raise ItemUnreadable(self._denied.pop(item.uri))
        parts = item.uri.split("/")
        if len(parts) == 7 and parts[5] == "attachments":
            return await self._read_attachment(item, max_bytes)
        page_id = parts[-1]
        page = await self.http.get_json(
            f"{self.api}/api/v2/pages/{page_id}",
            params={"body-format": "storage"},
            scope="item",
        )
        storage = ((page.get("body") or {}).get("storage") or {}).get("value") or ""
        title = str(page.get("title") or "")
        data = (title + "\n\n" + storage_to_text(str(storage))).encode("utf-8")
        return Content(data=data[:max_bytes], truncated=len(data) > max_bytes)

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- listings -----------------------------------------------------------------------------

    async def _list(
        self, url: str, params: Mapping[str, Any] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        current: str | None = url
        seen: set[str] = set()
        first = True
        while current:
            page = await self.http.get_json(current, params=params if first else None)
            first = False
            for row in page.get("results") or []:
                if isinstance(row, dict):
                    yield row
            link = (page.get("_links") or {}).get("next")
            if not link:
                return
            current = self._absolute(str(link))
            if current in seen:
                raise EndpointUnreachable(f"confluence: linked to {current} twice")
            seen.add(current)

    def _absolute(self, link: str) -> str:
        """``_links`` are relative to the site (``/wiki/api/v2/...``); through the OAuth gateway
        the wiki base is ``.../ex/confluence/ID/wiki``, so re-root them on ``api_url``."""
        if link.startswith("http://") or link.startswith("https://"):
            return link
        if link.startswith("/wiki/"):
            return self.api + link[len("/wiki") :]
        return self.api + "/" + link.lstrip("/")

    async def _space_exposure(self, space: Mapping[str, Any]) -> Exposure:
        url = f"{self.api}/api/v2/spaces/{space['id']}/permissions"
        async for perm in self._list(url, {"limit": 250}):
            op = perm.get("operation") or {}
            principal = perm.get("principal") or {}
            if op.get("key") != "read" or op.get("targetType") not in (None, "space"):
                continue
            if perm.get("anonymousAccess") or _is_anonymous(principal):
                return Exposure.PUBLIC
        return Exposure.PRIVATE if space.get("type") == "personal" else Exposure.INTERNAL

    async def _pages(
        self,
        container: str,
        key: str,
        space: Mapping[str, Any],
        exposure: Exposure,
        since: str | None,
        newest: dict[str, str],
    ) -> AsyncIterator[Item]:
        url = f"{self.api}/api/v2/spaces/{space['id']}/pages"
        params = {"limit": self.config.page_size, "status": "current"}
        async for page in self._list(url, params):
            version = page.get("version") or {}
            modified = str(version.get("createdAt") or page.get("createdAt") or "")
            if modified and (key not in newest or _after(modified, newest[key])):
                newest[key] = modified
            if since and modified and not _after(modified, since):
                continue
            page_uri = f"{container}/{page['id']}"
            yield Item(
                uri=page_uri,
                container=container,
                path=f"{key}/{page.get('title') or page['id']}",
                content_type="text/plain",
                created=_dt(page.get("createdAt")),
                modified=_dt(modified),
                owner=page.get("ownerId") or page.get("authorId"),
                exposure=exposure,
                version=str(version.get("number") or ""),
                web_url=self._web(page),
            )
            if self.config.include_attachments:
                async for att in self._attachments(container, key, page, exposure):
                    yield att

    async def _attachments(
        self, container: str, key: str, page: Mapping[str, Any], exposure: Exposure
    ) -> AsyncIterator[Item]:
        url = f"{self.api}/api/v2/pages/{page['id']}/attachments"
        try:
            async for att in self._list(url, {"limit": self.config.page_size}):
                version = att.get("version") or {}
                self._downloads[str(att["id"])] = str(
                    att.get("downloadLink") or (att.get("_links") or {}).get("download") or ""
                )
                yield Item(
                    uri=f"{container}/{page['id']}/attachments/{att['id']}",
                    container=container,
                    path=f"{key}/{page.get('title') or page['id']}/{att.get('title') or att['id']}",
                    size=att.get("fileSize") if isinstance(att.get("fileSize"), int) else None,
                    content_type=att.get("mediaType"),
                    created=_dt(att.get("createdAt")),
                    modified=_dt(version.get("createdAt") or att.get("createdAt")),
                    owner=version.get("authorId"),
                    exposure=exposure,
                    version=str(version.get("number") or ""),
                    web_url=self._web(att),
                )
        except TargetNotFound:
            return  # the page went away between two listings: nothing to attach

    async def _read_attachment(self, item: Item, max_bytes: int) -> Content:
        att_id = item.uri.rsplit("/", 1)[-1]
        link = self._downloads.pop(att_id, "")
        if not link:
            raise ItemUnreadable(f"confluence: attachment {att_id} has no download link")
        # downloadLink is relative to the wiki ("/download/attachments/..."); Confluence
        # redirects it to its media host, which gets no credentials (see connectors.http).
        resp = await self.http.request(
            "GET", self._absolute(link), scope="item", max_bytes=max_bytes
        )
        return Content(data=resp.body, truncated=resp.truncated)

    def _web(self, obj: Mapping[str, Any]) -> str | None:
        webui = obj.get("webuiLink") or (obj.get("_links") or {}).get("webui")
        return f"{self.config.site_url}/wiki{webui}" if webui else None


def _is_anonymous(principal: Mapping[str, Any]) -> bool:
    kind = str(principal.get("type") or "").lower()
    ident = str(principal.get("id") or "").lower()
    return kind == "anonymous" or (kind == "access_class" and "anonymous" in ident)


def _after(a: str, b: str) -> bool:
    da, db = _dt(a), _dt(b)
    if da is None or db is None:
        return a > b
    return da > db


def _dt(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# -- storage format -> text ---------------------------------------------------------------------

_BLOCKS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "blockquote",
        "table",
        "ac:structured-macro",
        "ac:task",
    }
)
_CELLS = frozenset({"td", "th"})
_SKIP = frozenset({"ac:parameter", "style", "script"})


class _StorageText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCKS:
            self.out.append("\n")
        elif tag in _CELLS:
            self.out.append("\t")
        elif tag == "ri:user":
            self.out.append("@user ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)

    def unknown_decl(self, data: str) -> None:
        # Code and no-format macros keep their body in CDATA: that is where secrets hide.
        if data.startswith("CDATA[") and not self._skip:
            self.out.append("\n" + data[len("CDATA[") :] + "\n")


def storage_to_text(storage: str) -> str:
    """Confluence storage format (XHTML with ``ac:``/``ri:`` elements) to plain text lines."""
    parser = _StorageText()
    parser.feed(storage)
    parser.close()
    lines = (" ".join(line.split("\t")).strip() for line in "".join(parser.out).splitlines())
    text = "\n".join(line for line in lines if line)
    return text
