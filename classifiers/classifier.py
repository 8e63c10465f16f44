"""Detection, masking, fingerprinting and the level policy behind one object."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from classifiers.engine import DetectorEngine, RawMatch
from classifiers.masking import fingerprint, mask
from classifiers.policy import Policy
from models import Classification, Finding


@dataclass(frozen=True)
class ClassifierSettings:
    """Everything a worker process needs to build its Classifier (picklable)."""

    key: bytes
    rule_files: tuple[Path, ...] = ()
    policy_file: Path | None = None
    public_locations: tuple[str, ...] = ()
    min_score: float = 0.0


class Classifier:
    """Turns text into findings that are safe to store, and findings into a level."""

    def __init__(self, engine: DetectorEngine, policy: Policy, key: bytes, min_score: float = 0.0):
        self.engine = engine
        self.policy = policy
        self._key = key
        self.min_score = min_score

    @classmethod
    def from_settings(cls, settings: ClassifierSettings) -> Classifier:
        policy = Policy.load(settings.policy_file).with_public_locations(settings.public_locations)
        engine = DetectorEngine.builtin(settings.rule_files)
        return cls(engine, policy, settings.key, settings.min_score)

    def findings(self, text: str) -> list[Finding]:
        return self.findings_batch([text])[0]

    def findings_batch(self, texts: Sequence[str]) -> list[list[Finding]]:
        return [
            [self.to_finding(m) for m in matches if m.score >= self.min_score]
            for matches in self.engine.analyze_batch(texts)
        ]

    def to_finding(self, match: RawMatch) -> Finding:
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
        )

    def classify(self, findings: Sequence[Finding], uri: str | None = None) -> Classification:
        return self.policy.classify(findings, uri)
