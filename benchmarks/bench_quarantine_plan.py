"""Planning a day of quarantine: orders for 5,000 new close contacts and 3,000 secondary
contacts, their test days, rooms across 100 sites and a transfer per household.

The claim (issue 6): ``service.plan_day`` — orders from the day's contacts (with every
scheduled test), room assignment and transfer tasks — takes ≤ 2 s on this machine.

    python benchmarks/bench_quarantine_plan.py [--close 5000 --secondary 3000 --sites 100]

The store is a fresh SQLite file (``--db``, default a temporary directory) filled in bulk:
the city's persons in households of one to five, the day's cases, their contacts found that
day, and the sites with rooms of one to three beds (enough beds for everyone, with a
margin). The day is planned once, timed; then the assignment alone (``assign_rooms`` on the
same people and rooms, in memory) is timed in the same process as the baseline the rest of
the plan — queries, orders, tests, transfers — is measured against. Checks: everyone placed
or listed with a reason, no room over its beds, each household in one room. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from fangkong.auth.jurisdiction import bind
from fangkong.cases.models import Case
from fangkong.flows import quarantine_day
from fangkong.people.models import Household, Person
from fangkong.policy import load_policy
from fangkong.quarantine import assignment
from fangkong.quarantine.models import QuarantineOrder, QuarantineSite, QuarantineSwab, SiteRoom
from fangkong.regions import service as regions
from fangkong.storage.db import Base, create_store_engine, session_factory
from fangkong.tracing.models import Contact

DAY = date(2022, 3, 16)
NOW = datetime(2022, 3, 16, 12, 0, tzinfo=UTC)  # 20:00 local
CITY = "3703"


def _households(n_people: int, rng: random.Random) -> list[int]:
    sizes = []
    while sum(sizes) < n_people:
        sizes.append(rng.choice((1, 1, 2, 2, 3, 3, 3, 4, 5)))
    sizes[-1] -= sum(sizes) - n_people
    return [s for s in sizes if s > 0]


def build(db: Path, *, close: int, secondary: int, sites: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    engine = create_store_engine(f"sqlite:///{db}")
    Base.metadata.create_all(engine)
    districts = [d.code for d in regions.districts(CITY)]
    people = close + secondary
    households = _households(people, rng)
    started = time.perf_counter()
    with engine.begin() as con:
        con.execute(
            insert(Household),
            [{"id": i + 1, "household_no": f"H{i:07d}"} for i in range(len(households))],
        )
        persons = []
        pid = 0
        for h, size in enumerate(households, start=1):
            district = rng.choice(districts)
            for _ in range(size):
                pid += 1
                persons.append(
                    {
                        "id": pid,
                        "person_no": f"P{pid:08d}",
                        "name": "张三",
                        "household_id": h,
                        "district_code": district,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
        n_cases = max(1, people // 34)  # Shandong: about 34 close contacts per case
        cases = [
            {
                "id": i + 1,
                "case_no": f"C{i:05d}",
                "reported_classification": "asymptomatic",
                "classification": "asymptomatic",
                "origin": "local",
                "city_code": CITY,
                "district_code": districts[0],
                "unit_code": districts[0],
                "reported_on": DAY,
                "created_at": NOW,
                "updated_at": NOW,
            }
            for i in range(n_cases)
        ]
        con.execute(insert(Person), persons)
        con.execute(insert(Case), cases)
        # close contacts first, whole households at a time, then the secondary ones
        contacts = [
            {
                "case_id": rng.randint(1, n_cases),
                "person_id": p["id"],
                "degree": "close" if i < close else "secondary",
                "reasons": "[]",
                "rule": "bench",
                "status": "new",
                "first_found_at": NOW,
                "updated_at": NOW,
            }
            for i, p in enumerate(persons)
        ]
        con.execute(insert(Contact), contacts)
        site_rows, rooms = [], []
        centres = regions.district_centers(CITY)
        beds_needed = people * 1.3
        per_site = int(beds_needed / sites / 2) + 1
        for s in range(1, sites + 1):
            lon, lat = centres[districts[s % len(districts)]]
            site_rows.append(
                {
                    "id": s,
                    "code": f"S{s:03d}",
                    "name": f"隔离点{s:03d}",
                    "kind": "centralized_site",
                    "city_code": CITY,
                    "district_code": districts[s % len(districts)],
                    "lon": lon + rng.uniform(-0.05, 0.05),
                    "lat": lat + rng.uniform(-0.05, 0.05),
                    "status": "open",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
            for r in range(per_site):
                rooms.append(
                    {"site_id": s, "room_no": f"{r:04d}", "beds": rng.choice((1, 2, 2, 3, 4, 6))}
                )
        con.execute(insert(QuarantineSite), site_rows)
        con.execute(insert(SiteRoom), rooms)
    return {
        "persons": people,
        "households": len(households),
        "cases": n_cases,
        "sites": sites,
        "rooms": len(rooms),
        "beds": sum(r["beds"] for r in rooms),
        "build_seconds": round(time.perf_counter() - started, 2),
    }


def baseline(db: Path) -> float:
    """The assignment alone, in memory, on the same people, rooms and sites."""
    engine = create_store_engine(f"sqlite:///{db}")
    with session_factory(engine)() as session:
        centres = regions.district_centers(CITY)
        people = [
            assignment.Person(str(p.id), f"h{p.household_id}", *centres[p.district_code or ""])
            for p in session.scalars(select(Person))
        ]
        sites = [
            assignment.Site(str(s.id), s.name, s.lon or 0.0, s.lat or 0.0, s.district_code)
            for s in session.scalars(select(QuarantineSite))
        ]
        rooms = [
            assignment.Room(str(r.id), str(r.site_id), r.beds)
            for r in session.scalars(select(SiteRoom))
        ]
    started = time.perf_counter()
    assignment.assign_rooms(people, rooms, sites)
    return time.perf_counter() - started


def check(db: Path) -> dict[str, Any]:
    engine = create_store_engine(f"sqlite:///{db}")
    with session_factory(engine)() as session:
        beds = dict(session.execute(select(SiteRoom.id, SiteRoom.beds)).all())
        held = Counter(
            session.scalars(
                select(QuarantineOrder.room_id).where(QuarantineOrder.room_id.is_not(None))
            )
        )
        over = sum(1 for room, n in held.items() if n > beds[room])
        rooms_of: dict[int | None, set[int]] = {}
        for household, room in session.execute(
            select(Person.household_id, QuarantineOrder.room_id).join(
                QuarantineOrder, QuarantineOrder.person_id == Person.id
            )
        ):
            rooms_of.setdefault(household, set()).add(room)
        split = sum(1 for rooms in rooms_of.values() if len(rooms) > 1)
        return {
            "orders": session.scalar(select(func.count()).select_from(QuarantineOrder)),
            "tests_scheduled": session.scalar(select(func.count()).select_from(QuarantineSwab)),
            "rooms_over_capacity": over,
            "households_split": split,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--close", type=int, default=5000)
    parser.add_argument("--secondary", type=int, default=3000)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "plan.db"
        db.unlink(missing_ok=True)
        built = build(
            db, close=args.close, secondary=args.secondary, sites=args.sites, seed=args.seed
        )
        base = baseline(db)
        engine = create_store_engine(f"sqlite:///{db}")
        policy = load_policy("zibo-2022-03")
        with session_factory(engine)() as session:
            started = time.perf_counter()
            result = quarantine_day.plan_day(
                session, day=DAY, policy=policy, now=NOW, actor="bench", scope=bind("city", CITY)
            )
            session.commit()
            seconds = time.perf_counter() - started
        checked = check(db)
    report = {
        "benchmark": "quarantine_plan_day",
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "date": datetime.now(UTC).date().isoformat(),
        "policy": policy.edition,
        **built,
        "plan_seconds": round(seconds, 3),
        "target_seconds": 2.0,
        "met": seconds <= 2.0,
        "assignment_only_seconds": round(base, 3),
        "plan_over_assignment": round(seconds / base, 2) if base else None,
        "placed": len(result.placement.placed),
        "waiting": len(result.placement.unplaced),
        "transfers": len(result.placement.transfers),
        **checked,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
