"""Bytes -> text chunks that know where they came from.

Formats are told apart by content (``sniff``), the file name being a hint only. One module per
family: text (plain, CSV/TSV, JSON, JSON Lines), markup (XML, HTML), office (docx, xlsx, pptx),
opendoc (odt, ods, odp), legacy (OLE2: .xls, Outlook .msg; .doc/.ppt recognised), pdf, image
(OCR), mail (eml, mbox), columnar (Avro, Parquet) and archive (zip, tar, 7z, gzip, bzip2, xz;
members recursed). Every extractor spends from one per-item budget (scanner.limits.ExtractLimits): a
limit ends extraction with a note, so the item is partial, never a crash. The only errors that
leave ``extract()`` and its chunk stream are ``Unsupported`` (skip the item) and
``ExtractionError`` (the item failed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from models.errors import ExtractionError
from scanner.extract.base import Chunk, Context, Extraction, LimitReached, Unsupported
from scanner.extract.detect import DOCX, MSG, ODP, ODS, ODT, PPTX, XLS, XLSX, decode, sniff
from scanner.limits import ExtractLimits

__all__ = ["Chunk", "Extraction", "Unsupported", "decode", "dispatch", "extract", "sniff"]

_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/tiff")
_UNSUPPORTED = {
    "application/vnd.sqlite3": "an SQLite database file",
    "application/x-executable": "an executable",
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
    from scanner.extract import (
        archive,
        columnar,
        image,
        legacy,
        mail,
        markup,
        office,
        opendoc,
        pdf,
        text,
    )

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
    documents = {  # formats read from the whole item's bytes and the context alone
        DOCX: office.docx_chunks,
        XLSX: office.xlsx_chunks,
        PPTX: office.pptx_chunks,
        ODT: opendoc.odt_chunks,
        ODS: opendoc.ods_chunks,
        ODP: opendoc.odp_chunks,
        XLS: legacy.xls_chunks,
        MSG: legacy.msg_chunks,
    }
    if ctype in documents:
        return ctype, documents[ctype](data, ctx)
    if ctype in legacy.SKIPPED or ctype == "application/x-ole-storage":
        raise legacy.skipped(ctype, data)
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
    if ctype == "application/x-7z-compressed":
        return ctype, archive.sevenzip_chunks(data, ctx)
    if ctype in _IMAGES:
        if not image.ocr_available():
            raise Unsupported(f"{ctype} is {image.MISSING}")
        return ctype, image.image_chunks(data, ctype, ctx)
    if ctype == "application/avro":
        return ctype, columnar.avro_chunks(data, ctx)
    if ctype == "application/vnd.apache.parquet":
        return ctype, columnar.parquet_chunks(data, ctx, truncated)
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
