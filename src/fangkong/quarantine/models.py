"""Tables of transfer and quarantine (RULES §3).

Sites and their rooms; one ``QuarantineOrder`` per person and episode with every move of its
status (``OrderTransition``); transfer tasks; the swabs an order schedules (their samples and
results live in the testing domain: a site's swabs of a day are a testing round of kind
``quarantine``). Home monitoring's reports, links and tasks are ``monitoring/models.py``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.storage.db import Base
from fangkong.storage.types import UTCDateTime


class QuarantineSite(Base):
    """A centralized quarantine site (集中隔离点) or a designated hospital (定点医院).

    ``status``: ``open`` takes people; ``paused`` keeps who is there but takes nobody new;
    ``closed`` is out of use. Capacity is the sum of its rooms' beds.
    """

    __tablename__ = "quarantine_site"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(24))  # centralized_site | designated_hospital
    city_code: Mapped[str] = mapped_column(String(4), index=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    rooms: Mapped[list[SiteRoom]] = relationship(
        back_populates="site", cascade="all, delete-orphan", order_by="SiteRoom.room_no"
    )


class SiteRoom(Base):
    """A room of a site with its beds; ``in_service`` false takes it out of assignment."""

    __tablename__ = "quarantine_room"
    __table_args__ = (UniqueConstraint("site_id", "room_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("quarantine_site.id"), index=True)
    room_no: Mapped[str] = mapped_column(String(32))
    beds: Mapped[int] = mapped_column(Integer)
    single_only: Mapped[bool] = mapped_column(Boolean, default=False)
    in_service: Mapped[bool] = mapped_column(Boolean, default=True)

    site: Mapped[QuarantineSite] = relationship(back_populates="rooms")


class TransferTask(Base):
    """A transfer (转运): one household's pickup for one site, with a vehicle and a team.

    ``status``: ``pending`` → ``done`` (the people are at the site) | ``cancelled``.
    """

    __tablename__ = "transfer_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_no: Mapped[str] = mapped_column(String(40), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("quarantine_site.id"), index=True)
    pickup_address: Mapped[str | None] = mapped_column(String(200))
    pickup_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    persons: Mapped[int] = mapped_column(Integer)
    vehicle: Mapped[str | None] = mapped_column(String(32))
    team: Mapped[str | None] = mapped_column(String(64))
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(String(64))

    site: Mapped[QuarantineSite] = relationship()


class QuarantineOrder(Base):
    """A person's episode of quarantine or monitoring (隔离管控), with the stages and test
    days its policy edition set (``stages``: JSON of the schedule) and the rule behind them.

    ``source``: ``contact`` (from a ``Contact``), ``discharge`` (a case leaving hospital, for
    rehabilitation observation) or ``manual``. The person's home area is copied for
    jurisdiction and the community's lists. At most one order per person is active at a time.
    """

    __tablename__ = "quarantine_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(40), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    person_kind: Mapped[str] = mapped_column(String(16))  # close | secondary | … | discharged
    kind: Mapped[str] = mapped_column(String(24))  # the first stage's kind
    stages: Mapped[str] = mapped_column(Text)
    start_on: Mapped[date] = mapped_column(Date, index=True)
    planned_end: Mapped[date] = mapped_column(Date, index=True)
    hand_over_on: Mapped[date | None] = mapped_column(Date)
    rule: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    lost_from: Mapped[str | None] = mapped_column(String(24))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("quarantine_site.id"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("quarantine_room.id"), index=True)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfer_task.id"), index=True)
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    converted_case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    site: Mapped[QuarantineSite | None] = relationship()
    room: Mapped[SiteRoom | None] = relationship()
    transitions: Mapped[list[OrderTransition]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderTransition.id"
    )


class OrderTransition(Base):
    """One move of an order's status, with who made it and why (append-only)."""

    __tablename__ = "quarantine_transition"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("quarantine_order.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))  # None: the order's creation
    to_status: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by: Mapped[str] = mapped_column(String(64))
    why: Mapped[str] = mapped_column(String(200))

    order: Mapped[QuarantineOrder] = relationship(back_populates="transitions")


class QuarantineSwab(Base):
    """A test an order schedules on ``due_on`` (the ``number``-th of its stage).

    ``state``: ``due`` → ``sampled`` → ``negative`` | ``positive`` | ``invalid`` (retest),
    from the testing round it was sampled in (``round_code``); a due test whose day has
    passed without a sample is overdue (computed, not stored).
    """

    __tablename__ = "quarantine_swab"
    __table_args__ = (UniqueConstraint("order_id", "due_on", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("quarantine_order.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    stage: Mapped[str] = mapped_column(String(24))
    number: Mapped[int] = mapped_column(Integer)
    two_labs: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="due", index=True)
    round_code: Mapped[str | None] = mapped_column(String(64), index=True)
    sampled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resulted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
