"""``fangkong zones …``: proposals from a day's cases, the list, the lifting run, notices
and the city's feed; ``fangkong reopening …``: import and show reopening decisions."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from fangkong import cliutil
from fangkong.auth import audit
from fangkong.clock import today
from fangkong.config import get_settings
from fangkong.zones import drawing, feed, lifting, notices, records, reopening, views
from fangkong.zones.notice import render as render_notice

app = typer.Typer(help="Risk zones (分区分级): proposals, the list, lifting, notices, feeds.")
reopening_app = typer.Typer(help="Reopening decisions (分区域、分行业有序恢复).")
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


@app.command("notice")
def notice(
    kind: str = typer.Option("draw", "--kind", help="draw, adjust or lift."),
    day: str = typer.Option(None, "--date", help="Local day YYYY-MM-DD; default today."),
    codes: list[str] = typer.Option(None, "--zone", help="Only these zones (repeatable)."),
    docx: Path = typer.Option(None, "--docx", help="Also write the notice as Word here."),
) -> None:
    """The official notice drawing, adjusting or lifting the day's zones."""
    shown = _day(day)
    with cliutil.unit_of_work() as session:
        found = notices.notice(
            session,
            kind=kind,
            day=shown,
            scope=cliutil.city_scope(),
            city_code=get_settings().city,
            codes=codes or None,
        )
    text = render_notice(found)
    typer.echo(text)
    if docx is not None:
        docx.write_bytes(notices.render_docx(text))
        typer.echo(f"written {docx}", err=True)


@app.command("feed")
def feed_command(
    day: str = typer.Option(None, "--date", help="Local day YYYY-MM-DD; default today."),
    fmt: str = typer.Option("json", "--format", help="json, csv or geojson."),
) -> None:
    """The city's zones in force on the day, in the national risk-area list's shape."""
    if fmt not in ("json", "csv", "geojson"):
        raise typer.BadParameter("json, csv or geojson", param_hint="--format")
    with cliutil.unit_of_work() as session:
        found = feed.feed(session, city_code=get_settings().city, day=_day(day))
    if fmt == "csv":
        typer.echo(feed.as_csv(found), nl=False)
    else:
        data = feed.as_json(found) if fmt == "json" else feed.as_geojson(found)
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@reopening_app.command("import")
def reopening_import(
    file: Path = typer.Argument(
        None, exists=True, dir_okay=False, help="A decision in TOML (see docs/zones.md)."
    ),
    builtin: str = typer.Option(
        None, "--builtin", help="A decision shipped with fangkong: zibo-2022-03-23."
    ),
) -> None:
    """Import a reopening decision (audited)."""
    if (file is None) == (builtin is None):
        raise typer.BadParameter("give a file or --builtin, not both")
    text = reopening.builtin_text(builtin) if builtin else file.read_text(encoding="utf-8")
    now = cliutil.clock().now()
    with cliutil.unit_of_work() as session:
        decision = reopening.import_decision(session, text=text, now=now, by="cli")
        audit.record(
            session,
            principal=None,
            actor="cli",
            action="import_reopening",
            now=now,
            entity_type="reopening_decision",
            entity_id=decision.code,
            detail={"cells": len(decision.rules)},
        )
        code, cells = decision.code, len(decision.rules)
    out.print(f"imported {code}: {cells} cell(s)")


def _cell_text(cell: reopening.MatrixCell | None) -> str:
    if cell is None:
        return ""
    return cell.verdict_label + ("：" + "、".join(cell.conditions) if cell.conditions else "")


@reopening_app.command("show")
def reopening_show(
    code: str = typer.Argument(None, help="Decision code; default the city's latest."),
) -> None:
    """A decision as a matrix (region × category) and its notice."""
    with cliutil.unit_of_work() as session:
        if code is None:
            found = reopening.list_decisions(session, city_code=get_settings().city)
            if not found:
                raise typer.BadParameter("the city has no reopening decision yet")
            code = found[0].code
        shown = reopening.matrix(reopening.get_decision(session, code=code))
    table = Table("", *(label for _, label in shown.columns), title=f"{shown.code} {shown.title}")
    for region, cells in shown.rows:
        table.add_row(
            region,
            *(
                ""
                if c is None
                else c.verdict_label + ("：" + "、".join(c.conditions) if c.conditions else "")
                for c in cells
            ),
        )
    out.print(table)
    typer.echo(shown.notice)
