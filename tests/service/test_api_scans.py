"""Sources, on-demand scans, cancel and schedules through the API; a crash mid-scan resumed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.auth import KeyStore, apply_service_migrations
from service.settings import Settings
from service.store import Store

SCOPES = ["sources:read", "sources:write", "scans:read", "scans:write", "findings:read"]


def _key(settings: Settings) -> str:
    store = Store.open(settings.db)
    apply_service_migrations(store.db)
    key = KeyStore(store.db).create("ops", SCOPES)[1]
    store.close()
    return key


def _workspace(root: Path, files: int) -> Path:
    root.mkdir(parents=True)
    for i in range(files):
        folder = root / f"team{i % 5}"
        folder.mkdir(exist_ok=True)
        (folder / f"record{i:04d}.csv").write_text(
            f"name,email,ssn\nPerson Number{i},user{i}@corp.example,536-22-{1000 + i:04d}\n"
        )
    return root


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Settings]]:
    settings = Settings(
        db=tmp_path / "p.db",
        key_file=tmp_path / "fp.key",
        vault_key_file=tmp_path / "vault.key",
        workers=1,
    )
    headers = {"Authorization": f"Bearer {_key(settings)}"}
    with TestClient(create_app(settings)) as client:
        yield client, headers, settings


def _wait(
    client: TestClient, headers: dict[str, str], scan_id: str, until: set[str], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        scan = client.get(f"/v1/scans/{scan_id}", headers=headers).json()
        if scan["status"] in until or time.monotonic() > deadline:
            return dict(scan)
        time.sleep(0.1)


def test_source_crud_and_validation(api: Any, tmp_path: Path) -> None:
    client, headers, _ = api
    root = _workspace(tmp_path / "ws", 3)
    body = {"name": "files", "kind": "local", "settings": {"root": str(root)}}
    created = client.post("/v1/sources", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["uri"] == root.as_uri()
    assert client.post("/v1/sources", json=body, headers=headers).status_code == 409
    assert [s["name"] for s in client.get("/v1/sources", headers=headers).json()] == ["files"]
    bad = [
        {"name": "x", "kind": "nope", "settings": {}},
        {"name": "x", "kind": "local", "settings": {"rooot": "/tmp"}},
        {"name": "bad name!", "kind": "local", "settings": {"root": "/tmp"}},
        {
            "name": "x",
            "kind": "s3",
            "settings": {"bucket": "b", "secret_access_key": "${env:NOPE_NOT_SET}"},
        },
    ]
    for entry in bad:
        response = client.post("/v1/sources", json=entry, headers=headers)
        assert response.status_code in (400, 422), (entry, response.text)
        assert response.json()["detail"]
    assert client.delete("/v1/sources/files", headers=headers).status_code == 204
    assert client.get("/v1/sources/files", headers=headers).status_code == 404


def test_inline_credentials_are_stored_encrypted(api: Any) -> None:
    client, headers, settings = api
    secret = "wJalrXUtnFEMI-not-a-real-secret-Zq8rT2mZp4Lx"
    body = {
        "name": "bucket",
        "kind": "s3",
        "settings": {
            "bucket": "hr-exports",
            "access_key_id": "AKIA2OGYBAH6STQ3PQRZ",
            "secret_access_key": secret,
        },
    }
    response = client.post("/v1/sources", json=body, headers=headers)
    assert response.status_code == 201, response.text
    shown = client.get("/v1/sources/bucket", headers=headers).json()["settings"]
    assert shown["secret_access_key"] == "<encrypted>"
    raw = b"".join(p.read_bytes() for p in settings.db.parent.glob("p.db*"))
    assert secret.encode() not in raw and b"AKIA2OGYBAH6STQ3PQRZ" not in raw


def test_on_demand_scan_and_progress(api: Any, tmp_path: Path) -> None:
    client, headers, _ = api
    root = _workspace(tmp_path / "ws", 12)
    client.post(
        "/v1/sources",
        json={"name": "files", "kind": "local", "settings": {"root": str(root)}},
        headers=headers,
    )
    started = client.post("/v1/scans", json={"source": "files"}, headers=headers)
    assert started.status_code == 202
    scan = _wait(client, headers, started.json()["id"], {"completed", "failed"})
    assert scan["status"] == "completed"
    assert scan["counters"]["items_scanned"] == 12
    levels = {i["level"] for i in client.get("/v1/items", headers=headers).json()["items"]}
    assert levels == {"restricted"}
    assert client.post("/v1/scans", json={"source": "nope"}, headers=headers).status_code == 404
    assert (
        client.post("/v1/scans", json={"source": "files", "budget": 0}, headers=headers).status_code
        == 422
    )


def test_cancel_a_running_scan(api: Any, tmp_path: Path) -> None:
    client, headers, _ = api
    root = _workspace(tmp_path / "ws", 400)
    client.post(
        "/v1/sources",
        json={"name": "files", "kind": "local", "settings": {"root": str(root)}},
        headers=headers,
    )
    scan_id = client.post(
        "/v1/scans", json={"source": "files", "concurrency": 1}, headers=headers
    ).json()["id"]
    time.sleep(0.5)
    assert client.post(f"/v1/scans/{scan_id}/cancel", headers=headers).status_code == 202
    scan = _wait(client, headers, scan_id, {"cancelled", "completed"})
    assert scan["status"] == "cancelled"
    assert client.post(f"/v1/scans/{scan_id}/cancel", headers=headers).status_code == 409


def test_schedules(api: Any, tmp_path: Path) -> None:
    client, headers, _ = api
    client.post(
        "/v1/sources",
        json={"name": "files", "kind": "local", "settings": {"root": str(tmp_path)}},
        headers=headers,
    )
    bad = client.put("/v1/sources/files/schedule", json={"cron": "every day"}, headers=headers)
    assert bad.status_code == 400 and "cron" in bad.json()["detail"]
    good = client.put("/v1/sources/files/schedule", json={"cron": "0 3 * * *"}, headers=headers)
    assert good.status_code == 200 and good.json()["next_run"].endswith("03:00:00+00:00")
    assert client.get("/v1/sources/files", headers=headers).json()["schedule"] == "0 3 * * *"
    assert client.delete("/v1/sources/files/schedule", headers=headers).status_code == 204
    assert client.get("/v1/schedules", headers=headers).json() == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    cli = str(Path(sys.executable).with_name("perimeter"))
    env = {
        **os.environ,
        "PERIMETER_KEY_FILE": str(settings.key_file),
        "PERIMETER_VAULT_KEY_FILE": str(settings.vault_key_file),
        "PERIMETER_WORKERS": "1",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [cli, "serve", "--db", str(settings.db), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError(log.read_text()) from None
            time.sleep(0.2)


def _findings(db: Path) -> list[tuple[str, str, str, str]]:
    store = Store.open(db)
    try:
        rows = store.db.execute(
            "SELECT i.uri, f.type, f.fingerprint, f.location FROM findings f "
            "JOIN items i ON i.id = f.item_id"
        ).fetchall()
    finally:
        store.close()
    return sorted(tuple(r) for r in rows)


def test_kill_9_mid_scan_resumes_to_the_same_findings(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws", 600)
    settings = Settings(
        db=tmp_path / "p.db", key_file=tmp_path / "fp.key", vault_key_file=tmp_path / "vault.key"
    )
    headers = {"Authorization": f"Bearer {_key(settings)}"}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    proc = _serve(settings, port, log)
    try:
        httpx.post(
            f"{base}/v1/sources",
            headers=headers,
            json={"name": "files", "kind": "local", "settings": {"root": str(root)}},
        ).raise_for_status()
        scan_id = httpx.post(
            f"{base}/v1/scans", headers=headers, json={"source": "files", "concurrency": 1}
        ).json()["id"]
        deadline = time.monotonic() + 60
        while True:
            scan = httpx.get(f"{base}/v1/scans/{scan_id}", headers=headers).json()
            if scan["counters"]["items_scanned"] >= 50 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert scan["status"] == "running", "the scan ended before it could be interrupted"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    done_before = Store.open(settings.db)
    stored = done_before.db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    done_before.close()
    assert 0 < stored < 600

    proc = _serve(settings, port, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            scan = httpx.get(f"{base}/v1/scans/{scan_id}", headers=headers).json()
            if scan["status"] != "running" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert scan["status"] == "completed", log.read_text()[-2000:]
    assert scan["counters"]["items_scanned"] == 600

    # The same data scanned without interruption, with the same fingerprint key.
    reference = tmp_path / "ref.db"
    cli = str(Path(sys.executable).with_name("perimeter"))
    subprocess.run(
        [cli, "scan", str(root), "--db", str(reference), "-q"],
        check=True,
        env={**os.environ, "PERIMETER_KEY_FILE": str(settings.key_file)},
    )
    resumed, uninterrupted = _findings(settings.db), _findings(reference)
    differ = sorted(set(resumed) ^ set(uninterrupted))
    assert not differ, (differ[:6], _item_errors(settings.db), log.read_text()[-2000:])
    assert len(resumed) == len(set(resumed)) == len(uninterrupted) >= 600 * 2  # SSN + email
    assert resumed == uninterrupted


def _item_errors(db: Path) -> list[tuple[str, str, str]]:
    """Items that did not end ``ok``: what a failed comparison needs to be understood."""
    store = Store.open(db)
    try:
        rows = store.db.execute(
            "SELECT uri, status, error FROM items WHERE status != 'ok' LIMIT 10"
        ).fetchall()
    finally:
        store.close()
    return [tuple(r) for r in rows]
