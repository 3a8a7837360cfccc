"""Helpers shared by the command modules: database option, JSON output, error display."""

from __future__ import annotations

import functools
import json
import math
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


def strict_json(data: Any) -> Any:
    """``data`` with every NaN or infinite float replaced by None, so the JSON is strict.

    A missing number is ``null`` in JSON; ``NaN`` and ``Infinity`` are not JSON at all and break
    strict parsers (jq, JavaScript's JSON.parse, Python's ``parse_constant`` hook).
    """
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: strict_json(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict_json(v) for v in data]
    return data


def dumps_json(data: Any) -> str:
    """Strict JSON text (no NaN/Infinity) with Chinese kept readable (no \\u escapes)."""
    return json.dumps(strict_json(data), ensure_ascii=False, indent=2, default=str, allow_nan=False)


def print_json(data: Any) -> None:
    """Write strict JSON to stdout (see :func:`dumps_json`)."""
    sys.stdout.write(dumps_json(data) + "\n")


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
