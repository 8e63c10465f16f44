"""The sensitivity policy: findings and location of an item -> level, with the reasons.

Declarative: rules are data (``classifiers/policy.yaml`` by default), each a condition over the
item's findings. The item takes the highest level among matching rules.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models import Category, Classification, Finding, Level, Reason
from models.errors import ConfigError

DEFAULT_POLICY = Path(__file__).with_name("policy.yaml")


class Condition(BaseModel):
    """Matches when the item has findings of the listed types/categories (or all/any of
    nested conditions). ``min_distinct`` counts distinct values by fingerprint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: list[str] = Field(default_factory=list)
    category: list[Category] = Field(default_factory=list)
    detector: list[str] = Field(default_factory=list)  # detector ids
    min_distinct: int = Field(default=1, ge=1)
    min_score: float = Field(default=0.0, ge=0, le=1)
    all: list[Condition] = Field(default_factory=list)
    any: list[Condition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not (self.type or self.category or self.detector or self.all or self.any):
            raise ValueError("a condition needs type, category, detector, all or any")
        return self

    def selected(self, findings: Sequence[Finding]) -> list[Finding] | None:
        """The findings that make this condition true, or None when it is false."""
        picked: list[Finding] = []
        if self.type or self.category or self.detector:
            own = [
                f
                for f in findings
                if (not self.type or f.type in self.type)
                and (not self.category or f.category in self.category)
                and (not self.detector or f.detector in self.detector)
                and f.score >= self.min_score
            ]
            if len({f.fingerprint for f in own}) < self.min_distinct:
                return None
            picked.extend(own)
        for sub in self.all:
            found = sub.selected(findings)
            if found is None:
                return None
            picked.extend(found)
        if self.any:
            alternatives = [found for sub in self.any if (found := sub.selected(findings))]
            if not alternatives:
                return None
            for found in alternatives:
                picked.extend(found)
        return picked


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    level: Level
    description: str = ""
    when: Condition


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    extends: Literal["default"] | None = None
    default_level: Level = Level.INTERNAL
    public_locations: list[str] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _default_is_not_public(self) -> Self:
        if self.default_level is Level.PUBLIC:
            raise ValueError("default_level cannot be public; declare public_locations instead")
        return self

    @classmethod
    def load(cls, path: Path | None = None) -> Policy:
        """The default policy, or the file at ``path`` (merged when it says extends: default)."""
        default = cls._read(DEFAULT_POLICY)
        if path is None:
            return default
        custom = cls._read(path)
        if custom.extends != "default":
            return custom
        return default.model_copy(
            update={
                "rules": [*default.rules, *custom.rules],
                "public_locations": [*default.public_locations, *custom.public_locations],
                "default_level": custom.default_level,
            }
        )

    @classmethod
    def _read(cls, path: Path) -> Policy:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read policy: {exc}") from exc
        try:
            return cls.model_validate(raw or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "policy"
            raise ConfigError(f"{path}: {where}: {first['msg']}") from exc

    def with_public_locations(self, globs: Sequence[str]) -> Policy:
        return self.model_copy(update={"public_locations": [*self.public_locations, *globs]})

    def classify(self, findings: Sequence[Finding], uri: str | None = None) -> Classification:
        """The item's level and the reasons (every matching rule at that level)."""
        if not findings:
            if uri is not None and any(fnmatch.fnmatchcase(uri, g) for g in self.public_locations):
                reason = Reason(
                    rule="public-location",
                    level=Level.PUBLIC,
                    description="No findings, in a location the policy declares public.",
                )
                return Classification(level=Level.PUBLIC, reasons=[reason])
            return Classification(level=self.default_level)
        matched: list[Reason] = []
        for rule in self.rules:
            picked = rule.when.selected(findings)
            if picked is None:
                continue
            matched.append(
                Reason(
                    rule=rule.name,
                    level=rule.level,
                    description=rule.description,
                    types=sorted({f.type for f in picked}),
                    count=len(picked),
                )
            )
        if not matched:
            return Classification(level=self.default_level)
        top = max(r.level.rank for r in matched)
        level = max(self.default_level, max(r.level for r in matched), key=lambda lv: lv.rank)
        return Classification(level=level, reasons=[r for r in matched if r.level.rank == top])
