from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from models import Asset, Item
from scanner.sampling import Order, SamplingOptions, sample

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _stream() -> AsyncIterator[Asset | Item]:
    for c in ("a", "b"):
        yield Asset(uri=f"mem://{c}", name=c, kind="dir")
        for i in range(10):
            yield Item(
                uri=f"mem://{c}/{i}",
                container=f"mem://{c}",
                path=str(i),
                modified=T0 + timedelta(days=i),
            )


def _run(options: SamplingOptions) -> list[str]:
    async def collect() -> list[str]:
        return [e.uri async for e in sample(_stream(), options) if isinstance(e, Item)]

    return asyncio.run(collect())


def test_without_budget_every_item_is_read() -> None:
    assert len(_run(SamplingOptions())) == 20


def test_budget_per_container_newest_first() -> None:
    picked = _run(SamplingOptions(budget=3))
    assert picked == ["mem://a/9", "mem://a/8", "mem://a/7", "mem://b/9", "mem://b/8", "mem://b/7"]


def test_random_order_is_seeded() -> None:
    one = _run(SamplingOptions(budget=4, order=Order.RANDOM, seed=1))
    assert one == _run(SamplingOptions(budget=4, order=Order.RANDOM, seed=1))
    assert one != _run(SamplingOptions(budget=4, order=Order.RANDOM, seed=2))
    assert len(one) == 8
