"""Running a scan end to end: source row, scan row, the scanner, the store, the executor."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from classifiers.classifier import ClassifierSettings
from connectors.base import Connector, Incremental
from models import Scan, ScanCounters, ScanStatus, Source
from models.errors import PerimeterError
from scanner.executor import local_pool
from scanner.pipeline import Scanner
from scanner.sampling import SamplingOptions
from service.store import Store


def prepare_scan(
    store: Store,
    source: Source,
    sampling: SamplingOptions,
    concurrency: int = 8,
    origin: str = "cli",
) -> str:
    """Create the scan row (status running) before the scan starts; returns its id."""
    source_id = store.upsert_source(source)
    options: dict[str, Any] = {
        **sampling.model_dump(mode="json"),
        "concurrency": concurrency,
        "origin": origin,
    }
    return store.start_scan(source_id, source.uri, options)


async def run_scan(
    store: Store,
    connector: Connector,
    source: Source,
    classifier: ClassifierSettings,
    sampling: SamplingOptions,
    workers: int | None = None,
    concurrency: int = 8,
    on_progress: Callable[[ScanCounters], None] = lambda c: None,
    executor: Executor | None = None,
    full: bool = False,
    scan_id: str | None = None,
) -> Scan:
    """Scan one source into the store. A source-level failure is recorded on the scan row and
    re-raised; item failures are recorded on their items and the scan completes.

    An incremental connector resumes from the cursor of the source's last completed scan
    (``full`` ignores it); its new cursor is saved only when this scan completes and read every
    item it listed (no sampling budget), so nothing changed is ever skipped for good.

    With ``scan_id`` (from ``prepare_scan``) the scan runs under that id; if items were already
    stored under it (a scan interrupted by a crash), those are counted and not read again."""
    source_id = store.upsert_source(source)
    incremental = connector if isinstance(connector, Incremental) else None
    if incremental is not None:
        incremental.resume_from(None if full else store.cursor(source_id))
    if scan_id is None:
        scan_id = prepare_scan(store, source, sampling, concurrency)
    done = store.done_items(scan_id)
    own_executor = executor is None
    pool = executor or local_pool(classifier, workers)
    scanner = Scanner(
        connector, pool, store.sink(source_id, scan_id), sampling, concurrency, on_progress, done
    )
    try:
        counters = await scanner.run()
    except PerimeterError as exc:
        store.finish_scan(scan_id, ScanStatus.FAILED, scanner.counters, str(exc))
        raise
    except BaseException as exc:
        store.finish_scan(scan_id, ScanStatus.FAILED, scanner.counters, repr(exc))
        raise
    finally:
        await connector.aclose()
        if own_executor:
            pool.shutdown(wait=True, cancel_futures=True)
    if incremental is not None and sampling.budget is None:
        store.save_cursor(source_id, scan_id, incremental.next_cursor())
    store.finish_scan(scan_id, ScanStatus.COMPLETED, counters)
    return store.scan(scan_id)
