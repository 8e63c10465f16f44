"""Each format: a planted value and the exact location its finding must report."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

import pytest
from data import docgen

from classifiers.classifier import Classifier
from classifiers.engine import DetectorEngine
from classifiers.policy import Policy
from models import Location
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
