"""The pieces every extractor shares: chunks, the per-item budget, and the limit signal."""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from models import Location
from scanner.limits import ExtractLimits

CHUNK_CHARS = 64 * 1024  # one classifier call; big enough for context, small enough for NER
ROWS_PER_CHUNK = 200


# A location, or its fields: building a pydantic model per value costs more than extracting it,
# so extractors record plain dicts and a Location is made only for a value that has a finding.
Where = Location | dict[str, Any]


class Unsupported(Exception):
    """The content is a format this build cannot read; the item is skipped with this reason."""


class LimitReached(Exception):
    """A limit stopped extraction; what was extracted so far stands and the item is partial."""


@dataclass
class Chunk:
    """Text handed to the classifiers, and how to map an offset in it back to a location."""

    text: str
    base: Location = field(default_factory=Location)
    first_line: int | None = None  # plain text: line number of the chunk's first character
    segments: list[tuple[int, Where]] = field(default_factory=list)  # (start offset, where)
    _newlines: list[int] | None = None
    _starts: list[int] | None = None

    def locate(self, offset: int) -> Location:
        if self.segments:
            if self._starts is None:
                self._starts = [s for s, _ in self.segments]
            i = max(0, bisect.bisect_right(self._starts, offset) - 1)
            where = self.segments[i][1]
            return where if isinstance(where, Location) else Location(**where)
        if self.first_line is not None:
            if self._newlines is None:
                self._newlines = [i for i, c in enumerate(self.text) if c == "\n"]
            n = bisect.bisect_left(self._newlines, offset)
            line_start = self._newlines[n - 1] + 1 if n else 0
            return self.base.model_copy(
                update={"line": self.first_line + n, "column": offset - line_start + 1}
            )
        return self.base


@dataclass
class Extraction:
    """What ``extract()`` returns: the detected type and a lazy stream of chunks.

    ``notes`` fills up while ``chunks`` is consumed: read it after the stream is exhausted.
    """

    content_type: str
    chunks: Iterator[Chunk]
    notes: list[str] = field(default_factory=list)  # why the result is partial, if it is


@dataclass
class Budget:
    """What one item has spent so far, shared by everything nested inside it."""

    limits: ExtractLimits
    deadline: float
    notes: list[str]
    decompressed: int = 0
    members: int = 0
    pages: int = 0
    cells: int = 0


@dataclass
class Context:
    """Where an extractor is (member path, email part, depth) and the item's shared budget."""

    budget: Budget
    base: Location = field(default_factory=Location)
    depth: int = 0
    _fields: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._fields = self.base.model_dump(exclude_none=True)

    @classmethod
    def start(cls, limits: ExtractLimits | None = None, notes: list[str] | None = None) -> Context:
        lim = limits or ExtractLimits()
        return cls(Budget(lim, time.monotonic() + lim.seconds, notes if notes is not None else []))

    @property
    def limits(self) -> ExtractLimits:
        return self.budget.limits

    def loc(self, **fields: Any) -> Location:
        return self.base.model_copy(update=fields) if fields else self.base

    def at(self, **fields: Any) -> dict[str, Any]:
        """The fields of a location here, cheaply (see ``Where``)."""
        return {**self._fields, **fields}

    def child(self, member: str | None = None, part: str | None = None) -> Context:
        """The context of something nested one level down (an archive member, an attachment)."""
        update: dict[str, Any] = {}
        if member is not None:
            update["member"] = f"{self.base.member}!/{member}" if self.base.member else member
        if part is not None:
            update["part"] = part
        return Context(self.budget, self.base.model_copy(update=update), self.depth + 1)

    def note(self, message: str) -> None:
        where = self.base.describe()
        text = f"{where}: {message}" if where else message
        if text not in self.budget.notes and len(self.budget.notes) < 50:
            self.budget.notes.append(text)

    def tick(self) -> None:
        """Called in every extractor loop: the item's time limit is cooperative first."""
        if time.monotonic() > self.budget.deadline:
            raise LimitReached(f"time limit of {self.limits.seconds:g}s per item reached")

    def count_cells(self, n: int = 1) -> None:
        self.budget.cells += n
        if self.budget.cells > self.limits.cells:
            raise LimitReached(f"read the first {self.limits.cells:,} cells (cell limit)")

    def count_page(self) -> None:
        self.budget.pages += 1
        if self.budget.pages > self.limits.pages:
            raise LimitReached(f"read the first {self.limits.pages:,} pages (page limit)")

    def count_member(self) -> None:
        self.budget.members += 1
        if self.budget.members > self.limits.members:
            raise LimitReached(
                f"read the first {self.limits.members:,} archive members or parts (member limit)"
            )


class SegmentBuilder:
    """Joins labelled values into chunks of text, one value per line, remembering locations.

    The label ("email: ") stays in the text on purpose: a column or key name is the best context
    a bare number has. A value longer than a chunk is split, each piece keeping its location.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.segments: list[tuple[int, Where]] = []
        self.size = 0
        self.ready: list[Chunk] = []

    def add(self, label: str, value: str, where: Where) -> None:
        if len(value) <= CHUNK_CHARS:  # the common case, kept cheap: it runs once per value
            line = f"{label}{value}\n"
            self.segments.append((self.size, where))
            self.parts.append(line)
            self.size += len(line)
            if self.size >= CHUNK_CHARS:
                self.ready.append(self._take())
            return
        for start in range(0, len(value), CHUNK_CHARS):
            self.segments.append((self.size, where))
            line = f"{label}{value[start : start + CHUNK_CHARS]}\n"
            self.parts.append(line)
            self.size += len(line)
            if self.size >= CHUNK_CHARS:
                self.ready.append(self._take())

    def drain(self) -> Iterator[Chunk]:
        """The chunks completed so far; call after each ``add`` to stream."""
        while self.ready:
            yield self.ready.pop(0)

    def finish(self) -> Iterator[Chunk]:
        yield from self.drain()
        if self.parts:
            yield self._take()

    def _take(self) -> Chunk:
        chunk = Chunk("".join(self.parts), segments=self.segments)
        self.parts, self.segments, self.size = [], [], 0
        return chunk
