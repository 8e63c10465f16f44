"""Structured logs: one JSON object per line on stderr, for the log pipeline a SIEM already reads.

Every record carries ``ts`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger`` and ``msg``;
fields passed with ``extra={...}`` become top-level keys (``scan_id``, ``status``, ``duration_ms``
...). Uvicorn's own loggers are routed through the same handler, so a deployment gets one format.
Log lines never carry request bodies, query values of findings or credentials: the request log
names the method, the route template, the status, the duration and the key *id* only.

``text`` format keeps the same fields, readable, for a terminal.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Literal, TextIO

LogFormat = Literal["json", "text"]

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "color_message", "taskName"}
)
_ROUTED = ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    """One JSON object per record; values that JSON cannot hold are written with ``str``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``ts level logger: msg key=value ...`` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{_timestamp(record.created)} {record.levelname.lower():<7} {record.name}: "
        line += record.getMessage() + (f" {extra}" if extra else "")
        if record.exc_info and record.exc_info[0] is not None:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _timestamp(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def configure(fmt: LogFormat = "json", level: str = "info", stream: TextIO | None = None) -> None:
    """Send the root logger and uvicorn's loggers to stderr (or ``stream``) in one format;
    idempotent."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _ROUTED:
        routed = logging.getLogger(name)
        routed.handlers.clear()
        routed.propagate = True
