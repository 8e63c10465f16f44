"""Shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# The suite runs on the engine's sources: tests patch its classes and functions, which the
# compiled modules' callers would never see (classifiers/native.py). test_native.py checks that
# the compiled modules find exactly what the sources find. PERIMETER_PURE_PYTHON=0 runs the
# suite on the compiled modules instead (where built).
os.environ.setdefault("PERIMETER_PURE_PYTHON", "1")

try:  # tests/ on sys.path (no tests/__init__.py, pytest's default "prepend" import mode)
    from s3server import S3Server, running_s3_server, weed_binary
except ImportError:  # tests/ imported as a package
    from tests.s3server import S3Server, running_s3_server, weed_binary


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real SeaweedFS S3 gateway on loopback for the whole session.

    Yields ``S3Server(endpoint_url, access_key, secret_key)`` (a named tuple). Tests that use it
    are marked ``@pytest.mark.s3``.
    """
    try:
        weed_binary()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    with running_s3_server() as server:
        yield server


@pytest.fixture(autouse=True)
def _isolated_deployment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets its own store and fingerprint key; nothing touches ~/.config or ./."""
    home = tmp_path_factory.mktemp("deployment")
    monkeypatch.setenv("PERIMETER_DB", str(home / "perimeter.db"))
    monkeypatch.setenv("PERIMETER_KEY_FILE", str(home / "fingerprint.key"))
    monkeypatch.setenv("PERIMETER_VAULT_KEY_FILE", str(home / "vault.key"))
