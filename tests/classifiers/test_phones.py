"""libphonenumber's matcher, and the work it is spared: the digits a stronger finding holds,
and the candidates that provably hold no valid number (``classifiers.phones``)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from types import FunctionType
from typing import Any

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType, phonenumbermatcher, phonenumberutil

from classifiers import phones
from classifiers.engine import DetectorEngine, RawMatch, _blank, _has_digits, load_specs

ENGINE = DetectorEngine.builtin()


def _types(text: str) -> list[tuple[str, str]]:
    return [(m.spec.type, m.value) for m in ENGINE.analyze(text)]


def _spy_on_matcher(monkeypatch: Any) -> list[str]:
    """Record the texts libphonenumber's matcher is given (it still runs)."""
    searched: list[str] = []
    real = phones._spans

    def spy(text: str) -> list[tuple[int, int]]:
        searched.append(text)
        return real(text)

    monkeypatch.setattr(phones, "_spans", spy)
    return searched


def test_phone_beside_a_card_is_still_found() -> None:
    text = "Card 4111 1111 1111 1111, call me on (415) 555-2671 about it"
    found = _types(text)
    assert ("CREDIT_CARD", "4111 1111 1111 1111") in found
    assert ("PHONE_NUMBER", "(415) 555-2671") in found


def test_digits_of_a_validated_card_never_reach_the_matcher(monkeypatch: Any) -> None:
    searched = _spy_on_matcher(monkeypatch)
    assert _types("What is the limit for card 4454794511390933?") == [
        ("CREDIT_CARD", "4454794511390933")
    ]
    assert searched == []  # the card was the only run of digits: no matcher call at all
    text = "card 4454794511390933 or ring 415 555 2671"
    _types(text)
    assert searched == ["card " + " " * 16 + " or ring 415 555 2671"]


def test_digits_of_weaker_findings_still_reach_the_matcher(monkeypatch: Any) -> None:
    # A date scores below what a phone can reach: a phone over it could win, so it is kept.
    searched = _spy_on_matcher(monkeypatch)
    text = "meeting on 2024-03-15, desk phone 415 555 2671"
    found = _types(text)
    assert ("DATE_TIME", "2024-03-15") in found
    assert ("PHONE_NUMBER", "415 555 2671") in found
    assert searched == [text]


def test_has_digits_counts_what_isdigit_counts() -> None:
    # ASCII digits are counted on bytes, the others among the non-ASCII characters only.
    rng = random.Random(23)
    alphabet = "0123456789 abc\n\xe9\xb2\u0663\uff15\u2460\u03c0\U0001d7ce\U0001f600"
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        for least in (1, 4, 7):
            assert _has_digits(text, least) == (sum(map(str.isdigit, text)) >= least), text


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([], "ab 12345 cd"),
        ([(3, 8)], "ab       cd"),
        ([(0, 2), (9, 11)], "   12345   "),
        ([(3, 6), (4, 8)], "ab       cd"),  # overlapping spans
    ],
)
def test_blank_keeps_offsets(spans: list[tuple[int, int]], expected: str) -> None:
    spec = load_specs()[0]
    out = _blank("ab 12345 cd", [RawMatch(spec, a, b, 0.5, "x") for a, b in spans])
    assert out == expected
    assert len(out) == len("ab 12345 cd")


# -- classifiers.phones: the library's findings, found sooner ---------------------------------


def _library(text: str, max_tries: int = 65535) -> list[tuple[int, int]]:
    """What phonenumbers' own matcher finds, as the engine used to call it."""
    return [
        (m.start, m.end)
        for m in phonenumbers.PhoneNumberMatcher(
            text, phones.PHONE_REGION, leniency=phonenumbers.Leniency.VALID, max_tries=max_tries
        )
    ]


def _example_numbers() -> Iterator[phonenumbers.PhoneNumber]:
    """Every example number in the metadata: each region's, of each type, and each
    non-geographic code's."""
    for region in sorted(phonenumberutil.SUPPORTED_REGIONS):
        for kind in vars(PhoneNumberType).values():
            if isinstance(kind, int):
                number = phonenumbers.example_number_for_type(region, kind)
                if number is not None:
                    yield number
    for code in sorted(phonenumberutil.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            yield number


def _written(number: phonenumbers.PhoneNumber) -> list[str]:
    """``number`` as people write it: international, national, dialled from the home region
    (its international prefix), RFC 3966, digits only."""
    forms = [
        phonenumbers.format_number(number, form)
        for form in (
            PhoneNumberFormat.E164,
            PhoneNumberFormat.INTERNATIONAL,
            PhoneNumberFormat.NATIONAL,
            PhoneNumberFormat.RFC3966,
        )
    ]
    forms.append(phonenumbers.format_out_of_country_calling_number(number, phones.PHONE_REGION))
    forms.append(phonenumberutil.national_significant_number(number))
    return forms


EXAMPLES = sorted({form for number in _example_numbers() for form in _written(number)})


def _mutated(rng: random.Random, text: str) -> str:
    """A near miss: a digit dropped, added or changed, or separators moved."""
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    if not digits:
        return text
    at = rng.choice(digits)
    edit = rng.randrange(4)
    if edit == 0:
        return text[:at] + text[at + 1 :]
    if edit == 1:
        return text[:at] + rng.choice("0123456789") + text[at:]
    if edit == 2:
        return text[:at] + rng.choice("0123456789") + text[at + 1 :]
    return text[:at] + rng.choice(" -./") + text[at:]


def _generated(seed: int, n: int) -> list[str]:
    """Texts around the example numbers and their near misses, and random digit strings with
    the separators, plus signs, extension labels and letters the matcher reads."""
    rng = random.Random(seed)
    around = ["", "call ", "tel: ", "abc", "(", "no. ", "+", "ts="]
    after = ["", ".", " ext. 12", " x12", " int. 1", "def", ", ", " / 415 555 2671", ":30"]
    texts = []
    for _ in range(n):
        if rng.random() < 0.6:
            value = rng.choice(EXAMPLES)
            value = _mutated(rng, value) if rng.random() < 0.5 else value
            texts.append(rng.choice(around) + value + rng.choice(after))
        else:
            alphabet = "0123456789" * 4 + "   --..()/+x#" + "intexabc\n"
            texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))))
    return texts


def test_bounds_come_from_the_metadata() -> None:
    bounds = phones._library()
    # +43 (Austria) and +49 (Germany) have 4-digit national numbers; a US national one has 7
    # digits (Canada's 3xx-xxxx) and a number dialled from the US, 011 and a country code.
    assert (bounds.least, bounds.least_national) == (6, 7)


@pytest.mark.parametrize("number", list(_example_numbers()), ids=str)
def test_every_valid_reading_passes_both_bounds(number: phonenumbers.PhoneNumber) -> None:
    """Each way of writing an example number that ``parse`` (in the home region) reads as a
    valid number has enough characters, and its national number the right shape."""
    bounds = phones._library()
    for form in _written(number):
        try:
            read = phonenumbers.parse(form, phones.PHONE_REGION, keep_raw_input=True)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(read):
            continue
        national = phonenumberutil.national_significant_number(read)
        assert read.country_code is not None
        assert bounds.may_be_valid(read.country_code, national), form
        chars = sum(map(str.isalnum, form))
        has_plus = any(p in form for p in bounds.plus)
        assert chars >= (bounds.least if has_plus else bounds.least_national), form


def test_may_be_valid_never_rejects_a_valid_number() -> None:
    # Random national numbers of every length for every country code: whenever the library
    # says valid, the union of the general patterns must agree.
    bounds = phones._library()
    rng = random.Random(5)
    checked = valid = 0
    for code in sorted(phonenumberutil.COUNTRY_CODE_TO_REGION_CODE):
        for length in range(2, 18):
            for _ in range(12):
                national = str(rng.randint(1, 9)) + "".join(
                    rng.choice("0123456789") for _ in range(length - 1)
                )
                number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
                checked += 1
                if phonenumbers.is_valid_number(number):
                    valid += 1
                    assert bounds.may_be_valid(code, national), (code, national)
    assert valid > 1000 and checked > 40000


def test_examples_in_text_are_found_as_the_library_finds_them() -> None:
    texts = [f"call {form} today" for form in EXAMPLES]
    assert [phones.find(t) for t in texts] == [_library(t) for t in texts]
    assert sum(bool(phones.find(t)) for t in texts) > len(texts) // 2


def test_generated_texts_are_found_as_the_library_finds_them() -> None:
    texts = _generated(seed=11, n=6000)
    found = [phones.find(t) for t in texts]
    assert found == [_library(t) for t in texts]
    assert sum(map(bool, found)) > 500  # real numbers among the near misses


def test_long_texts_are_found_as_the_library_finds_them() -> None:
    # Several numbers and many near misses in one text: offsets and neighbours as in a log.
    for seed in range(3):
        text = "\n".join(_generated(seed=seed, n=400))
        assert phones.find(text) == _library(text)


def test_detector_examples_are_found_as_the_library_finds_them() -> None:
    texts = [t for s in load_specs() for t in (*s.examples.positive, *s.examples.negative)]
    assert [phones.find(t) for t in texts] == [_library(t) for t in texts]


def test_the_matcher_gives_up_after_as_many_candidates_as_the_library() -> None:
    # Candidates rejected before parsing count as failed tries, as the library counts them.
    for tries in (1, 5, 30):
        for failing in range(tries - 2, tries + 3):
            text = ", ".join(["12"] * max(0, failing) + ["(415) 555-2671"])
            expected = _library(text, max_tries=tries)
            assert phones._matcher()(text, phones.PHONE_REGION, max_tries=tries) is not None
            found = [
                (m.start, m.end)
                for m in phones._matcher()(text, phones.PHONE_REGION, max_tries=tries)
            ]
            assert found == expected


def test_a_vanity_extension_label_is_read_as_the_library_reads_it() -> None:
    # parse() reads "int" as digits (468): +290 8468 is a valid St Helena number.
    text = "+290 8 int. 1"
    assert phones.find(text) == _library(text) == [(0, 10)]
    assert not phones.phone_shaped(text)  # the text-level test misses it, as it always did


def test_phonenumbers_is_left_as_it_is() -> None:
    phones.find("call (415) 555-2671")
    assert vars(phonenumbermatcher)["is_valid_number"] is phonenumberutil.is_valid_number
    matcher = phones._matcher()
    library = phonenumbermatcher.PhoneNumberMatcher
    assert matcher._parse_and_verify is not library._parse_and_verify
    # The library's code runs, in a namespace of its own.
    verify = matcher._parse_and_verify.__closure__  # the rebound function is a closure cell
    assert verify is not None
    rebound = next(c.cell_contents for c in verify if isinstance(c.cell_contents, FunctionType))
    assert rebound.__code__ is library._parse_and_verify.__code__
    assert rebound.__globals__ is not vars(phonenumbermatcher)


# -- plain candidates read as home numbers, and texts that hold none --------------------------


def test_home_reading_bounds_come_from_the_metadata() -> None:
    bounds = phones._library()
    # US and its main region: national prefix "1", no transform rule; country code 1 allows
    # 10 digits (7 for Canada's 3xx-xxxx), with at most "1" and two "1" prefixes before them.
    assert bounds.national_prefixes == ("1",)
    assert bounds.home_reach == frozenset(range(7, 14))
    assert bounds.sequences == 20  # the matcher's pattern: 1 + 20 digit sequences


def _plain(text: str) -> str | None:
    digits = text.translate(phones._PLAIN)
    return digits if digits.isdigit() and digits.isascii() else None


def _plain_forms(rng: random.Random) -> Iterator[str]:
    """Plain strings ``parse`` may read as valid: example numbers written without a plus sign
    (national, with "1" or "11" before, dialled with the international prefix), their near
    misses, and random digits after the prefixes that ``parse`` strips."""
    for number in _example_numbers():
        national = phonenumberutil.national_significant_number(number)
        code = str(number.country_code)
        forms = [
            phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
            phonenumbers.format_out_of_country_calling_number(number, phones.PHONE_REGION),
            national,
            code + national,
            "1" + national,
            "11" + national,
            "1 1 " + national,
            "011" + code + national,
        ]
        for form in forms:
            yield form
            yield _mutated(rng, form)
    for _ in range(20000):
        head = rng.choice(["", "1", "11", "111", "0", "01", "011", "0111", "2"])
        body = "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 12)))
        yield head + rng.choice(["", " ", "-", "."]) + body


def test_a_plain_candidate_read_as_valid_passes_may_be_home_number() -> None:
    bounds = phones._library()
    rng = random.Random(3)
    checked = valid = 0
    for form in _plain_forms(rng):
        digits = _plain(form)
        if digits is None:
            continue
        checked += 1
        try:
            read = phonenumbers.parse(form, phones.PHONE_REGION, keep_raw_input=True)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(read):
            valid += 1
            assert bounds.may_be_home_number(digits), form
    assert valid > 800 and checked > 20000


# Texts the shortcuts must not misjudge: numbers beside the characters that make a candidate not
# plain (extension labels in every form and case, with the tabs, commas and colons around them,
# plus signs after brackets, digits and dashes that are not ASCII, vanity letters), numbers
# dialled with the international prefix, numbers in digit runs longer than the matcher's
# pattern takes in one match, and the dates, cards and ids around them.
HARD = [
    "call 555 1234 ext ,4155552671 now",
    "call 555 1234 ext. ,\t4155552671",
    "4155552671;ext=12",
    "415 555 2671\t,ext 9",
    "415 555 2671 , , EXT: 9",
    "415 555 2671 Extension 12",
    "415 555 2671 extensi\u00f3n 12",
    "415 555 2671 anexo 12",
    "415 555 2671 ANEXO 12",
    "415 555 2671 \u0434\u043e\u0431 12",
    "415.555.2671 #12",
    "415-555-2671 - 12#",
    "415-555-2671 ~ 3",
    "415 555 2671 \uff58 3",
    "415 555 2671 \uff03 3",
    "415 555 2671 \uff49\uff4e\uff54 3",
    "4155552 int. 1",
    "4155552 INT. 1",
    "4155552 Int 1",
    "+290 8 int. 1",
    "1 800 INT 12",
    "415x555x2671",
    "415X555X2671",
    "415 x 555 x 2671 x",
    "(+ (44) 20 7946 0958",
    "+ - 44 20 7946 0958",
    "+ - 41 44 668 1800",
    "+    41 44 668 1800",
    "+////+////41 44 668 1800",
    "41~5 555 2671",
    "+ ( - ( 44 20 7946 0958",
    "\uff0b44 20 7946 0958",
    "\u0664\u0661\u0665\u0665\u0665\u0665\u0662\u0666\u0667\u0661",
    "\uff14\uff11\uff15\uff15\uff15\uff15\uff12\uff16\uff17\uff11",
    "415\u2013555\u20132671",
    "415\xa0555\xa02671",
    "\uff08415\uff09555-2671",
    "415-555-2671 / x 12 4155552672",
    "011 44 20 7946 0958",
    "011 20 2 34567890",
    "call 011-41-44-668-1800 today",
    "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 415 555 2671",
    "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 14155552671",
    "1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6-7-8-9-0-1-2-3-4155552671999",
    "123456789012345678901234155552671",
    # 21 digit sequences end the pattern's match inside a block: the next starts there.
    "0 " * 20 + "9" * 20 + "4155552671",
    "0 " * 20 + "9" * 20 + "415 555 2671",
    "12345678901234567890 4155552671",
    "1234567890123456789 4155552671",
    "2024-03-15 415 555 2671",
    "3/10/2011 4155552671",
    "2012-01-02 08:00 4155552671",
    "abc4155552671",
    "tel:4155552671",
    "tel:+1-415-555-2671;phone-context=example.com",
    "card 4111 1111 1111 1111 expires 2024-03-15",
    "order 20240315-0001 shipped 10.228.145.7",
    "ids 5512933236038776 and 813 266",
    "1 415 555 2671",
    "11 415 555 2671",
    "(415) 555-2671",
    "[415] 555 2671",
    "415 555 2671 (2003)",
    "211-227 (2003)",
]


def test_hard_texts_are_found_as_the_library_finds_them() -> None:
    bounds = phones._library()
    for text in HARD:
        expected = _library(text)
        assert phones.find(text) == expected, text
        assert bounds.may_hold(text) or not expected, text
    # The text-level test does settle some of them: they are read by the shortcut.
    assert sum(not bounds.may_hold(t) for t in HARD) >= 3


def _pieces(rng: random.Random, n: int) -> list[str]:
    """Texts built from the characters and words the matcher and ``parse`` read specially,
    around example numbers and their near misses, and long runs of digits and separators."""
    pieces = [*"0123456789"] * 6 + [
        *" -./()[]+x~#,;:\t\n",
        " ",
        "\xa0",
        "\uff0b",
        "\u2013",
        "\uff08",
        "\uff09",
        "\u0663",
        "\uff15",
        "\uff58",
        "\uff03",
        ";ext=",
        "ext",
        "EXT",
        "Ext.",
        "extension",
        "anexo",
        "int",
        "INT",
        "\uff49\uff4e\uff54",
        "\u0434\u043e\u0431",
        "a",
        "e",
        "n",
        "t",
        "tel:",
        "011",
        "1",
        "11",
        "+1",
        "+44",
        "415",
        "555",
        "2671",
        "(0)",
        "/ x",
    ]
    runs = [*"0123456789"] * 3 + [" ", "-", ".", " ", "/", "(", ")"]
    texts = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.4:
            texts.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 30))))
        elif kind < 0.8:
            value = rng.choice(EXAMPLES)
            for _ in range(rng.randint(0, 3)):
                value = _mutated(rng, value)
            before = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
            after = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
            texts.append(before + value + after)
        else:
            texts.append("".join(rng.choice(runs) for _ in range(rng.randint(10, 80))))
    return texts


def test_texts_of_special_characters_are_found_as_the_library_finds_them() -> None:
    bounds = phones._library()
    texts = _pieces(random.Random(17), 8000)
    expected = [_library(t) for t in texts]
    assert [phones.find(t) for t in texts] == expected
    held = [bounds.may_hold(t) for t in texts]
    assert all(h for h, e in zip(held, expected, strict=True) if e)
    assert sum(map(bool, expected)) > 400  # numbers found among them
    assert held.count(False) > 500  # and texts the text-level test settles


def test_a_text_with_lone_surrogates_is_left_to_the_matcher() -> None:
    text = "call 415 555 2671 \ud800"
    assert phones._library().may_hold(text)
    assert phones.find(text) == _library(text) == [(5, 17)]
