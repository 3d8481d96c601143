"""HTTP API of the case registry, daily statistics and the bulletin.

Every route names its permission; the caller's jurisdiction is passed to the service,
which cuts every read and write to it.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Query, Response, UploadFile

from fangkong.apiutil import MAX_OFFSET, Days, audited_import
from fangkong.auth import audit
from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.cases import review, service
from fangkong.cases.bulletin_docx import render_docx
from fangkong.cases.schemas import (
    BulletinRead,
    CaseCorrectionIn,
    CaseCreate,
    CasePage,
    CaseRead,
    CaseReview,
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
from fangkong.flows import positives
from fangkong.flows.positives import import_cases
from fangkong.regions import service as regions

router = APIRouter(tags=["cases"])
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

Reader = Annotated[Principal, Depends(Require("cases.read"))]
Writer = Annotated[Principal, Depends(Require("cases.write"))]
Importer = Annotated[Principal, Depends(Require("cases.import"))]
Exporter = Annotated[Principal, Depends(Require("export"))]
StatsReader = Annotated[Principal, Depends(Require("stats.read"))]
Reviewer = Annotated[Principal, Depends(Require("cases.review"))]


def _filter(
    principal: Principal,
    city: str | None,
    unit: str | None,
    classification: Classification | None,
    origin: Origin | None,
    found_via: FoundVia | None,
    reported_from: date | None,
    reported_to: date | None,
    q: str | None,
) -> service.CaseFilter:
    city_code = regions.city(city).code if city else None
    return service.CaseFilter(
        city_code=city_code,
        unit_code=regions.resolve_unit(unit, city_code).code if unit else None,
        classification=classification,
        origin=origin,
        found_via=found_via,
        reported_from=reported_from,
        reported_to=reported_to,
        text=q,
        text_in_names=principal.can("person.pii.read"),
    )


UNIT_QUERY = Query(None, description="Reporting unit code or name (周村区, 高新区).")
TEXT_QUERY = Query(
    None,
    max_length=100,
    description="Part of a case number or (with person.pii.read) a name.",
)
CASE_NO = Path(max_length=32)


@router.get(
    "/cases",
    response_model=CasePage,
    summary="List and search the cases of the caller's jurisdiction (names and ID numbers masked)",
)
def list_cases(
    session: SessionDep,
    policy: PolicyDep,
    principal: Reader,
    city: str | None = None,
    unit: str | None = UNIT_QUERY,
    classification: Classification | None = None,
    origin: Origin | None = None,
    found_via: FoundVia | None = None,
    reported_from: date | None = None,
    reported_to: date | None = None,
    q: str | None = TEXT_QUERY,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> CasePage:
    flt = _filter(
        principal, city, unit, classification, origin, found_via, reported_from, reported_to, q
    )
    items, total = service.list_cases(
        session, flt=flt, scope=principal.jurisdiction, limit=limit, offset=offset
    )
    return CasePage(total=total, items=[service.to_read(session, c, policy) for c in items])


@router.get(
    "/cases.csv",
    summary="Export the cases of the caller's jurisdiction as CSV (masked; the export is audited)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    dependencies=[Depends(Require("cases.read"))],
)
def export_cases(
    session: SessionDep,
    clock: ClockDep,
    principal: Exporter,
    reason: str = Query(..., min_length=2, max_length=500, description="Why it is exported."),
    city: str | None = None,
    unit: str | None = UNIT_QUERY,
    classification: Classification | None = None,
    origin: Origin | None = None,
    found_via: FoundVia | None = None,
    reported_from: date | None = None,
    reported_to: date | None = None,
    q: str | None = TEXT_QUERY,
) -> Response:
    flt = _filter(
        principal, city, unit, classification, origin, found_via, reported_from, reported_to, q
    )
    content, rows = service.export_csv(session, flt=flt, scope=principal.jurisdiction)
    audit.record(
        session,
        principal=principal,
        action="export",
        now=clock.now(),
        entity_type="case",
        reason=reason,
        detail={"filters": flt.given(), "rows": rows},
    )
    filename = f"cases-{today(clock).isoformat()}.csv"
    return Response(
        content.encode("utf-8-sig"),  # with a BOM, so that Excel reads it as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# Writes answer with the masked record: the full one is read (and audited) on the detail.


@router.post("/cases", response_model=CaseRead, status_code=201, summary="Register a case")
def create_case(
    data: CaseCreate,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    settings: SettingsDep,
    principal: Writer,
) -> CaseRead:
    """Held for review first when ``FANGKONG_CASE_REVIEW`` is set (``status`` pending)."""
    case = positives.register_case(
        session,
        data=data,
        now=clock.now(),
        scope=principal.jurisdiction,
        policy=policy,
        held=settings.case_review,
    )
    return service.to_read(session, case, policy)


@router.get(
    "/cases/{case_no}",
    response_model=CaseRead,
    summary="One case (name and ID number in full with person.pii.read; that read is audited)",
)
def get_case(
    case_no: Annotated[str, CASE_NO],
    session: SessionDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Reader,
) -> CaseRead:
    case = service.get_case(session, case_no=case_no, scope=principal.jurisdiction)
    return service.read_detail(
        session, case=case, policy=policy, principal=principal, now=clock.now()
    )


@router.patch("/cases/{case_no}", response_model=CaseRead, summary="Edit a case")
def update_case(
    case_no: Annotated[str, CASE_NO],
    data: CaseUpdate,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Writer,
) -> CaseRead:
    case = service.update_case(
        session, case_no=case_no, data=data, now=clock.now(), scope=principal.jurisdiction
    )
    return service.to_read(session, case, policy)


@router.post(
    "/cases/{case_no}/convert", response_model=CaseRead, summary="转为确诊: convert to confirmed"
)
def convert_case(
    case_no: Annotated[str, CASE_NO],
    event: DayEvent,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Writer,
) -> CaseRead:
    case = service.convert_case(
        session, case_no=case_no, on=event.on, now=clock.now(), scope=principal.jurisdiction
    )
    return service.to_read(session, case, policy)


@router.post("/cases/{case_no}/discharge", response_model=CaseRead, summary="出院: discharge")
def discharge_case(
    case_no: Annotated[str, CASE_NO],
    event: DayEvent,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Writer,
) -> CaseRead:
    case = service.discharge_case(
        session, case_no=case_no, on=event.on, now=clock.now(), scope=principal.jurisdiction
    )
    return service.to_read(session, case, policy)


@router.post(
    "/cases/{case_no}/review",
    response_model=CaseRead,
    summary="审核通过 or 核减: confirm a case held for review, or void a case (audited)",
)
def review_case(
    case_no: Annotated[str, CASE_NO],
    body: CaseReview,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Reviewer,
) -> CaseRead:
    action = review.confirm if body.action == "confirm" else review.void
    case = action(
        session, case_no=case_no, reason=body.reason, principal=principal, now=clock.now()
    )
    return service.to_read(session, case, policy)


@router.post(
    "/cases/{case_no}/correct",
    response_model=CaseRead,
    summary="订正: correct a counted case's facts, with a reason (audited)",
)
def correct_case(
    case_no: Annotated[str, CASE_NO],
    body: CaseCorrectionIn,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Reviewer,
) -> CaseRead:
    case = review.correct(
        session,
        case_no=case_no,
        data=body.changes,
        reason=body.reason,
        principal=principal,
        now=clock.now(),
    )
    return service.to_read(session, case, policy)


@router.post(
    "/cases/import",
    response_model=ImportReport,
    summary="Import cases from .csv or .xlsx (all or nothing, idempotent; audited)",
)
def import_file(
    file: Annotated[UploadFile, File()],
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Importer,
) -> ImportReport:
    importer = partial(import_cases, policy=policy)  # the new cases' zones are proposed
    return audited_import(importer, "case", file, session, clock, principal)


def _figures(fig: DayFigures) -> DayFiguresRead:
    return DayFiguresRead(
        **{k: v for k, v in vars(fig).items() if k != "rules"},
        new_total=fig.new_total,
        rules=[str(r) for r in fig.rules],
    )


def _day_or_today(day: date | None, clock: ClockDep) -> date:
    return day if day is not None else today(clock)


@router.get(
    "/stats/daily",
    response_model=list[DayFiguresRead],
    summary="Figures per day of the caller's area (city, district or reporting unit)",
)
def daily(
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: StatsReader,
    city: str | None = None,
    unit: str | None = Query(None, description="A reporting unit; the whole area if omitted."),
    start: date | None = Query(None, description="First day; default: the first with data."),
    end: date | None = Query(None, description="Last day; default: today."),
    since: date | None = Query(None, description="Outbreak start for cumulative figures."),
    *,
    days: Days,
) -> list[DayFiguresRead]:
    city_code = regions.city(city or settings.city).code
    for name, value in (("start", start), ("end", end), ("since", since)):
        days.check(value, name)
    end = _day_or_today(end, clock)
    scope = principal.jurisdiction
    start = start or service.first_day(session, city_code=city_code, scope=scope) or end
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
        scope=scope,
    )
    return [_figures(f) for f in series]


@router.get(
    "/stats/units",
    response_model=list[UnitFiguresRead],
    summary="Figures per reporting unit of the caller's area",
)
def units(
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: StatsReader,
    city: str | None = None,
    day: date | None = None,
    since: date | None = None,
    *,
    days: Days,
) -> list[UnitFiguresRead]:
    days.check(day, "day")
    days.check(since, "since")
    city_code = regions.city(city or settings.city).code
    rows = service.unit_figures(
        session,
        city_code=city_code,
        day=_day_or_today(day, clock),
        policy=policy,
        since=since,
        scope=principal.jurisdiction,
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


@router.get(
    "/bulletin",
    response_model=BulletinRead,
    summary="The day's city bulletin text (a city-wide jurisdiction only)",
)
def bulletin(
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: StatsReader,
    city: str | None = None,
    day: date | None = None,
    since: date | None = Query(None, description="Outbreak start: 自…至…累计报告…"),
    *,
    days: Days,
) -> BulletinRead:
    days.check(day, "day")
    days.check(since, "since")
    city_obj = regions.city(city or settings.city)
    the_day = _day_or_today(day, clock)
    text = service.bulletin_text(
        session,
        city_code=city_obj.code,
        day=the_day,
        since=since,
        policy=policy,
        scope=principal.jurisdiction,
    )
    stored = review.published(session, city_code=city_obj.code, day=the_day)
    return BulletinRead(
        city_code=city_obj.code,
        city_name=city_obj.name,
        day=the_day,
        since=since,
        text=text,
        published_text=stored.text if stored else None,
        published_at=stored.published_at if stored else None,
    )


@router.post(
    "/bulletin/publish",
    response_model=BulletinRead,
    status_code=201,
    summary="Publish the day's bulletin: stored word for word, once (later corrections keep it)",
)
def publish_bulletin(
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: Reviewer,
    city: str | None = None,
    day: date | None = None,
    since: date | None = Query(None, description="Outbreak start: 自…至…累计报告…"),
) -> BulletinRead:
    city_obj = regions.city(city or settings.city)
    the_day = _day_or_today(day, clock)
    stored = review.publish(
        session,
        city_code=city_obj.code,
        day=the_day,
        since=since,
        policy=policy,
        principal=principal,
        now=clock.now(),
    )
    return BulletinRead(
        city_code=city_obj.code,
        city_name=city_obj.name,
        day=the_day,
        since=since,
        text=stored.text,
        published_text=stored.text,
        published_at=stored.published_at,
    )


@router.get(
    "/bulletin.docx",
    summary="The day's city bulletin as a Word document (a city-wide jurisdiction only)",
    response_class=Response,
    responses={200: {"content": {DOCX: {}}}},
)
def bulletin_docx(
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: StatsReader,
    city: str | None = None,
    day: date | None = None,
    since: date | None = None,
    *,
    days: Days,
) -> Response:
    read = bulletin(
        session, policy, settings, clock, principal, city=city, day=day, since=since, days=days
    )
    content = render_docx(city_name=read.city_name, day=read.day, text=read.text)
    filename = f"bulletin-{read.city_code}-{read.day.isoformat()}.docx"
    return Response(
        content,
        media_type=DOCX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
