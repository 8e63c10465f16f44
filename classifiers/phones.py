"""Phone numbers in text: libphonenumber's matcher, spared the work that cannot find a number.

``find`` returns exactly the spans ``phonenumbers.PhoneNumberMatcher(text, PHONE_REGION,
leniency=VALID)`` returns. On typical text nearly every candidate the matcher tries (digit
groups of dates, amounts, ids, and the pieces it splits them into) is invalid, and proving it
is what costs: ``parse``, then ``is_valid_number``, which for country code 1 tries the
metadata of each of NANPA's 25 regions in turn. Two bounds derived from the metadata at load
time (never from hand-written lists) settle most candidates without that work:

- too few characters: a valid number's national significant number has one of the lengths
  its country's metadata allows, and every digit of it (and of a written country code or
  international prefix) comes from a distinct digit or letter of the candidate (letters only
  when ``parse`` reads a vanity number), but for the few a region's national prefix transform
  adds (bounded from the rule). A candidate with fewer digits and letters than the shortest
  valid number needs, and fewer still without a plus sign, is never parsed;
- not shaped like any region's numbers: ``is_valid_number`` holds only if the national number
  fully matches the general pattern of a region of its country code that allows its length.
  One regex, the union of those patterns, rejects the rest before the library's region search.

Candidates that pass both go through the library's own code, unchanged.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import re2

if TYPE_CHECKING:
    from phonenumbers import PhoneNumberMatcher

# One default region: national numbers are read as US ones, and any number written with its
# +country code is read in its own country. Trying several regions turns short local numbers
# of some countries (German 4-5 digit ones) into false phones.
PHONE_REGION = "US"


def find(text: str) -> list[tuple[int, int]]:
    """Start and end of each number libphonenumber's matcher finds (leniency VALID)."""
    return [(m.start, m.end) for m in _matcher()(text, PHONE_REGION)]


def phone_shaped(text: str) -> bool:
    """Whether ``text`` has a run of digits long enough to hold a valid phone number.

    libphonenumber's matcher spends most of its time proving that digit groups (dates, ids,
    amounts) are not valid numbers; on pii-dev nine texts in ten that reach it hold no phone.
    A valid number has at least ``_Library.least`` digits (6 in phonenumbers 9.0), and the
    matcher's candidates are digits separated by punctuation and spaces, never by letters
    other than "x". So a text without such a run of digits (letters but x ending a run; any
    other character, newlines included, kept in it) has no number for the matcher to find,
    with one exception left as it was: ``parse`` reads the letters of an extension label cut
    off from its digits as a vanity number ("+290 8 int. 1" holds "+290 8 int", +290 8468),
    so a few digits and "int" can make a valid number that this test does not see.
    """
    # On UTF-8 bytes: the same RE2 program (the wrapper encodes a str to UTF-8 itself), without
    # the wrapper's conversion of byte offsets back to character ones.
    return _library().run.search(text.encode("utf-8")) is not None


@dataclass
class _Library:
    """What the metadata says about valid numbers, and the matcher that uses it."""

    least: int  # digits and letters of the shortest valid number, however it is written
    least_national: int  # the same, for a candidate without a plus sign
    plus: str  # the characters ``parse`` reads as a plus sign
    # Per country code: the national number lengths and general pattern of each of its regions
    # (lengths empty: any length).
    regions: dict[int, list[tuple[frozenset[int], str]]]
    run: Any  # RE2: ``phone_shaped``'s run of digits
    # (country code, national number length) -> the union of the general patterns of the
    # regions that allow the length; None when none does. Filled on first use.
    general: dict[tuple[int, int], re.Pattern[str] | None] = field(default_factory=dict)

    def may_be_valid(self, country_code: int, national: str) -> bool:
        """False only if ``is_valid_number`` is false for every number with this country code
        and national significant number (a necessary condition: see the module docstring)."""
        key = (country_code, len(national))
        if key not in self.general:
            patterns = [
                f"(?:{pattern})"
                for lengths, pattern in self.regions.get(country_code, ())
                if not lengths or len(national) in lengths
            ]
            self.general[key] = re.compile("|".join(patterns)) if patterns else None
        general = self.general[key]
        return general is not None and general.fullmatch(national) is not None


@cache
def _library() -> _Library:
    from phonenumbers import PhoneMetadata, phonenumberutil

    # Every region's metadata, and the non-geographic ones' (+800, +882...): the regions
    # ``is_valid_number`` may pick for a country code (``metadata_for_region_or_calling_code``).
    regions: dict[int, list[tuple[frozenset[int], str]]] = {}
    for code, names in phonenumberutil.COUNTRY_CODE_TO_REGION_CODE.items():
        for name in names:
            meta = PhoneMetadata.metadata_for_region_or_calling_code(code, name)
            desc = meta.general_desc if meta is not None else None
            if desc is None or not desc.national_number_pattern:
                continue  # no number of this region is valid (``_match_national_number``)
            lengths = frozenset(n for n in desc.possible_length if n > 0)
            regions.setdefault(code, []).append((lengths, desc.national_number_pattern))

    home = PhoneMetadata.metadata_for_region(PHONE_REGION)
    assert home is not None and home.country_code is not None

    def fewest(code: int) -> int:
        """The fewest digits (or letters) of a candidate that ``parse`` can read as a national
        number of this country code that some region of it allows."""
        found = regions.get(code)
        if not found:
            return _NEVER
        shortest = min(min(lengths, default=1) for lengths, _ in found)
        # ``parse`` reads the number with the metadata of the code's main region (or of the
        # home one), whose national prefix transform may add digits (Madagascar's "20\1" turns
        # 7 into 9).
        names = phonenumberutil.COUNTRY_CODE_TO_REGION_CODE[code]
        metas = [PhoneMetadata.metadata_for_region_or_calling_code(code, names[0])]
        metas += [home] if code == home.country_code else []
        return max(1, shortest - max(map(_added_digits, metas)))

    # A written country code (after a plus sign or the international prefix, or the home one
    # written without either) adds its digits to the national number's.
    written = min((len(str(code)) + fewest(code) for code in regions), default=1)
    national = fewest(home.country_code)  # read as a home number: no country code written
    prefix = home.international_prefix or ""
    # The international prefix is matched in the digits (``_parse_prefix_as_idd``); a pattern
    # that is not a plain digit string gets no credit.
    prefix_digits = len(prefix) if prefix.isdigit() else 0
    least = max(1, min(written, national))
    return _Library(
        least=least,
        least_national=max(least, min(national, prefix_digits + written)),
        plus=phonenumberutil._PLUS_CHARS,
        regions=regions,
        run=re2.compile(rf"(?:\p{{Nd}}[^a-wyzA-WYZ\p{{Nd}}]*){{{least}}}"),
    )


def _added_digits(meta: Any) -> int:
    """The most digits a region's national prefix transform can add to a number.

    ``re.sub`` replaces the matched prefix with the rule: its literal characters, and the
    groups it names, which are parts of the match. With at most one group named, the result
    outgrows the match by at most the literals; otherwise no bound is claimed.
    """
    rule = meta.national_prefix_transform_rule if meta is not None else None
    if not rule:
        return 0
    named = re.findall(r"\\(?:\d+|g<\w+>)", rule)
    if len(named) > 1:
        return _NEVER
    return len(rule) - sum(map(len, named))


_NEVER = 1 << 30  # more characters than any candidate has: no bound


@cache
def _matcher() -> type[PhoneNumberMatcher]:
    """A ``PhoneNumberMatcher`` (leniency VALID) whose candidates are first checked against
    what ``_library`` knows, with the same results."""
    import phonenumbers
    from phonenumbers import phonenumbermatcher as module

    library = _library()
    national_significant_number = phonenumbers.national_significant_number
    is_valid_number = phonenumbers.is_valid_number

    def is_valid(number: Any) -> bool:
        national = national_significant_number(number)
        return library.may_be_valid(number.country_code, national) and is_valid_number(number)

    # The library's own ``_verify`` and ``_parse_and_verify``, run in a copy of their module's
    # namespace where ``is_valid_number`` is the one above (same answers, found sooner): the
    # matcher's code is not rewritten here, and phonenumbers itself is left as it is for its
    # other users (Presidio's recognizer runs in the same process).
    namespace = dict(vars(module), is_valid_number=is_valid)
    namespace["_verify"] = _rebound(module._verify, namespace)
    parse_and_verify = _rebound(module.PhoneNumberMatcher._parse_and_verify, namespace)
    least, least_national, plus = library.least, library.least_national, library.plus
    leniency = phonenumbers.Leniency.VALID

    class Matcher(module.PhoneNumberMatcher):
        def __init__(self, text: str, region: str, max_tries: int = 65535) -> None:
            # Leniency VALID: the bounds hold for valid numbers only. ``max_tries`` (failed
            # candidates before the matcher gives up on a text) counts every candidate as the
            # library's does, whichever test rejects it.
            super().__init__(text, region, leniency=leniency, max_tries=max_tries)

        def _parse_and_verify(self, candidate: str, offset: int) -> Any:
            # Most candidates are a few digits: too short to be any valid number. Without a
            # plus sign a number is read as a home one, or after the international prefix.
            chars = sum(map(str.isalnum, candidate))
            if chars < least_national and (chars < least or not any(p in candidate for p in plus)):
                return None
            return parse_and_verify(self, candidate, offset)

    return Matcher


def _rebound(function: Any, namespace: dict[str, Any]) -> types.FunctionType:
    """``function``'s code, with ``namespace`` as its globals."""
    rebound = types.FunctionType(
        function.__code__,
        namespace,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    rebound.__kwdefaults__ = function.__kwdefaults__
    rebound.__qualname__ = function.__qualname__
    return rebound
