"""The Hyperscan multi-pattern engine finds exactly what the RE2-only engine finds."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from classifiers.engine import DetectorEngine, RawMatch, load_specs
from classifiers.multiscan import (
    HyperscanScanner,
    Re2Scanner,
    _literal_free,
    hyperscan_available,
    make_scanner,
)
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
    regexes = [r"\babb*c\b", r"x{1,900}y", r"\d{3}-\d{4}", r"nothere"]
    hs = make_scanner(regexes, "hyperscan")
    data = b"zz abbbc 555-1234 xxy abc 555-9999"
    assert hs.scan(data) == [0, 1, 2]  # pattern 1 is too large for Hyperscan: RE2 finds it
    # Pattern 2 holds no literal of two bytes: an RE2 set finds it too.
    assert isinstance(hs, HyperscanScanner) and hs.rejected == [1, 2]
    assert Re2Scanner(regexes).scan(data) == [0, 1, 2]
    assert hs.scan(b"") == []


@pytest.mark.parametrize(
    ("regex", "free"),
    [
        (r"\b\d{3}-\d{2}-\d{4}\b", True),  # one-byte literals only
        (r"(?i)\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}\b", True),
        (r"\bAKIA[0-9A-Z]{16}\b", False),
        (r"(?i)\bbc1[02-9ac-hj-np-z]{11,71}\b", False),  # case-insensitive literal
        (r"(?:ghp|gho)_[A-Za-z0-9]{36}", False),  # every branch holds one
        (r"(?:ghp_|x)[A-Za-z0-9]{36}", True),  # the "x" branch holds none
        (r"(?:ab)?\d+", True),  # an optional literal is in no match of some
        (r"(?:ab){1,3}\d", False),
        (r"\p{Lu}\d{8}", False),  # read differently by the two parsers: offered to Hyperscan
    ],
)
def test_patterns_without_a_literal_are_searched_with_re2(regex: str, free: bool) -> None:
    assert _literal_free(regex) is free
    if hyperscan_available():
        scanner = make_scanner([regex, r"PRD-\d+"], "hyperscan")
        assert isinstance(scanner, HyperscanScanner)
        assert scanner.rejected == ([0] if free else [])


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")
def test_literal_free_patterns_occur_as_re2_says() -> None:
    """An RE2 set, not Hyperscan, tells whether literal-free patterns occur: the same answers."""
    import re2

    regexes = [r"\b\d{3}-\d{2}-\d{4}\b", r"(?i)\b[STFG]\d{7}[A-Z]\b", r"\bAKIA[0-9A-Z]{16}\b"]
    scanner = make_scanner(regexes, "hyperscan")
    texts = [
        "ssn 123-45-6789",
        "S1234567D",
        "s1234567d é",
        "AKIAABCDEFGHIJKLMNOP",
        "1234-56-789",
        "",
    ]
    for text in texts:
        data = text.encode()
        expected = [i for i, r in enumerate(regexes) if re2.search(r, data)]
        assert scanner.scan(data) == expected, text


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
    first = DetectorEngine([spec], backend="hyperscan", cache_dir=cache)
    assert not list(cache.glob("*.hsdb"))  # built on the first text that needs it
    first.analyze("ref PRB-1")
    assert len(list(cache.glob("*.hsdb"))) == 1  # ASCII text: the byte-mode database only
    first.analyze("réf PRB-1")
    entries = sorted(cache.glob("*.hsdb"))
    assert len(entries) == 2  # and the UTF-8 mode one
    assert cache.stat().st_mode & 0o777 == 0o700
    # A fresh process-level build is not needed: the file alone reproduces the database.
    from classifiers import multiscan

    multiscan._databases.clear()
    engine = DetectorEngine([spec], backend="hyperscan", cache_dir=cache)
    assert [m.type for m in engine.analyze("ref PRB-12345")] == ["CACHE_PROBE"]
    assert [m.type for m in engine.analyze("réf PRB-12345")] == ["CACHE_PROBE"]
    assert sorted(cache.glob("*.hsdb")) == entries


def test_cache_in_a_writable_by_others_directory_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "shared"
    cache.mkdir()
    os.chmod(cache, 0o777)
    spec = _spec_with(r"\bPRC-\d{5}\b")
    engine = DetectorEngine([spec], backend="hyperscan", cache_dir=cache)
    assert [m.type for m in engine.analyze("ref PRC-12345")] == ["CACHE_PROBE"]
    assert not list(cache.glob("*.hsdb"))


# -- Hyperscan misses, build, default back end ---------------------------------------------------

GETENV_TEXT = 'token = GetEnvOrDefault("api_token", "10789a0a-19e0-4985-8860-247ce8bd169d")'


def test_getenv_credential_is_found_by_both_backends() -> None:
    # Hyperscan 0.9.1 alone does not report this pattern here; the build-time probe catches it.
    for engine in (HS, RE2):
        found = [(m.type, m.value) for m in engine.analyze(GETENV_TEXT)]
        assert found == [("GENERIC_API_KEY", "10789a0a-19e0-4985-8860-247ce8bd169d")]


def test_patterns_hyperscan_misses_on_a_probe_are_searched_with_re2(tmp_path: Path) -> None:
    (spec,) = [s for s in SPECS if s.id == "secret.generic_api_key"]
    regexes = [p.regex for p in spec.patterns]
    data = GETENV_TEXT.encode()
    reference = Re2Scanner(regexes).scan(data)
    assert reference  # RE2 finds the getenv form
    scanner = make_scanner(regexes, "hyperscan", tmp_path / "hs", probes=[GETENV_TEXT])
    assert isinstance(scanner, HyperscanScanner)
    assert scanner.scan(data) == reference
    assert set(scanner.unreliable) <= set(reference)
    # The verdict is stored with the database: a new process reads it back, not rebuilds it.
    from classifiers import multiscan

    multiscan._databases.clear()
    again = make_scanner(regexes, "hyperscan", tmp_path / "hs", probes=[GETENV_TEXT])
    assert isinstance(again, HyperscanScanner)
    assert again.unreliable == scanner.unreliable and again.scan(data) == reference


def test_patterns_hyperscan_refuses_are_found_without_compiling_each_alone() -> None:
    # An embedded end anchor is refused by Hyperscan's parser: found by halving the set.
    regexes = [r"\babb*c\b", r"(?:kk[0-9]+(?:\n|$)){2,}", r"\d{3}-\d{4}", r"zz\d"]
    hs = make_scanner(regexes, "hyperscan")
    # Pattern 2 holds no literal of two bytes: never offered to Hyperscan.
    assert isinstance(hs, HyperscanScanner) and hs.rejected == [1, 2]
    data = b"abbc 555-1234 kk1\nkk2"
    assert hs.scan(data) == Re2Scanner(regexes).scan(data) == [0, 1, 2]


def test_default_backend_is_hyperscan_when_installed() -> None:
    assert DetectorEngine(SPECS[:3]).scanner.backend == "hyperscan"


def test_rules_sharing_a_pattern_are_searched_once() -> None:
    # The date patterns serve DATE_TIME and DATE_OF_BIRTH: one regex, two users.
    regexes = [u.users[0].pattern.regex for u in HS._unique]
    assert len(regexes) == len(set(regexes)) < len(HS._compiled)
    assert types_of("DOB: 1987-04-12") == ["DATE_OF_BIRTH"]
    assert types_of("shipped 1987-04-12") == ["DATE_TIME"]


def types_of(text: str) -> list[str]:
    found = [m.type for m in HS.analyze(text)]
    assert found == [m.type for m in RE2.analyze(text)]
    return found


# -- the fast paths give what the plain ones give --------------------------------------------------


@pytest.mark.parametrize(
    ("regex", "data"),
    [
        pytest.param(r"\b\d{3}\b", b"abc 123 def 456 7890 12", id="plain"),
        pytest.param(r"x*", b"axxbx", id="empty-matches"),
        pytest.param(r"(?P<key>\w+)=(?P<value>\w*)", b"a=1 b= c=33", id="groups"),
        pytest.param(r"(?:^|,)(?P<value>\d+)", b"1,22,,333", id="anchored-start"),
    ],
)
def test_spans_are_finditer_spans(regex: str, data: bytes) -> None:
    import re2

    from classifiers.engine import _spans

    compiled = re2.compile(regex)
    for group in range(compiled.groups + 1):
        expected = [m.span(group) for m in compiled.finditer(data)]
        assert list(_spans(compiled, data, group)) == expected


def _gate_free_engine(monkeypatch: pytest.MonkeyPatch) -> DetectorEngine:
    from classifiers import engine as module

    monkeypatch.setattr(module._Places, "near_any", lambda self, gate, spans, window: spans)
    monkeypatch.setattr(module._Places, "of", lambda self, gate: [0])
    monkeypatch.setattr(module._Places, "near", lambda self, gate, start, end, window: True)
    monkeypatch.setattr(
        module._Places, "near_mask", lambda self, gate, spans, window: bytearray([1] * len(spans))
    )
    monkeypatch.setattr(module._Places, "regions", lambda self, reach, gates, data: None)
    return DetectorEngine(SPECS, backend="re2")


CONTEXT_CASES = [
    "DOB: 1987-04-12",
    "date 1987-04-12 of birth",  # a phrase split across the span still counts
    "d.o.b 04/12/1987 and b-day 12 March 1961",
    "born\n\n1961-03-12",
    "x" * 40 + " born " + "y" * 40 + " 1961-03-12",  # the word is just outside the window
    "2026-11-29T23:03:03.003Z INFO req=4fd1 ip=10.228.145.7 tel 555-0100",
    '{"id": 5, "ts": 1760000005, "text": "call me at 415 555 0132", "npi": 1234567893}',
    "patient NHS 943 476 5919, nip 123-456-32-18, personnummer 19811218-9876",
    "Ünïcödé DOB 1987-04-12, driver license D1234567, ✓ ssn 536221234",
]


def _accept_calls(engine: DetectorEngine, text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many candidates the regex detectors' acceptors were handed."""
    from classifiers import engine as module

    calls = 0
    accept = module._Acceptor.accept

    def counted(self: module._Acceptor, text: str, spans: list[tuple[int, int]], *rest: Any) -> Any:
        nonlocal calls
        calls += len(spans)
        return accept(self, text, spans, *rest)

    with monkeypatch.context() as patch:
        patch.setattr(module._Acceptor, "accept", counted)
        engine.analyze(text)
    return calls


def test_context_gates_skip_only_what_would_be_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [*CONTEXT_CASES, *_all_examples(), "\n".join(CONTEXT_CASES + _all_examples())]
    fast = [_key(RE2.analyze(t)) for t in texts]
    log = "\n".join(CONTEXT_CASES[5:7] * 20)
    fast_calls = _accept_calls(RE2, log, monkeypatch)
    plain = _gate_free_engine(monkeypatch)
    assert fast == [_key(plain.analyze(t)) for t in texts]
    assert fast_calls < _accept_calls(plain, log, monkeypatch)  # the gates did skip work
    # Which date detector wins is the gates' business; spaCy's entities are not.
    patterns = [[m.type for m in RE2.analyze(CONTEXT_CASES[i]) if m.pattern] for i in (1, 4)]
    assert patterns == [["DATE_OF_BIRTH"], ["DATE_TIME"]]


def _near_words_text(rng: Any, specs: list[Any], size: int) -> str:
    """A long text of the pieces the reach of these detectors' regexes is about: their context
    words and examples, digit groups in phone and id shapes, words, separators, line ends."""
    words = [w for s in specs for w in s.context]
    examples = [t for s in specs for t in s.examples.positive]
    pieces: list[str] = []
    while sum(map(len, pieces)) < size:
        kind = rng.random()
        if kind < 0.15:
            pieces.append(rng.choice(words))
        elif kind < 0.25:
            pieces.append(rng.choice(examples))
        elif kind < 0.6:
            count = rng.randint(1, 5)
            groups = [str(rng.randint(0, 10 ** rng.randint(1, 6))) for _ in range(count)]
            joined = rng.choice([" ", "-", ".", ""]).join(groups)
            pieces.append(rng.choice(["", "+", "(", "00"]) + joined)
        elif kind < 0.8:
            pieces.append(rng.choice(["the", "order", "x", "ext", "a", "z9", "Q", "tel:", "id="]))
        else:
            pieces.append(rng.choice(["\n", ", ", ": ", ". ", "/", " ", "\t", "; "]))
        pieces.append(rng.choice([" ", "", "\n", " "]))
    return "".join(pieces)


def test_searching_around_context_words_finds_what_a_whole_search_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import random

    reached = [u for u in RE2._unique if u.reach is not None]
    assert {c.spec.id for u in reached for c in u.users} >= {
        "pii.phone_number_context",
        "pii.credit_card_context",
    }
    specs = [c.spec for u in reached for c in u.users]
    rng = random.Random(11)
    texts = [_near_words_text(rng, specs, rng.randint(2_100, 9_000)) for _ in range(60)]
    # The candidates each detector is handed (before its validator): the same spans.
    from classifiers.engine import _Places, _spans

    handed = 0
    for text in texts:
        data = text.encode()
        places = _Places(text)
        for u in reached:
            regions = places.regions(u.reach, u.gates, data)
            near = _spans(u.regex, data, u.value_group, regions)
            whole = _spans(u.regex, data, u.value_group)
            for c, gate in zip(u.users, u.gates, strict=True):
                window = c.spec.context_window
                expected = places.near_any(gate, whole, window)
                assert places.near_any(gate, near, window) == expected, (c.spec.id, text)
                handed += len(expected)
    assert handed > 1_000
    fast = [_key(RE2.analyze(t)) for t in texts]
    assert sum(map(len, fast)) > 100  # the texts do hold findings of these detectors
    plain = _gate_free_engine(monkeypatch)
    assert fast == [_key(plain.analyze(t)) for t in texts]


def test_a_region_starts_where_no_match_can_straddle() -> None:
    import re2

    from classifiers.engine import _Places, _reach, _spans, _words_gate

    # "ab" is a match; a search started inside it, at "b", would find "bcd", which finditer
    # never finds. A span near "zz" (window 3) must reach "b" (6 - 3): the region begins
    # just after the last byte before it that no match can hold ("q"), and ends 3 after "zz".
    regex, text = re2.compile("ab|bcd"), "qqabcdzz"
    reach = _reach("ab|bcd", 3)
    assert reach is not None
    data = text.encode()
    regions = _Places(text).regions(reach, [_words_gate(("zz",))], data)
    assert regions == [(2, 10)]
    assert _spans(regex, data, 0, regions) == [m.span() for m in regex.finditer(data)] == [(2, 4)]
    # With a window of 0 a near span must hold the "z" at 6, which no match can: the region
    # starts after it, past every match.
    reach = _reach("ab|bcd", 0)
    assert reach is not None
    regions = _Places(text).regions(reach, [_words_gate(("zz",))], data)
    assert regions == [(7, 7)] and _spans(regex, data, 0, regions) == []


@pytest.mark.parametrize(
    ("regex", "read", "held", "never"),
    [
        (r"\b\d{3}-\d{2}-\d{4}\b", True, b"0-9", b"a \n"),
        (r"(?:^|[^\w.])(?P<value>\d{2,12})(?: ?(?:x|ext) ?\d{1,6})?", True, b" =xet(", b"aZ_."),
        (r"(?i:key)[ =]+[a-f]{4}", True, b"kKeEyY =abcdef", b"gzABC0"),  # unbounded too
        (r"\p{L}{2,5}", False, b"", b""),  # Unicode classes: not read
        (r"[[:alpha:]]{3}", False, b"", b""),  # POSIX classes: not read
        (r"a{,3}b", False, b"", b""),  # a repeat to Python, literal text to RE2: not read
        (r"(?i)tok_[a-f\s]{8}", True, b"TOKtokABCDEF\t\n\f\r ", b"gG\x0b"),
    ],
)
def test_reach_of_a_regex(regex: str, read: bool, held: bytes, never: bytes) -> None:
    from classifiers.engine import _reach

    reach = _reach(regex, 32)
    if not read:
        assert reach is None
        return
    assert reach is not None and reach.window == 32
    assert all(reach.stops[b] == 1 for b in held) and all(reach.stops[b] == 0 for b in never)


def test_overlaps_resolve_as_the_pairwise_rule() -> None:
    import random

    from classifiers.engine import _resolve_overlaps

    rng = random.Random(3)
    spec = SPECS[0]
    for _ in range(200):
        matches = []
        for _ in range(rng.randint(0, 30)):
            start = rng.randint(0, 60)
            end = start + rng.randint(1, 12)
            matches.append(RawMatch(spec, start, end, rng.choice((0.5, 0.6, 0.85)), "v"))
        kept: list[RawMatch] = []
        for m in sorted(matches, key=lambda m: (-m.score, -(m.end - m.start), m.start)):
            if all(m.end <= k.start or m.start >= k.end for k in kept):
                kept.append(m)
        assert _resolve_overlaps(matches) == sorted(kept, key=lambda m: (m.start, m.end))


def test_validator_results_are_cached_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from classifiers import engine as module

    calls: list[str] = []

    def check(value: str) -> bool:
        calls.append(value)
        return value.endswith("7")

    engine = DetectorEngine(SPECS[:1], validators={"probe": check}, backend="re2")
    monkeypatch.setattr(module, "_VALID_CACHE_SIZE", 4)
    assert [engine._validity("probe")(v) for v in ("17", "17", "18", "17")] == [1, 1, 0, 1]
    assert calls == ["17", "18"]
    for v in ("a", "b", "c", "d", "e"):
        engine._validity("probe")(v)
    assert len(engine._valid_cache["probe"]) <= 4


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")
@pytest.mark.parametrize(
    "regex",
    [
        pytest.param(r"(?i)\bab[^x]{2}c\b", id="negated-class"),
        pytest.param(r"(?i)key.{2}z", id="dot"),
        pytest.param(r"\b\w{3}\d\b", id="word-digit"),
    ],
)
def test_ascii_and_utf8_databases_agree_with_re2(regex: str) -> None:
    """ASCII texts go to the byte-mode database, others to the UTF-8 one: both as RE2 says."""
    import re2

    scanner = make_scanner([regex, r"PRD-\d+"], "hyperscan")
    texts = ["abyyc", "ABYYC", "abéc", "ab éc", "KEYxxz", "keyéz", "abc1", "éabc1", "ab\nyc"]
    for text in texts:
        data = text.encode()
        expected = [0] if re2.search(regex, data) else []
        assert scanner.scan(data) == expected, text


def test_near_mask_keeps_what_the_span_loop_keeps() -> None:
    import random
    from bisect import bisect_left

    from classifiers.engine import _near_mask

    rng = random.Random(5)
    for _ in range(300):
        spans, at = [], 0
        for _ in range(rng.randint(0, 40)):
            at += rng.randint(0, 30)
            end = at + rng.randint(1, 12)
            spans.append((at, end))
            at = end
        found = sorted(rng.randint(0, at + 40) for _ in range(rng.randint(0, 60)))
        window = rng.choice((0, 5, 32))
        expected = [
            (s, e)
            for s, e in spans
            if (i := bisect_left(found, s - window)) < len(found) and found[i] < e + window
        ]
        mask = _near_mask(found, spans, window)
        assert [span for span, k in zip(spans, mask, strict=True) if k] == expected


@pytest.mark.parametrize("hyperscan", [False, True], ids=["find", "hyperscan"])
def test_word_starts_finds_every_occurrence(hyperscan: bool) -> None:
    from classifiers import multiscan

    if hyperscan and not hyperscan_available():
        pytest.skip("hyperscan not installed")
    words = [b"phone", b"phones", b"one", b"tel"]
    data = (b"my phones  telephone one  xphone " * 200)[:-1]
    expected = sorted(i for w in words for i in range(len(data)) if data.startswith(w, i))
    assert multiscan.word_starts(words, data, hyperscan) == expected
    assert multiscan.word_starts(words, data[:40], hyperscan) == [e for e in expected if e < 36]


def test_near_mask_is_zero_only_where_no_word_is_seen() -> None:
    import random

    from classifiers.engine import _Places, _seen, _Words, _words_gate

    rng = random.Random(11)
    vocabulary = ["date", "of", "birth", "dob", "born", "x", "7", "phone", "ip", "zip"]
    context = ["date of birth", "dob", "born", "ip"]
    gate = _words_gate(tuple(context))
    assert gate is not None
    skipped = 0
    for _ in range(400):
        text = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 30)))
        places = _Places(text)
        spans, at = [], 0
        while at < len(text):  # sorted, not overlapping, as one finditer gives them
            start = rng.randint(at, len(text))
            end = min(len(text), start + rng.randint(1, 10))
            spans.append((start, end))
            at = end + rng.randint(0, 6)
        window = rng.choice((3, 8, 48))
        for (start, end), may in zip(spans, places.near_mask(gate, spans, window), strict=True):
            if not may:
                skipped += 1
                assert _seen(text, start, end, _Words(context), window) == ()
    assert skipped  # the mask did skip spans


def test_patterns_that_need_context_are_left_out_of_the_ascii_scan() -> None:
    ssn_bare = next(
        i
        for i, u in enumerate(HS._unique)
        if u.users[0].spec.id == "pii.us_ssn" and u.users[0].pattern.regex == r"\b\d{9}\b"
    )
    assert HS.scanner.deferred == {i for i, u in enumerate(HS._unique) if u.gated}
    assert ssn_bare in HS.scanner.deferred and not RE2.scanner.deferred
    # Hyperscan leaves it to the engine in ASCII texts, and still scans for it in others.
    assert ssn_bare not in HS.scanner.scan(b"order 536221234")
    assert ssn_bare in HS.scanner.scan("ordré 536221234".encode())


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("ssn 536221234", id="word-and-number"),
        pytest.param("order 536221234 shipped", id="number-without-word"),
        pytest.param("class Pass: 536221234", id="word-inside-others"),  # "ss" in "class"
        pytest.param("ssn: none on file", id="word-without-number"),
        pytest.param("social\nsecurity 536 22 1234", id="phrase-across-a-line"),
        pytest.param("x" * 3000 + " ssn 536221234 " + "y" * 3000, id="long-text"),
        pytest.param("SSN 536221234 ✓ and ssn 536221234", id="non-ascii"),
        pytest.param(
            "\n".join(CONTEXT_CASES * 40 + ['{"text": "tel 415 555 0132", "ts": 1760000001}']),
            id="log",
        ),
    ],
)
def test_deferred_patterns_find_what_re2_finds(text: str) -> None:
    assert _key(HS.analyze(text)) == _key(RE2.analyze(text))


@pytest.mark.parametrize("pad", [pytest.param(0, id="short"), pytest.param(3000, id="long")])
def test_deferred_pattern_is_found_where_its_word_is(pad: int) -> None:
    # Short texts find the deferred patterns with RE2 sets, long ones with the word pass first.
    filler = "x" * pad
    assert [m.type for m in HS.analyze(f"{filler} ssn 536221234 {filler}")] == ["US_SSN"]
    assert [m.type for m in HS.analyze(f"{filler} class Pass: 536221234 {filler}")] == []


def test_cheap_validators_are_not_memoised_and_answer_the_same() -> None:
    from classifiers.validators import UNMEMOISED, VALIDATORS

    engine = DetectorEngine(SPECS, backend="re2")
    values = ["10.1.2.7", "999.1.2.3", "2026-11-29T23:35:58Z", "2026-02-30", "::1"]
    for name in sorted(UNMEMOISED):
        assert [engine._validity(name)(v) for v in values] == [VALIDATORS[name](v) for v in values]
        assert not engine._valid_cache.get(name)
    assert engine._validity("luhn")("4111111111111111") and engine._valid_cache["luhn"]


def test_seen_returns_what_a_scan_of_every_word_returns() -> None:
    """``_seen``'s shortcut for lists without phrases, against the plain token test."""
    import random

    from classifiers.engine import _fold, _seen, _Words

    rng = random.Random(11)
    lists = [
        ["ip", "address", "host", "IP"],  # two declared forms of one token
        ["phone", "tel", "mobile"],
        ["dob", "date of birth", "born"],  # a phrase: the general path
    ]
    vocab = ["ip", "IP:", "host=", "address", "phone", "tel.", "dob", "date", "of", "birth",
             "born", "x", "10.0.0.7", "call"]  # fmt: skip
    for _ in range(3_000):
        words = _Words(rng.choice(lists))
        text = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 12)))
        start = rng.randrange(len(text))
        end = rng.randrange(start, len(text) + 1)
        window = rng.choice((4, 8, 48))
        around = text[max(0, start - window) : start] + " " + text[end : end + window]
        tokens = _fold(around).split()
        joined = b" " + b" ".join(tokens) + b" "
        expected = tuple(
            w for w, n, single in words.entries if (n in tokens if single else n in joined)
        )
        assert _seen(text, start, end, words, window) == expected, (text, start, end)


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")
def test_short_texts_use_one_set_and_get_the_deferred_patterns_on_request() -> None:
    """Below SHORT_TEXT bytes the RE2 patterns (and, asked for, the deferred ones) are searched
    with one set; what the scan reports is the same as RE2's at every length."""
    regexes = [r"\b\d{3}-\d{2}-\d{4}\b", r"\bAKIA[0-9A-Z]{16}\b", r"\b\d{9}\b", r"\d{4}"]
    scanner = make_scanner(regexes, "hyperscan", deferred=[2])
    assert isinstance(scanner, HyperscanScanner)
    reference = Re2Scanner(regexes)
    texts = ["ssn 123-45-6789, 536221234", "AKIAABCDEFGHIJKLMNOP", "536221234", "é 536221234", ""]
    for text in [*texts, *(t + " " + "word " * 600 for t in texts)]:
        data = text.encode()
        every = reference.scan(data)
        assert scanner.scan(data, with_deferred=True) == every, text
        # The deferred pattern is left to the caller in ASCII texts unless asked for.
        expected = [i for i in every if i != 2] if data.isascii() else every
        assert scanner.scan(data) == expected, text
    assert len(scanner._re2_sets(utf8=False, short=True, with_deferred=True)._sets) == 1
