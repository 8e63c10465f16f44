"""Custom detectors from a rule file (regex, word lists, context, the level they imply), through
the command line as users run it, and bad declarations rejected at load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import re2

from classifiers.engine import DetectorEngine, load_specs
from classifiers.spec import load_rule_file, word_list_regex
from models.errors import DetectorDefinitionError

PERIMETER = str(Path(sys.executable).with_name("perimeter"))

RULES = """
detectors:
  - id: custom.employee_id
    type: EMPLOYEE_ID
    category: pii
    description: Acme employee numbers; a bare one needs an employee word nearby.
    patterns:
      - {regex: '\\bEMP-\\d{6}\\b', score: 0.7, requires_context: true}
    context: [employee, badge]
    level: confidential
    examples: {positive: ["employee EMP-123456"], negative: ["EMP-123456 shipped"]}
  - id: custom.codename
    type: PROJECT_CODENAME
    category: pii
    description: Unreleased project code names.
    words: [Blue Heron, Nightjar, Zürich Nord]
    words_score: 0.9  # above spaCy's PERSON (0.85): 'Zürich Nord' looks like a name to it
    negative_context: [birdwatching]
    level: restricted
    mask: full
    examples:
      positive: ["Roadmap: BLUE HERON ships in May"]
      negative: ["nightjars are birds", "birdwatching: a nightjar at dusk"]
"""


def run(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PERIMETER, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=cwd,
        env={**os.environ},
    )


@pytest.fixture()
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(RULES)
    return path


def test_classify_with_custom_rules(rules: Path) -> None:
    lines = [
        {"id": 1, "text": "New employee EMP-004211 starts Monday."},
        {"id": 2, "text": "Order EMP-004211 shipped."},
        {"id": 3, "text": "Status of blue\nheron and of Zürich Nord; nightjars are birds."},
        {"id": 4, "text": "birdwatching log: a Nightjar at dusk"},
    ]
    stdin = "".join(json.dumps(x) + "\n" for x in lines)
    result = run("classify", "--rules", str(rules), stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = {o["id"]: o for o in map(json.loads, result.stdout.splitlines())}

    emp = [f for f in out[1]["findings"] if f["type"] == "EMPLOYEE_ID"]
    assert [lines[0]["text"][f["start"] : f["end"]] for f in emp] == ["EMP-004211"]
    assert emp[0]["detector"] == "custom.employee_id" and emp[0]["score"] == pytest.approx(0.85)
    assert out[1]["level"] == "confidential"
    assert not [f for f in out[2]["findings"] if f["type"] == "EMPLOYEE_ID"]  # no context word

    names = [f for f in out[3]["findings"] if f["type"] == "PROJECT_CODENAME"]
    text = lines[2]["text"]
    assert [text[f["start"] : f["end"]] for f in names] == ["blue\nheron", "Zürich Nord"]
    assert all(f["score"] == 0.9 and set(f["evidence"]) == {"*"} for f in names)
    assert out[3]["level"] == "restricted"
    assert not [f for f in out[4]["findings"] if f["type"] == "PROJECT_CODENAME"]
    assert "EMP-004211" not in result.stdout and "Nord" not in result.stdout


def test_scan_with_custom_rules(rules: Path, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "plan.txt").write_text("Q3 plan: Nightjar launch, owner team 4.\n")
    (root / "other.txt").write_text("Lunch menu for Friday.\n")
    db = tmp_path / "s.db"
    scan = run("scan", str(root), "--db", str(db), "--rules", str(rules))
    assert scan.returncode == 0, scan.stderr
    listed = run("map", "--db", str(db), "--items", "--format", "jsonl")
    assert listed.returncode == 0, listed.stderr
    items = {Path(r["uri"]).name: r for r in map(json.loads, listed.stdout.splitlines())}
    assert items["plan.txt"]["level"] == "restricted"
    assert "PROJECT_CODENAME" in items["plan.txt"]["types"]
    assert items["other.txt"]["level"] == "internal"


DETECTOR = """
  - id: {id}
    type: {type}
    category: {category}
    description: a test detector
    {body}
    examples: {{positive: ["x"]}}
"""


def _file(tmp_path: Path, *detectors: dict[str, str]) -> Path:
    defaults = {"id": "custom.thing", "type": "THING", "category": "pii", "body": ""}
    text = "detectors:\n" + "".join(DETECTOR.format(**{**defaults, **d}) for d in detectors)
    path = tmp_path / "custom.yaml"
    path.write_text(text)
    return path


BAD = [
    pytest.param(
        [{"body": "patterns: [{regex: '(?<=EMP-)\\d+'}]"}],
        "detector custom.thing: pattern is not valid RE2 syntax",
        id="look-behind",
    ),
    pytest.param(
        [{"body": "patterns: [{regex: '(a'}]"}],
        "detector custom.thing: pattern is not valid RE2 syntax",
        id="unbalanced",
    ),
    pytest.param(
        [{"body": "words: []"}],
        "detector custom.thing: words: List should have at least 1 item",
        id="empty-word-list",
    ),
    pytest.param(
        [{"body": "words: [alpha, '  ']"}],
        "detector custom.thing: words must be a list of non-empty strings",
        id="blank-word",
    ),
    pytest.param(
        [{"body": "patterns: [{regex: 'x'}]\n    validator: mod_97_banana"}],
        "detector custom.thing: unknown validator 'mod_97_banana'",
        id="unknown-validator",
    ),
    pytest.param(
        [{"category": "medical", "body": "patterns: [{regex: 'x'}]"}],
        "detector custom.thing: category: Input should be 'pii' or 'secret'",
        id="unknown-category",
    ),
    pytest.param(
        [{"body": "patterns: [{regex: 'x'}]\n    level: secret"}],
        "detector custom.thing: level: Input should be",
        id="unknown-level",
    ),
    pytest.param(
        [{"body": "patterns: [{regex: 'x'}]"}, {"body": "words: [y]"}],
        "detector custom.thing: id is declared twice",
        id="duplicate-id",
    ),
    pytest.param(
        [{"body": "words: [y]\n    colour: red"}],
        "detector custom.thing: colour: Extra inputs are not permitted",
        id="unknown-field",
    ),
]


@pytest.mark.parametrize(("detectors", "message"), BAD)
def test_bad_definitions_are_rejected_at_load(
    tmp_path: Path, detectors: list[dict[str, str]], message: str
) -> None:
    path = _file(tmp_path, *detectors)
    with pytest.raises(DetectorDefinitionError) as err:
        load_rule_file(path)
    assert str(err.value).startswith(f"{path}: "), err.value
    assert message in str(err.value)


def test_id_already_built_in_names_both_files(tmp_path: Path) -> None:
    path = _file(tmp_path, {"id": "pii.us_ssn", "body": "words: [y]"})
    with pytest.raises(DetectorDefinitionError) as err:
        load_specs([path])
    assert str(err.value).startswith(
        f"{path}: detector pii.us_ssn: id is declared twice (first in "
    )
    assert "pii.yaml" in str(err.value)


def test_bad_rules_fail_the_command_with_one_line(tmp_path: Path) -> None:
    path = _file(tmp_path, {"body": "words: []"})
    result = run("classify", "--rules", str(path), stdin='{"id": 1, "text": "x"}\n')
    assert result.returncode == 2, result.stderr
    assert f"{path}: detector custom.thing:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Anaïs and Banana and ana.", ["ana"], id="not-inside-words"),
        pytest.param("C++ and c++11", ["C++"], id="symbols-escaped"),
        pytest.param("date of\n birth", ["date of\n birth"], id="any-whitespace"),
        pytest.param("ANA,ana", ["ANA"], id="one-char-between-counts-once"),
        pytest.param("a.b", [], id="dot-is-literal"),
    ],
)
def test_word_list_pattern(text: str, expected: list[str]) -> None:
    regex = re2.compile(word_list_regex(["Ana", "C++", "date of birth", "a*b"]))
    group = regex.groupindex["value"]
    assert [text[slice(*m.span(group))] for m in regex.finditer(text)] == expected


@pytest.mark.parametrize("backend", ["re2", "hyperscan"])
def test_word_lists_in_the_one_pattern_engine(backend: str, rules: Path) -> None:
    engine = DetectorEngine(load_rule_file(rules), backend=backend, cache_dir=None)
    text = "Zürich Nord and nightjar; not Nightjars."
    found = [(m.type, text[m.start : m.end]) for m in engine.analyze(text)]
    assert found == [("PROJECT_CODENAME", "Zürich Nord"), ("PROJECT_CODENAME", "nightjar")]


def test_examples_of_the_documented_rule_file_pass(rules: Path) -> None:
    engine = DetectorEngine(load_rule_file(rules))
    for spec in engine.specs:
        for text in spec.examples.positive:
            assert spec.id in {m.spec.id for m in engine.analyze(text)}, text
        for text in spec.examples.negative:
            assert spec.id not in {m.spec.id for m in engine.analyze(text)}, text


def test_docs_example_loads(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "detectors.md"
    section = docs.read_text().split("## Custom detectors", 1)[1]
    block = section.split("```yaml", 1)[1].split("```", 1)[0]
    path = tmp_path / "doc.yaml"
    path.write_text(textwrap.dedent(block))
    specs = load_rule_file(path)
    engine = DetectorEngine(specs)
    for spec in specs:
        for text in spec.examples.positive:
            assert spec.id in {m.spec.id for m in engine.analyze(text)}, text
