"""Phone numbers in text: libphonenumber's matcher, spared the work that cannot find a number.

``find`` returns exactly the spans ``phonenumbers.PhoneNumberMatcher(text, PHONE_REGION,
leniency=VALID)`` returns. On typical text nearly every candidate the matcher tries (digit
groups of dates, amounts, ids, and the pieces it splits them into) is invalid, and proving it
is what costs: ``parse``, then ``is_valid_number``, which for country code 1 tries the
metadata of each of NANPA's 25 regions in turn. Three bounds derived from the metadata at load
time (never from hand-written lists) settle most candidates without that work:

- too few characters: a valid number's national significant number has one of the lengths
  its country's metadata allows, and every digit of it (and of a written country code or
  international prefix) comes from a distinct digit or letter of the candidate (letters only
  when ``parse`` reads a vanity number), but for the few a region's national prefix transform
  adds (bounded from the rule). A candidate with fewer digits and letters than the shortest
  valid number needs, and fewer still without a plus sign, is never parsed;
- not shaped like any region's numbers: ``is_valid_number`` holds only if the national number
  fully matches the general pattern of a region of its country code that allows its length,
  and the pattern of one of that region's number types (fixed line, mobile, toll free...) that
  allows it too. One regex, the union over regions of both, rejects the rest before the
  library's region search.
- read as a home number: a candidate of ASCII digits and plain separators only (no plus sign,
  no letter, none of the characters that start an extension) is read by ``parse`` as its own
  digits, and unless they start with the home international prefix, as a number of the home
  country code whose national number is those digits less a few leading ones (the country code
  and national prefixes, when the metadata writes them as plain digits). If no such ending
  has the shape above, the candidate is not parsed at all.

Candidates that pass all three go through the library's own code, unchanged. And a text
whose every candidate would be settled by the last bound is not given to the matcher at all
(``_Library.may_hold``).
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
    if not _library().may_hold(text):
        return []  # proven to hold none: the matcher's scan of it is spared
    return _spans(text)


def find_shaped(text: str) -> list[tuple[int, int]]:
    """``find(text)`` if ``phone_shaped(text)``, else none: one read of the text tells both
    whether it is shaped and whether ``may_hold`` needs more than that read."""
    library = _library()
    shaped, marked = library.read(text.encode("utf-8"))
    if not shaped or not (marked or library.plain_may_hold(text)):
        return []
    return _spans(text)


def _spans(text: str) -> list[tuple[int, int]]:
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
    return _library().read(text.encode("utf-8"))[0]


@dataclass(frozen=True)
class _Region:
    """What ``is_valid_number`` checks of a national number in one region's metadata."""

    lengths: frozenset[int]  # of the general description (empty: any length)
    general: str  # the general pattern
    # Each number type's pattern and lengths (empty: any length), as ``_number_type_helper``
    # reads them: a number of no type is not valid.
    kinds: tuple[tuple[str, tuple[int, ...]], ...]

    def shape(self, length: int) -> str:
        """A regex that a valid national number of this length fully matches ("" if none can):
        the general pattern, and the union of the patterns of the types that allow it."""
        if self.lengths and length not in self.lengths:
            return ""
        kinds = [f"(?:{p})" for p, lengths in self.kinds if not lengths or length in lengths]
        if not kinds:
            return ""
        return rf"(?=(?:{self.general})\Z)(?:{'|'.join(kinds)})"


@dataclass
class _Library:
    """What the metadata says about valid numbers, and the matcher that uses it."""

    least: int  # digits and letters of the shortest valid number, however it is written
    least_national: int  # the same, for a candidate without a plus sign
    plus: str  # the characters ``parse`` reads as a plus sign
    # Per country code: the national number lengths, general pattern and number types of each of
    # its regions.
    regions: dict[int, list[_Region]]
    # RE2 programs' own Match (google-re2 is pinned in pyproject.toml), called on UTF-8 bytes
    # as the ``str`` API calls it: the wrapper encodes the text and builds a match object at
    # each call, which costs more than the search itself on the short texts read by the
    # thousand. ``run``: ``phone_shaped``'s run of digits; ``marked``: see ``may_hold``.
    run: Any
    home_code: int  # the home region's country code
    # The national prefixes ``parse`` may drop from a plain candidate read as a home number
    # (plain digit strings); None when the metadata's are not (then every candidate is parsed).
    national_prefixes: tuple[str, ...] | None
    idd: re.Pattern[str] | None  # the home international prefix, None when it has none
    marked: Any
    # An RE2 set of ``run`` (0) and ``marked`` (1), its own Match: which of them a text has, in
    # one read of it.
    both: Any
    # A run of plain characters with enough digits for a home number.
    plain_runs: re.Pattern[str]
    sequences: int  # the matcher's most digit sequences after the first one
    # The national number lengths the home country code allows; None when one region allows
    # any length.
    home_lengths: tuple[int, ...] | None
    # The digit counts of plain candidates that may be read as a home number of such a length
    # (the national number, and at most the country code and two national prefixes before it);
    # None when no bound is known.
    home_reach: frozenset[int] | None
    # (country code, national number length) -> the union over the regions that allow the
    # length of their general pattern and number types; None when none does. Filled on first
    # use.
    general: dict[tuple[int, int], re.Pattern[str] | None] = field(default_factory=dict)
    # Digit count of a plain candidate -> the leading digits ``parse`` may drop from it to
    # read a home number (see ``may_be_home_number``), each with the ``general`` pattern of
    # what is left. Filled on first use.
    readings: dict[int, tuple[tuple[str, re.Pattern[str]], ...]] = field(default_factory=dict)

    def read(self, data: bytes) -> tuple[bool, bool]:
        """Whether UTF-8 ``data`` has a ``run`` (``phone_shaped``), and if it does, whether it
        has a mark (``marked``)."""
        if len(data) <= _ONE_READ:
            hits = self.both(data)
            return 0 in hits, 1 in hits
        # A set reads the text to its end; a search stops at its first match, and a text
        # without a run needs no second one.
        if self.run(_UNANCHORED, data, 0, len(data))[0] == _NO_SPAN:
            return False, False
        return True, self.marked(_UNANCHORED, data, 0, len(data))[0] != _NO_SPAN

    def may_be_valid(self, country_code: int, national: str) -> bool:
        """False only if ``is_valid_number`` is false for every number with this country code
        and national significant number (a necessary condition: see the module docstring)."""
        general = self._general(country_code, len(national))
        return general is not None and general.fullmatch(national) is not None

    def _general(self, country_code: int, length: int) -> re.Pattern[str] | None:
        key = (country_code, length)
        if key not in self.general:
            patterns = [region.shape(length) for region in self.regions.get(country_code, ())]
            patterns = [pattern for pattern in patterns if pattern]
            self.general[key] = re.compile("|".join(patterns)) if patterns else None
        return self.general[key]

    def may_hold(self, text: str) -> bool:
        """False only if the matcher finds no number in ``text``: every candidate it could
        parse is plain, and each is refused by ``may_be_home_number``.

        Why: the matcher's candidates are matches of its pattern (digit sequences, the
        punctuation between them, leading brackets and plus signs, an extension) and pieces
        of them split at separators; ``parse`` reads a piece from its first digit or plus
        sign. A piece so read that is not plain holds a plus sign (followed by a digit within
        9 characters: the pattern's leading part), a digit that is not ASCII, or, after one of
        its digits and only plain separators, tabs and commas, a mark: "x", "~", "#", a
        character that is not ASCII, or an extension label ("ext" and its longer forms,
        "anexo", "int", in any case). Pieces are cut at separators only, never inside a label
        or between a label and its digits, and end trimmed of trailing punctuation, so a piece
        with a comma, colon or tab before a label's digits holds the label. ``marked`` finds
        any of these in the text.

        Without them, a match of the pattern is plain from its first digit, so it lies in a
        run of plain characters (``plain_runs``), and the digits of a piece are whole blocks
        (maximal digit runs) of it: the pattern takes digits greedily, 20 to a sequence and 21
        sequences at most, so it stops inside a block only after 21 digits, and a piece is cut
        at separators only. So some run of consecutive whole blocks (or, in a run of more than
        20 digits, any run of digits) must pass ``may_be_home_number``.
        """
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            return True  # lone surrogates: left to the matcher
        if self.marked(_UNANCHORED, data, 0, len(data))[0] != _NO_SPAN:
            return True
        return self.plain_may_hold(text)

    def plain_may_hold(self, text: str) -> bool:
        """``may_hold`` for a text without a mark (no match of ``marked``)."""
        lengths, reach = self.home_lengths, self.home_reach
        if self.national_prefixes is None or lengths is None or reach is None:
            return True
        idd, least = self.idd, self.least_national
        for run in self.plain_runs.findall(text):
            blocks = _BLOCKS.findall(run)
            digits = "".join(blocks)
            if len(digits) > self.sequences:
                # The pattern may stop inside a block, and pieces start and end anywhere.
                if idd is not None and idd.search(digits):
                    return True
                code = self.home_code
                if any(
                    self.may_be_valid(code, digits[i : i + n])
                    for n in lengths
                    for i in range(len(digits) - n + 1)
                ):
                    return True
                continue
            starts = [0]
            for block in blocks:
                starts.append(starts[-1] + len(block))
            for i, start in enumerate(starts):
                for end in starts[i + 1 :]:
                    # Fewer digits than ``least_national``: too short for any valid number (a
                    # plain piece has no plus sign). A count ``home_reach`` leaves out, without
                    # the international prefix first: ``may_be_home_number`` is false.
                    if end - start < least:
                        continue
                    piece = digits[start:end]
                    if (end - start in reach or (idd is not None and idd.match(piece))) and (
                        self.may_be_home_number(piece)
                    ):
                        return True
        return False

    def may_be_home_number(self, digits: str) -> bool:
        """False only if ``parse`` (in the home region) cannot read a plain candidate with these
        ASCII digits as a valid number: they do not start with the home international prefix,
        and no ending of them that ``parse`` may keep as the national number passes
        ``may_be_valid``. A plain candidate is made of ASCII digits and the separators in
        ``_PLAIN`` only.

        Why this holds, step by step through ``parse``: a plain candidate has no plus sign, no
        ";" (RFC 3966 parameters), no letter (vanity numbers need three; "x" would start a
        second number) and no extension (every extension form needs a letter, "#", "~", ";"
        or ","), so the number parsed is its digits, in order: the separators are dropped by
        normalising and none is a digit. Without a plus sign a country code is read only
        after the international prefix (ruled out here) or as the home one, and then the
        national number is the digits less the home country code and up to two national
        prefixes (``_maybe_extract_country_code`` strips one, ``parse`` another), each a plain
        digit string of the home metadata without a transform rule that could add digits.
        """
        prefixes = self.national_prefixes
        if prefixes is None or (self.idd is not None and self.idd.match(digits)):
            return True  # no bound from the metadata, or read after the international prefix
        readings = self.readings.get(len(digits))
        if readings is None:
            readings = self.readings[len(digits)] = self._readings(len(digits), prefixes)
        for dropped, general in readings:
            if digits.startswith(dropped) and general.fullmatch(digits[len(dropped) :]):
                return True
        return False

    def _readings(
        self, length: int, prefixes: tuple[str, ...]
    ) -> tuple[tuple[str, re.Pattern[str]], ...]:
        """The national numbers ``parse`` may keep of ``length`` plain digits (and a few more),
        as the digits they drop: none, or the home country code, then up to two national
        prefixes; each with the pattern the rest must pass. Empty when no ending of that length
        has a length the home code allows."""
        if self.home_reach is not None and length not in self.home_reach:
            return ()
        code = self.home_code
        starts = ("", str(code))
        dropped = sorted(
            {a + b + c for a in starts for b in ("", *prefixes) for c in ("", *prefixes)}
        )
        readings = ((d, self._general(code, length - len(d))) for d in dropped if len(d) <= length)
        return tuple((d, general) for d, general in readings if general is not None)


@cache
def _library() -> _Library:
    from phonenumbers import PhoneMetadata, phonenumberutil
    from phonenumbers import phonenumbermatcher as matcher

    # Every region's metadata, and the non-geographic ones' (+800, +882...): the regions
    # ``is_valid_number`` may pick for a country code (``metadata_for_region_or_calling_code``).
    regions: dict[int, list[_Region]] = {}
    for code, names in phonenumberutil.COUNTRY_CODE_TO_REGION_CODE.items():
        for name in names:
            meta = PhoneMetadata.metadata_for_region_or_calling_code(code, name)
            desc = meta.general_desc if meta is not None else None
            if desc is None or not desc.national_number_pattern:
                continue  # no number of this region is valid (``_match_national_number``)
            lengths = frozenset(n for n in desc.possible_length if n > 0)
            kinds = tuple(
                (kind.national_number_pattern, tuple(kind.possible_length))
                for kind in (getattr(meta, name) for name in _NUMBER_TYPES)
                if kind is not None and kind.national_number_pattern
            )
            regions.setdefault(code, []).append(
                _Region(lengths, desc.national_number_pattern, kinds)
            )

    home = PhoneMetadata.metadata_for_region(PHONE_REGION)
    assert home is not None and home.country_code is not None

    def fewest(code: int) -> int:
        """The fewest digits (or letters) of a candidate that ``parse`` can read as a national
        number of this country code that some region of it allows."""
        found = regions.get(code)
        if not found:
            return _NEVER
        shortest = min(min(region.lengths, default=1) for region in found)
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
    # Read as a home number, a plain candidate loses its home country code (written without a
    # plus sign) and up to two national prefixes. The metadata used is the home region's, and
    # once the country code is read, that of the code's main region.
    main = phonenumberutil.COUNTRY_CODE_TO_REGION_CODE[home.country_code][0]
    readers = [home, PhoneMetadata.metadata_for_region_or_calling_code(home.country_code, main)]
    national_prefixes = {meta.national_prefix_for_parsing or "" for meta in readers if meta} - {""}
    transformed = any(meta.national_prefix_transform_rule for meta in readers if meta)
    plain = all(prefix.isdigit() for prefix in national_prefixes)
    home_regions = regions[home.country_code]
    home_lengths = (
        tuple(sorted(frozenset().union(*(region.lengths for region in home_regions))))
        if all(region.lengths for region in home_regions)
        else None
    )
    most_dropped = (
        len(str(home.country_code)) + 2 * max(map(len, national_prefixes), default=0)
        if plain and not transformed and all(readers)
        else None
    )
    # The matcher's pattern: at most ``lead`` leading brackets or plus signs, each followed by
    # at most ``punctuation`` punctuation characters, then at most 1 + ``sequences`` digit
    # sequences.
    lead, punctuation, sequences = (
        _upper(getattr(matcher, name, ""))
        for name in ("_LEAD_LIMIT", "_PUNCTUATION_LIMIT", "_BLOCK_LIMIT")
    )
    plus_gap = lead * (1 + punctuation) - 1  # characters between a plus sign and a digit
    home_reach = (
        frozenset(n + k for n in home_lengths for k in range(most_dropped + 1))
        if home_lengths is not None
        and most_dropped is not None
        and plus_gap >= 0
        and sequences >= 0
        else None
    )
    run = rf"(?:\p{{Nd}}[^a-wyzA-WYZ\p{{Nd}}]*){{{least}}}"
    marked = (
        r"\p{Nd}[ \-().\[\]/\t,]*(?:[xX~#]|;?[eE][xX][tT]|[aA][nN][eE][xX][oO]|[iI][nN][tT]"
        rf"|[^\x00-\x7f])|[+\x{{FF0B}}][^\n]{{0,{plus_gap}}}\p{{Nd}}|[^\P{{Nd}}0-9]"
    )
    both = re2.Set.SearchSet()
    for pattern in (run, marked):
        both.Add(pattern)
    both.Compile()
    return _Library(
        least=least,
        least_national=max(least, min(national, prefix_digits + written)),
        plus=phonenumberutil._PLUS_CHARS,
        regions=regions,
        run=re2.compile(run)._regexp.Match,
        home_code=home.country_code,
        national_prefixes=tuple(national_prefixes) if most_dropped is not None else None,
        idd=re.compile(home.international_prefix) if home.international_prefix else None,
        marked=re2.compile(marked)._regexp.Match,
        both=both._set.Match,
        plain_runs=re.compile(
            rf"[0-9](?:[ \-./()\[\]]*[0-9]){{{max(min(home_reach or {1}) - 1, 0)},}}"
        ),
        home_lengths=home_lengths,
        home_reach=home_reach,
        sequences=sequences,
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


# The number types ``_number_type_helper`` tries, by their metadata attribute.
_NUMBER_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)

_NEVER = 1 << 30  # more characters than any candidate has: no bound

# The separators of a plain candidate, deleted by ``str.translate``: those of the matcher's
# punctuation that are ASCII and never start an extension or a second number ("x", "~" do).
_PLAIN = str.maketrans("", "", " -./()[]")
_BLOCKS = re.compile(r"[0-9]+")

_UNANCHORED = re2._Anchor.UNANCHORED
_NO_SPAN = (-1, -1)
# Bytes: up to this, ``_Library.read`` reads a text once with its set; beyond, the set's read
# to the end costs more than the two searches' calls.
_ONE_READ = 2048


def _upper(quantifier: str) -> int:
    """The upper bound of one of the matcher's ``{m,n}`` quantifiers; -1 if it is not one."""
    found = re.fullmatch(r"\{\d+,(\d+)\}", quantifier)
    return int(found.group(1)) if found else -1


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
    may_be_home_number = library.may_be_home_number
    leniency = phonenumbers.Leniency.VALID

    class Matcher(module.PhoneNumberMatcher):
        def __init__(self, text: str, region: str, max_tries: int = 65535) -> None:
            # Leniency VALID: the bounds hold for valid numbers only. ``max_tries`` (failed
            # candidates before the matcher gives up on a text) counts every candidate as the
            # library's does, whichever test rejects it.
            super().__init__(text, region, leniency=leniency, max_tries=max_tries)

        def _parse_and_verify(self, candidate: str, offset: int) -> Any:
            # Most candidates are plain (digits and separators: ids, dates, card numbers, the
            # pieces the matcher splits them into), read as home numbers of the wrong length or
            # shape, or too short: their characters are digits and they have no plus sign.
            digits = candidate.translate(_PLAIN)
            if digits.isdigit() and digits.isascii():
                if len(digits) < least_national or not may_be_home_number(digits):
                    return None
                return parse_and_verify(self, candidate, offset)
            # Too few characters for any valid number. Without a plus sign a number is read as
            # a home one, or after the international prefix.
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
