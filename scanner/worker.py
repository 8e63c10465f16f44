"""What runs in worker processes: extraction and classification of one item's bytes.

CPU work happens here, away from the event loop; the coordinator only does I/O. Each worker
builds its Classifier once (compiled patterns, the spaCy model loaded on first need).
"""

from __future__ import annotations

import faulthandler
import gc
import os
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from classifiers.classifier import Classifier, ClassifierSettings
from models import Classification, Finding, ItemStatus
from models.errors import ExtractionError
from scanner.extract import Chunk, Unsupported, extract
from scanner.limits import ExtractLimits

_classifier: Classifier | None = None
_settings: ClassifierSettings | None = None

NER_BATCH = 32


_worker_pid: int | None = None


def init_worker(settings: ClassifierSettings) -> None:
    """Process-pool initializer: remember the settings; the Classifier is built on first use."""
    global _settings, _classifier
    _settings, _classifier = settings, None


def init_pool_worker(settings: ClassifierSettings) -> None:
    """Initializer of a disposable pool process: like init_worker, and allows the watchdog."""
    global _worker_pid
    init_worker(settings)
    _worker_pid = os.getpid()


def classifier() -> Classifier:
    global _classifier
    if _classifier is None:
        if _settings is None:
            raise RuntimeError("worker used before init_worker()")
        _classifier = Classifier.from_settings(_settings)
        # Load the lazily built parts (the NER model) now, so that the first item's time limit
        # measures that item, not a model load on a busy machine.
        _classifier.findings_batch(["Warm-up text for Ms. Jane Doe in Springfield."])
        # Everything allocated so far (models, compiled rules, metadata) lives as long as the
        # process: frozen out of the collector's full passes, which walked it all each time
        # (about 180 ms a pass with the NER model loaded; 9% of the CPU of classifying
        # short texts).
        gc.freeze()
    return _classifier


@dataclass
class ContentResult:
    """Worker output for one item; findings carry masked evidence and fingerprints only."""

    status: ItemStatus
    classification: Classification
    content_type: str | None = None
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)


# Past the cooperative deadline (checked by the extractors) an alarm interrupts Python code;
# past this much more, a watchdog thread in C (faulthandler) ends the process, which also stops
# native code that never returns to Python. The executor then replaces the worker.
ALARM_GRACE = 5.0
KILL_GRACE = 15.0


class ItemTimeout(BaseException):
    """Raised by the alarm in a worker. A BaseException, so parsers' ``except Exception``
    cannot swallow it."""


def scan_content(
    data: bytes, truncated: bool, path: str, uri: str, limits: ExtractLimits | None = None
) -> ContentResult:
    """Extract, classify and label one item. Never raises for bad content."""
    limits = limits or ExtractLimits()
    clf = classifier()
    notes: list[str] = []
    if truncated:
        notes.append(f"read only the first {len(data):,} bytes (byte cap)")
    try:
        with _time_limit(limits.seconds):
            extraction = extract(data, path, truncated, limits)
            findings = _classify_chunks(clf, extraction.chunks)
    except Unsupported as exc:
        return ContentResult(ItemStatus.SKIPPED, clf.classify([], None), None, str(exc))
    except ExtractionError as exc:
        return ContentResult(ItemStatus.FAILED, clf.classify([], None), None, str(exc))
    except ItemTimeout:
        message = f"gave up after {limits.seconds + ALARM_GRACE:g}s (time limit per item)"
        return ContentResult(ItemStatus.FAILED, clf.classify([], None), None, message)
    notes.extend(extraction.notes)
    status = ItemStatus.PARTIAL if notes else ItemStatus.OK
    return ContentResult(
        status=status,
        classification=clf.classify(findings, uri),
        content_type=extraction.content_type,
        error=_summary(notes),
        findings=findings,
    )


def _summary(notes: list[str], keep: int = 5) -> str | None:
    """The first few reasons; a bomb can produce hundreds of identical ones."""
    if not notes:
        return None
    more = f" (and {len(notes) - keep} more)" if len(notes) > keep else ""
    return "; ".join(notes[:keep]) + more


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Alarm and watchdog around one item, in a pool worker's main thread only."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield  # a thread pool (Dask, tests): the extractors' cooperative deadline still holds
        return

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise ItemTimeout

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds + ALARM_GRACE)
    watchdog = _in_pool_worker()
    if watchdog:
        with open(os.devnull, "w") as sink:  # faulthandler needs a real fd
            faulthandler.dump_traceback_later(seconds + KILL_GRACE, exit=True, file=sink)
            try:
                yield
            finally:
                faulthandler.cancel_dump_traceback_later()
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        return
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _in_pool_worker() -> bool:
    """Only a disposable worker process may be ended by the watchdog, never the coordinator."""
    return _settings is not None and os.getpid() == _worker_pid


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


def classify_texts(
    texts: list[str], explain: bool = False
) -> list[tuple[list[Finding], Classification]]:
    """The `classify` contract for a batch: findings (offsets into each text) and the level.

    ``explain`` adds each finding's decision trace (``classify --explain``).
    """
    clf = classifier()
    return [(found, clf.classify(found)) for found in clf.findings_batch(texts, explain)]
