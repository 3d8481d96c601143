"""``fangkong zones …``: proposals from a day's cases, the list, and the lifting run."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from fangkong import cliutil
from fangkong.auth import audit
from fangkong.clock import today
from fangkong.zones import drawing, lifting, records, views

app = typer.Typer(help="Risk zones (分区分级): proposals, the list, lifting.")
out = Console()


def _day(value: str | None) -> date:
    return cliutil.parse_day(value) if value else today(cliutil.clock())


@app.command("propose")
def propose(
    day: str = typer.Option(None, "--date", help="Local day YYYY-MM-DD; default today."),
) -> None:
    """Propose zones for the cases reported on the day (the HQ confirms them)."""
    shown = _day(day)
    now = cliutil.clock().now()
    with cliutil.unit_of_work() as session:
        made = drawing.propose_zones(
            session,
            day=shown,
            policy=cliutil.policy(),
            scope=cliutil.city_scope(),
            now=now,
            by="cli",
        )
        rows = [views.zone_row(z) for z in made]
        audit.record(
            session,
            principal=None,
            actor="cli",
            action="propose_zones",
            now=now,
            entity_type="risk_zone",
            detail={"day": shown.isoformat(), "zones": [r.code for r in rows]},
        )
    table = Table("zone", "level", "name", "cases", "residents", "rule")
    for r in rows:
        table.add_row(
            r.code, r.level_label, r.name, " ".join(r.case_nos), f"{r.residents:,}", r.rule
        )
    out.print(table)
    out.print(f"{shown.isoformat()}: {len(rows)} proposal(s)")


@app.command("list")
def list_(
    status: str = typer.Option(None, "--status", help="proposed, in_force, downgraded, lifted…"),
    day: str = typer.Option(None, "--date", help="Only zones in force on this day."),
) -> None:
    """The city's zones."""
    with cliutil.unit_of_work() as session:
        zones = records.list_zones(
            session,
            flt=records.ZoneFilter(
                status=status, in_force_on=cliutil.parse_day(day) if day else None
            ),
            scope=cliutil.city_scope(),
            limit=10_000,
        )
        rows = [views.zone_row(z) for z in zones]
    table = Table("zone", "level", "status", "name", "residents", "since")
    for r in rows:
        since = r.effective_at.date().isoformat() if r.effective_at else "—"
        table.add_row(r.code, r.level_label, r.status_label, r.name, f"{r.residents:,}", since)
    out.print(table)


@app.command("lift")
def lift(
    day: str = typer.Option(None, "--date", help="Local day YYYY-MM-DD; default today."),
) -> None:
    """Apply what the rules allow on the day; list what they hold back, and why."""
    shown = _day(day)
    now = cliutil.clock().now()
    with cliutil.unit_of_work() as session:
        run = lifting.lift(
            session,
            day=shown,
            policy=cliutil.policy(),
            scope=cliutil.city_scope(),
            now=now,
            by="cli",
        )
        applied = [(views.countdown_row(e), left) for e, left in run.applied]
        held = [views.countdown_row(e) for e in run.held]
        audit.record(
            session,
            principal=None,
            actor="cli",
            action="lift_zones",
            now=now,
            entity_type="risk_zone",
            detail={"day": shown.isoformat(), "applied": [r.code for r, _ in applied]},
        )
    done = Table("zone", "name", "from", "to", "rule", title="applied")
    for r, _left in applied:
        done.add_row(r.code, r.name, r.level_label, r.then_label, r.rule)
    out.print(done)
    wait = Table("zone", "name", "level", "days left", "blocked by", "what clears it", title="held")
    for r in held:
        blocking = [c for c in r.conditions if not c.met]
        wait.add_row(
            r.code,
            r.name,
            r.level_label,
            str(r.days_left),
            "；".join(c.label for c in blocking),
            "；".join(c.clears for c in blocking if c.clears),
        )
    out.print(wait)
    out.print(f"{shown.isoformat()}: {len(applied)} applied, {len(held)} held")
