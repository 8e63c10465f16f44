"""Small, valid documents written from scratch for the tests: no opaque binaries in the repo.

Each writer emits only the parts a reader needs (plus the content types a strict reader checks),
so a planted value's expected location is obvious from the arguments.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from email.message import EmailMessage
from typing import Any
from xml.sax.saxutils import escape

_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
_P = 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
_S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _zip(parts: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    return buf.getvalue()


def _rels(targets: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f'<Relationship Id="{rid}" Type="{_DOC_REL}/{kind}" Target="{target}"/>'
        for rid, kind, target in targets
    )
    return f'<?xml version="1.0"?><Relationships xmlns="{_PKG_REL}">{body}</Relationships>'


def _w_paras(texts: list[str]) -> str:
    return "".join(f"<w:p><w:r><w:t>{escape(t)}</w:t></w:r></w:p>" for t in texts)


def docx(
    paragraphs: list[str],
    table: list[list[str]] | None = None,
    header: str | None = None,
    footer: str | None = None,
    comment: str | None = None,
) -> bytes:
    """Body paragraphs, then one table; optional header, footer and comment parts."""
    rows = "".join(
        "<w:tr>" + "".join(f"<w:tc>{_w_paras([c])}</w:tc>" for c in row) + "</w:tr>"
        for row in table or []
    )
    tbl = f"<w:tbl>{rows}</w:tbl>" if table else ""
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types/>',
        "word/document.xml": f"<w:document {_W}><w:body>{_w_paras(paragraphs)}{tbl}</w:body>"
        "</w:document>",
    }
    if header is not None:
        parts["word/header1.xml"] = f"<w:hdr {_W}>{_w_paras([header])}</w:hdr>"
    if footer is not None:
        parts["word/footer1.xml"] = f"<w:ftr {_W}>{_w_paras([footer])}</w:ftr>"
    if comment is not None:
        parts["word/comments.xml"] = (
            f'<w:comments {_W}><w:comment w:id="0">{_w_paras([comment])}</w:comment></w:comments>'
        )
    return _zip(parts)


def _col(n: int) -> str:
    name = ""
    while n:
        n, rem = divmod(n - 1, 26)
        name = chr(65 + rem) + name
    return name


def xlsx(sheets: dict[str, list[list[str | int]]]) -> bytes:
    """Strings go to the shared-string table, numbers inline, as Excel writes them."""
    shared: list[str] = []
    parts: dict[str, str | bytes] = {"[Content_Types].xml": '<?xml version="1.0"?><Types/>'}
    entries, rels = [], []
    for i, (name, rows) in enumerate(sheets.items(), start=1):
        xml_rows = []
        for r, row in enumerate(rows, start=1):
            cells = []
            for c, value in enumerate(row, start=1):
                ref = f"{_col(c)}{r}"
                if isinstance(value, int):
                    cells.append(f'<c r="{ref}"><v>{value}</v></c>')
                else:
                    shared.append(value)
                    cells.append(f'<c r="{ref}" t="s"><v>{len(shared) - 1}</v></c>')
            xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
        parts[f"xl/worksheets/sheet{i}.xml"] = (
            f"<worksheet {_S}><sheetData>{''.join(xml_rows)}</sheetData></worksheet>"
        )
        entries.append(f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>')
        rels.append((f"rId{i}", "worksheet", f"worksheets/sheet{i}.xml"))
    parts["xl/workbook.xml"] = f"<workbook {_S} {_R}><sheets>{''.join(entries)}</sheets></workbook>"
    parts["xl/_rels/workbook.xml.rels"] = _rels(rels)
    strings = "".join(f"<si><t>{escape(s)}</t></si>" for s in shared)
    parts["xl/sharedStrings.xml"] = f"<sst {_S}>{strings}</sst>"
    return _zip(parts)


def _a_paras(text: str) -> str:
    return f"<p:txBody><a:p><a:r><a:t>{escape(text)}</a:t></a:r></a:p></p:txBody>"


def pptx(slides: list[tuple[str, str | None]]) -> bytes:
    """(slide text, notes text or None) per slide, in presentation order."""
    parts: dict[str, str | bytes] = {"[Content_Types].xml": '<?xml version="1.0"?><Types/>'}
    ids, rels = [], []
    for i, (text, notes) in enumerate(slides, start=1):
        parts[f"ppt/slides/slide{i}.xml"] = (
            f"<p:sld {_P} {_A}><p:sp>{_a_paras(text)}</p:sp></p:sld>"
        )
        if notes is not None:
            parts[f"ppt/notesSlides/notesSlide{i}.xml"] = (
                f"<p:notes {_P} {_A}><p:sp>{_a_paras(notes)}</p:sp></p:notes>"
            )
            parts[f"ppt/slides/_rels/slide{i}.xml.rels"] = _rels(
                [("rId1", "notesSlide", f"../notesSlides/notesSlide{i}.xml")]
            )
        ids.append(f'<p:sldId id="{255 + i}" r:id="rId{i}"/>')
        rels.append((f"rId{i}", "slide", f"slides/slide{i}.xml"))
    parts["ppt/presentation.xml"] = (
        f"<p:presentation {_P} {_R}><p:sldIdLst>{''.join(ids)}</p:sldIdLst></p:presentation>"
    )
    parts["ppt/_rels/presentation.xml.rels"] = _rels(rels)
    return _zip(parts)


def pdf(pages: list[list[str]]) -> bytes:
    """A PDF with one page per entry, each line of text set in Helvetica."""
    objects: list[bytes] = []
    kids = []
    n_pages = len(pages)
    # 1 catalog, 2 pages, 3 font, then (page, content) pairs
    for i, lines in enumerate(pages):
        page_id, content_id = 4 + 2 * i, 5 + 2 * i
        kids.append(f"{page_id} 0 R")
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops += [f"({safe}) Tj", "T*"]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    head = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {n_pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(head + objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(offsets) + 1,
        xref,
    )
    return bytes(out)


def eml(
    subject: str,
    body: str,
    attachments: list[tuple[str, bytes]] | None = None,
    html: str | None = None,
    sender: str = "alice@example.com",
    to: str = "bob@example.com",
) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = "Mon, 02 Mar 2026 10:00:00 +0000"
    msg["Message-ID"] = "<demo-1@example.com>"
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, data in attachments or []:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def mbox(messages: list[bytes]) -> bytes:
    out = bytearray()
    for m in messages:
        out += b"From alice@example.com Mon Mar  2 10:00:00 2026\n" + m.rstrip(b"\n") + b"\n\n"
    return bytes(out)


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def tar_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def avro(records: list[dict[str, Any]], schema: dict[str, Any]) -> bytes:
    """An Avro object container file (fastavro writes it; deflate-compressed blocks)."""
    import fastavro

    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), records, codec="deflate")
    return buf.getvalue()


PEOPLE_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Person",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "ssn", "type": "string"},
        {
            "name": "contact",
            "type": {
                "type": "record",
                "name": "Contact",
                "fields": [{"name": "emails", "type": {"type": "array", "items": "string"}}],
            },
        },
    ],
}


def png_text(lines: list[str], size: int = 40) -> bytes:
    """Black text on white, large enough for OCR, drawn with Pillow's bundled font."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    image = Image.new("RGB", (40 + 24 * max(len(line) for line in lines), 40 + 70 * len(lines)))
    image.paste("white", (0, 0, *image.size))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((20, 20 + 70 * i), line, fill="black", font=font)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()
