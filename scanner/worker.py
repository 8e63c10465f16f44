"""What runs in worker processes: extraction and classification of one item's bytes.

CPU work happens here, away from the event loop; the coordinator only does I/O. Each worker
builds its Classifier once (compiled patterns, the spaCy model loaded on first need).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from classifiers.classifier import Classifier, ClassifierSettings
from models import Classification, Finding, ItemStatus
from models.errors import ExtractionError
from scanner.extract import Chunk, Unsupported, extract

_classifier: Classifier | None = None
_settings: ClassifierSettings | None = None

NER_BATCH = 32


def init_worker(settings: ClassifierSettings) -> None:
    """Process-pool initializer: remember the settings; the Classifier is built on first use."""
    global _settings, _classifier
    _settings, _classifier = settings, None


def classifier() -> Classifier:
    global _classifier
    if _classifier is None:
        if _settings is None:
            raise RuntimeError("worker used before init_worker()")
        _classifier = Classifier.from_settings(_settings)
    return _classifier


@dataclass
class ContentResult:
    """Worker output for one item; findings carry masked evidence and fingerprints only."""

    status: ItemStatus
    classification: Classification
    content_type: str | None = None
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)


def scan_content(data: bytes, truncated: bool, path: str, uri: str) -> ContentResult:
    """Extract, classify and label one item. Never raises for bad content."""
    clf = classifier()
    notes: list[str] = []
    if truncated:
        notes.append(f"read only the first {len(data):,} bytes (byte cap)")
    try:
        extraction = extract(data, path, truncated)
        findings = _classify_chunks(clf, extraction.chunks)
    except Unsupported as exc:
        return ContentResult(ItemStatus.SKIPPED, clf.classify([], None), None, str(exc))
    except ExtractionError as exc:
        return ContentResult(ItemStatus.FAILED, clf.classify([], None), None, str(exc))
    notes.extend(extraction.notes)
    status = ItemStatus.PARTIAL if notes else ItemStatus.OK
    return ContentResult(
        status=status,
        classification=clf.classify(findings, uri),
        content_type=extraction.content_type,
        error="; ".join(notes) or None,
        findings=findings,
    )


def _classify_chunks(clf: Classifier, chunks: Iterable[Chunk]) -> list[Finding]:
    findings: list[Finding] = []
    batch: list[Chunk] = []

    def flush() -> None:
        for chunk, found in zip(batch, clf.findings_batch([c.text for c in batch]), strict=True):
            for f in found:
                where = chunk.locate(f.start or 0)
                findings.append(f.model_copy(update={"location": where}))
        batch.clear()

    for chunk in chunks:
        batch.append(chunk)
        if len(batch) >= NER_BATCH:
            flush()
    if batch:
        flush()
    return findings


def classify_texts(texts: list[str]) -> list[tuple[list[Finding], Classification]]:
    """The `classify` contract for a batch: findings (offsets into each text) and the level."""
    clf = classifier()
    return [(found, clf.classify(found)) for found in clf.findings_batch(texts)]
