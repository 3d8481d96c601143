"""``fangkong scans``: import files, flush the live buffer, compact, figures."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import typer
from rich.table import Table

from fangkong import cliutil, config
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
    report = cliutil.run_lake_import(
        file,
        kind="scan",
        run=lambda session, progress: importer.import_scans(
            session,
            data=file,
            filename=file.name,
            now=now,
            scope=cliutil.city_scope(),
            lake=_lake(),
            policy=cliutil.policy().tracing,
            progress=progress,
        ),
        counts=lambda r: {"added": r.added, "unchanged": r.unchanged},
        rows=lambda r: r.added + r.unchanged,
        total=_total_rows(file),
    )
    typer.echo(f"added {report.added}, duplicates {report.unchanged}, rejected 0")


@app.command("flush")
def flush() -> None:
    """Write the buffered live scans into the lake (safe to repeat after a crash)."""
    report = service.flush(_lake())
    typer.echo(
        f"flushed {report.files} buffer file(s), {report.rows} scans: "
        f"added {report.added}, duplicates {report.duplicates}"
    )
    if report.set_aside:
        typer.echo(
            f"{report.set_aside} unreadable line(s) set aside in "
            f"{service.buffer_dir(_lake()) / service.SET_ASIDE}"
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
        f"{sum(s.rows for s in days)} scans; {service.buffered_rows(lake)} buffered; "
        f"{service.set_aside_lines(lake)} unreadable buffer line(s) set aside"
    )
