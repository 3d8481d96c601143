"""The tracing rules (RULES §2), pure: facts in, contacts with their reasons out.

Every number comes from ``policy.tracing``; every decision names its rule
(``policy.rule(...)``: edition + rule id), so that a person can ask "why is this a contact?".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from fangkong.clock import LOCAL_TZ, day_bounds
from fangkong.policy import Policy


class Degree(StrEnum):
    close = "close"
    secondary = "secondary"
    general = "general"


RANK = {Degree.close: 3, Degree.secondary: 2, Degree.general: 1}


class ContactStatus(StrEnum):
    new = "new"
    notified = "notified"
    controlled = "controlled"


def stronger(a: Degree, b: Degree) -> Degree:
    return a if RANK[a] >= RANK[b] else b


# ---------------------------------------------------------------- the window


@dataclass(frozen=True)
class Window:
    """The look-back window of a case as UTC instants, and what it was counted from."""

    start: datetime
    end: datetime
    anchor: str  # onset / sampling / report
    anchor_day: date

    def days(self) -> list[date]:
        return days_touched(self.start, self.end)


def days_touched(start: datetime, end: datetime) -> list[date]:
    """The local days an interval touches, with the day before it: a visit that began
    then (a night at a hotel) may still be under way when the interval opens."""
    first = _local_day(start) - timedelta(days=1)
    last = _local_day(max(start, end - timedelta(microseconds=1)))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _local_day(instant: datetime) -> date:
    return instant.astimezone(LOCAL_TZ).date()


def lookback_window(
    *,
    onset_on: date | None,
    sampled_on: date | None,
    reported_on: date,
    policy: Policy,
    isolated_at: datetime | None = None,
) -> Window:
    """From ``lookback_days`` before onset (before sampling for an asymptomatic case,
    before the report when neither is known) until isolation: the end of the report day
    unless an isolation time is known."""
    if onset_on is not None:
        anchor, day = "onset", onset_on
    elif sampled_on is not None:
        anchor, day = "sampling", sampled_on
    else:
        anchor, day = "report", reported_on
    start = day_bounds(day - timedelta(days=policy.tracing.lookback_days))[0]
    end = isolated_at if isolated_at is not None else day_bounds(reported_on)[1]
    return Window(start=start, end=max(start, end), anchor=anchor, anchor_day=day)


def overlap(
    a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime
) -> tuple[datetime, datetime] | None:
    """The common part of two intervals, None when they only touch or are apart."""
    start, end = max(a_start, b_start), min(a_end, b_end)
    return (start, end) if start < end else None


def overlap_minutes(
    a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime
) -> float:
    common = overlap(a_start, a_end, b_start, b_end)
    return 0.0 if common is None else (common[1] - common[0]).total_seconds() / 60


# ---------------------------------------------------------------- facts and reasons


@dataclass(frozen=True)
class Exposure:
    """Co-presence of a person with the case at a venue (from the lake query)."""

    person_id: str
    venue_code: str
    overlap_start: datetime
    overlap_end: datetime

    @property
    def minutes(self) -> float:
        return (self.overlap_end - self.overlap_start).total_seconds() / 60


@dataclass(frozen=True)
class Membership:
    """A person sharing a household or a workplace unit with someone."""

    person_id: str
    kind: str  # household / workplace_unit
    household_no: str | None = None
    workplace_no: str | None = None
    workplace_unit: str | None = None


@dataclass(frozen=True)
class Reason:
    kind: str  # venue / household / workplace_unit / secondary
    rule: str
    venue_code: str | None = None
    overlap_start: datetime | None = None
    overlap_end: datetime | None = None
    minutes: float | None = None
    household_no: str | None = None
    workplace_no: str | None = None
    workplace_unit: str | None = None
    via: str | None = None  # the close contact a secondary contact came through

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in vars(self).items():
            if value is None:
                continue
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reason:
        values = dict(data)
        for name in ("overlap_start", "overlap_end"):
            if values.get(name):
                values[name] = datetime.fromisoformat(values[name])
        return cls(**values)


@dataclass
class Finding:
    """One contact of one case: the strongest degree, its rule, every reason."""

    person_id: str
    degree: Degree
    rule: str
    reasons: list[Reason] = field(default_factory=list)

    def add(self, degree: Degree, reason: Reason) -> None:
        if RANK[degree] > RANK[self.degree]:
            self.degree, self.rule = degree, reason.rule
        if reason not in self.reasons:
            self.reasons.append(reason)


def _put(found: dict[str, Finding], person_id: str, degree: Degree, reason: Reason) -> None:
    if person_id in found:
        found[person_id].add(degree, reason)
    else:
        found[person_id] = Finding(person_id, degree, reason.rule, [reason])


def _membership_reason(m: Membership, rule: str, via: str | None = None) -> Reason:
    return Reason(
        kind="secondary" if via else m.kind,
        rule=rule,
        household_no=m.household_no,
        workplace_no=m.workplace_no,
        workplace_unit=m.workplace_unit,
        via=via,
    )


def venue_degree(minutes: float, category: str | None, policy: Policy) -> Degree | None:
    """Co-presence at a venue: close from ``min_overlap_minutes``, general below (when
    general contacts are identified), nothing at an excluded venue category."""
    tracing = policy.tracing
    if category is not None and category in tracing.excluded_venue_categories:
        return None
    if minutes <= 0:
        return None
    if minutes >= tracing.min_overlap_minutes:
        return Degree.close
    return Degree.general if tracing.identify_general else None


def direct_contacts(
    *,
    case_person: str | None,
    exposures: Iterable[Exposure],
    members: Iterable[Membership],
    categories: Mapping[str, str],
    policy: Policy,
) -> dict[str, Finding]:
    """Close and general contacts: household and workplace-unit members of the case
    person, and co-presence at venues (``categories``: venue code → category)."""
    tracing = policy.tracing
    found: dict[str, Finding] = {}
    for m in members:
        if m.person_id == case_person:
            continue
        close = (
            tracing.household_is_close if m.kind == "household" else tracing.workplace_unit_is_close
        )
        if close:
            rule = str(policy.rule(f"tracing.{m.kind}_is_close"))
            _put(found, m.person_id, Degree.close, _membership_reason(m, rule))
    # The rule of each degree once, not once per exposure (thousands per trace).
    venue_rule = {
        Degree.close: str(policy.rule("tracing.min_overlap_minutes")),
        Degree.general: str(policy.rule("tracing.identify_general")),
    }
    for e in exposures:
        if e.person_id == case_person:
            continue
        minutes = e.minutes
        degree = venue_degree(minutes, categories.get(e.venue_code), policy)
        if degree is None:
            continue
        reason = Reason(
            kind="venue",
            rule=venue_rule[degree],
            venue_code=e.venue_code,
            overlap_start=e.overlap_start,
            overlap_end=e.overlap_end,
            minutes=round(minutes, 2),
        )
        _put(found, e.person_id, degree, reason)
    return found


def close_ids(found: Mapping[str, Finding]) -> set[str]:
    return {p for p, f in found.items() if f.degree is Degree.close}


def with_secondary(
    found: dict[str, Finding],
    *,
    case_person: str | None,
    members_of: Mapping[str, Sequence[Membership]],
    policy: Policy,
) -> dict[str, Finding]:
    """Adds 密接的密接: household and workplace-unit members of each close contact
    (``members_of``: close contact → members), when the edition identifies them.
    A person already a close contact stays close, with the extra reason kept."""
    if not policy.tracing.identify_secondary:
        return found
    rule = str(policy.rule("tracing.identify_secondary"))
    for via in sorted(close_ids(found)):
        for m in members_of.get(via, ()):
            if m.person_id in (case_person, via):
                continue
            _put(found, m.person_id, Degree.secondary, _membership_reason(m, rule, via=via))
    return found


def merge_reasons(old: Iterable[Reason], new: Iterable[Reason]) -> list[Reason]:
    merged = list(old)
    for r in new:
        if r not in merged:
            merged.append(r)
    return merged
