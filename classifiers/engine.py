"""The detection engine: every declared detector run over a text, candidates validated and scored.

Regex detectors are compiled with RE2 (linear time, whatever the input) and, when it is
installed, into one Hyperscan database (``classifiers.multiscan``): a text is scanned once for
all patterns, and RE2 then runs only the patterns that occurred, to get exact spans and the
``value`` group. Validators, placeholder filters and context scoring follow. Phone numbers come
from libphonenumber and names from spaCy, loaded lazily and batched with ``nlp.pipe``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from operator import attrgetter
from pathlib import Path
from typing import Any

import re2

from classifiers.address import AddressFinder
from classifiers.filters import is_placeholder, shannon_entropy
from classifiers.multiscan import (
    SHORT_TEXT,
    PatternScanner,
    Re2Sets,
    char_offsets,
    make_scanner,
    python_parse,
    re2_options,
    word_starts,
)
from classifiers.native import lower
from classifiers.ner import NameFinder
from classifiers.phones import find_shaped as find_phones
from classifiers.presidio import PresidioFinder
from classifiers.spec import RULES_DIR, DetectorSpec, Engine, PatternSpec, load_rule_files
from classifiers.validators import UNMEMOISED, VALIDATORS, Validator
from models import Likelihood
from models.errors import DetectorDefinitionError

_VALID_CACHE_SIZE = 1 << 15  # values remembered per validator
_RE2_OPTIONS = re2_options()


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made
# building one ~2 us instead of ~0.3 us, and logs give tens of thousands per megabyte. Nothing
# changes a match after it is built (``dataclasses.replace`` makes a new one); it still hashes
# by value, as a frozen one did.
@dataclass(slots=True, unsafe_hash=True)
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
    acceptor: _Acceptor


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
    # For a regex whose every user keeps only spans with a context word near (and no phrase
    # that can be split around a span): how far a match can reach, and where it cannot be
    # (see ``_reach``). Long texts are then searched only around their context words.
    reach: _Reach | None = None


@dataclass(frozen=True, slots=True, eq=False)
class _Gate:
    """A detector's context words, in the folded form ``_seen`` compares them in."""

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
        self._acceptors: dict[tuple[str, int], _Acceptor] = {}  # for other engines' candidates
        # Per validator: value -> result, and the check that reads and fills that memo.
        self._valid_cache: dict[str, dict[str, bool]] = {}
        self._validities: dict[str, Callable[[str], bool]] = {}
        self.backend = backend
        self.cache_dir = cache_dir
        self._scanner_cache: PatternScanner | None = None
        self._wakers_cache: tuple[PatternScanner, list[list[int]], Re2Sets] | None = None
        self._phone = [s for s in self.specs if s.engine is Engine.PHONENUMBERS]
        # The highest score a phone finding can have (with a context word near it), rounded as
        # findings' scores are: a finding above it always wins an overlap with a phone.
        self._phone_ceiling = max(
            (
                round(min(1.0, s.score + (s.context_boost if s.context else 0.0)), 3)
                for s in self._phone
            ),
            default=1.0,
        )
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
                deferred=[i for i, u in enumerate(self._unique) if u.gated],
            )
        return self._scanner_cache

    @property
    def _wakers(self) -> tuple[PatternScanner, list[list[int]], Re2Sets]:
        """The scanner's deferred patterns' context words, the patterns each one wakes, and
        RE2 sets of the deferred patterns.

        One Hyperscan pass over a folded text says which words and phrases (single match: at
        most one report each) occur in it: the patterns of the detectors they belong to are
        searched, as a gated pattern is (``_Unique.gated``) when any of its words occurs. Short
        words ("ss", "sv") occur in most texts: when some pattern is woken, one pass of the
        sets says which deferred patterns occur at all (a few RE2 sets of them cost less than
        a search of each woken one, or than Hyperscan scanning for them in every text).
        """
        if self._wakers_cache is None:
            wakes: dict[str, set[int]] = {}
            for index in sorted(self.scanner.deferred):
                for gate in filter(None, self._unique[index].gates):  # gated: all have words
                    words = [w.decode() for w in gate.words]
                    for regex in [*words, *([gate.phrases.pattern] if gate.phrases else [])]:
                        wakes.setdefault(regex, set()).add(index)
            # Folded words are [a-z0-9] runs and phrases their escaped runs: valid patterns.
            finder = make_scanner(list(wakes), "hyperscan", self.cache_dir)
            deferred = [(i, self._unique[i].users[0].pattern.regex) for i in self.scanner.deferred]
            sets = Re2Sets(sorted(deferred))
            self._wakers_cache = (finder, [sorted(w) for w in wakes.values()], sets)
        return self._wakers_cache

    def __reduce__(self) -> tuple[Any, ...]:
        # Compiled databases, scratch space, caches and the spaCy model are per process: a
        # process that receives the engine builds it again from its specs (the finders of
        # other engines carry their own state). Not ``__dict__``: a compiled class has none.
        return (
            DetectorEngine,
            (self.specs, self._validators, self.backend, self.cache_dir),
            (self.names, self.presidio, self.addresses),
        )

    def __setstate__(self, state: tuple[NameFinder, PresidioFinder, AddressFinder]) -> None:
        self.names, self.presidio, self.addresses = state

    def analyze(self, text: str) -> list[RawMatch]:
        return self.analyze_batch([text])[0]

    def analyze_batch(self, texts: Sequence[str]) -> list[list[RawMatch]]:
        """Findings per text, overlaps resolved; names are found in one batched spaCy pass."""
        texts = [_encodable(t) for t in texts]
        # Stage by stage over the batch, each in one tight loop: a stage's automata and tables
        # (the Hyperscan database, a DFA of ~90 patterns, libphonenumber's metadata) stay in
        # the CPU's caches, where the other stages' steps in between evicted them. First every
        # text's pattern scan, then the work on what it found, then phone numbers.
        scanned = [self._scan(text) for text in texts]
        found = [self._patterns(text, scan) for text, scan in zip(texts, scanned, strict=True)]
        results = [m + self._phones(t, m) for t, m in zip(texts, found, strict=True)]
        # Addresses first: a capitalised word inside one is a street or a town of it, which
        # the name model need not judge on its own.
        addresses = self.addresses.find(texts, self._accept_entity)
        claimed = [sorted({(m.start, m.end) for m in matches}) for matches in addresses]
        for i, matches in enumerate(self.names.find(texts, self._accept_entity, claimed)):
            results[i].extend(matches)
        for i, matches in enumerate(self.presidio.find(texts, self._accept_entity)):
            results[i].extend(matches)
        for i, matches in enumerate(addresses):
            results[i].extend(matches)
        return [_resolve_overlaps(r) for r in results]

    # -- regex --------------------------------------------------------------------------------

    def _scan(self, text: str) -> tuple[bytes, list[int]]:
        """The text's UTF-8 bytes and the patterns that occur in them (``scanner.scan``)."""
        data = text.encode("utf-8")
        # Short texts (form fields, messages) hold few candidates: the scanner searches them for
        # their deferred patterns too (the word gate of ``_patterns`` decides), without the word
        # pass (a Hyperscan call costs a few microseconds whatever the length).
        return data, self.scanner.scan(data, with_deferred=len(data) < SHORT_TEXT)

    def _patterns(
        self, text: str, scanned: tuple[bytes, list[int]] | None = None
    ) -> list[RawMatch]:
        """The pattern findings of ``text``; ``scanned``: its ``_scan``, when already done."""
        if not text:
            return []
        data, hits = scanned or self._scan(text)
        scanner = self.scanner
        # Short texts: each candidate's window is folded without finding the words first.
        short = len(data) < SHORT_TEXT
        ascii_text = len(data) == len(text)  # byte offsets are character offsets
        woken: set[int] = set()  # deferred patterns that occur, with a context word of theirs
        if ascii_text and scanner.deferred and not short:
            finder, wakes, sets = self._wakers_cache or self._wakers
            woken = {i for k in finder.scan(_folded_ascii(text)) for i in wakes[k]}
            if woken:
                woken.intersection_update(sets.hits(data))
                hits = sorted({*hits, *woken})
        if not hits:  # most chunks of most files: nothing more to do
            return []
        # Context gates work on the folded text, whose offsets are the text's only when ASCII.
        places = _Places(text, self.scanner.backend == "hyperscan") if ascii_text else None
        word_places = None if short else places
        found: list[tuple[_Unique, list[tuple[int, int]]]] = []
        for index in hits:
            u = self._unique[index]
            if (
                places is not None
                and u.gated
                and index not in woken
                and not any(places.of(g) for g in u.gates if g)
            ):
                # Every user requires a context word, and the text holds none of them.
                continue
            regions = None
            if u.reach is not None and word_places is not None:
                # Only the spans near a context word are of use: search around the words.
                regions = word_places.regions(u.reach, u.gates, data)
            spans = [
                s
                for s in _spans(u.regex, data, u.value_group, regions)
                if s[0] >= 0 and s[0] != s[1]
            ]
            if spans:
                found.append((u, spans))
        if not found:
            return []
        chars = None
        if not ascii_text:
            chars = char_offsets(text, data, [o for _, sp in found for s in sp for o in s])
        # Findings come out per regex, then per user, then per span: for any one span, users
        # keep their declared order, which is what overlap resolution breaks ties by.
        out: list[RawMatch] = []
        for u, spans in found:
            for c, gate in zip(u.users, u.gates, strict=True):
                todo = spans
                if gate is not None and places is not None:
                    # Requires a context word (or is outscored without one): spans with none in
                    # reach would be dropped by the acceptor or by overlap resolution.
                    todo = places.near_any(gate, spans, c.spec.context_window)
                if chars is not None:
                    todo = [(chars[start], chars[end]) for start, end in todo]
                if todo:
                    out.extend(c.acceptor.accept(text, todo, word_places, self._validity))
        return out

    def clear_caches(self) -> None:
        """Forget per-value results (validators, the name rules' word tests).

        They pay off on values a scan meets again (timestamps, hosts, names in logs); a
        benchmark that passes over the same texts more than once clears them first, so that
        every pass is timed as the first one is.
        """
        for memo in self._valid_cache.values():
            memo.clear()
        self.names.clear_caches()

    def _validity(self, name: str) -> Callable[[str], bool]:
        """The validator ``name`` as the acceptors call it, once per batch of candidates.

        Logs and exports repeat the same values (hosts, ids, card numbers) thousands of times;
        the validators are pure functions of the value, so each distinct value is checked
        once: one bounded memo per validator, keyed by the value. Validators that cost about
        what the memo costs (``validators.UNMEMOISED``) are called directly.
        """
        found = self._validities.get(name)
        if found is None:
            validator = self._validators[name]
            if name in UNMEMOISED and validator is VALIDATORS.get(name):
                found = self._validities[name] = validator  # they return a bool
                return found
            memo = self._valid_cache.setdefault(name, {})

            def found(value: str) -> bool:
                result = memo.get(value)
                if result is None:
                    if len(memo) >= _VALID_CACHE_SIZE:
                        memo.clear()
                    result = memo[value] = bool(validator(value))
                return result

            self._validities[name] = found
        return found

    def _accept(
        self, spec: DetectorSpec, pattern: PatternSpec | None, text: str, start: int, end: int
    ) -> RawMatch | None:
        """One candidate (``pattern``: the regex that found it; None: found by another engine)."""
        key = (spec.id, id(pattern))  # the acceptor holds the pattern: its id is not reused
        acceptor = self._acceptors.get(key)
        if acceptor is None:
            acceptor = self._acceptors[key] = _Acceptor(spec, pattern)
        found = acceptor.accept(text, [(start, end)], None, self._validity)
        return found[0] if found else None

    def _accept_entity(
        self, spec: DetectorSpec, text: str, start: int, end: int
    ) -> RawMatch | None:
        return self._accept(spec, None, text, start, end)

    # -- phone numbers ------------------------------------------------------------------------

    def _phones(self, text: str, found: Sequence[RawMatch] = ()) -> list[RawMatch]:
        if not self._phone or not _has_digits(text, 7):
            return []
        # Digits that a pattern finding already holds, scored above anything a phone finding
        # can reach (a validated card, IBAN or SSN), would lose to it in overlap resolution:
        # the matcher gets them as blanks (same offsets) and most such texts skip it.
        claimed = [m for m in found if m.score > self._phone_ceiling and m.end > m.start]
        searched = _blank(text, claimed) if claimed else text
        # The matcher is the costly part: it runs once, whatever the number of phone detectors,
        # and only on a ``phone_shaped`` text.
        spans = find_phones(searched)
        out: list[RawMatch] = []
        for spec in self._phone:
            for start, end in spans:
                match = self._accept(spec, None, text, start, end)
                if match is not None:
                    out.append(match)
        return out


class _Acceptor:
    """``_accept`` for one (detector, pattern): what depends on them alone is worked out once.

    Logs give tens of thousands of candidates per megabyte (timestamps, addresses), nearly all
    of them kept: per candidate only its value, validity and context words are left to find.
    The scores and decision traces of the four outcomes (context seen or not, validator passed
    or failed) are computed here, once, with the same arithmetic as a per-candidate pass.
    """

    __slots__ = (
        "check",
        "context",
        "gates",
        "keep_failed",
        "min_entropy",
        "min_length",
        "negative",
        "outcomes",
        "pattern",
        "placeholders",
        "requires_context",
        "spec",
        "window",
    )

    def __init__(self, spec: DetectorSpec, pattern: PatternSpec | None) -> None:
        self.spec = spec
        self.pattern = pattern
        self.min_length = spec.min_length
        self.min_entropy = spec.min_entropy
        self.placeholders = spec.filter_placeholders
        self.check = (spec.validator if pattern is None or pattern.use_validator else None) or None
        self.keep_failed = spec.unverified_score is not None
        self.requires_context = pattern is not None and pattern.requires_context
        self.window = spec.context_window
        self.context = _Words(spec.context)
        self.negative = _Words(spec.negative_context)
        # Where a text's word places are known (ASCII texts), spans with no word of a list in
        # reach skip the window fold for that list (None: a word without letters, always fold).
        context_gate = _words_gate(tuple(spec.context)) if spec.context else _NO_WORDS
        negative_gate = (
            _words_gate(tuple(spec.negative_context)) if spec.negative_context else _NO_WORDS
        )
        self.gates = (
            (context_gate, negative_gate)
            if context_gate is not None and negative_gate is not None
            else None
        )
        score = pattern.score if pattern and pattern.score is not None else spec.score
        first = ("pattern" if pattern else "detector", score)
        outcomes: list[tuple[float, tuple[tuple[str, float], ...]]] = []
        for seen in (False, True):
            for failed in (False, True):
                now, steps = score, [first]
                if seen:
                    now = min(1.0, now + spec.context_boost)
                    steps.append((f"context +{spec.context_boost:g}", round(now, 3)))
                if failed and spec.unverified_score is not None:  # kept, capped below strict
                    now = min(now, spec.unverified_score)
                    steps.append((f"validator {self.check} failed: unverified", round(now, 3)))
                outcomes.append((round(now, 3), tuple(steps)))
        self.outcomes = tuple(outcomes)  # index: 2 * seen + failed

    def accept(
        self,
        text: str,
        spans: Sequence[tuple[int, int]],
        places: _Places | None,
        validity: Callable[[str], Callable[[str], bool]],
    ) -> list[RawMatch]:
        """The kept candidates among ``spans`` (character offsets), in their order.

        With ``places``, ``spans`` must be sorted and not overlap (one ``finditer``'s).
        """
        spec, pattern, window = self.spec, self.pattern, self.window
        min_length, min_entropy, placeholders = self.min_length, self.min_entropy, self.placeholders
        check, keep_failed, outcomes = self.check, self.keep_failed, self.outcomes
        valid = validity(check) if check is not None else None
        context, negative, requires = self.context, self.negative, self.requires_context
        has_context, has_negative = bool(context), bool(negative)
        # Per span, whether a word of each list starts in reach (``_Places.near``): only a span
        # where one does can have it seen by ``_seen``, which decides. None: fold every window.
        may_see = may_veto = None
        if places is not None and self.gates is not None:
            if has_context:
                may_see = places.near_mask(self.gates[0], spans, window)
            if has_negative:
                may_veto = places.near_mask(self.gates[1], spans, window)
        out: list[RawMatch] = []
        for i, (start, end) in enumerate(spans):
            value = text[start:end]
            if len(value) < min_length:
                continue
            if min_entropy is not None and shannon_entropy(value) < min_entropy:
                continue
            if placeholders and is_placeholder(value):
                continue
            failed = valid is not None and not valid(value)
            if failed and not keep_failed:
                continue
            seen: tuple[str, ...] = ()
            if has_context and (may_see is None or may_see[i]):
                seen = _seen(text, start, end, context, window)
            if requires and not seen:
                continue
            if (
                has_negative
                and (may_veto is None or may_veto[i])
                and _seen(text, start, end, negative, window)
            ):
                continue
            score, steps = outcomes[2 * bool(seen) + failed]
            out.append(RawMatch(spec, start, end, score, value, bool(seen), pattern, seen, steps))
        return out


def _blank(text: str, spans: Iterable[RawMatch]) -> str:
    """``text`` with the characters of ``spans`` replaced by spaces (offsets unchanged)."""
    parts: list[str] = []
    at = 0
    for m in sorted(spans, key=lambda m: m.start):
        start = max(at, m.start)
        if m.end <= start:
            continue
        parts.append(text[at:start])
        parts.append(" " * (m.end - start))
        at = m.end
    parts.append(text[at:])
    return "".join(parts)


def _has_digits(text: str, least: int) -> bool:
    """Whether ``text`` has ``least`` digits (``str.isdigit``, as libphonenumber reads them)."""
    # The ASCII digits counted in C (UTF-8 encodes every other character with bytes >= 0x80,
    # so the bytes deleted are exactly the text's ASCII digits); other scripts' digits are
    # counted (``str.isdigit`` mapped in C) only when the ASCII ones are not enough, and only
    # among the characters that are not ASCII: deleting every ASCII byte leaves their UTF-8
    # sequences whole.
    data = text.encode("utf-8")
    found = len(data) - len(data.translate(None, _ASCII_DIGITS))
    if found >= least or len(data) == len(text):
        return found >= least
    others = data.translate(None, _ASCII).decode("utf-8")
    return found + sum(map(str.isdigit, others)) >= least


_ASCII_DIGITS = b"0123456789"
_ASCII = bytes(range(128))


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
        compiled.append(_Compiled(spec, pattern, regex, group, _Acceptor(spec, pattern)))
    return compiled


_UNANCHORED = re2._Anchor.UNANCHORED
_NO_MATCH = (-1, -1)


def _spans(
    regex: Any, data: bytes, group: int, regions: Sequence[tuple[int, int]] | None = None
) -> list[tuple[int, int]]:
    """The span of ``group`` in each match of ``regex.finditer(data)``, in the same order.

    google-re2's ``finditer`` builds a Python match object per match; logs give thousands of
    matches per chunk, so this loop calls the compiled program directly (the same loop as the
    wrapper's for bytes, google-re2 pinned in pyproject.toml; tests compare the two).

    With ``regions`` (sorted ``(start, end)`` offsets), only the matches that start inside one
    of them: each region's start must be a place no match of ``regex`` can straddle (see
    ``_Places.regions``), so that the search resumed there finds what ``finditer`` finds.
    """
    match = regex._regexp.Match
    pos, stop = 0, len(data)
    found: list[tuple[int, int]] = []
    append = found.append
    ahead = None  # the match that ended the previous region's search, past its end
    for low, high in ((0, stop + 1),) if regions is None else regions:
        # Where the previous region's search stopped is a place finditer passes too.
        pos = max(pos, low)
        while True:
            if ahead is not None and ahead[0][0] >= pos:
                # A search from here finds it again: none starts between the place the last
                # search started from and it, and RE2 reads ^, $ and \b in the whole data,
                # wherever the search starts.
                spans = ahead
            else:
                spans = match(_UNANCHORED, data, pos, stop)
            ahead = None
            whole = spans[0]
            if whole == _NO_MATCH:
                return found
            if whole[0] >= high:
                ahead = spans
                break  # the next region's search finds it again if it is in there
            append(spans[group])
            if pos == stop:
                return found
            pos = pos + 1 if pos == whole[1] else whole[1]
    return found


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
        reach = None
        if all(g is not None and not g.heads for g in gates):
            window = max(c.spec.context_window for c in group)
            reach = _reach(group[0].pattern.regex, window)
        out.append(_Unique(group[0].regex, group[0].value_group, tuple(group), gates, gated, reach))
    return out


@dataclass(frozen=True, slots=True)
class _Reach:
    """Where the spans of a context-gated regex can be, around the context words of a text.

    A span is kept only when a context word starts in ``[start - window, end + window)``;
    ``stops`` maps every byte that no match can contain to 0 (a ``bytes.translate`` table), so
    a match that reaches a place starts after the last such byte before it (see
    ``_Places.regions``).
    """

    window: int
    stops: bytes


# RE2's ASCII classes (Python's own \s also holds \v and \x1c-\x1f: not RE2's).
_DIGIT = frozenset(range(48, 58))
_WORD_BYTES = _DIGIT | frozenset(range(65, 91)) | frozenset(range(97, 123)) | {95}
_SPACE = frozenset(b"\t\n\f\r ")
_ALL = frozenset(range(256))


def _reach(regex: str, window: int) -> _Reach | None:
    """The reach of ``regex`` (see ``_Reach``), or None when it cannot be read.

    Read from the parse tree of Python's ``re`` parser (RE2 has no such API): every byte a
    match may hold. Only the syntax both engines read alike is taken: literals, classes,
    ``\\d \\w \\s`` and their negations (RE2's ASCII sets), groups, alternations, repeats
    and zero-width assertions; anything else (Unicode classes, POSIX classes) returns None and
    the regex is searched whole.
    """
    import re._constants as sre  # type: ignore[import-not-found]

    tree = python_parse(regex)
    if tree is None:
        return None
    categories = {
        sre.CATEGORY_DIGIT: _DIGIT,
        sre.CATEGORY_NOT_DIGIT: _ALL - _DIGIT,
        sre.CATEGORY_WORD: _WORD_BYTES,
        sre.CATEGORY_NOT_WORD: _ALL - _WORD_BYTES,
        sre.CATEGORY_SPACE: _SPACE,
        sre.CATEGORY_NOT_SPACE: _ALL - _SPACE,
    }

    def folded(chars: set[int], icase: bool) -> set[int]:
        if icase:
            chars |= {ord(chr(c).swapcase()) for c in chars if c < 128 and chr(c).isalpha()}
        return chars

    def walk(items: Any, icase: bool, out: set[int]) -> bool:
        for op, av in items:
            if op is sre.LITERAL:
                out |= folded({av}, icase)
            elif op is sre.NOT_LITERAL:
                out |= _ALL - folded({av}, icase)
            elif op is sre.ANY:
                out |= _ALL
            elif op is sre.IN:
                chars: set[int] = set()
                negate = False
                for kind, arg in av:
                    if kind is sre.NEGATE:
                        negate = True
                    elif kind is sre.LITERAL:
                        chars.add(arg)
                    elif kind is sre.RANGE:
                        chars.update(range(arg[0], arg[1] + 1))
                    elif kind is sre.CATEGORY and arg in categories:
                        chars |= categories[arg]
                    else:
                        return False
                chars = folded(chars, icase)
                out |= (_ALL - chars) if negate else chars
            elif op is sre.BRANCH:
                if not all(walk(branch, icase, out) for branch in av[1]):
                    return False
            elif op is sre.SUBPATTERN:
                _, add, remove, body = av
                inner = (icase or bool(add & sre.SRE_FLAG_IGNORECASE)) and not (
                    remove & sre.SRE_FLAG_IGNORECASE
                )
                if not walk(body, inner, out):
                    return False
            elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
                if not walk(av[2], icase, out):
                    return False
            elif op is not sre.AT:
                return False  # back references, look-arounds: not RE2 syntax
        return True

    possible: set[int] = set()
    if not walk(tree.data, bool(tree.state.flags & sre.SRE_FLAG_IGNORECASE), possible):
        return None
    stops = bytes(1 if c in possible else 0 for c in range(256))
    return _Reach(window, stops)


def _gate(c: _Compiled, group: Sequence[_Compiled]) -> _Gate | None:
    needs_context = c.pattern.requires_context or any(_shadows(a, c) for a in group if a is not c)
    if not needs_context:
        return None
    return _words_gate(tuple(c.spec.context))


@cache
def _words_gate(context: tuple[str, ...]) -> _Gate | None:
    """The gate of these context words; None when one has no letters or digits.

    Shared by every detector and pattern with the same words (the date patterns' users): a
    text's word places are found once per gate.
    """
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


# Context words are compared as runs of ASCII lower-case letters and digits: the text around a
# match is case-folded and every other character separates words. This is done with
# bytes.translate (one table lookup per byte) on a copy of the text folded once, instead of a
# regex per match: logs give thousands of candidates per chunk, and a regex call per candidate
# was most of the time spent on them.
_FOLD = bytes(c if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256))


def _fold(text: str) -> bytes:
    """``text`` case-folded, with every character but ``[a-z0-9]`` turned into a space."""
    return lower(text).encode("ascii", "replace").translate(_FOLD)


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

    ``_seen`` sees a word when it is in the folded text on either side of the span,
    within the window, or, for a phrase, split across the span ("date <span> of birth": the two
    sides are joined by a space). So a span with no context word starting inside
    ``[start - window, end + window)``, and no phrase that could be split across it, cannot
    have its context seen: this test only skips work that would be thrown away.
    """

    __slots__ = ("_found", "_stops", "hyperscan", "text")

    def __init__(self, text: str, hyperscan: bool = False) -> None:
        self.text = text
        self.hyperscan = hyperscan  # find the words with Hyperscan (else bytes.find)
        self._found: dict[_Gate, list[int]] = {}
        self._stops: dict[bytes, bytes] = {}  # translate table -> the text's bytes through it

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

    def regions(
        self, reach: _Reach, gates: Iterable[_Gate | None], data: bytes
    ) -> list[tuple[int, int]]:
        """Where the matches of a regex of this reach whose spans can be near a word start.

        A span ``[s, e)`` is near a word that starts at ``f`` when ``s - window <= f < e +
        window``: its match starts at or before ``f + window`` and holds the byte at ``f -
        window`` or starts after it. No match holds a stop (a byte ``reach.stops`` maps to 0),
        so it starts after the last stop at or before ``f - window``. Each region runs from
        just after that stop (or the text's start) to ``f + window + 1``; no match straddles
        its start, so a search resumed there finds the matches finditer finds from there on
        (``_spans``). Regions are sorted and do not overlap.
        """
        offsets = sorted({f for gate in gates if gate is not None for f in self.of(gate)})
        if not offsets:
            return []
        stops = self._stops.get(reach.stops)
        if stops is None:
            stops = self._stops[reach.stops] = data.translate(reach.stops)
        window = reach.window
        merged: list[list[int]] = []
        for f in offsets:
            # A region starts at or before f - window + 1: where that is inside the region
            # before, the two are one (the stop need not be looked for).
            if not merged or f - window >= merged[-1][1]:
                low = stops.rfind(b"\0", 0, max(0, f - window + 1)) + 1
                if not merged or low > merged[-1][1]:
                    merged.append([low, f + window + 1])
                    continue
            merged[-1][1] = f + window + 1
        return [(low, high) for low, high in merged]

    def near_any(
        self, gate: _Gate, spans: list[tuple[int, int]], window: int
    ) -> list[tuple[int, int]]:
        """The spans that ``near`` keeps."""
        if not self.of(gate) and not gate.heads:
            return []
        keep = self.near_mask(gate, spans, window)
        return [span for span, k in zip(spans, keep, strict=True) if k]

    def near_mask(self, gate: _Gate, spans: Sequence[tuple[int, int]], window: int) -> bytearray:
        """Per span, 1 where ``near`` is true (the common test inlined: thousands per chunk)."""
        keep = _near_mask(self.of(gate), spans, window)
        if gate.heads:  # a phrase split across the span ("date <span> of birth")?
            folded = _folded_ascii(self.text)
            for i, (start, end) in enumerate(spans):
                if not keep[i] and _split_phrase(folded, gate, start, end, window):
                    keep[i] = 1
        return keep

    def near(self, gate: _Gate, start: int, end: int, window: int) -> bool:
        found = self.of(gate)
        i = bisect_left(found, start - window)
        if i < len(found) and found[i] < end + window:
            return True
        return bool(gate.heads) and _split_phrase(
            _folded_ascii(self.text), gate, start, end, window
        )


def _split_phrase(folded: bytes, gate: _Gate, start: int, end: int, window: int) -> bool:
    """Whether a phrase of the gate may be split across the span ("date <span> of birth").

    The word after the span is tested first: it is rarely one that continues a phrase.
    """
    after = folded[end : end + window].split(None, 1)[:1]
    if not after or after[0] not in gate.tails:
        return False
    before = folded[max(0, start - window) : start].rsplit(None, 1)[-1:]
    return bool(before and before[0] in gate.heads)


def _near_mask(found: list[int], spans: Sequence[tuple[int, int]], window: int) -> bytearray:
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


class _Words:
    """A detector's context (or negative context) words as ``_seen`` looks for them.

    ``entries`` holds each word as declared with its folded form: the one token it folds to,
    or else its tokens joined and padded with spaces (b" date of birth "). A one-token word is
    in a window exactly when it is one of the window's tokens, a set lookup; longer phrases
    (and words that fold to nothing) are looked for in the window's tokens joined by single
    spaces, padded the same way.
    """

    __slots__ = ("alone", "entries", "phrases", "singles")

    def __init__(self, words: Sequence[str]) -> None:
        entries: list[tuple[str, bytes, bool]] = []
        for word in words:
            tokens = _fold(word).split()
            single = len(tokens) == 1
            entries.append((word, tokens[0] if single else b" " + b" ".join(tokens) + b" ", single))
        self.entries = tuple(entries)
        self.singles = frozenset(folded for _, folded, single in entries if single)
        self.phrases = not all(single for _, _, single in entries)
        # What ``_seen`` returns when a window holds one of the one-token words and the list
        # has no phrase (most windows that hold any): the words that fold to it, in order.
        self.alone = {
            folded: tuple(w for w, n, single in entries if single and n == folded)
            for folded in self.singles
        }

    def __bool__(self) -> bool:
        return bool(self.entries)


def _seen(text: str, start: int, end: int, words: _Words, window: int) -> tuple[str, ...]:
    """The words (as declared) found within ``window`` characters of the match."""
    if text.isascii():  # folding keeps offsets: fold the whole text once, then slice it
        folded = _folded_ascii(text)
        around = folded[max(0, start - window) : start] + b" " + folded[end : end + window]
    else:  # lower() changes the length of a few characters: fold each window on its own
        around = _fold(text[max(0, start - window) : start] + " " + text[end : end + window])
    tokens = around.split()
    present = words.singles.intersection(tokens)
    if not words.phrases and len(present) < 2:  # most windows: none of the words, or one
        return words.alone[next(iter(present))] if present else ()
    normalized = b" " + b" ".join(tokens) + b" " if words.phrases else b""
    return tuple(
        [w for w, n, single in words.entries if (n in present if single else n in normalized)]
    )


def _resolve_overlaps(matches: list[RawMatch]) -> list[RawMatch]:
    """Keep the strongest of overlapping findings (score, then the longer span), by start.

    Logs give thousands of findings per chunk, nearly all overlapping none: the findings are
    cut into runs that overlap each other (in start order, a run ends where the next finding
    starts at or after every end before it); a finding alone in its run is kept as is, and
    only runs of two or more are resolved. No finding can overlap one of another run, so
    resolving each run on its own keeps what resolving them all at once would.
    """
    if len(matches) < 2:
        return matches
    ordered = sorted(matches, key=_span_order)
    kept: list[RawMatch] = []
    first, reach = 0, ordered[0].end
    for i in range(1, len(ordered)):
        m = ordered[i]
        if m.start < reach:
            reach = max(reach, m.end)
            continue
        if i - first == 1:
            kept.append(ordered[first])
        else:
            kept.extend(_strongest(ordered[first:i]))
        first, reach = i, m.end
    if len(ordered) - first == 1:
        kept.append(ordered[first])
    else:
        kept.extend(_strongest(ordered[first:]))
    return kept


_span_order = attrgetter("start", "end")


def _strongest(matches: list[RawMatch]) -> list[RawMatch]:
    """The findings kept of overlapping ones, by start (equal ones: the first listed wins).

    Kept spans never overlap, so sorted by start they are sorted by end too: the only kept span
    that can overlap a candidate is the last one that starts before the candidate ends.
    """
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
