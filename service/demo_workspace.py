"""A small workspace of fake but realistic data for ``perimeter demo``.

Every value is generated: names and places come from a seeded Faker, identifiers (SSNs, card
numbers, IBANs, tokens) from a seeded ``random.Random`` with their real checksums computed here, so
the detectors' validators accept them. Phone numbers use the 555-0100..0199 block that North
American numbering reserves for fiction; domains use the reserved ``.example`` TLD. Nothing needs
the network, and one seed always yields byte-identical files.

``EXPECTED_LEVELS`` says which level the default policy should give each file, so the demo and
the tests can check themselves.
"""

from __future__ import annotations

import csv
import io
import json
import random
import string
import zipfile
import zlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from xml.sax.saxutils import escape

from faker import Faker

from classifiers.filters import is_placeholder, shannon_entropy
from models import Level

COMPANY = "Brightwave Inc."
DOMAIN = "brightwave.example"

PUBLIC_PREFIXES: tuple[str, ...] = ("public/",)
"""Folders the demo's policy declares public: items there with no findings are ``public``."""

EXPECTED_LEVELS: dict[str, str] = {
    "hr/employees.csv": Level.RESTRICTED.value,
    "finance/payments.tsv": Level.RESTRICTED.value,
    "engineering/deploy.env": Level.RESTRICTED.value,
    "engineering/service-config.yaml": Level.INTERNAL.value,
    "sales/leads.jsonl": Level.CONFIDENTIAL.value,
    "support/ticket-4821.json": Level.CONFIDENTIAL.value,
    "support/escalation-notes.md": Level.CONFIDENTIAL.value,
    "marketing/campaign-plan.md": Level.INTERNAL.value,
    "ops/app.log": Level.INTERNAL.value,
    "public/press-release.txt": Level.PUBLIC.value,
    "public/product-faq.md": Level.PUBLIC.value,
    "legal/contract-draft.txt": Level.CONFIDENTIAL.value,
    "hr/offer-letter.docx": Level.RESTRICTED.value,
    "finance/payroll-2024.xlsx": Level.RESTRICTED.value,
    "legal/nda-signed.pdf": Level.CONFIDENTIAL.value,
    "support/inbox/complaint-7731.eml": Level.CONFIDENTIAL.value,
    "exports/hr-export.zip": Level.RESTRICTED.value,
}
"""Relative path of every generated file -> the level the default policy should give it."""

# Real area codes; the 555-01XX line numbers under them are fictional by NANP rule.
_AREA_CODES = (212, 303, 312, 404, 415, 503, 512, 602, 617, 702, 713, 919, 206, 305, 614)
# Suffixes the street-address detector knows, so every generated address is recognisable.
_STREET_SUFFIXES = ("Street", "Avenue", "Road", "Lane", "Drive", "Court", "Way", "Boulevard")
_BASE32 = string.ascii_uppercase + "234567"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_ALNUM = string.ascii_letters + string.digits


class _Gen:
    """Seeded sources for one file: derived from (seed, path) so files do not shift each other."""

    def __init__(self, seed: int, rel: str) -> None:
        self.rng = random.Random(f"{seed}:{rel}")
        self.fake = Faker("en_US")
        self.fake.seed_instance(f"{seed}:{rel}")
        self._phones: set[str] = set()
        self._emails: set[str] = set()

    def person(self) -> tuple[str, str]:
        # first_name/last_name rather than name(): name() adds "Dr."/"MD" now and then.
        return self.fake.first_name(), self.fake.last_name()

    def titled_person(self) -> tuple[str, str, str]:
        """(title, first, last). In prose spaCy's small model often reads a bare "First Last"
        as an organisation; "Ms. First Last" it reliably tags as a person."""
        if self.rng.random() < 0.5:
            return "Ms.", self.fake.first_name_female(), self.fake.last_name()
        return "Mr.", self.fake.first_name_male(), self.fake.last_name()

    def email(self, first: str, last: str, domain: str) -> str:
        local = "".join(c for c in f"{first}.{last}".lower() if c.isalnum() or c == ".")
        candidate, n = f"{local}@{domain}", 1
        while candidate in self._emails:
            n += 1
            candidate = f"{local}{n}@{domain}"
        self._emails.add(candidate)
        return candidate

    def phone(self) -> str:
        while True:
            area, line = self.rng.choice(_AREA_CODES), self.rng.randint(100, 199)
            key = f"{area}{line}"
            if key not in self._phones:
                self._phones.add(key)
                break
        style = self.rng.randrange(3)
        if style == 0:
            return f"({area}) 555-{line:04d}"
        if style == 1:
            return f"{area}-555-{line:04d}"
        return f"+1 {area} 555 {line:04d}"

    def day(self, start_year: int, end_year: int) -> date:
        # Fixed ranges, never Faker's date helpers: those count from today, and the output must
        # not change with the clock.
        first, last = date(start_year, 1, 1), date(end_year, 12, 31)
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def street_address(self) -> tuple[str, str]:
        """(street line, "City, ST 12345")."""
        street = (
            f"{self.rng.randint(10, 9899)} {self.fake.last_name()} "
            f"{self.rng.choice(_STREET_SUFFIXES)}"
        )
        state = self.fake.state_abbr(include_territories=False)
        return street, f"{self.fake.city()}, {state} {self.fake.zipcode()}"

    def token(self, alphabet: str, length: int) -> str:
        """Random characters that no placeholder filter or entropy gate would mistake for filler."""
        while True:
            value = "".join(self.rng.choice(alphabet) for _ in range(length))
            if not is_placeholder(value) and shannon_entropy(value) >= 3.0:
                return value


# -- identifiers with real checksums ----------------------------------------------------------


def ssn(rng: random.Random) -> str:
    """An SSN the SSA could issue: area 001-665 or 667-899, group 01-99, serial 0001-9999."""
    while True:
        area = rng.randint(1, 899)
        if area == 666:
            continue
        value = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        if value not in ("078-05-1120", "219-09-9999"):  # voided sample-card numbers
            return value


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:  # doubled: these positions become odd once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def card_number(rng: random.Random, brand: str) -> str:
    """A Luhn-valid number in the brand's issuer range, grouped as printed on the card."""
    if brand == "visa":
        prefix, length = "4", 16
    elif brand == "mastercard":
        prefix = str(rng.randint(51, 55)) if rng.random() < 0.6 else str(rng.randint(2221, 2720))
        length = 16
    elif brand == "amex":
        prefix, length = rng.choice(("34", "37")), 15
    else:
        raise ValueError(f"unknown card brand {brand!r}")
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    digits = body + luhn_check_digit(body)
    if length == 15:
        return f"{digits[:4]} {digits[4:10]} {digits[10:]}"
    return " ".join(digits[i : i + 4] for i in range(0, 16, 4))


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 check digits: 98 minus (BBAN + country + "00", letters as 10..35) mod 97."""
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{98 - int(numeric) % 97:02d}"


def _fr_rib_key(bank: str, branch: str, account: str) -> str:
    # French RIB key over the numeric BBAN parts; accounts here are digits only.
    return f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97:02d}"


def iban(rng: random.Random, country: str) -> str:
    """A GB, DE or FR IBAN of the right length and mod-97 check, in electronic (compact) form."""

    def digits(n: int) -> str:
        return "".join(str(rng.randrange(10)) for _ in range(n))

    if country == "GB":  # 4-letter bank code, 6-digit sort code, 8-digit account
        bban = rng.choice(("NWBK", "BARC", "LOYD", "MIDL", "HBUK")) + digits(14)
    elif country == "DE":  # 8-digit Bankleitzahl, 10-digit account
        bban = digits(18)
    elif country == "FR":  # bank, branch, 11-char account, RIB key
        bank, branch, account = digits(5), digits(5), digits(11)
        bban = bank + branch + account + _fr_rib_key(bank, branch, account)
    else:
        raise ValueError(f"no IBAN layout for {country!r}")
    # Compact, as bank exports write it. (Printed in groups of four, a DE or FR IBAN holds
    # 16-digit runs that can pass for a card number next to card context words.)
    return country + iban_check_digits(country, bban) + bban


def github_token(gen: _Gen) -> str:
    """A classic ``ghp_`` token: 30 random base62 characters and their CRC32 in base62."""
    body = gen.token(_BASE62, 30)
    crc, tail = zlib.crc32(body.encode()), ""
    while crc:
        crc, r = divmod(crc, 62)
        tail = _BASE62[r] + tail
    return f"ghp_{body}{tail.rjust(6, '0')}"


# -- files ------------------------------------------------------------------------------------


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _employees(gen: _Gen) -> str:
    rows = [
        ["employee_id", "full_name", "email", "phone", "ssn", "date_of_birth", "salary",
         "start_date"]
    ]  # fmt: skip
    for n in range(40):
        first, last = gen.person()
        rows.append(
            [
                f"E{1040 + n * 7}",
                f"{first} {last}",
                gen.email(first, last, DOMAIN),
                gen.phone(),
                ssn(gen.rng),
                gen.day(1962, 2001).isoformat(),
                str(gen.rng.randrange(52_000, 185_000, 500)),
                gen.day(2012, 2024).isoformat(),
            ]
        )
    return _csv(rows)


def _payments(gen: _Gen) -> str:
    rows = [["payment_id", "customer_name", "card_brand", "card_number", "iban", "amount",
             "currency", "paid_on"]]  # fmt: skip
    for n in range(25):
        first, last = gen.person()
        brand = ("visa", "mastercard", "amex")[n % 3]
        country = ("GB", "DE", "FR")[gen.rng.randrange(3)]
        rows.append(
            [
                f"PAY-{20410 + n * 13}",
                f"{first} {last}",
                brand,
                card_number(gen.rng, brand),
                iban(gen.rng, country),
                f"{gen.rng.randint(20, 4800)}.{gen.rng.randrange(100):02d}",
                "GBP" if country == "GB" else "EUR",
                gen.day(2024, 2024).isoformat(),
            ]
        )
    return _csv(rows, delimiter="\t")


def _deploy_env(gen: _Gen) -> str:
    slack = (
        f"xoxb-{gen.rng.randint(10**10, 10**11 - 1)}-{gen.rng.randint(10**12, 10**13 - 1)}-"
        f"{gen.token(_ALNUM, 24)}"
    )
    db_password = gen.token(_ALNUM + "_-", 22)
    return (
        "# production deploy settings for the orders service\n"
        "# loaded by the release pipeline; do not commit this file\n"
        "APP_ENV=production\n"
        "LOG_LEVEL=info\n"
        "AWS_DEFAULT_REGION=us-east-1\n"
        f"AWS_ACCESS_KEY_ID=AKIA{gen.token(_BASE32, 16)}\n"
        f"AWS_SECRET_ACCESS_KEY={gen.token(_ALNUM + '/+', 40)}\n"
        f"SLACK_BOT_TOKEN={slack}\n"
        f"STRIPE_SECRET_KEY=sk_live_{gen.token(_ALNUM, 24)}\n"
        f"GITHUB_TOKEN={github_token(gen)}\n"
        f"DATABASE_URL=postgres://orders_app:{db_password}@db-primary.internal:5432/orders\n"
        f"REDIS_PASSWORD={gen.token(_ALNUM, 28)}\n"
        "WORKERS=4\n"
    )


# Only lower-case prose and placeholders: no value here is a real secret or a name.
_SERVICE_CONFIG = """\
# orders service configuration (checked in; real values come from the environment)
service:
  name: orders
  port: 8080
  workers: 4
  log_level: info
database:
  host: db-primary.internal
  user: orders_app
  password: changeme
payments:
  api_key: ${API_KEY}
  timeout_seconds: 30
storage:
  bucket: orders-exports
  aws_access_key_id: AKIAIOSFODNN7EXAMPLE
  aws_secret_access_key: ${AWS_SECRET_ACCESS_KEY}
"""


def _leads(gen: _Gen) -> str:
    notes = (
        "Asked for a demo of the analytics add-on.",
        "Wants pricing for 200 seats before the end of the quarter.",
        "Met at the trade show booth; follow up next week.",
        "Currently evaluating two other vendors.",
        "Interested in the single sign-on integration.",
        "Requested a security questionnaire.",
        "Renewal is handled by their procurement team.",
    )
    lines = []
    for _ in range(30):
        first, last = gen.person()
        company = gen.fake.company()
        slug = "".join(c for c in company.split()[0].lower() if c.isalnum())
        lead = {
            "name": f"{first} {last}",
            "company": company,
            "email": gen.email(first, last, f"{slug}.example"),
            "phone": gen.phone(),
            "city": gen.fake.city(),
            "notes": gen.rng.choice(notes),
        }
        lines.append(json.dumps(lead, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _ticket(gen: _Gen) -> str:
    title, first, last = gen.titled_person()
    street, city = gen.street_address()
    opened = datetime(2024, 5, 14, 9, 12) + timedelta(minutes=gen.rng.randint(0, 4000))
    ticket = {
        "id": 4821,
        "subject": "Replacement order shipped to my old address",
        "status": "open",
        "priority": "high",
        "created_at": opened.isoformat() + "Z",
        "requester": {
            "name": f"{first} {last}",
            "email": gen.email(first, last, gen.fake.safe_domain_name()),
            "phone": gen.phone(),
        },
        "messages": [
            {
                "from": "requester",
                "sent_at": opened.isoformat() + "Z",
                "body": (
                    "Hello, my replacement order went to my old address again. Please ship "
                    f"it to {street}, {city} instead. I am home every afternoon this week. "
                    f"Thank you, {first} {last}"
                ),
            },
            {
                "from": "agent",
                "sent_at": (opened + timedelta(hours=2)).isoformat() + "Z",
                "body": (
                    f"Thanks for letting us know, {title} {last}. I have updated the "
                    "shipping address and asked the warehouse to resend the parcel today."
                ),
            },
        ],
        "tags": ["shipping", "address-change", "vip"],
    }
    return json.dumps(ticket, indent=2, ensure_ascii=False) + "\n"


def _escalation(gen: _Gen) -> str:
    title, first, last = gen.titled_person()
    street, city = gen.street_address()
    dob = gen.day(1950, 1999)
    return (
        # A table, not "Key: value" lines: spaCy would run a name into the next line's key.
        "# Escalation: duplicate charges on the annual plan\n\n"
        "| Field | Value |\n"
        "|---|---|\n"
        f"| Customer | {title} {first} {last} |\n"
        f"| DOB | {dob.month:02d}/{dob.day:02d}/{dob.year} |\n"
        f"| Home address | {street}, {city} |\n\n"
        "## Summary\n\n"
        f"{title} {first} {last} called support three times this week about being charged "
        "twice for the annual plan. The second charge was refunded on our side, but the bank "
        f"has not released the hold yet. {title} {last} asked that we confirm the refund in "
        "writing and send it to the home address above.\n\n"
        "## Next steps\n\n"
        "- Billing to send the refund confirmation letter by Friday.\n"
        f"- Support lead to call {title} {last} once the bank confirms.\n"
        "- Close the ticket after the customer confirms the hold is gone.\n"
    )


# Product names only; the single mailbox is a role address, not a person.
_CAMPAIGN_PLAN = f"""\
# Autumn launch campaign plan

## Campaign goal

The campaign aims to grow trial sign-ups for the new analytics add-on by a third over the
quarter, and to move existing customers of the starter plan to the team plan.

## Products in scope

- PulseBoard: dashboards and scheduled reports.
- PulseConnect: the new integration hub with fifty connectors at launch.
- Team plan: shared workspaces, single sign-on and audit trails.

## Channels

1. Webinar series: three sessions, one per product theme.
2. Newsletter: a launch issue and two follow-ups with customer stories (with written consent).
3. Paid search on integration keywords, capped at the monthly budget agreed with finance.
4. In-product banner for starter-plan workspaces with more than five members.

## Budget and measurement

The budget is split evenly between paid search and the webinar series. Success is measured by
trial sign-ups, trial-to-paid conversion and the share of starter workspaces that upgrade.

## Contact

Questions and asset requests go to the shared mailbox marketing@{DOMAIN}.
"""


def _hex_id(rng: random.Random, length: int) -> str:
    """A lower-case hex id with no run of four digits: libphonenumber reads short digit runs as
    German numbers, and an id is not a phone number."""
    while True:
        value = "".join(rng.choice("0123456789abcdef") for _ in range(length))
        if not any(value[i : i + 4].isdigit() for i in range(length - 3)):
            return value


def _app_log(gen: _Gen) -> str:
    paths = (
        "/api/v2/orders", "/api/v2/orders/{id}", "/api/v2/invoices/{id}", "/api/v2/products",
        "/healthz", "/api/v2/cart/{id}/items", "/api/v2/search",
    )  # fmt: skip
    clients = [f"203.0.113.{gen.rng.randint(2, 254)}" for _ in range(4)] + [
        f"198.51.100.{gen.rng.randint(2, 254)}" for _ in range(3)
    ]
    at = datetime(2024, 6, 3, 8, 0, 0)
    lines = []
    for _ in range(50):
        at += timedelta(seconds=gen.rng.randint(1, 90), milliseconds=gen.rng.randint(0, 999))
        stamp = at.isoformat(timespec="milliseconds") + "Z"
        path = gen.rng.choice(paths).replace("{id}", _hex_id(gen.rng, 10))
        method = "GET" if gen.rng.random() < 0.7 else "POST"
        codes = (200, 304, 404, 500) if method == "GET" else (201, 400, 409, 500)
        status = gen.rng.choices(codes, weights=(80, 8, 8, 4))[0]
        level = "error" if status >= 500 else "warn" if status >= 400 else "info"
        request_id = _hex_id(gen.rng, 16)
        line = (
            f"{stamp} {level:<5} orders-api request_id={request_id} method={method} "
            f"path={path} status={status} duration_ms={gen.rng.randint(2, 900)}"
        )
        if gen.rng.random() < 0.4:  # only part of the traffic comes through the edge proxy
            line += f" client={gen.rng.choice(clients)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


# No names, places, dates, numbers or addresses: nothing here is a finding.
_PRESS_RELEASE = f"""\
FOR IMMEDIATE RELEASE

{COMPANY} launches PulseConnect, an integration hub for growing teams

{COMPANY} today announced PulseConnect, a new integration hub that links the analytics
tools a team already uses to the reports it shares every week. PulseConnect ships with
connectors for popular spreadsheets, ticketing tools and data warehouses, and it keeps each
connection read-only by default.

"Teams told us they spend too much time copying numbers between tools," the product team
said. "PulseConnect moves that work into the background, so people can spend their time on
the questions that matter."

PulseConnect is available today on the team and enterprise plans at no extra cost. Starter
plan customers can try it free for a month from the settings page of their workspace.

About {COMPANY}

{COMPANY} makes analytics software for small and mid-sized businesses. Its products help
teams turn everyday data into clear, shared reports without writing code.

Press enquiries: please use the press contact form on our website.
"""

_PRODUCT_FAQ = f"""\
# PulseConnect: frequently asked questions

## What is PulseConnect?

PulseConnect is the integration hub of the {COMPANY} analytics suite. It links your existing
tools to PulseBoard so your reports stay current without manual exports.

## Which plans include it?

The team and enterprise plans include PulseConnect at no extra cost. Starter plan workspaces
can try it free for a month.

## Does PulseConnect change data in my tools?

No. Every connection is read-only unless a workspace owner grants write access for a
specific workflow.

## How often does data refresh?

Most connectors refresh every fifteen minutes. Enterprise workspaces can choose a shorter
interval for critical reports.

## Where can I get help?

Open the help panel inside the product and choose "Ask a question". Our support team answers
within one business day.
"""


def _contract(gen: _Gen) -> str:
    c_title, c_first, c_last = gen.titled_person()
    b_title, b_first, b_last = gen.titled_person()
    consultant_email = gen.email(c_first, c_last, gen.fake.safe_domain_name())
    buyer_email = gen.email(b_first, b_last, DOMAIN)
    signed = gen.day(2024, 2024)
    fee = gen.rng.randrange(90, 220, 5)
    return (
        "DRAFT - CONSULTING AGREEMENT\n\n"
        f"This Consulting Agreement is made on {signed:%B} {signed.day}, {signed.year} between "
        f"{COMPANY}, represented by {b_title} {b_first} {b_last} (email: {buyer_email}), and "
        f"{c_title} {c_first} {c_last}, an independent consultant (email: {consultant_email}).\n\n"
        "1. Services. The consultant will review the data retention practices of the "
        f"company and deliver a written report to {b_title} {b_last} within eight weeks.\n\n"
        f"2. Fees. {COMPANY} will pay an hourly fee of {fee} US dollars, invoiced monthly and "
        "payable within thirty days of receipt.\n\n"
        "3. Confidentiality. Each party will keep the other party's confidential information "
        "secret and use it only for the purposes of this agreement.\n\n"
        "4. Notices. Notices under this agreement are sent by email to the addresses above.\n\n"
        f"Signed: ____________________  {c_first} {c_last}\n\n"
        f"Signed: ____________________  {b_first} {b_last}, for {COMPANY}\n"
    )


def _fixed(text: str) -> Callable[[_Gen], str]:
    return lambda _gen: text


_BUILDERS: dict[str, Callable[[_Gen], str]] = {
    "hr/employees.csv": _employees,
    "finance/payments.tsv": _payments,
    "engineering/deploy.env": _deploy_env,
    "engineering/service-config.yaml": _fixed(_SERVICE_CONFIG),
    "sales/leads.jsonl": _leads,
    "support/ticket-4821.json": _ticket,
    "support/escalation-notes.md": _escalation,
    "marketing/campaign-plan.md": _fixed(_CAMPAIGN_PLAN),
    "ops/app.log": _app_log,
    "public/press-release.txt": _fixed(_PRESS_RELEASE),
    "public/product-faq.md": _fixed(_PRODUCT_FAQ),
    "legal/contract-draft.txt": _contract,
}


# -- documents: Office, PDF, email, zip (minimal writers; fixed timestamps keep bytes stable) ---

_W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_S_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_R_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"


def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in parts.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), body)
    return buf.getvalue()


def _docx(paragraphs: list[str], table: list[list[str]]) -> bytes:
    def para(text: str) -> str:
        return f"<w:p><w:r><w:t>{escape(text)}</w:t></w:r></w:p>"

    rows = "".join(
        "<w:tr>" + "".join(f"<w:tc>{para(c)}</w:tc>" for c in row) + "</w:tr>" for row in table
    )
    body = "".join(para(p) for p in paragraphs) + f"<w:tbl>{rows}</w:tbl>"
    document = f"<w:document {_W_NS}><w:body>{body}</w:body></w:document>"
    return _zip(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "word/document.xml": document.encode(),
        }
    )


def _xlsx(sheet: str, rows: list[list[str]]) -> bytes:
    def col(n: int) -> str:
        return chr(65 + n)  # the demo sheets are narrower than 26 columns

    xml_rows = "".join(
        f'<row r="{r}">'
        + "".join(
            f'<c r="{col(c)}{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
            for c, v in enumerate(row)
        )
        + "</row>"
        for r, row in enumerate(rows, start=1)
    )
    rels = f'<Relationship Id="rId1" Type="{_WORKSHEET}" Target="worksheets/sheet1.xml"/>'
    return _zip(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "xl/workbook.xml": f'<workbook {_S_NS} {_R_NS}><sheets><sheet name="{sheet}" '
            'sheetId="1" r:id="rId1"/></sheets></workbook>'.encode(),
            "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_RELS_NS}">{rels}'
            "</Relationships>".encode(),
            "xl/worksheets/sheet1.xml": f"<worksheet {_S_NS}><sheetData>{xml_rows}</sheetData>"
            "</worksheet>".encode(),
        }
    )


def _pdf(lines: list[str]) -> bytes:
    """One page of Helvetica text, a line per entry."""
    ops = ["BT", "/F1 10 Tf", "13 TL", "50 750 Td"]
    for line in lines:
        safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops += [f"({safe}) Tj", "T*"]
    stream = "\n".join([*ops, "ET"]).encode("latin-1", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        b"/Resources << /Font << /F1 3 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _offer_letter(gen: _Gen) -> bytes:
    title, first, last = gen.titled_person()
    street, city = gen.street_address()
    start = gen.day(2025, 2025)
    return _docx(
        [
            f"{COMPANY} - offer of employment",
            f"Dear {title} {first} {last},",
            f"We are pleased to offer you the position of Data Analyst, starting {start:%B} "
            f"{start.day}, {start.year}. Payroll will use the details you sent us.",
            f"Please sign and return this letter to {street}, {city} by the end of the month.",
        ],
        [
            ["field", "value"],
            ["full name", f"{first} {last}"],
            ["ssn", ssn(gen.rng)],
            ["phone", gen.phone()],
        ],
    )


def _payroll_rows(gen: _Gen, n: int) -> list[list[str]]:
    rows = [["employee_id", "full_name", "ssn", "net_pay"]]
    for i in range(n):
        first, last = gen.person()
        pay = gen.rng.randrange(2_400, 9_800, 25)
        rows.append([f"E{2000 + i * 3}", f"{first} {last}", ssn(gen.rng), f"{pay}.00"])
    return rows


def _payroll(gen: _Gen) -> bytes:
    return _xlsx("Payroll", _payroll_rows(gen, 12))


def _nda(gen: _Gen) -> bytes:
    c_title, c_first, c_last = gen.titled_person()
    b_title, b_first, b_last = gen.titled_person()
    signed = gen.day(2024, 2024)
    return _pdf(
        [
            "MUTUAL NON-DISCLOSURE AGREEMENT (signed copy)",
            "",
            f"Made on {signed:%B} {signed.day}, {signed.year} between {COMPANY}, represented by",
            f"{b_title} {b_first} {b_last} ({gen.email(b_first, b_last, DOMAIN)}), and",
            f"{c_title} {c_first} {c_last} ({gen.email(c_first, c_last, 'vendor.example')}).",
            "",
            "Each party keeps the other party's confidential information secret.",
        ]
    )


def _complaint(gen: _Gen) -> bytes:
    title, first, last = gen.titled_person()
    street, city = gen.street_address()
    msg = EmailMessage()
    msg["From"] = gen.email(first, last, "mail.example")
    msg["To"] = f"support@{DOMAIN}"
    msg["Subject"] = "Complaint about my last invoice"
    msg["Date"] = "Mon, 03 Mar 2025 09:12:00 +0000"
    msg["Message-ID"] = f"<complaint-7731@{DOMAIN}>"
    msg.set_content(
        "Hello,\n\n"
        f"My name is {title} {first} {last} and I was charged twice in February.\n"
        f"Please call me back on {gen.phone()} or write to {street}, {city}.\n\n"
        f"Regards,\n{first} {last}\n"
    )
    return msg.as_bytes()


def _hr_export(gen: _Gen) -> bytes:
    return _zip(
        {
            "README.txt": b"Quarterly HR export. Handle according to the data policy.\n",
            "hr/payroll.xlsx": _xlsx("Sheet1", _payroll_rows(gen, 5)),
        }
    )


_DOCUMENTS: dict[str, Callable[[_Gen], bytes]] = {
    "hr/offer-letter.docx": _offer_letter,
    "finance/payroll-2024.xlsx": _payroll,
    "legal/nda-signed.pdf": _nda,
    "support/inbox/complaint-7731.eml": _complaint,
    "exports/hr-export.zip": _hr_export,
}


def write_workspace(root: Path, seed: int = 7) -> list[Path]:
    """Write the demo files under ``root`` (created if missing); return their paths, sorted."""
    written: list[Path] = []
    for rel, build in _BUILDERS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        # newline="\n": the same bytes on every platform, so one seed means one workspace.
        path.write_text(build(_Gen(seed, rel)), encoding="utf-8", newline="\n")
        written.append(path)
    for rel, make in _DOCUMENTS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make(_Gen(seed, rel)))
        written.append(path)
    return sorted(written)
