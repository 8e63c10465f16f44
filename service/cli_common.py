"""What every CLI command shares: consoles and the one mapping of errors to exit codes."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from models.errors import ConfigError, PerimeterError

err = Console(stderr=True, soft_wrap=True)
# Piped output (CI logs, files) gets a wide table rather than rich's 80-column default.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)

F = TypeVar("F", bound=Callable[..., Any])


def errors_to_exit_codes(fn: F) -> F:
    """One place maps the error tree to exit codes and one-line messages (no tracebacks):
    ConfigError -> 2, any other PerimeterError -> 1, Ctrl-C -> 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from None
        except PerimeterError as exc:
            err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]
