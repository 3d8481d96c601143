"""Tables of the case registry and its pre-aggregated daily counts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.storage.db import Base
from fangkong.storage.types import UTCDateTime


class Case(Base):
    """A positive: a confirmed case or an asymptomatic infection.

    ``reported_classification`` is what the case was when reported and never changes;
    ``classification`` is what it is now (an asymptomatic infection converted on
    ``converted_on`` is now confirmed). Days are local (Asia/Shanghai) calendar days.
    """

    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    id_number: Mapped[str | None] = mapped_column(String(18))
    reported_classification: Mapped[str] = mapped_column(String(16))
    classification: Mapped[str] = mapped_column(String(16), index=True)
    origin: Mapped[str] = mapped_column(String(16), default="local", index=True)
    found_via: Mapped[str | None] = mapped_column(String(32))
    city_code: Mapped[str] = mapped_column(String(4), index=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9))
    unit_code: Mapped[str] = mapped_column(String(16), index=True)
    sampled_on: Mapped[date | None] = mapped_column(Date)
    onset_on: Mapped[date | None] = mapped_column(Date)
    reported_on: Mapped[date] = mapped_column(Date, index=True)
    converted_on: Mapped[date | None] = mapped_column(Date)
    discharged_on: Mapped[date | None] = mapped_column(Date)
    infector_case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    # pending (held for review: not counted), counted, voided (核减: no longer counted)
    status: Mapped[str] = mapped_column(String(16), default="counted", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    infector: Mapped[Case | None] = relationship(remote_side=[id])


class DailyCount(Base):
    """One pre-aggregated figure: ``value`` of ``metric`` on ``day`` in a reporting unit.

    Maintained incrementally by the case service (the delta of each change), so that
    dashboards and bulletins never scan the case table. Metric names are built in
    ``cases/stats.py``. Rows that fall to zero are deleted.
    """

    __tablename__ = "daily_count"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    metric: Mapped[str] = mapped_column(String(48), primary_key=True)
    city_code: Mapped[str] = mapped_column(String(4), index=True)
    value: Mapped[int] = mapped_column(Integer)


class CaseCorrection(Base):
    """A review (审核), a void (核减) or a correction (订正) of a case, with its reason, who
    made it and on which local ``day`` (the bulletin of that day states it).

    ``before`` and ``after`` are what the case counted for (``stats.CaseFacts`` as JSON,
    null when it counted for nothing): the bulletin says the correction from them.
    """

    __tablename__ = "case_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date, index=True)
    city_code: Mapped[str] = mapped_column(String(4))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class PublishedBulletin(Base):
    """The bulletin of a day as published, word for word: later corrections change the
    figures, never what was published."""

    __tablename__ = "published_bulletin"
    __table_args__ = (UniqueConstraint("city_code", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_code: Mapped[str] = mapped_column(String(4))
    day: Mapped[date] = mapped_column(Date)
    since: Mapped[date | None] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    published_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
