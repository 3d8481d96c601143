"""Tests of people at home (home isolation, home monitoring, rehabilitation observation):
a community's door-to-door sampling (上门采样) of one day is a testing round of kind
``quarantine`` over that community, as a site's day is over the site (``site_swabs``).

Its samples and results go through the testing domain like any round; applying it copies
each person's state onto their tests (``site_swabs.sync_round``, by the round's code), and
the release check of a home stage reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.clock import chinese_day, day_bounds
from fangkong.errors import Conflict
from fangkong.people import service as people_service
from fangkong.people.joins import Community, Person
from fangkong.people.masking import mask_name
from fangkong.policy import Policy
from fangkong.quarantine.models import QuarantineOrder, QuarantineSwab
from fangkong.quarantine.schedule import HOME_STAGES
from fangkong.quarantine.site_swabs import (
    OPEN,
    STATE_LABELS,
    NothingDue,
    due_or_retest,
    open_or_extend,
)
from fangkong.quarantine.status import OrderStatus
from fangkong.testing import service as testing

if TYPE_CHECKING:
    from fangkong.testing.models import TestingRound

AT_HOME_STAGES = (*sorted(HOME_STAGES), "rehabilitation")
# Statuses of an order whose person is at home under the community's care.
AT_HOME = (OrderStatus.in_quarantine.value, OrderStatus.in_home_monitoring.value)


def round_code(community_id: int, day: date) -> str:
    return f"H-c{community_id}-{day:%Y%m%d}"


def community_for(session: Session, community_id: int, *, scope: Jurisdiction) -> Community:
    """A community inside the caller's area (404 otherwise)."""
    return people_service.get_community(session, community_id=community_id, scope=scope)


def _due_at(community: Community, day: date) -> Select[QuarantineSwab]:
    """The community's home tests of ``day``, and earlier unreadable ones (a retest)."""
    return (
        select(QuarantineSwab)
        .join(QuarantineOrder, QuarantineOrder.id == QuarantineSwab.order_id)
        .where(
            QuarantineOrder.community_id == community.id,
            QuarantineOrder.status.in_(AT_HOME),
            QuarantineSwab.stage.in_(AT_HOME_STAGES),
            due_or_retest(day),
        )
        .order_by(QuarantineSwab.id)
    )


def open_home_round(
    session: Session,
    community: Community,
    day: date,
    *,
    lake: Path,
    policy: Policy,
    now: datetime,
    actor: str,
) -> TestingRound:
    """The community's door-to-door round of ``day`` (``H-c<id>-<YYYYMMDD>``), opened once;
    calling again while it is open adds the tests that fell due since. The caller checks
    the community is in its area (``community_for``)."""
    code = round_code(community.id, day)
    round_ = testing.find_round(session, code=code)
    if round_ is not None and round_.kind != "quarantine":
        raise Conflict(f"round {code} exists and is not a home round", code=code)
    starts, ends = day_bounds(day)
    return open_or_extend(
        session,
        round_,
        due=_due_at(community, day),
        spec=lambda: testing.SiteRoundSpec(
            code=code,
            name=f"{community.name} {chinese_day(day)}上门采样",
            site_code=None,
            district_code=community.district_code,
            starts_at=starts,
            ends_at=ends,
            community_id=community.id,
            community_name=community.name,
            street_code=community.street_code,
        ),
        nothing_due=NothingDue(
            f"no home test is due in {community.name} on {day.isoformat()}",
            community_id=community.id,
            day=str(day),
        ),
        lake=lake,
        policy=policy,
        now=now,
        actor=actor,
    )


@dataclass(frozen=True)
class HomeTest:
    """A test on the community's door-to-door list (the name masked)."""

    __test__ = False  # not a pytest class

    due_on: date
    stage: str
    number: int
    state: str
    overdue: bool
    round_code: str | None
    order_no: str
    person_no: str
    name: str | None
    address: str | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


def worklist(session: Session, community: Community, day: date, *, today: date) -> list[HomeTest]:
    """The community's home tests of ``day`` (and earlier unreadable ones), by address."""
    rows = session.execute(
        select(QuarantineSwab, QuarantineOrder.order_no, Person)
        .join(QuarantineOrder, QuarantineOrder.id == QuarantineSwab.order_id)
        .join(Person, Person.id == QuarantineOrder.person_id)
        .where(
            QuarantineOrder.community_id == community.id,
            QuarantineSwab.stage.in_(AT_HOME_STAGES),
            or_(
                QuarantineSwab.due_on == day,
                QuarantineSwab.round_code == round_code(community.id, day),
                and_(QuarantineSwab.due_on < day, QuarantineSwab.state == "invalid"),
            ),
            or_(QuarantineOrder.status.in_(AT_HOME), QuarantineSwab.state != "due"),
        )
        .order_by(Person.building_id, Person.room, Person.person_no)
    ).all()
    return [
        HomeTest(
            due_on=test.due_on,
            stage=test.stage,
            number=test.number,
            state=test.state,
            overdue=test.due_on < today and test.state in OPEN,
            round_code=test.round_code,
            order_no=order_no,
            person_no=person.person_no,
            name=mask_name(person.name),
            address=person.room,
        )
        for test, order_no, person in rows
    ]
