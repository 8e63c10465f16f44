"""A fake Google Drive API v3 and OAuth token endpoint (aiohttp), for the gdrive connector.

Follows the documented shapes: ``files.list`` with ``pageToken``/``nextPageToken``, ``corpora``,
``driveId``, ``includeItemsFromAllDrives``/``supportsAllDrives`` and a ``fields`` selector
(partial responses); ``drives.list``; ``files.get?alt=media``; ``files.export``;
``permissions.list`` (``permissions`` is not populated by files.list for shared-drive items);
``changes.getStartPageToken`` and ``changes.list`` (``newStartPageToken`` on the last page);
errors as ``{"error": {"code", "message", "errors": [{"domain", "reason", ...}], "status"}}``.
The token endpoint verifies the JWT bearer assertion's RS256 signature against the service
account's public key, its audience, lifetime, scopes (domain-wide delegation) and subject.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ._drive_common import Fault, Faults, Logged, LoopbackSite, Tokens, log_middleware

FOLDER = "application/vnd.google-apps.folder"
DOC = "application/vnd.google-apps.document"
SHEET = "application/vnd.google-apps.spreadsheet"
SLIDES = "application/vnd.google-apps.presentation"
_EXPORTS = {
    DOC: {"text/plain", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    SHEET: {"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    SLIDES: {
        "text/plain",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    },
}
_FILE_DEFAULT_FIELDS = "kind,id,name,mimeType"


def new_service_account(
    email: str = "scanner@perimeter-test.iam.gserviceaccount.com",
) -> dict[str, Any]:
    """A fresh service account key (JSON key file shape) with a new 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "perimeter-test",
        "private_key_id": "k"
        + base64.b16encode(key.public_key().public_numbers().n.to_bytes(256)).decode()[:16].lower(),
        "private_key": pem,
        "client_email": email,
        "client_id": "1234567890",
    }


@dataclass
class FakeFile:
    id: str
    name: str
    mime_type: str
    content: bytes = b""
    drive_id: str | None = None  # None: My Drive
    parents: list[str] = field(default_factory=list)
    owner: str = "alice@example.com"
    permissions: list[dict[str, Any]] = field(default_factory=list)
    created: str = "2026-01-05T10:00:00.000Z"
    modified: str = "2026-02-01T09:30:00.000Z"
    version: int = 1
    trashed: bool = False

    def resource(self, base_url: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": self.parents,
            "createdTime": self.created,
            "modifiedTime": self.modified,
            "version": str(self.version),
            "trashed": self.trashed,
            "webViewLink": f"https://docs.example.test/{self.id}/view",
            "permissionIds": [p["id"] for p in self.permissions],
        }
        if self.drive_id:
            data["driveId"] = self.drive_id
        else:
            # Shared-drive files have no owners and list no permissions (documented).
            data["owners"] = [
                {
                    "kind": "drive#user",
                    "displayName": self.owner.split("@")[0].title(),
                    "emailAddress": self.owner,
                }
            ]
            data["permissions"] = self.permissions
        if not self.mime_type.startswith("application/vnd.google-apps."):
            data["size"] = str(len(self.content))
            data["md5Checksum"] = f"{hash(self.content) & 0xFFFFFFFF:08x}"
        return data


def perm(
    kind: str, role: str = "reader", email: str | None = None, domain: str | None = None
) -> dict[str, Any]:
    """A permission resource: ``kind`` is user, group, domain or anyone."""
    data: dict[str, Any] = {"kind": "drive#permission", "type": kind, "role": role}
    if email:
        data["emailAddress"] = email
    if domain:
        data["domain"] = domain
    data["id"] = f"p-{kind}-{email or domain or 'anyone'}"
    return data


def google_error(code: int, reason: str, message: str, domain: str = "global") -> dict[str, Any]:
    status = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }.get(code, "UNKNOWN")
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}],
            "status": status,
        }
    }


def rate_limited(retry_after: str = "1") -> Fault:
    return Fault(
        429,
        google_error(429, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"),
        {"Retry-After": retry_after},
    )


def server_error(code: int = 500) -> Fault:
    return Fault(code, google_error(code, "backendError", "Backend Error"))


def _fail(code: int, reason: str, message: str) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden}.get(
        code, web.HTTPNotFound
    )
    return cls(
        text=json.dumps(google_error(code, reason, message)), content_type="application/json"
    )


def parse_fields(spec: str) -> dict[str, Any]:
    """``"nextPageToken,files(id,owners(emailAddress))"`` -> ``{"nextPageToken": {}, "files":
    {"id": {}, "owners": {"emailAddress": {}}}}``; an empty dict selects the whole value."""
    pos = 0

    def parse() -> dict[str, Any]:
        nonlocal pos
        out: dict[str, Any] = {}
        name = ""
        while pos < len(spec):
            ch = spec[pos]
            pos += 1
            if ch == "(":
                out[name.strip()] = parse()
                name = ""
            elif ch == ")":
                break
            elif ch == ",":
                if name.strip():
                    out[name.strip()] = {}
                name = ""
            else:
                name += ch
        if name.strip():
            out[name.strip()] = {}
        return out

    return parse()


def select(value: Any, selector: dict[str, Any]) -> Any:
    if not selector:
        return value
    if isinstance(value, list):
        return [select(v, selector) for v in value]
    if isinstance(value, dict):
        return {k: select(value[k], sub) for k, sub in selector.items() if k in value}
    return value


class FakeDrive:
    """State and routes of the fake. Start with ``await fake.start()``; URLs are then set."""

    def __init__(self, domain: str = "example.com", user: str = "alice@example.com") -> None:
        self.domain = domain
        self.user = user
        self.service_accounts: dict[str, rsa.RSAPublicKey] = {}  # client_email -> public key
        self.delegated_scopes: set[str] = set()
        self.token_lifetime = 3600
        self.drives: dict[str, str] = {}  # id -> name
        self.forbidden_drives: set[str] = set()
        self.files: dict[str, FakeFile] = {}
        self.changes: list[tuple[int, str, str | None]] = []  # (seq, file id, drive id)
        self._seq = itertools.count(1)
        self.log: list[Logged] = []
        self.faults = Faults()
        self.tokens = Tokens()
        self.token_requests = 0
        app = web.Application(middlewares=[log_middleware(self.log, self.faults, "/drive/")])
        app.router.add_post("/token", self._token)
        app.router.add_post("/tokeninfo", self._tokeninfo)
        app.router.add_get("/drive/v3/drives", self._drives_list)
        app.router.add_get("/drive/v3/drives/{id}", self._drives_get)
        app.router.add_get("/drive/v3/files", self._files_list)
        app.router.add_get("/drive/v3/files/{id}", self._files_get)
        app.router.add_get("/drive/v3/files/{id}/export", self._files_export)
        app.router.add_get("/drive/v3/files/{id}/permissions", self._permissions_list)
        app.router.add_get("/drive/v3/changes/startPageToken", self._start_page_token)
        app.router.add_get("/drive/v3/changes", self._changes_list)
        self._site = LoopbackSite(app)
        self.url = ""

    # -- set-up -----------------------------------------------------------------------------

    async def start(self) -> FakeDrive:
        self.url = await self._site.start()
        return self

    async def stop(self) -> None:
        await self._site.stop()

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def api_url(self) -> str:
        return f"{self.url}/drive/v3"

    def trust(self, key: dict[str, Any], scopes: set[str]) -> None:
        """Register a service account and grant it domain-wide delegation for ``scopes``."""
        private = serialization.load_pem_private_key(key["private_key"].encode(), password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        self.service_accounts[key["client_email"]] = private.public_key()
        self.delegated_scopes |= scopes

    def add_drive(self, drive_id: str, name: str) -> None:
        self.drives[drive_id] = name

    def put(self, file: FakeFile) -> FakeFile:
        """Add or replace a file and record a change."""
        if file.id in self.files:
            file.version = self.files[file.id].version + 1
        self.files[file.id] = file
        self.changes.append((next(self._seq), file.id, file.drive_id))
        return file

    def delete(self, file_id: str) -> None:
        drive = self.files.pop(file_id).drive_id
        self.changes.append((next(self._seq), file_id, drive))

    def requests_to(self, suffix: str) -> list[Logged]:
        return [r for r in self.log if r.path.endswith(suffix)]

    def content_reads(self) -> list[str]:
        """File ids whose bytes were fetched (alt=media or export), in order."""
        out = []
        for r in self.log:
            parts = r.path.split("/")
            if r.path.startswith("/drive/v3/files/") and (
                r.query.get("alt") == "media" or r.path.endswith("/export")
            ):
                out.append(parts[4])
        return out

    # -- OAuth --------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._oauth_error(400, "unsupported_grant_type", "Invalid grant_type")
        assertion = str(form.get("assertion", ""))
        try:
            head_b64, claims_b64, sig_b64 = assertion.split(".")
            header = json.loads(_unb64(head_b64))
            claims = json.loads(_unb64(claims_b64))
            signature = _unb64(sig_b64)
        except ValueError:
            return self._oauth_error(400, "invalid_grant", "Invalid JWT: malformed")
        public = self.service_accounts.get(claims.get("iss", ""))
        if header.get("alg") != "RS256" or public is None:
            return self._oauth_error(401, "invalid_client", "The OAuth client was not found.")
        try:
            public.verify(
                signature,
                f"{head_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return self._oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        now = time.time()
        if claims.get("aud") != self.token_url:
            return self._oauth_error(400, "invalid_grant", "Invalid JWT: audience")
        iat, exp = int(claims.get("iat", 0)), int(claims.get("exp", 0))
        if not (iat - 60 <= now <= exp + 60) or exp - iat > 3600:
            return self._oauth_error(
                400, "invalid_grant", "Invalid JWT: Token must be a short-lived token"
            )
        scopes = set(str(claims.get("scope", "")).split())
        if not scopes or not scopes <= self.delegated_scopes:
            return self._oauth_error(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client "
                "not authorized for any of the scopes requested.",
            )
        if claims.get("sub") != self.user:
            return self._oauth_error(400, "invalid_grant", "Invalid email or User ID")
        token = self.tokens.issue(str(claims["sub"]))
        self.tokens.grant(token, scopes)
        return web.json_response(
            {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}
        )

    async def _tokeninfo(self, request: web.Request) -> web.Response:
        form = await request.post()
        token = str(form.get("access_token", ""))
        scopes = self.tokens.scopes_of(token)
        if scopes is None:
            return self._oauth_error(400, "invalid_token", "Invalid Value")
        return web.json_response(
            {
                "azp": "1234567890",
                "aud": "1234567890",
                "scope": " ".join(sorted(scopes)),
                "expires_in": str(self.token_lifetime),
                "access_type": "online",
            }
        )

    @staticmethod
    def _oauth_error(status: int, error: str, description: str) -> web.Response:
        return web.json_response({"error": error, "error_description": description}, status=status)

    def _authorize(self, request: web.Request) -> None:
        if self.tokens.principal(request.headers.get("Authorization")) is None:
            raise _fail(401, "authError", "Request had invalid authentication credentials.")

    # -- Drive API ------------------------------------------------------------------------------

    def _page(
        self, request: web.Request, items: list[Any], default_size: int, max_size: int
    ) -> tuple[list[Any], str | None]:
        size = min(int(request.query.get("pageSize", default_size)), max_size)
        start = int(request.query.get("pageToken", "0") or 0)
        chunk = items[start : start + size]
        nxt = str(start + size) if start + size < len(items) else None
        return chunk, nxt

    def _respond(self, request: web.Request, body: dict[str, Any], default: str) -> web.Response:
        selector = parse_fields(request.query.get("fields", default))
        return web.json_response(select(body, selector))

    async def _drives_list(self, request: web.Request) -> web.Response:
        self._authorize(request)
        drives = [
            {"kind": "drive#drive", "id": i, "name": n} for i, n in sorted(self.drives.items())
        ]
        chunk, nxt = self._page(request, drives, 10, 100)
        body: dict[str, Any] = {"kind": "drive#driveList", "drives": chunk}
        if nxt:
            body["nextPageToken"] = nxt
        return self._respond(request, body, "kind,nextPageToken,drives(kind,id,name)")

    async def _drives_get(self, request: web.Request) -> web.Response:
        self._authorize(request)
        drive_id = request.match_info["id"]
        if drive_id not in self.drives:
            raise _fail(404, "notFound", f"Shared drive not found: {drive_id}")
        body = {"kind": "drive#drive", "id": drive_id, "name": self.drives[drive_id]}
        return self._respond(request, body, "kind,id,name")

    def _all_drives(self, request: web.Request) -> bool:
        return request.query.get("supportsAllDrives") == "true"

    async def _files_list(self, request: web.Request) -> web.Response:
        self._authorize(request)
        q = request.query
        corpora = q.get("corpora", "user")
        drive_id = q.get("driveId")
        if drive_id is not None:
            if corpora != "drive":
                raise _fail(400, "invalid", "The corpora parameter must be 'drive' with driveId.")
            if q.get("includeItemsFromAllDrives") != "true" or not self._all_drives(request):
                raise _fail(
                    403,
                    "teamDrivesParameterRequired",
                    "The includeItemsFromAllDrives parameter must be set to true when driveId "
                    "is set.",
                )
            if drive_id in self.forbidden_drives:
                raise _fail(
                    403,
                    "insufficientFilePermissions",
                    "The user does not have sufficient permissions for this file.",
                )
            if drive_id not in self.drives:
                raise _fail(404, "notFound", f"Shared drive not found: {drive_id}")
            files = [f for f in self.files.values() if f.drive_id == drive_id]
        elif corpora == "user":
            files = [f for f in self.files.values() if f.drive_id is None]
        else:
            raise _fail(400, "invalid", f"Invalid value for corpora: {corpora}")
        files = [f for f in files if _matches(f, q.get("q", ""), self.user)]
        files.sort(key=lambda f: f.id)
        chunk, nxt = self._page(request, files, 100, 1000)
        body: dict[str, Any] = {
            "kind": "drive#fileList",
            "incompleteSearch": False,
            "files": [f.resource(self.url) for f in chunk],
        }
        if nxt:
            body["nextPageToken"] = nxt
        return self._respond(
            request, body, f"kind,nextPageToken,incompleteSearch,files({_FILE_DEFAULT_FIELDS})"
        )

    def _file(self, request: web.Request) -> FakeFile:
        self._authorize(request)
        file = self.files.get(request.match_info["id"])
        if file is None or (file.drive_id and not self._all_drives(request)):
            raise _fail(404, "notFound", f"File not found: {request.match_info['id']}.")
        return file

    async def _files_get(self, request: web.Request) -> web.StreamResponse:
        file = self._file(request)
        if request.query.get("alt") != "media":
            return self._respond(request, file.resource(self.url), _FILE_DEFAULT_FIELDS)
        if file.mime_type.startswith("application/vnd.google-apps."):
            raise _fail(
                403,
                "fileNotDownloadable",
                "Only files with binary content can be downloaded. Use Export with Docs Editors "
                "files.",
            )
        return web.Response(body=file.content, content_type="application/octet-stream")

    async def _files_export(self, request: web.Request) -> web.Response:
        file = self._file(request)
        mime = request.query.get("mimeType", "")
        if mime not in _EXPORTS.get(file.mime_type, set()):
            raise _fail(400, "badRequest", "The requested conversion is not supported.")
        return web.Response(body=file.content, content_type=mime)

    async def _permissions_list(self, request: web.Request) -> web.Response:
        file = self._file(request)
        chunk, nxt = self._page(request, file.permissions, 100, 100)
        body: dict[str, Any] = {"kind": "drive#permissionList", "permissions": chunk}
        if nxt:
            body["nextPageToken"] = nxt
        return self._respond(request, body, "kind,nextPageToken,permissions(kind,id,type,role)")

    async def _start_page_token(self, request: web.Request) -> web.Response:
        self._authorize(request)
        last = self.changes[-1][0] if self.changes else 0
        return web.json_response({"kind": "drive#startPageToken", "startPageToken": str(last + 1)})

    async def _changes_list(self, request: web.Request) -> web.Response:
        self._authorize(request)
        q = request.query
        try:
            start = int(q["pageToken"])
        except (KeyError, ValueError):
            raise _fail(400, "invalid", "Invalid Value: pageToken") from None
        all_drives = q.get("includeItemsFromAllDrives") == "true" and self._all_drives(request)
        latest = {c[1]: c for c in self.changes}  # Drive reports a file's latest change only
        pending = sorted(
            c for c in latest.values() if c[0] >= start and (c[2] is None or all_drives)
        )
        size = min(int(q.get("pageSize", 100)), 1000)
        chunk = pending[:size]
        changes = []
        for _seq, file_id, drive_id in chunk:
            file = self.files.get(file_id)
            entry: dict[str, Any] = {
                "kind": "drive#change",
                "changeType": "file",
                "time": "2026-03-01T00:00:00.000Z",
                "fileId": file_id,
                "removed": file is None,
            }
            if file is not None:
                entry["file"] = file.resource(self.url)
            if drive_id:
                entry["driveId"] = drive_id
            changes.append(entry)
        body: dict[str, Any] = {"kind": "drive#changeList", "changes": changes}
        if len(pending) > size:
            body["nextPageToken"] = str(chunk[-1][0] + 1)
        else:
            last = self.changes[-1][0] if self.changes else 0
            body["newStartPageToken"] = str(max(last + 1, start))
        return self._respond(
            request,
            body,
            "kind,nextPageToken,newStartPageToken,changes(kind,changeType,fileId,removed,time)",
        )


def _matches(file: FakeFile, query: str, user: str) -> bool:
    """The few Drive query terms the connector sends, joined by ``and``."""
    for term in filter(None, (t.strip() for t in query.split(" and "))):
        if term == "trashed = false":
            ok = not file.trashed
        elif term == "'me' in owners":
            ok = file.drive_id is None and file.owner == user
        elif term.startswith("mimeType = "):
            ok = file.mime_type == term.removeprefix("mimeType = ").strip("'")
        elif term.startswith("mimeType != "):
            ok = file.mime_type != term.removeprefix("mimeType != ").strip("'")
        else:
            raise _fail(400, "invalid", f"Invalid Value: q ({term})")
        if not ok:
            return False
    return True


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
