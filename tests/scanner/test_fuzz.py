"""Property-based fuzzing: whatever the bytes, an extractor yields chunks or raises only the
documented errors (Unsupported, ExtractionError); limits end as notes, never as exceptions."""

from __future__ import annotations

import bz2
import gzip
import lzma

import pytest
from data import docgen, docgen_extra
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.errors import ExtractionError
from scanner.extract import Unsupported, extract
from scanner.limits import ExtractLimits

SSN = "536-22-1234"
_XLSX = docgen.xlsx({"S": [["ssn"], [SSN]]})
SEEDS: dict[str, bytes] = {
    "a.txt": f"hello\n{SSN}\n".encode(),
    "a.csv": f"id,ssn\n1,{SSN}\n2,x\n".encode(),
    "a.json": b'{"a": [1, {"b": "536-22-1234"}]}',
    "a.jsonl": b'{"a": 1}\n{"b": "536-22-1234"}\n',
    "a.xml": b"<?xml version='1.0'?><r a='1'><s>536-22-1234</s></r>",
    "a.html": b"<html><body><p>536-22-1234</p><a href='x'>y</a></body></html>",
    "a.docx": docgen.docx(["p", SSN], table=[["a", "b"]], header="h", comment="c"),
    "a.xlsx": _XLSX,
    "a.pptx": docgen.pptx([("s", "n")]),
    "a.pdf": docgen.pdf([["one", SSN]]),
    "a.eml": docgen.eml("s", f"body {SSN}", attachments=[("x.xlsx", _XLSX)]),
    "a.mbox": docgen.mbox([docgen.eml("s", "b"), docgen.eml("t", SSN)]),
    "a.zip": docgen.zip_of({"x/a.csv": b"ssn\n536-22-1234\n", "b.xlsx": _XLSX}),
    "a.tar": docgen.tar_of({"a.txt": SSN.encode()}),
    "a.txt.gz": gzip.compress(SSN.encode()),
    "a.txt.bz2": bz2.compress(SSN.encode()),
    "a.txt.xz": lzma.compress(SSN.encode()),
    "a.avro": docgen.avro(
        [{"id": 1, "ssn": SSN, "contact": {"emails": ["a@b.io"]}}], docgen.PEOPLE_SCHEMA
    ),
    "a.parquet": docgen_extra.parquet(
        {"id": [1, 2, 3], "ssn": [SSN, None, "x"], "c": [{"e": ["a@b.io"]}] * 3}, row_group_size=2
    ),
    "a.7z": docgen_extra.sevenzip({"x/a.csv": b"ssn\n536-22-1234\n", "b.xlsx": _XLSX}),
    "a.odt": docgen_extra.odt(["p", SSN], table=[["a", "b"]], header="h", footer="f"),
    "a.ods": docgen_extra.ods({"S": [["ssn"], [SSN]]}),
    "a.odp": docgen_extra.odp([("s", SSN)]),
    "a.xls": docgen_extra.xls({"S": [["ssn"], [SSN], [7]]}),
    "a.msg": docgen_extra.msg(
        "s", f"body {SSN}", ("A", "a@b.io"), [("Cc", "B", "b@c.io")], [("x.xlsx", _XLSX)]
    ),
}
LIMITS = ExtractLimits(decompressed_bytes=4 * 1024 * 1024, seconds=20)
FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _consume(data: bytes, path: str) -> None:
    try:
        ex = extract(data, path, limits=LIMITS)
        for chunk in ex.chunks:
            assert isinstance(chunk.text, str)
            for offset in (0, len(chunk.text) // 2):
                chunk.locate(offset)
    except (Unsupported, ExtractionError):
        pass


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=32))
        else:
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 256))]
    return bytes(data)


@pytest.mark.parametrize("path", sorted(SEEDS))
def test_mutated_documents_raise_only_documented_errors(path: str) -> None:
    @FUZZ
    @given(data=mutated(SEEDS[path]))
    def run(data: bytes) -> None:
        _consume(data, path)

    run()


@pytest.mark.parametrize("path", sorted(SEEDS))
def test_seed_documents_are_read(path: str) -> None:
    ex = extract(SEEDS[path], path)
    assert any(SSN in c.text for c in ex.chunks) or path == "a.pptx"
    assert ex.notes == []


@FUZZ
@given(data=st.binary(max_size=2048), path=st.sampled_from([*sorted(SEEDS), "x", "y.bin"]))
def test_random_bytes_raise_only_documented_errors(data: bytes, path: str) -> None:
    _consume(data, path)


@FUZZ
@given(
    prefix=st.sampled_from(
        [
            b"PK\x03\x04",
            b"%PDF-1.4\n",
            b"\x1f\x8b",
            b"BZh",
            b"<?xml",
            b"From ",
            b"Obj\x01",
            b"7z\xbc\xaf\x27\x1c",
            b"PAR1",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        ]
    ),
    rest=st.binary(max_size=1024),
)
def test_magic_then_garbage_raises_only_documented_errors(prefix: bytes, rest: bytes) -> None:
    _consume(prefix + rest, "x")
