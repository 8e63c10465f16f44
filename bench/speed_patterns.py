"""Throughput of the detection engine: the RE2-only and Hyperscan back ends, with and without NER.

Usage: python bench/speed_patterns.py ../shared/eval/pii-dev.jsonl [--repeat N] [--ner]

Runs every built-in detector but spaCy's (and Presidio's, an optional extra) over the set's
texts, one by one (as `classify` does) and joined into one large text, and prints characters per
second on one core, the cold database build time (in a fresh cache directory; Hyperscan
builds one database for ASCII texts and one for the others) and the Hyperscan / RE2 ratios
(the one-pass "which patterns occur" stage alone, and end to end). It also splits the per-text
time of the Hyperscan engine into its stages: regex patterns (scan, RE2 spans, validators,
context), libphonenumber, and the rest (street addresses, overlaps).
Findings of both back ends are compared: they must be identical.

Rates are best-of-N wall time; "cpu" rates use this process's CPU time, which moves less when
the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from classifiers.engine import DetectorEngine, RawMatch, load_specs
from classifiers.spec import Engine


def _key(found: list[RawMatch]) -> list[tuple[str, int, int]]:
    return [(m.spec.id, m.start, m.end) for m in found]


def _best(
    repeat: int, run: Callable[[], object], engine: DetectorEngine | None = None
) -> tuple[float, float]:
    """Best wall and best CPU seconds of ``repeat`` runs, each from an engine that has forgotten
    the values of the runs before (``DetectorEngine.clear_caches``)."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        if engine is not None:
            engine.clear_caches()
        started, cpu_started = time.perf_counter(), time.process_time()
        run()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - cpu_started)
    return wall, cpu


def _measure(
    engine: DetectorEngine, texts: list[str], joined: str, repeat: int
) -> tuple[float, float, float, float]:
    """CPU seconds of the scan stage; wall and CPU seconds per text; wall seconds joined."""
    encoded = [t.encode() for t in texts]
    _, scan_cpu = _best(repeat, lambda: [engine.scanner.scan(d) for d in encoded])
    each, each_cpu = _best(repeat, lambda: engine.analyze_batch(texts), engine)
    one, _ = _best(repeat, lambda: engine.analyze(joined), engine)
    return scan_cpu, each, each_cpu, one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the set (best kept)")
    parser.add_argument("--ner", action="store_true", help="include spaCy PERSON/LOCATION")
    args = parser.parse_args()
    texts = [json.loads(x)["text"] for x in args.dataset.read_text().splitlines() if x.strip()]
    joined = "\n".join(texts)
    chars = sum(len(t) for t in texts)
    skip = {Engine.PRESIDIO} | (set() if args.ner else {Engine.SPACY})
    specs = [s for s in load_specs() if s.engine not in skip]
    patterns = sum(len(s.patterns) for s in specs)
    print(f"{len(specs)} detectors, {patterns} patterns; {len(texts)} texts, {chars:,} chars")
    rates: dict[str, float] = {}
    results: dict[str, list[list[tuple[str, int, int]]]] = {}
    engines: dict[str, DetectorEngine] = {}
    with tempfile.TemporaryDirectory() as cache:
        for backend in ("re2", "hyperscan"):
            engine = DetectorEngine(specs, backend=backend, cache_dir=Path(cache))
            engines[backend] = engine
            started = time.perf_counter()
            _ = engine.scanner
            # Hyperscan builds its byte-mode database on the first ASCII text and its UTF-8
            # one on the first other text: both count in the cold build.
            engine.analyze("warm up, Jane Doe in Paris")
            engine.analyze("warm up, Zoë Müller in Zürich")
            built = time.perf_counter() - started
            scan_cpu, each, each_cpu, one = _measure(engine, texts, joined, args.repeat)
            results[backend] = [_key(f) for f in engine.analyze_batch(texts)]
            rates[backend] = chars / each
            rates[backend + "-cpu"] = chars / each_cpu
            rates[backend + "-scan"] = chars / scan_cpu
            print(
                f"{backend:<10} build {built:6.2f}s"
                f"   scan stage {chars / scan_cpu:>11,.0f} chars/cpu-s"
                f"   per text {chars / each:>10,.0f} chars/s ({chars / each_cpu:,.0f} cpu)"
                f"   one text {len(joined) / one:>10,.0f} chars/s"
            )
    hs = engines["hyperscan"]
    _, regex_cpu = _best(args.repeat, lambda: [hs._patterns(t) for t in texts])
    _, phone_cpu = _best(args.repeat, lambda: [hs._phones(t) for t in texts])
    total = chars / rates["hyperscan-cpu"]
    print(
        f"hyperscan per-text CPU time: regex patterns {regex_cpu:.3f}s, "
        f"libphonenumber {phone_cpu:.3f}s, rest {max(0.0, total - regex_cpu - phone_cpu):.3f}s "
        f"(of {total:.3f}s); regex patterns alone {chars / regex_cpu:,.0f} chars/cpu-s"
    )
    scan_ratio = rates["hyperscan-scan"] / rates["re2-scan"]
    cpu_ratio = rates["hyperscan-cpu"] / rates["re2-cpu"]
    print(
        f"hyperscan / re2: scan stage {scan_ratio:.2f}x, end to end (per text) "
        f"{rates['hyperscan'] / rates['re2']:.2f}x ({cpu_ratio:.2f}x cpu)"
    )
    same = results["re2"] == results["hyperscan"]
    print(f"identical findings: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
