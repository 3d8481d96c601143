"""Quarantine and monitoring schedules (RULES §3), pure: a kind of person, a start day and an
edition in; the stages, their days and their test days out, with the rule behind them.

Every number comes from ``policy.quarantine``. Days are local (Asia/Shanghai) calendar days;
day 1 of a stage is its first day, so a 7-day stage from 1 March runs through 7 March and the
next stage starts on 8 March.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from fangkong.errors import InvalidInput
from fangkong.policy import Policy


class PersonKind(StrEnum):
    close = "close"
    secondary = "secondary"
    high_risk = "high_risk"
    medium_risk = "medium_risk"
    low_risk = "low_risk"
    discharged = "discharged"


PERSON_LABELS: dict[str, str] = {
    PersonKind.close: "密切接触者",
    PersonKind.secondary: "密接的密接",
    PersonKind.high_risk: "高风险区来返人员",
    PersonKind.medium_risk: "中风险区来返人员",
    PersonKind.low_risk: "低风险区来返人员",
    PersonKind.discharged: "出院患者",
}

STAGE_LABELS: dict[str, str] = {
    "centralized": "集中隔离",
    "home_isolation": "居家隔离",
    "home_monitoring": "居家健康监测",
    "rehabilitation": "康复医学观察",
    "tests_only": "核酸检测",
}

# Stages a person goes home to once centralized quarantine ends.
HOME_STAGES = frozenset({"home_isolation", "home_monitoring"})


@dataclass(frozen=True)
class StagePlan:
    """One stage laid on the calendar: ``first_day`` to ``last_day``, both inclusive."""

    kind: str
    first_day: date
    last_day: date
    test_dates: tuple[date, ...]
    release_two_labs: bool = False
    test_gap_hours: int | None = None

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def label(self) -> str:
        return STAGE_LABELS[self.kind]

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


@dataclass(frozen=True)
class Schedule:
    person_kind: PersonKind
    start: date
    stages: tuple[StagePlan, ...]
    rule: str  # edition:quarantine.<kind>

    @property
    def end(self) -> date:
        return self.stages[-1].last_day

    @property
    def total_days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def hand_over(self) -> date | None:
        """The first day at home after centralized quarantine (the community takes over)."""
        for before, after in pairwise(self.stages):
            if before.kind == "centralized" and after.kind in HOME_STAGES:
                return after.first_day
        return None

    @property
    def test_dates(self) -> tuple[date, ...]:
        return tuple(day for stage in self.stages for day in stage.test_dates)

    def stage_on(self, day: date) -> StagePlan | None:
        return next((stage for stage in self.stages if stage.contains(day)), None)


@dataclass(frozen=True)
class TestDue:
    """A test due on ``day``: the ``number``-th of its stage; ``two_labs`` at an 8th-edition
    release."""

    __test__ = False  # not a pytest class

    day: date
    stage: StagePlan
    number: int
    two_labs: bool


def person_kind(kind: str) -> PersonKind:
    try:
        return PersonKind(kind)
    except ValueError:
        known = ", ".join(PersonKind)
        raise InvalidInput(f"unknown kind of person {kind!r}; known: {known}", kind=kind) from None


def schedule(kind: str, start: date, policy: Policy) -> Schedule | None:
    """The stages of ``kind`` from ``start`` (day 1) under ``policy``; None when the edition
    does not identify (or does not manage) that kind of person."""
    who = person_kind(kind)
    stages = policy.quarantine.stages(who.value)
    if not stages:
        return None
    plans: list[StagePlan] = []
    first = start
    for stage in stages:
        plans.append(
            StagePlan(
                kind=stage.kind,
                first_day=first,
                last_day=first + timedelta(days=stage.days - 1),
                test_dates=tuple(first + timedelta(days=n - 1) for n in stage.test_days),
                release_two_labs=stage.release_two_labs,
                test_gap_hours=stage.test_gap_hours,
            )
        )
        first += timedelta(days=stage.days)
    return Schedule(
        person_kind=who,
        start=start,
        stages=tuple(plans),
        rule=str(policy.rule(f"quarantine.{who.value}")),
    )


def tests_due(plan: Schedule, day: date) -> tuple[TestDue, ...]:
    """The tests due on ``day``: none, or one per stage that has a test that day."""
    due: list[TestDue] = []
    for stage in plan.stages:
        if day in stage.test_dates:
            release = day == stage.last_day
            due.append(
                TestDue(
                    day=day,
                    stage=stage,
                    number=stage.test_dates.index(day) + 1,
                    two_labs=stage.release_two_labs and release,
                )
            )
    return tuple(due)


def next_test_not_before(stage: StagePlan, sampled_at: datetime) -> datetime | None:
    """The earliest instant of the next test when the stage sets a gap between tests."""
    if stage.test_gap_hours is None:
        return None
    return sampled_at + timedelta(hours=stage.test_gap_hours)
