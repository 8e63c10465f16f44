"""Office Open XML: docx (body, tables, headers, footers, comments, notes), xlsx (sheet!cell,
streamed), pptx (slides and their notes). Parts are parsed as streams with entities refused."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from models.errors import ExtractionError
from scanner.extract.archive import Bomb, CappedReader
from scanner.extract.base import Chunk, Context, SegmentBuilder
from scanner.extract.markup import local

_NUM = re.compile(r"(\d+)")
_CELL = re.compile(r"([A-Z]+)(\d+)")
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


class _Package:
    """An OOXML zip whose parts are read through the item's budget."""

    def __init__(self, data: bytes, ctx: Context) -> None:
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            self.names = {i.filename: i for i in self.zf.infolist()}
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise ExtractionError(f"corrupt or truncated Office file: {exc}") from exc
        self.ctx = ctx

    def open(self, name: str) -> IO[bytes]:
        info = self.names[name]
        cap = self.ctx.limits.decompressed_bytes
        # No ratio check: repetitive documents compress extremely well; the decompressed-bytes
        # budget bounds a bomb dressed as an Office file.
        return CappedReader(self.zf.open(info), None, self.ctx, cap)  # type: ignore[return-value]

    def events(
        self, name: str, events: tuple[str, ...] = ("end",)
    ) -> Iterator[tuple[str, Element]]:
        """Parse one part as a stream; a damaged part is an error naming it."""
        try:
            with self.open(name) as stream:
                for n, (event, elem) in enumerate(iterparse(stream, events=events)):
                    if n % 2000 == 0:
                        self.ctx.tick()
                    yield event, elem
        except DefusedXmlException as exc:
            raise ExtractionError(f"{name}: XML refused ({type(exc).__name__})") from exc
        except (ParseError, zipfile.BadZipFile, OSError, EOFError, Bomb) as exc:
            raise ExtractionError(f"{name}: {exc}") from exc

    def rels(self, part: str) -> dict[str, str]:
        """Relationship id -> target part name, for one part."""
        folder, base = posixpath.split(part)
        name = posixpath.join(folder, "_rels", base + ".rels")
        if name not in self.names:
            return {}
        out: dict[str, str] = {}
        for _, elem in self.events(name):
            if local(elem.tag) == "Relationship" and elem.get("TargetMode") != "External":
                target = elem.get("Target", "")
                out[elem.get("Id", "")] = posixpath.normpath(
                    target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
                )
        return out


def _by_number(names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: [int(p) if p.isdigit() else p for p in _NUM.split(n)])


def _paragraphs(
    pkg: _Package, part: str, where: dict[str, Any], builder: SegmentBuilder
) -> Iterator[Chunk]:
    """Paragraphs of a WordprocessingML or DrawingML part; table cells get row and column."""
    texts: list[str] = []
    para = 0
    table = row = col = 0
    depth = 0  # nested tables are read as part of their outer cell
    for event, elem in pkg.events(part, ("start", "end")):
        name = local(elem.tag)
        if event == "start":
            if name == "tbl":
                depth += 1
                if depth == 1:
                    table, row = table + 1, 0
            elif name == "tr" and depth == 1:
                row, col = row + 1, 0
            elif name == "tc" and depth == 1:
                col += 1
                pkg.ctx.count_cells()
            continue
        if name == "t" and elem.text:
            texts.append(elem.text)
        elif name in ("tab", "br", "cr"):
            texts.append(" ")
        elif name == "p":
            text = "".join(texts).strip()
            texts.clear()
            if text:
                para += 1
                if depth:
                    at = {**where, "section": f"table {table}", "row": row, "field": str(col)}
                else:
                    at = {**where, "paragraph": para}
                builder.add("", text, at)
                yield from builder.drain()
            elem.clear()
        elif name == "tbl":
            depth -= 1
    yield from builder.drain()


def docx_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    pkg = _Package(data, ctx)
    builder = SegmentBuilder()
    parts = [("word/document.xml", "body")]
    for prefix, label in (("word/header", "header"), ("word/footer", "footer")):
        found = _by_number([n for n in pkg.names if n.startswith(prefix) and n.endswith(".xml")])
        parts += [(n, f"{label} {i}") for i, n in enumerate(found, start=1)]
    for name, label in (
        ("word/footnotes.xml", "footnotes"),
        ("word/endnotes.xml", "endnotes"),
        ("word/comments.xml", "comments"),
    ):
        if name in pkg.names:
            parts.append((name, label))
    for name, label in parts:
        if name in pkg.names:
            yield from _paragraphs(pkg, name, ctx.at(section=label), builder)
    yield from builder.finish()


def pptx_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    pkg = _Package(data, ctx)
    builder = SegmentBuilder()
    slides = [pkg.rels("ppt/presentation.xml").get(rid) for rid in _slide_ids(pkg)]
    ordered = [s for s in slides if s and s in pkg.names] or _by_number(
        [n for n in pkg.names if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)]
    )
    for number, slide in enumerate(ordered, start=1):
        ctx.count_page()
        yield from _paragraphs(pkg, slide, ctx.at(page=number, section="slide"), builder)
        for target in pkg.rels(slide).values():
            if "notesSlide" in target and target in pkg.names:
                yield from _paragraphs(pkg, target, ctx.at(page=number, section="notes"), builder)
    yield from builder.finish()


def _slide_ids(pkg: _Package) -> list[str]:
    if "ppt/presentation.xml" not in pkg.names:
        return []
    return [
        elem.get(_REL, "")
        for _, elem in pkg.events("ppt/presentation.xml")
        if local(elem.tag) == "sldId"
    ]


def xlsx_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    """Every non-empty cell as ``Sheet!C7``; a first row of text names the columns below it."""
    pkg = _Package(data, ctx)
    shared = _shared_strings(pkg)
    targets = pkg.rels("xl/workbook.xml")
    builder = SegmentBuilder()
    for _, elem in list(pkg.events("xl/workbook.xml")):
        if local(elem.tag) != "sheet":
            continue
        sheet, part = elem.get("name", "?"), targets.get(elem.get(_REL, ""), "")
        if part not in pkg.names:
            continue
        yield from _sheet(pkg, part, ctx.at(sheet=sheet), shared, builder)
    yield from builder.finish()


def _shared_strings(pkg: _Package) -> list[str]:
    out: list[str] = []
    if "xl/sharedStrings.xml" not in pkg.names:
        return out
    texts: list[str] = []
    for _, elem in pkg.events("xl/sharedStrings.xml"):
        name = local(elem.tag)
        if name == "t" and elem.text:
            texts.append(elem.text)
        elif name == "si":
            out.append("".join(texts))
            texts.clear()
            elem.clear()
            pkg.ctx.count_cells()  # a string table as big as the cell limit is a limit too
    return out


def _sheet(
    pkg: _Package, part: str, where: dict[str, Any], shared: list[str], builder: SegmentBuilder
) -> Iterator[Chunk]:
    header: dict[str, str] = {}
    value: str | None = None
    texts: list[str] = []
    for _, elem in pkg.events(part):
        name = local(elem.tag)
        if name == "v":
            value = elem.text
        elif name == "t" and elem.text:
            texts.append(elem.text)
        elif name == "c":
            pkg.ctx.count_cells()
            ref = elem.get("r", "")
            kind = elem.get("t")
            if kind == "s" and value is not None:
                index = int(value) if value.isdigit() else -1
                value = shared[index] if 0 <= index < len(shared) else None
            elif kind == "inlineStr":
                value = "".join(texts)
            texts.clear()
            text = (value or "").strip()
            value = None
            elem.clear()
            if not text:
                continue
            m = _CELL.fullmatch(ref)
            column, row = (m.group(1), int(m.group(2))) if m else ("", 0)
            if row == 1 and not any(ch.isdigit() for ch in text) and len(text) <= 64:
                header[column] = text
            name_ = header.get(column) if row > 1 else None
            at = {**where, "cell": ref, "field": name_} if name_ else {**where, "cell": ref}
            builder.add(f"{name_}: " if name_ else "", text, at)
            yield from builder.drain()
        elif name == "row":
            elem.clear()
