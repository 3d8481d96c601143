"""What a zone is drawn over and what it holds: names of registry units, the addresses of
persons, and the residents, venues and workplaces inside a set of units.

Persons, their address hierarchy and workplaces are read through ``people.joins`` (the
registry's documented read surface), venues through ``people.venues``. Inside means: a
person whose address lies in one of the units (by building, compound, community, street
or district); a venue or workplace of a venue or workplace unit, or of a street or
district unit, or — for a venue with a point — inside the zone's polygon.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.errors import InvalidInput, NotFound
from fangkong.people import venues as people_venues
from fangkong.people.access import person_scope
from fangkong.people.joins import Building, Community, Compound, Person, Workplace
from fangkong.regions import service as regions
from fangkong.storage import bulk
from fangkong.zones.rules import EXTENT_KINDS, Place

if TYPE_CHECKING:
    from fangkong.people.models import Venue
    from fangkong.zones.models import RiskZone

Address = tuple[int, str | None, str | None, int | None, int | None, int | None]


@dataclass(frozen=True)
class NamedPlace:
    place: Place
    name: str


def describe(session: Session, kind: str, ref: str) -> NamedPlace:
    """A unit with its full name and where it lies; unknown units are refused."""
    if kind not in EXTENT_KINDS:
        raise InvalidInput(
            f"unknown unit kind {kind!r}; kinds: {', '.join(EXTENT_KINDS)}", field="kind"
        )
    reg = regions.registry()
    if kind == "district":
        district = reg.districts.get(ref)
        if district is None:
            raise NotFound(f"unknown district {ref!r}", field="ref")
        return NamedPlace(Place("district", ref, ref), district.name)
    if kind == "street":
        street = reg.streets.get(ref)
        if street is None:
            raise NotFound(f"unknown street {ref!r}", field="ref")
        return NamedPlace(
            Place("street", ref, street.district_code, ref),
            f"{regions.district_name(street.district_code)}{street.name}",
        )
    if kind == "venue":
        venue = people_venues.require_venue(session, venue_code=ref)
        return NamedPlace(Place("venue", ref, venue.district_code, venue.street_code), venue.name)
    if kind == "workplace":
        wp = session.scalar(select(Workplace).where(Workplace.workplace_no == ref))
        if wp is None:
            raise NotFound(f"unknown workplace {ref!r}", field="ref")
        return NamedPlace(Place("workplace", ref, wp.district_code, wp.street_code), wp.name)
    if not ref.isdigit():
        raise InvalidInput(f"a {kind} is named by its id, not {ref!r}", field="ref")
    row_id = int(ref)
    if kind == "community":
        c = session.get(Community, row_id)
        if c is None:
            raise NotFound(f"unknown community {ref}", field="ref")
        return NamedPlace(Place(kind, ref, c.district_code, c.street_code, c.id), c.name)
    if kind == "compound":
        found = session.execute(
            select(Compound.name, Community).join(Community).where(Compound.id == row_id)
        ).first()
        if found is None:
            raise NotFound(f"unknown compound {ref}", field="ref")
        name, c = found
        return NamedPlace(Place(kind, ref, c.district_code, c.street_code, c.id), f"{c.name}{name}")
    row = session.execute(
        select(Building.name, Compound.name, Community)
        .join(Compound, Compound.id == Building.compound_id)
        .join(Community, Community.id == Compound.community_id)
        .where(Building.id == row_id)
    ).first()
    if row is None:
        raise NotFound(f"unknown building {ref}", field="ref")
    bname, cname, c = row
    return NamedPlace(
        Place("building", ref, c.district_code, c.street_code, c.id), f"{c.name}{cname}{bname}"
    )


def addresses(session: Session, person_ids: Iterable[int]) -> Iterator[Address]:
    """``(person, district, street, community, compound, building)`` for these persons."""
    cols = (
        Person.id,
        Person.district_code,
        Person.street_code,
        Person.community_id,
        Person.compound_id,
        Person.building_id,
    )
    for batch in bulk.chunks(sorted(set(person_ids))):
        for row in session.execute(select(*cols).where(Person.id.in_(batch))):
            yield (row[0], row[1], row[2], row[3], row[4], row[5])


def workplace_of(session: Session, person_ids: Iterable[int]) -> dict[int, str]:
    """Person → their workplace's number (a case found at work lies in a workplace zone)."""
    found: dict[int, str] = {}
    for batch in bulk.chunks(sorted(set(person_ids))):
        rows = session.execute(
            select(Person.id, Workplace.workplace_no)
            .join(Workplace, Workplace.id == Person.workplace_id)
            .where(Person.id.in_(batch))
        )
        found.update((pid, no) for pid, no in rows)
    return found


def workplaces_by_no(session: Session, nos: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """Workplace number → (district, street)."""
    found: dict[str, tuple[str, str | None]] = {}
    for batch in bulk.chunks(sorted(set(nos))):
        rows = session.execute(
            select(Workplace.workplace_no, Workplace.district_code, Workplace.street_code).where(
                Workplace.workplace_no.in_(batch)
            )
        )
        found.update((no, (d, s)) for no, d, s in rows)
    return found


def _person_condition(units: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    by: dict[str, list[str]] = defaultdict(list)
    for kind, ref in units:
        by[kind].append(ref)
    parts: list[ColumnElement[bool]] = []
    for kind, column in (
        ("building", Person.building_id),
        ("compound", Person.compound_id),
        ("community", Person.community_id),
    ):
        if by.get(kind):
            parts.append(column.in_([int(r) for r in by[kind]]))
    if by.get("street"):
        parts.append(Person.street_code.in_(by["street"]))
    if by.get("district"):
        parts.append(Person.district_code.in_(by["district"]))
    if by.get("workplace"):
        parts.append(
            Person.workplace_id.in_(
                select(Workplace.id).where(Workplace.workplace_no.in_(by["workplace"]))
            )
        )
    return or_(*parts) if parts else false()


def resident_count(session: Session, units: Sequence[tuple[str, str]]) -> int:
    """Persons living (or, for a workplace unit, working) in the units."""
    return int(session.scalar(select(func.count(Person.id)).where(_person_condition(units))) or 0)


def residents(
    session: Session,
    units: Sequence[tuple[str, str]],
    *,
    scope: Jurisdiction,
    limit: int = 100,
    offset: int = 0,
) -> list[Person]:
    """The persons inside, cut to the caller's jurisdiction, by registry number."""
    return list(
        session.scalars(
            select(Person)
            .where(_person_condition(units), person_scope(scope))
            .options(
                selectinload(Person.community),
                selectinload(Person.compound),
                selectinload(Person.building),
            )
            .order_by(Person.person_no)
            .limit(limit)
            .offset(offset)
        )
    )


def residents_total(
    session: Session, units: Sequence[tuple[str, str]], *, scope: Jurisdiction
) -> int:
    return int(
        session.scalar(
            select(func.count(Person.id)).where(_person_condition(units), person_scope(scope))
        )
        or 0
    )


@dataclass(frozen=True)
class WorkplaceInfo:
    workplace_no: str
    district_code: str
    street_code: str | None
    industry: str


def workplace_info(session: Session, workplace_no: str) -> WorkplaceInfo:
    row = session.execute(
        select(Workplace.district_code, Workplace.street_code, Workplace.industry).where(
            Workplace.workplace_no == workplace_no
        )
    ).first()
    if row is None:
        raise NotFound(f"no workplace {workplace_no!r}", workplace_no=workplace_no)
    return WorkplaceInfo(workplace_no, row[0], row[1], row[2])


def _by_kind(units: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    by: dict[str, list[str]] = defaultdict(list)
    for kind, ref in units:
        by[kind].append(ref)
    return by


def venues_inside(session: Session, zone: RiskZone) -> list[Venue]:
    """The venues of the zone's venue, street and district units, and — for a zone with a
    boundary — the venues whose point lies inside it."""
    by = _by_kind([(u.kind, u.ref) for u in zone.units])
    found = {
        v.venue_code: v
        for v in people_venues.venues_in(
            session,
            district_codes=by.get("district", ()),
            street_codes=by.get("street", ()),
            venue_codes=by.get("venue", ()),
        )
    }
    if zone.geometry:
        from fangkong.zones.geo import parse_polygon  # shapely only where a boundary exists

        shape = parse_polygon(zone.geometry)
        import shapely

        for v in people_venues.venues_in(session, with_points_in_city=zone.city_code):
            if (
                v.lon is not None
                and v.lat is not None
                and shape.intersects(shapely.Point(v.lon, v.lat))
            ):
                found[v.venue_code] = v
    return [found[k] for k in sorted(found)]


def workplace_count(session: Session, units: Sequence[tuple[str, str]]) -> int:
    by = _by_kind(units)
    parts: list[ColumnElement[bool]] = []
    if by.get("workplace"):
        parts.append(Workplace.workplace_no.in_(by["workplace"]))
    if by.get("street"):
        parts.append(Workplace.street_code.in_(by["street"]))
    if by.get("district"):
        parts.append(Workplace.district_code.in_(by["district"]))
    if not parts:
        return 0
    return int(session.scalar(select(func.count(Workplace.id)).where(or_(*parts))) or 0)


def resident_nos(session: Session, units: Sequence[tuple[str, str]]) -> set[str]:
    """Registry numbers of the persons inside the units (a zone's screening counts them)."""
    return set(session.scalars(select(Person.person_no).where(_person_condition(units))))


def community_of(session: Session, kind: str, ref: str) -> int | None:
    """The community a building or compound lies in (a round samples by community)."""
    if not ref.isdigit():
        return None
    if kind == "compound":
        return session.scalar(select(Compound.community_id).where(Compound.id == int(ref)))
    if kind == "building":
        return session.scalar(
            select(Compound.community_id)
            .join(Building, Building.compound_id == Compound.id)
            .where(Building.id == int(ref))
        )
    return int(ref) if kind == "community" else None


def workplaces_inside(
    session: Session, units: Sequence[tuple[str, str]], *, limit: int = 500
) -> list[Workplace]:
    """The workplaces of the zone's workplace, street and district units, by number."""
    by = _by_kind(units)
    parts: list[ColumnElement[bool]] = []
    if by.get("workplace"):
        parts.append(Workplace.workplace_no.in_(by["workplace"]))
    if by.get("street"):
        parts.append(Workplace.street_code.in_(by["street"]))
    if by.get("district"):
        parts.append(Workplace.district_code.in_(by["district"]))
    if not parts:
        return []
    return list(
        session.scalars(
            select(Workplace).where(or_(*parts)).order_by(Workplace.workplace_no).limit(limit)
        )
    )


def community_names(session: Session, units: Sequence[tuple[str, str]]) -> list[str]:
    """The communities a zone's building, compound and community units lie in, by name
    (what the national risk-area list calls a zone's 社区)."""
    ids: set[int] = set()
    for kind, ref in units:
        found = community_of(session, kind, ref) if kind in ("building", "compound") else None
        if kind == "community" and ref.isdigit():
            found = int(ref)
        if found is not None:
            ids.add(found)
    if not ids:
        return []
    return sorted(session.scalars(select(Community.name).where(Community.id.in_(sorted(ids)))))
