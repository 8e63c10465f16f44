"""Street addresses: a small structural grammar over RE2 patterns and word lists.

No library parses free-text addresses across countries without a model or a download
(libpostal needs a 2 GB data set; usaddress is US-only and tags every token as some field,
address or not), so this is written by hand. An address is found in two steps:

1. A *street core*, the part no other text looks like:
   - a house number, name words and a street suffix from the USPS list ("1600 Pennsylvania
     Avenue", "221B Baker Street");
   - a street-type word first, as in Romance and Slavic languages ("Rue de Virton 38",
     "ul. Miła 57", "33 avenue de Provence");
   - a street word that carries its type as a suffix, as in Germanic, Nordic and Finnic
     languages ("Kopfhölzistrasse 45", "Ringvej 144", "Koskikatu 25");
   - a name and a house number followed by a unit or a postal line ("Tylova 285\\n Suite 578");
   - P.O. boxes, US military addresses (PSC/Unit ... APO/FPO/DPO) and "the corner of A and B".
2. The *tail* after it: a unit (Apt, Suite, Flat...), then lines or comma-separated parts that
   look like a city, a region code, a country or a postal code (US ZIP, UK, Canadian, Dutch and
   plain 4-5 digit codes), across line breaks.

A number next to a capitalised word is not enough ("we sold 300 items on Main Street", "in 2019
Apple Park opened"): cores whose suffix is also a common noun (Park, Hill, Union...) and cores
without any street word need a unit, a postal tail or an address word nearby to be reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import re2

from classifiers.multiscan import EncodedText, Re2Sets
from classifiers.native import lower
from classifiers.spec import DetectorSpec

if TYPE_CHECKING:
    from classifiers.engine import RawMatch

Accept = Callable[[DetectorSpec, str, int, int], "RawMatch | None"]


def _alt(words: Iterable[str], cases: bool = True) -> str:
    """An RE2 alternation of the words as written, lower-cased and upper-cased."""
    variants: set[str] = set()
    for w in words:
        variants.update((w, lower(w), w.upper()) if cases else (w,))
    # Longest first so that "Streets" is not cut to "Street" by a shorter alternative.
    return "|".join(re2.escape(v) for v in sorted(variants, key=lambda v: (-len(v), v)))


# USPS Publication 28, appendix C1 street suffixes (common forms and abbreviations) whose
# meaning is only a street: one of them after "<number> <Name>" makes an address.
STRONG_SUFFIXES = (
    "Street", "St", "Str", "Avenue", "Ave", "Av", "Road", "Rd", "Boulevard", "Blvd", "Lane",
    "Ln", "Drive", "Dr", "Court", "Ct", "Terrace", "Ter", "Parkway", "Pkwy", "Highway", "Hwy",
    "Expressway", "Expy", "Freeway", "Fwy", "Turnpike", "Tpke", "Circle", "Cir", "Crescent",
    "Cres", "Alley", "Aly", "Causeway", "Cswy", "Crossroad", "Crossroads", "Xrd", "Plaza", "Plz",
    "Trail", "Trl", "Place", "Pl", "Way", "Wy", "Loop", "Pike", "Avenida", "Straße", "Strasse",
    "Boulevard", "Esplanade", "Motorway", "Mews", "Close", "Gardens", "Gdns", "Sq", "Square",
    "Stravenue", "Throughway", "Trafficway", "Underpass", "Overpass", "Viaduct",
)  # fmt: skip
# Suffixes that are also common nouns or place words: "<number> <Name> Park" can be a year and a
# campus. These need a unit, a postal tail or an address word nearby.
WEAK_SUFFIXES = (
    "Park", "Hill", "Hills", "Union", "Green", "Grove", "Row", "Walk", "Rise", "Vale", "View",
    "Views", "Way", "Point", "Port", "Run", "Station", "Summit", "Valley", "Village", "Ville",
    "Vista", "Well", "Wells", "Wharf", "Yard", "Parade", "Harbor", "Harbour", "Heights", "Junction",
    "Landing", "Manor", "Meadow", "Meadows", "Pass", "Path", "Ridge", "Shore", "Shores",
    "Spring", "Springs", "Forge", "Forges", "Ford", "Fords", "Fork", "Forks", "Fort", "Gateway",
    "Glen", "Glens", "Haven", "Hollow", "Inlet", "Island", "Isle", "Key", "Keys", "Knoll",
    "Knolls", "Lake", "Lakes", "Light", "Lights", "Lock", "Locks", "Lodge", "Mall", "Mill",
    "Mills", "Mission", "Mount", "Mountain", "Neck", "Orchard", "Oval", "Pine", "Pines",
    "Plain", "Plains", "Prairie", "Radial", "Ranch", "Rapids", "Rest", "Route", "Shoal",
    "Shoals", "Skyway", "Spur", "Stream", "Track", "Trace", "Tunnel", "Burg", "Bypass", "Camp",
    "Canyon", "Cape", "Center", "Centre", "Cliff", "Cliffs", "Club", "Common", "Commons",
    "Corner", "Corners", "Course", "Cove", "Creek", "Crest", "Crossing", "Curve", "Dale", "Dam",
    "Divide", "Estate", "Estates", "Extension", "Falls", "Ferry", "Field", "Fields", "Flat",
    "Flats", "Garden", "Gateway", "Greens", "Groves", "Heights", "Highlands", "Brook", "Brooks",
    "Bridge", "Branch", "Bluff", "Bluffs", "Bottom", "Bend", "Beach", "Bayou", "Arcade",
)  # fmt: skip
# Street-type words written before the name in Romance, Slavic, Greek and other languages.
PREFIXES = (
    "Rue", "Avenue", "Av", "Ave", "Avda", "Avenida", "Via", "Viale", "Vicolo", "Piazza",
    "Piazzale", "Corso", "Largo", "Strada", "Calle", "Carrer", "Carretera", "Camino", "Paseo",
    "Plaza", "Rambla", "Ronda", "Travesía", "Rua", "Praça", "Travessa", "Estrada", "Alameda",
    "Ul", "Ulica", "Al", "Aleja", "Plac", "Trg", "Boulevard", "Bd", "Chemin", "Allée", "Impasse",
    "Quai", "Place", "Cours", "Route", "Rte", "Πλατεία", "Οδός", "Λεωφόρος", "Cesta", "Ulitsa",
    "Prospekt", "Bulevar", "Bulevardul", "Strada", "Piata", "Aleea", "Sokak", "Caddesi",
)  # fmt: skip
# Street types that Germanic, Nordic, Finnic and Baltic languages write as a word ending, or as
# a separate word after the name (Hungarian "utca", "tér"; Estonian "tee").
WORD_ENDINGS = (
    "strasse", "straße", "gasse", "weg", "allee", "platz", "straat", "laan", "gracht", "plein",
    "vej", "vænget", "stræde", "katu", "kuja", "polku", "väg", "vägen", "gatan", "veien",
    "vegen", "vegur", "stræti", "utca", "útja", "ulica", "ulice", "cesta", "iela", "gatvė", "tänav",
)  # fmt: skip
# Endings that also end English words ("Upgrade 2", "Delegate 5", "Bowtie 3"): kept only with
# a unit, a postal tail or an address word nearby.
WEAK_ENDINGS = (
    "str", "damm", "ufer", "chaussee", "kade", "singel", "steeg", "hove", "gade", "allé", "torv",
    "tie", "gata", "gränd", "gate", "vei",
)  # fmt: skip
AFTER_WORDS = (
    "utca", "út", "útja", "tér", "rkp", "körút", "Strasse", "Straße", "Gasse", "Weg", "Allee",
    "Platz", "vej", "veien", "vegen", "gata", "gatan", "katu", "ulica", "cesta", "terrasse",
    "straat", "laan",
)  # fmt: skip
# Separate street words that are also English words or letters ("Thank u 2", "Gate 5"): kept
# only with a unit, a postal tail or an address word nearby.
WEAK_AFTER_WORDS = ("u", "krt", "köz", "sor", "tee", "mnt", "pst", "gate", "vei", "tie", "str")
UNITS = ("Apt", "Apartment", "Suite", "Ste", "Unit", "Flat", "Floor", "Fl", "Room", "Rm", "Bldg")
DIRECTIONS = ("N", "S", "E", "W", "NE", "NW", "SE", "SW", "North", "South", "East", "West")
# Lower-case particles inside street and place names ("Rue de la Paix", "Ostrov nad Ohří").
PARTICLES = (
    "de", "del", "della", "delle", "di", "da", "do", "dos", "das", "du", "des", "la", "le",
    "les", "van", "von", "der", "den", "ten", "ter", "y", "e", "el", "al", "z", "nad", "pod",
    "na", "u", "an", "am", "im", "sur", "sous", "en", "of", "the", "and",
)  # fmt: skip
# Words that, near a candidate, say it is an address (checked when the core alone is weak).
ADDRESS_WORDS = (
    "address", "addresses", "addr", "live", "lives", "lived", "living", "located", "location",
    "ship", "shipping", "deliver", "delivery", "sent", "send", "mail", "mailing", "billing",
    "street", "office", "offices", "moved", "move", "reside", "resides", "residence", "home",
    "visit", "meet", "drops", "return", "taxi",
)  # fmt: skip

_CAP = r"(?:\p{Lu}[\p{L}\p{M}'\x{2019}-]*\.?)"  # a capitalised word, perhaps abbreviated
_PART = "(?:" + "|".join(PARTICLES) + ")"
_NAMEW = rf"(?:{_CAP}|{_PART}|\d{{1,3}}(?:st|nd|rd|th)\b)"  # "5th Avenue"
_NUM = r"\d{1,6}[A-Za-z]?"
# RE2's \b is ASCII-only: before a word that may start with "Á" or "Þ", a consumed non-letter.
_START = r"(?:^|[^\p{L}\p{N}])"
_HOUSE = r"\d{1,5}[A-Za-z]?\b\.?"

_CORE_PATTERNS: tuple[tuple[str, str], ...] = (
    # number, optional direction, 1-4 name words, a USPS suffix
    (
        "suffix",
        rf"\b{_NUM},? (?:(?:{_alt(DIRECTIONS, False)})\.? )?(?:{_NAMEW} ){{0,3}}{_CAP} "
        rf"(?P<suffix>{_alt(STRONG_SUFFIXES + WEAK_SUFFIXES)})\b\.?",
    ),
    # a street-type word first: "Rue de Virton 38", "33 avenue de Provence", "ul. Miła 57"
    (
        "prefix",
        rf"{_START}(?:\d{{1,6}},? )?(?:{_alt(PREFIXES)})\.? (?:{_NAMEW} ){{0,4}}"
        rf"(?:{_NAMEW}|\p{{L}}+)(?:,? {_HOUSE})?",
    ),
    # a street word that ends in its type, then a house number: "Koskikatu 25", "Ringvej 144"
    (
        "ending",
        rf"{_START}(?:\d{{1,6}} )?(?:{_CAP} ){{0,2}}\p{{L}}+"
        rf"(?P<ending>(?i:{_alt(WORD_ENDINGS + WEAK_ENDINGS, False)}))\.?,? {_HOUSE}",
    ),
    # a name then a separate street-type word, then a number: "Erzsébet tér 19.", "Luite tee 87"
    (
        "after",
        rf"{_START}(?:\d{{1,6}} )?(?:{_NAMEW} ){{1,3}}"
        rf"(?P<after>{_alt(AFTER_WORDS + WEAK_AFTER_WORDS)})\.? {_HOUSE}",
    ),
    # a house number (perhaps two: building and street), name words and a number; kept only
    # with a unit or a postal tail: "4596 Tylova 285\n Suite 578"
    ("bare", rf"{_START}(?:\d{{1,6}} )?(?:\d{{1,6}} )?(?:{_CAP} ){{0,2}}{_CAP} {_HOUSE}"),
    # P.O. box and US military mail (USPS Publication 28, section 225)
    ("pobox", r"(?i)\bP\.? ?O\.? ?Box \d{1,6}\b"),
    (
        "military",
        r"(?i)\b(?:(?:PSC|CMR|Unit) \d{1,5},? Box \d{1,5}|US[A-Z]{1,3} \p{Lu}[\p{L}-]+)\s*\n?\s*"
        r"[ADF]PO A[AEP] \d{5}\b",
    ),
    ("corner", rf"\b(?i:corner) of (?:{_NAMEW} |\d{{1,5}} ){{1,6}}(?:and|&) (?:{_NAMEW} ?){{1,4}}"),
)
# The word lists make large automata: give RE2's DFA room so it never falls back to the NFA.
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 64 << 20
_CORES = [(kind, re2.compile(p, _OPTIONS)) for kind, p in _CORE_PATTERNS]


@cache
def _core_set() -> Re2Sets:
    """One RE2 set of the eight core patterns, built on first use (about 25 ms)."""
    return Re2Sets(list(enumerate(pattern for _, pattern in _CORE_PATTERNS)))


def _core_kinds(data: bytes) -> list[int]:
    """Indices into ``_CORES`` of the cores that match somewhere in ``data``, ascending.

    Most texts with a digit hold no core at all, and each search through the binding has a
    fixed cost: one pass of an RE2 set of the same eight patterns says which kinds occur, and
    only those are searched for their matches. A set reports exactly the patterns a search
    would find (whether a match exists does not depend on leftmost-first order), and RE2 never
    gives up on a set's DFA once it has compiled (see ``multiscan.Re2Sets``).
    """
    return sorted(_core_set().hits(data))


# The named group each kind's _keep reads (its index in the compiled program; 0: none).
_CORE_GROUPS = {
    kind: next(
        (regex.groupindex[g] for g in ("suffix", "ending", "after") if g in regex.groupindex), 0
    )
    for kind, regex in _CORES
}
# Which space-separated part of the match is the word ``_keep`` reads, where the group need
# not be asked for: a group takes RE2 a second pass over the match (its NFA, on programs this
# size), where the DFA alone finds the match. A suffix is the last part and an after-word the
# one before it, less a full stop: the group follows a literal space, and neither it (the
# words hold no space and no full stop) nor what follows it ("\b\.?"; "\.? {_HOUSE}") holds
# a space.
_WORD_PARTS = {"suffix": -1, "after": -2}
# The kinds whose every match holds a space then a digit: "{_CAP} {_HOUSE}", "Box \d",
# "A[AEP] \d{5}".
_SPACED_NUMBER = frozenset({"ending", "after", "bare", "pobox", "military"})


@cache
def _core_searches() -> list[tuple[str, Callable[..., Any], int, int, bool]]:
    """Per core kind: its search (the compiled program's Match), the group to read (0: none),
    the part of the match that is the word (0: none) and whether it is in ``_SPACED_NUMBER``.

    Built on first use: the programs without a group compile in about 13 ms.
    """
    searches = []
    for (kind, pattern), (_, regex) in zip(_CORE_PATTERNS, _CORES, strict=True):
        part = _WORD_PARTS.get(kind, 0)
        if part:
            regex = re2.compile(pattern.replace(f"(?P<{kind}>", "(?:"), _OPTIONS)
        group = 0 if part else _CORE_GROUPS[kind]
        searches.append((kind, regex._regexp.Match, group, part, kind in _SPACED_NUMBER))
    return searches


_WEAK = frozenset(lower(w) for w in WEAK_SUFFIXES) - {lower(s) for s in STRONG_SUFFIXES}
_WEAK_ENDINGS = frozenset(WEAK_ENDINGS)
_WEAK_AFTER = frozenset(WEAK_AFTER_WORDS)
_YEAR = re2.compile(r"(?:19|20)\d\d")

# Leftmost-longest: "London NW1 6XE" is a city and a postcode, not "London NW" and a rest.
_LONGEST = re2.Options()
_LONGEST.longest_match = True
_LONGEST.max_mem = 64 << 20
_UNIT = re2.compile(
    rf"[ \t]*,?[ \t]*\n?[ \t>|?]*(?:(?:{_alt(UNITS)})\.?|#) ?#?\d[\w-]{{0,5}}\b\.?"
    rf"|[ \t]*,?[ \t]*\n?[ \t>|?]*(?i:box) \d{{1,6}}\b",
    _LONGEST,
)
_POSTAL = (
    r"(?:\d{5}(?:-\d{4})?|\d{4}(?: ?[A-Z]{2}\b)?|\d{3} ?\d{2}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"
    r"|[A-Z]\d[A-Z] ?\d[A-Z]\d|\d{2}-\d{3})\b"
)
_CITYW = r"(?:\p{Lu}[\p{L}\p{M}'\x{2019}.-]*|\([^()\n]{1,40}\)|" + _PART + r")"
# One part of the tail: "Springfield, IL 62704", ", CO", " Uruguay 64677", "NW1 6XE", "Wien".
_SEGMENT = (
    rf"(?:{_CITYW}(?: {_CITYW}){{0,4}}(?:,? [A-Z]{{2,3}}\b)?(?: {_POSTAL})?"
    rf"|{_POSTAL}(?: {_CITYW}){{0,3}}|[A-Z]{{2,3}}\b(?: {_POSTAL})?)"
)
_TAIL_GAP = r"(?:[ \t]*(?:\n[ \t>|?]*)?(?:,[ \t]*(?:\n[ \t>|?]*)?)?)"
# One tail part, the segment as a group (the grammar as written; ``_extend`` runs ``_TAIL_END``).
_TAIL = re2.compile(rf"{_TAIL_GAP}(?P<seg>{_SEGMENT})", _LONGEST)
# The same without the capture group: the match alone is found by RE2's DFA, where a group
# takes a second pass. The segment is the match from its first byte outside ``_GAP`` (see
# ``_GAP``), so the group is not needed.
_TAIL_END = re2.compile(rf"{_TAIL_GAP}(?:{_SEGMENT})", _LONGEST)
# A tail that ends at a line end or sentence end: capitalised words are only a city when
# nothing but punctuation follows them on the line (``_ends_part`` reads it by hand).
_SEG_END = re2.compile(r"[ \t]*(?:[.!?;:,)]|$|\n)")
_HAS_POSTAL = re2.compile(rf"(?:^|[ ,]){_POSTAL}")
_LABEL = re2.compile(r"\p{L}[\p{L} -]{0,20}:")
_MAX_TAIL = 5
# Necessary conditions that spare most RE2 calls in ``_extend`` (each costs about a
# microsecond, mostly in the binding, where the answer is usually no). A unit or a tail part
# (``_UNIT``, ``_TAIL``) opens with a run of characters from ``_GAP`` (spaces, tabs, commas,
# line breaks and the quote marks > | ?), then the unit word, "#", "box" or the segment, whose
# first character is never in ``_GAP``: so it starts at the first character after the whole
# run, and that character must be able to start it. For a unit: "#", or the first two letters
# of a unit word (as written, lower- or upper-case: ``_alt``) or of "box" in any case
# ((?i:box): RE2 folds no other character to b or o), all ASCII. For a segment
# (``_SEGMENT``): an upper-case ASCII letter (the ASCII part of \p{Lu}), an ASCII digit, "("
# or the first letter of a particle; a non-ASCII character may be upper-case: there the
# pattern decides.
_GAP = frozenset(b" \t,\n>|?")
_UNIT_HEADS = frozenset(
    {v[:2].encode() for w in UNITS for v in (w, lower(w), w.upper())}
    | {b + o for b in (b"b", b"B") for o in (b"o", b"O")}
)
_SEGMENT_FIRST = frozenset(
    set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789(") | {p.encode()[0] for p in PARTICLES}
)
_LABEL_BYTES = 4 * 21 + 1
_BLANKS = frozenset(b" \t")
_PART_ENDS = frozenset(b".!?;:,)\n")
_ASCII_DIGITS = b"0123456789"
_DIGIT_BYTES = [bytes([d]) for d in _ASCII_DIGITS]
_SPACED_DIGITS = [b" " + d for d in _DIGIT_BYTES]
_DIGITS_TO_ZERO = bytes.maketrans(_ASCII_DIGITS, b"0" * 10)
_SHORT_DATA = 1024
_INTRO = re2.compile(
    r"(?i)(?:\baddress(?:es)?\b[ \t]*(?:is|:|-)?[ \t]*|\b(?:address(?:es)?|lives?|lived|living|"
    r"located|resides?|ship|send|sent|deliver|drops? (?:you |me )?off|moved|return|station|"
    r"enter|offices?|restaurant|shop|store|hotel)\b[^.\n]{0,24}\b(?:at|on|to|is|in|of)"
    r"[ \t]*:?[ \t]*)$"
)
# The characters ``_INTRO`` can end with, before its blanks: (?i) folds only the long s
# (U+017F) to one of these letters.
_INTRO_LAST = frozenset("stnofSTNOF\u017f:-")
_WORDS = re2.compile(r"\p{L}+")
_ADDRESS_WORDS = frozenset(ADDRESS_WORDS)
# The compiled programs' own Match (google-re2 pinned in pyproject.toml), called with the
# arguments the ``str`` API passes them (see ``EncodedText``): the wrapper encodes its text and
# builds a match object at each call, which cost more than the match itself on these short
# anchored searches.
_UNANCHORED = re2._Anchor.UNANCHORED
_ANCHOR_START = re2._Anchor.ANCHOR_START
_ANCHOR_BOTH = re2._Anchor.ANCHOR_BOTH
_NO_SPAN = (-1, -1)
_UNIT_MATCH = _UNIT._regexp.Match
_TAIL_END_MATCH = _TAIL_END._regexp.Match
_LABEL_MATCH = _LABEL._regexp.Match
_HAS_POSTAL_MATCH = _HAS_POSTAL._regexp.Match
_INTRO_MATCH = _INTRO._regexp.Match
_YEAR_MATCH = _YEAR._regexp.Match


def _fullmatch(match: Callable[..., Any], value: str) -> bool:
    """``regex.fullmatch(value) is not None``, given the regex's compiled ``Match``."""
    data = value.encode()
    return bool(match(_ANCHOR_BOTH, data, 0, len(data))[0] != _NO_SPAN)


class AddressFinder:
    """Runs the address detectors (``engine: address``) over texts."""

    def __init__(self, specs: Sequence[DetectorSpec]) -> None:
        self.specs = list(specs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (AddressFinder, (self.specs,))  # a compiled class has no ``__dict__`` to copy

    def find(self, texts: Sequence[str], accept: Accept) -> list[list[RawMatch]]:
        out: list[list[RawMatch]] = [[] for _ in texts]
        if not self.specs:
            return out
        for i, text in enumerate(texts):
            for start, end in find_addresses(text):
                for spec in self.specs:
                    found = accept(spec, text, start, end)
                    if found is not None:
                        out[i].append(found)
        return out


def find_addresses(text: str) -> list[tuple[int, int]]:
    """Character spans of the street addresses in ``text``, longest first where they overlap."""
    if not _has_digit(text):
        return []
    doc = EncodedText(text)
    data = doc.data
    kinds = _core_kinds(data)
    if not kinds:
        return []
    # Necessary conditions (ASCII digits: RE2's \d). A unit and a postal code each hold a
    # digit (``_UNIT``'s two forms, ``_POSTAL``'s every form), so a core with no digit after it
    # has no evidence from its tail; and each match of the kinds in ``_SPACED_NUMBER`` holds a
    # space before a digit, so once the search has passed the last one, no match is left (the
    # final search, which finds nothing, is skipped).
    last_digit, last_number = _last_digits(data)
    stop = len(data)
    candidates: list[tuple[int, int]] = []
    # An identical span found again (by a core of another kind) cannot change what is kept:
    # the first copy is kept or overlapped, and the copy then overlaps it; so it is not judged.
    accepted: set[tuple[int, int]] = set()
    # Cores of several kinds often end at the same place ("6750 Koskikatu 25" as a street
    # word with an ending and as a bare name and number): their tails are the same.
    tails: dict[int, tuple[int, bool]] = {}
    chars = None if doc.ascii else doc.chars  # ASCII: byte offsets are character offsets
    searches = _core_searches()
    for index in kinds:
        kind, match, group, part, spaced = searches[index]
        # ``doc.finditer`` written out: no core matches the empty string, so each search
        # starts where the last match ended.
        pos = 0
        while not spaced or last_number >= pos:
            spans = match(_UNANCHORED, data, pos, stop)
            if spans[0] == _NO_SPAN:
                break
            pos = spans[0][1]
            core_start, core_end = spans[0] if chars is None else chars(spans[0])
            word = ""
            if part:
                word = text[core_start:core_end].rsplit(" ", 2)[part].removesuffix(".")
            elif group and spans[group] != _NO_SPAN:
                word_start, word_end = spans[group] if chars is None else chars(spans[group])
                word = text[word_start:word_end]
            start, end = _strip(text, core_start, core_end)
            # The core from its first letter or digit (``_strip`` found it: ``start``).
            core = text[start if start < core_end else core_start : core_end].strip()
            # No digit after the core (``_strip`` drops no digit): no evidence, and ``_keep``
            # reads ``end`` only with evidence; a core it drops needs no tail.
            no_evidence = last_digit < pos
            if no_evidence and not _keep(kind, core, word, text, start, end, False):
                continue
            tail = tails.get(end)
            if tail is None:
                tail = tails[end] = _extend(doc, end)
            end, evidence = tail
            end = _drop_full_stop(text, start, end)
            span = (start, end)
            if start < end and span in accepted:
                continue
            if no_evidence or _keep(kind, core, word, text, start, end, evidence):
                candidates.append(span)
                accepted.add(span)
    if len(candidates) < 2:
        return candidates
    kept: list[tuple[int, int]] = []
    for start, end in sorted(candidates, key=lambda s: (s[0] - s[1], s[0])):
        for a, b in kept:
            if start < b and a < end:
                break
        else:
            kept.append((start, end))
    return sorted(kept)


def _last_digits(data: bytes) -> tuple[int, int]:
    """Offsets of the last ASCII digit and of the last space before one (-1: none)."""
    if len(data) > _SHORT_DATA:
        # Searched from the end, where a long text (a log) soon has both: no pass over it all.
        return max(map(data.rfind, _DIGIT_BYTES)), max(map(data.rfind, _SPACED_DIGITS))
    zeros = data.translate(_DIGITS_TO_ZERO)  # one pass, where twenty searches cost more
    return zeros.rfind(b"0"), zeros.rfind(b" 0")


def _has_digit(text: str) -> bool:
    """``any(c.isdigit() for c in text)``, with ten passes in C for the ASCII digits first."""
    # ``map`` over C methods: no Python frame per character or digit.
    return any(map(text.__contains__, "0123456789")) or (
        not text.isascii() and any(map(str.isdigit, text))
    )


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and text[end - 1] in " \t\n,":
        end -= 1
    return start, end


def _drop_full_stop(text: str, start: int, end: int) -> int:
    """A sentence's full stop after a city name is not part of it ("St." and "19." keep theirs)."""
    if end - start > 1 and text[end - 1] == ".":
        word = text[start : end - 1].rsplit(None, 1)[-1]
        if len(word) > 3 and word.isalpha():
            return end - 1
    return end


def _extend(doc: EncodedText, end: int) -> tuple[int, bool]:
    """Extend over a unit and tail parts; True when a unit or a postal code was found."""
    # Byte offsets throughout, with the compiled programs' own Match (as ``EncodedText``):
    # the same calls as ``doc.match`` and ``_HAS_POSTAL.search(segment)``, without a
    # character-to-byte mapping or a new encoding of the segment at each step. Each call is
    # skipped where a necessary condition of its pattern fails (see ``_GAP``).
    data = doc.data
    stop = len(data)
    pos = doc.byte(end)
    evidence = False
    first = _skip_gap(data, pos, stop)
    if data[first : first + 2] in _UNIT_HEADS or data[first : first + 1] == b"#":
        spans = _UNIT_MATCH(_ANCHOR_START, data, pos, stop)
        if spans[0] != _NO_SPAN:
            pos, evidence = spans[0][1], True
            first = _skip_gap(data, pos, stop)
    for _ in range(_MAX_TAIL):
        # A segment is not empty and starts outside the gap: ``first`` is where it starts.
        if first == stop or (data[first] < 0x80 and data[first] not in _SEGMENT_FIRST):
            break
        spans = _TAIL_END_MATCH(_ANCHOR_START, data, pos, stop)
        if spans[0] == _NO_SPAN:
            break
        seg_start, seg_end = first, spans[0][1]
        # "Mobile: ...", "E-mail:": the next field. A label is at most 21 characters (4 bytes
        # each at most) and a colon, and a colon byte is never inside a multi-byte character.
        if data.find(b":", seg_start, seg_start + _LABEL_BYTES) >= 0 and (
            _LABEL_MATCH(_ANCHOR_START, data, seg_start, stop)[0] != _NO_SPAN
        ):
            break
        segment = data[seg_start:seg_end]
        # Every postal-code form has an ASCII digit (RE2's \d): no digit, no postal code.
        postal = len(segment.translate(None, _ASCII_DIGITS)) != len(segment) and (
            _HAS_POSTAL_MATCH(_UNANCHORED, segment, 0, len(segment))[0] != _NO_SPAN
        )
        # The part must end the line or the sentence; else it is the next sentence's words.
        if not postal and not _ends_part(data, seg_end, stop):
            break
        evidence = evidence or postal
        pos = seg_end
        first = _skip_gap(data, pos, stop)
    return doc.char(pos), evidence


def _ends_part(data: bytes, pos: int, stop: int) -> bool:
    """Whether ``_SEG_END`` matches at ``pos``: ``[ \t]*`` then a stop, a line break or the end.

    Written out because an RE2 call costs more, here, than the few bytes it reads. The same
    language: the blanks it skips are all of them (a blank is no stop), and without (?m) RE2's
    $ is the end of the text only.
    """
    while pos < stop and data[pos] in _BLANKS:
        pos += 1
    return pos == stop or data[pos] in _PART_ENDS


def _skip_gap(data: bytes, pos: int, stop: int) -> int:
    """The first offset from ``pos`` whose byte is not in ``_GAP`` (``stop`` if none)."""
    while pos < stop and data[pos] in _GAP:
        pos += 1
    return pos


def _keep(kind: str, core: str, word: str, text: str, start: int, end: int, evidence: bool) -> bool:
    """Whether a core (``word``: its suffix, ending or after-word group) makes an address.

    ``core``: the core's text from its first letter or digit, stripped.
    """
    if kind in ("pobox", "military", "corner"):
        return True
    if kind == "suffix":
        suffix = lower(word)
        number = core.split(" ", 1)[0].rstrip(",")
        if suffix in _WEAK or _fullmatch(_YEAR_MATCH, number):
            return evidence or _address_words(text, start)
        return True
    # Below, ``evidence or _address_words(...)`` comes last: the address-word test costs most.
    if kind == "ending":
        words = core.split()
        street = words[-2] if len(words) > 1 else core
        if street[:1].islower():  # "upgrade 2": lower-case streets only where an address is said
            return evidence or _address_words(text, start)
        return lower(word) not in _WEAK_ENDINGS or evidence or _address_words(text, start)
    if kind == "prefix":
        # Its house number is optional; the other kinds end with one (``_HOUSE``), which the
        # core keeps (it is stripped of blanks and of what precedes its first letter or digit).
        if not _has_digit(core):
            return False
        # "Via Tasso 129" stands alone; "via email 3 times" is a preposition and a count.
        return core[:1].isupper() or core[:1].isdigit() or evidence or _address_words(text, start)
    if kind == "after":
        return lower(word) not in _WEAK_AFTER or evidence or _address_words(text, start)
    # "bare": no street word at all, so a unit or postal code, or a phrase that introduces an
    # address right before it ("lives at", "the address is", "ship to")
    if evidence and end - start > len(core) + 3:
        return True
    window = text[max(0, start - 48) : start]
    # ``_INTRO`` ends with "is", "at", "on", "to", "in", "of", "address(es)", ":" or "-", then
    # blanks: where the last other character is none of those ends, it does not match.
    if window.rstrip(" \t")[-1:] not in _INTRO_LAST:
        return False
    data = window.encode()
    return bool(_INTRO_MATCH(_UNANCHORED, data, 0, len(data))[0] != _NO_SPAN)


def _address_words(text: str, start: int) -> bool:
    before = lower(text[max(0, start - 40) : start])
    # A word of the list is a substring of the text before: most candidates have none, and a
    # few substring tests cost less than splitting the text into words.
    if not any(w in before for w in _ADDRESS_WORDS):
        return False
    return not _ADDRESS_WORDS.isdisjoint(_WORDS.findall(before))
