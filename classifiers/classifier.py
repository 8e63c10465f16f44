"""Detection, masking, fingerprinting and the level policy behind one object."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from classifiers.engine import DetectorEngine, RawMatch
from classifiers.filters import shannon_entropy
from classifiers.masking import fingerprint, mask
from classifiers.multiscan import default_cache_dir
from classifiers.policy import Policy, Rule
from classifiers.spec import Engine, level_rules
from models import Classification, Finding, Location

# A finding of a text is nowhere in particular until the scanner places it (with a copy): the
# model is frozen, so one empty location serves every finding and is not rebuilt for each.
_NO_LOCATION = Location()


@dataclass(frozen=True)
class ClassifierSettings:
    """Everything a worker process needs to build its Classifier (picklable)."""

    key: bytes
    rule_files: tuple[Path, ...] = ()
    policy_file: Path | None = None
    public_locations: tuple[str, ...] = ()
    min_score: float = 0.0
    # Pattern back end (auto, hyperscan, re2) and where built Hyperscan databases are kept, so
    # each worker process loads the database instead of compiling it (seconds) again.
    pattern_backend: str = "auto"
    pattern_cache: Path | None = field(default_factory=default_cache_dir)

    def __reduce__(self) -> tuple[Any, ...]:
        # By its fields: pickle's default sets them one by one, which a compiled frozen
        # dataclass refuses (classifiers/native.py).
        return (ClassifierSettings, tuple(getattr(self, f.name) for f in fields(self)))


class Classifier:
    """Turns text into findings that are safe to store, and findings into a level."""

    def __init__(self, engine: DetectorEngine, policy: Policy, key: bytes, min_score: float = 0.0):
        self.engine = engine
        self._policy = policy
        # Detectors that declare the level they imply (custom ones, mostly) add a policy rule.
        implied = [Rule.model_validate(r) for r in level_rules(engine.specs)]
        self.policy = policy.model_copy(update={"rules": [*policy.rules, *implied]})
        self._key = key
        self.min_score = min_score

    def __reduce__(self) -> tuple[Any, ...]:
        # Built again from its arguments: a compiled class has no ``__dict__`` to copy.
        return (Classifier, (self.engine, self._policy, self._key, self.min_score))

    @classmethod
    def from_settings(cls, settings: ClassifierSettings) -> Classifier:
        policy = Policy.load(settings.policy_file).with_public_locations(settings.public_locations)
        engine = DetectorEngine.builtin(
            settings.rule_files, backend=settings.pattern_backend, cache_dir=settings.pattern_cache
        )
        return cls(engine, policy, settings.key, settings.min_score)

    def findings(self, text: str, explain: bool = False) -> list[Finding]:
        return self.findings_batch([text], explain)[0]

    def findings_batch(self, texts: Sequence[str], explain: bool = False) -> list[list[Finding]]:
        """Findings per text; ``explain`` adds each one's decision trace (no raw value in it)."""
        return [
            [self.to_finding(m, explain) for m in matches if m.score >= self.min_score]
            for matches in self.engine.analyze_batch(texts)
        ]

    def to_finding(self, match: RawMatch, explain: bool = False) -> Finding:
        spec = match.spec
        return Finding(
            type=spec.type,
            category=spec.category,
            score=match.score,
            detector=spec.id,
            evidence=mask(match.value, spec.mask, spec.prefix_length),
            fingerprint=fingerprint(self._key, spec.type, match.value, spec.normalize),
            start=match.start,
            end=match.end,
            location=_NO_LOCATION,
            likelihood=match.likelihood,
            trace=explain_match(match, self.min_score) if explain else None,
        )

    def classify(self, findings: Sequence[Finding], uri: str | None = None) -> Classification:
        return self.policy.classify(findings, uri)


def explain_match(match: RawMatch, min_score: float = 0.0) -> dict[str, Any]:
    """Why a match became a finding: what proposed it, what checked it, how it was scored.

    Describes the rule and the decisions only; it never holds the matched value.
    """
    spec = match.spec
    pattern = match.pattern
    if spec.engine is Engine.REGEX and pattern is not None:
        proposed: dict[str, Any] = {"engine": "regex", "pattern": pattern.regex}
        if pattern.requires_context:
            proposed["requires_context"] = True
    elif spec.engine in (Engine.SPACY, Engine.PRESIDIO):
        proposed = {"engine": spec.engine.value, "entities": list(spec.entities)}
    else:
        proposed = {"engine": spec.engine.value}
    checks: list[dict[str, Any]] = []
    if spec.validator:
        used = pattern is None or pattern.use_validator
        failed = any(
            name.startswith(f"validator {spec.validator} failed") for name, _ in match.steps
        )
        result = "failed (kept at a lower score)" if failed else "passed" if used else "skipped"
        checks.append({"check": f"validator {spec.validator}", "result": result})
    if spec.min_entropy is not None:
        entropy = round(shannon_entropy(match.value), 2)
        checks.append({"check": f"entropy >= {spec.min_entropy:g}", "result": f"{entropy:g}"})
    if spec.filter_placeholders:
        checks.append({"check": "not a placeholder", "result": "passed"})
    if spec.negative_context:
        checks.append({"check": "no negative context word", "result": "passed"})
    steps = [{"step": name, "score": score} for name, score in match.steps]
    if min_score:
        steps.append({"step": f"kept: score >= min_score {min_score:g}", "score": match.score})
    return {
        "detector": spec.id,
        "proposed_by": proposed,
        "checks": checks,
        "context": {
            "window": spec.context_window,
            "words_seen": list(match.context_words),
            "boost": spec.context_boost if match.context_words else 0.0,
        },
        "score_steps": steps,
        "score": match.score,
        "likelihood": match.likelihood.value,
    }
