from __future__ import annotations

from datetime import date

import pytest

from classifiers.validators.pii import (
    aba_routing,
    calendar_date,
    credit_card,
    iban,
    ip_address,
    us_ssn,
)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        pytest.param("4111 1111 1111 1111", True, id="visa-16"),
        pytest.param("4222222222222", True, id="visa-13"),
        pytest.param("5425233430109903", True, id="mastercard-51-55"),
        pytest.param("2221000000000009", True, id="mastercard-2221"),
        pytest.param("2720992593319364", True, id="mastercard-2720"),
        pytest.param("2721000000000004", False, id="mastercard-2721-out-of-range"),
        pytest.param("378282246310005", True, id="amex"),
        pytest.param("6011111111111117", True, id="discover"),
        pytest.param("3530111333300000", True, id="jcb"),
        pytest.param("36227206271667", True, id="diners-14"),
        pytest.param("4111111111111112", False, id="luhn-fails"),
        pytest.param("9111111111111111", False, id="no-issuer"),
        pytest.param("0000000000000000", False, id="zeros"),
    ],
)
def test_credit_card(value: str, ok: bool) -> None:
    assert credit_card(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        pytest.param("536-22-1234", True, id="valid"),
        pytest.param("123-45-6789", True, id="sequential-but-valid-structure"),
        pytest.param("000-22-1234", False, id="area-000"),
        pytest.param("666-22-1234", False, id="area-666"),
        pytest.param("900-22-1234", False, id="area-900"),
        pytest.param("999-22-1234", False, id="area-999"),
        pytest.param("536-00-1234", False, id="group-00"),
        pytest.param("536-22-0000", False, id="serial-0000"),
        pytest.param("078-05-1120", False, id="voided-sample"),
        pytest.param("111-11-1111", False, id="one-digit"),
        pytest.param("53622123", False, id="too-short"),
    ],
)
def test_us_ssn(value: str, ok: bool) -> None:
    assert us_ssn(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        pytest.param("GB82 WEST 1234 5698 7654 32", True, id="gb"),
        pytest.param("DE89370400440532013000", True, id="de"),
        pytest.param("FR1420041010050500013M02606", True, id="fr"),
        pytest.param("NO9386011117947", True, id="no-shortest"),
        pytest.param("gb82west12345698765432", True, id="lowercase"),
        pytest.param("DE89370400440532013001", False, id="mod97-fails"),
        pytest.param("DE8937040044053201300", False, id="wrong-length-for-country"),
        pytest.param("XX89370400440532013000", False, id="unknown-country"),
    ],
)
def test_iban(value: str, ok: bool) -> None:
    assert iban(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("021000021", True),
        ("011000015", True),
        ("121000358", True),
        ("021000022", False),
        ("991000024", False),
        ("000000000", False),
    ],
)
def test_aba_routing(value: str, ok: bool) -> None:
    assert aba_routing(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("203.0.113.9", True),
        ("2001:db8::1", True),
        ("0.0.0.0", False),
        ("1:2", False),
        ("256.1.1.1", False),
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", True),
        ("3f:a1:09:c4:77:e2:5b:d0", False),  # a hash printed in pairs, not an address
        ("10.0.0.255", True),
        ("010.1.1.1", False),  # leading zeros: the ipaddress module refuses them (octal or not?)
        ("1.2.3.04", False),
        ("1.2.3", False),
        ("1.2.3.4.5", False),
        ("[192.0.2.1]", True),  # bracketed, as in URLs
        ("255.255.255.255", True),
        ("1.2.3.\u0664", False),  # a non-ASCII digit
    ],
)
def test_ip_address(value: str, ok: bool) -> None:
    assert ip_address(value) is ok


def test_ip_address_agrees_with_the_ipaddress_module_on_dotted_quads() -> None:
    import ipaddress
    import itertools

    octets = ("0", "00", "01", "7", "10", "99", "100", "199", "200", "249", "250", "255", "256")
    for parts in itertools.product(octets, repeat=2):
        value = f"{parts[0]}.1.{parts[1]}.9"
        try:
            expected = not ipaddress.ip_address(value).is_unspecified
        except ValueError:
            expected = False
        assert ip_address(value) is expected, value


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024-02-29", True),
        ("2023-02-29", False),
        ("12/31/1999", True),
        ("31.12.1999", True),
        ("13/13/2020", False),
        ("March 3, 2021", True),
        ("2026-11-29T23:03:03.003Z", True),  # a log timestamp: the date part is read
        ("1899-12-31", False),
        ("29.02.2024", True),
        ("02/30/24", False),
    ],
)
def test_calendar_date(value: str, ok: bool) -> None:
    assert calendar_date(value) is ok


def _date_exists(year: int, month: int, day: int) -> bool:
    """The reference: what ``datetime.date`` accepts, two-digit years as 1950-2049."""
    if year < 100:
        year += 2000 if year < 50 else 1900
    try:
        return 1900 <= date(year, month, day).year <= 2100
    except ValueError:
        return False


def test_calendar_date_agrees_with_datetime_on_every_field_value() -> None:
    # Years around every boundary (two-digit, 1900, leap centuries, 2100, the longest), every
    # month and day number a date pattern can hold, written year first and year last.
    def reference(a: int, b: int, c: int) -> bool:  # the groups as written
        if a > 31:
            return _date_exists(a, b, c)
        return _date_exists(c, a, b) or _date_exists(c, b, a)

    years = [*range(0, 100), *range(1895, 1905), 1996, 2000, 2023, 2024, *range(2096, 2106), 9999]
    for year in years:
        for month in range(0, 14):
            for day in range(0, 33):
                iso = f"{year:04d}-{month:02d}-{day:02d}"
                assert calendar_date(iso) is reference(year, month, day), iso
                us = f"{month}/{day}/{year}"
                assert calendar_date(us) is reference(month, day, year), us


def test_calendar_date_reads_iso_dates_as_its_pattern_does() -> None:
    """The ISO shortcut takes the parts the pattern's first match takes: on values that start
    like ISO dates and go on with anything (times, more digits, other scripts' digits)."""
    import random

    from classifiers.validators import pii

    def by_pattern(value: str) -> bool:
        spans = pii._DATE_PARTS.search(value.encode())
        if spans is None:
            return True
        a, b, c = (int(spans.group(k)) for k in (1, 2, 3))
        if a > 31:
            return _date_exists(a, b, c)
        return _date_exists(c, a, b) or _date_exists(c, b, a)

    rng = random.Random(3)
    tails = ["", "T23:35:58.415Z", " 10:36", "5", "12", "-07", "/3", "\u0663", "x"]
    for _ in range(20_000):
        head = f"{rng.randint(0, 9999):04d}-{rng.randint(0, 99):02d}-{rng.randint(0, 99):02d}"
        value = head + rng.choice(tails)
        assert calendar_date(value) is by_pattern(value), value
