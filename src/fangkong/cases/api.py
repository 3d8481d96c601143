"""HTTP API of the case registry, daily statistics and the bulletin."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from fangkong.cases import service
from fangkong.cases.bulletin_docx import render_docx
from fangkong.cases.importer import import_cases
from fangkong.cases.schemas import (
    BulletinRead,
    CaseCreate,
    CasePage,
    CaseRead,
    CaseUpdate,
    DayEvent,
    DayFiguresRead,
    ImportReport,
    UnitFiguresRead,
)
from fangkong.cases.stats import DayFigures
from fangkong.cases.vocab import Classification, FoundVia, Origin
from fangkong.clock import today
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import InvalidInput
from fangkong.regions import service as regions

router = APIRouter(tags=["cases"])
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get("/cases", response_model=CasePage, summary="List and search cases")
def list_cases(
    session: SessionDep,
    policy: PolicyDep,
    city: str | None = None,
    unit: str | None = Query(None, description="Reporting unit code or name (周村区, 高新区)."),
    classification: Classification | None = None,
    origin: Origin | None = None,
    found_via: FoundVia | None = None,
    reported_from: date | None = None,
    reported_to: date | None = None,
    q: str | None = Query(None, description="Part of a case number or a name."),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> CasePage:
    city_code = regions.city(city).code if city else None
    flt = service.CaseFilter(
        city_code=city_code,
        unit_code=regions.resolve_unit(unit, city_code).code if unit else None,
        classification=classification,
        origin=origin,
        found_via=found_via,
        reported_from=reported_from,
        reported_to=reported_to,
        text=q,
    )
    items, total = service.list_cases(session, flt=flt, limit=limit, offset=offset)
    return CasePage(total=total, items=[service.to_read(session, c, policy) for c in items])


@router.post("/cases", response_model=CaseRead, status_code=201, summary="Register a case")
def create_case(
    data: CaseCreate, session: SessionDep, clock: ClockDep, policy: PolicyDep
) -> CaseRead:
    case = service.create_case(session, data=data, now=clock.now())
    return service.to_read(session, case, policy)


@router.get("/cases/{case_no}", response_model=CaseRead, summary="One case")
def get_case(case_no: str, session: SessionDep, policy: PolicyDep) -> CaseRead:
    return service.to_read(session, service.get_case(session, case_no=case_no), policy)


@router.patch("/cases/{case_no}", response_model=CaseRead, summary="Edit a case")
def update_case(
    case_no: str, data: CaseUpdate, session: SessionDep, clock: ClockDep, policy: PolicyDep
) -> CaseRead:
    case = service.update_case(session, case_no=case_no, data=data, now=clock.now())
    return service.to_read(session, case, policy)


@router.post(
    "/cases/{case_no}/convert", response_model=CaseRead, summary="转为确诊: convert to confirmed"
)
def convert_case(
    case_no: str, event: DayEvent, session: SessionDep, clock: ClockDep, policy: PolicyDep
) -> CaseRead:
    case = service.convert_case(session, case_no=case_no, on=event.on, now=clock.now())
    return service.to_read(session, case, policy)


@router.post("/cases/{case_no}/discharge", response_model=CaseRead, summary="出院: discharge")
def discharge_case(
    case_no: str, event: DayEvent, session: SessionDep, clock: ClockDep, policy: PolicyDep
) -> CaseRead:
    case = service.discharge_case(session, case_no=case_no, on=event.on, now=clock.now())
    return service.to_read(session, case, policy)


@router.post(
    "/cases/import",
    response_model=ImportReport,
    summary="Import cases from .csv or .xlsx (all or nothing, idempotent)",
)
def import_file(
    file: Annotated[UploadFile, File()], session: SessionDep, clock: ClockDep
) -> ImportReport:
    data = file.file.read()
    return import_cases(session, data=data, filename=file.filename or "upload.csv", now=clock.now())


def _figures(fig: DayFigures) -> DayFiguresRead:
    return DayFiguresRead(
        **{k: v for k, v in vars(fig).items() if k != "rules"},
        new_total=fig.new_total,
        rules=[str(r) for r in fig.rules],
    )


def _day_or_today(day: date | None, clock: ClockDep) -> date:
    return day if day is not None else today(clock)


@router.get("/stats/daily", response_model=list[DayFiguresRead], summary="Figures per day")
def daily(
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    clock: ClockDep,
    city: str | None = None,
    unit: str | None = Query(None, description="A reporting unit; the whole city if omitted."),
    start: date | None = Query(None, description="First day; default: the first with data."),
    end: date | None = Query(None, description="Last day; default: today."),
    since: date | None = Query(None, description="Outbreak start for cumulative figures."),
) -> list[DayFiguresRead]:
    city_code = regions.city(city or settings.city).code
    end = _day_or_today(end, clock)
    start = start or service.first_day(session, city_code=city_code) or end
    if start > end:
        raise InvalidInput("start is after end", start=str(start), end=str(end))
    if (end - start).days > 3660:
        raise InvalidInput("at most ten years of days at once", start=str(start), end=str(end))
    series = service.day_series(
        session,
        city_code=city_code,
        start=start,
        end=end,
        policy=policy,
        since=since,
        unit_code=regions.resolve_unit(unit, city_code).code if unit else None,
    )
    return [_figures(f) for f in series]


@router.get("/stats/units", response_model=list[UnitFiguresRead], summary="Figures per unit")
def units(
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    clock: ClockDep,
    city: str | None = None,
    day: date | None = None,
    since: date | None = None,
) -> list[UnitFiguresRead]:
    city_code = regions.city(city or settings.city).code
    rows = service.unit_figures(
        session, city_code=city_code, day=_day_or_today(day, clock), policy=policy, since=since
    )
    return [
        UnitFiguresRead(
            unit_code=u.code,
            unit_name=u.name,
            new_total=f.new_total,
            new_confirmed=f.new_confirmed,
            new_asymptomatic=f.new_asymptomatic,
            total_confirmed=f.total_confirmed,
            total_asymptomatic=f.total_asymptomatic,
            zero_streak=f.zero_streak,
        )
        for u, f in rows
    ]


@router.get("/bulletin", response_model=BulletinRead, summary="The day's bulletin text")
def bulletin(
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    clock: ClockDep,
    city: str | None = None,
    day: date | None = None,
    since: date | None = Query(None, description="Outbreak start: 自…至…累计报告…"),
) -> BulletinRead:
    city_obj = regions.city(city or settings.city)
    the_day = _day_or_today(day, clock)
    text = service.bulletin_text(
        session, city_code=city_obj.code, day=the_day, since=since, policy=policy
    )
    return BulletinRead(
        city_code=city_obj.code, city_name=city_obj.name, day=the_day, since=since, text=text
    )


@router.get(
    "/bulletin.docx",
    summary="The day's bulletin as a Word document",
    response_class=Response,
    responses={200: {"content": {DOCX: {}}}},
)
def bulletin_docx(
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    clock: ClockDep,
    city: str | None = None,
    day: date | None = None,
    since: date | None = None,
) -> Response:
    read = bulletin(session, policy, settings, clock, city=city, day=day, since=since)
    content = render_docx(city_name=read.city_name, day=read.day, text=read.text)
    filename = f"bulletin-{read.city_code}-{read.day.isoformat()}.docx"
    return Response(
        content,
        media_type=DOCX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
