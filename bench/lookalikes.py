"""False-flag rate on generated look-alikes: values shaped like PII that are not PII.

Usage: python bench/lookalikes.py [--n 200] [--seed 7] [--out PATH] [--ner]

Generates, with a fixed seed, texts holding values that have the shape of a sensitive type but
fail its rules (wrong check digit, unassigned range, a number with no identifying context), plus
common shapes of business data (order numbers, tracking numbers, versions, hashes, epochs,
UUIDs, prices). Writes them as JSON Lines to a temporary file (or --out) and prints, per family,
how many were flagged with the type they imitate and with any PII type. Nothing is committed:
the set is rebuilt on every run.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from classifiers.engine import DetectorEngine, load_specs
from classifiers.spec import Engine
from classifiers.validators import VALIDATORS

Maker = Callable[[random.Random], tuple[str, str]]  # -> (text, imitated type)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _failing(rng: random.Random, validator: str, make: Callable[[], str]) -> str:
    """A value of the right shape that the type's validator rejects."""
    check = VALIDATORS[validator]
    for _ in range(1000):
        value = make()
        if not check(value):
            return value
    raise RuntimeError(f"could not make a look-alike for {validator}")


def _id_lookalike(kind: str, validator: str, shape: Callable[[random.Random], str]) -> Maker:
    def make(rng: random.Random) -> tuple[str, str]:
        value = _failing(rng, validator, lambda: shape(rng))
        # The imitated type's own words are next to it: only the check digit tells them apart.
        return f"{kind.replace('_', ' ').lower()} {value}", kind

    return make


def _upper(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(n))


LOOKALIKES: dict[str, Maker] = {
    "card, bad Luhn": lambda r: (
        f"card {_failing(r, 'credit_card', lambda: '4' + _digits(r, 15))}",
        "CREDIT_CARD",
    ),
    "SSN, unassigned area": lambda r: (
        f"SSN {r.choice(['000', '666'])}-{_digits(r, 2)}-{_digits(r, 4)}",
        "US_SSN",
    ),
    "IBAN, bad check": lambda r: (
        f"IBAN {_failing(r, 'iban', lambda: 'DE' + _digits(r, 20))}",
        "IBAN_CODE",
    ),
    "UK NHS": _id_lookalike("UK_NHS", "uk_nhs", lambda r: _digits(r, 10)),
    "CA SIN": _id_lookalike(
        "CA_SIN", "ca_sin", lambda r: f"{_digits(r, 3)}-{_digits(r, 3)}-{_digits(r, 3)}"
    ),
    "IN Aadhaar": _id_lookalike(
        "IN_AADHAAR",
        "in_aadhaar",
        lambda r: f"{r.randint(2, 9)}{_digits(r, 3)} {_digits(r, 4)} {_digits(r, 4)}",
    ),
    "BR CPF": _id_lookalike(
        "BR_CPF",
        "br_cpf",
        lambda r: f"{_digits(r, 3)}.{_digits(r, 3)}.{_digits(r, 3)}-{_digits(r, 2)}",
    ),
    "ES NIF": _id_lookalike("ES_NIF", "es_nif", lambda r: _digits(r, 8) + _upper(r, 1)),
    "IT fiscal code": _id_lookalike(
        "IT_FISCAL_CODE",
        "it_fiscal_code",
        lambda r: (
            _upper(r, 6)
            + _digits(r, 2)
            + r.choice("ABCDEHLMPRST")
            + _digits(r, 2)
            + _upper(r, 1)
            + _digits(r, 3)
            + _upper(r, 1)
        ),
    ),
    "NL BSN": _id_lookalike("NL_BSN", "nl_bsn", lambda r: _digits(r, 9)),
    "PL PESEL": _id_lookalike("PL_PESEL", "pl_pesel", lambda r: _digits(r, 11)),
    "DE tax id": _id_lookalike(
        "DE_TAX_ID", "de_tax_id", lambda r: str(r.randint(1, 9)) + _digits(r, 10)
    ),
    "FI HETU": _id_lookalike(
        "FI_PERSONAL_IDENTITY_CODE",
        "fi_hetu",
        lambda r: (
            f"{r.randint(1, 28):02d}{r.randint(1, 12):02d}{_digits(r, 2)}"
            f"-{_digits(r, 3)}{_upper(r, 1)}"
        ),
    ),
    "SG NRIC": _id_lookalike(
        "SG_NRIC_FIN", "sg_nric", lambda r: "S" + _digits(r, 7) + _upper(r, 1)
    ),
    "MX CURP": _id_lookalike(
        "MX_CURP",
        "mx_curp",
        lambda r: (
            _upper(r, 4)
            + f"{_digits(r, 2)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}"
            + r.choice("HM")
            + _upper(r, 5)
            + _digits(r, 2)
        ),
    ),
    "Bitcoin, bad checksum": lambda r: (
        "wallet 1"
        + "".join(
            r.choice("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
            for _ in range(33)
        ),
        "CRYPTO",
    ),
    "order number": lambda r: (f"order {_digits(r, 9)} shipped", "US_SSN"),
    "invoice 16 digits": lambda r: (f"invoice {_digits(r, 16)}", "CREDIT_CARD"),
    "tracking number": lambda r: (f"tracking 1Z{_upper(r, 3)}{_digits(r, 13)}", "US_BANK_NUMBER"),
    "epoch millis": lambda r: (
        f"ts={r.randint(1_500_000_000_000, 1_800_000_000_000)}",
        "PHONE_NUMBER",
    ),
    "price and quantity": lambda r: (
        f"qty {r.randint(2, 999)} at ${r.randint(1, 9999)}.{_digits(r, 2)}",
        "PHONE_NUMBER",
    ),
    "version number": lambda r: (
        f"version {r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 99)}.{r.randint(0, 999)}",
        "IP_ADDRESS",
    ),
    "git sha": lambda r: (
        "commit " + "".join(r.choice("0123456789abcdef") for _ in range(40)),
        "CRYPTO",
    ),
    "uuid": lambda r: (
        "id "
        + "-".join(
            "".join(r.choice("0123456789abcdef") for _ in range(n)) for n in (8, 4, 4, 4, 12)
        ),
        "PHONE_NUMBER",
    ),
    "hex MAC-like hash": lambda r: (
        "checksum "
        + ":".join("".join(r.choice("0123456789abcdef") for _ in range(2)) for _ in range(8)),
        "MAC_ADDRESS",
    ),
    "ticket id": lambda r: (
        f"see JIRA-{r.randint(1, 99999)} and PR #{r.randint(1, 9999)}",
        "US_DRIVER_LICENSE",
    ),
    # Numbers next to capitalised words and street words that are not addresses.
    "street-like phrase": lambda r: (
        r.choice(
            [
                f"we sold {r.randint(2, 999)} items on Main Street",
                f"In {r.randint(1990, 2025)} {r.choice(['Apple', 'Central', 'Hyde'])} Park opened",
                f"Chapter {r.randint(1, 40)} covers Windows {r.randint(7, 11)}",
                f"We have {r.randint(2, 9)} {r.choice(['Green', 'Oak', 'Pine'])} Park tickets",
                f"Please upgrade {r.randint(2, 50)} servers and delegate {r.randint(2, 9)} tasks",
                f"sent via email {r.randint(2, 9)} times",
                f"Room {r.randint(100, 999)} on Floor {r.randint(1, 30)}",
                f"Python {r.randint(2, 3)}.{r.randint(0, 13)} Release Notes",
            ]
        ),
        "STREET_ADDRESS",
    ),
    # Phone words next to numbers that are dates, amounts, times or counts.
    "phone words, no phone": lambda r: (
        r.choice(
            [
                f"call log {r.randint(2000, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
                f" {r.randint(0, 23):02d}:{r.randint(0, 59):02d}",
                f"phone bill was {r.randint(10, 9999)}.{_digits(r, 2)} this month",
                f"text me the {r.randint(2, 99)} files",
                f"office hours {r.randint(7, 10)}-{r.randint(16, 19)}",
                f"call reference {r.randint(1, 28):02d}/{r.randint(1, 12):02d}"
                f"/{r.randint(2000, 2025)}",
                f"mobile app v{r.randint(1, 9)}.{r.randint(0, 99)}.{r.randint(0, 999)}",
            ]
        ),
        "PHONE_NUMBER",
    ),
}


def generate(n: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for family, make in LOOKALIKES.items():
        for _ in range(n):
            text, imitated = make(rng)
            rows.append({"family": family, "imitates": imitated, "text": text})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="texts per family")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="where to write the set (default: a temp file)")
    parser.add_argument("--ner", action="store_true", help="also run spaCy PERSON/LOCATION")
    args = parser.parse_args()
    rows = generate(args.n, args.seed)
    out = args.out or Path(tempfile.mkstemp(prefix="lookalikes-", suffix=".jsonl")[1])
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    specs = [s for s in load_specs() if args.ner or s.engine is not Engine.SPACY]
    specs = [s for s in specs if s.category.value == "pii"]
    engine = DetectorEngine(specs)
    found = engine.analyze_batch([r["text"] for r in rows])
    same: Counter[str] = Counter()
    anything: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for row, matches in zip(rows, found, strict=True):
        # A date is a DATE_TIME whatever its neighbours: not a false flag of a look-alike.
        flagged = [m.type for m in matches if m.type != "DATE_TIME"]
        same[row["family"]] += row["imitates"] in flagged
        anything[row["family"]] += bool(flagged)
        types.update(flagged)
    print(f"{len(rows)} look-alikes written to {out}\n")
    print(f"{'family':<24}{'texts':>7}{'as imitated type':>18}{'as any PII':>12}")
    for family in LOOKALIKES:
        print(f"{family:<24}{args.n:>7}{same[family]:>18}{anything[family]:>12}")
    total = len(rows)
    print(
        f"\nflagged as the imitated type: {sum(same.values())}/{total}"
        f" = {sum(same.values()) / total:.2%}"
    )
    print(
        f"flagged as any PII type:      {sum(anything.values())}/{total}"
        f" = {sum(anything.values()) / total:.2%}"
    )
    print(f"types flagged: {dict(types.most_common())}")


if __name__ == "__main__":
    main()
