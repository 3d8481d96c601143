"""Routine testing of key populations (常态化检测): who is due, who is overdue, per worker
("一人一档"), per enterprise and per group.

The groups are the policy's (``testing.routine_groups``: an industry and a frequency, RULES
§5; seed 001: workers at least once a week). A worker is compliant at a moment when their
last sample, in any round (a mass round counts as well as a routine one), is younger than
the group's interval. Samples are read from the lake, all rounds at once, in DuckDB.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.lake.layout import sql_path
from fangkong.people.joins import Person, Workplace
from fangkong.people.vocab import INDUSTRIES
from fangkong.policy import Policy
from fangkong.testing.lake import SAMPLE_STREAM, testing_root

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUSES = {"compliant": "按期检测", "overdue": "逾期未检", "never": "从未检测"}


@dataclass(frozen=True)
class WorkerRecord:
    person_no: str
    name: str
    phone: str | None
    workplace_no: str
    industry: str
    frequency: str
    last_sampled_at: datetime | None
    due_by: datetime | None  # when the next sample is due (None: never sampled)
    status: str


@dataclass(frozen=True)
class Tally:
    key: str
    label: str
    industry: str
    frequency: str
    workers: int = 0
    compliant: int = 0
    overdue: int = 0
    never: int = 0
    district_code: str | None = None

    @property
    def rate(self) -> float:
        return self.compliant / self.workers if self.workers else 1.0


@dataclass(frozen=True)
class RoutineReport:
    at: datetime
    rule: str
    groups: list[Tally]
    enterprises: list[Tally]
    workers: list[WorkerRecord]


def last_samples(lake: Path, person_nos: list[str]) -> dict[str, datetime]:
    """The latest sampling time of each person, over every round in the lake."""
    root = testing_root(lake) / SAMPLE_STREAM.name
    if not person_nos or not root.is_dir() or not any(root.glob("round=*/*.parquet")):
        return {}
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("wanted", pa.table({"person_id": pa.array(person_nos, pa.string())}))
        pattern = sql_path(root / "round=*" / "[!._]*.parquet")
        rows = con.execute(
            f"""SELECT s.person_id, epoch_us(max(s.sampled_at))
                FROM read_parquet('{pattern}', hive_partitioning = false) s
                SEMI JOIN wanted w ON w.person_id = s.person_id
                GROUP BY s.person_id"""
        ).fetchall()
    finally:
        con.close()
    # Microseconds, not timestamps: DuckDB's Python conversion of zoned times needs pytz.
    return {p: EPOCH + timedelta(microseconds=us) for p, us in rows}


def compliance(
    session: Session,
    *,
    lake: Path,
    policy: Policy,
    at: datetime,
    scope: Jurisdiction,
    industry: str | None = None,
) -> RoutineReport:
    """Compliance of every worker of the policy's key industries in ``scope`` at ``at``."""
    groups = policy.testing.routine_groups
    wanted = [industry] if industry else sorted(groups)
    rows = session.execute(
        select(Person, Workplace)
        .join(Workplace, Workplace.id == Person.workplace_id)
        .where(Workplace.industry.in_([i for i in wanted if i in groups]))
        .order_by(Workplace.workplace_no, Person.person_no)
    ).all()
    inside = [
        (p, w)
        for p, w in rows
        if scope.covers(
            city_code=w.district_code[:4], district_code=w.district_code, street_code=w.street_code
        )
    ]
    last = last_samples(lake, [p.person_no for p, _ in inside])
    workers: list[WorkerRecord] = []
    for person, workplace in inside:
        frequency = groups[workplace.industry]
        interval = timedelta(days=policy.testing.interval_days(frequency))
        sampled = last.get(person.person_no)
        status = (
            "never" if sampled is None else "compliant" if at - sampled < interval else "overdue"
        )
        workers.append(
            WorkerRecord(
                person_no=person.person_no,
                name=person.name,
                phone=person.phone,
                workplace_no=workplace.workplace_no,
                industry=workplace.industry,
                frequency=frequency,
                last_sampled_at=sampled,
                due_by=sampled + interval if sampled else None,
                status=status,
            )
        )
    names = {w.workplace_no: w for _, w in inside}
    return RoutineReport(
        at=at,
        rule=str(policy.rule("testing.routine_groups")),
        groups=_tally(workers, lambda r: r.industry, lambda k: INDUSTRIES.get(k, k), None),
        enterprises=_tally(
            workers,
            lambda r: r.workplace_no,
            lambda k: names[k].name,
            lambda k: names[k].district_code,
        ),
        workers=workers,
    )


def _tally(
    workers: list[WorkerRecord],
    key_of: Callable[[WorkerRecord], str],
    label_of: Callable[[str], str],
    district_of: Callable[[str], str] | None,
) -> list[Tally]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    first: dict[str, WorkerRecord] = {}
    for record in workers:
        key = key_of(record)
        counts[key]["workers"] += 1
        counts[key][record.status] += 1
        first.setdefault(key, record)
    return [
        Tally(
            key=key,
            label=label_of(key),
            industry=first[key].industry,
            frequency=first[key].frequency,
            workers=c["workers"],
            compliant=c["compliant"],
            overdue=c["overdue"],
            never=c["never"],
            district_code=district_of(key) if district_of else None,
        )
        for key, c in sorted(counts.items())
    ]
