"""The sources file: named sources with their connector kind, settings and credential references.

TOML (``.toml``) or YAML (``.yaml``/``.yml``); see docs/connectors/README.md::

    [[source]]
    name = "acme-slack"
    kind = "slack"

    [source.settings]
    token = "${env:SLACK_BOT_TOKEN}"            # from the environment
    # token = { file = "/run/secrets/slack" }   # or from a file (whitespace stripped)
    include_dms = false

Any setting may be a reference; a setting the connector declares as a secret (``SecretStr``)
MUST be one, so no token sits in plain text in a config file or in the store (which keeps the
settings with their references unresolved). References resolve when the connector is built.
"""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from connectors.base import (
    AccessReport,
    Connector,
    ConnectorRegistry,
    ReportsAccess,
    default_registry,
)
from models import Source
from models.errors import ConfigError

_ENV_REF = re.compile(r"^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


class SourceSpec(BaseModel):
    """One ``[[source]]`` entry."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME.pattern)
    kind: str
    settings: dict[str, Any] = Field(default_factory=dict)

    def source(self) -> Source:
        """The domain Source; its settings keep references, never resolved secrets."""
        return Source(
            kind=self.kind, name=self.name, uri=f"{self.kind}://{self.name}", settings=self.settings
        )


def load_sources(path: Path) -> dict[str, SourceSpec]:
    """Parse and validate a sources file; names must be unique."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the sources file ({exc.strerror})") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}") from exc
    entries = data.get("source", data.get("sources")) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a list of sources under `source` ([[source]] tables)")
    specs: dict[str, SourceSpec] = {}
    for n, entry in enumerate(entries, start=1):
        try:
            spec = SourceSpec.model_validate(entry)
        except ValidationError as exc:
            raise ConfigError(f"{path}: source #{n}: {_errors(exc)}") from None
        if spec.name in specs:
            raise ConfigError(f"{path}: two sources are named {spec.name!r}")
        specs[spec.name] = spec
    return specs


def get_source(path: Path, name: str) -> SourceSpec:
    specs = load_sources(path)
    try:
        return specs[name]
    except KeyError:
        known = ", ".join(sorted(specs)) or "none"
        raise ConfigError(f"{path}: no source named {name!r} (defined: {known})") from None


def build_connector(
    spec: SourceSpec, registry: ConnectorRegistry | None = None, base_dir: Path | None = None
) -> Connector:
    """Resolve the spec's references and build its connector (no I/O beyond reading secret
    files). ``base_dir`` anchors relative ``{file = ...}`` paths (the sources file's folder)."""
    cls = (registry or default_registry()).get(spec.kind)
    secret_fields = {
        name for name, info in cls.Config.model_fields.items() if _is_secret(info.annotation)
    }
    resolved: dict[str, Any] = {}
    for key, value in spec.settings.items():
        where = f"source {spec.name!r}, setting {key!r}"
        if key in secret_fields and not _is_reference(value):
            raise ConfigError(
                f'{where} is a credential: give it as "${{env:NAME}}" or {{file = "PATH"}}, '
                "not in plain text"
            )
        resolved[key] = resolve(value, where, base_dir)
    try:
        config = cls.Config.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigError(f"source {spec.name!r}: {_errors(exc)}") from None
    factory: Any = cls
    connector: Connector = factory(config)
    return connector


def source_connector(path: Path, name: str) -> tuple[Connector, Source]:
    """The connector and Source for ``perimeter scan --source NAME``."""
    spec = get_source(path, name)
    return build_connector(spec, base_dir=path.resolve().parent), spec.source()


async def check_source(path: Path, name: str) -> AccessReport | None:
    """``perimeter check``: reach the source with its credentials; the scopes report if the
    connector gives one (None otherwise). Source errors propagate."""
    connector, _ = source_connector(path, name)
    try:
        await connector.check()
        if isinstance(connector, ReportsAccess):
            return await connector.check_access()
        return None
    finally:
        await connector.aclose()


def resolve(value: Any, where: str, base_dir: Path | None = None) -> Any:
    """Replace ``${env:NAME}`` strings and ``{file = PATH}`` tables, recursively."""
    if isinstance(value, str):
        m = _ENV_REF.match(value.strip())
        if not m:
            return value
        env = os.environ.get(m.group(1))
        if env is None or env == "":
            raise ConfigError(f"{where}: the environment variable {m.group(1)} is not set")
        return env
    if isinstance(value, dict):
        if set(value) == {"file"}:
            path = Path(str(value["file"])).expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            try:
                content = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{where}: cannot read {path} ({exc.strerror})") from exc
            if not content:
                raise ConfigError(f"{where}: {path} is empty")
            return content
        return {k: resolve(v, f"{where}.{k}", base_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, where, base_dir) for v in value]
    return value


def _is_reference(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return bool(_ENV_REF.match(value.strip()))
    return isinstance(value, dict) and set(value) == {"file"}


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_secret(a) for a in typing.get_args(annotation))
    return False


def _errors(exc: ValidationError) -> str:
    """Pydantic's messages without the offending input (it may be a secret)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors()
    )
