"""Encryption of secrets the service must be able to use again (webhook signing secrets, source
credentials given inline), with a key kept in a file outside the database (Fernet: AES-128-CBC +
HMAC-SHA256, from `cryptography`)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from models.errors import ConfigError


class Vault:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_file(cls, path: Path) -> Vault:
        """Load the key, creating it (mode 0600) on first use."""
        try:
            return cls(path.read_bytes().strip())
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot use the vault key {path}: {exc}") from exc
        key = Fernet.generate_key()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls.from_file(path)
        except OSError as exc:
            raise ConfigError(f"cannot create the vault key {path}: {exc.strerror}") from exc
        with os.fdopen(fd, "wb") as fh:
            fh.write(key + b"\n")
        return cls(key)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigError("a stored secret cannot be decrypted with this vault key") from exc
