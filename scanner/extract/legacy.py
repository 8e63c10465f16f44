"""Legacy binary Office files (OLE2 compound documents): Excel .xls is read with xlrd, Outlook
.msg with olefile; Word .doc and PowerPoint .ppt are recognised and skipped with the reason.

xlrd (maintained for .xls only since 2.0) is the one pure-Python reader of BIFF workbooks; no
maintained pure-Python reader of Word's binary format exists, so a .doc is reported, not guessed
at by scraping strings out of its streams.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import Any

from models.errors import ExtractionError
from scanner.extract.archive import nested
from scanner.extract.base import Chunk, Context, SegmentBuilder, Unsupported
from scanner.extract.detect import DOC, ENCRYPTED_OOXML, PPT
from scanner.extract.markup import html_chunks
from scanner.extract.text import text_chunks

SKIPPED = {
    DOC: "legacy Word .doc is not supported; convert to docx",
    PPT: "legacy PowerPoint .ppt is not supported; convert to pptx",
    ENCRYPTED_OOXML: "a password-protected Office document (its content is encrypted)",
}
UNKNOWN_OLE = "an OLE2 compound file that is not a Word, Excel, PowerPoint or Outlook file"


def skipped(ctype: str, data: bytes) -> Unsupported | ExtractionError:
    """Why an OLE2 file is not read: its kind, or (when olefile cannot open it) the damage."""
    if ctype in SKIPPED:
        return Unsupported(SKIPPED[ctype])
    import olefile

    try:
        olefile.OleFileIO(data).close()
    except Exception as exc:  # olefile raises many types on damaged files
        return ExtractionError(f"corrupt or truncated OLE2 file: {exc}"[:500])
    return Unsupported(f"{ctype} is {UNKNOWN_OLE}")


def xls_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    """Every non-empty cell as ``Sheet!C7``; a first row of text names the columns, like xlsx."""
    import xlrd  # imported on first .xls file

    try:
        # on_demand: one sheet's cells in memory at a time; ragged_rows: a stray far cell does
        # not pad every row out to it. xlrd's warnings go to a discarded log, not stdout.
        book = xlrd.open_workbook(
            file_contents=data, on_demand=True, ragged_rows=True, logfile=io.StringIO()
        )
    except xlrd.XLRDError as exc:
        if "encrypted" in str(exc).lower():
            raise Unsupported("a password-protected .xls workbook") from exc
        raise ExtractionError(f"unreadable .xls: {exc}"[:500]) from exc
    except (xlrd.compdoc.CompDocError, OSError, ValueError, EOFError, IndexError) as exc:
        raise ExtractionError(f"corrupt or truncated .xls: {exc}"[:500]) from exc
    builder = SegmentBuilder()
    try:
        for index in range(book.nsheets):
            ctx.tick()
            sheet = book.sheet_by_index(index)
            yield from _sheet(sheet, ctx, builder)
            book.unload_sheet(index)
    finally:
        book.release_resources()
    yield from builder.finish()


def _sheet(sheet: Any, ctx: Context, builder: SegmentBuilder) -> Iterator[Chunk]:
    import xlrd

    header: dict[int, str] = {}
    for r in range(sheet.nrows):
        if r % 100 == 0:
            ctx.tick()
        for c, cell in enumerate(sheet.row(r)):
            if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                continue
            ctx.count_cells()
            text = _value(cell).strip()
            if not text:
                continue
            if r == 0 and not any(ch.isdigit() for ch in text) and len(text) <= 64:
                header[c] = text
            field = header.get(c) if r > 0 else None
            at = ctx.at(sheet=sheet.name, cell=xlrd.cellname(r, c))
            if field:
                at["field"] = field
            builder.add(f"{field}: " if field else "", text, at)
        yield from builder.drain()


def _value(cell: Any) -> str:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_NUMBER:
        number = float(cell.value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e16 else repr(number)
    if cell.ctype in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_BOOLEAN):
        return ""
    return str(cell.value)


# -- Outlook .msg ([MS-OXMSG]): properties are streams named __substg1.0_<id><type> ------------

_RECIPIENT_KINDS = {1: "To", 2: "Cc", 3: "Bcc"}


class _Msg:
    """One message inside an .msg file: the root, or an embedded message's storage."""

    def __init__(self, ole: Any, prefix: list[str], ctx: Context) -> None:
        self.ole, self.prefix, self.ctx = ole, prefix, ctx

    def raw(self, name: str, prefix: list[str] | None = None) -> bytes | None:
        path = [*(self.prefix if prefix is None else prefix), name]
        if not self.ole.exists("/".join(path)):
            return None
        cap = self.ctx.limits.member_bytes
        if self.ole.get_size("/".join(path)) > cap:
            self.ctx.note(f"read only the first {cap:,} bytes of {name} (member-bytes limit)")
        with self.ole.openstream(path) as stream:
            data: bytes = stream.read(cap)
        return data

    def text(self, prop: str, prefix: list[str] | None = None) -> str | None:
        """A string property: UTF-16 (type 001F) or 8-bit (001E); NUL padding dropped."""
        raw = self.raw(f"__substg1.0_{prop}001F", prefix)
        if raw is not None:
            return raw.decode("utf-16-le", errors="replace").split("\x00", 1)[0]
        raw = self.raw(f"__substg1.0_{prop}001E", prefix)
        if raw is not None:
            return raw.split(b"\x00", 1)[0].decode("cp1252", errors="replace")
        return None

    def storages(self, kind: str) -> list[list[str]]:
        """Recipient or attachment storages directly under this message, in order."""
        depth = len(self.prefix)
        found = {
            tuple(entry[: depth + 1])
            for entry in self.ole.listdir(streams=False, storages=True)
            if len(entry) == depth + 1
            and entry[:depth] == self.prefix
            and entry[depth].lower().startswith(kind)
        }
        return [list(path) for path in sorted(found)]

    def recipient_kind(self, storage: list[str]) -> str:
        """PR_RECIPIENT_TYPE (0x0C15) from the recipient's fixed-size property stream."""
        raw = self.raw("__properties_version1.0", storage) or b""
        for offset in range(8, len(raw) - 15, 16):  # an 8-byte header, then 16-byte entries
            kind, prop, _, value = struct.unpack_from("<HHII", raw, offset)
            if prop == 0x0C15 and kind == 0x0003:
                return _RECIPIENT_KINDS.get(value, "To")
        return "To"


def msg_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    """Headers (From, To, Cc, Bcc, Subject), the text or HTML body and attachments, located
    like an .eml: ``part`` = ``headers`` (+ ``field``), ``body``, or the attachment's name."""
    import olefile

    try:
        ole = olefile.OleFileIO(data)
    except Exception as exc:  # olefile raises many types on damaged files
        raise ExtractionError(f"corrupt Outlook .msg: {exc}"[:500]) from exc
    with ole:
        yield from _message(_Msg(ole, [], ctx))


def _message(msg: _Msg) -> Iterator[Chunk]:
    ctx = msg.ctx
    builder = SegmentBuilder()
    headers: list[tuple[str, str]] = []
    sender = msg.text("0C1A") or ""
    address = msg.text("5D01") or msg.text("0C1F") or ""
    if sender or address:
        headers.append(
            ("From", f"{sender} <{address}>" if sender and address else sender or address)
        )
    recipients = msg.storages("__recip_version1.0_")
    for storage in recipients:
        ctx.tick()
        who = msg.text("3001", storage) or ""
        where = msg.text("39FE", storage) or msg.text("3003", storage) or ""
        if who or where:
            value = f"{who} <{where}>" if who and where else who or where
            headers.append((msg.recipient_kind(storage), value))
    if not recipients:  # the display lists hold names only, but better than nothing
        for prop, field in (("0E04", "To"), ("0E03", "Cc"), ("0E02", "Bcc")):
            if names := msg.text(prop):
                headers.append((field, names))
    if subject := msg.text("0037"):
        headers.append(("Subject", subject))
    for field, value in headers:
        builder.add(f"{field}: ", value, ctx.at(part="headers", field=field))
    yield from builder.finish()
    body = msg.text("1000")
    if body:
        ctx.count_member()
        yield from text_chunks(body, Context(ctx.budget, ctx.loc(part="body"), ctx.depth))
    else:
        html = msg.raw("__substg1.0_10130102") or (msg.text("1013") or "").encode()
        if html:
            ctx.count_member()
            inner = Context(ctx.budget, ctx.loc(part="body"), ctx.depth)
            yield from html_chunks(html.decode("utf-8", errors="replace"), inner)
    for number, storage in enumerate(msg.storages("__attach_version1.0_"), start=1):
        ctx.tick()
        ctx.count_member()
        name = msg.text("3707", storage) or msg.text("3704", storage) or f"attachment-{number}"
        child = ctx.child(part=name)
        embedded = [*storage, "__substg1.0_3701000D"]
        if msg.ole.exists("/".join(embedded)):
            if child.depth > ctx.limits.depth:
                child.note(f"skipped: nested deeper than {ctx.limits.depth} levels (depth limit)")
                continue
            yield from _message(_Msg(msg.ole, embedded, child))
            continue
        payload = msg.raw("__substg1.0_37010102", storage)
        if payload:
            yield from nested(payload, name, child)
