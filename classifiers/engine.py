"""The detection engine: every declared detector run over a text, candidates validated and scored.

Regex detectors are compiled with RE2 (linear time, whatever the input) and, when it is
installed, into one Hyperscan database (``classifiers.multiscan``): a text is scanned once for
all patterns, and RE2 then runs only the patterns that occurred, to get exact spans and the
``value`` group. Validators, placeholder filters and context scoring follow. Phone numbers come
from libphonenumber and names from spaCy, loaded lazily and batched with ``nlp.pipe``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import re2

from classifiers.address import AddressFinder
from classifiers.filters import is_placeholder, shannon_entropy
from classifiers.multiscan import PatternScanner, make_scanner, re2_options, word_starts
from classifiers.ner import NameFinder
from classifiers.presidio import PresidioFinder
from classifiers.spec import DetectorSpec, Engine, PatternSpec, load_rule_files
from classifiers.validators import VALIDATORS, Validator
from models import Likelihood
from models.errors import DetectorDefinitionError

RULES_DIR = Path(__file__).with_name("rules")

PHONE_REGION = "US"
_VALID_CACHE_SIZE = 1 << 16
_RE2_OPTIONS = re2_options()


@dataclass(frozen=True, slots=True)
class RawMatch:
    """A validated candidate; holds the raw value, so it never leaves the worker as is.

    ``pattern``, ``context_words`` and ``steps`` are the decision trace (``classify --explain``):
    the regex (or engine) that proposed it, the context words seen near it, and how the score
    was reached.
    """

    spec: DetectorSpec
    start: int
    end: int
    score: float
    value: str
    context_hit: bool = False
    pattern: PatternSpec | None = None
    context_words: tuple[str, ...] = ()
    steps: tuple[tuple[str, float], ...] = ()

    @property
    def type(self) -> str:
        return self.spec.type

    @property
    def likelihood(self) -> Likelihood:
        return likelihood(self.score)


# Upper score bounds of each likelihood below VERY_LIKELY. The built-in rules put a bare
# structural match without a checksum at 0.5-0.7 (POSSIBLE/LIKELY), a checksum-validated or
# context-confirmed one at 0.85+ (VERY_LIKELY).
_LIKELIHOOD_BOUNDS = (
    (0.25, Likelihood.VERY_UNLIKELY),
    (0.45, Likelihood.UNLIKELY),
    (0.65, Likelihood.POSSIBLE),
    (0.85, Likelihood.LIKELY),
)


def likelihood(score: float) -> Likelihood:
    """The Cloud DLP likelihood bucket of a score in [0, 1]."""
    for bound, bucket in _LIKELIHOOD_BOUNDS:
        if score < bound:
            return bucket
    return Likelihood.VERY_LIKELY


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: DetectorSpec
    pattern: PatternSpec
    regex: Any
    value_group: int


@dataclass(frozen=True, slots=True)
class _Unique:
    """One distinct regex and every (detector, pattern) that declares it.

    Rule files share patterns (the date patterns serve DATE_TIME and DATE_OF_BIRTH): each
    distinct regex is scanned and searched once per text, and its spans go to all its users.
    """

    regex: Any
    value_group: int
    users: tuple[_Compiled, ...]
    # Per user: its context words when its spans are of no use without one of them near (None:
    # not gated); such spans are skipped before any other work. A regex all of whose users
    # require context is not even searched in a text that holds none of their words.
    gates: tuple[_Gate | None, ...]
    gated: bool


@dataclass(frozen=True, slots=True, eq=False)
class _Gate:
    """A detector's context words, in the folded form ``_words_near`` compares them in."""

    words: tuple[bytes, ...]  # one-word context words, searched as substrings
    phrases: Any  # RE2 program finding the phrases ("date of birth") in folded text, or None
    heads: frozenset[bytes]  # words that start or continue a phrase (all but its last)
    tails: frozenset[bytes]  # words that continue or end a phrase (all but its first)


class DetectorEngine:
    """Runs a fixed set of detectors. Build once per process; ``analyze`` is thread-compatible."""

    def __init__(
        self,
        specs: Sequence[DetectorSpec],
        validators: dict[str, Validator] | None = None,
        backend: str = "auto",
        cache_dir: Path | None = None,
    ) -> None:
        self.specs = list(specs)
        self._validators = VALIDATORS if validators is None else validators
        seen: set[str] = set()
        for spec in self.specs:
            if spec.id in seen:
                raise DetectorDefinitionError(f"detector id {spec.id!r} is declared twice")
            seen.add(spec.id)
            if spec.validator and spec.validator not in self._validators:
                raise DetectorDefinitionError(f"{spec.id}: unknown validator {spec.validator!r}")
        self._compiled = [c for spec in self.specs for c in _compile(spec)]
        self._unique = _unique(self._compiled)
        self._word_gates = _word_gates(self.specs)
        self._valid_cache: dict[tuple[str, str], bool] = {}
        self.backend = backend
        self.cache_dir = cache_dir
        self._scanner_cache: PatternScanner | None = None
        self._phone = [s for s in self.specs if s.engine is Engine.PHONENUMBERS]
        self.names = NameFinder([s for s in self.specs if s.engine is Engine.SPACY])
        self.presidio = PresidioFinder([s for s in self.specs if s.engine is Engine.PRESIDIO])
        self.addresses = AddressFinder([s for s in self.specs if s.engine is Engine.ADDRESS])

    @classmethod
    def builtin(
        cls,
        extra_rule_files: Iterable[Path] = (),
        backend: str = "auto",
        cache_dir: Path | None = None,
    ) -> DetectorEngine:
        """The built-in rule files plus any custom ones."""
        return cls(load_specs(extra_rule_files), backend=backend, cache_dir=cache_dir)

    @property
    def scanner(self) -> PatternScanner:
        """The multi-pattern scanner, built on first use (a Hyperscan build takes seconds)."""
        if self._scanner_cache is None:
            self._scanner_cache = make_scanner(
                [u.users[0].pattern.regex for u in self._unique],
                self.backend,
                self.cache_dir,
                probes=[
                    t for s in self.specs for t in (*s.examples.positive, *s.examples.negative)
                ],
            )
        return self._scanner_cache

    def __getstate__(self) -> dict[str, Any]:
        # Compiled databases, scratch space and the spaCy model are per process: rebuilt lazily.
        state = self.__dict__.copy()
        state.update(
            _scanner_cache=None, _compiled=None, _unique=None, _word_gates=None, _valid_cache={}
        )
        state.pop("by_id", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._compiled = [c for spec in self.specs for c in _compile(spec)]
        self._unique = _unique(self._compiled)
        self._word_gates = _word_gates(self.specs)

    @cached_property
    def by_id(self) -> dict[str, DetectorSpec]:
        return {s.id: s for s in self.specs}

    def analyze(self, text: str) -> list[RawMatch]:
        return self.analyze_batch([text])[0]

    def analyze_batch(self, texts: Sequence[str]) -> list[list[RawMatch]]:
        """Findings per text, overlaps resolved; names are found in one batched spaCy pass."""
        texts = [_encodable(t) for t in texts]
        results = [self._patterns(t) + self._phones(t) for t in texts]
        for i, matches in enumerate(self.names.find(texts, self._accept_entity)):
            results[i].extend(matches)
        for i, matches in enumerate(self.presidio.find(texts, self._accept_entity)):
            results[i].extend(matches)
        for i, matches in enumerate(self.addresses.find(texts, self._accept_entity)):
            results[i].extend(matches)
        return [_resolve_overlaps(r) for r in results]

    # -- regex --------------------------------------------------------------------------------

    def _patterns(self, text: str) -> list[RawMatch]:
        if not text:
            return []
        data = text.encode("utf-8")
        hits = self.scanner.scan(data)
        if not hits:  # most chunks of most files: nothing more to do
            return []
        ascii_text = len(data) == len(text)  # byte offsets are character offsets
        # Context gates work on the folded text, whose offsets are the text's only when ASCII.
        places = _Places(text, self.scanner.backend == "hyperscan") if ascii_text else None
        found: list[tuple[_Unique, list[tuple[int, int]]]] = []
        for index in hits:
            u = self._unique[index]
            if places is not None and u.gated and not any(places.of(g) for g in u.gates if g):
                # Every user requires a context word, and the text holds none of them.
                continue
            spans = [s for s in _spans(u.regex, data, u.value_group) if s[0] >= 0 and s[0] != s[1]]
            if spans:
                found.append((u, spans))
        if not found:
            return []
        chars = None
        if not ascii_text:
            chars = _char_offsets(text, data, [o for _, sp in found for s in sp for o in s])
        # Findings come out per regex, then per user, then per span: for any one span, users
        # keep their declared order, which is what overlap resolution breaks ties by.
        out: list[RawMatch] = []
        for u, spans in found:
            for c, gate in zip(u.users, u.gates, strict=True):
                todo = spans
                if gate is not None and places is not None:
                    # Requires a context word (or is outscored without one): spans with none in
                    # reach would be dropped by _accept or by overlap resolution.
                    todo = places.near_any(gate, spans, c.spec.context_window)
                for start, end in todo:
                    if chars is not None:
                        start, end = chars[start], chars[end]
                    match = self._accept(c.spec, c.pattern, text, start, end, places)
                    if match is not None:
                        out.append(match)
        return out

    def _valid(self, name: str, value: str) -> bool:
        # Logs and exports repeat the same values (dates, hosts, ids) thousands of times; the
        # validators are pure functions of the value, so each distinct value is checked once.
        key = (name, value)
        found = self._valid_cache.get(key)
        if found is None:
            if len(self._valid_cache) >= _VALID_CACHE_SIZE:
                self._valid_cache.clear()
            found = self._valid_cache[key] = bool(self._validators[name](value))
        return found

    def _accept(
        self,
        spec: DetectorSpec,
        pattern: PatternSpec | None,
        text: str,
        start: int,
        end: int,
        places: _Places | None = None,
    ) -> RawMatch | None:
        value = text[start:end]
        if len(value) < spec.min_length:
            return None
        if spec.min_entropy is not None and shannon_entropy(value) < spec.min_entropy:
            return None
        if spec.filter_placeholders and is_placeholder(value):
            return None
        check = spec.validator if pattern is None or pattern.use_validator else None
        failed = bool(check and not self._valid(check, value))
        if failed and spec.unverified_score is None:
            return None
        score = pattern.score if pattern and pattern.score is not None else spec.score
        steps: list[tuple[str, float]] = [("pattern" if pattern else "detector", score)]
        # Logs give thousands of candidates per chunk, most with no context word in reach: where
        # the text's word places (ASCII texts) say none can be seen, the window is not folded.
        gates = self._word_gates.get(spec.id) if places is not None else None
        window = spec.context_window
        if not spec.context or (
            gates is not None
            and places is not None
            and not places.could_see(gates[0], start, end, window)
        ):
            seen: tuple[str, ...] = ()
        else:
            seen = _words_near(text, start, end, spec.context, window)
        if pattern is not None and pattern.requires_context and not seen:
            return None
        if seen:
            score = min(1.0, score + spec.context_boost)
            steps.append((f"context +{spec.context_boost:g}", round(score, 3)))
        if (
            spec.negative_context
            and (gates is None or places is None or places.could_see(gates[1], start, end, window))
            and _words_near(text, start, end, spec.negative_context, window)
        ):
            return None
        if failed and spec.unverified_score is not None:  # kept, capped below the strict form
            score = min(score, spec.unverified_score)
            steps.append((f"validator {check} failed: unverified", round(score, 3)))
        return RawMatch(
            spec, start, end, round(score, 3), value, bool(seen), pattern, seen, tuple(steps)
        )

    def _accept_entity(
        self, spec: DetectorSpec, text: str, start: int, end: int
    ) -> RawMatch | None:
        return self._accept(spec, None, text, start, end)

    # -- phone numbers ------------------------------------------------------------------------

    def _phones(self, text: str) -> list[RawMatch]:
        if not self._phone or not _has_digits(text, 7) or not _phone_shaped(text):
            return []
        import phonenumbers

        # One default region: national numbers are read as US ones, and any number written
        # with its +country code is read in its own country. Trying several regions turns
        # short local numbers of some countries (German 4-5 digit ones) into false phones.
        # The matcher is the costly part: it runs once, whatever the number of phone detectors.
        spans = [
            (m.start, m.end)
            for m in phonenumbers.PhoneNumberMatcher(
                text, PHONE_REGION, leniency=phonenumbers.Leniency.VALID
            )
        ]
        out: list[RawMatch] = []
        for spec in self._phone:
            for start, end in spans:
                found = self._accept(spec, None, text, start, end)
                if found is not None:
                    out.append(found)
        return out


def _has_digits(text: str, least: int) -> bool:
    """Whether ``text`` has ``least`` digits (``str.isdigit``, as libphonenumber reads them)."""
    # Ten passes in C over the text instead of a Python test per character; other scripts'
    # digits are counted one by one only when the ASCII ones are not enough.
    if sum(map(text.count, "0123456789")) >= least:
        return True
    return not text.isascii() and sum(c.isdigit() for c in text) >= least


_phone_run: Any = None


def _phone_shaped(text: str) -> bool:
    """Whether ``text`` has a run of digits long enough to hold a valid phone number.

    libphonenumber's matcher spends most of its time proving that digit groups (dates, ids,
    amounts) are not valid numbers; on pii-dev nine texts in ten that reach it hold no phone.
    A valid number has at least as many digits as the shortest country code plus the shortest
    national number in its metadata (6 in phonenumbers 9.0), and the matcher's candidates are
    digits separated by punctuation and spaces, never by letters other than "x". So a text
    without such a run of digits (letters but x ending a run; any other character, newlines
    included, kept in it: a superset) has no number for the matcher to find.
    """
    global _phone_run
    if _phone_run is None:
        import phonenumbers
        from phonenumbers import PhoneMetadata as Meta
        from phonenumbers.phonenumberutil import (
            COUNTRY_CODES_FOR_NON_GEO_REGIONS,
            SUPPORTED_REGIONS,
        )

        metas = [
            (phonenumbers.country_code_for_region(region), Meta.metadata_for_region(region))
            for region in SUPPORTED_REGIONS
        ]
        metas += [
            (code, Meta.metadata_for_nongeo_region(code))
            for code in COUNTRY_CODES_FOR_NON_GEO_REGIONS
        ]
        least = 1  # metadata missing: no prefilter
        shortest = []
        for code, meta in metas:
            desc = meta.general_desc if meta is not None else None
            lengths = [n for n in (desc.possible_length if desc is not None else ()) if n > 0]
            shortest.append(len(str(code)) + min(lengths, default=1))
        least = max(least, min(shortest, default=1))
        _phone_run = re2.compile(rf"(?:\p{{Nd}}[^a-wyzA-WYZ\p{{Nd}}]*){{{least}}}")
    return _phone_run.search(text) is not None


def _compile(spec: DetectorSpec) -> list[_Compiled]:
    compiled: list[_Compiled] = []
    for pattern in spec.patterns:
        try:
            regex = re2.compile(pattern.regex, _RE2_OPTIONS)
        except re2.error as exc:
            raise DetectorDefinitionError(
                f"{spec.id}: pattern is not valid RE2 syntax ({exc}): {pattern.regex}"
            ) from exc
        group = regex.groupindex.get("value", 0)
        compiled.append(_Compiled(spec, pattern, regex, group))
    return compiled


_UNANCHORED = re2._Anchor.UNANCHORED
_NO_MATCH = (-1, -1)


def _spans(regex: Any, data: bytes, group: int) -> Iterator[tuple[int, int]]:
    """The span of ``group`` in each match of ``regex.finditer(data)``, in the same order.

    google-re2's ``finditer`` builds a Python match object per match; logs give thousands of
    matches per chunk, so this loop calls the compiled program directly (the same loop as the
    wrapper's for bytes, google-re2 pinned in pyproject.toml; tests compare the two).
    """
    match = regex._regexp.Match
    pos, stop = 0, len(data)
    while True:
        spans = match(_UNANCHORED, data, pos, stop)
        whole = spans[0]
        if whole == _NO_MATCH:
            return
        yield spans[group]
        if pos == stop:
            return
        pos = pos + 1 if pos == whole[1] else whole[1]


def _starts(regex: Any, data: bytes, limit: int = -1) -> list[int]:
    """Every offset where a match of ``regex`` starts, overlapping ones included.

    ``finditer`` resumes after each match, so a phrase that starts inside another one found
    first ("date of birth date") would be missed; a gate must not miss any.
    """
    match = regex._regexp.Match
    pos, stop = 0, len(data)
    found: list[int] = []
    while pos <= stop and len(found) != limit:
        start = match(_UNANCHORED, data, pos, stop)[0][0]
        if start < 0:
            break
        found.append(start)
        pos = start + 1
    return found


def _unique(compiled: Sequence[_Compiled]) -> list[_Unique]:
    users: dict[str, list[_Compiled]] = {}
    for c in compiled:
        users.setdefault(c.pattern.regex, []).append(c)
    out: list[_Unique] = []
    for group in users.values():
        gates = tuple(_gate(c, group) for c in group)
        gated = all(c.pattern.requires_context for c in group) and None not in gates
        out.append(_Unique(group[0].regex, group[0].value_group, tuple(group), gates, gated))
    return out


def _gate(c: _Compiled, group: Sequence[_Compiled]) -> _Gate | None:
    needs_context = c.pattern.requires_context or any(_shadows(a, c) for a in group if a is not c)
    if not needs_context:
        return None
    return _words_gate(c.spec.context)


def _word_gates(specs: Sequence[DetectorSpec]) -> dict[str, tuple[_Gate, _Gate]]:
    """Per detector with context or negative context words: the gates of both word lists.

    A detector missing here (a word without letters or digits) folds every window.
    """
    out: dict[str, tuple[_Gate, _Gate]] = {}
    for spec in specs:
        if not spec.context and not spec.negative_context:
            continue
        context = _words_gate(spec.context) if spec.context else _NO_WORDS
        negative = _words_gate(spec.negative_context) if spec.negative_context else _NO_WORDS
        if context is not None and negative is not None:
            out[spec.id] = (context, negative)
    return out


def _words_gate(context: Sequence[str]) -> _Gate | None:
    """The gate of these context words; None when one has no letters or digits."""
    folded = [_fold(w).split() for w in context]
    if not folded or not all(folded):
        return None  # a context word without letters or digits: no cheap test, keep all
    words = tuple(sorted({w[0] for w in folded if len(w) == 1}))
    phrases = [w for w in folded if len(w) > 1]
    program = None
    if phrases:
        alternatives = (" +".join(re2.escape(t.decode()) for t in w) for w in phrases)
        program = re2.compile("|".join(alternatives), _RE2_OPTIONS)
    heads = frozenset(t for w in phrases for t in w[:-1])
    tails = frozenset(t for w in phrases for t in w[1:])
    return _Gate(words, program, heads, tails)


_NO_WORDS = _Gate((), None, frozenset(), frozenset())


def _base_score(c: _Compiled) -> float:
    return c.pattern.score if c.pattern.score is not None else c.spec.score


def _shadows(a: _Compiled, b: _Compiled) -> bool:
    """Whether ``a`` (same regex) outscores ``b`` on every span ``b`` accepts without context.

    Then ``b`` matters only where its context words are near (its score goes up): elsewhere
    ``a`` accepts the same span with a higher score and overlap resolution drops ``b``. The
    date patterns are the case: DATE_TIME (0.6) shadows DATE_OF_BIRTH (0.5, 0.85 near "born").
    """
    sa, sb = a.spec, b.spec
    check_a = sa.validator if a.pattern.use_validator else None
    check_b = sb.validator if b.pattern.use_validator else None
    return (
        not a.pattern.requires_context
        and not sa.negative_context
        and check_a in (None, check_b)
        and sa.unverified_score is None
        and sb.unverified_score is None
        and sa.min_length <= sb.min_length
        and (sa.min_entropy is None or (sb.min_entropy or 0.0) >= sa.min_entropy)
        and (not sa.filter_placeholders or sb.filter_placeholders)
        and round(_base_score(a), 3) > round(_base_score(b), 3)
    )


def _encodable(text: str) -> str:
    """Lone surrogates (from a bad decode upstream) become "?": RE2 and Hyperscan take UTF-8."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _char_offsets(text: str, data: bytes, offsets: Iterable[int]) -> dict[int, int]:
    """Map UTF-8 byte offsets (at character boundaries) to ``str`` offsets in one pass."""
    if len(data) == len(text):  # ASCII: bytes and characters coincide
        return {o: o for o in offsets}
    found: dict[int, int] = {}
    last_byte = last_char = 0
    for offset in sorted(set(offsets)):
        last_char += len(data[last_byte:offset].decode("utf-8"))
        last_byte = offset
        found[offset] = last_char
    return found


# Context words are compared as runs of ASCII lower-case letters and digits: the text around a
# match is case-folded and every other character separates words. This is done with
# bytes.translate (one table lookup per byte) on a copy of the text folded once, instead of a
# regex per match: logs give thousands of candidates per chunk, and a regex call per candidate
# was most of the time spent on them.
_FOLD = bytes(c if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256))


def _fold(text: str) -> bytes:
    """``text`` case-folded, with every character but ``[a-z0-9]`` turned into a space."""
    return text.lower().encode("ascii", "replace").translate(_FOLD)


# The last ASCII text folded whole, as (text, folded): one tuple, swapped atomically, so
# threads sharing an engine at worst fold a text twice.
_last_folded: tuple[str, bytes] = ("", b"")


def _folded_ascii(text: str) -> bytes:
    global _last_folded
    last = _last_folded
    if last[0] is not text:
        last = _last_folded = (text, _fold(text))
    return last[1]


class _Places:
    """Where context words occur in an ASCII text (folded), to skip spans that need one.

    ``_words_near`` sees a word when it is in the folded text on either side of the span,
    within the window, or, for a phrase, split across the span ("date <span> of birth": the two
    sides are joined by a space). So a span with no context word starting inside
    ``[start - window, end + window)``, and no phrase that could be split across it, cannot
    have its context seen: this test only skips work that would be thrown away.
    """

    __slots__ = ("_found", "hyperscan", "text")

    def __init__(self, text: str, hyperscan: bool = False) -> None:
        self.text = text
        self.hyperscan = hyperscan  # find the words with Hyperscan (else bytes.find)
        self._found: dict[_Gate, list[int]] = {}

    def of(self, gate: _Gate) -> list[int]:
        """Sorted offsets of every occurrence of the gate's words and phrases."""
        found = self._found.get(gate)
        if found is None:
            folded = _folded_ascii(self.text)
            found = word_starts(gate.words, folded, self.hyperscan)
            if gate.phrases is not None:
                found.extend(_starts(gate.phrases, folded))
                found.sort()
            self._found[gate] = found
        return found

    def near_any(
        self, gate: _Gate, spans: list[tuple[int, int]], window: int
    ) -> list[tuple[int, int]]:
        """The spans that ``near`` keeps (the common test inlined: thousands per chunk)."""
        found = self.of(gate)
        if not found and not gate.heads:
            return []
        keep = _near_mask(found, spans, window)
        if gate.heads:  # a phrase split across the span ("date <span> of birth")?
            for i, (start, end) in enumerate(spans):
                if not keep[i] and self.near(gate, start, end, window):
                    keep[i] = 1
        return [span for span, k in zip(spans, keep, strict=True) if k]

    def could_see(self, gate: _Gate, start: int, end: int, window: int) -> bool:
        """False when ``_words_near`` cannot see any of the gate's words around the span.

        Looks only at the folded text from ``start - window`` to ``end + window``, where every
        word or phrase ``_words_near`` sees lies (but for a phrase split across the span,
        tested as in ``near``): for one candidate, a few substring tests on a short slice cost
        less than finding each word in the whole text, as ``of`` does for many candidates.
        """
        folded = _folded_ascii(self.text)
        region = folded[max(0, start - window) : end + window]
        if any(w in region for w in gate.words):
            return True
        if gate.phrases is not None and _starts(gate.phrases, region, 1):
            return True
        if not gate.heads:
            return False
        before = folded[max(0, start - window) : start].rsplit(None, 1)[-1:]
        after = folded[end : end + window].split(None, 1)[:1]
        return bool(before and after and before[0] in gate.heads and after[0] in gate.tails)

    def near(self, gate: _Gate, start: int, end: int, window: int) -> bool:
        found = self.of(gate)
        i = bisect_left(found, start - window)
        if i < len(found) and found[i] < end + window:
            return True
        if not gate.heads:
            return False
        folded = _folded_ascii(self.text)  # a phrase split across the span?
        before = folded[max(0, start - window) : start].rsplit(None, 1)[-1:]
        after = folded[end : end + window].split(None, 1)[:1]
        return bool(before and after and before[0] in gate.heads and after[0] in gate.tails)


def _near_mask(found: list[int], spans: list[tuple[int, int]], window: int) -> bytearray:
    """Per span, 1 when a word starts in ``[start - window, end + window)``.

    ``spans`` come from one ``finditer``: sorted, not overlapping, so their ends are sorted
    too. When words are fewer than spans (phone-shaped numbers in logs), each word marks the
    range of spans in its reach (ending after ``f - window``, starting at or before
    ``f + window``); else each span looks for the first word at or after its window's start.
    """
    keep = bytearray(len(spans))
    if not found:
        return keep
    if len(found) < len(spans):
        starts = [s for s, _ in spans]
        ends = [e for _, e in spans]
        for f in found:
            for i in range(bisect_right(ends, f - window), bisect_right(starts, f + window)):
                keep[i] = 1
        return keep
    count = len(found)
    for i, (start, end) in enumerate(spans):
        j = bisect_left(found, start - window)
        if j < count and found[j] < end + window:
            keep[i] = 1
    return keep


def _words_near(
    text: str, start: int, end: int, words: Sequence[str], window: int
) -> tuple[str, ...]:
    """The context words (as declared) found within ``window`` characters of the match."""
    if not words:
        return ()
    if text.isascii():  # folding keeps offsets: fold the whole text once, then slice it
        folded = _folded_ascii(text)
        around = folded[max(0, start - window) : start] + b" " + folded[end : end + window]
    else:  # lower() changes the length of a few characters: fold each window on its own
        around = _fold(text[max(0, start - window) : start] + " " + text[end : end + window])
    normalized = b" " + b" ".join(around.split()) + b" "
    return tuple(
        w for w, n in zip(words, _normalized_words(tuple(words)), strict=True) if n in normalized
    )


_norm_cache: dict[tuple[str, ...], tuple[bytes, ...]] = {}


def _normalized_words(words: tuple[str, ...]) -> tuple[bytes, ...]:
    """Each word folded as the text is, a space each side: b" date of birth "."""
    found = _norm_cache.get(words)
    if found is None:
        found = tuple(b" " + b" ".join(_fold(w).split()) + b" " for w in words)
        _norm_cache[words] = found
    return found


def _resolve_overlaps(matches: list[RawMatch]) -> list[RawMatch]:
    """Keep the strongest of overlapping findings (score, then the longer span).

    Kept spans never overlap, so sorted by start they are sorted by end too: the only kept span
    that can overlap a candidate is the last one that starts before the candidate ends.
    """
    if len(matches) < 2:
        return matches
    starts: list[int] = []
    kept: list[RawMatch] = []
    for m in sorted(matches, key=lambda m: (-m.score, -(m.end - m.start), m.start)):
        i = bisect_left(starts, m.end)
        if i and kept[i - 1].end > m.start:
            continue
        starts.insert(i, m.start)
        kept.insert(i, m)
    return kept


def load_specs(extra_rule_files: Iterable[Path] = ()) -> list[DetectorSpec]:
    return load_rule_files([*sorted(RULES_DIR.glob("*.yaml")), *extra_rule_files])
