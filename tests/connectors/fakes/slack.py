"""A fake Slack Web API following docs.slack.dev: POST/GET ``/api/<method>`` with a bearer token,
``{"ok": ...}`` bodies (errors are HTTP 200 with ``"ok": false``), cursor pagination in
``response_metadata.next_cursor``, page/count paging for ``files.list``, ``X-OAuth-Scopes``
headers, HTTP 429 + ``Retry-After`` rate limiting, token rotation through ``oauth.v2.access``
(``token_expired`` for a rotated-out token), and private file downloads that need the token.

Faults are injected per method: ``fake.fail["conversations.history"] = [429, 503]`` answers the
next calls with those statuses before serving normally.
"""

from __future__ import annotations

import base64
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SCOPES = "channels:read,channels:history,groups:read,groups:history,files:read"


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.b64decode(cursor).decode().partition(":")
        if kind != "offset":
            raise ValueError(cursor)
        return int(value)
    except ValueError as exc:
        raise web.HTTPOk(text='{"ok": false, "error": "invalid_cursor"}') from exc


@dataclass
class FakeSlack:
    """State of one fake workspace. ``base`` (the URL it runs at) is set by the test."""

    team_id: str = "T0"
    team: str = "Acme"
    tokens: set[str] = field(default_factory=lambda: {"xoxb-valid"})
    expired: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    client: tuple[str, str] = ("cid", "csecret")
    scopes: str = SCOPES
    channels: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # oldest first
    replies: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict)
    not_in_channel: set[str] = field(default_factory=set)
    delete_after_listing: set[str] = field(default_factory=set)
    fail: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    retry_after: str = "1"
    max_limit: int = 1000
    base: str = ""
    download_base: str | None = None  # a second host the downloads redirect to
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    downloads: list[tuple[str, str | None]] = field(default_factory=list)
    _issued: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- building the workspace -------------------------------------------------------------

    def add_channel(self, cid: str, name: str, **flags: Any) -> None:
        self.channels.append(
            {
                "id": cid,
                "name": name,
                "is_channel": not flags.get("is_im") and not flags.get("is_mpim"),
                "is_group": False,
                "is_im": False,
                "is_mpim": False,
                "is_private": False,
                "is_archived": False,
                "is_shared": False,
                "is_ext_shared": False,
                "is_org_shared": False,
                "is_pending_ext_shared": False,
                "created": 1690000000,
                "creator": "U1",
                **flags,
            }
        )
        self.messages.setdefault(cid, [])

    def post(self, cid: str, ts: str, text: str, user: str = "U1", **extra: Any) -> None:
        self.messages[cid].append(
            {"type": "message", "user": user, "text": text, "ts": ts, **extra}
        )

    def reply(self, cid: str, thread_ts: str, ts: str, text: str) -> None:
        parent = next(m for m in self.messages[cid] if m["ts"] == thread_ts)
        thread = self.replies.setdefault((cid, thread_ts), [])
        thread.append(
            {"type": "message", "user": "U2", "text": text, "ts": ts, "thread_ts": thread_ts}
        )
        parent.update(thread_ts=thread_ts, reply_count=len(thread), latest_reply=ts)

    def add_file(self, fid: str, name: str, content: bytes, created: int, **extra: Any) -> None:
        self.contents[fid] = content
        self.files.append(
            {
                "id": fid,
                "created": created,
                "timestamp": created,
                "name": name,
                "title": name,
                "mimetype": "text/plain",
                "filetype": "text",
                "user": "U1",
                "size": len(content),
                "is_external": False,
                "is_public": True,
                "public_url_shared": False,
                "channels": [],
                "groups": [],
                "ims": [],
                **extra,
            }
        )

    def called(self, method: str) -> list[dict[str, str]]:
        return [params for m, params in self.calls if m == method]

    # -- the server -------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/files-pri/{name}", self._download)
        return app

    def download_app(self) -> web.Application:
        """The second host: serves what ``/files-pri`` redirects to, logs Authorization."""
        app = web.Application()
        app.router.add_get("/dl/{fid}", self._cdn)
        return app

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        self.calls.append((method, params))
        headers = {"X-OAuth-Scopes": self.scopes, "X-Accepted-OAuth-Scopes": ""}
        if self.fail.get(method):
            status = self.fail[method].pop(0)
            if status == 429:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": self.retry_after},
                )
            return web.Response(status=status, text="upstream failure")
        if method == "oauth.v2.access":
            return web.json_response(self._rotate(params))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.expired:
            return web.json_response({"ok": False, "error": "token_expired"}, headers=headers)
        if token not in self.tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"}, headers=headers)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, headers=headers)
        try:
            body = handler(params)
        except web.HTTPOk as answer:  # invalid_cursor and friends
            return web.Response(text=answer.text, content_type="application/json")
        return web.json_response(body, headers=headers)

    def _rotate(self, params: dict[str, str]) -> dict[str, Any]:
        if (params.get("client_id"), params.get("client_secret")) != self.client:
            return {"ok": False, "error": "invalid_client_id"}
        if params.get("grant_type") != "refresh_token":
            return {"ok": False, "error": "invalid_grant_type"}
        if params.get("refresh_token") not in self.refresh_tokens:
            return {"ok": False, "error": "invalid_refresh_token"}
        n = next(self._issued)
        token = f"xoxe.xoxb-rotated-{n}"
        self.tokens.add(token)
        self.refresh_tokens.add(f"xoxe-1-next-{n}")
        return {
            "ok": True,
            "access_token": token,
            "expires_in": 43200,
            "refresh_token": f"xoxe-1-next-{n}",
            "token_type": "bot",
            "scope": self.scopes,
        }

    def _page(self, rows: list[Any], params: dict[str, str], key: str) -> dict[str, Any]:
        limit = min(int(params.get("limit") or 100), self.max_limit)
        start = _offset(params.get("cursor"))
        chunk = rows[start : start + limit]
        more = start + limit < len(rows)
        return {
            "ok": True,
            key: chunk,
            "has_more": more,
            "response_metadata": {"next_cursor": _cursor(start + limit) if more else ""},
        }

    def _auth_test(self, params: dict[str, str]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"{self.base}/workspace/",
            "team": self.team,
            "user": "perimeter",
            "team_id": self.team_id,
            "user_id": "U0BOT",
            "bot_id": "B0BOT",
        }

    def _conversations_list(self, params: dict[str, str]) -> dict[str, Any]:
        types = set((params.get("types") or "public_channel").split(","))
        rows = []
        for ch in self.channels:
            kind = (
                "im"
                if ch["is_im"]
                else "mpim"
                if ch["is_mpim"]
                else "private_channel"
                if ch["is_private"]
                else "public_channel"
            )
            if kind in types and not (
                ch["is_archived"] and params.get("exclude_archived") == "true"
            ):
                rows.append(ch)
        return self._page(rows, params, "channels")

    def _conversations_history(self, params: dict[str, str]) -> dict[str, Any]:
        cid = params.get("channel", "")
        if cid not in self.messages:
            return {"ok": False, "error": "channel_not_found"}
        if cid in self.not_in_channel:
            return {"ok": False, "error": "not_in_channel"}
        oldest = float(params.get("oldest") or 0)
        rows = [m for m in reversed(self.messages[cid]) if float(m["ts"]) > oldest]
        return self._page(rows, params, "messages")

    def _conversations_replies(self, params: dict[str, str]) -> dict[str, Any]:
        cid, ts = params.get("channel", ""), params.get("ts", "")
        parent = next((m for m in self.messages.get(cid, []) if m["ts"] == ts), None)
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        return self._page([parent, *self.replies.get((cid, ts), [])], params, "messages")

    def _files_list(self, params: dict[str, str]) -> dict[str, Any]:
        ts_from = int(params.get("ts_from") or 0)
        rows = [f for f in self.files if f["created"] >= ts_from]
        count = int(params.get("count") or 100)
        page = int(params.get("page") or 1)
        pages = max(1, -(-len(rows) // count))
        chunk = [self._public(f) for f in rows[(page - 1) * count : page * count]]
        if page >= pages:  # the listing is complete: now the file goes away
            self.files = [f for f in self.files if f["id"] not in self.delete_after_listing]
        return {
            "ok": True,
            "files": chunk,
            "paging": {"count": count, "total": len(rows), "page": page, "pages": pages},
        }

    def _files_info(self, params: dict[str, str]) -> dict[str, Any]:
        f = next((f for f in self.files if f["id"] == params.get("file")), None)
        if f is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": self._public(f)}

    def _public(self, f: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base}/files-pri/{self.team_id}-{f['id']}"
        return {
            **f,
            "url_private": url,
            "url_private_download": url,
            "permalink": f"{self.base}/workspace/files/{f['user']}/{f['id']}/{f['name']}",
        }

    async def _download(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        fid = request.match_info["name"].partition("-")[2]
        self.downloads.append((request.path, request.headers.get("Authorization")))
        if token not in self.tokens:
            # Slack serves its sign-in page, not a 403, to an unauthorised download.
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        if fid not in self.contents:
            return web.Response(status=404, text="not found")
        if self.download_base:
            raise web.HTTPFound(f"{self.download_base}/dl/{fid}?sig=one-time")
        return web.Response(body=self.contents[fid], content_type="application/octet-stream")

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        fid = request.match_info["fid"]
        self.downloads.append((request.path, request.headers.get("Authorization")))
        return web.Response(body=self.contents[fid], content_type="application/octet-stream")
