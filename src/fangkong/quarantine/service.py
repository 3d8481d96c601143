"""Quarantine orders: made from contacts, discharges or by hand; placed in rooms with a
transfer each; released by the edition's rule; lost and found again (RULES §3).

An order's day 1 is the day it is made (the day the person comes under control); its
stages, test days and rule are the edition's at that moment and stay with the order. At
most one order per person is in force: a person who is a contact of several cases, or of
the same case again, keeps the order they have.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import OutsideJurisdiction
from fangkong.cases.models import Case
from fangkong.clock import LOCAL_TZ
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people import service as people_service
from fangkong.people.models import Building, Community, Compound, Person
from fangkong.policy import Policy
from fangkong.quarantine import assignment, site_tests, stages
from fangkong.quarantine.models import (
    OrderTransition,
    QuarantineOrder,
    QuarantineSite,
    QuarantineTest,
    SiteRoom,
    TransferTask,
)
from fangkong.quarantine.moves import active_order, change_status
from fangkong.quarantine.orders import ACTIVE, OrderStatus, initial_status
from fangkong.quarantine.schedule import PERSON_LABELS, Schedule, person_kind, schedule
from fangkong.quarantine.scope import check_site, order_conditions, order_visible
from fangkong.quarantine.sites import HOLDS_BED
from fangkong.regions import service as regions
from fangkong.storage.db import Base
from fangkong.tracing.models import Contact
from fangkong.tracing.rules import ContactStatus

IN_BATCH = 5000  # ids per IN (…): well inside every database's limit on parameters
# Contacts older than this and never placed are left to a person to decide: their
# quarantine would already be over.
CONTACT_LOOKBACK_DAYS = 14
SOURCES = ("contact", "discharge", "manual")


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ)


# ---------------------------------------------------------------- making orders


class Home(NamedTuple):
    """Who an order is for and where they live (the order keeps the area, for jurisdiction
    and the community's lists)."""

    id: int
    person_no: str
    district_code: str | None
    street_code: str | None
    community_id: int | None

    @classmethod
    def of(cls, person: Person) -> Home:
        return cls(
            person.id,
            person.person_no,
            person.district_code,
            person.street_code,
            person.community_id,
        )


HOME_COLUMNS = (
    Person.id,
    Person.person_no,
    Person.district_code,
    Person.street_code,
    Person.community_id,
)


@dataclass(frozen=True)
class OrderSpec:
    """What an order is made from: who, as what kind of person, from which day, and why."""

    person: Home
    kind: str
    start_on: date
    source: str
    why: str
    contact_id: int | None = None
    case_id: int | None = None
    note: str | None = None


def _order_numbers(session: Session, day: date, count: int) -> list[str]:
    prefix = f"Q{day:%Y%m%d}-"
    taken = (
        session.scalar(select(func.count()).where(QuarantineOrder.order_no.like(prefix + "%"))) or 0
    )
    return [f"{prefix}{taken + i:05d}" for i in range(1, count + 1)]


M = TypeVar("M", QuarantineOrder, TransferTask)


def _table(model: type[Base]) -> Table:
    """A model's table, for Core bulk statements (no ORM bookkeeping per row)."""
    return cast(Table, model.__table__)


def _load_by(session: Session, model: type[M], key: Any, values: Sequence[object]) -> dict[str, M]:
    """Rows just inserted, as objects, by their unique number."""
    found: dict[str, M] = {}
    for i in range(0, len(values), IN_BATCH):
        for obj in session.scalars(select(model).where(key.in_(values[i : i + IN_BATCH]))):
            found[getattr(obj, key.key)] = obj
    return found


def create_orders(
    session: Session,
    specs: Sequence[OrderSpec],
    *,
    policy: Policy,
    now: datetime,
    actor: str,
) -> list[QuarantineOrder | None]:
    """Orders for ``specs`` under ``policy``, in bulk (a day's contacts are thousands):
    one insert of the orders, then of their first transitions and scheduled tests. None in
    place of a person the edition does not manage. The caller has made sure nobody has an
    order in force (``create_order`` checks it for one person)."""
    plans: dict[tuple[str, date], Schedule | None] = {}
    for spec in specs:
        if spec.source not in SOURCES:
            raise InvalidInput(f"source: one of {', '.join(SOURCES)}", source=spec.source)
        key = (spec.kind, spec.start_on)
        if key not in plans:
            plans[key] = schedule(spec.kind, spec.start_on, policy)
    numbers: dict[date, list[str]] = {}
    for day in {spec.start_on for spec in specs if plans[(spec.kind, spec.start_on)]}:
        wanted = sum(1 for x in specs if x.start_on == day and plans[(x.kind, x.start_on)])
        numbers[day] = _order_numbers(session, day, wanted)[::-1]
    rows: list[dict[str, object]] = []
    dumped: dict[tuple[str, date], str] = {}
    for spec in specs:
        key = (spec.kind, spec.start_on)
        plan = plans[key]
        if plan is None:
            continue
        if key not in dumped:
            dumped[key] = stages.dump(plan)
        person = spec.person
        rows.append(
            {
                "order_no": numbers[spec.start_on].pop(),
                "person_id": person.id,
                "person_kind": plan.person_kind.value,
                "kind": plan.stages[0].kind,
                "stages": dumped[key],
                "start_on": plan.start,
                "planned_end": plan.end,
                "hand_over_on": plan.hand_over,
                "rule": plan.rule,
                "source": spec.source,
                "contact_id": spec.contact_id,
                "case_id": spec.case_id,
                "status": initial_status(plan.stages[0].kind).value,
                "district_code": person.district_code,
                "street_code": person.street_code,
                "community_id": person.community_id,
                "note": spec.note,
                "created_by": actor,
                "created_at": now,
                "updated_at": now,
            }
        )
    if not rows:
        return [None] * len(specs)
    # One Core executemany, then the orders read back by number: RETURNING in parameter
    # order makes SQLite insert row by row, ten times slower on a day's contacts.
    session.execute(insert(_table(QuarantineOrder)), rows)
    by_no = _load_by(
        session, QuarantineOrder, QuarantineOrder.order_no, [r["order_no"] for r in rows]
    )
    inserted = iter(by_no[str(r["order_no"])] for r in rows)
    made = [next(inserted) if plans[(x.kind, x.start_on)] else None for x in specs]
    whys = [spec.why for spec, o in zip(specs, made, strict=True) if o is not None]
    orders = [o for o in made if o is not None]
    session.execute(
        insert(_table(OrderTransition)),  # Core: no ORM bookkeeping per row
        [
            {
                "order_id": o.id,
                "from_status": None,
                "to_status": o.status,
                "at": now,
                "by": actor,
                "why": why,
            }
            for o, why in zip(orders, whys, strict=True)
        ],
    )
    # Every order of one plan has the same test days: laid out once per plan.
    days: dict[tuple[str, date], list[dict[str, object]]] = {
        key: site_tests.test_rows(plan) for key, plan in plans.items() if plan is not None
    }
    tests = [
        {"order_id": o.id, **row}
        for o, spec in zip(made, specs, strict=True)
        if o is not None
        for row in days[(spec.kind, spec.start_on)]
    ]
    if tests:
        session.execute(insert(_table(QuarantineTest)), tests)
    return made


def create_order(
    session: Session, spec: OrderSpec, *, policy: Policy, now: datetime, actor: str
) -> QuarantineOrder | None:
    """An order for one person as ``spec.kind`` (close, secondary, …) from ``spec.start_on``
    (day 1) under ``policy``; None when the edition does not manage that kind of person.
    Refused while the person has an order in force."""
    if schedule(spec.kind, spec.start_on, policy) is None:
        return None
    current = active_order(session, spec.person.id)
    if current is not None:
        raise Conflict(
            f"{spec.person.person_no} already has order {current.order_no} in force",
            order_no=current.order_no,
        )
    return create_orders(session, [spec], policy=policy, now=now, actor=actor)[0]


@dataclass
class MadeOrders:
    orders: list[QuarantineOrder] = field(default_factory=list)
    already: int = 0  # the person had an order in force
    cases: int = 0  # the person is a case already
    not_managed: Counter[str] = field(default_factory=Counter)  # kind → count


def orders_from_contacts(
    session: Session,
    *,
    day: date,
    policy: Policy,
    now: datetime,
    actor: str,
    scope: Jurisdiction,
) -> MadeOrders:
    """An order for every close and secondary contact found by ``day`` (the last
    ``CONTACT_LOOKBACK_DAYS`` days) not yet under control; the contacts become
    ``controlled``. A person who is a contact of several cases gets one order, as the
    strongest of their degrees."""
    since = _start_of(day - timedelta(days=CONTACT_LOOKBACK_DAYS - 1))
    until = _start_of(day + timedelta(days=1))
    rows = session.execute(
        select(Contact.id, Contact.degree, Contact.case_id, *HOME_COLUMNS)
        .join(Person, Person.id == Contact.person_id)
        .where(
            Contact.degree.in_(("close", "secondary")),
            Contact.status != ContactStatus.controlled.value,
            Contact.first_found_at >= since,
            Contact.first_found_at < until,
            people_service.person_scope(scope),
        )
        .order_by(Contact.person_id, Contact.degree, Contact.id)  # "close" < "secondary"
    ).all()
    made = MadeOrders()
    cases = set(
        session.scalars(
            select(Case.person_id).where(
                Case.person_id.in_({row.id for row in rows}), Case.reported_on <= day
            )
        )
    )
    # person → (contact id, degree, case id) of each of their contacts, strongest first
    by_person: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    persons: dict[int, Home] = {}
    for row in rows:
        contact_id, degree, case_id = row[0], row[1], row[2]
        person = Home(row[3], row[4], row[5], row[6], row[7])
        if person.id in cases:  # a positive goes to the designated hospital, not a site
            made.cases += 1
            continue
        by_person[person.id].append((contact_id, degree, case_id))
        persons[person.id] = person
    in_force = set(
        session.scalars(
            select(QuarantineOrder.person_id).where(
                QuarantineOrder.person_id.in_(list(by_person)),
                QuarantineOrder.status.in_([s.value for s in ACTIVE]),
            )
        )
    )
    specs: list[OrderSpec] = []
    controlled: list[int] = []
    for person_id, contacts in by_person.items():
        controlled.extend(contact_id for contact_id, _, _ in contacts)
        if person_id in in_force:
            made.already += 1
            continue
        contact_id, degree, case_id = contacts[0]  # the strongest degree
        specs.append(
            OrderSpec(
                person=persons[person_id],
                kind=degree,
                start_on=day,
                source="contact",
                why=f"{PERSON_LABELS[person_kind(degree)]}，流调判定",
                contact_id=contact_id,
                case_id=case_id,
            )
        )
    for spec, order in zip(
        specs, create_orders(session, specs, policy=policy, now=now, actor=actor), strict=True
    ):
        if order is None:
            made.not_managed[spec.kind] += 1
        else:
            made.orders.append(order)
    for chunk in range(0, len(controlled), 5000):
        session.execute(
            update(Contact)
            .where(Contact.id.in_(controlled[chunk : chunk + 5000]))
            .values(status=ContactStatus.controlled.value, updated_at=now)
            .execution_options(synchronize_session=False)  # no Contact is loaded here
        )
    return made


def orders_from_discharges(
    session: Session,
    *,
    day: date,
    policy: Policy,
    now: datetime,
    actor: str,
    scope: Jurisdiction,
) -> MadeOrders:
    """Rehabilitation observation (康复医学观察) for every case discharged on ``day``."""
    rows = session.execute(
        select(Case, Person)
        .join(Person, Person.id == Case.person_id)
        .where(Case.discharged_on == day, people_service.person_scope(scope))
        .order_by(Case.id)
    ).all()
    made = MadeOrders()
    for case, person in rows:
        if session.scalar(
            select(QuarantineOrder.id).where(
                QuarantineOrder.case_id == case.id, QuarantineOrder.source == "discharge"
            )
        ):
            continue  # made on an earlier run
        if active_order(session, person.id) is not None:
            made.already += 1
            continue
        spec = OrderSpec(
            person=Home.of(person),
            kind="discharged",
            start_on=day + timedelta(days=1),
            source="discharge",
            why=f"病例 {case.case_no} 出院",
            case_id=case.id,
        )
        order = create_order(session, spec, policy=policy, now=now, actor=actor)
        if order is None:
            made.not_managed["discharged"] += 1
        else:
            made.orders.append(order)
    return made


def order_by_hand(
    session: Session,
    *,
    person_no: str,
    kind: str,
    start_on: date,
    note: str | None,
    policy: Policy,
    now: datetime,
    actor: str,
    scope: Jurisdiction,
) -> QuarantineOrder:
    person = people_service.get_person(session, person_no=person_no, scope=scope)
    person_kind(kind)  # an unknown kind is refused before anything else
    spec = OrderSpec(
        person=Home.of(person),
        kind=kind,
        start_on=start_on,
        source="manual",
        why=note or "手工登记",
        note=note,
    )
    order = create_order(session, spec, policy=policy, now=now, actor=actor)
    if order is None:
        raise InvalidInput(
            f"policy {policy.edition} does not quarantine {PERSON_LABELS[person_kind(kind)]}",
            kind=kind,
        )
    return order


# ---------------------------------------------------------------- placing and transfer


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
    parts = (person.community, person.compound, person.building, person.room)
    return " ".join(p for p in parts if p) or None


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
    pickup = max(now, _start_of(day))
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
    session.execute(insert(_table(TransferTask)), task_rows)
    by_no = _load_by(session, TransferTask, TransferTask.task_no, [r["task_no"] for r in task_rows])
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
    table = _table(QuarantineOrder)
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


@dataclass
class DayPlan:
    day: date
    contacts: MadeOrders
    discharges: MadeOrders
    placement: Placement

    @property
    def at_home(self) -> list[QuarantineOrder]:
        made = self.contacts.orders + self.discharges.orders
        return [o for o in made if o.status == OrderStatus.in_quarantine.value]


def plan_day(
    session: Session,
    *,
    day: date,
    policy: Policy,
    now: datetime,
    actor: str,
    scope: Jurisdiction,
    split_households: bool = False,
) -> DayPlan:
    """One action for a day: orders for its new contacts and discharges, then rooms and
    transfers for everyone waiting (today's and anyone an earlier day could not place)."""
    contacts = orders_from_contacts(
        session, day=day, policy=policy, now=now, actor=actor, scope=scope
    )
    discharges = orders_from_discharges(
        session, day=day, policy=policy, now=now, actor=actor, scope=scope
    )
    placement = place(
        session, day=day, now=now, actor=actor, scope=scope, split_households=split_households
    )
    return DayPlan(day, contacts, discharges, placement)


def get_task(session: Session, task_no: str, *, scope: Jurisdiction) -> TransferTask:
    task = session.scalar(
        select(TransferTask)
        .where(TransferTask.task_no == task_no)
        .options(selectinload(TransferTask.site))
    )
    if task is None:
        raise NotFound(f"no transfer task {task_no!r}", task_no=task_no)
    if scope.kind == "site":
        check_site(scope, task.site)
    elif not people_service.covers(
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
        query = query.where(
            people_service.area_condition(
                scope,
                TransferTask.district_code,
                TransferTask.street_code,
                TransferTask.community_id,
            )
        )
    return list(session.scalars(query.order_by(TransferTask.pickup_at, TransferTask.task_no)))


# ---------------------------------------------------------------- release and completion


@dataclass
class Releases:
    released: list[QuarantineOrder] = field(default_factory=list)  # then home or completed
    completed: list[QuarantineOrder] = field(default_factory=list)
    held: list[tuple[QuarantineOrder, list[str]]] = field(default_factory=list)


def _ending_stage(plan: Schedule, order: QuarantineOrder, day: date) -> int | None:
    """Index of the stage that ends the order's present status by ``day``, or None.

    In quarantine at a site, that is the centralized first stage; in quarantine at home
    (an order that started at home) or in home monitoring, it is the last stage."""
    if order.status == OrderStatus.in_quarantine.value and plan.stages[0].kind == "centralized":
        index = 0
    elif order.status in (OrderStatus.in_quarantine.value, OrderStatus.in_home_monitoring.value):
        index = len(plan.stages) - 1
    else:
        return None
    return index if plan.stages[index].last_day <= day else None


def release_day(
    session: Session,
    *,
    day: date,
    now: datetime,
    actor: str,
    scope: Jurisdiction,
) -> Releases:
    """Release everyone whose centralized stage ends by ``day`` and whose tests are all
    negative (to home monitoring when the schedule has it, else completed); complete
    everyone whose last stage ends by ``day``. Who cannot go yet is held, with why."""
    candidates = list(
        session.scalars(
            select(QuarantineOrder)
            .where(
                QuarantineOrder.status.in_(
                    (OrderStatus.in_quarantine.value, OrderStatus.in_home_monitoring.value)
                ),
                QuarantineOrder.start_on <= day,
                order_conditions(scope),
            )
            .options(selectinload(QuarantineOrder.site))
            .order_by(QuarantineOrder.id)
        )
    )
    result = Releases()
    ending = []
    for order in candidates:
        plan = stages.load(order)
        index = _ending_stage(plan, order, day)
        if index is not None:
            ending.append((order, plan, index))
    tests: dict[tuple[int, str], dict[date, QuarantineTest]] = defaultdict(dict)
    ids = [order.id for order, _, _ in ending]
    for i in range(0, len(ids), IN_BATCH):
        for test in session.scalars(
            select(QuarantineTest).where(QuarantineTest.order_id.in_(ids[i : i + IN_BATCH]))
        ):
            tests[(test.order_id, test.stage)][test.due_on] = test
    for order, plan, index in ending:
        kind = plan.stages[index].kind
        check = site_tests.release_check(session, order, day, kind, tests[(order.id, kind)])
        if not check.allowed:
            result.held.append((order, list(check.reasons)))
            continue
        stage = plan.stages[index]
        last = index == len(plan.stages) - 1
        if order.status == OrderStatus.in_quarantine.value:
            # out of the site (or the end of home isolation): released, then home or done
            tested = "，核酸均阴性" if stage.test_dates else ""
            change_status(
                order,
                OrderStatus.released,
                at=now,
                by=actor,
                why=f"{stage.label}期满{tested}（{plan.rule}）",
            )
            result.released.append(order)
            if not last:
                nxt = plan.stages[index + 1]
                change_status(
                    order,
                    OrderStatus.in_home_monitoring,
                    at=now,
                    by=actor,
                    why=f"转{nxt.label}，交社区管理至 {plan.end.isoformat()}",
                )
                continue
        change_status(
            order,
            OrderStatus.completed,
            at=now,
            by=actor,
            why=f"{plan.stages[-1].label}期满（{plan.rule}）",
        )
        result.completed.append(order)
    return result


# ---------------------------------------------------------------- single orders


def get_order(session: Session, order_no: str, *, scope: Jurisdiction) -> QuarantineOrder:
    order = session.scalar(
        select(QuarantineOrder)
        .where(QuarantineOrder.order_no == order_no)
        .options(selectinload(QuarantineOrder.site), selectinload(QuarantineOrder.room))
    )
    if order is None or not order_visible(scope, order):
        raise NotFound(f"no quarantine order {order_no!r}", order_no=order_no)
    return order


def mark_lost(order: QuarantineOrder, *, now: datetime, actor: str, why: str) -> None:
    change_status(order, OrderStatus.lost, at=now, by=actor, why=why)


def mark_found(order: QuarantineOrder, *, now: datetime, actor: str, why: str) -> None:
    if order.status != OrderStatus.lost.value or order.lost_from is None:
        raise Conflict(f"order {order.order_no} is not lost", order_no=order.order_no)
    change_status(order, OrderStatus(order.lost_from), at=now, by=actor, why=why)


def list_orders(
    session: Session,
    *,
    scope: Jurisdiction,
    status: str | None = None,
    site_code: str | None = None,
    day: date | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[tuple[QuarantineOrder, Person]], int]:
    """Orders visible in ``scope`` with their persons, newest first, and the total."""
    conditions = [order_conditions(scope)]
    if status:
        if status not in {s.value for s in OrderStatus}:
            raise InvalidInput(f"unknown status {status!r}", status=status)
        conditions.append(QuarantineOrder.status == status)
    if site_code:
        conditions.append(
            QuarantineOrder.site_id.in_(
                select(QuarantineSite.id).where(QuarantineSite.code == site_code).scalar_subquery()
            )
        )
    if day:
        conditions.extend([QuarantineOrder.start_on <= day, QuarantineOrder.planned_end >= day])
    total = session.scalar(select(func.count()).select_from(QuarantineOrder).where(*conditions))
    rows = session.execute(
        select(QuarantineOrder, Person)
        .join(Person, Person.id == QuarantineOrder.person_id)
        .where(*conditions)
        .options(selectinload(QuarantineOrder.site), selectinload(QuarantineOrder.room))
        .order_by(QuarantineOrder.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [(o, p) for o, p in rows], total or 0


def orders_of_person(
    session: Session, person: Person, *, scope: Jurisdiction
) -> list[QuarantineOrder]:
    orders = session.scalars(
        select(QuarantineOrder)
        .where(QuarantineOrder.person_id == person.id)
        .options(
            selectinload(QuarantineOrder.transitions),
            selectinload(QuarantineOrder.site),
            selectinload(QuarantineOrder.room),
        )
        .order_by(QuarantineOrder.id)
    )
    return [o for o in orders if order_visible(scope, o)]


def releases_due(
    session: Session, *, day: date, scope: Jurisdiction
) -> list[tuple[QuarantineOrder, Person]]:
    """Orders whose centralized stage or whole schedule ends on ``day`` (today's releases)."""
    rows = session.execute(
        select(QuarantineOrder, Person)
        .join(Person, Person.id == QuarantineOrder.person_id)
        .where(
            QuarantineOrder.status.in_(
                (OrderStatus.in_quarantine.value, OrderStatus.in_home_monitoring.value)
            ),
            order_conditions(scope),
            QuarantineOrder.start_on <= day,
        )
        .options(selectinload(QuarantineOrder.site), selectinload(QuarantineOrder.room))
        .order_by(QuarantineOrder.site_id, QuarantineOrder.id)
    ).all()
    due = []
    for order, person in rows:
        plan = stages.load(order)
        index = _ending_stage(plan, order, day)
        if index is not None and plan.stages[index].last_day == day:
            due.append((order, person))
    return due


def room_label(order: QuarantineOrder) -> str | None:
    if order.site is None:
        return None
    room: SiteRoom | None = order.room
    return f"{order.site.name} {room.room_no}" if room else order.site.name
