"""Columnar files: Avro object containers and Parquet, each value located by row and column.

Parquet is read one row group at a time (pyarrow), in small batches; when the file has more
rows than the cell limit allows, the rows read are spread over every row group instead of being
the first ones only, so a column that fills up late in the file is still seen.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from models.errors import ExtractionError
from scanner.extract.base import Chunk, Context, LimitReached, SegmentBuilder
from scanner.extract.text import walk

_BATCH_ROWS = 128  # rows decoded at once: bounds the memory of wide rows of long strings
_RATIO_GRACE = 1024 * 1024  # as for archive members: tiny row groups may compress extremely well


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


def parquet_chunks(data: bytes, ctx: Context, truncated: bool = False) -> Iterator[Chunk]:
    """Every value of the rows read: ``row`` (1-based in the file) and ``field`` (the column);
    nested columns (structs, lists, maps) also get the ``json_path`` inside the column."""
    import pyarrow as pa  # imported on first Parquet file: pyarrow is large
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(pa.BufferReader(data))
        # Text columns stay dictionary-encoded: a value repeated in every row is decoded once,
        # not copied per row (a few KB of Parquet can otherwise expand to gigabytes in Arrow).
        text = [
            f.name
            for f in schema
            if pa.types.is_string(f.type)
            or pa.types.is_large_string(f.type)
            or pa.types.is_binary(f.type)
            or pa.types.is_large_binary(f.type)
        ]
        pf = pq.ParquetFile(pa.BufferReader(data), read_dictionary=text)
        meta = pf.metadata
        schema = pf.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as exc:
        if truncated:  # the footer (schema, row groups) is at the end of the file
            raise ExtractionError(
                f"Parquet keeps its footer at the end and only the first {len(data):,} bytes "
                "were read (byte cap); raise max_bytes to read this file"
            ) from exc
        raise ExtractionError(f"corrupt or truncated Parquet: {exc}") from exc
    columns = schema.names
    total = meta.num_rows
    allowed = max(1, (ctx.limits.cells - ctx.budget.cells) // max(1, len(columns)))
    share = min(1.0, allowed / total) if total else 1.0
    if share < 1.0:
        ctx.note(
            f"sampled {allowed:,} of {total:,} rows across {meta.num_row_groups} row groups "
            "(cell limit)"
        )
    builder = SegmentBuilder()
    decoded = _Decoded(ctx, len(data))
    start = 0  # rows before this row group
    for group in range(meta.num_row_groups):
        ctx.tick()
        rows = meta.row_group(group).num_rows
        # Cumulative rounding, so the shares add up to exactly ``allowed`` rows.
        take = int(share * (start + rows)) - int(share * start) if share < 1.0 else rows
        first = start + 1
        start += rows
        if take <= 0:
            continue
        if _bomb(meta.row_group(group), ctx):
            ctx.note(
                f"row group {group + 1}: skipped: compression ratio over "
                f"{ctx.limits.compression_ratio}:1"
            )
            continue
        try:
            batches = pf.iter_batches(
                batch_size=min(_BATCH_ROWS, take), row_groups=[group], use_threads=False
            )
            yield from _rows(batches, first, take, decoded, builder)
        except (pa.ArrowException, OSError, ValueError) as exc:
            ctx.note(f"row group {group + 1}: failed: {exc}"[:300])
    yield from builder.finish()


def _bomb(group: Any, ctx: Context) -> bool:
    """A row group whose pages inflate far past their stored size is skipped, like an archive
    member; what pyarrow decodes is counted against the decompressed-bytes limit as well."""
    stored = sum(group.column(i).total_compressed_size for i in range(group.num_columns))
    inflated = sum(group.column(i).total_uncompressed_size for i in range(group.num_columns))
    return bool(
        inflated > _RATIO_GRACE and inflated > ctx.limits.compression_ratio * max(1, stored)
    )


class _Decoded:
    """What one Parquet file has decoded so far, against the item's decompressed-bytes limit and
    the compression ratio: a few KB of dictionary page and run-length indices can stand for
    gigabytes of rows, which no page header or metadata admits to."""

    def __init__(self, ctx: Context, stored: int) -> None:
        self.ctx, self.stored, self.produced = ctx, max(1, stored), 0

    def room(self) -> tuple[int, str]:
        """Bytes that may still be decoded, and the reason to give when they run out."""
        limits = self.ctx.limits
        budget = limits.decompressed_bytes - self.ctx.budget.decompressed
        ratio = max(_RATIO_GRACE, limits.compression_ratio * self.stored) - self.produced
        if ratio < budget:
            return ratio, f"stopped decoding: compression ratio over {limits.compression_ratio}:1"
        return (
            budget,
            f"decompressed {limits.decompressed_bytes:,} bytes (decompressed-bytes limit)",
        )

    def add(self, n: int) -> None:
        self.produced += n
        self.ctx.budget.decompressed += n


def _rows(
    batches: Iterator[Any], first: int, take: int, decoded: _Decoded, builder: SegmentBuilder
) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.compute as pc

    ctx = decoded.ctx
    row = first
    for batch in batches:
        ctx.tick()
        batch = batch.slice(0, take - (row - first))
        size = 0  # what the batch holds once decoded, a dictionary value counted per use
        for column in batch.columns:
            size += column.nbytes
            if pa.types.is_dictionary(column.type) and len(column):
                used = pc.sum(pc.binary_length(column.dictionary).take(column.indices)).as_py()
                size += used or 0
        room, reason = decoded.room()
        stop: LimitReached | None = None
        if size > room:  # read the rows that fit, then stop
            stop = LimitReached(reason)
            batch = batch.slice(0, max(0, room) * batch.num_rows // max(1, size))
        decoded.add(min(size, max(0, room)))
        ctx.count_cells(batch.num_rows * batch.num_columns)
        columns = [(name, f"{name}: ") for name in batch.schema.names]
        values = [_values(column) for column in batch.columns]
        base = ctx.at()
        for r in range(batch.num_rows):
            for (name, label), column in zip(columns, values, strict=True):
                value = column[r]
                if type(value) is str:  # the common case first, cheaply
                    builder.add(label, value, {**base, "row": row, "field": name})
                elif value is not None:
                    _cell(name, value, {**base, "row": row, "field": name}, builder)
            yield from builder.drain()
            row += 1
        if stop is not None:
            raise stop
        if row - first >= take:
            return


def _values(column: Any) -> list[Any]:
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        lookup = column.dictionary.to_pylist()  # each distinct value decoded once, then shared
        return [None if i is None else lookup[i] for i in column.indices.to_pylist()]
    values: list[Any] = column.to_pylist()
    return values


def _cell(name: str, value: Any, where: dict[str, Any], builder: SegmentBuilder) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, dict | list):
        for path, key, text in walk(value, f"$.{name}", 1):
            builder.add(f"{key or name}: ", text, {**where, "json_path": path})
        return
    builder.add(f"{name}: ", str(value), where)
