"""Helpers shared by the command modules: database option, JSON output, error display."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from healthwatch.errors import HealthwatchError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table / 输出 JSON")
DbOption = typer.Option(
    None,
    "--db",
    envvar="HEALTHWATCH_DB",
    help="Database URL or SQLite file (default ./healthwatch.sqlite) / 数据库地址",
)


def print_json(data: Any) -> None:
    """Write JSON to stdout with Chinese kept readable (no \\u escapes)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def friendly_errors(func: F) -> F:
    """Turn a HealthwatchError into a bilingual message and exit code 2, without a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except HealthwatchError as exc:
            err_console.print(exc.render(), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from exc

    return wrapper  # type: ignore[return-value]
