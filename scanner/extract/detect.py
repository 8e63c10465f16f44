"""Content type by the bytes (magic numbers, zip members, text shape); the name is a hint."""

from __future__ import annotations

import codecs
import io
import tarfile
import zipfile
from pathlib import PurePosixPath

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),  # an empty zip
    (b"\x1f\x8b", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"PAR1", "application/vnd.apache.parquet"),
    (b"Obj\x01", "application/avro"),
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

# Zip-based formats, told apart by a member only they have.
_OOXML = "application/vnd.openxmlformats-officedocument"
_ZIP_KINDS: tuple[tuple[str, str], ...] = (
    (
        "word/document.xml",
        f"{_OOXML}.wordprocessingml.document",
    ),
    ("xl/workbook.xml", f"{_OOXML}.spreadsheetml.sheet"),
    (
        "ppt/presentation.xml",
        f"{_OOXML}.presentationml.presentation",
    ),
)
DOCX, XLSX, PPTX = (kind for _, kind in _ZIP_KINDS)

# OpenDocument names its type in a first, stored member called ``mimetype``.
_ODF = "application/vnd.oasis.opendocument"
ODT, ODS, ODP = f"{_ODF}.text", f"{_ODF}.spreadsheet", f"{_ODF}.presentation"

# OLE2 compound files (legacy Office, Outlook), told apart by the streams only they have.
OLE = "application/x-ole-storage"
DOC, XLS, PPT, MSG = (
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.ms-outlook",
)
ENCRYPTED_OOXML = "application/x-encrypted-office"

_MAIL_HEADERS = (
    b"from:", b"to:", b"subject:", b"date:", b"message-id:", b"mime-version:", b"received:",
    b"return-path:", b"delivered-to:", b"reply-to:", b"cc:", b"content-type:",
)  # fmt: skip


def bomless_encoding(head: bytes) -> str | None:
    """UTF-16/32 without a byte-order mark, told by where the NUL bytes fall in ASCII-ish text."""
    sample = head[:4096]
    n = len(sample) - len(sample) % 4
    if n < 8 or any(sample.startswith(bom) for bom, _ in _BOMS):
        return None
    sample = sample[:n]
    quads = [sample[i : i + 4] for i in range(0, n, 4)]
    if sum(q[1:] == b"\x00\x00\x00" for q in quads) >= 0.9 * len(quads):
        return "utf-32-le"
    if sum(q[:3] == b"\x00\x00\x00" for q in quads) >= 0.9 * len(quads):
        return "utf-32-be"
    even, odd = sample[0::2], sample[1::2]
    half = n // 2
    if odd.count(0) >= 0.7 * half and even.count(0) <= 0.1 * half:
        return "utf-16-le"
    if even.count(0) >= 0.7 * half and odd.count(0) <= 0.1 * half:
        return "utf-16-be"
    return None


def sniff(data: bytes, path: str) -> str:
    """The content type, decided by the bytes; the file name only breaks ties between texts."""
    for magic, ctype in _MAGIC:
        if data.startswith(magic):
            if ctype == "application/zip":
                return _zip_kind(data)
            return _ole_kind(data) if ctype == OLE else ctype
    if len(data) >= 262 and data[257:262] == b"ustar":
        return "application/x-tar"
    suffix = PurePosixPath(path).suffix.lower()
    head = data[:4096]
    wide = bomless_encoding(head)
    if wide:
        head = head.decode(wide, errors="replace").encode("utf-8", errors="replace")
    elif not any(head.startswith(bom) for bom, _ in _BOMS) and b"\x00" in head:
        if suffix == ".tar" and _is_tar(data):
            return "application/x-tar"
        return "application/octet-stream"
    for bom, _ in _BOMS:
        if head.startswith(bom):
            head = head.decode(_bom_encoding(head), errors="replace").encode()
            break
    if suffix in (".csv", ".tsv", ".tab"):
        return "text/tab-separated-values" if suffix != ".csv" else "text/csv"
    if suffix in (".jsonl", ".ndjson"):
        return "application/jsonl"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lower = stripped[:512].lower()
    if suffix == ".json" or stripped[:1] in (b"{", b"["):
        return "application/json"
    if suffix in (".html", ".htm", ".xhtml") or lower.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    if (
        suffix in (".xml", ".svg")
        or lower.startswith(b"<?xml")
        or (lower.startswith(b"<") and lower[1:2].isalpha())
    ):
        return "text/html" if b"<html" in lower or b"<body" in lower else "application/xml"
    if stripped.startswith(b"From ") and suffix != ".txt":
        return "application/mbox"
    if suffix == ".eml" or _looks_like_mail(stripped):
        return "message/rfc822"
    return "text/plain"


def _zip_kind(data: bytes) -> str:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return "application/zip"  # truncated or damaged: the zip reader reports why
    with zf:
        names = set(zf.namelist()[:10_000])
        for member, kind in _ZIP_KINDS:
            if member in names:
                return kind
        info = zf.NameToInfo.get("mimetype")
        if info is not None and info.file_size < 100:
            try:
                mimetype = zf.read(info).decode("ascii", errors="replace").strip()
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
                mimetype = ""
            if mimetype in (ODT, ODS, ODP):
                return mimetype
    return "application/zip"


def _ole_kind(data: bytes) -> str:
    """Word, Excel, PowerPoint, Outlook or an encrypted OOXML document, by stream names
    (olefile: the one maintained reader of the container; xlrd only reads workbooks)."""
    import olefile

    try:
        with olefile.OleFileIO(data) as ole:
            # OLE stream names compare without case.
            streams = {"/".join(e).lower() for e in ole.listdir(streams=True, storages=False)}
    except Exception:  # olefile raises many types on damaged files; the extractor says why
        return OLE
    if "worddocument" in streams:
        return DOC
    if "workbook" in streams or "book" in streams:
        return XLS
    if "powerpoint document" in streams:
        return PPT
    if "encryptedpackage" in streams:
        return ENCRYPTED_OOXML
    if "__properties_version1.0" in streams or any(s.startswith("__substg1.0_") for s in streams):
        return MSG
    return OLE


def _is_tar(data: bytes) -> bool:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
            return tf.next() is not None
    except (tarfile.TarError, OSError, ValueError, EOFError):
        return False


def _looks_like_mail(head: bytes) -> bool:
    lines = head[:2048].split(b"\n", 20)[:20]
    known = 0
    for line in lines:
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):
            continue
        name, colon, _ = line.partition(b":")
        if not colon or not name or b" " in name:
            return False
        known += (name.lower() + b":") in _MAIL_HEADERS
    return known >= 2


def _bom_encoding(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return "utf-8"


def decode(data: bytes) -> str:
    """UTF-8/16/32 by BOM or NUL pattern, else UTF-8, else CP1252 (a superset of Latin-1)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    wide = bomless_encoding(data[:4096])
    if wide:
        return data.decode(wide, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8")  # a character cut by the byte cap
    return data.decode("cp1252", errors="replace")
