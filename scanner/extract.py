"""Bytes -> text chunks that know where they came from.

This first cut reads plain text, CSV/TSV and JSON/JSON Lines. Formats are told apart by content
first and by file name only as a hint. Binary formats that are not supported yet are reported as
skipped with the reason, never guessed at.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from models import Location
from models.errors import ExtractionError

CHUNK_CHARS = 64 * 1024  # one classifier call; big enough for context, small enough for NER
ROWS_PER_CHUNK = 200
MAX_JSON_DEPTH = 200


class Unsupported(Exception):
    """The content is a format this build cannot read; the item is skipped with this reason."""


@dataclass
class Chunk:
    """Text handed to the classifiers, and how to map an offset in it back to a location."""

    text: str
    base: Location = field(default_factory=Location)
    first_line: int | None = None  # plain text: line number of the chunk's first character
    segments: list[tuple[int, Location]] = field(default_factory=list)  # (start offset, where)
    _newlines: list[int] | None = None

    def locate(self, offset: int) -> Location:
        if self.segments:
            starts = [s for s, _ in self.segments]
            i = max(0, bisect.bisect_right(starts, offset) - 1)
            return self.segments[i][1]
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
    content_type: str
    chunks: Iterator[Chunk]
    notes: list[str] = field(default_factory=list)  # why the result is partial, if it is


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"PAR1", "application/vnd.apache.parquet"),
    (b"\x7fELF", "application/x-executable"),
    (b"SQLite format 3\x00", "application/vnd.sqlite3"),
)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def sniff(data: bytes, path: str) -> str:
    """The content type, decided by the bytes; the file name only breaks ties between texts."""
    for magic, ctype in _MAGIC:
        if data.startswith(magic):
            return ctype
    suffix = PurePosixPath(path).suffix.lower()
    head = data[:4096]
    if not any(head.startswith(bom) for bom, _ in _BOMS) and b"\x00" in head:
        return "application/octet-stream"
    if suffix in (".csv", ".tsv", ".tab"):
        return "text/tab-separated-values" if suffix != ".csv" else "text/csv"
    if suffix in (".jsonl", ".ndjson"):
        return "application/jsonl"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if suffix == ".json" or stripped[:1] in (b"{", b"["):
        return "application/json"
    return "text/plain"


def decode(data: bytes) -> str:
    """UTF-8/16/32 by BOM, else UTF-8, else CP1252 (a superset of Latin-1 for text)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3:  # a character cut by the byte cap
            return data[: exc.start].decode("utf-8")
    return data.decode("cp1252", errors="replace")


def extract(data: bytes, path: str, truncated: bool = False) -> Extraction:
    """Pick an extractor by content; raise Unsupported or ExtractionError when it cannot."""
    ctype = sniff(data, path)
    if ctype == "text/plain":
        return Extraction(ctype, _text_chunks(decode(data)))
    if ctype in ("text/csv", "text/tab-separated-values"):
        return Extraction(ctype, _table_chunks(decode(data), path))
    if ctype == "application/jsonl":
        return _jsonl(decode(data))
    if ctype == "application/json":
        text = decode(data)
        try:
            doc = json.loads(text)
        except RecursionError as exc:
            raise ExtractionError("JSON nested too deeply to parse") from exc
        except json.JSONDecodeError as exc:
            if truncated:
                return Extraction("text/plain", _text_chunks(text), ["JSON cut by the byte cap"])
            if path.lower().endswith(".json"):
                raise ExtractionError(f"invalid JSON: {exc.msg} at line {exc.lineno}") from exc
            return Extraction("text/plain", _text_chunks(text))
        return Extraction(ctype, _json_chunks(doc, Location()))
    raise Unsupported(f"{ctype} is not a supported format yet")


def _text_chunks(text: str) -> Iterator[Chunk]:
    """Split at line ends into chunks of about CHUNK_CHARS, keeping line numbers."""
    line = 1
    start = 0
    while start < len(text):
        end = min(len(text), start + CHUNK_CHARS)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        piece = text[start:end]
        yield Chunk(piece, first_line=line)
        line += piece.count("\n")
        start = end


def _table_chunks(text: str, path: str) -> Iterator[Chunk]:
    sample = text[:16384]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel_tab if path.lower().endswith((".tsv", ".tab")) else csv.excel
    csv.field_size_limit(16 * 1024 * 1024)
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
    builder = _SegmentBuilder()
    row_no = 0
    try:
        for row_no, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                if not value.strip():
                    continue
                name = names[col] if names and col < len(names) else str(col + 1)
                label = f"{name}: " if names else ""
                builder.add(label, value, Location(row=row_no, field=name))
            if row_no % ROWS_PER_CHUNK == 0:
                yield builder.take()
    except csv.Error as exc:
        raise ExtractionError(f"malformed CSV at data row {row_no + 1}: {exc}") from exc
    if builder:
        yield builder.take()


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


class _SegmentBuilder:
    """Joins labelled values into one text, one value per line, remembering their locations.

    The label ("email: ") stays in the text on purpose: a column or key name is the best context
    a bare number has.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.segments: list[tuple[int, Location]] = []
        self.size = 0

    def add(self, label: str, value: str, where: Location) -> None:
        self.segments.append((self.size, where))
        line = f"{label}{value}\n"
        self.parts.append(line)
        self.size += len(line)

    def __bool__(self) -> bool:
        return bool(self.parts)

    def take(self) -> Chunk:
        chunk = Chunk("".join(self.parts), segments=self.segments)
        self.parts, self.segments, self.size = [], [], 0
        return chunk


def _json_chunks(doc: Any, base: Location) -> Iterator[Chunk]:
    builder = _SegmentBuilder()
    for path, key, value in _walk(doc, "$", 0):
        label = f"{key}: " if key else ""
        builder.add(label, value, base.model_copy(update={"json_path": path}))
        if builder.size >= CHUNK_CHARS:
            yield builder.take()
    if builder:
        yield builder.take()


def _walk(node: Any, path: str, depth: int) -> Iterator[tuple[str, str, str]]:
    """(JSONPath, key, text) of every scalar leaf, iteratively deep-first within a bound."""
    if depth > MAX_JSON_DEPTH:
        raise ExtractionError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if str(key).isidentifier() else f"{path}[{json.dumps(key)}]"
            if isinstance(value, dict | list):
                yield from _walk(value, child, depth + 1)
            elif value is not None and not isinstance(value, bool):
                yield child, str(key), str(value)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            child = f"{path}[{i}]"
            if isinstance(value, dict | list):
                yield from _walk(value, child, depth + 1)
            elif value is not None and not isinstance(value, bool):
                yield child, "", str(value)
    elif node is not None and not isinstance(node, bool):
        yield path, "", str(node)


def _jsonl(text: str) -> Extraction:
    notes: list[str] = []
    return Extraction("application/jsonl", _jsonl_chunks(text, notes), notes)


def _jsonl_chunks(text: str, notes: list[str]) -> Iterator[Chunk]:
    builder = _SegmentBuilder()
    bad = 0
    for record, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            bad += 1
            builder.add("", line, Location(record=record, line=record))
            continue
        for path, key, value in _walk(doc, "$", 0):
            label = f"{key}: " if key else ""
            builder.add(label, value, Location(record=record, json_path=path))
        if builder.size >= CHUNK_CHARS:
            yield builder.take()
    if builder:
        yield builder.take()
    if bad:
        notes.append(f"{bad} line(s) were not valid JSON and were read as text")
