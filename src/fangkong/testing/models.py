"""Tables of mass testing: rounds and their areas, exemptions, sampling points, recalls.
(The key populations under routine testing are the policy's: ``testing.routine_groups``.)

Samples and lab results are not here: at a city's scale (25.7 M samples in 2.43 M tubes in
a day) they live in the event lake (``testing/lake.py``). The database holds what people
plan and act on: the round, who is exempt, where to sample, and whom to re-sample.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.storage.db import Base
from fangkong.storage.types import UTCDateTime


class TestingRound(Base):
    """A round (轮次) of mass testing over some areas within a time window.

    ``pool_mode`` ``fixed`` pools every area by ``pool_size``; ``by_area`` lets each area use
    the size that minimises expected tests at its recent positivity (``RoundArea``).
    ``due_count`` is the size of the population snapshot taken when the round was created
    (the 应检人员 are fixed then; the registry may change during the round).
    """

    __tablename__ = "testing_round"
    __test__ = False  # not a pytest class, despite its name

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    # mass: everyone living in the areas; routine: the workers of the policy's key
    # industries (常态化检测) employed in the areas.
    kind: Mapped[str] = mapped_column(String(16), default="mass")
    city_code: Mapped[str] = mapped_column(String(4), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pool_mode: Mapped[str] = mapped_column(String(16))
    pool_size: Mapped[int] = mapped_column(Integer)
    three_stage: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    due_count: Mapped[int] = mapped_column(Integer, default=0)
    rule: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(Text)  # JSON of the last RoundOutcome
    # A round of kind ``quarantine``: the tests due on one day at one quarantine site.
    # A quarantine site's round of a day: the site's code (its staff see the round).
    site_code: Mapped[str | None] = mapped_column(String(32), index=True)

    areas: Mapped[list[RoundArea]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="RoundArea.area_code"
    )


class RoundArea(Base):
    """An area a round covers (a district, a street, or a community of the registry),
    with the pool size chosen for it and the positivity that choice used."""

    __tablename__ = "testing_round_area"
    __table_args__ = (UniqueConstraint("round_id", "area_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("testing_round.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))  # district | street | community
    area_code: Mapped[str] = mapped_column(String(16))  # 6 or 9 digits, or c<community id>
    name: Mapped[str] = mapped_column(String(64))
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9))
    population: Mapped[int] = mapped_column(Integer, default=0)
    positivity: Mapped[float | None] = mapped_column(Float)
    pool_size: Mapped[int] = mapped_column(Integer)
    three_stage_size: Mapped[int | None] = mapped_column(Integer)
    pool_rule: Mapped[str] = mapped_column(String(128))

    round: Mapped[TestingRound] = relationship(back_populates="areas")


class RoundExemption(Base):
    """A due person who need not be sampled in this round (in quarantine, in hospital,
    travelling): counted as exempt, not missing."""

    __tablename__ = "testing_exemption"
    __table_args__ = (UniqueConstraint("round_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("testing_round.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SamplingPoint(Base):
    """A sampling point (采样点) of a round, planned from its community's population."""

    __tablename__ = "sampling_point"
    __table_args__ = (UniqueConstraint("round_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("testing_round.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9))
    population: Mapped[int] = mapped_column(Integer)
    staff: Mapped[int] = mapped_column(Integer)
    tables: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Recall(Base):
    """A member of a positive pool (混阳): temporarily controlled, to be re-sampled by
    single tube (单采复核) and handed to their community. ``status``: pending → resampled
    → cleared | positive. One per person and round; re-applying a round never lowers an
    acted-on status."""

    __tablename__ = "testing_recall"
    __table_args__ = (UniqueConstraint("round_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("testing_round.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    tube_barcode: Mapped[str] = mapped_column(String(64))
    sampled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    # Re-sample by then (the policy's testing.recall_hours after the pool was found).
    due_by: Mapped[datetime] = mapped_column(UTCDateTime())
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Lab(Base):
    """A testing lab (检测机构) of the city: the place a ``lab`` account is bound to. Its
    results carry its name; an account may only be bound to a lab registered here."""

    __tablename__ = "testing_lab"

    id: Mapped[int] = mapped_column(primary_key=True)
    city_code: Mapped[str] = mapped_column(String(4), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # what an account names
    name: Mapped[str] = mapped_column(String(128))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
