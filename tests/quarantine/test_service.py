"""Orders on a real store: from contacts and discharges and by hand, a day's placement with
its transfers, arrival, release by the edition's rule, lost and found, conversion once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.errors import Conflict, InvalidInput
from fangkong.flows import quarantine_day
from fangkong.policy import load_policy
from fangkong.quarantine import board, placement, releases, service
from fangkong.quarantine import orders as quarantine_orders
from fangkong.quarantine.models import QuarantineOrder, QuarantineSwab, SiteRoom
from fangkong.quarantine.status import IllegalTransition, OrderStatus
from fangkong.quarantine.transitions import change_status
from fangkong.tracing.models import Contact

from .factories import CITY, DAY, NOW, case, contact, resident, site

ZIBO = load_policy("zibo-2022-03")
NINTH = load_policy("national-9")
MEASURES = load_policy("measures-20")


def plan(session: Session, policy=ZIBO, day: date = DAY) -> service.DayPlan:  # type: ignore[no-untyped-def]
    return quarantine_day.plan_day(
        session, day=day, policy=policy, now=NOW, actor="cdc", scope=CITY
    )


@pytest.fixture
def outbreak(session: Session) -> Session:
    """Case C1 with a household of three close contacts, one close contact alone and one
    secondary contact; site S01 with a 3-bed room and two single rooms."""
    index = resident(session, "P-INDEX")
    c1 = case(session, "C1", index)
    for i in range(3):
        contact(session, c1, resident(session, f"P-H{i}", household="HH-A"))
    contact(session, c1, resident(session, "P-SOLO"))
    contact(session, c1, resident(session, "P-SEC"), "secondary")
    site(session, "S01", rooms={"301": 3, "101": 1, "102": 1})
    return session


def orders(session: Session) -> dict[str, QuarantineOrder]:
    from fangkong.people.models import Person

    rows = session.execute(
        select(Person.person_no, QuarantineOrder).join(
            QuarantineOrder, QuarantineOrder.person_id == Person.id
        )
    ).all()
    return dict(rows)


def test_a_day_places_households_together_with_one_transfer_each(outbreak: Session) -> None:
    result = plan(outbreak)
    made = orders(outbreak)
    assert set(made) == {"P-H0", "P-H1", "P-H2", "P-SOLO", "P-SEC"}
    assert {o.status for o in made.values()} == {"pending_transfer"}
    assert made["P-SEC"].person_kind == "secondary"
    assert made["P-SEC"].kind == "centralized"
    # 淄博 (the 8th edition's close contacts): 14 days centralized, then 7 at home
    assert made["P-SOLO"].planned_end == DAY + timedelta(days=20)
    assert made["P-SOLO"].hand_over_on == DAY + timedelta(days=14)
    assert made["P-SOLO"].rule == "zibo-2022-03:quarantine.close"
    rooms = {no: outbreak.get_one(SiteRoom, o.room_id).room_no for no, o in made.items()}
    assert rooms["P-H0"] == rooms["P-H1"] == rooms["P-H2"] == "301"
    assert {rooms["P-SOLO"], rooms["P-SEC"]} == {"101", "102"}
    assert len(result.placement.transfers) == 3
    household = next(t for t in result.placement.transfers if t.persons == 3)
    assert household.pickup_address == "新建路社区 丝绸苑小区 1号楼 101"
    assert not result.placement.unplaced
    statuses = outbreak.scalars(select(Contact.status)).all()
    assert set(statuses) == {"controlled"}
    # every order starts with its creation on record, and its tests are scheduled
    assert made["P-SOLO"].transitions[0].to_status == "pending_transfer"
    tests = outbreak.scalars(
        select(QuarantineSwab.due_on).where(QuarantineSwab.order_id == made["P-SOLO"].id)
    ).all()
    assert tests
    assert min(tests) >= DAY


def test_planning_again_changes_nothing(outbreak: Session) -> None:
    plan(outbreak)
    again = plan(outbreak)
    assert again.contacts.orders == []
    assert again.placement.transfers == []
    assert len(orders(outbreak)) == 5


def test_a_contact_of_two_cases_gets_one_order_as_the_strongest(outbreak: Session) -> None:
    c2 = case(outbreak, "C2", resident(outbreak, "P-INDEX2"))
    sec = outbreak.scalar(select(Contact).where(Contact.degree == "secondary"))
    assert sec is not None
    from fangkong.people.models import Person

    contact(outbreak, c2, outbreak.get_one(Person, sec.person_id), "close")
    plan(outbreak)
    assert orders(outbreak)["P-SEC"].person_kind == "close"


def test_ninth_edition_isolates_secondary_contacts_at_home(outbreak: Session) -> None:
    result = plan(outbreak, NINTH)
    sec = orders(outbreak)["P-SEC"]
    assert (sec.kind, sec.status, sec.room_id) == ("home_isolation", "in_quarantine", None)
    assert [o.order_no for o in result.at_home] == [sec.order_no]
    assert orders(outbreak)["P-SOLO"].planned_end == DAY + timedelta(days=9)  # 7 + 3


def test_twenty_measures_do_not_manage_secondary_contacts(outbreak: Session) -> None:
    result = plan(outbreak, MEASURES)
    assert "P-SEC" not in orders(outbreak)
    assert result.contacts.not_managed == {"secondary": 1}


def test_never_over_capacity_and_the_rest_wait_with_a_reason(session: Session) -> None:
    c1 = case(session, "C1", resident(session, "P-INDEX"))
    for i in range(4):
        contact(session, c1, resident(session, f"P{i}"))
    site(session, "S01", rooms={"101": 1, "102": 1})
    result = plan(session)
    assert len(result.placement.placed) == 2
    assert [r for _, r in result.placement.unplaced] == ["no_capacity", "no_capacity"]
    assert board.board(session, day=DAY, scope=CITY).waiting_for_room == 2
    # a new site tomorrow takes the ones still waiting
    site(session, "S02", rooms={"201": 1, "202": 1}, lon=118.0)
    later = plan(session, day=DAY + timedelta(days=1))
    assert len(later.placement.placed) == 2
    assert not later.placement.unplaced


def test_paused_sites_take_nobody(session: Session) -> None:
    c1 = case(session, "C1", resident(session, "P-INDEX"))
    contact(session, c1, resident(session, "P0"))
    site(session, "S01", rooms={"101": 1}, status="paused")
    assert plan(session).placement.unplaced


def test_transfer_done_brings_the_household_into_quarantine(outbreak: Session) -> None:
    result = plan(outbreak)
    task = next(t for t in result.placement.transfers if t.persons == 3)
    placement.dispatch(task, vehicle="鲁C·12345", team="转运一组", pickup_at=None)
    arrived = placement.transfer_done(outbreak, task, now=NOW, actor="site")
    assert len(arrived) == 3
    assert {o.status for o in arrived} == {"in_quarantine"}
    assert arrived[0].transitions[-1].why.startswith(f"转运 {task.task_no} 送达")
    with pytest.raises(Conflict):
        placement.transfer_done(outbreak, task, now=NOW, actor="site")


def test_a_cancelled_transfer_frees_its_beds(outbreak: Session) -> None:
    result = plan(outbreak)
    task = result.placement.transfers[0]
    with pytest.raises(InvalidInput):
        placement.cancel_transfer(outbreak, task, now=NOW, actor="cdc", why=" ")
    placement.cancel_transfer(outbreak, task, now=NOW, actor="cdc", why="家中有婴儿，改居家")
    again = plan(outbreak)
    assert len(again.placement.placed) == task.persons


def _arrive_and_test(session: Session, order: QuarantineOrder, state: str = "negative") -> None:
    change_status(order, OrderStatus.in_quarantine, at=NOW, by="t", why="arrived")
    for test in session.scalars(select(QuarantineSwab).where(QuarantineSwab.order_id == order.id)):
        test.state = state
    session.flush()


def test_release_on_the_last_day_when_every_test_is_negative(outbreak: Session) -> None:
    plan(outbreak)
    solo = orders(outbreak)["P-SOLO"]
    _arrive_and_test(outbreak, solo)
    last = DAY + timedelta(days=13)
    early = releases.release_day(
        outbreak, day=last - timedelta(days=1), now=NOW, actor="cdc", scope=CITY
    )
    assert solo not in early.released
    assert [o for o, _ in releases.releases_due(outbreak, day=last, scope=CITY)] == [solo]
    done = releases.release_day(outbreak, day=last, now=NOW, actor="cdc", scope=CITY)
    assert done.released == [solo]
    assert solo.status == "in_home_monitoring"
    assert [t.to_status for t in solo.transitions][-2:] == ["released", "in_home_monitoring"]
    # the bed is free again; the home monitoring ends 7 days later
    end = solo.planned_end
    assert (
        releases.release_day(
            outbreak, day=end - timedelta(days=1), now=NOW, actor="cdc", scope=CITY
        ).completed
        == []
    )
    assert releases.release_day(outbreak, day=end, now=NOW, actor="cdc", scope=CITY).completed == [
        solo
    ]


def test_release_is_held_while_a_test_is_missing(outbreak: Session) -> None:
    plan(outbreak)
    solo = orders(outbreak)["P-SOLO"]
    _arrive_and_test(outbreak, solo, state="due")
    result = releases.release_day(
        outbreak, day=DAY + timedelta(days=13), now=NOW, actor="cdc", scope=CITY
    )
    held = dict(result.held)
    assert held.get(solo)
    assert solo.status == "in_quarantine"


def test_lost_and_found_resumes(outbreak: Session) -> None:
    plan(outbreak)
    solo = orders(outbreak)["P-SOLO"]
    service.mark_lost(solo, now=NOW, actor="worker", why="电话无人接听，上门未见")
    with pytest.raises(IllegalTransition):
        change_status(solo, OrderStatus.in_quarantine, at=NOW, by="t", why="x")
    service.mark_found(solo, now=NOW, actor="worker", why="已找到")
    assert solo.status == "pending_transfer"
    with pytest.raises(Conflict):
        service.mark_found(solo, now=NOW, actor="worker", why="again")


def test_a_positive_under_quarantine_converts_its_order_once(outbreak: Session) -> None:
    plan(outbreak)
    solo = orders(outbreak)["P-SOLO"]
    from fangkong.people.models import Person

    person = outbreak.get_one(Person, solo.person_id)
    new_case = case(outbreak, "C9", person, found_via="quarantine_site")
    assert solo.status == "converted"
    assert solo.converted_case_id == new_case.id
    assert [t.to_status for t in solo.transitions].count("converted") == 1
    # the person has no order in force any more: a later case converts nothing
    again = case(outbreak, "C10", person)
    assert again.id != new_case.id
    assert solo.converted_case_id == new_case.id


def test_discharged_cases_get_rehabilitation_observation(session: Session) -> None:
    person = resident(session, "P-CASE")
    case(session, "C1", person, discharged_on=DAY)
    result = plan(session)
    order = orders(session)["P-CASE"]
    assert order.kind == "rehabilitation"
    assert order.status == "in_quarantine"
    assert order.start_on == DAY + timedelta(days=1)
    assert order.planned_end == DAY + timedelta(days=7)
    assert len(result.discharges.orders) == 1
    assert plan(session).discharges.orders == []


def test_an_order_by_hand_needs_no_other_in_force(session: Session) -> None:
    person = resident(session, "P1")
    order = quarantine_orders.order_by_hand(
        session,
        person_no="P1",
        kind="high_risk",
        start_on=DAY,
        note="上海来返",
        policy=NINTH,
        now=NOW,
        actor="cdc",
        scope=CITY,
    )
    assert order.kind == "centralized"
    assert order.source == "manual"
    assert order.person_id == person.id
    with pytest.raises(Conflict):
        quarantine_orders.order_by_hand(
            session,
            person_no="P1",
            kind="close",
            start_on=DAY,
            note=None,
            policy=NINTH,
            now=NOW,
            actor="cdc",
            scope=CITY,
        )
    with pytest.raises(InvalidInput):
        quarantine_orders.order_by_hand(
            session,
            person_no="P1",
            kind="low_risk",
            start_on=DAY,
            note=None,
            policy=ZIBO,
            now=NOW,
            actor="cdc",
            scope=CITY,
        )
