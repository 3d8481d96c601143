"""An order keeps the schedule its edition set when it was made (``QuarantineOrder.stages``,
JSON): a later edition changes new orders, never the days of people already in quarantine.

An order is under home monitoring on a day when it is ``in_home_monitoring``, or
``in_quarantine`` in a home stage (home isolation, home monitoring, rehabilitation) that
day: the community follows it up (``monitoring/``).
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache

from fangkong.quarantine.models import QuarantineOrder
from fangkong.quarantine.schedule import PersonKind, Schedule, StagePlan
from fangkong.quarantine.status import OrderStatus

# Stages spent at home, followed by the community.
MONITORED_STAGES = frozenset({"home_isolation", "home_monitoring", "rehabilitation"})
MONITORED_STATUSES = (OrderStatus.in_home_monitoring.value, OrderStatus.in_quarantine.value)


def dump(plan: Schedule) -> str:
    return json.dumps(
        [
            {
                "kind": s.kind,
                "first_day": s.first_day.isoformat(),
                "last_day": s.last_day.isoformat(),
                "test_dates": [d.isoformat() for d in s.test_dates],
                "release_two_labs": s.release_two_labs,
                "test_gap_hours": s.test_gap_hours,
            }
            for s in plan.stages
        ]
    )


def load(order: QuarantineOrder) -> Schedule:
    return _parse(order.stages, order.person_kind, order.start_on, order.rule)


@lru_cache(maxsize=4096)
def _parse(text: str, kind: str, start: date, rule: str) -> Schedule:
    """Orders made on one day share their text: parsed once (schedules are immutable)."""
    stages = tuple(
        StagePlan(
            kind=s["kind"],
            first_day=date.fromisoformat(s["first_day"]),
            last_day=date.fromisoformat(s["last_day"]),
            test_dates=tuple(date.fromisoformat(d) for d in s["test_dates"]),
            release_two_labs=s["release_two_labs"],
            test_gap_hours=s["test_gap_hours"],
        )
        for s in json.loads(text)
    )
    return Schedule(person_kind=PersonKind(kind), start=start, stages=stages, rule=rule)


def monitored_on(order: QuarantineOrder, day: date) -> bool:
    """Whether ``order`` is under home monitoring on ``day``."""
    return monitored_stage(order.status, order.stages, order.person_kind, order.start_on, day)


def monitored_stage(status: str, text: str, person_kind: str, start_on: date, day: date) -> bool:
    """``monitored_on`` from an order's columns (a row of a set-based query)."""
    if day < start_on:
        return False
    if status == OrderStatus.in_home_monitoring.value:
        return True
    if status != OrderStatus.in_quarantine.value:
        return False
    stage = _parse(text, person_kind, start_on, "").stage_on(day)
    return stage is not None and stage.kind in MONITORED_STAGES


def last_home_day(order: QuarantineOrder) -> date | None:
    """The last day of the order's last home stage, if it has one."""
    days = [s.last_day for s in load(order).stages if s.kind in MONITORED_STAGES]
    return max(days) if days else None
