"""Where CPU work runs: a local process pool by default (a Dask cluster comes later).

The local pool isolates parsers: a worker that dies (a segfault in a native parser, os._exit,
the hard time limit in scanner.worker) breaks a ``ProcessPoolExecutor`` and fails every call in
flight with ``BrokenProcessPool``. ``IsolatedPool`` replaces the broken pool and re-runs each of
those calls alone in a one-process quarantine pool: the innocent ones succeed there, the one that
kills its worker again fails with ``WorkerCrashed``. One bad item costs one item.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, TypeVar

from classifiers.classifier import ClassifierSettings
from models.errors import ItemError
from scanner.worker import init_pool_worker

P = ParamSpec("P")
T = TypeVar("T")


class WorkerCrashed(ItemError):
    """The worker process died while handling this call, twice: the item is marked failed."""


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


class IsolatedPool(Executor):
    """A process pool that survives its workers dying; see the module docstring."""

    def __init__(self, make: Callable[[int], ProcessPoolExecutor], workers: int) -> None:
        self._make, self._workers = make, workers
        self._lock = threading.Lock()
        self._pool = make(workers)
        self._quarantine: ProcessPoolExecutor | None = None
        self._waiting: deque[tuple[Future[Any], Callable[..., Any], Any, Any]] = deque()
        self._busy = False
        self._closed = False
        self.replaced = 0  # pools replaced after a crash, for tests and metrics

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        outer: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit after shutdown")
            pool = self._pool
            try:
                inner = pool.submit(fn, *args, **kwargs)
            except BrokenProcessPool:  # broke a moment ago; its callbacks have not run yet
                self._pool = pool = self._make(self._workers)
                self.replaced += 1
                inner = pool.submit(fn, *args, **kwargs)

        def done(f: Future[T]) -> None:
            exc = None if f.cancelled() else f.exception()
            if isinstance(exc, BrokenProcessPool):
                self._replace(pool)
                with self._lock:
                    self._waiting.append((outer, fn, args, kwargs))
                self._next()
            else:
                _settle(outer, f)

        inner.add_done_callback(done)
        return outer

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken and not self._closed:
                self._pool = self._make(self._workers)
                self.replaced += 1
        broken.shutdown(wait=False, cancel_futures=True)

    def _next(self) -> None:
        """Run the next quarantined call, one at a time, so a crash can only be its own."""
        with self._lock:
            if self._busy or not self._waiting:
                return
            if self._closed:
                while self._waiting:
                    waiting = self._waiting.popleft()[0]
                    if not waiting.done():
                        waiting.set_exception(BrokenProcessPool("pool shut down"))
                return
            outer, fn, args, kw = self._waiting.popleft()
            if self._quarantine is None:
                self._quarantine = self._make(1)
            quarantine = self._quarantine
            self._busy = True
            inner = quarantine.submit(fn, *args, **kw)

        def done(f: Future[Any]) -> None:
            exc = None if f.cancelled() else f.exception()
            if isinstance(exc, BrokenProcessPool):
                with self._lock:
                    if self._quarantine is quarantine:
                        self._quarantine = None
                quarantine.shutdown(wait=False, cancel_futures=True)
                if not outer.done():
                    outer.set_exception(
                        WorkerCrashed("the worker process died parsing this item (crash or hang)")
                    )
            else:
                _settle(outer, f)
            with self._lock:
                self._busy = False
            self._next()

        inner.add_done_callback(done)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            pools = [p for p in (self._pool, self._quarantine) if p is not None]
        for pool in pools:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)
        self._next()


def _settle(outer: Future[Any], inner: Future[Any]) -> None:
    """Copy an outcome across, unless the caller cancelled meanwhile."""
    if outer.done():
        return
    if inner.cancelled():
        outer.cancel()
        return
    exc = inner.exception()
    if exc is not None:
        outer.set_exception(exc)
    else:
        outer.set_result(inner.result())


def local_pool(settings: ClassifierSettings, workers: int | None = None) -> IsolatedPool:
    """A crash-tolerant process pool whose workers each build one Classifier.

    ``forkserver``: workers start from a clean process (no inherited threads or sockets from the
    coordinator), and faster than ``spawn`` because the server imports the heavy modules once.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["scanner.worker", "classifiers.engine", "spacy"])

    def make(n: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=n, mp_context=ctx, initializer=init_pool_worker, initargs=(settings,)
        )

    return IsolatedPool(make, workers or default_workers())
