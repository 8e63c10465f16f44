"""Each format: a planted value and the exact location its finding must report."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

import pytest
from data import docgen, docgen_extra

from classifiers.classifier import Classifier
from classifiers.engine import DetectorEngine
from classifiers.policy import Policy
from models import Location
from models.errors import ExtractionError
from scanner.extract import Unsupported, extract, sniff
from scanner.extract.image import ocr_available

CLF = Classifier(DetectorEngine.builtin(), Policy.load(), b"k" * 32)
SSN = "536-22-1234"
EMAIL = "margaret.thompson@example-corp.com"


def located(data: bytes, path: str) -> dict[str, Location]:
    """Type -> location of the first finding of that type."""
    out: dict[str, Location] = {}
    ex = extract(data, path)
    for chunk in ex.chunks:
        for f in CLF.findings(chunk.text):
            out.setdefault(f.type, chunk.locate(f.start or 0))
    assert ex.notes == [], ex.notes
    return out


_XLSX = docgen.xlsx(
    {"Summary": [["quarter", "total"], ["Q1", 10]], "Payroll": [["name", "ssn"], ["Ann", SSN]]}
)
_EML = docgen.eml(
    "Payroll",
    "Hi Bob,\nsee attached.\n",
    attachments=[("payroll.xlsx", _XLSX)],
    sender=EMAIL,
)

CASES = [
    pytest.param(
        "memo.docx",
        docgen.docx(["Quarterly memo", f"Employee SSN {SSN} on file"]),
        "US_SSN",
        Location(section="body", paragraph=2),
        id="docx-paragraph",
    ),
    pytest.param(
        "staff.docx",
        docgen.docx(["Staff"], table=[["name", "ssn"], ["Ann", SSN]]),
        "US_SSN",
        Location(section="table 1", row=2, field="2"),
        id="docx-table-cell",
    ),
    pytest.param(
        "letter.docx",
        docgen.docx(["Body text"], header=f"Contact {EMAIL}"),
        "EMAIL_ADDRESS",
        Location(section="header 1", paragraph=1),
        id="docx-header",
    ),
    pytest.param(
        "letter.docx",
        docgen.docx(["Body text"], footer=f"SSN {SSN}"),
        "US_SSN",
        Location(section="footer 1", paragraph=1),
        id="docx-footer",
    ),
    pytest.param(
        "review.docx",
        docgen.docx(["Body text"], comment=f"ask {EMAIL}"),
        "EMAIL_ADDRESS",
        Location(section="comments", paragraph=1),
        id="docx-comment",
    ),
    pytest.param(
        "payroll.xlsx",
        _XLSX,
        "US_SSN",
        Location(sheet="Payroll", cell="B2", field="ssn"),
        id="xlsx",
    ),
    pytest.param(
        "deck.pptx",
        docgen.pptx([("Welcome", None), (f"Reach {EMAIL}", None)]),
        "EMAIL_ADDRESS",
        Location(page=2, section="slide", paragraph=1),
        id="pptx-slide",
    ),
    pytest.param(
        "deck.pptx",
        docgen.pptx([("Welcome", f"speaker: SSN {SSN}")]),
        "US_SSN",
        Location(page=1, section="notes", paragraph=1),
        id="pptx-notes",
    ),
    pytest.param(
        "report.pdf",
        docgen.pdf([["Cover page"], ["Appendix", f"SSN {SSN}"]]),
        "US_SSN",
        Location(page=2, line=2, column=5),
        id="pdf-page",
    ),
    pytest.param(
        "mail.eml", _EML, "EMAIL_ADDRESS", Location(part="headers", field="From"), id="eml-header"
    ),
    pytest.param(
        "mail.eml",
        docgen.eml("Hello", f"Call me.\nSSN {SSN}\n"),
        "US_SSN",
        Location(part="body", line=2, column=5),
        id="eml-body",
    ),
    pytest.param(
        "mail.eml",
        _EML,
        "US_SSN",
        Location(part="payroll.xlsx", sheet="Payroll", cell="B2", field="ssn"),
        id="eml-attachment-xlsx",
    ),
    pytest.param(
        "box.mbox",
        docgen.mbox([docgen.eml("a", "nothing here"), docgen.eml("b", f"SSN {SSN}")]),
        "US_SSN",
        Location(record=2, part="body", line=1, column=5),
        id="mbox-second-message",
    ),
    pytest.param(
        "bundle.zip",
        docgen.zip_of({"readme.txt": b"hello", "hr/payroll.xlsx": _XLSX}),
        "US_SSN",
        Location(member="hr/payroll.xlsx", sheet="Payroll", cell="B2", field="ssn"),
        id="zip-xlsx",
    ),
    pytest.param(
        "outer.zip",
        docgen.zip_of({"inner.zip": docgen.zip_of({"deep/notes.txt": f"x\n{SSN}".encode()})}),
        "US_SSN",
        Location(member="inner.zip!/deep/notes.txt", line=2, column=1),
        id="zip-in-zip",
    ),
    pytest.param(
        "export.tar",
        docgen.tar_of({"db/users.csv": f"id,ssn\n1,{SSN}\n".encode()}),
        "US_SSN",
        Location(member="db/users.csv", row=1, field="ssn"),
        id="tar-csv",
    ),
    pytest.param(
        "users.json.gz",
        gzip.compress(f'{{"user": {{"ssn": "{SSN}"}}}}'.encode()),
        "US_SSN",
        Location(member="users.json", json_path="$.user.ssn"),
        id="gzip-json",
    ),
    pytest.param(
        "notes.txt.bz2",
        bz2.compress(f"a\nb\nssn {SSN}\n".encode()),
        "US_SSN",
        Location(member="notes.txt", line=3, column=5),
        id="bzip2-text",
    ),
    pytest.param(
        "backup.tar.xz",
        lzma.compress(docgen.tar_of({"etc/app.csv": f"ssn\n{SSN}\n".encode()})),
        "US_SSN",
        Location(member="backup.tar!/etc/app.csv", row=1, field="ssn"),
        id="xz-tar",
    ),
    pytest.param(
        "people.xml",
        f"<?xml version='1.0'?><people><person id='7'><ssn>{SSN}</ssn></person></people>".encode(),
        "US_SSN",
        Location(field="/people/person/ssn"),
        id="xml-element",
    ),
    pytest.param(
        "people.avro",
        docgen.avro(
            [
                {"id": 1, "ssn": "n/a", "contact": {"emails": []}},
                {"id": 2, "ssn": "none", "contact": {"emails": ["n/a", EMAIL]}},
            ],
            docgen.PEOPLE_SCHEMA,
        ),
        "EMAIL_ADDRESS",
        Location(record=2, field="contact", json_path="$.contact.emails[1]"),
        id="avro-nested-column",
    ),
    pytest.param(
        "people.avro",
        docgen.avro([{"id": 7, "ssn": SSN, "contact": {"emails": []}}], docgen.PEOPLE_SCHEMA),
        "US_SSN",
        Location(record=1, field="ssn", json_path="$.ssn"),
        id="avro-column",
    ),
    pytest.param(
        "people.parquet",
        docgen_extra.parquet({"id": [1, 2, 3], "ssn": ["n/a", None, SSN]}, row_group_size=2),
        "US_SSN",
        Location(row=3, field="ssn"),
        id="parquet-column-second-row-group",
    ),
    pytest.param(
        "people.parquet",
        docgen_extra.parquet(
            {"id": [1, 2], "contact": [{"emails": ["n/a"]}, {"emails": ["n/a", EMAIL]}]}
        ),
        "EMAIL_ADDRESS",
        Location(row=2, field="contact", json_path="$.contact.emails[1]"),
        id="parquet-nested-column",
    ),
    pytest.param(
        "backup.7z",
        docgen_extra.sevenzip({"readme.txt": b"hello", "hr/payroll.xlsx": _XLSX}),
        "US_SSN",
        Location(member="hr/payroll.xlsx", sheet="Payroll", cell="B2", field="ssn"),
        id="7z-xlsx",
    ),
    pytest.param(
        "outer.zip",
        docgen.zip_of({"old.7z": docgen_extra.sevenzip({"notes.txt": f"x\n{SSN}".encode()})}),
        "US_SSN",
        Location(member="old.7z!/notes.txt", line=2, column=1),
        id="7z-in-zip",
    ),
    pytest.param(
        "memo.odt",
        docgen_extra.odt(["Quarterly memo", f"Employee  SSN {SSN}"]),
        "US_SSN",
        Location(section="body", paragraph=2),
        id="odt-paragraph",
    ),
    pytest.param(
        "staff.odt",
        docgen_extra.odt(["Staff"], table=[["name", "email"], ["Ann", EMAIL]]),
        "EMAIL_ADDRESS",
        Location(section="table 1", row=2, field="2"),
        id="odt-table-cell",
    ),
    pytest.param(
        "letter.odt",
        docgen_extra.odt(["Body text"], header=f"Contact {EMAIL}"),
        "EMAIL_ADDRESS",
        Location(section="header 1", paragraph=1),
        id="odt-header",
    ),
    pytest.param(
        "letter.odt",
        docgen_extra.odt(["Body text"], footer=f"SSN {SSN}"),
        "US_SSN",
        Location(section="footer 1", paragraph=1),
        id="odt-footer",
    ),
    pytest.param(
        "payroll.ods",
        docgen_extra.ods(
            {
                "Summary": [["quarter", "total"], ["Q1", 10]],
                "Payroll": [["name", "ssn"], ["Ann", SSN]],
            }
        ),
        "US_SSN",
        Location(sheet="Payroll", cell="B2", field="ssn"),
        id="ods",
    ),
    pytest.param(
        "deck.odp",
        docgen_extra.odp([("Welcome", None), (f"Reach {EMAIL}", None)]),
        "EMAIL_ADDRESS",
        Location(page=2, section="slide", paragraph=1),
        id="odp-slide",
    ),
    pytest.param(
        "deck.odp",
        docgen_extra.odp([("Welcome", f"speaker: SSN {SSN}")]),
        "US_SSN",
        Location(page=1, section="notes", paragraph=1),
        id="odp-notes",
    ),
    pytest.param(
        "payroll.xls",
        docgen_extra.xls(
            {
                "Summary": [["quarter", "total"], ["Q1", 10]],
                "Payroll": [["name", "ssn"], ["Ann", SSN]],
            }
        ),
        "US_SSN",
        Location(sheet="Payroll", cell="B2", field="ssn"),
        id="xls",
    ),
    pytest.param(
        "mail.msg",
        docgen_extra.msg("Payroll", "Hi Bob", sender=("Margaret Thompson", EMAIL)),
        "EMAIL_ADDRESS",
        Location(part="headers", field="From"),
        id="msg-sender",
    ),
    pytest.param(
        "mail.msg",
        docgen_extra.msg(
            "Payroll", "Hi", recipients=[("To", "Bob", "b"), ("Cc", "Margaret", EMAIL)]
        ),
        "EMAIL_ADDRESS",
        Location(part="headers", field="Cc"),
        id="msg-recipient-cc",
    ),
    pytest.param(
        "mail.msg",
        docgen_extra.msg("Hello", f"Call me.\nSSN {SSN}\n"),
        "US_SSN",
        Location(part="body", line=2, column=5),
        id="msg-body",
    ),
    pytest.param(
        "mail.msg",
        docgen_extra.msg("Payroll", "see attached", attachments=[("payroll.xlsx", _XLSX)]),
        "US_SSN",
        Location(part="payroll.xlsx", sheet="Payroll", cell="B2", field="ssn"),
        id="msg-attachment-xlsx",
    ),
    pytest.param(
        "page.html",
        f"<html><body>\n<p>hello</p>\n<script>var x = '{EMAIL}';</script>\n<p>SSN {SSN}</p>"
        "\n</body></html>".encode(),
        "US_SSN",
        Location(line=4),
        id="html-visible-text",
    ),
    pytest.param(
        "notes.txt",
        f"line one\nSSN {SSN}\n".encode("utf-16-le"),
        "US_SSN",
        Location(line=2, column=5),
        id="text-utf16-no-bom",
    ),
    pytest.param(
        "notes.txt",
        f"caf\xe9 \x81\x8d ssn {SSN}\n".encode("latin-1"),
        "US_SSN",
        Location(line=1, column=13),
        id="text-invalid-utf8",
    ),
]


@pytest.mark.parametrize(("path", "data", "data_type", "where"), CASES)
def test_location_of_planted_value(path: str, data: bytes, data_type: str, where: Location) -> None:
    assert located(data, path)[data_type] == where


def test_html_script_text_is_not_read() -> None:
    page = f"<html><body><script>var x = '{EMAIL}';</script></body></html>".encode()
    assert "EMAIL_ADDRESS" not in located(page, "p.html")


@pytest.mark.parametrize(
    ("data", "path", "ctype"),
    [
        pytest.param(docgen.docx(["x"]), "report.bin", "wordprocessingml", id="docx-by-members"),
        pytest.param(docgen.xlsx({"S": [["x"]]}), "report.docx", "spreadsheetml", id="xlsx-lies"),
        pytest.param(docgen.pptx([("x", None)]), "deck", "presentationml", id="pptx"),
        pytest.param(docgen.zip_of({"a.txt": b"x"}), "a.xlsx", "application/zip", id="plain-zip"),
        pytest.param(docgen.pdf([["x"]]), "a.txt", "application/pdf", id="pdf"),
        pytest.param(docgen.tar_of({"a": b"x"}), "a.dat", "application/x-tar", id="tar"),
        pytest.param(docgen.eml("s", "b"), "message", "message/rfc822", id="eml-by-headers"),
        pytest.param(b"<?xml version='1.0'?><a/>", "a.txt", "application/xml", id="xml"),
        pytest.param(b"<!DOCTYPE html><p>x", "a", "text/html", id="html"),
        pytest.param(
            docgen.avro([], docgen.PEOPLE_SCHEMA), "a.json", "application/avro", id="avro"
        ),
        pytest.param(docgen_extra.odt(["x"]), "a.zip", "opendocument.text", id="odt"),
        pytest.param(
            docgen_extra.ods({"S": [["x"]]}), "a.xlsx", "opendocument.spreadsheet", id="ods"
        ),
        pytest.param(docgen_extra.odp([("x", None)]), "a", "opendocument.presentation", id="odp"),
        pytest.param(docgen_extra.xls({"S": [["x"]]}), "a.doc", "ms-excel", id="xls-by-streams"),
        pytest.param(docgen_extra.doc(), "a.xls", "msword", id="doc-by-streams"),
        pytest.param(docgen_extra.msg("hi"), "a.doc", "ms-outlook", id="msg-by-streams"),
        pytest.param(docgen_extra.sevenzip({"a": b"x"}), "a.zip", "7z-compressed", id="7z"),
        pytest.param(docgen_extra.parquet({"a": [1]}), "a.csv", "parquet", id="parquet"),
        pytest.param("plain words".encode("utf-16-be"), "a", "text/plain", id="utf16be"),
        pytest.param("plain words".encode("utf-32-le"), "a", "text/plain", id="utf32le"),
    ],
)
def test_type_by_content(data: bytes, path: str, ctype: str) -> None:
    assert ctype in sniff(data, path)


# -- images: OCR is an optional extra (CI installs tesseract-ocr) --------------------------------

needs_ocr = pytest.mark.skipif(not ocr_available(), reason="tesseract-ocr is not installed")


@needs_ocr
def test_ocr_finds_text_in_an_image() -> None:
    png = docgen.png_text(["Scanned form", f"SSN {SSN}"])
    assert located(png, "scan.png")["US_SSN"] == Location(line=2, column=5)


def test_image_without_tesseract_is_skipped_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract program on this PATH
    with pytest.raises(Unsupported, match="image/png is an image; OCR needs the tesseract"):
        extract(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "scan.png")


@needs_ocr
def test_undecodable_image_is_skipped_not_failed() -> None:
    with pytest.raises(Unsupported, match="image/png could not be decoded"):
        list(extract(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "scan.png").chunks)


# -- formats recognised but not read, and what each reports ------------------------------------


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        pytest.param(
            docgen_extra.doc(), "memo.doc", "legacy Word .doc is not supported; convert to docx",
            id="doc",
        ),
        pytest.param(
            docgen_extra.ole({"PowerPoint Document": b"", "Current User": b""}),
            "deck.ppt",
            "legacy PowerPoint .ppt is not supported; convert to pptx",
            id="ppt",
        ),
        pytest.param(
            docgen_extra.ole({"EncryptedPackage": b"", "EncryptionInfo": b""}),
            "locked.xlsx",
            "a password-protected Office document",
            id="encrypted-ooxml",
        ),
        pytest.param(
            docgen_extra.ole({"Contents": b""}),
            "thing.bin",
            "application/x-ole-storage is an OLE2 compound file that is not",
            id="other-ole",
        ),
        pytest.param(
            docgen_extra.sevenzip({"a.txt": SSN.encode()}, password="s3cret"),
            "locked.7z",
            "an encrypted 7z archive",
            id="7z-encrypted",
        ),
    ],
)  # fmt: skip
def test_recognised_but_unread_formats_are_skipped_with_the_reason(
    data: bytes, path: str, reason: str
) -> None:
    with pytest.raises(Unsupported, match=reason):
        list(extract(data, path).chunks)


def test_parquet_cut_by_the_byte_cap_says_the_footer_is_missing() -> None:
    data = docgen_extra.parquet({"ssn": [SSN] * 1000})
    with pytest.raises(ExtractionError, match="footer at the end"):
        list(extract(data[: len(data) // 2], "big.parquet", truncated=True).chunks)


def test_parquet_rows_are_sampled_across_row_groups_within_the_cell_limit() -> None:
    from scanner.limits import ExtractLimits

    rows = 10_000
    data = docgen_extra.parquet(
        {"id": list(range(rows)), "ssn": ["n/a"] * (rows - 1) + [SSN]}, row_group_size=1000
    )
    ex = extract(data, "big.parquet", limits=ExtractLimits(cells=2000))  # 1,000 of 10,000 rows
    seen = [chunk.locate(i) for chunk in ex.chunks for i in _line_starts(chunk.text)]
    read_rows = {where.row for where in seen}
    assert len(read_rows) == 1000
    assert {(r - 1) // 1000 for r in read_rows if r is not None} == set(range(10))
    assert ex.notes == ["sampled 1,000 of 10,000 rows across 10 row groups (cell limit)"]


def _line_starts(text: str) -> list[int]:
    return [0] + [i + 1 for i, c in enumerate(text[:-1]) if c == "\n"]
