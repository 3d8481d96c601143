"""The status machine of a quarantine order (隔离令), pure.

An order follows a person through one episode: pending transfer → in quarantine →
released → in home monitoring → completed; or, at any point before completion, converted to
a case (a positive test: terminal, so a positive becomes a case exactly once) or lost to
follow-up (失访: the person stopped answering; found again, the order resumes where it was).
An order whose first stage is at home (home isolation, monitoring, rehabilitation) starts in
quarantine: nobody is transferred. Every move is recorded with who made it and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fangkong.errors import InvalidInput


class OrderStatus(StrEnum):
    pending_transfer = "pending_transfer"
    in_quarantine = "in_quarantine"
    released = "released"
    in_home_monitoring = "in_home_monitoring"
    completed = "completed"
    converted = "converted"
    lost = "lost"


STATUS_LABELS = {
    OrderStatus.pending_transfer: "待转运",
    OrderStatus.in_quarantine: "隔离中",
    OrderStatus.released: "已解除隔离",
    OrderStatus.in_home_monitoring: "居家健康监测中",
    OrderStatus.completed: "已完成",
    OrderStatus.converted: "已转为病例",
    OrderStatus.lost: "失访",
}

# Where an order may go from each status. Converted and completed are the end.
MOVES: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.pending_transfer: frozenset(
        {OrderStatus.in_quarantine, OrderStatus.converted, OrderStatus.lost}
    ),
    OrderStatus.in_quarantine: frozenset(
        {OrderStatus.released, OrderStatus.converted, OrderStatus.lost}
    ),
    OrderStatus.released: frozenset(
        {OrderStatus.in_home_monitoring, OrderStatus.completed, OrderStatus.converted}
    ),
    OrderStatus.in_home_monitoring: frozenset(
        {OrderStatus.completed, OrderStatus.converted, OrderStatus.lost}
    ),
    OrderStatus.completed: frozenset(),
    OrderStatus.converted: frozenset(),
    # Found again: back to where the order was (``Transition.resumes``), or a positive.
    OrderStatus.lost: frozenset(
        {
            OrderStatus.pending_transfer,
            OrderStatus.in_quarantine,
            OrderStatus.in_home_monitoring,
            OrderStatus.converted,
        }
    ),
}
TERMINAL = frozenset(s for s, to in MOVES.items() if not to)
ACTIVE = frozenset(set(OrderStatus) - TERMINAL)


class IllegalTransition(InvalidInput):
    code = "illegal_transition"


@dataclass(frozen=True)
class Transition:
    """One move of an order, with who made it and why."""

    from_status: OrderStatus
    to_status: OrderStatus
    at: datetime
    by: str
    why: str


def initial_status(first_stage_kind: str) -> OrderStatus:
    """An order for centralized quarantine waits for its transfer; one at home starts now."""
    if first_stage_kind == "centralized":
        return OrderStatus.pending_transfer
    return OrderStatus.in_quarantine


def move(
    current: OrderStatus,
    to: OrderStatus,
    *,
    at: datetime,
    by: str,
    why: str,
    resumes: OrderStatus | None = None,
) -> Transition:
    """The transition from ``current`` to ``to``, or ``IllegalTransition``. Leaving ``lost``
    goes back only to the status the order had when it was lost (``resumes``), or to
    converted; every move needs a time with its zone, an actor and a reason."""
    if at.tzinfo is None:
        raise InvalidInput("a transition needs a time with its zone")
    if not by.strip() or not why.strip():
        raise InvalidInput("a transition records who made it and why")
    if to not in MOVES[current]:
        raise IllegalTransition(
            f"a {STATUS_LABELS[current]} order cannot become {STATUS_LABELS[to]}",
            from_status=current.value,
            to_status=to.value,
        )
    if current is OrderStatus.lost and to is not OrderStatus.converted and to != resumes:
        raise IllegalTransition(
            f"an order found again resumes as {STATUS_LABELS[resumes]}"
            if resumes is not None
            else "an order found again needs the status it had when it was lost",
            from_status=current.value,
            to_status=to.value,
        )
    return Transition(current, to, at, by.strip(), why.strip())


def replay(start: OrderStatus, moves: list[Transition]) -> OrderStatus:
    """The status after recorded transitions, checking that they chain."""
    status = start
    for t in moves:
        if t.from_status is not status:
            raise IllegalTransition(
                f"the record jumps from {STATUS_LABELS[status]} to {t.from_status}",
                from_status=status.value,
                to_status=t.to_status.value,
            )
        status = t.to_status
    return status
