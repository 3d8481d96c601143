"""An order keeps the schedule its edition set when it was made (``QuarantineOrder.stages``,
JSON): a later edition changes new orders, never the days of people already in quarantine."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache

from fangkong.quarantine.models import QuarantineOrder
from fangkong.quarantine.schedule import PersonKind, Schedule, StagePlan


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
