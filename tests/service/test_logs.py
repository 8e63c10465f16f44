"""Structured logs: the JSON and text formats, and routing of uvicorn's loggers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from service import logs


@pytest.fixture()
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield io.StringIO()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_extra_fields_and_errors(captured: io.StringIO) -> None:
    logs.configure("json", "info", stream=captured)
    log = logging.getLogger("perimeter.test")
    log.info("scan ended", extra={"scan_id": "s1", "items_scanned": 3, "path": Path("/x")})
    log.debug("not at info level")
    try:
        raise ValueError("bad input")
    except ValueError:
        log.exception("failed on %s", "item-7")
    lines = [json.loads(x) for x in captured.getvalue().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["msg"] == "scan ended" and first["level"] == "info"
    assert first["scan_id"] == "s1" and first["items_scanned"] == 3 and first["path"] == "/x"
    assert datetime.fromisoformat(first["ts"].replace("Z", "+00:00")).tzinfo is not None
    assert second["msg"] == "failed on item-7" and second["level"] == "error"
    assert second["error_type"] == "ValueError" and "bad input" in second["traceback"]


def test_uvicorn_loggers_go_through_the_same_handler(captured: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").addHandler(logging.StreamHandler(io.StringIO()))
    logs.configure("json", "info", stream=captured)
    logging.getLogger("uvicorn.error").info("Started server process")
    (line,) = captured.getvalue().splitlines()
    assert json.loads(line)["logger"] == "uvicorn.error"
    assert not logging.getLogger("uvicorn.error").handlers


def test_text_format_is_readable(captured: io.StringIO) -> None:
    logs.configure("text", "warning", stream=captured)
    logging.getLogger("perimeter.test").info("hidden")
    logging.getLogger("perimeter.test").warning("slow item", extra={"item": "a.pdf"})
    (line,) = captured.getvalue().splitlines()
    assert line.endswith("warning perimeter.test: slow item item=a.pdf")
