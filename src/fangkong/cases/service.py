"""The case registry: create, edit, convert, discharge, list; statistics and bulletin.

Functions take a ``Session`` and keyword arguments and never commit: the caller owns the
transaction. Every change to a case applies its delta to ``daily_count`` in the same
transaction, so the counts are never out of step with the cases.

Every read and write takes the caller's ``scope`` (``auth.jurisdiction.Jurisdiction``) and
is cut to it in SQL (``scope_conditions``, ``stat_units``): a case outside it is not found,
a place outside it cannot be written, figures outside it are not counted.
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from fangkong.auth import audit
from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import Forbidden, OutsideJurisdiction, Principal
from fangkong.auth.scope import Reach
from fangkong.cases import bulletin, stats
from fangkong.cases.models import Case, CaseCorrection, DailyCount
from fangkong.cases.schemas import (
    CaseCreate,
    CaseRead,
    CaseUpdate,
    DateOrderError,
    check_dates,
)
from fangkong.cases.vocab import Classification, FoundVia, Origin
from fangkong.errors import Conflict, FangkongError, InvalidInput, NotFound
from fangkong.people import access as people_access
from fangkong.people import service as people_service
from fangkong.people.masking import mask_id_number, mask_name
from fangkong.people.schemas import PersonRead
from fangkong.policy import Policy
from fangkong.regions import service as regions
from fangkong.storage import bulk
from fangkong.tabular import SafeWriter

if TYPE_CHECKING:
    from fangkong.people.joins import Person

# ---------------------------------------------------------------- counts


COUNTED = "counted"


def counted_facts(case: Case) -> stats.CaseFacts | None:
    """What the case counts for: nothing while held for review or once voided."""
    if case.status != COUNTED:
        return None
    return stats.CaseFacts(
        city_code=case.city_code,
        unit_code=case.unit_code,
        origin=case.origin,
        reported_classification=case.reported_classification,
        found_via=case.found_via,
        reported_on=case.reported_on,
        converted_on=case.converted_on,
        discharged_on=case.discharged_on,
    )


def apply_counts(session: Session, change: Mapping[stats.Cell, int]) -> None:
    # Cells in one order in every transaction, so that two writers never wait on each
    # other's cells crosswise (a deadlock on PostgreSQL).
    for (day, city_code, unit_code, metric), amount in sorted(change.items()):
        if not amount:
            continue
        key = (
            (DailyCount.day == day)
            & (DailyCount.unit_code == unit_code)
            & (DailyCount.metric == metric)
        )
        if not _add_to(session, key, amount):
            cell = DailyCount(
                day=day, unit_code=unit_code, metric=metric, city_code=city_code, value=amount
            )
            try:
                # A concurrent writer may create the same cell first (PostgreSQL: this
                # insert waits for its commit, then fails): then there is a cell to add to.
                with session.begin_nested():
                    session.add(cell)
                continue
            except IntegrityError:
                if not _add_to(session, key, amount):
                    raise
        session.execute(delete(DailyCount).where(key & (DailyCount.value == 0)))


def _add_to(session: Session, key: ColumnElement[bool], amount: int) -> bool:
    result = session.execute(update(DailyCount).where(key).values(value=DailyCount.value + amount))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def rebuild_counts(session: Session) -> int:
    """Recount ``daily_count`` from the case table (repair, tests). Returns cells written."""
    session.execute(delete(DailyCount))
    cells = stats.recount(counted_facts(c) for c in session.scalars(select(Case)))
    session.add_all(
        DailyCount(day=d, city_code=city, unit_code=u, metric=m, value=v)
        for (d, city, u, m), v in cells.items()
        if v
    )
    session.flush()
    return len(cells)


def counts_table(session: Session) -> dict[stats.Cell, int]:
    rows = session.execute(
        select(
            DailyCount.day,
            DailyCount.city_code,
            DailyCount.unit_code,
            DailyCount.metric,
            DailyCount.value,
        )
    )
    return {(r.day, r.city_code, r.unit_code, r.metric): r.value for r in rows}


# ---------------------------------------------------------------- cases


@dataclass(frozen=True)
class CaseFilter:
    city_code: str | None = None
    unit_code: str | None = None
    district_code: str | None = None
    classification: Classification | None = None
    origin: Origin | None = None
    found_via: FoundVia | None = None
    reported_from: date | None = None
    reported_to: date | None = None
    text: str | None = None
    # Searching by name would confirm who is a case to a caller shown masked names only.
    text_in_names: bool = True

    def given(self) -> dict[str, str]:
        """The filters set, for the audit log of an export."""
        return {k: str(v) for k, v in vars(self).items() if v and k != "text_in_names"}


# ---------------------------------------------------------------- jurisdiction


def _persons_of_community(community_id: int) -> ColumnElement[bool]:
    return Case.person_id.in_(people_service.person_ids_in_community(community_id))


# A case lies where it was reported (its district, street and reporting unit, copied onto
# it); a community's user sees the cases of its residents.
CASES = Reach(
    district=Case.district_code,
    street=Case.street_code,
    unit=Case.unit_code,
    city=Case.city_code,
    community_via=_persons_of_community,
)


def scope_conditions(scope: Jurisdiction) -> list[ColumnElement[bool]]:
    """The cases a jurisdiction covers, as SQL: the one place where reads are cut to it."""
    return [CASES.condition(scope)]


def _community_of(
    session: Session, person_id: int | None, scope: Jurisdiction, persons: Persons | None = None
) -> int | None:
    """The community of a case's person, as far as ``scope`` sees that person."""
    if persons is not None:
        found = None if person_id is None else persons.by_id.get(person_id)
        return found.community_id if found is not None and _visible(scope, found) else None
    person_no = (
        None if person_id is None else people_service.person_no_of(session, person_id=person_id)
    )
    if person_no is None:
        return None
    try:
        return people_service.get_person(session, person_no=person_no, scope=scope).community_id
    except NotFound:
        return None


def _check_place(
    session: Session, case: Case, scope: Jurisdiction, persons: Persons | None = None
) -> None:
    """A case may only be written where the caller's jurisdiction reaches."""
    community_id = (
        _community_of(session, case.person_id, scope, persons)
        if scope.kind == "community"
        else None
    )
    if CASES.covers(
        scope,
        district_code=case.district_code,
        street_code=case.street_code,
        unit_code=case.unit_code,
        community_id=community_id,
    ):
        return
    registry = regions.registry()
    place = registry.districts[case.district_code].name
    if case.street_code and case.street_code in registry.streets:
        place += registry.streets[case.street_code].name
    raise OutsideJurisdiction(
        f"{place} is outside your jurisdiction ({scope.label()})",
        case_no=case.case_no,
        place_code=case.street_code or case.district_code,
        place_name=place,
        jurisdiction=scope.label(),
    )


def get_case(session: Session, *, case_no: str, scope: Jurisdiction) -> Case:
    """The case, or ``NotFound`` when it does not exist or lies outside ``scope`` (the
    same answer, so that its existence is not revealed)."""
    case = session.scalar(select(Case).where(Case.case_no == case_no, *scope_conditions(scope)))
    if case is None:
        raise NotFound(f"no case {case_no!r}", case_no=case_no)
    return case


def _conditions(flt: CaseFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.city_code:
        conditions.append(Case.city_code == flt.city_code)
    if flt.unit_code:
        conditions.append(Case.unit_code == flt.unit_code)
    if flt.district_code:
        conditions.append(Case.district_code == flt.district_code)
    if flt.classification:
        conditions.append(Case.classification == flt.classification.value)
    if flt.origin:
        conditions.append(Case.origin == flt.origin.value)
    if flt.found_via:
        conditions.append(Case.found_via == flt.found_via.value)
    if flt.reported_from:
        conditions.append(Case.reported_on >= flt.reported_from)
    if flt.reported_to:
        conditions.append(Case.reported_on <= flt.reported_to)
    if flt.text:
        like = f"%{flt.text.strip()}%"
        if flt.text_in_names:
            conditions.append(or_(Case.case_no.like(like), Case.name.like(like)))
        else:
            conditions.append(Case.case_no.like(like))
    return conditions


def list_cases(
    session: Session, *, flt: CaseFilter, scope: Jurisdiction, limit: int = 50, offset: int = 0
) -> tuple[list[Case], int]:
    conditions = [*_conditions(flt), *scope_conditions(scope)]
    total = session.scalar(select(func.count(Case.id)).where(*conditions))
    items = session.scalars(
        select(Case)
        .where(*conditions)
        .order_by(Case.reported_on.desc(), Case.case_no)
        .limit(limit)
        .offset(offset)
    )
    return list(items), int(total or 0)


def _place(
    session: Session,
    *,
    district: str | None,
    street: str | None,
    person_no: str | None,
    scope: Jurisdiction,
    persons: Persons | None = None,
) -> tuple[str, str | None, int | None]:
    """District code, street code and person id of a case, from input or the registry
    (a person the caller may see; from ``persons`` when the caller loaded them)."""
    person_id = None
    person_district = person_street = None
    if person_no:
        person = _person(session, person_no, scope, persons)
        person_id = person.id
        person_district, person_street = person.district_code, person.street_code
    if district:
        district_code = regions.resolve_district(district).code
    elif person_district:
        district_code = person_district
    else:
        raise InvalidInput(
            "district is required when the case is not linked to a registry person with an address",
            field="district",
        )
    if street:
        street_code: str | None = regions.resolve_street(street, district_code).code
    else:
        street_code = person_street if person_district == district_code else None
    return district_code, street_code, person_id


@dataclass(frozen=True)
class Persons:
    """Registry persons loaded in batches by an import (``persons_for``), by number and id."""

    by_no: Mapping[str, Person]
    by_id: Mapping[int, Person]


def persons_for(session: Session, person_nos: Iterable[str]) -> Persons:
    """The registry persons of these numbers, in batches (an import looks up thousands)."""
    by_no = people_service.persons_by_no(session, person_nos)
    return Persons(by_no, {p.id: p for p in by_no.values()})


def _visible(scope: Jurisdiction, person: Person) -> bool:
    return people_access.person_visible(scope, person)


def _person(
    session: Session, person_no: str, scope: Jurisdiction, persons: Persons | None
) -> Person:
    if persons is None:
        return people_service.get_person(session, person_no=person_no, scope=scope)
    person = persons.by_no.get(person_no)
    if person is None or not _visible(scope, person):
        raise NotFound(f"no person {person_no!r} in the registry", person_no=person_no)
    return person


def _infector_id(
    session: Session, case_no: str | None, own_no: str, scope: Jurisdiction
) -> int | None:
    if not case_no:
        return None
    if case_no == own_no:
        raise InvalidInput("a case cannot infect itself", field="infector_case_no")
    return get_case(session, case_no=case_no, scope=scope).id


def create_case(
    session: Session, *, data: CaseCreate, now: datetime, scope: Jurisdiction, held: bool = False
) -> Case:
    """A new case; ``held`` keeps it out of the figures until it is reviewed."""
    if session.scalar(select(Case.id).where(Case.case_no == data.case_no)) is not None:
        raise Conflict(f"case {data.case_no!r} already exists", case_no=data.case_no)
    case = new_case(session, data=data, now=now, scope=scope, held=held)
    case.infector_case_id = _infector_id(session, data.infector_case_no, data.case_no, scope)
    session.add(case)
    session.flush()
    apply_counts(session, stats.delta(None, counted_facts(case)))
    return case


def new_case(
    session: Session,
    *,
    data: CaseCreate,
    now: datetime,
    scope: Jurisdiction,
    persons: Persons | None = None,
    held: bool = False,
) -> Case:
    """A case for ``data``, placed and checked against ``scope`` but not stored, its
    infector not linked (``create_case`` one at a time, ``add_cases`` in bulk); ``held``
    keeps it out of the figures until it is reviewed."""
    district_code, street_code, person_id = _place(
        session,
        district=data.district,
        street=data.street,
        person_no=data.person_no,
        scope=scope,
        persons=persons,
    )
    unit = regions.unit_for(district_code, street_code)
    classification = Classification.confirmed if data.converted_on else data.classification
    case = Case(
        case_no=data.case_no,
        person_id=person_id,
        name=data.name,
        id_number=data.id_number,
        reported_classification=data.classification.value,
        classification=classification.value,
        origin=data.origin.value,
        found_via=data.found_via.value if data.found_via else None,
        city_code=district_code[:4],
        district_code=district_code,
        street_code=street_code,
        unit_code=unit.code,
        sampled_on=data.sampled_on,
        onset_on=data.onset_on,
        reported_on=data.reported_on,
        converted_on=data.converted_on,
        discharged_on=data.discharged_on,
        notes=data.notes,
        status="pending" if held else COUNTED,
        created_at=now,
        updated_at=now,
    )
    _check_place(session, case, scope, persons)
    return case


_INSERTED = [c.key for c in Case.__table__.columns if c.key != "id"]


def add_cases(session: Session, cases: Sequence[Case]) -> dict[str, Case]:
    """Store new cases (``new_case``) as one bulk insert and apply their counts at once;
    the stored cases by number. An import of any size: no statement has a parameter per
    case."""
    if not cases:
        return {}
    change: Counter[stats.Cell] = Counter()
    for case in cases:
        change.update(stats.delta(None, counted_facts(case)))
    apply_counts(session, change)
    table = bulk.table_of(Case)
    for batch in bulk.chunks(cases, 1000):
        session.execute(
            table.insert(), [{key: getattr(c, key) for key in _INSERTED} for c in batch]
        )
    return bulk.load_by(session, Case, Case.case_no, [c.case_no for c in cases])


def cases_anywhere(session: Session, case_nos: Iterable[str]) -> dict[str, Case]:
    """The registered cases of these numbers wherever they are (an import must know that
    a number is taken), in batches."""
    found: dict[str, Case] = {}
    for batch in bulk.chunks(sorted(set(case_nos))):
        found.update(
            (c.case_no, c) for c in session.scalars(select(Case).where(Case.case_no.in_(batch)))
        )
    return found


def case_nos_in_scope(
    session: Session, case_nos: Iterable[str], *, scope: Jurisdiction
) -> dict[str, int]:
    """Case number → id of the given cases that lie inside ``scope``, in batches."""
    found: dict[str, int] = {}
    for batch in bulk.chunks(sorted(set(case_nos))):
        rows = session.execute(
            select(Case.case_no, Case.id).where(Case.case_no.in_(batch), *scope_conditions(scope))
        )
        found.update((no, case_id) for no, case_id in rows)
    return found


def snapshot(case: Case) -> tuple[object, ...]:
    """Every field a person can change: equal snapshots mean an edit changed nothing."""
    return tuple(getattr(case, column) for column in _FIELDS)


_FIELDS = (
    "person_id",
    "name",
    "id_number",
    "reported_classification",
    "classification",
    "origin",
    "found_via",
    "district_code",
    "street_code",
    "unit_code",
    "sampled_on",
    "onset_on",
    "reported_on",
    "converted_on",
    "discharged_on",
    "infector_case_id",
    "notes",
)

_SIMPLE = (
    "name",
    "id_number",
    "sampled_on",
    "onset_on",
    "reported_on",
    "converted_on",
    "discharged_on",
    "notes",
)


def update_case(
    session: Session, *, case_no: str, data: CaseUpdate, now: datetime, scope: Jurisdiction
) -> Case:
    """Apply the fields given in ``data``; returns the case (unchanged if nothing differs).
    A case cannot be moved out of ``scope``."""
    case = get_case(session, case_no=case_no, scope=scope)
    change = edit_case(session, case, data=data, now=now, scope=scope)
    if change is not None:
        session.flush()
        apply_counts(session, change)
    return case


def edit_case(
    session: Session,
    case: Case,
    *,
    data: CaseUpdate,
    now: datetime,
    scope: Jurisdiction,
    persons: Persons | None = None,
) -> dict[stats.Cell, int] | None:
    """Apply ``data`` to a case the caller loaded inside ``scope``; the change to the
    counts it makes (None when nothing differs), for the caller to apply
    (``apply_count_changes``)."""
    before = counted_facts(case)
    fields_before = snapshot(case)
    saved = {name: getattr(case, name) for name in (*_FIELDS, "city_code")}
    try:
        with session.no_autoflush:
            _edit(session, case, data.model_dump(exclude_unset=True), scope, persons)
    except FangkongError:
        # A refused edit leaves the case as it was: otherwise the half-applied change
        # would reach the store on the caller's next flush without its count delta.
        for name, value in saved.items():
            setattr(case, name, value)
        raise
    if snapshot(case) == fields_before:
        return None
    case.updated_at = now
    return stats.delta(before, counted_facts(case))


def apply_count_changes(session: Session, changes: Iterable[dict[stats.Cell, int]]) -> None:
    """Apply the summed count changes of many edits (``edit_case``) at once."""
    total: Counter[stats.Cell] = Counter()
    for change in changes:
        total.update(change)
    session.flush()
    apply_counts(session, total)


def _edit(
    session: Session,
    case: Case,
    given: dict[str, Any],
    scope: Jurisdiction,
    persons: Persons | None = None,
) -> None:
    if "reported_on" in given and given["reported_on"] is None:
        raise InvalidInput("reported_on cannot be removed", field="reported_on")
    for name in _SIMPLE:
        if name in given:
            setattr(case, name, given[name])
    if "classification" in given and given["classification"] is not None:
        case.reported_classification = given["classification"].value
    if "origin" in given and given["origin"] is not None:
        case.origin = given["origin"].value
    if "found_via" in given:
        case.found_via = given["found_via"].value if given["found_via"] else None
    if {"district", "street", "person_no"} & given.keys():
        person_no = given.get("person_no")
        district_code, street_code, person_id = _place(
            session,
            district=given.get("district") or (None if person_no else case.district_code),
            street=given.get("street"),
            person_no=person_no,
            scope=scope,
            persons=persons,
        )
        if "street" not in given and not person_no and district_code == case.district_code:
            # The district given again without a street: the street stays.
            street_code = case.street_code
        if "person_no" in given:
            case.person_id = person_id
        case.district_code, case.street_code = district_code, street_code
        case.city_code = district_code[:4]
        case.unit_code = regions.unit_for(district_code, street_code).code
        _check_place(session, case, scope, persons)
    if "infector_case_no" in given:
        case.infector_case_id = _infector_id(
            session, given["infector_case_no"], case.case_no, scope
        )
    _validate(case)
    case.classification = (
        Classification.confirmed.value if case.converted_on else case.reported_classification
    )


def _validate(case: Case) -> None:
    try:
        check_dates(
            Classification(case.reported_classification),
            case.reported_on,
            sampled_on=case.sampled_on,
            onset_on=case.onset_on,
            converted_on=case.converted_on,
            discharged_on=case.discharged_on,
        )
    except DateOrderError as exc:
        raise InvalidInput(str(exc), field=exc.field, case_no=case.case_no) from None


def convert_case(
    session: Session, *, case_no: str, on: date, now: datetime, scope: Jurisdiction
) -> Case:
    """转为确诊: an asymptomatic infection becomes a confirmed case on ``on``."""
    case = get_case(session, case_no=case_no, scope=scope)
    if case.converted_on is not None:
        raise Conflict(f"case {case_no!r} was already converted on {case.converted_on}")
    if case.reported_classification != Classification.asymptomatic:
        raise Conflict(f"case {case_no!r} was confirmed at report; only asymptomatic converts")
    return update_case(
        session, case_no=case_no, data=CaseUpdate(converted_on=on), now=now, scope=scope
    )


def discharge_case(
    session: Session, *, case_no: str, on: date, now: datetime, scope: Jurisdiction
) -> Case:
    """出院: the case leaves hospital (then 7 days of 康复医学观察, RULES §1)."""
    case = get_case(session, case_no=case_no, scope=scope)
    if case.discharged_on is not None:
        raise Conflict(f"case {case_no!r} was already discharged on {case.discharged_on}")
    return update_case(
        session, case_no=case_no, data=CaseUpdate(discharged_on=on), now=now, scope=scope
    )


def to_read(session: Session, case: Case, policy: Policy, *, full: bool = False) -> CaseRead:
    """The case as read by people: name and ID number masked unless ``full`` (the caller
    decides it from ``person.pii.read`` and audits the read)."""
    person_no = None
    if case.person_id is not None:
        person_no = people_service.person_no_of(session, person_id=case.person_id)
    under_control = None
    if case.found_via:
        under_control = case.found_via in policy.community.under_control_channels
    return CaseRead(
        case_no=case.case_no,
        person_no=person_no,
        name=case.name if full else mask_name(case.name),
        id_number=case.id_number if full else mask_id_number(case.id_number),
        classification=Classification(case.classification),
        reported_classification=Classification(case.reported_classification),
        origin=Origin(case.origin),
        found_via=FoundVia(case.found_via) if case.found_via else None,
        under_control=under_control,
        city_code=case.city_code,
        district_code=case.district_code,
        district_name=regions.registry().districts[case.district_code].name,
        street_code=case.street_code,
        unit_code=case.unit_code,
        unit_name=regions.unit(case.unit_code).name,
        sampled_on=case.sampled_on,
        onset_on=case.onset_on,
        reported_on=case.reported_on,
        converted_on=case.converted_on,
        discharged_on=case.discharged_on,
        infector_case_no=case.infector.case_no if case.infector else None,
        notes=case.notes,
        status=case.status,
        created_at=case.created_at,
        updated_at=case.updated_at,
    )


PII_FIELDS = ("name", "id_number")


def read_detail(
    session: Session, *, case: Case, policy: Policy, principal: Principal, now: datetime
) -> CaseRead:
    """One case as its detail shows it: in full for ``person.pii.read``, and then the look
    is in the audit log; masked otherwise."""
    full = principal.can("person.pii.read")
    shown = [f for f in PII_FIELDS if getattr(case, f)]
    if full and shown:
        audit.record_pii_read(
            session,
            principal=principal,
            entity_type="case",
            entity_id=case.case_no,
            fields=shown,
            now=now,
        )
    return to_read(session, case, policy, full=full)


EXPORT_COLUMNS = (
    "case_no",
    "name",
    "id_number",
    "classification",
    "reported_classification",
    "origin",
    "found_via",
    "district_code",
    "district_name",
    "street_code",
    "unit_code",
    "unit_name",
    "sampled_on",
    "onset_on",
    "reported_on",
    "converted_on",
    "discharged_on",
    "infector_case_no",
)


def export_csv(session: Session, *, flt: CaseFilter, scope: Jurisdiction) -> tuple[str, int]:
    """The filtered cases of ``scope`` as CSV, always masked; returns the text and the
    number of rows. (Notes are left out: free text may name people.)"""
    infector = aliased(Case)
    query = (
        select(Case, infector.case_no)
        .outerjoin(infector, Case.infector_case_id == infector.id)
        .where(*_conditions(flt), *scope_conditions(scope))
        .order_by(Case.reported_on.desc(), Case.case_no)
    )
    registry = regions.registry()
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(EXPORT_COLUMNS)
    rows = 0
    for case, infector_no in session.execute(query):
        writer.writerow(
            [
                case.case_no,
                mask_name(case.name),
                mask_id_number(case.id_number),
                case.classification,
                case.reported_classification,
                case.origin,
                case.found_via,
                case.district_code,
                registry.districts[case.district_code].name,
                case.street_code,
                case.unit_code,
                regions.unit(case.unit_code).name,
                case.sampled_on,
                case.onset_on,
                case.reported_on,
                case.converted_on,
                case.discharged_on,
                infector_no,
            ]
        )
        rows += 1
    return out.getvalue(), rows


# ---------------------------------------------------------------- statistics


STATS_SCOPES = ("city", "district", "unit")


def stat_units(scope: Jurisdiction, *, city_code: str) -> list[str] | None:
    """The reporting units whose figures ``scope`` may read in ``city_code``; None for the
    whole city. Daily counts are kept per unit, so a district sees its own unit and the
    function zones it hosts; streets, communities, sites, labs and venues see none."""
    if scope.kind not in STATS_SCOPES:
        raise Forbidden(
            f"statistics are kept per district and reporting unit; a {scope.kind} "
            f"jurisdiction ({scope.label()}) has none",
            scope=scope.kind,
        )
    if scope.city_code != city_code:
        raise Forbidden(
            f"the figures of {city_code} are outside your jurisdiction ({scope.label()})",
            city_code=city_code,
        )
    if scope.kind == "city":
        return None
    if scope.kind == "district":
        return [u.code for u in regions.units(city_code) if u.district_code == scope.district_code]
    return [scope.unit_code] if scope.unit_code else []


def _units_of(scope: Jurisdiction, city_code: str, unit_code: str | None) -> Sequence[str] | None:
    visible = stat_units(scope, city_code=city_code)
    if unit_code is None:
        return visible
    if visible is not None and unit_code not in visible:
        raise Forbidden(
            f"the figures of {regions.unit(unit_code).name} are outside your jurisdiction "
            f"({scope.label()})",
            unit_code=unit_code,
        )
    return [unit_code]


def visible_units(scope: Jurisdiction, *, city_code: str) -> list[regions.ReportingUnit]:
    """The reporting units a caller may pick in filters and forms."""
    units = regions.units(city_code)
    if not scope.is_area or scope.city_code != city_code:
        return []
    if scope.kind == "city":
        return units
    if scope.kind == "district":
        return [u for u in units if u.district_code == scope.district_code]
    if scope.kind == "unit":
        return [u for u in units if u.code == scope.unit_code]
    district = scope.district_code
    if district is None:
        return []
    codes = {regions.unit_for(district, s).code for s in scope.street_codes or ()}
    return [u for u in units if u.code in codes]


def visible_districts(scope: Jurisdiction, *, city_code: str) -> list[regions.District]:
    """The districts a caller may register cases in (or filter by)."""
    districts = regions.districts(city_code)
    if scope.kind == "city" and scope.city_code == city_code:
        return districts
    return [d for d in districts if scope.is_area and d.code == scope.district_code]


def _day_metrics(
    session: Session, *, city_code: str, end: date, unit_codes: Sequence[str] | None = None
) -> dict[date, dict[str, int]]:
    query = (
        select(DailyCount.day, DailyCount.metric, func.sum(DailyCount.value))
        .where(DailyCount.city_code == city_code, DailyCount.day <= end)
        .group_by(DailyCount.day, DailyCount.metric)
    )
    if unit_codes is not None:
        query = query.where(DailyCount.unit_code.in_(unit_codes))
    metrics: dict[date, dict[str, int]] = defaultdict(dict)
    for day, metric, value in session.execute(query):
        metrics[day][metric] = int(value)
    return metrics


def day_series(
    session: Session,
    *,
    city_code: str,
    start: date,
    end: date,
    policy: Policy,
    scope: Jurisdiction,
    since: date | None = None,
    unit_code: str | None = None,
    population: int | None = None,
) -> list[stats.DayFigures]:
    """Figures per day of the whole of ``scope`` (or of one unit inside it)."""
    counts = _day_metrics(
        session, city_code=city_code, end=end, unit_codes=_units_of(scope, city_code, unit_code)
    )
    return stats.day_series(
        counts, start=start, end=end, policy=policy, since=since, population=population
    )


def unit_figures(
    session: Session,
    *,
    city_code: str,
    day: date,
    policy: Policy,
    scope: Jurisdiction,
    since: date | None = None,
) -> list[tuple[regions.ReportingUnit, stats.DayFigures]]:
    """The figures of ``day`` for every reporting unit of ``scope`` (the map, the table)."""
    visible = stat_units(scope, city_code=city_code)
    query = select(DailyCount.unit_code, DailyCount.day, DailyCount.metric, DailyCount.value).where(
        DailyCount.city_code == city_code, DailyCount.day <= day
    )
    if visible is not None:
        query = query.where(DailyCount.unit_code.in_(visible))
    rows = session.execute(query)
    by_unit: dict[str, dict[date, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for unit_code, d, metric, value in rows:
        by_unit[unit_code][d][metric] = value
    result = []
    for unit in regions.units(city_code):
        if visible is not None and unit.code not in visible:
            continue
        series = stats.day_series(
            by_unit.get(unit.code, {}), start=day, end=day, policy=policy, since=since
        )
        result.append((unit, series[-1]))
    return result


def _day_bound(session: Session, bound: Any, *, city_code: str, scope: Jurisdiction) -> date | None:
    query = select(bound(DailyCount.day)).where(DailyCount.city_code == city_code)
    visible = stat_units(scope, city_code=city_code)
    if visible is not None:
        query = query.where(DailyCount.unit_code.in_(visible))
    day: date | None = session.scalar(query)
    return day


def first_day(session: Session, *, city_code: str, scope: Jurisdiction) -> date | None:
    return _day_bound(session, func.min, city_code=city_code, scope=scope)


def store_first_day(session: Session) -> date | None:
    """The first day of any case in the store (one index look-up): what day parameters
    are bounded by."""
    day: date | None = session.scalar(select(func.min(DailyCount.day)))
    return day


def last_day(session: Session, *, city_code: str, scope: Jurisdiction) -> date | None:
    return _day_bound(session, func.max, city_code=city_code, scope=scope)


# ---------------------------------------------------------------- bulletin


def _unit_figures(counts: dict[str, int]) -> tuple[bulletin.UnitFigure, ...]:
    return tuple(
        bulletin.UnitFigure(regions.unit(code).name, regions.unit(code).order, n)
        for code, n in counts.items()
        if n
    )


def require_city_bulletin(scope: Jurisdiction, *, city_code: str) -> None:
    """The bulletin speaks for the whole city: only a city-wide jurisdiction reads it."""
    if not (scope.whole_city and scope.city_code == city_code):
        raise Forbidden(
            f"the city bulletin needs a city-wide jurisdiction, not {scope.label()}; "
            "it is published by the HQ (指挥部)",
            scope=scope.kind,
        )


def bulletin_facts(
    session: Session,
    *,
    city_code: str,
    day: date,
    since: date | None,
    policy: Policy,
    scope: Jurisdiction,
) -> bulletin.BulletinFacts:
    city = regions.city(city_code)
    require_city_bulletin(scope, city_code=city.code)
    rows = session.execute(
        select(DailyCount.unit_code, DailyCount.metric, DailyCount.value).where(
            DailyCount.city_code == city_code, DailyCount.day == day
        )
    )
    new_by_unit: dict[str, int] = defaultdict(int)
    conv_by_unit: dict[str, int] = defaultdict(int)
    imported: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    via: dict[str, int] = defaultdict(int)
    for unit_code, metric, value in rows:
        kind, origin, *rest = metric.split(":")
        if kind == "new" and origin == Origin.local:
            new_by_unit[unit_code] += value
        elif kind == "new":
            imported[(origin, rest[0])][unit_code] += value
        elif kind == "converted" and origin == Origin.local:
            conv_by_unit[unit_code] += value
        elif kind == "via" and origin == Origin.local:
            via[rest[0]] += value
    figures = day_series(
        session, city_code=city_code, start=day, end=day, policy=policy, since=since, scope=scope
    )[-1]
    single = None
    if figures.new_total == 1:
        channel = next(k for k, v in via.items() if v)
        single = FoundVia(channel) if channel != "unknown" else None
    imported_figures = []
    for origin in (Origin.abroad, Origin.other_province):
        confirmed = imported.get((origin, "confirmed"), {})
        asymptomatic = imported.get((origin, "asymptomatic"), {})
        units: dict[str, int] = defaultdict(int)
        for part in (confirmed, asymptomatic):
            for code, n in part.items():
                units[code] += n
        imported_figures.append(
            bulletin.ImportedFigures(
                origin=origin,
                confirmed=sum(confirmed.values()),
                asymptomatic=sum(asymptomatic.values()),
                units=_unit_figures(units),
            )
        )
    return bulletin.BulletinFacts(
        city_name=city.name,
        day=day,
        new_confirmed=figures.new_confirmed,
        new_asymptomatic=figures.new_asymptomatic,
        new_units=_unit_figures(new_by_unit),
        single_found_via=single,
        conversions=_unit_figures(conv_by_unit),
        imported=tuple(imported_figures),
        total_confirmed=figures.total_confirmed,
        total_asymptomatic=figures.total_asymptomatic,
        since=since,
        corrections=day_corrections(session, city_code=city_code, day=day),
    )


def _loaded(text: str | None) -> dict[str, str] | None:
    return None if text is None else json.loads(text)


def day_corrections(session: Session, *, city_code: str, day: date) -> bulletin.Corrections:
    """What the bulletin of ``day`` states of the local cases voided or corrected that day
    (counted by what they counted for before)."""
    voided: dict[str, dict[str, int]] = {}
    corrected: dict[str, int] = {}
    rows = session.scalars(
        select(CaseCorrection).where(
            CaseCorrection.city_code == city_code,
            CaseCorrection.day == day,
            CaseCorrection.kind.in_(("void", "correction")),
        )
    )
    for row in rows:
        before = _loaded(row.before)
        if before is None or before["origin"] != Origin.local:
            continue
        unit = before["unit_code"]
        if row.kind == "void":
            cls = before["reported_classification"]
            if before.get("converted_on"):
                cls = Classification.confirmed.value
            voided.setdefault(cls, {}).setdefault(unit, 0)
            voided[cls][unit] += 1
        else:
            corrected[unit] = corrected.get(unit, 0) + 1

    def figures(counts: dict[str, int]) -> tuple[bulletin.UnitFigure, ...]:
        return tuple(
            bulletin.UnitFigure(regions.unit(c).name, regions.unit(c).order, n)
            for c, n in counts.items()
        )

    return bulletin.Corrections(
        voided_confirmed=figures(voided.get(Classification.confirmed.value, {})),
        voided_asymptomatic=figures(voided.get(Classification.asymptomatic.value, {})),
        corrected=figures(corrected),
    )


def bulletin_text(
    session: Session,
    *,
    city_code: str,
    day: date,
    since: date | None,
    policy: Policy,
    scope: Jurisdiction,
) -> str:
    return bulletin.compose(
        bulletin_facts(
            session, city_code=city_code, day=day, since=since, policy=policy, scope=scope
        )
    )


# ---------------------------------------------------------------- for other domains


def cases_in_scope(
    session: Session,
    *,
    scope: Jurisdiction,
    since: date | None = None,
    reported_on: date | None = None,
    person_ids: Collection[int] | None = None,
) -> list[Case]:
    """The cases of ``scope``, optionally reported since or on a day, or of some persons
    (tracing links contacts who are themselves cases)."""
    conditions = list(scope_conditions(scope))
    if since is not None:
        conditions.append(Case.reported_on >= since)
    if reported_on is not None:
        conditions.append(Case.reported_on == reported_on)
    if person_ids is None:
        return list(session.scalars(select(Case).where(*conditions).order_by(Case.case_no)))
    found: list[Case] = []
    for batch in bulk.chunks(sorted(set(person_ids))):
        query = select(Case).where(Case.person_id.in_(batch), *conditions)
        found.extend(session.scalars(query.order_by(Case.case_no)))
    return found


def cases_by_no(session: Session, case_nos: Iterable[str], *, scope: Jurisdiction) -> list[Case]:
    """The given cases that lie inside ``scope`` (others left out), by case number."""
    found: list[Case] = []
    for batch in bulk.chunks(sorted(set(case_nos))):
        found.extend(
            session.scalars(select(Case).where(Case.case_no.in_(batch), *scope_conditions(scope)))
        )
    return sorted(found, key=lambda c: c.case_no)


def cases_by_id(session: Session, case_ids: Iterable[int], *, scope: Jurisdiction) -> list[Case]:
    """The given cases that lie inside ``scope`` (others left out)."""
    found: list[Case] = []
    for batch in bulk.chunks(sorted(set(case_ids))):
        found.extend(
            session.scalars(select(Case).where(Case.id.in_(batch), *scope_conditions(scope)))
        )
    return found


def case_nos_by_id(session: Session, case_ids: Iterable[int | None]) -> dict[int, str]:
    """Case id → case number (references held by other domains' records)."""
    wanted = sorted({i for i in case_ids if i is not None})
    found: dict[int, str] = {}
    for batch in bulk.chunks(wanted):
        found.update(
            (int(cid), str(no))
            for cid, no in session.execute(select(Case.id, Case.case_no).where(Case.id.in_(batch)))
        )
    return found


def case_of_person(session: Session, person_id: int) -> Case | None:
    """The person's case, if they are one (the first registered)."""
    return session.scalar(
        select(Case).where(Case.person_id == person_id).order_by(Case.id).limit(1)
    )


class CaseRef(NamedTuple):
    id: int
    case_no: str


def persons_with_case(
    session: Session, person_ids: Iterable[int], *, reported_by: date | None = None
) -> dict[int, CaseRef]:
    """Person id → their case for those of ``person_ids`` who are cases (reported on or
    before ``reported_by``), whatever the caller's jurisdiction: a positive is not put in
    quarantine, nor made a case twice, wherever it was registered."""
    found: dict[int, CaseRef] = {}
    for batch in bulk.chunks(sorted(set(person_ids))):
        query = select(Case.person_id, Case.id, Case.case_no).where(Case.person_id.in_(batch))
        if reported_by is not None:
            query = query.where(Case.reported_on <= reported_by)
        for pid, cid, no in session.execute(query.order_by(Case.id.desc())):
            if pid is not None:
                found[pid] = CaseRef(cid, no)  # the first registered wins
    return found


def discharged_on(session: Session, *, day: date) -> list[Case]:
    """The cases discharged on ``day`` that have a registry person (rehabilitation
    observation follows, RULES §3; the caller cuts them to where the persons live)."""
    return list(
        session.scalars(
            select(Case)
            .where(Case.discharged_on == day, Case.person_id.is_not(None))
            .order_by(Case.id)
        )
    )


def count_reported(
    session: Session,
    *,
    since: date,
    until: date,
    district_code: str | None = None,
    street_code: str | None = None,
    community_id: int | None = None,
) -> int:
    """Cases reported in [``since``, ``until``) in a district, a street or a community (of
    their persons), whatever the caller's jurisdiction: an area's recent positivity."""
    query = select(func.count(Case.id)).where(Case.reported_on >= since, Case.reported_on < until)
    if district_code is not None:
        query = query.where(Case.district_code == district_code)
    if street_code is not None:
        query = query.where(Case.street_code == street_code)
    if community_id is not None:
        query = query.where(_persons_of_community(community_id))
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class PersonChoice:
    """A registry person offered by the register form (masked), with their case if any."""

    person: PersonRead
    case_no: str | None


def person_choices(session: Session, *, text: str, scope: Jurisdiction) -> list[PersonChoice]:
    """The persons of ``scope`` the register form may link a case to: exact ID number or
    phone, or the start of the name (``people.service.search_persons``), masked."""
    found = people_service.search_persons(session, text=text, scope=scope)
    cases = persons_with_case(session, (p.id for p in found))
    return [
        PersonChoice(
            people_service.person_read(p).masked_copy(),
            cases[p.id].case_no if p.id in cases else None,
        )
        for p in found
    ]


def case_nos_with_prefix(session: Session, prefix: str) -> set[str]:
    """The case numbers taken that start with ``prefix`` (numbering a batch of new cases)."""
    return set(
        session.scalars(
            select(Case.case_no).where(Case.case_no.startswith(prefix, autoescape=True))
        )
    )
