"""HTTP API of contact tracing: run it, read contacts, timelines and clusters, export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from fangkong.apiutil import Days
from fangkong.auth import audit
from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.clock import today
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.tracing import service
from fangkong.tracing.schemas import (
    ClusterRead,
    ContactRead,
    ContactStatusUpdate,
    TraceReport,
    TraceRequest,
    VisitRead,
)

router = APIRouter(tags=["tracing"])

Reader = Annotated[Principal, Depends(Require("tracing.read"))]
Writer = Annotated[Principal, Depends(Require("tracing.write"))]
Exporter = Annotated[Principal, Depends(Require("export"))]
CASE_NO = Path(max_length=32)


def _lake(settings: SettingsDep) -> Iterator[service.Lake]:
    with service.shared_lake(
        home=settings.home, engine=settings.engine, spark_master=settings.spark_master
    ) as lake:
        yield lake


LakeDep = Annotated[service.Lake, Depends(_lake)]


@router.post(
    "/trace",
    response_model=TraceReport,
    summary="Trace cases (by number, or all reported on a day): contacts per case by degree",
)
def trace(
    data: TraceRequest,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    lake: LakeDep,
    principal: Writer,
) -> TraceReport:
    scope, now = principal.jurisdiction, clock.now()
    if data.day is not None:
        return service.trace_day(
            session, day=data.day, con=lake.con, lake=lake.root, policy=policy, now=now, scope=scope
        )
    return service.trace_cases(
        session,
        case_nos=data.case_nos or [],
        con=lake.con,
        lake=lake.root,
        policy=policy,
        now=now,
        scope=scope,
    )


@router.get(
    "/cases/{case_no}/contacts",
    response_model=list[ContactRead],
    summary="A case's contacts with their reasons (names, ID numbers and phones masked)",
)
def contacts(
    case_no: Annotated[str, CASE_NO], session: SessionDep, principal: Reader
) -> list[ContactRead]:
    found = service.contacts_of(session, case_no=case_no, scope=principal.jurisdiction)
    return [service.contact_read(c, p) for c, p in found]


@router.patch(
    "/cases/{case_no}/contacts/{person_no}",
    response_model=ContactRead,
    summary="Record that a contact was notified or controlled (a re-run then keeps it)",
)
def contact_status(
    case_no: Annotated[str, CASE_NO],
    person_no: Annotated[str, Path(max_length=32)],
    data: ContactStatusUpdate,
    session: SessionDep,
    clock: ClockDep,
    principal: Writer,
) -> ContactRead:
    service.set_status(
        session,
        case_no=case_no,
        person_no=person_no,
        status=data.status,
        now=clock.now(),
        scope=principal.jurisdiction,
    )
    found = service.contacts_of(session, case_no=case_no, scope=principal.jurisdiction)
    return next(service.contact_read(c, p) for c, p in found if p.person_no == person_no)


@router.get(
    "/cases/{case_no}/visits",
    response_model=list[VisitRead],
    summary="The case's own venue visits inside its look-back window (timeline)",
)
def visits(
    case_no: Annotated[str, CASE_NO],
    session: SessionDep,
    policy: PolicyDep,
    lake: LakeDep,
    principal: Reader,
) -> list[VisitRead]:
    return service.visits_of(
        session,
        case_no=case_no,
        con=lake.con,
        lake=lake.root,
        policy=policy,
        scope=principal.jurisdiction,
    )


@router.get(
    "/clusters",
    response_model=list[ClusterRead],
    summary="Clusters of the caller's cases: linked by infector, shared contacts, co-presence",
)
def clusters(
    session: SessionDep, principal: Reader, days: Days, since: date | None = None
) -> list[ClusterRead]:
    days.check(since, "since")
    return service.clusters(session, scope=principal.jurisdiction, since=since)


@router.get(
    "/contacts.csv",
    summary="Export the contacts of the caller's cases as CSV, one row per reason (audited)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    dependencies=[Depends(Require("tracing.read"))],
)
def export_contacts(
    session: SessionDep,
    clock: ClockDep,
    principal: Exporter,
    reason: str = Query(..., min_length=2, max_length=500, description="Why it is exported."),
) -> Response:
    content, rows = service.export_csv(session, scope=principal.jurisdiction)
    audit.record(
        session,
        principal=principal,
        action="export",
        now=clock.now(),
        entity_type="contact",
        reason=reason,
        detail={"rows": rows},
    )
    filename = f"contacts-{today(clock).isoformat()}.csv"
    return Response(
        content.encode("utf-8-sig"),  # with a BOM, so that Excel reads it as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
