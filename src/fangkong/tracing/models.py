"""Tables of contact tracing: one ``Contact`` per person per case, with its reasons."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.storage.db import Base
from fangkong.storage.types import UTCDateTime


class Contact(Base):
    """A person exposed to a case: the strongest degree and every reason behind it.

    ``reasons`` is a JSON list (venue co-presence with its overlap, household, workplace
    unit, or for a secondary contact the close contact it came through). ``status`` other
    than ``new`` means someone acted on the contact: a re-run never removes or downgrades it.
    """

    __tablename__ = "contact"
    __table_args__ = (UniqueConstraint("case_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    degree: Mapped[str] = mapped_column(String(16), index=True)
    reasons: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    first_found_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
