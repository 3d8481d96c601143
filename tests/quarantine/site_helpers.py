"""Sites, rooms, residents and orders as rows, for the tests of tests during quarantine
(the builders of ``factories`` with this module's defaults)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.people.models import Person
from fangkong.policy import Policy
from fangkong.quarantine.models import QuarantineOrder, QuarantineSite, SiteRoom
from fangkong.quarantine.status import OrderStatus
from tests.quarantine import factories

CITY = bind("city", "3703")
AT = datetime(2022, 3, 19, 8, 0, tzinfo=UTC)
ZHOUCUN = {"district": "周村区", "street": "丝绸路街道", "community": "新建路社区"}
ZHANGDIAN = {"district": "张店区"}


def resident(session: Session, person_no: str, where: dict[str, str] | None = None) -> Person:
    place = where or ZHOUCUN
    return factories.resident(
        session,
        person_no,
        name="孙小七",
        phone=None,
        district=place["district"],
        street=place.get("street"),
        community=place.get("community"),
        compound=None,
        building=None,
        room=None,
        at=AT,
    )


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
    return factories.order_row(
        session,
        person,
        start=start,
        policy=policy,
        kind=kind,
        status=status.value,
        room=at.rooms[room] if at else None,
        at=AT,
        with_tests=True,
    )
