"""Tables of risk zones (分区分级, RULES §4) and the city's reopening decisions.

A zone is drawn over registry units (``RiskZoneUnit``: a building, compound, community,
street, district, venue or workplace) and optionally a GeoJSON polygon. Its level over time
is a list of periods (``RiskZonePeriod``, local days, the end exclusive), so that "was this
address in a zone on that day, and at what level" is answered for any past day; every move
is an event naming who, why and the rule (``RiskZoneEvent``). A zone carries its city, and
its district, street and community where its extent lies inside one, for jurisdiction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.storage.db import Base
from fangkong.storage.types import UTCDateTime


class RiskZone(Base):
    """A zone: ``status`` proposed → in_force → downgraded → lifted, or rejected.

    ``level`` is its level now (the drawn level while proposed); ``edition`` the policy
    edition it was drawn under; ``case_nos`` the cases that drew it (space-separated);
    ``upgrade_of`` the milder zone a positive inside it proposes to replace.
    """

    __tablename__ = "risk_zone"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    city_code: Mapped[str] = mapped_column(String(4), index=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    edition: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    case_nos: Mapped[str] = mapped_column(Text, default="")
    upgrade_of: Mapped[str | None] = mapped_column(String(40))
    geometry: Mapped[str | None] = mapped_column(Text)  # GeoJSON Polygon/MultiPolygon, WGS-84
    proposed_on: Mapped[date] = mapped_column(Date, index=True)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    residents: Mapped[int] = mapped_column(Integer, default=0)
    venues: Mapped[int] = mapped_column(Integer, default=0)
    workplaces: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    units: Mapped[list[RiskZoneUnit]] = relationship(
        back_populates="zone", cascade="all, delete-orphan", order_by="RiskZoneUnit.id"
    )
    periods: Mapped[list[RiskZonePeriod]] = relationship(
        back_populates="zone", cascade="all, delete-orphan", order_by="RiskZonePeriod.id"
    )
    events: Mapped[list[RiskZoneEvent]] = relationship(
        back_populates="zone", cascade="all, delete-orphan", order_by="RiskZoneEvent.id"
    )


class RiskZoneUnit(Base):
    """One registry unit of a zone's extent: ``ref`` is the row id (building, compound,
    community) or the code (street, district, venue code, workplace number)."""

    __tablename__ = "risk_zone_unit"
    __table_args__ = (UniqueConstraint("zone_id", "kind", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("risk_zone.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(128))

    zone: Mapped[RiskZone] = relationship(back_populates="units")


class RiskZonePeriod(Base):
    """The zone at one level over local days [``starts_on``, ``ends_on``)."""

    __tablename__ = "risk_zone_period"

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("risk_zone.id"), index=True)
    city_code: Mapped[str] = mapped_column(String(4), index=True)
    level: Mapped[str] = mapped_column(String(16))
    starts_on: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date | None] = mapped_column(Date, index=True)
    downgraded: Mapped[bool] = mapped_column(Boolean, default=False)
    rule: Mapped[str] = mapped_column(String(64))

    zone: Mapped[RiskZone] = relationship(back_populates="periods")


class RiskZoneEvent(Base):
    """One move of a zone (append-only): proposed, confirmed, edited, rejected, downgraded,
    lifted, upgraded; who, why, the rule."""

    __tablename__ = "risk_zone_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("risk_zone.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    from_level: Mapped[str | None] = mapped_column(String(16))
    to_level: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(64))

    zone: Mapped[RiskZone] = relationship(back_populates="events")


class ZoneScreening(Base):
    """A screening round of a zone (封控区筛查 / 管控区筛查) on a local day: how many were
    sampled and how many positive. An all-negative round is what lifting waits for."""

    __tablename__ = "zone_screening"
    __table_args__ = (UniqueConstraint("zone_id", "day", "round_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("risk_zone.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    round_code: Mapped[str] = mapped_column(String(64))
    sampled: Mapped[int] = mapped_column(Integer)
    positives: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ZoneRound(Base):
    """A testing round that targets a zone: when the round is applied, the zone's screening
    (its residents sampled and positive) is recorded from the round's outcome."""

    __tablename__ = "zone_round"
    __table_args__ = (UniqueConstraint("zone_id", "round_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("risk_zone.id"), index=True)
    round_code: Mapped[str] = mapped_column(String(64), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReopeningDecision(Base):
    """A reopening decision (有序恢复生产生活秩序, seed 000): rules by region × category,
    in force from ``effective_at`` until a later decision of the city."""

    __tablename__ = "reopening_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    city_code: Mapped[str] = mapped_column(String(4), index=True)
    title: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(128))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    source: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    rules: Mapped[list[ReopeningRule]] = relationship(
        back_populates="decision", cascade="all, delete-orphan", order_by="ReopeningRule.id"
    )


class ReopeningRule(Base):
    """One cell of a decision: a region (``city``, a district or a reporting unit; inside or
    outside zones, or either) × a category (an industry or venue category, a school kind):
    ``open``, ``conditional`` (with its conditions), ``closed`` or ``priority``."""

    __tablename__ = "reopening_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("reopening_decision.id"), index=True)
    region_kind: Mapped[str] = mapped_column(String(16))  # city | district | unit
    region_code: Mapped[str] = mapped_column(String(16))
    zones: Mapped[str] = mapped_column(String(16))  # any | outside | inside
    category: Mapped[str] = mapped_column(String(32))  # * = every category
    verdict: Mapped[str] = mapped_column(String(16))
    capacity_share: Mapped[float | None] = mapped_column(Float)
    temperature: Mapped[bool] = mapped_column(Boolean, default=False)
    code_check: Mapped[bool] = mapped_column(Boolean, default=False)
    mask: Mapped[bool] = mapped_column(Boolean, default=False)
    test_within_hours: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(200))

    decision: Mapped[ReopeningDecision] = relationship(back_populates="rules")
