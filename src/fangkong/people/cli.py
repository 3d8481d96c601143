"""``fangkong people``, ``fangkong venues``, ``fangkong workplaces``."""

from __future__ import annotations

import typer

app = typer.Typer(help="Persons and households.", no_args_is_help=True)
venues_app = typer.Typer(help="Venues (场所).", no_args_is_help=True)
workplaces_app = typer.Typer(help="Workplaces and their units.", no_args_is_help=True)
