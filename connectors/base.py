"""The Connector interface and the registry of connector kinds.

A connector is small on purpose (compare httpx's ``AsyncBaseTransport``): a ``kind``, a typed
``Config`` model, and four coroutines. Constructors do no I/O; ``check()`` is the first call that
touches the network or disk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, runtime_checkable
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from models import Asset, Item
from models.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Content:
    """Bytes of one item, capped: ``truncated`` says the item is longer than ``data``."""

    data: bytes
    truncated: bool


@runtime_checkable
class Connector(Protocol):
    """What every connector provides."""

    kind: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]]
    Config: ClassVar[type[BaseModel]]

    @classmethod
    def config_from_target(cls, target: str, options: dict[str, Any]) -> BaseModel:
        """Build this connector's Config from a target URI and CLI options (no I/O)."""
        ...

    async def check(self) -> None:
        """Verify the source is reachable and readable; raise a SourceError if not."""
        ...

    def discover(self) -> AsyncIterator[Asset | Item]:
        """Yield each container (Asset) before the items it holds."""
        ...

    async def read(self, item: Item, max_bytes: int) -> Content:
        """Return at most ``max_bytes`` of the item; raise ItemUnreadable on failure."""
        ...

    async def aclose(self) -> None:
        """Release sessions and clients."""
        ...


@dataclass(frozen=True, slots=True)
class AccessReport:
    """What ``perimeter check`` shows: who the credentials are and what they may do.

    ``granted`` is what the vendor's own answer says (None when the API does not tell);
    ``needed`` the scopes a scan cannot do without; ``optional`` those it uses when granted
    (private channels, DMs).
    """

    identity: str
    granted: tuple[str, ...] | None
    needed: tuple[str, ...]
    optional: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        if self.granted is None:
            return ()
        return tuple(s for s in self.needed if s not in self.granted)

    @property
    def broader(self) -> tuple[str, ...]:
        """Granted scopes a scan never uses: least privilege says remove them."""
        if self.granted is None:
            return ()
        used = {*self.needed, *self.optional}
        return tuple(s for s in self.granted if s not in used)


@runtime_checkable
class ReportsAccess(Protocol):
    """A connector that can say which scopes its credentials carry (``perimeter check``)."""

    async def check_access(self) -> AccessReport: ...


@runtime_checkable
class Incremental(Protocol):
    """A connector that can scan only what changed since the last completed scan.

    The cursor is the connector's own opaque string (JSON, a timestamp, a delta token); the
    runner stores it when a scan completes and hands it back before the next one.
    """

    def resume_from(self, cursor: str | None) -> None:
        """Before ``discover()``: the cursor the last completed scan ended with (None: all)."""
        ...

    def next_cursor(self) -> str | None:
        """After ``discover()`` ran to its end: the cursor the next scan resumes from."""
        ...


def invalid_options(kind: str, exc: ValidationError) -> ConfigError:
    """A one-line ConfigError built from field locations and messages only: the input values
    pydantic would quote may be credentials."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'option'}: {e['msg']}" for e in exc.errors()
    )
    return ConfigError(f"invalid {kind} option {problems}")


def drive_config(
    config: type[BaseModel],
    kind: str,
    target: str,
    options: dict[str, Any],
    usage: str,
    article: str = "a",
) -> BaseModel:
    """Config for ``kind://`` or ``kind://DRIVE`` targets (drive-based SaaS connectors): the
    options the caller set, plus ``drive`` from the target when it names one."""
    scheme = f"{kind}://"
    if not target.startswith(scheme):
        raise ConfigError(f"not {article} {scheme} target: {target!r}")
    drive = target.removeprefix(scheme).strip("/") or None
    if drive is not None and "/" in drive:
        raise ConfigError(f"{target!r}: expected {usage}")
    given = {k: v for k, v in options.items() if v is not None}
    if drive is not None:
        given["drive"] = drive
    try:
        return config(**given)
    except ValidationError as exc:
        raise invalid_options(kind, exc) from None


class ConnectorBase:
    """Optional mixin giving connectors ``async with`` support."""

    async def aclose(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class ConnectorRegistry:
    """Connector kinds by name and by URI scheme; a duplicate name or scheme is an error."""

    def __init__(self, connectors: Iterable[type[Connector]] = ()) -> None:
        self._by_kind: dict[str, type[Connector]] = {}
        self._by_scheme: dict[str, type[Connector]] = {}
        for cls in connectors:
            self.register(cls)

    def register(self, cls: type[Connector]) -> None:
        if cls.kind in self._by_kind:
            raise ConfigError(f"connector kind {cls.kind!r} is registered twice")
        for scheme in cls.schemes:
            if scheme in self._by_scheme:
                raise ConfigError(f"URI scheme {scheme!r} is claimed by two connectors")
        self._by_kind[cls.kind] = cls
        for scheme in cls.schemes:
            self._by_scheme[scheme] = cls

    def kinds(self) -> list[str]:
        return sorted(self._by_kind)

    def get(self, kind: str) -> type[Connector]:
        try:
            return self._by_kind[kind]
        except KeyError:
            raise ConfigError(
                f"unknown connector kind {kind!r}; known: {', '.join(self.kinds())}"
            ) from None

    def for_target(self, target: str) -> type[Connector]:
        """The connector class for a target: a URI with a known scheme, or a local path."""
        scheme = urlsplit(target).scheme
        if len(scheme) <= 1:  # no scheme, or a Windows drive letter
            scheme = "file"
        try:
            return self._by_scheme[scheme]
        except KeyError:
            raise ConfigError(
                f"no connector for {scheme}:// targets; known schemes: "
                + ", ".join(sorted(self._by_scheme))
            ) from None


def default_registry() -> ConnectorRegistry:
    """Built-in connectors, listed here explicitly, plus those from ``perimeter.connectors``."""
    from connectors.confluence import ConfluenceConnector
    from connectors.gdrive import GDriveConnector
    from connectors.local import LocalConnector
    from connectors.m365 import M365Connector
    from connectors.notion import NotionConnector
    from connectors.s3 import S3Connector
    from connectors.slack import SlackConnector

    registry = ConnectorRegistry(
        [
            LocalConnector,
            S3Connector,
            SlackConnector,
            GDriveConnector,
            M365Connector,
            ConfluenceConnector,
            NotionConnector,
        ]
    )
    for ep in entry_points(group="perimeter.connectors"):
        registry.register(ep.load())
    return registry


def connector_for_target(
    target: str, options: dict[str, Any], registry: ConnectorRegistry | None = None
) -> Connector:
    """Instantiate the connector that serves ``target`` (no I/O yet)."""
    cls = (registry or default_registry()).for_target(target)
    config = cls.config_from_target(target, options)
    factory: Any = cls
    connector: Connector = factory(config)
    return connector
