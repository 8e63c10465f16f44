"""OpenDocument: odt (paragraphs, tables, headers and footers), ods (sheet!cell), odp (slides
and their notes).

An OpenDocument file is a zip whose ``content.xml`` holds the whole body (``styles.xml`` the page
headers and footers); both are parsed as streams through the same budgeted, entity-refusing
reader as Office Open XML.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element

from models.errors import ExtractionError
from scanner.extract.base import Chunk, Context, SegmentBuilder
from scanner.extract.markup import local
from scanner.extract.office import _Package

_NS = "urn:oasis:names:tc:opendocument:xmlns"
_TABLE_NAME = f"{{{_NS}:table:1.0}}name"
_COLS_REPEATED = f"{{{_NS}:table:1.0}}number-columns-repeated"
_ROWS_REPEATED = f"{{{_NS}:table:1.0}}number-rows-repeated"
_VALUE = f"{{{_NS}:office:1.0}}value"
_SPACES = f"{{{_NS}:text:1.0}}c"
_PARAGRAPHS = ("p", "h")
_HEADERS_FOOTERS = (
    "header",
    "header-left",
    "header-first",
    "footer",
    "footer-left",
    "footer-first",
)


def _text(elem: Element) -> str:
    """A paragraph's text; ``text:s`` (runs of spaces), tabs and line breaks become spaces."""
    out: list[str] = [elem.text or ""]
    for child in elem:
        name = local(child.tag)
        if name == "s":
            count = child.get(_SPACES, "1")
            out.append(" " * min(int(count) if count.isdigit() else 1, 64))
        elif name in ("tab", "line-break"):
            out.append(" ")
        elif name not in ("annotation-end", "bookmark", "bookmark-start", "bookmark-end"):
            out.append(_text(child))
        out.append(child.tail or "")
    return "".join(out)


def _column_name(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the cell references a spreadsheet shows."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def _content(data: bytes, ctx: Context) -> _Package:
    pkg = _Package(data, ctx)
    if "content.xml" not in pkg.names:
        raise ExtractionError("OpenDocument file without content.xml")
    return pkg


def odt_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    """Body paragraphs and headings as ``body`` + ``paragraph``; table cells as ``table N`` +
    ``row`` + ``field`` (1-based column), like docx."""
    pkg = _content(data, ctx)
    builder = SegmentBuilder()
    para = table = row = col = depth = inside = 0  # depth: tables; inside: paragraphs
    for event, elem in pkg.events("content.xml", ("start", "end")):
        name = local(elem.tag)
        if event == "start":
            if name in _PARAGRAPHS:
                inside += 1
            elif name == "table":
                depth += 1
                if depth == 1:
                    table, row = table + 1, 0
            elif name == "table-row" and depth == 1:
                row, col = row + 1, 0
            elif name in ("table-cell", "covered-table-cell") and depth == 1:
                col += 1
                ctx.count_cells()
            continue
        if name in _PARAGRAPHS:
            inside -= 1
            if inside:  # a paragraph inside a note or frame is read with its outer one
                continue
            text = _text(elem).strip()
            elem.clear()
            if not text:
                continue
            para += 1
            if depth:
                at = ctx.at(section=f"table {table}", row=row, field=str(col))
            else:
                at = ctx.at(section="body", paragraph=para)
            builder.add("", text, at)
            yield from builder.drain()
        elif name == "table":
            depth -= 1
    if "styles.xml" in pkg.names:
        yield from _headers_footers(pkg, ctx, builder)
    yield from builder.finish()


def _headers_footers(pkg: _Package, ctx: Context, builder: SegmentBuilder) -> Iterator[Chunk]:
    """Page headers and footers live in styles.xml, one per master page (and left/first-page
    variants): ``header 1``, ``footer 1``... like docx."""
    counts = {"header": 0, "footer": 0}
    section: str | None = None
    para = inside = 0
    for event, elem in pkg.events("styles.xml", ("start", "end")):
        name = local(elem.tag)
        kind = name.split("-", 1)[0]
        if event == "start":
            if kind in counts and name in _HEADERS_FOOTERS:
                counts[kind] += 1
                section, para = f"{kind} {counts[kind]}", 0
            elif name in _PARAGRAPHS:
                inside += 1
            continue
        if name in _HEADERS_FOOTERS:
            section = None
        elif name in _PARAGRAPHS:
            inside -= 1
            if inside or section is None:
                continue
            text = _text(elem).strip()
            elem.clear()
            if text:
                para += 1
                builder.add("", text, ctx.at(section=section, paragraph=para))
                yield from builder.drain()


def odp_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    """Each slide (``draw:page``) in order as ``page``; its speaker notes as section ``notes``."""
    pkg = _content(data, ctx)
    builder = SegmentBuilder()
    page = para = inside = notes = 0
    for event, elem in pkg.events("content.xml", ("start", "end")):
        name = local(elem.tag)
        if event == "start":
            if name == "page" and not notes:
                ctx.count_page()
                page, para = page + 1, 0
            elif name == "notes":
                notes += 1
                para = 0
            elif name in _PARAGRAPHS:
                inside += 1
            continue
        if name == "notes":
            notes -= 1
            para = 0
        elif name in _PARAGRAPHS:
            inside -= 1
            if inside:
                continue
            text = _text(elem).strip()
            elem.clear()
            if not text or not page:
                continue
            para += 1
            section = "notes" if notes else "slide"
            builder.add("", text, ctx.at(page=page, section=section, paragraph=para))
            yield from builder.drain()
    yield from builder.finish()


def ods_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    """Every non-empty cell as ``Sheet!C7``; a first row of text names the columns, like xlsx.
    A cell repeated N times (``number-columns-repeated``) is read once, at its first address."""
    pkg = _content(data, ctx)
    builder = SegmentBuilder()
    sheet = ""
    header: dict[int, str] = {}
    row = col = depth = 0
    texts: list[str] = []
    for event, elem in pkg.events("content.xml", ("start", "end")):
        name = local(elem.tag)
        if event == "start":
            if name == "table":
                depth += 1
                if depth == 1:
                    sheet, row, header = elem.get(_TABLE_NAME, "?"), 0, {}
            elif name == "table-row" and depth == 1:
                col = 0
            continue
        if depth != 1 and name != "table":
            if name in _PARAGRAPHS and depth > 1:
                elem.clear()
            continue
        if name in _PARAGRAPHS:
            texts.append(_text(elem))
            elem.clear()
        elif name in ("table-cell", "covered-table-cell"):
            ctx.count_cells()
            repeat = _repeat(elem, _COLS_REPEATED)
            text = ("\n".join(texts) or elem.get(_VALUE, "")).strip()
            texts.clear()
            elem.clear()
            if text:
                yield from _cell(ctx, builder, sheet, row, col, text, header)
            col += repeat
        elif name == "table-row":
            row += _repeat(elem, _ROWS_REPEATED)
            elem.clear()
        elif name == "table":
            depth -= 1
    yield from builder.finish()


def _repeat(elem: Element, attr: str) -> int:
    value = elem.get(attr, "1")
    return max(1, int(value)) if value.isdigit() else 1


def _cell(
    ctx: Context,
    builder: SegmentBuilder,
    sheet: str,
    row: int,
    col: int,
    text: str,
    header: dict[int, str],
) -> Iterator[Chunk]:
    ref = f"{_column_name(col)}{row + 1}"
    if row == 0 and not any(ch.isdigit() for ch in text) and len(text) <= 64:
        header[col] = text
    field = header.get(col) if row > 0 else None
    at: dict[str, Any] = ctx.at(sheet=sheet, cell=ref)
    if field:
        at["field"] = field
    builder.add(f"{field}: " if field else "", text, at)
    yield from builder.drain()
