"""The declaration format of detectors: rule files are YAML validated by these models.

A detector is data (compare Presidio's pattern recognizers and detect-secrets plugins): patterns
or a word list, an optional validator named from ``classifiers.validators``, context words, the
level it implies, and examples that the test suite runs. Rule files live in
``classifiers/rules/*.yaml`` as ``{"detectors": [...]}``; custom ones are passed with ``--rules``.
A bad declaration is rejected when its file is loaded, with the file and the detector named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

import re2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models import Category, Level
from models.errors import DetectorDefinitionError

# The built-in rule files. Here, not in engine.py: a compiled module's ``__file__`` is its
# build's (classifiers/native.py).
RULES_DIR = Path(__file__).with_name("rules")


class Engine(StrEnum):
    REGEX = "regex"  # RE2 patterns below (a word list becomes one of them)
    PHONENUMBERS = "phonenumbers"  # libphonenumber's matcher
    SPACY = "spacy"  # named entities from en_core_web_sm
    ADDRESS = "address"  # street addresses, classifiers.address
    PRESIDIO = "presidio"  # Presidio's AnalyzerEngine (the optional `presidio` extra)


class MaskStyle(StrEnum):
    LAST4 = "last4"  # keep separators and the last 4 alphanumerics: ***-**-6789
    PREFIX = "prefix"  # keep a short non-secret prefix (vendor tag) then stars: ghp_****
    EMAIL = "email"  # first letter of the local part and the domain: j***@example.com
    INITIALS = "initials"  # first letter of each word: J*** S****
    FULL = "full"  # stars only, length kept up to a bound


class Normalize(StrEnum):
    NONE = "none"
    DIGITS = "digits"  # keep digits only (card, SSN, phone)
    ALNUM = "alnum"  # keep letters and digits, upper-cased (IBAN)
    LOWER = "lower"  # case-fold (email, names)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatternSpec(_Spec):
    """One RE2 pattern. A group named ``value`` marks the sensitive part; else the whole match."""

    regex: str
    score: float | None = Field(default=None, ge=0, le=1)
    requires_context: bool = False  # drop the match unless a context word is near
    use_validator: bool = True  # run the detector's validator on this pattern's matches


class Examples(_Spec):
    positive: list[str] = Field(min_length=1)  # each must produce a finding of this detector
    negative: list[str] = Field(default_factory=list)  # none may produce one


class PresidioPattern(_Spec):
    name: str
    regex: str
    score: float = Field(ge=0, le=1)


class PresidioRecognizerSpec(_Spec):
    """An ad-hoc Presidio ``PatternRecognizer``, in Presidio's own dictionary shape.

    Its patterns must be RE2 syntax: Perimeter runs them with RE2, not Presidio's backtracking
    ``regex`` engine (see ``classifiers.presidio``).
    """

    name: str
    supported_entity: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    patterns: list[PresidioPattern] = Field(default_factory=list)
    deny_list: list[str] = Field(default_factory=list)
    deny_list_score: float = Field(default=1.0, ge=0, le=1)
    context: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_input(self) -> Self:
        if not self.patterns and not self.deny_list:
            raise ValueError(f"recognizer {self.name!r} needs patterns or a deny_list")
        if any(not w.strip() for w in self.deny_list):
            raise ValueError(f"recognizer {self.name!r}: deny_list has an empty entry")
        return self


def word_list_regex(words: Sequence[str]) -> str:
    """One RE2 pattern matching any of ``words`` as a whole word or phrase, ignoring case.

    RE2 has no look-behind and its ``\\b`` is ASCII only, so the boundaries are a non-letter,
    non-digit character (consumed, outside the ``value`` group) or the text's start/end: "Ana"
    is not found in "Anaïs" nor in "Banana". The cost: two hits of the same list separated by a
    single character count as one (the second is not reported); the item is flagged either way.
    Runs of whitespace inside a phrase match any whitespace ("date of  birth", a line break).
    """
    alternatives = sorted(
        {r"\s+".join(re2.escape(part) for part in w.split()) for w in words}, key=len, reverse=True
    )
    edge = r"[^\pL\pN_]"
    return rf"(?i)(?:^|{edge})(?P<value>{'|'.join(alternatives)})(?:{edge}|$)"


class DetectorSpec(_Spec):
    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")  # e.g. pii.us_ssn, secret.github_pat
    type: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")  # e.g. US_SSN, GITHUB_TOKEN
    category: Category
    description: str
    engine: Engine = Engine.REGEX
    patterns: list[PatternSpec] = Field(default_factory=list)
    # Words or phrases, matched whole and ignoring case; compiled into one more pattern.
    words: list[str] | None = Field(default=None, min_length=1)
    words_score: float | None = Field(default=None, ge=0, le=1)
    # spaCy labels (engine=spacy) or Presidio entity types (engine=presidio) this detector reports.
    entities: list[str] = Field(default_factory=list)
    # engine=presidio: ad-hoc Presidio pattern recognizers added to its registry.
    recognizers: list[PresidioRecognizerSpec] = Field(default_factory=list)
    score: float = Field(default=0.8, ge=0, le=1)
    validator: str | None = None  # name in classifiers.validators.VALIDATORS
    # When the validator rejects a value: None drops it; a score keeps it at that score (at most),
    # for values whose shape names the vendor but whose checksum or version check fails.
    unverified_score: float | None = Field(default=None, ge=0, le=1)
    min_entropy: float | None = None  # Shannon entropy in bits/char of the value
    min_length: int = 1
    context: list[str] = Field(default_factory=list)  # near the match: score + context_boost
    negative_context: list[str] = Field(default_factory=list)  # near the match: dropped
    context_window: int = Field(default=48, ge=0, le=500)  # characters each side of the match
    context_boost: float = Field(default=0.15, ge=0, le=1)
    filter_placeholders: bool = False  # drop example keys, xxxx, <your-key>, ${VAR}
    mask: MaskStyle = MaskStyle.LAST4
    prefix_length: int = Field(default=4, ge=0, le=12)  # kept characters for mask=prefix
    normalize: Normalize = Normalize.NONE
    # The least level an item with a finding of this detector gets (a policy rule is added).
    level: Level | None = None
    examples: Examples

    @model_validator(mode="before")
    @classmethod
    def _words_to_pattern(cls, data: Any) -> Any:
        # The word list joins the other patterns, so it runs in the same one-pass scan.
        if isinstance(data, dict) and data.get("words"):
            words = data["words"]
            if not isinstance(words, list) or not all(
                isinstance(w, str) and w.strip() for w in words
            ):
                raise ValueError("words must be a list of non-empty strings")
            pattern: dict[str, Any] = {"regex": word_list_regex(words)}
            if data.get("words_score") is not None:
                pattern["score"] = data["words_score"]
            data = {**data, "patterns": [*data.get("patterns", []), pattern]}
        return data

    @field_validator("context", "negative_context")
    @classmethod
    def _lower(cls, words: list[str]) -> list[str]:
        return [w.lower() for w in words]

    @model_validator(mode="after")
    def _engine_inputs(self) -> Self:
        if self.engine is Engine.REGEX and not self.patterns:
            raise ValueError("a regex detector needs at least one pattern or a word list")
        if self.engine in (Engine.SPACY, Engine.PRESIDIO) and not self.entities:
            raise ValueError(f"a {self.engine.value} detector needs entities")
        if self.engine is not Engine.REGEX and (self.patterns or self.words):
            raise ValueError(f"patterns and words are for regex detectors, not {self.engine}")
        if self.recognizers and self.engine is not Engine.PRESIDIO:
            raise ValueError("recognizers are for presidio detectors")
        return self


class RuleFile(_Spec):
    detectors: list[DetectorSpec]


def load_rule_file(path: Path) -> list[DetectorSpec]:
    """Parse and validate one YAML rule file; errors name the file, the detector and the field.

    Beyond the model: every pattern must compile with RE2 (linear time on any input), every
    validator must exist, and an id may be declared once.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DetectorDefinitionError(f"{path}: cannot read rule file: {exc}") from exc
    if isinstance(raw, dict):  # keys starting with "x-" hold YAML anchors shared by rules
        raw = {k: v for k, v in raw.items() if not str(k).startswith("x-")}
    try:
        specs = RuleFile.model_validate(raw).detectors
    except ValidationError as exc:
        raise DetectorDefinitionError(f"{path}: {_where(raw, exc)}") from exc
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise DetectorDefinitionError(f"{path}: detector {spec.id}: id is declared twice")
        seen.add(spec.id)
        problem = _check(spec)
        if problem:
            raise DetectorDefinitionError(f"{path}: detector {spec.id}: {problem}")
    return specs


def load_rule_files(paths: Iterable[Path]) -> list[DetectorSpec]:
    """Several rule files; an id declared in two of them is rejected with both files named."""
    specs: list[DetectorSpec] = []
    origin: dict[str, Path] = {}
    for path in paths:
        for spec in load_rule_file(path):
            if spec.id in origin:
                raise DetectorDefinitionError(
                    f"{path}: detector {spec.id}: id is declared twice (first in {origin[spec.id]})"
                )
            origin[spec.id] = path
            specs.append(spec)
    return specs


def _where(raw: Any, exc: ValidationError) -> str:
    """The first error, located by detector id when the file got that far."""
    first = exc.errors()[0]
    loc = list(first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    if len(loc) >= 2 and loc[0] == "detectors" and isinstance(loc[1], int):
        index = loc[1]
        ident = None
        if isinstance(raw, dict) and isinstance(raw.get("detectors"), list):
            item = raw["detectors"][index]
            ident = item.get("id") if isinstance(item, dict) else None
        name = f"detector {ident}" if ident else f"detectors[{index}]"
        field = ".".join(str(p) for p in loc[2:])
        return f"{name}: {field + ': ' if field else ''}{msg}"
    return f"{'.'.join(str(p) for p in loc) or 'file'}: {msg}"


def _check(spec: DetectorSpec) -> str | None:
    from classifiers.validators import VALIDATORS

    if spec.validator and spec.validator not in VALIDATORS:
        return f"unknown validator {spec.validator!r}"
    regexes = [p.regex for p in spec.patterns]
    regexes += [p.regex for r in spec.recognizers for p in r.patterns]
    options = re2.Options()
    options.log_errors = False  # the error is raised, with the file and detector, below
    for regex in regexes:
        try:
            re2.compile(regex, options)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else exc
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
            return f"pattern is not valid RE2 syntax ({reason}): {regex}"
    return None


def level_rules(specs: Iterable[DetectorSpec]) -> list[dict[str, Any]]:
    """Policy rules (as data) for the detectors that declare the level they imply."""
    by_level: dict[Level, list[str]] = {}
    for spec in specs:
        if spec.level is not None:
            by_level.setdefault(spec.level, []).append(spec.id)
    return [
        {
            "name": f"detector-level-{level.value}",
            "level": level.value,
            "description": "Detectors whose declaration implies this level.",
            "when": {"detector": ids},
        }
        for level, ids in by_level.items()
    ]
