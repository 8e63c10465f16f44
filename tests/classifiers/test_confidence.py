"""Scores, Cloud DLP likelihoods and the decision trace behind `perimeter classify --explain`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from classifiers.classifier import Classifier
from classifiers.engine import DetectorEngine, likelihood, load_specs
from classifiers.policy import Policy
from classifiers.spec import DetectorSpec
from models import Likelihood

SPECS = load_specs()
CLF = Classifier(DetectorEngine(SPECS), Policy.load(), b"k" * 32)
PERIMETER = str(Path(sys.executable).with_name("perimeter"))


@pytest.mark.parametrize(
    ("score", "bucket"),
    [
        pytest.param(0.0, Likelihood.VERY_UNLIKELY, id="zero"),
        pytest.param(0.249, Likelihood.VERY_UNLIKELY, id="below-0.25"),
        pytest.param(0.25, Likelihood.UNLIKELY, id="0.25"),
        pytest.param(0.45, Likelihood.POSSIBLE, id="0.45"),
        pytest.param(0.6, Likelihood.POSSIBLE, id="0.6"),
        pytest.param(0.7, Likelihood.LIKELY, id="0.7"),
        pytest.param(0.85, Likelihood.VERY_LIKELY, id="0.85"),
        pytest.param(1.0, Likelihood.VERY_LIKELY, id="one"),
    ],
)
def test_likelihood_buckets(score: float, bucket: Likelihood) -> None:
    assert likelihood(score) is bucket


def test_every_finding_has_a_likelihood_matching_its_score() -> None:
    (finding,) = CLF.findings("id 536-22-1234")
    assert finding.likelihood is likelihood(finding.score)
    assert finding.trace is None  # only when asked


def test_trace_shows_pattern_validator_context_and_score_steps() -> None:
    (finding,) = CLF.findings("SSN: 536-22-1234", explain=True)
    trace = finding.trace
    assert trace is not None
    assert trace["proposed_by"] == {"engine": "regex", "pattern": r"\b\d{3}-\d{2}-\d{4}\b"}
    assert {"check": "validator us_ssn", "result": "passed"} in trace["checks"]
    assert "ssn" in trace["context"]["words_seen"]
    assert [s["score"] for s in trace["score_steps"]] == [0.85, 0.95]
    assert trace["score"] == finding.score == 0.95
    assert trace["likelihood"] == "VERY_LIKELY"


def test_trace_without_context_has_one_step() -> None:
    (finding,) = CLF.findings("id 536-22-1234", explain=True)
    assert finding.trace is not None
    assert finding.trace["context"] == {"window": 48, "words_seen": [], "boost": 0.0}
    assert finding.trace["score_steps"] == [{"step": "pattern", "score": 0.85}]


def test_trace_names_the_context_required_by_a_pattern() -> None:
    (finding,) = CLF.findings("social security number 536221234", explain=True)
    assert finding.trace is not None
    assert finding.trace["proposed_by"]["requires_context"] is True


def test_trace_of_a_secret_shows_entropy_and_placeholder_checks() -> None:
    found = CLF.findings("aws_access_key_id = AKIAYYMEH2M6HY3KT44T", explain=True)
    (finding,) = [f for f in found if f.type == "AWS_ACCESS_KEY_ID"]
    assert finding.trace is not None
    checks = {c["check"]: c["result"] for c in finding.trace["checks"]}
    assert float(checks["entropy >= 3"]) >= 3
    assert checks["not a placeholder"] == "passed"


def _positives() -> list[pytest.param]:
    return [
        pytest.param(spec, text, id=f"{spec.id}-{i}")
        for spec in SPECS
        for i, text in enumerate(spec.examples.positive)
    ]


@pytest.mark.parametrize(("spec", "text"), _positives())
def test_trace_never_carries_the_raw_value(spec: DetectorSpec, text: str) -> None:
    for finding, match in zip(
        CLF.findings(text, explain=True), CLF.engine.analyze(text), strict=True
    ):
        if len(match.value) >= 6:  # shorter values can coincide with words of the trace
            assert match.value not in json.dumps(finding.trace)


def test_cli_explain_adds_likelihood_and_trace_only_when_asked() -> None:
    line = json.dumps({"id": 1, "text": "SSN 536-22-1234"}) + "\n"

    def classify(*flags: str) -> dict[str, object]:
        result = subprocess.run(
            [PERIMETER, "classify", *flags],
            input=line,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=dict(os.environ),
        )
        assert result.returncode == 0, result.stderr
        (ssn,) = json.loads(result.stdout)["findings"]
        assert isinstance(ssn, dict)
        return ssn

    plain = classify()
    explained = classify("--explain")
    assert "explain" not in plain and "likelihood" not in plain
    assert explained["likelihood"] == "VERY_LIKELY"
    trace = explained["explain"]
    assert isinstance(trace, dict) and trace["detector"] == "pii.us_ssn"
    assert {k: v for k, v in explained.items() if k not in ("explain", "likelihood")} == plain
    assert "536-22-1234" not in json.dumps(explained)
