"""Schemathesis against the app's own OpenAPI document: bounded, and no 5xx allowed."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
)

from service.api import create_app
from service.auth import KeyStore, Scope, apply_service_migrations
from service.settings import Settings
from service.store import Store


def _deployment() -> tuple[Settings, str]:
    home = Path(tempfile.mkdtemp(prefix="perimeter-fuzz-"))
    settings = Settings(
        db=home / "p.db",
        key_file=home / "fp.key",
        vault_key_file=home / "vault.key",
        rate_burst=100_000,
    )
    store = Store.open(settings.db)
    apply_service_migrations(store.db)
    key = KeyStore(store.db).create("fuzz", [s.value for s in Scope])[1]
    store.close()
    return settings, key


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: object, value: object) -> bytes:
    """POST /v1/classify takes JSON Lines; fuzz it with arbitrary text lines."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


SETTINGS, KEY = _deployment()
APP = create_app(SETTINGS)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {KEY}"},
        checks=[not_a_server_error],
        excluded_checks=[negative_data_rejection, response_schema_conformance],
    )
