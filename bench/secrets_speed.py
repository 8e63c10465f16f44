"""Throughput and peak memory of the secret rules on a generated ~50 MB text, beside Kingfisher.

Usage: python bench/secrets_speed.py [--mb 50] [--seed 7] [--backend auto] [--kingfisher PATH]
                                    [--keep DIR]

The text (chat messages, JSON exports, source code, logs, with synthetic credentials planted in
about 1 line in 200) is generated into a temporary directory, never committed. Each measurement
runs in its own child process, so its peak RSS is its own:

- ``secrets``: the secret rules alone, through ``classifiers.engine.DetectorEngine``;
- ``secrets+pii``: the secret rules and every PII pattern (regex) detector; libphonenumber and
  spaCy are not patterns and are left out;
- ``kingfisher``: ``kingfisher scan FILE --no-validate`` (all cores, its default) and with ``-j 1``,
  after one warm-up run on a tiny file (Kingfisher caches its compiled rules).

Our engine runs in one process over 64 KiB chunks cut at line ends (as the extractor hands text
to the classifier), with the default pattern back end (``auto``: one Hyperscan database when
hyperscan is installed) unless ``--backend`` says otherwise; its MB/s counts the scan only, the
one-off pattern compilation is printed apart (built in a fresh cache directory, so it is the
cold build; the text is ASCII, so with Hyperscan only the byte-mode database is built).
Kingfisher's time is the wall time of the whole command.

The machine is often shared, so each line also gives MB per CPU-second (user + system time of
that process, all its threads): on a busy machine that figure moves less than the wall-time one.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_CHUNK = 64 * 1024
_SENTENCE = (
    "the deploy failed again after the migration so I rolled back staging and opened a ticket "
    "for the on-call team please review the dashboard numbers before the weekly sync customer "
    "reported latency spikes in the eu region invoice export is attached let me know if the "
    "quarterly forecast needs another pass we should rotate the service account next sprint"
)
_WORDS = _SENTENCE.split()
_B62 = string.ascii_letters + string.digits
_HEX = "0123456789abcdef"


def _token(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _planted(rng: random.Random) -> str:
    """A synthetic credential in one of several vendor shapes (random values, never real)."""
    kind = rng.randrange(8)
    if kind == 0:
        return "AKIA" + _token(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    if kind == 1:
        return "xoxb-" + _token(rng, "0123456789", 12) + "-" + _token(rng, _B62, 24)
    if kind == 2:
        return "sk_live_" + _token(rng, _B62, 32)
    if kind == 3:
        return "postgres://app:" + _token(rng, _B62, 16) + "@db.internal:5432/app"
    if kind == 4:
        return "glpat-" + _token(rng, _B62 + "_-", 20)
    if kind == 5:
        return "sk-or-v1-" + _token(rng, _HEX, 64)
    if kind == 6:
        return "password = '" + _token(rng, _B62 + "!#%", 14) + "'"
    return "SG." + _token(rng, _B62, 22) + "." + _token(rng, _B62 + "_-", 43)


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _line(rng: random.Random, i: int) -> str:
    kind = i % 4
    if kind == 0:  # chat message
        who = rng.choice(("ana", "bo", "chen", "dmitri", "eve", "farah"))
        stamp = f"[2026-11-{1 + i % 28:02d} 10:{i % 60:02d}]"
        return f"{stamp} @{who}: {_sentence(rng, rng.randint(6, 30))}"
    if kind == 1:  # JSON export record
        record = {
            "id": i,
            "ts": 1760000000 + i,
            "channel": f"C{rng.randrange(10**9):09d}",
            "user": f"U{rng.randrange(10**9):09d}",
            "text": _sentence(rng, rng.randint(4, 20)),
            "reactions": [{"name": "thumbsup", "count": rng.randint(0, 9)}],
            "etag": _token(rng, _HEX, 32),
        }
        return json.dumps(record)
    if kind == 2:  # source code
        name = rng.choice(("retries", "timeout_ms", "page_size", "region", "bucket", "user_id"))
        value = rng.choice((str(rng.randint(1, 5000)), f'"{rng.choice(_WORDS)}"', "None"))
        return f"    {name} = {value}  # {_sentence(rng, rng.randint(2, 8))}"
    level = rng.choice(("INFO", "WARN", "DEBUG", "ERROR"))  # log line
    return (
        f"2026-11-29T23:{i % 60:02d}:{i % 59:02d}.{i % 1000:03d}Z {level} "
        f"req={_token(rng, _HEX, 16)} "
        f"path=/api/v2/items/{rng.randint(1, 10**6)} status={rng.choice((200, 201, 404, 500))} "
        f"dur_ms={rng.randint(1, 900)} ip=10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.7"
    )


def generate(path: Path, megabytes: int, seed: int) -> int:
    """Write the mixed text; returns the number of planted credentials."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    planted = written = i = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            line = _line(rng, i)
            if rng.random() < 0.005:
                line = f"{line} {_planted(rng)}"
                planted += 1
            out.write(line + "\n")
            written += len(line) + 1
            i += 1
    return planted


def _chunks(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + _CHUNK)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        out.append(text[start:end])
        start = end
    return out


def worker(mode: str, path: Path, backend: str) -> None:
    """Child process: build the engine, scan the file, print JSON timings."""
    from classifiers import native
    from classifiers.engine import DetectorEngine, load_specs
    from classifiers.spec import Engine
    from models import Category

    started = time.perf_counter()
    specs = [s for s in load_specs() if s.engine is Engine.REGEX]
    if mode == "secrets":
        specs = [s for s in specs if s.category is Category.SECRET]
    with tempfile.TemporaryDirectory(prefix="perimeter-hs-") as cache:
        engine = DetectorEngine(specs, backend=backend, cache_dir=Path(cache))
        engine.analyze("warm up: builds the pattern database")
    gc.freeze()  # as a Perimeter worker does once its classifier is loaded
    built = time.perf_counter() - started
    chunks = _chunks(path.read_text(encoding="utf-8"))
    started, cpu = time.perf_counter(), time.process_time()
    findings = sum(len(engine.analyze(c)) for c in chunks)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        json.dumps(
            {
                "build": built,
                "seconds": seconds,
                "cpu": cpu,
                "findings": findings,
                "rules": len(specs),
                "backend": engine.scanner.backend,
                "modules": native.describe(),
            }
        )
    )


def _run(cmd: list[str]) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MiB) and stdout of one child."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    beside = Path(sys.executable).with_name("kingfisher")  # pip installs it into the venv
    found = shutil.which("kingfisher") or (str(beside) if beside.exists() else "")
    parser.add_argument("--kingfisher", default=found)
    parser.add_argument("--keep", type=Path, help="write the text here instead of a temp dir")
    parser.add_argument("--backend", default="auto", choices=("auto", "hyperscan", "re2"))
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]), args.backend)
        return

    with tempfile.TemporaryDirectory(prefix="perimeter-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "saas-mixed.txt"
        planted = generate(path, args.mb, args.seed)
        size_mb = path.stat().st_size / 1e6
        print(f"text: {size_mb:.1f} MB, {planted} planted credentials, cpus: {os.cpu_count()}")
        results: dict[str, float] = {}
        per_cpu: dict[str, float] = {}
        for mode in ("secrets", "secrets+pii"):
            cmd = [sys.executable, __file__, "--worker", mode, str(path), "--backend", args.backend]
            _, _, rss, out = _run(cmd)
            data = json.loads(out.strip().splitlines()[-1])
            results[mode] = size_mb / data["seconds"]
            per_cpu[mode] = size_mb / data["cpu"]
            print(
                f"perimeter {mode:<12} {results[mode]:7.2f} MB/s  {per_cpu[mode]:7.2f} MB/cpu-s  "
                f"peak RSS {rss:5d} MiB  {data['findings']} findings, {data['rules']} rules, "
                f"{data['backend']}, {data['modules']}, cold compile {data['build']:.1f} s "
                "(1 process)"
            )
        if not args.kingfisher:
            print("kingfisher: not found (pip install kingfisher-bin); no ratios")
            return
        # Kingfisher compiles and caches its rules on first use: warm that cache on a tiny file
        # so that, like ours (compile printed apart), its figure is the scan.
        warm = folder / "warm.txt"
        warm.write_text("nothing to see here\n", encoding="utf-8")
        _run([args.kingfisher, "scan", str(warm), "--no-validate", "--no-update-check", "-q"])
        for label, extra in (("kingfisher", []), ("kingfisher -j1", ["-j", "1"])):
            report = folder / "kingfisher.json"
            cmd = [
                args.kingfisher, "scan", str(path), "--no-validate", "--no-update-check",
                "--format", "json", "--output", str(report), *extra,
            ]  # fmt: skip
            wall, cpu, rss, _ = _run(cmd)
            results[label] = size_mb / wall
            per_cpu[label] = size_mb / cpu
            print(
                f"{label:<22} {results[label]:7.2f} MB/s  {per_cpu[label]:7.2f} MB/cpu-s  "
                f"peak RSS {rss:5d} MiB  (wall time)"
            )
        for mode in ("secrets", "secrets+pii"):
            for label in ("kingfisher", "kingfisher -j1"):
                print(
                    f"ratio {mode} / {label}: {results[mode] / results[label]:.2f} (MB/s), "
                    f"{per_cpu[mode] / per_cpu[label]:.2f} (MB/cpu-s)"
                )


if __name__ == "__main__":
    main()
