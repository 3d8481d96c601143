"""Venues (场所) and their venue codes: create, edit, look up, list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people import vocab
from fangkong.people.access import VENUES, check_place, venue_scope
from fangkong.people.lookups import assign, contains, resolve_region
from fangkong.people.models import Venue
from fangkong.people.schemas import VenueCreate, VenueRead, VenueUpdate
from fangkong.regions import service as regions
from fangkong.storage.bulk import chunks


def venue_values(data: VenueCreate) -> dict[str, Any]:
    """Column values of a venue from its input (resolves district and street)."""
    district_code, street_code = resolve_region(data.district, data.street)
    return {
        "venue_code": data.venue_code,
        "name": data.name,
        "category": data.category,
        "industry": data.industry,
        "district_code": district_code,
        "street_code": street_code,
        "address": data.address,
        "capacity": data.capacity,
    }


def get_venue(session: Session, *, venue_code: str, scope: Jurisdiction) -> Venue:
    venue = session.scalar(select(Venue).where(Venue.venue_code == venue_code, venue_scope(scope)))
    if venue is None:
        raise NotFound(f"no venue {venue_code!r}", venue_code=venue_code)
    return venue


def require_venue(session: Session, *, venue_code: str) -> Venue:
    """The venue, whatever the caller's jurisdiction (a binding's check); else NotFound."""
    venue = session.scalar(select(Venue).where(Venue.venue_code == venue_code))
    if venue is None:
        raise NotFound(f"no venue {venue_code!r}", venue_code=venue_code)
    return venue


def venues_by_code(session: Session, codes: Iterable[str]) -> dict[str, Venue]:
    found: dict[str, Venue] = {}
    for batch in chunks(sorted(set(codes))):
        for v in session.scalars(select(Venue).where(Venue.venue_code.in_(batch))):
            found[v.venue_code] = v
    return found


def create_venue(session: Session, *, data: VenueCreate, scope: Jurisdiction) -> Venue:
    if session.scalar(select(Venue.id).where(Venue.venue_code == data.venue_code)) is not None:
        raise Conflict(f"venue {data.venue_code!r} already exists", venue_code=data.venue_code)
    values = venue_values(data)
    check_place(
        scope, VENUES, district_code=values["district_code"], street_code=values["street_code"]
    )
    venue = Venue(**values)
    session.add(venue)
    session.flush()
    return venue


def update_venue(
    session: Session, *, venue_code: str, data: VenueUpdate, scope: Jurisdiction
) -> Venue:
    """Apply the fields given; a new district without a street clears the street. A
    venue outside ``scope`` is ``NotFound``; moving one out of it is refused."""
    venue = get_venue(session, venue_code=venue_code, scope=scope)
    given = data.model_dump(exclude_unset=True)
    for name in ("name", "category"):
        if name in given and given[name] is None:
            raise InvalidInput(f"{name} cannot be empty", field=name)
    values: dict[str, Any] = {
        k: given[k] for k in ("name", "category", "industry", "address", "capacity") if k in given
    }
    if "district" in given or "street" in given:
        district = given.get("district") or venue.district_code
        street = given.get("street") if "street" in given else None
        district_code, street_code = resolve_region(district, street)
        if "street" not in given and district_code == venue.district_code:
            street_code = venue.street_code
        values.update(district_code=district_code, street_code=street_code)
        check_place(scope, VENUES, district_code=district_code, street_code=street_code)
    if assign(venue, values):
        session.flush()
    return venue


@dataclass(frozen=True)
class VenueFilter:
    text: str | None = None  # name or venue code
    category: str | None = None
    district_code: str | None = None
    street_code: str | None = None


def list_venues(
    session: Session, *, flt: VenueFilter, scope: Jurisdiction, limit: int = 50, offset: int = 0
) -> tuple[list[Venue], int]:
    conditions: list[ColumnElement[bool]] = [venue_scope(scope)]
    if flt.text:
        conditions.append(or_(contains(Venue.name, flt.text), contains(Venue.venue_code, flt.text)))
    if flt.category:
        conditions.append(Venue.category == flt.category)
    if flt.district_code:
        conditions.append(Venue.district_code == flt.district_code)
    if flt.street_code:
        conditions.append(Venue.street_code == flt.street_code)
    total = session.scalar(select(func.count(Venue.id)).where(*conditions))
    items = session.scalars(
        select(Venue).where(*conditions).order_by(Venue.venue_code).limit(limit).offset(offset)
    )
    return list(items), int(total or 0)


def venue_read(venue: Venue) -> VenueRead:
    unit = regions.unit_for(venue.district_code, venue.street_code)
    return VenueRead(
        venue_code=venue.venue_code,
        name=venue.name,
        category=venue.category,
        category_label=vocab.VENUE_CATEGORIES.get(venue.category, venue.category),
        industry=venue.industry,
        industry_label=vocab.INDUSTRIES.get(venue.industry) if venue.industry else None,
        district_code=venue.district_code,
        district_name=regions.registry().districts[venue.district_code].name,
        street_code=venue.street_code,
        street_name=regions.street_name(venue.street_code),
        unit_code=unit.code,
        unit_name=unit.name,
        address=venue.address,
        capacity=venue.capacity,
    )


def venues_in(
    session: Session,
    *,
    district_codes: Iterable[str] = (),
    street_codes: Iterable[str] = (),
    venue_codes: Iterable[str] = (),
    with_points_in_city: str | None = None,
) -> list[Venue]:
    """The venues of these districts or streets, or with these codes; with
    ``with_points_in_city`` also every venue of that city that has a point (zones place
    them in polygons)."""
    parts: list[ColumnElement[bool]] = []
    if districts := sorted(set(district_codes)):
        parts.append(Venue.district_code.in_(districts))
    if streets := sorted(set(street_codes)):
        parts.append(Venue.street_code.in_(streets))
    if codes := sorted(set(venue_codes)):
        parts.append(Venue.venue_code.in_(codes))
    if with_points_in_city is not None:
        city = [d.code for d in regions.districts(with_points_in_city)]
        parts.append(Venue.lon.is_not(None) & Venue.district_code.in_(city))
    if not parts:
        return []
    return list(session.scalars(select(Venue).where(or_(*parts)).order_by(Venue.venue_code)))
