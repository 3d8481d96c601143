"""HTTP API of quarantine: sites and occupancy, a day's plan, orders, transfers, releases."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.apiutil import Limit, Offset, audited_import
from fangkong.auth import audit
from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.cases.models import Case
from fangkong.deps import ClockDep, PolicyDep, SessionDep
from fangkong.errors import NotFound
from fangkong.people import service as people_service
from fangkong.people.masking import mask_name
from fangkong.people.models import Person
from fangkong.quarantine import board as board_mod
from fangkong.quarantine import bulk, ordering, placement, releases, service, sites, stages
from fangkong.quarantine.models import QuarantineOrder, QuarantineTest, TransferTask
from fangkong.quarantine.schemas import (
    BoardRead,
    DayCount,
    Held,
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
    StageRead,
    StatusChange,
    TestRead,
    TransferCancel,
    TransferRead,
    TransferUpdate,
    TransitionRead,
    Unplaced,
)
from fangkong.tabular import ImportReport

router = APIRouter(prefix="/quarantine", tags=["quarantine"])

Reader = Annotated[Principal, Depends(Require("quarantine.read"))]
Planner = Annotated[Principal, Depends(Require("quarantine.plan"))]
SiteAdmin = Annotated[Principal, Depends(Require("quarantine.sites"))]
SiteWorker = Annotated[Principal, Depends(Require("quarantine.site"))]


def _site_read(o: sites.Occupancy) -> dict[str, object]:
    s = o.site
    return {
        "code": s.code,
        "name": s.name,
        "kind": s.kind,
        "district_code": s.district_code,
        "address": s.address,
        "status": s.status,
        "rooms": o.rooms,
        "beds": o.beds,
        "rooms_in_use": o.rooms_in_use,
        "persons": o.persons,
        "arriving": o.arriving,
        "beds_free": o.beds_free,
        "rooms_free": o.rooms_free,
        "share": round(o.share, 4),
    }


@router.get("/sites", response_model=list[SiteRead], summary="Sites and their occupancy now")
def list_sites(session: SessionDep, principal: Reader) -> list[SiteRead]:
    return [
        SiteRead.model_validate(_site_read(o))
        for o in sites.occupancy(session, scope=principal.jurisdiction)
    ]


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
    first: date | None = None,
    last: date | None = None,
) -> SiteDetail:
    site = sites.get_site(session, code, scope=principal.jurisdiction)
    now = next(
        o for o in sites.occupancy(session, scope=principal.jurisdiction) if o.site.id == site.id
    )
    last = last or bulk.local_day(clock.now())
    first = first or last - timedelta(days=27)
    series = sites.occupancy_by_day(session, site, first, last)
    return SiteDetail.model_validate(
        {
            **_site_read(now),
            "lon": site.lon,
            "lat": site.lat,
            "phone": site.phone,
            "by_day": [DayCount(day=d, persons=n) for d, n in series],
        }
    )


def _transfer_read(task: TransferTask) -> TransferRead:
    return TransferRead(
        task_no=task.task_no,
        site=task.site.code,
        site_name=task.site.name,
        pickup_address=task.pickup_address,
        pickup_at=task.pickup_at,
        persons=task.persons,
        vehicle=task.vehicle,
        team=task.team,
        status=task.status,
        done_at=task.done_at,
    )


def _person_no(session: Session, person_id: int) -> str:
    return session.get_one(Person, person_id).person_no


@router.post(
    "/plan",
    response_model=PlanRead,
    summary="Plan a day: orders for its new contacts and discharges, rooms, transfers",
)
def plan_day(
    data: PlanCreate, session: SessionDep, clock: ClockDep, policy: PolicyDep, principal: Planner
) -> PlanRead:
    result = service.plan_day(
        session,
        day=data.date,
        policy=policy,
        now=clock.now(),
        actor=principal.name,
        scope=principal.jurisdiction,
        split_households=data.split_households,
    )
    made = result.contacts.orders + result.discharges.orders
    by_kind: dict[str, int] = {}
    for order in made:
        by_kind[order.person_kind] = by_kind.get(order.person_kind, 0) + 1
    not_managed = dict(result.contacts.not_managed + result.discharges.not_managed)
    for task in result.placement.transfers:
        session.refresh(task, ["site"])
    return PlanRead(
        date=data.date,
        orders=len(made),
        by_kind=by_kind,
        already_in_force=result.contacts.already + result.discharges.already,
        not_managed=not_managed,
        at_home=len(result.at_home),
        placed=len(result.placement.placed),
        waiting=[
            Unplaced(order_no=o.order_no, person_no=_person_no(session, o.person_id), reason=reason)
            for o, reason in result.placement.unplaced
        ],
        transfers=[_transfer_read(t) for t in result.placement.transfers],
    )


def _brief(order: QuarantineOrder, person: Person, *, full: bool) -> OrderBrief:
    return OrderBrief(
        order_no=order.order_no,
        person_no=person.person_no,
        name=person.name if full else mask_name(person.name),
        person_kind=order.person_kind,
        kind=order.kind,
        status=order.status,
        start_on=order.start_on,
        planned_end=order.planned_end,
        hand_over_on=order.hand_over_on,
        site=order.site.code if order.site else None,
        room=order.room.room_no if order.room else None,
        rule=order.rule,
    )


@router.post("/orders", response_model=OrderBrief, status_code=201, summary="An order by hand")
def create_order(
    data: OrderCreate,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Planner,
) -> OrderBrief:
    order = ordering.order_by_hand(
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
    person = session.get_one(Person, order.person_id)
    return _brief(order, person, full=False)


@router.get("/orders", response_model=OrderPage, summary="Orders in the caller's area (masked)")
def list_orders(
    session: SessionDep,
    principal: Reader,
    status: str | None = None,
    site: str | None = None,
    day: date | None = Query(None, alias="date", description="Orders in force that day."),
    limit: Limit = 100,
    offset: Offset = 0,
) -> OrderPage:
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
        items=[_brief(o, p, full=False) for o, p in rows],
    )


def order_read(
    session: Session, order: QuarantineOrder, person: Person, *, full: bool
) -> OrderRead:
    plan = stages.load(order)
    tests = session.scalars(
        select(QuarantineTest)
        .where(QuarantineTest.order_id == order.id)
        .order_by(QuarantineTest.due_on, QuarantineTest.id)
    )
    converted = (
        session.scalar(select(Case.case_no).where(Case.id == order.converted_case_id))
        if order.converted_case_id
        else None
    )
    return OrderRead(
        **_brief(order, person, full=full).model_dump(),
        source=order.source,
        note=order.note,
        converted_case_no=converted,
        stages=[
            StageRead(
                kind=s.kind,
                label=s.label,
                first_day=s.first_day,
                last_day=s.last_day,
                test_dates=list(s.test_dates),
            )
            for s in plan.stages
        ],
        transitions=[
            TransitionRead(
                from_status=t.from_status, to_status=t.to_status, at=t.at, by=t.by, why=t.why
            )
            for t in order.transitions
        ],
        tests=[
            TestRead(
                due_on=t.due_on,
                stage=t.stage,
                number=t.number,
                two_labs=t.two_labs,
                state=t.state,
                round_code=t.round_code,
                resulted_at=t.resulted_at,
            )
            for t in tests
        ],
    )


def _read_full(
    session: Session, principal: Principal, clock: ClockDep, order: QuarantineOrder, full: bool
) -> OrderRead:
    person = session.get_one(Person, order.person_id)
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
    return order_read(session, order, person, full=full)


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
    scope = principal.jurisdiction
    person = session.scalar(select(Person).where(Person.person_no == person_no))
    orders = service.orders_of_person(session, person, scope=scope) if person else []
    if not orders and (person is None or not people_service.person_visible(scope, person)):
        raise NotFound(f"no person {person_no!r}", person_no=person_no)
    assert person is not None
    return [order_read(session, o, person, full=False) for o in orders]


@router.post(
    "/release",
    response_model=ReleaseRead,
    summary="Release a day: centralized stages ended with negative tests; completions",
)
def release(
    data: ReleaseCreate, session: SessionDep, clock: ClockDep, principal: Planner
) -> ReleaseRead:
    result = releases.release_day(
        session,
        day=data.date,
        now=clock.now(),
        actor=principal.name,
        scope=principal.jurisdiction,
    )
    return ReleaseRead(
        date=data.date,
        released=[o.order_no for o in result.released],
        to_home_monitoring=[
            o.order_no for o in result.released if o.status == "in_home_monitoring"
        ],
        completed=[o.order_no for o in result.completed],
        held=[
            Held(order_no=o.order_no, person_no=_person_no(session, o.person_id), reasons=r)
            for o, r in result.held
        ],
    )


@router.get("/transfers", response_model=list[TransferRead], summary="Transfer tasks")
def list_transfers(
    session: SessionDep,
    principal: Reader,
    status: str | None = Query("pending", pattern="^(pending|done|cancelled)$"),
) -> list[TransferRead]:
    return [
        _transfer_read(t)
        for t in placement.transfers(session, scope=principal.jurisdiction, status=status)
    ]


@router.patch(
    "/transfers/{task_no}", response_model=TransferRead, summary="Vehicle, team, pickup time"
)
def dispatch(
    task_no: str, data: TransferUpdate, session: SessionDep, principal: Planner
) -> TransferRead:
    task = placement.get_task(session, task_no, scope=principal.jurisdiction)
    placement.dispatch(task, vehicle=data.vehicle, team=data.team, pickup_at=data.pickup_at)
    return _transfer_read(task)


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
    return _transfer_read(task)


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
    return _transfer_read(task)


@router.get("/board", response_model=BoardRead, summary="Today at a glance")
def get_board(
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    day: date | None = Query(None, alias="date"),
) -> BoardRead:
    found = board_mod.board(
        session, day=day or bulk.local_day(clock.now()), scope=principal.jurisdiction
    )
    return BoardRead.model_validate({**vars(found), "date": found.day})
