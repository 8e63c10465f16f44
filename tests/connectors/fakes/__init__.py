"""In-repo fake vendor APIs (aiohttp servers on 127.0.0.1), one module per vendor.

Each fake follows the vendor's documented endpoints, field names, pagination, error bodies and
rate limiting closely enough for a connector to run against it over real HTTP. ``serve(app)``
starts any of them on a free loopback port for the length of an ``async with`` block.
"""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from aiohttp import web

from connectors.base import Connector
from models import Asset, Item
from models.errors import ItemError

# Per item URI: the item and its bytes, or the message of the error reading it raised.
ScanOut = dict[str, tuple[Item, bytes | str]]


async def discover_all(
    connector: Connector, on_item: Callable[[Item], Awaitable[None]] | None = None
) -> tuple[list[Asset], dict[str, Item]]:
    """Everything ``discover()`` yields: assets in order, items by URI (``on_item`` on each)."""
    assets: list[Asset] = []
    items: dict[str, Item] = {}
    async for entry in connector.discover():
        if isinstance(entry, Asset):
            assets.append(entry)
        else:
            items[entry.uri] = entry
            if on_item is not None:
                await on_item(entry)
    return assets, items


async def read_all(connector: Connector) -> ScanOut:
    """Discover and read every item (up to 1 MB each), then close the connector."""
    items: ScanOut = {}
    try:
        async for entry in connector.discover():
            if isinstance(entry, Asset):
                continue
            try:
                items[entry.uri] = (entry, (await connector.read(entry, 1_000_000)).data)
            except ItemError as exc:
                items[entry.uri] = (entry, str(exc))
    finally:
        await connector.aclose()
    return items


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 (a free port); yield its base URL ``http://127.0.0.1:PORT``."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextmanager
def serve_in_thread(app: web.Application) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 in a background thread (for tests that start the CLI as a
    process); yield its base URL. Stops the server and joins the thread on exit."""
    ready: queue.Queue[str | BaseException] = queue.Queue()
    stop = threading.Event()

    async def main() -> None:
        try:
            async with serve(app) as base:
                ready.put(base)
                while not stop.is_set():
                    await asyncio.sleep(0.05)
        except BaseException as exc:  # surfaced to the test thread below
            ready.put(exc)

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    got = ready.get(timeout=30)
    if isinstance(got, BaseException):
        raise got
    try:
        yield got
    finally:
        stop.set()
        thread.join(timeout=30)


def perimeter(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the installed ``perimeter`` console script as a process (bounded by a timeout)."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("perimeter")), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, **env},
    )
