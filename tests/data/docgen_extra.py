"""Writers for the formats read since the second part of issue 4: Parquet, 7z, OpenDocument and
the legacy OLE2 files (.xls, .doc, .msg). Like ``docgen``, every fixture is built from scratch.

No maintained library writes OLE2 compound files (olefile only reads them, xlwt is abandoned),
so ``ole()`` lays out the container by hand and ``xls()`` writes the few BIFF8 records a reader
needs. Streams are padded with NULs to the 4096-byte mini-stream cutoff so the container needs
no mini FAT: less code, still a valid file (readers of text properties strip the NULs).
"""

from __future__ import annotations

import io
import struct
import zipfile
from typing import Any
from xml.sax.saxutils import escape, quoteattr

_SECTOR = 512
_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


# -- Parquet and 7z: written by the same libraries that read them -----------------------------


def parquet(columns: dict[str, Any], row_group_size: int = 1000, **options: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf, row_group_size=row_group_size, **options)
    return buf.getvalue()


def sevenzip(members: dict[str, bytes], password: str | None = None) -> bytes:
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", password=password) as archive:
        for name, body in members.items():
            archive.writestr(body, name)
    return buf.getvalue()


# -- OpenDocument ------------------------------------------------------------------------------

_ODF_NS = " ".join(
    f'xmlns:{p}="urn:oasis:names:tc:opendocument:xmlns:{p}:1.0"'
    for p in ("office", "text", "table", "draw", "presentation")
)
_ODF = "application/vnd.oasis.opendocument"


def _odf(kind: str, body: str, styles: str | None = None) -> bytes:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS} '
        f'office:version="1.3"><office:body><office:{kind}>{body}</office:{kind}>'
        "</office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODF}.{kind}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        # The spec wants ``mimetype`` first and stored, so it can be read at a fixed offset.
        zf.writestr("mimetype", f"{_ODF}.{kind}", compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        if styles is not None:
            zf.writestr("styles.xml", styles, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _p(text: str) -> str:
    # Runs of spaces are written as <text:s/>, as office suites do.
    return "<text:p>" + escape(text).replace("  ", ' <text:s text:c="1"/>') + "</text:p>"


def odt(
    paragraphs: list[str],
    table: list[list[str]] | None = None,
    header: str | None = None,
    footer: str | None = None,
) -> bytes:
    rows = "".join(
        "<table:table-row>"
        + "".join(f"<table:table-cell>{_p(c)}</table:table-cell>" for c in row)
        + "</table:table-row>"
        for row in table or []
    )
    tbl = f'<table:table table:name="T1">{rows}</table:table>' if table else ""
    styles = None
    if header or footer:
        parts = (f"<style:header>{_p(header)}</style:header>" if header else "") + (
            f"<style:footer>{_p(footer)}</style:footer>" if footer else ""
        )
        styles = (
            f'<?xml version="1.0" encoding="UTF-8"?><office:document-styles {_ODF_NS} '
            'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" office:version="1.3">'
            '<office:master-styles><style:master-page style:name="Standard">'
            f"{parts}</style:master-page></office:master-styles></office:document-styles>"
        )
    return _odf("text", "".join(_p(t) for t in paragraphs) + tbl, styles)


def ods(sheets: dict[str, list[list[str | int]]]) -> bytes:
    def cell(value: str | int) -> str:
        if isinstance(value, int):
            return (
                f'<table:table-cell office:value-type="float" office:value="{value}">'
                f"{_p(str(value))}</table:table-cell>"
            )
        return f'<table:table-cell office:value-type="string">{_p(value)}</table:table-cell>'

    body = "".join(
        f"<table:table table:name={quoteattr(name)}>"
        # An empty leading cell repeated, as suites write gaps: the columns must still count.
        + "".join(
            "<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>"
            for row in rows
        )
        + '<table:table-row table:number-rows-repeated="1000"><table:table-cell '
        'table:number-columns-repeated="1024"/></table:table-row></table:table>'
        for name, rows in sheets.items()
    )
    return _odf("spreadsheet", body)


def odp(slides: list[tuple[str, str | None]]) -> bytes:
    body = "".join(
        f'<draw:page draw:name="page{i}"><draw:frame><draw:text-box>{_p(text)}'
        "</draw:text-box></draw:frame>"
        + (f"<presentation:notes><draw:frame><draw:text-box>{_p(notes)}</draw:text-box>"
           "</draw:frame></presentation:notes>" if notes else "")
        + "</draw:page>"
        for i, (text, notes) in enumerate(slides, start=1)
    )  # fmt: skip
    return _odf("presentation", body)


# -- OLE2 compound files ---------------------------------------------------------------------


def _dir_entry(
    name: str, kind: int, start: int, size: int, right: int = _NOSTREAM, child: int = _NOSTREAM
) -> bytes:
    encoded = name.encode("utf-16-le") + b"\x00\x00"
    return (
        encoded.ljust(64, b"\x00")
        + struct.pack("<HBB", len(encoded), kind, 1)  # 1: black
        + struct.pack("<III", _NOSTREAM, right, child)  # left sibling, right sibling, child
        + bytes(16 + 4 + 16)  # CLSID, state bits, times
        + struct.pack("<IQ", start, size)
    )


Tree = dict[str, "bytes | Tree"]


def ole(streams: Tree) -> bytes:
    """A version-3 compound file: ``bytes`` values are streams, ``dict`` values storages."""
    sectors: list[bytes] = []
    chains: list[tuple[int, int]] = []  # (first sector, count) of each chain
    entries: list[bytes] = [b""]  # the root entry, written last when its child is known

    def place(tree: Tree) -> int:
        """Write a storage's children; return the id of the first (or NOSTREAM)."""
        # Siblings hang off one another in the order readers compare names: length, then case.
        names = sorted(tree, key=lambda n: (len(n), n.upper()))
        ids = list(range(len(entries), len(entries) + len(names)))
        entries.extend(b"" for _ in names)
        for k, (name, eid) in enumerate(zip(names, ids, strict=True)):
            right = ids[k + 1] if k + 1 < len(ids) else _NOSTREAM
            value = tree[name]
            if isinstance(value, dict):
                entries[eid] = _dir_entry(name, 1, 0, 0, right=right, child=place(value))
                continue
            body = value.ljust(4096, b"\x00")
            first, count = len(sectors), -(-len(body) // _SECTOR)
            chains.append((first, count))
            sectors.extend(
                body[i : i + _SECTOR].ljust(_SECTOR, b"\x00") for i in range(0, len(body), _SECTOR)
            )
            entries[eid] = _dir_entry(name, 2, first, len(body), right=right)
        return ids[0] if ids else _NOSTREAM

    entries[0] = _dir_entry("Root Entry", 5, _END, 0, child=place(streams))
    directory = b"".join(entries)
    directory += bytes(-len(directory) % _SECTOR)
    dir_start, dir_count = len(sectors), len(directory) // _SECTOR
    sectors += [directory[i : i + _SECTOR] for i in range(0, len(directory), _SECTOR)]
    chains.append((dir_start, dir_count))
    fat_count = 1
    while (len(sectors) + fat_count) > fat_count * (_SECTOR // 4):
        fat_count += 1
    fat_start = len(sectors)
    fat = [_FREE] * (fat_count * (_SECTOR // 4))
    for first, count in chains:
        for s in range(first, first + count):
            fat[s] = s + 1 if s < first + count - 1 else _END
    for s in range(fat_start, fat_start + fat_count):
        fat[s] = _FATSECT
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    sectors += [fat_bytes[i : i + _SECTOR] for i in range(0, len(fat_bytes), _SECTOR)]
    difat = [fat_start + i for i in range(fat_count)] + [_FREE] * (109 - fat_count)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, fat_count, dir_start, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<109I", *difat)
    )
    return header + b"".join(sectors)


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _unicode(text: str, length_bytes: int = 2) -> bytes:
    fmt = "<H" if length_bytes == 2 else "<B"
    return struct.pack(fmt, len(text)) + b"\x01" + text.encode("utf-16-le")


def _bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x06))


def xls(sheets: dict[str, list[list[str | int]]]) -> bytes:
    """A BIFF8 workbook: text cells as LABEL records, integers as NUMBER records."""
    bodies: list[bytes] = []
    for rows in sheets.values():
        cells = b""
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, int):
                    cells += _record(0x0203, struct.pack("<HHHd", r, c, 0, float(value)))
                else:
                    cells += _record(0x0204, struct.pack("<HHH", r, c, 0) + _unicode(value))
        bodies.append(_bof(0x0010) + cells + _record(0x000A, b""))
    names = list(sheets)
    bound = [len(_record(0x0085, bytes(6) + _unicode(n, 1))) for n in names]
    offset = len(_bof(0x0005)) + sum(bound) + len(_record(0x000A, b""))
    globals_ = _bof(0x0005)
    for name, body in zip(names, bodies, strict=True):
        globals_ += _record(0x0085, struct.pack("<IBB", offset, 0, 0) + _unicode(name, 1))
        offset += len(body)
    stream = globals_ + _record(0x000A, b"") + b"".join(bodies)
    return ole({"Workbook": stream})


def doc() -> bytes:
    """Enough of a Word 97 file to be told apart: its streams, not a readable body."""
    return ole({"WordDocument": b"\xec\xa5" + bytes(510), "1Table": bytes(512)})


def _prop(prop: str, text: str) -> tuple[str, bytes]:
    return f"__substg1.0_{prop}001F", text.encode("utf-16-le")


def _props(entries: list[tuple[int, int, int]], header: int) -> bytes:
    """A fixed-size property stream: a header, then (type, id, flags, value) entries."""
    return bytes(header) + b"".join(
        struct.pack("<HHIQ", kind, prop, 0, value) for kind, prop, value in entries
    )


def msg(
    subject: str,
    body: str | None = None,
    sender: tuple[str, str] | None = None,
    recipients: list[tuple[str, str, str]] | None = None,
    attachments: list[tuple[str, bytes]] | None = None,
) -> bytes:
    """An Outlook message ([MS-OXMSG]): string properties as UTF-16 streams, recipients
    (``(kind, name, address)``, kind To/Cc/Bcc) and attachments as storages."""
    root: Tree = dict([_prop("0037", subject)])
    root["__properties_version1.0"] = _props([], 32)
    if body is not None:
        root.update([_prop("1000", body)])
    if sender:
        root.update([_prop("0C1A", sender[0]), _prop("5D01", sender[1])])
    kinds = {"To": 1, "Cc": 2, "Bcc": 3}
    for n, (kind, name, address) in enumerate(recipients or []):
        recipient: Tree = dict([_prop("3001", name), _prop("39FE", address)])
        recipient["__properties_version1.0"] = _props([(0x0003, 0x0C15, kinds[kind])], 8)
        root[f"__recip_version1.0_#{n:08X}"] = recipient
    for n, (name, data) in enumerate(attachments or []):
        root[f"__attach_version1.0_#{n:08X}"] = dict(
            [_prop("3707", name), ("__substg1.0_37010102", data)]
        )
    return ole(root)
