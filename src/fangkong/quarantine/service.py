"""Quarantine orders as a whole: single orders read, listed, lost and found again, and
what home monitoring asks of them (RULES §3). Making orders is ``orders``, placing them
``placement``, releasing them ``releases``; a day planned in one action (orders, rooms,
transfers) is the flow ``flows/quarantine_day.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people.joins import Person
from fangkong.quarantine.models import (
    QuarantineOrder,
    QuarantineSite,
    SiteRoom,
)
from fangkong.quarantine.orders import MadeOrders
from fangkong.quarantine.placement import Placement
from fangkong.quarantine.scope import order_conditions, order_visible
from fangkong.quarantine.stages import MONITORED_STAGES, monitored_stage
from fangkong.quarantine.status import OrderStatus
from fangkong.quarantine.transitions import change_status
from fangkong.storage.bulk import chunks


@dataclass
class DayPlan:
    """What planning a day did (``flows/quarantine_day.py``): orders from contacts and from
    discharges, and the placement of everyone waiting."""

    day: date
    contacts: MadeOrders
    discharges: MadeOrders
    placement: Placement

    @property
    def made(self) -> list[QuarantineOrder]:
        return self.contacts.orders + self.discharges.orders

    @property
    def at_home(self) -> list[QuarantineOrder]:
        return [o for o in self.made if o.status == OrderStatus.in_quarantine.value]


def get_order(session: Session, order_no: str, *, scope: Jurisdiction) -> QuarantineOrder:
    order = session.scalar(
        select(QuarantineOrder)
        .where(QuarantineOrder.order_no == order_no)
        .options(selectinload(QuarantineOrder.site), selectinload(QuarantineOrder.room))
    )
    if order is None or not order_visible(scope, order):
        raise NotFound(f"no quarantine order {order_no!r}", order_no=order_no)
    return order


def mark_lost(order: QuarantineOrder, *, now: datetime, actor: str, why: str) -> None:
    change_status(order, OrderStatus.lost, at=now, by=actor, why=why)


def mark_found(order: QuarantineOrder, *, now: datetime, actor: str, why: str) -> None:
    if order.status != OrderStatus.lost.value or order.lost_from is None:
        raise Conflict(f"order {order.order_no} is not lost", order_no=order.order_no)
    change_status(order, OrderStatus(order.lost_from), at=now, by=actor, why=why)


def list_orders(
    session: Session,
    *,
    scope: Jurisdiction,
    status: str | None = None,
    site_code: str | None = None,
    day: date | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[tuple[QuarantineOrder, Person]], int]:
    """Orders visible in ``scope`` with their persons, newest first, and the total."""
    conditions = [order_conditions(scope)]
    if status:
        if status not in {s.value for s in OrderStatus}:
            raise InvalidInput(f"unknown status {status!r}", status=status)
        conditions.append(QuarantineOrder.status == status)
    if site_code:
        conditions.append(
            QuarantineOrder.site_id.in_(
                select(QuarantineSite.id).where(QuarantineSite.code == site_code).scalar_subquery()
            )
        )
    if day:
        conditions.extend([QuarantineOrder.start_on <= day, QuarantineOrder.planned_end >= day])
    total = session.scalar(select(func.count()).select_from(QuarantineOrder).where(*conditions))
    rows = session.execute(
        select(QuarantineOrder, Person)
        .join(Person, Person.id == QuarantineOrder.person_id)
        .where(*conditions)
        .options(selectinload(QuarantineOrder.site), selectinload(QuarantineOrder.room))
        .order_by(QuarantineOrder.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [(o, p) for o, p in rows], total or 0


def orders_of_person(
    session: Session, person: Person, *, scope: Jurisdiction
) -> list[QuarantineOrder]:
    orders = session.scalars(
        select(QuarantineOrder)
        .where(QuarantineOrder.person_id == person.id)
        .options(
            selectinload(QuarantineOrder.transitions),
            selectinload(QuarantineOrder.site),
            selectinload(QuarantineOrder.room),
        )
        .order_by(QuarantineOrder.id)
    )
    return [o for o in orders if order_visible(scope, o)]


def room_label(order: QuarantineOrder) -> str | None:
    if order.site is None:
        return None
    room: SiteRoom | None = order.room
    return f"{order.site.name} {room.room_no}" if room else order.site.name


# ---------------------------------------------------------------- for home monitoring


@dataclass(frozen=True)
class MonitoredOrder:
    """An order under home monitoring on a day, with the person's home area."""

    id: int
    order_no: str
    person_id: int
    status: str
    created_at: datetime
    district_code: str | None
    street_code: str | None
    community_id: int | None


def monitored_orders(
    session: Session, *, day: date, scope: Jurisdiction, community_id: int | None = None
) -> list[MonitoredOrder]:
    """The orders inside ``scope`` under home monitoring on ``day`` (optionally of one
    community): two queries — in home monitoring; in quarantine, with the stages read to
    keep those in a home stage that day."""
    o = QuarantineOrder
    where = [order_conditions(scope), o.start_on <= day]
    if community_id is not None:
        where.append(o.community_id == community_id)
    place = (
        o.id,
        o.order_no,
        o.person_id,
        o.status,
        o.created_at,
        o.district_code,
        o.street_code,
        o.community_id,
    )
    home = session.execute(
        select(*place).where(o.status == OrderStatus.in_home_monitoring.value, *where)
    ).all()
    staged = session.execute(
        select(*place, o.stages, o.person_kind, o.start_on).where(
            o.status == OrderStatus.in_quarantine.value, o.planned_end >= day, *where
        )
    ).all()
    kept = [
        r for r in staged if monitored_stage(r.status, r.stages, r.person_kind, r.start_on, day)
    ]
    return [_monitored(r) for r in (*home, *kept)]


def _monitored(row: Any) -> MonitoredOrder:
    return MonitoredOrder(
        id=row.id,
        order_no=row.order_no,
        person_id=row.person_id,
        status=row.status,
        created_at=row.created_at,
        district_code=row.district_code,
        street_code=row.street_code,
        community_id=row.community_id,
    )


def order_places(session: Session, order_ids: Iterable[int]) -> dict[int, MonitoredOrder]:
    """Orders by id with their person's home area, whatever their status."""
    o = QuarantineOrder
    found: dict[int, MonitoredOrder] = {}
    for batch in chunks(sorted(set(order_ids))):
        rows = session.execute(
            select(
                o.id,
                o.order_no,
                o.person_id,
                o.status,
                o.created_at,
                o.district_code,
                o.street_code,
                o.community_id,
            ).where(o.id.in_(batch))
        )
        found.update((r.id, _monitored(r)) for r in rows)
    return found


def order_by_id(session: Session, order_id: int) -> QuarantineOrder:
    order = session.get(QuarantineOrder, order_id)
    if order is None:
        raise NotFound(f"no quarantine order {order_id}", order_id=order_id)
    return order


def communities_under_monitoring(
    session: Session, *, day: date, scope: Jurisdiction
) -> dict[int, int]:
    """Community id → persons under monitoring on ``day`` inside ``scope``. Counted in SQL
    without reading the stages: in home monitoring, or in quarantine on an order that
    started at home and has not ended."""
    if not scope.is_area:
        return {}
    o = QuarantineOrder
    rows = session.execute(
        select(o.community_id, func.count(o.id))
        .where(
            o.community_id.is_not(None),
            o.start_on <= day,
            or_(
                o.status == OrderStatus.in_home_monitoring.value,
                and_(
                    o.status == OrderStatus.in_quarantine.value,
                    o.kind.in_(MONITORED_STAGES),
                    o.planned_end >= day,
                ),
            ),
            order_conditions(scope),
        )
        .group_by(o.community_id)
    ).all()
    return {int(cid): int(n) for cid, n in rows if cid is not None}


def orders_by_id(session: Session, order_ids: Iterable[int]) -> list[QuarantineOrder]:
    """The orders, by id (in that order)."""
    found: dict[int, QuarantineOrder] = {}
    for batch in chunks(sorted(set(order_ids))):
        found.update(
            (o.id, o)
            for o in session.scalars(select(QuarantineOrder).where(QuarantineOrder.id.in_(batch)))
        )
    return [found[i] for i in sorted(found)]


def status_counts(session: Session, *, scope: Jurisdiction) -> dict[str, int]:
    """Orders inside ``scope`` per status."""
    rows = session.execute(
        select(QuarantineOrder.status, func.count())
        .where(order_conditions(scope))
        .group_by(QuarantineOrder.status)
    )
    return {str(status): int(n) for status, n in rows}


@dataclass(frozen=True)
class ContactOrdersState:
    """Of the orders made for some contacts: how many are still running (in transfer,
    quarantine or lost), and the last planned end of those that ended."""

    running: int
    last_end: date | None


_RUNNING = (OrderStatus.pending_transfer, OrderStatus.in_quarantine, OrderStatus.lost)


def contact_orders_state(session: Session, *, contact_ids: Iterable[int]) -> ContactOrdersState:
    """Whether these contacts' quarantine has ended (zones wait for it before lifting)."""
    running = 0
    last: date | None = None
    for batch in chunks(sorted(set(contact_ids))):
        rows = session.execute(
            select(QuarantineOrder.status, QuarantineOrder.planned_end).where(
                QuarantineOrder.contact_id.in_(batch)
            )
        )
        for status, end in rows:
            if status in {s.value for s in _RUNNING}:
                running += 1
            elif last is None or end > last:
                last = end
    return ContactOrdersState(running, last)
