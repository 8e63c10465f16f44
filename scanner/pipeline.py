"""One scan: discover -> sample -> read -> extract + classify (in the executor) -> sink.

I/O (listing, fetching) stays on the event loop with bounded concurrency; CPU work goes to the
executor. Results go to a sink, which the service layer implements with its store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from connectors.base import Connector
from models import Asset, Classification, Item, ItemResult, ItemStatus, Level, ScanCounters
from models.errors import ItemError
from scanner.sampling import SamplingOptions, sample
from scanner.worker import ContentResult, scan_content


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
    ) -> None:
        self.connector = connector
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
                self.executor, scan_content, content.data, content.truncated, item.path, item.uri
            )
        except BrokenProcessPool:
            raise
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

    def _count(self, result: ItemResult) -> None:
        c = self.counters
        c.bytes_read += result.bytes_read
        c.findings += len(result.findings)
        if result.status is ItemStatus.FAILED:
            c.items_failed += 1
        elif result.status is ItemStatus.SKIPPED:
            c.items_skipped += 1
        else:
            c.items_scanned += 1
            if result.status is ItemStatus.PARTIAL:
                c.items_partial += 1


def _failed(item: Item, message: str) -> ItemResult:
    return ItemResult(
        item=item,
        status=ItemStatus.FAILED,
        error=message,
        classification=Classification(level=Level.INTERNAL),
    )
