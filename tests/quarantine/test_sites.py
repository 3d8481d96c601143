"""Importing sites and rooms: all or nothing, row-numbered errors, idempotent, inside the
importer's jurisdiction; occupancy now and day by day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.errors import ImportRejected
from fangkong.people.models import Person
from fangkong.policy import load_policy
from fangkong.quarantine import sites
from fangkong.quarantine.models import QuarantineOrder, QuarantineSite, SiteRoom
from fangkong.quarantine.status import OrderStatus
from fangkong.quarantine.transitions import change_status

from .factories import CITY, DAY, NOW, order_row, resident

ZIBO = load_policy("zibo-2022-03")

GOOD = """site_code,name,kind,district,address,lon,lat,room_no,beds,rooms
S01,周村宾馆,集中隔离点,周村区,周村区正阳路1号,117.87,36.80,101,2,
S01,周村宾馆,集中隔离点,周村区,周村区正阳路1号,117.87,36.80,102,3,
S02,张店隔离点,centralized_site,张店区,,118.05,36.81,,1,40
"""


def run(session: Session, text: str, scope=CITY, name: str = "sites.csv") -> sites.ImportReport:
    return sites.import_sites(session, data=text.encode(), filename=name, now=NOW, scope=scope)


def test_import_creates_sites_and_rooms(session: Session) -> None:
    report = run(session, GOOD)
    assert (report.added, report.updated, report.unchanged) == (2, 0, 0)
    s01 = session.scalar(select(QuarantineSite).where(QuarantineSite.code == "S01"))
    assert s01 is not None
    assert s01.district_code == "370306"
    assert s01.kind == "centralized_site"
    assert [(r.room_no, r.beds) for r in s01.rooms] == [("101", 2), ("102", 3)]
    s02 = session.scalar(select(QuarantineSite).where(QuarantineSite.code == "S02"))
    assert s02 is not None
    assert len(s02.rooms) == 40
    assert s02.rooms[0].room_no == "001"


def test_import_twice_changes_nothing(session: Session) -> None:
    run(session, GOOD)
    again = run(session, GOOD)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert session.scalar(select(func.count()).select_from(SiteRoom)) == 42


def test_a_changed_room_updates_its_site(session: Session) -> None:
    run(session, GOOD)
    report = run(session, GOOD.replace(",102,3,", ",102,4,"))
    assert (report.updated, report.unchanged) == (1, 1)


def test_every_bad_row_reported_and_nothing_written(session: Session) -> None:
    bad = """site_code,name,district,lon,lat,room_no,beds,rooms
S01,周村宾馆,周村区,117.87,36.80,101,2,
S01,周村宾馆,周村区,117.87,36.80,101,2,
S03,某点,火星区,200,36.8,1,2,
S04,某点,周村区,117.8,,1,0,
S05,某点,周村区,,,1,2,3
"""
    with pytest.raises(ImportRejected) as caught:
        run(session, bad)
    errors = {(e["row"], e["column"]) for e in caught.value.details["errors"]}
    assert (3, "room_no") in errors  # listed twice
    assert (4, "district") in errors
    assert (4, "lon") in errors
    assert (5, "beds") in errors
    assert (5, "lat") in errors
    assert (6, "rooms") in errors
    assert session.scalar(select(func.count()).select_from(QuarantineSite)) == 0


def test_missing_column_is_row_one(session: Session) -> None:
    with pytest.raises(ImportRejected) as caught:
        run(session, "site_code,name\nS01,x\n")
    assert caught.value.details["errors"][0]["row"] == 1
    assert caught.value.details["errors"][0]["column"] == "district"


def test_site_rows_must_agree(session: Session) -> None:
    text = GOOD.replace(
        "S01,周村宾馆,集中隔离点,周村区,周村区正阳路1号,117.87,36.80,102",
        "S01,周村宾馆,定点医院,周村区,周村区正阳路1号,117.87,36.80,102",
    )
    with pytest.raises(ImportRejected) as caught:
        run(session, text)
    assert caught.value.details["errors"][0]["column"] == "kind"


def test_district_officer_imports_only_their_district(session: Session) -> None:
    with pytest.raises(ImportRejected) as caught:
        run(session, GOOD, scope=bind("district", "370306"))
    assert [(e["row"], e["reason"]) for e in caught.value.details["errors"]] == [
        (4, "outside your jurisdiction")
    ]


def test_a_room_cannot_shrink_below_who_is_in_it(session: Session) -> None:
    run(session, GOOD)
    room = session.scalar(select(SiteRoom).where(SiteRoom.room_no == "102"))
    assert room is not None
    for i in range(3):
        person = resident(session, f"P{i}")
        _order(session, person, room, f"Q{i}")
    with pytest.raises(ImportRejected) as caught:
        run(session, GOOD.replace(",102,3,", ",102,2,"))
    assert caught.value.details["errors"][0]["column"] == "beds"


def _order(session: Session, person: Person, room: SiteRoom, no: str) -> QuarantineOrder:
    return order_row(
        session,
        person,
        start=DAY,
        policy=ZIBO,
        status=OrderStatus.pending_transfer.value,
        room=room,
        order_no=no,
    )


def test_occupancy_now_and_by_day(session: Session) -> None:
    run(session, GOOD)
    rooms = {r.room_no: r for r in session.scalars(select(SiteRoom).where(SiteRoom.beds > 1))}
    household = [resident(session, f"H{i}", household="HH1") for i in range(2)]
    orders = [_order(session, p, rooms["101"], f"Q{i}") for i, p in enumerate(household)]
    found = {o.site.code: o for o in sites.occupancy(session, scope=CITY)}
    s01 = found["S01"]
    assert (s01.rooms, s01.beds, s01.arriving, s01.persons) == (2, 5, 2, 0)
    # room 101 is held by the household: only 102's three beds are free
    assert (s01.rooms_in_use, s01.beds_free, s01.rooms_free) == (1, 3, 1)
    for order in orders:
        change_status(order, OrderStatus.in_quarantine, at=NOW, by="t", why="arrived")
    change_status(
        orders[0], OrderStatus.converted, at=NOW + timedelta(days=2), by="t", why="positive"
    )
    session.flush()
    site = session.get_one(QuarantineSite, rooms["101"].site_id)
    series = sites.occupancy_by_day(session, site, DAY - timedelta(days=1), DAY + timedelta(days=3))
    assert [n for _, n in series] == [0, 2, 2, 1, 1]
    assert sites.occupancy(session, scope=bind("site", "S02"))[0].site.code == "S02"
