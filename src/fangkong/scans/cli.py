"""``fangkong scans``: import files, flush the live buffer, compact, figures."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow.parquet as pq
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from fangkong import cliutil, config
from fangkong.auth import audit
from fangkong.errors import ImportRejected
from fangkong.lake.layout import lake_root
from fangkong.scans import importer, service

app = typer.Typer(help="Venue scans (场所码) and the event lake.", no_args_is_help=True)

FILE = typer.Argument(..., exists=True, dir_okay=False, help=".csv or .parquet")


def _lake() -> Path:
    return lake_root(config.get_settings().home)


def _total_rows(file: Path) -> int | None:
    if file.suffix.lower() == ".parquet":
        try:
            return int(pq.ParquetFile(file).metadata.num_rows)
        except Exception:
            return None
    return None


@app.command("import")
def import_scans(file: Path = FILE) -> None:
    """Import scans. All or nothing: any bad row rejects the file; re-importing adds
    nothing (duplicates are counted)."""
    now = cliutil.clock().now()
    started = time.monotonic()
    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>12} rows/s"),
        TimeElapsedColumn(),
    )
    rejected: ImportRejected | None = None
    with (
        cliutil.unit_of_work() as session,
        Progress(*columns, console=cliutil.console, transient=False) as bar,
    ):
        task = bar.add_task(f"reading {file.name}", total=_total_rows(file), rate="")

        def advance(rows: int) -> None:
            rate = rows / max(time.monotonic() - started, 1e-6)
            bar.update(task, completed=rows, rate=f"{rate:,.0f}")

        try:
            report = importer.import_scans(
                session,
                data=file,
                filename=file.name,
                now=now,
                scope=cliutil.city_scope(),
                lake=_lake(),
                policy=cliutil.policy().tracing,
                progress=advance,
            )
        except ImportRejected as exc:
            rejected = exc
        else:
            total = report.added + report.unchanged
            elapsed = max(time.monotonic() - started, 1e-6)
            bar.update(task, total=total, completed=total, rate=f"{total / elapsed:,.0f}")
            audit.record_import(
                session,
                principal=None,
                actor="cli",
                kind="scan",
                filename=file.name,
                now=now,
                counts={"added": report.added, "unchanged": report.unchanged},
            )
    if rejected is not None:
        count = int(rejected.details["report"]["rejected"])
        with cliutil.unit_of_work() as session:
            audit.record_import(
                session,
                principal=None,
                actor="cli",
                kind="scan",
                filename=file.name,
                now=now,
                counts={"rejected": count},
                rejected=True,
            )
        out = cliutil.console
        out.print(f"added 0, duplicates 0, rejected {count}", markup=False)
        for err in rejected.details["errors"]:
            column = f", column {err['column']}" if err["column"] else ""
            value = f" (value {err['value']!r})" if err.get("value") is not None else ""
            out.print(f"row {err['row']}{column}: {err['reason']}{value}", markup=False)
        if rejected.details.get("unlisted"):
            out.print(f"… and {rejected.details['unlisted']} more error(s)", markup=False)
        out.print("[red]nothing was imported[/red]")
        raise typer.Exit(1)
    typer.echo(f"added {report.added}, duplicates {report.unchanged}, rejected 0")


@app.command("flush")
def flush() -> None:
    """Write the buffered live scans into the lake (safe to repeat after a crash)."""
    report = service.flush(_lake())
    typer.echo(
        f"flushed {report.files} buffer file(s), {report.rows} scans: "
        f"added {report.added}, duplicates {report.duplicates}"
    )


@app.command("compact")
def compact(
    day: str = typer.Option(None, "--day", help="YYYY-MM-DD; default: every day not compacted."),
) -> None:
    """Merge each day's files into one, deduplicated and sorted for tracing."""
    days = [cliutil.parse_day(day)] if day else None
    reports = service.compact_days(_lake(), days)
    for r in reports:
        typer.echo(
            f"{r.day}: {r.rows} scans in 1 file, {len(r.removed)} file(s) replaced, "
            f"{r.duplicates} duplicate(s) dropped"
        )
    if not reports:
        typer.echo("nothing to compact")


@app.command("stats")
def stats() -> None:
    """Days in the lake, their files and scans."""
    lake = _lake()
    days = service.stats(lake)
    table = Table("day", "files", "scans", "compacted")
    for s in days:
        table.add_row(s.day.isoformat(), str(s.files), f"{s.rows:,}", "yes" if s.compacted else "")
    cliutil.console.print(table)
    typer.echo(
        f"{len(days)} day(s), {sum(s.files for s in days)} file(s), "
        f"{sum(s.rows for s in days)} scans; {service.buffered_rows(lake)} buffered"
    )
