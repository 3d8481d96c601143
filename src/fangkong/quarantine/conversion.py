"""A positive under quarantine or monitoring becomes a case exactly once (RULES §3).

When a case is registered for a person with an order in force, the order turns
``converted`` (terminal) and points at the case (``flows/positives.py`` calls
``convert_for_case`` whoever registered the case). ``found_via_for`` says where such a
positive was found, for the flows that create cases from test results.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fangkong.cases.vocab import FoundVia
from fangkong.quarantine.models import QuarantineOrder
from fangkong.quarantine.status import OrderStatus
from fangkong.quarantine.transitions import active_order, change_status


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
    session: Session,
    *,
    person_id: int,
    case_id: int,
    case_no: str,
    now: datetime,
    by: str = "system",
) -> QuarantineOrder | None:
    """Convert the person's order in force into case ``case_no``; None when there is none
    (a positive outside quarantine, or already converted: exactly once)."""
    order = active_order(session, person_id)
    if order is None:
        return None
    change_status(order, OrderStatus.converted, at=now, by=by, why=f"阳性，转为病例 {case_no}")
    order.converted_case_id = case_id
    return order
