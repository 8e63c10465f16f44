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
from typing import TYPE_CHECKING, Any

import re2

from classifiers.multiscan import EncodedText
from classifiers.spec import DetectorSpec

if TYPE_CHECKING:
    from classifiers.engine import RawMatch

Accept = Callable[[DetectorSpec, str, int, int], "RawMatch | None"]


def _alt(words: Iterable[str], cases: bool = True) -> str:
    """An RE2 alternation of the words as written, lower-cased and upper-cased."""
    variants: set[str] = set()
    for w in words:
        variants.update((w, w.lower(), w.upper()) if cases else (w,))
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
# The named group each kind's _keep reads (its index in the compiled program; 0: none).
_CORE_GROUPS = {
    kind: next(
        (regex.groupindex[g] for g in ("suffix", "ending", "after") if g in regex.groupindex), 0
    )
    for kind, regex in _CORES
}
_WEAK = frozenset(w.lower() for w in WEAK_SUFFIXES) - {s.lower() for s in STRONG_SUFFIXES}
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
_TAIL = re2.compile(
    rf"(?:[ \t]*(?:\n[ \t>|?]*)?(?:,[ \t]*(?:\n[ \t>|?]*)?)?)(?P<seg>{_SEGMENT})", _LONGEST
)
# A tail that ends at a line end or sentence end: capitalised words are only a city when
# nothing but punctuation follows them on the line.
_SEG_END = re2.compile(r"[ \t]*(?:[.!?;:,)]|$|\n)")
_HAS_POSTAL = re2.compile(rf"(?:^|[ ,]){_POSTAL}")
_LABEL = re2.compile(r"\p{L}[\p{L} -]{0,20}:")
_MAX_TAIL = 5
_INTRO = re2.compile(
    r"(?i)(?:\baddress(?:es)?\b[ \t]*(?:is|:|-)?[ \t]*|\b(?:address(?:es)?|lives?|lived|living|"
    r"located|resides?|ship|send|sent|deliver|drops? (?:you |me )?off|moved|return|station|"
    r"enter|offices?|restaurant|shop|store|hotel)\b[^.\n]{0,24}\b(?:at|on|to|is|in|of)"
    r"[ \t]*:?[ \t]*)$"
)
_WORDS = re2.compile(r"\p{L}+")
_ADDRESS_WORDS = frozenset(ADDRESS_WORDS)


class AddressFinder:
    """Runs the address detectors (``engine: address``) over texts."""

    def __init__(self, specs: Sequence[DetectorSpec]) -> None:
        self.specs = list(specs)

    def __getstate__(self) -> dict[str, Any]:
        return {"specs": self.specs}

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
    candidates: list[tuple[int, int]] = []
    # Cores of several kinds often end at the same place ("6750 Koskikatu 25" as a street
    # word with an ending and as a bare name and number): their tails are the same.
    tails: dict[int, tuple[int, bool]] = {}
    for kind, regex in _CORES:
        group = _CORE_GROUPS[kind]
        for spans in doc.finditer(regex):
            start, end = doc.chars(spans[0])
            if start == end:
                continue
            core = text[start:end]
            word = ""
            if group and spans[group] != _NO_SPAN:
                word_start, word_end = doc.chars(spans[group])
                word = text[word_start:word_end]
            start, end = _strip(text, start, end)
            tail = tails.get(end)
            if tail is None:
                tail = tails[end] = _extend(doc, end)
            end, evidence = tail
            end = _drop_full_stop(text, start, end)
            if _keep(kind, core, word, text, start, end, evidence):
                candidates.append((start, end))
    kept: list[tuple[int, int]] = []
    for start, end in sorted(candidates, key=lambda s: (s[0] - s[1], s[0])):
        if all(end <= a or start >= b for a, b in kept):
            kept.append((start, end))
    return sorted(kept)


def _has_digit(text: str) -> bool:
    """``any(c.isdigit() for c in text)``, with ten passes in C for the ASCII digits first."""
    return any(d in text for d in "0123456789") or (
        not text.isascii() and any(c.isdigit() for c in text)
    )


_NO_SPAN = (-1, -1)


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
    evidence = False
    m = doc.match(_UNIT, end)
    if m is not None:
        end, evidence = doc.char(m[0][1]), True
    for _ in range(_MAX_TAIL):
        m = doc.match(_TAIL, end)
        if m is None:
            break
        seg_start, seg_end = doc.chars(m[1])
        if doc.match(_LABEL, seg_start):  # "Mobile: ...", "E-mail:": the next field
            break
        seg = doc.text[seg_start:seg_end]
        # The part must end the line or the sentence; else it is the next sentence's words.
        tail_end = doc.char(m[0][1])
        if not doc.match(_SEG_END, tail_end) and _HAS_POSTAL.search(seg) is None:
            break
        if _HAS_POSTAL.search(seg):
            evidence = True
        end = tail_end
    return end, evidence


def _keep(kind: str, core: str, word: str, text: str, start: int, end: int, evidence: bool) -> bool:
    """Whether a core (``word``: its suffix, ending or after-word group) makes an address."""
    core = core[next((i for i, c in enumerate(core) if c.isalnum()), 0) :].strip()
    if kind in ("pobox", "military", "corner"):
        return True
    if kind == "suffix":
        suffix = word.lower()
        number = core.split(" ", 1)[0].rstrip(",")
        if suffix in _WEAK or _YEAR.fullmatch(number):
            return evidence or _address_words(text, start)
        return True
    if not any(c.isdigit() for c in core):
        return False

    def strong() -> bool:  # evaluated last: the address-word test costs the most
        return evidence or _address_words(text, start)

    if kind == "ending":
        street = core.split()[-2] if len(core.split()) > 1 else core
        if street[:1].islower():  # "upgrade 2": lower-case streets only where an address is said
            return strong()
        return word.lower() not in _WEAK_ENDINGS or strong()
    if kind == "prefix":
        # "Via Tasso 129" stands alone; "via email 3 times" is a preposition and a count.
        return core[:1].isupper() or core[:1].isdigit() or strong()
    if kind == "after":
        return word.lower() not in _WEAK_AFTER or strong()
    # "bare": no street word at all, so a unit or postal code, or a phrase that introduces an
    # address right before it ("lives at", "the address is", "ship to")
    return (evidence and end - start > len(core) + 3) or _INTRO.search(
        text[max(0, start - 48) : start]
    ) is not None


def _address_words(text: str, start: int) -> bool:
    before = text[max(0, start - 40) : start].lower()
    # A word of the list is a substring of the text before: most candidates have none, and a
    # few substring tests cost less than splitting the text into words.
    if not any(w in before for w in _ADDRESS_WORDS):
        return False
    return not _ADDRESS_WORDS.isdisjoint(_WORDS.findall(before))
