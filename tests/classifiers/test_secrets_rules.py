"""Secret rules beyond the generic example contract: the rule set's size and shape, the secret
validators' checksums and structure checks, and the rule table in docs/secrets.md."""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path

import pytest

from classifiers.classifier import explain_match
from classifiers.engine import DetectorEngine, RawMatch, load_specs
from classifiers.filters import is_placeholder
from classifiers.spec import Engine
from classifiers.validators import secrets as v
from models import Category, Likelihood

SECRET_SPECS = [s for s in load_specs() if s.category is Category.SECRET]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "secrets.md"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _b58check(body: bytes) -> str:
    data = body + hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4]
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, rem = divmod(n, 58)
        out = _B58[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def _bech32(hrp: str, data: list[int]) -> str:
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = v._bech32_polymod(expanded + data + [0] * 6) ^ 1
    check = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + check)


_RNG = random.Random(3)
_KEY = _RNG.randbytes(32)
_WIF_COMPRESSED = _b58check(b"\x80" + _KEY + b"\x01")
_WIF_UNCOMPRESSED = _b58check(b"\x80" + _KEY)
_AGE = _bech32("age-secret-key-", [_RNG.randrange(32) for _ in range(52)]).upper()


def test_more_than_200_secret_rules_with_examples() -> None:
    assert len(SECRET_SPECS) >= 200
    for spec in SECRET_SPECS:
        assert spec.examples.positive and spec.examples.negative, spec.id
        assert spec.filter_placeholders, f"{spec.id}: placeholders must be filtered"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(_WIF_COMPRESSED, True, id="wif-compressed"),
        pytest.param(_WIF_UNCOMPRESSED, True, id="wif-uncompressed"),
        pytest.param(_WIF_COMPRESSED[:-1] + ("A" if _WIF_COMPRESSED[-1] != "A" else "B"), False,
                     id="wif-bad-checksum"),
        pytest.param(_b58check(b"\x00" + _KEY[:20]), False, id="address-not-key"),
        pytest.param("0" + _WIF_UNCOMPRESSED[1:], False, id="not-base58"),
    ],
)  # fmt: skip
def test_bitcoin_wif(value: str, expected: bool) -> None:
    assert v.bitcoin_wif(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(_AGE, True, id="valid"),
        pytest.param(_AGE.lower(), True, id="lower-case"),
        pytest.param(_AGE[:-1] + ("Q" if _AGE[-1] != "Q" else "P"), False, id="bad-checksum"),
        pytest.param("AGE-SECRET-KEY-1" + "Q" * 58, False, id="all-zero-filler"),
        pytest.param("AGE-SECRET-KEY-" + "B" * 59, False, id="no-separator-data"),
    ],
)
def test_bech32_checksum(value: str, expected: bool) -> None:
    assert v.bech32_checksum(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("3f1d2a9c-7b4e-4d0a-9e61-5c2b8f7a1d34", True, id="v4"),
        pytest.param("3F1D2A9C-7B4E-4D0A-9E61-5C2B8F7A1D34", True, id="v4-upper"),
        pytest.param("12345678-ABCD-ABCD-ABCD-1234567890AB", False, id="typed-example"),
        pytest.param("3f1d2a9c-7b4e-1d0a-9e61-5c2b8f7a1d34", False, id="v1"),
        pytest.param("3f1d2a9c-7b4e-4d0a-7e61-5c2b8f7a1d34", False, id="bad-variant"),
        pytest.param("00000000-0000-4000-8000-000000000000", False, id="zeros"),
    ],
)
def test_uuid4(value: str, expected: bool) -> None:
    assert v.uuid4(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("xoxa-2-511111111-31111111111-3111111111111-7c2e9f04b81d5a3e6f", True,
                     id="ids-repeat-digits"),
        pytest.param("xoxb-123456789012-1234567890123-abcdefabcdefabcdef", False, id="filler-tail"),
        pytest.param("xoxb-505611895852-2698003751727-4NwLjBfY9MPPRUp9YcOJAU0V", True, id="bot"),
        pytest.param("xoxp-1-abc", False, id="short-tail"),
    ],
)  # fmt: skip
def test_tail_no_filler(value: str, expected: bool) -> None:
    assert v.tail_no_filler(value) is expected


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(_b64(b"deploy-bot:cVO3EdsgypQM8mYIuX38"), True, id="user-password"),
        pytest.param(_b64(b"ci:password"), False, id="placeholder-password"),
        pytest.param(_b64(b"no-colon-here"), False, id="no-colon"),
        pytest.param(_b64(b"\x00\xffbinary:zz"), False, id="binary"),
        pytest.param("not base64!", False, id="not-base64"),
    ],
)
def test_base64_credentials(value: str, expected: bool) -> None:
    assert v.base64_credentials(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(_b64(_RNG.randbytes(32)), True, id="32-bytes"),
        pytest.param(_b64(_RNG.randbytes(33)), False, id="33-bytes"),
        pytest.param("A" * 43 + "=", False, id="zero-key"),
    ],
)
def test_key_32_bytes(value: str, expected: bool) -> None:
    assert v.key_32_bytes(value) is expected


def test_twitter_bearer_ignores_leading_zero_bytes() -> None:
    body = "".join(_RNG.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                   for _ in range(80))  # fmt: skip
    assert v.twitter_bearer("A" * 22 + body)
    assert not v.twitter_bearer("A" * 22 + "1234567890" * 8)


def test_docs_table_lists_every_secret_rule() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [s.id for s in SECRET_SPECS if f"`{s.id}`" not in text]
    assert not missing, f"docs/secrets.md lacks {missing}; run python bench/secrets_table.py"


# -- values that fail a strict check are kept at a lower score ------------------------------------

_ENGINE = DetectorEngine([s for s in load_specs() if s.engine is Engine.REGEX])
_GOOD_GITHUB = "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"


def _only(text: str, detector: str) -> RawMatch:
    found = [m for m in _ENGINE.analyze(text) if m.spec.id == detector]
    assert len(found) == 1, (detector, [m.spec.id for m in _ENGINE.analyze(text)])
    return found[0]


@pytest.mark.parametrize(
    ("text", "detector", "validator", "likelihood"),
    [
        pytest.param("token " + _GOOD_GITHUB[:-1] + "A", "secret.github_token", "github_checksum",
                     Likelihood.POSSIBLE, id="github-crc-typo"),
        pytest.param("npm token npm_ufGPYK2ypPdVJzJ0KgY4ZZlIONU8Oo2FtB9B", "secret.npm_token",
                     "npm_checksum", Likelihood.POSSIBLE, id="npm-crc-typo"),
        pytest.param("AGE-SECRET-KEY-1" + "Q" * 58, "secret.age_secret_key", "bech32_checksum",
                     Likelihood.POSSIBLE, id="age-all-zero"),
        pytest.param(_AGE[:-1] + ("Q" if _AGE[-1] != "Q" else "P"), "secret.age_secret_key",
                     "bech32_checksum", Likelihood.POSSIBLE, id="age-bad-checksum"),
        pytest.param('snykToken = "12345678-ABCD-ABCD-ABCD-1234567890AB"', "secret.snyk_token",
                     "uuid4", Likelihood.UNLIKELY, id="snyk-not-v4"),
        pytest.param('HEROKU_API_KEY="10789a0a-19e0-1985-8860-247ce8bd169d"',
                     "secret.heroku_api_key_legacy", "uuid4", Likelihood.UNLIKELY, id="heroku-v1"),
        pytest.param('MessageBirdToken="3f1d2a9c-7b4e-1d0a-9e61-5c2b8f7a1d34"',
                     "secret.messagebird_uuid_key", "uuid4", Likelihood.UNLIKELY,
                     id="messagebird-v1"),
        pytest.param('sonar.login=0b00ea6550f7846d88d002582c56657fa3g3819b',
                     "secret.sonarqube_token_legacy", "hex_token", Likelihood.UNLIKELY,
                     id="sonar-not-hex"),
    ],
)  # fmt: skip
def test_failed_check_is_reported_lower(
    text: str, detector: str, validator: str, likelihood: Likelihood
) -> None:
    match = _only(text, detector)
    assert match.likelihood is likelihood
    assert match.score <= 0.5
    assert any(step.startswith(f"validator {validator} failed") for step, _ in match.steps)
    trace = explain_match(match)
    assert {"check": f"validator {validator}", "result": "failed (kept at a lower score)"} in (
        trace["checks"]
    )
    assert any("failed" in s["step"] for s in trace["score_steps"])


@pytest.mark.parametrize(
    ("text", "detector"),
    [
        pytest.param("token " + _GOOD_GITHUB, "secret.github_token", id="github"),
        pytest.param(_AGE, "secret.age_secret_key", id="age"),
        pytest.param('snykToken = "9dc59da0-33d6-4d17-ace3-57b423ec7c0c"', "secret.snyk_token",
                     id="snyk-v4"),
        pytest.param("sonar.login=0b00ea6550f7846d88d002582c56657fa303819b",
                     "secret.sonarqube_token_legacy", id="sonar-hex"),
    ],
)  # fmt: skip
def test_strict_form_stays_very_likely(text: str, detector: str) -> None:
    match = _only(text, detector)
    assert match.likelihood is Likelihood.VERY_LIKELY
    assert not any("failed" in step for step, _ in match.steps)
    assert {"check": f"validator {match.spec.validator}", "result": "passed"} in (
        explain_match(match)["checks"]
    )


def test_a_failed_check_never_outscores_context() -> None:
    # Context words add their boost first; the cap of the unverified score still holds.
    match = _only("sops age identity AGE-SECRET-KEY-1" + "Q" * 58, "secret.age_secret_key")
    assert match.context_words and match.score == 0.5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("0b00ea6550f7846d88d002582c56657fa303819b", True, id="lower-hex"),
        pytest.param("0B00EA6550F7846D88D002582C56657FA303819B", True, id="upper-hex"),
        pytest.param("0b00eA6550f7846d88d002582c56657fa303819b", False, id="mixed-case"),
        pytest.param("12345678ABCDEFH1234567890ABCDEFH12345678", False, id="not-hex"),
        pytest.param("1234567890abcdef1234567890abcdef12345678", False, id="filler"),
    ],
)
def test_hex_token(value: str, expected: bool) -> None:
    assert v.hex_token(value) is expected


# -- placeholder words are judged as words --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("fake-token", True, id="literally-fake"),
        pytest.param("myFakeApiKey1", True, id="camel-word"),
        pytest.param("FAKE_KEY_0193", True, id="upper-word"),
        pytest.param("Example9Token", True, id="capitalised-word"),
        pytest.param("xoxb-123456789012-Xw937qtWSXJss1lFaKe", False, id="random-mixed-case"),
        pytest.param("uXsamplez9QrT", False, id="inside-a-random-run"),
        pytest.param("k9" + "Qm3vT8zLx2" * 7 + "-example-" + "Wq5", True, id="long-delimited"),
        pytest.param("k9" + "Qm3vT8zLx2" * 7 + "Rfake3" + "Wq5", False, id="long-undelimited"),
    ],
)
def test_placeholder_words(value: str, expected: bool) -> None:
    assert is_placeholder(value) is expected


# -- common credential forms ---------------------------------------------------------------------


def _secret_types(text: str) -> set[str]:
    return {m.type for m in _ENGINE.analyze(text) if m.spec.category is Category.SECRET}


@pytest.mark.parametrize(
    "text",
    [
        'token := GetEnvOrDefault("api_token", "b7d1c2e4-9f3a-4c8e-a1d6-2e5f7c9b0a13")',
        "os.environ.get('SECRET_TOKEN', 'Zr8Tq2LmX9vK4pW7nB3c')",
        'password: "Xk9#mP2vLq7!"',
        "  db_pass = 'Xk9#mP2vLq7!'",
        "mysql -u admin -pXk9mP2vLq7tR -h db.internal",
        'mysql -u admin -p"Xk9#mP2vLq7!" orders',
        "docker login -u bot -p Xk9mP2vLq7tR registry.acme.io",
        "sqlcmd -S db -U sa -P Xk9mP2vLq7tR",
        "Server=tcp:acme.database.windows.net,1433;User ID=app;Password=Xk9mP2vLq7tR;",
        "jdbc:mysql://db.internal:3306/app?user=app&password=Xk9mP2vLq7tR",
        "mongodb+srv://app:Xk9mP2vLq7tR@cluster0.abcd.mongodb.net/test",
        "<snykToken>\n  9dc59da0-33d6-4d17-ace3-57b423ec7c0c\n</snykToken>",
        'System.setProperty("SONAR_TOKEN", "0b00ea6550f7846d88d002582c56657fa303819b")',
        'var hubspotKey string = "fbd5bef2-74a3-4af3-a2a7-ec8b8526e964"',
    ],
)
def test_common_credential_forms_are_found(text: str) -> None:
    assert _secret_types(text)


@pytest.mark.parametrize(
    "text",
    [
        "mysql -u root -p orders",  # -p then a database name: mysql prompts for the password
        "docker login -u bot --password-stdin registry.acme.io",
        'meraki_key = "acdeFf05b1a6d4c890237bf08c5e6e8d2b4d0f2e"',  # mixed-case hex
        'request_token = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"',  # a version-1 UUID
        'api_token: "fake-token"',
    ],
)
def test_lookalike_forms_are_not_found(text: str) -> None:
    assert not _secret_types(text)


def test_firebase_config_key_is_reported_lower() -> None:
    text = (
        'firebaseConfig = { apiKey: "AIzaSyD8kQ2vX7nLp4RtY9wB3cF6hJ1mZ5sE0aU",'
        ' authDomain: "a.firebaseapp.com" }'
    )
    (match,) = [m for m in _ENGINE.analyze(text) if m.spec.category is Category.SECRET]
    assert (match.spec.id, match.likelihood) == (
        "secret.google_api_key_client",
        Likelihood.POSSIBLE,
    )
    bare = _only("key AIzaSyD8kQ2vX7nLp4RtY9wB3cF6hJ1mZ5sE0aU", "secret.google_api_key")
    assert bare.likelihood is Likelihood.VERY_LIKELY
