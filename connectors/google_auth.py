"""Google service-account auth with domain-wide delegation (the OAuth 2.0 JWT bearer grant).

The connector signs a short JWT with the service account's RSA key (RS256), ``sub`` naming the
Workspace user it acts for, and posts it to the token endpoint
(``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``). Google answers with a bearer access
token valid for about an hour; it is cached and replaced shortly before it expires, or at once
when an API call answers 401.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from connectors.http import HttpClient
from models.errors import AuthError, ConfigError

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_ASSERTION_LIFETIME = 3600  # Google accepts at most one hour between iat and exp


class ServiceAccountKey(BaseModel):
    """The fields of a service account JSON key file that the grant needs."""

    model_config = ConfigDict(extra="ignore")

    type: str = "service_account"
    client_email: str
    private_key: SecretStr
    private_key_id: str | None = None
    token_uri: str | None = None

    @classmethod
    def from_json(cls, text: str) -> ServiceAccountKey:
        """Parse a key file's contents; errors never echo the key material."""
        try:
            data = json.loads(text)
        except ValueError:
            raise ConfigError("the service account key is not valid JSON") from None
        if not isinstance(data, dict):
            raise ConfigError("the service account key is not a JSON object")
        try:
            key = cls.model_validate(data)
        except ValidationError as exc:
            fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"])
            raise ConfigError(f"the service account key lacks or mistypes: {fields}") from None
        if key.type != "service_account":
            raise ConfigError(f"the key file is of type {key.type!r}, not 'service_account'")
        return key

    @classmethod
    def from_file(cls, path: Path) -> ServiceAccountKey:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the service account key {path}: {exc.strerror}"
            ) from None
        return cls.from_json(text)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt(claims: dict[str, Any], private_key_pem: str, key_id: str | None = None) -> str:
    """A compact JWS over ``claims`` signed with RS256 (RSASSA-PKCS1-v1_5 with SHA-256)."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise ConfigError("the service account private key is not a readable PEM RSA key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("the service account private key is not an RSA key")
    header: dict[str, str] = {"alg": "RS256", "typ": "JWT"}
    if key_id:
        header["kid"] = key_id
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64url(signature)


class GoogleServiceAccountAuth:
    """``connectors.http.Auth`` for one service account acting as ``subject`` with ``scopes``.

    The access token is fetched on first use, replaced ``leeway`` seconds before it expires and
    once when an API answers 401 (single-flight: concurrent requests share one fetch)."""

    def __init__(
        self,
        key: ServiceAccountKey,
        scopes: Sequence[str],
        subject: str | None = None,
        token_url: str | None = None,
        leeway: float = 300.0,
    ) -> None:
        self._key = key
        self.scopes = tuple(scopes)
        self.subject = subject
        # The setting wins over the key file's token_uri, which wins over Google's default.
        self.token_url = token_url or key.token_uri or GOOGLE_TOKEN_URL
        self.leeway = leeway
        self._token: SecretStr | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()
        self.granted_scopes: tuple[str, ...] = ()
        self.fetches = 0

    @property
    def client_email(self) -> str:
        return self._key.client_email

    def __repr__(self) -> str:
        return f"GoogleServiceAccountAuth({self._key.client_email!r}, subject={self.subject!r})"

    def assertion(self, now: float | None = None) -> str:
        """The signed JWT that the token endpoint exchanges for an access token."""
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self._key.client_email,
            "scope": " ".join(self.scopes),
            "aud": self.token_url,
            "iat": issued,
            "exp": issued + _ASSERTION_LIFETIME,
        }
        if self.subject:
            claims["sub"] = self.subject
        return sign_jwt(claims, self._key.private_key.get_secret_value(), self._key.private_key_id)

    def _due(self) -> bool:
        return self._token is None or time.time() >= self._refresh_at

    async def authorization(self, client: HttpClient) -> str | None:
        if self._due():
            async with self._lock:
                if self._due():
                    await self._fetch(client)
        assert self._token is not None
        return f"Bearer {self._token.get_secret_value()}"

    async def on_unauthorized(self, client: HttpClient, sent: str | None) -> bool:
        async with self._lock:
            if self._token is not None and sent != f"Bearer {self._token.get_secret_value()}":
                return True  # another request already replaced it
            await self._fetch(client)
            return True

    async def _fetch(self, client: HttpClient) -> None:
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": self.assertion()}
        resp = await client.request(
            "POST",
            self.token_url,
            data=form,
            headers={"Accept": "application/json"},
            use_auth=False,
            accept=lambda r: True,
        )
        try:
            body = json.loads(resp.body or b"null")
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not resp.ok or not isinstance(token, str) or not token:
            err = str(body.get("error", "")) if isinstance(body, dict) else ""
            desc = str(body.get("error_description", "")) if isinstance(body, dict) else ""
            hint = _GRANT_HINTS.get(err, "")
            desc = " ".join(desc.split())[:200]
            raise AuthError(
                f"the Google token endpoint refused the service account "
                f"{self._key.client_email} (HTTP {resp.status} {err}: {desc})"
                + (f"; {hint}" if hint else "")
            )
        assert isinstance(body, dict)
        scope = body.get("scope")
        if isinstance(scope, str):
            self.granted_scopes = tuple(scope.split())
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        self._token = SecretStr(token)
        # Replace it ``leeway`` seconds before it expires, or half-way through a short-lived one
        # (a lifetime under the leeway must not mean a new token for every request).
        self._refresh_at = time.time() + max(lifetime - self.leeway, lifetime / 2)
        self.fetches += 1


_GRANT_HINTS = {
    "unauthorized_client": (
        "domain-wide delegation is not granted to this client ID for these scopes "
        "(Admin console > Security > API controls > Domain-wide delegation)"
    ),
    "invalid_grant": "check the subject user exists and the machine clock is right",
    "invalid_client": "the key was deleted or the service account disabled",
}
