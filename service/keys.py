"""The per-deployment fingerprint key: created on first use, kept in a file outside the store."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from models.errors import ConfigError

KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """Read the key, or create it (mode 0600) if the file does not exist yet."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return _create(path)
    except OSError as exc:
        raise ConfigError(f"cannot read fingerprint key {path}: {exc.strerror}") from exc
    try:
        key = bytes.fromhex(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) < 16:
        raise ConfigError(f"fingerprint key {path} is not a hex key of at least 16 bytes")
    return key


def _create(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return load_or_create_key(path)
    except OSError as exc:
        raise ConfigError(f"cannot create fingerprint key {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex() + "\n")
    return key
