"""The street-address grammar: cores, tails across lines, and what is not an address."""

from __future__ import annotations

import pytest

from classifiers.address import find_addresses

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
