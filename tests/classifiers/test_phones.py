"""libphonenumber's matcher, and the digits it is spared: those a stronger finding holds."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest

from classifiers.engine import DetectorEngine, _blank

ENGINE = DetectorEngine.builtin()


def _types(text: str) -> list[tuple[str, str]]:
    return [(m.spec.type, m.value) for m in ENGINE.analyze(text)]


def _spy_on_matcher(monkeypatch: Any) -> list[str]:
    """Record the texts libphonenumber's matcher is given (it still runs)."""
    searched: list[str] = []
    real = phonenumbers.PhoneNumberMatcher

    def spy(text: str, *args: Any, **kwargs: Any) -> Any:
        searched.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(phonenumbers, "PhoneNumberMatcher", spy)
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
    text = "card 4454794511390933 or ring 020 7946 0958"
    _types(text)
    assert searched == ["card " + " " * 16 + " or ring 020 7946 0958"]


def test_digits_of_weaker_findings_still_reach_the_matcher(monkeypatch: Any) -> None:
    # A date scores below what a phone can reach: a phone over it could win, so it is kept.
    searched = _spy_on_matcher(monkeypatch)
    text = "meeting on 2024-03-15, desk phone 415 555 2671"
    found = _types(text)
    assert ("DATE_TIME", "2024-03-15") in found
    assert ("PHONE_NUMBER", "415 555 2671") in found
    assert searched == [text]


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
    class Span:
        def __init__(self, start: int, end: int) -> None:
            self.start, self.end = start, end

    out = _blank("ab 12345 cd", [Span(a, b) for a, b in spans])  # type: ignore[misc]
    assert out == expected
    assert len(out) == len("ab 12345 cd")
