"""One scan: discover -> sample -> read -> extract + classify (in the executor) -> sink.

I/O (listing, fetching) stays on the event loop with bounded concurrency; CPU work goes to the
executor. Results go to a sink, which the service layer implements with its store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Protocol

from connectors.base import Connector
from models import Asset, Classification, Item, ItemResult, ItemStatus, Level, ScanCounters
from models.errors import ItemError
from scanner.sampling import SamplingOptions, sample
from scanner.worker import ContentResult, scan_content


@dataclass(frozen=True, slots=True)
class DoneItem:
    """An item a scan already stored: enough to count it again and to know it is unchanged."""

    etag: str | None
    status: ItemStatus
    bytes_read: int
    findings: int


class ResultSink(Protocol):
    """Receives what a scan learns, in completion order."""

    async def asset(self, asset: Asset) -> None: ...

    async def item(self, result: ItemResult) -> None: ...


class Scanner:
    """Runs one scan of one connector. Build, then ``await run()``."""

    def __init__(
        self,
        connector: Connector,
        executor: Executor,
        sink: ResultSink,
        sampling: SamplingOptions | None = None,
        concurrency: int = 8,
        on_progress: Callable[[ScanCounters], None] = lambda c: None,
        done: Mapping[str, DoneItem] | None = None,
    ) -> None:
        self.connector = connector
        # Items a resumed scan already finished before it was interrupted: counted, not re-read.
        self.done = done or {}
        self.executor = executor
        self.sink = sink
        self.sampling = sampling or SamplingOptions()
        self.concurrency = max(1, concurrency)
        self.counters = ScanCounters()
        self._on_progress = on_progress

    async def run(self) -> ScanCounters:
        """Scan everything the sampling selects. Source-level errors (raised by ``discover()``,
        which checks the source first) propagate; item errors become failed items and the scan
        goes on."""
        queue: asyncio.Queue[Item | None] = asyncio.Queue(maxsize=self.concurrency * 2)
        workers = [asyncio.create_task(self._worker(queue)) for _ in range(self.concurrency)]
        try:
            async for entry in sample(self.connector.discover(), self.sampling, self._seen):
                if isinstance(entry, Asset):
                    await self.sink.asset(entry)
                    continue
                self.counters.items_sampled += 1
                await queue.put(entry)
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
        self._on_progress(self.counters)
        return self.counters

    def _seen(self, item: Item) -> None:
        self.counters.items_seen += 1
        self._on_progress(self.counters)

    async def _worker(self, queue: asyncio.Queue[Item | None]) -> None:
        while (item := await queue.get()) is not None:
            prior = self.done.get(item.uri)
            if prior is not None and prior.etag == item.etag:
                self._count_done(prior)
                self._on_progress(self.counters)
                continue
            result = await self._scan_item(item)
            self._count(result)
            await self.sink.item(result)
            self._on_progress(self.counters)

    async def _scan_item(self, item: Item) -> ItemResult:
        try:
            content = await self.connector.read(item, self.sampling.max_bytes)
        except ItemError as exc:
            return _failed(item, str(exc))
        loop = asyncio.get_running_loop()
        try:
            out: ContentResult = await loop.run_in_executor(
                self.executor,
                scan_content,
                content.data,
                content.truncated,
                item.path,
                item.uri,
                self.sampling.limits,
            )
        except ItemError as exc:  # e.g. WorkerCrashed: the pool replaced the dead worker
            return _failed(item, str(exc))
        except BrokenProcessPool:  # an executor that cannot heal itself: this item is lost
            return _failed(item, "the worker process died while scanning this item")
        except Exception as exc:  # a bug or crash while parsing one item must not end the scan
            return _failed(item, f"internal error while scanning: {type(exc).__name__}: {exc}")
        scanned = item.model_copy(update={"content_type": out.content_type or item.content_type})
        return ItemResult(
            item=scanned,
            status=out.status,
            error=out.error,
            bytes_read=len(content.data),
            findings=out.findings,
            classification=out.classification,
        )

    def _count_done(self, prior: DoneItem) -> None:
        self._tally(prior.status, prior.bytes_read, prior.findings)

    def _count(self, result: ItemResult) -> None:
        self._tally(result.status, result.bytes_read, len(result.findings))

    def _tally(self, status: ItemStatus, bytes_read: int, findings: int) -> None:
        c = self.counters
        c.bytes_read += bytes_read
        c.findings += findings
        if status is ItemStatus.FAILED:
            c.items_failed += 1
        elif status is ItemStatus.SKIPPED:
            c.items_skipped += 1
        else:
            c.items_scanned += 1
            if status is ItemStatus.PARTIAL:
                c.items_partial += 1


def _failed(item: Item, message: str) -> ItemResult:
    return ItemResult(
        item=item,
        status=ItemStatus.FAILED,
        error=message,
        classification=Classification(level=Level.INTERNAL),
    )
