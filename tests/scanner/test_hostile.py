"""The generated hostile corpus, item by item: each one ends with a status and a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from data import hostile

from classifiers.classifier import ClassifierSettings
from models import ItemStatus
from models.errors import ConfigError
from scanner.limits import ExtractLimits
from scanner.worker import ContentResult, init_worker, scan_content

LIMITED = {ItemStatus.PARTIAL, ItemStatus.SKIPPED, ItemStatus.FAILED}

# The reason each hostile file must give (a fragment of the item's error).
REASONS = {
    "zip-bomb-nested.zip": "compression ratio",
    "zip-bomb-overlapping.zip": "compression ratio",
    "gzip-bomb.txt.gz": "compression ratio",
    "nested-20.zip": "depth limit",
    "billion-laughs.xml": "entities are not expanded",
    "external-entity.xml": "entities are not expanded",
    "pdf-truncated.pdf": "unreadable PDF",
    "pdf-garbage.pdf": "unreadable PDF",
    "pdf-no-xref.pdf": "unreadable PDF",
    "docx-truncated.docx": "truncated",
    "xlsx-truncated.xlsx": "truncated",
    "xls-truncated.xls": "corrupt or truncated OLE2 file",
    "msg-truncated.msg": "corrupt or truncated OLE2 file",
    "csv-million-columns.csv": "cell limit",
    "json-100k-deep.json": "nested too deeply",
    "tar-20k-members.tar": "member limit",
    "7z-bomb.7z": "compression ratio",
    "parquet-truncated.parquet": "corrupt or truncated Parquet",
    "parquet-bomb.parquet": "compression ratio",
    "parquet-dictionary-bomb.parquet": "compression ratio",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("hostile")
    return root, hostile.build(root)


def _scan(path: Path, limits: ExtractLimits | None = None) -> ContentResult:
    init_worker(ClassifierSettings(key=b"k" * 32))
    return scan_content(path.read_bytes(), False, path.name, path.as_uri(), limits)


def test_every_hostile_file_has_an_expected_reason(corpus: tuple[Path, dict[str, str]]) -> None:
    _, kinds = corpus
    assert {n for n, k in kinds.items() if k == "limited"} == set(REASONS)


@pytest.mark.parametrize("name", sorted(REASONS))
def test_hostile_file_is_limited_with_a_reason(
    corpus: tuple[Path, dict[str, str]], name: str
) -> None:
    result = _scan(corpus[0] / name)
    assert result.status in LIMITED
    assert result.error is not None and REASONS[name] in result.error


@pytest.mark.parametrize("name", ["invalid-utf8.txt", "utf16-no-bom.txt"])
def test_odd_but_legitimate_text_is_read(corpus: tuple[Path, dict[str, str]], name: str) -> None:
    result = _scan(corpus[0] / name)
    assert result.status is ItemStatus.OK
    assert [f.type for f in result.findings] == ["US_SSN"]


def test_nesting_within_the_depth_limit_is_read_to_the_bottom(tmp_path: Path) -> None:
    path = tmp_path / "nested-9.zip"
    path.write_bytes(hostile.nested_archive(9))
    result = _scan(path)
    assert result.status is ItemStatus.OK
    (finding,) = result.findings
    assert finding.location.member is not None
    assert finding.location.member.endswith("level9.zip!/secret.txt")
    assert finding.location.member.count("!/") == 8


@pytest.mark.parametrize(
    ("limits", "data", "path", "reason"),
    [
        pytest.param(
            ExtractLimits(decompressed_bytes=1000),
            hostile.docgen.zip_of({"a.txt": b"a" * 600, "b.txt": b"b" * 600}),
            "two.zip",
            "decompressed-bytes limit",
            id="decompressed-bytes",
        ),
        pytest.param(
            ExtractLimits(member_bytes=100),
            hostile.docgen.zip_of({"a.txt": b"a" * 600}),
            "one.zip",
            "member-bytes limit",
            id="member-bytes",
        ),
        pytest.param(
            ExtractLimits(members=2),
            hostile.docgen.zip_of({f"{i}.txt": b"x" for i in range(5)}),
            "five.zip",
            "member limit",
            id="members",
        ),
        pytest.param(
            ExtractLimits(pages=2),
            hostile.docgen.pdf([["one"], ["two"], ["three"]]),
            "three.pdf",
            "page limit",
            id="pages",
        ),
        pytest.param(
            ExtractLimits(pages=1),
            hostile.docgen.pptx([("one", None), ("two", None)]),
            "two.pptx",
            "page limit",
            id="slides",
        ),
        pytest.param(
            ExtractLimits(cells=3),
            hostile.docgen.xlsx({"S": [["a", "b"], ["c", "d"]]}),
            "four.xlsx",
            "cell limit",
            id="xlsx-cells",
        ),
        pytest.param(
            ExtractLimits(cells=3),
            b"a,b\n1,2\n3,4\n",
            "t.csv",
            "cell limit",
            id="csv-cells",
        ),
        pytest.param(
            ExtractLimits(depth=1),
            hostile.docgen.zip_of({"in.zip": hostile.docgen.zip_of({"a.txt": b"x"})}),
            "deep.zip",
            "depth limit",
            id="depth",
        ),
        pytest.param(
            ExtractLimits(member_bytes=100),
            hostile.docgen_extra.sevenzip({"a.txt": b"a" * 600}),
            "one.7z",
            "member-bytes limit",
            id="7z-member-bytes",
        ),
        pytest.param(
            ExtractLimits(decompressed_bytes=1000),
            hostile.docgen_extra.sevenzip({"a.txt": b"a" * 600, "b.txt": b"b" * 600}),
            "two.7z",
            "decompressed-bytes limit",
            id="7z-decompressed-bytes",
        ),
        pytest.param(
            ExtractLimits(members=2),
            hostile.docgen_extra.sevenzip({f"{i}.txt": b"x" for i in range(5)}),
            "five.7z",
            "member limit",
            id="7z-members",
        ),
        pytest.param(
            ExtractLimits(depth=1),
            hostile.docgen.zip_of({"in.7z": hostile.docgen_extra.sevenzip({"a.txt": b"x"})}),
            "deep.zip",
            "depth limit",
            id="7z-depth",
        ),
        pytest.param(
            ExtractLimits(cells=3),
            hostile.docgen_extra.parquet({"a": [1, 2, 3], "b": [4, 5, 6]}),
            "six.parquet",
            "cell limit",
            id="parquet-cells",
        ),
        pytest.param(
            ExtractLimits(decompressed_bytes=1000),
            hostile.docgen_extra.parquet({"a": ["x" * 100] * 100}),
            "wide.parquet",
            "decompressed-bytes limit",
            id="parquet-decompressed-bytes",
        ),
        pytest.param(
            ExtractLimits(cells=3),
            hostile.docgen_extra.ods({"S": [["a", "b"], ["c", "d"]]}),
            "four.ods",
            "cell limit",
            id="ods-cells",
        ),
        pytest.param(
            ExtractLimits(cells=3),
            hostile.docgen_extra.xls({"S": [["a", "b"], ["c", "d"]]}),
            "four.xls",
            "cell limit",
            id="xls-cells",
        ),
        pytest.param(
            ExtractLimits(pages=1),
            hostile.docgen_extra.odp([("one", None), ("two", None)]),
            "two.odp",
            "page limit",
            id="odp-slides",
        ),
        pytest.param(
            ExtractLimits(seconds=0.000001),
            b"line\n" * 1000,
            "t.txt",
            "time limit",
            id="seconds",
        ),
    ],
)
def test_each_limit_marks_the_item_partial_with_its_reason(
    tmp_path: Path, limits: ExtractLimits, data: bytes, path: str, reason: str
) -> None:
    file = tmp_path / path
    file.write_bytes(data)
    result = _scan(file, limits)
    assert result.status is ItemStatus.PARTIAL
    assert result.error is not None and reason in result.error


def test_limits_from_cli_pairs() -> None:
    limits = ExtractLimits.from_pairs(["depth=3", "decompressed-bytes=1000", "seconds=2.5"])
    assert (limits.depth, limits.decompressed_bytes, limits.seconds) == (3, 1000, 2.5)
    assert limits.members == ExtractLimits().members


@pytest.mark.parametrize("pair", ["depth", "nope=1", "depth=-1", "pages=many"])
def test_bad_limit_pairs_are_config_errors(pair: str) -> None:
    with pytest.raises(ConfigError, match="--limit"):
        ExtractLimits.from_pairs([pair])
