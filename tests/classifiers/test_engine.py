from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.engine import DetectorEngine
from classifiers.filters import PUBLISHED_KEYS, is_placeholder, load_published_keys
from classifiers.masking import fingerprint, mask
from classifiers.spec import MaskStyle, Normalize
from models.errors import DetectorDefinitionError

ENGINE = DetectorEngine.builtin()


def types(text: str) -> list[str]:
    return [m.type for m in ENGINE.analyze(text)]


def test_offsets_are_python_string_offsets() -> None:
    text = "Ünïcödé 日本 — SSN 536-22-1234"
    (m,) = [m for m in ENGINE.analyze(text) if m.type == "US_SSN"]
    assert text[m.start : m.end] == "536-22-1234"


def test_email_domain_is_not_a_url() -> None:
    assert types("write to ann@www.example.org") == ["EMAIL_ADDRESS"]


def test_context_raises_the_score() -> None:
    plain = ENGINE.analyze("id 536-22-1234")[0].score
    near = ENGINE.analyze("SSN: 536-22-1234")[0].score
    assert near > plain


def test_bare_nine_digits_need_context() -> None:
    assert "US_SSN" not in types("order 536221234 shipped")
    assert "US_SSN" in types("ssn 536221234")


def test_date_near_birth_words_is_a_date_of_birth() -> None:
    assert types("DOB: 1987-04-12") == ["DATE_OF_BIRTH"]
    assert types("shipped 1987-04-12") == ["DATE_TIME"]


@pytest.mark.parametrize(
    "value",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "xxxxxxxxxxxxxxxx",
        "<your-key>",
        "${API_KEY}",
        "{{ token }}",
        "changeme",
        "123456789",
        "your_api_key_here",
    ],
)
def test_placeholders(value: str) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize("value", ["Zq8!rT2#vLp9@xW", "ghp_7KqZ3mXr9TfB2nLw8YpC4vHd1sJe6aQo0uRt"])
def test_real_looking_values_are_not_placeholders(value: str) -> None:
    assert not is_placeholder(value)


def _one_char_changed(value: str) -> str:
    last = value[-1]
    return value[:-1] + ("b" if last == "a" else "a")


@pytest.mark.parametrize("value", sorted(load_published_keys()))
def test_keys_their_vendor_published_are_not_reported(value: str) -> None:
    # Bare, in an assignment, in a config line: never a secret finding. The same shape with one
    # character changed is a key nobody published, and is reported (AWS's documentation keys
    # say EXAMPLE, a placeholder word, whatever the rest); a short published password is
    # reported as a password, not as an API key.
    def secrets(text: str) -> list[str]:
        return [m.spec.id for m in ENGINE.analyze(text) if m.spec.category == "secret"]

    shapes = ("{}", "api_key = '{}'", "export API_KEY={}", "password = '{}'")
    for text in (shape.format(value) for shape in shapes):
        assert not secrets(text), text
    if "EXAMPLE" not in value:
        changed = _one_char_changed(value)
        shape = "api_key = '{}'" if len(value) >= 20 else "password = '{}'"
        assert secrets(shape.format(changed))


def test_published_keys_file_names_where_each_key_was_published() -> None:
    text = PUBLISHED_KEYS.read_text(encoding="utf-8")
    assert text.count("published_in:") == len(load_published_keys()) > 10


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("keys:\n  - {value: AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs, vendor: G}\n", "publish"),
        ("keys:\n  - {value: 'AKIA 1234 5678', vendor: AWS, published_in: d}\n", "without spaces"),
        (
            "keys:\n  - {value: AKIAIOSFODNN7EXAMPLE, vendor: AWS, published_in: a}\n"
            "  - {value: AKIAIOSFODNN7EXAMPLE, vendor: AWS, published_in: b}\n",
            "listed twice: AKIAIOSFODNN7EXAMPLE",
        ),
        ("keys: [\n", "not a valid published-keys file"),
    ],
)
def test_a_malformed_published_keys_file_is_rejected(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DetectorDefinitionError, match=message) as caught:
        load_published_keys(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("value", "style", "masked"),
    [
        ("536-22-1234", MaskStyle.LAST4, "***-**-1234"),
        ("4111 1111 1111 1111", MaskStyle.LAST4, "**** **** **** 1111"),
        ("1234567", MaskStyle.LAST4, "*******"),
        ("jane.doe@example.com", MaskStyle.EMAIL, "j***@example.com"),
        ("Jane Doe", MaskStyle.INITIALS, "J*** D**"),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", MaskStyle.PREFIX, "ghp_****************"),
        ("hunter2hunter2", MaskStyle.FULL, "**************"),
    ],
)
def test_masks(value: str, style: MaskStyle, masked: str) -> None:
    assert mask(value, style) == masked


def test_fingerprint_is_keyed_and_normalised() -> None:
    a = fingerprint(b"k1" * 16, "US_SSN", "536-22-1234", Normalize.DIGITS)
    assert a == fingerprint(b"k1" * 16, "US_SSN", "536 22 1234", Normalize.DIGITS)
    assert a != fingerprint(b"k2" * 16, "US_SSN", "536-22-1234", Normalize.DIGITS)
    assert a != fingerprint(b"k1" * 16, "PHONE_NUMBER", "536-22-1234", Normalize.DIGITS)


def _rule_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "custom.yaml"
    path.write_text(body)
    return path


def test_custom_rule_file_adds_a_detector(tmp_path: Path) -> None:
    path = _rule_file(
        tmp_path,
        """
detectors:
  - id: custom.employee_id
    type: EMPLOYEE_ID
    category: pii
    description: Acme employee numbers.
    patterns: [{regex: '\\bEMP-\\d{6}\\b'}]
    examples: {positive: ["badge EMP-123456"], negative: ["EMP-12"]}
""",
    )
    engine = DetectorEngine.builtin([path])
    assert [m.type for m in engine.analyze("badge EMP-123456")] == ["EMPLOYEE_ID"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "detectors: [{id: custom.x, type: X, category: pii, description: d,"
            " patterns: [{regex: '(a)\\1'}], examples: {positive: [a]}}]",
            "not valid RE2",
        ),
        (
            "detectors: [{id: custom.x, type: X, category: pii, description: d,"
            " patterns: [{regex: '(?<=a)b'}], examples: {positive: [a]}}]",
            "not valid RE2",
        ),
        (
            "detectors: [{id: custom.x, type: X, category: nope, description: d,"
            " patterns: [{regex: a}], examples: {positive: [a]}}]",
            "category",
        ),
        (
            "detectors: [{id: custom.x, type: X, category: pii, description: d,"
            " examples: {positive: [a]}}]",
            "needs at least one pattern",
        ),
        (
            "detectors: [{id: custom.x, type: X, category: pii, description: d,"
            " patterns: [{regex: a}], validator: nope, examples: {positive: [a]}}]",
            "unknown validator",
        ),
        (
            "detectors: [{id: pii.us_ssn, type: X, category: pii, description: d,"
            " patterns: [{regex: a}], examples: {positive: [a]}}]",
            "declared twice",
        ),
    ],
)
def test_bad_custom_detector_is_rejected_at_load(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(DetectorDefinitionError, match=message):
        DetectorEngine.builtin([_rule_file(tmp_path, body)])


def test_clear_caches_forgets_values_and_changes_no_result() -> None:
    from classifiers.ner import _plain

    text = "Card 4111 1111 1111 1111 seen on 2024-03-15 from 203.0.113.9"
    before = [(m.spec.id, m.start, m.end, m.score) for m in ENGINE.analyze(text)]
    _plain("Station")
    assert any(ENGINE._valid_cache.values()) and _plain.cache_info().currsize
    ENGINE.clear_caches()
    assert not any(ENGINE._valid_cache.values()) and not _plain.cache_info().currsize
    assert [(m.spec.id, m.start, m.end, m.score) for m in ENGINE.analyze(text)] == before
