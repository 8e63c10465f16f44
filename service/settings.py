"""Settings, read once at start-up from the environment (prefix PERIMETER_) and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_key_file() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "perimeter" / "fingerprint.key"


class Settings(BaseSettings):
    """Deployment settings. Every field can be set as PERIMETER_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="PERIMETER_", extra="ignore")

    db: Path = Path("perimeter.db")
    # The HMAC key for fingerprints lives outside the database, so a copied database alone does
    # not let anyone test guesses against stored fingerprints.
    key_file: Path = Field(default_factory=_default_key_file)
    # Key for secrets the service stores encrypted (webhook secrets, inline credentials).
    vault_key_file: Path = Field(default_factory=lambda: _default_key_file().with_name("vault.key"))
    workers: int | None = Field(default=None, ge=1)
    # How patterns are matched: auto (default) is one Hyperscan database when hyperscan is
    # installed, else RE2 sets. The database takes seconds to compile on first use, then it is
    # loaded from ~/.cache/perimeter/hyperscan (see docs/benchmarks.md, "Pattern engine").
    pattern_engine: Literal["re2", "hyperscan", "auto"] = "auto"

    # HTTP service. Bind to loopback unless told otherwise: exposing it is a deliberate choice.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    rate_per_minute: int = Field(default=600, ge=1)  # per API key, token bucket refill
    rate_burst: int = Field(default=60, ge=1)  # bucket size
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Logs of `perimeter serve`: one JSON object per line on stderr (or readable text).
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
