"""Persons of the registry (一人一档) and their households: create, edit, read, list,
export, and the look-ups other domains make.

Functions take a ``Session`` and keyword arguments and never commit: the caller owns the
transaction. Every read and write takes the caller's jurisdiction as ``scope``: a person
outside it reads as absent (``NotFound``), and writing one there raises
``OutsideJurisdiction`` (``people/access.py``). Venues are ``people/venues.py``, workplaces
``people/workplaces.py``, names turned into rows ``people/lookups.py``.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.sql.elements import ColumnElement

from fangkong.auth import audit
from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import Principal
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people import vocab
from fangkong.people.access import PERSONS, check_person_place, person_scope
from fangkong.people.lookups import Lookups, address_of, assign, contains, resolve_region
from fangkong.people.models import (
    Building,
    Community,
    Compound,
    Household,
    Person,
    Workplace,
    WorkplaceUnit,
)
from fangkong.people.schemas import PersonCreate, PersonRead, PersonUpdate, check_birth_year
from fangkong.regions import service as regions
from fangkong.storage.bulk import chunks
from fangkong.tabular import SafeWriter

ADDRESS = ("district", "street", "community", "compound", "building", "room")
WORKPLACE = ("workplace_no", "workplace_unit")
# Relations of a person, set as objects first and turned into ids once they have one.
RELATIONS = ("household", "community", "compound", "building", "workplace", "workplace_unit")
EXPORT_BATCH = 500


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
        address = address_of(
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


def _person_conditions(flt: PersonFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.text:
        conditions.append(
            or_(
                contains(Person.name, flt.text),
                contains(Person.person_no, flt.text),
                contains(Person.phone, flt.text),
                contains(Person.id_number, flt.text),
            )
        )
    for column, value in (
        (Person.name, flt.name),
        (Person.person_no, flt.person_no),
        (Person.phone, flt.phone),
        (Person.id_number, flt.id_number),
    ):
        if value:
            conditions.append(contains(column, value))
    if flt.district_code:
        conditions.append(Person.district_code == flt.district_code)
    if flt.street_code:
        conditions.append(Person.street_code == flt.street_code)
    if flt.community:
        conditions.append(
            Person.community_id.in_(
                select(Community.id).where(contains(Community.name, flt.community))
            )
        )
    if flt.compound:
        conditions.append(
            Person.compound_id.in_(select(Compound.id).where(contains(Compound.name, flt.compound)))
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
                .limit(EXPORT_BATCH)
            )
        )
        yield from batch
        if len(batch) < EXPORT_BATCH:
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
        district_name=regions.district_name(person.district_code),
        street_code=person.street_code,
        street_name=regions.street_name(person.street_code),
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
    writer = SafeWriter(out)
    writer.writerow(EXPORT_COLUMNS.values())
    rows = 0
    for person in iter_persons(session, flt=flt, scope=scope):
        read = person_read(person).masked_copy()
        writer.writerow(["" if (v := getattr(read, c)) is None else v for c in EXPORT_COLUMNS])
        rows += 1
    return out.getvalue(), rows


# ---------------------------------------------------------------- for other domains


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


def get_community(session: Session, *, community_id: int, scope: Jurisdiction) -> Community:
    """A community inside ``scope`` (as its residents are); one outside reads as absent."""
    community = session.get(Community, community_id)
    if community is None or not PERSONS.covers(
        scope,
        district_code=community.district_code,
        street_code=community.street_code,
        community_id=community.id,
    ):
        raise NotFound(f"no community {community_id}", community_id=community_id)
    return community


def community_names(session: Session, community_ids: Iterable[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for batch in chunks(sorted(set(community_ids))):
        names.update(
            (cid, name)
            for cid, name in session.execute(
                select(Community.id, Community.name).where(Community.id.in_(batch))
            )
        )
    return names


@dataclass(frozen=True)
class PersonCard:
    """What a worker needs to reach a person: name, phone, household and where they live
    (the caller masks what its reader may not see)."""

    person_no: str
    name: str | None
    phone: str | None
    household_no: str | None
    community: str | None
    compound: str | None
    building: str | None
    room: str | None


def person_cards(session: Session, person_ids: Iterable[int]) -> dict[int, PersonCard]:
    """Person id → card, in batches; one query per batch with the address joined."""
    cards: dict[int, PersonCard] = {}
    for batch in chunks(sorted(set(person_ids))):
        rows = session.execute(
            select(
                Person.id,
                Person.person_no,
                Person.name,
                Person.phone,
                Household.household_no,
                Community.name,
                Compound.name,
                Building.name,
                Person.room,
            )
            .outerjoin(Household, Household.id == Person.household_id)
            .outerjoin(Community, Community.id == Person.community_id)
            .outerjoin(Compound, Compound.id == Person.compound_id)
            .outerjoin(Building, Building.id == Person.building_id)
            .where(Person.id.in_(batch))
        )
        cards.update((row[0], PersonCard(*row[1:])) for row in rows)
    return cards


# ---------------------------------------------------------------- the search box

SEARCH_LIMIT = 20


def normal_id_number(text: str) -> str | None:
    """``text`` as a stored ID number (18 characters, upper-case X), or None when it
    cannot be one: the search then does not ask the index."""
    value = "".join(text.split()).upper()
    if len(value) == 18 and value[:17].isdigit() and (value[17].isdigit() or value[17] == "X"):
        return value
    return None


def normal_phone(text: str) -> str | None:
    """``text`` as a stored mobile number (spaces, dashes and +86 dropped), or None."""
    value = "".join(text.split()).replace("-", "").removeprefix("+86").removeprefix("0086")
    return value if len(value) == 11 and value.isdigit() and value[0] == "1" else None


def search_persons(
    session: Session, *, text: str, scope: Jurisdiction, limit: int = SEARCH_LIMIT
) -> list[Person]:
    """Persons inside ``scope`` whose ID number or phone is ``text`` exactly (normalised,
    through their indexes), or whose name starts with it (the name's index serves a
    prefix, not a substring), by person number."""
    conditions: list[ColumnElement[bool]] = []
    if (id_number := normal_id_number(text)) is not None:
        conditions.append(Person.id_number == id_number)
    if (phone := normal_phone(text)) is not None:
        conditions.append(Person.phone == phone)
    name = text.strip()
    if name and not name.isdigit():
        conditions.append(Person.name.startswith(name, autoescape=True))
    if not conditions:
        return []
    return list(
        session.scalars(
            select(Person)
            .where(or_(*conditions), person_scope(scope))
            .options(*_PERSON_LOADS)
            .order_by(Person.person_no)
            .limit(limit)
        )
    )
