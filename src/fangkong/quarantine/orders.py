"""Making quarantine orders: from the day's contacts, from discharges, by hand (RULES §3).

An order's day 1 is the day it is made (the day the person comes under control); its
stages, test days and rule are the edition's at that moment and stay with the order. At
most one order per person is in force: a person who is a contact of several cases, or of
the same case again, keeps the order they have. A day's orders are made in bulk.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple, Protocol

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.errors import Conflict, InvalidInput
from fangkong.people import service as people_service
from fangkong.policy import Policy
from fangkong.quarantine import site_swabs, stages
from fangkong.quarantine.models import (
    OrderTransition,
    QuarantineOrder,
    QuarantineSwab,
)
from fangkong.quarantine.schedule import PERSON_LABELS, Schedule, person_kind, schedule
from fangkong.quarantine.status import ACTIVE, initial_status
from fangkong.quarantine.transitions import active_order
from fangkong.storage.bulk import chunks, load_by, table_of

SOURCES = ("contact", "discharge", "manual")


class Home(NamedTuple):
    """Who an order is for and where they live (the order keeps the area, for jurisdiction
    and the community's lists)."""

    id: int
    person_no: str
    district_code: str | None
    street_code: str | None
    community_id: int | None

    @classmethod
    def of(cls, person: PersonLike) -> Home:
        return cls(
            person.id,
            person.person_no,
            person.district_code,
            person.street_code,
            person.community_id,
        )


class PersonLike(Protocol):
    """A registry person, or any row with the same columns."""

    @property
    def id(self) -> int: ...
    @property
    def person_no(self) -> str: ...
    @property
    def district_code(self) -> str | None: ...
    @property
    def street_code(self) -> str | None: ...
    @property
    def community_id(self) -> int | None: ...


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
    session.execute(insert(table_of(QuarantineOrder)), rows)
    by_no = load_by(
        session, QuarantineOrder, QuarantineOrder.order_no, [r["order_no"] for r in rows]
    )
    inserted = iter(by_no[str(r["order_no"])] for r in rows)
    made = [next(inserted) if plans[(x.kind, x.start_on)] else None for x in specs]
    whys = [spec.why for spec, o in zip(specs, made, strict=True) if o is not None]
    orders = [o for o in made if o is not None]
    session.execute(
        insert(table_of(OrderTransition)),  # Core: no ORM bookkeeping per row
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
        key: site_swabs.swab_rows(plan) for key, plan in plans.items() if plan is not None
    }
    tests = [
        {"order_id": o.id, **row}
        for o, spec in zip(made, specs, strict=True)
        if o is not None
        for row in days[(spec.kind, spec.start_on)]
    ]
    if tests:
        session.execute(insert(table_of(QuarantineSwab)), tests)
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


@dataclass(frozen=True)
class ContactFound:
    """A close or secondary contact tracing found, to be put under an order."""

    contact_id: int
    degree: str
    case_id: int
    person: Home


def orders_from_contacts(
    session: Session,
    *,
    day: date,
    found: Sequence[ContactFound],
    positives: Collection[int],
    policy: Policy,
    now: datetime,
    actor: str,
) -> tuple[MadeOrders, list[int]]:
    """An order (day 1 = ``day``) for every person among ``found`` who has none in force
    and is not a positive (``positives``: person ids; a positive goes to the designated
    hospital, not a site). A person who is a contact of several cases gets one order, as
    the strongest of their degrees. Returns the orders and the contacts now under control
    (every contact of a person with an order, new or already in force)."""
    made = MadeOrders()
    # person → their contacts, strongest degree first ("close" < "secondary")
    by_person: dict[int, list[ContactFound]] = defaultdict(list)
    for contact in sorted(found, key=lambda c: (c.person.id, c.degree, c.contact_id)):
        if contact.person.id in positives:
            made.cases += 1
            continue
        by_person[contact.person.id].append(contact)
    in_force: set[int] = set()
    for batch in chunks(list(by_person)):
        in_force.update(
            session.scalars(
                select(QuarantineOrder.person_id).where(
                    QuarantineOrder.person_id.in_(batch),
                    QuarantineOrder.status.in_([s.value for s in ACTIVE]),
                )
            )
        )
    specs: list[OrderSpec] = []
    controlled: list[int] = []
    for person_id, contacts in by_person.items():
        controlled.extend(c.contact_id for c in contacts)
        if person_id in in_force:
            made.already += 1
            continue
        strongest = contacts[0]
        specs.append(
            OrderSpec(
                person=strongest.person,
                kind=strongest.degree,
                start_on=day,
                source="contact",
                why=f"{PERSON_LABELS[person_kind(strongest.degree)]}，流调判定",
                contact_id=strongest.contact_id,
                case_id=strongest.case_id,
            )
        )
    for spec, order in zip(
        specs, create_orders(session, specs, policy=policy, now=now, actor=actor), strict=True
    ):
        if order is None:
            made.not_managed[spec.kind] += 1
        else:
            made.orders.append(order)
    return made, controlled


@dataclass(frozen=True)
class Discharge:
    """A case discharged from hospital, for rehabilitation observation."""

    case_id: int
    case_no: str
    day: date
    person: Home


def orders_from_discharges(
    session: Session,
    *,
    discharges: Sequence[Discharge],
    policy: Policy,
    now: datetime,
    actor: str,
) -> MadeOrders:
    """Rehabilitation observation (康复医学观察) from the day after each discharge."""
    made = MadeOrders()
    for discharge in discharges:
        if session.scalar(
            select(QuarantineOrder.id).where(
                QuarantineOrder.case_id == discharge.case_id,
                QuarantineOrder.source == "discharge",
            )
        ):
            continue  # made on an earlier run
        if active_order(session, discharge.person.id) is not None:
            made.already += 1
            continue
        spec = OrderSpec(
            person=discharge.person,
            kind="discharged",
            start_on=discharge.day + timedelta(days=1),
            source="discharge",
            why=f"病例 {discharge.case_no} 出院",
            case_id=discharge.case_id,
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
