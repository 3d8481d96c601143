"""Typed policy. Each section holds the numbers one domain reads; nothing else may."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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


class Policy(_Section):
    edition: str
    title: str
    published: str
    base: str | None = None
    community: CommunityPolicy = CommunityPolicy()
    tracing: TracingPolicy = TracingPolicy()
    testing: TestingPolicy = TestingPolicy()

    def rule(self, rule_id: str) -> RuleRef:
        return RuleRef(edition=self.edition, rule=rule_id)
