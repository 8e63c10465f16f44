"""Avro object container files: records read in order, each value located by record and column.

Parquet is recognised but not read yet (its readers need pyarrow or pandas).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from models.errors import ExtractionError
from scanner.extract.base import Chunk, Context, SegmentBuilder
from scanner.extract.text import walk


def avro_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    """Every scalar of every record; ``field`` is the top-level column, ``json_path`` the path
    inside it (for nested records, arrays and maps)."""
    import fastavro  # imported on first Avro file

    try:
        reader = fastavro.reader(io.BytesIO(data))
    except (ValueError, EOFError, TypeError, KeyError) as exc:
        raise ExtractionError(f"unreadable Avro header: {exc}") from exc
    builder = SegmentBuilder()
    for record_no, record in enumerate(reader, start=1):
        ctx.tick()
        if not isinstance(record, dict):
            record = {"value": record}
        ctx.count_cells(len(record))
        for path, key, value in walk(record, "$", 0):
            column = path[2:].split(".", 1)[0].split("[", 1)[0] if path != "$" else key
            builder.add(
                f"{key}: " if key else "",
                value,
                ctx.at(record=record_no, field=column, json_path=path),
            )
        yield from builder.drain()
    yield from builder.finish()
