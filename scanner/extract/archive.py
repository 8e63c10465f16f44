"""Archives and compressed streams: zip, tar, 7z, gzip, bzip2, xz; members are extracted in turn.

Decompression is streamed through ``CappedReader``, which counts every byte against the item's
budget and the per-member compression ratio, so a bomb stops at a limit instead of filling memory.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import IO, Any

from models.errors import ExtractionError
from scanner.extract.base import Chunk, Context, LimitReached, Unsupported

_READ = 256 * 1024
_RATIO_GRACE = 1024 * 1024  # tiny members may compress extremely well; judge ratio past this
_DECOMPRESS_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)


class Bomb(Exception):
    """A member decompresses far beyond its compressed size: it is skipped, not read."""


class CappedReader(io.RawIOBase):
    """A read-only stream that stops at a byte cap and enforces the budget and ratio."""

    def __init__(self, raw: IO[bytes], compressed: int | None, ctx: Context, cap: int) -> None:
        """``compressed``: the member's stored size, to judge its ratio; None: no ratio check."""
        super().__init__()
        self.raw, self.ctx, self.cap = raw, ctx, cap
        self.compressed = None if compressed is None else max(1, compressed)
        self.produced = 0
        self.truncated = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self.cap - self.produced)
        if want <= 0:
            self.truncated = self.truncated or bool(self.raw.read(1))
            return 0
        data = self.raw.read(want)
        n = len(data)
        buffer[:n] = data
        self.produced += n
        limits, budget = self.ctx.limits, self.ctx.budget
        budget.decompressed += n
        ratio = limits.compression_ratio
        if (
            self.compressed is not None
            and self.produced > _RATIO_GRACE
            and self.produced > ratio * self.compressed
        ):
            raise Bomb(f"compression ratio over {ratio}:1")
        if budget.decompressed > limits.decompressed_bytes:
            raise LimitReached(
                f"decompressed {limits.decompressed_bytes:,} bytes (decompressed-bytes limit)"
            )
        self.ctx.tick()
        return n

    def read_all(self) -> bytes:
        out = bytearray()
        while chunk := self.read(_READ):
            out += chunk
        return bytes(out)


def nested(data: bytes, name: str, ctx: Context, truncated: bool = False) -> Iterator[Chunk]:
    """Extract something found inside a container; its problems become notes, not failures."""
    from scanner.extract import dispatch  # the package dispatches back here for archives

    if ctx.depth > ctx.limits.depth:
        ctx.note(f"skipped: nested deeper than {ctx.limits.depth} levels (depth limit)")
        return
    if truncated:
        ctx.note(f"read only the first {len(data):,} bytes (member-bytes limit)")
    try:
        _, chunks = dispatch(data, name, ctx, truncated)
        yield from chunks
    except Unsupported as exc:
        ctx.note(f"skipped: {exc}")
    except ExtractionError as exc:
        ctx.note(f"failed: {exc}")
    except LimitReached:
        raise
    except RecursionError:
        ctx.note("failed: nested too deeply to parse")
    except Exception as exc:  # a parser bug on one member must not lose the rest of the item
        ctx.note(f"failed: {type(exc).__name__}: {exc}"[:300])


def zip_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, *_DECOMPRESS_ERRORS) as exc:
        raise ExtractionError(f"corrupt or truncated zip: {exc}") from exc
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            ctx.count_member()
            child = ctx.child(member=info.filename)
            if info.flag_bits & 0x1:
                child.note("skipped: encrypted")
                continue
            try:
                with zf.open(info) as raw:
                    reader = CappedReader(raw, info.compress_size, ctx, ctx.limits.member_bytes)
                    body = reader.read_all()
            except Bomb as exc:
                child.note(f"skipped: {exc}")
                continue
            except (zipfile.BadZipFile, NotImplementedError, *_DECOMPRESS_ERRORS) as exc:
                child.note(f"failed: {exc}")
                continue
            yield from nested(body, info.filename, child, reader.truncated)


def tar_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    try:
        tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:")  # noqa: SIM115 - closed below
    except (tarfile.TarError, *_DECOMPRESS_ERRORS) as exc:
        raise ExtractionError(f"corrupt or truncated tar: {exc}") from exc
    with tf:
        while True:
            try:
                info = tf.next()
            except (tarfile.TarError, *_DECOMPRESS_ERRORS) as exc:
                ctx.note(f"tar ends early: {exc}")
                return
            if info is None:
                return
            if not info.isfile():
                continue
            ctx.count_member()
            child = ctx.child(member=info.name)
            raw = tf.extractfile(info)
            if raw is None:
                continue
            reader = CappedReader(raw, info.size, ctx, ctx.limits.member_bytes)
            try:
                body = reader.read_all()
            except (tarfile.TarError, *_DECOMPRESS_ERRORS) as exc:
                child.note(f"failed: {exc}")
                continue
            yield from nested(body, info.name, child, reader.truncated)


_OPENERS: dict[str, tuple[Callable[[IO[bytes]], Any], tuple[str, ...]]] = {
    "application/gzip": (lambda f: gzip.GzipFile(fileobj=f), (".gz", ".tgz")),
    "application/x-bzip2": (bz2.BZ2File, (".bz2", ".tbz", ".tbz2")),
    "application/x-xz": (lzma.LZMAFile, (".xz", ".txz")),
}


def inner_name(path: str, ctype: str) -> str:
    """``data.csv.gz`` -> ``data.csv``; ``x.tgz`` -> ``x.tar``."""
    name = PurePosixPath(path).name or "content"
    for suffix in _OPENERS[ctype][1]:
        if name.lower().endswith(suffix):
            stem = name[: -len(suffix)]
            return stem + ".tar" if suffix.startswith(".t") else stem
    return name + ".out"


def compressed_chunks(data: bytes, ctype: str, path: str, ctx: Context) -> Iterator[Chunk]:
    """A single compressed stream: decompress within the limits, then extract what is inside."""
    opener = _OPENERS[ctype][0]
    name = inner_name(path, ctype)
    child = ctx.child(member=name)
    cap = min(ctx.limits.member_bytes * 4, ctx.limits.decompressed_bytes)
    reader = CappedReader(opener(io.BytesIO(data)), len(data), ctx, cap)
    out = bytearray()
    try:
        while chunk := reader.read(_READ):
            out += chunk
    except Bomb as exc:
        raise LimitReached(f"stopped decompressing: {exc}") from exc
    except LimitReached as exc:
        child.note(str(exc))
        reader.truncated = True
    except _DECOMPRESS_ERRORS as exc:
        if not out:
            raise ExtractionError(
                f"corrupt or truncated {ctype.rsplit('/', 1)[-1]}: {exc}"
            ) from exc
        child.note(f"stream ends early: {exc}")
        reader.truncated = True
    yield from nested(bytes(out), name, child, reader.truncated)


class _SevenZipSink:
    """Where py7zr writes one 7z member (its ``Py7zIO`` interface): keeps the first
    ``member_bytes`` and counts every byte against the item's budget and the archive's ratio.

    py7zr pushes a whole folder (a solid block) through its writers in one call, so a member
    past its cap cannot be skipped without decoding it; its bytes are dropped as they come and
    the decompressed-bytes budget still bounds the work. py7zr decodes at most 128 MB per
    write, so that is the most a bomb costs before the ratio check stops it.
    """

    def __init__(self, name: str, archive: _SevenZip) -> None:
        self.name, self.archive = name, archive
        self.body = bytearray()
        self.truncated = False

    def write(self, s: bytes | bytearray) -> int:
        archive, ctx = self.archive, self.archive.ctx
        room = ctx.limits.member_bytes - len(self.body)
        if room > 0:
            self.body += s[:room]
        self.truncated = self.truncated or len(s) > room
        archive.produced += len(s)
        ctx.budget.decompressed += len(s)
        ratio = ctx.limits.compression_ratio
        if archive.produced > _RATIO_GRACE and archive.produced > ratio * archive.stored:
            raise Bomb(f"compression ratio over {ratio}:1")
        if ctx.budget.decompressed > ctx.limits.decompressed_bytes:
            raise LimitReached(
                f"decompressed {ctx.limits.decompressed_bytes:,} bytes (decompressed-bytes limit)"
            )
        ctx.tick()
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def size(self) -> int:
        return len(self.body)


class _SevenZip:
    """A ``WriterFactory`` for py7zr: one sink per member, in archive order."""

    def __init__(self, ctx: Context, stored: int) -> None:
        self.ctx, self.stored = ctx, max(1, stored)
        self.produced = 0
        self.sinks: list[_SevenZipSink] = []

    def create(self, filename: str) -> _SevenZipSink:
        sink = _SevenZipSink(filename, self)
        self.sinks.append(sink)
        return sink


def sevenzip_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    """Members of a 7z archive. The ratio is judged over the whole archive: in a solid archive
    members share one compressed stream, so a member has no compressed size of its own."""
    import py7zr  # imported on first 7z file
    from py7zr.exceptions import ArchiveError, PasswordRequired

    errors = (ArchiveError, *_DECOMPRESS_ERRORS, KeyError, IndexError, TypeError, AttributeError)
    try:
        sz = py7zr.SevenZipFile(io.BytesIO(data), mode="r")
    except PasswordRequired as exc:
        raise Unsupported("an encrypted 7z archive (its file names are encrypted too)") from exc
    except errors as exc:
        raise ExtractionError(f"corrupt or truncated 7z: {exc}"[:500]) from exc
    with sz:
        if sz.needs_password():
            raise Unsupported("an encrypted 7z archive")
        names: list[str] = []
        stopped: LimitReached | None = None
        for info in sz.list():
            if info.is_directory:
                continue
            try:
                ctx.count_member()  # the member limit holds before anything is decompressed
            except LimitReached as exc:
                stopped = exc
                break
            names.append(info.filename)
        factory = _SevenZip(ctx, len(data))
        try:
            # py7zr types its factory as an ABC; ours has the same methods (duck-typed).
            sz.extract(targets=names, factory=factory)  # type: ignore[arg-type]
        except Bomb as exc:
            bomb = factory.sinks.pop() if factory.sinks else None
            name = f"{bomb.name} and the rest of the archive" if bomb else "the archive"
            ctx.note(f"skipped {name}: {exc}")
        except LimitReached as exc:
            stopped = exc
            if factory.sinks:
                factory.sinks[-1].truncated = True  # the member being decoded when it stopped
        except errors as exc:
            ctx.note(f"7z ends early: {type(exc).__name__}: {exc}"[:300])
    for sink in factory.sinks:
        yield from nested(bytes(sink.body), sink.name, ctx.child(member=sink.name), sink.truncated)
    if stopped is not None:
        raise stopped
