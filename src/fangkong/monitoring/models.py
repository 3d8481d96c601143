"""Tables of home health monitoring (居家健康监测, RULES §3): temperature reports, the
self-report links, and the tasks alerts raise. Each belongs to a quarantine order (the
monitoring is a stage of it); a task also carries the person's home area, so that the
community's lists are cut to a jurisdiction without reading the order.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.storage.db import Base
from fangkong.storage.types import UTCDateTime


class MonitoringReport(Base):
    """A temperature and symptom report of a person under home monitoring or isolation.

    ``window`` is the report window (morning / evening) it falls in, or None outside them;
    ``channel``: ``self`` (the person's link), ``phone`` or ``visit`` (a community worker).
    """

    __tablename__ = "monitoring_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("quarantine_order.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    window: Mapped[str | None] = mapped_column(String(16))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    temperature: Mapped[float] = mapped_column(Float)
    symptoms: Mapped[str] = mapped_column(String(200), default="")  # space-separated codes
    channel: Mapped[str] = mapped_column(String(8))
    entered_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(200))


class MonitoringLink(Base):
    """A person's self-report link (no account): only a keyed hash of its secret is kept;
    it expires with the order's monitoring and can be revoked."""

    __tablename__ = "monitoring_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("quarantine_order.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MonitoringTask(Base):
    """A task an alert raises: ``referral`` (fever or a listed symptom → fever clinic) or
    ``follow_up`` (a missed report window → the community's 五包一 team). One per order,
    kind, day and window, so the alert run can be repeated. ``status``: open → done."""

    __tablename__ = "monitoring_task"
    __table_args__ = (UniqueConstraint("order_id", "kind", "day", "window"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("quarantine_order.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    window: Mapped[str] = mapped_column(String(16))  # morning | evening | "" (any time)
    reason: Mapped[str] = mapped_column(String(200))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_report.id"))
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(200))
