"""Throughput of the detection engine: the RE2-only and Hyperscan back ends, with and without NER.

Usage: python bench/speed_patterns.py ../shared/eval/pii-dev.jsonl [--repeat N] [--ner]

Runs every built-in detector over the set's texts, one by one (as `classify` does) and joined
into one large text, and prints characters per second on one core, the database build time and
the Hyperscan / RE2 ratios (the one-pass "which patterns occur" stage alone, and end to end).
Findings of both back ends are compared: they must be identical.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from classifiers.engine import DetectorEngine, RawMatch, load_specs
from classifiers.spec import Engine


def _key(found: list[RawMatch]) -> list[tuple[str, int, int]]:
    return [(m.spec.id, m.start, m.end) for m in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the set (best kept)")
    parser.add_argument("--ner", action="store_true", help="include spaCy PERSON/LOCATION")
    args = parser.parse_args()
    texts = [json.loads(x)["text"] for x in args.dataset.read_text().splitlines() if x.strip()]
    joined = "\n".join(texts)
    chars = sum(len(t) for t in texts)
    specs = load_specs()
    if not args.ner:
        specs = [s for s in specs if s.engine is not Engine.SPACY]
    patterns = sum(len(s.patterns) for s in specs)
    print(f"{len(specs)} detectors, {patterns} patterns; {len(texts)} texts, {chars:,} chars")
    rates: dict[str, float] = {}
    results: dict[str, list[list[tuple[str, int, int]]]] = {}
    with tempfile.TemporaryDirectory() as cache:
        for backend in ("re2", "hyperscan"):
            engine = DetectorEngine(specs, backend=backend, cache_dir=Path(cache))
            started = time.perf_counter()
            _ = engine.scanner
            built = time.perf_counter() - started
            engine.analyze("warm up, Jane Doe in Paris")
            best_each = best_joined = best_scan = float("inf")
            encoded = [t.encode() for t in texts]
            for _ in range(args.repeat):
                started = time.perf_counter()
                for data in encoded:  # the one-pass stage alone: which patterns occur
                    engine.scanner.scan(data)
                best_scan = min(best_scan, time.perf_counter() - started)
                started = time.perf_counter()
                found = engine.analyze_batch(texts)
                best_each = min(best_each, time.perf_counter() - started)
                started = time.perf_counter()
                engine.analyze(joined)
                best_joined = min(best_joined, time.perf_counter() - started)
            results[backend] = [_key(f) for f in found]
            rates[backend] = chars / best_each
            rates[backend + "-scan"] = chars / best_scan
            print(
                f"{backend:<10} build {built:6.2f}s"
                f"   scan stage {chars / best_scan:>11,.0f} chars/s"
                f"   per text {chars / best_each:>10,.0f} chars/s"
                f"   one text {len(joined) / best_joined:>10,.0f} chars/s"
            )
    scan_ratio = rates["hyperscan-scan"] / rates["re2-scan"]
    print(
        f"hyperscan / re2: scan stage {scan_ratio:.2f}x, end to end (per text) "
        f"{rates['hyperscan'] / rates['re2']:.2f}x"
    )
    same = results["re2"] == results["hyperscan"]
    print(f"identical findings: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
