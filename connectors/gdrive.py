"""Google Drive (Workspace): My Drive and shared drives, through the Drive API v3.

Targets: ``gdrive://`` (the subject's My Drive and every shared drive it can see),
``gdrive://my`` (My Drive only) or ``gdrive://<shared-drive-id>``. Auth is a service account with
domain-wide delegation acting as ``subject`` (see ``connectors.google_auth``).

Items: every file that is not a folder or a shortcut, ``uri = gdrive://<drive-id or my>/<file-id>``,
path = the folder path inside the drive. Google Docs, Sheets and Slides are read through
``files.export`` (formats in ``export_formats``); other files with ``alt=media``. Exposure from the
file's permissions, widest wins:

    ==========================================================  ========
    ``anyone`` (anyone with the link, or public on the web)      public
    ``user``/``group`` outside the organisation's domains        external
    ``domain`` of another organisation                           external
    ``domain`` of the organisation                               internal
    only users and groups of the organisation                    private
    ==========================================================  ========

Incremental scans use the ``changes`` API: a full scan records ``changes.getStartPageToken``
before it lists (so nothing changed during the listing is missed); a scan given that token as
``cursor`` reads only the files changed since, and records removed or trashed files.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.base import AccessReport, ConnectorBase, Content, drive_config
from connectors.google_auth import GOOGLE_TOKEN_URL, GoogleServiceAccountAuth, ServiceAccountKey
from connectors.http import HttpClient, HttpResponse, HttpSettings, Scope
from models import Asset, Exposure, Item
from models.errors import AuthError, ConfigError, ItemUnreadable, SourceError, TargetNotFound

log = logging.getLogger(__name__)

DRIVE_API = "https://www.googleapis.com/drive/v3"
SCOPE_READONLY = "https://www.googleapis.com/auth/drive.readonly"
SCOPE_METADATA = "https://www.googleapis.com/auth/drive.metadata.readonly"
FOLDER = "application/vnd.google-apps.folder"
_NATIVE = "application/vnd.google-apps."
DEFAULT_EXPORTS = {
    "application/vnd.google-apps.document": "text/plain",
    "application/vnd.google-apps.spreadsheet": "text/csv",
    "application/vnd.google-apps.presentation": "text/plain",
}
_FILE_FIELDS = (
    "id,name,mimeType,size,createdTime,modifiedTime,version,md5Checksum,trashed,parents,driveId,"
    "webViewLink,owners(displayName,emailAddress),permissions(type,role,emailAddress,domain)"
)
_PERMISSION_FIELDS = "nextPageToken,permissions(type,role,emailAddress,domain)"
# Drive also answers 403 (not 429) when a user or project exceeds its quota; those are retried.
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_MAX_FOLDER_DEPTH = 64


class GDriveConfig(BaseModel):
    """Settings of one Google Drive source. Key material is ``SecretStr``: never shown."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(description="Workspace user the service account acts as (email).")
    service_account_key: SecretStr | None = Field(
        default=None, description="The service account JSON key itself."
    )
    service_account_key_file: Path | None = Field(
        default=None, description="Path of the service account JSON key file."
    )
    domains: list[str] = Field(
        default_factory=list,
        description="The organisation's email domains (default: the subject's domain).",
    )
    drive: str | None = Field(
        default=None, description="'my' or one shared drive ID; none: My Drive and all shared."
    )
    scopes: list[str] = Field(default_factory=lambda: [SCOPE_READONLY])
    api_url: str = DRIVE_API
    token_url: str = GOOGLE_TOKEN_URL
    tokeninfo_url: str = Field(
        default="https://oauth2.googleapis.com/tokeninfo",
        description="Where `perimeter check` asks which scopes a token carries.",
    )
    page_size: int = Field(default=100, ge=1, le=1000)
    export_formats: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_EXPORTS))
    http: HttpSettings = Field(default_factory=HttpSettings)

    @field_validator("subject")
    @classmethod
    def _email(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("subject must be a user's email address")
        return value

    @field_validator("api_url", "token_url", "tokeninfo_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    def org_domains(self) -> frozenset[str]:
        names = self.domains or [self.subject.rsplit("@", 1)[1]]
        return frozenset(d.lower() for d in names)


def exposure_from_permissions(
    permissions: Sequence[Mapping[str, Any]], org_domains: frozenset[str]
) -> Exposure:
    """The widest exposure granted by a file's Drive permissions (see the module table)."""
    exposure = Exposure.PRIVATE
    for perm in permissions:
        kind = perm.get("type")
        if kind == "anyone":
            return Exposure.PUBLIC
        if kind == "domain":
            inside = str(perm.get("domain", "")).lower() in org_domains
            found = Exposure.INTERNAL if inside else Exposure.EXTERNAL
        elif kind in ("user", "group"):
            email = str(perm.get("emailAddress", ""))
            domain = email.rpartition("@")[2].lower()
            found = Exposure.PRIVATE if domain in org_domains else Exposure.EXTERNAL
        else:
            continue
        if _RANK[found] > _RANK[exposure]:
            exposure = found
    return exposure


_RANK = {Exposure.PRIVATE: 0, Exposure.INTERNAL: 1, Exposure.EXTERNAL: 2, Exposure.PUBLIC: 3}


class GDriveConnector(ConnectorBase):
    """Lists and reads the files of a Workspace user's My Drive and shared drives."""

    kind: ClassVar[str] = "gdrive"
    schemes: ClassVar[tuple[str, ...]] = ("gdrive",)
    Config: ClassVar[type[BaseModel]] = GDriveConfig

    def __init__(self, config: GDriveConfig) -> None:
        self.config = config
        self._domains = config.org_domains()
        self._auth: GoogleServiceAccountAuth | None = None
        self._client: HttpClient | None = None
        self._drive_names: dict[str, str] = {}
        self._folders: dict[str, tuple[str, str | None] | None] = {}  # id -> (name, parent)
        self._cursor: str | None = None  # from the last completed scan (resume_from)
        self._next_cursor: str | None = None
        self.problems: list[str] = []  # containers that could not be listed
        self._denied: dict[str, str] = {}  # URI -> why it cannot be read
        self.removed: list[str] = []  # URIs of files deleted or trashed since the cursor

    def __repr__(self) -> str:
        return f"GDriveConnector(subject={self.config.subject!r}, drive={self.config.drive!r})"

    @classmethod
    def config_from_target(cls, target: str, options: dict[str, Any]) -> GDriveConfig:
        config = drive_config(
            GDriveConfig, "gdrive", target, options, "gdrive://, gdrive://my or gdrive://DRIVE_ID"
        )
        assert isinstance(config, GDriveConfig)
        return config

    # -- plumbing ---------------------------------------------------------------------------

    def _http(self) -> HttpClient:
        if self._client is None:
            cfg = self.config
            if cfg.service_account_key is not None:
                key = ServiceAccountKey.from_json(cfg.service_account_key.get_secret_value())
            elif cfg.service_account_key_file is not None:
                key = ServiceAccountKey.from_file(cfg.service_account_key_file)
            else:
                raise ConfigError("gdrive: set service_account_key or service_account_key_file")
            self._auth = GoogleServiceAccountAuth(key, cfg.scopes, cfg.subject, cfg.token_url)
            self._client = HttpClient("gdrive", cfg.http, self._auth)
        return self._client

    async def _get(
        self,
        path: str,
        params: Mapping[str, Any],
        *,
        item: bool = False,
        max_bytes: int | None = None,
    ) -> HttpResponse:
        client = self._http()
        scope: Scope = "item" if item else "source"
        for attempt in range(client.settings.max_retries + 1):
            resp = await client.request(
                "GET",
                f"{self.config.api_url}{path}",
                params=params,
                scope=scope,
                max_bytes=max_bytes,
                accept=lambda r: r.status == 403 and _reason(r) in _RATE_REASONS,
            )
            if resp.ok:
                return resp
            cap = min(client.settings.backoff_max, client.settings.backoff_base * 2**attempt)
            await asyncio.sleep(random.uniform(0, cap))
        raise client.translate(resp, scope)

    async def _json(self, path: str, params: Mapping[str, Any], *, item: bool = False) -> Any:
        return (await self._get(path, params, item=item)).json()

    async def _pages(self, path: str, params: dict[str, Any], key: str) -> AsyncIterator[Any]:
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = await self._json(path, {**params, **({"pageToken": token} if token else {})})
            for entry in page.get(key, ()):
                yield entry
            token = page.get("nextPageToken")
            if not token:
                return
            if token in seen:
                raise SourceError(f"gdrive: {path} returned the page token {token[:20]!r} twice")
            seen.add(token)

    # -- Connector API ------------------------------------------------------------------------

    async def check(self) -> None:
        """Fetch a token and list one file: proves the key, the delegation and the scopes."""
        await self._json("/files", {"pageSize": 1, "fields": "files(id)", "corpora": "user"})

    async def discover(self) -> AsyncIterator[Asset | Item]:
        self.problems.clear()
        self.removed.clear()
        await self.check()
        self._next_cursor = None
        if self._cursor:
            async for entry in self._changed(self._cursor):
                yield entry
            return
        start = await self._json(
            "/changes/startPageToken", {"supportsAllDrives": "true", "fields": "startPageToken"}
        )
        drive = self.config.drive
        if drive in (None, "my"):
            async for entry in self._container(None, "My Drive"):
                yield entry
        if drive != "my":
            async for drive_id, name in self._shared_drives():
                async for entry in self._container(drive_id, name):
                    yield entry
        self._next_cursor = str(start["startPageToken"])

    def resume_from(self, cursor: str | None) -> None:
        """Scan only what changed since ``cursor`` (a changes page token; None: everything)."""
        self._cursor = cursor

    def next_cursor(self) -> str | None:
        """The changes page token the next incremental scan starts from."""
        return self._next_cursor

    async def check_access(self) -> AccessReport:
        """The scopes Google says the access token carries (its tokeninfo endpoint)."""
        await self.check()
        assert self._auth is not None
        granted = self._auth.granted_scopes or await self._tokeninfo_scopes()
        notes: list[str] = []
        if granted is not None and SCOPE_READONLY not in granted and SCOPE_METADATA in granted:
            notes.append("metadata only: without drive.readonly no content can be read")
        return AccessReport(
            identity=f"{self._auth.client_email} acting as {self.config.subject}",
            granted=granted,
            needed=(SCOPE_READONLY,),
            optional=(SCOPE_METADATA,),
            notes=tuple(notes),
        )

    async def _tokeninfo_scopes(self) -> tuple[str, ...] | None:
        client = self._http()
        assert self._auth is not None
        header = await self._auth.authorization(client)
        token = (header or "").removeprefix("Bearer ")
        # POSTed, so the token is not in a URL that a proxy could log.
        resp = await client.request(
            "POST",
            self.config.tokeninfo_url,
            data={"access_token": token},
            use_auth=False,
            accept=lambda r: True,
        )
        if not resp.ok:
            return None
        scope = resp.json().get("scope")
        return tuple(str(scope).split()) if isinstance(scope, str) else None

    async def read(self, item: Item, max_bytes: int) -> Content:
        if item.uri in self._denied:
            raise ItemUnreadable(self._denied.pop(item.uri))
        drive, file_id = self._split(item)
        if self.config.drive is not None and drive != self.config.drive:
            # Connectors talk only to what their source names.
            raise ItemUnreadable(f"{item.uri}: not in drive {self.config.drive!r}")
        if max_bytes <= 0:
            return Content(data=b"", truncated=(item.size or 0) > 0)
        mime = item.content_type or ""
        if mime.startswith(_NATIVE):
            export = self.config.export_formats.get(mime)
            if export is None:
                raise ItemUnreadable(f"{item.uri}: {mime} has no export format configured")
            path, params = f"/files/{file_id}/export", {"mimeType": export}
        else:
            path, params = f"/files/{file_id}", {"alt": "media", "supportsAllDrives": "true"}
        try:
            resp = await self._get(path, params, item=True, max_bytes=max_bytes)
        except ItemUnreadable as exc:
            raise ItemUnreadable(f"{item.uri}: {exc}") from None
        return Content(data=resp.body, truncated=resp.truncated)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    # -- listing --------------------------------------------------------------------------------

    async def _shared_drives(self) -> AsyncIterator[tuple[str, str]]:
        if self.config.drive not in (None, "my"):
            drive_id = self.config.drive
            info = await self._json(f"/drives/{drive_id}", {"fields": "id,name"})
            self._drive_names[drive_id] = str(info.get("name", drive_id))
            yield drive_id, self._drive_names[drive_id]
            return
        drives = self._pages(
            "/drives", {"pageSize": 100, "fields": "nextPageToken,drives(id,name)"}, "drives"
        )
        async for entry in drives:
            self._drive_names[entry["id"]] = entry.get("name", entry["id"])
            yield entry["id"], self._drive_names[entry["id"]]

    def _list_params(self, drive_id: str | None, query: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "pageSize": self.config.page_size,
            "fields": f"nextPageToken,files({_FILE_FIELDS})",
            "q": query,
        }
        if drive_id is None:
            params["corpora"] = "user"
            params["q"] = f"'me' in owners and {query}"
        else:
            params.update(
                corpora="drive",
                driveId=drive_id,
                includeItemsFromAllDrives="true",
                supportsAllDrives="true",
            )
        return params

    async def _container(self, drive_id: str | None, name: str) -> AsyncIterator[Asset | Item]:
        container = f"gdrive://{drive_id or 'my'}"
        owner = self.config.subject if drive_id is None else None
        yield Asset(uri=container, name=name, kind="drive", owner=owner)
        try:
            folders = self._pages(
                "/files",
                self._list_params(drive_id, f"mimeType = '{FOLDER}' and trashed = false"),
                "files",
            )
            async for folder in folders:
                parents = folder.get("parents") or [None]
                self._folders[folder["id"]] = (str(folder.get("name", "")), parents[0])
            files = self._pages(
                "/files",
                self._list_params(drive_id, f"mimeType != '{FOLDER}' and trashed = false"),
                "files",
            )
            batch: list[dict[str, Any]] = []
            async for file in files:
                batch.append(file)
                if len(batch) >= self.config.page_size:
                    for item in await self._items(batch):
                        yield item
                    batch = []
            for item in await self._items(batch):
                yield item
        except SourceError as exc:
            if not container_denied(exc):
                raise
            # A drive we may not list (removed from it, forbidden, gone) is recorded as a failed
            # entry of the data map (read() raises the reason); the others are still scanned.
            self.problems.append(f"{container}: {exc}")
            self._denied[container] = f"{container}: drive not listed: {exc}"
            log.warning("gdrive: %s could not be listed: %s", container, exc)
            yield Item(uri=container, container=container, path=name)

    async def _items(self, files: list[dict[str, Any]]) -> list[Item]:
        made = await asyncio.gather(*(self._item(f) for f in files))
        return [item for item in made if item is not None]

    async def _item(self, file: Mapping[str, Any]) -> Item | None:
        mime = str(file.get("mimeType", ""))
        if mime == FOLDER or (mime.startswith(_NATIVE) and mime not in self.config.export_formats):
            return None  # folders, shortcuts, forms, sites: nothing to read
        file_id = str(file["id"])
        drive_id = file.get("driveId")
        container = f"gdrive://{drive_id or 'my'}"
        permissions = file.get("permissions")
        if permissions is None:
            # files.list leaves permissions out for shared-drive items: ask for them.
            try:
                permissions = [
                    p
                    async for p in self._pages(
                        f"/files/{file_id}/permissions",
                        {"supportsAllDrives": "true", "fields": _PERMISSION_FIELDS},
                        "permissions",
                    )
                ]
            except TargetNotFound as exc:
                # Deleted since it was listed: recorded as a failed item, nothing to read.
                self._denied[f"{container}/{file_id}"] = f"{container}/{file_id}: gone: {exc}"
                permissions = []
            except SourceError as exc:
                log.warning("gdrive: permissions of %s unreadable: %s", file_id, exc)
                permissions = []
        owners = file.get("owners") or []
        owner = owners[0].get("emailAddress") if owners else None
        size = file.get("size")
        return Item(
            uri=f"{container}/{file_id}",
            container=container,
            path=await self._path(file),
            size=int(size) if size is not None else None,
            content_type=mime or None,
            created=_time(file.get("createdTime")),
            modified=_time(file.get("modifiedTime")),
            owner=owner or (self._drive_names.get(drive_id) if drive_id else None),
            exposure=exposure_from_permissions(permissions, self._domains),
            etag=file.get("md5Checksum") or file.get("version"),
            version=file.get("version"),
            web_url=file.get("webViewLink"),
        )

    async def _path(self, file: Mapping[str, Any]) -> str:
        parts = [str(file.get("name", file["id"]))]
        parents = file.get("parents") or []
        parent = parents[0] if parents else None
        for _ in range(_MAX_FOLDER_DEPTH):
            if parent is None or parent == file.get("driveId"):
                break
            if parent not in self._folders:
                self._folders[parent] = await self._lookup_folder(parent)
            known = self._folders[parent]
            if known is None:
                break
            parts.append(known[0])
            parent = known[1]
        return "/".join(reversed(parts))

    async def _lookup_folder(self, folder_id: str) -> tuple[str, str | None] | None:
        """A folder outside the listing (incremental scans): its name and parent, or None for a
        drive root or a folder we cannot see."""
        try:
            info = await self._json(
                f"/files/{folder_id}",
                {"fields": "id,name,parents,mimeType", "supportsAllDrives": "true"},
                item=True,
            )
        except ItemUnreadable:
            return None
        parents = info.get("parents") or []
        if not parents:
            return None  # the root folder ("My Drive") is not part of paths
        return str(info.get("name", "")), parents[0]

    async def _changed(self, cursor: str) -> AsyncIterator[Asset | Item]:
        """Files changed since ``cursor`` (changes.list over My Drive and shared drives)."""
        token: str | None = cursor
        wanted = self.config.drive
        yielded: set[str] = set()
        seen: set[str] = set()
        if wanted != "my":
            async for shared_id, shared_name in self._shared_drives():
                self._drive_names[shared_id] = shared_name
        while token:
            page = await self._json(
                "/changes",
                {
                    "pageToken": token,
                    "pageSize": min(self.config.page_size * 10, 1000),
                    "includeItemsFromAllDrives": "true",
                    "supportsAllDrives": "true",
                    "includeRemoved": "true",
                    "fields": "nextPageToken,newStartPageToken,"
                    f"changes(changeType,fileId,removed,driveId,file({_FILE_FIELDS}))",
                },
            )
            for change in page.get("changes", ()):
                if change.get("changeType", "file") != "file":
                    continue
                file = change.get("file") or {}
                drive_id = change.get("driveId") or file.get("driveId")
                key = drive_id or "my"
                if wanted is not None and wanted != key:
                    continue
                uri = f"gdrive://{key}/{change['fileId']}"
                if change.get("removed") or file.get("trashed"):
                    self.removed.append(uri)
                    continue
                if file.get("mimeType") == FOLDER:
                    self._folders.pop(str(change["fileId"]), None)  # renamed or moved
                    continue
                container = f"gdrive://{key}"
                if container not in yielded:
                    yielded.add(container)
                    name = "My Drive" if drive_id is None else self._drive_names.get(key, key)
                    owner = self.config.subject if drive_id is None else None
                    yield Asset(uri=container, name=name, kind="drive", owner=owner)
                item = await self._item(file)
                if item is not None:
                    yield item
            if page.get("newStartPageToken"):
                self._next_cursor = str(page["newStartPageToken"])
                return
            nxt = page.get("nextPageToken")
            token = str(nxt) if nxt else None
            if token in seen:
                raise SourceError("gdrive: changes.list returned a page token twice")
            if token:
                seen.add(token)

    def _split(self, item: Item) -> tuple[str, str]:
        rest = item.uri.removeprefix("gdrive://")
        drive, sep, file_id = rest.partition("/")
        if rest == item.uri or not sep or not file_id or "/" in file_id:
            raise ItemUnreadable(f"{item.uri}: not a gdrive://DRIVE/FILE URI")
        return drive, file_id


def container_denied(exc: SourceError) -> bool:
    """A container-level failure that must not end the scan: the container is gone (404/410)
    or forbidden (403). A refused token (401), an unreachable API or a spent budget still end
    it: every other container would fail the same way."""
    return isinstance(exc, TargetNotFound) or (
        isinstance(exc, AuthError) and " answered HTTP 403" in str(exc)
    )


def _reason(resp: HttpResponse) -> str | None:
    try:
        errors = json.loads(resp.body)["error"]["errors"]
        return str(errors[0]["reason"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None
