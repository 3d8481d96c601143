"""``fangkong cases``, ``fangkong stats`` and ``fangkong bulletin``."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import typer
from rich.table import Table

from fangkong import cliutil
from fangkong.auth.jurisdiction import bind
from fangkong.cases import service
from fangkong.flows.positives import import_cases
from fangkong.regions import service as regions

app = typer.Typer(help="The case registry.", no_args_is_help=True)
stats_app = typer.Typer(help="Daily statistics.", no_args_is_help=True)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".csv or .xlsx"),
) -> None:
    """Import cases. All or nothing: any bad row rejects the file; re-importing changes nothing.

    The command acts for the whole configured city, and the import is in the audit log."""
    importer = partial(import_cases, scope=cliutil.city_scope(), policy=cliutil.policy())
    cliutil.run_import(importer, file, kind="case")


@app.command("list")
def list_command(
    city: str = typer.Option(None, help="City code or name."),
    limit: int = typer.Option(20),
) -> None:
    """The latest cases."""
    with cliutil.unit_of_work() as session:
        scope = bind("city", city) if city else cliutil.city_scope()
        flt = service.CaseFilter(city_code=scope.city_code)
        items, total = service.list_cases(session, flt=flt, scope=scope, limit=limit)
        table = Table("case_no", "classification", "origin", "unit", "reported_on", "found_via")
        for c in items:
            table.add_row(
                c.case_no,
                c.classification,
                c.origin,
                regions.unit(c.unit_code).name,
                c.reported_on.isoformat(),
                c.found_via or "",
            )
    cliutil.console.print(table)
    cliutil.console.print(f"{len(items)} of {total}")


def bulletin(
    day: str = typer.Argument(..., help="The day, YYYY-MM-DD."),
    city: str = typer.Option(None, "--city", help="City code (3703) or name; default setting."),
    since: str = typer.Option(None, "--since", help="Outbreak start for the cumulative sentence."),
) -> None:
    """Print the day's bulletin text, only that, to stdout."""
    from fangkong.config import get_settings

    the_day = cliutil.parse_day(day)
    start = cliutil.parse_day(since) if since else None
    with cliutil.unit_of_work() as session:
        code = regions.city(city or get_settings().city).code
        text = service.bulletin_text(
            session,
            city_code=code,
            day=the_day,
            since=start,
            policy=cliutil.policy(),
            scope=bind("city", code),
        )
    typer.echo(text)


@stats_app.command("rebuild")
def rebuild() -> None:
    """Recount the daily statistics from the case table (repair after manual SQL)."""
    with cliutil.unit_of_work() as session:
        cells = service.rebuild_counts(session)
    typer.echo(f"rebuilt {cells} count cells")
