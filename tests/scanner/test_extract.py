from __future__ import annotations

import pytest

from classifiers.classifier import Classifier
from classifiers.engine import DetectorEngine
from classifiers.policy import Policy
from models import Location
from models.errors import ExtractionError
from scanner.extract import Unsupported, decode, extract, sniff

CLF = Classifier(DetectorEngine.builtin(), Policy.load(), b"k" * 32)


def located(data: bytes, path: str) -> dict[str, Location]:
    """Type -> location of each finding in the extracted content."""
    out: dict[str, Location] = {}
    for chunk in extract(data, path).chunks:
        for f in CLF.findings(chunk.text):
            out.setdefault(f.type, chunk.locate(f.start or 0))
    return out


@pytest.mark.parametrize(
    ("data", "path", "data_type", "where"),
    [
        pytest.param(
            b"hello\nworld\nmy ssn is 536-22-1234\n",
            "notes.txt",
            "US_SSN",
            Location(line=3, column=11),
            id="text-line-column",
        ),
        pytest.param(
            b"id,email,ssn\n1,a@b.io,536-22-1234\n2,c@d.io,x\n",
            "people.csv",
            "US_SSN",
            Location(row=1, field="ssn"),
            id="csv-header",
        ),
        pytest.param(
            b"id\tnote\n1\tcall\n2\tssn 536-22-1234\n",
            "t.tsv",
            "US_SSN",
            Location(row=2, field="note"),
            id="tsv",
        ),
        pytest.param(
            b"1;x;536-22-1234\n2;y;z\n",
            "noheader.csv",
            "US_SSN",
            Location(row=1, field="3"),
            id="csv-no-header",
        ),
        pytest.param(
            b'{"users": [{"id": 1}, {"contact": {"email": "a@b.io"}}]}',
            "u.json",
            "EMAIL_ADDRESS",
            Location(json_path="$.users[1].contact.email"),
            id="json",
        ),
        pytest.param(
            b'{"k": 1}\n{"ssn": "536-22-1234"}\n',
            "r.jsonl",
            "US_SSN",
            Location(record=2, json_path="$.ssn"),
            id="jsonl",
        ),
        pytest.param(
            b'{"weird key": "536-22-1234"}',
            "w.json",
            "US_SSN",
            Location(json_path='$["weird key"]'),
            id="json-quoted-key",
        ),
    ],
)
def test_locations(data: bytes, path: str, data_type: str, where: Location) -> None:
    assert located(data, path)[data_type] == where


def test_csv_header_names_give_context_to_bare_numbers() -> None:
    found = located(b"name,ssn\nx,536221234\n", "a.csv")
    assert found["US_SSN"] == Location(row=1, field="ssn")


def test_content_beats_the_file_name() -> None:
    assert sniff(b"%PDF-1.7 ...", "report.txt") == "application/pdf"
    assert sniff(b'{"a": 1}', "data.bin") == "application/json"
    with pytest.raises(ExtractionError, match="corrupt or truncated OLE2 file"):
        extract(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "notes.txt")
    with pytest.raises(ExtractionError, match="corrupt or truncated zip"):
        list(extract(b"PK\x03\x04rest", "notes.txt").chunks)


def test_invalid_json_file_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="invalid JSON"):
        extract(b'{"a": ', "broken.json")


def test_deeply_nested_json_is_an_error_not_a_crash() -> None:
    with pytest.raises(ExtractionError, match="nested"):
        list(extract(b"[" * 5000 + b"]" * 5000, "deep.json").chunks)


def test_jsonl_bad_lines_are_read_as_text_and_noted() -> None:
    ex = extract(b'{"a": 1}\nnot json 536-22-1234\n', "x.jsonl")
    chunks = list(ex.chunks)
    assert ex.notes == ["1 line(s) were not valid JSON and were read as text"]
    assert "536-22-1234" in chunks[0].text


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("héllo".encode("utf-16"), "héllo"),
        ("héllo".encode("utf-8-sig"), "héllo"),
        ("héllo".encode("cp1252"), "héllo"),
        ("héllo".encode() + "é".encode()[:1], "héllo"),  # a character cut by the byte cap
    ],
)
def test_decode(data: bytes, text: str) -> None:
    assert decode(data) == text


def test_binary_without_bom_is_unsupported() -> None:
    with pytest.raises(Unsupported):
        extract(b"\x00\x01\x02\x03binary", "blob")
