"""Find which patterns occur in a text in one pass over it, whatever the number of rules.

Two back ends behind one small interface (:class:`PatternScanner`):

- :class:`HyperscanScanner` compiles every pattern it can into ONE Hyperscan database
  (single-match mode: each pattern reports at most once per text), so a text is scanned once for
  all rules. Hyperscan has no capture groups, so the engine then runs the RE2 program of each
  pattern that occurred to get the exact leftmost-first matches and their ``value`` group.
  Patterns Hyperscan rejects (too large, embedded anchors) go to small RE2 sets.
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
RE2). A database is built once per process (engines with the same patterns share it), kept in a
private cache directory for the next processes, and each thread gets its own scratch space.
Nothing here is pickled: the engine rebuilds its scanner after unpickling.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import re2

_SET_SIZE = 24
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
    """Which patterns (indices into the list it was built from) occur in ``data``, ascending."""

    backend: str

    def scan(self, data: bytes) -> list[int]: ...


class _Re2Sets:
    """Several small RE2 sets: one set of ~150 patterns exhausts its DFA cache on base64-heavy
    text and falls back to a slow path (2 s/MB measured)."""

    def __init__(self, regexes: Sequence[tuple[int, str]]) -> None:
        self._sets: list[tuple[list[int], Any]] = []
        for first in range(0, len(regexes), _SET_SIZE):
            chunk = regexes[first : first + _SET_SIZE]
            rset = re2.Set.SearchSet(re2_options())
            for _, regex in chunk:
                rset.Add(regex)
            rset.Compile()
            self._sets.append(([index for index, _ in chunk], rset))

    def hits(self, data: bytes) -> list[int]:
        return [ids[i] for ids, rset in self._sets for i in rset.Match(data) or ()]


class Re2Scanner:
    """RE2 only: which patterns occur, each then searched over the whole text."""

    backend = "re2"

    def __init__(self, regexes: Sequence[str]) -> None:
        self._sets = _Re2Sets(list(enumerate(regexes)))

    def scan(self, data: bytes) -> list[int]:
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


class _Database:
    """A compiled Hyperscan database and which pattern indices it holds (shared per process).

    ``rejected``: patterns Hyperscan cannot compile; ``unreliable``: patterns it compiled but
    missed on a probe text where RE2 found them. Both are searched with RE2 sets.
    """

    def __init__(self, regexes: Sequence[str], cache_dir: Path | None, probes: Sequence[str]):
        self.db: Any = None
        key = hashlib.sha256(
            json.dumps(
                [metadata.version("hyperscan"), _FLAGS_VERSION, list(regexes), list(probes)]
            ).encode()
        ).hexdigest()
        cached = _cache_read(cache_dir, key)
        if cached is not None:
            self.indices, self.unreliable, self.db = cached
        else:
            self.indices, self.db = _build(regexes)
            self.unreliable = _misses(self.db, regexes, self.indices, probes)
            _cache_write(cache_dir, key, self.indices, self.unreliable, self.db)
        kept = set(self.indices)
        self.rejected = [i for i in range(len(regexes)) if i not in kept]


_FLAGS_VERSION = "utf8+singlematch/2"


def _compile(regexes: Sequence[str], indices: Sequence[int]) -> Any:
    import hyperscan

    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=[regexes[i].encode() for i in indices],
        ids=list(indices),
        elements=len(indices),
        flags=hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SINGLEMATCH,
    )
    return db


# Always invalid, with its own message: put last in a compile, it makes the compile stop right
# after every pattern before it was parsed and checked, before the costly build.
_SENTINEL = b"[z-a]"


def _parses(regexes: Sequence[str], indices: Sequence[int]) -> bool:
    """Whether Hyperscan takes each of these patterns (its parse and checks, not the build)."""
    import hyperscan

    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        db.compile(
            expressions=[*(regexes[i].encode() for i in indices), _SENTINEL],
            ids=[*range(len(indices)), len(indices)],
            elements=len(indices) + 1,
            flags=hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SINGLEMATCH,
        )
    except hyperscan.error as exc:
        return "out of order" in str(exc)  # the sentinel's own error: all before it passed
    return False  # unreachable: the sentinel never compiles


def _build(regexes: Sequence[str]) -> tuple[list[int], Any]:
    """Compile every pattern Hyperscan takes into one database: (indices kept, database).

    The patterns it refuses (embedded anchors, unsupported constructs) are found by halving the
    set, each half checked up to the parse only (see ``_SENTINEL``): about 1 s for the ~390
    built-in patterns, where compiling each alone took 5 s. The one full build follows (3 s).
    Should the full build still fail (a resource limit), each pattern is compiled alone.
    """
    import hyperscan

    def accepted(indices: list[int]) -> list[int]:
        if not indices or _parses(regexes, indices):
            return indices
        if len(indices) == 1:
            return []  # unsupported construct: RE2 takes it
        half = len(indices) // 2
        return accepted(indices[:half]) + accepted(indices[half:])

    kept = accepted([i for i, regex in enumerate(regexes) if not _too_large(regex)])
    if not kept:
        return [], None
    try:
        return kept, _compile(regexes, kept)
    except hyperscan.error:
        pass
    alone: list[int] = []
    for index in kept:
        try:
            _compile(regexes, [index])
        except hyperscan.error:
            continue
        alone.append(index)
    return alone, (_compile(regexes, alone) if alone else None)


def _misses(
    db: Any, regexes: Sequence[str], indices: list[int], probes: Sequence[str]
) -> list[int]:
    """Indices of patterns that RE2 finds in a probe text and the database does not report."""
    if db is None or not probes:
        return []
    import hyperscan

    scratch = hyperscan.Scratch(db)
    reference = _Re2Sets([(i, regexes[i]) for i in indices])
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


_databases: dict[tuple[tuple[str, ...], tuple[str, ...]], _Database] = {}
_databases_lock = threading.Lock()


def _database(regexes: Sequence[str], cache_dir: Path | None, probes: Sequence[str]) -> _Database:
    # Building costs seconds; engines of one process with the same rules share the result, and
    # other processes load it from the cache directory.
    key = (tuple(regexes), tuple(probes))
    with _databases_lock:
        found = _databases.get(key)
        if found is None:
            found = _databases[key] = _Database(regexes, cache_dir, probes)
        return found


class HyperscanScanner:
    """One Hyperscan pass; RE2 sets cover the patterns Hyperscan rejects."""

    backend = "hyperscan"

    def __init__(
        self, regexes: Sequence[str], cache_dir: Path | None = None, probes: Sequence[str] = ()
    ) -> None:
        self._database = _database(regexes, cache_dir, probes)
        by_re2 = sorted({*self._database.rejected, *self._database.unreliable})
        self._fallback = _Re2Sets([(i, regexes[i]) for i in by_re2])
        self._local = threading.local()

    @property
    def rejected(self) -> list[int]:
        """Indices of the patterns that Hyperscan does not run (searched with RE2 instead)."""
        return list(self._database.rejected)

    @property
    def unreliable(self) -> list[int]:
        """Indices of the patterns Hyperscan missed on a probe text (also searched with RE2)."""
        return list(self._database.unreliable)

    def _scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            import hyperscan

            scratch = self._local.scratch = hyperscan.Scratch(self._database.db)
        return scratch

    def scan(self, data: bytes) -> list[int]:
        if not data:
            return []
        hits = self._fallback.hits(data)
        if self._database.db is not None:

            def on_match(index: int, start: int, end: int, flags: int, context: Any) -> bool:
                hits.append(index)
                return False  # go on: other patterns may match further on

            self._database.db.scan(data, match_event_handler=on_match, scratch=self._scratch())
        return sorted(set(hits))


def make_scanner(
    regexes: Sequence[str],
    backend: str = "auto",
    cache_dir: Path | None = None,
    probes: Sequence[str] = (),
) -> PatternScanner:
    """``auto`` uses Hyperscan when it is installed, else RE2; ``hyperscan``/``re2`` force one.

    ``cache_dir`` keeps built Hyperscan databases between processes (None: build in memory).
    ``probes`` are texts on which the Hyperscan database must report every pattern RE2 finds;
    a pattern it misses there is searched with RE2 as well.
    """
    if backend not in ("auto", "hyperscan", "re2"):
        raise ValueError(f"unknown pattern backend {backend!r} (auto, hyperscan, re2)")
    if backend == "re2" or (backend == "auto" and not hyperscan_available()):
        return Re2Scanner(regexes)
    return HyperscanScanner(regexes, cache_dir, probes)
