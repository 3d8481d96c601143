"""Home health monitoring at a city's size: the daily alert run and a community's worklist.

The claim (issue 6): with 200,000 people under home monitoring in ~1,000 communities and
400,000 temperature reports in a day, the city's alert run (missed windows → follow-ups,
fevers and symptoms → referrals) takes ≤ 10 s, and a community's worklist page ≤ 1 s.

    python benchmarks/bench_monitoring.py [--orders 200000] [--communities 1000]

Builds a fresh migrated SQLite store (``--db``, removed first) with core bulk inserts:
persons in households of 1–4, one order each (90 % in home monitoring after centralized
quarantine, 10 % discharged cases in rehabilitation, in quarantine at home), a morning and
an evening report for almost everyone (3 % miss each window, 2 % report a fever, 1 % a
symptom, a few report outside the windows). Then, with fangkong's own functions: the
worklist of the busiest community (first page, then the last), the alert run for the whole
city at 23:30, the run again (idempotent: nothing new), and one report through the service.
Per stage: seconds and peak RSS (the kernel's high-water mark is reset before each). The
counts are checked against what the generator made. Prints JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import random
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import fangkong.models  # noqa: F401  (every table on Base.metadata)
from fangkong.auth.jurisdiction import bind
from fangkong.clock import LOCAL_TZ
from fangkong.monitoring import service, worklist
from fangkong.monitoring.models import MonitoringReport, MonitoringTask
from fangkong.people.models import Community, Household, Person
from fangkong.policy import load_policy
from fangkong.quarantine import schedule, stages
from fangkong.quarantine.models import QuarantineOrder
from fangkong.regions import service as regions
from fangkong.storage.db import create_store_engine
from fangkong.storage.migrate import upgrade

CITY = "3703"
DAY = date(2022, 3, 23)
POLICY = load_policy("zibo-2022-03")
TARGETS = {"alert_run_s": 10.0, "worklist_s": 1.0}
BATCH = 20_000
T = TypeVar("T")


def _reset_peak() -> None:
    gc.collect()
    with contextlib.suppress(OSError):  # not Linux: the peak is the process's
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def _stage(name: str, fn: Callable[[], T]) -> tuple[T, dict[str, Any]]:
    _reset_peak()
    t = time.perf_counter()
    result = fn()
    return result, {
        "stage": name,
        "seconds": round(time.perf_counter() - t, 3),
        "peak_rss_mib": _peak_mib(),
    }


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {sqlalchemy.__version__}"
    )


def _local(hour: int, minute: int) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


class _Writer:
    """Rows flushed to the store in batches, parents before children (foreign keys)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.tables = (Community, Household, Person, QuarantineOrder, MonitoringReport)
        self.rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in self.tables}

    def add(self, model: Any, row: dict[str, Any]) -> None:
        self.rows[model].append(row)
        if len(self.rows[model]) >= BATCH:
            self.flush()

    def flush(self) -> None:
        for model in self.tables:
            if self.rows[model]:
                self.conn.execute(insert(cast(Table, model.__table__)), self.rows[model])
                self.rows[model] = []


def build(engine: Engine, orders: int, communities: int, rng: random.Random) -> dict[str, int]:
    """The store of a city's day; returns what the alert run must find."""
    made_at = datetime(2022, 3, 9, tzinfo=UTC)
    streets = [s for d in regions.districts(CITY) for s in regions.streets(d.code)]
    places = [
        {
            "id": i + 1,
            "name": f"社区{i + 1:04d}",
            "street_code": street.code,
            "district_code": street.district_code,
        }
        for i, street in enumerate(rng.choice(streets) for _ in range(communities))
    ]
    # Communities differ in size: log-normal weights make the busiest ~8× the mean.
    weights = [rng.lognormvariate(0, 0.7) for _ in places]
    # Close contacts from 9 March (淄博: 14 d centralized, home monitoring from the 23rd),
    # discharged cases from the 20th (rehabilitation at home, order still in quarantine).
    plans = {
        "close": schedule.schedule("close", date(2022, 3, 9), POLICY),
        "discharged": schedule.schedule("discharged", date(2022, 3, 20), POLICY),
    }
    texts = {k: stages.dump(p) for k, p in plans.items() if p is not None}
    expected = {"follow_ups": 0, "referrals": 0, "reports": 0}
    household, left = 0, 0
    community = places[0]
    with engine.begin() as conn:
        out = _Writer(conn)
        for place in places:
            out.add(Community, place)
        for i in range(orders):
            if left == 0:  # a new household of 1–4
                household += 1
                left = rng.choice((1, 2, 2, 3, 3, 4))
                out.add(Household, {"id": household, "household_no": f"H{household:07d}"})
                community = rng.choices(places, weights=weights)[0]
            left -= 1
            pid = i + 1
            home = {
                "district_code": community["district_code"],
                "street_code": community["street_code"],
                "community_id": community["id"],
            }
            out.add(
                Person,
                {
                    "id": pid,
                    "person_no": f"P{pid:07d}",
                    "name": "王小明",
                    "phone": f"138{pid:08d}",
                    "household_id": household,
                    "created_at": made_at,
                    "updated_at": made_at,
                    **home,
                },
            )
            kind = "discharged" if rng.random() < 0.1 else "close"
            plan = plans[kind]
            assert plan is not None
            out.add(
                QuarantineOrder,
                {
                    "id": pid,
                    "order_no": f"QO{pid:07d}",
                    "person_id": pid,
                    "person_kind": kind,
                    "kind": plan.stages[0].kind,
                    "stages": texts[kind],
                    "start_on": plan.start,
                    "planned_end": plan.end,
                    "hand_over_on": plan.hand_over,
                    "rule": plan.rule,
                    "source": "contact" if kind == "close" else "discharge",
                    "status": "in_home_monitoring" if kind == "close" else "in_quarantine",
                    "created_by": "bench",
                    "created_at": made_at,
                    "updated_at": made_at,
                    **home,
                },
            )
            alerting: set[str] = set()
            for window, hour, minutes in (("morning", 6, 360), ("evening", 18, 300)):
                if rng.random() < 0.03:  # no report at all
                    expected["follow_ups"] += 1
                    continue
                at = _local(hour, 0) + timedelta(minutes=rng.randrange(minutes))
                slot: str | None = window
                if window == "morning" and rng.random() < 0.01:  # after the window: missed
                    at, slot = _local(13, 0) + timedelta(minutes=rng.randrange(300)), None
                    expected["follow_ups"] += 1
                fever = rng.random() < 0.02
                temperature = (
                    round(rng.uniform(37.3, 39.5), 1)
                    if fever
                    else min(round(rng.gauss(36.5, 0.3), 1), 37.2)
                )
                symptoms = ""
                if not fever and rng.random() < 0.01:
                    symptoms = rng.choice(("dry_cough", "fatigue", "sore_throat", "diarrhoea"))
                if fever or symptoms:
                    alerting.add(slot or "")
                expected["reports"] += 1
                out.add(
                    MonitoringReport,
                    {
                        "order_id": pid,
                        "day": DAY,
                        "window": slot,
                        "reported_at": at,
                        "temperature": temperature,
                        "symptoms": symptoms,
                        "channel": "self",
                        "entered_by": "bench",
                        "note": None,
                    },
                )
            expected["referrals"] += len(alerting)
        out.flush()
    expected.update(orders=orders, households=household)
    return expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--communities", type=int, default=1_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/fangkong-bench/monitoring.db"))
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument(
        "--analyze", action="store_true", help="run SQLite's ANALYZE after the build"
    )
    args = parser.parse_args()
    db: Path = args.db
    db.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = create_store_engine(f"sqlite:///{db}")
    upgrade(engine)
    expected, build_figures = _stage(
        "build", lambda: build(engine, args.orders, args.communities, random.Random(args.seed))
    )
    city = bind("city", CITY)
    stages_run: list[dict[str, Any]] = [build_figures]
    if args.analyze:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    with Session(engine) as session:
        busiest, size = session.execute(
            select(QuarantineOrder.community_id, func.count())
            .group_by(QuarantineOrder.community_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        median = session.execute(
            select(QuarantineOrder.community_id, func.count())
            .group_by(QuarantineOrder.community_id)
            .order_by(func.count())
            .offset(args.communities // 2)
            .limit(1)
        ).one()

        def page(community: int | None, offset: int = 0) -> worklist.Worklist:
            assert community is not None
            return worklist.worklist(
                session,
                day=DAY,
                community_id=community,
                scope=city,
                now=_local(20, 0),
                policy=POLICY,
                limit=50,
                offset=offset,
            )

        first, figures = _stage("worklist_busiest_first_page", lambda: page(busiest))
        stages_run.append(
            {**figures, "community_persons": size, "households": first.total_households}
        )
        _, figures = _stage(
            "worklist_busiest_last_page",
            lambda: page(busiest, offset=max(first.total_households - 50, 0)),
        )
        stages_run.append(figures)
        typical, figures = _stage("worklist_median_community", lambda: page(median[0]))
        stages_run.append({**figures, "community_persons": median[1]})

        def run() -> service.AlertRun:
            done = service.run_alerts(
                session, day=DAY, now=_local(23, 30), policy=POLICY, scope=city
            )
            session.commit()
            return done

        def floor() -> int:
            # The least any alert run must do: read the day's reports once, grouped by order
            # and window. The alert run is reported as a multiple of it.
            rows = session.execute(
                select(MonitoringReport.order_id, MonitoringReport.window, func.count())
                .where(MonitoringReport.day == DAY)
                .group_by(MonitoringReport.order_id, MonitoringReport.window)
            ).all()
            return len(rows)

        _, figures = _stage("baseline_group_reports", floor)
        stages_run.append(figures)
        alert_run, figures = _stage("alert_run_city", run)
        stages_run.append(
            {
                **figures,
                "checked": alert_run.checked,
                "referrals": alert_run.referrals,
                "follow_ups": alert_run.follow_ups,
            }
        )
        again, figures = _stage("alert_run_again", run)
        stages_run.append({**figures, "referrals": again.referrals, "follow_ups": again.follow_ups})
        tasks = session.scalar(select(func.count(MonitoringTask.id))) or 0
        order = session.get(QuarantineOrder, 1)
        assert order is not None

        def one_report() -> service.Recorded:
            done = service.record_report(
                session,
                order=order,
                at=_local(21, 0),
                temperature=38.2,
                symptoms=("dry_cough",),
                channel="phone",
                entered_by="bench",
                note=None,
                policy=POLICY,
            )
            session.commit()
            return done

        _, figures = _stage("record_report_with_referral", one_report)
        stages_run.append(figures)
    checks = {
        "checked_every_order": alert_run.checked == expected["orders"],
        "follow_ups_are_the_missed_windows": alert_run.follow_ups == expected["follow_ups"],
        "referrals_are_the_alerting_windows": alert_run.referrals == expected["referrals"],
        "second_run_adds_nothing": (again.referrals, again.follow_ups) == (0, 0),
        "tasks_stored": tasks == expected["follow_ups"] + expected["referrals"],
        "worklist_counts_everyone": typical.total_persons == median[1],
    }
    worklist_s = max(s["seconds"] for s in stages_run if s["stage"].startswith("worklist"))
    alert_s = next(s["seconds"] for s in stages_run if s["stage"] == "alert_run_city")
    print(
        json.dumps(
            {
                "benchmark": "monitoring",
                "orders": expected["orders"],
                "communities": args.communities,
                "households": expected["households"],
                "reports": expected["reports"],
                "stages": stages_run,
                "alert_run_s": alert_s,
                "alert_run_over_baseline": round(
                    alert_s
                    / next(
                        x["seconds"] for x in stages_run if x["stage"] == "baseline_group_reports"
                    ),
                    1,
                ),
                "worklist_s": worklist_s,
                "targets": TARGETS,
                "within_targets": alert_s <= TARGETS["alert_run_s"]
                and worklist_s <= TARGETS["worklist_s"],
                "peak_rss_mib": max(s["peak_rss_mib"] for s in stages_run),
                "checks": checks,
                "machine": machine(),
                "date": datetime.now(UTC).date().isoformat(),
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    engine.dispose()


if __name__ == "__main__":
    main()
