"""Rounds: create, read, sampling points and their plan, close; exemptions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Response

from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.flows import rounds as rounds_flow
from fangkong.lake.layout import lake_root
from fangkong.people import service as people
from fangkong.testing import service
from fangkong.testing.plan_xlsx import plan_workbook
from fangkong.testing.schemas import (
    ExemptionCreate,
    ExemptionRead,
    PointRead,
    RoundCreate,
    RoundRead,
)

if TYPE_CHECKING:
    pass
from fangkong.testing.api.common import CODE, XLSX, Exempter, Planner, Reader

router = APIRouter()


@router.post(
    "/rounds",
    response_model=RoundRead,
    status_code=201,
    summary="Create a round over areas: pool size per area, population due, sampling points",
)
def create_round(
    data: RoundCreate,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    settings: SettingsDep,
    principal: Planner,
) -> RoundRead:
    round_ = rounds_flow.create_round(
        session,
        service.RoundSpec(
            code=data.code,
            name=data.name,
            kind=data.kind,
            city_code=settings.city,
            areas=data.areas,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            pool_mode=data.pool_mode,
            pool_size=data.pool_size,
            three_stage=data.three_stage,
            positivity=data.positivity,
        ),
        lake=lake_root(settings.home),
        policy=policy,
        now=clock.now(),
        actor=principal.name,
        scope=principal.jurisdiction,
    )
    return RoundRead.model_validate(service.round_summary(round_))


@router.get("/rounds", response_model=list[RoundRead], summary="Rounds in the caller's area")
def list_rounds(session: SessionDep, principal: Reader) -> list[RoundRead]:
    return [
        RoundRead.model_validate(service.round_summary(r))
        for r in service.list_rounds(session, scope=principal.jurisdiction)
    ]


@router.get("/rounds/{code}", response_model=RoundRead, summary="A round and its last outcome")
def get_round(code: Annotated[str, CODE], session: SessionDep, principal: Reader) -> RoundRead:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    return RoundRead.model_validate(service.round_summary(round_))


@router.get(
    "/rounds/{code}/points",
    response_model=list[PointRead],
    summary="The round's sampling points in the caller's area",
)
def points(code: Annotated[str, CODE], session: SessionDep, principal: Reader) -> list[PointRead]:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    return [
        PointRead.model_validate(p, from_attributes=True)
        for p in service.points_of(session, round_, principal.jurisdiction)
    ]


@router.get(
    "/rounds/{code}/plan.xlsx",
    summary="The sampling-point plan as Excel (points, time slots, totals by district)",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def plan_xlsx(
    code: Annotated[str, CODE], session: SessionDep, policy: PolicyDep, principal: Reader
) -> Response:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    plan = service.plan_of(session, round_, policy=policy, scope=principal.jurisdiction)
    content = plan_workbook(plan, title=round_.name)
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="plan-{round_.code}.xlsx"'},
    )


@router.post(
    "/rounds/{code}/close",
    response_model=RoundRead,
    summary="Close a round's sampling: later samples are refused (results still come in)",
)
def close_round(
    code: Annotated[str, CODE], session: SessionDep, clock: ClockDep, principal: Planner
) -> RoundRead:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    service.close_round(round_, now=clock.now())
    return RoundRead.model_validate(service.round_summary(round_))


@router.post(
    "/rounds/{code}/exemptions",
    response_model=ExemptionRead,
    summary="Record that a due person need not be sampled (quarantine, hospital, travelling)",
)
def exempt(
    code: Annotated[str, CODE],
    data: ExemptionCreate,
    session: SessionDep,
    clock: ClockDep,
    principal: Exempter,
) -> ExemptionRead:
    round_ = service.get_round(session, code=code, scope=principal.jurisdiction)
    row = service.exempt(
        session,
        round_,
        person_no=data.person_no,
        reason=data.reason,
        note=data.note,
        actor=principal.name,
        now=clock.now(),
        scope=principal.jurisdiction,
    )
    person = people.persons_by_id(session, [row.person_id])[row.person_id]
    return ExemptionRead(
        person_no=person.person_no,
        reason=row.reason,
        note=row.note,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )
