"""Archives and compressed streams: zip, tar, gzip, bzip2, xz; members are extracted in turn.

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
