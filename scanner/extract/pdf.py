"""PDF text, page by page, through PDFium (pypdfium2, Apache-2.0/BSD).

PDFium is C++: a document that crashes or wedges it is contained by the worker process (see
scanner/executor.py), which is why nothing here tries to guard against that in-process.
"""

from __future__ import annotations

from collections.abc import Iterator

from models.errors import ExtractionError
from scanner.extract.base import Chunk, Context
from scanner.extract.text import text_chunks


def pdf_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    import pypdfium2 as pdfium  # type: ignore[import-untyped]  # loaded on first PDF (native)

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ExtractionError(f"unreadable PDF: {exc}") from exc
    try:
        for index in range(len(doc)):
            ctx.count_page()
            ctx.tick()
            try:
                page = doc[index]
                textpage = page.get_textpage()
                text = textpage.get_text_bounded()
                textpage.close()
                page.close()
            except pdfium.PdfiumError as exc:
                ctx.note(f"page {index + 1} unreadable: {exc}")
                continue
            text = text.replace("\r\n", "\n").replace("\x00", "")
            if text.strip():
                page_ctx = Context(ctx.budget, ctx.loc(page=index + 1), ctx.depth)
                yield from text_chunks(text, page_ctx)
    finally:
        doc.close()
