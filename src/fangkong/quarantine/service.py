"""Quarantine orders as a whole: a day planned in one action (orders, rooms, transfers),
single orders read, listed, lost and found again (RULES §3). Making orders is
``ordering``, placing them ``placement``, releasing them ``releases``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people.models import Person
from fangkong.policy import Policy
from fangkong.quarantine.models import (
    QuarantineOrder,
    QuarantineSite,
    SiteRoom,
)
from fangkong.quarantine.moves import change_status
from fangkong.quarantine.ordering import MadeOrders, orders_from_contacts, orders_from_discharges
from fangkong.quarantine.orders import OrderStatus
from fangkong.quarantine.placement import Placement, place
from fangkong.quarantine.scope import order_conditions, order_visible


@dataclass
class DayPlan:
    day: date
    contacts: MadeOrders
    discharges: MadeOrders
    placement: Placement

    @property
    def at_home(self) -> list[QuarantineOrder]:
        made = self.contacts.orders + self.discharges.orders
        return [o for o in made if o.status == OrderStatus.in_quarantine.value]


def plan_day(
    session: Session,
    *,
    day: date,
    policy: Policy,
    now: datetime,
    actor: str,
    scope: Jurisdiction,
    split_households: bool = False,
) -> DayPlan:
    """One action for a day: orders for its new contacts and discharges, then rooms and
    transfers for everyone waiting (today's and anyone an earlier day could not place)."""
    contacts = orders_from_contacts(
        session, day=day, policy=policy, now=now, actor=actor, scope=scope
    )
    discharges = orders_from_discharges(
        session, day=day, policy=policy, now=now, actor=actor, scope=scope
    )
    placement = place(
        session, day=day, now=now, actor=actor, scope=scope, split_households=split_households
    )
    return DayPlan(day, contacts, discharges, placement)


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
