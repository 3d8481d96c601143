"""HTTP API of risk zones: the list and one zone, its countdown, proposals, the HQ's
decisions (confirm, edit, reject), screening rounds of a zone, the lifting run, the status
of persons, venues and workplaces, and the reopening queries.

Reads need ``zones.read``, proposals and screenings ``zones.propose``, decisions
``zones.decide``; every read is cut to the caller's jurisdiction (a zone elsewhere answers
404) and every decision is audited.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, Response, UploadFile
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fangkong import apiutil
from fangkong.auth import audit
from fangkong.auth.deps import Require
from fangkong.auth.principal import Forbidden, Principal
from fangkong.clock import today
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import InvalidInput
from fangkong.zones import (
    drawing,
    feed,
    inside,
    lifting,
    notices,
    records,
    reopening,
    service,
    views,
)
from fangkong.zones.notice import render as render_notice


def _checked(days: apiutil.DayRange, day: date) -> date:
    days.check(day, "day")
    return day


# Every day a zones request names lies in the days the data can mean (docs/security.md).
router = APIRouter(
    prefix="/zones", tags=["zones"], dependencies=[Depends(apiutil.bounded_query_days)]
)

Reader = Annotated[Principal, Depends(Require("zones.read"))]
Proposer = Annotated[Principal, Depends(Require("zones.propose"))]
Decider = Annotated[Principal, Depends(Require("zones.decide"))]
Code = Annotated[str, Path(max_length=40)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DayIn(_In):
    day: date


class ConfirmIn(_In):
    effective_at: AwareDatetime | None = Field(None, description="Default now.")
    reason: str | None = Field(None, max_length=200)


class ReasonIn(_In):
    reason: str = Field(..., max_length=200)


class EditIn(_In):
    reason: str = Field(..., max_length=200)
    level: str | None = Field(None, max_length=16)
    name: str | None = Field(None, max_length=128)
    units: list[tuple[str, str]] | None = Field(None, max_length=200)
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON Polygon, WGS-84.")


class ScreeningIn(_In):
    day: date
    round_code: str = Field(..., max_length=64)
    sampled: int = Field(..., ge=0)
    positives: int = Field(..., ge=0)


def _audit(
    session: Any, p: Principal, action: str, now: datetime, code: str, **detail: Any
) -> None:
    audit.record(
        session,
        principal=p,
        action=action,
        now=now,
        entity_type="risk_zone",
        entity_id=code,
        detail=detail or None,
    )


@router.get("", summary="Zones in your jurisdiction")
def list_zones(
    session: SessionDep,
    principal: Reader,
    status: Annotated[str | None, Query(max_length=16)] = None,
    day: date | None = None,
) -> list[dict[str, Any]]:
    zones = records.list_zones(
        session,
        flt=records.ZoneFilter(status=status, in_force_on=day),
        scope=principal.jurisdiction,
    )
    return [asdict(views.zone_row(z)) for z in zones]


# ------------------------------------------------ the city's lists, notices, reopening
# (declared before "/{code}", which would otherwise take their paths for a zone code)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _city_feed(session: Any, principal: Principal, settings: Any, day: date) -> feed.Feed:
    scope = principal.jurisdiction
    if not (scope.whole_city and scope.city_code == settings.city):
        raise Forbidden(
            "the city's zone list speaks for the whole city: a city-wide jurisdiction only",
            scope=scope.kind,
        )
    return feed.feed(session, city_code=settings.city, day=day)


@router.get("/feed.json", summary="The city's zones in force (national risk-area list shape)")
def feed_json(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    clock: ClockDep,
    day: date | None = None,
) -> dict[str, Any]:
    return feed.as_json(_city_feed(session, principal, settings, day or today(clock)))


@router.get(
    "/feed.csv",
    summary="The city's zones in force as CSV (national risk-area list shape)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def feed_csv(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    clock: ClockDep,
    day: date | None = None,
) -> Response:
    found = _city_feed(session, principal, settings, day or today(clock))
    name = f"zones-{found.city_code}-{found.day.isoformat()}.csv"
    return Response(
        feed.as_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/feed.geojson", summary="The city's zones in force as a GeoJSON FeatureCollection")
def feed_geojson(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    clock: ClockDep,
    day: date | None = None,
) -> Response:
    found = _city_feed(session, principal, settings, day or today(clock))
    return Response(
        json.dumps(feed.as_geojson(found), ensure_ascii=False),
        media_type="application/geo+json",
    )


NoticeKind = Annotated[str, Query(pattern="^(draw|adjust|lift)$")]


def _notice(
    session: Any,
    principal: Principal,
    settings: Any,
    kind: str,
    day: date,
    codes: list[str] | None,
) -> str:
    found = notices.notice(
        session,
        kind=kind,
        day=day,
        scope=principal.jurisdiction,
        city_code=settings.city,
        codes=codes,
    )
    return render_notice(found)


@router.get("/notice", summary="The notice drawing, adjusting or lifting a day's zones")
def notice_text(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    kind: NoticeKind,
    day: date,
    codes: Annotated[list[str] | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    text = _notice(session, principal, settings, kind, day, codes)
    return {"kind": kind, "day": day, "text": text}


@router.get(
    "/notice.docx",
    summary="The notice as a Word document",
    response_class=Response,
    responses={200: {"content": {DOCX: {}}}},
)
def notice_docx(
    session: SessionDep,
    principal: Reader,
    settings: SettingsDep,
    kind: NoticeKind,
    day: date,
    codes: Annotated[list[str] | None, Query(max_length=500)] = None,
) -> Response:
    text = _notice(session, principal, settings, kind, day, codes)
    name = f"zones-notice-{kind}-{day.isoformat()}.docx"
    return Response(
        notices.render_docx(text),
        media_type=DOCX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/reopening", summary="The city's reopening decisions, latest first")
def reopening_list(
    session: SessionDep, principal: Reader, settings: SettingsDep
) -> list[dict[str, Any]]:
    return [
        {"code": d.code, "title": d.title, "effective_at": d.effective_at, "issuer": d.issuer}
        for d in reopening.list_decisions(session, city_code=settings.city)
    ]


@router.post(
    "/reopening",
    status_code=201,
    summary="Import a reopening decision (TOML: code, city, title, issuer, effective_at, "
    "[[cell]]s); audited",
)
def reopening_import(
    session: SessionDep,
    principal: Decider,
    clock: ClockDep,
    file: Annotated[UploadFile, File()],
) -> dict[str, Any]:
    now = clock.now()
    raw = file.file.read(1_000_001)
    if len(raw) > 1_000_000:
        raise InvalidInput("a decision file is at most 1 MB", field="file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the decision is not UTF-8 text", field="file") from None
    decision = reopening.import_decision(session, text=text, now=now, by=principal.name)
    audit.record(
        session,
        principal=principal,
        action="import_reopening",
        now=now,
        entity_type="reopening_decision",
        entity_id=decision.code,
        detail={"cells": len(decision.rules)},
    )
    return asdict(reopening.matrix(decision))


@router.get("/reopening/{decision}", summary="A reopening decision: its matrix and notice")
def reopening_show(
    session: SessionDep,
    principal: Reader,
    decision: Annotated[str, Path(max_length=40)],
) -> dict[str, Any]:
    return asdict(reopening.matrix(reopening.get_decision(session, code=decision)))


@router.get("/{code}", summary="One zone")
def get_zone(session: SessionDep, principal: Reader, code: Code) -> dict[str, Any]:
    zone = records.get_zone(session, code=code, scope=principal.jurisdiction)
    return asdict(views.zone_row(zone))


@router.get(
    "/{code}/residents",
    summary="A zone's residents in your jurisdiction (masked unless full=true, which needs "
    "person.pii.read and is audited)",
)
def residents(
    session: SessionDep,
    principal: Reader,
    clock: ClockDep,
    code: Code,
    full: bool = Query(False, description="Unmasked names, ID numbers, phones, rooms."),
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    if full:
        principal.require("person.pii.read")
    found = inside.residents(
        session,
        code=code,
        scope=principal.jurisdiction,
        full=full,
        limit=limit,
        offset=offset,
    )
    if full:
        inside.record_full_view(session, principal=principal, found=found, now=clock.now())
    return asdict(found)


@router.get("/{code}/places", summary="The venues and workplaces inside a zone")
def places_inside(session: SessionDep, principal: Reader, code: Code) -> list[dict[str, Any]]:
    return [
        asdict(r) for r in inside.places_inside(session, code=code, scope=principal.jurisdiction)
    ]


@router.get("/{code}/countdown", summary="A zone's lifting conditions on a day")
def countdown(
    session: SessionDep,
    principal: Reader,
    clock: ClockDep,
    policy: PolicyDep,
    code: Code,
    day: date | None = None,
) -> dict[str, Any]:
    records.get_zone(session, code=code, scope=principal.jurisdiction)
    found = lifting.evaluate_zone(
        session,
        code=code,
        day=day or today(clock),
        policy=policy,
        scope=principal.jurisdiction,
    )
    if found is None:
        return {"code": code, "in_force": False}
    return {"in_force": True, **asdict(views.countdown_row(found))}


@router.post("/propose", summary="Propose zones for a day's cases in your jurisdiction")
def propose(
    session: SessionDep,
    principal: Proposer,
    clock: ClockDep,
    policy: PolicyDep,
    body: DayIn,
    days: apiutil.Days,
) -> list[dict[str, Any]]:
    now = clock.now()
    made = drawing.propose_zones(
        session,
        day=_checked(days, body.day),
        policy=policy,
        scope=principal.jurisdiction,
        now=now,
        by=principal.name,
    )
    _audit(
        session, principal, "propose_zones", now, body.day.isoformat(), zones=[z.code for z in made]
    )
    return [asdict(views.zone_row(z)) for z in made]


@router.post("/{code}/confirm", summary="Confirm a proposal: the zone is in force")
def confirm(
    session: SessionDep, principal: Decider, clock: ClockDep, code: Code, body: ConfirmIn
) -> dict[str, Any]:
    now = clock.now()
    zone = drawing.confirm(
        session,
        code=code,
        scope=principal.jurisdiction,
        effective_at=body.effective_at or now,
        now=now,
        by=principal.name,
        reason=body.reason,
    )
    _audit(session, principal, "confirm_zone", now, code)
    return asdict(views.zone_row(zone))


@router.post("/{code}/reject", summary="Reject a proposal, with a reason")
def reject(
    session: SessionDep, principal: Decider, clock: ClockDep, code: Code, body: ReasonIn
) -> dict[str, Any]:
    now = clock.now()
    zone = drawing.reject(
        session,
        code=code,
        scope=principal.jurisdiction,
        reason=body.reason,
        now=now,
        by=principal.name,
    )
    _audit(session, principal, "reject_zone", now, code, reason=body.reason)
    return asdict(views.zone_row(zone))


@router.patch("/{code}", summary="Edit a zone (level and extent while proposed), with a reason")
def edit(
    session: SessionDep,
    principal: Decider,
    clock: ClockDep,
    policy: PolicyDep,
    code: Code,
    body: EditIn,
) -> dict[str, Any]:
    now = clock.now()
    zone = drawing.edit(
        session,
        code=code,
        scope=principal.jurisdiction,
        reason=body.reason,
        now=now,
        by=principal.name,
        policy=policy,
        level=body.level,
        name=body.name,
        units=body.units,
        geometry=body.geometry,
    )
    _audit(session, principal, "edit_zone", now, code, reason=body.reason)
    return asdict(views.zone_row(zone))


@router.post("/{code}/screenings", summary="Record a screening round of the zone")
def screening(
    session: SessionDep,
    principal: Proposer,
    clock: ClockDep,
    code: Code,
    body: ScreeningIn,
    days: apiutil.Days,
) -> dict[str, Any]:
    now = clock.now()
    row = drawing.record_screening(
        session,
        code=code,
        scope=principal.jurisdiction,
        day=_checked(days, body.day),
        round_code=body.round_code,
        sampled=body.sampled,
        positives=body.positives,
        now=now,
        by=principal.name,
    )
    _audit(session, principal, "zone_screening", now, code, round=body.round_code)
    return {"code": code, "day": row.day, "round_code": row.round_code, "positives": row.positives}


@router.post("/lift", summary="Apply the lifting the rules allow on a day; list what they hold")
def lift(
    session: SessionDep,
    principal: Decider,
    clock: ClockDep,
    policy: PolicyDep,
    body: DayIn,
    days: apiutil.Days,
) -> dict[str, Any]:
    now = clock.now()
    run = lifting.lift(
        session,
        day=_checked(days, body.day),
        policy=policy,
        scope=principal.jurisdiction,
        now=now,
        by=principal.name,
    )
    applied = [asdict(views.countdown_row(e)) for e, _ in run.applied]
    _audit(
        session,
        principal,
        "lift_zones",
        now,
        body.day.isoformat(),
        applied=[a["code"] for a in applied],
    )
    return {
        "day": body.day,
        "applied": applied,
        "held": [asdict(views.countdown_row(e)) for e in run.held],
    }


@router.get("/status/persons", summary="Zone status of persons on a day (by person id)")
def persons_status(
    session: SessionDep,
    principal: Reader,
    clock: ClockDep,
    ids: Annotated[list[int], Query(max_length=1000)],
    day: date | None = None,
) -> dict[str, Any]:
    found = service.status_of_persons(session, ids, day or today(clock))
    return {str(k): asdict(v) for k, v in found.items()}


@router.get("/status/venues", summary="Zone status of venues on a day (by venue code)")
def venues_status(
    session: SessionDep,
    principal: Reader,
    clock: ClockDep,
    codes: Annotated[list[str], Query(max_length=1000)],
    day: date | None = None,
) -> dict[str, Any]:
    found = service.status_of_venues(session, codes, day or today(clock))
    return {k: asdict(v) for k, v in found.items()}


@router.get("/status/workplaces", summary="Zone status of workplaces on a day (by number)")
def workplaces_status(
    session: SessionDep,
    principal: Reader,
    clock: ClockDep,
    nos: Annotated[list[str], Query(max_length=1000)],
    day: date | None = None,
) -> dict[str, Any]:
    found = service.status_of_workplaces(session, nos, day or today(clock))
    return {k: asdict(v) for k, v in found.items()}


@router.get("/status/address", summary="Zone status of an address (its registry units) on a day")
def address_status(
    session: SessionDep,
    principal: Reader,
    clock: ClockDep,
    district: Annotated[str, Query(pattern=r"^\d{6}$")],
    street: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
    community_id: Annotated[int | None, Query(ge=1)] = None,
    compound_id: Annotated[int | None, Query(ge=1)] = None,
    building_id: Annotated[int | None, Query(ge=1)] = None,
    day: date | None = None,
) -> dict[str, Any]:
    found = service.status_of_address(
        session,
        day=day or today(clock),
        district_code=district,
        street_code=street,
        community_id=community_id,
        compound_id=compound_id,
        building_id=building_id,
    )
    return {"in_zone": found is not None, **(asdict(found) if found else {})}


@router.get("/reopening/venues/{venue_code}", summary="May this venue open, on what conditions")
def venue_open(
    session: SessionDep,
    principal: Reader,
    clock: ClockDep,
    venue_code: Annotated[str, Path(max_length=32)],
    at: AwareDatetime | None = None,
) -> dict[str, Any]:
    return asdict(service.venue_may_open(session, venue_code, at or clock.now()))


@router.get("/reopening/workplaces/{workplace_no}", summary="May this enterprise resume work")
def workplace_resume(
    session: SessionDep,
    principal: Reader,
    clock: ClockDep,
    workplace_no: Annotated[str, Path(max_length=32)],
    at: AwareDatetime | None = None,
) -> dict[str, Any]:
    return asdict(service.enterprise_may_resume(session, workplace_no, at or clock.now()))
