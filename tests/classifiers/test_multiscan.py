"""The Hyperscan multi-pattern engine finds exactly what the RE2-only engine finds."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from classifiers.engine import DetectorEngine, RawMatch, load_specs
from classifiers.multiscan import HyperscanScanner, Re2Scanner, make_scanner
from classifiers.spec import DetectorSpec

SPECS = load_specs()
HS = DetectorEngine(SPECS, backend="hyperscan")
RE2 = DetectorEngine(SPECS, backend="re2")


def _key(matches: list[RawMatch]) -> list[tuple[str, int, int, float]]:
    return [(m.spec.id, m.start, m.end, m.score) for m in matches]


def _all_examples() -> list[str]:
    return [t for s in SPECS for t in [*s.examples.positive, *s.examples.negative]]


def test_backends_are_what_was_asked() -> None:
    assert HS.scanner.backend == "hyperscan"
    assert RE2.scanner.backend == "re2"
    with pytest.raises(ValueError, match="unknown pattern backend"):
        make_scanner(["a"], "pcre")


def test_same_findings_on_every_rule_example() -> None:
    texts = _all_examples()
    assert [_key(HS.analyze(t)) for t in texts] == [_key(RE2.analyze(t)) for t in texts]


@pytest.mark.parametrize(
    "joiner",
    [pytest.param("\n", id="lines"), pytest.param(" ", id="spaces"), pytest.param("", id="glued")],
)
def test_same_findings_when_examples_share_one_text(joiner: str) -> None:
    # Many candidates of many rules in one text: windows merge, neighbours touch.
    text = joiner.join(_all_examples())
    assert _key(HS.analyze(text)) == _key(RE2.analyze(text))


def test_non_ascii_text_keeps_character_offsets() -> None:
    text = "Ünïcödé 日本 — SSN 536-22-1234, mail ånna@example.com 🙂 card 4111 1111 1111 1111"
    found = HS.analyze(text)
    assert _key(found) == _key(RE2.analyze(text))
    assert {text[m.start : m.end] for m in found} >= {"536-22-1234", "4111 1111 1111 1111"}


def test_lone_surrogate_does_not_break_the_scan() -> None:
    text = "bad \ud800 char then SSN 536-22-1234"
    assert [text[m.start : m.end] for m in HS.analyze(text)] == ["536-22-1234"]


def test_long_base64_run_next_to_real_findings() -> None:
    # A 40-character class pattern matches at every offset of a long base64 run.
    blob = ("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MTIzNDU2Nzg5" * 400)[:12_000]
    key = "aws_secret_access_key = bmpMp7kByN9wcrQmijS7yvD57k2M7CLEGIY0ZU8f"
    text = f"{key}\n{blob}\nSSN 536-22-1234"
    assert _key(HS.analyze(text)) == _key(RE2.analyze(text))
    assert {"AWS_SECRET_ACCESS_KEY", "US_SSN"} <= {m.type for m in HS.analyze(text)}


def test_patterns_hyperscan_rejects_are_searched_with_re2() -> None:
    big = _spec_with(r"\bcurl\b[^\n]{0,800}?\s-u (?P<value>\w+:\w+)")
    engine = DetectorEngine([big], backend="hyperscan")
    scanner = engine.scanner
    assert isinstance(scanner, HyperscanScanner) and scanner.rejected == [0]
    assert [m.value for m in engine.analyze("curl https://x.example -u admin:hunter22")] == [
        "admin:hunter22"
    ]


def test_scanner_reports_each_pattern_once_in_order() -> None:
    regexes = [r"\bab+c\b", r"x{1,900}y", r"\d{3}-\d{4}", r"nothere"]
    hs = make_scanner(regexes, "hyperscan")
    data = b"zz abbbc 555-1234 xxy abc 555-9999"
    assert hs.scan(data) == [0, 1, 2]  # pattern 1 is too large for Hyperscan: RE2 finds it
    assert isinstance(hs, HyperscanScanner) and hs.rejected == [1]
    assert Re2Scanner(regexes).scan(data) == [0, 1, 2]
    assert hs.scan(b"") == []


def test_engine_pickles_without_compiled_state() -> None:
    engine = pickle.loads(pickle.dumps(HS))
    assert engine._scanner_cache is None
    assert [m.type for m in engine.analyze("SSN 536-22-1234")] == ["US_SSN"]


def _spec_with(regex: str) -> DetectorSpec:
    return DetectorSpec.model_validate(
        {
            "id": "custom.cache_probe",
            "type": "CACHE_PROBE",
            "category": "pii",
            "description": "d",
            "patterns": [{"regex": regex}],
            "examples": {"positive": ["x"]},
        }
    )


def test_built_database_is_cached_in_a_private_directory(tmp_path: Path) -> None:
    cache = tmp_path / "hs"
    spec = _spec_with(r"\bPRB-\d{5}\b")
    assert DetectorEngine([spec], backend="hyperscan", cache_dir=cache).scanner.backend
    (entry,) = cache.glob("*.hsdb")
    assert cache.stat().st_mode & 0o777 == 0o700
    # A fresh process-level build is not needed: the file alone reproduces the database.
    from classifiers import multiscan

    multiscan._databases.clear()
    engine = DetectorEngine([spec], backend="hyperscan", cache_dir=cache)
    assert [m.type for m in engine.analyze("ref PRB-12345")] == ["CACHE_PROBE"]
    assert list(cache.glob("*.hsdb")) == [entry]


def test_cache_in_a_writable_by_others_directory_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "shared"
    cache.mkdir()
    os.chmod(cache, 0o777)
    spec = _spec_with(r"\bPRC-\d{5}\b")
    engine = DetectorEngine([spec], backend="hyperscan", cache_dir=cache)
    assert [m.type for m in engine.analyze("ref PRC-12345")] == ["CACHE_PROBE"]
    assert not list(cache.glob("*.hsdb"))
