"""Structure and checksum validators for credentials (the secret rules in ``rules/secrets.yaml``).

Each function takes the matched value (the ``value`` group of a pattern, else the whole match)
and says whether it is plausibly a real credential rather than a look-alike or a placeholder.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable

from classifiers.native import lower
from classifiers.validators.pii_ids import _BECH32, _bech32_polymod  # one BIP-173 implementation

# -- helpers ---------------------------------------------------------------------------------------

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_LOWER_FIRST = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BASE62_SET = frozenset(_BASE62)


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _b64decode(part: str) -> bytes | None:
    """Decode standard or URL-safe base64 with or without padding; None if it is not base64."""
    text = part.strip().rstrip("=")
    if not text or len(text) % 4 == 1:
        return None
    text = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def base62_crc32(data: str, alphabet: str = _BASE62) -> str:
    """CRC32 of ``data`` in base62 (digits, upper, lower), left-padded with '0' to 6 chars."""
    n = zlib.crc32(data.encode("ascii"))
    out = ""
    while n:
        n, rem = divmod(n, 62)
        out = alphabet[rem] + out
    return out.rjust(6, alphabet[0])


def _prefixed_crc32_token(value: str, prefix_len: int) -> bool:
    """``prefix`` + 30 random base62 chars + base62 CRC32 of those 30 chars (6 chars)."""
    body = value[prefix_len:]
    if len(body) != 36 or not set(body) <= _BASE62_SET:
        return False
    random_part, check = body[:30], body[30:]
    # GitHub describes the checksum as a base62 CRC32 of the random part. Implementations in the
    # wild differ on whether the prefix is included and on the base62 digit order; accept those
    # variants too: a random string passes one of the four by chance with odds of 4 in 62**6.
    return check in {
        base62_crc32(data, alphabet)
        for data in (random_part, value[:prefix_len] + random_part)
        for alphabet in (_BASE62, _BASE62_LOWER_FIRST)
    }


_SEQUENCES = (
    "0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm",
)  # fmt: skip
_RUN = 6  # a random token of any length practically never holds 6 identical or consecutive chars
_REPEATED_CHUNK = re.compile(r"(.{2,8}?)\1{3,}")


def _is_filler(value: str) -> bool:
    """Typed-in filler: 6+ identical alphanumerics, a 6-char alphabet/keyboard run, or a short
    chunk repeated 4+ times (``abcabcabcabc``)."""
    low = lower(value)
    run = 1
    for prev, cur in itertools.pairwise(low):
        run = run + 1 if cur == prev and cur.isalnum() else 1
        if run >= _RUN:
            return True
    for seq in _SEQUENCES:
        for i in range(len(seq) - _RUN + 1):
            chunk = seq[i : i + _RUN]
            if chunk in low or chunk[::-1] in low:
                return True
    return bool(_REPEATED_CHUNK.search(value))


# Values that configuration files and documentation use in place of a real password.
_COMMON_PASSWORDS = frozenset(
    {
        "password", "passw0rd", "p@ssword", "p@ssw0rd", "password1", "password123",
        "password!", "pass1234", "letmein", "welcome", "welcome1", "qwerty", "qwerty123",
        "admin", "admin123", "administrator", "root", "toor", "secret", "secret123",
        "changeit", "default", "guest", "test", "testing", "test1234", "test123",
        "12345678", "123456789", "1234567890", "iloveyou", "abc123", "abcd1234",
        "monkey", "dragon", "master", "trustno1", "hunter2", "none", "null", "undefined",
        "true", "false", "required", "optional", "string", "empty", "pass", "passwd", "pwd",
        "mypassword", "yourpassword", "newpassword", "oldpassword", "s3cr3t", "foobar",
        "foobarbaz", "postgres", "mysql", "username", "user", "login",
    }
)  # fmt: skip
_IDENTIFIER_PATH = re.compile(
    r"^[A-Za-z_$][A-Za-z0-9_$]*(?:(?:\.|->|::)[A-Za-z_$][A-Za-z0-9_$]*)+(?:\(\))?$"
)
_CONSTANT = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_PLAIN_WORDS = re.compile(
    r"^[a-z]+(?:[_-][a-z]+)*$|^[A-Z][a-z]{2,}(?:[A-Z][a-z]{2,})*$|^[a-z]{2,}(?:[A-Z][a-z]{2,})+$"
)
# $VAR, ${VAR}, $(cmd), %(name)s, %VAR%, @var, &var
_SIGIL_REFERENCE = re.compile(r"^(?:\$[{(A-Za-z_]|%\(|%[A-Za-z_]+%|[@&][A-Za-z_][A-Za-z0-9_.]*$)")
_REFERENCE = re.compile(
    r"^(?:env|var|vars|secrets?|process\.env|os\.environ|config|settings|params?)[.:\[(]", re.I
)


_LETTERS_ONLY = re.compile(r"^[A-Za-z_]+$")  # identifiers and type names, not passwords
_PATH = re.compile(r"^(?:~?/|\.\.?/|[A-Za-z]:\\)")  # /home/app (a PWD variable), C:\Users
# A value that repeats the name of what it stands for is a placeholder ("YourPasswordHere").
_ECHO_WORDS = re.compile(r"passw(?:or|0r)d|passwd|secret", re.IGNORECASE)


_CAMEL_WORD = re.compile(r"[A-Z][a-z]+|[a-z]+|[A-Z]+")


def _plain_words(value: str) -> bool:
    """Words or an identifier, possibly with a number at either end (``userPassword2``)."""
    core = value.strip("0123456789_-.")
    if len(core) < 0.6 * len(value):
        return False
    if _PLAIN_WORDS.match(core):
        return True
    # CamelCase identifiers (ExclusiveStartShardId): words of 4+ letters make up most of it.
    if not core.isalpha():
        return False
    words = _CAMEL_WORD.findall(core)
    return sum(len(w) for w in words if len(w) >= 4) >= 0.7 * len(core)


def _classes(value: str) -> int:
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )


def _is_reference(value: str) -> bool:
    """Code that names where a secret comes from rather than the secret itself."""
    return bool(
        _IDENTIFIER_PATH.match(value)
        or _CONSTANT.match(value)
        or _REFERENCE.match(value)
        or _SIGIL_REFERENCE.match(value)
        or value.startswith(("env:", "vault:", "secret:", "arn:", "file:"))
        or value.endswith(
            ("()", "_FILE", "_file", ".txt", ".json", ".pem", ".key", ".yaml", ".yml")
        )
    )


_WORD_RUN = re.compile(r"[A-Z]?[a-z]{4,}")
_PARAMETER = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*=[^=]")  # name=value, never base64 padding
_FILE_NAME = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,4}$")


def _wordy(value: str) -> bool:
    """Mostly made of words (``ServerlessV2PlatformVersions``, ``policy/AWSCleanRooms...``):
    two or more word-like runs (4+ lower-case letters, maybe capitalised) cover half of it."""
    runs = _WORD_RUN.findall(value)
    return len(runs) >= 2 and sum(map(len, runs)) >= 0.5 * len(value)


_SHORT_PREFIX = re.compile(r"^[A-Za-z0-9]{1,8}[._-]")


# -- validators ------------------------------------------------------------------------------------


def no_filler(value: str) -> bool:
    """Vendor-format tokens: reject values padded with filler (``1234567890``, ``AAAAAA``)."""
    return not _is_filler(value)


def github_checksum(value: str) -> bool:
    """GitHub's 2021 token format: ghp_/gho_/ghu_/ghs_/ghr_ + 30 base62 + 6-char CRC32."""
    if value[:4] not in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"):
        return False
    return _prefixed_crc32_token(value, 4)


def npm_checksum(value: str) -> bool:
    """npm access tokens: npm_ + 30 base62 + 6-char base62 CRC32 (GitHub's scheme)."""
    return value.startswith("npm_") and _prefixed_crc32_token(value, 4)


def jwt(value: str) -> bool:
    """Three base64url parts whose header decodes to a JSON object naming an ``alg``."""
    parts = value.split(".")
    if len(parts) != 3 or not all(parts):
        return False
    raw = _b64decode(parts[0])
    if raw is None:
        return False
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        return False
    # An unsigned token (alg none) grants nothing by itself.
    return lower(str(header["alg"])) != "none" and _b64decode(parts[1]) is not None


def discord_bot_token(value: str) -> bool:
    """Discord bot tokens start with the base64 of the bot's numeric user id (a snowflake)."""
    first = value.split(".", 1)[0]
    raw = _b64decode(first)
    return raw is not None and raw.isdigit() and 17 <= len(raw) <= 20


def base64_json(value: str) -> bool:
    """The part after the vendor prefix (up to a ``_`` or ``.`` separator) is base64 JSON."""
    body = re.sub(r"^[A-Za-z0-9]{2,8}_", "", value, count=1)
    body = re.split(r"[_.]", body, maxsplit=1)[0]
    raw = _b64decode(body)
    if raw is None:
        return False
    try:
        return isinstance(json.loads(raw.decode("utf-8")), dict)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False


_PEM_SKIP = re.compile(r"-----(?:BEGIN|END)[^-]*-----|^[A-Za-z-]+:.*$|\\[nr]", re.MULTILINE)


def pem_private_key(value: str) -> bool:
    """The body of a PEM/PGP private key block holds real base64 key material."""
    body = _PEM_SKIP.sub("", value)
    if "..." in body or "\u2026" in body:
        return False  # an elided example ("MIIEow...fvY4")
    b64 = "".join(ch for ch in body if ch.isalnum() or ch in "+/")
    return len(b64) >= 64 and len(set(b64)) >= 24


def password_strength(value: str) -> bool:
    """Plausibly a real password: >= 8 chars, 3 character classes or high entropy, not a
    common word, not a variable name, constant or reference."""
    if len(value) < 8 or len(value) > 128 or lower(value) in _COMMON_PASSWORDS:
        return False
    if _is_reference(value) or _PLAIN_WORDS.match(value) or _LETTERS_ONLY.match(value):
        return False
    if _is_filler(value) or _PATH.match(value):
        return False
    if _ECHO_WORDS.search(value) or len(set(value)) < 5:
        return False
    return _classes(value) >= 3 or (len(value) >= 12 and _entropy(value) >= 3.5)


# Values a vendor rule knows to be public or test-mode: the generic rules leave them alone so that
# publishable keys are not reported and test keys keep their own low-scored type.
# The same goes for prefixes whose vendor rule reports every value, failed checks included (at a
# lower score): the generic rules would otherwise replace that finding with a higher-scored generic
# one. Google API keys (AIza) are left to their rule, which knows public client-side configs.
_NOT_GENERIC_PREFIXES = (
    "pk_live_", "pk_test_", "sk_test_", "rk_test_", "EZTK", "access_token$sandbox$", "pk.eyJ",
    "ghp_", "gho_", "ghu_", "ghs_", "npm_", "squ_", "sqp_", "sqa_", "AGE-SECRET-KEY-1", "AIza",
)  # fmt: skip


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _mixed_case_hex(value: str) -> bool:
    """Hex digits in both cases (``acdeFf05...``): no encoder writes hex that way, and a random
    base62 value of 24+ characters practically never keeps to the hex letters; it is an
    EIP-55 address (public) or a hand-edited value."""
    return (
        len(value) >= 24
        and set(value) <= _HEX_DIGITS
        and not value.islower()
        and not value.isupper()
    )


def _not_random_uuid(value: str) -> bool:
    """A UUID of a version other than 4: time-and-node (v1) or name-hash (v3/v5) identifiers, not
    drawn at random. Vendors issuing UUID keys issue v4; their own rules report other versions."""
    m = _UUID.match(lower(value))
    return m is not None and m.group(1) != "4"


def generic_secret(value: str) -> bool:
    """A token-like value: not a word, identifier, path, file name, URL, filler or mixed-case hex;
    letters with digits or with both cases."""
    if _is_reference(value) or "://" in value or value.startswith(("./", "../", "~/")):
        return False
    if _mixed_case_hex(value) or _not_random_uuid(value):
        return False
    if value.startswith(_NOT_GENERIC_PREFIXES) or ".." in value or _is_filler(value):
        return False
    if _FILE_NAME.search(value) or _wordy(value) or _PARAMETER.match(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    mixed_case = any(c.islower() for c in value) and any(c.isupper() for c in value)
    if not any(c.isalpha() for c in value) or not (has_digit or mixed_case):
        return False
    return not _plain_words(value)


def random_token(value: str) -> bool:
    """A random-looking token: two or more of lower/upper/digit, not a word or identifier.
    A short vendor prefix (``s.``, ``key-``) is ignored."""
    body = _SHORT_PREFIX.sub("", value, count=1)
    if _is_filler(body) or _is_reference(body) or _wordy(body):
        return False
    if _plain_words(body):
        return False
    kinds = sum(
        (
            any(c.islower() for c in body),
            any(c.isupper() for c in body),
            any(c.isdigit() for c in body),
        )
    )
    return kinds >= 2


# Keys published in vendor documentation for local emulators (Azurite / Storage Emulator).
_PUBLIC_AZURE_KEYS = frozenset(
    {
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    }
)


def azure_storage_key(value: str) -> bool:
    """An Azure Storage account key decodes to 64 bytes and is not the emulator's public key."""
    raw = _b64decode(value)
    return raw is not None and len(raw) == 64 and value not in _PUBLIC_AZURE_KEYS


def mixed_case(value: str) -> bool:
    """Letters-only random tokens (after a vendor prefix) mix cases evenly; identifiers do not."""
    body = value.rsplit("_", 1)[-1]
    letters = [c for c in body if c.isalpha()]
    if len(letters) < 16:
        return False
    upper = sum(c.isupper() for c in letters)
    share = upper / len(letters)
    return 0.2 <= share <= 0.8 and not _PLAIN_WORDS.match(body)


_PLACEHOLDER_PASSWORDS = _COMMON_PASSWORDS | {
    "pw", "pword", "passwort", "mot_de_passe", "secretpassword", "supersecret",
    "mysecretpassword", "mysecret", "pa55word", "pa$$word", "x", "xx", "xxx", "token", "apikey",
    "api_key", "key", "accesskey", "secretkey", "user", "username", "name", "pass123", "foo",
    "bar", "baz", "qux", "pw123", "hello", "world",
}  # fmt: skip


def url_password(value: str) -> bool:
    """A password in a URL or ``curl -u``: not a placeholder word, variable or template."""
    low = lower(value)
    if low in _PLACEHOLDER_PASSWORDS or len(value) < 3 or _ECHO_WORDS.search(value):
        return False
    if value.startswith(("$", "%", "{", "[", "(")) or value.endswith(("}", "]", ")")):
        return False
    # A port number sitting after a host ("http://host:8080@...") is not a password.
    return not (value.isdigit() and len(value) <= 5)


_UUID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f])[0-9a-f]{3}-([0-9a-f])[0-9a-f]{3}-[0-9a-f]{12}$"
)


def uuid4(value: str) -> bool:
    """A random (version 4, RFC 4122 variant) UUID: vendors that issue UUID tokens issue these;
    a hand-typed ``12345678-ABCD-ABCD-ABCD-1234567890AB`` is neither."""
    m = _UUID.match(lower(value))
    if m is None:
        return False
    return m.group(1) == "4" and m.group(2) in "89ab" and not _is_filler(value)


_HEX = frozenset("0123456789abcdef")


def hex_token(value: str) -> bool:
    """Hex of one case (an encoder writes one case), no filler, after a short vendor prefix
    (``squ_``): Sonar tokens."""
    body = _SHORT_PREFIX.sub("", value, count=1)
    if not (body.islower() or body.isupper() or body.isdigit()):
        return False
    return set(lower(body)) <= _HEX and not _is_filler(body)


def twitter_bearer(value: str) -> bool:
    """X/Twitter app-only bearer tokens open with a run of ``A`` (zero bytes); the rest is
    random."""
    return not _is_filler(value.lstrip("A"))


def no_filler_after_prefix(value: str) -> bool:
    """Like ``no_filler`` past a fixed vendor marker made of repeated characters (``AAAA...``)."""
    return not _is_filler(value[4:])


def tail_no_filler(value: str) -> bool:
    """Tokens made of public numeric ids then a random part (Slack ``xoxa-2-<team>-<user>-<hex>``):
    only the random last part must be free of filler; ids may well repeat digits."""
    head, _, tail = value.rpartition("-")
    if not head or not any(c.isalpha() for c in tail):
        return not _is_filler(value)
    return len(tail) >= 8 and not _is_filler(tail)


def bech32_checksum(value: str) -> bool:
    """A bech32 string (BIP-173) whose 6-character checksum verifies, as age identities are."""
    low = lower(value)
    hrp, sep, data = low.rpartition("1")
    if not sep or not hrp or len(data) < 6 or any(c not in _BECH32 for c in data):
        return False
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    return _bech32_polymod(expanded + [_BECH32.index(c) for c in data]) == 1


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58_decode(value: str) -> bytes | None:
    n = 0
    for c in value:
        i = _BASE58.find(c)
        if i < 0:
            return None
        n = n * 58 + i
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * (len(value) - len(value.lstrip("1"))) + raw


def bitcoin_wif(value: str) -> bool:
    """A Bitcoin private key in Wallet Import Format: base58check, version byte 0x80 (mainnet) or
    0xef (testnet), 32 key bytes and an optional 0x01 compression flag."""
    raw = _base58_decode(value)
    if raw is None or len(raw) not in (37, 38):
        return False
    body, check = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] != check:
        return False
    return body[0] in (0x80, 0xEF) and (len(body) == 33 or body[-1] == 0x01)


def jwk_private(value: str) -> bool:
    """The private exponent ``d`` of a JWK: base64url of 32+ bytes."""
    raw = _b64decode(value)
    return raw is not None and len(raw) >= 32 and not _is_filler(value)


def key_32_bytes(value: str) -> bool:
    """A 256-bit key in base64 (WireGuard keys, Azure SAS keys): exactly 32 bytes."""
    raw = _b64decode(value)
    return raw is not None and len(raw) == 32 and not _is_filler(value)


def base64_credentials(value: str) -> bool:
    """``base64(user:password)`` as in Docker's config.json ``auth`` or a Basic header: decodes
    to printable ``user:password`` with a password that is not a placeholder."""
    raw = _b64decode(value)
    if raw is None:
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    user, sep, password = text.partition(":")
    if not sep or not user or not text.isprintable():
        return False
    return url_password(password)


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "azure_storage_key": azure_storage_key,
    "base64_credentials": base64_credentials,
    "bech32_checksum": bech32_checksum,
    "bitcoin_wif": bitcoin_wif,
    "jwk_private": jwk_private,
    "no_filler_after_prefix": no_filler_after_prefix,
    "tail_no_filler": tail_no_filler,
    "twitter_bearer": twitter_bearer,
    "uuid4": uuid4,
    "key_32_bytes": key_32_bytes,
    "base64_json": base64_json,
    "discord_bot_token": discord_bot_token,
    "generic_secret": generic_secret,
    "github_checksum": github_checksum,
    "hex_token": hex_token,
    "jwt": jwt,
    "mixed_case": mixed_case,
    "no_filler": no_filler,
    "npm_checksum": npm_checksum,
    "password_strength": password_strength,
    "pem_private_key": pem_private_key,
    "random_token": random_token,
    "url_password": url_password,
}
