"""Find which patterns occur in a text in one pass over it, whatever the number of rules.

Two back ends behind one small interface (:class:`PatternScanner`):

- :class:`HyperscanScanner` compiles every pattern it can into ONE Hyperscan database
  (single-match mode: each pattern reports at most once per text), so a text is scanned once for
  all rules. Hyperscan has no capture groups, so the engine then runs the RE2 program of each
  pattern that occurred to get the exact leftmost-first matches and their ``value`` group.
  Patterns Hyperscan rejects (too large, embedded anchors), and those without a literal for
  it to look for first (``_literal_free``), which an RE2 set finds faster, go to small RE2
  sets.
- :class:`Re2Scanner` is the fallback when Hyperscan is not installed or not wanted: RE2 sets say
  which patterns occur.

Hyperscan has false negatives on some patterns: hyperscan 0.9.1 does not report the generic
``getenv("api_token", "value")`` credential pattern of ``secret.generic_api_key`` on
``GetEnvOrDefault("api_token", ...)``, where RE2 finds it. So a database is checked when it is
built: every probe text (the rules' examples) is scanned by it and by RE2 sets, and a pattern
Hyperscan misses on any of them is also searched with RE2 on every text (it stays in the
database, where a hit is harmless). RE2 stays the reference for what a pattern matches.

Start-of-match mode (``HS_FLAG_SOM_LEFTMOST``), which would let RE2 confirm each candidate in a
small window instead of the whole text, was measured and rejected: with the ~350 built-in
patterns the database took minutes to compile and 13 MB, against seconds in single-match mode;
and most texts hit only a handful of patterns, so the whole-text RE2 passes cost little.

Texts are scanned as UTF-8 bytes (``HS_FLAG_UTF8``, ASCII ``\\b``/``\\d``/``\\w`` as in
RE2); ASCII texts with a second database compiled in byte mode, which matches the same on
them and scans faster. Each database is built once per process, on the first text that needs
it (engines with the same patterns share it), kept in a private cache directory for the next
processes, and each thread gets its own scratch space.
Nothing here is pickled: the engine rebuilds its scanner after unpickling.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import threading
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import re2

_SET_SIZE = 25
# A text of fewer bytes is short: its RE2 patterns are searched with one set (``Re2Sets``).
SHORT_TEXT = 2048
# Hyperscan compile time and database size explode with large bounded repeats ({0,800}); such
# patterns are not even offered to it (trying costs seconds per pattern) and go to RE2.
_MAX_REPEAT = 200
_REPEAT = re2.compile(r"\{(\d+)(?:,(\d*))?\}")


def re2_options() -> Any:
    options = re2.Options()
    options.max_mem = 64 << 20
    options.log_errors = False
    return options


class PatternScanner(Protocol):
    """Which patterns (indices into the list it was built from) occur in ``data``, ascending.

    ``deferred``: patterns that ``scan`` does not look for in ASCII data unless asked to
    (``with_deferred``); otherwise the caller decides whether to search those itself.
    """

    backend: str
    deferred: frozenset[int]

    def scan(self, data: bytes, with_deferred: bool = False) -> list[int]: ...


class Re2Sets:
    """Several small RE2 sets: one set of ~150 patterns exhausts its DFA cache on base64-heavy
    text and falls back to a slow path (2 s/MB measured).

    A set tells exactly which patterns occur: RE2 has no NFA to fall back to for a set, so
    once it has compiled its DFA never gives up on a text (it empties its cache and goes on);
    a memory budget too small for it makes ``Compile`` raise, at build time.

    ``size``: patterns per set. Each call costs about a microsecond whatever the set, which
    dominates on short texts (forms, messages, records): there one set of all the patterns
    is 2-4x as fast as sets of 25 on text with words (and on par on random bytes), since a
    short text makes its automaton build few states.
    """

    def __init__(self, regexes: Sequence[tuple[int, str]], size: int = _SET_SIZE) -> None:
        self._sets: list[tuple[list[int], Any]] = []
        # As few sets as ``size`` allows, of even sizes: each set reads the whole text, so 42
        # patterns are two sets of 21, and 26 not a set of 25 and a pass for one pattern.
        count = -(-len(regexes) // max(size, 1))
        even = -(-len(regexes) // max(count, 1))
        for first in range(0, len(regexes), max(even, 1)):
            chunk = regexes[first : first + even]
            rset = re2.Set.SearchSet(re2_options())
            for _, regex in chunk:
                rset.Add(regex)
            rset.Compile()
            # The compiled set's own Match (google-re2 pinned in pyproject.toml): the wrapper's
            # adds a Python call per set and text, and short texts are scanned by the thousand.
            self._sets.append(([index for index, _ in chunk], rset._set.Match))

    def hits(self, data: bytes) -> list[int]:
        return [ids[i] for ids, match in self._sets for i in match(data)]


class Re2Scanner:
    """RE2 only: which patterns occur, each then searched over the whole text."""

    backend = "re2"
    deferred: frozenset[int] = frozenset()

    def __init__(self, regexes: Sequence[str]) -> None:
        self._sets = Re2Sets(list(enumerate(regexes)))

    def scan(self, data: bytes, with_deferred: bool = False) -> list[int]:
        if not data:
            return []
        return sorted(self._sets.hits(data))


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


def _too_large(regex: str) -> bool:
    for m in _REPEAT.finditer(regex):
        low, high = m.group(1), m.group(2)
        bound = int(high) if high else int(low)
        if bound > _MAX_REPEAT:
            return True
    return False


def python_parse(regex: str) -> Any | None:
    """Python's ``re`` parse tree of an RE2 pattern (RE2 has no parse API), or None.

    None where the two parsers read the pattern differently (POSIX and Unicode classes, and
    "{,n}", a repeat to Python but literal text to RE2) or Python's does not take it.
    """
    import re
    import re._parser as sre_parse  # type: ignore[import-not-found]

    if "[:" in regex or "\\p" in regex or "\\P" in regex or "{," in regex:
        return None
    try:
        return sre_parse.parse(regex)
    except (re.error, OverflowError, RecursionError):
        return None


# Hyperscan looks for the literal strings a pattern's matches must hold and runs the rest of
# the pattern only around them; a pattern with no such literal of two bytes or more (digit and
# letter shapes such as \b\d{3}-\d{2}-\d{4}\b, most national ids) keeps its automata running
# over every byte. An RE2 set's DFA, which caches the states the text leads to, tells whether
# such patterns occur 3 to 6 times as fast: measured on the built-in rules with the 43 ASCII
# ones of them (36 PII shapes and a few secret shapes) on 1 MB each of random base64, printable
# ASCII, digits and separators, hex, upper-case alphanumerics and words, and on 5 MB of logs
# (``bench/secrets_speed.py``'s text), in both database modes. So they are not offered to it.
_MIN_LITERAL = 2


def _literal_free(regex: str) -> bool:
    """Whether no literal of ``_MIN_LITERAL`` bytes or more is in every match of ``regex``.

    Read from the parse tree of Python's ``re`` parser (RE2 has no such API), counting only
    runs of literal characters (case-insensitive ones included: Hyperscan's literal search
    folds case too), through groups, repeats of at least one and alternations (the shortest
    branch's literal). Syntax the two parsers read differently, or that Python's does not
    take, answers False: the pattern is offered to Hyperscan as any other.
    """
    import re._constants as sre  # type: ignore[import-not-found]

    tree = python_parse(regex)
    if tree is None:
        return False

    def longest(items: Any) -> int:
        best = run = 0
        for op, av in items:
            if op is sre.LITERAL:
                run += 1
                best = max(best, run)
                continue
            run = 0
            if op is sre.SUBPATTERN:
                best = max(best, longest(av[-1]))
            elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
                best = max(best, longest(av[2]))
            elif op is sre.BRANCH:
                best = max(best, min(longest(branch) for branch in av[1]))
        return best

    return longest(tree) < _MIN_LITERAL


class _Database:
    """A compiled Hyperscan database and which pattern indices it holds (shared per process).

    ``rejected``: patterns Hyperscan cannot compile; ``unreliable``: patterns it compiled but
    missed on a probe text where RE2 found them. Both are searched with RE2 sets. ``left_out``
    patterns are in neither: the database's user does not want them scanned.
    """

    def __init__(
        self,
        regexes: Sequence[str],
        cache_dir: Path | None,
        probes: Sequence[str],
        utf8: bool = True,
        left_out: frozenset[int] = frozenset(),
    ):
        self.db: Any = None
        flags = _FLAGS_VERSION if utf8 else _ASCII_FLAGS_VERSION
        key = hashlib.sha256(
            json.dumps(
                [metadata.version("hyperscan"), flags, list(regexes), list(probes)]
                + ([sorted(left_out)] if left_out else [])
            ).encode()
        ).hexdigest()
        cached = _cache_read(cache_dir, key)
        if cached is not None:
            self.indices, self.unreliable, self.db = cached
        else:
            self.indices, self.db = _build(regexes, utf8, left_out)
            self.unreliable = _misses(self.db, regexes, self.indices, probes)
            _cache_write(cache_dir, key, self.indices, self.unreliable, self.db)
        kept = set(self.indices)
        self.rejected = [i for i in range(len(regexes)) if i not in kept and i not in left_out]


_FLAGS_VERSION = "utf8+singlematch/3"
_ASCII_FLAGS_VERSION = "bytes+singlematch/2"


def _flags(utf8: bool) -> int:
    import hyperscan

    mode = hyperscan.HS_FLAG_UTF8 if utf8 else 0
    return int(mode | hyperscan.HS_FLAG_SINGLEMATCH)


def _compile(regexes: Sequence[str], indices: Sequence[int], utf8: bool = True) -> Any:
    import hyperscan

    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=[regexes[i].encode() for i in indices],
        ids=list(indices),
        elements=len(indices),
        flags=_flags(utf8),
    )
    return db


# Always invalid, with its own message: put last in a compile, it makes the compile stop right
# after every pattern before it was parsed and checked, before the costly build.
_SENTINEL = b"[z-a]"


def _parses(regexes: Sequence[str], indices: Sequence[int], utf8: bool = True) -> bool:
    """Whether Hyperscan takes each of these patterns (its parse and checks, not the build)."""
    import hyperscan

    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        db.compile(
            expressions=[*(regexes[i].encode() for i in indices), _SENTINEL],
            ids=[*range(len(indices)), len(indices)],
            elements=len(indices) + 1,
            flags=_flags(utf8),
        )
    except hyperscan.error as exc:
        return "out of order" in str(exc)  # the sentinel's own error: all before it passed
    return False  # unreachable: the sentinel never compiles


def _build(
    regexes: Sequence[str], utf8: bool = True, left_out: frozenset[int] = frozenset()
) -> tuple[list[int], Any]:
    """Compile every pattern Hyperscan takes into one database: (indices kept, database).

    The patterns it refuses (embedded anchors, unsupported constructs) are found by halving the
    set, each half checked up to the parse only (see ``_SENTINEL``): about 1 s for the ~390
    built-in patterns, where compiling each alone took 5 s. The one full build follows (3 s).
    Should the full build still fail (a resource limit), each pattern is compiled alone.
    """
    import hyperscan

    def accepted(indices: list[int]) -> list[int]:
        if not indices or _parses(regexes, indices, utf8):
            return indices
        if len(indices) == 1:
            return []  # unsupported construct: RE2 takes it
        half = len(indices) // 2
        return accepted(indices[:half]) + accepted(indices[half:])

    kept = accepted(
        [
            i
            for i, regex in enumerate(regexes)
            if i not in left_out and not _too_large(regex) and not _literal_free(regex)
        ]
    )
    if not kept:
        return [], None
    try:
        return kept, _compile(regexes, kept, utf8)
    except hyperscan.error:
        pass
    alone: list[int] = []
    for index in kept:
        try:
            _compile(regexes, [index], utf8)
        except hyperscan.error:
            continue
        alone.append(index)
    return alone, (_compile(regexes, alone, utf8) if alone else None)


def _misses(
    db: Any, regexes: Sequence[str], indices: list[int], probes: Sequence[str]
) -> list[int]:
    """Indices of patterns that RE2 finds in a probe text and the database does not report."""
    if db is None or not probes:
        return []
    import hyperscan

    scratch = hyperscan.Scratch(db)
    reference = Re2Sets([(i, regexes[i]) for i in indices])
    missed: set[int] = set()

    def on_match(index: int, start: int, end: int, flags: int, found: set[int]) -> bool:
        found.add(index)
        return False

    for probe in probes:
        data = probe.encode("utf-8", "replace")
        found: set[int] = set()
        db.scan(data, match_event_handler=on_match, context=found, scratch=scratch)
        missed.update(set(reference.hits(data)) - found)
    return sorted(missed)


def default_cache_dir() -> Path:
    """Where built databases are kept between processes: $XDG_CACHE_HOME/perimeter/hyperscan."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "perimeter" / "hyperscan"


def _private_dir(path: Path) -> bool:
    # A database is native code input: only trust a directory nobody else can write to.
    try:
        st = path.stat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def _cache_read(cache_dir: Path | None, key: str) -> tuple[list[int], list[int], Any] | None:
    if cache_dir is None or not _private_dir(cache_dir):
        return None
    import hyperscan

    try:
        blob = (cache_dir / f"{key}.hsdb").read_bytes()
        header, _, body = blob.partition(b"\n")
        head = json.loads(header)
        indices = [int(i) for i in head["indices"]]
        unreliable = [int(i) for i in head["unreliable"]]
        db = hyperscan.loadb(body, hyperscan.HS_MODE_BLOCK) if indices else None
        return indices, unreliable, db
    except (OSError, ValueError, TypeError, KeyError, hyperscan.error):
        return None  # missing, stale or damaged: rebuild


def _cache_write(
    cache_dir: Path | None, key: str, indices: list[int], unreliable: list[int], db: Any
) -> None:
    if cache_dir is None:
        return
    import hyperscan

    try:
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private_dir(cache_dir):
            return
        body = hyperscan.dumpb(db) if db is not None else b""
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            head = {"indices": indices, "unreliable": unreliable}
            fh.write(json.dumps(head).encode() + b"\n" + body)
        os.replace(tmp, cache_dir / f"{key}.hsdb")  # atomic: concurrent workers race harmlessly
    except OSError:
        return  # a read-only home only costs the next process a rebuild


_databases: dict[tuple[tuple[str, ...], tuple[str, ...], bool, frozenset[int]], _Database] = {}
_databases_lock = threading.Lock()


def _database(
    regexes: Sequence[str],
    cache_dir: Path | None,
    probes: Sequence[str],
    utf8: bool = True,
    left_out: frozenset[int] = frozenset(),
) -> _Database:
    # Building costs seconds; engines of one process with the same rules share the result, and
    # other processes load it from the cache directory.
    key = (tuple(regexes), tuple(probes), utf8, left_out)
    with _databases_lock:
        found = _databases.get(key)
        if found is None:
            found = _databases[key] = _Database(regexes, cache_dir, probes, utf8, left_out)
        return found


class HyperscanScanner:
    """One Hyperscan pass; RE2 sets cover the patterns Hyperscan rejects."""

    backend = "hyperscan"

    def __init__(
        self,
        regexes: Sequence[str],
        cache_dir: Path | None = None,
        probes: Sequence[str] = (),
        deferred: Collection[int] = (),
    ) -> None:
        self._regexes = list(regexes)
        self._cache_dir = cache_dir
        self._probes = list(probes)
        # Left out of the ASCII database: the engine searches them only in texts where their
        # context words occur, which it finds out at less cost than Hyperscan spends on them
        # (digit patterns such as \b\d{10}\b: half the scan time of the built-in rules).
        self.deferred = frozenset(deferred)
        # ASCII texts (most chunks of logs, code and exports) are scanned with a second
        # database compiled without HS_FLAG_UTF8: on ASCII input both modes match the same
        # (no UCP: \b, \w, \d and (?i) are ASCII in both), and the byte-mode one scans about
        # 1.5x as fast with the built-in rules. Patterns it rejects (\p{..} classes need UTF-8
        # mode) or misses on an ASCII probe are searched with RE2, as in UTF-8 mode. Each is
        # built (or loaded) on the first text that needs it: a scan of ASCII files never
        # builds the UTF-8 one.
        self._modes: dict[bool, tuple[_Database, Re2Sets]] = {}
        self._sets: dict[tuple[bool, bool, bool], Re2Sets] = {}
        self._modes_lock = threading.Lock()
        self._local = threading.local()

    def _mode(self, utf8: bool) -> tuple[_Database, Re2Sets]:
        found = self._modes.get(utf8)
        if found is None:
            with self._modes_lock:
                found = self._modes.get(utf8)
                if found is None:
                    probes = self._probes if utf8 else [p for p in self._probes if p.isascii()]
                    left_out = frozenset() if utf8 else self.deferred
                    database = _database(self._regexes, self._cache_dir, probes, utf8, left_out)
                    by_re2 = sorted({*database.rejected, *database.unreliable})
                    fallback = Re2Sets([(i, self._regexes[i]) for i in by_re2])
                    found = self._modes[utf8] = (database, fallback)
        return found

    @property
    def rejected(self) -> list[int]:
        """Indices of the patterns that Hyperscan does not run (searched with RE2 instead)."""
        return list(self._mode(utf8=True)[0].rejected)

    @property
    def unreliable(self) -> list[int]:
        """Indices of the patterns Hyperscan missed on a probe text (also searched with RE2)."""
        return list(self._mode(utf8=True)[0].unreliable)

    def _scratch(self, database: _Database) -> Any:
        # One scratch per thread and database (a scratch serves only the database it was
        # allocated for, or grown for).
        scratches = getattr(self._local, "scratches", None)
        if scratches is None:
            scratches = self._local.scratches = {}
        scratch = scratches.get(id(database))
        if scratch is None:
            import hyperscan

            scratch = scratches[id(database)] = hyperscan.Scratch(database.db)
        return scratch

    def scan(self, data: bytes, with_deferred: bool = False) -> list[int]:
        if not data:
            return []
        # Short texts (form fields, messages) are scanned by the thousand: what a scan needs
        # is looked up once per thread and kind of text, not at every call.
        kind = (not data.isascii(), len(data) < SHORT_TEXT, with_deferred)
        scans = getattr(self._local, "scans", None)
        if scans is None:
            scans = self._local.scans = {}
        scan = scans.get(kind)
        if scan is None:
            scan = scans[kind] = self._scan_function(*kind)
        return scan(data)

    def _re2_sets(self, utf8: bool, short: bool, with_deferred: bool) -> Re2Sets:
        """The RE2 sets of the patterns the database does not cover (and of the deferred ones,
        which only the ASCII database leaves out): one set for short texts (``Re2Sets``)."""
        database, fallback = self._mode(utf8)
        deferred = with_deferred and not utf8
        if not short and not deferred:
            return fallback
        with self._modes_lock:
            found = self._sets.get((utf8, short, deferred))
            if found is None:
                indices = sorted(
                    {*database.rejected, *database.unreliable, *(self.deferred if deferred else ())}
                )
                found = self._sets[(utf8, short, deferred)] = Re2Sets(
                    [(i, self._regexes[i]) for i in indices],
                    size=len(indices) if short else _SET_SIZE,
                )
        return found

    def _scan_function(
        self, utf8: bool, short: bool, with_deferred: bool
    ) -> Callable[[bytes], list[int]]:
        database, _ = self._mode(utf8)
        fallback_hits = self._re2_sets(utf8, short, with_deferred).hits
        if database.db is None:
            return lambda data: sorted(set(fallback_hits(data)))
        db_scan, scratch = database.db.scan, self._scratch(database)
        found: list[int] = []  # this thread's, filled by one scan at a time
        append = found.append

        def on_match(index: int, start: int, end: int, flags: int, context: Any) -> bool:
            append(index)
            return False  # go on: other patterns may match further on

        def scan(data: bytes) -> list[int]:
            found.clear()
            found.extend(fallback_hits(data))
            db_scan(data, match_event_handler=on_match, scratch=scratch)
            return sorted(set(found))

        return scan


def make_scanner(
    regexes: Sequence[str],
    backend: str = "auto",
    cache_dir: Path | None = None,
    probes: Sequence[str] = (),
    deferred: Collection[int] = (),
) -> PatternScanner:
    """``auto`` uses Hyperscan when it is installed, else RE2; ``hyperscan``/``re2`` force one.

    ``cache_dir`` keeps built Hyperscan databases between processes (None: build in memory).
    ``probes`` are texts on which the Hyperscan database must report every pattern RE2 finds;
    a pattern it misses there is searched with RE2 as well. ``deferred`` patterns are left
    to the caller in ASCII texts by the Hyperscan back end (its ``deferred``); RE2 scans all.
    """
    if backend not in ("auto", "hyperscan", "re2"):
        raise ValueError(f"unknown pattern backend {backend!r} (auto, hyperscan, re2)")
    if backend == "re2" or (backend == "auto" and not hyperscan_available()):
        return Re2Scanner(regexes)
    return HyperscanScanner(regexes, cache_dir, probes, deferred)


class _WordStarts:
    """Where a few literal words start in a text: one Hyperscan pass (all occurrences)."""

    def __init__(self, words: Sequence[bytes]) -> None:
        import hyperscan

        self._lengths = [len(w) for w in words]
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        # Folded context words are [a-z0-9] runs: as patterns they are literals, no escaping.
        self._db.compile(
            expressions=list(words), ids=list(range(len(words))), elements=len(words), flags=0
        )
        self._local = threading.local()

    def __call__(self, data: bytes) -> list[int]:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            import hyperscan

            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        found: list[int] = []
        lengths = self._lengths

        def on_match(index: int, start: int, end: int, flags: int, context: Any) -> bool:
            found.append(end - lengths[index])
            return False

        self._db.scan(data, match_event_handler=on_match, scratch=scratch)
        found.sort()
        return found


_word_starts: dict[tuple[bytes, ...], _WordStarts] = {}
_WORD_SCAN_MIN = 2048


def word_starts(words: Sequence[bytes], data: bytes, use_hyperscan: bool) -> list[int]:
    """Sorted offsets of every occurrence of each word in ``data`` (overlapping, repeated).

    Context-word gates need them for every word of a detector in every chunk; ``bytes.find``
    per word scans the chunk once per word (25 passes for the phone words, about 1 ms per
    64 KiB), where one Hyperscan literal pass takes about a tenth of that. The plain loop
    serves the RE2 back end and gives the same list.
    """
    # A Hyperscan call costs a few microseconds whatever the length: short texts (form
    # fields, messages) are searched faster word by word.
    if use_hyperscan and words and len(data) >= _WORD_SCAN_MIN:
        key = tuple(words)
        finder = _word_starts.get(key)
        if finder is None:
            with _databases_lock:
                finder = _word_starts.get(key)
                if finder is None:
                    finder = _word_starts[key] = _WordStarts(key)
        return finder(data)
    found: list[int] = []
    for word in words:
        at = data.find(word)
        while at >= 0:
            found.append(at)
            at = data.find(word, at + 1)
    found.sort()
    return found


def char_offsets(text: str, data: bytes, offsets: Iterable[int]) -> dict[int, int]:
    """Map UTF-8 byte offsets (at character boundaries) to ``str`` offsets in one pass."""
    if len(data) == len(text):  # ASCII: bytes and characters coincide
        return {o: o for o in offsets}
    found: dict[int, int] = {}
    last_byte = last_char = 0
    for offset in sorted(set(offsets)):
        last_char += len(data[last_byte:offset].decode("utf-8"))
        last_byte = offset
        found[offset] = last_char
    return found


_UNANCHORED = re2._Anchor.UNANCHORED
_ANCHOR_START = re2._Anchor.ANCHOR_START
_NO_SPAN = (-1, -1)


_SLICED_TEXT = 2048  # bytes: up to this, EncodedText maps offsets by slicing


class EncodedText:
    """A text encoded to UTF-8 once, matched with RE2's compiled programs directly.

    google-re2's ``str`` API encodes the whole text again at every call, builds a match object
    per match and counts characters from the text's start to turn a position into a byte
    offset: the address grammar's anchored matches at each candidate's end made one long text
    quadratic, and the name rules make some ten calls per text. Here the text is encoded once;
    the calls are the ones the ``str`` API makes (same program, same text, same start, the
    same step over one character after an empty match), so the matches are the same (google-re2
    is pinned in pyproject.toml; tests compare the two). Byte offsets map to characters through
    a table of character starts, built on first use and only for long non-ASCII texts: a
    short one with a few candidates needs a handful of offsets, which encoding or decoding its
    prefix (C-speed slices) gives for less than a Python step per byte (the offsets are
    character boundaries: RE2 matches whole UTF-8 sequences).
    """

    __slots__ = ("_starts", "ascii", "data", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = text.encode("utf-8")
        self.ascii = len(self.data) == len(text)
        self._starts: list[int] | None = None

    def _table(self) -> list[int]:
        """Byte offset of each character, and of the end."""
        if self._starts is None:
            self._starts = [i for i, b in enumerate(self.data) if b & 0xC0 != 0x80]
            self._starts.append(len(self.data))
        return self._starts

    def byte(self, char: int) -> int:
        if self.ascii:
            return char
        if len(self.data) <= _SLICED_TEXT:
            return len(self.text[:char].encode())
        return self._table()[char]

    def char(self, offset: int) -> int:
        if self.ascii:
            return offset
        if len(self.data) <= _SLICED_TEXT:
            return len(self.data[:offset].decode())
        return bisect_left(self._table(), offset)

    def chars(self, span: tuple[int, int]) -> tuple[int, int]:
        return self.char(span[0]), self.char(span[1])

    def finditer(self, regex: Any) -> Iterator[list[tuple[int, int]]]:
        """Byte spans of the groups of each match, as ``regex.finditer(text)`` finds them."""
        match, data = regex._regexp.Match, self.data
        pos, stop = 0, len(data)
        while True:
            spans = match(_UNANCHORED, data, pos, stop)
            if spans[0] == _NO_SPAN:
                return
            yield spans
            if pos == stop:
                return
            if pos == spans[0][1]:
                # After an empty match, step over one character (one UTF-8 sequence).
                pos += 1
                while pos < stop and data[pos] & 0xC0 == 0x80:
                    pos += 1
            else:
                pos = spans[0][1]

    def match(self, regex: Any, char: int) -> list[tuple[int, int]] | None:
        """Byte spans of ``regex.match(text, char)``'s groups, or None."""
        spans = regex._regexp.Match(_ANCHOR_START, self.data, self.byte(char), len(self.data))
        return None if spans[0] == _NO_SPAN else spans

    def spans(self, regex: Any, group: int = 0) -> list[tuple[int, int]]:
        """The ``str`` span of ``group`` in each match of ``regex.finditer(text)`` ((-1, -1)
        where the group took no part)."""
        found = [spans[group] for spans in self.finditer(regex)]
        if self.ascii or not found:
            return found  # ASCII: byte offsets are character offsets
        chars = char_offsets(self.text, self.data, [o for span in found for o in span if o >= 0])
        return [(chars[a], chars[b]) if a >= 0 else (a, b) for a, b in found]

    def groups(self, regex: Any, group: int = 0) -> list[tuple[int, int, str]]:
        """(start, end, value) of ``group`` in each match, as ``spans``."""
        text = self.text
        return [(a, b, text[a:b]) for a, b in self.spans(regex, group)]
