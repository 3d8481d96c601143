"""HTTP API of risk zones: the list and one zone, its countdown, proposals, the HQ's
decisions (confirm, edit, reject), screening rounds of a zone, the lifting run, the status
of persons, venues and workplaces, and the reopening queries.

Reads need ``zones.read``, proposals and screenings ``zones.propose``, decisions
``zones.decide``; every read is cut to the caller's jurisdiction (a zone elsewhere answers
404) and every decision is audited.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fangkong.auth import audit
from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.clock import today
from fangkong.deps import ClockDep, PolicyDep, SessionDep
from fangkong.zones import drawing, lifting, records, service, views

router = APIRouter(prefix="/zones", tags=["zones"])

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


@router.get("/{code}", summary="One zone")
def get_zone(session: SessionDep, principal: Reader, code: Code) -> dict[str, Any]:
    zone = records.get_zone(session, code=code, scope=principal.jurisdiction)
    return asdict(views.zone_row(zone))


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
    session: SessionDep, principal: Proposer, clock: ClockDep, policy: PolicyDep, body: DayIn
) -> list[dict[str, Any]]:
    now = clock.now()
    made = drawing.propose_zones(
        session,
        day=body.day,
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
    session: SessionDep, principal: Proposer, clock: ClockDep, code: Code, body: ScreeningIn
) -> dict[str, Any]:
    now = clock.now()
    row = drawing.record_screening(
        session,
        code=code,
        scope=principal.jurisdiction,
        day=body.day,
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
    session: SessionDep, principal: Decider, clock: ClockDep, policy: PolicyDep, body: DayIn
) -> dict[str, Any]:
    now = clock.now()
    run = lifting.lift(
        session,
        day=body.day,
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
