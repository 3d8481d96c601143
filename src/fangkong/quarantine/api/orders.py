"""HTTP API of quarantine: sites and occupancy, a day's plan, orders, transfers, releases."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile

from fangkong.apiutil import Days, Limit, Offset, audited_import
from fangkong.auth import audit
from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.clock import local_day
from fangkong.deps import ClockDep, PolicyDep, SessionDep
from fangkong.flows import quarantine_day
from fangkong.monitoring import service as monitoring
from fangkong.quarantine import board as board_mod
from fangkong.quarantine import orders, placement, reads, releases, service, sites
from fangkong.quarantine.models import QuarantineOrder
from fangkong.quarantine.schemas import (
    BoardRead,
    OrderBrief,
    OrderCreate,
    OrderPage,
    OrderRead,
    PlanCreate,
    PlanRead,
    ReleaseCreate,
    ReleaseRead,
    SiteDetail,
    SiteRead,
    StatusChange,
    TransferCancel,
    TransferRead,
    TransferUpdate,
)
from fangkong.tabular import ImportReport

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

router = APIRouter(prefix="/quarantine", tags=["quarantine"])

Reader = Annotated[Principal, Depends(Require("quarantine.read"))]
Planner = Annotated[Principal, Depends(Require("quarantine.plan"))]
SiteAdmin = Annotated[Principal, Depends(Require("quarantine.sites"))]
SiteWorker = Annotated[Principal, Depends(Require("quarantine.site"))]


@router.get("/sites", response_model=list[SiteRead], summary="Sites and their occupancy now")
def list_sites(session: SessionDep, principal: Reader) -> list[SiteRead]:
    return [reads.site_read(o) for o in sites.occupancy(session, scope=principal.jurisdiction)]


@router.post(
    "/sites/import",
    response_model=ImportReport,
    summary="Import sites and rooms from .csv or .xlsx (all or nothing, idempotent)",
)
def import_sites(
    file: Annotated[UploadFile, File()], session: SessionDep, clock: ClockDep, principal: SiteAdmin
) -> ImportReport:
    return audited_import(sites.import_sites, "quarantine_site", file, session, clock, principal)


@router.get(
    "/sites/{code}",
    response_model=SiteDetail,
    summary="A site: occupancy now and persons in it day by day",
)
def get_site(
    code: str,
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    days: Days,
    first: date | None = None,
    last: date | None = None,
) -> SiteDetail:
    last = last or local_day(clock.now())
    first = first or last - timedelta(days=27)
    days.check_span(first, last, most=366)
    return reads.site_detail(session, code, scope=principal.jurisdiction, first=first, last=last)


@router.post(
    "/plan",
    response_model=PlanRead,
    summary="Plan a day: orders for its new contacts and discharges, rooms, transfers",
)
def plan_day(
    data: PlanCreate,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Planner,
    days: Days,
) -> PlanRead:
    days.check(data.date, "date")
    result = quarantine_day.plan_day(
        session,
        day=data.date,
        policy=policy,
        now=clock.now(),
        actor=principal.name,
        scope=principal.jurisdiction,
        split_households=data.split_households,
    )
    return reads.plan_read(session, result)


@router.post("/orders", response_model=OrderBrief, status_code=201, summary="An order by hand")
def create_order(
    data: OrderCreate,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Planner,
) -> OrderBrief:
    order = orders.order_by_hand(
        session,
        person_no=data.person_no,
        kind=data.kind,
        start_on=data.start_on,
        note=data.note,
        policy=policy,
        now=clock.now(),
        actor=principal.name,
        scope=principal.jurisdiction,
    )
    return reads.brief_of(session, order)


@router.get("/orders", response_model=OrderPage, summary="Orders in the caller's area (masked)")
def list_orders(
    session: SessionDep,
    principal: Reader,
    status: str | None = None,
    site: str | None = None,
    day: date | None = Query(None, alias="date", description="Orders in force that day."),
    limit: Limit = 100,
    offset: Offset = 0,
    *,
    days: Days,
) -> OrderPage:
    days.check(day, "date")
    rows, total = service.list_orders(
        session,
        scope=principal.jurisdiction,
        status=status,
        site_code=site,
        day=day,
        limit=limit,
        offset=offset,
    )
    return OrderPage(
        total=total,
        limit=limit,
        offset=offset,
        items=[reads.brief(o, p, full=False) for o, p in rows],
    )


def _read_full(
    session: Session, principal: Principal, clock: ClockDep, order: QuarantineOrder, full: bool
) -> OrderRead:
    if full:
        principal.require("person.pii.read")
        audit.record(
            session,
            principal=principal,
            action="read_pii",
            now=clock.now(),
            entity_type="quarantine_order",
            entity_id=order.order_no,
            fields=["name"],
        )
    return reads.order_of(session, order, full=full)


@router.get(
    "/orders/{order_no}",
    response_model=OrderRead,
    summary="An order: stages, tests, every move with who and why (full=true unmasks, audited)",
)
def get_order(
    order_no: str,
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    full: bool = Query(False, description="The unmasked name (person.pii.read)."),
) -> OrderRead:
    order = service.get_order(session, order_no, scope=principal.jurisdiction)
    return _read_full(session, principal, clock, order, full)


@router.post("/orders/{order_no}/lost", response_model=OrderRead, summary="失访: lost to follow-up")
def mark_lost(
    order_no: str, data: StatusChange, session: SessionDep, clock: ClockDep, principal: Planner
) -> OrderRead:
    order = service.get_order(session, order_no, scope=principal.jurisdiction)
    service.mark_lost(order, now=clock.now(), actor=principal.name, why=data.why)
    return _read_full(session, principal, clock, order, False)


@router.post(
    "/orders/{order_no}/found",
    response_model=OrderRead,
    summary="Found again: the order resumes where it was",
)
def mark_found(
    order_no: str, data: StatusChange, session: SessionDep, clock: ClockDep, principal: Planner
) -> OrderRead:
    order = service.get_order(session, order_no, scope=principal.jurisdiction)
    service.mark_found(order, now=clock.now(), actor=principal.name, why=data.why)
    return _read_full(session, principal, clock, order, False)


@router.get(
    "/people/{person_no}/orders",
    response_model=list[OrderRead],
    summary="A person's quarantine timeline: every order, stage, test and move",
)
def person_timeline(person_no: str, session: SessionDep, principal: Reader) -> list[OrderRead]:
    return reads.person_timeline(session, person_no, scope=principal.jurisdiction)


@router.post(
    "/release",
    response_model=ReleaseRead,
    summary="Release a day: centralized stages ended with negative tests; completions",
)
def release(
    data: ReleaseCreate, session: SessionDep, clock: ClockDep, principal: Planner, days: Days
) -> ReleaseRead:
    days.check(data.date, "date")
    result = releases.release_day(
        session,
        day=data.date,
        now=clock.now(),
        actor=principal.name,
        scope=principal.jurisdiction,
    )
    return reads.release_read(session, data.date, result)


@router.get(
    "/transfers",
    response_model=list[TransferRead],
    summary="Transfer tasks (pickup addresses down to the compound unless full=true, which "
    "is audited)",
)
def list_transfers(
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    status: str | None = Query("pending", pattern="^(pending|done|cancelled)$"),
    full: bool = Query(False, description="Pickup addresses down to the room (person.pii.read)."),
) -> list[TransferRead]:
    if full:
        principal.require("person.pii.read")
    tasks = placement.transfers(session, scope=principal.jurisdiction, status=status)
    if full and tasks:
        audit.record(
            session,
            principal=principal,
            action="read_pii",
            now=clock.now(),
            entity_type="transfer_task",
            entity_id=status,
            fields=["pickup_address"],
            detail={"rows": len(tasks), "task_nos": [t.task_no for t in tasks]},
        )
    return reads.transfer_reads(session, tasks, full=full)


# Writes answer with the masked task: the full address is read (and audited) in the list.
@router.patch(
    "/transfers/{task_no}", response_model=TransferRead, summary="Vehicle, team, pickup time"
)
def dispatch(
    task_no: str, data: TransferUpdate, session: SessionDep, principal: Planner
) -> TransferRead:
    task = placement.get_task(session, task_no, scope=principal.jurisdiction)
    placement.dispatch(task, vehicle=data.vehicle, team=data.team, pickup_at=data.pickup_at)
    return reads.transfer_reads(session, [task], full=False)[0]


@router.post(
    "/transfers/{task_no}/done",
    response_model=TransferRead,
    summary="Delivered: the household is in quarantine from now",
)
def transfer_done(
    task_no: str, session: SessionDep, clock: ClockDep, principal: SiteWorker
) -> TransferRead:
    task = placement.get_task(session, task_no, scope=principal.jurisdiction)
    placement.transfer_done(session, task, now=clock.now(), actor=principal.name)
    return reads.transfer_reads(session, [task], full=False)[0]


@router.post(
    "/transfers/{task_no}/cancel",
    response_model=TransferRead,
    summary="Call a transfer off: its people wait for a room again",
)
def cancel_transfer(
    task_no: str, data: TransferCancel, session: SessionDep, clock: ClockDep, principal: Planner
) -> TransferRead:
    task = placement.get_task(session, task_no, scope=principal.jurisdiction)
    placement.cancel_transfer(session, task, now=clock.now(), actor=principal.name, why=data.why)
    return reads.transfer_reads(session, [task], full=False)[0]


@router.get("/board", response_model=BoardRead, summary="Today at a glance")
def get_board(
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    days: Days,
    day: date | None = Query(None, alias="date"),
) -> BoardRead:
    days.check(day, "date")
    found = board_mod.board(
        session, day=day or local_day(clock.now()), scope=principal.jurisdiction
    )
    alerts = monitoring.open_task_count(session, scope=principal.jurisdiction)
    return BoardRead.model_validate({**vars(found), "date": found.day, "alerts_open": alerts})
