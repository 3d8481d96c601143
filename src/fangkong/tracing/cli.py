"""``fangkong trace`` and ``fangkong contacts export``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from fangkong import cliutil
from fangkong.auth import audit
from fangkong.config import get_settings
from fangkong.lake.engine import ENGINES
from fangkong.tracing import service

contacts_app = typer.Typer(
    help="Contacts of cases (密接、次密接、一般接触者).", no_args_is_help=True
)


def trace(
    case_nos: list[str] = typer.Argument(None, help="Case numbers to trace."),
    day: str = typer.Option(None, "--date", help="Trace every case reported on YYYY-MM-DD."),
    engine: str = typer.Option(None, "--engine", help="duckdb or spark; default FANGKONG_ENGINE."),
) -> None:
    """Trace cases against the lake of venue scans and store their contacts (incremental)."""
    if bool(case_nos) == bool(day):
        raise typer.BadParameter("give either CASE_NO... or --date")
    settings = get_settings()
    engine = engine or settings.engine
    if engine not in ENGINES:
        raise typer.BadParameter(f"--engine must be one of {', '.join(ENGINES)}")
    lake = service.open_lake(home=settings.home, engine=engine, spark_master=settings.spark_master)
    scope, policy, now = cliutil.city_scope(), cliutil.policy(), cliutil.clock().now()
    with cliutil.unit_of_work(settings) as session:
        if day:
            report = service.trace_day(
                session,
                day=cliutil.parse_day(day),
                con=lake.con,
                lake=lake.root,
                policy=policy,
                now=now,
                scope=scope,
            )
        else:
            report = service.trace_cases(
                session,
                case_nos=case_nos,
                con=lake.con,
                lake=lake.root,
                policy=policy,
                now=now,
                scope=scope,
            )
    table = Table("case_no", "close", "secondary", "general", "note")
    for c in report.cases:
        table.add_row(c.case_no, str(c.close), str(c.secondary), str(c.general), c.note or "")
    t = report.totals
    table.add_row("total", str(t["close"]), str(t["secondary"]), str(t["general"]), "")
    cliutil.console.print(table)
    for link in report.chain:
        state = "linked" if link.linked else "not linked (has an infector)"
        cliutil.console.print(f"chain: {link.infector_case_no} → {link.case_no} ({state})")
    typer.echo(
        f"{len(report.cases)} cases: close {t['close']}, secondary {t['secondary']}, "
        f"general {t['general']}"
    )


@contacts_app.command("export")
def export(
    file: Path = typer.Argument(..., dir_okay=False, help="The CSV file to write."),
    reason: str = typer.Option("command-line export", help="Why it is exported (audit log)."),
) -> None:
    """Write the contacts of the city's cases as CSV, one row per reason (audited)."""
    now = cliutil.clock().now()
    with cliutil.unit_of_work() as session:
        content, rows = service.export_csv(session, scope=cliutil.city_scope())
        audit.record(
            session,
            principal=None,
            actor="cli",
            action="export",
            now=now,
            entity_type="contact",
            reason=reason,
            detail={"rows": rows, "file": file.name},
        )
    file.write_text(content, encoding="utf-8-sig")
    typer.echo(f"{rows} rows written to {file}")
