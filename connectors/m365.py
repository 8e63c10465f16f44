"""Microsoft 365 through Microsoft Graph: OneDrive and SharePoint document libraries.

Targets: ``m365://`` (every SharePoint site's document libraries, plus the OneDrive of each
user in ``users``) or ``m365://<drive-id>`` (one drive). Auth is the app-only client-credentials
flow of an app registration (``tenant_id``, ``client_id``, ``client_secret``); the authority and
Graph base URLs are settings, so national clouds work the same way.

Listing uses delta queries (``GET /drives/{id}/root/delta``, ``@odata.nextLink`` pages and a
final ``@odata.deltaLink``): a full scan keeps each drive's delta link as the cursor, and the next
scan follows those links to read only what changed (and records deleted items). Items:
``uri = m365://<drive-id>/<item-id>``, path = folder path inside the drive, web URL = ``webUrl``.
Exposure from the item's permissions, widest wins:

    =================================================================  ========
    a sharing link with scope ``anonymous`` (anyone with the link)      public
    a grant to a guest (``#EXT#``), an invitation, or an email outside   external
    the tenant's ``domains``
    a sharing link with scope ``organization``                          internal
    only people and groups of the tenant                                private
    =================================================================  ========

Content is fetched from ``/drives/{id}/items/{id}/content``, which answers 302 to a
pre-authenticated download URL on another host; that hop goes without the Authorization header.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.base import AccessReport, ConnectorBase, Content, drive_config
from connectors.http import ClientCredentialsAuth, HttpClient, HttpSettings
from models import Asset, Exposure, Item
from models.errors import AuthError, ConfigError, ItemUnreadable, SourceError, TargetNotFound

log = logging.getLogger(__name__)

MS_AUTHORITY = "https://login.microsoftonline.com"
GRAPH_URL = "https://graph.microsoft.com"
NEEDED_ROLES = ("Files.Read.All", "Sites.Read.All")
_MAX_FOLDER_DEPTH = 64
_DENIED = "perimeter:denied"  # marks a container entry that could not be listed
_RANK = {Exposure.PRIVATE: 0, Exposure.INTERNAL: 1, Exposure.EXTERNAL: 2, Exposure.PUBLIC: 3}


class M365Config(BaseModel):
    """Settings of one Microsoft 365 source. The client secret is ``SecretStr``: never shown."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(description="Directory (tenant) ID or a verified domain.")
    client_id: str = Field(description="Application (client) ID of the app registration.")
    client_secret: SecretStr
    authority: str = Field(default=MS_AUTHORITY, description="Identity platform base URL.")
    graph_url: str = Field(default=GRAPH_URL, description="Microsoft Graph base URL.")
    api_version: str = "v1.0"
    token_url: str | None = Field(
        default=None, description="Token endpoint; default {authority}/{tenant}/oauth2/v2.0/token"
    )
    drive: str | None = Field(default=None, description="Scan only this drive ID.")
    sites: list[str] | None = Field(
        default=None, description="Site IDs whose libraries are scanned; none: every site."
    )
    users: list[str] = Field(
        default_factory=list, description="Users (ID or UPN) whose OneDrive is scanned."
    )
    domains: list[str] = Field(
        default_factory=list, description="The tenant's email domains (external detection)."
    )
    page_size: int = Field(default=200, ge=1, le=999)
    http: HttpSettings = Field(default_factory=HttpSettings)

    @field_validator("authority", "graph_url", "token_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    def api(self) -> str:
        return f"{self.graph_url}/{self.api_version}"

    def token_endpoint(self) -> str:
        return self.token_url or f"{self.authority}/{quote(self.tenant_id)}/oauth2/v2.0/token"


def _identities(perm: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for key in ("grantedToV2", "grantedTo"):
        holder = perm.get(key)
        if isinstance(holder, Mapping):
            found.extend(v for v in holder.values() if isinstance(v, Mapping))
    for key in ("grantedToIdentitiesV2", "grantedToIdentities"):
        for holder in perm.get(key) or ():
            if isinstance(holder, Mapping):
                found.extend(v for v in holder.values() if isinstance(v, Mapping))
    return found


def _is_external(identity: Mapping[str, Any], domains: frozenset[str]) -> bool:
    login = str(identity.get("loginName") or identity.get("userPrincipalName") or "").lower()
    if "#ext#" in login:
        return True  # an Entra guest account
    email = str(identity.get("email") or "").lower()
    return bool(domains and "@" in email and email.rpartition("@")[2] not in domains)


def exposure_from_permissions(
    permissions: Sequence[Mapping[str, Any]], domains: frozenset[str]
) -> Exposure:
    """The widest exposure granted by a driveItem's Graph permissions (see the module table)."""
    exposure = Exposure.PRIVATE
    for perm in permissions:
        found = Exposure.PRIVATE
        link = perm.get("link")
        scope = link.get("scope") if isinstance(link, Mapping) else None
        if scope == "anonymous":
            return Exposure.PUBLIC
        if scope == "organization":
            found = Exposure.INTERNAL
        invitation = perm.get("invitation")
        if isinstance(invitation, Mapping) and invitation.get("email"):
            invited = str(invitation["email"]).lower()
            if not domains or invited.rpartition("@")[2] not in domains:
                found = Exposure.EXTERNAL
        if any(_is_external(identity, domains) for identity in _identities(perm)):
            found = Exposure.EXTERNAL
        if _RANK[found] > _RANK[exposure]:
            exposure = found
    return exposure


class M365Connector(ConnectorBase):
    """Lists and reads OneDrive and SharePoint document libraries through Microsoft Graph."""

    kind: ClassVar[str] = "m365"
    schemes: ClassVar[tuple[str, ...]] = ("m365",)
    Config: ClassVar[type[BaseModel]] = M365Config

    def __init__(self, config: M365Config) -> None:
        self.config = config
        self._domains = frozenset(d.lower() for d in config.domains)
        self._auth = ClientCredentialsAuth(
            config.token_endpoint(),
            config.client_id,
            config.client_secret,
            scope=f"{config.graph_url}/.default",  # every application permission consented
        )
        self._client: HttpClient | None = None
        self._folders: dict[tuple[str, str], tuple[str, str | None] | None] = {}
        self._cursor: dict[str, str] = {}
        self._next: dict[str, str] = {}
        self._complete = False
        self.problems: list[str] = []  # containers that could not be listed
        self._denied: dict[str, str] = {}  # URI -> why it cannot be read
        self.removed: list[str] = []  # URIs of items deleted since the cursor

    def __repr__(self) -> str:
        return f"M365Connector(tenant={self.config.tenant_id!r}, drive={self.config.drive!r})"

    @classmethod
    def config_from_target(cls, target: str, options: dict[str, Any]) -> M365Config:
        config = drive_config(
            M365Config, "m365", target, options, "m365:// or m365://DRIVE_ID", "an"
        )
        assert isinstance(config, M365Config)
        return config

    # -- plumbing ---------------------------------------------------------------------------

    def _http(self) -> HttpClient:
        if self._client is None:
            self._client = HttpClient("m365", self.config.http, self._auth)
        return self._client

    def _url(self, path: str) -> str:
        return f"{self.config.api()}{path}"

    def _own(self, url: str) -> str:
        """``url`` if it is on the configured Graph endpoint: a next/delta link (or a stored
        cursor) pointing elsewhere must not receive the bearer token."""
        if urlsplit(url)[:2] != urlsplit(self.config.graph_url)[:2]:
            raise SourceError(f"m365: refusing a link to another host than {self.config.graph_url}")
        return url

    async def _json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        return (await self._http().request("GET", self._own(url), params=params)).json()

    async def _pages(self, url: str, params: Mapping[str, Any] | None = None) -> AsyncIterator[Any]:
        """Every ``value`` entry of a collection, following ``@odata.nextLink``."""
        current: str | None = url
        seen: set[str] = set()
        while current:
            page = await self._json(current, params)
            params = None  # the next link carries the query
            for entry in page.get("value", ()):
                yield entry
            current = page.get("@odata.nextLink")
            if current in seen:
                raise SourceError(f"m365: Graph linked to the same page twice ({url})")
            if current:
                seen.add(current)

    # -- Connector API ------------------------------------------------------------------------

    async def check(self) -> None:
        """Get a token and read one drive or the site list: proves credentials and consent."""
        if self.config.drive:
            await self._json(self._url(f"/drives/{quote(self.config.drive)}"), {"$select": "id"})
        elif self.config.sites is None:
            await self._json(self._url("/sites"), {"search": "*", "$top": 1, "$select": "id"})
        else:
            await self._auth.authorization(self._http())

    def resume_from(self, cursor: str | None) -> None:
        """Scan only what changed since ``cursor`` (JSON: drive ID -> delta link)."""
        self._cursor = {}
        if cursor:
            try:
                data = json.loads(cursor)
            except ValueError:
                raise ConfigError("m365: the stored cursor is not JSON; rescan in full") from None
            if isinstance(data, dict):
                self._cursor = {str(k): str(v) for k, v in data.items()}

    def next_cursor(self) -> str | None:
        """Each drive's delta link after a complete discovery (JSON), else None."""
        if not self._complete:
            return None
        return json.dumps(self._next, sort_keys=True)

    async def check_access(self) -> AccessReport:
        """The application permissions in the access token's ``roles`` claim."""
        await self._auth.authorization(self._http())
        token = self._auth.state.access_token
        roles = _token_roles(token.get_secret_value() if token else "")
        return AccessReport(
            identity=f"app {self.config.client_id} in tenant {self.config.tenant_id}",
            granted=tuple(roles) if roles is not None else None,
            needed=NEEDED_ROLES,
        )

    async def discover(self) -> AsyncIterator[Asset | Item]:
        self.problems.clear()
        self.removed.clear()
        self._next = {}
        self._complete = False
        await self.check()
        async for drive in self._drives():
            async for entry in self._drive(drive):
                yield entry
        self._complete = True

    async def read(self, item: Item, max_bytes: int) -> Content:
        if item.uri in self._denied:
            raise ItemUnreadable(self._denied.pop(item.uri))
        drive_id, item_id = self._split(item)
        if self.config.drive is not None and drive_id != self.config.drive:
            raise ItemUnreadable(f"{item.uri}: not in drive {self.config.drive!r}")
        if max_bytes <= 0:
            return Content(data=b"", truncated=(item.size or 0) > 0)
        url = self._url(f"/drives/{quote(drive_id)}/items/{quote(item_id)}/content")
        try:
            # Graph answers 302 to a pre-authenticated URL on another host: HttpClient follows
            # it without the Authorization header.
            resp = await self._http().request("GET", url, scope="item", max_bytes=max_bytes)
        except ItemUnreadable as exc:
            raise ItemUnreadable(f"{item.uri}: {exc}") from None
        return Content(data=resp.body, truncated=resp.truncated)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    # -- drives -------------------------------------------------------------------------------

    async def _drives(self) -> AsyncIterator[dict[str, Any]]:
        cfg = self.config
        if cfg.drive:
            yield await self._json(self._url(f"/drives/{quote(cfg.drive)}"))
            return
        seen: set[str] = set()
        sites: AsyncIterator[Any]
        if cfg.sites is None:
            sites = self._pages(self._url("/sites"), {"search": "*", "$top": cfg.page_size})
        else:
            sites = _ids(cfg.sites)
        async for site in sites:
            site_id = str(site["id"])
            try:
                async for drive in self._pages(self._url(f"/sites/{quote(site_id)}/drives")):
                    if drive["id"] not in seen:
                        seen.add(drive["id"])
                        yield drive
            except SourceError as exc:
                if not container_denied(exc):
                    raise
                label = str(site.get("webUrl") or site.get("displayName") or site_id)
                self._problem(f"site {label}", exc)
                yield {"id": site_id, "name": label, _DENIED: f"site {label}: {exc}"}
        for user in cfg.users:
            try:
                drive = await self._json(self._url(f"/users/{quote(user)}/drive"))
            except SourceError as exc:
                if not container_denied(exc):
                    raise
                self._problem(f"OneDrive of {user}", exc)
                yield {"id": user, "name": f"OneDrive of {user}", _DENIED: str(exc)}
                continue
            if drive["id"] not in seen:
                seen.add(drive["id"])
                yield drive

    def _problem(self, what: str, exc: Exception) -> None:
        # A container we may not list is recorded; the others are still scanned.
        self.problems.append(f"{what}: {exc}")
        log.warning("m365: %s could not be listed: %s", what, exc)

    async def _drive(self, drive: Mapping[str, Any]) -> AsyncIterator[Asset | Item]:
        if _DENIED in drive:
            # A site or OneDrive we may not list: recorded as a failed entry of the data map
            # (read() raises the reason); the others are still scanned.
            uri = f"m365://denied/{drive['id']}"
            self._denied[uri] = f"{uri}: not listed: {drive[_DENIED]}"
            yield Asset(uri=uri, name=str(drive["name"]), kind="site")
            yield Item(uri=uri, container=uri, path=str(drive["name"]))
            return
        drive_id = str(drive["id"])
        container = f"m365://{drive_id}"
        owner_facet = drive.get("owner") or {}
        owner = None
        for kind in ("user", "group", "application"):
            who = owner_facet.get(kind) if isinstance(owner_facet, Mapping) else None
            if isinstance(who, Mapping):
                owner = who.get("email") or who.get("displayName")
                break
        yield Asset(
            uri=container,
            name=str(drive.get("name") or drive_id),
            kind="onedrive" if drive.get("driveType") in ("personal", "business") else "library",
            owner=owner,
        )
        start = self._cursor.get(drive_id)
        if start is not None and not start.startswith(self.config.api() + "/"):
            log.warning("m365: ignoring a stored delta link for drive %s: not on Graph", drive_id)
            start = None
        url = start or self._url(f"/drives/{quote(drive_id)}/root/delta")
        try:
            async for entry in self._delta(drive_id, url, incremental=start is not None):
                yield entry
        except SourceError as exc:
            if not container_denied(exc):
                raise
            self._problem(container, exc)
            self._denied[container] = f"{container}: drive not listed: {exc}"
            yield Item(uri=container, container=container, path=str(drive.get("name") or ""))

    async def _delta(self, drive_id: str, url: str, incremental: bool) -> AsyncIterator[Item]:
        client = self._http()
        current: str | None = url
        params: dict[str, Any] | None = None if incremental else {"$top": self.config.page_size}
        seen: set[str] = set()
        while current:
            resp = await client.request(
                "GET", self._own(current), params=params, accept=lambda r: r.status == 410
            )
            params = None
            if resp.status == 410:
                # The delta token expired (resyncRequired): list the drive in full again.
                log.info("m365: delta link of drive %s expired; full resync", drive_id)
                current = self._url(f"/drives/{quote(drive_id)}/root/delta")
                params = {"$top": self.config.page_size}
                incremental = False
                continue
            page = resp.json()
            files: list[Mapping[str, Any]] = []
            for entry in page.get("value", ()):
                uri = f"m365://{drive_id}/{entry['id']}"
                if "deleted" in entry:
                    self._folders.pop((drive_id, str(entry["id"])), None)
                    if incremental:
                        self.removed.append(uri)
                    continue
                if "root" in entry:
                    self._folders[(drive_id, str(entry["id"]))] = None
                elif "folder" in entry or "package" in entry:
                    parent = (entry.get("parentReference") or {}).get("id")
                    self._folders[(drive_id, str(entry["id"]))] = (str(entry["name"]), parent)
                elif "file" in entry:
                    files.append(entry)
            made = await asyncio.gather(*(self._item(drive_id, f) for f in files))
            for item in made:
                if item is not None:
                    yield item
            if page.get("@odata.deltaLink"):
                self._next[drive_id] = str(page["@odata.deltaLink"])
                return
            current = page.get("@odata.nextLink")
            if current in seen:
                raise SourceError(f"m365: delta of drive {drive_id} linked to a page twice")
            if current:
                seen.add(current)
        raise SourceError(f"m365: delta of drive {drive_id} ended without a deltaLink")

    async def _item(self, drive_id: str, entry: Mapping[str, Any]) -> Item | None:
        item_id = str(entry["id"])
        container = f"m365://{drive_id}"
        perms_url = self._url(f"/drives/{quote(drive_id)}/items/{quote(item_id)}/permissions")
        try:
            permissions = [p async for p in self._pages(perms_url)]
        except TargetNotFound as exc:
            # Deleted since it was listed: recorded as a failed item, nothing to read.
            self._denied[f"{container}/{item_id}"] = f"{container}/{item_id}: gone: {exc}"
            permissions = []
        except SourceError as exc:
            log.warning("m365: permissions of %s/%s unreadable: %s", drive_id, item_id, exc)
            permissions = []
        created_by = (entry.get("createdBy") or {}).get("user") or {}
        file_facet = entry.get("file") or {}
        size = entry.get("size")
        return Item(
            uri=f"{container}/{item_id}",
            container=container,
            path=await self._path(drive_id, entry),
            size=int(size) if isinstance(size, int) else None,
            content_type=file_facet.get("mimeType"),
            created=_time(entry.get("createdDateTime")),
            modified=_time(entry.get("lastModifiedDateTime")),
            owner=created_by.get("email") or created_by.get("displayName"),
            exposure=exposure_from_permissions(permissions, self._domains),
            etag=entry.get("cTag") or entry.get("eTag"),
            version=entry.get("eTag"),
            web_url=entry.get("webUrl"),
        )

    async def _path(self, drive_id: str, entry: Mapping[str, Any]) -> str:
        parts = [str(entry.get("name") or entry["id"])]
        parent = (entry.get("parentReference") or {}).get("id")
        for _ in range(_MAX_FOLDER_DEPTH):
            if not parent:
                break
            key = (drive_id, str(parent))
            if key not in self._folders:
                self._folders[key] = await self._lookup_folder(drive_id, str(parent))
            known = self._folders[key]
            if known is None:
                break
            parts.append(known[0])
            parent = known[1]
        return "/".join(reversed(parts))

    async def _lookup_folder(self, drive_id: str, folder_id: str) -> tuple[str, str | None] | None:
        """A folder not in this delta page (incremental scans); None for the root."""
        url = self._url(f"/drives/{quote(drive_id)}/items/{quote(folder_id)}")
        try:
            resp = await self._http().request(
                "GET", url, params={"$select": "id,name,parentReference,root"}, scope="item"
            )
        except ItemUnreadable:
            return None
        info = resp.json()
        if "root" in info:
            return None
        return str(info.get("name", "")), (info.get("parentReference") or {}).get("id")

    def _split(self, item: Item) -> tuple[str, str]:
        rest = item.uri.removeprefix("m365://")
        drive, sep, item_id = rest.partition("/")
        if rest == item.uri or not sep or not item_id or "/" in item_id:
            raise ItemUnreadable(f"{item.uri}: not an m365://DRIVE/ITEM URI")
        return drive, item_id


async def _ids(values: list[str]) -> AsyncIterator[dict[str, Any]]:
    for value in values:
        yield {"id": value}


def container_denied(exc: SourceError) -> bool:
    """A container-level failure that must not end the scan: gone (404/410) or forbidden
    (403). A refused token, an unreachable API or a spent budget still end it."""
    return isinstance(exc, TargetNotFound) or (
        isinstance(exc, AuthError) and " answered HTTP 403" in str(exc)
    )


def _token_roles(token: str) -> list[str] | None:
    """The ``roles`` claim of a JWT access token, read without verifying it: Graph verifies its
    own tokens; this only reports what was granted. None when the token is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return sorted(str(r) for r in roles) if isinstance(roles, list) else []


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None
