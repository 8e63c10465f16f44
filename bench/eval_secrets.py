"""Secret detection quality on a labelled JSON Lines set: recall and negatives flagged, per rule.

Usage: python bench/eval_secrets.py ../shared/eval/secrets-dev.jsonl [--misses]

Input lines: {"rule", "label", "text", "also_positive_for"}. A positive counts as found when the
text yields at least one finding of category ``secret``; a negative counts as flagged when it
yields any. Negatives whose ``also_positive_for`` is non-empty hold a real secret of another kind
and are ignored (see the set's README). The set's ``rule`` names are only used to group lines;
our detectors are not mapped to them.

The engine runs every built-in pattern detector (PII included, so that overlap resolution is
the one a scan applies) except the spaCy ones, which never report secrets. Raw values are never
printed: ``--misses`` shows line numbers, the set's rule and, for flagged negatives, our detector.
Values failing a strict check are reported at a lower score (see docs/secrets.md), so the summary
also counts found positives and flagged negatives by the likelihood of their strongest finding.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifiers.engine import DetectorEngine, load_specs
from classifiers.spec import Engine
from models import Category, Likelihood


@dataclass
class Tally:
    positives: int = 0
    found: int = 0
    negatives: int = 0
    flagged: int = 0
    missed_lines: list[int] = field(default_factory=list)
    flagged_lines: list[tuple[int, str]] = field(default_factory=list)
    # likelihood of the strongest secret finding -> lines; shows how much is reported lower
    found_by: Counter[Likelihood] = field(default_factory=Counter)
    flagged_by: Counter[Likelihood] = field(default_factory=Counter)


def evaluate(rows: list[dict[str, object]], engine: DetectorEngine) -> dict[str, Tally]:
    """Tally per set rule; the key ``""`` holds the overall figures."""
    tallies: dict[str, Tally] = {"": Tally()}
    for number, row in enumerate(rows, start=1):
        text = str(row["text"])
        secrets = [m for m in engine.analyze(text) if m.spec.category is Category.SECRET]
        secret_ids = sorted({m.spec.id for m in secrets})
        top = max(secrets, key=lambda m: m.score).likelihood if secrets else None
        for key in ("", str(row["rule"])):
            t = tallies.setdefault(key, Tally())
            if row["label"] == "positive":
                t.positives += 1
                t.found += bool(secret_ids)
                if not secret_ids:
                    t.missed_lines.append(number)
                elif top is not None:
                    t.found_by[top] += 1
            elif not row.get("also_positive_for"):
                t.negatives += 1
                t.flagged += bool(secret_ids)
                if secret_ids:
                    t.flagged_lines.append((number, ",".join(secret_ids)))
                if top is not None:
                    t.flagged_by[top] += 1
    return tallies


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--misses", action="store_true", help="list missed and flagged lines")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.dataset.read_text().splitlines() if line.strip()]
    engine = DetectorEngine([s for s in load_specs() if s.engine is not Engine.SPACY])
    engine.analyze("warm up: builds the pattern database once")
    started = time.perf_counter()
    tallies = evaluate(rows, engine)
    elapsed = time.perf_counter() - started

    print(f"{'set rule':<42}{'recall':>8}{'found':>7}{'pos':>5}{'flagged':>9}{'neg':>5}")
    for rule in sorted(k for k in tallies if k):
        t = tallies[rule]
        print(
            f"{rule:<42}{_ratio(t.found, t.positives):>8}{t.found:>7}{t.positives:>5}"
            f"{_ratio(t.flagged, t.negatives):>9}{t.negatives:>5}"
        )
        if args.misses:
            for line in t.missed_lines:
                print(f"    missed  line {line}")
            for line, ids in t.flagged_lines:
                print(f"    flagged line {line} by {ids}")
    total = tallies[""]
    print()
    print(
        f"overall: recall {_ratio(total.found, total.positives)} "
        f"({total.found}/{total.positives} positives found), "
        f"negatives flagged {_ratio(total.flagged, total.negatives)} "
        f"({total.flagged}/{total.negatives}); "
        f"{len(engine.specs)} pattern detectors, {elapsed:.2f} s"
    )
    order = list(Likelihood)[::-1]  # VERY_LIKELY first
    for label, counts in (("found", total.found_by), ("flagged", total.flagged_by)):
        parts = ", ".join(f"{k.value} {counts[k]}" for k in order if counts[k])
        print(f"  {label} by likelihood of the strongest finding: {parts or '-'}")


if __name__ == "__main__":
    main()
