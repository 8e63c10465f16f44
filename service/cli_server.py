"""`perimeter serve` and `perimeter keys`: the HTTP service and its API keys."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from service.auth import KeyStore, apply_service_migrations, parse_scopes
from service.cli_common import errors_to_exit_codes
from service.settings import Settings
from service.store import Store

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


def _settings(db: Path | None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"db": db}) if db is not None else settings


def _keystore(db: Path | None) -> tuple[Store, KeyStore]:
    store = Store.open(_settings(db).db)
    apply_service_migrations(store.db)
    return store, KeyStore(store.db)


DbOption = Annotated[Path | None, typer.Option("--db", help="SQLite store [$PERIMETER_DB]")]


@keys_app.command("create")
@errors_to_exit_codes
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated, e.g. scans:write,findings:read")],
    db: DbOption = None,
) -> None:
    """Create a key. It is printed once; only its hash is stored."""
    store, keys = _keystore(db)
    try:
        key_id, key = keys.create(name, parse_scopes(scopes))
    finally:
        store.close()
    sys.stderr.write(f"created key {key_id} ({name}); store it now, it is not shown again:\n")
    sys.stdout.write(key + "\n")


@keys_app.command("list")
@errors_to_exit_codes
def keys_list(db: DbOption = None) -> None:
    """List keys (id, name, scopes, created, revoked, last used), never secrets."""
    store, keys = _keystore(db)
    try:
        for row in keys.all():
            sys.stdout.write(json.dumps(row) + "\n")
    finally:
        store.close()


@keys_app.command("revoke")
@errors_to_exit_codes
def keys_revoke(key_id: str, db: DbOption = None) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    store, keys = _keystore(db)
    try:
        keys.revoke(key_id)
    finally:
        store.close()
    sys.stderr.write(f"revoked {key_id}\n")


def serve(
    db: DbOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address [127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [8000]")] = None,
    ssl_certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM)")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM)")] = None,
) -> None:
    """Serve the HTTP API (uvicorn). Binds to 127.0.0.1 unless told otherwise."""
    import uvicorn

    from service import logs
    from service.api import create_app

    settings = _settings(db)
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=updates)
    logs.configure(settings.log_format, settings.log_level)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep the handler set up above: one format for every logger
        log_level=settings.log_level,
        access_log=False,  # the app logs each request itself, with the route and key id
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
    )
