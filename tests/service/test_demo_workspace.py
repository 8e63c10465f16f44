"""The demo workspace: fake data that the built-in detectors find, deterministic per seed."""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from classifiers.classifier import Classifier
from classifiers.engine import RULES_DIR, DetectorEngine, RawMatch
from classifiers.policy import Policy
from classifiers.validators.pii import credit_card, iban, luhn, us_ssn
from models import Category, Location
from scanner.extract import extract
from service.demo_workspace import (
    EXPECTED_LEVELS,
    PUBLIC_PREFIXES,
    card_number,
    iban_check_digits,
    luhn_check_digit,
    write_workspace,
)

RESTRICTED_TYPES = frozenset(
    {"US_SSN", "CREDIT_CARD", "IBAN_CODE", "US_BANK_NUMBER", "US_PASSPORT", "US_DRIVER_LICENSE"}
)
CONTACT_TYPES = frozenset({"EMAIL_ADDRESS", "PHONE_NUMBER", "STREET_ADDRESS", "DATE_OF_BIRTH"})
TEXT_SUFFIXES = {".txt", ".md", ".csv", ".tsv", ".json", ".jsonl", ".env", ".log", ".yaml"}
DOCUMENT_SUFFIXES = {".docx", ".xlsx", ".pdf", ".eml", ".zip"}
HAS_SECRET_RULES = (RULES_DIR / "secrets.yaml").exists()
NO_SECRET_RULES = "classifiers/rules/secrets.yaml does not exist yet"

Findings = dict[str, list[RawMatch]]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "workspace"
    write_workspace(root)
    return root


@pytest.fixture(scope="module")
def findings(workspace: Path) -> Findings:
    engine = DetectorEngine.builtin()
    rels = sorted(EXPECTED_LEVELS)
    texts = [_text(workspace / rel) for rel in rels]
    return dict(zip(rels, engine.analyze_batch(texts), strict=True))


def _text(path: Path) -> str:
    """A text file as it is; a document as the text its extractor yields."""
    if path.suffix not in DOCUMENT_SUFFIXES:
        return path.read_text(encoding="utf-8")
    return "\n".join(chunk.text for chunk in extract(path.read_bytes(), path.name).chunks)


def types(matches: Sequence[RawMatch]) -> set[str]:
    return {m.type for m in matches}


def secrets(matches: Sequence[RawMatch]) -> list[RawMatch]:
    return [m for m in matches if m.spec.category is Category.SECRET]


def _contact_key(m: RawMatch) -> str:
    if m.type == "PHONE_NUMBER":
        return "".join(c for c in m.value if c.isdigit())[-10:]
    return m.value.lower()


def policy_level(rel: str, matches: Sequence[RawMatch]) -> str:
    """The default level policy, restated: the level these findings justify."""
    found = types(matches)
    if secrets(matches) or found & RESTRICTED_TYPES:
        return "restricted"
    contacts = {_contact_key(m) for m in matches if m.type in ("EMAIL_ADDRESS", "PHONE_NUMBER")}
    if ("PERSON" in found and found & CONTACT_TYPES) or len(contacts) >= 10:
        return "confidential"
    if not matches and rel.startswith(PUBLIC_PREFIXES):
        return "public"
    return "internal"


# -- the files ---------------------------------------------------------------------------------


def test_writes_every_expected_file_small_and_sorted(tmp_path: Path) -> None:
    root = tmp_path / "new" / "workspace"
    paths = write_workspace(root)
    assert paths == sorted(paths)
    assert {p.relative_to(root).as_posix() for p in paths} == set(EXPECTED_LEVELS)
    assert all(p.suffix in TEXT_SUFFIXES | DOCUMENT_SUFFIXES for p in paths)
    assert {p.suffix for p in paths} >= DOCUMENT_SUFFIXES
    sizes = [p.stat().st_size for p in paths]
    assert max(sizes) < 50_000
    assert sum(sizes) < 300_000
    assert set(EXPECTED_LEVELS.values()) == {"public", "internal", "confidential", "restricted"}


@pytest.mark.parametrize("rel", sorted(EXPECTED_LEVELS), ids=str)
def test_findings_justify_expected_level(rel: str, findings: Findings) -> None:
    if rel == "engineering/deploy.env" and not HAS_SECRET_RULES:
        pytest.skip(NO_SECRET_RULES)
    got = policy_level(rel, findings[rel])
    assert got == EXPECTED_LEVELS[rel], sorted(types(findings[rel]))


REQUIRED = [
    ("hr/employees.csv", {"US_SSN", "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"}),
    ("finance/payments.tsv", {"CREDIT_CARD", "IBAN_CODE"}),
    ("sales/leads.jsonl", {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"}),
    ("support/ticket-4821.json", {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "STREET_ADDRESS"}),
    ("support/escalation-notes.md", {"PERSON", "DATE_OF_BIRTH", "STREET_ADDRESS"}),
    ("legal/contract-draft.txt", {"PERSON", "EMAIL_ADDRESS"}),
    ("ops/app.log", {"IP_ADDRESS", "DATE_TIME"}),
    ("marketing/campaign-plan.md", {"EMAIL_ADDRESS"}),
]


@pytest.mark.parametrize(("rel", "required"), REQUIRED, ids=[rel for rel, _ in REQUIRED])
def test_required_types_found(rel: str, required: set[str], findings: Findings) -> None:
    assert required <= types(findings[rel])


def test_every_identifier_is_found(findings: Findings) -> None:
    counts = {
        (rel, t): sum(m.type == t for m in findings[rel])
        for rel, t in [
            ("hr/employees.csv", "US_SSN"),
            ("finance/payments.tsv", "CREDIT_CARD"),
            ("finance/payments.tsv", "IBAN_CODE"),
            ("sales/leads.jsonl", "EMAIL_ADDRESS"),
        ]
    }
    assert counts == {
        ("hr/employees.csv", "US_SSN"): 40,
        ("finance/payments.tsv", "CREDIT_CARD"): 25,
        ("finance/payments.tsv", "IBAN_CODE"): 25,
        ("sales/leads.jsonl", "EMAIL_ADDRESS"): 30,
    }


ALLOWED = [
    ("ops/app.log", {"IP_ADDRESS", "DATE_TIME"}),
    ("marketing/campaign-plan.md", {"EMAIL_ADDRESS"}),
    ("engineering/service-config.yaml", set()),
    ("public/press-release.txt", set()),
    ("public/product-faq.md", set()),
]


@pytest.mark.parametrize(("rel", "allowed"), ALLOWED, ids=[rel for rel, _ in ALLOWED])
def test_low_level_files_hold_nothing_more(rel: str, allowed: set[str], findings: Findings) -> None:
    found = [(m.type, m.value) for m in findings[rel] if m.type not in allowed]
    assert found == []


def test_campaign_plan_has_only_the_role_mailbox(findings: Findings) -> None:
    emails = {m.value for m in findings["marketing/campaign-plan.md"] if m.type == "EMAIL_ADDRESS"}
    assert emails == {"marketing@brightwave.example"}


def test_no_secret_outside_the_env_file(findings: Findings) -> None:
    # Runs without secret rules too (then trivially): placeholders must stay quiet once they land.
    leaked = {rel: secrets(m) for rel, m in findings.items() if rel != "engineering/deploy.env"}
    assert {rel: [s.type for s in found] for rel, found in leaked.items() if found} == {}


def test_deploy_env_holds_secrets(findings: Findings) -> None:
    if not HAS_SECRET_RULES:
        pytest.skip(NO_SECRET_RULES)
    assert len(secrets(findings["engineering/deploy.env"])) >= 3


# -- the generated identifiers -----------------------------------------------------------------


def test_ssns_follow_ssa_rules(workspace: Path) -> None:
    with (workspace / "hr/employees.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 40
    for row in rows:
        area, group, serial = (int(p) for p in row["ssn"].split("-"))
        assert (1 <= area <= 665 or 667 <= area <= 899) and 1 <= group <= 99 and serial >= 1
        assert us_ssn(row["ssn"])


def test_cards_and_ibans_validate(workspace: Path) -> None:
    with (workspace / "finance/payments.tsv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == 25
    prefixes = {"visa": ("4",), "mastercard": ("51", "52", "53", "54", "55", "2"),
                "amex": ("34", "37")}  # fmt: skip
    for row in rows:
        digits = row["card_number"].replace(" ", "")
        assert credit_card(digits) and digits.startswith(prefixes[row["card_brand"]])
        assert len(digits) == (15 if row["card_brand"] == "amex" else 16)
        assert iban(row["iban"])
        assert len(row["iban"]) == {"GB": 22, "DE": 22, "FR": 27}[row["iban"][:2]]
    assert {row["iban"][:2] for row in rows} == {"GB", "DE", "FR"}
    assert {row["card_brand"] for row in rows} == {"visa", "mastercard", "amex"}


def test_checksum_helpers_match_published_examples() -> None:
    assert luhn_check_digit("411111111111111") == "1"
    assert luhn_check_digit("7992739871") == "3"
    assert iban_check_digits("DE", "370400440532013000") == "89"
    assert iban_check_digits("GB", "WEST12345698765432") == "82"
    assert iban_check_digits("FR", "20041010050500013M02606") == "14"


def test_mastercard_two_series_is_used() -> None:
    rng = random.Random(0)
    numbers = [card_number(rng, "mastercard").replace(" ", "") for _ in range(60)]
    assert any(2221 <= int(n[:4]) <= 2720 for n in numbers)
    assert any(51 <= int(n[:2]) <= 55 for n in numbers)
    assert all(luhn(n) for n in numbers)


# -- determinism -------------------------------------------------------------------------------


def snapshot(root: Path, paths: Sequence[Path]) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in paths}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, c = (tmp_path / n for n in "abc")
    first = snapshot(a, write_workspace(a, seed=11))
    again = snapshot(b, write_workspace(b, seed=11))
    other = snapshot(c, write_workspace(c, seed=12))
    assert first == again
    assert first.keys() == other.keys()
    changed = {rel for rel in first if first[rel] != other[rel]}
    # The fixed texts stay; everything drawn from the seed changes.
    assert changed == {
        rel for rel in first
        if rel not in {"engineering/service-config.yaml", "marketing/campaign-plan.md"}
        and not rel.startswith("public/")
    }  # fmt: skip


def test_default_seed_is_seven(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert snapshot(a, write_workspace(a)) == snapshot(b, write_workspace(b, seed=7))


# -- documents: their findings carry a location inside the file -------------------------------

CLF = Classifier(DetectorEngine.builtin(), Policy.load(), b"k" * 32)

DOCUMENT_LOCATIONS = [
    ("hr/offer-letter.docx", "US_SSN", Location(section="table 1", row=3, field="2")),
    ("finance/payroll-2024.xlsx", "US_SSN", Location(sheet="Payroll", cell="C2", field="ssn")),
    ("legal/nda-signed.pdf", "EMAIL_ADDRESS", Location(page=1, line=3, column=21)),
    ("support/inbox/complaint-7731.eml", "EMAIL_ADDRESS", Location(part="headers", field="From")),
    (
        "exports/hr-export.zip",
        "US_SSN",
        Location(member="hr/payroll.xlsx", sheet="Sheet1", cell="C2", field="ssn"),
    ),
]


@pytest.mark.parametrize(
    ("rel", "data_type", "where"), DOCUMENT_LOCATIONS, ids=[r for r, _, _ in DOCUMENT_LOCATIONS]
)
def test_document_findings_have_locations(
    workspace: Path, rel: str, data_type: str, where: Location
) -> None:
    path = workspace / rel
    first: Location | None = None
    for chunk in extract(path.read_bytes(), path.name).chunks:
        for f in CLF.findings(chunk.text):
            if f.type == data_type and first is None:
                first = chunk.locate(f.start or 0)
    assert first == where
