"""Plain text, CSV/TSV, JSON and JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from models.errors import ExtractionError
from scanner.extract.base import CHUNK_CHARS, ROWS_PER_CHUNK, Chunk, Context, SegmentBuilder

MAX_JSON_DEPTH = 200
_CSV_FIELD_LIMIT = 16 * 1024 * 1024


def text_chunks(text: str, ctx: Context) -> Iterator[Chunk]:
    """Split at line ends into chunks of about CHUNK_CHARS, keeping line numbers."""
    line = 1
    start = 0
    base = ctx.loc()
    while start < len(text):
        ctx.tick()
        end = min(len(text), start + CHUNK_CHARS)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        piece = text[start:end]
        yield Chunk(piece, base=base, first_line=line)
        line += piece.count("\n")
        start = end


def table_chunks(text: str, path: str, ctx: Context) -> Iterator[Chunk]:
    """CSV/TSV rows; with a header row each value is labelled and located by its column name."""
    sample = text[:16384]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel_tab if path.lower().endswith((".tsv", ".tab")) else csv.excel
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        first = next(reader, None)
    except csv.Error as exc:
        raise ExtractionError(f"malformed CSV: {exc}") from exc
    if first is None:
        return
    header = _looks_like_header(first)
    names = [h.strip() or str(i + 1) for i, h in enumerate(first)] if header else None
    rows = reader if header else _chain_first(first, reader)
    builder = SegmentBuilder()
    row_no = 0
    try:
        for row_no, row in enumerate(rows, start=1):
            ctx.tick()
            ctx.count_cells(len(row))
            for col, value in enumerate(row):
                if not value.strip():
                    continue
                name = names[col] if names and col < len(names) else str(col + 1)
                label = f"{name}: " if names else ""
                builder.add(label, value, ctx.at(row=row_no, field=name))
            yield from builder.finish() if row_no % ROWS_PER_CHUNK == 0 else builder.drain()
    except csv.Error as exc:
        raise ExtractionError(f"malformed CSV at data row {row_no + 1}: {exc}") from exc
    yield from builder.finish()


def _chain_first(first: list[str], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield first
    yield from rest


def _looks_like_header(row: list[str]) -> bool:
    cells = [c.strip() for c in row]
    if not cells or any(not c for c in cells) or len(set(cells)) != len(cells):
        return False
    return all(
        not any(ch.isdigit() for ch in c) or (c.replace("_", "").isalnum() and c[0].isalpha())
        for c in cells
    ) and all(len(c) <= 64 and "@" not in c for c in cells)


def json_document(
    text: str, path: str, truncated: bool, ctx: Context
) -> tuple[str, Iterator[Chunk]]:
    """(content type, chunks) of a JSON document; text that is not JSON is read as text."""
    try:
        doc = json.loads(text)
    except RecursionError as exc:
        raise ExtractionError("JSON nested too deeply to parse") from exc
    except json.JSONDecodeError as exc:
        if truncated:
            ctx.note("JSON cut by the byte cap, read as text")
            return "text/plain", text_chunks(text, ctx)
        if path.lower().endswith(".json"):
            raise ExtractionError(f"invalid JSON: {exc.msg} at line {exc.lineno}") from exc
        return "text/plain", text_chunks(text, ctx)
    return "application/json", json_chunks(doc, ctx)


def json_chunks(doc: Any, ctx: Context, record: int | None = None) -> Iterator[Chunk]:
    builder = SegmentBuilder()
    extra = {"record": record} if record is not None else {}
    for n, (path, key, value) in enumerate(walk(doc, "$", 0)):
        if n % 1000 == 0:
            ctx.tick()
        label = f"{key}: " if key else ""
        builder.add(label, value, ctx.at(json_path=path, **extra))
        yield from builder.drain()
    yield from builder.finish()


def walk(node: Any, path: str, depth: int) -> Iterator[tuple[str, str, str]]:
    """(JSONPath, key, text) of every scalar leaf, deep-first within a bound."""
    if depth > MAX_JSON_DEPTH:
        raise ExtractionError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if str(key).isidentifier() else f"{path}[{json.dumps(key)}]"
            if isinstance(value, dict | list):
                yield from walk(value, child, depth + 1)
            elif value is not None and not isinstance(value, bool):
                yield child, str(key), str(value)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            child = f"{path}[{i}]"
            if isinstance(value, dict | list):
                yield from walk(value, child, depth + 1)
            elif value is not None and not isinstance(value, bool):
                yield child, "", str(value)
    elif node is not None and not isinstance(node, bool):
        yield path, "", str(node)


def jsonl_chunks(text: str, ctx: Context) -> Iterator[Chunk]:
    """One JSON document per line; a line that is not JSON is read as text and noted."""
    builder = SegmentBuilder()
    bad = 0
    for record, line in enumerate(text.splitlines(), start=1):
        if record % 100 == 0:
            ctx.tick()
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            bad += 1
            builder.add("", line, ctx.at(record=record, line=record))
            yield from builder.drain()
            continue
        for path, key, value in walk(doc, "$", 0):
            label = f"{key}: " if key else ""
            builder.add(label, value, ctx.at(record=record, json_path=path))
        yield from builder.drain()
    yield from builder.finish()
    if bad:
        ctx.note(f"{bad} line(s) were not valid JSON and were read as text")
