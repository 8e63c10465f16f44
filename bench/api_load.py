"""Load on the findings API: requests/s and p50/p99 latency with 1,000,000 findings stored and
32 concurrent clients, while a scan writes to the same store. Loopback only, bounded in time.

Usage: python bench/api_load.py [--findings 1000000] [--clients 32] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from service.auth import KeyStore, apply_service_migrations
from service.store import Store

TYPES = ["EMAIL_ADDRESS", "US_SSN", "PERSON", "PHONE_NUMBER", "CREDIT_CARD", "AWS_ACCESS_KEY_ID"]


def fill(db_path: Path, findings: int) -> None:
    """Synthetic rows straight into the schema: 1 source, 1,000 items per container."""
    store = Store.open(db_path)
    db = store.db
    rng = random.Random(1)
    now = "2026-11-29T00:00:00+00:00"
    with db.conn:
        db.table("sources").insert(
            {
                "id": "s1",
                "kind": "local",
                "name": "bulk",
                "uri": "file:///bulk",
                "settings": "{}",
                "created": now,
            }
        )
        db.table("scans").insert(
            {
                "id": "0" * 32,
                "source_id": "s1",
                "target": "file:///bulk",
                "status": "completed",
                "started": now,
                "finished": now,
            }
        )
    items = max(1, findings // 10)
    levels = ["restricted", "confidential", "internal"]
    batch = []
    for i in range(items):
        batch.append(
            {
                "id": f"i{i:08d}",
                "source_id": "s1",
                "container": f"file:///bulk/c{i // 1000}",
                "uri": f"file:///bulk/c{i // 1000}/f{i}.csv",
                "path": f"f{i}.csv",
                "status": "ok",
                "level": levels[i % 3],
                "exposure": "internal",
                "types": "[]",
                "finding_count": 10,
                "last_scan_id": "0" * 32,
                "scanned_at": now,
            }
        )
        if len(batch) == 10_000:
            with db.conn:
                db.table("items").insert_all(batch)
            batch = []
    if batch:
        with db.conn:
            db.table("items").insert_all(batch)

    def rows():  # type: ignore[no-untyped-def]
        for n in range(findings):
            t = TYPES[n % len(TYPES)]
            yield {
                "item_id": f"i{n // 10:08d}",
                "scan_id": "0" * 32,
                "type": t,
                "category": "secret" if t.startswith("AWS") else "pii",
                "score": 0.9,
                "detector": f"d.{t.lower()}",
                "evidence": "***-**-1234",
                "fingerprint": f"{rng.getrandbits(128):032x}",
                "location": '{"row": 1}',
                "start": 0,
                "end": 11,
            }

    with db.conn:
        db.table("findings").insert_all(rows(), batch_size=20_000)
    store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def client(
    base: str,
    headers: dict[str, str],
    stop: float,
    latencies: list[float],
    errors: list[int],
    seed: int,
) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        cursor = None
        while time.monotonic() < stop:
            params: dict[str, object] = {"limit": 100}
            roll = rng.random()
            if roll < 0.3:
                params["type"] = rng.choice(TYPES)
            elif roll < 0.5:
                params["level"] = "restricted"
            if cursor and rng.random() < 0.7:
                params["cursor"] = cursor
            started = time.perf_counter()
            response = await http.get("/v1/findings", params=params)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors.append(response.status_code)
                continue
            cursor = response.json()["next_cursor"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="perimeter-load-"))
    db = home / "p.db"
    started = time.perf_counter()
    fill(db, args.findings)
    print(f"filled {args.findings:,} findings in {time.perf_counter() - started:.1f}s")
    store = Store.open(db)
    apply_service_migrations(store.db)
    key = KeyStore(store.db).create(
        "load", ["findings:read", "sources:write", "scans:write", "scans:read"]
    )[1]
    store.close()
    data = home / "data"
    for i in range(2000):
        (data / f"d{i % 20}").mkdir(parents=True, exist_ok=True)
        (data / f"d{i % 20}" / f"r{i}.csv").write_text(
            f"name,email,ssn\nPerson {i},user{i}@corp.example,536-22-{1000 + i:04d}\n"
        )
    env = {
        **os.environ,
        "PERIMETER_DB": str(db),
        "PERIMETER_KEY_FILE": str(home / "fp.key"),
        "PERIMETER_VAULT_KEY_FILE": str(home / "vault.key"),
        "PERIMETER_RATE_BURST": "1000000",
        "PERIMETER_RATE_PER_MINUTE": "100000000",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cli = str(Path(sys.executable).with_name("perimeter"))
    with (home / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [cli, "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    headers = {"Authorization": f"Bearer {key}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        httpx.post(
            f"{base}/v1/sources",
            headers=headers,
            json={"name": "live", "kind": "local", "settings": {"root": str(data)}},
        ).raise_for_status()
        scan = httpx.post(f"{base}/v1/scans", headers=headers, json={"source": "live"}).json()
        latencies: list[float] = []
        errors: list[int] = []
        stop = time.monotonic() + args.seconds

        async def run() -> None:
            await asyncio.gather(
                *(client(base, headers, stop, latencies, errors, i) for i in range(args.clients))
            )

        t0 = time.perf_counter()
        asyncio.run(run())
        elapsed = time.perf_counter() - t0
        status = httpx.get(
            f"{base}/v1/scans/{scan['id']}", headers={"Authorization": f"Bearer {key}"}
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    lat = sorted(latencies)
    print(
        f"{len(lat):,} requests in {elapsed:.1f}s from {args.clients} clients: "
        f"{len(lat) / elapsed:,.0f} req/s"
    )
    print(
        f"latency p50 {statistics.median(lat) * 1000:.1f} ms, "
        f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.1f} ms; non-200: {len(errors)}"
    )
    counters = json.loads(status.text).get("counters", {}) if status.status_code == 200 else {}
    print(f"concurrent scan: {counters.get('items_scanned', '?')} items scanned meanwhile")


if __name__ == "__main__":
    main()
