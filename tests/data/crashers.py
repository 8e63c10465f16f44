"""Functions that misbehave inside a worker process, for the isolation tests."""

from __future__ import annotations

import os
import signal
import time

from scanner import worker


def double(x: int) -> int:
    time.sleep(0.05)
    return x * 2


def die(code: int) -> int:
    os._exit(code)


def hang_where_signals_cannot_reach(seconds: float) -> int:
    """Like native code stuck in a loop: the alarm is blocked, only the watchdog can end it."""
    worker.KILL_GRACE = 0.5
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    with worker._time_limit(seconds):
        time.sleep(60)
    return 0


def hang_in_python(seconds: float) -> str:
    """A pure-Python loop: the alarm interrupts it."""
    try:
        with worker._time_limit(seconds):
            while True:
                pass
    except worker.ItemTimeout:
        return "interrupted"
