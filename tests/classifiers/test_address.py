"""The street-address grammar: cores, tails across lines, and what is not an address."""

from __future__ import annotations

import random

import pytest

from classifiers.address import find_addresses
from classifiers.multiscan import EncodedText

FOUND = [
    (
        "US one line",
        "Ship to 1600 Pennsylvania Avenue NW, Washington, DC 20500",
        "1600 Pennsylvania Avenue NW, Washington, DC 20500",
    ),
    (
        "US two lines",
        "12 Oak Ridge Rd, Apt 4\nSpringfield, IL 62704 is home",
        "12 Oak Ridge Rd, Apt 4\nSpringfield, IL 62704",
    ),
    (
        "UK postcode",
        "She lives at 221B Baker Street, London NW1 6XE",
        "221B Baker Street, London NW1 6XE",
    ),
    (
        "DE suffix in word",
        "Lieferung: Kopfhölzistrasse 45, 8001 Zürich",
        "Kopfhölzistrasse 45, 8001 Zürich",
    ),
    (
        "FR type word first",
        "adresse : 33 avenue de Provence, 75009 Paris",
        "33 avenue de Provence, 75009 Paris",
    ),
    ("PL abbreviation", "Wysyłka: ul. Miła 57, 00-001 Warszawa", "ul. Miła 57, 00-001 Warszawa"),
    (
        "HU type word after",
        "Erzsébet tér 19.\n Apt. 4\n Budapest",
        "Erzsébet tér 19.\n Apt. 4\n Budapest",
    ),
    (
        "no street word, unit and postal",
        "4596 Tylova 285\n Suite 578\n Ostrov nad Ohří\n Czech Republic 56655",
        "4596 Tylova 285\n Suite 578\n Ostrov nad Ohří\n Czech Republic 56655",
    ),
    ("no street word, introduced", "The office is located at Pivovarská 276", "Pivovarská 276"),
    (
        "quoted block",
        ">Jane Roe\n>77 Elm Street\n>Suite 9\n>Boston, MA 02110",
        "77 Elm Street\n>Suite 9\n>Boston, MA 02110",
    ),
    (
        "military",
        "Please return to PSC 4574, Box 8393\nAPO AA 81998 soon",
        "PSC 4574, Box 8393\nAPO AA 81998",
    ),
    ("ship", "USNS Bergman\nFPO AP 93757", "USNS Bergman\nFPO AP 93757"),
    ("PO box", "send it to P.O. Box 287, Tallinn, Estonia", "P.O. Box 287, Tallinn, Estonia"),
    (
        "corner",
        "meet at the corner of 5th Avenue and Main Street",
        "corner of 5th Avenue and Main Street",
    ),
    (
        "weak suffix with postal",
        "3 Laidlaw Green\nGrand Rapids, MI 49503",
        "3 Laidlaw Green\nGrand Rapids, MI 49503",
    ),
]

NOT_FOUND = [
    ("count and street name", "we sold 300 items on Main Street"),
    ("street name alone", "Main Street is closed"),
    ("year and campus", "In 2019 Apple Park opened"),
    ("preposition and count", "sent via email 3 times"),
    ("English words with street endings", "Please upgrade 2 servers and delegate 5 tickets"),
    ("product and version", "Chapter 12 covers Windows 10"),
    ("count and weak suffix", "We have 3 Green Park tickets"),
    ("room and floor", "Room 412 on Floor 3"),
    ("version", "Python 3.12 Release Notes"),
    ("no digits", "Rue de Rivoli, Paris"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in FOUND], ids=[c[0] for c in FOUND])
def test_address_is_found_whole(text: str, expected: str) -> None:
    assert [text[a:b] for a, b in find_addresses(text)] == [expected]


@pytest.mark.parametrize("text", [c[1] for c in NOT_FOUND], ids=[c[0] for c in NOT_FOUND])
def test_not_an_address(text: str) -> None:
    assert find_addresses(text) == []


def test_stops_at_the_next_labelled_field() -> None:
    text = "77 Elm Street\nBoston, MA 02110\nMobile: 617 555 0100"
    assert [text[a:b] for a, b in find_addresses(text)] == ["77 Elm Street\nBoston, MA 02110"]


def test_stops_before_the_next_sentence() -> None:
    text = "I'll meet you at 12 Rott Crossroad\n Apt. 322\n Höfn\n Iceland 72399 after the concert."
    assert [text[a:b] for a, b in find_addresses(text)] == [
        "12 Rott Crossroad\n Apt. 322\n Höfn\n Iceland 72399"
    ]


def test_two_addresses_in_one_text() -> None:
    text = "I lived at 5 Elm Street, Boston, MA 02110. Now at Ringvej 144, 2100 København."
    assert [text[a:b] for a, b in find_addresses(text)] == [
        "5 Elm Street, Boston, MA 02110",
        "Ringvej 144, 2100 København",
    ]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("12 Oak Ridge Rd, Apt 4\nSpringfield, IL 62704", id="ascii"),
        pytest.param("Wysyłka: ul. Miła 57, 00-001 Warszawa; Kopfhölzistrasse 45", id="utf8"),
        pytest.param("Ωμέγα 5 ✓ Straße 7\n Suite 2\n Zürich 8001", id="wide"),
    ],
)
def test_byte_matching_gives_the_str_api_spans(text: str) -> None:
    """``EncodedText`` encodes once and maps offsets; the matches are google-re2's ``str`` ones."""
    import re2

    from classifiers.address import _CORES, _TAIL, _UNIT
    from classifiers.multiscan import EncodedText

    doc = EncodedText(text)
    for regex in [r for _, r in _CORES] + [re2.compile(r"x*"), re2.compile(r"\p{L}*")]:
        expected = [[m.span(g) for g in range(regex.groups + 1)] for m in regex.finditer(text)]
        got = [[doc.chars(s) if s != (-1, -1) else s for s in m] for m in doc.finditer(regex)]
        assert got == expected
    for regex in (_UNIT, _TAIL):
        for pos in range(len(text) + 1):
            m = regex.match(text, pos)
            spans = doc.match(regex, pos)
            assert (spans is None) == (m is None)
            if m is not None and spans is not None:
                assert doc.chars(spans[0]) == m.span()


# The shortcuts of ``find_addresses`` (one RE2 set pass for the cores, the byte tests before
# the tail's RE2 calls, the hand-written line-end test) against the grammar run plainly through
# google-re2's ``str`` API, on texts built to hit each condition's edges: every core kind,
# non-ASCII capitals and letters RE2 folds to ASCII (long s, the Kelvin sign), line starts,
# quote marks, labels, colons far and near, postal codes and none.
_TOKENS = [
    *("12", "4596", "221B", "1600", "7", "19.", "2019", "#4", "8393", "00-001", "62704"),
    *("20500", "NW1 6XE", "K1A 0B1", "1234 AB", "123 45", "90210-1234", "A", "IL", "DC"),
    *("Main", "Street", "St.", "Avenue", "Park", "Green", "Rue", "de", "la", "ul.", "Via"),
    *("Miła", "Kopfhölzistrasse", "Ringvej", "Koskikatu", "tér", "utca", "tee", "Straße"),
    *("STRA\u017fSE", "\u017ftrasse", "\u212aoskikatu", "upgrade", "gate", "Apt", "apt.", "Suite"),
    *("SUITE", "Unit", "Box", "box", "bOX", "P.O.", "PO", "PSC", "Unit 8524", "APO", "AE"),
    *("FPO AP", "P\u017fC", "USNS", "corner", "of", "and", "&", "Springfield", "Zürich", "Ángel"),
    *("Ωμέγα", "Πλατεία", "ΑΓΛΑΝΤΖΙΑ", "(Greece)", "(x", "Mobile:", "E-mail:", "Tel", ":"),
    *("lives at", "address:", "ship to", "the", "we", "sold", "items", "Room", "Floor"),
    *(" ", " ", " ", "  ", ", ", ",", "\n", "\n ", "\n>", "\n|", "\n?", "\t", ". ", "; ", "!"),
    *(")", "-", "²", "١٢", "é", "\u00a0", "x" * 30),
]


def _constructed(seed: int, n: int) -> list[str]:
    """Token soup, and address-shaped texts: a core, then units and tail parts, each part
    perhaps damaged, joined by the gaps the tail grammar reads."""
    rng = random.Random(seed)
    texts = [c[1] for c in FOUND] + [c[1] for c in NOT_FOUND]
    intros = ["", "Ship to ", "lives at ", "we sold ", "In ", "Mobile: ", "the corner of "]
    cores = ["12 Oak Ridge Rd", "221B Baker Street", "3 Laidlaw Green", "2019 Apple Park"]
    cores += ["Rue de Virton 38", "ul. Miła 57", "Kopfhölzistrasse 45", "Erzsébet tér 19."]
    cores += ["4596 Tylova 285", "Pivovarská 276", "P.O. Box 287", "PSC 4574, Box 8393"]
    cores += ["5th Avenue and Main Street", "Ωμέγα 5", "Ringvej 144", "upgrade 2"]
    parts = ["Apt 4", "Suite 578", "#12", "box 7", "Springfield, IL 62704", "NW1 6XE"]
    parts += ["Ostrov nad Ohří", "Czech Republic 56655", "APO AA 81998", "(Greece)", ", CO"]
    parts += ["Tel: 555", "E-mail: a@b", "Zürich", "ÅRHUS", "8001 Zürich", "after the", "DC"]
    gaps = [" ", ", ", "\n", "\n ", "\n>", "\n|", "\n?", ",\n", " \t", "\n\n", ": "]
    for _ in range(n):
        if rng.random() < 0.5:
            words = [rng.choice(_TOKENS) for _ in range(rng.randint(1, 14))]
            joiners = [rng.choice([" ", " ", "", "\n", ", "]) for _ in words]
            texts.append("".join(w + j for w, j in zip(words, joiners, strict=True)).rstrip(" "))
            continue
        text = rng.choice(intros) + rng.choice(cores)
        for _ in range(rng.randint(0, 4)):
            part = rng.choice(parts)
            if rng.random() < 0.2:
                cut = rng.randrange(len(part) + 1)
                part = part[:cut] + rng.choice(_TOKENS) + part[cut + 1 :]
            text += rng.choice(gaps) + part
        texts.append(text + rng.choice(["", ".", " soon.", "\n", "!", " and"]))
    return texts


CONSTRUCTED = _constructed(11, 3000)


def _reference_extend(text: str, end: int) -> tuple[int, bool]:
    """``_extend`` as first written: every step an RE2 call through the ``str`` API."""
    from classifiers.address import _HAS_POSTAL, _LABEL, _MAX_TAIL, _SEG_END, _TAIL, _UNIT

    evidence = False
    m = _UNIT.match(text, end)
    if m is not None:
        end, evidence = m.end(), True
    for _ in range(_MAX_TAIL):
        m = _TAIL.match(text, end)
        if m is None:
            break
        if _LABEL.match(text, m.start(1)):
            break
        seg = m.group(1)
        if not _SEG_END.match(text, m.end()) and _HAS_POSTAL.search(seg) is None:
            break
        if _HAS_POSTAL.search(seg):
            evidence = True
        end = m.end()
    return end, evidence


def test_core_set_reports_exactly_the_cores_that_match() -> None:
    from classifiers.address import _CORES, _core_kinds

    for text in CONSTRUCTED:
        expected = [i for i, (_, regex) in enumerate(_CORES) if regex.search(text) is not None]
        assert _core_kinds(text.encode()) == expected, text


def test_core_set_sees_every_kind() -> None:
    """The constructed texts reach every core kind, so the test above checks each of them."""
    from classifiers.address import _CORES, _core_kinds

    seen = {i for text in CONSTRUCTED for i in _core_kinds(text.encode())}
    assert seen == set(range(len(_CORES)))


def test_extend_shortcuts_agree_with_the_plain_grammar() -> None:
    """At every position of the texts; units, postal codes and labels are all met on the way,
    so the agreement is not vacuous."""
    from classifiers.address import _LABEL, _extend

    extended = evidence = labels = 0
    for text in CONSTRUCTED[::2]:
        doc = EncodedText(text)
        for end in range(len(text) + 1):
            got = _extend(doc, end)
            assert got == _reference_extend(text, end), (text, end)
            extended += got[0] > end
            evidence += got[1]
            labels += _LABEL.match(text, end) is not None
    assert min(extended, evidence, labels) > 100


def test_line_end_test_is_the_pattern() -> None:
    from classifiers.address import _SEG_END, _ends_part

    for text in CONSTRUCTED:
        data = text.encode()
        for pos in range(len(text) + 1):
            byte = len(text[:pos].encode())
            expected = _SEG_END.match(text, pos) is not None
            assert _ends_part(data, byte, len(data)) == expected, (text, pos)


@pytest.mark.parametrize("size", [10, 3000], ids=["short", "long"])
def test_offsets_of_short_and_long_texts(size: int) -> None:
    from bisect import bisect_left

    text = ("Ωμέγα 5 ✓ Straße 7 ab " * size)[: size * 10]
    doc = EncodedText(text)
    table = doc._table()  # character starts: what the offsets must map through
    for char in range(len(text) + 1):
        assert doc.byte(char) == table[char]
    for offset in table:
        assert doc.char(offset) == bisect_left(table, offset)


def test_identical_spans_from_two_kinds_are_reported_once() -> None:
    # "Koskikatu 25" is a street word with an ending and a bare name and number.
    text = "Ship to 6750 Koskikatu 25, 00100 Helsinki"
    assert find_addresses(text) == [(8, len(text))]


def _reference_find(text: str) -> list[tuple[int, int]]:
    """``find_addresses`` as first written: all eight cores searched through the ``str`` API,
    every candidate judged, the plain ``_extend``."""
    from classifiers.address import _CORES, _drop_full_stop, _has_digit, _keep, _strip

    if not _has_digit(text):
        return []
    candidates = []
    for kind, regex in _CORES:
        names = [g for g in ("suffix", "ending", "after") if g in regex.groupindex]
        for m in regex.finditer(text):
            if m.start() == m.end():
                continue
            core = m.group()
            word = (m.group(names[0]) or "") if names else ""
            start, end = _strip(text, m.start(), m.end())
            end, evidence = _reference_extend(text, end)
            end = _drop_full_stop(text, start, end)
            core = core[next((i for i, c in enumerate(core) if c.isalnum()), 0) :].strip()
            if _keep(kind, core, word, text, start, end, evidence):
                candidates.append((start, end))
    kept: list[tuple[int, int]] = []
    for start, end in sorted(candidates, key=lambda s: (s[0] - s[1], s[0])):
        if all(end <= a or start >= b for a, b in kept):
            kept.append((start, end))
    return sorted(kept)


def test_find_addresses_agrees_with_the_plain_pipeline() -> None:
    found = 0
    for text in CONSTRUCTED:
        expected = _reference_find(text)
        assert find_addresses(text) == expected, text
        found += len(expected)
    assert found > 300


def test_intro_test_is_the_pattern() -> None:
    """``_keep``'s test of the last character before an intro phrase, against ``_INTRO`` on
    the text before every position of the constructed texts and on the intro phrases."""
    import sys

    import re2

    from classifiers.address import _INTRO, _INTRO_LAST

    # (?i) folds no other character to the letters the phrase can end with.
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    folded = {m.group() for m in re2.compile(r"(?i)[stnof]").finditer(every)}
    assert folded | set(":-") == _INTRO_LAST
    phrases = ["lives at ", "Address: ", "address -", "ADDRESSES\t", "ship it to:", "\u017fhip to"]
    matched = 0
    for text in CONSTRUCTED + [p + "12 Main" for p in phrases]:
        for pos in range(len(text) + 1):
            window = text[max(0, pos - 48) : pos]
            found = _INTRO.search(window) is not None
            matched += found
            assert not found or window.rstrip(" \t")[-1:] in _INTRO_LAST, window
    assert matched > 100
