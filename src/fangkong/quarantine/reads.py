"""What the quarantine API returns, built from the service's objects in batches (one query
per kind of record, never one per row): sites with occupancy, orders with their person,
stages, swabs and moves, a day's plan, a day's releases, transfers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.cases import service as cases_service
from fangkong.errors import NotFound
from fangkong.people import access as people_access
from fangkong.people import service as people_service
from fangkong.people.joins import Person
from fangkong.people.masking import mask_name
from fangkong.quarantine import placement, releases, service, sites, stages
from fangkong.quarantine.models import QuarantineOrder, QuarantineSwab, TransferTask
from fangkong.quarantine.schemas import (
    DayCount,
    Held,
    OrderBrief,
    OrderRead,
    PlanRead,
    ReleaseRead,
    SiteDetail,
    SiteRead,
    StageRead,
    TestRead,
    TransferRead,
    TransitionRead,
    Unplaced,
)


def site_read(o: sites.Occupancy) -> SiteRead:
    s = o.site
    return SiteRead(
        code=s.code,
        name=s.name,
        kind=s.kind,
        district_code=s.district_code,
        address=s.address,
        status=s.status,
        rooms=o.rooms,
        beds=o.beds,
        rooms_in_use=o.rooms_in_use,
        persons=o.persons,
        arriving=o.arriving,
        beds_free=o.beds_free,
        rooms_free=o.rooms_free,
        share=round(o.share, 4),
    )


def site_detail(
    session: Session, code: str, *, scope: Jurisdiction, first: date, last: date
) -> SiteDetail:
    """A site: its occupancy now and the persons in it day by day from ``first`` to ``last``."""
    site = sites.get_site(session, code, scope=scope)
    now = next(o for o in sites.occupancy(session, scope=scope) if o.site.id == site.id)
    series = sites.occupancy_by_day(session, site, first, last)
    return SiteDetail(
        **site_read(now).model_dump(),
        lon=site.lon,
        lat=site.lat,
        phone=site.phone,
        by_day=[DayCount(day=d, persons=n) for d, n in series],
    )


def transfer_reads(
    session: Session, tasks: Sequence[TransferTask], *, full: bool
) -> list[TransferRead]:
    """Transfers as the API shows them: the pickup address down to the room only with
    ``full`` (the caller has checked ``person.pii.read`` and audits it), else down to the
    compound."""
    areas = {} if full else placement.pickup_areas(session, tasks)
    return [
        TransferRead(
            task_no=t.task_no,
            site=t.site.code,
            site_name=t.site.name,
            pickup_address=t.pickup_address if full else areas.get(t.id),
            pickup_at=t.pickup_at,
            persons=t.persons,
            vehicle=t.vehicle,
            team=t.team,
            status=t.status,
            done_at=t.done_at,
            masked=not full,
        )
        for t in tasks
    ]


def _person_nos(session: Session, orders: Iterable[QuarantineOrder]) -> dict[int, str]:
    persons = people_service.persons_by_id(session, {o.person_id for o in orders})
    return {pid: p.person_no for pid, p in persons.items()}


def brief(order: QuarantineOrder, person: Person, *, full: bool) -> OrderBrief:
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


def brief_of(session: Session, order: QuarantineOrder) -> OrderBrief:
    """One order's brief, masked."""
    person = people_service.persons_by_id(session, [order.person_id])[order.person_id]
    return brief(order, person, full=False)


def briefs(session: Session, orders: Sequence[QuarantineOrder]) -> list[OrderBrief]:
    """Orders' briefs, masked, with their persons read in one batch."""
    persons = people_service.persons_by_id(session, {o.person_id for o in orders})
    return [brief(o, persons[o.person_id], full=False) for o in orders]


def plan_read(session: Session, result: service.DayPlan) -> PlanRead:
    """What planning a day did; persons and sites read once for the whole plan."""
    made = result.made
    by_kind: dict[str, int] = {}
    for order in made:
        by_kind[order.person_kind] = by_kind.get(order.person_kind, 0) + 1
    not_managed = dict(result.contacts.not_managed + result.discharges.not_managed)
    waiting = result.placement.unplaced
    numbers = _person_nos(session, (o for o, _ in waiting))
    return PlanRead(
        date=result.day,
        orders=len(made),
        by_kind=by_kind,
        already_in_force=result.contacts.already + result.discharges.already,
        not_managed=not_managed,
        at_home=len(result.at_home),
        placed=len(result.placement.placed),
        waiting=[
            Unplaced(order_no=o.order_no, person_no=numbers[o.person_id], reason=reason)
            for o, reason in waiting
        ],
        transfers=transfer_reads(session, result.placement.transfers, full=False),
    )


def release_read(session: Session, day: date, result: releases.Releases) -> ReleaseRead:
    numbers = _person_nos(session, (o for o, _ in result.held))
    return ReleaseRead(
        date=day,
        released=[o.order_no for o in result.released],
        to_home_monitoring=[
            o.order_no for o in result.released if o.status == "in_home_monitoring"
        ],
        completed=[o.order_no for o in result.completed],
        held=[
            Held(order_no=o.order_no, person_no=numbers[o.person_id], reasons=r)
            for o, r in result.held
        ],
    )


def order_read(
    session: Session, order: QuarantineOrder, person: Person, *, full: bool
) -> OrderRead:
    """An order with its stages, swabs and every move (``full`` unmasks the name: the
    caller has checked ``person.pii.read`` and audits it)."""
    plan = stages.load(order)
    swabs = session.scalars(
        select(QuarantineSwab)
        .where(QuarantineSwab.order_id == order.id)
        .order_by(QuarantineSwab.due_on, QuarantineSwab.id)
    )
    converted = cases_service.case_nos_by_id(session, [order.converted_case_id])
    return OrderRead(
        **brief(order, person, full=full).model_dump(),
        source=order.source,
        note=order.note,
        converted_case_no=converted.get(order.converted_case_id or 0),
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
            for t in swabs
        ],
    )


def order_of(session: Session, order: QuarantineOrder, *, full: bool) -> OrderRead:
    person = people_service.persons_by_id(session, [order.person_id])[order.person_id]
    return order_read(session, order, person, full=full)


def person_timeline(session: Session, person_no: str, *, scope: Jurisdiction) -> list[OrderRead]:
    """A person's orders inside ``scope`` (404 when there is none and the person is not
    visible either, so that a person's existence is not revealed)."""
    person = people_service.persons_by_no(session, [person_no]).get(person_no)
    orders = service.orders_of_person(session, person, scope=scope) if person else []
    if not orders and (person is None or not people_access.person_visible(scope, person)):
        raise NotFound(f"no person {person_no!r}", person_no=person_no)
    assert person is not None
    return [order_read(session, o, person, full=False) for o in orders]
