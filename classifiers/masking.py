"""Masked evidence and keyed fingerprints: the only forms in which a matched value leaves memory."""

from __future__ import annotations

import hmac
import string

from classifiers.native import lower
from classifiers.spec import MaskStyle, Normalize
from classifiers.validators.pii import only_digits, upper_alnum

_MAX_STARS = 16


def mask(value: str, style: MaskStyle, prefix_length: int = 4) -> str:
    """Hide a value, keeping only what helps a human recognise the kind of thing it was."""
    if style is MaskStyle.LAST4:
        return _mask_last4(value)
    if style is MaskStyle.PREFIX:
        keep = min(prefix_length, max(len(value) // 3, 0))
        return value[:keep] + "*" * min(len(value) - keep, _MAX_STARS)
    if style is MaskStyle.EMAIL:
        local, sep, domain = value.rpartition("@")
        if not sep:
            return _stars(value)
        return f"{local[:1]}***@{domain}"
    if style is MaskStyle.INITIALS:
        return " ".join(w[:1] + "*" * min(len(w) - 1, 8) for w in value.split())
    return _stars(value)


def _stars(value: str) -> str:
    return "*" * min(max(len(value), 3), _MAX_STARS)


def _mask_last4(value: str) -> str:
    """Keep separators and the last four alphanumerics when the value is long enough."""
    # The value splits at its fourth alphanumeric from the end: before it every alphanumeric
    # becomes "*" (one ``translate`` for ASCII), from it everything is kept. Counting and
    # masking run in C: the masked values are the most common output of a scan.
    cut = len(value)
    if sum(map(str.isalnum, value)) >= 8:
        kept = 0
        while kept < 4:
            cut -= 1
            kept += value[cut].isalnum()
    head = value[:cut]
    if head.isascii():
        head = head.translate(_STAR_ASCII_ALNUM)
    else:
        head = "".join("*" if c.isalnum() else c for c in head)
    masked = head + value[cut:]
    if len(masked) > 40:  # long values (addresses) keep only their tail
        masked = "***" + masked[-12:]
    return masked


_STAR_ASCII_ALNUM = str.maketrans(dict.fromkeys(string.ascii_letters + string.digits, "*"))


def normalize(value: str, how: Normalize) -> str:
    if how is Normalize.DIGITS:
        return only_digits(value)
    if how is Normalize.ALNUM:
        return upper_alnum(value)
    if how is Normalize.LOWER:
        return " ".join(lower(value).split())
    return value


def fingerprint(key: bytes, data_type: str, value: str, how: Normalize) -> str:
    """HMAC-SHA256 under the deployment key, so low-entropy values cannot be brute-forced
    from the store without the key; the same value gets the same fingerprint everywhere."""
    message = f"{data_type}\x00{normalize(value, how)}".encode()
    # The one-shot HMAC (OpenSSL's, in C): the same digest as ``hmac.new(...).hexdigest()``
    # without building an HMAC object per finding.
    return hmac.digest(key, message, "sha256").hex()
