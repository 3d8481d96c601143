"""Building blocks of the quarantine tests: residents, cases and their contacts, sites."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases.models import Case
from fangkong.cases.schemas import CaseCreate
from fangkong.flows import positives
from fangkong.people import service as people_service
from fangkong.people.models import Person
from fangkong.people.schemas import PersonCreate
from fangkong.policy import Policy
from fangkong.quarantine import schedule, site_swabs, stages
from fangkong.quarantine.models import QuarantineOrder, QuarantineSite, SiteRoom
from fangkong.quarantine.status import OrderStatus
from fangkong.tracing.models import Contact

CITY = bind("city", "3703")
NOW = datetime(2022, 3, 16, 2, 0, tzinfo=UTC)  # 10:00 local on 16 March 2022
DAY = date(2022, 3, 16)


def resident(
    session: Session,
    no: str,
    *,
    name: str = "王小明",
    phone: str | None = "13853312345",
    household: str | None = None,
    district: str = "周村区",
    street: str | None = "丝绸路街道",
    community: str | None = "新建路社区",
    compound: str | None = "丝绸苑小区",
    building: str | None = "1号楼",
    room: str | None = "101",
    at: datetime = NOW,
) -> Person:
    """A person of the registry (an address part given as None is left out)."""
    given = {
        "person_no": no,
        "name": name,
        "phone": phone,
        "household_no": household,
        "district": district,
        "street": street,
        "community": community,
        "compound": compound,
        "building": building,
        "room": room,
    }
    data = PersonCreate.model_validate({k: v for k, v in given.items() if v is not None})
    return people_service.create_person(session, data=data, now=at, scope=CITY)


def order_row(
    session: Session,
    person: Person,
    *,
    start: date,
    policy: Policy,
    kind: str = "close",
    status: str = OrderStatus.in_quarantine.value,
    room: SiteRoom | None = None,
    order_no: str | None = None,
    at: datetime = NOW,
    with_tests: bool = False,
) -> QuarantineOrder:
    """An order inserted as the quarantine service leaves it (placed in ``room``, its tests
    scheduled when ``with_tests``), for tests that do not depend on how orders are made."""
    plan = schedule.schedule(kind, start, policy)
    assert plan is not None
    row = QuarantineOrder(
        order_no=order_no or f"QO-{person.person_no}",
        person_id=person.id,
        person_kind=kind,
        kind=plan.stages[0].kind,
        stages=stages.dump(plan),
        start_on=start,
        planned_end=plan.end,
        hand_over_on=plan.hand_over,
        rule=plan.rule,
        source="manual",
        status=status,
        site_id=room.site_id if room else None,
        room_id=room.id if room else None,
        district_code=person.district_code,
        street_code=person.street_code,
        community_id=person.community_id,
        created_by="tests",
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    session.flush()
    if with_tests:
        session.add_all(site_swabs.schedule_swabs(row, plan))
        session.flush()
    return row


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
    return positives.register_case(
        session, data=CaseCreate.model_validate(values), now=NOW, scope=CITY, policy=None
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
