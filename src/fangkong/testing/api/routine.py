"""Routine testing: the key populations' compliance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query

from fangkong.deps import ClockDep, PolicyDep, SessionDep
from fangkong.testing import routine
from fangkong.testing.schemas import (
    RoutineRead,
    TallyRead,
)

if TYPE_CHECKING:
    pass
from fangkong.testing.api.common import LakeDep, Reader

router = APIRouter()


# ---------------------------------------------------------------- routine testing


@router.get(
    "/routine/compliance",
    response_model=RoutineRead,
    summary="Routine testing of key populations: compliance per group and enterprise",
)
def routine_compliance(
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    lake: LakeDep,
    principal: Reader,
    industry: Annotated[str | None, Query(max_length=32)] = None,
) -> RoutineRead:
    report = routine.compliance(
        session,
        lake=lake,
        policy=policy,
        at=clock.now(),
        scope=principal.jurisdiction,
        industry=industry,
    )
    return RoutineRead(
        at=report.at,
        rule=report.rule,
        groups=[_tally(t) for t in report.groups],
        enterprises=[_tally(t) for t in report.enterprises],
    )


def _tally(t: routine.Tally) -> TallyRead:
    return TallyRead(
        key=t.key,
        label=t.label,
        industry=t.industry,
        frequency=t.frequency,
        workers=t.workers,
        compliant=t.compliant,
        overdue=t.overdue,
        never=t.never,
        rate=round(t.rate, 4),
    )
