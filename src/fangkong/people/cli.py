"""``fangkong people``, ``fangkong venues``, ``fangkong workplaces``.

An operator at the command line works on the store itself, so commands act city-wide (the
configured city's jurisdiction); lists are masked all the same.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import typer
from rich.table import Table

from fangkong import cliutil
from fangkong.people import importer, lookups, service, venues, workplaces

app = typer.Typer(help="Persons and households.", no_args_is_help=True)
venues_app = typer.Typer(help="Venues (场所).", no_args_is_help=True)
workplaces_app = typer.Typer(help="Workplaces and their units.", no_args_is_help=True)

FILE = typer.Argument(..., exists=True, dir_okay=False, help=".csv or .xlsx")


@app.command("import")
def import_people(file: Path = FILE) -> None:
    """Import persons. All or nothing: any bad row rejects the file; re-importing changes
    nothing."""
    run = partial(importer.import_people, scope=cliutil.city_scope())
    cliutil.run_import(run, file, kind="person")


@venues_app.command("import")
def import_venues(file: Path = FILE) -> None:
    """Import venues (场所码). All or nothing, idempotent."""
    run = partial(importer.import_venues, scope=cliutil.city_scope())
    cliutil.run_import(run, file, kind="venue")


@workplaces_app.command("import")
def import_workplaces(file: Path = FILE) -> None:
    """Import workplaces and their units. All or nothing, idempotent."""
    run = partial(importer.import_workplaces, scope=cliutil.city_scope())
    cliutil.run_import(run, file, kind="workplace")


@app.command("list")
def list_people(
    q: str = typer.Option(None, "--q", help="Part of a name, person number, phone or ID."),
    district: str = typer.Option(None, help="District code or name."),
    limit: int = typer.Option(20),
    offset: int = typer.Option(0),
) -> None:
    """Persons, masked (name, ID number, phone)."""
    with cliutil.unit_of_work() as session:
        flt = service.PersonFilter(text=q, district_code=lookups.resolve_region(district, None)[0])
        items, total = service.list_persons(
            session, flt=flt, scope=cliutil.city_scope(), limit=limit, offset=offset
        )
        reads = [service.person_read(p).masked_copy() for p in items]
    table = Table("person_no", "姓名", "身份证号", "手机号", "区县", "社区", "小区", "户编号")
    for r in reads:
        table.add_row(
            r.person_no,
            r.name,
            r.id_number or "",
            r.phone or "",
            r.district_name or "",
            r.community or "",
            r.compound or "",
            r.household_no or "",
        )
    cliutil.console.print(table)
    cliutil.console.print(f"{len(reads)} of {total}")


@venues_app.command("list")
def list_venues(
    q: str = typer.Option(None, "--q", help="Part of a name or venue code."),
    limit: int = typer.Option(20),
) -> None:
    """Venues."""
    with cliutil.unit_of_work() as session:
        items, total = venues.list_venues(
            session, flt=venues.VenueFilter(text=q), scope=cliutil.city_scope(), limit=limit
        )
        reads = [venues.venue_read(v) for v in items]
    table = Table("venue_code", "场所名称", "类别", "区县", "容量")
    for v in reads:
        table.add_row(
            v.venue_code, v.name, v.category_label, v.district_name, str(v.capacity or "")
        )
    cliutil.console.print(table)
    cliutil.console.print(f"{len(reads)} of {total}")


@workplaces_app.command("list")
def list_workplaces(
    q: str = typer.Option(None, "--q", help="Part of a name or workplace number."),
    limit: int = typer.Option(20),
) -> None:
    """Workplaces and their units."""
    with cliutil.unit_of_work() as session:
        flt = workplaces.WorkplaceFilter(text=q)
        items, total = workplaces.list_workplaces(
            session, flt=flt, scope=cliutil.city_scope(), limit=limit
        )
        reads = workplaces.workplace_reads(session, items)
    table = Table("workplace_no", "单位名称", "行业", "区县", "部门")
    for w in reads:
        table.add_row(
            w.workplace_no,
            w.name,
            w.industry_label,
            w.district_name,
            "、".join(u.name for u in w.units),
        )
    cliutil.console.print(table)
    cliutil.console.print(f"{len(reads)} of {total}")
