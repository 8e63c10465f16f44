"""Validators behind the context-gated phone and card detectors."""

from __future__ import annotations

import pytest

from classifiers.validators.pii import luhn_card, phone_shape


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("213175197796454", True),  # JCB's legacy 15-digit range
        ("584528792610", True),  # 12-digit Maestro
        ("213175197796455", False),  # Luhn digit off by one
        ("0000000000000", False),  # one repeated digit
        ("12345678", False),  # too short for a card
    ],
)
def test_luhn_card(value: str, valid: bool) -> None:
    assert luhn_card(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("0490 39 07 81", True),
        ("+41 (0)38 549 02 90", True),
        ("345-899-3560x4587", True),
        ("9472 7916", True),
        ("1978-04-13 12", False),  # a timestamp's date
        ("15.03.2024", False),
        ("123456", False),  # six digits: too short for any country's subscriber number
        ("1111 1111", False),
    ],
)
def test_phone_shape(value: str, valid: bool) -> None:
    assert phone_shape(value) is valid
