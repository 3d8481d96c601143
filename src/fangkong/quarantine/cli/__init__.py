"""``fangkong quarantine …`` and ``fangkong sites …``: plan a day, release a day, sites."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from fangkong import cliutil
from fangkong.clock import LOCAL_TZ
from fangkong.flows import quarantine_day
from fangkong.quarantine import placement, releases, sites
from fangkong.quarantine.assignment import UNPLACED_LABELS
from fangkong.quarantine.cli import swabs as swabs_cli
from fangkong.quarantine.schedule import PERSON_LABELS, PersonKind
from fangkong.quarantine.status import STATUS_LABELS, OrderStatus

app = typer.Typer(help="Transfer and quarantine (转运隔离).", no_args_is_help=True)
sites_app = typer.Typer(help="Quarantine sites and rooms (集中隔离点).", no_args_is_help=True)
app.add_typer(swabs_cli.app, name="tests", help="Tests during quarantine (隔离期间核酸检测).")
out = Console()


@app.command("plan")
def plan(
    day: str = typer.Option(..., "--date", help="YYYY-MM-DD: the day to plan."),
    split: bool = typer.Option(
        False, "--split-households", help="Spread a household over rooms of one site."
    ),
) -> None:
    """Orders for the day's new contacts and discharges; rooms and transfers for everyone
    waiting. Prints who was placed, who waits and why."""
    when = cliutil.parse_day(day)
    policy, now = cliutil.policy(), cliutil.clock().now()
    with cliutil.unit_of_work() as session:
        result = quarantine_day.plan_day(
            session,
            day=when,
            policy=policy,
            now=now,
            actor="cli",
            scope=cliutil.city_scope(),
            split_households=split,
        )
        made = result.contacts.orders + result.discharges.orders
        counts: dict[str, int] = {}
        for order in made:
            counts[order.person_kind] = counts.get(order.person_kind, 0) + 1
        table = Table(title=f"{when} 隔离管控计划 ({policy.edition})")
        table.add_column("人员类别")
        table.add_column("新隔离令", justify="right")
        for kind, n in sorted(counts.items()):
            table.add_row(PERSON_LABELS[PersonKind(kind)], str(n))
        out.print(table)
        not_managed = result.contacts.not_managed + result.discharges.not_managed
        for kind, n in not_managed.items():
            out.print(f"{PERSON_LABELS[PersonKind(kind)]} {n}: 本版本不作管控 (not managed)")
        if result.contacts.already:
            out.print(f"already under an order: {result.contacts.already}")
        placement = result.placement
        out.print(
            f"placed {len(placement.placed)} in {len(placement.transfers)} transfer(s); "
            f"at home {len(result.at_home)}; waiting {len(placement.unplaced)}"
        )
        if placement.unplaced:
            waiting = Table(title="待安置 (waiting for a room)")
            waiting.add_column("隔离令")
            waiting.add_column("原因")
            for order, reason in placement.unplaced[:50]:
                waiting.add_row(order.order_no, UNPLACED_LABELS.get(reason, reason))
            out.print(waiting)
            if len(placement.unplaced) > 50:
                out.print(f"… and {len(placement.unplaced) - 50} more")


@app.command("release")
def release(day: str = typer.Option(..., "--date", help="YYYY-MM-DD: the day to release.")) -> None:
    """Release whoever's centralized quarantine ends by the day with every test negative;
    complete whoever's last stage ends; list who is held and why."""
    when = cliutil.parse_day(day)
    now = cliutil.clock().now()
    with cliutil.unit_of_work() as session:
        result = releases.release_day(
            session, day=when, now=now, actor="cli", scope=cliutil.city_scope()
        )
        home = sum(o.status == OrderStatus.in_home_monitoring.value for o in result.released)
        out.print(
            f"released {len(result.released)} ({home} to home monitoring), "
            f"completed {len(result.completed)}, held {len(result.held)}"
        )
        if result.held:
            table = Table(title="暂缓解除 (held)")
            table.add_column("隔离令")
            table.add_column("状态")
            table.add_column("原因")
            for order, reasons in result.held:
                label = STATUS_LABELS[OrderStatus(order.status)]
                table.add_row(order.order_no, label, "；".join(reasons))
            out.print(table)


@app.command("transfers")
def transfers() -> None:
    """Pending transfer tasks, by pickup time."""
    with cliutil.unit_of_work() as session:
        table = Table(title="待转运")
        for column in ("任务", "隔离点", "接送地址", "时间", "人数", "车辆", "转运组"):
            table.add_column(column)
        for task in placement.transfers(session, scope=cliutil.city_scope()):
            table.add_row(
                task.task_no,
                task.site.name,
                task.pickup_address or "",
                task.pickup_at.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M"),
                str(task.persons),
                task.vehicle or "",
                task.team or "",
            )
        out.print(table)


@app.command("arrived")
def arrived(task_nos: list[str] = typer.Argument(..., help="Transfer task numbers.")) -> None:
    """The team delivered these transfers: their people are in quarantine from now."""
    now = cliutil.clock().now()
    with cliutil.unit_of_work() as session:
        tasks = [placement.get_task(session, no, scope=cliutil.city_scope()) for no in task_nos]
        done = placement.transfers_done(session, tasks, now=now, actor="cli")
        out.print(f"{len(tasks)} transfer(s) done: {len(done)} in quarantine")


@sites_app.command("import")
def import_sites(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Import sites and rooms (.csv/.xlsx): all or nothing, idempotent."""
    run = partial(sites.import_sites, scope=cliutil.city_scope())
    cliutil.run_import(run, file, kind="quarantine_site")


@sites_app.command("list")
def list_sites() -> None:
    """Sites and their occupancy now."""
    with cliutil.unit_of_work() as session:
        table = Table(title="隔离点")
        for column in ("编码", "名称", "区县", "状态", "房间", "床位", "在点", "待转入", "空床"):
            table.add_column(column)
        for o in sites.occupancy(session, scope=cliutil.city_scope()):
            table.add_row(
                o.site.code,
                o.site.name,
                o.site.district_code,
                sites.SITE_STATUSES[o.site.status],
                str(o.rooms),
                str(o.beds),
                str(o.persons),
                str(o.arriving),
                str(o.beds_free),
            )
        out.print(table)
