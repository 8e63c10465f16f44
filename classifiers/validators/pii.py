"""Checksum and structure validators for personal and financial identifiers."""

from __future__ import annotations

import ipaddress
import string
from collections.abc import Callable

import re2


def only_digits(value: str) -> str:
    """The characters of ``value`` that ``str.isdigit`` holds for, in order."""
    if value.isascii():  # str.isdigit holds for the ASCII digits alone: drop the rest in C
        return value.translate(_ASCII_NON_DIGITS)
    return "".join(c for c in value if c.isdigit())


def upper_alnum(value: str) -> str:
    """The characters of ``value`` that ``str.isalnum`` holds for, in order, upper-cased."""
    if value.isascii():  # str.isalnum holds for the ASCII letters and digits alone
        return value.translate(_ASCII_NON_ALNUM).upper()
    return "".join(c for c in value if c.isalnum()).upper()


_ASCII_NON_DIGITS = str.maketrans(dict.fromkeys(set(map(chr, range(128))) - set(string.digits)))
_ASCII_NON_ALNUM = str.maketrans(
    dict.fromkeys(set(map(chr, range(128))) - set(string.ascii_letters + string.digits))
)
# Each digit doubled, less 9 when that is over 9: the Luhn step of every second digit.
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn(value: str) -> bool:
    """Luhn mod-10 over the digits of ``value``."""
    digits = only_digits(value)
    if not digits:
        return False
    if digits.isascii():  # the sums in C: digits from the right, every second one doubled
        kept, doubled = digits[-1::-2], digits[-2::-2].translate(_LUHN_DOUBLED)
        return (sum(map(int, kept)) + sum(map(int, doubled))) % 10 == 0
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Issuer ranges of the major networks: (first digits low, high, allowed lengths).
_CARD_ISSUERS: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    (4, 4, (13, 16, 19)),  # Visa
    (51, 55, (16,)),  # Mastercard
    (2221, 2720, (16,)),  # Mastercard 2-series
    (34, 34, (15,)),  # American Express
    (37, 37, (15,)),
    (6011, 6011, (16, 17, 18, 19)),  # Discover
    (644, 649, (16, 17, 18, 19)),
    (65, 65, (16, 17, 18, 19)),
    (622126, 622925, (16, 17, 18, 19)),  # Discover / China UnionPay co-branded
    (62, 62, (16, 17, 18, 19)),  # China UnionPay
    (3528, 3589, (16, 17, 18, 19)),  # JCB
    (300, 305, (14, 16, 17, 18, 19)),  # Diners Club International
    (36, 36, (14, 16, 17, 18, 19)),
    (38, 39, (16, 17, 18, 19)),
    (2200, 2204, (16, 17, 18, 19)),  # Mir
    (5018, 5018, (12, 13, 14, 15, 16, 17, 18, 19)),  # Maestro
    (5020, 5020, (12, 13, 14, 15, 16, 17, 18, 19)),
    (5038, 5038, (12, 13, 14, 15, 16, 17, 18, 19)),
    (5893, 5893, (12, 13, 14, 15, 16, 17, 18, 19)),
    (6304, 6304, (12, 13, 14, 15, 16, 17, 18, 19)),
    (6759, 6759, (12, 13, 14, 15, 16, 17, 18, 19)),
    (6761, 6763, (12, 13, 14, 15, 16, 17, 18, 19)),
    (6771, 6771, (16,)),
)
# The same with the number of leading digits each range reads.
_CARD_RANGES = tuple((low, high, lengths, len(str(low))) for low, high, lengths in _CARD_ISSUERS)


def credit_card(value: str) -> bool:
    """A known issuer range with a length that issuer uses, and a valid Luhn digit."""
    digits = only_digits(value)
    if len(set(digits)) < 2:
        return False
    for low, high, lengths, width in _CARD_RANGES:
        if len(digits) in lengths and low <= int(digits[:width]) <= high:
            return luhn(digits)
    return False


def luhn_card(value: str) -> bool:
    """12-19 digits, a valid Luhn digit, not one repeated digit: a card of any issuer range."""
    digits = only_digits(value)
    return 12 <= len(digits) <= 19 and len(set(digits)) > 2 and luhn(digits)


def phone_shape(value: str) -> bool:
    """7-15 digits (E.164 allows 15) that do not hold a date (2024-03-15, 15.03.2024)."""
    digits = only_digits(value.split("x")[0].split("ext")[0])
    if not 7 <= len(digits) <= 15 or len(set(digits)) < 3:
        return False
    # A date in it has a "-", "/" or "." (each form of _DATE_IN has two).
    if "-" not in value and "/" not in value and "." not in value:
        return True
    return not any(calendar_date(m.group(0)) for m in _DATE_IN.finditer(value))


_DATE_IN = re2.compile(r"(?:19|20)\d\d[-/.]\d\d?[-/.]\d\d?|\d\d?[-/.]\d\d?[-/.](?:19|20)\d\d")


def us_ssn(value: str) -> bool:
    """SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    digits = only_digits(value)
    if len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    # 078-05-1120 and 219-09-9999 were printed on sample cards and voided by the SSA.
    return digits not in {"078051120", "219099999"} and len(set(digits)) > 1


# Length of the IBAN for every country in the SWIFT IBAN registry.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def iban(value: str) -> bool:
    """ISO 13616: the country's registered length and the mod-97 check equal to 1."""
    compact = "".join(value.split()).replace("-", "").upper()
    if len(compact) < 5 or not compact.isalnum() or not compact.isascii():
        return False
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return int(numeric) % 97 == 1


def aba_routing(value: str) -> bool:
    """ABA routing number: 9 digits, weights 3-7-1, known Federal Reserve prefix."""
    digits = only_digits(value)
    if len(digits) != 9 or len(set(digits)) == 1:
        return False
    prefix = int(digits[:2])
    if not (0 <= prefix <= 12 or 21 <= prefix <= 32 or 61 <= prefix <= 72 or prefix == 80):
        return False
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


def us_bank_account(value: str) -> bool:
    """A routing number that checks out followed by an account number of 4-17 digits.

    The detector's pattern captures ``routing<sep>account``; the routing part must validate.
    """
    parts = [p for p in "".join(c if c.isdigit() else " " for c in value).split() if p]
    if len(parts) < 2:
        return False
    routing, account = parts[0], "".join(parts[1:])
    return aba_routing(routing) and 4 <= len(account) <= 17 and len(set(account)) > 1


# Dotted-quad IPv4 as the ``ipaddress`` module accepts it (1-3 digits, no leading zero, at most
# 255): logs hand the validator thousands of these per chunk, and one RE2 match costs a fraction
# of the module's parse. Anything else takes the module's path.
_IPV4 = re2.compile(
    r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"
)
_ANCHOR_BOTH = re2._Anchor.ANCHOR_BOTH


def ip_address(value: str) -> bool:
    """A syntactically valid IPv4 or IPv6 address that is not a version number in disguise."""
    if len(value) <= 15 and value.isascii():
        data = value.encode()
        if _IPV4._regexp.Match(_ANCHOR_BOTH, data, 0, len(data))[0][0] == 0:
            return value != "0.0.0.0"
    try:
        addr = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    if addr.version == 6:
        groups = value.strip("[]").split(":")
        # Eight 2-hex-digit groups is how hashes and key fingerprints print (ab:cd:...), not
        # how addresses are written (leading zeros dropped, 4-digit groups, :: compression).
        if len(groups) == 8 and all(len(g) == 2 for g in groups):
            return False
        return value.count(":") >= 2
    return not addr.is_unspecified


# Compiled once: logs hand this validator thousands of timestamps per chunk.
_DATE_PARTS = re2.compile(r"(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})")
_UNANCHORED = re2._Anchor.UNANCHORED


def calendar_date(value: str) -> bool:
    """A date string whose day, month and year exist (1900-2100). Accepts ISO, D/M/Y and M/D/Y."""
    # RE2's compiled program directly: the Python wrapper's match object costs more than the
    # search on these short values (logs hand this validator thousands of timestamps a chunk).
    if (
        value[4:5] == value[7:8] == "-"
        and value[:10].isascii()
        and value[:4].isdigit()
        and value[5:7].isdigit()
        and value[8:10].isdigit()
        and not value[10:11].isdigit()
    ):
        # An ISO date first (most of what logs hold): the parts the pattern below reads from
        # it, found by slicing (a match at offset 0, each group as long as it can be).
        a, b, c = int(value[:4]), int(value[5:7]), int(value[8:10])
    else:
        data = value.encode()
        spans = _DATE_PARTS._regexp.Match(_UNANCHORED, data, 0, len(data))
        if spans[0][0] < 0:
            return True  # textual dates ("March 3, 2021") are validated by their pattern
        (a0, a1), (b0, b1), (c0, c1) = spans[1], spans[2], spans[3]
        a, b, c = int(data[a0:a1]), int(data[b0:b1]), int(data[c0:c1])
    if a > 31:
        return _day_exists(a, b, c)
    return _day_exists(c, a, b) or _day_exists(c, b, a)


_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _day_exists(year: int, month: int, day: int) -> bool:
    """Whether the day exists, two-digit years read as 1950-2049, in 1900-2100.

    The arithmetic ``datetime.date`` checks, without building a date (or raising for the
    impossible ones, which most digit groups that are not dates are).
    """
    if year < 100:
        year += 2000 if year < 50 else 1900
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and day >= 1):
        return False
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return day <= 29
    return day <= _DAYS_IN_MONTH[month]


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "luhn": luhn,
    "credit_card": credit_card,
    "luhn_card": luhn_card,
    "phone_shape": phone_shape,
    "us_ssn": us_ssn,
    "iban": iban,
    "aba_routing": aba_routing,
    "us_bank_account": us_bank_account,
    "ip_address": ip_address,
    "calendar_date": calendar_date,
}
