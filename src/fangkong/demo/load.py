"""Loading the demo: the generated rows as CSV files (import examples for operators too),
imported through the domains' own importers, and the seed figures read back through the
case service."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import pyarrow as pa
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import fangkong.models  # noqa: F401  (every table on Base.metadata, for the wipe)
from fangkong.auth.jurisdiction import bind
from fangkong.cases import service as cases_service
from fangkong.cases.stats import DayFigures
from fangkong.clock import LOCAL_TZ
from fangkong.demo import movement
from fangkong.demo.city import CITY_CODE, City
from fangkong.demo.outbreak import SEED_BULLETINS, SEED_DAYS, START, CaseRow
from fangkong.flows.positives import import_cases
from fangkong.lake.engine import connect
from fangkong.lake.layout import SCAN_STREAM
from fangkong.lake.writer import compact, write_scans
from fangkong.people.importer import import_people, import_venues, import_workplaces
from fangkong.policy import Policy
from fangkong.storage.db import Base
from fangkong.tabular import ImportReport
from fangkong.tracing import service as tracing_service
from fangkong.tracing.schemas import TraceReport

Importer = Callable[..., ImportReport]

PEOPLE_COLUMNS = (
    "person_id", "name", "id_number", "phone", "sex", "birth_year", "household_id", "district",
    "street", "community", "compound", "building", "room", "workplace_id", "workplace_unit",
)  # fmt: skip
WORKPLACE_COLUMNS = ("workplace_id", "name", "industry", "district", "street", "address", "units")
VENUE_COLUMNS = (
    "venue_code", "name", "category", "industry", "district", "street", "address", "capacity",
)  # fmt: skip
CASE_COLUMNS = (
    "case_no", "person_id", "name", "id_number", "district", "street", "classification",
    "origin", "found_via", "sampled_on", "onset_on", "reported_on", "converted_on",
    "discharged_on", "infector_case_no", "notes",
)  # fmt: skip


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel shows the Chinese text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_text(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def csv_files(city: City, cases: Sequence[CaseRow]) -> dict[str, bytes]:
    """The four files, in the order they must be imported."""
    return {
        "workplaces.csv": to_csv(
            WORKPLACE_COLUMNS,
            (
                (
                    w.workplace_id,
                    w.name,
                    w.industry,
                    w.district,
                    w.street,
                    w.address,
                    ";".join(f"{name}:{kind}" for name, kind in w.units),
                )
                for w in city.workplaces
            ),
        ),
        "people.csv": to_csv(
            PEOPLE_COLUMNS, ([getattr(p, c) for c in PEOPLE_COLUMNS] for p in city.persons)
        ),
        "venues.csv": to_csv(
            VENUE_COLUMNS, ([getattr(v, c) for c in VENUE_COLUMNS] for v in city.venues)
        ),
        "cases.csv": to_csv(CASE_COLUMNS, ([getattr(c, n) for n in CASE_COLUMNS] for c in cases)),
    }


IMPORTERS: dict[str, Importer] = {
    "workplaces.csv": import_workplaces,
    "people.csv": import_people,
    "venues.csv": import_venues,
    "cases.csv": import_cases,
}


def write_files(directory: Path, files: dict[str, bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)


def import_file(session: Session, name: str, data: bytes, *, now: datetime) -> ImportReport:
    # The demo loads the whole city, as its HQ would.
    return IMPORTERS[name](
        session, data=data, filename=name, now=now, scope=bind("city", CITY_CODE)
    )


def wipe_store(engine: Engine) -> None:
    """Delete every row of every table (a shared database given with --reset-database)."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


# ---------------------------------------------------------------- the figures read back


@dataclass(frozen=True)
class Figures:
    days: list[DayFigures]  # START .. the last seed day, totals from START
    bulletins: list[tuple[date, str]]

    def day(self, day: date) -> DayFigures:
        return next(f for f in self.days if f.day == day)


def read_figures(session: Session, *, policy: Policy) -> Figures:
    end = SEED_DAYS[-1].day
    scope = bind("city", CITY_CODE)
    days = cases_service.day_series(
        session, city_code=CITY_CODE, start=START, end=end, policy=policy, since=START, scope=scope
    )
    bulletins = [
        (
            day,
            cases_service.bulletin_text(
                session, city_code=CITY_CODE, day=day, since=since, policy=policy, scope=scope
            ),
        )
        for day, (since, _) in SEED_BULLETINS.items()
    ]
    return Figures(days, bulletins)


def fill_lake(lake: Path, raw: pa.Table, city: City, policy: Policy) -> int:
    """The demo's scans into the lake, each day compacted as the lake keeps it."""
    table = movement.to_lake(raw, city, policy.tracing)
    report = write_scans(lake, table)
    for day in SCAN_STREAM.days(lake):
        compact(lake, day)
    return report.added


def trace_all(
    session: Session, *, lake: Path, policy: Policy, now: datetime, since: date | None = None
) -> TraceReport:
    """Trace every local case of the replay day by day, as the HQ's CDC did: each report
    day's cases that evening (so a contact is found on the day its case was reported, which
    is when the quarantine plan of that day picks it up); ``since`` leaves earlier days out."""
    scope = bind("city", CITY_CODE)
    by_day: dict[date, list[str]] = {}
    for case in cases_service.cases_in_scope(session, scope=scope):
        if case.origin == "local" and (since is None or case.reported_on >= since):
            by_day.setdefault(case.reported_on, []).append(case.case_no)
    con = connect("duckdb")
    reports = [
        tracing_service.trace_cases(
            session,
            case_nos=case_nos,
            con=con,
            lake=lake,
            policy=policy,
            now=min(now, datetime.combine(day, time(22), LOCAL_TZ)),
            scope=scope,
        )
        for day, case_nos in sorted(by_day.items())
    ]
    totals: dict[str, int] = {}
    for report in reports:
        for key, value in report.totals.items():
            totals[key] = totals.get(key, 0) + value
    return TraceReport(
        cases=[c for r in reports for c in r.cases],
        totals=totals,
        chain=[link for r in reports for link in r.chain],
    )
