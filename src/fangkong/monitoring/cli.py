"""``fangkong monitoring …``: the daily alert run of home health monitoring, and
self-report links handed out from the server."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.console import Console
from rich.table import Table

from fangkong import cliutil
from fangkong.auth import audit
from fangkong.auth.service import Keys
from fangkong.clock import LOCAL_TZ, today
from fangkong.config import get_settings
from fangkong.monitoring import links, rules, service
from fangkong.people import service as people_service

app = typer.Typer(help="Home health monitoring (居家健康监测): alerts and self-report links.")
out = Console()


@app.command("alerts")
def alerts(
    day: str = typer.Option(None, "--date", help="Local day YYYY-MM-DD; default today."),
    limit: int = typer.Option(50, "--limit", help="Rows of new tasks to print."),
) -> None:
    """Raise the day's tasks for the whole city: a follow-up for every report window that
    closed without a report, a referral for every fever or symptom without one. Runs at
    the end of the day, or now if the day is not over. Safe to repeat."""
    clock = cliutil.clock()
    shown = cliutil.parse_day(day) if day else today(clock)
    now = min(clock.now(), rules.end_of_day(shown))
    with cliutil.unit_of_work() as session:
        run = service.run_alerts(
            session, day=shown, now=now, policy=cliutil.policy(), scope=cliutil.city_scope()
        )
        rows = run.created[:limit]
        names = people_service.community_names(
            session, {t.community_id for t in rows if t.community_id}
        )
    table = Table("kind", "order", "community", "window", "reason")
    for task in rows:
        table.add_row(
            rules.TASK_KINDS[task.kind],
            task.order_no,
            names.get(task.community_id, "—") if task.community_id else "—",
            rules.window_label(task.window) if task.window else "时段外",
            task.reason,
        )
    if rows:
        out.print(table)
    if len(run.created) > len(rows):
        out.print(f"… and {len(run.created) - len(rows):,} more")
    closed = ", ".join(rules.window_label(w) for w in run.closed_windows) or "none"
    out.print(
        f"{shown.isoformat()}: {run.checked:,} under monitoring; new referrals "
        f"{run.referrals:,}, new follow-ups {run.follow_ups:,} (windows closed: {closed})"
    )


@app.command("link")
def link(
    order_no: str = typer.Argument(..., help="The quarantine order's number."),
    ttl_hours: float = typer.Option(
        None, "--ttl-hours", help="Expire sooner; default the end of home monitoring."
    ),
    base_url: str = typer.Option("", "--base-url", help="Prefix of the printed URL."),
) -> None:
    """Issue the person's self-report link (the previous one is revoked) and print it:
    it is shown this once."""
    settings = get_settings()
    now = cliutil.clock().now()
    with cliutil.unit_of_work(settings) as session:
        order = service.get_order(session, order_no=order_no, scope=cliutil.city_scope())
        issued = links.issue(
            session,
            order=order,
            keys=Keys.from_settings(settings),
            now=now,
            created_by="cli",
            ttl=timedelta(hours=ttl_hours) if ttl_hours else None,
        )
        audit.record(
            session,
            principal=None,
            actor="cli",
            action="issue_link",
            now=now,
            entity_type="quarantine_order",
            entity_id=order.order_no,
            detail={"prefix": issued.link.prefix, "expires_at": issued.link.expires_at},
        )
        expires = issued.link.expires_at.astimezone(LOCAL_TZ)
    typer.echo(base_url.rstrip("/") + issued.path)
    out.print(f"expires {expires:%Y-%m-%d %H:%M} (local); the previous link no longer works")
