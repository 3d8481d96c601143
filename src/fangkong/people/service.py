"""The people and places registry: persons, households, addresses, workplaces, venues.

Functions take a ``Session`` and keyword arguments and never commit: the caller owns the
transaction. Every read and write takes the caller's jurisdiction as ``scope``: a record
outside it reads as absent (``NotFound``), and writing one there raises
``OutsideJurisdiction``.

Names in input (districts, communities, household and workplace numbers) are turned into
rows by ``Lookups``, which caches every answer and can be preloaded, so that an import of
many rows makes a handful of queries instead of several per row.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, selectinload
from sqlalchemy.sql.elements import ColumnElement

from fangkong.auth import audit
from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import OutsideJurisdiction, Principal
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people import vocab
from fangkong.people.models import (
    Building,
    Community,
    Compound,
    Household,
    Person,
    Venue,
    Workplace,
    WorkplaceUnit,
)
from fangkong.people.schemas import (
    PersonCreate,
    PersonRead,
    PersonUpdate,
    VenueCreate,
    VenueRead,
    VenueUpdate,
    WorkplaceCreate,
    WorkplaceRead,
    WorkplaceUnitRead,
    check_birth_year,
)
from fangkong.regions import service as regions

CHUNK = 500  # keys per IN (...) query: far below every backend's parameter limit
ADDRESS = ("district", "street", "community", "compound", "building", "room")
WORKPLACE = ("workplace_no", "workplace_unit")
# Relations of a person, set as objects first and turned into ids once they have one.
RELATIONS = ("household", "community", "compound", "building", "workplace", "workplace_unit")

T = TypeVar("T")


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def assign(obj: object, values: dict[str, Any]) -> bool:
    """Set ``values`` on ``obj``; whether anything differed."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def resolve_region(district: str | None, street: str | None) -> tuple[str | None, str | None]:
    """District and street codes from codes or names; a street alone names its district."""
    if district:
        district_code = regions.resolve_district(district).code
        street_code = regions.resolve_street(street, district_code).code if street else None
        return district_code, street_code
    if street:
        found = regions.resolve_street(street)
        return found.district_code, found.code
    return None, None


# ---------------------------------------------------------------- lookups


class Lookups:
    """Get-or-create of addresses, households and workplace units, with caches.

    A key present in a cache with ``None`` is known to be absent. New rows are added to the
    session unflushed; a flush gives them ids (the unit of work inserts parents first).
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._regions: dict[tuple[str | None, str | None], tuple[str | None, str | None]] = {}
        self.households: dict[str, Household | None] = {}
        self.communities: dict[tuple[str, str], Community | None] = {}
        self.compounds: dict[tuple[str, str, str], Compound | None] = {}
        self.buildings: dict[tuple[str, str, str, str], Building | None] = {}
        self.workplaces: dict[str, Workplace | None] = {}
        self.units: dict[tuple[str, str], WorkplaceUnit | None] = {}
        self._streets: set[str] = set()  # streets whose whole address tree is cached
        self._unit_scopes: set[str] = set()  # workplaces whose units are all cached

    # ------------------------------------------------------------ preloading

    def preload_households(self, household_nos: Iterable[str]) -> None:
        wanted = set(household_nos) - self.households.keys()
        for batch in chunks(sorted(wanted)):
            for hh in self.session.scalars(
                select(Household).where(Household.household_no.in_(batch))
            ):
                self.households[hh.household_no] = hh
        for no in wanted:
            self.households.setdefault(no, None)

    def preload_streets(self, street_codes: Iterable[str]) -> None:
        """Every community, compound and building of the streets."""
        wanted = sorted(set(street_codes) - self._streets)
        for batch in chunks(wanted):
            communities = list(
                self.session.scalars(select(Community).where(Community.street_code.in_(batch)))
            )
            by_id = {c.id: c for c in communities}
            for c in communities:
                self.communities[(c.street_code, c.name)] = c
            compounds: dict[int, Compound] = {}
            for cids in chunks(by_id):
                for cp in self.session.scalars(
                    select(Compound).where(Compound.community_id.in_(cids))
                ):
                    compounds[cp.id] = cp
                    owner = by_id[cp.community_id]
                    self.compounds[(owner.street_code, owner.name, cp.name)] = cp
            for pids in chunks(compounds):
                for b in self.session.scalars(
                    select(Building).where(Building.compound_id.in_(pids))
                ):
                    cp = compounds[b.compound_id]
                    owner = by_id[cp.community_id]
                    self.buildings[(owner.street_code, owner.name, cp.name, b.name)] = b
        self._streets.update(wanted)

    def preload_workplaces(self, workplace_nos: Iterable[str]) -> None:
        """The workplaces and all their units."""
        wanted = sorted(set(workplace_nos) - self.workplaces.keys())
        for batch in chunks(wanted):
            found = {
                w.id: w
                for w in self.session.scalars(
                    select(Workplace).where(Workplace.workplace_no.in_(batch))
                )
            }
            for w in found.values():
                self.workplaces[w.workplace_no] = w
            for ids in chunks(found):
                for u in self.session.scalars(
                    select(WorkplaceUnit).where(WorkplaceUnit.workplace_id.in_(ids))
                ):
                    self.units[(found[u.workplace_id].workplace_no, u.name)] = u
        for no in wanted:
            self.workplaces.setdefault(no, None)
        self._unit_scopes.update(wanted)

    # ------------------------------------------------------------ lookups

    def region(self, district: str | None, street: str | None) -> tuple[str | None, str | None]:
        key = (district, street)
        if key not in self._regions:
            self._regions[key] = resolve_region(district, street)
        return self._regions[key]

    def household(self, household_no: str) -> Household:
        if household_no not in self.households:
            self.households[household_no] = self.session.scalar(
                select(Household).where(Household.household_no == household_no)
            )
        found = self.households[household_no]
        if found is None:
            found = Household(household_no=household_no)
            self.session.add(found)
            self.households[household_no] = found
        return found

    def community(self, district_code: str, street_code: str, name: str) -> Community:
        key = (street_code, name)
        if key not in self.communities and street_code not in self._streets:
            self.communities[key] = self.session.scalar(
                select(Community).where(
                    Community.street_code == street_code, Community.name == name
                )
            )
        found = self.communities.get(key)
        if found is None:
            found = Community(name=name, district_code=district_code, street_code=street_code)
            self.session.add(found)
            self.communities[key] = found
        return found

    def compound(self, community: Community, name: str) -> Compound:
        key = (community.street_code, community.name, name)
        if key not in self.compounds and community.street_code not in self._streets:
            self.compounds[key] = (
                self.session.scalar(
                    select(Compound).where(
                        Compound.community_id == community.id, Compound.name == name
                    )
                )
                if community.id is not None
                else None
            )
        found = self.compounds.get(key)
        if found is None:
            found = Compound(community=community, name=name)
            self.session.add(found)
            self.compounds[key] = found
        return found

    def building(self, compound: Compound, name: str) -> Building:
        community = compound.community
        key = (community.street_code, community.name, compound.name, name)
        if key not in self.buildings and community.street_code not in self._streets:
            self.buildings[key] = (
                self.session.scalar(
                    select(Building).where(
                        Building.compound_id == compound.id, Building.name == name
                    )
                )
                if compound.id is not None
                else None
            )
        found = self.buildings.get(key)
        if found is None:
            found = Building(compound=compound, name=name)
            self.session.add(found)
            self.buildings[key] = found
        return found

    def workplace(self, workplace_no: str) -> Workplace | None:
        if workplace_no not in self.workplaces:
            self.workplaces[workplace_no] = self.session.scalar(
                select(Workplace).where(Workplace.workplace_no == workplace_no)
            )
        return self.workplaces[workplace_no]

    def unit(self, workplace: Workplace, name: str, kind: str | None = None) -> WorkplaceUnit:
        """The unit of that name, created when new; ``kind`` (when given) is set on it."""
        key = (workplace.workplace_no, name)
        if key not in self.units and workplace.workplace_no not in self._unit_scopes:
            self.units[key] = (
                self.session.scalar(
                    select(WorkplaceUnit).where(
                        WorkplaceUnit.workplace_id == workplace.id, WorkplaceUnit.name == name
                    )
                )
                if workplace.id is not None
                else None
            )
        found = self.units.get(key)
        if found is None:
            found = WorkplaceUnit(workplace=workplace, name=name, kind=kind or "department")
            self.session.add(found)
            self.units[key] = found
        elif kind is not None and found.kind != kind:
            found.kind = kind
        return found


@dataclass(frozen=True)
class Address:
    district_code: str | None
    street_code: str | None
    community: Community | None
    compound: Compound | None
    building: Building | None


def _address(
    lookups: Lookups,
    *,
    district: str | None,
    street: str | None,
    community: str | None,
    compound: str | None,
    building: str | None,
) -> Address:
    district_code, street_code = lookups.region(district, street)
    if community and not street_code:
        raise InvalidInput("a community needs a street", field="street")
    if compound and not community:
        raise InvalidInput("a compound needs a community", field="community")
    if building and not compound:
        raise InvalidInput("a building needs a compound", field="compound")
    comm = cp = bld = None
    if community and district_code and street_code:
        comm = lookups.community(district_code, street_code, community)
        if compound:
            cp = lookups.compound(comm, compound)
            if building:
                bld = lookups.building(cp, building)
    return Address(district_code, street_code, comm, cp, bld)


def ensure_address(
    session: Session,
    *,
    district: str | None,
    street: str | None = None,
    community: str | None = None,
    compound: str | None = None,
    building: str | None = None,
) -> Address:
    """The address with its community, compound and building, each created when new."""
    address = _address(
        Lookups(session),
        district=district,
        street=street,
        community=community,
        compound=compound,
        building=building,
    )
    session.flush()
    return address


def community_street(session: Session, *, community_id: int) -> str:
    """The street code of a community (a community's jurisdiction is inside its street)."""
    street = session.scalar(select(Community.street_code).where(Community.id == community_id))
    if street is None:
        raise NotFound(f"no community {community_id}", community_id=community_id)
    return street


# ---------------------------------------------------------------- jurisdiction


def area_condition(
    scope: Jurisdiction,
    district: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
    street: InstrumentedAttribute[str | None],
    community: InstrumentedAttribute[int | None] | None = None,
) -> ColumnElement[bool]:
    """The records whose district/street (and community) lie inside ``scope``."""
    streets = sorted(scope.street_codes or ())
    if scope.kind == "city" and scope.city_code:
        return district.in_([d.code for d in regions.districts(scope.city_code)])
    if scope.kind == "district":
        return district == scope.district_code
    if scope.kind == "unit" and scope.unit_code:
        unit = regions.unit(scope.unit_code)
        if unit.kind == "district":  # an address without a street reports under its district
            return or_(street.in_(streets), and_(street.is_(None), district == unit.district_code))
        return street.in_(streets)
    if scope.kind == "street" or (scope.kind == "community" and community is None):
        return street.in_(streets)
    if scope.kind == "community" and community is not None:
        return community == scope.community_id
    return false()  # a site, lab or venue binding covers no area


def person_scope(scope: Jurisdiction) -> ColumnElement[bool]:
    """The persons inside ``scope``. A person without an address belongs to no district,
    so only a city-wide jurisdiction sees them."""
    inside = area_condition(scope, Person.district_code, Person.street_code, Person.community_id)
    return or_(inside, Person.district_code.is_(None)) if scope.whole_city else inside


def venue_scope(scope: Jurisdiction) -> ColumnElement[bool]:
    """The venues inside ``scope`` (a community's user sees the venues of its street)."""
    return area_condition(scope, Venue.district_code, Venue.street_code)


def workplace_scope(scope: Jurisdiction) -> ColumnElement[bool]:
    """The workplaces inside ``scope`` (a community's user sees those of its street)."""
    return area_condition(scope, Workplace.district_code, Workplace.street_code)


def covers(
    scope: Jurisdiction,
    *,
    district_code: str | None,
    street_code: str | None,
    community_id: int | None = None,
    by_street: bool = False,
) -> bool:
    """Whether a place is inside ``scope``: the Python twin of the SQL conditions above
    (``by_street`` for venues and workplaces, which have no community)."""
    if district_code is None:
        return scope.whole_city
    district = regions.registry().districts.get(district_code)
    if district is None:
        return False
    if scope.kind == "community" and by_street:
        return street_code is not None and street_code in (scope.street_codes or ())
    return scope.covers(
        city_code=district.city_code,
        district_code=district_code,
        street_code=street_code,
        community_id=community_id,
    )


def outside(scope: Jurisdiction, *, district_code: str | None) -> OutsideJurisdiction:
    """The error for a place outside ``scope``; ``field`` names the address level at
    fault (the street when the scope holds part of that district), for import reports."""
    partly = {scope.district_code} | {
        regions.registry().streets[s].district_code for s in scope.street_codes or ()
    }
    field = "street" if district_code is not None and district_code in partly else "district"
    return OutsideJurisdiction(
        f"outside your jurisdiction ({scope.label()})",
        field=field,
        jurisdiction=scope.code,
    )


def check_place(
    scope: Jurisdiction,
    *,
    district_code: str | None,
    street_code: str | None,
    community_id: int | None = None,
    by_street: bool = False,
) -> None:
    """Raise ``OutsideJurisdiction`` when a record would be written outside ``scope``."""
    if not covers(
        scope,
        district_code=district_code,
        street_code=street_code,
        community_id=community_id,
        by_street=by_street,
    ):
        raise outside(scope, district_code=district_code)


def person_visible(scope: Jurisdiction, person: Person) -> bool:
    return covers(
        scope,
        district_code=person.district_code,
        street_code=person.street_code,
        community_id=person.community_id,
    )


def check_person_place(scope: Jurisdiction, refs: dict[str, Any], current: Person | None) -> None:
    """A write of a person (new, or ``current`` changed by ``refs`` from ``person_refs``)
    must stay inside ``scope``. A person already outside it raises with ``field``
    ``person_no`` (an import row names them; the API answered 404 before this)."""
    if current is not None and not person_visible(scope, current):
        raise OutsideJurisdiction(
            f"person {current.person_no!r} is outside your jurisdiction ({scope.label()})",
            field="person_no",
        )
    if "district_code" in refs:
        community = refs["community"]
        # a community created by this very write cannot be the one a user is bound to
        place = (refs["district_code"], refs["street_code"], community.id if community else None)
    elif current is not None:
        place = (current.district_code, current.street_code, current.community_id)
    else:
        place = (None, None, None)
    check_place(scope, district_code=place[0], street_code=place[1], community_id=place[2])


# ---------------------------------------------------------------- persons


def person_refs(lookups: Lookups, fields: dict[str, Any]) -> dict[str, Any]:
    """Column values of a person from input ``fields`` (only the keys given), relations as
    objects. Address fields are taken as a whole, as are the workplace fields.

    Raises ``InvalidInput`` with ``field`` naming the input field at fault.
    """
    values: dict[str, Any] = {
        k: fields[k]
        for k in ("person_no", "name", "id_number", "phone", "sex", "birth_year", "room")
        if k in fields
    }
    if "household_no" in fields:
        no = fields["household_no"]
        values["household"] = lookups.household(no) if no else None
    if any(k in fields for k in ADDRESS[:-1]):
        address = _address(
            lookups,
            district=fields.get("district"),
            street=fields.get("street"),
            community=fields.get("community"),
            compound=fields.get("compound"),
            building=fields.get("building"),
        )
        values.update(
            district_code=address.district_code,
            street_code=address.street_code,
            community=address.community,
            compound=address.compound,
            building=address.building,
        )
    if any(k in fields for k in WORKPLACE):
        no, unit_name = fields.get("workplace_no"), fields.get("workplace_unit")
        workplace = lookups.workplace(no) if no else None
        if no and workplace is None:
            raise InvalidInput(f"no workplace {no!r} in the registry", field="workplace_no")
        if unit_name and workplace is None:
            raise InvalidInput("a workplace unit needs a workplace", field="workplace_no")
        values["workplace"] = workplace
        values["workplace_unit"] = (
            lookups.unit(workplace, unit_name) if workplace and unit_name else None
        )
    return values


def person_values(refs: dict[str, Any]) -> dict[str, Any]:
    """``person_refs`` with relation objects replaced by their ids (after a flush)."""
    values = {k: v for k, v in refs.items() if k not in RELATIONS}
    for name in RELATIONS:
        if name in refs:
            values[f"{name}_id"] = refs[name].id if refs[name] is not None else None
    return values


PERSON_COLUMNS = (
    "person_no",
    "name",
    "id_number",
    "phone",
    "sex",
    "birth_year",
    "household_id",
    "district_code",
    "street_code",
    "community_id",
    "compound_id",
    "building_id",
    "room",
    "workplace_id",
    "workplace_unit_id",
)


def complete_person(values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Every column of a new person (absent ones empty): the rows of a bulk insert must all
    name the same columns."""
    row = dict.fromkeys(PERSON_COLUMNS)
    row.update(values, created_at=now, updated_at=now)
    return row


def get_person(session: Session, *, person_no: str, scope: Jurisdiction) -> Person:
    person = session.scalar(
        select(Person).where(Person.person_no == person_no, person_scope(scope))
    )
    if person is None:
        raise NotFound(f"no person {person_no!r} in the registry", person_no=person_no)
    return person


def person_no_of(session: Session, *, person_id: int) -> str | None:
    return session.scalar(select(Person.person_no).where(Person.id == person_id))


def persons_by_no(session: Session, person_nos: Iterable[str]) -> dict[str, Person]:
    found: dict[str, Person] = {}
    for batch in chunks(sorted(set(person_nos))):
        for p in session.scalars(select(Person).where(Person.person_no.in_(batch))):
            found[p.person_no] = p
    return found


def id_number_owners(session: Session, id_numbers: Iterable[str]) -> dict[str, str]:
    """ID number → person number of whoever holds it in the registry."""
    owners: dict[str, str] = {}
    for batch in chunks(sorted(set(id_numbers))):
        rows = session.execute(
            select(Person.id_number, Person.person_no).where(Person.id_number.in_(batch))
        )
        owners.update({str(idn): no for idn, no in rows})
    return owners


def visible_person_nos(
    session: Session, person_nos: Iterable[str], *, scope: Jurisdiction
) -> set[str]:
    """The person numbers among ``person_nos`` that lie inside ``scope``."""
    found: set[str] = set()
    for batch in chunks(sorted(set(person_nos))):
        found.update(
            session.scalars(
                select(Person.person_no).where(Person.person_no.in_(batch), person_scope(scope))
            )
        )
    return found


# An ID number's owner outside the caller's jurisdiction is not named.
HIDDEN_OWNER = "ID number already belongs to a person outside your jurisdiction"


def _check_id_number(
    session: Session, person_no: str, id_number: str | None, scope: Jurisdiction
) -> None:
    if id_number is None:
        return
    owner = id_number_owners(session, [id_number]).get(id_number)
    if owner is not None and owner != person_no:
        if owner in visible_person_nos(session, [owner], scope=scope):
            raise Conflict(
                f"ID number already belongs to person {owner!r}",
                field="id_number",
                person_no=owner,
            )
        raise Conflict(HIDDEN_OWNER, field="id_number")


def create_person(
    session: Session, *, data: PersonCreate, now: datetime, scope: Jurisdiction
) -> Person:
    """A new person; ``OutsideJurisdiction`` when their address lies outside ``scope``."""
    if session.scalar(select(Person.id).where(Person.person_no == data.person_no)) is not None:
        raise Conflict(f"person {data.person_no!r} already exists", person_no=data.person_no)
    _check_id_number(session, data.person_no, data.id_number, scope)
    refs = person_refs(Lookups(session), data.model_dump())
    check_person_place(scope, refs, None)
    session.flush()
    person = Person(**complete_person(person_values(refs), now))
    session.add(person)
    session.flush()
    return person


def _merged_address(person: Person, given: dict[str, Any]) -> dict[str, Any]:
    """The address after an edit: given levels replace, and a level that changes clears
    the levels below it that are not given."""
    current: dict[str, Any] = {
        "district": person.district_code,
        "street": person.street_code,
        "community": person.community.name if person.community else None,
        "compound": person.compound.name if person.compound else None,
        "building": person.building.name if person.building else None,
        "room": person.room,
    }
    merged: dict[str, Any] = {}
    changed = False
    for level in ADDRESS:
        if level not in given:
            merged[level] = None if changed else current[level]
            continue
        value = given[level]
        if value and level == "district":
            value = regions.resolve_district(value).code
        elif value and level == "street":
            value = resolve_region(merged["district"], value)[1]
        changed = changed or value != current[level]
        merged[level] = value
    return merged


def update_person(
    session: Session, *, person_no: str, data: PersonUpdate, now: datetime, scope: Jurisdiction
) -> Person:
    """Apply the fields given in ``data``; the person is unchanged if nothing differs.
    A person outside ``scope`` is ``NotFound``; moving one out of it is refused."""
    person = get_person(session, person_no=person_no, scope=scope)
    given = data.model_dump(exclude_unset=True)
    if given.get("name", "") is None:
        raise InvalidInput("name cannot be empty", field="name")
    fields = {k: v for k, v in given.items() if k not in ADDRESS and k not in WORKPLACE}
    if any(k in given for k in ADDRESS):
        fields.update(_merged_address(person, given))
    if any(k in given for k in WORKPLACE):
        current_no = person.workplace.workplace_no if person.workplace else None
        no = given.get("workplace_no", current_no)
        unit = given.get("workplace_unit")
        if "workplace_unit" not in given and no == current_no and person.workplace_unit:
            unit = person.workplace_unit.name
        fields.update(workplace_no=no, workplace_unit=unit)
    id_number = fields.get("id_number", person.id_number)
    if "birth_year" in fields:
        year = fields["birth_year"]
    else:  # a new ID number brings its own birth year
        year = None if fields.get("id_number") else person.birth_year
    try:
        birth_year = check_birth_year(id_number, year)
    except ValueError as exc:
        field = "birth_year" if "birth_year" in given else "id_number"
        raise InvalidInput(str(exc), field=field) from None
    if birth_year != person.birth_year:
        fields["birth_year"] = birth_year
    if "id_number" in fields:
        _check_id_number(session, person.person_no, fields["id_number"], scope)
    refs = person_refs(Lookups(session), fields)
    check_person_place(scope, refs, person)
    # relations set as objects, so that the person's loaded relations follow the change
    if assign(person, refs):
        person.updated_at = now
        session.flush()
    return person


@dataclass(frozen=True)
class PersonFilter:
    text: str | None = None  # name, person number, phone or ID number
    name: str | None = None
    person_no: str | None = None
    phone: str | None = None
    id_number: str | None = None
    district_code: str | None = None
    street_code: str | None = None
    community: str | None = None
    compound: str | None = None
    building: str | None = None
    household_no: str | None = None
    workplace_no: str | None = None


def _contains(column: Any, value: str) -> ColumnElement[bool]:
    result: ColumnElement[bool] = column.contains(value.strip(), autoescape=True)
    return result


def _person_conditions(flt: PersonFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.text:
        conditions.append(
            or_(
                _contains(Person.name, flt.text),
                _contains(Person.person_no, flt.text),
                _contains(Person.phone, flt.text),
                _contains(Person.id_number, flt.text),
            )
        )
    for column, value in (
        (Person.name, flt.name),
        (Person.person_no, flt.person_no),
        (Person.phone, flt.phone),
        (Person.id_number, flt.id_number),
    ):
        if value:
            conditions.append(_contains(column, value))
    if flt.district_code:
        conditions.append(Person.district_code == flt.district_code)
    if flt.street_code:
        conditions.append(Person.street_code == flt.street_code)
    if flt.community:
        conditions.append(
            Person.community_id.in_(
                select(Community.id).where(_contains(Community.name, flt.community))
            )
        )
    if flt.compound:
        conditions.append(
            Person.compound_id.in_(
                select(Compound.id).where(_contains(Compound.name, flt.compound))
            )
        )
    if flt.building:
        conditions.append(
            Person.building_id.in_(select(Building.id).where(Building.name == flt.building.strip()))
        )
    if flt.household_no:
        conditions.append(
            Person.household_id.in_(
                select(Household.id).where(Household.household_no == flt.household_no.strip())
            )
        )
    if flt.workplace_no:
        conditions.append(
            Person.workplace_id.in_(
                select(Workplace.id).where(Workplace.workplace_no == flt.workplace_no.strip())
            )
        )
    return conditions


_PERSON_LOADS = tuple(selectinload(getattr(Person, name)) for name in RELATIONS)


def list_persons(
    session: Session, *, flt: PersonFilter, scope: Jurisdiction, limit: int = 50, offset: int = 0
) -> tuple[list[Person], int]:
    conditions = [*_person_conditions(flt), person_scope(scope)]
    total = session.scalar(select(func.count(Person.id)).where(*conditions))
    items = session.scalars(
        select(Person)
        .where(*conditions)
        .options(*_PERSON_LOADS)
        .order_by(Person.person_no)
        .limit(limit)
        .offset(offset)
    )
    return list(items), int(total or 0)


def iter_persons(session: Session, *, flt: PersonFilter, scope: Jurisdiction) -> Iterator[Person]:
    """Every person matching ``flt`` inside ``scope``, by person number, loaded in
    batches (for exports)."""
    conditions = [*_person_conditions(flt), person_scope(scope)]
    last = ""
    while True:
        batch = list(
            session.scalars(
                select(Person)
                .where(*conditions, Person.person_no > last)
                .options(*_PERSON_LOADS)
                .order_by(Person.person_no)
                .limit(CHUNK)
            )
        )
        yield from batch
        if len(batch) < CHUNK:
            return
        last = batch[-1].person_no


def get_household(
    session: Session, *, household_no: str, scope: Jurisdiction
) -> tuple[Household, list[Person]]:
    """A household and its members inside ``scope``, by person number. A household none
    of whose members is inside ``scope`` is ``NotFound``."""
    household = session.scalar(select(Household).where(Household.household_no == household_no))
    members = (
        list(
            session.scalars(
                select(Person)
                .where(Person.household_id == household.id, person_scope(scope))
                .options(*_PERSON_LOADS)
                .order_by(Person.person_no)
            )
        )
        if household is not None
        else []
    )
    if household is None or not members:
        raise NotFound(f"no household {household_no!r}", household_no=household_no)
    return household, members


def population_by_unit(session: Session, *, city_code: str) -> dict[str, int]:
    """Registered persons per reporting unit of the city (every unit, zeros included).
    Aggregate figures for statistics, hence not cut to a jurisdiction."""
    counts = dict.fromkeys((u.code for u in regions.units(city_code)), 0)
    rows = session.execute(
        select(Person.district_code, Person.street_code, func.count(Person.id))
        .where(Person.district_code.startswith(city_code, autoescape=True))
        .group_by(Person.district_code, Person.street_code)
    )
    for district_code, street_code, count in rows:
        if district_code in regions.registry().districts:
            code = regions.unit_for(district_code, street_code).code
            counts[code] = counts.get(code, 0) + int(count)
    return counts


def _district_name(code: str | None) -> str | None:
    return regions.registry().districts[code].name if code else None


def _street_name(code: str | None) -> str | None:
    street = regions.registry().streets.get(code) if code else None
    return street.name if street else None


def person_read(person: Person) -> PersonRead:
    unit = (
        regions.unit_for(person.district_code, person.street_code) if person.district_code else None
    )
    return PersonRead(
        person_no=person.person_no,
        name=person.name,
        id_number=person.id_number,
        phone=person.phone,
        sex=person.sex,
        sex_label=vocab.SEXES.get(person.sex) if person.sex else None,
        birth_year=person.birth_year,
        household_no=person.household.household_no if person.household else None,
        district_code=person.district_code,
        district_name=_district_name(person.district_code),
        street_code=person.street_code,
        street_name=_street_name(person.street_code),
        unit_code=unit.code if unit else None,
        unit_name=unit.name if unit else None,
        community=person.community.name if person.community else None,
        compound=person.compound.name if person.compound else None,
        building=person.building.name if person.building else None,
        room=person.room,
        workplace_no=person.workplace.workplace_no if person.workplace else None,
        workplace_name=person.workplace.name if person.workplace else None,
        workplace_unit=person.workplace_unit.name if person.workplace_unit else None,
        created_at=person.created_at,
        updated_at=person.updated_at,
    )


def person_shown(
    session: Session, *, person: Person, principal: Principal, now: datetime
) -> PersonRead:
    """One person as ``principal`` may see them: in full with ``person.pii.read`` (and
    the look recorded in the audit log, with the fields shown), masked otherwise."""
    read = person_read(person)
    if not principal.can("person.pii.read"):
        return read.masked_copy()
    audit.record_pii_read(
        session,
        principal=principal,
        entity_type="person",
        entity_id=read.person_no,
        fields=read.pii_fields(),
        now=now,
    )
    return read


EXPORT_COLUMNS = {
    "person_no": "人员编号",
    "name": "姓名",
    "id_number": "身份证号",
    "phone": "手机号",
    "sex_label": "性别",
    "birth_year": "出生年份",
    "household_no": "户编号",
    "district_name": "区县",
    "street_name": "街道",
    "unit_name": "报告单位",
    "community": "社区",
    "compound": "小区",
    "workplace_no": "单位编号",
    "workplace_name": "单位名称",
    "workplace_unit": "部门",
}


def export_csv(session: Session, *, flt: PersonFilter, scope: Jurisdiction) -> tuple[str, int]:
    """The persons matching ``flt`` inside ``scope`` as CSV, always masked; with the
    number of rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS.values())
    rows = 0
    for person in iter_persons(session, flt=flt, scope=scope):
        read = person_read(person).masked_copy()
        writer.writerow(["" if (v := getattr(read, c)) is None else v for c in EXPORT_COLUMNS])
        rows += 1
    return out.getvalue(), rows


# ---------------------------------------------------------------- venues


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


def venues_by_code(session: Session, codes: Iterable[str]) -> dict[str, Venue]:
    found: dict[str, Venue] = {}
    for batch in chunks(sorted(set(codes))):
        for v in session.scalars(select(Venue).where(Venue.venue_code.in_(batch))):
            found[v.venue_code] = v
    return found


def venue_visible(scope: Jurisdiction, venue: Venue) -> bool:
    return covers(
        scope, district_code=venue.district_code, street_code=venue.street_code, by_street=True
    )


def create_venue(session: Session, *, data: VenueCreate, scope: Jurisdiction) -> Venue:
    if session.scalar(select(Venue.id).where(Venue.venue_code == data.venue_code)) is not None:
        raise Conflict(f"venue {data.venue_code!r} already exists", venue_code=data.venue_code)
    values = venue_values(data)
    check_place(
        scope,
        district_code=values["district_code"],
        street_code=values["street_code"],
        by_street=True,
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
        check_place(scope, district_code=district_code, street_code=street_code, by_street=True)
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
        conditions.append(
            or_(_contains(Venue.name, flt.text), _contains(Venue.venue_code, flt.text))
        )
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
        street_name=_street_name(venue.street_code),
        unit_code=unit.code,
        unit_name=unit.name,
        address=venue.address,
        capacity=venue.capacity,
    )


# ---------------------------------------------------------------- workplaces


def workplace_values(data: WorkplaceCreate) -> dict[str, Any]:
    district_code, street_code = resolve_region(data.district, data.street)
    return {
        "workplace_no": data.workplace_no,
        "name": data.name,
        "industry": data.industry,
        "district_code": district_code,
        "street_code": street_code,
        "address": data.address,
    }


def get_workplace(session: Session, *, workplace_no: str, scope: Jurisdiction) -> Workplace:
    workplace = session.scalar(
        select(Workplace).where(Workplace.workplace_no == workplace_no, workplace_scope(scope))
    )
    if workplace is None:
        raise NotFound(f"no workplace {workplace_no!r}", workplace_no=workplace_no)
    return workplace


def workplace_visible(scope: Jurisdiction, workplace: Workplace) -> bool:
    return covers(
        scope,
        district_code=workplace.district_code,
        street_code=workplace.street_code,
        by_street=True,
    )


def create_workplace(session: Session, *, data: WorkplaceCreate, scope: Jurisdiction) -> Workplace:
    """A workplace with its units."""
    exists = session.scalar(select(Workplace.id).where(Workplace.workplace_no == data.workplace_no))
    if exists is not None:
        raise Conflict(
            f"workplace {data.workplace_no!r} already exists", workplace_no=data.workplace_no
        )
    values = workplace_values(data)
    check_place(
        scope,
        district_code=values["district_code"],
        street_code=values["street_code"],
        by_street=True,
    )
    workplace = Workplace(**values)
    session.add(workplace)
    session.add_all(
        WorkplaceUnit(workplace=workplace, name=u.name, kind=u.kind) for u in data.units
    )
    session.flush()
    return workplace


def ensure_unit(
    session: Session,
    *,
    workplace_no: str,
    name: str,
    scope: Jurisdiction,
    kind: str | None = None,
) -> WorkplaceUnit:
    """The unit of that name in the workplace, created when new."""
    workplace = get_workplace(session, workplace_no=workplace_no, scope=scope)
    unit = Lookups(session).unit(workplace, name, kind)
    session.flush()
    return unit


def units_of(session: Session, workplace_ids: Sequence[int]) -> dict[int, list[WorkplaceUnit]]:
    """Units per workplace id, by name."""
    units: dict[int, list[WorkplaceUnit]] = defaultdict(list)
    for batch in chunks(workplace_ids):
        for u in session.scalars(
            select(WorkplaceUnit)
            .where(WorkplaceUnit.workplace_id.in_(batch))
            .order_by(WorkplaceUnit.name)
        ):
            units[u.workplace_id].append(u)
    return units


@dataclass(frozen=True)
class WorkplaceFilter:
    text: str | None = None  # name or workplace number
    industry: str | None = None
    district_code: str | None = None


def list_workplaces(
    session: Session,
    *,
    flt: WorkplaceFilter,
    scope: Jurisdiction,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Workplace], int]:
    conditions: list[ColumnElement[bool]] = [workplace_scope(scope)]
    if flt.text:
        conditions.append(
            or_(_contains(Workplace.name, flt.text), _contains(Workplace.workplace_no, flt.text))
        )
    if flt.industry:
        conditions.append(Workplace.industry == flt.industry)
    if flt.district_code:
        conditions.append(Workplace.district_code == flt.district_code)
    total = session.scalar(select(func.count(Workplace.id)).where(*conditions))
    items = session.scalars(
        select(Workplace)
        .where(*conditions)
        .order_by(Workplace.workplace_no)
        .limit(limit)
        .offset(offset)
    )
    return list(items), int(total or 0)


def workplace_reads(session: Session, workplaces: Sequence[Workplace]) -> list[WorkplaceRead]:
    units = units_of(session, [w.id for w in workplaces])
    reads = []
    for w in workplaces:
        unit = regions.unit_for(w.district_code, w.street_code)
        reads.append(
            WorkplaceRead(
                workplace_no=w.workplace_no,
                name=w.name,
                industry=w.industry,
                industry_label=vocab.INDUSTRIES.get(w.industry, w.industry),
                district_code=w.district_code,
                district_name=regions.registry().districts[w.district_code].name,
                street_code=w.street_code,
                street_name=_street_name(w.street_code),
                unit_code=unit.code,
                unit_name=unit.name,
                address=w.address,
                units=[
                    WorkplaceUnitRead(
                        name=u.name, kind=u.kind, kind_label=vocab.UNIT_KINDS.get(u.kind, u.kind)
                    )
                    for u in units.get(w.id, [])
                ],
            )
        )
    return reads


def person_ids_in_community(community_id: int) -> Select[int]:
    """The ids of a community's persons, as a subquery for other domains' scope filters."""
    return select(Person.id).where(Person.community_id == community_id)


def household_members(
    session: Session, person_nos: Iterable[str]
) -> dict[str, list[tuple[str, str]]]:
    """For each given person number: the other members of their household, as
    (person number, household number). For tracing, not cut to a jurisdiction."""
    member = aliased(Person)
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for batch in chunks(sorted(set(person_nos))):
        rows = session.execute(
            select(Person.person_no, member.person_no, Household.household_no)
            .join(member, and_(member.household_id == Person.household_id, member.id != Person.id))
            .join(Household, Household.id == Person.household_id)
            .where(Person.person_no.in_(batch))
            .order_by(Person.person_no, member.person_no)
        )
        for of, no, household_no in rows:
            found[of].append((no, household_no))
    return dict(found)


def unit_members(
    session: Session, person_nos: Iterable[str]
) -> dict[str, list[tuple[str, str, str]]]:
    """For each given person number: the other members of their workplace unit, as
    (person number, workplace number, unit name). For tracing, not cut to a jurisdiction."""
    member = aliased(Person)
    found: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for batch in chunks(sorted(set(person_nos))):
        rows = session.execute(
            select(Person.person_no, member.person_no, Workplace.workplace_no, WorkplaceUnit.name)
            .join(
                member,
                and_(member.workplace_unit_id == Person.workplace_unit_id, member.id != Person.id),
            )
            .join(WorkplaceUnit, WorkplaceUnit.id == Person.workplace_unit_id)
            .join(Workplace, Workplace.id == WorkplaceUnit.workplace_id)
            .where(Person.person_no.in_(batch))
            .order_by(Person.person_no, member.person_no)
        )
        for of, no, workplace_no, unit in rows:
            found[of].append((no, workplace_no, unit))
    return dict(found)


def persons_by_id(session: Session, person_ids: Iterable[int]) -> dict[int, Person]:
    found: dict[int, Person] = {}
    for batch in chunks(sorted(set(person_ids))):
        for p in session.scalars(select(Person).where(Person.id.in_(batch))):
            found[p.id] = p
    return found


def existing_person_nos(session: Session, person_nos: Iterable[str]) -> set[str]:
    """Which of these person numbers are registered (one column, not whole persons: the
    scans import checks millions of rows)."""
    found: set[str] = set()
    for batch in chunks(sorted(set(person_nos))):
        found.update(session.scalars(select(Person.person_no).where(Person.person_no.in_(batch))))
    return found
