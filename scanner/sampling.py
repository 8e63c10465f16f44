"""Which items of a source to read: all of them by default, or a per-container budget."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from models import Asset, Item
from scanner.limits import ExtractLimits

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
_EPOCH = datetime.min.replace(tzinfo=UTC)


class Order(StrEnum):
    NEWEST = "newest"  # most recently modified first
    RANDOM = "random"  # seeded, so a rerun picks the same items


class SamplingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    budget: int | None = Field(default=None, ge=1)  # items per container; None reads every item
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)  # bytes read per item
    order: Order = Order.NEWEST
    seed: int = 0
    limits: ExtractLimits = Field(default_factory=ExtractLimits)  # extraction, per item


async def sample(
    stream: AsyncIterator[Asset | Item],
    options: SamplingOptions,
    on_seen: Callable[[Item], None] = lambda item: None,
) -> AsyncIterator[Asset | Item]:
    """Pass items through, or hold each container's items and release its budget's worth.

    Without a budget nothing is buffered, so listing and reading overlap. With one, the choice
    needs the whole listing of a container (metadata only), so items are released at the end.
    """
    if options.budget is None:
        async for entry in stream:
            if isinstance(entry, Item):
                on_seen(entry)
            yield entry
        return
    held: dict[str, list[Item]] = defaultdict(list)
    async for entry in stream:
        if isinstance(entry, Asset):
            yield entry
        else:
            on_seen(entry)
            held[entry.container].append(entry)
    for container in sorted(held):
        for item in choose(held[container], options, container):
            yield item


def choose(items: list[Item], options: SamplingOptions, container: str) -> list[Item]:
    budget = options.budget or len(items)
    if options.order is Order.NEWEST:
        ranked = sorted(items, key=lambda i: (i.modified or _EPOCH, i.uri), reverse=True)
        return ranked[:budget]
    rng = random.Random(f"{options.seed}:{container}")
    ordered = sorted(items, key=lambda i: i.uri)
    return rng.sample(ordered, min(budget, len(ordered)))
