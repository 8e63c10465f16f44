"""PII detection quality on a labelled JSON Lines set, and throughput, through the classifier.

Usage: python bench/eval_pii.py ../shared/eval/pii-dev.jsonl [--workers N]

Input lines: {"id", "text", "spans": [{"start", "end", "label"}]}. A prediction counts as a true
positive when it overlaps a gold span of the same (mapped) type. Prints per-type precision,
recall and F1, the micro average, and characters per second.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from classifiers.classifier import Classifier
from classifiers.engine import DetectorEngine
from classifiers.policy import Policy

# Our type -> the label the set uses for it.
MAPPING = {
    "PERSON": "PERSON",
    "STREET_ADDRESS": "STREET_ADDRESS",
    "LOCATION": "GPE",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN",
    "IBAN_CODE": "IBAN_CODE",
    "IP_ADDRESS": "IP_ADDRESS",
    "DATE_TIME": "DATE_TIME",
    "DATE_OF_BIRTH": "DATE_TIME",
    "URL": "DOMAIN_NAME",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.dataset.read_text().splitlines() if line.strip()]
    clf = Classifier(DetectorEngine.builtin(), Policy.load(), b"bench-key" * 4)
    clf.findings("warm up the NER model, Jane Doe")

    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    started = time.perf_counter()
    predictions = clf.findings_batch([r["text"] for r in rows])
    elapsed = time.perf_counter() - started
    labels = set(MAPPING.values())
    for row, found in zip(rows, predictions, strict=True):
        gold = [s for s in row["spans"] if s["label"] in labels]
        matched: set[int] = set()
        for f in found:
            label = MAPPING.get(f.type)
            if label is None:
                continue
            hit = next(
                (
                    i
                    for i, g in enumerate(gold)
                    if g["label"] == label and f.start < g["end"] and g["start"] < f.end
                ),
                None,
            )
            if hit is None:
                fp[label] += 1
            elif hit not in matched:
                matched.add(hit)
                tp[label] += 1
        for i, g in enumerate(gold):
            if i not in matched:
                fn[g["label"]] += 1

    print(f"{'label':<20}{'P':>7}{'R':>7}{'F1':>7}{'TP':>6}{'FP':>6}{'FN':>6}")
    for label in sorted(labels):
        print(_line(label, tp[label], fp[label], fn[label]))
    print(_line("micro", sum(tp.values()), sum(fp.values()), sum(fn.values())))
    chars = sum(len(r["text"]) for r in rows)
    print(
        f"\n{len(rows)} texts, {chars:,} chars in {elapsed:.2f}s: "
        f"{chars / elapsed:,.0f} chars/s on one core"
    )


def _line(label: str, tp: int, fp: int, fn: int) -> str:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return f"{label:<20}{p:>7.3f}{r:>7.3f}{f1:>7.3f}{tp:>6}{fp:>6}{fn:>6}"


if __name__ == "__main__":
    main()
