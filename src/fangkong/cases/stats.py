"""Daily statistics as pure functions: what a case adds to the counts, and the day series.

A case contributes +1 to a few (day, unit, metric) cells; the service applies the
difference between a case's contributions before and after each change, so the count
table always equals a recount (a property test holds it to that).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from fangkong.policy import Policy, RuleRef

Cell = tuple[date, str, str, str]  # day, city code, unit code, metric


@dataclass(frozen=True)
class CaseFacts:
    """What the statistics need of a case."""

    city_code: str
    unit_code: str
    origin: str
    reported_classification: str
    found_via: str | None
    reported_on: date
    converted_on: date | None = None
    discharged_on: date | None = None


def new_metric(origin: str, classification: str) -> str:
    return f"new:{origin}:{classification}"


def via_metric(origin: str, found_via: str | None) -> str:
    return f"via:{origin}:{found_via or 'unknown'}"


def converted_metric(origin: str) -> str:
    return f"converted:{origin}"


def discharged_metric(origin: str) -> str:
    return f"discharged:{origin}"


def contributions(case: CaseFacts) -> Counter[Cell]:
    where = (case.city_code, case.unit_code)
    cells: Counter[Cell] = Counter()
    cells[(case.reported_on, *where, new_metric(case.origin, case.reported_classification))] += 1
    cells[(case.reported_on, *where, via_metric(case.origin, case.found_via))] += 1
    if case.converted_on is not None:
        cells[(case.converted_on, *where, converted_metric(case.origin))] += 1
    if case.discharged_on is not None:
        cells[(case.discharged_on, *where, discharged_metric(case.origin))] += 1
    return cells


def delta(before: CaseFacts | None, after: CaseFacts | None) -> dict[Cell, int]:
    """The change to apply to the counts when a case goes from ``before`` to ``after``."""
    change: Counter[Cell] = Counter()
    if after is not None:
        change.update(contributions(after))
    if before is not None:
        change.subtract(contributions(before))
    return {cell: n for cell, n in change.items() if n != 0}


def recount(cases: Iterable[CaseFacts | None]) -> Counter[Cell]:
    """The cells of every case (``None``: a case that counts for nothing, held or voided)."""
    total: Counter[Cell] = Counter()
    for case in cases:
        if case is not None:
            total.update(contributions(case))
    return total


@dataclass
class DayFigures:
    """The figures of one day for a city or a unit (local cases unless named imported)."""

    day: date
    new_confirmed: int = 0
    new_asymptomatic: int = 0
    conversions: int = 0
    discharges: int = 0
    under_control: int = 0
    community: int = 0
    imported_abroad: int = 0
    imported_other_province: int = 0
    total_confirmed: int = 0
    total_asymptomatic: int = 0
    total_discharged: int = 0
    community_zero: bool = True
    zero_streak: int = 0
    community_cleared: bool = False
    single_digit_streak: int = 0
    below_threshold_streak: int = 0
    stable_control: bool = False
    basic_zero_day: bool | None = None
    basic_zero_streak: int = 0
    community_basically_cleared: bool = False
    rules: list[RuleRef] = field(default_factory=list)

    @property
    def new_total(self) -> int:
        return self.new_confirmed + self.new_asymptomatic


def _is_under_control(policy: Policy, metric_channel: str) -> bool:
    if metric_channel == "unknown":
        return not policy.community.unknown_channel_is_community
    return metric_channel in policy.community.under_control_channels


def day_series(
    counts: Mapping[date, Mapping[str, int]],
    *,
    start: date,
    end: date,
    policy: Policy,
    since: date | None = None,
    population: int | None = None,
) -> list[DayFigures]:
    """Figures for every day from ``start`` to ``end``.

    ``counts`` maps a day to its metrics summed over the area; it should reach back to
    the first day with data, because streaks and totals run from there. Totals count
    from ``since`` when given (the outbreak start), else from the first day.
    """
    rules = policy.community
    series: list[DayFigures] = []
    zero_streak = below_streak = basic_streak = low_streak = 0
    outbreak = False  # streaks mean something only once there has been a case
    totals = [0, 0, 0]  # confirmed, asymptomatic, discharged
    # The days with data before ``start`` and every day of the range: a run of quiet days
    # between them changes no total and lengthens every streak by its length, so it is
    # stepped over at once (the work grows with the days with data, not the calendar).
    earlier = sorted(d for d in counts if d < start)
    days = [*earlier, *(start + timedelta(days=i) for i in range((end - start).days + 1))]
    quiet_is_basic_zero = population is not None and rules.basic_zero_per_100k * population > 0
    previous: date | None = None
    for day in days:
        gap = 0 if previous is None else (day - previous).days - 1
        previous = day
        if gap > 0 and outbreak:
            zero_streak += gap
            low_streak += gap
            below_streak += gap
            basic_streak = basic_streak + gap if quiet_is_basic_zero else 0
        elif gap > 0 and population and not quiet_is_basic_zero:
            basic_streak = 0
        metrics = counts.get(day, {})
        fig = DayFigures(day=day)
        for metric, value in metrics.items():
            kind, origin, *rest = metric.split(":")
            if origin != "local":
                if kind == "new":
                    if origin == "abroad":
                        fig.imported_abroad += value
                    else:
                        fig.imported_other_province += value
                continue
            if kind == "new":
                if rest[0] == "confirmed":
                    fig.new_confirmed += value
                else:
                    fig.new_asymptomatic += value
            elif kind == "via":
                if _is_under_control(policy, rest[0]):
                    fig.under_control += value
                else:
                    fig.community += value
            elif kind == "converted":
                fig.conversions += value
            elif kind == "discharged":
                fig.discharges += value
        if since is None or day >= since:
            totals[0] += fig.new_confirmed + fig.conversions
            totals[1] += fig.new_asymptomatic - fig.conversions
            totals[2] += fig.discharges
        fig.total_confirmed, fig.total_asymptomatic, fig.total_discharged = totals

        # Streaks count outbreak days only (from the first local case on): quiet days
        # before it would otherwise let the first day of an outbreak count as "cleared",
        # and the flags would depend on how far back the query starts.
        outbreak = outbreak or fig.new_total > 0
        step = 1 if outbreak else 0
        fig.community_zero = fig.community == 0
        zero_streak = zero_streak + step if fig.community_zero else 0
        fig.zero_streak = zero_streak
        fig.community_cleared = outbreak and zero_streak >= rules.zero_streak_days

        # "连续N天控制在个位数": days below M new cases, wherever they were found.
        low = fig.new_total < rules.stable_control_below
        low_streak = low_streak + step if low else 0
        fig.single_digit_streak = low_streak
        calm = low and fig.community_zero
        below_streak = below_streak + step if calm else 0
        fig.below_threshold_streak = below_streak
        fig.stable_control = outbreak and below_streak >= rules.stable_control_days

        if population:
            fig.basic_zero_day = fig.community * 100_000 < rules.basic_zero_per_100k * population
            basic_streak = basic_streak + step if fig.basic_zero_day else 0
            fig.basic_zero_streak = basic_streak
            fig.community_basically_cleared = outbreak and basic_streak >= rules.zero_streak_days
        fig.rules = [
            policy.rule("community.zero_streak_days"),
            policy.rule("community.stable_control"),
        ]
        if day >= start:
            series.append(fig)
    return series
