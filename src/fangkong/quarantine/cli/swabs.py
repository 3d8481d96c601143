"""``fangkong quarantine tests …``: a site's testing round of a day and its worklist."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from fangkong import cliutil
from fangkong.clock import LOCAL_TZ, today
from fangkong.config import get_settings
from fangkong.lake.layout import lake_root
from fangkong.quarantine import home_swabs, site_swabs

app = typer.Typer(help="Tests during quarantine (隔离期间核酸检测).", no_args_is_help=True)
out = Console()
SITE = typer.Option(..., "--site", help="Site code, e.g. S01.")
DAY = typer.Option(None, "--date", help="Local day, YYYY-MM-DD; default today.")


@app.command("open")
def open_round(site: str = SITE, day: str = DAY) -> None:
    """Open the site's round of the day (single tubes, the persons due); idempotent."""
    settings, clock, scope = get_settings(), cliutil.clock(), cliutil.city_scope()
    when = cliutil.parse_day(day) if day else today(clock)
    with cliutil.unit_of_work(settings) as session:
        found = site_swabs.site_by_code(session, site, scope=scope)
        round_ = site_swabs.open_site_round(
            session,
            found,
            when,
            lake=lake_root(settings.home),
            policy=cliutil.policy(),
            now=clock.now(),
            actor="cli",
            scope=scope,
        )
        out.print(f"round {round_.code} ({round_.status}): {round_.due_count:,} due, single tubes")


@app.command("list")
def list_tests(site: str = SITE, day: str = DAY) -> None:
    """The site's tests of the day by room; overdue ones in red."""
    clock, scope = cliutil.clock(), cliutil.city_scope()
    now = today(clock)
    when = cliutil.parse_day(day) if day else now
    with cliutil.unit_of_work() as session:
        found = site_swabs.site_by_code(session, site, scope=scope)
        rows = site_swabs.worklist(session, found, when, scope=scope, today=now)
        table = Table(
            "room", "person", "name", "order", "day", "no.", "two labs", "state", "sampled"
        )
        for r in rows:
            state = f"[red]{r.state_label} 逾期[/red]" if r.overdue else r.state_label
            sampled = (
                r.sampled_at.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M") if r.sampled_at else ""
            )
            table.add_row(
                r.room_no or "",
                r.person_no,
                r.name or "",
                r.order_no,
                r.due_on.isoformat(),
                str(r.number),
                "✓" if r.two_labs else "",
                state,
                sampled,
            )
        out.print(table)
        overdue = sum(r.overdue for r in rows)
        out.print(f"{found.name} {when.isoformat()}: {len(rows)} tests, {overdue} overdue")


@app.command("open-home")
def open_home_round(
    community: int = typer.Option(..., "--community", help="Community id."),
    day: str = DAY,
) -> None:
    """Open a community's door-to-door round of the day for its people at home."""
    settings, clock, scope = get_settings(), cliutil.clock(), cliutil.city_scope()
    when = cliutil.parse_day(day) if day else today(clock)
    with cliutil.unit_of_work(settings) as session:
        found = home_swabs.community_for(session, community, scope=scope)
        round_ = home_swabs.open_home_round(
            session,
            found,
            when,
            lake=lake_root(settings.home),
            policy=cliutil.policy(),
            now=clock.now(),
            actor="cli",
        )
        out.print(f"round {round_.code} ({round_.status}): {round_.due_count:,} due at home")
