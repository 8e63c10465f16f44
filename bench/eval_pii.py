"""PII detection quality on a labelled JSON Lines set, and throughput, through the classifier.

Usage: python bench/eval_pii.py ../shared/eval/pii-dev.jsonl [--cover]

Input lines: {"id", "text", "spans": [{"start", "end", "label"}]}. A prediction counts as a true
positive when it overlaps a gold span of the same (mapped) type. Prints per-type precision,
recall and F1, the micro average, and characters per second.

``--cover`` also prints the table scored by coverage: a gold span is found when a prediction of
its type overlaps it, even if that prediction already matched another gold span. pii-dev cuts
some multi-line addresses into fragments ("3657", "Laukaantie 80", "Apt. 030", "11507"); one
finding over the whole address then covers all of them instead of matching one and missing
three. A prediction that overlaps no gold span of its type is still a false positive.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

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
    parser.add_argument("--cover", action="store_true", help="also score by gold coverage")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.dataset.read_text().splitlines() if line.strip()]
    clf = Classifier(DetectorEngine.builtin(), Policy.load(), b"bench-key" * 4)
    clf.findings("warm up the NER model, Jane Doe")

    started = time.perf_counter()
    predictions = clf.findings_batch([r["text"] for r in rows])
    elapsed = time.perf_counter() - started
    spans = [
        [(f.type, f.start, f.end) for f in found if f.start is not None and f.end is not None]
        for found in predictions
    ]
    counts = score(rows, spans)
    print_table(counts)
    if args.cover:
        print("\nscored by coverage (a finding may cover several gold fragments):")
        print_table(score(rows, spans, cover=True))
    chars = sum(len(r["text"]) for r in rows)
    print(
        f"\n{len(rows)} texts, {chars:,} chars in {elapsed:.2f}s: "
        f"{chars / elapsed:,.0f} chars/s on one core"
    )


Counts = tuple[Counter[str], Counter[str], Counter[str]]  # true positives, false positives, misses


def score(
    rows: list[dict[str, Any]],
    predictions: list[list[tuple[str, int, int]]],
    mapping: dict[str, str] = MAPPING,
    cover: bool = False,
) -> Counts:
    """Score (type, start, end) predictions per row against the gold spans.

    A prediction counts as a true positive when it overlaps a gold span of the label its type
    maps to (each gold span matched once); types without a mapping are not scored. With
    ``cover``, a prediction marks every gold span of its label it overlaps as found (true
    positives then count gold spans found, false positives predictions that overlap none).
    """
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    labels = set(mapping.values())
    for row, found in zip(rows, predictions, strict=True):
        gold = [s for s in row["spans"] if s["label"] in labels]
        matched: set[int] = set()
        for kind, start, end in found:
            label = mapping.get(kind)
            if label is None:
                continue
            hit = next(
                (
                    i
                    for i, g in enumerate(gold)
                    if g["label"] == label and start < g["end"] and g["start"] < end
                ),
                None,
            )
            if cover:
                overlapped = [
                    i
                    for i, g in enumerate(gold)
                    if g["label"] == label and start < g["end"] and g["start"] < end
                ]
                if not overlapped:
                    fp[label] += 1
                for i in overlapped:
                    if i not in matched:
                        matched.add(i)
                        tp[label] += 1
                continue
            if hit is None:
                fp[label] += 1
            elif hit not in matched:
                matched.add(hit)
                tp[label] += 1
        for i, g in enumerate(gold):
            if i not in matched:
                fn[g["label"]] += 1
    return tp, fp, fn


def f1(counts: Counts) -> float:
    tp, fp, fn = (sum(c.values()) for c in counts)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def print_table(counts: Counts, labels: set[str] | None = None) -> None:
    tp, fp, fn = counts
    labels = labels or set(MAPPING.values())
    print(f"{'label':<20}{'P':>7}{'R':>7}{'F1':>7}{'TP':>6}{'FP':>6}{'FN':>6}")
    for label in sorted(labels):
        print(_line(label, tp[label], fp[label], fn[label]))
    print(_line("micro", sum(tp.values()), sum(fp.values()), sum(fn.values())))


def _line(label: str, tp: int, fp: int, fn: int) -> str:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return f"{label:<20}{p:>7.3f}{r:>7.3f}{f1:>7.3f}{tp:>6}{fp:>6}{fn:>6}"


if __name__ == "__main__":
    main()
