"""Checksum and structure validators of national identifiers, tax ids and wallet addresses.

Each follows the format its issuer publishes (check digit algorithm, allowed ranges); a value
that merely has the right shape but a wrong check digit is not reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date

from classifiers.native import lower
from classifiers.validators.pii import luhn, only_digits, upper_alnum


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# -- United States ----------------------------------------------------------------------------


def us_itin(value: str) -> bool:
    """IRS ITIN: 9 digits starting with 9, middle group in 50-65, 70-88, 90-92 or 94-99."""
    d = only_digits(value)
    if len(d) != 9 or d[0] != "9":
        return False
    group = int(d[3:5])
    return 50 <= group <= 65 or 70 <= group <= 88 or 90 <= group <= 92 or 94 <= group <= 99


# Prefixes the IRS assigns to its campuses (others have never been issued).
_EIN_PREFIXES = frozenset(
    (
        *range(1, 7),
        *range(10, 17),
        *range(20, 28),
        *range(30, 49),
        *range(50, 69),
        *range(71, 78),
        *range(80, 89),
        *range(90, 96),
        98,
        99,
    )
)


def us_ein(value: str) -> bool:
    """IRS employer identification number: 9 digits with an assigned 2-digit prefix."""
    d = only_digits(value)
    return len(d) == 9 and int(d[:2]) in _EIN_PREFIXES and len(set(d[2:])) > 1


_MBI_LETTERS = frozenset("ACDEFGHJKMNPQRTUVWXY")  # no S, L, O, I, B, Z


def us_mbi(value: str) -> bool:
    """Medicare Beneficiary Identifier: 11 characters in CMS's fixed letter/digit layout."""
    v = upper_alnum(value)
    if len(v) != 11:
        return False
    layout = "NALNALNAANN"  # N digit, A letter, L letter or digit; position 1 is 1-9
    for ch, kind in zip(v, layout, strict=True):
        if kind == "N" and not ch.isdigit():
            return False
        if kind == "A" and ch not in _MBI_LETTERS:
            return False
        if kind == "L" and not (ch.isdigit() or ch in _MBI_LETTERS):
            return False
    return v[0] != "0"


def us_npi(value: str) -> bool:
    """National Provider Identifier: 10 digits from 1 or 2, Luhn over the 80840 card prefix."""
    d = only_digits(value)
    return len(d) == 10 and d[0] in "12" and luhn("80840" + d)


def dea_number(value: str) -> bool:
    """DEA registration: registrant letter, name letter, 7 digits with the DEA check digit."""
    v = upper_alnum(value)
    if len(v) != 9 or v[0] not in "ABCDEFGHJKLMPRSTUX" or not v[1].isalpha():
        return False
    d = v[2:]
    if not d.isdigit():
        return False
    n = [int(c) for c in d]
    return (n[0] + n[2] + n[4] + 2 * (n[1] + n[3] + n[5])) % 10 == n[6]


# -- United Kingdom ---------------------------------------------------------------------------

_NINO_BAD_PREFIX = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


def uk_nino(value: str) -> bool:
    """National Insurance number: HMRC's prefix letters, 6 digits, suffix A-D."""
    v = upper_alnum(value)
    if len(v) != 9 or not v[2:8].isdigit() or v[8] not in "ABCD":
        return False
    first, second = v[0], v[1]
    if not (first.isalpha() and second.isalpha()) or v[:2] in _NINO_BAD_PREFIX:
        return False
    return first not in "DFIQUV" and second not in "DFIOQUV"


def uk_nhs(value: str) -> bool:
    """NHS number: 10 digits, weights 10..2, modulus 11 check digit (10 is never issued)."""
    d = only_digits(value)
    if len(d) != 10 or len(set(d)) == 1:
        return False
    check = 11 - sum(int(c) * w for c, w in zip(d[:9], range(10, 1, -1), strict=True)) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(d[9])


# -- Canada, Australia, Asia ------------------------------------------------------------------


def ca_sin(value: str) -> bool:
    """Canadian Social Insurance Number: 9 digits, Luhn, first digit not 0 or 8."""
    d = only_digits(value)
    return len(d) == 9 and d[0] not in "08" and len(set(d)) > 1 and luhn(d)


def au_tfn(value: str) -> bool:
    """Australian Tax File Number: 9 digits, weighted sum divisible by 11."""
    d = only_digits(value)
    weights = (1, 4, 3, 7, 5, 8, 6, 9, 10)
    return (
        len(d) == 9
        and len(set(d)) > 1
        and (sum(int(c) * w for c, w in zip(d, weights, strict=True)) % 11 == 0)
    )


def au_medicare(value: str) -> bool:
    """Australian Medicare card: 10 digits (11 with the IRN), first 2-6, weighted check digit."""
    d = only_digits(value)
    if len(d) not in (10, 11) or d[0] not in "23456":
        return False
    weights = (1, 3, 7, 9, 1, 3, 7, 9)
    return sum(int(c) * w for c, w in zip(d[:8], weights, strict=True)) % 10 == int(d[8])


def au_abn(value: str) -> bool:
    """Australian Business Number: 11 digits, first minus one, weighted sum divisible by 89."""
    d = only_digits(value)
    if len(d) != 11 or d[0] == "0":
        return False
    n = [int(c) for c in d]
    n[0] -= 1
    weights = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)
    return sum(a * w for a, w in zip(n, weights, strict=True)) % 89 == 0


_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff(value: str) -> bool:
    """Verhoeff dihedral-group check over the digits of ``value``."""
    c = 0
    for i, ch in enumerate(reversed(only_digits(value))):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][int(ch)]]
    return c == 0


def in_aadhaar(value: str) -> bool:
    """Aadhaar: 12 digits, first not 0 or 1, Verhoeff check digit, not a palindrome filler."""
    d = only_digits(value)
    return len(d) == 12 and d[0] not in "01" and len(set(d)) > 2 and verhoeff(d)


def in_pan(value: str) -> bool:
    """Indian PAN: 5 letters (4th the holder type), 4 digits, a letter."""
    v = value.upper()
    return (
        len(v) == 10
        and v[:5].isalpha()
        and v[3] in "ABCFGHLJPT"
        and v[5:9].isdigit()
        and v[9].isalpha()
        and v[5:9] != "0000"
    )


def sg_nric(value: str) -> bool:
    """Singapore NRIC/FIN (S, T, F, G series): weighted sum and the series' check letter."""
    v = value.upper()
    if len(v) != 9 or v[0] not in "STFG" or not v[1:8].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(v[1:8], (2, 7, 6, 5, 4, 3, 2), strict=True))
    total += 4 if v[0] in "TG" else 0
    letters = "JZIHGFEDCBA" if v[0] in "ST" else "XWUTRQPNMLK"
    return letters[total % 11] == v[8]


# -- Latin America ----------------------------------------------------------------------------


def br_cpf(value: str) -> bool:
    """Brazilian CPF: 11 digits with two mod-11 check digits."""
    d = [int(c) for c in only_digits(value)]
    if len(d) != 11 or len(set(d)) == 1:
        return False
    for n in (9, 10):
        check = sum(d[i] * (n + 1 - i) for i in range(n)) * 10 % 11 % 10
        if check != d[n]:
            return False
    return True


def br_cnpj(value: str) -> bool:
    """Brazilian CNPJ: 14 digits with two mod-11 check digits."""
    d = [int(c) for c in only_digits(value)]
    if len(d) != 14 or len(set(d)) == 1:
        return False
    weights = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    for n, w in ((12, weights), (13, [6, *weights])):
        r = sum(a * b for a, b in zip(d[:n], w, strict=True)) % 11
        if (0 if r < 2 else 11 - r) != d[n]:
            return False
    return True


_CURP_CHARS = "0123456789ABCDEFGHIJKLMN\u00d1OPQRSTUVWXYZ"


def mx_curp(value: str) -> bool:
    """Mexican CURP: 18 characters, a real birth date, RENAPO's check digit."""
    v = value.upper()
    if len(v) != 18 or not v[4:10].isdigit() or v[10] not in "HMX" or not v[17].isdigit():
        return False
    year = int(v[4:6]) + (2000 if v[16].isalpha() else 1900)
    if not _real_date(year, int(v[6:8]), int(v[8:10])):
        return False
    if any(c not in _CURP_CHARS for c in v[:17]):
        return False
    total = sum(_CURP_CHARS.index(c) * (18 - i) for i, c in enumerate(v[:17]))
    return (10 - total % 10) % 10 == int(v[17])


# -- European Union ---------------------------------------------------------------------------

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_nif(value: str) -> bool:
    """Spanish DNI/NIF: 8 digits and the letter of the number modulo 23."""
    v = upper_alnum(value)
    return len(v) == 9 and v[:8].isdigit() and _DNI_LETTERS[int(v[:8]) % 23] == v[8]


def es_nie(value: str) -> bool:
    """Spanish NIE: X, Y or Z (read as 0, 1, 2), 7 digits, the DNI letter of that number."""
    v = upper_alnum(value)
    if len(v) != 9 or v[0] not in "XYZ" or not v[1:8].isdigit():
        return False
    return _DNI_LETTERS[int(str("XYZ".index(v[0])) + v[1:8]) % 23] == v[8]


_IT_ODD = dict(
    zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        (1, 0, 5, 7, 9, 13, 15, 17, 19, 21) * 2  # digits, then A-J, share values
        + (2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23),  # K-Z
        strict=True,
    )
)


def it_fiscal_code(value: str) -> bool:
    """Italian codice fiscale: 16 characters, a real month letter, the check letter."""
    v = value.upper()
    if len(v) != 16 or not v.isalnum() or not v[:6].isalpha() or v[8] not in "ABCDEHLMPRST":
        return False
    total = 0
    for i, ch in enumerate(v[:15]):
        if i % 2 == 0:  # 1st, 3rd, ... character (odd positions counted from one)
            total += _IT_ODD[ch]
        else:
            total += int(ch) if ch.isdigit() else ord(ch) - ord("A")
    return chr(ord("A") + total % 26) == v[15]


def fr_nir(value: str) -> bool:
    """French NIR (social security number): 13 characters and the key 97 - (number mod 97)."""
    v = upper_alnum(value)
    if len(v) != 15 or v[0] not in "1234578":
        return False
    body = v[:13].replace("2A", "19").replace("2B", "18")
    if not body.isdigit() or not v[13:].isdigit():
        return False
    month = int(v[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    return 97 - int(body) % 97 == int(v[13:])


def de_tax_id(value: str) -> bool:
    """German Steuer-IdNr: 11 digits, one digit repeated 2-3 times, ISO 7064 MOD 11,10 check."""
    d = only_digits(value)
    if len(d) != 11 or d[0] == "0":
        return False
    counts = sorted((d[:10].count(c) for c in set(d[:10])), reverse=True)
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] > 1):
        return False
    product = 10
    for ch in d[:10]:
        total = (int(ch) + product) % 10 or 10
        product = total * 2 % 11
    check = 11 - product
    return (0 if check == 10 else check) == int(d[10])


def nl_bsn(value: str) -> bool:
    """Dutch BSN: 9 digits passing the eleven test (last digit weighted -1)."""
    d = only_digits(value)
    if len(d) != 9 or len(set(d)) == 1:
        return False
    total = sum(int(c) * w for c, w in zip(d[:8], range(9, 1, -1), strict=True)) - int(d[8])
    return total % 11 == 0


def pl_pesel(value: str) -> bool:
    """Polish PESEL: 11 digits, a real birth date (century in the month), weighted check."""
    d = only_digits(value)
    if len(d) != 11:
        return False
    month = int(d[2:4])
    century = {0: 1900, 1: 2000, 2: 2100, 3: 2200, 4: 1800}.get(month // 20)
    if century is None or not _real_date(century + int(d[:2]), month % 20, int(d[4:6])):
        return False
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    total = sum(int(c) * w for c, w in zip(d[:10], weights, strict=True))
    return (10 - total % 10) % 10 == int(d[10])


def se_personnummer(value: str) -> bool:
    """Swedish personnummer (or samordningsnummer, day + 60): a real date and Luhn."""
    d = only_digits(value)
    if len(d) == 12:
        d = d[2:]
    if len(d) != 10:
        return False
    month, day = int(d[2:4]), int(d[4:6])
    day = day - 60 if day > 60 else day
    # The century is not in the 10-digit form; any real date in either century will do.
    if not (_real_date(2000 + int(d[:2]), month, day) or _real_date(1900 + int(d[:2]), month, day)):
        return False
    return luhn(d)


_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_HETU_CENTURY = {"+": 1800, "-": 1900, "A": 2000}
_HETU_CENTURY.update(dict.fromkeys("YXWVU", 1900))
_HETU_CENTURY.update(dict.fromkeys("BCDEF", 2000))


def fi_hetu(value: str) -> bool:
    """Finnish henkilötunnus: DDMMYY, century sign, individual number, mod-31 check char."""
    v = value.upper()
    if len(v) != 11 or not v[:6].isdigit() or not v[7:10].isdigit():
        return False
    century = _HETU_CENTURY.get(v[6])
    if century is None or not _real_date(century + int(v[4:6]), int(v[2:4]), int(v[:2])):
        return False
    return _HETU_CHECK[int(v[:6] + v[7:10]) % 31] == v[10]


# -- network and wallets ----------------------------------------------------------------------


def mac_address(value: str) -> bool:
    """A MAC address that is not all zeros or the broadcast address."""
    hexits = "".join(c for c in lower(value) if c in "0123456789abcdef")
    return len(hexits) == 12 and hexits not in ("000000000000", "ffffffffffff")


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58check(value: str) -> bool:
    """Base58Check: the last 4 bytes are the double SHA-256 of the rest (Bitcoin P2PKH/P2SH)."""
    n = 0
    for ch in value:
        i = _B58.find(ch)
        if i < 0:
            return False
        n = n * 58 + i
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    raw = b"\0" * (len(value) - len(value.lstrip("1"))) + raw
    if len(raw) != 25:
        return False
    body, check = raw[:-4], raw[-4:]
    return hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] == check


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def bech32(value: str) -> bool:
    """Bech32 (BIP-173) or Bech32m (BIP-350) segwit address with a valid checksum."""
    if lower(value) != value and value.upper() != value:
        return False
    v = lower(value)
    hrp, sep, data = v.rpartition("1")
    if not sep or not hrp or len(data) < 6 or any(c not in _BECH32 for c in data):
        return False
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    return _bech32_polymod(expanded + [_BECH32.index(c) for c in data]) in (1, 0x2BC830A3)


def crypto_address(value: str) -> bool:
    """A Bitcoin address: legacy Base58Check (1..., 3...) or segwit Bech32 (bc1...)."""
    if lower(value).startswith("bc1"):
        return bech32(value)
    return value[:1] in "13" and base58check(value)


# -- more national and tax ids ----------------------------------------------------------------


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(c) * w for c, w in zip(digits, weights, strict=False))


def au_acn(value: str) -> bool:
    """Australian Company Number: 9 digits, weights 8..1, complement of the sum mod 10."""
    d = only_digits(value)
    return len(d) == 9 and (10 - _weighted(d, (8, 7, 6, 5, 4, 3, 2, 1)) % 10) % 10 == int(d[8])


def kr_rrn(value: str) -> bool:
    """Korean resident registration number (issued before Oct 2020): date, sex digit, mod 11."""
    d = only_digits(value)
    if len(d) != 13 or d[6] not in "12345678":
        return False
    century = 1900 if d[6] in "1256" else 2000
    if not _real_date(century + int(d[:2]), int(d[2:4]), int(d[4:6])):
        return False
    total = _weighted(d, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5))
    return (11 - total % 11) % 10 == int(d[12])


def th_tnin(value: str) -> bool:
    """Thai national id: 13 digits, first 1-8, weights 13..2, mod 11 check digit."""
    d = only_digits(value)
    if len(d) != 13 or d[0] not in "12345678":
        return False
    return (11 - _weighted(d, tuple(range(13, 1, -1))) % 11) % 10 == int(d[12])


def it_vat(value: str) -> bool:
    """Italian partita IVA: 11 digits, an office code (001-100, 120, 121, 888, 999), Luhn."""
    d = only_digits(value)
    if len(d) != 11 or len(set(d[:7])) == 1:
        return False
    office = int(d[7:10])
    return (1 <= office <= 100 or office in (120, 121, 888, 999)) and luhn(d)


def _mod11_10(digits: str) -> int:
    product = 10
    for ch in digits:
        total = (int(ch) + product) % 10 or 10
        product = total * 2 % 11
    check = 11 - product
    return 0 if check == 10 else check


def de_vat(value: str) -> bool:
    """German USt-IdNr: DE and 9 digits, ISO 7064 MOD 11,10 check digit."""
    v = upper_alnum(value)
    return (
        len(v) == 11
        and v[:2] == "DE"
        and v[2:].isdigit()
        and v[2] != "0"
        and (_mod11_10(v[2:10]) == int(v[10]))
    )


def fr_vat(value: str) -> bool:
    """French TVA: FR, a 2-digit key (12 + 3 x SIREN mod 97) mod 97, a Luhn-valid SIREN."""
    v = upper_alnum(value)
    if len(v) != 13 or v[:2] != "FR" or not v[2:].isdigit():
        return False
    siren = v[4:]
    return luhn(siren) and (12 + 3 * (int(siren) % 97)) % 97 == int(v[2:4])


def nl_vat(value: str) -> bool:
    """Dutch btw-id: NL, 9 digits, B, 2 digits; eleven test (older) or mod 97 (since 2020)."""
    v = upper_alnum(value)
    if len(v) != 14 or v[:2] != "NL" or v[11] != "B" or not (v[2:11] + v[12:]).isdigit():
        return False
    d = v[2:11]
    if _weighted(d, (9, 8, 7, 6, 5, 4, 3, 2)) % 11 == int(d[8]):
        return True
    return int("".join(str(int(c, 36)) for c in v)) % 97 == 1


def be_vat(value: str) -> bool:
    """Belgian enterprise/VAT number: BE, 10 digits from 0 or 1, 97 - (first 8 mod 97)."""
    v = upper_alnum(value)
    if len(v) != 12 or v[:2] != "BE" or not v[2:].isdigit() or v[2] not in "01":
        return False
    return 97 - int(v[2:10]) % 97 == int(v[10:])


def at_vat(value: str) -> bool:
    """Austrian UID: ATU and 8 digits; alternate weights 1,2 with digit sums, plus 4, mod 10."""
    v = upper_alnum(value)
    if len(v) != 11 or v[:3] != "ATU" or not v[3:].isdigit():
        return False
    total = 0
    for i, ch in enumerate(v[3:10]):
        n = int(ch) * (2 if i % 2 else 1)
        total += n // 10 + n % 10
    return (10 - (total + 4) % 10) % 10 == int(v[10])


def pl_nip(value: str) -> bool:
    """Polish NIP tax id: 10 digits, weights 6,5,7,2,3,4,5,6,7, mod 11 (10 never issued)."""
    d = only_digits(value)
    if len(d) != 10 or len(set(d)) == 1:
        return False
    check = _weighted(d, (6, 5, 7, 2, 3, 4, 5, 6, 7)) % 11
    return check != 10 and check == int(d[9])


def no_fodselsnummer(value: str) -> bool:
    """Norwegian fødselsnummer (or D-number, day + 40): a real date and two mod-11 digits."""
    d = only_digits(value)
    if len(d) != 11:
        return False
    day = int(d[:2])
    day = day - 40 if day > 40 else day
    month = int(d[2:4])
    if not (
        _real_date(1900 + int(d[4:6]), month, day) or _real_date(2000 + int(d[4:6]), month, day)
    ):
        return False
    for weights, at in (((3, 7, 6, 1, 8, 9, 4, 5, 2), 9), ((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), 10)):
        check = 11 - _weighted(d, weights) % 11
        check = 0 if check == 11 else check
        if check == 10 or check != int(d[at]):
            return False
    return True


def ie_pps(value: str) -> bool:
    """Irish PPS number: 7 digits, a check letter (weighted mod 23), optional second letter."""
    v = upper_alnum(value)
    if len(v) not in (8, 9) or not v[:7].isdigit() or not v[7:].isalpha():
        return False
    total = _weighted(v[:7], (8, 7, 6, 5, 4, 3, 2))
    if len(v) == 9 and v[8] != "W":
        total += 9 * (ord(v[8]) - ord("A") + 1)
    return "WABCDEFGHIJKLMNOPQRSTUV"[total % 23] == v[7]


def pt_nif(value: str) -> bool:
    """Portuguese NIF: 9 digits, a valid first digit, mod 11 check digit."""
    d = only_digits(value)
    if len(d) != 9 or d[0] not in "1235689":
        return False
    check = 11 - _weighted(d, (9, 8, 7, 6, 5, 4, 3, 2)) % 11
    return (0 if check >= 10 else check) == int(d[8])


def za_id(value: str) -> bool:
    """South African id number: 13 digits, a real birth date, citizenship 0-2, Luhn."""
    d = only_digits(value)
    if len(d) != 13 or d[10] not in "012":
        return False
    month, day = int(d[2:4]), int(d[4:6])
    if not (_real_date(1900 + int(d[:2]), month, day) or _real_date(2000 + int(d[:2]), month, day)):
        return False
    return luhn(d)


def ch_ahv(value: str) -> bool:
    """Swiss AHV/AVS number: 756 and 10 digits, EAN-13 check digit."""
    d = only_digits(value)
    if len(d) != 13 or not d.startswith("756"):
        return False
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(d[:12]))
    return (10 - total % 10) % 10 == int(d[12])


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "us_itin": us_itin,
    "us_ein": us_ein,
    "us_mbi": us_mbi,
    "us_npi": us_npi,
    "dea_number": dea_number,
    "uk_nino": uk_nino,
    "uk_nhs": uk_nhs,
    "ca_sin": ca_sin,
    "au_tfn": au_tfn,
    "au_medicare": au_medicare,
    "au_abn": au_abn,
    "verhoeff": verhoeff,
    "in_aadhaar": in_aadhaar,
    "in_pan": in_pan,
    "sg_nric": sg_nric,
    "br_cpf": br_cpf,
    "br_cnpj": br_cnpj,
    "mx_curp": mx_curp,
    "es_nif": es_nif,
    "es_nie": es_nie,
    "it_fiscal_code": it_fiscal_code,
    "fr_nir": fr_nir,
    "de_tax_id": de_tax_id,
    "nl_bsn": nl_bsn,
    "pl_pesel": pl_pesel,
    "se_personnummer": se_personnummer,
    "fi_hetu": fi_hetu,
    "mac_address": mac_address,
    "crypto_address": crypto_address,
    "au_acn": au_acn,
    "kr_rrn": kr_rrn,
    "th_tnin": th_tnin,
    "it_vat": it_vat,
    "de_vat": de_vat,
    "fr_vat": fr_vat,
    "nl_vat": nl_vat,
    "be_vat": be_vat,
    "at_vat": at_vat,
    "pl_nip": pl_nip,
    "no_fodselsnummer": no_fodselsnummer,
    "ie_pps": ie_pps,
    "pt_nif": pt_nif,
    "za_id": za_id,
    "ch_ahv": ch_ahv,
}
