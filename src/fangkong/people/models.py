"""Tables of the people and places registry.

The address hierarchy is district → street (GB/T 2260 codes, reference data) → community
(社区/村) → compound (小区) → building (楼栋). Persons carry their full address, so that a
list by community or building needs no join through households; the household groups
the people who live together (tracing, quarantine rooms).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fangkong.storage.db import Base
from fangkong.storage.types import UTCDateTime


class Community(Base):
    __tablename__ = "community"
    __table_args__ = (UniqueConstraint("street_code", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    street_code: Mapped[str] = mapped_column(String(9), index=True)


class Compound(Base):
    __tablename__ = "compound"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # A point (WGS-84), for the zone map and point-in-zone; GCJ-02 input is converted on import.
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)

    community: Mapped[Community] = relationship()


class Building(Base):
    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("compound_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)

    compound: Mapped[Compound] = relationship()


class Household(Base):
    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_no: Mapped[str] = mapped_column(String(32), unique=True)


class Workplace(Base):
    __tablename__ = "workplace"

    id: Mapped[int] = mapped_column(primary_key=True)
    workplace_no: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    industry: Mapped[str] = mapped_column(String(32), index=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9))
    address: Mapped[str | None] = mapped_column(String(200))


class WorkplaceUnit(Base):
    """A department, workshop or classroom: the closed space of a workplace contact."""

    __tablename__ = "workplace_unit"
    __table_args__ = (UniqueConstraint("workplace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workplace_id: Mapped[int] = mapped_column(ForeignKey("workplace.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="department")

    workplace: Mapped[Workplace] = relationship()


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_no: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compound.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"), index=True)
    room: Mapped[str | None] = mapped_column(String(32))
    workplace_id: Mapped[int | None] = mapped_column(ForeignKey("workplace.id"), index=True)
    workplace_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("workplace_unit.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    household: Mapped[Household | None] = relationship()
    community: Mapped[Community | None] = relationship()
    compound: Mapped[Compound | None] = relationship()
    building: Mapped[Building | None] = relationship()
    workplace: Mapped[Workplace | None] = relationship()
    workplace_unit: Mapped[WorkplaceUnit | None] = relationship()


class Venue(Base):
    """A place with a venue code (场所码), where visits are scanned."""

    __tablename__ = "venue"

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    industry: Mapped[str | None] = mapped_column(String(32))
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9))
    address: Mapped[str | None] = mapped_column(String(200))
    capacity: Mapped[int | None] = mapped_column(Integer)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
