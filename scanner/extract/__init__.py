"""Bytes -> text chunks that know where they came from.

Formats are told apart by content (``sniff``), the file name being a hint only. One module per
family: text (plain, CSV/TSV, JSON, JSON Lines), markup (XML, HTML), office (docx, xlsx, pptx),
pdf, image (OCR), mail (eml, mbox), columnar (Avro) and archive (zip, tar, gzip, bzip2, xz; members
recursed). Every extractor spends from one per-item budget (scanner.limits.ExtractLimits): a
limit ends extraction with a note, so the item is partial, never a crash. The only errors that
leave ``extract()`` and its chunk stream are ``Unsupported`` (skip the item) and
``ExtractionError`` (the item failed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from models.errors import ExtractionError
from scanner.extract.base import Chunk, Context, Extraction, LimitReached, Unsupported
from scanner.extract.detect import DOCX, PPTX, XLSX, decode, sniff
from scanner.limits import ExtractLimits

__all__ = ["Chunk", "Extraction", "Unsupported", "decode", "dispatch", "extract", "sniff"]

_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/tiff")
_UNSUPPORTED = {
    "application/x-ole-storage": "a legacy Office (OLE) file; only .docx/.xlsx/.pptx are read",
    "application/x-7z-compressed": "a 7z archive; zip, tar, gz, bz2 and xz are read",
    "application/vnd.apache.parquet": "a Parquet file (not read yet; Avro is)",
}


def extract(
    data: bytes, path: str, truncated: bool = False, limits: ExtractLimits | None = None
) -> Extraction:
    """Pick an extractor by content; raise Unsupported or ExtractionError when it cannot.

    Errors found while the chunks are produced surface from the iterator as ExtractionError;
    limits hit on the way end the stream early and are explained in ``notes``.
    """
    notes: list[str] = []
    ctx = Context.start(limits, notes)
    ctype, chunks = _guard(lambda: dispatch(data, path, ctx, truncated))
    return Extraction(ctype, _guarded(chunks, ctx), notes)


def dispatch(data: bytes, path: str, ctx: Context, truncated: bool) -> tuple[str, Iterator[Chunk]]:
    """(content type, chunk stream) for ``data``; used for items and for nested members."""
    from scanner.extract import archive, columnar, image, mail, markup, office, pdf, text

    ctype = sniff(data, path)
    if ctype == "text/plain":
        return ctype, text.text_chunks(decode(data), ctx)
    if ctype in ("text/csv", "text/tab-separated-values"):
        return ctype, text.table_chunks(decode(data), path, ctx)
    if ctype == "application/jsonl":
        return ctype, text.jsonl_chunks(decode(data), ctx)
    if ctype == "application/json":
        return text.json_document(decode(data), path, truncated, ctx)
    if ctype == "application/xml":
        return ctype, markup.xml_chunks(data, ctx)
    if ctype == "text/html":
        return ctype, markup.html_chunks(decode(data), ctx)
    if ctype == DOCX:
        return ctype, office.docx_chunks(data, ctx)
    if ctype == XLSX:
        return ctype, office.xlsx_chunks(data, ctx)
    if ctype == PPTX:
        return ctype, office.pptx_chunks(data, ctx)
    if ctype == "application/pdf":
        return ctype, pdf.pdf_chunks(data, ctx)
    if ctype == "message/rfc822":
        return ctype, mail.eml_chunks(data, ctx)
    if ctype == "application/mbox":
        return ctype, mail.mbox_chunks(data, ctx)
    if ctype == "application/zip":
        return ctype, archive.zip_chunks(data, ctx)
    if ctype == "application/x-tar":
        return ctype, archive.tar_chunks(data, ctx)
    if ctype in _IMAGES:
        if not image.ocr_available():
            raise Unsupported(f"{ctype} is {image.MISSING}")
        return ctype, image.image_chunks(data, ctype, ctx)
    if ctype == "application/avro":
        return ctype, columnar.avro_chunks(data, ctx)
    if ctype in ("application/gzip", "application/x-bzip2", "application/x-xz"):
        return ctype, archive.compressed_chunks(data, ctype, path, ctx)
    raise Unsupported(f"{ctype} is {_UNSUPPORTED.get(ctype, 'not a supported format')}")


def _guard(call: Callable[[], tuple[str, Iterator[Chunk]]]) -> tuple[str, Iterator[Chunk]]:
    try:
        return call()
    except (Unsupported, ExtractionError):
        raise
    except Exception as exc:
        raise _as_error(exc) from exc


def _guarded(chunks: Iterator[Chunk], ctx: Context) -> Iterator[Chunk]:
    """Limits become notes; anything a parser throws becomes an ExtractionError."""
    try:
        yield from chunks
    except LimitReached as exc:
        ctx.note(str(exc))
    except (Unsupported, ExtractionError):
        raise
    except Exception as exc:
        raise _as_error(exc) from exc


def _as_error(exc: BaseException) -> ExtractionError:
    if isinstance(exc, RecursionError):
        return ExtractionError("nested too deeply to parse")
    if isinstance(exc, MemoryError):
        return ExtractionError("ran out of memory while parsing")
    return ExtractionError(f"could not parse: {type(exc).__name__}: {exc}"[:500])
