"""What the quarantine pages show, as rows for the templates: orders with masked names,
site occupancy, transfers, releases, tests per site, a day's plan and release, a site's
rooms and worklist, an order's timeline. Reading only; the routes are in ``pages.py``."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.cases import service as cases_service
from fangkong.clock import LOCAL_TZ, beijing_minute, chinese_day
from fangkong.people import service as people_service
from fangkong.people.joins import Person
from fangkong.people.masking import address_line, mask_name
from fangkong.quarantine import releases, service, site_swabs, sites, stages
from fangkong.quarantine.assignment import UNPLACED_LABELS
from fangkong.quarantine.models import (
    QuarantineOrder,
    QuarantineSite,
    QuarantineSwab,
    TransferTask,
)
from fangkong.quarantine.schedule import PERSON_LABELS, STAGE_LABELS, StagePlan
from fangkong.quarantine.scope import order_conditions
from fangkong.quarantine.status import STATUS_LABELS, OrderStatus
from fangkong.regions import service as regions

FULL_SHARE = 0.9  # a site this full is shown in red: the next day's plan may not fit
SOURCE_LABELS = {"contact": "流调判定", "discharge": "病例出院", "manual": "手工登记"}
TRANSFER_LABELS = {"pending": "待转运", "done": "已送达", "cancelled": "已取消"}


def local_time(moment: datetime | None) -> str:
    """``2022-03-21 06:00`` in Beijing time (SQLite gives UTC without a zone)."""
    return beijing_minute(moment)


def field_time(moment: datetime) -> str:
    """A datetime-local field's value in Beijing time."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def persons_by_id(session: Session, ids: Iterable[int]) -> dict[int, Person]:
    return people_service.persons_by_id(session, ids)


def district_name(code: str | None) -> str:
    found = regions.registry().districts.get(code or "")
    return found.name if found else (code or "")


def reason_text(reason: object) -> str:
    """A release check's reason (a ``ReleaseReason`` or, from older callers, a string)."""
    message = getattr(reason, "message", None)
    return message if isinstance(message, str) else str(reason)


def brief(order: QuarantineOrder, person: Person | None) -> dict[str, Any]:
    """An order as a row of a list: masked name, kind, status and where."""
    return {
        "order_no": order.order_no,
        "person_no": person.person_no if person else "",
        "name": mask_name(person.name) if person else "",
        "kind": PERSON_LABELS.get(order.person_kind, order.person_kind),
        "stage": STAGE_LABELS.get(order.kind, order.kind),
        "status": order.status,
        "status_label": STATUS_LABELS.get(OrderStatus(order.status), order.status),
        "where": service.room_label(order) or "",
        "start_on": order.start_on,
        "planned_end": order.planned_end,
    }


def occupancy_row(o: sites.Occupancy) -> dict[str, Any]:
    return {
        "code": o.site.code,
        "name": o.site.name,
        "district": district_name(o.site.district_code),
        "status": o.site.status,
        "status_label": sites.SITE_STATUSES.get(o.site.status, o.site.status),
        "rooms": o.rooms,
        "rooms_in_use": o.rooms_in_use,
        "beds": o.beds,
        "persons": o.persons,
        "arriving": o.arriving,
        "beds_free": o.beds_free,
        "share": f"{o.share:.0%}" if o.beds else "—",
        "bar": round(min(o.share, 1.0) * 100, 1),
        "full": o.share >= FULL_SHARE,
    }


def _pickup_area(person: Person | None) -> str:
    """Where a household is picked up, without its building and room (personal data: the
    full address is for the transfer team, through the API)."""
    if person is None:
        return ""
    return (
        address_line(
            person.community.name if person.community else None,
            person.compound.name if person.compound else None,
            full=False,
        )
        or ""
    )


def transfer_rows(session: Session, tasks: list[TransferTask]) -> list[dict[str, Any]]:
    """Pending transfers with who rides in them (masked) and where they are picked up."""
    riders: dict[int, list[QuarantineOrder]] = defaultdict(list)
    if tasks:
        for order in session.scalars(
            select(QuarantineOrder)
            .where(QuarantineOrder.transfer_id.in_([t.id for t in tasks]))
            .order_by(QuarantineOrder.id)
        ):
            riders[order.transfer_id or 0].append(order)
    wanted = {o.person_id for os in riders.values() for o in os}
    persons = {
        p.id: p
        for p in session.scalars(
            select(Person)
            .where(Person.id.in_(wanted))
            .options(selectinload(Person.community), selectinload(Person.compound))
        )
    }
    rows = []
    for t in tasks:
        inside = riders[t.id]
        rows.append(
            {
                "task_no": t.task_no,
                "site": t.site.name,
                "site_code": t.site.code,
                "pickup": _pickup_area(persons.get(inside[0].person_id) if inside else None),
                "pickup_at": local_time(t.pickup_at),
                "pickup_field": field_time(t.pickup_at),
                "persons": t.persons,
                "vehicle": t.vehicle or "",
                "team": t.team or "",
                "riders": [brief(o, persons.get(o.person_id)) for o in inside],
            }
        )
    return rows


def release_rows(
    session: Session, due: list[tuple[QuarantineOrder, Person]], day: date
) -> list[dict[str, Any]]:
    """Today's releases and, for those leaving a site, whether their tests allow it yet."""
    rows = []
    for order, person in due:
        row = brief(order, person)
        plan = stages.load(order)
        at_site = order.status == OrderStatus.in_quarantine.value and plan.stages[0].kind == (
            "centralized"
        )
        row["ends"] = f"{plan.stages[0].label}期满" if at_site else f"{plan.stages[-1].label}期满"
        row["next"] = (
            f"转{plan.stages[1].label}至{chinese_day(plan.end)}"
            if at_site and len(plan.stages) > 1
            else "管控结束"
        )
        row["blocked"] = []
        if at_site:
            check = site_swabs.release_check(session, order, day)
            row["blocked"] = [reason_text(r) for r in check.reasons]
        rows.append(row)
    return rows


def site_test_rows(
    session: Session, occupancy: list[sites.Occupancy], day: date, scope: Jurisdiction
) -> list[dict[str, Any]]:
    """Per site with people: the day's tests, those still to swab, and overdue ones."""
    overdue = Counter(t.site_code for t in site_swabs.overdue_tests(session, scope, day))
    rows = []
    for o in occupancy:
        if not (o.persons or o.arriving or overdue[o.site.code]):
            continue
        listed = site_swabs.worklist(session, o.site, day, scope=scope, today=day)
        rows.append(
            {
                "code": o.site.code,
                "name": o.site.name,
                "due": sum(t.due_on == day for t in listed),
                "open": sum(t.state in site_swabs.OPEN for t in listed),
                "done": sum(t.state not in site_swabs.OPEN for t in listed),
                "overdue": overdue[o.site.code],
            }
        )
    return rows


def plan_result(session: Session, plan: service.DayPlan) -> dict[str, Any]:
    made = plan.contacts.orders + plan.discharges.orders
    placed = plan.placement.placed
    waiting = plan.placement.unplaced
    persons = persons_by_id(
        session, [o.person_id for o in placed] + [o.person_id for o, _ in waiting]
    )
    not_managed = plan.contacts.not_managed + plan.discharges.not_managed
    return {
        "day": plan.day,
        "made": len(made),
        "by_kind": Counter(PERSON_LABELS.get(o.person_kind, o.person_kind) for o in made),
        "already": plan.contacts.already + plan.discharges.already,
        "not_managed": {PERSON_LABELS.get(k, k): n for k, n in not_managed.items()},
        "at_home": len(plan.at_home),
        "placed": [brief(o, persons.get(o.person_id)) for o in placed],
        "waiting": [
            {**brief(o, persons.get(o.person_id)), "reason": UNPLACED_LABELS.get(r, r)}
            for o, r in waiting
        ],
        "transfers": len(plan.placement.transfers),
    }


def release_result(session: Session, result: releases.Releases) -> dict[str, Any]:
    orders = result.released + result.completed + [o for o, _ in result.held]
    persons = persons_by_id(session, (o.person_id for o in orders))
    return {
        "released": [brief(o, persons.get(o.person_id)) for o in result.released],
        "completed": [brief(o, persons.get(o.person_id)) for o in result.completed],
        "held": [
            {**brief(o, persons.get(o.person_id)), "reasons": [reason_text(r) for r in reasons]}
            for o, reasons in result.held
        ],
    }


def room_order(room_no: str) -> tuple[tuple[int, int | str], ...]:
    """Rooms in the order a person reads them: the numbers in a room number compare as
    numbers (999 before 10110, 2-3 before 2-10), the rest as text."""
    parts = re.findall(r"\d+|\D+", room_no)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def room_rows(session: Session, site: QuarantineSite, scope: Jurisdiction) -> list[dict[str, Any]]:
    """Every room and who holds a bed in it. People of another area are counted, not
    named: orders belong to the person's home area."""
    held = session.execute(
        select(QuarantineOrder, Person)
        .join(Person, Person.id == QuarantineOrder.person_id)
        .where(
            QuarantineOrder.site_id == site.id,
            QuarantineOrder.room_id.is_not(None),
            QuarantineOrder.status.in_(sites.HOLDS_BED),
        )
        .order_by(QuarantineOrder.id)
    ).all()
    visible = set(
        session.scalars(
            select(QuarantineOrder.id).where(
                QuarantineOrder.site_id == site.id,
                QuarantineOrder.status.in_(sites.HOLDS_BED),
                order_conditions(scope),
            )
        )
    )
    by_room: dict[int, list[tuple[QuarantineOrder, Person]]] = defaultdict(list)
    for order, person in held:
        by_room[order.room_id or 0].append((order, person))
    rows = []
    for room in sorted(site.rooms, key=lambda r: room_order(r.room_no)):
        inside = by_room.get(room.id, [])
        rows.append(
            {
                "room_no": room.room_no,
                "beds": room.beds,
                "in_service": room.in_service,
                "single_only": room.single_only,
                "held": len(inside),
                "people": [brief(o, p) for o, p in inside if o.id in visible],
                "others": sum(o.id not in visible for o, _ in inside),
            }
        )
    return rows


def worklist_rows(tests: list[site_swabs.SiteTest]) -> list[dict[str, Any]]:
    return [
        {
            "room_no": t.room_no or "",
            "order_no": t.order_no,
            "person_no": t.person_no,
            "name": t.name or "",
            "due_on": t.due_on,
            "stage": STAGE_LABELS.get(t.stage, t.stage),
            "number": t.number,
            "two_labs": t.two_labs,
            "state": t.state,
            "state_label": t.state_label,
            "overdue": t.overdue,
            "round_code": t.round_code or "",
            "sampled_at": local_time(t.sampled_at),
        }
        for t in tests
    ]


def calendar_strip(
    plan_stages: Iterable[StagePlan],
    tests: Iterable[QuarantineSwab],
    today: date,
    *,
    at_site: bool = False,
) -> list[dict[str, Any]]:
    """One cell per day of the order, first to last: its stage, the day of the stage, the
    tests due that day with their states (overdue when the day passed untested while the
    person is at the site), and whether it is today."""
    by_day: dict[date, list[QuarantineSwab]] = defaultdict(list)
    for t in tests:
        by_day[t.due_on].append(t)
    cells = []
    for stage in plan_stages:
        for n in range(1, stage.days + 1):
            day = stage.first_day + timedelta(days=n - 1)
            cells.append(
                {
                    "day": day,
                    "label": f"{day.month}/{day.day}",
                    "stage": stage.kind,
                    "stage_label": stage.label,
                    "stage_day": n,
                    "first": n == 1,
                    "tests": [
                        _test_row(t, at_site=at_site, today=today)
                        for t in by_day.get(day, [])
                        if t.stage == stage.kind
                    ],
                    "marked": day == today,
                }
            )
    return cells


def _test_row(t: QuarantineSwab, *, at_site: bool, today: date) -> dict[str, Any]:
    return {
        "due_on": t.due_on,
        "stage": STAGE_LABELS.get(t.stage, t.stage),
        "number": t.number,
        "two_labs": t.two_labs,
        "state": t.state,
        "state_label": site_swabs.STATE_LABELS.get(t.state, t.state),
        # a day passed without a usable tube, while the person is (or should be) at the site
        "overdue": at_site and t.due_on < today and t.state in site_swabs.OPEN,
        "round_code": t.round_code or "",
        "sampled_at": local_time(t.sampled_at),
        "resulted_at": local_time(t.resulted_at),
    }


def _status_label(status: str | None) -> str:
    return STATUS_LABELS.get(OrderStatus(status), status) if status else ""


def order_timeline(session: Session, order: QuarantineOrder, today: date) -> dict[str, Any]:
    """Everything the order page shows of one order: facts, its days on a calendar strip,
    its tests, every move with who and why (its monitoring reports and tasks are home
    monitoring's: ``monitoring.views.order_lines``)."""
    person = session.get_one(Person, order.person_id)
    plan = stages.load(order)
    tests = list(
        session.scalars(
            select(QuarantineSwab)
            .where(QuarantineSwab.order_id == order.id)
            .order_by(QuarantineSwab.due_on, QuarantineSwab.id)
        )
    )
    cases = cases_service.case_nos_by_id(session, (order.case_id, order.converted_case_id))
    transfer = session.get(TransferTask, order.transfer_id) if order.transfer_id else None
    at_site = order.status in site_swabs.AT_SITE
    return {
        "order": order,
        "brief": brief(order, person),
        "source": SOURCE_LABELS.get(order.source, order.source),
        "case_no": cases.get(order.case_id or 0),
        "converted_case_no": cases.get(order.converted_case_id or 0),
        "transfer": transfer,
        "transfer_label": TRANSFER_LABELS.get(transfer.status, "") if transfer else "",
        "site": order.site,
        "stages": [
            {"kind": s.kind, "label": s.label, "first": s.first_day, "last": s.last_day}
            for s in plan.stages
        ],
        "strip": calendar_strip(plan.stages, tests, today, at_site=at_site),
        "tests": [_test_row(t, at_site=at_site, today=today) for t in tests],
        "transitions": [
            {
                "from": _status_label(t.from_status),
                "to": _status_label(t.to_status),
                "at": local_time(t.at),
                "by": t.by,
                "why": t.why,
            }
            for t in order.transitions
        ],
        "lost": order.status == OrderStatus.lost.value,
        "lost_from": _status_label(order.lost_from),
    }
