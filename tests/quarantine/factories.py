"""Building blocks of the quarantine tests: residents, cases and their contacts, sites."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases import service as cases_service
from fangkong.cases.models import Case
from fangkong.cases.schemas import CaseCreate
from fangkong.people import service as people_service
from fangkong.people.models import Person
from fangkong.people.schemas import PersonCreate
from fangkong.quarantine.models import QuarantineSite, SiteRoom
from fangkong.tracing.models import Contact

CITY = bind("city", "3703")
NOW = datetime(2022, 3, 16, 2, 0, tzinfo=UTC)  # 10:00 local on 16 March 2022
DAY = date(2022, 3, 16)


def resident(
    session: Session,
    no: str,
    *,
    household: str | None = None,
    district: str = "周村区",
    street: str = "丝绸路街道",
    community: str = "新建路社区",
) -> Person:
    data = PersonCreate.model_validate(
        {
            "person_no": no,
            "name": "王小明",
            "phone": "13853312345",
            "household_no": household,
            "district": district,
            "street": street,
            "community": community,
            "compound": "丝绸苑小区",
            "building": "1号楼",
            "room": "101",
        }
    )
    return people_service.create_person(session, data=data, now=NOW, scope=CITY)


def case(session: Session, no: str, person: Person | None = None, **fields: object) -> Case:
    values: dict[str, object] = {
        "case_no": no,
        "classification": "asymptomatic",
        "district": "周村区",
        "reported_on": DAY,
        "sampled_on": DAY,
    }
    if person is not None:
        values["person_no"] = person.person_no
    values.update(fields)
    return cases_service.create_case(
        session, data=CaseCreate.model_validate(values), now=NOW, scope=CITY
    )


def contact(
    session: Session, of: Case, person: Person, degree: str = "close", *, at: datetime = NOW
) -> Contact:
    row = Contact(
        case_id=of.id,
        person_id=person.id,
        degree=degree,
        reasons=json.dumps([{"kind": "household"}]),
        rule="zibo-2022-03:tracing.close",
        status="new",
        first_found_at=at,
        updated_at=at,
    )
    session.add(row)
    session.flush()
    return row


def site(
    session: Session,
    code: str,
    *,
    rooms: dict[str, int],
    district_code: str = "370306",
    lon: float = 117.87,
    lat: float = 36.80,
    status: str = "open",
) -> QuarantineSite:
    found = QuarantineSite(
        code=code,
        name=f"{code}隔离点",
        kind="centralized_site",
        city_code="3703",
        district_code=district_code,
        lon=lon,
        lat=lat,
        status=status,
        created_at=NOW,
        updated_at=NOW,
    )
    found.rooms = [SiteRoom(room_no=no, beds=beds) for no, beds in rooms.items()]
    session.add(found)
    session.flush()
    return found
