"""Check-digit validators of national ids, tax ids and wallet addresses: valid and look-alikes."""

from __future__ import annotations

import pytest

from classifiers.validators import VALIDATORS
from classifiers.validators.pii_ids import verhoeff

# (validator, a valid value, a look-alike with the same shape that must fail)
CASES = [
    ("us_itin", "912-70-1234", "912-40-1234"),
    ("us_ein", "12-3456789", "07-1234567"),
    ("us_mbi", "1EG4-TE5-MK73", "1EG4-TS5-MK73"),
    ("us_npi", "1234567893", "1234567890"),
    ("dea_number", "AB1234563", "AB1234564"),
    ("uk_nino", "AB123456C", "GB123456A"),
    ("uk_nhs", "943 476 5919", "943 476 5918"),
    ("ca_sin", "130 692 544", "130 692 545"),
    ("au_tfn", "123 456 782", "123 456 789"),
    ("au_medicare", "2123 45670 1", "2123 45671 1"),
    ("au_abn", "51 824 753 556", "51 824 753 557"),
    ("in_aadhaar", "2345 6789 0124", "2345 6789 0123"),
    ("in_pan", "ABCPE1234F", "ABCZE1234F"),
    ("sg_nric", "S1234567D", "S1234567A"),
    ("br_cpf", "529.982.247-25", "529.982.247-26"),
    ("br_cnpj", "11.222.333/0001-81", "11.222.333/0001-82"),
    ("mx_curp", "GORS850312HDFNMR02", "GORS850312HDFNMR03"),
    ("es_nif", "12345678Z", "12345678A"),
    ("es_nie", "X1234567L", "X1234567A"),
    ("it_fiscal_code", "RSSMRA85T10A562S", "RSSMRA85T10A562T"),
    ("fr_nir", "1 84 12 76 451 089 46", "1 84 12 76 451 089 47"),
    ("de_tax_id", "86095742719", "86095742718"),
    ("nl_bsn", "111222333", "111222334"),
    ("pl_pesel", "44051401359", "44051401358"),
    ("se_personnummer", "811218-9876", "811218-9875"),
    ("fi_hetu", "131052-308T", "131052-308U"),
    ("mac_address", "00:1A:2B:3C:4D:5E", "00:00:00:00:00:00"),
    ("crypto_address", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"),
    ("crypto_address", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz"),
    (
        "crypto_address",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr",
    ),
    ("au_acn", "004 085 616", "004 085 617"),
    ("kr_rrn", "850312-1234565", "850312-1234566"),
    ("th_tnin", "1101700203247", "1101700203248"),
    ("it_vat", "00762540227", "00762540228"),
    ("de_vat", "DE136695976", "DE136695977"),
    ("fr_vat", "FR44732829320", "FR45732829320"),
    ("nl_vat", "NL123456782B01", "NL123456783B01"),
    ("be_vat", "BE0403019261", "BE0403019262"),
    ("at_vat", "ATU13585627", "ATU13585628"),
    ("pl_nip", "526-025-02-74", "526-025-02-75"),
    ("no_fodselsnummer", "01018512366", "01018512367"),
    ("ie_pps", "1234567FA", "1234567GA"),
    ("pt_nif", "501234560", "501234561"),
    ("za_id", "8001015009087", "8001015009088"),
    ("ch_ahv", "756.1234.5678.97", "756.1234.5678.98"),
]


@pytest.mark.parametrize(("name", "valid", "_"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_valid_value_passes(name: str, valid: str, _: str) -> None:
    assert VALIDATORS[name](valid)


@pytest.mark.parametrize(("name", "_", "fake"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_look_alike_fails(name: str, _: str, fake: str) -> None:
    assert not VALIDATORS[name](fake)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("ca_sin", "046 454 286", id="sin-0-series-unassigned"),
        pytest.param("in_aadhaar", "1234 5678 9012", id="aadhaar-starts-with-1"),
        pytest.param("pl_pesel", "44133101359", id="pesel-month-13"),
        pytest.param("mx_curp", "GORS851312HDFNMR02", id="curp-month-13"),
        pytest.param("de_tax_id", "12345678903", id="taxid-no-repeated-digit"),
        pytest.param("uk_nhs", "0000000000", id="nhs-all-zero"),
        pytest.param("br_cpf", "111.111.111-11", id="cpf-one-digit"),
        pytest.param("fi_hetu", "311352-308T", id="hetu-month-13"),
        pytest.param(
            "crypto_address", "bc1QAR0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", id="mixed-case"
        ),
        pytest.param("us_mbi", "0EG4TE5MK73", id="mbi-leading-zero"),
    ],
)
def test_structural_rules(name: str, value: str) -> None:
    assert not VALIDATORS[name](value)


def test_verhoeff_catches_every_single_digit_error() -> None:
    valid = "234567890124"
    assert verhoeff(valid)
    for i, ch in enumerate(valid):
        for d in "0123456789":
            if d != ch:
                assert not verhoeff(valid[:i] + d + valid[i + 1 :])
