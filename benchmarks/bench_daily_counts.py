"""Dashboard figures from the pre-aggregated daily counts vs a scan of the case table.

The claim (docs/architecture.md): a dashboard never scans the case table, so its cost
does not grow with the number of cases. Both ways run in the same process on the same
store: the daily series of the whole city (figures, streaks, totals), once from
``daily_count`` (what fangkong does) and once by recounting every case (the baseline). The
run also times the incremental upkeep: registering cases one by one through the service.

    python benchmarks/bench_daily_counts.py [--cases 100000] [--days 60] [--repeat 5]

Prints JSON. ``FANGKONG_DATABASE_URL`` selects the store (default: a temporary SQLite file).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases import service, stats
from fangkong.cases.models import Case
from fangkong.cases.schemas import CaseCreate
from fangkong.cases.vocab import Classification, FoundVia
from fangkong.config import Settings
from fangkong.deps import open_store
from fangkong.policy import load_policy
from fangkong.regions import service as regions

CITY = "3703"
START = date(2022, 3, 8)
NOW = datetime(2022, 6, 1, tzinfo=UTC)


def _rows(n: int, days: int, rng: random.Random) -> list[dict[str, object]]:
    units = regions.units(CITY)
    rows: list[dict[str, object]] = []
    for i in range(n):
        unit = rng.choice(units)
        street = rng.choice(unit.streets) if unit.streets else None
        reported = START + timedelta(days=rng.randrange(days))
        converted = reported + timedelta(days=2) if rng.random() < 0.05 else None
        rows.append(
            {
                "case_no": f"B{i:07d}",
                "reported_classification": rng.choice(("confirmed", "asymptomatic")),
                "origin": "local" if rng.random() < 0.97 else "other_province",
                "found_via": rng.choice([f.value for f in FoundVia]),
                "city_code": CITY,
                "district_code": unit.district_code,
                "street_code": street,
                "unit_code": unit.code,
                "reported_on": reported,
                "discharged_on": reported + timedelta(days=12) if rng.random() < 0.5 else None,
                "created_at": NOW,
                "updated_at": NOW,
                "converted_on": converted,
            }
        )
    for row in rows:
        if row["converted_on"] is not None:
            row["reported_classification"] = "asymptomatic"
        row["classification"] = (
            "confirmed" if row["converted_on"] else row["reported_classification"]
        )
    return rows


def _from_counts(session: Session, end: date) -> list[stats.DayFigures]:
    return service.day_series(
        session,
        city_code=CITY,
        start=START,
        end=end,
        policy=load_policy("national-9"),
        scope=bind("city", CITY),
    )


def _from_case_table(session: Session, end: date) -> list[stats.DayFigures]:
    facts = (
        stats.CaseFacts(
            c.city_code,
            c.unit_code,
            c.origin,
            c.reported_classification,
            c.found_via,
            c.reported_on,
            c.converted_on,
            c.discharged_on,
        )
        for c in session.scalars(select(Case).where(Case.city_code == CITY))
    )
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (day, _city, _unit, metric), n in stats.recount(facts).items():
        if day <= end:
            by_day[day][metric] += n
    return stats.day_series(by_day, start=START, end=end, policy=load_policy("national-9"))


def _time(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--incremental",
        type=int,
        default=1_000,
        help="cases registered one by one through the service",
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="fk-bench-"))
    settings = Settings(home=home, database_url=os.environ.get("FANGKONG_DATABASE_URL"))
    store = open_store(settings)
    rng = random.Random(2022)
    end = START + timedelta(days=args.days - 1)
    with store.sessions() as session, session.begin():
        session.execute(insert(Case), _rows(args.cases, args.days, rng))
        t = time.perf_counter()
        cells = service.rebuild_counts(session)
        rebuild = time.perf_counter() - t
    with store.sessions() as session:
        fast = _from_counts(session, end)
        slow = _from_case_table(session, end)
        assert [vars(f) for f in fast] == [vars(f) for f in slow], "the two ways disagree"
        counts_s = _time(lambda: _from_counts(session, end), args.repeat)
        scan_s = _time(lambda: _from_case_table(session, end), args.repeat)
    scope = bind("city", CITY)
    with store.sessions() as session, session.begin():
        t = time.perf_counter()
        for i in range(args.incremental):
            service.create_case(
                session,
                data=CaseCreate(
                    case_no=f"I{i:06d}",
                    district="周村区",
                    classification=Classification.asymptomatic,
                    found_via=FoundVia.quarantine_site,
                    reported_on=end,
                ),
                now=NOW,
                scope=scope,
            )
        incremental = (time.perf_counter() - t) / args.incremental
    store.engine.dispose()
    print(
        json.dumps(
            {
                "benchmark": "daily_counts",
                "store": store.engine.dialect.name,
                "cases": args.cases,
                "days": args.days,
                "count_cells": cells,
                "series_from_counts_s": round(counts_s, 4),
                "series_from_case_scan_s": round(scan_s, 4),
                "speedup": round(scan_s / counts_s, 1),
                "rebuild_counts_s": round(rebuild, 2),
                "create_case_with_counts_ms": round(incremental * 1000, 2),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                f"Python {platform.python_version()}",
                "date": datetime.now(UTC).date().isoformat(),
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
