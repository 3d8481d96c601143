"""Moving a stored order through its status machine (``orders.py``), recording each move."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from fangkong.quarantine.models import OrderTransition, QuarantineOrder
from fangkong.quarantine.status import ACTIVE, OrderStatus, move


def change_status(
    order: QuarantineOrder, to: OrderStatus, *, at: datetime, by: str, why: str
) -> OrderTransition:
    """Move ``order`` to ``to`` (or raise ``IllegalTransition``) and record who and why.
    Losing an order remembers where it was, so that finding the person resumes it there."""
    current = OrderStatus(order.status)
    resumes = OrderStatus(order.lost_from) if order.lost_from else None
    step = move(current, to, at=at, by=by, why=why, resumes=resumes)
    order.lost_from = current.value if to is OrderStatus.lost else None
    order.status = to.value
    order.updated_at = at
    record = OrderTransition(
        from_status=step.from_status.value,
        to_status=step.to_status.value,
        at=step.at,
        by=step.by,
        why=step.why,
    )
    session = object_session(order)
    if "transitions" in order.__dict__ or session is None or order.id is None:
        order.transitions.append(record)  # already loaded (or not stored yet): keep it whole
    else:
        # A day's releases move thousands of orders: add the row without loading each
        # order's history first.
        record.order_id = order.id
        session.add(record)
    return record


def active_order(session: Session, person_id: int) -> QuarantineOrder | None:
    """The person's order in force (at most one per person), if any."""
    return session.scalar(
        select(QuarantineOrder)
        .where(
            QuarantineOrder.person_id == person_id,
            QuarantineOrder.status.in_([s.value for s in ACTIVE]),
        )
        .order_by(QuarantineOrder.id.desc())
        .limit(1)
    )
