"""A day's quarantine plan in one action (RULES §3): the day's new close and secondary
contacts (tracing) and its discharged cases (the registry) get their orders, the contacts
are marked under control, and everyone waiting gets a room and a transfer.

Nobody is put in quarantine who is a positive already: a positive goes to the designated
hospital, whichever district registered the case.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.cases import service as cases
from fangkong.clock import day_bounds
from fangkong.people import access as people_access
from fangkong.people import service as people
from fangkong.policy import Policy
from fangkong.quarantine import orders, placement, service
from fangkong.tracing import service as tracing

# Contacts older than this and never placed are left to a person to decide: their
# quarantine would already be over.
CONTACT_LOOKBACK_DAYS = 14


def contact_orders(
    session: Session, *, day: date, policy: Policy, now: datetime, actor: str, scope: Jurisdiction
) -> orders.MadeOrders:
    """Orders for the close and secondary contacts found by ``day`` (the last
    ``CONTACT_LOOKBACK_DAYS`` days) not yet under control; they are under control after."""
    found = tracing.contacts_to_control(
        session,
        found_from=day_bounds(day - timedelta(days=CONTACT_LOOKBACK_DAYS - 1))[0],
        found_until=day_bounds(day)[1],
        scope=scope,
    )
    positives = cases.persons_with_case(
        session, {c.person_id for c in found}, reported_by=day
    ).keys()
    made, controlled = orders.orders_from_contacts(
        session,
        day=day,
        found=[
            orders.ContactFound(
                contact_id=c.contact_id,
                degree=c.degree,
                case_id=c.case_id,
                person=orders.Home(
                    c.person_id, c.person_no, c.district_code, c.street_code, c.community_id
                ),
            )
            for c in found
        ],
        positives=positives,
        policy=policy,
        now=now,
        actor=actor,
    )
    tracing.mark_controlled(session, contact_ids=controlled, now=now)
    return made


def discharge_orders(
    session: Session, *, day: date, policy: Policy, now: datetime, actor: str, scope: Jurisdiction
) -> orders.MadeOrders:
    """Rehabilitation observation for the cases discharged on ``day`` who live in
    ``scope`` (an order belongs to the person's home area)."""
    discharged = cases.discharged_on(session, day=day)
    persons = people.persons_by_id(session, [c.person_id for c in discharged if c.person_id])
    return orders.orders_from_discharges(
        session,
        discharges=[
            orders.Discharge(c.id, c.case_no, day, orders.Home.of(persons[c.person_id]))
            for c in discharged
            if c.person_id in persons and people_access.person_visible(scope, persons[c.person_id])
        ],
        policy=policy,
        now=now,
        actor=actor,
    )


def plan_day(
    session: Session,
    *,
    day: date,
    policy: Policy,
    now: datetime,
    actor: str,
    scope: Jurisdiction,
    split_households: bool = False,
) -> service.DayPlan:
    """One action for a day: orders for its new contacts and discharges, then rooms and
    transfers for everyone waiting (today's and anyone an earlier day could not place)."""
    contacts = contact_orders(session, day=day, policy=policy, now=now, actor=actor, scope=scope)
    discharges = discharge_orders(
        session, day=day, policy=policy, now=now, actor=actor, scope=scope
    )
    placed = placement.place(
        session, day=day, now=now, actor=actor, scope=scope, split_households=split_households
    )
    return service.DayPlan(day, contacts, discharges, placed)
