"""The ``healthwatch`` command: thin Typer shells over the library.

Each command group lives in its own module here and only parses arguments, calls one library
function and prints the result (a Rich table, or JSON with ``--json``). Errors derived from
:class:`healthwatch.errors.HealthwatchError` are printed in Chinese and English with exit code 2.
"""

from __future__ import annotations

import sys

import typer

from healthwatch.cli import access, db, demo, plans, regions, surveil, warning
from healthwatch.errors import HealthwatchError

app = typer.Typer(
    name="healthwatch",
    help="健康规划监测平台 / healthwatch: five-year plans, indicators, surveillance, access.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(regions.app, name="regions")
app.add_typer(plans.app, name="plans")
app.add_typer(surveil.app, name="surveil")
app.add_typer(access.app, name="access")
app.add_typer(warning.app, name="warning")
app.command("demo")(demo.demo)


def main() -> None:
    try:
        app(standalone_mode=True)
    except HealthwatchError as exc:  # pragma: no cover - exercised through subprocess tests
        print(exc.render(), file=sys.stderr)
        sys.exit(2)
