"""Local directory trees: ``perimeter scan ./dir`` or ``file:///abs/dir``."""

from __future__ import annotations

import asyncio
import os
import pwd
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict

from connectors.base import ConnectorBase, Content
from models import Asset, Exposure, Item
from models.errors import ConfigError, ItemUnreadable, SourceError, TargetNotFound


class LocalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: Path
    follow_symlinks: bool = False  # a link out of the tree is never followed either way


class LocalConnector(ConnectorBase):
    """Scans every regular file under a directory (or a single file)."""

    kind: ClassVar[str] = "local"
    schemes: ClassVar[tuple[str, ...]] = ("file",)
    Config: ClassVar[type[BaseModel]] = LocalConfig

    def __init__(self, config: LocalConfig) -> None:
        self.config = config
        self.root = config.root

    @classmethod
    def config_from_target(cls, target: str, options: dict[str, Any]) -> LocalConfig:
        parts = urlsplit(target)
        if parts.scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise ConfigError(f"file:// targets must be local, got host {parts.netloc!r}")
            path = Path(unquote(parts.path))
        else:
            path = Path(target)
        return LocalConfig(root=path.expanduser().resolve(), **options)

    async def check(self) -> None:
        root = self.root
        if not root.exists():
            raise TargetNotFound(f"{root}: no such file or directory")
        if not os.access(root, os.R_OK):
            raise SourceError(f"{root}: permission denied")

    async def discover(self) -> AsyncIterator[Asset | Item]:
        await self.check()
        if self.root.is_file():
            parent = self.root.parent
            yield _asset(parent)
            item = await asyncio.to_thread(self._item, self.root, parent)
            if item is not None:
                yield item
            return
        pending = [self.root]
        while pending:
            directory = pending.pop()
            try:
                entries = await asyncio.to_thread(_list_dir, directory)
            except OSError:
                # An unreadable sub-directory is reported as an asset with no items.
                yield _asset(directory)
                continue
            yield _asset(directory)
            subdirs: list[Path] = []
            for entry in entries:
                path = Path(entry.path)
                if entry.is_symlink() and (
                    not self.config.follow_symlinks or not self._inside_root(path)
                ):
                    continue
                if entry.is_dir(follow_symlinks=self.config.follow_symlinks):
                    subdirs.append(path)
                elif entry.is_file(follow_symlinks=self.config.follow_symlinks):
                    item = self._item(path, directory)
                    if item is not None:
                        yield item
            pending.extend(sorted(subdirs, reverse=True))

    def _inside_root(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.root)
        except ValueError:
            return False
        return True

    def _item(self, path: Path, directory: Path) -> Item | None:
        try:
            st = path.stat()
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        base = self.root if self.root.is_dir() else self.root.parent
        return Item(
            uri=path.as_uri(),
            container=directory.as_uri(),
            path=str(path.relative_to(base)),
            size=st.st_size,
            modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
            # Linux exposes no birth time through os.stat; created stays unknown.
            created=None,
            owner=_owner(st.st_uid),
            exposure=Exposure.INTERNAL if st.st_mode & stat.S_IROTH else Exposure.PRIVATE,
            etag=f"{st.st_mtime_ns:x}-{st.st_size:x}",
        )

    async def read(self, item: Item, max_bytes: int) -> Content:
        path = Path(unquote(urlsplit(item.uri).path))
        return await asyncio.to_thread(_read_capped, path, max_bytes)


def _list_dir(directory: Path) -> list[os.DirEntry[str]]:
    with os.scandir(directory) as it:
        return sorted(it, key=lambda e: e.name)


def _read_capped(path: Path, max_bytes: int) -> Content:
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ItemUnreadable(f"{path}: {exc.strerror or exc}") from exc
    return Content(data=data[:max_bytes], truncated=len(data) > max_bytes)


def _asset(directory: Path) -> Asset:
    try:
        st = directory.stat()
        exposure = Exposure.INTERNAL if st.st_mode & stat.S_IROTH else Exposure.PRIVATE
        owner = _owner(st.st_uid)
    except OSError:
        exposure, owner = Exposure.PRIVATE, None
    return Asset(
        uri=directory.as_uri(),
        name=directory.name or "/",
        kind="directory",
        exposure=exposure,
        owner=owner,
    )


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
