"""Tests of people at home: a community's door-to-door round, synced back onto the tests, and
the end of a home stage held until they are negative. And a site's positive who lives in
another district becomes the city's case whoever applies the site's round."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases.models import Case
from fangkong.errors import NotFound
from fangkong.flows import rounds
from fangkong.people.models import Community
from fangkong.policy import load_policy
from fangkong.quarantine import home_swabs, releases, site_swabs
from fangkong.quarantine.models import QuarantineSwab
from fangkong.quarantine.status import OrderStatus
from fangkong.testing.fhir import TubeResult
from tests.quarantine.site_helpers import ZHANGDIAN, order, resident, site
from tests.quarantine.test_site_swabs import lab, local, swab

NINTH = load_policy("national-9")
DAY1 = date(2022, 6, 28)
CITY = bind("city", "3703")
ZHOUCUN = bind("district", "370306")


def test_a_secondary_contact_at_home_is_tested_door_to_door(
    session: Session, tmp_path: Path
) -> None:
    person = resident(session, "P-SEC")
    # 9th edition: secondary contacts isolate at home 7 days, tests d1/4/7
    o = order(session, person, None, DAY1, NINTH, kind="secondary")
    community = session.get_one(Community, person.community_id)
    assert home_swabs.community_for(session, community.id, scope=ZHOUCUN) is community
    with pytest.raises(NotFound):
        home_swabs.community_for(session, community.id, scope=bind("district", "370303"))
    days = [DAY1, DAY1 + timedelta(days=3), DAY1 + timedelta(days=6)]
    for day in days:
        round_ = home_swabs.open_home_round(
            session, community, day, lake=tmp_path, policy=NINTH, now=local(day, 7), actor="t"
        )
        assert round_.kind == "quarantine"
        assert round_.site_code is None
        assert [a.area_code for a in round_.areas] == [f"c{community.id}"]
        assert round_.due_count == 1
        again = home_swabs.open_home_round(
            session, community, day, lake=tmp_path, policy=NINTH, now=local(day, 8), actor="t"
        )
        assert again.id == round_.id
        listed = home_swabs.worklist(session, community, day, today=day)
        assert [(t.person_no, t.state) for t in listed] == [("P-SEC", "due")]
        if day == days[-1]:
            # the end of isolation waits for its last test
            held = releases.release_day(session, day=day, now=local(day, 9), actor="t", scope=CITY)
            assert [x for x, _ in held.held] == [o]
        swab(tmp_path, round_.code, day, "P-SEC")
        lab(tmp_path, round_.code, day, **{"P-SEC": TubeResult.NEGATIVE})
        rounds.apply_round(
            session, round_, lake=tmp_path, policy=NINTH, now=local(day, 18), scope=CITY
        )
    states = session.scalars(select(QuarantineSwab.state).where(QuarantineSwab.order_id == o.id))
    assert set(states) == {"negative"}
    done = releases.release_day(
        session, day=days[-1], now=local(days[-1], 19), actor="t", scope=CITY
    )
    assert done.completed == [o]
    assert o.status == OrderStatus.completed.value


def test_a_missed_home_test_is_overdue(session: Session) -> None:
    person = resident(session, "P-SEC")
    order(session, person, None, DAY1, NINTH, kind="secondary")
    community = session.get_one(Community, person.community_id)
    listed = home_swabs.worklist(session, community, DAY1, today=DAY1 + timedelta(days=1))
    assert [(t.state, t.overdue) for t in listed] == [("due", True)]


def test_a_site_positive_from_another_district_becomes_a_case(
    session: Session, tmp_path: Path
) -> None:
    s01 = site(session, "S01")  # in 周村
    person = resident(session, "P-ZD", ZHANGDIAN)
    o = order(session, person, s01, DAY1, NINTH)
    round_ = site_swabs.open_site_round(
        session,
        s01,
        DAY1,
        lake=tmp_path,
        policy=NINTH,
        now=local(DAY1, 7),
        actor="t",
        scope=ZHOUCUN,
    )
    swab(tmp_path, round_.code, DAY1, "P-ZD")
    lab(tmp_path, round_.code, DAY1, **{"P-ZD": TubeResult.POSITIVE})
    report = rounds.apply_round(
        session, round_, lake=tmp_path, policy=NINTH, now=local(DAY1, 18), scope=ZHOUCUN
    )
    assert len(report.cases) == 1
    case = session.scalar(select(Case).where(Case.case_no == report.cases[0]))
    assert case is not None
    assert case.district_code == "370303"
    assert case.found_via == "quarantine_site"
    assert o.status == OrderStatus.converted.value
    assert o.converted_case_id == case.id
