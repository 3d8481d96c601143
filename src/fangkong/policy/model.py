"""Typed policy. Each section holds the numbers one domain reads; nothing else may."""

from __future__ import annotations

from datetime import time
from itertools import pairwise
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleRef(_Section):
    """Names the rule behind a decision: edition + rule id, so a person can ask "why?"."""

    edition: str
    rule: str

    def __str__(self) -> str:
        return f"{self.edition}:{self.rule}"


class CommunityPolicy(_Section):
    """社会面清零 and 稳定控制期 (RULES §1)."""

    zero_streak_days: int = Field(
        3, ge=1, description="Consecutive days with 0 community cases for 社会面清零."
    )
    basic_zero_per_100k: float = Field(
        1.0,
        gt=0,
        description="Per-day community cases per 100,000 below which a day counts "
        "towards 社会面基本清零.",
    )
    stable_control_days: int = Field(
        3, ge=1, description="N consecutive days below M new cases, all under control."
    )
    stable_control_below: int = Field(10, ge=1, description="M: daily new cases stay below it.")
    unknown_channel_is_community: bool = Field(
        True, description="A case whose found_via is unknown cannot prove control."
    )
    under_control_channels: tuple[str, ...] = (
        "quarantine_site",
        "home_isolation",
        "home_monitoring",
        "sealed_zone_screening",
        "controlled_zone_screening",
    )


class TracingPolicy(_Section):
    """流调溯源 (RULES §2): who is a contact of a positive, and why."""

    lookback_days: int = Field(
        4, ge=0, le=30, description="Days before onset (or sampling, or report) that count."
    )
    source_lookback_days: int = Field(14, ge=0, le=60, description="Source tracing window.")
    min_overlap_minutes: int = Field(
        15, ge=0, description="Co-presence at a venue at least this long makes a close contact."
    )
    household_is_close: bool = True
    workplace_unit_is_close: bool = True
    identify_secondary: bool = Field(
        True, description="密接的密接: household and workplace-unit members of close contacts."
    )
    identify_general: bool = Field(
        True, description="一般接触者: co-presence below the overlap threshold."
    )
    excluded_venue_categories: tuple[str, ...] = Field(
        ("park",), description="Venue categories whose co-presence makes no contact."
    )
    default_stay_minutes: int = Field(
        30, ge=1, description="Stay assumed when a scan has no exit time."
    )
    stay_minutes: dict[str, int] = Field(
        default_factory=dict, description="Default stay per venue category (minutes)."
    )

    def stay_for(self, category: str | None) -> int:
        if category is not None and category in self.stay_minutes:
            return self.stay_minutes[category]
        return self.default_stay_minutes


class TestingPolicy(_Section):
    """全员核酸检测 and routine testing (RULES §5)."""

    allowed_pool_sizes: tuple[int, ...] = Field(
        (1, 5, 10, 20), description="Tube sizes the labs validate: 1 = single tube, 5/10/20-in-1."
    )
    default_pool_size: int = Field(10, ge=1, description="Fixed pool size of a round.")
    round_hours: int = Field(24, ge=1, description="A city completes a round within this.")
    people_per_point_min: int = Field(2000, ge=1, description="1 sampling point per 2,000–")
    people_per_point_max: int = Field(3000, ge=1, description="–3,000 people.")
    people_per_staff: int = Field(360, ge=1, description="Sampling staff = population ÷ 360.")
    people_per_table_min: int = Field(600, ge=1, description="1 sampling table per 600–")
    people_per_table_max: int = Field(800, ge=1, description="–800 people.")
    recall_hours: int = Field(
        6, ge=1, description="Members of a positive pool are re-sampled within these hours."
    )
    frequencies: dict[str, float] = Field(
        default_factory=lambda: {
            "daily": 1.0,
            "every_2_days": 2.0,
            "twice_weekly": 3.5,
            "weekly": 7.0,
        },
        description="Days between two tests of a routine-testing frequency.",
    )
    routine_groups: dict[str, str] = Field(
        default_factory=dict,
        description="Industry → frequency of routine testing of its workers (常态化检测).",
    )

    def interval_days(self, frequency: str) -> float:
        return self.frequencies[frequency]


StageKind = Literal[
    "centralized", "home_isolation", "home_monitoring", "rehabilitation", "tests_only"
]


class Stage(_Section):
    """One stage of a quarantine or monitoring schedule; its days follow the previous stage's."""

    kind: StageKind = Field(
        ...,
        description="集中隔离 / 居家隔离 / 居家健康监测 / 康复医学观察, or tests_only: no "
        "restriction, only tests within a window (low-risk-zone arrivals).",
    )
    days: int = Field(
        ..., ge=1, description="Length in local calendar days; for tests_only, the window."
    )
    test_days: tuple[int, ...] = Field(
        (), description="Days of the stage with a nucleic-acid test, day 1 = the stage's first day."
    )
    release_two_labs: bool = Field(
        False, description="The release test (the stage's last day) goes to two labs (8th ed.)."
    )
    test_gap_hours: int | None = Field(
        None,
        ge=1,
        description="Least hours between two tests; the test days are then spaced so that any "
        "sampling hours keep the gap.",
    )

    @model_validator(mode="after")
    def _test_days_fit(self) -> Stage:
        days = self.test_days
        if any(d < 1 or d > self.days for d in days):
            raise ValueError(f"test days {days} must lie within 1..{self.days}")
        if list(days) != sorted(set(days)):
            raise ValueError(f"test days {days} must be increasing, without repeats")
        if self.release_two_labs and self.days not in days:
            raise ValueError("release_two_labs needs a test on the stage's last day")
        if self.test_gap_hours is not None:
            # a test at 23:59 on day a and one at 00:00 on day b are (b - a - 1) days apart
            least = 1 + -(-self.test_gap_hours // 24)
            if any(b - a < least for a, b in pairwise(days)):
                raise ValueError(f"test days {days} must be {least} days apart")
        return self


class ReportWindow(_Section):
    """A local time span in which a person under home monitoring reports a temperature."""

    opens: time
    closes: time

    @model_validator(mode="after")
    def _ordered(self) -> ReportWindow:
        if self.opens >= self.closes:
            raise ValueError(f"report window opens ({self.opens}) after it closes ({self.closes})")
        return self


class QuarantinePolicy(_Section):
    """转运隔离、健康监测 (RULES §3): per kind of person, the stages in order.

    An empty list means the edition does not identify (or does not quarantine) that kind.
    """

    close: tuple[Stage, ...] = Field((), description="密切接触者.")
    secondary: tuple[Stage, ...] = Field((), description="密接的密接.")
    high_risk: tuple[Stage, ...] = Field((), description="Arrivals from a high-risk zone.")
    medium_risk: tuple[Stage, ...] = Field((), description="Arrivals from a medium-risk zone.")
    low_risk: tuple[Stage, ...] = Field((), description="Arrivals from a low-risk zone.")
    discharged: tuple[Stage, ...] = Field((), description="Cases discharged from hospital.")
    fever_celsius: float = Field(
        37.3,
        gt=35,
        lt=42,
        description="A temperature at or above it is fever (home health monitoring).",
    )
    symptoms: tuple[str, ...] = Field(
        ("fever", "dry_cough", "fatigue", "sore_throat", "loss_of_smell_or_taste", "diarrhoea"),
        description="Symptom codes reported at once under home health monitoring.",
    )
    report_windows: dict[str, ReportWindow] = Field(
        default_factory=lambda: {
            "morning": ReportWindow(opens=time(6), closes=time(12)),
            "evening": ReportWindow(opens=time(18), closes=time(23)),
        },
        description="Temperature taken morning and evening: the local windows for each report. "
        "The protocols name no hours; these are a working default to set locally.",
    )

    KINDS: ClassVar[tuple[str, ...]] = (
        "close",
        "secondary",
        "high_risk",
        "medium_risk",
        "low_risk",
        "discharged",
    )

    def stages(self, kind: str) -> tuple[Stage, ...]:
        if kind not in self.KINDS:
            raise ValueError(f"unknown kind of person {kind!r}; known: {', '.join(self.KINDS)}")
        stages: tuple[Stage, ...] = getattr(self, kind)
        return stages


ZoneLevel = Literal["sealed", "controlled", "precaution", "high", "medium", "low"]


class LiftRule(_Section):
    """When a zone of one level may leave it (RULES §4): ``quiet_days`` with no new positive
    inside, counted from the later of the day the level took effect and the last positive;
    an all-negative screening round of the zone on day ``quiet_days - round_window_days + 1``
    or later; for the 2021 rules also every close contact's quarantine ended. ``then`` is
    the level it goes to, or None: lifted (the area falls back to the county's rest)."""

    quiet_days: int = Field(..., ge=1, description="Days with no new positive inside.")
    round_window_days: int = Field(
        1, ge=1, description="The all-negative round falls in the last N days of the count."
    )
    contacts_released: bool = Field(
        False, description="The last close contact's quarantine has ended negative (2021)."
    )
    then: ZoneLevel | None = Field(None, description="The next level; None means lifted.")
    after_downgrade_days: int | None = Field(
        None,
        ge=1,
        description="A zone that reached this level by a downgrade needs only these days.",
    )


class ZonePolicy(_Section):
    """分区分级 (RULES §4): the levels of an edition, how a case's places are proposed and
    when each level lifts."""

    levels: tuple[ZoneLevel, ...] = Field(
        ("sealed", "controlled", "precaution"), description="The levels, severest first."
    )
    seal_unit: Literal["compound", "building"] = Field(
        "compound", description="The case's home unit drawn at the severest level."
    )
    surround_unit: Literal["community", "street", "none"] = Field(
        "community", description="The case's surroundings, drawn at the second level."
    )
    contact_places: bool = Field(
        True,
        description="Venues and workplaces where tracing found close contacts are drawn at "
        "the second level.",
    )
    lifting: dict[str, LiftRule] = Field(
        default_factory=lambda: {
            "sealed": LiftRule(quiet_days=14, round_window_days=2, contacts_released=True),
            "controlled": LiftRule(quiet_days=14, round_window_days=2, contacts_released=True),
        },
        description="Level → its lifting rule; the county-wide level has none: it lifts when "
        "every other zone of its county has.",
    )

    @model_validator(mode="after")
    def _levels_fit(self) -> ZonePolicy:
        if len(self.levels) < 2:
            raise ValueError("an edition needs at least two zone levels")
        for level, rule in self.lifting.items():
            if level not in self.levels[:-1]:
                raise ValueError(f"lifting rule for {level!r}, not a drawn level of the edition")
            if rule.then is not None and (
                rule.then not in self.levels[:-1]
                or self.levels.index(rule.then) <= self.levels.index(level)
            ):
                raise ValueError(f"{level} may only go to a milder drawn level, not {rule.then}")
        return self

    @property
    def severest(self) -> str:
        return self.levels[0]

    @property
    def second(self) -> str | None:
        """The level of surroundings and contact places; None when the edition has only
        high and low."""
        return self.levels[1] if len(self.levels) > 2 else None

    @property
    def county(self) -> str:
        """The rest of the county (防范区 / 低风险区)."""
        return self.levels[-1]


class Policy(_Section):
    edition: str
    title: str
    published: str
    base: str | None = None
    community: CommunityPolicy = CommunityPolicy()
    tracing: TracingPolicy = TracingPolicy()
    testing: TestingPolicy = TestingPolicy()
    quarantine: QuarantinePolicy = QuarantinePolicy()
    zones: ZonePolicy = ZonePolicy()

    def rule(self, rule_id: str) -> RuleRef:
        return RuleRef(edition=self.edition, rule=rule_id)
