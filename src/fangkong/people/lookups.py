"""Names in input turned into rows: districts and streets, households, communities,
compounds, buildings, workplaces and their units.

``Lookups`` caches every answer and can be preloaded, so that an import of many rows makes a
handful of queries instead of several per row; new rows are added unflushed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from fangkong.errors import InvalidInput, NotFound
from fangkong.people.models import (
    Building,
    Community,
    Compound,
    Household,
    Workplace,
    WorkplaceUnit,
)
from fangkong.regions import service as regions
from fangkong.storage.bulk import chunks


def contains(column: Any, value: str) -> ColumnElement[bool]:
    """``column`` contains ``value`` (trimmed), with LIKE's wildcards taken literally."""
    result: ColumnElement[bool] = column.contains(value.strip(), autoescape=True)
    return result


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


def address_of(
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
    address = address_of(
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
