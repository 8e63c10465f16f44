"""Extraction speed per format, and the peak memory of a scan of the hostile corpus.

Usage: python bench/extract_speed.py [--mib 8] [--workers 2]

Part 1 builds one document of about --mib MiB per format (tests/data/docgen.py and
docgen_extra.py) and times ``extract()`` over it, chunks consumed, classifiers not run: MB/s of
input bytes. Part 2 writes the hostile corpus (tests/data/hostile.py, in a child process), scans
it with the real process pool into a temporary store, prints each item's status and reason, and
samples the resident memory of the whole process tree (coordinator, forkserver, workers) every
50 ms: the peak of the sum is the figure the issue bounds at 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import bz2
import gzip
import lzma
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository first (tests/ has namespace folders named like the packages), then tests/ for
# the tests/data generators.
sys.path[:0] = [str(ROOT)]
sys.path.append(str(ROOT / "tests"))

from data import docgen, docgen_extra  # noqa: E402

from classifiers.classifier import ClassifierSettings  # noqa: E402
from connectors.local import LocalConfig, LocalConnector  # noqa: E402
from models import Source  # noqa: E402
from scanner.extract import extract  # noqa: E402
from scanner.sampling import SamplingOptions  # noqa: E402
from service.runner import run_scan  # noqa: E402
from service.store import Store  # noqa: E402

MiB = 1024 * 1024
SSN = "536-22-1234"


def _rows(n: int) -> list[list[str | int]]:
    return [["name", "email", "ssn"]] + [
        [f"Person {i}", f"p{i}@example.com", SSN if i % 97 == 0 else f"id-{i}"] for i in range(n)
    ]


def documents(mib: int) -> dict[str, tuple[str, bytes]]:
    """format -> (file name, bytes) of roughly ``mib`` MiB of input each."""
    line = f"Employee record {SSN} contact p1@example.com notes about the quarter\n"
    text = (line * (mib * MiB // len(line))).encode()
    csv = b"".join(f"{r[0]},{r[1]},{r[2]}\n".encode() for r in _rows(mib * MiB // 40))
    jsonl = b"".join(
        f'{{"name": "{r[0]}", "email": "{r[1]}", "ssn": "{r[2]}"}}\n'.encode()
        for r in _rows(mib * MiB // 70)
    )
    xml = (
        b"<people>"
        + b"".join(
            f"<p><n>{r[0]}</n><e>{r[1]}</e><s>{r[2]}</s></p>".encode()
            for r in _rows(mib * MiB // 60)
        )
        + b"</people>"
    )
    paras = [line.strip()] * (mib * MiB // 200)
    rows = _rows(mib * MiB // 300)
    return {
        "text": ("a.txt", text),
        "csv": ("a.csv", csv),
        "jsonl": ("a.jsonl", jsonl),
        "xml": ("a.xml", xml),
        "html": ("a.html", b"<html><body>" + text.replace(b"\n", b"<br>\n") + b"</body></html>"),
        "docx": ("a.docx", docgen.docx(paras)),
        "xlsx": ("a.xlsx", docgen.xlsx({"People": rows})),
        "pptx": ("a.pptx", docgen.pptx([(line * 20, line * 5)] * max(1, mib * 20))),
        "pdf": ("a.pdf", docgen.pdf([[line.strip()] * 45] * max(1, mib * 100))),
        "eml": ("a.eml", docgen.eml("report", text.decode()[: mib * MiB // 2], [("a.csv", csv)])),
        "zip(csv)": ("a.zip", docgen.zip_of({"a.csv": csv})),
        "tar(csv)": ("a.tar", docgen.tar_of({"a.csv": csv})),
        "gzip(csv)": ("a.csv.gz", gzip.compress(csv, 6)),
        "bzip2(csv)": ("a.csv.bz2", bz2.compress(csv, 9)),
        "xz(csv)": ("a.csv.xz", lzma.compress(csv)),
        "7z(csv)": ("a.7z", docgen_extra.sevenzip({"a.csv": csv})),
        "parquet": ("a.parquet", _parquet(rows)),
        "odt": ("a.odt", docgen_extra.odt(paras)),
        "ods": ("a.ods", docgen_extra.ods({"People": rows})),
        "odp": ("a.odp", docgen_extra.odp([(line * 20, line * 5)] * max(1, mib * 20))),
        "xls": ("a.xls", docgen_extra.xls({"People": rows[:65_536]})),  # BIFF8: 65,536 rows
    }


def _parquet(rows: list[list[str | int]]) -> bytes:
    # Parquet compresses this table ~10x: widen it so the input is near --mib MiB too.
    header, body = rows[0], rows[1:] * 6
    return docgen_extra.parquet({str(h): [str(r[i]) for r in body] for i, h in enumerate(header)})


def speed(mib: int) -> None:
    print(
        f"{'format':12} {'input MiB':>10} {'chars':>12} {'seconds':>8} {'MB/s':>8} {'Mchar/s':>8}"
    )
    for fmt, (name, data) in documents(mib).items():
        start = time.perf_counter()
        ex = extract(data, name)
        chars = sum(len(c.text) for c in ex.chunks)
        took = time.perf_counter() - start
        note = f"  ({'; '.join(ex.notes)[:60]})" if ex.notes else ""
        size = len(data) / MiB
        rate, crate = len(data) / 1e6 / took, chars / 1e6 / took
        print(f"{fmt:12} {size:10.2f} {chars:12,} {took:8.2f} {rate:8.1f} {crate:8.1f}{note}")


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry)] = int(fields.get("PPid", "0").strip())
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total


def _watch(stop: threading.Event, peak: list[int]) -> None:
    me = os.getpid()
    while not stop.is_set():
        peak[0] = max(peak[0], _tree_rss(me))
        stop.wait(0.05)


def _build_corpus(root: Path) -> dict[str, str]:
    """Write the corpus from a child process: building the bombs costs hundreds of MiB that
    would otherwise stay in this process and be counted as the scan's memory."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "data" / "hostile.py"), str(root)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {line.split()[2]: line.split()[0] for line in out.splitlines() if line.strip()}


def hostile_scan(workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        kinds = _build_corpus(root)
        store = Store.open(Path(tmp) / "bench.db")
        peak = [0]
        stop = threading.Event()
        watcher = threading.Thread(target=_watch, args=(stop, peak), daemon=True)
        watcher.start()
        start = time.perf_counter()
        try:
            scan = asyncio.run(
                run_scan(
                    store,
                    LocalConnector(LocalConfig(root=root)),
                    Source(kind="local", name="hostile", uri=root.as_uri()),
                    ClassifierSettings(key=os.urandom(32)),
                    SamplingOptions(),
                    workers=workers,
                )
            )
            took = time.perf_counter() - start
            items = {Path(r["path"]).name: r for r in store.items()}
        finally:
            stop.set()
            watcher.join()
            store.close()
        print(f"\nhostile corpus: {len(kinds)} items, scan {scan.status.value} in {took:.1f}s")
        unexplained = 0
        for name, kind in kinds.items():
            item = items[name]
            ok = item["status"] != "ok" and bool(item["error"]) if kind == "limited" else True
            unexplained += not ok
            reason = (item["error"] or "")[:90]
            print(f"  {'ok ' if ok else 'BAD'} {item['status']:8} {name:26} {reason}")
        print(f"peak RSS of the process tree: {peak[0] / MiB:,.0f} MiB (target < 1024 MiB)")
        print(f"hostile items without a limit and a reason: {unexplained}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=8, help="size of each speed document")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-scan", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_speed:
        speed(args.mib)
        if not args.skip_scan:
            # A fresh process: the speed documents and the heap they grew would otherwise be
            # counted in the scan's peak memory.
            sys.stdout.flush()
            script = [sys.executable, __file__, "--skip-speed", "--workers", str(args.workers)]
            subprocess.run(script, check=True)
        return
    if not args.skip_scan:
        hostile_scan(args.workers)


if __name__ == "__main__":
    main()
