"""Releases and completions by the edition's rule: a stage ends on its last day once every
test of it is negative; everyone else due is held with the reasons."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.people.joins import Person
from fangkong.quarantine import site_swabs, stages
from fangkong.quarantine.models import (
    QuarantineOrder,
    QuarantineSwab,
)
from fangkong.quarantine.schedule import Schedule
from fangkong.quarantine.scope import order_conditions
from fangkong.quarantine.status import OrderStatus
from fangkong.quarantine.transitions import change_status
from fangkong.storage.bulk import IN_BATCH


@dataclass
class Releases:
    released: list[QuarantineOrder] = field(default_factory=list)  # then home or completed
    completed: list[QuarantineOrder] = field(default_factory=list)
    held: list[tuple[QuarantineOrder, list[str]]] = field(default_factory=list)


# The statuses a release or a completion starts from.
RELEASABLE = (OrderStatus.in_quarantine.value, OrderStatus.in_home_monitoring.value)


def _ending_stage(plan: Schedule, order: QuarantineOrder, day: date) -> int | None:
    """Index of the stage that ends the order's present status by ``day``, or None.

    In quarantine at a site, that is the centralized first stage; in quarantine at home
    (an order that started at home) or in home monitoring, it is the last stage."""
    if order.status == OrderStatus.in_quarantine.value and plan.stages[0].kind == "centralized":
        index = 0
    elif order.status in RELEASABLE:
        index = len(plan.stages) - 1
    else:
        return None
    return index if plan.stages[index].last_day <= day else None


def _releasable(day: date, scope: Jurisdiction) -> list[ColumnElement[bool]]:
    """Orders in ``scope`` that a stage ending by ``day`` could release or complete."""
    return [
        QuarantineOrder.status.in_(RELEASABLE),
        QuarantineOrder.start_on <= day,
        order_conditions(scope),
    ]


def _ending(order: QuarantineOrder, day: date) -> tuple[Schedule, int] | None:
    """The order's schedule and the index of its stage ending by ``day``, if any."""
    plan = stages.load(order)
    index = _ending_stage(plan, order, day)
    return None if index is None else (plan, index)


def release_day(
    session: Session,
    *,
    day: date,
    now: datetime,
    actor: str,
    scope: Jurisdiction,
) -> Releases:
    """Release everyone whose centralized stage ends by ``day`` and whose tests are all
    negative (to home monitoring when the schedule has it, else completed); complete
    everyone whose last stage ends by ``day``. Who cannot go yet is held, with why."""
    candidates = session.scalars(
        select(QuarantineOrder)
        .where(*_releasable(day, scope))
        .options(selectinload(QuarantineOrder.site))
        .order_by(QuarantineOrder.id)
    )
    result = Releases()
    ending = [(order, *found) for order in candidates if (found := _ending(order, day))]
    tests: dict[tuple[int, str], dict[date, QuarantineSwab]] = defaultdict(dict)
    ids = [order.id for order, _, _ in ending]
    for i in range(0, len(ids), IN_BATCH):
        for test in session.scalars(
            select(QuarantineSwab).where(QuarantineSwab.order_id.in_(ids[i : i + IN_BATCH]))
        ):
            tests[(test.order_id, test.stage)][test.due_on] = test
    for order, plan, index in ending:
        kind = plan.stages[index].kind
        check = site_swabs.release_check(session, order, day, kind, tests[(order.id, kind)])
        if not check.allowed:
            result.held.append((order, list(check.reasons)))
            continue
        stage = plan.stages[index]
        last = index == len(plan.stages) - 1
        if order.status == OrderStatus.in_quarantine.value:
            # out of the site (or the end of home isolation): released, then home or done
            tested = "，核酸均阴性" if stage.test_dates else ""
            change_status(
                order,
                OrderStatus.released,
                at=now,
                by=actor,
                why=f"{stage.label}期满{tested}（{plan.rule}）",
            )
            result.released.append(order)
            if not last:
                nxt = plan.stages[index + 1]
                change_status(
                    order,
                    OrderStatus.in_home_monitoring,
                    at=now,
                    by=actor,
                    why=f"转{nxt.label}，交社区管理至 {plan.end.isoformat()}",
                )
                continue
        change_status(
            order,
            OrderStatus.completed,
            at=now,
            by=actor,
            why=f"{plan.stages[-1].label}期满（{plan.rule}）",
        )
        result.completed.append(order)
    return result


def releases_due(
    session: Session, *, day: date, scope: Jurisdiction
) -> list[tuple[QuarantineOrder, Person]]:
    """Orders whose centralized stage or whole schedule ends on ``day`` (today's releases)."""
    rows = session.execute(
        select(QuarantineOrder, Person)
        .join(Person, Person.id == QuarantineOrder.person_id)
        .where(*_releasable(day, scope))
        .options(selectinload(QuarantineOrder.site), selectinload(QuarantineOrder.room))
        .order_by(QuarantineOrder.site_id, QuarantineOrder.id)
    ).all()
    due = []
    for order, person in rows:
        found = _ending(order, day)
        if found is not None and found[0].stages[found[1]].last_day == day:
            due.append((order, person))
    return due
