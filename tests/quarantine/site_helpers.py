"""Sites, rooms, residents and orders as rows, for the tests of tests during quarantine."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.people import service as people_service
from fangkong.people.models import Person
from fangkong.people.schemas import PersonCreate
from fangkong.policy import Policy
from fangkong.quarantine import schedule, site_tests, stages
from fangkong.quarantine.models import QuarantineOrder, QuarantineSite, SiteRoom
from fangkong.quarantine.orders import OrderStatus

CITY = bind("city", "3703")
AT = datetime(2022, 3, 19, 8, 0, tzinfo=UTC)
ZHOUCUN = {"district": "周村区", "street": "丝绸路街道", "community": "新建路社区"}
ZHANGDIAN = {"district": "张店区"}


def resident(session: Session, person_no: str, where: dict[str, str] | None = None) -> Person:
    data = PersonCreate.model_validate(
        {"person_no": person_no, "name": "孙小七", **(where or ZHOUCUN)}
    )
    return people_service.create_person(session, data=data, now=AT, scope=CITY)


def site(
    session: Session, code: str, district_code: str = "370306", rooms: int = 4
) -> QuarantineSite:
    row = QuarantineSite(
        code=code,
        name=f"{code}隔离点",
        kind="centralized_site",
        city_code=district_code[:4],
        district_code=district_code,
        status="open",
        created_at=AT,
        updated_at=AT,
    )
    row.rooms = [SiteRoom(room_no=f"{100 + i}", beds=2) for i in range(1, rooms + 1)]
    session.add(row)
    session.flush()
    return row


def order(
    session: Session,
    person: Person,
    at: QuarantineSite | None,
    start: date,
    policy: Policy,
    *,
    room: int = 0,
    kind: str = "close",
    status: OrderStatus = OrderStatus.in_quarantine,
) -> QuarantineOrder:
    """An order placed at a site (room ``room`` of it) with its tests scheduled."""
    plan = schedule.schedule(kind, start, policy)
    assert plan is not None
    row = QuarantineOrder(
        order_no=f"QO-{person.person_no}",
        person_id=person.id,
        person_kind=kind,
        kind=plan.stages[0].kind,
        stages=stages.dump(plan),
        start_on=start,
        planned_end=plan.end,
        hand_over_on=plan.hand_over,
        rule=plan.rule,
        source="manual",
        status=status.value,
        site_id=at.id if at else None,
        room_id=at.rooms[room].id if at else None,
        district_code=person.district_code,
        street_code=person.street_code,
        community_id=person.community_id,
        created_by="tests",
        created_at=AT,
        updated_at=AT,
    )
    session.add(row)
    session.flush()
    session.add_all(site_tests.schedule_tests(row, plan))
    session.flush()
    return row
