"""A positive under quarantine or monitoring becomes a case exactly once (RULES §3).

The case service calls ``convert_for_case`` whenever it creates a case: the person's order
in force turns ``converted`` (terminal) and points at the case, and the person's
self-report link stops working. ``found_via_for`` says where such a positive was found, for
the services that create cases from test results.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from fangkong.cases.models import Case
from fangkong.cases.vocab import FoundVia
from fangkong.quarantine.models import MonitoringLink, QuarantineOrder
from fangkong.quarantine.moves import active_order, change_status
from fangkong.quarantine.orders import OrderStatus


def found_via_for(session: Session, person_id: int) -> FoundVia | None:
    """集中隔离点, 居家隔离 or 居家健康监测 for a person with an order in force; else None."""
    order = active_order(session, person_id)
    if order is None:
        return None
    if order.status in (OrderStatus.pending_transfer, OrderStatus.in_quarantine):
        if order.kind == "home_isolation":
            return FoundVia.home_isolation
        if order.kind in ("home_monitoring", "rehabilitation"):
            return FoundVia.home_monitoring
        return FoundVia.quarantine_site
    if order.status == OrderStatus.lost and order.lost_from == OrderStatus.pending_transfer:
        return FoundVia.quarantine_site
    return FoundVia.home_monitoring


def convert_for_case(
    session: Session, case: Case, *, now: datetime, by: str = "system"
) -> QuarantineOrder | None:
    """Convert the order in force of the case's person; None when there is none (a case
    of a person outside quarantine, or already converted: exactly once)."""
    if case.person_id is None:
        return None
    order = active_order(session, case.person_id)
    if order is None:
        return None
    change_status(
        order,
        OrderStatus.converted,
        at=now,
        by=by,
        why=f"阳性，转为病例 {case.case_no}",
    )
    order.converted_case_id = case.id
    session.execute(
        update(MonitoringLink)
        .where(MonitoringLink.order_id == order.id, MonitoringLink.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return order
