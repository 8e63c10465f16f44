"""The HTTP API through its ASGI app, and once through a real uvicorn process."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi.testclient import TestClient

from classifiers.classifier import ClassifierSettings
from connectors.local import LocalConfig, LocalConnector
from models import Source
from scanner.sampling import SamplingOptions
from service.api import create_app
from service.auth import KeyStore, apply_service_migrations
from service.runner import run_scan
from service.settings import Settings
from service.store import Store

OCSF_SCHEMA = (
    Path(__file__).resolve().parents[2].parent / "shared/ocsf/data_security_finding.schema.json"
)
RAW = ["536-22-1234", "5425233430109903", "AKIA2OGYBAH6STQ3PQRZ", "alice.walker@corp.example"]


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Settings, dict[str, str]]]:
    """A store filled by a real scan, and keys with different scopes."""
    home = tmp_path_factory.mktemp("api")
    data = home / "data"
    (data / "hr").mkdir(parents=True)
    (data / "hr" / "staff.csv").write_text(
        f"name,email,ssn,card\nAlice Walker,{RAW[3]},{RAW[0]},{RAW[1]}\n"
        "Bob Stone,bob.stone@corp.example,536-22-1235,4111111111111111\n"
    )
    (data / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={RAW[2]}\n")
    (data / "notes.txt").write_text("line one\nline two\n")
    settings = Settings(db=home / "p.db", key_file=home / "key", rate_burst=1000)
    store = Store.open(settings.db)
    asyncio.run(
        run_scan(store, LocalConnector(LocalConfig(root=data)),
                 Source(kind="local", name="files", uri=data.as_uri()),
                 ClassifierSettings(key=b"k" * 32), SamplingOptions(), workers=1)
    )  # fmt: skip
    apply_service_migrations(store.db)
    keys = KeyStore(store.db)
    tokens = {
        scope: keys.create(f"{scope}-key", [scope])[1]
        for scope in ("findings:read", "scans:read", "audit:read", "keys:admin", "metrics:read")
    }
    _, revoked = keys.create("old", ["findings:read"])
    keys.revoke(revoked.split("_")[1])
    tokens["revoked"] = revoked
    store.close()
    yield settings, tokens


@pytest.fixture()
def client(deployment: tuple[Settings, dict[str, str]]) -> TestClient:
    return TestClient(create_app(deployment[0]))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ROUTES = [
    ("GET", "/readyz", None),
    ("GET", "/v1/map", "findings:read"),
    ("GET", "/v1/items", "findings:read"),
    ("GET", "/v1/findings", "findings:read"),
    ("GET", "/v1/exports/findings", "findings:read"),
    ("GET", "/v1/scans", "scans:read"),
    ("GET", "/v1/audit", "audit:read"),
    ("GET", "/v1/keys", "keys:admin"),
    ("GET", "/metrics", "metrics:read"),
]


def test_healthz_is_the_only_anonymous_route(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES, ids=[r[1] for r in ROUTES])
def test_auth_matrix(client: TestClient, deployment: Any, method: str, path: str,
                     scope: str | None) -> None:  # fmt: skip
    tokens = deployment[1]
    assert client.request(method, path).status_code == 401
    assert client.request(method, path, headers=auth("pmk_nope_nope")).status_code == 401
    assert client.request(method, path, headers={"Authorization": "Basic x"}).status_code == 401
    assert client.request(method, path, headers=auth(tokens["revoked"])).status_code == 401
    right = scope or "findings:read"
    assert client.request(method, path, headers=auth(tokens[right])).status_code == 200
    wrong = next(t for s, t in tokens.items() if s not in (right, "revoked"))
    if scope is not None:
        response = client.request(method, path, headers=auth(wrong))
        assert response.status_code == 403
        assert scope in response.json()["detail"]


def test_findings_pages_are_stable_and_complete(client: TestClient, deployment: Any) -> None:
    headers = auth(deployment[1]["findings:read"])
    everything = client.get("/v1/findings", params={"limit": 1000}, headers=headers).json()
    assert everything["next_cursor"] is None
    ids, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/findings", params=params, headers=headers).json()
        ids += [f["id"] for f in page["findings"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert ids == [f["id"] for f in everything["findings"]] == sorted(ids)
    assert len(ids) >= 8


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"type": "US_SSN"}, lambda f: f["type"] == "US_SSN"),
        ({"category": "secret"}, lambda f: f["category"] == "secret"),
        ({"level": "restricted"}, lambda f: f["level"] == "restricted"),
        ({"source": "files", "type": ["EMAIL_ADDRESS", "CREDIT_CARD"]},
         lambda f: f["type"] in ("EMAIL_ADDRESS", "CREDIT_CARD")),
    ],
    ids=["type", "category", "level", "several-types"],
)  # fmt: skip
def test_finding_filters(client: TestClient, deployment: Any, params: dict[str, Any],
                         check: Any) -> None:  # fmt: skip
    found = client.get("/v1/findings", params=params,
                       headers=auth(deployment[1]["findings:read"])).json()["findings"]  # fmt: skip
    assert found and all(check(f) for f in found)


def test_locations_and_masking(client: TestClient, deployment: Any) -> None:
    response = client.get("/v1/findings", params={"type": "US_SSN"},
                          headers=auth(deployment[1]["findings:read"]))  # fmt: skip
    first = response.json()["findings"][0]
    assert first["location"] == {"row": 1, "field": "ssn"}
    assert first["evidence"] == "***-**-1234"


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "ocsf", "sarif"])
def test_exports_never_contain_raw_values(client: TestClient, deployment: Any, fmt: str) -> None:
    response = client.get("/v1/exports/findings", params={"format": fmt},
                          headers=auth(deployment[1]["findings:read"]))  # fmt: skip
    assert response.status_code == 200
    for raw in RAW:
        assert raw not in response.text


def test_ocsf_export_validates_against_class_2006(client: TestClient, deployment: Any) -> None:
    schema = json.loads(OCSF_SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    response = client.get("/v1/exports/findings", params={"format": "ocsf"},
                          headers=auth(deployment[1]["findings:read"]))  # fmt: skip
    events = [json.loads(line) for line in response.text.splitlines()]
    assert len(events) == 2  # staff.csv and deploy.env have findings; notes.txt has none
    for event in events:
        errors = [e.message for e in validator.iter_errors(event)]
        assert not errors, errors
        assert event["class_uid"] == 2006 and event["category_uid"] == 2
    staff = next(e for e in events if e["file"]["name"] == "staff.csv")
    assert staff["data_security"]["confidentiality"] == "Restricted"
    details = {d["type"]: d for d in staff["data_security"]["discovery_details"]}
    assert details["US_SSN"]["count"] == 2
    assert {"row_number": 1, "column_name": "ssn"} in details["US_SSN"]["occurrences"]
    env = next(e for e in events if e["file"]["name"] == "deploy.env")
    assert env["data_security"]["category"] == "Security"


def test_csv_and_sarif_exports_parse(client: TestClient, deployment: Any) -> None:
    headers = auth(deployment[1]["findings:read"])
    text = client.get("/v1/exports/findings", params={"format": "csv"}, headers=headers).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {"type", "evidence", "location", "item_uri"} <= set(rows[0])
    sarif = client.get("/v1/exports/findings", params={"format": "sarif", "category": "secret"},
                       headers=headers).json()  # fmt: skip
    assert sarif["version"] == "2.1.0"
    (result,) = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/findings?limit=0", 422),
        ("/v1/findings?limit=100000", 422),
        ("/v1/findings?level=secretish", 422),
        ("/v1/findings?cursor=%%%", 400),
        ("/v1/findings?since=yesterday", 422),
        ("/v1/exports/findings?format=xml", 422),
        ("/v1/scans/not-a-scan-id", 422),
        ("/v1/scans/" + "0" * 32, 404),
    ],
)
def test_bad_requests_get_4xx_with_a_message(client: TestClient, deployment: Any, path: str,
                                             status: int) -> None:  # fmt: skip
    scope = "scans:read" if "scans" in path else "findings:read"
    response = client.get(path, headers=auth(deployment[1][scope]))
    assert response.status_code == status
    assert response.json()["detail"]


def test_keys_api_creates_and_revokes(client: TestClient, deployment: Any) -> None:
    admin = auth(deployment[1]["keys:admin"])
    created = client.post("/v1/keys", json={"name": "siem", "scopes": ["findings:read"]},
                          headers=admin)  # fmt: skip
    assert created.status_code == 201
    new = created.json()
    assert client.get("/v1/map", headers=auth(new["key"])).status_code == 200
    assert new["key"] not in client.get("/v1/keys", headers=admin).text
    assert client.delete(f"/v1/keys/{new['id']}", headers=admin).status_code == 204
    assert client.get("/v1/map", headers=auth(new["key"])).status_code == 401
    bad = client.post("/v1/keys", json={"name": "x", "scopes": ["root"]}, headers=admin)
    assert bad.status_code == 422


def test_body_limit(client: TestClient, deployment: Any) -> None:
    huge = {"name": "x" * (2 * 1024 * 1024), "scopes": ["findings:read"]}
    response = client.post("/v1/keys", json=huge, headers=auth(deployment[1]["keys:admin"]))
    assert response.status_code == 413


def test_rate_limit_per_key(deployment: Any, tmp_path: Path) -> None:
    settings = deployment[0].model_copy(update={"rate_burst": 3, "rate_per_minute": 6})
    client = TestClient(create_app(settings))
    headers = auth(deployment[1]["scans:read"])
    statuses = [client.get("/v1/scans", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/v1/scans", headers=headers)
    assert int(limited.headers["Retry-After"]) >= 1
    other = client.get("/v1/map", headers=auth(deployment[1]["findings:read"]))
    assert other.status_code == 200  # buckets are per key


def test_every_v1_call_is_audited(client: TestClient, deployment: Any) -> None:
    tokens = deployment[1]
    client.get("/v1/findings", params={"type": "US_SSN"}, headers=auth(tokens["findings:read"]))
    client.get("/v1/findings")
    entries = client.get("/v1/audit", params={"limit": 1000},
                         headers=auth(tokens["audit:read"])).json()  # fmt: skip
    reads = [e for e in entries if e["path"] == "/v1/findings"]
    assert any(e["key_name"] == "findings:read-key" and e["status"] == 200
               and e["detail"]["query"] == {"type": "US_SSN"} for e in reads)  # fmt: skip
    assert any(e["key_id"] is None and e["status"] == 401 for e in reads)


def test_metrics(client: TestClient, deployment: Any) -> None:
    client.get("/v1/map", headers=auth(deployment[1]["findings:read"]))
    text = client.get("/metrics", headers=auth(deployment[1]["metrics:read"])).text
    assert 'perimeter_items_by_level{level="restricted"} 2.0' in text
    assert 'perimeter_scans_total{status="completed"} 1.0' in text
    assert "perimeter_bytes_read_total" in text
    assert 'perimeter_api_request_duration_seconds_count{method="GET",route="/v1/map"' in text


def test_openapi_is_complete(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/findings", "/v1/exports/findings", "/v1/keys"} <= set(spec["paths"])
    assert "FindingPage" in spec["components"]["schemas"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_real_uvicorn_process(deployment: Any) -> None:
    settings, tokens = deployment
    port = _free_port()
    cli = str(Path(sys.executable).with_name("perimeter"))
    log = settings.db.with_suffix(".serve.log")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [cli, "serve", "--db", str(settings.db), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(log.read_text()) from None
                time.sleep(0.2)
        headers = {**auth(tokens["findings:read"]), "X-Request-ID": "trace-42"}
        page = httpx.get(f"{base}/v1/findings", headers=headers, timeout=10)
        assert page.status_code == 200 and page.json()["findings"]
        assert page.headers["X-Request-ID"] == "trace-42"
        assert httpx.get(f"{base}/v1/findings", timeout=10).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    # Structured logs: every line uvicorn and the app wrote is one JSON object.
    text = log.read_text()
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert entries and all({"ts", "level", "logger", "msg"} <= e.keys() for e in entries)
    assert any(e["logger"].startswith("uvicorn") for e in entries)
    requests = [e for e in entries if e["logger"] == "perimeter.http"]
    served = next(e for e in requests if e["request_id"] == "trace-42")
    key_id = tokens["findings:read"].split("_")[1]
    assert served | {"duration_ms": 0} == served | {
        "route": "/v1/findings",
        "method": "GET",
        "status": 200,
        "key_id": key_id,
        "duration_ms": 0,
    }
    assert any(e["status"] == 401 and e["key_id"] is None for e in requests)
    assert tokens["findings:read"] not in text  # the key itself is never logged


def test_classify_over_http_keeps_the_contract(deployment: Any) -> None:
    settings, _ = deployment
    store = Store.open(settings.db)
    key = KeyStore(store.db).create("clf", ["classify"])[1]
    store.close()
    lines = [json.dumps({"id": i, "text": f"ssn 536-22-{1000 + i}"}) for i in range(150)]
    body = "\n".join([*lines, "not json"]) + "\n"
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/classify", content=body, headers=auth(key))
        assert response.status_code == 200
        out = [json.loads(x) for x in response.text.splitlines()]
        assert [o.get("id") for o in out[:150]] == list(range(150))
        assert out[0]["level"] == "restricted"
        assert out[0]["findings"][0]["evidence"] == "***-**-1000"
        assert "error" in out[150]
        assert "536-22-1000" not in response.text
        too_many = "\n".join(lines * 7)
        assert client.post("/v1/classify", content=too_many, headers=auth(key)).status_code == 413


def test_reads_never_wait_for_the_writer(deployment: Any) -> None:
    """WAL lets readers run beside the one writer; nothing on the read path may need the lock.

    Another connection holds the write lock (as a scan's writer does mid-batch) until every read
    has answered; a read that queued behind it would be stuck until the guard below gives up.
    A key never used before is taken on purpose: verifying it wants to record ``last_used``.
    """
    settings, _ = deployment
    store = Store.open(settings.db)
    fresh = KeyStore(store.db).create("reader", ["findings:read", "scans:read"])[1]
    store.close()
    paths = ["/readyz", "/v1/findings?limit=2", "/v1/items", "/v1/map", "/v1/scans"]
    statuses: dict[str, int] = {}
    with TestClient(create_app(settings)) as client:
        writer = sqlite3.connect(settings.db, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE scans SET error = error")  # a pending write, lock held
        try:
            reads = threading.Thread(
                target=lambda: statuses.update(
                    {p: client.get(p, headers=auth(fresh)).status_code for p in paths}
                )
            )
            reads.start()
            reads.join(timeout=60)  # a deadlock guard, not a speed check
            assert not reads.is_alive(), "a read waited for the write lock"
            page = client.get("/v1/findings?limit=2", headers=auth(fresh)).json()
            rest = client.get(
                f"/v1/findings?limit=100&cursor={page['next_cursor']}", headers=auth(fresh)
            )
            statuses["cursor"] = rest.status_code
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    assert statuses == dict.fromkeys([*paths, "cursor"], 200)
