"""Find which patterns occur in a text in one pass over it, whatever the number of rules.

Two back ends behind one small interface (:class:`PatternScanner`):

- :class:`HyperscanScanner` compiles every pattern it can into ONE Hyperscan database
  (single-match mode: each pattern reports at most once per text), so a text is scanned once for
  all rules. Hyperscan has no capture groups, so the engine then runs the RE2 program of each
  pattern that occurred to get the exact leftmost-first matches and their ``value`` group.
  Patterns Hyperscan rejects (too large, embedded anchors) go to small RE2 sets.
- :class:`Re2Scanner` is the fallback when Hyperscan is not installed or not wanted: RE2 sets say
  which patterns occur.

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
    """A compiled Hyperscan database and which pattern indices it holds (shared per process)."""

    def __init__(self, regexes: Sequence[str], cache_dir: Path | None) -> None:

        self.db: Any = None
        key = hashlib.sha256(
            json.dumps([metadata.version("hyperscan"), _FLAGS_VERSION, list(regexes)]).encode()
        ).hexdigest()
        cached = _cache_read(cache_dir, key)
        if cached is not None:
            self.indices, self.db = cached
        else:
            self.indices = _build(regexes, self)
            _cache_write(cache_dir, key, self.indices, self.db)
        kept = set(self.indices)
        self.rejected = [i for i in range(len(regexes)) if i not in kept]


_FLAGS_VERSION = "utf8+singlematch/1"


def _build(regexes: Sequence[str], into: _Database) -> list[int]:
    import hyperscan

    flags = hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SINGLEMATCH
    accepted: list[int] = []
    for index, regex in enumerate(regexes):
        if _too_large(regex):
            continue
        probe = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            probe.compile(expressions=[regex.encode()], ids=[index], elements=1, flags=flags)
        except hyperscan.error:
            continue  # unsupported construct or too large: RE2 takes it
        accepted.append(index)
    if accepted:
        into.db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        into.db.compile(
            expressions=[regexes[i].encode() for i in accepted],
            ids=accepted,
            elements=len(accepted),
            flags=flags,
        )
    return accepted


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


def _cache_read(cache_dir: Path | None, key: str) -> tuple[list[int], Any] | None:
    if cache_dir is None or not _private_dir(cache_dir):
        return None
    import hyperscan

    try:
        blob = (cache_dir / f"{key}.hsdb").read_bytes()
        header, _, body = blob.partition(b"\n")
        indices = [int(i) for i in json.loads(header)]
        return indices, (hyperscan.loadb(body, hyperscan.HS_MODE_BLOCK) if indices else None)
    except (OSError, ValueError, TypeError, hyperscan.error):
        return None  # missing, stale or damaged: rebuild


def _cache_write(cache_dir: Path | None, key: str, indices: list[int], db: Any) -> None:
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
            fh.write(json.dumps(indices).encode() + b"\n" + body)
        os.replace(tmp, cache_dir / f"{key}.hsdb")  # atomic: concurrent workers race harmlessly
    except OSError:
        return  # a read-only home only costs the next process a rebuild


_databases: dict[tuple[str, ...], _Database] = {}
_databases_lock = threading.Lock()


def _database(regexes: Sequence[str], cache_dir: Path | None) -> _Database:
    # Building costs seconds; engines of one process with the same rules share the result, and
    # other processes load it from the cache directory.
    key = tuple(regexes)
    with _databases_lock:
        found = _databases.get(key)
        if found is None:
            found = _databases[key] = _Database(regexes, cache_dir)
        return found


class HyperscanScanner:
    """One Hyperscan pass; RE2 sets cover the patterns Hyperscan rejects."""

    backend = "hyperscan"

    def __init__(self, regexes: Sequence[str], cache_dir: Path | None = None) -> None:
        self._database = _database(regexes, cache_dir)
        self._fallback = _Re2Sets([(i, regexes[i]) for i in self._database.rejected])
        self._local = threading.local()

    @property
    def rejected(self) -> list[int]:
        """Indices of the patterns that Hyperscan does not run (searched with RE2 instead)."""
        return list(self._database.rejected)

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
        return sorted(hits)


def make_scanner(
    regexes: Sequence[str], backend: str = "auto", cache_dir: Path | None = None
) -> PatternScanner:
    """``auto`` uses Hyperscan when it is installed, else RE2; ``hyperscan``/``re2`` force one.

    ``cache_dir`` keeps built Hyperscan databases between processes (None: build in memory).
    """
    if backend == "re2" or (backend == "auto" and not hyperscan_available()):
        return Re2Scanner(regexes)
    if backend not in ("auto", "hyperscan"):
        raise ValueError(f"unknown pattern backend {backend!r} (auto, hyperscan, re2)")
    return HyperscanScanner(regexes, cache_dir)
