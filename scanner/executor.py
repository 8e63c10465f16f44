"""Where CPU work runs: a local process pool by default (a Dask cluster comes later)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor

from classifiers.classifier import ClassifierSettings
from scanner.worker import init_worker


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def local_pool(settings: ClassifierSettings, workers: int | None = None) -> Executor:
    """A process pool whose workers each build one Classifier.

    ``forkserver``: workers start from a clean process (no inherited threads or sockets from the
    coordinator), and faster than ``spawn`` because the server imports the heavy modules once.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["scanner.worker", "classifiers.engine", "spacy"])
    return ProcessPoolExecutor(
        max_workers=workers or default_workers(),
        mp_context=ctx,
        initializer=init_worker,
        initargs=(settings,),
    )
