"""Helpers shared by the command modules: JSON output, error display, help in Chinese first.

``DbOption`` and ``JsonOption`` are re-exported from :mod:`healthwatch.cli.options`.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import DefaultPlaceholder

from healthwatch.cli.options import DbOption as DbOption  # re-exported
from healthwatch.cli.options import JsonOption as JsonOption  # re-exported
from healthwatch.errors import HealthwatchError
from healthwatch.lazy import OnFirstUse

if TYPE_CHECKING:
    from rich.console import Console


class _ConsoleOnFirstUse(OnFirstUse):
    """A rich ``Console`` made when a command first prints through it.

    A command that writes JSON to stdout never needs rich; importing it costs 0.03 s of every
    such run (``surveil detect --json`` on a province takes little over a second in all).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(functools.partial(_console, **options))

    # rich's live displays (progress bars) enter the console as a context manager, which
    # Python looks up on the type, not through __getattr__
    def __enter__(self) -> Console:
        return cast("Console", self.real().__enter__())

    def __exit__(self, *exc: object) -> None:
        self.real().__exit__(*exc)


def _console(**options: Any) -> Console:
    from rich.console import Console

    return Console(**options)


console = cast("Console", _ConsoleOnFirstUse())
err_console = cast("Console", _ConsoleOnFirstUse(stderr=True))

F = TypeVar("F", bound=Callable[..., Any])


class ProcessEnd:
    """Whether the finished command lets the process end without Python's tear-down.

    Tearing down an interpreter that has loaded numba, llvmlite and scipy takes 0.2-0.3 s,
    a sixth of a whole ``surveil detect`` on thousands of series, and does nothing a user
    needs once the result is written. A command that holds nothing whose clean-up matters
    (no database session, no Dask cluster, no temporary files) calls :meth:`allow_quick`
    after its output; :func:`healthwatch.cli.main` then flushes stdout and stderr and ends
    the process at once. Commands run in-process (tests' CliRunner) are not affected.
    """

    quick = False

    @classmethod
    def allow_quick(cls) -> None:
        cls.quick = True


HELP_OPTION_NAMES = ("-h", "--help")
"""Both spellings work on every command (set once on the root app; subcommands inherit it)."""

HELP_OPTION_TEXT = "显示帮助并退出 / show this help and exit"


class _ZhHelpMixin:
    """The help option's own description in Chinese first, like every other option."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option


class ZhHelpGroup(_ZhHelpMixin, TyperGroup):
    """A Typer group whose ``-h/--help`` is described in Chinese first: ``typer.Typer(cls=...)``."""


class ZhHelpCommand(_ZhHelpMixin, TyperCommand):
    """A Typer command whose ``-h/--help`` is described in Chinese first: ``command(cls=...)``."""


def chinese_help_everywhere(app: typer.Typer) -> None:
    """Give every command and group under ``app`` that chose no class of its own the classes
    above, so that ``-h/--help`` reads the same (Chinese first) in every command group."""
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):  # Typer fills in TyperCommand for "none"
            command.cls = ZhHelpCommand
    for group in app.registered_groups:
        sub = group.typer_instance
        if sub is None:
            continue
        if sub.info.cls in (None, TyperGroup) or isinstance(sub.info.cls, DefaultPlaceholder):
            sub.info.cls = ZhHelpGroup
        chinese_help_everywhere(sub)


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
