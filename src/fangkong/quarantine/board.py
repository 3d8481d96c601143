"""Today at a glance (the quarantine page's head and the dashboard card): a handful of
counts in the caller's jurisdiction, each one query. (Open monitoring alerts beside them are
home monitoring's: ``monitoring.service.open_task_count``.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.quarantine import placement, releases, sites
from fangkong.quarantine.models import QuarantineOrder, QuarantineSwab
from fangkong.quarantine.scope import order_conditions
from fangkong.quarantine.status import OrderStatus

# A test still waiting for its sample or a usable result.
OPEN_TEST_STATES = ("due", "invalid")


@dataclass(frozen=True)
class Board:
    day: date
    sites: int
    beds: int
    beds_free: int
    in_quarantine: int
    in_home_monitoring: int
    pending_transfer: int
    waiting_for_room: int  # pending transfer with no room yet: the next plan's to place
    transfers_pending: int
    releases_due: int
    tests_due: int
    tests_overdue: int


def board(session: Session, *, day: date, scope: Jurisdiction) -> Board:
    by_status = dict(
        session.execute(
            select(QuarantineOrder.status, func.count())
            .where(order_conditions(scope))
            .group_by(QuarantineOrder.status)
        ).all()
    )
    tests = (
        select(func.count())
        .select_from(QuarantineSwab)
        .join(QuarantineOrder, QuarantineOrder.id == QuarantineSwab.order_id)
    )
    live = QuarantineOrder.status.in_(
        (OrderStatus.pending_transfer.value, OrderStatus.in_quarantine.value)
    )
    waiting = session.scalar(
        select(func.count())
        .select_from(QuarantineOrder)
        .where(
            order_conditions(scope),
            QuarantineOrder.status == OrderStatus.pending_transfer.value,
            QuarantineOrder.room_id.is_(None),
        )
    )
    tests_due = session.scalar(
        tests.where(order_conditions(scope), live, QuarantineSwab.due_on == day)
    )
    overdue = session.scalar(
        tests.where(
            order_conditions(scope),
            live,
            QuarantineSwab.due_on < day,
            QuarantineSwab.state.in_(OPEN_TEST_STATES),
        )
    )
    occupancy = sites.occupancy(session, scope=scope)
    return Board(
        day=day,
        sites=len(occupancy),
        beds=sum(o.beds for o in occupancy),
        beds_free=sum(o.beds_free for o in occupancy),
        in_quarantine=by_status.get(OrderStatus.in_quarantine.value, 0),
        in_home_monitoring=by_status.get(OrderStatus.in_home_monitoring.value, 0),
        pending_transfer=by_status.get(OrderStatus.pending_transfer.value, 0),
        waiting_for_room=waiting or 0,
        transfers_pending=len(placement.transfers(session, scope=scope, status="pending")),
        releases_due=len(releases.releases_due(session, day=day, scope=scope)),
        tests_due=tests_due or 0,
        tests_overdue=overdue or 0,
    )
