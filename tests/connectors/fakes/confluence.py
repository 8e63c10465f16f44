"""A fake Confluence Cloud following the REST API v2 reference: ``/wiki/api/v2/spaces``,
``/spaces/{id}/permissions``, ``/spaces/{id}/pages``, ``/pages/{id}`` (``body-format=storage``),
``/pages/{id}/attachments``; cursor pagination in ``_links.next`` and the ``Link`` header; v2 error
bodies (``{"errors": [{"status", "code", "title"}]}``); HTTP Basic (email + API token) or OAuth
bearer tokens (``/oauth/token`` JSON refresh grant, rotating refresh tokens, and
``/oauth/token/accessible-resources``); attachment downloads redirected to a media host.

Faults per route name: ``fake.fail["pages"] = [429, 503]``.
"""

from __future__ import annotations

import base64
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BASIC = "Basic " + base64.b64encode(b"bot@acme.example:api-token").decode()


def _v2_error(status: int, code: str, title: str) -> web.Response:
    return web.json_response(
        {"errors": [{"status": status, "code": code, "title": title, "detail": None}]},
        status=status,
    )


@dataclass
class FakeConfluence:
    base: str = ""
    media_base: str = ""
    spaces: list[dict[str, Any]] = field(default_factory=list)
    permissions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> page (with body)
    attachments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # page -> atts
    contents: dict[str, bytes] = field(default_factory=dict)  # attachment id -> bytes
    forbidden_spaces: set[str] = field(default_factory=set)
    delete_on_read: set[str] = field(default_factory=set)  # page ids gone once listed
    tokens: set[str] = field(default_factory=lambda: {BASIC})
    refresh_tokens: set[str] = field(default_factory=set)
    scopes: list[str] = field(
        default_factory=lambda: ["read:space:confluence", "read:page:confluence"]
    )
    fail: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    downloads: list[tuple[str, str | None]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- building ----------------------------------------------------------------------------

    def add_space(
        self, sid: str, key: str, name: str, kind: str = "global", anonymous: bool = False
    ) -> None:
        self.spaces.append(
            {
                "id": sid,
                "key": key,
                "name": name,
                "type": kind,
                "status": "current",
                "authorId": "acc-1",
                "createdAt": "2024-01-01T00:00:00.000Z",
                "homepageId": None,
                "_links": {"webui": f"/spaces/{key}"},
            }
        )
        perms = [
            {
                "id": f"p{sid}1",
                "principal": {"type": "group", "id": "grp-users"},
                "operation": {"key": "read", "targetType": "space"},
            },
            {
                "id": f"p{sid}2",
                "principal": {"type": "user", "id": "acc-1"},
                "operation": {"key": "administer", "targetType": "space"},
            },
        ]
        if anonymous:
            perms.append(
                {
                    "id": f"p{sid}3",
                    "principal": {"type": "access_class", "id": "anonymous-users"},
                    "operation": {"key": "read", "targetType": "space"},
                }
            )
        self.permissions[sid] = perms

    def add_page(self, pid: str, sid: str, title: str, storage: str, modified: str) -> None:
        key = next(s["key"] for s in self.spaces if s["id"] == sid)
        self.pages[pid] = {
            "id": pid,
            "status": "current",
            "title": title,
            "spaceId": sid,
            "parentId": None,
            "authorId": "acc-1",
            "ownerId": "acc-1",
            "createdAt": "2024-01-02T00:00:00.000Z",
            "version": {"number": 1, "createdAt": modified, "authorId": "acc-1", "message": ""},
            "body": {"storage": {"value": storage, "representation": "storage"}},
            "_links": {"webui": f"/spaces/{key}/pages/{pid}/{title.replace(' ', '+')}"},
        }

    def add_attachment(self, aid: str, pid: str, title: str, content: bytes) -> None:
        self.contents[aid] = content
        self.attachments.setdefault(pid, []).append(
            {
                "id": aid,
                "status": "current",
                "title": title,
                "createdAt": "2024-01-03T00:00:00.000Z",
                "pageId": pid,
                "mediaType": "text/plain",
                "fileSize": len(content),
                "fileId": f"file-{aid}",
                "webuiLink": f"/pages/viewpageattachments.action?pageId={pid}",
                "downloadLink": f"/download/attachments/{pid}/{title}?version=1&api=v2",
                "version": {"number": 1, "createdAt": "2024-01-03T00:00:00.000Z"},
                "_links": {"download": f"/download/attachments/{pid}/{title}"},
            }
        )

    def called(self, route: str) -> list[dict[str, str]]:
        return [q for r, q in self.calls if r == route]

    # -- server ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        v2 = "/wiki/api/v2"
        add = app.router.add_get
        add(v2 + "/spaces", self._route("spaces", self._spaces))
        add(v2 + "/spaces/{id}/permissions", self._route("permissions", self._permissions))
        add(v2 + "/spaces/{id}/pages", self._route("pages", self._space_pages))
        add(v2 + "/pages/{id}", self._route("page", self._page))
        add(v2 + "/pages/{id}/attachments", self._route("attachments", self._attachments))
        add("/wiki/rest/api/user/current", self._route("user", self._user))
        add("/wiki/download/attachments/{pid}/{name}", self._route("download", self._download))
        add("/oauth/token/accessible-resources", self._route("resources", self._resources))
        app.router.add_post("/oauth/token", self._token)
        return app

    def media_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/file/{aid}", self._media)
        return app

    def _route(self, name: str, handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            self.calls.append((name, dict(request.query)))
            if self.fail.get(name):
                status = self.fail[name].pop(0)
                if status == 429:
                    return web.json_response(
                        {"errors": [{"status": 429, "code": "TOO_MANY_REQUESTS"}]},
                        status=429,
                        headers={"Retry-After": "1"},
                    )
                return _v2_error(status, "INTERNAL_SERVER_ERROR", "Internal Server Error")
            auth = request.headers.get("Authorization")
            if auth not in self.tokens:
                return web.json_response(
                    {"code": 401, "message": "Unauthorized; scope does not match"}, status=401
                )
            result: web.StreamResponse = await handler(request)
            return result

        return wrapped

    def _paged(self, request: web.Request, rows: list[dict[str, Any]]) -> web.Response:
        limit = int(request.query.get("limit", "25"))
        start = int(request.query.get("cursor") or 0)
        chunk = rows[start : start + limit]
        body: dict[str, Any] = {"results": chunk, "_links": {"base": self.base + "/wiki"}}
        headers = {}
        if start + limit < len(rows):
            nxt = f"{request.path}?cursor={start + limit}&limit={limit}"
            body["_links"]["next"] = nxt
            headers["Link"] = f'<{nxt}>; rel="next"'
        return web.json_response(body, headers=headers)

    async def _spaces(self, request: web.Request) -> web.Response:
        return self._paged(request, self.spaces)

    async def _permissions(self, request: web.Request) -> web.Response:
        sid = request.match_info["id"]
        if sid not in self.permissions:
            return _v2_error(404, "NOT_FOUND", "Not Found")
        return self._paged(request, self.permissions[sid])

    async def _space_pages(self, request: web.Request) -> web.Response:
        sid = request.match_info["id"]
        if sid in self.forbidden_spaces:
            return _v2_error(403, "FORBIDDEN", "Forbidden")
        rows = [
            {k: v for k, v in p.items() if k != "body"}
            for p in self.pages.values()
            if p["spaceId"] == sid
        ]
        answer = self._paged(request, rows)
        start, limit = int(request.query.get("cursor") or 0), int(request.query.get("limit", "25"))
        for p in rows[start : start + limit]:  # gone right after it was listed
            if p["id"] in self.delete_on_read:
                self.pages.pop(p["id"], None)
        return answer

    async def _page(self, request: web.Request) -> web.Response:
        page = self.pages.get(request.match_info["id"])
        if page is None:
            return _v2_error(404, "NOT_FOUND", "Not Found")
        if request.query.get("body-format") != "storage":
            page = {k: v for k, v in page.items() if k != "body"}
        return web.json_response(page)

    async def _attachments(self, request: web.Request) -> web.Response:
        pid = request.match_info["id"]
        if pid not in self.pages:
            return _v2_error(404, "NOT_FOUND", "Not Found")
        return self._paged(request, self.attachments.get(pid, []))

    async def _user(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"type": "known", "accountId": "acc-bot", "displayName": "Perimeter Scanner"}
        )

    async def _resources(self, request: web.Request) -> web.Response:
        return web.json_response(
            [{"id": "cloud-1", "url": self.base, "name": "acme", "scopes": self.scopes}]
        )

    async def _download(self, request: web.Request) -> web.StreamResponse:
        self.downloads.append((request.path, request.headers.get("Authorization")))
        pid, name = request.match_info["pid"], request.match_info["name"]
        att = next((a for a in self.attachments.get(pid, []) if a["title"] == name), None)
        if att is None:
            return _v2_error(404, "NOT_FOUND", "Not Found")
        raise web.HTTPFound(f"{self.media_base}/file/{att['id']}?token=short-lived")

    async def _media(self, request: web.Request) -> web.Response:
        self.downloads.append((request.path, request.headers.get("Authorization")))
        return web.Response(body=self.contents[request.match_info["aid"]])

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(("token", {k: str(v) for k, v in body.items()}))
        if body.get("grant_type") != "refresh_token" or (
            body.get("client_id"),
            body.get("client_secret"),
        ) != ("cid", "csecret"):
            return web.json_response({"error": "invalid_client"}, status=401)
        if body.get("refresh_token") not in self.refresh_tokens:
            return web.json_response(
                {"error": "unauthorized_client", "error_description": "refresh_token is invalid"},
                status=403,
            )
        n = next(self._ids)
        self.refresh_tokens = {f"rt-{n}"}  # rotating: the old one stops working
        token = f"at-{n}"
        self.tokens.add(f"Bearer {token}")
        return web.json_response(
            {
                "access_token": token,
                "refresh_token": f"rt-{n}",
                "expires_in": 3600,
                "scope": " ".join(self.scopes),
                "token_type": "Bearer",
            }
        )
