"""Secret rules beyond the generic example contract: the rule set's size and shape, the secret
validators' checksums and structure checks, and the rule table in docs/secrets.md."""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path

import pytest

from classifiers.engine import load_specs
from classifiers.validators import secrets as v
from models import Category

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
