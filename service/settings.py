"""Settings, read once at start-up from the environment (prefix PERIMETER_) and passed down."""

from __future__ import annotations

import os
from pathlib import Path

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
    workers: int | None = Field(default=None, ge=1)
