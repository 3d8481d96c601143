"""Tests during quarantine (RULES §3) are samples and results of the testing domain, not a
second model.

An order schedules its tests when it is made (``schedule_swabs``: one row per test day and
stage, from the schedule its edition set). A site's tests of a day are one testing round of
kind ``quarantine`` (``open_site_round``): single tubes, the persons due that day and those
whose earlier tube could not be read, swabbed by the site's staff through the testing API.
Applying the round (``testing.apply.apply``) copies each person's state back onto their
tests (``sync_round``); a positive becomes a case there, found at the site, and the case
converts the order. The day's worklist, the overdue tests and whether a centralized stage
may be released are read from those rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import OutsideJurisdiction
from fangkong.clock import chinese_day, day_bounds
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people.joins import Person
from fangkong.people.masking import mask_name
from fangkong.policy import Policy
from fangkong.quarantine import stages
from fangkong.quarantine.models import QuarantineOrder, QuarantineSite, QuarantineSwab, SiteRoom
from fangkong.quarantine.schedule import Schedule, tests_due
from fangkong.quarantine.scope import check_site, order_conditions, site_conditions
from fangkong.quarantine.status import OrderStatus
from fangkong.testing import outcome, results
from fangkong.testing import service as testing

if TYPE_CHECKING:
    from fangkong.testing.models import TestingRound

# Tests at a site are those of its centralized stage, while the person is there (or on
# the way: a transfer arriving during the day is swabbed on arrival).
SITE_STAGE = "centralized"
AT_SITE = (OrderStatus.pending_transfer.value, OrderStatus.in_quarantine.value)
SETTLED = ("negative", "positive")  # acted on: never moved back
OPEN = ("due", "invalid")  # still to be swabbed
# A person's state in the round's outcome → their test's. A pool cannot happen in single
# tubes; were one positive, the test waits for a single tube like a pending one.
FROM_OUTCOME = {
    "positive": "positive",
    "cleared": "negative",
    "retest": "invalid",
    "pending": "sampled",
    "pool_positive": "sampled",
}
STATE_LABELS = {
    "due": "待采样",
    "sampled": "已采样",
    "negative": "阴性",
    "positive": "阳性",
    "invalid": "无效（需复采）",
}


class NothingDue(InvalidInput):
    code = "nothing_due"


# ---------------------------------------------------------------- scheduling


def swab_rows(plan: Schedule) -> list[dict[str, Any]]:
    """The columns of each test ``plan`` schedules, without its order: what every order of
    that plan shares (bulk order creation lays them out once per plan)."""
    return [
        {
            "due_on": due.day,
            "stage": due.stage.kind,
            "number": due.number,
            "two_labs": due.two_labs,
            "state": "due",
        }
        for day in sorted(set(plan.test_dates))
        for due in tests_due(plan, day)
    ]


def schedule_swabs(order: QuarantineOrder, plan: Schedule) -> list[QuarantineSwab]:
    """One test per test day and stage of ``plan``, numbered within its stage; the two-lab
    flag at an 8th-edition release. The order must have its id (flushed); the caller adds
    the rows to its session."""
    if not order.id:
        raise ValueError("flush the order first: its tests point at it")
    return [QuarantineSwab(order_id=order.id, **row) for row in swab_rows(plan)]


# ---------------------------------------------------------------- a site's day as a round


def round_code(site: QuarantineSite, day: date) -> str:
    return f"Q-{site.code}-{day:%Y%m%d}"


def site_by_code(session: Session, code: str, *, scope: Jurisdiction) -> QuarantineSite:
    """A site the caller sees (404 otherwise, so that its existence is not revealed)."""
    found = session.scalar(
        select(QuarantineSite).where(QuarantineSite.code == code, site_conditions(scope))
    )
    if found is None:
        raise NotFound(f"no quarantine site {code!r}", site=code)
    return found


def check_may_open(scope: Jurisdiction, site: QuarantineSite) -> None:
    """A site's round is opened by its own staff, or by an area whose jurisdiction holds
    the site's district (the round's one area), as any round's areas must be."""
    check_site(scope, site)
    if scope.kind != "site" and not scope.covers(
        city_code=site.city_code, district_code=site.district_code
    ):
        raise OutsideJurisdiction(
            f"site {site.code} is outside your district: its district opens its rounds",
            site=site.code,
        )


def _due_at(site: QuarantineSite, day: date) -> Select[QuarantineSwab]:
    """The tests a site's round of ``day`` covers: the day's, and earlier ones whose tube
    could not be read (a retest). A test missed on its day stays overdue, not made up."""
    return (
        select(QuarantineSwab)
        .join(QuarantineOrder, QuarantineOrder.id == QuarantineSwab.order_id)
        .where(
            QuarantineOrder.site_id == site.id,
            QuarantineOrder.status.in_(AT_SITE),
            QuarantineSwab.stage == SITE_STAGE,
            due_or_retest(day),
        )
        .order_by(QuarantineSwab.id)
    )


def due_or_retest(day: date) -> ColumnElement[bool]:
    """A test a round of ``day`` covers: due that day, or earlier with an unreadable tube."""
    return or_(
        and_(QuarantineSwab.due_on == day, QuarantineSwab.state == "due"),
        and_(QuarantineSwab.due_on < day, QuarantineSwab.state == "invalid"),
    )


def persons_of(code: str) -> ColumnElement[bool]:
    """The persons with a test in round ``code``: its due snapshot."""
    linked = (
        select(QuarantineOrder.person_id)
        .join(QuarantineSwab, QuarantineSwab.order_id == QuarantineOrder.id)
        .where(QuarantineSwab.round_code == code)
    )
    return Person.id.in_(linked)


def open_site_round(
    session: Session,
    site: QuarantineSite,
    day: date,
    *,
    lake: Path,
    policy: Policy,
    now: datetime,
    actor: str,
    scope: Jurisdiction,
) -> TestingRound:
    """The round of the site's tests due on ``day`` (``Q-<site>-<YYYYMMDD>``), opened once:
    calling again returns it, with the tests that fell due since (a transfer arrived, a
    tube was invalid) added while it is open."""
    check_may_open(scope, site)
    code = round_code(site, day)
    round_ = testing.find_round(session, code=code)
    if round_ is not None and (round_.kind != "quarantine" or round_.site_code != site.code):
        raise Conflict(f"round {code} exists and is not this site's", code=code)
    starts, ends = day_bounds(day)
    return open_or_extend(
        session,
        round_,
        due=_due_at(site, day),
        spec=lambda: testing.SiteRoundSpec(
            code=code,
            name=f"{site.name} {chinese_day(day)}核酸检测",
            site_code=site.code,
            district_code=site.district_code,
            starts_at=starts,
            ends_at=ends,
        ),
        nothing_due=NothingDue(
            f"no test is due at {site.name} on {day.isoformat()}", site=site.code, day=str(day)
        ),
        lake=lake,
        policy=policy,
        now=now,
        actor=actor,
    )


def open_or_extend(
    session: Session,
    round_: TestingRound | None,
    *,
    due: Select[QuarantineSwab],
    spec: Callable[[], testing.SiteRoundSpec],
    nothing_due: NothingDue,
    lake: Path,
    policy: Policy,
    now: datetime,
    actor: str,
) -> TestingRound:
    """What a site's day and a community's door-to-door day share: the tests ``due`` not yet
    in the round are linked to it; a new round is created over their persons (``spec``), an
    open one has its due snapshot rewritten, a closed one is returned as it is (nothing more
    is swabbed in it). Nothing due and no round yet: ``nothing_due``."""
    if round_ is not None and round_.status != "open":
        return round_
    code = round_.code if round_ is not None else spec().code
    fresh = [t for t in session.scalars(due) if t.round_code != code]
    if round_ is None and not fresh:
        raise nothing_due
    for test in fresh:
        test.round_code = code
    session.flush()
    if round_ is None:
        return testing.create_site_round(
            session,
            spec(),
            persons=persons_of(code),
            lake=lake,
            policy=policy,
            now=now,
            actor=actor,
        )
    if fresh:
        testing.write_site_due(session, round_, persons=persons_of(code), lake=lake, now=now)
    return round_


# ---------------------------------------------------------------- results back onto tests


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def sync_round(session: Session, round_: TestingRound, lake: Path, now: datetime) -> int:
    """Copy each person's state in the applied round onto their tests of the round; the
    number of tests changed. Idempotent; a negative or positive test never changes again. A
    test's result time is its person's last tube's (or, when that tube has no result yet
    but an earlier one cleared them, the time it was applied)."""
    linked = session.execute(
        select(QuarantineSwab, Person.person_no)
        .join(QuarantineOrder, QuarantineOrder.id == QuarantineSwab.order_id)
        .join(Person, Person.id == QuarantineOrder.person_id)
        .where(QuarantineSwab.round_code == round_.code, QuarantineSwab.state.not_in(SETTLED))
    ).all()
    if not linked:
        return 0
    wanted = {person_no for _, person_no in linked}
    status = {
        row["person_id"]: row
        for row in outcome.read_status(lake, round_.code, states=tuple(FROM_OUTCOME)).to_pylist()
        if row["person_id"] in wanted
    }
    positives = {
        row["person_id"]: row
        for row in outcome.read_positives(lake, round_.code).to_pylist()
        if row["person_id"] in wanted
    }
    tubes = [row["last_tube"] for row in status.values() if row["last_tube"]]
    resulted = {
        row["tube_barcode"]: _aware(row["resulted_at"])
        for row in results.tube_results(lake, round_.code, tubes).to_pylist()
    }
    changed = 0
    for test, person_no in linked:
        row = status.get(person_no)
        if row is None:
            continue  # not swabbed yet (missing): still due
        state = FROM_OUTCOME[row["state"]]
        sampled_at: datetime | None = _aware(row["last_sampled_at"])
        resulted_at: datetime | None = None
        if state == "positive":
            hit = positives[person_no]
            sampled_at, resulted_at = _aware(hit["sampled_at"]), _aware(hit["resulted_at"])
        elif state != "sampled":
            resulted_at = resulted.get(row["last_tube"], now)
        if (test.state, test.sampled_at, test.resulted_at) != (state, sampled_at, resulted_at):
            test.state, test.sampled_at, test.resulted_at = state, sampled_at, resulted_at
            changed += 1
    session.flush()
    return changed


# ---------------------------------------------------------------- worklists


@dataclass(frozen=True)
class SiteTest:
    """A test on a site's worklist (the person's name masked)."""

    __test__ = False  # not a pytest class

    site_code: str
    site_name: str
    due_on: date
    stage: str
    number: int
    two_labs: bool
    state: str
    overdue: bool
    round_code: str | None
    sampled_at: datetime | None
    resulted_at: datetime | None
    order_no: str
    order_status: str
    person_no: str
    name: str | None
    room_no: str | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


def _is_overdue(test: QuarantineSwab, order: QuarantineOrder, today: date) -> bool:
    return test.due_on < today and test.state in OPEN and order.status in AT_SITE


def _listed(session: Session, conditions: list[ColumnElement[bool]], today: date) -> list[SiteTest]:
    rows = session.execute(
        select(QuarantineSwab, QuarantineOrder, Person, QuarantineSite, SiteRoom.room_no)
        .join(QuarantineOrder, QuarantineOrder.id == QuarantineSwab.order_id)
        .join(Person, Person.id == QuarantineOrder.person_id)
        .join(QuarantineSite, QuarantineSite.id == QuarantineOrder.site_id)
        .outerjoin(SiteRoom, SiteRoom.id == QuarantineOrder.room_id)
        .where(QuarantineSwab.stage == SITE_STAGE, *conditions)
        .order_by(QuarantineSite.code, SiteRoom.room_no, Person.person_no, QuarantineSwab.due_on)
    ).all()
    return [
        SiteTest(
            site_code=site.code,
            site_name=site.name,
            due_on=test.due_on,
            stage=test.stage,
            number=test.number,
            two_labs=test.two_labs,
            state=test.state,
            overdue=_is_overdue(test, order, today),
            round_code=test.round_code,
            sampled_at=test.sampled_at,
            resulted_at=test.resulted_at,
            order_no=order.order_no,
            order_status=order.status,
            person_no=person.person_no,
            name=mask_name(person.name),
            room_no=room_no,
        )
        for test, order, person, site, room_no in rows
    ]


def worklist(
    session: Session, site: QuarantineSite, day: date, *, scope: Jurisdiction, today: date
) -> list[SiteTest]:
    """The site's tests of ``day`` by room: those due that day, those in the day's round,
    and earlier invalid ones awaiting a retest. A planned test of a person who has left
    (released, converted) is not listed; one already swabbed stays. An area caller sees
    the people of its area only (orders belong to the person's home area)."""
    check_site(scope, site)
    listed = or_(
        QuarantineSwab.due_on == day,
        QuarantineSwab.round_code == round_code(site, day),
        and_(QuarantineSwab.due_on < day, QuarantineSwab.state == "invalid"),
    )
    return _listed(
        session,
        [
            QuarantineOrder.site_id == site.id,
            order_conditions(scope),
            listed,
            or_(QuarantineOrder.status.in_(AT_SITE), QuarantineSwab.state != "due"),
        ],
        today,
    )


def overdue_tests(session: Session, scope: Jurisdiction, today: date) -> list[SiteTest]:
    """Tests of people at a site whose day has passed without a readable tube, across the
    sites and people the caller sees."""
    return _listed(
        session,
        [
            QuarantineSwab.due_on < today,
            QuarantineSwab.state.in_(OPEN),
            QuarantineOrder.status.in_(AT_SITE),
            site_conditions(scope),
            order_conditions(scope),
        ],
        today,
    )


# ---------------------------------------------------------------- release


@dataclass(frozen=True)
class Blocker:
    """What holds a release: a stable ``code``, the test day it concerns, a sentence."""

    code: str
    message: str
    day: date | None = None


@dataclass(frozen=True)
class ReleaseCheck:
    allowed: bool
    last_day: date | None  # the checked stage's (None: the order has none)
    blockers: tuple[Blocker, ...]
    rule: str  # the edition rule that set the stage and its test days
    two_labs: tuple[date, ...] = ()  # test days the edition wants read by two labs

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(b.message for b in self.blockers)


def _blocker(test: QuarantineSwab | None, due: date, day: date) -> Blocker | None:
    when = chinese_day(due)
    if test is None:
        return Blocker("test_not_scheduled", f"{when}的核酸检测未排期 (no test on {due})", due)
    if test.state == "negative":
        return None
    if test.state == "positive":
        return Blocker("test_positive", f"{when}核酸检测阳性 (positive on {due})", due)
    if test.state == "sampled":
        return Blocker("result_pending", f"{when}的核酸结果未出 (result pending for {due})", due)
    if test.state == "invalid":
        return Blocker("test_invalid", f"{when}的核酸结果无效，需复采 (invalid on {due})", due)
    if due <= day:
        return Blocker("test_missing", f"{when}未采样 (missing test on {due})", due)
    return None  # a later day's test: the stage is not over, which is said once


def release_check(
    session: Session,
    order: QuarantineOrder,
    day: date,
    stage_kind: str = SITE_STAGE,
    tests: Mapping[date, QuarantineSwab] | None = None,
) -> ReleaseCheck:
    """Whether the order's stage of ``stage_kind`` (the centralized one by default; a home
    stage when it ends the order) may end on ``day``: from its last day on, once every test
    of the stage is negative. An order without such a stage has nothing held here. Two-lab
    tests need a negative like the others (one result is recorded per tube); their days are
    listed for the release note. The order's status is the status machine's to check.
    ``tests`` (the stage's tests by day) spares the query when a caller checks thousands."""
    stage = next((s for s in stages.load(order).stages if s.kind == stage_kind), None)
    if stage is None:
        return ReleaseCheck(True, None, (), order.rule)
    blockers: list[Blocker] = []
    if day < stage.last_day:
        ends = (
            f"{stage.label}至{chinese_day(stage.last_day)}期满 (the stage ends on {stage.last_day})"
        )
        blockers.append(Blocker("before_last_day", ends, stage.last_day))
    if tests is None:
        tests = {
            t.due_on: t
            for t in session.scalars(
                select(QuarantineSwab).where(
                    QuarantineSwab.order_id == order.id, QuarantineSwab.stage == stage_kind
                )
            )
        }
    for due in stage.test_dates:
        found = _blocker(tests.get(due), due, day)
        if found is not None:
            blockers.append(found)
    two_labs = tuple(sorted(d for d, t in tests.items() if t.two_labs))
    return ReleaseCheck(not blockers, stage.last_day, tuple(blockers), order.rule, two_labs)
