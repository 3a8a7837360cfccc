"""`healthwatch plans` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="plans", no_args_is_help=True)
