from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.policy import Policy
from models import Category, Finding, Level
from models.errors import ConfigError


def f(data_type: str, value: str = "v", category: Category = Category.PII) -> Finding:
    return Finding(
        type=data_type,
        category=category,
        score=0.9,
        detector="t",
        evidence="***",
        fingerprint=f"{data_type}:{value}",
    )


POLICY = Policy.load()


@pytest.mark.parametrize(
    ("findings", "level", "rule"),
    [
        pytest.param(
            [f("AWS_ACCESS_KEY_ID", category=Category.SECRET)],
            "restricted",
            "secret",
            id="any-secret",
        ),
        pytest.param([f("US_SSN")], "restricted", "regulated-identifier", id="ssn"),
        pytest.param([f("CREDIT_CARD")], "restricted", "regulated-identifier", id="card"),
        pytest.param([f("IBAN_CODE")], "restricted", "regulated-identifier", id="iban"),
        pytest.param([f("US_BANK_NUMBER")], "restricted", "regulated-identifier", id="bank"),
        pytest.param([f("US_PASSPORT")], "restricted", "regulated-identifier", id="passport"),
        pytest.param([f("US_DRIVER_LICENSE")], "restricted", "regulated-identifier", id="dl"),
        pytest.param(
            [f("PERSON"), f("EMAIL_ADDRESS")],
            "confidential",
            "identifiable-person",
            id="person+email",
        ),
        pytest.param(
            [f("PERSON"), f("PHONE_NUMBER")],
            "confidential",
            "identifiable-person",
            id="person+phone",
        ),
        pytest.param(
            [f("PERSON"), f("STREET_ADDRESS")],
            "confidential",
            "identifiable-person",
            id="person+address",
        ),
        pytest.param(
            [f("PERSON"), f("DATE_OF_BIRTH")],
            "confidential",
            "identifiable-person",
            id="person+dob",
        ),
        pytest.param(
            [f("EMAIL_ADDRESS", f"u{i}@x.com") for i in range(10)],
            "confidential",
            "bulk-contact-data",
            id="bulk-emails",
        ),
        pytest.param(
            [f("EMAIL_ADDRESS", "same@x.com") for _ in range(20)],
            "internal",
            None,
            id="one-address-repeated-is-not-bulk",
        ),
        pytest.param([f("EMAIL_ADDRESS", "security@x.com")], "internal", None, id="role-mailbox"),
        pytest.param([f("PERSON")], "internal", None, id="name-alone"),
        pytest.param(
            [f("DATE_TIME"), f("IP_ADDRESS"), f("URL")], "internal", None, id="technical-data"
        ),
        pytest.param([], "internal", None, id="nothing"),
        pytest.param(
            [f("PERSON"), f("EMAIL_ADDRESS"), f("US_SSN")],
            "restricted",
            "regulated-identifier",
            id="highest-wins",
        ),
    ],
)
def test_default_policy(findings: list[Finding], level: str, rule: str | None) -> None:
    result = POLICY.classify(findings, "file:///data/x.txt")
    assert result.level == Level(level)
    assert [r.rule for r in result.reasons] == ([rule] if rule else [])


def test_reasons_name_the_findings_that_drove_them() -> None:
    result = POLICY.classify([f("PERSON"), f("EMAIL_ADDRESS"), f("DATE_TIME")])
    (reason,) = result.reasons
    assert reason.types == ["EMAIL_ADDRESS", "PERSON"]
    assert reason.count == 2


def test_public_only_without_findings_in_a_public_location() -> None:
    policy = POLICY.with_public_locations(["file:///site/public/*"])
    assert policy.classify([], "file:///site/public/faq.md").level is Level.PUBLIC
    assert policy.classify([], "file:///site/private/faq.md").level is Level.INTERNAL
    assert policy.classify([f("URL")], "file:///site/public/faq.md").level is Level.INTERNAL


def test_override_file_replaces_or_extends(tmp_path: Path) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "extends: default\nrules:\n"
        "  - name: any-name\n    level: confidential\n    when: {type: [PERSON]}\n"
    )
    assert Policy.load(strict).classify([f("PERSON")]).level is Level.CONFIDENTIAL
    assert Policy.load(strict).classify([f("US_SSN")]).level is Level.RESTRICTED
    alone = tmp_path / "alone.yaml"
    alone.write_text("rules:\n  - name: n\n    level: restricted\n    when: {type: [PERSON]}\n")
    assert Policy.load(alone).classify([f("US_SSN")]).level is Level.INTERNAL


@pytest.mark.parametrize(
    "text",
    [
        "rules: [{name: x, level: secretish, when: {type: [A]}}]",
        "rules: [{name: x, level: internal, when: {}}]",
        "default_level: public",
        "rules: [{name: x, level: internal, when: {type: [A]}, extra: 1}]",
        "rules: [unclosed",
    ],
)
def test_bad_policy_is_rejected_with_a_message(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"p\.yaml"):
        Policy.load(path)
