"""A worker that dies or hangs costs one call, not the pool and not the scan."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from data import crashers

from classifiers.classifier import ClassifierSettings
from connectors.local import LocalConfig, LocalConnector
from models import ItemResult, ItemStatus
from scanner.executor import IsolatedPool, WorkerCrashed
from scanner.pipeline import Scanner
from scanner.worker import init_pool_worker

SETTINGS = ClassifierSettings(key=b"k" * 32)


def _pool(workers: int = 2) -> IsolatedPool:
    ctx = multiprocessing.get_context("forkserver")

    def make(n: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=n, mp_context=ctx, initializer=init_pool_worker, initargs=(SETTINGS,)
        )

    return IsolatedPool(make, workers)


def test_a_dying_worker_costs_only_its_own_call() -> None:
    pool = _pool()
    try:
        calls = [pool.submit(crashers.double, i) for i in range(6)]
        bad = pool.submit(crashers.die, 3)
        calls += [pool.submit(crashers.double, i) for i in range(6, 12)]
        assert [c.result(timeout=120) for c in calls] == [i * 2 for i in range(12)]
        with pytest.raises(WorkerCrashed, match="died"):
            bad.result(timeout=120)
        assert pool.replaced >= 1
        assert pool.submit(crashers.double, 21).result(timeout=120) == 42  # still serving
    finally:
        pool.shutdown()


def test_a_hang_native_code_holds_is_ended_by_the_watchdog() -> None:
    pool = _pool(1)
    try:
        hung = pool.submit(crashers.hang_where_signals_cannot_reach, 0.2)
        with pytest.raises(WorkerCrashed):
            hung.result(timeout=120)
        assert pool.submit(crashers.double, 2).result(timeout=120) == 4
    finally:
        pool.shutdown()


def test_a_python_hang_is_interrupted_by_the_alarm() -> None:
    pool = _pool(1)
    try:
        assert pool.submit(crashers.hang_in_python, 0.2).result(timeout=120) == "interrupted"
    finally:
        pool.shutdown()


class _Sink:
    def __init__(self) -> None:
        self.items: list[ItemResult] = []

    async def asset(self, asset: object) -> None:
        pass

    async def item(self, result: ItemResult) -> None:
        self.items.append(result)


def test_a_broken_pool_fails_items_instead_of_ending_the_scan(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"{i}.txt").write_text("hello\n")
    broken = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"))
    with pytest.raises(BrokenProcessPool):
        broken.submit(crashers.die, 1).result(timeout=120)
    sink = _Sink()
    connector = LocalConnector(LocalConfig(root=tmp_path))
    try:
        counters = asyncio.run(Scanner(connector, broken, sink).run())
    finally:
        broken.shutdown()
    assert counters.items_failed == 3
    assert {r.status for r in sink.items} == {ItemStatus.FAILED}
    assert all("worker process died" in (r.error or "") for r in sink.items)
