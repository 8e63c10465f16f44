"""The declaration format of detectors: rule files are YAML validated by these models.

A detector is data (compare Presidio's pattern recognizers and detect-secrets plugins): patterns,
an optional validator named from ``classifiers.validators``, context words, and examples that the
test suite runs. Rule files live in ``classifiers/rules/*.yaml`` as ``{"detectors": [...]}``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models import Category
from models.errors import DetectorDefinitionError


class Engine(StrEnum):
    REGEX = "regex"  # RE2 patterns below
    PHONENUMBERS = "phonenumbers"  # libphonenumber's matcher
    SPACY = "spacy"  # named entities from en_core_web_sm


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


class DetectorSpec(_Spec):
    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")  # e.g. pii.us_ssn, secret.github_pat
    type: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")  # e.g. US_SSN, GITHUB_TOKEN
    category: Category
    description: str
    engine: Engine = Engine.REGEX
    patterns: list[PatternSpec] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)  # spaCy labels, engine=spacy only
    score: float = Field(default=0.8, ge=0, le=1)
    validator: str | None = None  # name in classifiers.validators.VALIDATORS
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
    examples: Examples

    @field_validator("context", "negative_context")
    @classmethod
    def _lower(cls, words: list[str]) -> list[str]:
        return [w.lower() for w in words]

    @model_validator(mode="after")
    def _engine_inputs(self) -> Self:
        if self.engine is Engine.REGEX and not self.patterns:
            raise ValueError("a regex detector needs at least one pattern")
        if self.engine is Engine.SPACY and not self.entities:
            raise ValueError("a spacy detector needs entity labels")
        return self


class RuleFile(_Spec):
    detectors: list[DetectorSpec]


def load_rule_file(path: Path) -> list[DetectorSpec]:
    """Parse and validate one YAML rule file; errors name the file and the bad field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DetectorDefinitionError(f"{path}: cannot read rule file: {exc}") from exc
    if isinstance(raw, dict):  # keys starting with "x-" hold YAML anchors shared by rules
        raw = {k: v for k, v in raw.items() if not str(k).startswith("x-")}
    try:
        return RuleFile.model_validate(raw).detectors
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DetectorDefinitionError(f"{path}: {where}: {first['msg']}") from exc
