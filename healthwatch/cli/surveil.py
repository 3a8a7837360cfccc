"""`healthwatch surveil` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="surveil", no_args_is_help=True)
