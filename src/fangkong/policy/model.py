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


class Policy(_Section):
    edition: str
    title: str
    published: str
    base: str | None = None
    community: CommunityPolicy = CommunityPolicy()

    def rule(self, rule_id: str) -> RuleRef:
        return RuleRef(edition=self.edition, rule=rule_id)
