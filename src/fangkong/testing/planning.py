"""Sampling points (采样点) for a round of mass testing, sized by the guide's ratios (RULES §5).

The guide (全员核酸检测组织实施指南（第三版）, 22 March 2022) sizes a round by three ratios:
1 sampling point per 2,000–3,000 people, sampling staff = population ÷ 360, and 1 sampling
table per 600–800 people. ``plan_points`` turns them into points per community:

- **Points**: ``ceil(population / people_per_point_max)``, the fewest points that keep every
  point at or under the maximum, with the population split as evenly as possible (served
  counts differ by at most one person). The minimum is sizing guidance, not a floor: a
  community of 1,200 people still gets one point serving 1,200, because points are planned per
  community and never merged across communities. An even split also meets the
  minimum whenever ``population >= people_per_point_min * points``; with the guide's numbers
  it misses only below 2,000 people and between 3,001 and 3,999 (two points of 1,501–1,999),
  where no whole number of points fits the range and the maximum, which bounds the queue,
  wins.
- **Staff**: ``ceil(served / people_per_staff)`` per point. Rounding up per point means the
  city total is at least the guide's ``population ÷ 360``, never under it, and over it by less
  than one person per point.
- **Tables**: ``ceil(served / people_per_table_max)`` per point, at least one, so no table
  serves more than the maximum; the table minimum is guidance in the same way.
- **Slots**: the window cut into ``slot_minutes`` slots (the last one shorter when the window
  is not a whole number of slots), each point's people spread over them in proportion to slot
  length, as whole numbers that sum to the point's served count (largest remainder).

The window is the caller's: the guide's 24 h for a prefecture-level city is not enforced.

Everything here is pure: the caller supplies populations, the window and the ratios.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

GUIDE_3RD_EDITION = "全员核酸检测组织实施指南（第三版）, 2022-03-22"


@dataclass(frozen=True)
class PlanRatios:
    """The sizing ratios; the defaults are the guide's (RULES §5), a policy file may differ."""

    people_per_point_min: int = 2000
    people_per_point_max: int = 3000
    people_per_staff: int = 360
    people_per_table_min: int = 600
    people_per_table_max: int = 800
    source: str = GUIDE_3RD_EDITION

    def __post_init__(self) -> None:
        for name in (
            "people_per_point_min",
            "people_per_point_max",
            "people_per_staff",
            "people_per_table_min",
            "people_per_table_max",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.people_per_point_min > self.people_per_point_max:
            raise ValueError(
                f"people_per_point_min ({self.people_per_point_min}) exceeds "
                f"people_per_point_max ({self.people_per_point_max})"
            )
        if self.people_per_table_min > self.people_per_table_max:
            raise ValueError(
                f"people_per_table_min ({self.people_per_table_min}) exceeds "
                f"people_per_table_max ({self.people_per_table_max})"
            )


@dataclass(frozen=True)
class CommunityPopulation:
    code: str
    name: str
    street: str
    district: str
    population: int

    def __post_init__(self) -> None:
        if self.population < 0:
            raise ValueError(
                f"community {self.code} ({self.name}): population must not be negative, "
                f"got {self.population}"
            )


@dataclass(frozen=True)
class TimeSlot:
    starts_at: datetime
    ends_at: datetime
    expected_people: int


@dataclass(frozen=True)
class PlannedPoint:
    code: str
    community_code: str
    community_name: str
    street: str
    district: str
    population_served: int
    staff: int
    tables: int
    slots: tuple[TimeSlot, ...]


@dataclass(frozen=True)
class CommunityPlan:
    community: CommunityPopulation
    points: tuple[PlannedPoint, ...]


@dataclass(frozen=True)
class PlanTotals:
    population: int = 0
    points: int = 0
    staff: int = 0
    tables: int = 0

    def __add__(self, other: PlanTotals) -> PlanTotals:
        return PlanTotals(
            population=self.population + other.population,
            points=self.points + other.points,
            staff=self.staff + other.staff,
            tables=self.tables + other.tables,
        )


@dataclass(frozen=True)
class Plan:
    """Points per community, in the order the communities were given; instants in UTC."""

    communities: tuple[CommunityPlan, ...]
    totals: PlanTotals
    ratios: PlanRatios
    window_start: datetime
    window_end: datetime

    def district_totals(self) -> dict[str, PlanTotals]:
        """Totals per district, districts in sorted order."""
        by_district: dict[str, PlanTotals] = {}
        for community_plan in self.communities:
            district = community_plan.community.district
            by_district[district] = by_district.get(district, PlanTotals()) + _totals(
                community_plan
            )
        return dict(sorted(by_district.items()))


def plan_points(
    communities: Iterable[CommunityPopulation],
    *,
    window_start: datetime,
    window_end: datetime,
    slot_minutes: int = 60,
    ratios: PlanRatios = PlanRatios(),
) -> Plan:
    """Sampling points, staff, tables and hourly (or ``slot_minutes``) slots per community.

    Raises ``ValueError`` for a naive or empty window, a non-positive slot length, or a
    community code given twice (point codes derive from it and would collide).
    """
    for label, instant in (("window_start", window_start), ("window_end", window_end)):
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"{label} must be timezone-aware, got naive {instant.isoformat()}")
    # Aware datetimes sharing one tzinfo subtract as wall-clock times; in UTC they subtract
    # as real elapsed time.
    start, end = window_start.astimezone(UTC), window_end.astimezone(UTC)
    if end <= start:
        raise ValueError(
            f"window_end ({window_end.isoformat()}) must be after "
            f"window_start ({window_start.isoformat()})"
        )
    if slot_minutes <= 0:
        raise ValueError(f"slot_minutes must be positive, got {slot_minutes}")
    slot_bounds = _slot_bounds(start, end, timedelta(minutes=slot_minutes))

    seen: set[str] = set()
    planned: list[CommunityPlan] = []
    for community in communities:
        if community.code in seen:
            raise ValueError(f"community code {community.code} is given more than once")
        seen.add(community.code)
        planned.append(_plan_community(community, slot_bounds, ratios))

    totals = sum((_totals(c) for c in planned), PlanTotals())
    return Plan(
        communities=tuple(planned),
        totals=totals,
        ratios=ratios,
        window_start=start,
        window_end=end,
    )


def _plan_community(
    community: CommunityPopulation,
    slot_bounds: Sequence[tuple[datetime, datetime]],
    ratios: PlanRatios,
) -> CommunityPlan:
    count = _ceil_div(community.population, ratios.people_per_point_max)
    weights = [_microseconds(ends - starts) for starts, ends in slot_bounds]
    points: list[PlannedPoint] = []
    for index, served in enumerate(_apportion(community.population, [1] * count), start=1):
        slots = tuple(
            TimeSlot(starts_at=starts, ends_at=ends, expected_people=people)
            for (starts, ends), people in zip(slot_bounds, _apportion(served, weights), strict=True)
        )
        points.append(
            PlannedPoint(
                code=f"{community.code}-P{index:02d}",
                community_code=community.code,
                community_name=community.name,
                street=community.street,
                district=community.district,
                population_served=served,
                staff=_ceil_div(served, ratios.people_per_staff),
                tables=max(1, _ceil_div(served, ratios.people_per_table_max)),
                slots=slots,
            )
        )
    return CommunityPlan(community=community, points=tuple(points))


def _totals(community_plan: CommunityPlan) -> PlanTotals:
    points = community_plan.points
    return PlanTotals(
        population=community_plan.community.population,
        points=len(points),
        staff=sum(p.staff for p in points),
        tables=sum(p.tables for p in points),
    )


def _slot_bounds(
    start: datetime, end: datetime, length: timedelta
) -> list[tuple[datetime, datetime]]:
    """The window cut into slots of ``length``; the last is shorter when the window is not a
    whole number of slots."""
    bounds: list[tuple[datetime, datetime]] = []
    starts = start
    while starts < end:
        ends = min(starts + length, end)
        bounds.append((starts, ends))
        starts = ends
    return bounds


def _apportion(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` by largest remainder: whole numbers that
    sum to ``total``; ties go to the earlier share, so equal weights give the extra people to
    the first shares."""
    if not weights:
        return []
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[i] += 1
    return shares


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _microseconds(span: timedelta) -> int:
    return span // timedelta(microseconds=1)
