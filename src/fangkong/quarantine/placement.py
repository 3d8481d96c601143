"""Placing people: rooms for every order waiting for one (``assignment`` decides), a transfer
task (转运) per household and site, its dispatch, delivery or cancellation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import OutsideJurisdiction
from fangkong.clock import day_bounds
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people.joins import Building, Community, Compound, Person
from fangkong.people.masking import address_line
from fangkong.quarantine import assignment
from fangkong.quarantine.models import (
    QuarantineOrder,
    QuarantineSite,
    SiteRoom,
    TransferTask,
)
from fangkong.quarantine.scope import TRANSFERS, order_conditions, site_visible
from fangkong.quarantine.sites import HOLDS_BED
from fangkong.quarantine.status import OrderStatus
from fangkong.quarantine.transitions import change_status
from fangkong.regions import service as regions
from fangkong.storage.bulk import IN_BATCH, load_by, table_of


@dataclass
class Placement:
    placed: list[QuarantineOrder] = field(default_factory=list)
    unplaced: list[tuple[QuarantineOrder, str]] = field(default_factory=list)
    transfers: list[TransferTask] = field(default_factory=list)


def _site_location(site: QuarantineSite) -> tuple[float, float]:
    if site.lon is not None and site.lat is not None:
        return site.lon, site.lat
    centre = regions.district_centers(site.city_code).get(site.district_code)
    if centre is None:
        raise InvalidInput(f"site {site.code} has no location", site=site.code)
    return centre


def _free_rooms(session: Session, sites: Sequence[QuarantineSite]) -> list[assignment.Room]:
    """The in-service rooms of ``sites`` nobody holds: a room is never shared between
    households."""
    held = select(QuarantineOrder.room_id).where(
        QuarantineOrder.room_id.is_not(None), QuarantineOrder.status.in_(HOLDS_BED)
    )
    rows = session.execute(
        select(SiteRoom.id, SiteRoom.site_id, SiteRoom.beds).where(
            SiteRoom.site_id.in_([s.id for s in sites]),
            SiteRoom.in_service.is_(True),
            SiteRoom.id.not_in(held),
        )
    )
    return [assignment.Room(str(room), str(site), beds) for room, site, beds in rows]


def _pickup_address(person: Any) -> str | None:
    """Where the team picks a household up: community, compound, building, room."""
    return address_line(person.community, person.compound, person.building, person.room, full=True)


def _task_numbers(session: Session, day: date, count: int) -> list[str]:
    prefix = f"T{day:%Y%m%d}-"
    taken = session.scalar(select(func.count()).where(TransferTask.task_no.like(prefix + "%"))) or 0
    return [f"{prefix}{taken + i:05d}" for i in range(1, count + 1)]


def place(
    session: Session,
    *,
    day: date,
    now: datetime,
    actor: str,
    scope: Jurisdiction,
    split_households: bool = False,
) -> Placement:
    """Put every order waiting for a room (in ``scope``) in a room of an open site of the
    city: households together, nearest site first, never over capacity (see
    ``assignment``); then one transfer task per household and site."""
    if not scope.is_area or scope.city_code is None:
        raise OutsideJurisdiction("placing people needs an area jurisdiction")
    waiting = list(
        session.scalars(
            select(QuarantineOrder)
            .where(
                QuarantineOrder.status == OrderStatus.pending_transfer.value,
                QuarantineOrder.room_id.is_(None),
                order_conditions(scope),
            )
            .order_by(QuarantineOrder.id)
        )
    )
    result = Placement()
    if not waiting:
        return result
    sites = list(
        session.scalars(
            select(QuarantineSite).where(
                QuarantineSite.city_code == scope.city_code,
                QuarantineSite.status == "open",
                QuarantineSite.kind == "centralized_site",
            )
        )
    )
    persons: dict[int, Any] = {}
    wanted = [o.person_id for o in waiting]
    for i in range(0, len(wanted), IN_BATCH):
        for row in session.execute(
            select(
                Person.id,
                Person.household_id,
                Person.district_code,
                Person.street_code,
                Person.community_id,
                Community.name.label("community"),
                Compound.name.label("compound"),
                Building.name.label("building"),
                Person.room,
            )
            .outerjoin(Community, Community.id == Person.community_id)
            .outerjoin(Compound, Compound.id == Person.compound_id)
            .outerjoin(Building, Building.id == Person.building_id)
            .where(Person.id.in_(wanted[i : i + IN_BATCH]))
        ):
            persons[row.id] = row
    centres = regions.district_centers(scope.city_code)
    people = []
    for order in waiting:
        person = persons[order.person_id]
        lon, lat = centres.get(person.district_code or "", (None, None))
        people.append(
            assignment.Person(
                person_id=str(order.id),
                household=f"h{person.household_id}" if person.household_id else None,
                lon=lon,
                lat=lat,
            )
        )
    site_refs = [
        assignment.Site(str(s.id), s.name, *_site_location(s), s.district_code) for s in sites
    ]
    plan = assignment.assign_rooms(
        people, _free_rooms(session, sites), site_refs, split_households=split_households
    )
    by_id = {str(o.id): o for o in waiting}
    groups: dict[tuple[str, str], list[QuarantineOrder]] = defaultdict(list)
    for key in plan.placed:
        order = by_id[key]
        person = persons[order.person_id]
        household = f"h{person.household_id}" if person.household_id else f"p{person.id}"
        groups[(household, plan.site_of[key])].append(order)
        result.placed.append(order)
    for miss in plan.unplaced:
        result.unplaced.append((by_id[miss.person_id], miss.reason.value))
    pickup = max(now, day_bounds(day)[0])
    numbers = _task_numbers(session, day, len(groups))
    task_rows = []
    for number, ((_, site_id), orders) in zip(numbers, sorted(groups.items()), strict=True):
        first = persons[orders[0].person_id]
        task_rows.append(
            {
                "task_no": number,
                "site_id": int(site_id),
                "pickup_address": _pickup_address(first),
                "pickup_at": pickup,
                "persons": len(orders),
                "district_code": first.district_code,
                "street_code": first.street_code,
                "community_id": first.community_id,
                "status": "pending",
                "created_by": actor,
                "created_at": now,
            }
        )
    if not task_rows:
        return result
    session.execute(insert(table_of(TransferTask)), task_rows)
    by_no = load_by(session, TransferTask, TransferTask.task_no, [r["task_no"] for r in task_rows])
    result.transfers = [by_no[str(r["task_no"])] for r in task_rows]
    # One UPDATE for every placed order (thousands on a bad day), then the loaded objects
    # take the same values as committed state, so that nothing is written twice.
    placed: list[tuple[QuarantineOrder, dict[str, Any]]] = []
    for task, orders in zip(result.transfers, (g for _, g in sorted(groups.items())), strict=True):
        for order in orders:
            key = str(order.id)
            values = {
                "room_id": int(plan.placed[key]),
                "site_id": int(plan.site_of[key]),
                "transfer_id": task.id,
                "updated_at": now,
            }
            placed.append((order, values))
    table = table_of(QuarantineOrder)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("order_id"))
        .values({column: bindparam(f"new_{column}") for column in placed[0][1]}),
        [{"order_id": o.id, **{f"new_{k}": v for k, v in values.items()}} for o, values in placed],
    )
    for order, values in placed:
        for column, value in values.items():
            set_committed_value(order, column, value)
    return result


def get_task(session: Session, task_no: str, *, scope: Jurisdiction) -> TransferTask:
    task = session.scalar(
        select(TransferTask)
        .where(TransferTask.task_no == task_no)
        .options(selectinload(TransferTask.site))
    )
    if task is None:
        raise NotFound(f"no transfer task {task_no!r}", task_no=task_no)
    if scope.kind == "site":
        if not site_visible(scope, task.site):
            raise NotFound(f"no transfer task {task_no!r}", task_no=task_no)
    elif not TRANSFERS.covers(
        scope,
        district_code=task.district_code,
        street_code=task.street_code,
        community_id=task.community_id,
    ):
        raise NotFound(f"no transfer task {task_no!r}", task_no=task_no)
    return task


def _task_orders(session: Session, task: TransferTask) -> list[QuarantineOrder]:
    return list(
        session.scalars(
            select(QuarantineOrder)
            .where(QuarantineOrder.transfer_id == task.id)
            .order_by(QuarantineOrder.id)
        )
    )


def dispatch(
    task: TransferTask,
    *,
    vehicle: str | None,
    team: str | None,
    pickup_at: datetime | None,
) -> TransferTask:
    """Give a pending transfer its vehicle, team and time."""
    if task.status != "pending":
        raise Conflict(f"transfer {task.task_no} is {task.status}", task_no=task.task_no)
    if pickup_at is not None and pickup_at.tzinfo is None:
        raise InvalidInput("pickup_at needs a time zone")
    task.vehicle = vehicle if vehicle is not None else task.vehicle
    task.team = team if team is not None else task.team
    task.pickup_at = pickup_at or task.pickup_at
    return task


def transfer_done(
    session: Session, task: TransferTask, *, now: datetime, actor: str
) -> list[QuarantineOrder]:
    """The team delivered the household: its orders are in quarantine from now."""
    return transfers_done(session, [task], now=now, actor=actor)


def transfers_done(
    session: Session, tasks: Sequence[TransferTask], *, now: datetime, actor: str
) -> list[QuarantineOrder]:
    """Several deliveries at once (a site's evening intake): one query for their orders."""
    for task in tasks:
        if task.status != "pending":
            raise Conflict(f"transfer {task.task_no} is {task.status}", task_no=task.task_no)
    by_task: dict[int, list[QuarantineOrder]] = defaultdict(list)
    ids = [t.id for t in tasks]
    for i in range(0, len(ids), IN_BATCH):
        for order in session.scalars(
            select(QuarantineOrder)
            .where(QuarantineOrder.transfer_id.in_(ids[i : i + IN_BATCH]))
            .order_by(QuarantineOrder.id)
        ):
            by_task[order.transfer_id or 0].append(order)
    arrived = []
    for task in tasks:
        task.status, task.done_at, task.done_by = "done", now, actor
        for order in by_task[task.id]:
            if order.status == OrderStatus.pending_transfer.value:
                change_status(
                    order,
                    OrderStatus.in_quarantine,
                    at=now,
                    by=actor,
                    why=f"转运 {task.task_no} 送达 {task.site.name}",
                )
                arrived.append(order)
    return arrived


def cancel_transfer(
    session: Session, task: TransferTask, *, now: datetime, actor: str, why: str
) -> None:
    """Call a transfer off: its people wait for a room again (their beds are freed)."""
    if task.status != "pending":
        raise Conflict(f"transfer {task.task_no} is {task.status}", task_no=task.task_no)
    if not why.strip():
        raise InvalidInput("say why the transfer is cancelled")
    task.status, task.done_at, task.done_by = "cancelled", now, actor
    for order in _task_orders(session, task):
        if order.status == OrderStatus.pending_transfer.value:
            order.room_id = order.site_id = order.transfer_id = None
            order.updated_at = now


def transfers(
    session: Session, *, scope: Jurisdiction, status: str | None = "pending"
) -> list[TransferTask]:
    query = select(TransferTask).options(selectinload(TransferTask.site))
    if status:
        query = query.where(TransferTask.status == status)
    if scope.kind == "site":
        query = query.join(QuarantineSite).where(QuarantineSite.code == scope.code)
    else:
        query = query.where(TRANSFERS.condition(scope))
    return list(session.scalars(query.order_by(TransferTask.pickup_at, TransferTask.task_no)))


def pickup_areas(session: Session, tasks: Sequence[TransferTask]) -> dict[int, str | None]:
    """Where each task picks its household up, down to the compound only (for callers
    without ``person.pii.read``): the first rider's community and compound, by task id."""
    found: dict[int, str | None] = {}
    ids = [t.id for t in tasks]
    for i in range(0, len(ids), IN_BATCH):
        rows = session.execute(
            select(QuarantineOrder.transfer_id, Community.name, Compound.name)
            .join(Person, Person.id == QuarantineOrder.person_id)
            .outerjoin(Community, Community.id == Person.community_id)
            .outerjoin(Compound, Compound.id == Person.compound_id)
            .where(QuarantineOrder.transfer_id.in_(ids[i : i + IN_BATCH]))
            .order_by(QuarantineOrder.id)
        )
        for task_id, community, compound in rows:
            if task_id is not None and task_id not in found:
                found[task_id] = address_line(community, compound, full=False)
    return found
