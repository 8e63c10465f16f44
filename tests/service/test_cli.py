"""The command line as users and CI jobs call it: a real process, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PERIMETER = str(Path(sys.executable).with_name("perimeter"))


def run(
    *args: str, stdin: str | None = None, timeout: int = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PERIMETER, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "people.csv").write_text(
        "name,email,ssn\nAlice Walker,alice@corp.example,536-22-1234\n"
    )
    (root / "readme.txt").write_text("Nothing to see here.\n")
    return root


def test_scan_then_map_items(workspace: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    scan = run("scan", str(workspace), "--db", str(db))
    assert scan.returncode == 0, scan.stderr
    assert "2 items scanned" in scan.stdout
    listed = run("map", "--db", str(db), "--items", "--format", "jsonl")
    assert listed.returncode == 0, listed.stderr
    records = {Path(r["uri"]).name: r for r in map(json.loads, listed.stdout.splitlines())}
    assert records["people.csv"]["level"] == "restricted"
    assert "US_SSN" in records["people.csv"]["types"]
    assert records["people.csv"]["error"] is None
    assert records["readme.txt"]["level"] == "internal"
    summary = json.loads(run("map", "--db", str(db), "--format", "json").stdout)
    assert {(r["level"], r["items"]) for r in summary} == {("restricted", 1), ("internal", 1)}


def test_file_uri_target_and_db_from_environment(workspace: Path) -> None:
    scan = run("scan", workspace.as_uri())
    assert scan.returncode == 0, scan.stderr
    assert run("map", "--items", "-f", "jsonl").stdout.count("\n") == 2


@pytest.mark.parametrize(
    ("level", "code"), [("restricted", 3), ("confidential", 3), ("internal", 3)]
)
def test_fail_on_gates_ci(workspace: Path, level: str, code: int) -> None:
    assert run("scan", str(workspace), "--fail-on", level, "-q").returncode == code


def test_fail_on_passes_when_nothing_reaches_the_level(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("just words\n")
    assert run("scan", str(tmp_path / "ok.txt"), "--fail-on", "confidential", "-q").returncode == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["scan", "/no/such/dir"], 1, "no such file or directory", id="bad-target"),
        pytest.param(
            ["scan", "s3://perimeter-test-bucket", "--endpoint-url", "http://127.0.0.1:9"],
            1,
            "127.0.0.1:9",
            id="unreachable-endpoint",
        ),
        pytest.param(["scan", "gopher://x/y"], 2, "no connector for gopher", id="unknown-scheme"),
        pytest.param(["scan"], 2, "Missing argument", id="usage"),
        pytest.param(["scan", ".", "--budget", "0"], 2, "budget", id="bad-option"),
        pytest.param(
            ["scan", ".", "--policy", "/no/policy.yaml"], 2, "no such file", id="missing-policy"
        ),
        pytest.param(
            ["map", "--db", "/nonexistent/dir/x.db"], 2, "no store here yet", id="map-without-store"
        ),
    ],
)
def test_errors_are_one_line_with_the_right_exit_code(
    args: list[str], code: int, message: str
) -> None:
    creds = {"AWS_ACCESS_KEY_ID": "perimeter", "AWS_SECRET_ACCESS_KEY": "not-a-real-secret"}
    result = run(*args, timeout=60, env=creds)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_classify_contract() -> None:
    lines = [
        {"id": 1, "text": "SSN 536-22-1234, card 4111 1111 1111 1111"},
        {"id": "b", "text": "Margaret Thompson, margaret@example.org"},
        {"id": [1, 2], "text": "nothing here"},
        {"id": None, "text": ""},
    ]
    stdin = "".join(json.dumps(x) + "\n" for x in lines) + "not json\n" + '{"id": 5}\n'
    result = run("classify", stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, "b", [1, 2], None, None, 5]
    assert out[0]["level"] == "restricted"
    ssn = next(f for f in out[0]["findings"] if f["type"] == "US_SSN")
    assert lines[0]["text"][ssn["start"] : ssn["end"]] == "536-22-1234"
    assert ssn["evidence"] == "***-**-1234" and ssn["category"] == "pii"
    assert set(ssn) == {"type", "category", "start", "end", "score", "detector", "evidence"}
    assert out[1]["level"] == "confidential"
    assert out[2] == {"id": [1, 2], "level": "internal", "findings": []}
    assert "invalid JSON" in out[4]["error"] and "text" in out[5]["error"]
    assert "536-22-1234" not in result.stdout and "4111 1111 1111 1111" not in result.stdout


def test_classify_streams_many_batches_in_order(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    with path.open("w") as fh:
        for i in range(600):
            text = f"row {i} ssn 536-22-{1000 + i:04d}" if i % 3 == 0 else f"row {i} plain"
            fh.write(json.dumps({"id": i, "text": text}) + "\n")
    result = run("classify", str(path), "--batch", "50", "--workers", "2")
    assert result.returncode == 0, result.stderr
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o["id"] for o in out] == list(range(600))
    assert [o["level"] for o in out[:3]] == ["restricted", "internal", "internal"]


def test_connectors_lists_kinds_with_schemas() -> None:
    schemas = json.loads(run("connectors").stdout)
    assert {"local", "s3"} <= set(schemas)
    assert "root" in schemas["local"]["properties"]


def test_demo_scans_fake_workspace_into_every_level(tmp_path: Path) -> None:
    from service.demo_workspace import EXPECTED_LEVELS

    db = tmp_path / "demo.db"
    result = run("demo", "--dir", str(tmp_path / "ws"), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "Data map" in result.stdout and "perimeter map --items" in result.stdout
    records = json.loads(run("map", "--db", str(db), "--items", "-f", "json").stdout)
    root = (tmp_path / "ws").resolve().as_uri() + "/"
    levels = {r["uri"].removeprefix(root): r["level"] for r in records}
    assert levels == EXPECTED_LEVELS
    assert {"restricted", "confidential", "internal", "public"} <= set(levels.values())
    assert all(r["error"] is None for r in records)


@pytest.mark.s3
def test_scan_s3_bucket_end_to_end(s3_server: Any, tmp_path: Path) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="cli-e2e")
    client.put_object(
        Bucket="cli-e2e",
        Key="exports/people.csv",
        Body=b"name,email,ssn\nAlice Walker,alice@corp.example,536-22-1234\n",
    )
    client.put_object(Bucket="cli-e2e", Key="exports/big.log", Body=b"x" * 300_000)
    client.put_object(Bucket="cli-e2e", Key="readme.txt", Body=b"hello\n")
    env = {
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "AWS_REGION": "us-east-1",
    }
    db = tmp_path / "s3.db"
    result = run(
        "scan",
        "s3://cli-e2e",
        "--endpoint-url",
        s3_server.endpoint_url,
        "--db",
        str(db),
        "--max-bytes",
        "100000",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    records = json.loads(run("map", "--db", str(db), "--items", "-f", "json").stdout)
    by_key = {r["uri"]: r for r in records}
    assert by_key["s3://cli-e2e/exports/people.csv"]["level"] == "restricted"
    assert by_key["s3://cli-e2e/exports/people.csv"]["exposure"] == "private"
    assert by_key["s3://cli-e2e/exports/big.log"]["status"] == "partial"
    assert by_key["s3://cli-e2e/exports/big.log"]["bytes_read"] == 100_000
    assert by_key["s3://cli-e2e/readme.txt"]["level"] == "internal"
    bad = run(
        "scan",
        "s3://cli-e2e",
        "--endpoint-url",
        s3_server.endpoint_url,
        env={**env, "AWS_SECRET_ACCESS_KEY": "wrong-secret"},
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "secret access key" in bad.stderr
