"""A 2 GiB object in a real S3 server is read only up to the byte cap, and the item says so.

The object is built inside the server: one 8 MiB part carrying the planted SSN and a 64 MiB
filler object are uploaded, then multipart ``UploadPartCopy`` assembles 2 GiB from copies of the
filler without sending them from the test. The scan must fetch ``max_bytes`` (a ranged GET), mark
the item partial with the byte-cap reason, never see the card number planted at the very end,
and stay small in memory.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from classifiers.classifier import ClassifierSettings
from connectors.s3 import S3Connector
from models import ScanStatus, Source
from scanner.sampling import SamplingOptions
from service.runner import run_scan
from service.store import Store

pytestmark = [pytest.mark.s3, pytest.mark.slow]

MiB = 1024 * 1024
GiB = 1024 * MiB
FILLER = 64 * MiB
COPIES = 32  # 32 x 64 MiB = 2 GiB copied inside the server
CAP = 1 * MiB
HEAD = b"ssn on the first line 536-22-1234\n"
TAIL = b"card past the cap 5425233430109903\n"


def _filler(size: int) -> bytes:
    return (b"        \n" * (size // 9 + 1))[:size]


def _rchar() -> int:
    """Bytes this process has read through read() calls, sockets included (Linux)."""
    with open("/proc/self/io") as io_stats:
        return next(int(line.split()[1]) for line in io_stats if line.startswith("rchar:"))


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _tree_rss_kib() -> int:
    """RSS of this process and its children (the scan's worker pool), the S3 server aside."""
    pids = {os.getpid()}
    for task in Path("/proc/self/task").iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    return sum(_rss_kib(pid) for pid in pids if _comm(pid) != "weed")


class _PeakRss(threading.Thread):
    """How far the RSS of this process tree rises above where it started, the S3 server aside.

    The growth, not the total: in a full test run this process already holds whatever earlier
    tests loaded, which says nothing about what the scan costs.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.start_rss = self.peak = _tree_rss_kib()
        self.done = threading.Event()

    @property
    def growth(self) -> int:
        return self.peak - self.start_rss

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, _tree_rss_kib())


def _build_big_object(client: Any, bucket: str, key: str) -> int:
    client.put_object(Bucket=bucket, Key="filler", Body=_filler(FILLER))
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    try:
        first = HEAD + _filler(8 * MiB - len(HEAD))  # parts but the last must be >= 5 MiB
        parts = [
            client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=first)
        ]
        for number in range(2, COPIES + 2):
            copied = client.upload_part_copy(
                Bucket=bucket,
                Key=key,
                UploadId=upload,
                PartNumber=number,
                CopySource={"Bucket": bucket, "Key": "filler"},
            )
            parts.append(copied["CopyPartResult"])
        parts.append(
            client.upload_part(
                Bucket=bucket, Key=key, UploadId=upload, PartNumber=COPIES + 2, Body=TAIL
            )
        )
        client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload,
            MultipartUpload={
                "Parts": [{"PartNumber": n, "ETag": p["ETag"]} for n, p in enumerate(parts, 1)]
            },
        )
    except BaseException:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
        raise
    finally:
        client.delete_object(Bucket=bucket, Key="filler")
    size: int = client.head_object(Bucket=bucket, Key=key)["ContentLength"]
    return size


def test_2gib_object_is_read_up_to_the_cap(
    s3_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
        region_name="us-east-1",
        config=BotoConfig(s3={"addressing_style": "path"}),
    )
    bucket, key = "perimeter-byte-cap", "exports/huge.log"
    client.create_bucket(Bucket=bucket)
    try:
        size = _build_big_object(client, bucket, key)
        assert size == 8 * MiB + COPIES * FILLER + len(TAIL) > 2 * GiB
        target = f"s3://{bucket}/exports/"
        connector = S3Connector(
            S3Connector.config_from_target(
                target,
                {
                    "endpoint_url": s3_server.endpoint_url,
                    "access_key_id": s3_server.access_key,
                    "secret_access_key": s3_server.secret_key,
                },
            )
        )
        store = Store.open(tmp_path / "p.db")
        sampler = _PeakRss()
        sampler.start()
        read_before, started = _rchar(), time.monotonic()
        try:
            scan = asyncio.run(
                run_scan(
                    store,
                    connector,
                    Source(kind="s3", name="big", uri=target),
                    ClassifierSettings(key=b"k" * 32),
                    SamplingOptions(max_bytes=CAP),
                    workers=1,
                )
            )
            (item,) = list(store.items())
        finally:
            read_by_scan = _rchar() - read_before
            sampler.done.set()
            sampler.join()
            store.close()
        print(
            f"\n2 GiB object: scan {time.monotonic() - started:.1f}s, read {read_by_scan / MiB:.1f}"
            f" MiB in the coordinator, RSS growth {sampler.growth / 1024:.0f} MiB (with workers)"
        )
    finally:
        client.delete_object(Bucket=bucket, Key=key)
        client.delete_bucket(Bucket=bucket)  # drops the bucket's volumes, freeing the server
        client.close()
    assert scan.status is ScanStatus.COMPLETED
    assert item["size"] == size
    assert item["bytes_read"] == CAP
    # Everything this process read during the scan (S3 responses, store, listing), in all: a
    # download of the object would be 2 GiB here.
    assert read_by_scan < 64 * MiB
    # KiB: what the scan added (its worker and buffers) stays under 1 GiB; the object is 2 GiB.
    assert sampler.growth < 1024 * 1024
    assert item["status"] == "partial" and "byte cap" in item["error"]
    assert item["types"] == ["US_SSN"]  # the card past the cap was never read
