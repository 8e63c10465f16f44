"""A fake Notion API following developers.notion.com: ``GET /v1/users/me``, ``POST /v1/search``
(filter, sort by ``last_edited_time``), ``POST /v1/databases/{id}/query`` (``last_edited_time``
timestamp filter), ``GET /v1/blocks/{id}/children``; ``start_cursor`` / ``next_cursor`` /
``has_more`` pagination (page_size at most 100); a required ``Notion-Version`` header; error
bodies ``{"object": "error", "status", "code", "message"}``; 429 ``rate_limited`` with
``Retry-After``; OAuth token refresh at ``/v1/oauth/token`` (Basic client auth, JSON body).

Faults per route name: ``fake.fail["children"] = [429, 502]``.
"""

from __future__ import annotations

import base64
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"object": "error", "status": status, "code": code, "message": message}, status=status
    )


def rich(text: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "text",
            "text": {"content": text, "link": None},
            "annotations": {"bold": False, "code": False},
            "plain_text": text,
            "href": None,
        }
    ]


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass
class FakeNotion:
    base: str = ""
    tokens: set[str] = field(default_factory=lambda: {"ntn_valid"})
    refresh_tokens: set[str] = field(default_factory=set)
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    databases: dict[str, dict[str, Any]] = field(default_factory=dict)
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    restricted: set[str] = field(default_factory=set)  # database ids the bot may not query
    delete_after_search: set[str] = field(default_factory=set)
    fail: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- building ----------------------------------------------------------------------------

    def add_page(
        self,
        pid: str,
        title: str,
        edited: str,
        parent: dict[str, Any] | None = None,
        public: bool = False,
        props: dict[str, Any] | None = None,
    ) -> None:
        self.pages[pid] = {
            "object": "page",
            "id": pid,
            "created_time": "2024-01-01T00:00:00.000Z",
            "last_edited_time": edited,
            "created_by": {"object": "user", "id": "user-1"},
            "last_edited_by": {"object": "user", "id": "user-1"},
            "parent": parent or {"type": "workspace", "workspace": True},
            "archived": False,
            "in_trash": False,
            "properties": {
                "title": {"id": "title", "type": "title", "title": rich(title)},
                **(props or {}),
            },
            "url": f"https://www.notion.so/{title.replace(' ', '-')}-{pid.replace('-', '')}",
            "public_url": f"https://acme.notion.site/{pid}" if public else None,
        }
        self.children.setdefault(pid, [])

    def add_database(self, did: str, title: str, edited: str, public: bool = False) -> None:
        self.databases[did] = {
            "object": "database",
            "id": did,
            "created_time": "2024-01-01T00:00:00.000Z",
            "last_edited_time": edited,
            "created_by": {"object": "user", "id": "user-2"},
            "title": rich(title),
            "parent": {"type": "workspace", "workspace": True},
            "archived": False,
            "in_trash": False,
            "url": f"https://www.notion.so/{did}",
            "public_url": f"https://acme.notion.site/{did}" if public else None,
            "properties": {},
        }

    def add_block(self, parent: str, kind: str, text: str, bid: str | None = None) -> str:
        bid = bid or f"blk-{next(self._ids)}"
        body: dict[str, Any] = {"rich_text": rich(text), "color": "default"}
        if kind == "code":
            body["language"] = "yaml"
        self.children.setdefault(parent, []).append(
            {
                "object": "block",
                "id": bid,
                "type": kind,
                "has_children": False,
                "created_time": "2024-01-01T00:00:00.000Z",
                "last_edited_time": "2024-01-01T00:00:00.000Z",
                kind: body,
            }
        )
        self.children.setdefault(bid, [])
        return bid

    def nest(self, parent_block: str, kind: str, text: str) -> None:
        for blocks in self.children.values():
            for b in blocks:
                if b["id"] == parent_block:
                    b["has_children"] = True
        self.add_block(parent_block, kind, text)

    def called(self, route: str) -> list[dict[str, Any]]:
        return [q for r, q in self.calls if r == route]

    # -- server ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/users/me", self._route("me", self._me))
        app.router.add_post("/v1/search", self._route("search", self._search))
        app.router.add_post("/v1/databases/{id}/query", self._route("query", self._query))
        app.router.add_get("/v1/blocks/{id}/children", self._route("children", self._children))
        app.router.add_post("/v1/oauth/token", self._token)
        return app

    def _route(self, name: str, handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            body = await request.json() if request.can_read_body else {}
            self.calls.append((name, {**request.query, **body}))
            if request.headers.get("Notion-Version") is None:
                return _error(400, "missing_version", "Notion-Version header failed validation")
            if self.fail.get(name):
                status = self.fail[name].pop(0)
                if status == 429:
                    resp = _error(429, "rate_limited", "You have been rate limited.")
                    resp.headers["Retry-After"] = "1"
                    return resp
                return _error(status, "service_unavailable", "Notion is unavailable.")
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in self.tokens:
                return _error(401, "unauthorized", "API token is invalid.")
            result: web.StreamResponse = await handler(request, body)
            return result

        return wrapped

    def _paged(self, rows: list[dict[str, Any]], cursor: str | None, size: int) -> web.Response:
        size = min(size, 100)
        start = int(cursor or 0)
        chunk = rows[start : start + size]
        more = start + size < len(rows)
        return web.json_response(
            {
                "object": "list",
                "results": chunk,
                "next_cursor": str(start + size) if more else None,
                "has_more": more,
                "type": "page_or_database",
            }
        )

    async def _me(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response(
            {
                "object": "user",
                "id": "bot-1",
                "type": "bot",
                "name": "Perimeter",
                "bot": {
                    "owner": {"type": "workspace", "workspace": True},
                    "workspace_name": "Acme",
                },
            }
        )

    async def _search(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        rows = [*self.pages.values(), *self.databases.values()]
        kind = (body.get("filter") or {}).get("value")
        if kind:
            rows = [r for r in rows if r["object"] == kind]
        reverse = (body.get("sort") or {}).get("direction", "descending") == "descending"
        rows.sort(key=lambda r: (_when(r["last_edited_time"]), r["id"]), reverse=reverse)
        size = int(body.get("page_size", 100))
        answer = self._paged(rows, body.get("start_cursor"), size)
        if int(body.get("start_cursor") or 0) + size < len(rows):
            return answer  # deleted only once the whole search was served
        for pid in self.delete_after_search:
            self.pages.pop(pid, None)
            self.children.pop(pid, None)
        return answer

    async def _query(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        did = request.match_info["id"]
        if did not in self.databases or did in self.restricted:
            return _error(
                404,
                "object_not_found",
                f"Could not find database with ID: {did}. Make sure the relevant pages and "
                "databases are shared with your integration.",
            )
        rows = [p for p in self.pages.values() if (p["parent"] or {}).get("database_id") == did]
        flt = body.get("filter") or {}
        after = (flt.get("last_edited_time") or {}).get("on_or_after")
        if flt.get("timestamp") == "last_edited_time" and after:
            rows = [r for r in rows if _when(r["last_edited_time"]) >= _when(after)]
        return self._paged(rows, body.get("start_cursor"), int(body.get("page_size", 100)))

    async def _children(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        bid = request.match_info["id"]
        if bid not in self.children:
            return _error(404, "object_not_found", f"Could not find block with ID: {bid}.")
        return self._paged(
            self.children[bid],
            request.query.get("start_cursor"),
            int(request.query.get("page_size", "100")),
        )

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(("token", body))
        expected = "Basic " + base64.b64encode(b"cid:csecret").decode()
        if request.headers.get("Authorization") != expected:
            return web.json_response({"error": "invalid_client"}, status=401)
        if body.get("grant_type") != "refresh_token":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if body.get("refresh_token") not in self.refresh_tokens:
            return web.json_response({"error": "invalid_grant"}, status=400)
        n = next(self._ids)
        self.tokens.add(f"ntn_fresh_{n}")
        return web.json_response(
            {
                "access_token": f"ntn_fresh_{n}",
                "token_type": "bearer",
                "refresh_token": f"nrt_{n}",
                "bot_id": "bot-1",
                "workspace_name": "Acme",
                "workspace_id": "ws-1",
            }
        )
