"""Import persons, venues and workplaces from .csv or .xlsx files.

As every importer here: each row is validated and every error reported (row number as a
spreadsheet shows it, column, reason, value); one bad row rejects the file and nothing is
written. Otherwise rows are upserted by their key: new ones added, changed ones updated,
identical ones left alone, so importing the same file twice changes nothing.

Lookups are preloaded into dicts and rows written in batches, so a file of tens of
thousands of persons costs a few dozen queries, not several per row. On an update only
the columns present in the file change (the address and the workplace each count as one
group), so a file of phone numbers does not wipe addresses.

Every row must lie inside the importer's jurisdiction (``scope``): a row for a record
outside it, or placing one outside it, is a row error like any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import insert
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.errors import FangkongError, ImportRejected
from fangkong.people import access, service, venues, workplaces
from fangkong.people.lookups import Lookups, assign
from fangkong.people.models import Person, Venue, Workplace
from fangkong.people.schemas import ImportReport, PersonCreate, VenueCreate, WorkplaceCreate
from fangkong.storage import bulk
from fangkong.tabular import Column, Row, RowError, read_table

BATCH = 2000  # rows per flush

PEOPLE_COLUMNS = [
    Column("person_id", "人员编号", required=True, aliases=("person_no",)),
    Column("name", "姓名", required=True),
    Column("id_number", "身份证号", aliases=("身份证号码",)),
    Column("phone", "手机号", aliases=("手机号码",)),
    Column("sex", "性别"),
    Column("birth_year", "出生年份"),
    Column("household_id", "户编号", aliases=("household_no",)),
    Column("district", "区县", aliases=("district_code",)),
    Column("street", "街道", aliases=("street_code", "镇街")),
    Column("community", "社区", aliases=("社区(村)",)),
    Column("compound", "小区"),
    Column("building", "楼栋"),
    Column("room", "房号"),
    Column("workplace_id", "单位编号", aliases=("workplace_no",)),
    Column("workplace_unit", "部门"),
]
VENUE_COLUMNS = [
    Column("venue_code", "场所码", required=True),
    Column("name", "场所名称", required=True),
    Column("category", "类别", required=True),
    Column("industry", "行业"),
    Column("district", "区县", required=True, aliases=("district_code",)),
    Column("street", "街道", aliases=("street_code", "镇街")),
    Column("address", "地址"),
    Column("capacity", "容量"),
]
WORKPLACE_COLUMNS = [
    Column("workplace_id", "单位编号", required=True, aliases=("workplace_no",)),
    Column("name", "单位名称", required=True),
    Column("industry", "行业", required=True),
    Column("district", "区县", required=True, aliases=("district_code",)),
    Column("street", "街道", aliases=("street_code", "镇街")),
    Column("address", "地址"),
    Column("units", "部门"),
]
# Input field -> file column, where they differ.
PERSON_COLUMN = {
    "person_no": "person_id",
    "household_no": "household_id",
    "workplace_no": "workplace_id",
}
WORKPLACE_COLUMN = {"workplace_no": "workplace_id"}

M = TypeVar("M", bound=BaseModel)


def _validate(
    model: type[M], row: Row, values: dict[str, Any], column_of: dict[str, str]
) -> tuple[M | None, list[RowError]]:
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None}), []
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = err.get("loc") or ()
            field = str(loc[0]) if loc else None
            column = column_of.get(field, field) if field else None
            reason = err["msg"].removeprefix("Value error, ")
            errors.append(RowError(row.number, column, reason, row.get(column or "")))
        return None, errors


def _service_error(
    number: int, exc: FangkongError, column_of: dict[str, str], given: dict[str, Any]
) -> RowError:
    """A row error from a domain error whose details name the field at fault."""
    field = exc.details.get("field")
    if field is None:
        field = next((k for k in ("district", "street") if k in exc.details), None)
    if field is None:
        return RowError(number, None, exc.message)
    value = given.get(field)
    return RowError(
        number, column_of.get(field, field), exc.message, None if value is None else str(value)
    )


def _duplicate(seen: dict[str, int], key: str | None, number: int, column: str) -> RowError | None:
    if key is None:
        return None
    if key in seen:
        return RowError(number, column, f"duplicate of row {seen[key]}", key)
    seen[key] = number
    return None


def _reject(errors: list[RowError], report: ImportReport) -> None:
    report.reject(errors)
    raise ImportRejected(
        f"{report.rejected} row(s) rejected; nothing was imported",
        errors=[e.model_dump() for e in report.errors],
        report=report.model_dump(),
    )


def _columns(rows: Iterable[Row]) -> set[str]:
    first = next(iter(rows), None)
    return set(first.values) if first else set()


# ---------------------------------------------------------------- people


def import_people(
    session: Session, *, data: bytes, filename: str, now: datetime, scope: Jurisdiction
) -> ImportReport:
    """Validate the whole file, then upsert by ``person_id``; raise ``ImportRejected`` on
    any bad row."""
    table = read_table(data, filename, PEOPLE_COLUMNS)
    report = ImportReport(ignored_columns=table.ignored_columns)
    errors = list(table.errors)
    present = _columns(table.rows)
    field_of = {column: field for field, column in PERSON_COLUMN.items()}
    fields = {field_of.get(column, column) for column in present}
    if present & {"district", "street", "community", "compound", "building", "room"}:
        fields |= set(service.ADDRESS)
    if present & {"workplace_id", "workplace_unit"}:
        fields |= set(service.WORKPLACE)

    parsed: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for row in table.rows:
        raw = {f: row.get(PERSON_COLUMN.get(f, f)) for f in PersonCreate.model_fields}
        person, row_errors = _validate(PersonCreate, row, raw, PERSON_COLUMN)
        errors.extend(row_errors)
        if person is None:
            continue
        dup = _duplicate(seen, person.person_no, row.number, "person_id") or _duplicate(
            seen_ids, person.id_number, row.number, "id_number"
        )
        if dup:
            errors.append(dup)
            continue
        given = person.model_dump(include=fields)
        if person.birth_year is not None:
            given["birth_year"] = person.birth_year  # derived from the ID number
        parsed.append((row.number, given))

    existing = service.persons_by_no(session, seen)
    owners = service.id_number_owners(session, seen_ids)
    taken = {idn: owner for idn, owner in owners.items() if seen.get(owner) != seen_ids[idn]}
    visible = service.visible_person_nos(session, taken.values(), scope=scope)
    for idn, owner in taken.items():
        reason = (
            f"ID number already belongs to person {owner}"
            if owner in visible
            else service.HIDDEN_OWNER
        )
        errors.append(RowError(seen_ids[idn], "id_number", reason, idn))

    lookups = Lookups(session)
    lookups.preload_households(g["household_no"] for _, g in parsed if g.get("household_no"))
    lookups.preload_workplaces(g["workplace_no"] for _, g in parsed if g.get("workplace_no"))
    streets: set[str | None] = set()
    for _, g in parsed:
        with suppress(FangkongError):  # reported when the row is resolved below
            streets.add(lookups.region(g.get("district"), g.get("street"))[1])
    lookups.preload_streets(s for s in streets if s)

    nested = session.begin_nested()
    resolved: list[tuple[int, dict[str, Any]]] = []
    for number, given in parsed:
        try:
            refs = service.person_refs(lookups, given)
            access.check_person_place(scope, refs, existing.get(given["person_no"]))
            resolved.append((number, refs))
        except FangkongError as exc:
            errors.append(_service_error(number, exc, PERSON_COLUMN, given))
    if errors:
        nested.rollback()
        _reject(errors, report)
    session.flush()  # new households, addresses and units get their ids
    # New persons go in by executemany: no ORM objects to build and no ids to fetch.
    new_rows: list[dict[str, Any]] = []
    for _, refs in resolved:
        values = service.person_values(refs)
        person_obj = existing.get(values["person_no"])
        if person_obj is None:
            new_rows.append(service.complete_person(values, now))
            report.added += 1
        elif assign(person_obj, values):
            person_obj.updated_at = now
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    for batch in bulk.chunks(new_rows, BATCH):
        session.execute(insert(Person), batch)
    nested.commit()
    return report


# ---------------------------------------------------------------- venues


def import_venues(
    session: Session, *, data: bytes, filename: str, now: datetime, scope: Jurisdiction
) -> ImportReport:
    """Validate the whole file, then upsert by ``venue_code``."""
    del now  # venues carry no timestamps; the signature is every importer's
    table = read_table(data, filename, VENUE_COLUMNS)
    report = ImportReport(ignored_columns=table.ignored_columns)
    errors = list(table.errors)
    parsed: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        raw = {col.name: row.get(col.name) for col in VENUE_COLUMNS}
        venue, row_errors = _validate(VenueCreate, row, raw, {})
        errors.extend(row_errors)
        if venue is None:
            continue
        dup = _duplicate(seen, venue.venue_code, row.number, "venue_code")
        if dup:
            errors.append(dup)
            continue
        try:
            values = venues.venue_values(venue)
            access.check_place(
                scope,
                access.VENUES,
                district_code=values["district_code"],
                street_code=values["street_code"],
            )
            parsed.append((row.number, values))
        except FangkongError as exc:
            errors.append(_service_error(row.number, exc, {}, raw))
    existing = venues.venues_by_code(session, seen)
    for code, found in existing.items():
        if not access.venue_visible(scope, found):
            reason = f"venue {code} is outside your jurisdiction ({scope.label()})"
            errors.append(RowError(seen[code], "venue_code", reason, code))
    if errors:
        _reject(errors, report)
    nested = session.begin_nested()
    for count, (_, values) in enumerate(parsed, start=1):
        venue_obj = existing.get(values["venue_code"])
        if venue_obj is None:
            session.add(Venue(**values))
            report.added += 1
        elif assign(venue_obj, values):
            report.updated += 1
        else:
            report.unchanged += 1
        if count % BATCH == 0:
            session.flush()
    session.flush()
    nested.commit()
    return report


# ---------------------------------------------------------------- workplaces


def parse_units(text: str) -> list[dict[str, str]]:
    """``车间一:workshop;办公室`` → units; full-width ``；`` and ``：`` are accepted."""
    units = []
    for part in text.replace("；", ";").replace("：", ":").split(";"):
        if not part.strip():
            continue
        name, _, kind = part.partition(":")
        unit = {"name": name.strip()}
        if kind.strip():
            unit["kind"] = kind.strip()
        units.append(unit)
    return units


def import_workplaces(
    session: Session, *, data: bytes, filename: str, now: datetime, scope: Jurisdiction
) -> ImportReport:
    """Validate the whole file, then upsert by ``workplace_id``. Units are added (and their
    kind set when given); units missing from the file are kept, as people may be in them."""
    del now
    table = read_table(data, filename, WORKPLACE_COLUMNS)
    report = ImportReport(ignored_columns=table.ignored_columns)
    errors = list(table.errors)
    parsed: list[tuple[int, WorkplaceCreate, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        raw: dict[str, Any] = {
            "workplace_no": row.get("workplace_id"),
            **{c.name: row.get(c.name) for c in WORKPLACE_COLUMNS[1:-1]},
            "units": parse_units(row.get("units") or ""),
        }
        workplace, row_errors = _validate(WorkplaceCreate, row, raw, WORKPLACE_COLUMN)
        errors.extend(row_errors)
        if workplace is None:
            continue
        dup = _duplicate(seen, workplace.workplace_no, row.number, "workplace_id")
        if dup:
            errors.append(dup)
            continue
        try:
            values = workplaces.workplace_values(workplace)
            access.check_place(
                scope,
                access.WORKPLACES,
                district_code=values["district_code"],
                street_code=values["street_code"],
            )
            parsed.append((row.number, workplace, values))
        except FangkongError as exc:
            errors.append(_service_error(row.number, exc, WORKPLACE_COLUMN, raw))
    lookups = Lookups(session)
    lookups.preload_workplaces(seen)
    for no, obj in lookups.workplaces.items():
        if obj is not None and not access.workplace_visible(scope, obj):
            reason = f"workplace {no} is outside your jurisdiction ({scope.label()})"
            errors.append(RowError(seen[no], "workplace_id", reason, no))
    if errors:
        _reject(errors, report)
    nested = session.begin_nested()
    for count, (_, workplace, values) in enumerate(parsed, start=1):
        obj = lookups.workplaces.get(workplace.workplace_no)
        if obj is None:
            obj = Workplace(**values)
            session.add(obj)
            lookups.workplaces[workplace.workplace_no] = obj
            changed = added = True
        else:
            changed, added = assign(obj, values), False
        for unit in workplace.units:
            current = lookups.units.get((workplace.workplace_no, unit.name))
            explicit = "kind" in unit.model_fields_set
            if current is None or (explicit and current.kind != unit.kind):
                lookups.unit(obj, unit.name, unit.kind if explicit else None)
                changed = True
        if added:
            report.added += 1
        elif changed:
            report.updated += 1
        else:
            report.unchanged += 1
        if count % BATCH == 0:
            session.flush()
    session.flush()
    nested.commit()
    return report
