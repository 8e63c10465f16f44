"""Running a scan end to end: source row, scan row, the scanner, the store, the executor."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from classifiers.classifier import ClassifierSettings
from connectors.base import Connector
from models import Scan, ScanCounters, ScanStatus, Source
from models.errors import PerimeterError
from scanner.executor import local_pool
from scanner.pipeline import Scanner
from scanner.sampling import SamplingOptions
from service.store import Store


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
) -> Scan:
    """Scan one source into the store. A source-level failure is recorded on the scan row and
    re-raised; item failures are recorded on their items and the scan completes."""
    source_id = store.upsert_source(source)
    options: dict[str, Any] = {**sampling.model_dump(mode="json"), "concurrency": concurrency}
    scan_id = store.start_scan(source_id, source.uri, options)
    own_executor = executor is None
    pool = executor or local_pool(classifier, workers)
    scanner = Scanner(
        connector, pool, store.sink(source_id, scan_id), sampling, concurrency, on_progress
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
    store.finish_scan(scan_id, ScanStatus.COMPLETED, counters)
    return store.scan(scan_id)
