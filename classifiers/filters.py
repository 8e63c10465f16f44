"""Value filters shared by the engine and the demo: entropy, placeholders and published keys."""

from __future__ import annotations

import math
from collections import Counter
from functools import cache
from pathlib import Path

import re2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from models.errors import DetectorDefinitionError

PUBLISHED_KEYS = Path(__file__).with_name("published_keys.yaml")


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


_PLACEHOLDER_WORDS = (
    "example",
    "sample",
    "dummy",
    "placeholder",
    "changeme",
    "change_me",
    "your",
    "redacted",
    "insert",
    "replace",
    "todo",
    "fixme",
    "secret_here",
    "notreal",
    "fake",
    "mock",
    "test_key",
    "testkey",
)
_PLACEHOLDER_WORDS_MAX_LEN = 64
_FILLERS = ("xxxx", "****", "....", "-redacted-", "[redacted]")
_VARIABLE_REF = re2.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl")


def _has_placeholder_word(value: str, low: str) -> bool:
    """A placeholder word written as a word: one case (``fake``, ``FAKE``, ``Fake``) and set off
    from its neighbours (a separator, a digit, a case change, the value's ends). Random bodies
    contain such letters by chance (``...ss1lFaKe``), nearly never cased and bounded like a word.
    Past 64 characters (key bodies) the word must be delimited on both sides (``-EXAMPLE-``)."""
    long_value = len(value) > _PLACEHOLDER_WORDS_MAX_LEN
    for word in _PLACEHOLDER_WORDS:
        at = low.find(word)
        while at >= 0:
            end = at + len(word)
            seg = value[at:end]
            if seg in (word, word.upper(), word.capitalize()):
                before = value[at - 1] if at else ""
                after = value[end] if end < len(value) else ""
                starts = not before.isalpha() or (before.islower() and seg[0].isupper())
                ends = not after.isalpha() or (seg[-1].islower() and after.isupper())
                if long_value:
                    if not before.isalnum() and not after.isalnum():
                        return True
                elif starts or ends:
                    return True
            at = low.find(word, at + 1)
    return False


class PublishedKey(BaseModel):
    """A credential its vendor or owner published on purpose (documentation, sources), and where."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str = Field(min_length=8)
    vendor: str = Field(min_length=1)
    published_in: str = Field(min_length=1)

    @field_validator("value")
    @classmethod
    def _one_token(cls, value: str) -> str:
        if value != value.strip() or any(c.isspace() for c in value):
            raise ValueError("must be the key alone, without spaces")
        return value


class _PublishedKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[PublishedKey]


def load_published_keys(path: Path = PUBLISHED_KEYS) -> frozenset[str]:
    """The values of a published-keys file; a malformed one is rejected with the file named."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        keys = _PublishedKeys.model_validate(raw).keys
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise DetectorDefinitionError(f"{path}: not a valid published-keys file: {exc}") from exc
    values = [k.value for k in keys]
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise DetectorDefinitionError(f"{path}: listed twice: {', '.join(twice)}")
    return frozenset(values)


@cache
def _published() -> frozenset[str]:
    return load_published_keys()


def is_placeholder(value: str) -> bool:
    """Published keys, template references and filler are not secrets."""
    if value in _published():
        return True
    low = value.lower()
    if any(w in low for w in _PLACEHOLDER_WORDS) and _has_placeholder_word(value, low):
        return True
    if any(f in low for f in _FILLERS):  # at any length: random text almost never has these
        return True
    if any(t in value for t in ("${", "{{", "<", ">", "%s", "%(", "$(")):
        return True
    if _VARIABLE_REF.fullmatch(value):  # $VAR, $password: a reference, not a value
        return True
    stripped = "".join(c for c in low if c.isalnum())
    if len(set(stripped)) <= 2:
        return True
    return any(stripped and stripped in seq for seq in _SEQUENCES)
