"""The classify contract, shared by `perimeter classify` and `POST /v1/classify`.

Input: JSON Lines ``{"id": <any>, "text": <string>}``. Output: one JSON line per input line, in
order: ``{"id", "level", "findings": [{"type", "category", "start", "end", "score", "detector",
"evidence"}]}``, or ``{"id", "error"}`` for a line that is not such an object.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from scanner.worker import classify_texts


def parse_line(number: int, line: str) -> tuple[Any, str | None, str | None]:
    """(id, text, error) of one input line."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, None, f"line {number}: invalid JSON ({exc.msg})"
    if not isinstance(obj, dict):
        return None, None, f"line {number}: expected an object with id and text"
    text = obj.get("text")
    if not isinstance(text, str):
        return obj.get("id"), None, f"line {number}: 'text' must be a string"
    return obj.get("id"), text, None


Parsed = list[tuple[Any, str | None, str | None]]


def batches(lines: Iterable[str], size: int) -> Iterator[Parsed]:
    batch: Parsed = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        batch.append(parse_line(number, line))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def classify_batch(parsed: Parsed, explain: bool = False) -> list[str]:
    """Runs in a worker: classify the good lines of a batch, render every line."""
    texts = [text for _, text, error in parsed if error is None and text is not None]
    results = iter(classify_texts(texts, explain))
    rendered = []
    for ident, _text, error in parsed:
        if error is not None:
            rendered.append(json.dumps({"id": ident, "error": error}))
            continue
        findings, classification = next(results)
        rendered.append(
            json.dumps(
                {
                    "id": ident,
                    "level": classification.level.value,
                    "findings": [
                        {
                            "type": f.type,
                            "category": f.category.value,
                            "start": f.start,
                            "end": f.end,
                            "score": f.score,
                            "detector": f.detector,
                            "evidence": f.evidence,
                        }
                        | (
                            {"likelihood": f.likelihood, "explain": f.trace}
                            if explain and f.likelihood
                            else {}
                        )
                        for f in findings
                    ],
                }
            )
        )
    return rendered
