"""Webhook deliveries to a real local receiver: signatures, retries, the delivery log."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from classifiers.classifier import ClassifierSettings
from connectors.local import LocalConfig, LocalConnector
from models import Scan, Source
from scanner.sampling import SamplingOptions
from service.runner import run_scan
from service.schema import apply_service_migrations
from service.store import Store
from service.vault import Vault
from service.webhooks import Event, RetryPolicy, Webhooks, sign, verify


class Receiver:
    """A loopback HTTP receiver answering with the scripted statuses, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def scanned_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scan]:
    """One real scan per module; tests get their own copy of the resulting database."""
    home = tmp_path_factory.mktemp("hooks")
    data = home / "data"
    data.mkdir()
    (data / "staff.csv").write_text("name,ssn\nAlice Walker,536-22-1234\nBob Stone,536-22-1235\n")
    (data / "notes.txt").write_text("nothing\n")
    store = Store.open(home / "p.db")
    apply_service_migrations(store.db)
    scan = asyncio.run(
        run_scan(
            store,
            LocalConnector(LocalConfig(root=data)),
            Source(kind="local", name="files", uri=data.as_uri()),
            ClassifierSettings(key=b"k" * 32),
            SamplingOptions(),
            workers=1,
        )
    )
    store.close()
    return home / "p.db", scan


@pytest.fixture()
def scanned(scanned_db: tuple[Path, Scan], tmp_path: Path) -> Iterator[tuple[Store, Scan]]:
    copy = tmp_path / "p.db"
    shutil.copy(scanned_db[0], copy)
    store = Store.open(copy)
    yield store, scanned_db[1]
    store.close()


def _hooks(store: Store, tmp_path: Path, attempts: int = 3) -> Webhooks:
    retry = RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=0.05, timeout=2)
    return Webhooks(store.db, Vault.from_file(tmp_path / "vault.key"), retry)


def test_signed_events_with_retry_and_log(scanned: tuple[Store, Scan], tmp_path: Path) -> None:
    store, scan = scanned
    receiver = Receiver([500])
    try:
        hooks = _hooks(store, tmp_path)
        hook_id, secret = hooks.add(receiver.url, [Event.SCAN_FINISHED, Event.RESTRICTED_FINDINGS])
        hooks.scan_finished(scan)
    finally:
        receiver.close()
    # scan.finished failed once (500) and was retried with the same delivery id
    events = [(h["X-Perimeter-Event"], h["X-Perimeter-Delivery"]) for h, _ in receiver.requests]
    assert [e for e, _ in events] == ["scan.finished", "scan.finished", "findings.restricted"]
    assert events[0][1] == events[1][1]
    for headers, body in receiver.requests:
        assert verify(
            secret, headers["X-Perimeter-Timestamp"], body, headers["X-Perimeter-Signature"]
        )
        assert not verify(
            "wrong", headers["X-Perimeter-Timestamp"], body, headers["X-Perimeter-Signature"]
        )
    restricted = json.loads(receiver.requests[-1][1])
    assert restricted["count"] == 2
    assert {f["evidence"] for f in restricted["findings"]} == {"***-**-1234", "***-**-1235"}
    assert "536-22-1234" not in receiver.requests[-1][1].decode()
    log = hooks.deliveries(hook_id)
    assert [(d["event"], d["status"], d["attempts"]) for d in log] == [
        ("findings.restricted", "delivered", 1),
        ("scan.finished", "delivered", 2),
    ]
    # the secret is stored encrypted, not in clear
    assert secret not in str(list(store.db.query("SELECT secret FROM webhooks")))


def test_restricted_values_are_announced_once(scanned: tuple[Store, Scan], tmp_path: Path) -> None:
    store, scan = scanned
    receiver = Receiver([])
    try:
        hooks = _hooks(store, tmp_path)
        hooks.add(receiver.url, [Event.RESTRICTED_FINDINGS])
        hooks.scan_finished(scan)
        hooks.scan_finished(scan)
    finally:
        receiver.close()
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("statuses", "status", "attempts"),
    [([400], "failed", 1), ([503, 503, 503], "failed", 3), ([429, 200], "delivered", 2)],
    ids=["4xx-not-retried", "5xx-exhausts-retries", "429-retried"],
)
def test_failures(
    scanned: tuple[Store, Scan], tmp_path: Path, statuses: list[int], status: str, attempts: int
) -> None:
    store, scan = scanned
    receiver = Receiver(statuses)
    try:
        hooks = _hooks(store, tmp_path)
        hook_id, _ = hooks.add(receiver.url, [Event.SCAN_FINISHED])
        hooks.scan_finished(scan)
    finally:
        receiver.close()
    (delivery,) = hooks.deliveries(hook_id)
    assert (delivery["status"], delivery["attempts"]) == (status, attempts)


def test_unreachable_receiver_is_logged(scanned: tuple[Store, Scan], tmp_path: Path) -> None:
    store, scan = scanned
    hooks = _hooks(store, tmp_path, attempts=2)
    hook_id, _ = hooks.add("http://127.0.0.1:9/hook", [Event.SCAN_FINISHED])
    hooks.scan_finished(scan)
    (delivery,) = hooks.deliveries(hook_id)
    assert delivery["status"] == "failed" and "ConnectError" in delivery["error"]


def test_signature_is_hmac_of_timestamp_and_body() -> None:
    assert sign("s", 1700000000, b"{}").startswith("sha256=")
    assert not verify("s", "1700000000", b"{}", sign("s", 1700000000, b"{}"))  # too old
