"""A fake Microsoft Graph (v1.0) and identity platform token endpoint (aiohttp), for the m365
connector.

Follows the documented shapes: ``POST /{tenant}/oauth2/v2.0/token`` (client-credentials grant,
verified client secret and ``{graph}/.default`` scope, AADSTS-style errors); collections as
``{"value": [...], "@odata.nextLink": ...}``; ``/sites?search=*``, ``/sites/{id}/drives``,
``/users/{id}/drive``, ``/drives/{id}``; ``/drives/{id}/root/delta`` with ``@odata.nextLink``
pages, a final ``@odata.deltaLink``, ``deleted`` facets and 410 ``resyncRequired`` for an
expired token; ``/items/{id}/permissions``; ``/items/{id}/content`` answering 302 to a
pre-authenticated URL on a second loopback host (127.0.0.2) that rejects any request carrying an
Authorization header. Errors are ``{"error": {"code", "message", "innerError"}}``; 429 and 503
carry Retry-After.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ._drive_common import Fault, Faults, Logged, LoopbackSite, Tokens, log_middleware

GRAPH_PREFIX = "/v1.0/"


@dataclass
class FakeItem:
    id: str
    name: str
    content: bytes = b""
    parent: str | None = None  # parent folder id; None: the drive root
    folder: bool = False
    mime_type: str = "text/plain"
    created_by: str = "adele@contoso.com"
    permissions: list[dict[str, Any]] = field(default_factory=list)
    created: str = "2026-01-10T08:00:00Z"
    modified: str = "2026-02-11T12:00:00Z"
    version: int = 1


@dataclass
class FakeDriveState:
    id: str
    name: str
    drive_type: str  # documentLibrary, business
    owner: str
    items: dict[str, FakeItem] = field(default_factory=dict)


def graph_error(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": "2026-03-01T00:00:00", "request-id": secrets.token_hex(8)},
        }
    }


def throttled(status: int = 429, retry_after: str = "1") -> Fault:
    """Graph throttling: 429 (or 503) with Retry-After."""
    code = "TooManyRequests" if status == 429 else "serviceNotAvailable"
    return Fault(status, graph_error(code, "Please retry after"), {"Retry-After": retry_after})


def server_error(status: int = 500) -> Fault:
    return Fault(status, graph_error("generalException", "An unexpected error occurred."))


def link(scope: str, kind: str = "view") -> dict[str, Any]:
    """A sharing-link permission (scope: anonymous, organization, users)."""
    return {
        "id": f"link-{scope}-{secrets.token_hex(3)}",
        "roles": ["read" if kind == "view" else "write"],
        "link": {"scope": scope, "type": kind, "webUrl": "https://contoso.test/s/abc"},
    }


def grant(email: str, login: str | None = None, invited: bool = False) -> dict[str, Any]:
    """A direct grant to a person (optionally via an invitation, optionally a guest login)."""
    user: dict[str, Any] = {"displayName": email.split("@")[0], "email": email, "id": email}
    if login:
        user["loginName"] = login
    perm: dict[str, Any] = {
        "id": f"grant-{email}",
        "roles": ["read"],
        "grantedToV2": {"siteUser" if login else "user": user},
    }
    if invited:
        perm["invitation"] = {"email": email, "signInRequired": True}
    return perm


def _fail(status: int, code: str, message: str) -> web.HTTPException:
    cls = {
        400: web.HTTPBadRequest,
        401: web.HTTPUnauthorized,
        403: web.HTTPForbidden,
        410: web.HTTPGone,
    }.get(status, web.HTTPNotFound)
    return cls(text=json.dumps(graph_error(code, message)), content_type="application/json")


class FakeGraph:
    """State and routes of the fake; ``await fake.start()`` sets ``url`` and ``download_url``."""

    def __init__(self, tenant: str = "contoso-tenant") -> None:
        self.tenant = tenant
        self.clients: dict[str, str] = {}  # client id -> secret
        self.roles = ["Files.Read.All", "Sites.Read.All"]
        self.token_lifetime = 3599
        self.sites: dict[str, tuple[str, list[str]]] = {}  # id -> (name, drive ids)
        self.forbidden_sites: set[str] = set()
        self.user_drives: dict[str, str] = {}  # user -> drive id
        self.drives: dict[str, FakeDriveState] = {}
        self.changes: list[tuple[int, str, str]] = []  # (seq, drive id, item id)
        self.expired_before = 0  # delta tokens older than this seq answer 410
        self._seq = itertools.count(1)
        self.log: list[Logged] = []
        self.download_log: list[Logged] = []
        self.faults = Faults()
        self.tokens = Tokens()
        self.token_requests = 0
        self._tempauth: dict[str, tuple[str, str]] = {}
        app = web.Application(middlewares=[log_middleware(self.log, self.faults, GRAPH_PREFIX)])
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_get("/v1.0/sites", self._sites)
        app.router.add_get("/v1.0/sites/{site}/drives", self._site_drives)
        app.router.add_get("/v1.0/users/{user}/drive", self._user_drive)
        app.router.add_get("/v1.0/drives/{drive}", self._drive_get)
        app.router.add_get("/v1.0/drives/{drive}/root/delta", self._delta)
        app.router.add_get("/v1.0/drives/{drive}/items/{item}", self._item_get)
        app.router.add_get("/v1.0/drives/{drive}/items/{item}/permissions", self._permissions)
        app.router.add_get("/v1.0/drives/{drive}/items/{item}/content", self._content)
        self._site = LoopbackSite(app)
        downloads = web.Application(
            middlewares=[log_middleware(self.download_log, Faults(), "/download/")]
        )
        downloads.router.add_get("/download/{key}", self._download)
        self._downloads = LoopbackSite(downloads, host="127.0.0.2")
        self.url = ""
        self.download_url = ""

    async def start(self) -> FakeGraph:
        self.url = await self._site.start()
        self.download_url = await self._downloads.start()
        return self

    async def stop(self) -> None:
        await self._downloads.stop()
        await self._site.stop()

    # -- set-up -----------------------------------------------------------------------------

    def add_drive(
        self, drive_id: str, name: str, *, site: str | None = None, user: str | None = None
    ) -> FakeDriveState:
        kind = "business" if user else "documentLibrary"
        drive = FakeDriveState(drive_id, name, kind, user or f"{name} Owners")
        self.drives[drive_id] = drive
        if site is not None:
            self.sites.setdefault(site, (site.split(",")[1], []))[1].append(drive_id)
        if user is not None:
            self.user_drives[user] = drive_id
        return drive

    def put(self, drive_id: str, item: FakeItem) -> FakeItem:
        drive = self.drives[drive_id]
        if item.id in drive.items:
            item.version = drive.items[item.id].version + 1
        drive.items[item.id] = item
        self.changes.append((next(self._seq), drive_id, item.id))
        return item

    def delete(self, drive_id: str, item_id: str) -> None:
        del self.drives[drive_id].items[item_id]
        self.changes.append((next(self._seq), drive_id, item_id))

    def requests_to(self, suffix: str) -> list[Logged]:
        return [r for r in self.log if r.path.endswith(suffix)]

    def content_reads(self) -> list[str]:
        return [r.path.split("/")[5] for r in self.requests_to("/content")]

    # -- identity platform --------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        if request.match_info["tenant"] != self.tenant:
            return _aad_error(400, "invalid_request", "AADSTS90002: Tenant not found.", 90002)
        if form.get("grant_type") != "client_credentials":
            return _aad_error(
                400, "unsupported_grant_type", "AADSTS70003: unsupported grant type", 70003
            )
        client_id = str(form.get("client_id", ""))
        if client_id not in self.clients:
            return _aad_error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application {client_id} not found",
                700016,
            )
        if form.get("client_secret") != self.clients[client_id]:
            return _aad_error(
                401, "invalid_client", "AADSTS7000215: Invalid client secret provided.", 7000215
            )
        if form.get("scope") != f"{self.url}/.default":
            return _aad_error(
                400,
                "invalid_scope",
                "AADSTS1002012: The provided value for scope is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the resource "
                "identifier.",
                1002012,
            )
        claims = {"aud": self.url, "tid": self.tenant, "appid": client_id, "roles": self.roles}
        body = ".".join(
            _b64(part)
            for part in (
                json.dumps({"typ": "JWT", "alg": "RS256"}).encode(),
                json.dumps(claims).encode(),
                secrets.token_bytes(32),
            )
        )
        token = self.tokens.issue(client_id, body)
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": token,
            }
        )

    def _authorize(self, request: web.Request) -> None:
        if self.tokens.principal(request.headers.get("Authorization")) is None:
            raise _fail(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )

    # -- Graph --------------------------------------------------------------------------------

    def _collection(
        self, request: web.Request, values: list[dict[str, Any]], default_top: int = 200
    ) -> web.Response:
        top = int(request.query.get("$top", default_top))
        skip = int(request.query.get("$skiptoken", "0"))
        chunk = values[skip : skip + top]
        body: dict[str, Any] = {"value": chunk}
        if skip + top < len(values):
            query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = str(skip + top)
            body["@odata.nextLink"] = str(request.url.with_query(query))
        return web.json_response(body)

    async def _sites(self, request: web.Request) -> web.Response:
        self._authorize(request)
        if request.query.get("search") is None:
            raise _fail(400, "invalidRequest", "Missing search parameter")
        sites = [
            {
                "id": sid,
                "name": name,
                "displayName": name,
                "webUrl": f"https://contoso.test/sites/{name}",
            }
            for sid, (name, _) in sorted(self.sites.items())
        ]
        return self._collection(request, sites)

    async def _site_drives(self, request: web.Request) -> web.Response:
        self._authorize(request)
        site = request.match_info["site"]
        if site in self.forbidden_sites:
            raise _fail(403, "accessDenied", "Access denied")
        if site not in self.sites:
            raise _fail(404, "itemNotFound", "Requested site could not be found")
        return self._collection(request, [self._drive(d) for d in self.sites[site][1]])

    async def _user_drive(self, request: web.Request) -> web.Response:
        self._authorize(request)
        drive_id = self.user_drives.get(request.match_info["user"])
        if drive_id is None:
            raise _fail(404, "itemNotFound", "User's mysite not found.")
        return web.json_response(self._drive(drive_id))

    async def _drive_get(self, request: web.Request) -> web.Response:
        self._authorize(request)
        drive_id = request.match_info["drive"]
        if drive_id not in self.drives:
            raise _fail(404, "itemNotFound", "The resource could not be found.")
        return web.json_response(self._drive(drive_id))

    def _drive(self, drive_id: str) -> dict[str, Any]:
        d = self.drives[drive_id]
        owner = (
            {"user": {"displayName": d.owner.split("@")[0], "email": d.owner}}
            if "@" in d.owner
            else {"group": {"displayName": d.owner}}
        )
        return {
            "id": d.id,
            "name": d.name,
            "driveType": d.drive_type,
            "webUrl": f"https://contoso.test/{d.id}",
            "owner": owner,
        }

    def _resource(self, drive: FakeDriveState, item: FakeItem) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": item.id,
            "name": item.name,
            "createdDateTime": item.created,
            "lastModifiedDateTime": item.modified,
            "eTag": f'"{{{item.id}}},{item.version}"',
            "cTag": f'"c:{{{item.id}}},{item.version}"',
            "webUrl": f"https://contoso.test/{drive.id}/{item.name}",
            "createdBy": {
                "user": {"displayName": item.created_by.split("@")[0], "email": item.created_by}
            },
            "parentReference": {
                "driveId": drive.id,
                "driveType": drive.drive_type,
                "id": item.parent or f"root-{drive.id}",
            },
        }
        if item.folder:
            data["folder"] = {
                "childCount": sum(1 for i in drive.items.values() if i.parent == item.id)
            }
            data["size"] = 0
        else:
            data["file"] = {"mimeType": item.mime_type, "hashes": {"quickXorHash": "AAAA"}}
            data["size"] = len(item.content)
        return data

    def _root(self, drive: FakeDriveState) -> dict[str, Any]:
        return {
            "id": f"root-{drive.id}",
            "name": "root",
            "root": {},
            "folder": {"childCount": 0},
            "parentReference": {"driveId": drive.id, "driveType": drive.drive_type},
        }

    def _known_drive(self, request: web.Request) -> FakeDriveState:
        self._authorize(request)
        drive = self.drives.get(request.match_info["drive"])
        if drive is None:
            raise _fail(404, "itemNotFound", "The resource could not be found.")
        return drive

    async def _delta(self, request: web.Request) -> web.Response:
        drive = self._known_drive(request)
        q = request.query
        # $skiptoken = "<since>:<offset>"; token (from a deltaLink) = "<since>".
        since, offset = 0, 0
        if "$skiptoken" in q:
            since_text, _, offset_text = q["$skiptoken"].partition(":")
            since, offset = int(since_text), int(offset_text)
        elif "token" in q:
            since = int(q["token"])
            if since < self.expired_before:
                raise _fail(
                    410,
                    "resyncRequired",
                    "Resync required. Replace any local items with the server's version.",
                )
        entries: list[dict[str, Any]]
        if since == 0:
            entries = [self._root(drive)] + [
                self._resource(drive, i)
                for i in sorted(drive.items.values(), key=_depth_then_id(drive))
            ]
        else:
            latest = {c[2]: c[0] for c in self.changes if c[1] == drive.id and c[0] >= since}
            entries = []
            for item_id, _ in sorted(latest.items(), key=lambda kv: kv[1]):
                item = drive.items.get(item_id)
                if item is None:
                    entries.append(
                        {
                            "id": item_id,
                            "deleted": {"state": "deleted"},
                            "parentReference": {"driveId": drive.id},
                        }
                    )
                else:
                    entries.append(self._resource(drive, item))
        top = int(q.get("$top", 200))
        chunk = entries[offset : offset + top]
        body: dict[str, Any] = {
            "@odata.context": f"{self.url}/v1.0/$metadata#Collection(driveItem)",
            "value": chunk,
        }
        base = request.url.with_query({})
        if offset + top < len(entries):
            body["@odata.nextLink"] = str(
                base.with_query({"$top": str(top), "$skiptoken": f"{since}:{offset + top}"})
            )
        else:
            last = max((c[0] for c in self.changes), default=0)
            body["@odata.deltaLink"] = str(base.with_query({"token": str(last + 1)}))
        return web.json_response(body)

    def _known_item(self, request: web.Request) -> tuple[FakeDriveState, FakeItem]:
        drive = self._known_drive(request)
        item = drive.items.get(request.match_info["item"])
        if item is None:
            raise _fail(404, "itemNotFound", "The resource could not be found.")
        return drive, item

    async def _item_get(self, request: web.Request) -> web.Response:
        drive = self._known_drive(request)
        if request.match_info["item"] == f"root-{drive.id}":
            return web.json_response(self._root(drive))
        drive, item = self._known_item(request)
        return web.json_response(self._resource(drive, item))

    async def _permissions(self, request: web.Request) -> web.Response:
        _, item = self._known_item(request)
        return self._collection(request, item.permissions, default_top=100)

    async def _content(self, request: web.Request) -> web.Response:
        drive, item = self._known_item(request)
        if item.folder:
            raise _fail(400, "invalidRequest", "Cannot download a folder")
        key = secrets.token_urlsafe(16)
        self._tempauth[key] = (drive.id, item.id)
        raise web.HTTPFound(
            f"{self.download_url}/download/{key}?tempauth={secrets.token_urlsafe(8)}"
        )

    async def _download(self, request: web.Request) -> web.Response:
        if "Authorization" in request.headers:
            # Pre-authenticated URLs must not be sent a bearer token (it would leak to a CDN).
            raise _fail(401, "unauthenticated", "Authorization header not allowed on download URLs")
        target = self._tempauth.get(request.match_info["key"])
        if target is None:
            raise _fail(401, "unauthenticated", "Invalid tempauth")
        item = self.drives[target[0]].items.get(target[1])
        if item is None:
            raise _fail(404, "itemNotFound", "The resource could not be found.")
        return web.Response(body=item.content, content_type="application/octet-stream")


def _depth_then_id(drive: FakeDriveState) -> Any:
    """Delta lists a parent before its children."""

    def key(item: FakeItem) -> tuple[int, str]:
        depth, parent = 0, item.parent
        while parent is not None and parent in drive.items and depth < 50:
            depth += 1
            parent = drive.items[parent].parent
        return depth, item.id

    return key


def _aad_error(status: int, error: str, description: str, code: int) -> web.Response:
    return web.json_response(
        {
            "error": error,
            "error_description": f"{description}\r\nTrace ID: {secrets.token_hex(8)}",
            "error_codes": [code],
            "timestamp": "2026-03-01 00:00:00Z",
        },
        status=status,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
