"""Writing venue scans into a temporary lake, and a small registry city, for the tests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases import service as cases_service
from fangkong.cases.schemas import CaseCreate
from fangkong.clock import LOCAL_TZ
from fangkong.lake import keys
from fangkong.lake.layout import SCAN_STREAM, STORED_SCANS
from fangkong.people import service as people_service
from fangkong.people import venues, workplaces
from fangkong.people.schemas import PersonCreate, VenueCreate, WorkplaceCreate

CITY = bind("city", "3703")
NOW = datetime(2022, 3, 23, 4, 0, tzinfo=UTC)

Scan = tuple[str, str, datetime, datetime]  # person, venue, entered, left


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local (Asia/Shanghai) wall-clock time as an aware UTC instant."""
    wall = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=LOCAL_TZ)
    return wall.astimezone(UTC)


def write_scans(lake: Path, scans: Iterable[Scan], part: str = "0") -> None:
    """Scans into ``scans/day=…/part-<part>.parquet`` by the local day they began, as they
    are (no dedup: the reader must cope with what a lake may hold), with keys from the
    lake's dictionaries, extended by the ids they have not seen."""
    rows = list(scans)
    person_keys = _keys(lake, keys.PERSON, [r[0] for r in rows])
    venue_keys = _keys(lake, keys.VENUE, [r[1] for r in rows])
    by_day: dict[date, list[Scan]] = defaultdict(list)
    for scan in rows:
        by_day[scan[2].astimezone(LOCAL_TZ).date()].append(scan)
    for day, of_day in by_day.items():
        folder = SCAN_STREAM.day_dir(lake, day)
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.table(
            {
                "person_key": [person_keys[r[0]] for r in of_day],
                "venue_key": [venue_keys[r[1]] for r in of_day],
                "entered_at": [r[2] for r in of_day],
                "left_at": [r[3] for r in of_day],
                "left_at_inferred": [False] * len(of_day),
            },
            schema=STORED_SCANS,
        )
        pq.write_table(table, folder / f"part-{part}.parquet")


def _keys(lake: Path, kind: keys.KeyKind, ids: list[str]) -> dict[str, int]:
    known = keys.values(lake, kind).to_pylist()
    new = sorted(set(ids) - set(known))
    if new:
        first = len(known)
        folder = keys.folder(lake, kind)
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.table(
            {"key": range(first, first + len(new)), "value": new}, schema=keys.DICTIONARY
        )
        pq.write_table(table, folder / keys.file_name(first, first + len(new)))
    return {value: key for key, value in enumerate([*known, *new])}


def stay(person: str, venue: str, start: datetime, minutes: float) -> Scan:
    return (person, venue, start, start + timedelta(minutes=minutes))


def person(
    session: Session,
    no: str,
    *,
    household: str | None = None,
    workplace: str | None = None,
    unit: str | None = None,
    district: str = "周村区",
    name: str = "张小三",
    phone: str | None = "13853312345",
) -> None:
    fields: dict[str, object] = {"person_no": no, "name": name, "district": district}
    if phone:
        fields["phone"] = phone
    if household:
        fields["household_no"] = household
    if workplace:
        fields["workplace_no"], fields["workplace_unit"] = workplace, unit
    people_service.create_person(
        session, data=PersonCreate.model_validate(fields), now=NOW, scope=CITY
    )


def workplace(session: Session, no: str, units: list[str]) -> None:
    workplaces.create_workplace(
        session,
        data=WorkplaceCreate.model_validate(
            {
                "workplace_no": no,
                "name": f"单位{no}",
                "industry": "energy",
                "district": "周村区",
                "units": [{"name": u} for u in units],
            }
        ),
        scope=CITY,
    )


def venue(session: Session, code: str, category: str = "supermarket") -> None:
    venues.create_venue(
        session,
        data=VenueCreate.model_validate(
            {"venue_code": code, "name": f"场所{code}", "category": category, "district": "周村区"}
        ),
        scope=CITY,
    )


def case(
    session: Session,
    case_no: str,
    person_no: str | None,
    *,
    reported_on: date,
    onset_on: date | None = None,
    district: str = "周村区",
) -> None:
    data: dict[str, object] = {
        "case_no": case_no,
        "classification": "confirmed" if onset_on else "asymptomatic",
        "reported_on": reported_on.isoformat(),
        "district": district,
    }
    if person_no:
        data["person_no"] = person_no
    if onset_on:
        data["onset_on"] = onset_on.isoformat()
    cases_service.create_case(session, data=CaseCreate.model_validate(data), now=NOW, scope=CITY)


MARCH_8 = date(2022, 3, 8)


def zhoucun(session: Session, lake: Path) -> None:
    """周村区 on 3/8: case ZB-001 (person C1) shops at V1 10:00-11:00 with A (30 min),
    B (10 min) and X (40 min; X is case ZB-002); C1 lives with H1 and works with U1; A
    lives with S. A park visit with Q counts for nothing. ZB-003 has no registry person."""
    workplace(session, "W1", ["车间"])
    for no, hh, unit in [
        ("C1", "HH1", "车间"),
        ("H1", "HH1", None),
        ("U1", None, "车间"),
        ("A", "HH2", None),
        ("S", "HH2", None),
        ("B", None, None),
        ("X", None, None),
        ("Q", None, None),
        ("D", None, None),
    ]:
        person(session, no, household=hh, workplace="W1" if unit else None, unit=unit)
    venue(session, "V1", "supermarket")
    venue(session, "PK", "park")
    case(session, "ZB-001", "C1", reported_on=date(2022, 3, 9), onset_on=MARCH_8)
    case(session, "ZB-002", "X", reported_on=date(2022, 3, 10))
    case(session, "ZB-003", None, reported_on=date(2022, 3, 9))
    write_scans(
        lake,
        [
            stay("C1", "V1", local(MARCH_8, 10), 60),
            stay("X", "V1", local(MARCH_8, 10), 40),
            stay("C1", "PK", local(MARCH_8, 15), 60),
            stay("Q", "PK", local(MARCH_8, 15), 60),
        ],
        part="base",
    )
    write_scans(lake, [stay("A", "V1", local(MARCH_8, 10, 30), 60)], part="a")
    write_scans(lake, [stay("B", "V1", local(MARCH_8, 10, 50), 30)], part="b")
