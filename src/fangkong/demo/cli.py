"""``fangkong demo``: build the synthetic 淄博, replay March 2022, check the seed figures,
serve the UI.

The demo store is rebuilt on every run, so the demo always starts from the same state. By
default it is its own SQLite file (``{home}/demo.db``), so a real store in the same home is
never touched; a configured database is wiped only when ``--reset-database`` says so.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table

from fangkong.auth import service as auth
from fangkong.config import get_settings
from fangkong.demo import load, movement, users
from fangkong.demo import quarantine as demo_quarantine
from fangkong.demo import testing as demo_testing
from fangkong.demo.city import MIN_SCALE, build_city
from fangkong.demo.load import to_csv
from fangkong.demo.outbreak import (
    SEED_BULLETINS,
    SEED_DAYS,
    SEED_DISCHARGED,
    SEED_TOTALS,
    START,
    replay,
)
from fangkong.demo.store import NOW, demo_settings, sqlite_url
from fangkong.deps import open_store
from fangkong.errors import ImportRejected
from fangkong.lake.layout import lake_root
from fangkong.policy import load_policy
from fangkong.regions import service as regions
from fangkong.storage.db import session_scope
from fangkong.tracing.schemas import TraceReport

T = TypeVar("T")

console = Console(highlight=False)


def _sqlite_store(home: Path) -> str:
    """A fresh ``{home}/demo.db``: the file and its WAL companions are deleted first."""
    home.mkdir(parents=True, exist_ok=True)
    path = (home / "demo.db").resolve()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return sqlite_url(home)


@contextmanager
def _stage(title: str, timings: list[tuple[str, float]]) -> Iterator[None]:
    started = time.perf_counter()
    with console.status(f"{title} …"):
        yield
    elapsed = time.perf_counter() - started
    timings.append((title, elapsed))
    console.print(f"[green]✓[/green] {title} [dim]{elapsed:.2f} s[/dim]")


def _timed(title: str, timings: list[tuple[str, float]], work: Callable[[], T]) -> T:
    with _stage(title, timings):
        return work()


def demo(
    scale: float = typer.Option(
        1.0, min=MIN_SCALE, help="Size of the city: 1.0 is about 20,000 persons."
    ),
    seed: int = typer.Option(2022, help="Random seed: the same seed gives the same data."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the UI afterwards."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    reset_database: bool = typer.Option(
        False,
        "--reset-database",
        help="With FANGKONG_DATABASE_URL set: delete all its data and build the demo there.",
    ),
) -> None:
    """Build the synthetic 淄博, replay March 2022 and serve the UI."""
    base = get_settings()
    if base.database_url:
        if not reset_database:
            console.print(
                "[red]FANGKONG_DATABASE_URL is set[/red]: the demo rebuilds its store from "
                "scratch and would delete all data in it. Unset it to use a separate SQLite "
                "file, or pass --reset-database to wipe that database."
            )
            raise typer.Exit(2)
        url = base.database_url
    else:
        url = _sqlite_store(base.home)
    # The demo keeps its lake and its files in {home}/demo, apart from a real lake.
    settings = demo_settings(base.home / "demo", url)
    shutil.rmtree(lake_root(settings.home), ignore_errors=True)
    policy = load_policy(settings.policy)
    timings: list[tuple[str, float]] = []

    city = _timed("生成城市 synthetic city", timings, lambda: build_city(seed=seed, scale=scale))
    console.print(
        f"  {len(city.persons):,} persons, {len(city.workplaces):,} workplaces, "
        f"{len(city.venues):,} venues"
    )
    cases = _timed("回放疫情 outbreak replay", timings, lambda: replay(city, seed=seed))
    raw_scans = _timed(
        "生成扫码记录 venue scans",
        timings,
        lambda: movement.demo_scans(city, cases, policy=policy.tracing, seed=seed),
    )
    console.print(f"  {raw_scans.num_rows:,} scans")
    files = load.csv_files(city, cases)
    files["scans.csv"] = to_csv(movement.CSV_COLUMNS, movement.csv_rows(raw_scans))
    directory = settings.home
    _timed(f"写入 CSV {directory}", timings, lambda: load.write_files(directory, files))

    store = _timed("打开存储 store", timings, lambda: open_store(settings))
    try:
        if base.database_url:
            _timed("清空数据库 wipe", timings, lambda: load.wipe_store(store.engine))
        for name, data in files.items():
            if name == "scans.csv":
                continue  # the lake takes them directly, below
            with _stage(f"导入 import {name}", timings), session_scope(store.sessions) as session:
                report = load.import_file(session, name, data, now=NOW)
            console.print(f"  added {report.added:,}")
        lake = lake_root(settings.home)
        _timed("写入湖 lake", timings, lambda: load.fill_lake(lake, raw_scans, city, policy))
        with _stage("流调 tracing", timings), session_scope(store.sessions) as session:
            traced = load.trace_all(session, lake=lake, policy=policy, now=NOW)
        _print_tracing(traced)
        with _stage("转运隔离 quarantine", timings), session_scope(store.sessions) as session:
            site_file = demo_quarantine.sites_csv(session, seed)
            load.write_files(directory, {"sites.csv": site_file.encode()})
            held = demo_quarantine.run(
                session,
                lake=lake,
                policy=policy,
                first=START,
                last=NOW.date(),
                now=NOW,
                seed=seed,
                site_file=site_file,
            )
        _print_quarantine(held)
        with _stage("全员核酸检测 mass testing", timings), session_scope(store.sessions) as session:
            tested = demo_testing.run(session, lake=lake, policy=policy, now=NOW, seed=seed)
        console.print(
            f"  {tested.code}: {tested.due:,} due, {tested.sampled:,} sampled in "
            f"{tested.tubes:,} tubes, {tested.recalled} recalled from positive pools, "
            f"found again: {', '.join(tested.positives) or 'none'}"
        )
        with _stage("演示账号 demo users", timings), session_scope(store.sessions) as session:
            credentials = users.create_users(
                session, now=NOW, keys=auth.Keys.from_settings(settings)
            )
        with session_scope(store.sessions) as session:
            figures = load.read_figures(session, policy=policy)
    except ImportRejected as exc:
        for err in exc.details["errors"][:10]:
            console.print(f"  row {err['row']}, {err['column']}: {err['reason']}", markup=False)
        raise typer.Exit(1) from None
    finally:
        store.engine.dispose()

    total = sum(t for _, t in timings)
    console.print(f"built in {total:.1f} s · store {store.engine.url.render_as_string()}")
    _print_figures(figures)
    _print_users(credentials)
    if serve:
        import uvicorn

        from fangkong.main import create_app
        from fangkong.ops.serving import uvicorn_options

        app = create_app(settings)
        console.print(f"fangkong demo is serving on [bold]http://{host}:{port}[/bold]")
        uvicorn.run(app, host=host, port=port, **uvicorn_options(settings))


def _mark(ok: bool) -> str:
    return "[green]✓[/green]" if ok else "[red]✗[/red]"


def _print_figures(figures: load.Figures) -> None:
    """The seed figures beside what fangkong computed from the replayed cases."""
    table = Table(title="淄博 2022年3月: seed figures reproduced", title_justify="left")
    for column in ("day", "new", "by unit", "conv.", "C / A", "出院", "清零", "稳定"):
        table.add_column(column, no_wrap=True)
    discharged_day, discharged = SEED_DISCHARGED
    for seed_day in SEED_DAYS:
        fig = figures.day(seed_day.day)
        totals = (fig.total_confirmed, fig.total_asymptomatic)
        expected_totals = SEED_TOTALS.get(seed_day.day, totals)
        discharged_text = str(fig.total_discharged)
        if seed_day.day == discharged_day:
            discharged_text += f" {_mark(fig.total_discharged == discharged)}"
        units = " ".join(
            f"{regions.unit(code).name}{n}" for code, n in (seed_day.units or {}).items()
        )
        table.add_row(
            f"{seed_day.day:%m-%d}",
            f"{fig.new_total} {_mark(fig.new_total == seed_day.new)}",
            units or "—",
            str(fig.conversions),
            f"{totals[0]} / {totals[1]} {_mark(totals == expected_totals)}",
            discharged_text,
            f"{fig.zero_streak}天" if fig.community_zero else "—",
            "✓" if fig.stable_control else "—",
        )
    console.print(table)
    for day, text in figures.bulletins:
        expected = SEED_BULLETINS[day][1]
        console.print(f"{_mark(text == expected)} [bold]{day:%m-%d}[/bold] {text}", soft_wrap=True)


def _print_users(credentials: list[users.Credential]) -> None:
    """Who can sign in to the demo, and with what (one line each, so nothing is cut)."""
    console.print(f"演示账号 demo users (demo store only), password [bold]{users.PASSWORD}[/bold]:")
    for cred in credentials:
        u = cred.user
        how = "API token only" if cred.password is None else "password"
        console.print(
            f"  {u.username:<10} {u.display_name} ({u.role}, {u.scope_kind}:{u.scope_code}) "
            f"· {how}",
            soft_wrap=True,
            markup=False,
        )
    for cred in credentials:
        if cred.token:
            console.print(
                f"  API token of {cred.user.username}: {cred.token}", soft_wrap=True, markup=False
            )


def _print_quarantine(held: demo_quarantine.DemoQuarantine) -> None:
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in sorted(held.orders.items()))
    now = ", ".join(f"{status} {n:,}" for status, n in sorted(held.status.items()))
    console.print(
        f"  {held.days} days: {held.sites} sites, {held.beds:,} beds; orders {kinds}; "
        f"{held.transfers:,} transfers; {held.site_rounds} site rounds, {held.tubes:,} tubes; "
        f"{held.released:,} released; {len(held.converted)} became cases while under an order",
        soft_wrap=True,
    )
    console.print(
        f"  home monitoring: {held.reports:,} reports, {held.referrals} referrals, "
        f"{held.follow_ups} follow-ups; orders now: {now}",
        soft_wrap=True,
    )


def _print_tracing(report: TraceReport) -> None:
    """Contacts found per traced case: RULES §2 expects about 34 close contacts a case."""
    traced = [c for c in report.cases if c.traceable]
    if not traced:
        return
    close = sum(c.close for c in traced)
    console.print(
        f"  {len(traced)} cases traced: {close:,} close, "
        f"{sum(c.secondary for c in traced):,} secondary, "
        f"{sum(c.general for c in traced):,} general contacts; "
        f"{close / len(traced):.1f} close contacts per case"
    )
